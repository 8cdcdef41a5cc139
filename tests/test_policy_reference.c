/* test_policy_reference.c: the retention policy against the reference
 * tool's own policy test set (its 103 snapshots and, per policy, the
 * snapshots it keeps and why) and against the worked examples of its
 * documentation.
 *
 * Where the reference words a reason differently, ours is checked: "tag
 * foo,bar" for a snapshot that has every tag of the list foo,bar.  The
 * reference's empty policy keeps everything; ours is refused by contract
 * (the forget command refuses it in both), so that case is left out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn_err.h"
#include "policy.h"
#include "testutil.h"

/* ---- the test set ---------------------------------------------------- */

/* One snapshot: local wall-clock time, tags, and whether the reference's
 * snapshot also records paths (it only tells apart two of the ties). */
struct ref_snap {
	const char *time;   /* "YYYY-MM-DD HH:MM:SS" */
	uint32_t nsec;
	const char *tags;   /* "foo,bar"; NULL for none */
	int paths;
};

#define FOO "foo"
#define BAR "bar"
#define FOOBAR "foo,bar"

/* In the reference's order: not sorted, with ties (five at 2015-10-22
 * 10:20:30) and sub-second neighbours (".1").  Of equal times, the one
 * listed first counts as the newer, as the reference sorts stably. */
static const struct ref_snap ref_set[] = {
	{"2014-09-01 10:20:30", 0, NULL, 0},
	{"2014-09-02 10:20:30", 0, NULL, 0},
	{"2014-09-05 10:20:30", 0, NULL, 0},
	{"2014-09-06 10:20:30", 0, NULL, 0},
	{"2014-09-08 10:20:30", 0, NULL, 0},
	{"2014-09-09 10:20:30", 0, NULL, 0},
	{"2014-09-10 10:20:30", 0, NULL, 0},
	{"2014-09-11 10:20:30", 0, NULL, 0},
	{"2014-09-20 10:20:30", 0, NULL, 0},
	{"2014-09-22 10:20:30", 0, NULL, 0},
	{"2014-08-08 10:20:30", 0, NULL, 0},
	{"2014-08-10 10:20:30", 0, NULL, 0},
	{"2014-08-12 10:20:30", 0, NULL, 0},
	{"2014-08-13 10:20:30", 0, NULL, 0},
	{"2014-08-13 10:20:30", 100000000, NULL, 0},
	{"2014-08-15 10:20:30", 0, NULL, 0},
	{"2014-08-18 10:20:30", 0, NULL, 0},
	{"2014-08-20 10:20:30", 0, NULL, 0},
	{"2014-08-21 10:20:30", 0, NULL, 0},
	{"2014-08-22 10:20:30", 0, NULL, 0},
	{"2014-10-01 10:20:30", 0, FOO, 0},
	{"2014-10-02 10:20:30", 0, FOO, 0},
	{"2014-10-05 10:20:30", 0, FOO, 0},
	{"2014-10-06 10:20:30", 0, FOO, 0},
	{"2014-10-08 10:20:30", 0, FOO, 0},
	{"2014-10-09 10:20:30", 0, FOO, 0},
	{"2014-10-10 10:20:30", 0, FOO, 0},
	{"2014-10-11 10:20:30", 0, FOO, 0},
	{"2014-10-20 10:20:30", 0, FOO, 0},
	{"2014-10-22 10:20:30", 0, FOO, 0},
	{"2014-11-08 10:20:30", 0, FOO, 0},
	{"2014-11-10 10:20:30", 0, FOO, 0},
	{"2014-11-12 10:20:30", 0, FOO, 0},
	{"2014-11-13 10:20:30", 0, FOO, 0},
	{"2014-11-13 10:20:30", 100000000, BAR, 0},
	{"2014-11-15 10:20:30", 0, FOOBAR, 0},
	{"2014-11-18 10:20:30", 0, NULL, 0},
	{"2014-11-20 10:20:30", 0, NULL, 0},
	{"2014-11-21 10:20:30", 0, NULL, 0},
	{"2014-11-22 10:20:30", 0, NULL, 0},
	{"2015-09-01 10:20:30", 0, NULL, 0},
	{"2015-09-02 10:20:30", 0, NULL, 0},
	{"2015-09-05 10:20:30", 0, NULL, 0},
	{"2015-09-06 10:20:30", 0, NULL, 0},
	{"2015-09-08 10:20:30", 0, NULL, 0},
	{"2015-09-09 10:20:30", 0, NULL, 0},
	{"2015-09-10 10:20:30", 0, NULL, 0},
	{"2015-09-11 10:20:30", 0, NULL, 0},
	{"2015-09-20 10:20:30", 0, NULL, 0},
	{"2015-09-22 10:20:30", 0, NULL, 0},
	{"2015-08-08 10:20:30", 0, NULL, 0},
	{"2015-08-10 10:20:30", 0, NULL, 0},
	{"2015-08-12 10:20:30", 0, NULL, 0},
	{"2015-08-13 10:20:30", 0, NULL, 0},
	{"2015-08-13 10:20:30", 100000000, NULL, 0},
	{"2015-08-15 10:20:30", 0, NULL, 0},
	{"2015-08-18 10:20:30", 0, NULL, 0},
	{"2015-08-20 10:20:30", 0, NULL, 0},
	{"2015-08-21 10:20:30", 0, NULL, 0},
	{"2015-08-22 10:20:30", 0, NULL, 0},
	{"2015-10-01 10:20:30", 0, NULL, 0},
	{"2015-10-02 10:20:30", 0, NULL, 0},
	{"2015-10-05 10:20:30", 0, NULL, 0},
	{"2015-10-06 10:20:30", 0, NULL, 0},
	{"2015-10-08 10:20:30", 0, NULL, 0},
	{"2015-10-09 10:20:30", 0, NULL, 0},
	{"2015-10-10 10:20:30", 0, NULL, 0},
	{"2015-10-11 10:20:30", 0, NULL, 0},
	{"2015-10-20 10:20:30", 0, NULL, 0},
	{"2015-10-22 10:20:30", 0, NULL, 0},
	{"2015-10-22 10:20:30", 0, NULL, 0},
	{"2015-10-22 10:20:30", 0, FOOBAR, 0},
	{"2015-10-22 10:20:30", 0, FOOBAR, 0},
	{"2015-10-22 10:20:30", 0, FOOBAR, 1},
	{"2015-11-08 10:20:30", 0, NULL, 0},
	{"2015-11-10 10:20:30", 0, NULL, 0},
	{"2015-11-12 10:20:30", 0, NULL, 0},
	{"2015-11-13 10:20:30", 0, NULL, 0},
	{"2015-11-13 10:20:30", 100000000, NULL, 0},
	{"2015-11-15 10:20:30", 0, NULL, 0},
	{"2015-11-18 10:20:30", 0, NULL, 0},
	{"2015-11-20 10:20:30", 0, NULL, 0},
	{"2015-11-21 10:20:30", 0, NULL, 0},
	{"2015-11-22 10:20:30", 0, NULL, 0},
	{"2016-01-01 01:02:03", 0, NULL, 0},
	{"2016-01-01 01:03:03", 0, NULL, 0},
	{"2016-01-01 07:08:03", 0, NULL, 0},
	{"2016-01-03 07:02:03", 0, NULL, 0},
	{"2016-01-04 10:23:03", 0, NULL, 0},
	{"2016-01-04 11:23:03", 0, NULL, 0},
	{"2016-01-04 12:23:03", 0, NULL, 0},
	{"2016-01-04 12:24:03", 0, NULL, 0},
	{"2016-01-04 12:28:03", 0, NULL, 0},
	{"2016-01-04 12:30:03", 0, NULL, 0},
	{"2016-01-04 16:23:03", 0, NULL, 0},
	{"2016-01-05 09:02:03", 0, NULL, 0},
	{"2016-01-06 08:02:03", 0, NULL, 0},
	{"2016-01-07 10:02:03", 0, NULL, 0},
	{"2016-01-08 20:02:03", 0, NULL, 0},
	{"2016-01-09 21:02:03", 0, NULL, 0},
	{"2016-01-12 21:02:03", 0, NULL, 0},
	{"2016-01-12 21:08:03", 0, NULL, 0},
	{"2016-01-18 12:02:03", 0, NULL, 0},
};

#define REF_N (sizeof ref_set / sizeof *ref_set)

/* ---- expected results ------------------------------------------------ */

/* What a policy keeps, newest first.  A row names one kept snapshot by its
 * label (time, ".1" for the sub-second ones, tags, "+paths"), or a run
 * from one label to another: every snapshot in between, in newest-first
 * order, kept for the same reasons.  Equal labels are taken in turn.
 * Reasons are joined by "; ". */
struct ref_row {
	const char *from, *to, *why;
};

#define ONE(a, w) {a, NULL, w}
#define RUN(a, b, w) {a, b, w}
#define ROWS(...) ((const struct ref_row[]){__VA_ARGS__, {NULL, NULL, NULL}})

/* A policy as text: "daily=7 weekly=2", "last=unlimited", "within=1d",
 * "within-daily=7d", "tag=foo,bar" (one list per tag=). */
struct ref_case {
	const char *name, *policy;
	const struct ref_row *rows;
};

/* Row blocks: a stretch of the set that several policies keep one
 * snapshot a day (or an hour) of, for the reason w.  The 2015 and 2014
 * snapshots have one time of day, so there hours and days coincide. */
#define NEWEST2(w) ONE("2016-01-18 12:02:03", w), ONE("2016-01-12 21:08:03", w)
#define DAYS_JAN(w)                                                            \
	RUN("2016-01-09 21:02:03", "2016-01-04 16:23:03", w),                  \
	ONE("2016-01-03 07:02:03", w), ONE("2016-01-01 07:08:03", w)
#define HOURS_JAN(w)                                                           \
	RUN("2016-01-09 21:02:03", "2016-01-04 12:30:03", w),                  \
	RUN("2016-01-04 11:23:03", "2016-01-01 01:03:03", w)
#define DAYS_AUTUMN(w)                                                         \
	RUN("2015-11-22 10:20:30", "2015-11-13 10:20:30.1", w),                \
	RUN("2015-11-12 10:20:30", "2015-10-22 10:20:30", w)
/* back to 2014-11-15 09:02:03, the newest minus 1y2m3d3h */
#define DAYS_WINDOW(w)                                                         \
	DAYS_AUTUMN(w),                                                        \
	RUN("2015-10-20 10:20:30", "2015-08-13 10:20:30.1", w),                \
	RUN("2015-08-12 10:20:30", "2014-11-15 10:20:30 foo,bar", w)

#define HW "hourly within 1y2m3d3h"
#define DW "daily within 1y2m3d3h"
#define WW "weekly within 1y2m3d3h"
#define MW "monthly within 1y2m3d3h"
#define L_H "last snapshot; hourly snapshot"

/* The numbers are the reference's own.  Its stored results were read for
 * 3, 4, 6, 9-13, 16-21, 23, 25, 26, 28, 29, 31, 34-39.  Those of 16, 17
 * and 39 predate its rule that the oldest snapshot stays while a rule has
 * budget left, marked "oldest ..." (its documentation states the rule;
 * 35 shows it at the current revision): here they are with it.  1, 2, 5,
 * 7, 8, 14, 15, 22, 24, 27, 30, 32, 33 are worked out from the documented
 * rules, their stored results not being at hand. */
static const struct ref_case ref_cases[] = {
	{"1", "last=10", ROWS(
	RUN("2016-01-18 12:02:03", "2016-01-04 12:30:03", "last snapshot"))},
	{"2", "last=15", ROWS(
	RUN("2016-01-18 12:02:03", "2016-01-04 10:23:03", "last snapshot"))},
	{"3", "last=99", ROWS(
	RUN("2016-01-18 12:02:03", "2014-08-13 10:20:30.1",
	    "last snapshot"))},
	{"4", "last=200", ROWS(
	RUN("2016-01-18 12:02:03", "2014-08-08 10:20:30", "last snapshot"))},
	{"5", "hourly=20", ROWS(
	NEWEST2("hourly snapshot"), HOURS_JAN("hourly snapshot"),
	RUN("2015-11-22 10:20:30", "2015-11-13 10:20:30.1",
	    "hourly snapshot"))},
	{"6", "daily=3", ROWS(
	NEWEST2("daily snapshot"),
	ONE("2016-01-09 21:02:03", "daily snapshot"))},
	{"7", "daily=10", ROWS(
	NEWEST2("daily snapshot"), DAYS_JAN("daily snapshot"))},
	{"8", "daily=30", ROWS(
	NEWEST2("daily snapshot"), DAYS_JAN("daily snapshot"),
	DAYS_AUTUMN("daily snapshot"),
	RUN("2015-10-20 10:20:30", "2015-09-22 10:20:30", "daily snapshot"))},
	{"9", "last=5 daily=5", ROWS(
	ONE("2016-01-18 12:02:03", "last snapshot; daily snapshot"),
	ONE("2016-01-12 21:08:03", "last snapshot; daily snapshot"),
	ONE("2016-01-12 21:02:03", "last snapshot"),
	ONE("2016-01-09 21:02:03", "last snapshot; daily snapshot"),
	ONE("2016-01-08 20:02:03", "last snapshot; daily snapshot"),
	ONE("2016-01-07 10:02:03", "daily snapshot"))},
	{"10", "last=2 daily=10", ROWS(
	NEWEST2("last snapshot; daily snapshot"), DAYS_JAN("daily snapshot"))},
	{"11", "weekly=2", ROWS(NEWEST2("weekly snapshot"))},
	/* ISO weeks: Monday 2016-01-04 starts week 1, so 01-03 is 2015-W53 */
	{"12", "weekly=4", ROWS(
	NEWEST2("weekly snapshot"),
	ONE("2016-01-09 21:02:03", "weekly snapshot"),
	ONE("2016-01-03 07:02:03", "weekly snapshot"))},
	{"13", "daily=3 weekly=4", ROWS(
	NEWEST2("daily snapshot; weekly snapshot"),
	ONE("2016-01-09 21:02:03", "daily snapshot; weekly snapshot"),
	ONE("2016-01-03 07:02:03", "weekly snapshot"))},
	{"14", "monthly=6", ROWS(
	ONE("2016-01-18 12:02:03", "monthly snapshot"),
	ONE("2015-11-22 10:20:30", "monthly snapshot"),
	ONE("2015-10-22 10:20:30", "monthly snapshot"),
	ONE("2015-09-22 10:20:30", "monthly snapshot"),
	ONE("2015-08-22 10:20:30", "monthly snapshot"),
	ONE("2014-11-22 10:20:30", "monthly snapshot"))},
	{"15", "daily=2 weekly=2 monthly=6", ROWS(
	ONE("2016-01-18 12:02:03",
	    "daily snapshot; weekly snapshot; monthly snapshot"),
	ONE("2016-01-12 21:08:03", "daily snapshot; weekly snapshot"),
	ONE("2015-11-22 10:20:30", "monthly snapshot"),
	ONE("2015-10-22 10:20:30", "monthly snapshot"),
	ONE("2015-09-22 10:20:30", "monthly snapshot"),
	ONE("2015-08-22 10:20:30", "monthly snapshot"),
	ONE("2014-11-22 10:20:30", "monthly snapshot"))},
	{"16", "yearly=10", ROWS(
	ONE("2016-01-18 12:02:03", "yearly snapshot"),
	ONE("2015-11-22 10:20:30", "yearly snapshot"),
	ONE("2014-11-22 10:20:30", "yearly snapshot"),
	ONE("2014-08-08 10:20:30", "oldest yearly snapshot"))},
	{"17", "daily=7 weekly=2 monthly=3 yearly=10", ROWS(
	ONE("2016-01-18 12:02:03", "daily snapshot; weekly snapshot; "
	    "monthly snapshot; yearly snapshot"),
	ONE("2016-01-12 21:08:03", "daily snapshot; weekly snapshot"),
	RUN("2016-01-09 21:02:03", "2016-01-05 09:02:03", "daily snapshot"),
	ONE("2015-11-22 10:20:30", "monthly snapshot; yearly snapshot"),
	ONE("2015-10-22 10:20:30", "monthly snapshot"),
	ONE("2014-11-22 10:20:30", "yearly snapshot"),
	ONE("2014-08-08 10:20:30", "oldest yearly snapshot"))},
	{"18", "tag=foo", ROWS(
	RUN("2015-10-22 10:20:30 foo,bar",
	    "2015-10-22 10:20:30 foo,bar +paths", "tag foo"),
	ONE("2014-11-15 10:20:30 foo,bar", "tag foo"),
	RUN("2014-11-13 10:20:30 foo", "2014-10-01 10:20:30 foo",
	    "tag foo"))},
	{"19", "tag=foo,bar", ROWS(
	RUN("2015-10-22 10:20:30 foo,bar",
	    "2015-10-22 10:20:30 foo,bar +paths", "tag foo,bar"),
	ONE("2014-11-15 10:20:30 foo,bar", "tag foo,bar"))},
	{"20", "tag=foo tag=bar", ROWS(
	RUN("2015-10-22 10:20:30 foo,bar",
	    "2015-10-22 10:20:30 foo,bar +paths", "tag foo; tag bar"),
	ONE("2014-11-15 10:20:30 foo,bar", "tag foo; tag bar"),
	ONE("2014-11-13 10:20:30.1 bar", "tag bar"),
	RUN("2014-11-13 10:20:30 foo", "2014-10-01 10:20:30 foo",
	    "tag foo"))},
	/* keep-within: after the newest (2016-01-18 12:02:03) minus D */
	{"21", "within=1d", ROWS(
	ONE("2016-01-18 12:02:03", "within 1d"))},
	{"22", "within=2d", ROWS(
	ONE("2016-01-18 12:02:03", "within 2d"))},
	{"23", "within=7d", ROWS(
	RUN("2016-01-18 12:02:03", "2016-01-12 21:02:03", "within 7d"))},
	{"24", "within=1m", ROWS(
	RUN("2016-01-18 12:02:03", "2016-01-01 01:02:03", "within 1m"))},
	{"25", "within=1m14d", ROWS(
	RUN("2016-01-18 12:02:03", "2016-01-01 01:02:03", "within 1m14d"))},
	/* written "1y1d1m" there, a spelling our parser refuses */
	{"26", "within=1y1m1d", ROWS(
	RUN("2016-01-18 12:02:03", "2015-08-08 10:20:30", "within 1y1m1d"))},
	{"27", "within=13d23h", ROWS(
	RUN("2016-01-18 12:02:03", "2016-01-04 16:23:03", "within 13d23h"))},
	/* after 2015-11-18 10:02:03: the hours count */
	{"28", "within=2m2h", ROWS(
	RUN("2016-01-18 12:02:03", "2015-11-18 10:20:30", "within 2m2h"))},
	/* after 2014-11-15 09:02:03 */
	{"29", "within=1y2m3d3h", ROWS(
	RUN("2016-01-18 12:02:03", "2014-11-15 10:20:30 foo,bar",
	    "within 1y2m3d3h"))},
	{"30", "within-hourly=1y2m3d3h", ROWS(
	NEWEST2(HW), HOURS_JAN(HW), DAYS_WINDOW(HW))},
	{"31", "within-daily=1y2m3d3h", ROWS(
	NEWEST2(DW), DAYS_JAN(DW), DAYS_WINDOW(DW))},
	{"32", "within-weekly=1y2m3d3h", ROWS(
	NEWEST2(WW),
	ONE("2016-01-09 21:02:03", WW),
	ONE("2016-01-03 07:02:03", WW),
	ONE("2015-11-22 10:20:30", WW),
	ONE("2015-11-15 10:20:30", WW),
	ONE("2015-11-08 10:20:30", WW),
	ONE("2015-10-22 10:20:30", WW),
	ONE("2015-10-11 10:20:30", WW),
	ONE("2015-10-02 10:20:30", WW),
	RUN("2015-09-22 10:20:30", "2015-09-11 10:20:30", WW),
	ONE("2015-09-06 10:20:30", WW),
	ONE("2015-08-22 10:20:30", WW),
	ONE("2015-08-15 10:20:30", WW),
	ONE("2015-08-08 10:20:30", WW),
	ONE("2014-11-22 10:20:30", WW),
	ONE("2014-11-15 10:20:30 foo,bar", WW))},
	{"33", "within-monthly=1y2m3d3h", ROWS(
	ONE("2016-01-18 12:02:03", MW),
	ONE("2015-11-22 10:20:30", MW),
	ONE("2015-10-22 10:20:30", MW),
	ONE("2015-09-22 10:20:30", MW),
	ONE("2015-08-22 10:20:30", MW),
	ONE("2014-11-22 10:20:30", MW))},
	/* 2014-11-15 is inside, but 2014 is taken by 11-22 */
	{"34", "within-yearly=1y2m3d3h", ROWS(
	ONE("2016-01-18 12:02:03", "yearly within 1y2m3d3h"),
	ONE("2015-11-22 10:20:30", "yearly within 1y2m3d3h"),
	ONE("2014-11-22 10:20:30", "yearly within 1y2m3d3h"))},
	{"35", "within=1h within-hourly=1d within-daily=7d within-weekly=1m "
	       "within-monthly=1y within-yearly=9999y", ROWS(
	ONE("2016-01-18 12:02:03", "within 1h; hourly within 1d; "
	    "daily within 7d; weekly within 1m; monthly within 1y; "
	    "yearly within 9999y"),
	ONE("2016-01-12 21:08:03", "daily within 7d; weekly within 1m"),
	ONE("2016-01-09 21:02:03", "weekly within 1m"),
	ONE("2016-01-03 07:02:03", "weekly within 1m"),
	ONE("2015-11-22 10:20:30", "monthly within 1y; yearly within 9999y"),
	ONE("2015-10-22 10:20:30", "monthly within 1y"),
	ONE("2015-09-22 10:20:30", "monthly within 1y"),
	ONE("2015-08-22 10:20:30", "monthly within 1y"),
	ONE("2014-11-22 10:20:30", "yearly within 9999y"),
	ONE("2014-08-08 10:20:30", "oldest yearly within 9999y"))},
	{"36", "last=unlimited", ROWS(
	RUN("2016-01-18 12:02:03", "2014-08-08 10:20:30", "last snapshot"))},
	{"37", "last=unlimited hourly=unlimited", ROWS(
	NEWEST2(L_H),
	ONE("2016-01-12 21:02:03", "last snapshot"),
	RUN("2016-01-09 21:02:03", "2016-01-04 12:30:03", L_H),
	RUN("2016-01-04 12:28:03", "2016-01-04 12:23:03", "last snapshot"),
	RUN("2016-01-04 11:23:03", "2016-01-01 01:03:03", L_H),
	ONE("2016-01-01 01:02:03", "last snapshot"),
	RUN("2015-11-22 10:20:30", "2015-11-13 10:20:30.1", L_H),
	ONE("2015-11-13 10:20:30", "last snapshot"),
	RUN("2015-11-12 10:20:30", "2015-10-22 10:20:30", L_H),
	RUN("2015-10-22 10:20:30", "2015-10-22 10:20:30 foo,bar +paths",
	    "last snapshot"),
	RUN("2015-10-20 10:20:30", "2015-08-13 10:20:30.1", L_H),
	ONE("2015-08-13 10:20:30", "last snapshot"),
	RUN("2015-08-12 10:20:30", "2014-11-13 10:20:30.1 bar", L_H),
	ONE("2014-11-13 10:20:30 foo", "last snapshot"),
	RUN("2014-11-12 10:20:30 foo", "2014-08-13 10:20:30.1", L_H),
	ONE("2014-08-13 10:20:30", "last snapshot"),
	RUN("2014-08-12 10:20:30", "2014-08-08 10:20:30", L_H))},
	{"38", "hourly=unlimited", ROWS(
	NEWEST2("hourly snapshot"), HOURS_JAN("hourly snapshot"),
	DAYS_AUTUMN("hourly snapshot"),
	RUN("2015-10-20 10:20:30", "2015-08-13 10:20:30.1",
	    "hourly snapshot"),
	RUN("2015-08-12 10:20:30", "2014-11-13 10:20:30.1 bar",
	    "hourly snapshot"),
	RUN("2014-11-12 10:20:30 foo", "2014-08-13 10:20:30.1",
	    "hourly snapshot"),
	RUN("2014-08-12 10:20:30", "2014-08-08 10:20:30",
	    "hourly snapshot"))},
	{"39", "daily=3 weekly=2 monthly=unlimited yearly=unlimited", ROWS(
	ONE("2016-01-18 12:02:03", "daily snapshot; weekly snapshot; "
	    "monthly snapshot; yearly snapshot"),
	ONE("2016-01-12 21:08:03", "daily snapshot; weekly snapshot"),
	ONE("2016-01-09 21:02:03", "daily snapshot"),
	ONE("2015-11-22 10:20:30", "monthly snapshot; yearly snapshot"),
	ONE("2015-10-22 10:20:30", "monthly snapshot"),
	ONE("2015-09-22 10:20:30", "monthly snapshot"),
	ONE("2015-08-22 10:20:30", "monthly snapshot"),
	ONE("2014-11-22 10:20:30", "monthly snapshot; yearly snapshot"),
	ONE("2014-10-22 10:20:30 foo", "monthly snapshot"),
	ONE("2014-09-22 10:20:30", "monthly snapshot"),
	ONE("2014-08-22 10:20:30", "monthly snapshot"),
	ONE("2014-08-08 10:20:30",
	    "oldest monthly snapshot; oldest yearly snapshot"))},
};

/* The documentation's example: one backup every Sunday for twelve weeks;
 * keep-daily 4 keeps the last four Sundays. */
static const struct ref_snap doc_sundays[] = {
	{"2019-09-01 11:00:00", 0, NULL, 0},
	{"2019-09-08 11:00:00", 0, NULL, 0},
	{"2019-09-15 11:00:00", 0, NULL, 0},
	{"2019-09-22 11:00:00", 0, NULL, 0},
	{"2019-09-29 11:00:00", 0, NULL, 0},
	{"2019-10-06 11:00:00", 0, NULL, 0},
	{"2019-10-13 11:00:00", 0, NULL, 0},
	{"2019-10-20 11:00:00", 0, NULL, 0},
	{"2019-10-27 11:00:00", 0, NULL, 0},
	{"2019-11-03 11:00:00", 0, NULL, 0},
	{"2019-11-10 11:00:00", 0, NULL, 0},
	{"2019-11-17 11:00:00", 0, NULL, 0},
};

static const struct ref_case doc_sundays_case = {
	"twelve Sundays", "daily=4", ROWS(
	RUN("2019-11-17 11:00:00", "2019-10-27 11:00:00", "daily snapshot"))};

/* ---- building and checking ------------------------------------------- */

static const char *const bucket_names[_POLICY_BUCKET_MAX] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly",
};

/* A set as the policy sees it, recorded at one offset. */
struct built {
	struct policy_snap v[REF_N];
	char tagbuf[REF_N][16];
	const char *tagv[REF_N][4];
	size_t order[REF_N];          /* newest first */
};

static const struct policy_snap *order_set;

/* Newest first, as policy.h defines it: time, then id. */
static int newest_first(const void *a, const void *b)
{
	const struct policy_snap *x = &order_set[*(const size_t *)a];
	const struct policy_snap *y = &order_set[*(const size_t *)b];
	int c;

	if (x->time_sec != y->time_sec)
		return x->time_sec > y->time_sec ? -1 : 1;
	if (x->time_nsec != y->time_nsec)
		return x->time_nsec > y->time_nsec ? -1 : 1;
	c = memcmp(x->id, y->id, 32);
	return c > 0 ? -1 : c < 0;
}

/* The wall-clock times of set, read in offset off.  Ids fall with the
 * index, so of equal times the earlier entry is the newer. */
static void build(const struct ref_snap *set, size_t n, int32_t off,
		  struct built *b)
{
	memset(b, 0, sizeof *b);
	for (size_t i = 0; i < n; i++) {
		struct policy_snap *s = &b->v[i];
		char *save = NULL, *t;

		s->time_sec = test_utc(set[i].time) - off;
		s->time_nsec = set[i].nsec;
		s->tz_offset = off;
		s->id[0] = (uint8_t)((REF_N - i) >> 8);
		s->id[1] = (uint8_t)(REF_N - i);
		if (set[i].tags) {
			snprintf(b->tagbuf[i], sizeof b->tagbuf[i], "%s",
				 set[i].tags);
			for (t = strtok_r(b->tagbuf[i], ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				b->tagv[i][s->ntags++] = t;
		}
		s->tags = b->tagv[i];
		b->order[i] = i;
	}
	order_set = b->v;
	qsort(b->order, n, sizeof *b->order, newest_first);
}

/* "2015-10-22 10:20:30 foo,bar +paths" */
static void label(const struct ref_snap *s, char out[64])
{
	size_t k = (size_t)snprintf(out, 64, "%s", s->time);

	if (s->nsec) {
		k += (size_t)snprintf(out + k, 64 - k, ".%09u",
				      (unsigned)s->nsec);
		while (out[k - 1] == '0')
			out[--k] = '\0';
	}
	if (s->tags)
		k += (size_t)snprintf(out + k, 64 - k, " %s", s->tags);
	if (s->paths)
		snprintf(out + k, 64 - k, " +paths");
}

/* A policy from its text (see struct ref_case); tag lists live in sp. */
struct spec {
	struct policy p;
	char buf[256];
	const char *items[16];
	const char *const *lists[4];
};

static void spec_parse(const char *text, struct spec *sp)
{
	char *save = NULL, *tok;
	size_t nitems = 0;

	memset(sp, 0, sizeof *sp);
	snprintf(sp->buf, sizeof sp->buf, "%s", text);
	for (tok = strtok_r(sp->buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *val = strchr(tok, '='), *tsave = NULL, *t;
		int b, done = 0;

		if (!val)
			abort();
		*val++ = '\0';
		for (b = 0; b < _POLICY_BUCKET_MAX && !done; b++) {
			if (!strcmp(tok, bucket_names[b])) {
				sp->p.count[b] = strcmp(val, "unlimited") ?
					(unsigned)atoi(val) : POLICY_UNLIMITED;
				done = 1;
			} else if (b && !strncmp(tok, "within-", 7) &&
				   !strcmp(tok + 7, bucket_names[b])) {
				CHECK_RC(policy_duration_parse(
					val, &sp->p.within_bucket[b]), 0);
				done = 1;
			}
		}
		if (done)
			continue;
		if (!strcmp(tok, "within")) {
			CHECK_RC(policy_duration_parse(val, &sp->p.within), 0);
			continue;
		}
		if (strcmp(tok, "tag"))
			abort();
		sp->lists[sp->p.nkeep_tags++] = &sp->items[nitems];
		for (t = strtok_r(val, ",", &tsave); t;
		     t = strtok_r(NULL, ",", &tsave))
			sp->items[nitems++] = t;
		sp->items[nitems++] = NULL;
	}
	sp->p.keep_tags = sp->lists;
}

/* The POLICY_WHY_* bit a reason text stands for; 0 if none. */
static uint32_t why_bit(const char *r)
{
	if (!strncmp(r, "oldest ", 7))
		r += 7;
	if (!strncmp(r, "tag ", 4))
		return POLICY_WHY_TAG;
	if (!strncmp(r, "within ", 7))
		return POLICY_WHY_WITHIN;
	for (int b = 0; b < _POLICY_BUCKET_MAX; b++) {
		size_t k = strlen(bucket_names[b]);

		if (strncmp(r, bucket_names[b], k))
			continue;
		if (!strcmp(r + k, " snapshot"))
			return POLICY_WHY_COUNT(b);
		if (b && !strncmp(r + k, " within ", 8))
			return POLICY_WHY_WITHIN_BUCKET(b);
	}
	return 0;
}

/* d's reasons joined by "; "; checks that why matches them. */
static void reasons_of(const struct policy_decision *d, char *out, size_t cap)
{
	uint32_t why = 0;
	size_t k = 0;

	out[0] = '\0';
	for (size_t r = 0; r < d->nreasons; r++) {
		k += (size_t)snprintf(out + k, cap - k, "%s%s", r ? "; " : "",
				      d->reasons[r]);
		why |= why_bit(d->reasons[r]);
	}
	CHECK(why == d->why && d->keep == (why != 0));
}

/* Position in b->order, from start on, of the snapshot labelled l. */
static size_t find_label(const struct ref_snap *set, size_t n,
			 const struct built *b, size_t start, const char *l)
{
	char got[64];

	for (size_t k = start; k < n; k++) {
		label(&set[b->order[k]], got);
		if (!strcmp(got, l))
			return k;
	}
	fprintf(stderr, "no snapshot labelled \"%s\"\n", l);
	abort();
}

/* Applies c to set recorded at offset off and compares, newest first,
 * what is kept and why with c's rows. */
static void check_case(const struct ref_snap *set, size_t n,
		       const struct ref_case *c, int32_t off)
{
	static struct built b;
	struct policy_decision *d = NULL;
	const char *want_why[REF_N];
	size_t want[REF_N], nwant = 0, cursor = 0, nkept = 0;
	struct spec sp;
	char got[512], lbl[64], wlbl[64];
	int rc, bad = 0;

	build(set, n, off, &b);
	spec_parse(c->policy, &sp);
	for (const struct ref_row *r = c->rows; r->from; r++) {
		size_t from = find_label(set, n, &b, cursor, r->from);
		size_t to = r->to ? find_label(set, n, &b, from, r->to) : from;

		for (size_t k = from; k <= to; k++) {
			want[nwant] = k;
			want_why[nwant++] = r->why;
		}
		cursor = to + 1;
	}
	rc = policy_apply(&sp.p, b.v, n, &d);
	if (rc < 0) {
		fprintf(stderr, "case %s at %+d s: policy_apply %d\n",
			c->name, (int)off, rc);
		test_failures++;
		return;
	}
	for (size_t k = 0; k < n && !bad; k++) {
		const struct policy_decision *dk = &d[b.order[k]];

		reasons_of(dk, got, sizeof got);
		if (!dk->keep)
			continue;
		if (nkept >= nwant || want[nkept] != k ||
		    strcmp(got, want_why[nkept])) {
			label(&set[b.order[k]], lbl);
			label(&set[b.order[nkept < nwant ? want[nkept] : k]],
			      wlbl);
			fprintf(stderr, "case %s at %+d s: kept %s (%s), "
				"want %s (%s)\n", c->name, (int)off, lbl, got,
				nkept < nwant ? wlbl : "nothing",
				nkept < nwant ? want_why[nkept] : "-");
			bad = 1;
		}
		nkept++;
	}
	if (!bad && nkept != nwant) {
		fprintf(stderr, "case %s at %+d s: kept %zu, want %zu\n",
			c->name, (int)off, nkept, nwant);
		bad = 1;
	}
	test_failures += bad;
	policy_decisions_free(d, n);
}

static void test_reference_set(void)
{
	/* the set is in UTC; the same wall-clock times recorded at +05:30
	 * and at -08:00 must give the same answers */
	static const int32_t offs[] = {0, 5 * 3600 + 1800, -8 * 3600};

	for (size_t o = 0; o < sizeof offs / sizeof *offs; o++) {
		for (size_t i = 0; i < sizeof ref_cases / sizeof *ref_cases;
		     i++)
			check_case(ref_set, REF_N, &ref_cases[i], offs[o]);
		check_case(doc_sundays, sizeof doc_sundays /
			   sizeof *doc_sundays, &doc_sundays_case, offs[o]);
	}
}

/* ---- a century of daily backups -------------------------------------- */

/* The documentation's other example: a backup every day for 100 years.
 * keep-daily 7, -weekly 5, -monthly 12, -yearly 75 keep the 7 newest
 * days, 4 more week ends (the 7 days hold one), month ends and year ends,
 * some of them kept already.  The same spans as keep-within-daily 7d,
 * -weekly 1m, -monthly 1y, -yearly 75y ("daily for the last week, weekly
 * for the last month, ...") give the same but for the years: a window of
 * 75 years reaches into a 76th calendar year.  Here the century ends on
 * Sunday 2025-11-30, so the newest day ends a week. */
struct century_want {
	const char *policy;
	unsigned per_rule[_POLICY_BUCKET_MAX];
	size_t kept;
	const char *oldest_yearly;   /* the oldest kept as a year's */
};

static void check_century(const struct century_want *w)
{
	int64_t first = test_utc("1925-12-01 12:00:00");
	int64_t last = test_utc("2025-11-30 12:00:00");
	size_t n = (size_t)((last - first) / 86400 + 1), kept = 0;
	struct policy_snap *v = calloc(n, sizeof *v);
	unsigned per_rule[_POLICY_BUCKET_MAX] = {0};
	struct policy_decision *d = NULL;
	int64_t oldest_yearly = 0;
	struct spec sp;

	if (!v)
		abort();
	for (size_t i = 0; i < n; i++) {
		v[i].time_sec = first + (int64_t)i * 86400;
		v[i].id[0] = (uint8_t)(i >> 8);
		v[i].id[1] = (uint8_t)i;
	}
	spec_parse(w->policy, &sp);
	CHECK_RC(policy_apply(&sp.p, v, n, &d), 0);
	for (size_t i = 0; d && i < n; i++) {
		struct policy_tm tm, next;
		char got[512];

		reasons_of(&d[i], got, sizeof got);
		if (!d[i].keep)
			continue;
		kept++;
		CHECK(!strstr(got, "oldest"));
		CHECK_RC(policy_local_time(v[i].time_sec, 0, &tm), 0);
		CHECK_RC(policy_local_time(v[i].time_sec + 86400, 0, &next),
			 0);
		for (int b = POLICY_DAILY; b < _POLICY_BUCKET_MAX; b++) {
			uint32_t bits = POLICY_WHY_COUNT(b) |
					POLICY_WHY_WITHIN_BUCKET(b);

			if (!(d[i].why & bits))
				continue;
			per_rule[b]++;
			if (i + 1 == n || b == POLICY_DAILY)
				continue;
			/* the rest end their week, month or year */
			if (b == POLICY_WEEKLY)
				CHECK(tm.wday == 0);
			else if (b == POLICY_MONTHLY)
				CHECK(next.mday == 1);
			else
				CHECK(next.mday == 1 && next.mon == 1);
		}
		if (d[i].why & (POLICY_WHY_COUNT(POLICY_DAILY) |
				POLICY_WHY_WITHIN_BUCKET(POLICY_DAILY)))
			CHECK(i + 7 >= n);
		if (d[i].why & (POLICY_WHY_COUNT(POLICY_YEARLY) |
				POLICY_WHY_WITHIN_BUCKET(POLICY_YEARLY)) &&
		    !oldest_yearly)
			oldest_yearly = v[i].time_sec;
	}
	for (int b = POLICY_DAILY; b < _POLICY_BUCKET_MAX; b++)
		if (per_rule[b] != w->per_rule[b]) {
			fprintf(stderr, "%s: %u %s, want %u\n", w->policy,
				per_rule[b], bucket_names[b], w->per_rule[b]);
			test_failures++;
		}
	if (kept != w->kept) {
		fprintf(stderr, "%s: kept %zu, want %zu\n", w->policy, kept,
			w->kept);
		test_failures++;
	}
	CHECK(oldest_yearly == test_utc(w->oldest_yearly));
	policy_decisions_free(d, n);
	free(v);
}

static void test_century(void)
{
	static const struct century_want wants[] = {
		/* 7 days + 4 Sundays + 11 month ends + 73 year ends (the
		 * newest and 2024-12-31 are kept already) */
		{"daily=7 weekly=5 monthly=12 yearly=75",
		 {0, 0, 7, 5, 12, 75}, 95, "1951-12-31 12:00:00"},
		{"within-daily=7d within-weekly=1m within-monthly=1y "
		 "within-yearly=75y",
		 {0, 0, 7, 5, 12, 76}, 96, "1950-12-31 12:00:00"},
	};

	for (size_t i = 0; i < sizeof wants / sizeof *wants; i++)
		check_century(&wants[i]);
}

int main(void)
{
	test_reference_set();
	test_century();
	return test_done("test_policy_reference");
}
