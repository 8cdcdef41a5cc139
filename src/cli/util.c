/* util.c: small helpers of the CLI: string vectors, argument parsing, and
 * the text formats of sizes, durations, times and ids.
 */
#include "cli.h"

#include <getopt.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ========================== String vectors ============================= */

int strv_push(struct strv *s, const char *str)
{
	char *copy;

	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, cap * sizeof *v);

		if (!v)
			return CAIRN_E_NOMEM;
		s->v = v;
		s->cap = cap;
	}
	copy = strdup(str);
	if (!copy)
		return CAIRN_E_NOMEM;
	s->v[s->n++] = copy;
	s->v[s->n] = NULL;
	return 0;
}

int strv_push_split(struct strv *s, const char *str, char sep)
{
	char *copy, *p, *next;
	int rc = 0;

	copy = strdup(str);
	if (!copy)
		return CAIRN_E_NOMEM;
	for (p = copy; p; p = next) {
		next = strchr(p, sep);
		if (next)
			*next++ = '\0';
		if (*p) {
			rc = strv_push(s, p);
			if (rc < 0)
				break;
		}
	}
	free(copy);
	return rc;
}

const char *const *strv_get(const struct strv *s)
{
	return s->n ? (const char *const *)s->v : NULL;
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* ========================= Snapshot filters ============================ */

int cli_filter_opt(struct cli_filter *f, int ch, const char *arg)
{
	int rc;

	switch (ch) {
	case CLI_OPT_HOST:
		f->host = arg;
		return 1;
	case CLI_OPT_TAG:
		rc = strv_push_split(&f->tags, arg, ',');
		return rc < 0 ? rc : 1;
	case CLI_OPT_PATH:
		rc = strv_push(&f->paths, arg);
		return rc < 0 ? rc : 1;
	default:
		return 0;
	}
}

const struct snapshot_filter *cli_filter_get(struct cli_filter *f)
{
	if (!f->host && !f->tags.n && !f->paths.n)
		return NULL;
	f->f.host = f->host;
	f->f.tags = strv_get(&f->tags);
	f->f.paths = strv_get(&f->paths);
	return &f->f;
}

void cli_filter_free(struct cli_filter *f)
{
	strv_free(&f->tags);
	strv_free(&f->paths);
}

/* ============================== Parsing ================================ */

int parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*s))
		return CAIRN_E_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return CAIRN_E_INVAL;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return CAIRN_E_INVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return CAIRN_E_INVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return CAIRN_E_INVAL;
	*ret = (uint64_t)v << shift;
	return 0;
}

int parse_int(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return CAIRN_E_INVAL;
	*ret = v;
	return 0;
}

int parse_local_time(const char *s, int64_t *ret)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, used = -1;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &used) != 6 || used < 0 || s[used] != '\0')
		return CAIRN_E_INVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
		return CAIRN_E_INVAL;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return CAIRN_E_INVAL;
	/* mktime normalises 2025-02-30 to March; refuse such dates. */
	if (tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 || tm.tm_mday != d)
		return CAIRN_E_INVAL;
	*ret = (int64_t)t;
	return 0;
}

/* ============================= Formatting ============================== */

void fmt_bytes(uint64_t n, char out[32])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB",
					    "EiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, 32, "%" PRIu64 " B", n);
		return;
	}
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, 32, "%.3f %s", v, units[u]);
}

void fmt_duration(double sec, char out[32])
{
	uint64_t s = sec > 0 ? (uint64_t)(sec + 0.5) : 0;

	if (s >= 3600)
		snprintf(out, 32, "%" PRIu64 ":%02u:%02u", s / 3600,
			 (unsigned)(s / 60 % 60), (unsigned)(s % 60));
	else
		snprintf(out, 32, "%02u:%02u", (unsigned)(s / 60),
			 (unsigned)(s % 60));
}

void fmt_local_time(int64_t sec, char out[32])
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, 32, "@%" PRId64, sec);
}

void fmt_id(const uint8_t id[32], char out[65])
{
	hex_encode(out, id, 32);
}

void fmt_short_id(const uint8_t id[32], char out[9])
{
	hex_encode(out, id, 4);
}

char *fmt_paths(const struct snapshot *s)
{
	size_t len = 1;
	char *p, *w;

	for (size_t i = 0; i < s->npaths; i++)
		len += strlen(s->paths[i]) + 1;
	p = malloc(len);
	if (!p)
		return NULL;
	w = p;
	for (size_t i = 0; i < s->npaths; i++) {
		size_t n = strlen(s->paths[i]);

		if (i)
			*w++ = ' ';
		memcpy(w, s->paths[i], n);
		w += n;
	}
	*w = '\0';
	return p;
}

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_filter_parse(struct cli *c, const struct cli_command *cmd, int argc,
		     char **argv, struct cli_filter *f)
{
	static const struct option opts[] = {
		CLI_FILTER_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch, rc;
	while ((ch = getopt_long(argc, argv, ":hH:", opts, NULL)) != -1) {
		if (ch == 'H')
			ch = CLI_OPT_HOST;
		rc = cli_filter_opt(f, ch, optarg);
		if (rc < 0)
			return cli_fail(c, rc, "%s", cmd->name);
		if (rc > 0)
			continue;
		return ch == 'h' ? cli_help_print(cmd)
				 : cli_bad_option(cmd, ch, argv);
	}
	return -1;
}
