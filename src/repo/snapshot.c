/* snapshot.c: the snapshot plaintext (docs/format.md section 9) as JSON,
 * and RFC 3339 time stamps.
 *
 * Encoding is deterministic: members in a fixed order, compact, raw UTF-8,
 * so that equal snapshots give equal bytes (tests/vectors/snapshot_v1.json).
 * Decoding is strict about the members it knows (type, range, length) and
 * ignores the others.
 *
 * Times: format.md asks for RFC 3339 with the writer's local offset.  We
 * keep offsets in whole minutes (what the text can say), so that a time
 * formatted and parsed back gives the same instant; years are 0000..9999.
 */
#include "snapshot.h"
#include "civil.h"
#include "cairn_err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAPSHOT_VERSION 1

/* ---- time -------------------------------------------------------------- */

#define OFFSET_MAX (23 * 3600 + 59 * 60)
/* 0000-01-01T00:00:00 and 9999-12-31T23:59:59 in unix seconds */
#define TIME_MIN (-62167219200LL)
#define TIME_MAX 253402300799LL

void time_format_rfc3339(int64_t sec, uint32_t nsec, int32_t tz_offset,
			 char out[64])
{
	int32_t off = tz_offset / 60 * 60;
	if (off > OFFSET_MAX)
		off = OFFSET_MAX;
	if (off < -OFFSET_MAX)
		off = -OFFSET_MAX;
	if (nsec > 999999999u)
		nsec = 999999999u;
	int64_t local = sec;
	if (local < TIME_MIN - off)
		local = TIME_MIN - off;
	if (local > TIME_MAX - off)
		local = TIME_MAX - off;
	local += off;

	int64_t days = local / 86400, rem = local % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	civil_date_from_days(days, &y, &m, &d);
	int n = snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%09u", (int)y,
			 m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
			 (int)(rem % 60), (unsigned)nsec);
	if (n < 0 || n >= 64)
		n = 0;
	if (off == 0) {
		snprintf(out + n, 64 - (size_t)n, "Z");
	} else {
		int32_t a = off < 0 ? -off : off;
		snprintf(out + n, 64 - (size_t)n, "%c%02d:%02d",
			 off < 0 ? '-' : '+', (int)(a / 3600),
			 (int)(a / 60 % 60));
	}
}

/* Reads exactly n decimal digits. */
static int digits(const char **s, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9')
			return CAIRN_E_INVAL;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*ret = v;
	return 0;
}

static int expect(const char **s, char c1, char c2)
{
	if (**s != c1 && **s != c2)
		return CAIRN_E_INVAL;
	(*s)++;
	return 0;
}

int time_parse_rfc3339(const char *s, int64_t *sec, uint32_t *nsec,
		       int32_t *tz_offset)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0;
	uint32_t ns = 0;
	int32_t off = 0;
	int rc;

	TRY(digits(&s, 4, &y));
	TRY(expect(&s, '-', '-'));
	TRY(digits(&s, 2, &mo));
	TRY(expect(&s, '-', '-'));
	TRY(digits(&s, 2, &d));
	TRY(expect(&s, 'T', 't'));
	TRY(digits(&s, 2, &h));
	TRY(expect(&s, ':', ':'));
	TRY(digits(&s, 2, &mi));
	TRY(expect(&s, ':', ':'));
	TRY(digits(&s, 2, &se));
	if (*s == '.') {
		s++;
		int nd = 0;
		while (*s >= '0' && *s <= '9') {
			if (++nd > 9)
				return CAIRN_E_INVAL;
			ns = ns * 10 + (uint32_t)(*s++ - '0');
		}
		if (nd == 0)
			return CAIRN_E_INVAL;
		for (; nd < 9; nd++)
			ns *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int neg = *s++ == '-';
		TRY(digits(&s, 2, &oh));
		TRY(expect(&s, ':', ':'));
		TRY(digits(&s, 2, &om));
		if (oh > 23 || om > 59)
			return CAIRN_E_INVAL;
		off = oh * 3600 + om * 60;
		if (neg)
			off = -off;
	} else {
		return CAIRN_E_INVAL;
	}
	if (*s != 0)
		return CAIRN_E_INVAL;
	/* a leap second (60) has no unix time; refused */
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
		return CAIRN_E_INVAL;
	if (d > civil_days_in_month(y, mo))
		return CAIRN_E_INVAL;
	*sec = civil_days_from_date(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       off;
	*nsec = ns;
	*tz_offset = off;
	rc = 0;
out:
	return rc;
}

int32_t time_local_offset(int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return 0;
	long off = tm.tm_gmtoff / 60 * 60;
	if (off > OFFSET_MAX || off < -OFFSET_MAX)
		return 0;
	return (int32_t)off;
}

/* ---- encoding ---------------------------------------------------------- */

/* Adds member key = v (consumed); fails when v is NULL (bad UTF-8). */
static int set_new(json_t *o, const char *key, json_t *v)
{
	if (!v)
		return CAIRN_E_INVAL;
	return json_object_set_new(o, key, v) == 0 ? 0 : CAIRN_E_NOMEM;
}

static int set_str(json_t *o, const char *key, const char *s)
{
	if (!s)
		return CAIRN_E_INVAL;
	if (strlen(s) > SNAPSHOT_STR_MAX)
		return CAIRN_E_RANGE;
	return set_new(o, key, json_string(s));
}

static int set_uint(json_t *o, const char *key, uint64_t v)
{
	if (v > INT64_MAX)
		return CAIRN_E_RANGE;
	return set_new(o, key, json_integer((json_int_t)v));
}

static int set_time(json_t *o, const char *key, int64_t sec, uint32_t nsec,
		    int32_t off)
{
	char t[64];
	time_format_rfc3339(sec, nsec, off, t);
	return set_new(o, key, json_string(t));
}

static int set_id(json_t *o, const char *key, const uint8_t id[32])
{
	char h[65];
	hex_encode(h, id, 32);
	return set_new(o, key, json_string(h));
}

static int set_strv(json_t *o, const char *key, char *const *v, size_t n)
{
	json_t *a;
	int rc;

	if (n > SNAPSHOT_COUNT_MAX)
		return CAIRN_E_RANGE;
	if (n && !v)
		return CAIRN_E_INVAL;
	a = json_array();
	TRY(set_new(o, key, a));
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			return CAIRN_E_INVAL;
		if (strlen(v[i]) > SNAPSHOT_STR_MAX)
			return CAIRN_E_RANGE;
		json_t *e = json_string(v[i]);
		if (!e)
			return CAIRN_E_INVAL;
		if (json_array_append_new(a, e) != 0)
			return CAIRN_E_NOMEM;
	}
out:
	return rc;
}

static int summary_encode(json_t *o, const struct snapshot_summary *m,
			  int32_t off)
{
	int rc;

	TRY(set_time(o, "backup_start", m->backup_start_sec,
		     m->backup_start_nsec, off));
	TRY(set_time(o, "backup_end", m->backup_end_sec, m->backup_end_nsec,
		     off));
	TRY(set_uint(o, "files_new", m->files_new));
	TRY(set_uint(o, "files_changed", m->files_changed));
	TRY(set_uint(o, "files_unmodified", m->files_unmodified));
	TRY(set_uint(o, "dirs_new", m->dirs_new));
	TRY(set_uint(o, "dirs_changed", m->dirs_changed));
	TRY(set_uint(o, "dirs_unmodified", m->dirs_unmodified));
	TRY(set_uint(o, "data_blobs", m->data_blobs));
	TRY(set_uint(o, "tree_blobs", m->tree_blobs));
	TRY(set_uint(o, "data_added", m->data_added));
	TRY(set_uint(o, "data_added_packed", m->data_added_packed));
	TRY(set_uint(o, "total_files_processed", m->total_files_processed));
	TRY(set_uint(o, "total_bytes_processed", m->total_bytes_processed));
	TRY(set_uint(o, "files_failed", m->files_failed));
out:
	return rc;
}

struct dump_ctx {
	struct buf *b;
	size_t start;
	int rc;
};

static int dump_cb(const char *p, size_t n, void *ud)
{
	struct dump_ctx *d = ud;
	if (d->b->len - d->start + n > SNAPSHOT_MAX_LEN) {
		d->rc = CAIRN_E_RANGE;
		return -1;
	}
	d->rc = buf_put(d->b, p, n);
	return d->rc == 0 ? 0 : -1;
}

int snapshot_encode(const struct snapshot *s, struct buf *out)
{
	const size_t start = out->len;
	json_t *o = json_object(), *src = NULL, *sum = NULL;
	int rc;

	if (!o)
		return CAIRN_E_NOMEM;
	TRY(set_uint(o, "version", SNAPSHOT_VERSION));
	TRY(set_time(o, "time", s->time_sec, s->time_nsec, s->tz_offset));
	TRY(set_id(o, "tree", s->tree));
	TRY(set_strv(o, "paths", s->paths, s->npaths));
	TRY(set_str(o, "hostname", s->hostname));
	if (s->username)
		TRY(set_str(o, "username", s->username));
	TRY(set_uint(o, "uid", s->uid));
	TRY(set_uint(o, "gid", s->gid));
	TRY(set_strv(o, "tags", s->tags, s->ntags));
	if (s->has_parent)
		TRY(set_id(o, "parent", s->parent));
	if (s->program_version)
		TRY(set_str(o, "program_version", s->program_version));
	if (s->source_kind || s->ncommand) {
		src = json_object();
		TRY(set_new(o, "source", src));
		TRY(set_str(src, "kind", s->source_kind ? s->source_kind
							: "command"));
		if (s->ncommand)
			TRY(set_strv(src, "command", s->command, s->ncommand));
	}
	sum = json_object();
	TRY(set_new(o, "summary", sum));
	TRY(summary_encode(sum, &s->summary, s->tz_offset));

	struct dump_ctx d = {out, start, 0};
	if (json_dump_callback(o, dump_cb, &d, JSON_COMPACT) != 0) {
		rc = d.rc < 0 ? d.rc : CAIRN_E_NOMEM;
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		out->len = start;
	json_decref(o);
	return rc;
}

/* ---- decoding ---------------------------------------------------------- */

/* A string member: NULL (rc 0) when absent, CAIRN_E_CORRUPT when not a
 * string or too long. */
static int get_str(json_t *o, const char *key, const char **ret)
{
	json_t *v = json_object_get(o, key);
	*ret = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > SNAPSHOT_STR_MAX)
		return CAIRN_E_CORRUPT;
	*ret = json_string_value(v);
	return 0;
}

static int dup_str(json_t *o, const char *key, int required, char **ret)
{
	const char *s;
	int rc = get_str(o, key, &s);
	if (rc < 0)
		return rc;
	if (!s)
		return required ? CAIRN_E_CORRUPT : 0;
	*ret = strdup(s);
	return *ret ? 0 : CAIRN_E_NOMEM;
}

static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return CAIRN_E_CORRUPT;
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_id(json_t *o, const char *key, int *has, uint8_t id[32])
{
	const char *s;
	int rc = get_str(o, key, &s);
	if (rc < 0)
		return rc;
	*has = s != NULL;
	if (s && (strlen(s) != 64 || hex_decode(id, 32, s) < 0))
		return CAIRN_E_CORRUPT;
	return 0;
}

static int get_time(json_t *o, const char *key, int *has, int64_t *sec,
		    uint32_t *nsec, int32_t *off)
{
	const char *s;
	int rc = get_str(o, key, &s);
	if (rc < 0)
		return rc;
	*has = s != NULL;
	if (s && time_parse_rfc3339(s, sec, nsec, off) < 0)
		return CAIRN_E_CORRUPT;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An array of strings; absent = empty unless required. */
static int get_strv(json_t *o, const char *key, int required, char ***ret,
		    size_t *ret_n)
{
	json_t *a = json_object_get(o, key);
	char **v = NULL;
	size_t n = 0;
	int rc;

	if (!a)
		return required ? CAIRN_E_CORRUPT : 0;
	if (!json_is_array(a) || json_array_size(a) > SNAPSHOT_COUNT_MAX)
		return CAIRN_E_CORRUPT;
	size_t cnt = json_array_size(a);
	v = calloc(cnt ? cnt : 1, sizeof *v);
	if (!v)
		return CAIRN_E_NOMEM;
	for (; n < cnt; n++) {
		json_t *e = json_array_get(a, n);
		if (!json_is_string(e) ||
		    json_string_length(e) > SNAPSHOT_STR_MAX) {
			rc = CAIRN_E_CORRUPT;
			goto out;
		}
		v[n] = strdup(json_string_value(e));
		if (!v[n]) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
	}
	*ret = v;
	*ret_n = n;
	v = NULL;
	rc = 0;
out:
	strv_free(v, n);
	return rc;
}

static int summary_decode(json_t *o, struct snapshot_summary *m)
{
	static const struct {
		const char *key;
		size_t off;
	} counters[] = {
#define C(f) {#f, offsetof(struct snapshot_summary, f)}
		C(files_new), C(files_changed), C(files_unmodified),
		C(dirs_new), C(dirs_changed), C(dirs_unmodified),
		C(data_blobs), C(tree_blobs), C(data_added),
		C(data_added_packed), C(total_files_processed),
		C(total_bytes_processed), C(files_failed),
#undef C
	};
	int32_t off;
	int has, rc;

	if (!json_is_object(o))
		return CAIRN_E_CORRUPT;
	TRY(get_time(o, "backup_start", &has, &m->backup_start_sec,
		     &m->backup_start_nsec, &off));
	TRY(get_time(o, "backup_end", &has, &m->backup_end_sec,
		     &m->backup_end_nsec, &off));
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
		uint64_t *f = (uint64_t *)((char *)m + counters[i].off);
		TRY(get_uint(o, counters[i].key, INT64_MAX, f));
	}
out:
	return rc;
}

static int source_decode(json_t *o, struct snapshot *s)
{
	int rc;

	if (!json_is_object(o))
		return CAIRN_E_CORRUPT;
	TRY(dup_str(o, "kind", 0, &s->source_kind));
	TRY(get_strv(o, "command", 0, &s->command, &s->ncommand));
out:
	return rc;
}

int snapshot_decode(const void *p, size_t n, struct snapshot *ret)
{
	struct snapshot s;
	json_t *o = NULL;
	uint64_t v = 0;
	int has, rc;

	memset(&s, 0, sizeof s);
	if (n > SNAPSHOT_MAX_LEN)
		return CAIRN_E_CORRUPT;
	o = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (!o || !json_is_object(o)) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	json_t *ver = json_object_get(o, "version");
	if (!ver || !json_is_integer(ver)) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (json_integer_value(ver) != SNAPSHOT_VERSION) {
		rc = CAIRN_E_UNSUPPORTED;
		goto out;
	}
	TRY(get_time(o, "time", &has, &s.time_sec, &s.time_nsec,
		     &s.tz_offset));
	if (!has) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	TRY(get_id(o, "tree", &has, s.tree));
	if (!has) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	TRY(get_strv(o, "paths", 1, &s.paths, &s.npaths));
	TRY(dup_str(o, "hostname", 1, &s.hostname));
	TRY(dup_str(o, "username", 0, &s.username));
	TRY(get_uint(o, "uid", UINT32_MAX, &v));
	s.uid = (uint32_t)v;
	v = 0;
	TRY(get_uint(o, "gid", UINT32_MAX, &v));
	s.gid = (uint32_t)v;
	TRY(get_strv(o, "tags", 0, &s.tags, &s.ntags));
	TRY(get_id(o, "parent", &s.has_parent, s.parent));
	TRY(dup_str(o, "program_version", 0, &s.program_version));
	json_t *src = json_object_get(o, "source");
	if (src)
		TRY(source_decode(src, &s));
	json_t *sum = json_object_get(o, "summary");
	if (sum)
		TRY(summary_decode(sum, &s.summary));
	*ret = s;
	memset(&s, 0, sizeof s);
	rc = 0;
out:
	snapshot_free(&s);
	json_decref(o);
	return rc;
}

void snapshot_free(struct snapshot *s)
{
	strv_free(s->paths, s->npaths);
	free(s->hostname);
	free(s->username);
	strv_free(s->tags, s->ntags);
	free(s->program_version);
	free(s->source_kind);
	strv_free(s->command, s->ncommand);
	memset(s, 0, sizeof *s);
}
