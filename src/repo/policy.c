/* policy.c: the retention policy of "forget" (see policy.h).  Dates are
 * computed with proleptic Gregorian day counts, so nothing here depends on
 * the process's time zone or on the range of time_t. */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_err.h"
#include "civil.h"

/* ---- durations ------------------------------------------------------- */

int policy_duration_parse(const char *s, struct policy_duration *ret)
{
	static const char units[] = "ymdh";
	int32_t val[4] = {0, 0, 0, 0};
	size_t next = 0;   /* first unit still allowed */
	int any = 0;

	if (!s)
		return CAIRN_E_INVAL;
	while (*s) {
		int64_t n = 0;
		const char *u;

		if (*s < '0' || *s > '9')
			return CAIRN_E_INVAL;
		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (*s++ - '0');
			if (n > POLICY_DURATION_MAX)
				return CAIRN_E_INVAL;
		}
		if (!*s)
			return CAIRN_E_INVAL;   /* a number without a unit */
		u = strchr(units, *s);
		if (!u || (size_t)(u - units) < next)
			return CAIRN_E_INVAL;   /* unknown, repeated, or out of order */
		val[u - units] = (int32_t)n;
		next = (size_t)(u - units) + 1;
		any = 1;
		s++;
	}
	if (!any)
		return CAIRN_E_INVAL;
	ret->years = val[0];
	ret->months = val[1];
	ret->days = val[2];
	ret->hours = val[3];
	return 0;
}

void policy_duration_format(const struct policy_duration *d, char out[64])
{
	size_t k = 0;

	out[0] = '\0';
	if (d->years)
		k += (size_t)snprintf(out + k, 64 - k, "%dy", (int)d->years);
	if (d->months)
		k += (size_t)snprintf(out + k, 64 - k, "%dm", (int)d->months);
	if (d->days)
		k += (size_t)snprintf(out + k, 64 - k, "%dd", (int)d->days);
	if (d->hours)
		k += (size_t)snprintf(out + k, 64 - k, "%dh", (int)d->hours);
	if (!k)
		snprintf(out, 64, "0h");
}

int policy_duration_is_zero(const struct policy_duration *d)
{
	return !d->years && !d->months && !d->days && !d->hours;
}

/* ---- calendar ---------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Unix seconds of 0001-01-01T00:00:00 and 10000-01-01T00:00:00. */
#define LOCAL_MIN (-62135596800LL)
#define LOCAL_END 253402300800LL

int policy_local_time(int64_t t, int32_t off, struct policy_tm *ret)
{
	int64_t local, days, y;
	int m, d;

	if (t < LOCAL_MIN - 86400 || t >= LOCAL_END + 86400)
		return CAIRN_E_RANGE;
	local = t + off;
	if (local < LOCAL_MIN || local >= LOCAL_END)
		return CAIRN_E_RANGE;
	days = floor_div(local, 86400);
	civil_date_from_days(days, &y, &m, &d);
	ret->year = (int)y;
	ret->mon = m;
	ret->mday = d;
	ret->hour = (int)((local - days * 86400) / 3600);
	ret->wday = (int)((days % 7 + 11) % 7);   /* 1970-01-01 was a Thursday */
	ret->yday = (int)(days - civil_days_from_date(y, 1, 1));
	return 0;
}

void policy_iso_week(const struct policy_tm *tm, int *ret_year, int *ret_week)
{
	int wd = (tm->wday + 6) % 7;          /* Monday 0 .. Sunday 6 */
	int thu = tm->yday - wd + 3;          /* yday of this week's Thursday */
	int y = tm->year;

	if (thu < 0) {
		y--;
		thu += civil_is_leap(y) ? 366 : 365;
	} else if (thu >= (civil_is_leap(y) ? 366 : 365)) {
		thu -= civil_is_leap(y) ? 366 : 365;
		y++;
	}
	*ret_year = y;
	*ret_week = thu / 7 + 1;
}

/* newest - d on the calendar in offset off: years and months first (month
 * overflow moves the year), then days from the start of that month, then
 * hours.  Unix seconds. */
static int64_t time_minus(int64_t newest, int32_t off,
			  const struct policy_duration *d)
{
	int64_t local = newest + off;
	int64_t days = floor_div(local, 86400);
	int64_t sod = local - days * 86400;
	int64_t y, mon0;
	int m, md;

	civil_date_from_days(days, &y, &m, &md);
	mon0 = (int64_t)(m - 1) - d->months;
	y -= d->years;
	y += floor_div(mon0, 12);
	mon0 -= floor_div(mon0, 12) * 12;
	days = civil_days_from_date(y, mon0 + 1, 1) + (md - 1) - d->days;
	return days * 86400 + sod - (int64_t)d->hours * 3600 - off;
}

/* ---- the policy -------------------------------------------------------- */

int policy_is_empty(const struct policy *p)
{
	for (int b = 0; b < _POLICY_BUCKET_MAX; b++) {
		if (p->count[b])
			return 0;
		if (b != POLICY_LAST &&
		    !policy_duration_is_zero(&p->within_bucket[b]))
			return 0;
	}
	return policy_duration_is_zero(&p->within) && !p->nkeep_tags;
}

static const char *const bucket_name[_POLICY_BUCKET_MAX] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly",
};

/* The bucket of snapshot number nr (newest first) with local time tm. */
static int64_t bucket_value(int b, size_t nr, const struct policy_tm *tm)
{
	int iy, iw;

	switch (b) {
	case POLICY_LAST:
		return (int64_t)nr;
	case POLICY_HOURLY:
		return (int64_t)tm->year * 1000000 + tm->mon * 10000 +
		       tm->mday * 100 + tm->hour;
	case POLICY_DAILY:
		return (int64_t)tm->year * 10000 + tm->mon * 100 + tm->mday;
	case POLICY_WEEKLY:
		policy_iso_week(tm, &iy, &iw);
		return (int64_t)iy * 100 + iw;
	case POLICY_MONTHLY:
		return (int64_t)tm->year * 100 + tm->mon;
	default:
		return tm->year;
	}
}

static int has_all_tags(const struct policy_snap *s, const char *const *want)
{
	for (; want && *want; want++) {
		size_t i;

		for (i = 0; i < s->ntags; i++)
			if (!strcmp(s->tags[i], *want))
				break;
		if (i == s->ntags)
			return 0;
	}
	return 1;
}

/* Appends a copy of text to d's reasons. */
static int reason_add(struct policy_decision *d, const char *text)
{
	char **v = realloc(d->reasons, (d->nreasons + 1) * sizeof *v);

	if (!v)
		return CAIRN_E_NOMEM;
	d->reasons = v;
	v[d->nreasons] = strdup(text);
	if (!v[d->nreasons])
		return CAIRN_E_NOMEM;
	d->nreasons++;
	return 0;
}

/* "tag a,b" for one keep-tag list. */
static int reason_add_tags(struct policy_decision *d, const char *const *l)
{
	size_t len = sizeof "tag ";
	char *p;
	int rc;

	for (const char *const *t = l; t && *t; t++)
		len += strlen(*t) + 1;
	p = malloc(len);
	if (!p)
		return CAIRN_E_NOMEM;
	strcpy(p, "tag ");
	for (const char *const *t = l; t && *t; t++) {
		if (t != l)
			strcat(p, ",");
		strcat(p, *t);
	}
	rc = reason_add(d, p);
	free(p);
	return rc;
}

struct order {
	const struct policy_snap *s;
	size_t idx;
};

/* Newest first: time descending (to the nanosecond), then id descending,
 * then input order. */
static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	int c;

	if (x->s->time_sec != y->s->time_sec)
		return x->s->time_sec > y->s->time_sec ? -1 : 1;
	if (x->s->time_nsec != y->s->time_nsec)
		return x->s->time_nsec > y->s->time_nsec ? -1 : 1;
	c = memcmp(x->s->id, y->s->id, 32);
	if (c)
		return c > 0 ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void policy_decisions_free(struct policy_decision *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++) {
		for (size_t k = 0; k < d[i].nreasons; k++)
			free(d[i].reasons[k]);
		free(d[i].reasons);
	}
	free(d);
}

int policy_apply(const struct policy *p, const struct policy_snap *v,
		 size_t n, struct policy_decision **ret)
{
	struct policy_decision *dec = NULL;
	struct order *ord = NULL;
	int64_t last[_POLICY_BUCKET_MAX], wlast[_POLICY_BUCKET_MAX];
	int64_t within_t = 0, wb_t[_POLICY_BUCKET_MAX] = {0};
	unsigned left[_POLICY_BUCKET_MAX];
	char within_s[64], text[96];
	size_t kept = 0;
	int rc;

	if (policy_is_empty(p))
		return CAIRN_E_INVAL;
	if (n == 0) {
		*ret = NULL;
		return 0;
	}
	dec = calloc(n, sizeof *dec);
	ord = calloc(n, sizeof *ord);
	if (!dec || !ord) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct policy_tm tm;

		TRY(policy_local_time(v[i].time_sec, v[i].tz_offset, &tm));
		ord[i].s = &v[i];
		ord[i].idx = i;
	}
	qsort(ord, n, sizeof *ord, order_cmp);

	/* the cut-off times, on the newest snapshot's calendar */
	if (!policy_duration_is_zero(&p->within))
		within_t = time_minus(ord[0].s->time_sec, ord[0].s->tz_offset,
				      &p->within);
	for (int b = 0; b < _POLICY_BUCKET_MAX; b++) {
		last[b] = wlast[b] = -1;
		left[b] = p->count[b];
		if (b != POLICY_LAST &&
		    !policy_duration_is_zero(&p->within_bucket[b]))
			wb_t[b] = time_minus(ord[0].s->time_sec,
					     ord[0].s->tz_offset,
					     &p->within_bucket[b]);
	}
	policy_duration_format(&p->within, within_s);

	for (size_t nr = 0; nr < n; nr++) {
		const struct policy_snap *s = ord[nr].s;
		struct policy_decision *d = &dec[ord[nr].idx];
		int oldest = nr + 1 == n;
		struct policy_tm tm;

		(void)policy_local_time(s->time_sec, s->tz_offset, &tm);
		for (size_t k = 0; k < p->nkeep_tags; k++) {
			if (!has_all_tags(s, p->keep_tags[k]))
				continue;
			d->why |= POLICY_WHY_TAG;
			TRY(reason_add_tags(d, p->keep_tags[k]));
		}
		if (!policy_duration_is_zero(&p->within) &&
		    s->time_sec > within_t) {
			d->why |= POLICY_WHY_WITHIN;
			snprintf(text, sizeof text, "within %s", within_s);
			TRY(reason_add(d, text));
		}
		for (int b = 0; b < _POLICY_BUCKET_MAX; b++) {
			int64_t val;
			int again;

			if (!left[b])
				continue;
			val = bucket_value(b, nr, &tm);
			again = val == last[b];
			if (again && !oldest)
				continue;
			last[b] = val;
			if (left[b] != POLICY_UNLIMITED)
				left[b]--;
			d->why |= POLICY_WHY_COUNT(b);
			snprintf(text, sizeof text, "%s%s snapshot",
				 again ? "oldest " : "", bucket_name[b]);
			TRY(reason_add(d, text));
		}
		for (int b = POLICY_HOURLY; b < _POLICY_BUCKET_MAX; b++) {
			char ds[64];
			int64_t val;
			int again;

			if (policy_duration_is_zero(&p->within_bucket[b]) ||
			    s->time_sec <= wb_t[b])
				continue;
			val = bucket_value(b, nr, &tm);
			again = val == wlast[b];
			if (again && !oldest)
				continue;
			wlast[b] = val;
			d->why |= POLICY_WHY_WITHIN_BUCKET(b);
			policy_duration_format(&p->within_bucket[b], ds);
			snprintf(text, sizeof text, "%s%s within %s",
				 again ? "oldest " : "", bucket_name[b], ds);
			TRY(reason_add(d, text));
		}
		d->keep = d->why != 0;
		kept += (size_t)d->keep;
	}
	if (!kept && !p->allow_remove_all) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	*ret = dec;
	dec = NULL;
	rc = 0;
out:
	policy_decisions_free(dec, n);
	free(ord);
	return rc;
}
