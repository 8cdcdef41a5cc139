/* civil.h: proleptic Gregorian calendar arithmetic on day counts, with no
 * time zone database and no dependence on the range of time_t.  Day 0 is
 * 1970-01-01. */
#ifndef CAIRN_CIVIL_H
#define CAIRN_CIVIL_H

#include <stdint.h>

int civil_is_leap(int64_t y);
/* Days in month m (1..12) of year y. */
int civil_days_in_month(int64_t y, int m);
/* Day count of y-m-d (m 1..12; d may run past the month, it carries). */
int64_t civil_days_from_date(int64_t y, int64_t m, int64_t d);
/* The date of day count z. */
void civil_date_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif
