/* test_policy.c: the retention policy: worked examples, the calendar
 * helpers, and a property test against a brute-force model built on the C
 * library's calendar (timegm, gmtime_r, strftime %G/%V). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn_err.h"
#include "policy.h"
#include "testutil.h"

/* ---- helpers --------------------------------------------------------- */

static void snap_set(struct policy_snap *s, int64_t t, int32_t off, int id)
{
	memset(s, 0, sizeof *s);
	s->time_sec = t;
	s->tz_offset = off;
	s->id[0] = (uint8_t)(id >> 8);
	s->id[1] = (uint8_t)id;
}

/* Applies p and returns the keep flags as a string of 'k'/'-' in input
 * order (static buffer), or "error N". */
static const char *keeps(const struct policy *p, const struct policy_snap *v,
			 size_t n)
{
	static char out[1024];
	struct policy_decision *d = NULL;
	int rc = policy_apply(p, v, n, &d);

	if (rc < 0) {
		snprintf(out, sizeof out, "error %d", rc);
		return out;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = d[i].keep ? 'k' : '-';
	out[n] = '\0';
	policy_decisions_free(d, n);
	return out;
}

static size_t count_kept(const struct policy *p, const struct policy_snap *v,
			 size_t n)
{
	const char *k = keeps(p, v, n);
	size_t c = 0;

	for (; *k; k++)
		c += *k == 'k';
	return c;
}

#define CHECK_KEEPS(p, v, n, want)                                             \
	do {                                                                   \
		const char *got_ = keeps(p, v, n);                             \
		if (strcmp(got_, want)) {                                      \
			fprintf(stderr, "%s:%d: kept %s, want %s\n", __FILE__, \
				__LINE__, got_, want);                         \
			test_failures++;                                       \
		}                                                              \
	} while (0)

/* ---- durations and calendar -------------------------------------------- */

static void test_duration(void)
{
	struct policy_duration d = {9, 9, 9, 9};
	char s[64];
	static const char *const bad[] = {
		"", "y", "2", "2x", "1d2y", "1h1h", "-1d", "1 d", "1d ", "1.5d",
		"2Y", "99999999y", "1dd", "d1",
	};

	CHECK_RC(policy_duration_parse("2y5m7d3h", &d), 0);
	CHECK(d.years == 2 && d.months == 5 && d.days == 7 && d.hours == 3);
	policy_duration_format(&d, s);
	CHECK(!strcmp(s, "2y5m7d3h"));
	CHECK_RC(policy_duration_parse("7d", &d), 0);
	CHECK(d.years == 0 && d.months == 0 && d.days == 7 && d.hours == 0);
	policy_duration_format(&d, s);
	CHECK(!strcmp(s, "7d"));
	CHECK_RC(policy_duration_parse("1y12h", &d), 0);
	CHECK(d.years == 1 && d.hours == 12 && !d.days && !d.months);
	CHECK_RC(policy_duration_parse("0d", &d), 0);
	CHECK(policy_duration_is_zero(&d));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct policy_duration keep = {4, 4, 4, 4};

		if (policy_duration_parse(bad[i], &keep) != CAIRN_E_INVAL ||
		    keep.years != 4) {
			fprintf(stderr, "duration \"%s\" accepted\n", bad[i]);
			test_failures++;
		}
	}
}

static void iso(const char *date, int wy, int ww)
{
	struct policy_tm tm;
	int y = 0, w = 0;
	char buf[32];

	snprintf(buf, sizeof buf, "%s 12:00:00", date);
	CHECK_RC(policy_local_time(test_utc(buf), 0, &tm), 0);
	policy_iso_week(&tm, &y, &w);
	if (y != wy || w != ww) {
		fprintf(stderr, "%s: ISO %d-W%02d, want %d-W%02d\n", date, y, w,
			wy, ww);
		test_failures++;
	}
}

static void test_calendar(void)
{
	struct policy_tm tm;

	iso("2020-12-31", 2020, 53);
	iso("2021-01-03", 2020, 53);
	iso("2021-01-04", 2021, 1);
	iso("2024-12-30", 2025, 1);
	iso("2026-12-28", 2026, 53);
	iso("2027-01-03", 2026, 53);
	iso("2027-01-04", 2027, 1);
	iso("2008-12-29", 2009, 1);
	iso("2010-01-03", 2009, 53);
	iso("2005-01-01", 2004, 53);
	iso("2026-06-30", 2026, 27);

	/* 23:30 UTC is the next day at +01:00 and the same day at -05:00 */
	CHECK_RC(policy_local_time(test_utc("2026-03-01 23:30:00"), 3600, &tm),
		 0);
	CHECK(tm.year == 2026 && tm.mon == 3 && tm.mday == 2 && tm.hour == 0);
	CHECK_RC(policy_local_time(test_utc("2026-03-01 03:30:00"), -5 * 3600,
				   &tm), 0);
	CHECK(tm.mon == 2 && tm.mday == 28 && tm.hour == 22);
	CHECK(tm.wday == 6 && tm.yday == 58);
	CHECK_RC(policy_local_time(test_utc("1969-12-31 23:00:00"), 0, &tm), 0);
	CHECK(tm.year == 1969 && tm.mon == 12 && tm.mday == 31 &&
	      tm.hour == 23 && tm.wday == 3);
	CHECK_RC(policy_local_time(INT64_MAX, 0, &tm), CAIRN_E_RANGE);
	CHECK_RC(policy_local_time(INT64_MIN, 0, &tm), CAIRN_E_RANGE);
}

/* ---- worked examples ---------------------------------------------------- */

static void test_examples(void)
{
	struct policy_snap v[120];
	struct policy p;
	struct policy_decision *d = NULL;
	char buf[32];

	/* seven days at noon, keep-daily 3: the three newest */
	for (int i = 0; i < 7; i++) {
		snprintf(buf, sizeof buf, "2026-05-%02d 12:00:00", 10 + i);
		snap_set(&v[i], test_utc(buf), 0, i);
	}
	memset(&p, 0, sizeof p);
	p.count[POLICY_DAILY] = 3;
	CHECK_KEEPS(&p, v, 7, "----kkk");

	/* the reasons, in input order */
	CHECK_RC(policy_apply(&p, v, 7, &d), 0);
	if (d) {
		CHECK(d[6].nreasons == 1 &&
		      !strcmp(d[6].reasons[0], "daily snapshot"));
		CHECK(d[6].why == POLICY_WHY_COUNT(POLICY_DAILY));
		CHECK(d[0].nreasons == 0 && d[0].why == 0);
		policy_decisions_free(d, 7);
	}

	/* two the same day: only the newer one counts for daily */
	snap_set(&v[0], test_utc("2026-05-10 08:00:00"), 0, 0);
	snap_set(&v[1], test_utc("2026-05-10 20:00:00"), 0, 1);
	snap_set(&v[2], test_utc("2026-05-11 09:00:00"), 0, 2);
	memset(&p, 0, sizeof p);
	p.count[POLICY_DAILY] = 5;
	/* ... but budget is left at the oldest, so it stays as well */
	CHECK_KEEPS(&p, v, 3, "kkk");
	p.count[POLICY_DAILY] = 2;
	CHECK_KEEPS(&p, v, 3, "-kk");
	/* at +05:00 the 20:00 one falls on the next day, behind 05-11 09:00 */
	v[1].tz_offset = 5 * 3600;
	CHECK_KEEPS(&p, v, 3, "k-k");

	/* keep-last 2 and keep-daily 2 over five snapshots in three days */
	snap_set(&v[0], test_utc("2026-05-09 10:00:00"), 0, 0);
	snap_set(&v[1], test_utc("2026-05-10 08:00:00"), 0, 1);
	snap_set(&v[2], test_utc("2026-05-10 20:00:00"), 0, 2);
	snap_set(&v[3], test_utc("2026-05-11 09:00:00"), 0, 3);
	snap_set(&v[4], test_utc("2026-05-11 10:00:00"), 0, 4);
	memset(&p, 0, sizeof p);
	p.count[POLICY_LAST] = 2;
	p.count[POLICY_DAILY] = 2;
	CHECK_KEEPS(&p, v, 5, "--kkk");
	CHECK_RC(policy_apply(&p, v, 5, &d), 0);
	if (d) {
		CHECK(d[4].nreasons == 2 &&
		      !strcmp(d[4].reasons[0], "last snapshot") &&
		      !strcmp(d[4].reasons[1], "daily snapshot"));
		CHECK(d[3].nreasons == 1 &&
		      !strcmp(d[3].reasons[0], "last snapshot"));
		CHECK(d[2].nreasons == 1 &&
		      !strcmp(d[2].reasons[0], "daily snapshot"));
		policy_decisions_free(d, 5);
	}

	/* weekly across the turn of 2026/2027 (2026 has a week 53) */
	static const char *const days[] = {
		"2026-12-20", "2026-12-27", "2026-12-28", "2027-01-01",
		"2027-01-03", "2027-01-04", "2027-01-05",
	};
	for (int i = 0; i < 7; i++) {
		snprintf(buf, sizeof buf, "%s 12:00:00", days[i]);
		snap_set(&v[i], test_utc(buf), 0, i);
	}
	memset(&p, 0, sizeof p);
	p.count[POLICY_WEEKLY] = 10;
	/* W51, W52, W53 (3 days, newest 01-03), 2027-W01 (newest 01-05) */
	CHECK_KEEPS(&p, v, 7, "kk--k-k");
	p.count[POLICY_WEEKLY] = 2;
	CHECK_KEEPS(&p, v, 7, "----k-k");
	memset(&p, 0, sizeof p);
	p.count[POLICY_YEARLY] = 5;
	/* 2027, 2026, and 12-20 as the oldest of 2026 */
	CHECK_KEEPS(&p, v, 7, "k-k---k");
	p.count[POLICY_YEARLY] = 2;
	CHECK_KEEPS(&p, v, 7, "--k---k");
	memset(&p, 0, sizeof p);
	p.count[POLICY_MONTHLY] = 1;
	CHECK_KEEPS(&p, v, 7, "------k");

	/* keep-within 2d, newest 2026-05-11 10:00: after 05-09 10:00 */
	snap_set(&v[0], test_utc("2026-05-09 09:00:00"), 0, 0);
	snap_set(&v[1], test_utc("2026-05-09 10:00:00"), 0, 1);
	snap_set(&v[2], test_utc("2026-05-09 10:00:01"), 0, 2);
	snap_set(&v[3], test_utc("2026-05-11 10:00:00"), 0, 3);
	memset(&p, 0, sizeof p);
	CHECK_RC(policy_duration_parse("2d", &p.within), 0);
	CHECK_KEEPS(&p, v, 4, "--kk");
	CHECK_RC(policy_apply(&p, v, 4, &d), 0);
	if (d) {
		CHECK(d[2].nreasons == 1 &&
		      !strcmp(d[2].reasons[0], "within 2d"));
		policy_decisions_free(d, 4);
	}
	/* months on the calendar: 2026-03-31 minus 1m is 2026-03-03 */
	snap_set(&v[0], test_utc("2026-03-02 23:00:00"), 0, 0);
	snap_set(&v[1], test_utc("2026-03-03 00:00:00"), 0, 1);
	snap_set(&v[2], test_utc("2026-03-03 00:00:01"), 0, 2);
	snap_set(&v[3], test_utc("2026-03-31 00:00:00"), 0, 3);
	memset(&p, 0, sizeof p);
	CHECK_RC(policy_duration_parse("1m", &p.within), 0);
	CHECK_KEEPS(&p, v, 4, "--kk");
	/* within-daily 3d: one per day among the last three days */
	snap_set(&v[0], test_utc("2026-05-08 09:00:00"), 0, 0);
	snap_set(&v[1], test_utc("2026-05-09 09:00:00"), 0, 1);
	snap_set(&v[2], test_utc("2026-05-09 10:00:00"), 0, 2);
	snap_set(&v[3], test_utc("2026-05-11 10:00:00"), 0, 3);
	memset(&p, 0, sizeof p);
	CHECK_RC(policy_duration_parse("3d", &p.within_bucket[POLICY_DAILY]),
		 0);
	CHECK_KEEPS(&p, v, 4, "--kk");
	CHECK_RC(policy_apply(&p, v, 4, &d), 0);
	if (d) {
		CHECK(d[3].nreasons == 1 &&
		      !strcmp(d[3].reasons[0], "daily within 3d"));
		policy_decisions_free(d, 4);
	}

	/* keep-tag: every tag of one list */
	static const char *const t_a[] = {"a", NULL};
	static const char *const t_ab[] = {"a", "b", NULL};
	static const char *const t_b[] = {"b", NULL};
	static const char *const t_c[] = {"c", NULL};
	static const char *const la[] = {"a", NULL};
	static const char *const lbc[] = {"b", "c", NULL};
	const char *const *lists[] = {lbc, la};
	for (int i = 0; i < 4; i++)
		snap_set(&v[i], test_utc("2026-05-01 00:00:00") + i * 3600, 0,
			 i);
	v[0].tags = t_a, v[0].ntags = 1;
	v[1].tags = t_ab, v[1].ntags = 2;
	v[2].tags = t_b, v[2].ntags = 1;
	v[3].tags = t_c, v[3].ntags = 1;
	memset(&p, 0, sizeof p);
	p.keep_tags = lists;
	p.nkeep_tags = 2;
	CHECK_KEEPS(&p, v, 4, "kk--");
	CHECK_RC(policy_apply(&p, v, 4, &d), 0);
	if (d) {
		CHECK(d[1].nreasons == 1 && !strcmp(d[1].reasons[0], "tag a"));
		CHECK(d[1].why == POLICY_WHY_TAG);
		policy_decisions_free(d, 4);
	}
	v[2].tags = lbc, v[2].ntags = 2;
	CHECK_KEEPS(&p, v, 4, "kkk-");
	CHECK_RC(policy_apply(&p, v, 4, &d), 0);
	if (d) {
		CHECK(d[2].nreasons == 1 &&
		      !strcmp(d[2].reasons[0], "tag b,c"));
		policy_decisions_free(d, 4);
	}
	/* removing everything is refused unless allowed */
	static const char *const zz[] = {"zz", NULL};
	lists[0] = zz;
	p.nkeep_tags = 1;
	CHECK_KEEPS(&p, v, 4, "error -3");
	p.allow_remove_all = 1;
	CHECK_KEEPS(&p, v, 4, "----");

	/* the empty policy is an error; an empty group is not */
	memset(&p, 0, sizeof p);
	CHECK_KEEPS(&p, v, 4, "error -3");
	p.count[POLICY_LAST] = 1;
	d = (struct policy_decision *)&p;
	CHECK_RC(policy_apply(&p, v, 0, &d), 0);
	CHECK(d == NULL);

	/* 100 daily snapshots ending 2026-06-30 */
	for (int i = 0; i < 100; i++)
		snap_set(&v[i], test_utc("2026-06-30 12:00:00") -
				 (int64_t)(99 - i) * 86400, 0, i);
	memset(&p, 0, sizeof p);
	p.count[POLICY_DAILY] = 14;
	CHECK(count_kept(&p, v, 100) == 14);
	memset(&p, 0, sizeof p);
	p.count[POLICY_DAILY] = 7;
	p.count[POLICY_WEEKLY] = 4;
	p.count[POLICY_MONTHLY] = 3;
	/* Jun 24..30; weeks add Jun 21 and 14; months add May 31, Apr 30 */
	CHECK(count_kept(&p, v, 100) == 11);
	{
		const char *k = keeps(&p, v, 100);

		CHECK(k[99 - 9] == 'k' && k[99 - 16] == 'k');   /* Jun 21, 14 */
		CHECK(k[99 - 30] == 'k' && k[99 - 61] == 'k');  /* May 31, Apr 30 */
	}
}

/* ---- the reference model and the property test ---------------------------- */

/* Bucket value by the C library: gmtime_r of the local time. */
static long long ref_bucket(int b, size_t nr, int64_t t, int32_t off)
{
	time_t lt = (time_t)(t + off);
	struct tm tm;
	char g[16];

	gmtime_r(&lt, &tm);
	switch (b) {
	case POLICY_LAST:
		return (long long)nr;
	case POLICY_HOURLY:
		return (tm.tm_year + 1900) * 1000000LL + (tm.tm_mon + 1) * 10000 +
		       tm.tm_mday * 100 + tm.tm_hour;
	case POLICY_DAILY:
		return (tm.tm_year + 1900) * 10000LL + (tm.tm_mon + 1) * 100 +
		       tm.tm_mday;
	case POLICY_WEEKLY:
		strftime(g, sizeof g, "%G%V", &tm);
		return atoll(g);
	case POLICY_MONTHLY:
		return (tm.tm_year + 1900) * 100LL + tm.tm_mon + 1;
	default:
		return tm.tm_year + 1900;
	}
}

/* newest - d by timegm normalisation in offset off. */
static int64_t ref_cutoff(int64_t newest, int32_t off,
			  const struct policy_duration *d)
{
	time_t lt = (time_t)(newest + off);
	struct tm tm;

	gmtime_r(&lt, &tm);
	tm.tm_year -= d->years;
	tm.tm_mon -= d->months;
	tm.tm_mday -= d->days;
	return (int64_t)timegm(&tm) - (int64_t)d->hours * 3600 - off;
}

static int ref_has(const struct policy_snap *s, const char *const *l)
{
	for (; *l; l++) {
		int found = 0;

		for (size_t i = 0; i < s->ntags; i++)
			found |= !strcmp(s->tags[i], *l);
		if (!found)
			return 0;
	}
	return 1;
}

static int zero(const struct policy_duration *d)
{
	return !d->years && !d->months && !d->days && !d->hours;
}

/* why[] per input index; returns the number kept. */
static size_t ref_apply(const struct policy *p, const struct policy_snap *v,
			size_t n, uint32_t *why)
{
	size_t *o = malloc(n * sizeof *o), kept = 0;
	long long last[6], wlast[6];
	unsigned left[6];

	/* selection sort, newest first (time, then id, descending) */
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const struct policy_snap *a = &v[o[i]], *b = &v[o[j]];

			if (b->time_sec > a->time_sec ||
			    (b->time_sec == a->time_sec &&
			     memcmp(b->id, a->id, 32) > 0)) {
				size_t t = o[i];

				o[i] = o[j];
				o[j] = t;
			}
		}
	for (int b = 0; b < 6; b++) {
		last[b] = wlast[b] = -1;
		left[b] = p->count[b];
	}
	for (size_t nr = 0; nr < n; nr++) {
		const struct policy_snap *s = &v[o[nr]];
		const struct policy_snap *nw = &v[o[0]];
		uint32_t w = 0;

		for (size_t k = 0; k < p->nkeep_tags; k++)
			if (ref_has(s, p->keep_tags[k]))
				w |= POLICY_WHY_TAG;
		if (!zero(&p->within) &&
		    s->time_sec > ref_cutoff(nw->time_sec, nw->tz_offset,
					     &p->within))
			w |= POLICY_WHY_WITHIN;
		for (int b = 0; b < 6; b++) {
			long long val = ref_bucket(b, nr, s->time_sec,
						   s->tz_offset);

			/* the oldest counts even in a bucket already taken */
			if (left[b] > 0 && (val != last[b] || nr + 1 == n)) {
				last[b] = val;
				left[b]--;
				w |= POLICY_WHY_COUNT(b);
			}
		}
		for (int b = 1; b < 6; b++) {
			long long val;

			if (zero(&p->within_bucket[b]) ||
			    s->time_sec <= ref_cutoff(nw->time_sec,
						      nw->tz_offset,
						      &p->within_bucket[b]))
				continue;
			val = ref_bucket(b, nr, s->time_sec, s->tz_offset);
			if (val != wlast[b] || nr + 1 == n) {
				wlast[b] = val;
				w |= POLICY_WHY_WITHIN_BUCKET(b);
			}
		}
		why[o[nr]] = w;
		kept += w != 0;
	}
	free(o);
	return kept;
}

static const char *const tag_names[] = {"a", "b", "c"};

static void rand_duration(uint64_t *st, struct policy_duration *d)
{
	memset(d, 0, sizeof *d);
	switch (test_rand(st) % 6) {
	case 0: d->hours = (int32_t)(test_rand(st) % 72); break;
	case 1: d->days = (int32_t)(test_rand(st) % 60); break;
	case 2: d->months = (int32_t)(test_rand(st) % 14); break;
	case 3: d->years = (int32_t)(test_rand(st) % 3); break;
	case 4:
		d->years = (int32_t)(test_rand(st) % 2);
		d->months = (int32_t)(test_rand(st) % 13);
		d->days = (int32_t)(test_rand(st) % 40);
		d->hours = (int32_t)(test_rand(st) % 30);
		break;
	default: break;
	}
}

static void test_property(void)
{
	static const int32_t offs[] = {0, 3600, 7200, -5 * 3600, 19800,
				       13 * 3600, -10 * 3600, -9000};
	enum { MAXN = 64, ROUNDS = 4000 };
	uint64_t st = test_seed("test_policy");
	struct policy_snap v[MAXN], w[MAXN];
	const char *tagv[MAXN][3];
	const char *lists[3][4];
	const char *const *lp[3];
	uint32_t why[MAXN], why2[MAXN];
	size_t perm[MAXN];
	int bad = 0;

	for (int round = 0; round < ROUNDS && bad < 5; round++) {
		struct policy p;
		struct policy_decision *d = NULL, *d2 = NULL;
		size_t n = test_rand(&st) % MAXN, nk = 0, ref_kept;
		int64_t base = test_utc("2024-01-01 00:00:00");
		int64_t span = (int64_t)(test_rand(&st) % 3 + 1) * 365 * 86400;
		int rc, any_time_rule = 0;

		/* snapshots: spread or clustered times, a few zones, tags */
		for (size_t i = 0; i < n; i++) {
			memset(&v[i], 0, sizeof v[i]);
			if (i && test_rand(&st) % 4 == 0)
				v[i].time_sec = v[i - 1].time_sec +
					(int64_t)(test_rand(&st) % 7200);
			else if (i && test_rand(&st) % 8 == 0)
				v[i].time_sec = v[i - 1].time_sec;   /* a tie */
			else
				v[i].time_sec = base + (int64_t)(test_rand(&st) %
							       (uint64_t)span);
			v[i].tz_offset = test_rand(&st) % 3 ? offs[0] :
				offs[test_rand(&st) % (sizeof offs / sizeof *offs)];
			test_fill(&st, v[i].id, 32);
			v[i].ntags = 0;
			for (size_t t = 0; t < 3; t++)
				if (test_rand(&st) % 3 == 0)
					tagv[i][v[i].ntags++] = tag_names[t];
			v[i].tags = tagv[i];
		}
		/* a random, non-empty policy */
		do {
			memset(&p, 0, sizeof p);
			for (int b = 0; b < 6; b++)
				if (test_rand(&st) % 3 == 0)
					p.count[b] = (unsigned)(test_rand(&st) % 8);
			if (test_rand(&st) % 4 == 0)
				rand_duration(&st, &p.within);
			for (int b = 1; b < 6; b++)
				if (test_rand(&st) % 6 == 0)
					rand_duration(&st, &p.within_bucket[b]);
			p.nkeep_tags = test_rand(&st) % 5 == 0 ?
				test_rand(&st) % 3 : 0;
			for (size_t k = 0; k < p.nkeep_tags; k++) {
				size_t m = 0;

				for (size_t t = 0; t < 3; t++)
					if (test_rand(&st) % 2)
						lists[k][m++] = tag_names[t];
				if (!m)
					lists[k][m++] = tag_names[k];
				lists[k][m] = NULL;
				lp[k] = lists[k];
			}
			p.keep_tags = lp;
		} while (policy_is_empty(&p));
		p.allow_remove_all = 1;
		for (int b = 0; b < 6; b++)
			any_time_rule |= p.count[b] != 0 ||
				(b && !policy_duration_is_zero(&p.within_bucket[b]));
		any_time_rule |= !policy_duration_is_zero(&p.within);

		ref_kept = ref_apply(&p, v, n, why);
		rc = policy_apply(&p, v, n, &d);
		if (rc < 0) {
			fprintf(stderr, "round %d: policy_apply %d\n", round, rc);
			bad++;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (d[i].why != why[i] || d[i].keep != (why[i] != 0) ||
			    (d[i].nreasons == 0) != (why[i] == 0)) {
				fprintf(stderr, "round %d snap %zu: why %#x, "
					"model %#x\n", round, i,
					(unsigned)d[i].why, (unsigned)why[i]);
				bad++;
				break;
			}
		}
		/* the newest is kept by any count or within rule */
		if (n && any_time_rule) {
			size_t nw = 0;

			for (size_t i = 1; i < n; i++)
				if (v[i].time_sec > v[nw].time_sec ||
				    (v[i].time_sec == v[nw].time_sec &&
				     memcmp(v[i].id, v[nw].id, 32) > 0))
					nw = i;
			if (!d[nw].keep) {
				fprintf(stderr, "round %d: newest removed\n",
					round);
				bad++;
			}
		}
		/* refusing to remove all */
		p.allow_remove_all = 0;
		if (n && !ref_kept)
			CHECK_RC(policy_apply(&p, v, n, &d2), CAIRN_E_INVAL);
		p.allow_remove_all = 1;

		/* input order does not matter */
		for (size_t i = 0; i < n; i++)
			perm[i] = i;
		for (size_t i = n; i > 1; i--) {
			size_t j = test_rand(&st) % i, t = perm[i - 1];

			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			w[i] = v[perm[i]];
		rc = policy_apply(&p, w, n, &d2);
		CHECK_RC(rc, 0);
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (d2[i].why != d[perm[i]].why) {
				fprintf(stderr, "round %d: order matters\n",
					round);
				bad++;
				break;
			}
		policy_decisions_free(d2, n);
		d2 = NULL;

		/* idempotent: the kept set keeps all of itself */
		for (size_t i = 0; i < n; i++)
			if (d[i].keep)
				w[nk++] = v[i];
		if (ref_apply(&p, w, nk, why2) != nk ||
		    policy_apply(&p, w, nk, &d2) < 0) {
			fprintf(stderr, "round %d: not idempotent\n", round);
			bad++;
		} else {
			for (size_t i = 0; i < nk; i++)
				if (!d2[i].keep) {
					fprintf(stderr, "round %d: second pass "
						"removes\n", round);
					bad++;
					break;
				}
		}
		policy_decisions_free(d2, nk);
		policy_decisions_free(d, n);
	}
	test_failures += bad;
}

int main(void)
{
	test_duration();
	test_calendar();
	test_examples();
	test_property();
	return test_done("test_policy");
}
