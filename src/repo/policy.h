/* policy.h: the retention policy of "forget": which snapshots of one group
 * to keep, and why.  Pure computation: no I/O, no clock, no time zone
 * database; every calendar field is taken in the offset a snapshot
 * recorded.
 *
 * The rules, applied to the group sorted newest first:
 *  - keep-tag: a snapshot is kept when it has every tag of any one list;
 *  - keep-within D: kept when its time is after (newest time minus D),
 *    D subtracted on the calendar in the newest snapshot's offset (years,
 *    months and days with normalisation, so Mar 31 - 1m is Mar 3 or 2,
 *    then hours);
 *  - keep-last/hourly/daily/weekly/monthly/yearly N: walking newest to
 *    oldest, each rule with budget left keeps a snapshot whose bucket
 *    (its index; y-m-d-h; y-m-d; ISO year and week; y-m; y) differs from
 *    the bucket of the last snapshot that rule kept, and spends one;
 *  - keep-within-<bucket> D: the same bucket walk without a budget, over
 *    the snapshots that keep-within D would keep;
 *  - and the oldest snapshot of the group, when a bucket rule reaches it
 *    (budget left; for keep-within-<bucket>, inside D) but its bucket is
 *    already taken, is kept all the same: "oldest daily snapshot",
 *    "oldest yearly within 75y".  A short history keeps its start.
 */
#ifndef CAIRN_POLICY_H
#define CAIRN_POLICY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* A calendar duration "NyNmNdNh"; all zero means "rule off". */
struct policy_duration {
	int32_t years, months, days, hours;
};

/* Largest value of one duration component. */
#define POLICY_DURATION_MAX 1000000

/* Parses "NyNmNdNh": components in that order, each optional, at least
 * one, decimal digits only, each <= POLICY_DURATION_MAX.  CAIRN_E_INVAL
 * otherwise; *ret is set only on success. */
int policy_duration_parse(const char *s, struct policy_duration *ret);
/* The canonical text: the non-zero components in order ("2y5m7d3h",
 * "7d"), "0h" when all are zero.  out must hold 64 bytes. */
void policy_duration_format(const struct policy_duration *d, char out[64]);
/* 1 when every component is zero. */
int policy_duration_is_zero(const struct policy_duration *d);

/* The rules, indexes into policy.count[] / policy.within_bucket[] and
 * bits of policy_decision.why (keep-within and keep-tag follow). */
enum policy_bucket {
	POLICY_LAST = 0,
	POLICY_HOURLY,
	POLICY_DAILY,
	POLICY_WEEKLY,
	POLICY_MONTHLY,
	POLICY_YEARLY,
	_POLICY_BUCKET_MAX,
};

#define POLICY_WHY_COUNT(b) (1u << (b))              /* "daily snapshot" */
#define POLICY_WHY_WITHIN (1u << 6)                   /* "within 7d" */
#define POLICY_WHY_WITHIN_BUCKET(b) (1u << (7 + (b))) /* "daily within 7d"; b >= HOURLY */
#define POLICY_WHY_TAG (1u << 13)                     /* "tag a,b" */

/* A count without a limit: every bucket. */
#define POLICY_UNLIMITED UINT_MAX

struct policy {
	/* keep-last, -hourly, ... -yearly; 0 is off, POLICY_UNLIMITED all */
	unsigned count[_POLICY_BUCKET_MAX];
	struct policy_duration within;
	/* keep-within-hourly ... -yearly; [POLICY_LAST] is unused */
	struct policy_duration within_bucket[_POLICY_BUCKET_MAX];
	/* keep-tag: nkeep_tags lists, each NULL-terminated */
	const char *const *const *keep_tags;
	size_t nkeep_tags;
	/* 0: refuse a result that removes every snapshot of a group */
	int allow_remove_all;
};

/* One snapshot as the policy sees it. */
struct policy_snap {
	int64_t time_sec;          /* unix time */
	uint32_t time_nsec;        /* orders snapshots within one second */
	int32_t tz_offset;         /* seconds east of UTC, as recorded */
	const char *const *tags;   /* ntags entries (may be NULL when 0) */
	size_t ntags;
	uint8_t id[32];            /* orders snapshots of equal time */
};

struct policy_decision {
	int keep;                  /* 1 keep, 0 remove */
	uint32_t why;              /* POLICY_WHY_* bits; 0 iff !keep */
	char **reasons;            /* nreasons texts, in rule order */
	size_t nreasons;
};

/* 1 when p has no rule at all. */
int policy_is_empty(const struct policy *p);

/* Decides for each of the n snapshots of one group; (*ret)[i] belongs to
 * v[i], whatever the order of v.  The newest snapshot is the one with the
 * greatest time, ties broken by the greater id (the last one a listing
 * sorted by time then id shows).  Returns CAIRN_E_INVAL for an empty
 * policy, or when n > 0, nothing would be kept and !allow_remove_all;
 * CAIRN_E_RANGE when a time is outside what the calendar handles;
 * CAIRN_E_NOMEM.  *ret is set only on success (n == 0 gives a NULL
 * array); free it with policy_decisions_free. */
int policy_apply(const struct policy *p, const struct policy_snap *v,
		 size_t n, struct policy_decision **ret);
void policy_decisions_free(struct policy_decision *d, size_t n);

/* Calendar helpers, exposed for tests.  Local time of t in offset off,
 * broken down (tm_year is the full year, tm_mon 1..12); CAIRN_E_RANGE
 * outside years 1..9999. */
struct policy_tm {
	int year, mon, mday, hour, wday, yday;  /* wday 0 = Sunday, yday 0.. */
};
int policy_local_time(int64_t t, int32_t off, struct policy_tm *ret);
/* ISO 8601 week-numbering year and week (1..53) of a local date. */
void policy_iso_week(const struct policy_tm *tm, int *ret_year,
		     int *ret_week);

#endif
