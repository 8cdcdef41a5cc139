/* json_out.c: the JSON documents the CLI prints (--json).
 *
 * Member names are snake_case and stable: scripts depend on them.  Object
 * members keep insertion order, so documents read in a fixed order.
 * Strings from the repository (file names, host names) may hold bytes that
 * are not UTF-8; those become U+FFFD so that the output stays valid JSON.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		len = 2;
		cp = p[0] & 0x1Fu;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		cp = p[0] & 0x0Fu;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

json_t *jout_str(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, k, w = 0;
	char *clean;
	json_t *j;

	while (i < n && (k = utf8_seq(u + i, n - i)) > 0)
		i += k;
	if (i == n)
		return json_stringn(p, n);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	clean = malloc(n * 3 + 1);
	if (!clean)
		return NULL;
	for (i = 0; i < n;) {
		k = utf8_seq(u + i, n - i);
		if (k) {
			memcpy(clean + w, p + i, k);
			w += k;
			i += k;
		} else {
			memcpy(clean + w, "\xEF\xBF\xBD", 3);
			w += 3;
			i++;
		}
	}
	j = json_stringn(clean, w);
	free(clean);
	return j;
}

json_t *jout_u64(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX
						    : (json_int_t)v);
}

json_t *jout_time(int64_t sec, uint32_t nsec, int32_t tz)
{
	char buf[64];

	time_format_rfc3339(sec, nsec, tz, buf);
	return json_string(buf);
}

static json_t *cstr(const char *s)
{
	return jout_str(s ? s : "", s ? strlen(s) : 0);
}

/* json_object_set_new, remembering any failure (OOM or a NULL value). */
static void put(json_t *o, const char *key, json_t *v, int *bad)
{
	if (json_object_set_new(o, key, v) < 0)
		*bad = 1;
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(a, cstr(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *jout_summary(const struct snapshot_summary *sum, int32_t tz)
{
	json_t *o = json_object();
	int bad = 0;

	put(o, "backup_start",
	    jout_time(sum->backup_start_sec, sum->backup_start_nsec, tz), &bad);
	put(o, "backup_end",
	    jout_time(sum->backup_end_sec, sum->backup_end_nsec, tz), &bad);
	put(o, "files_new", jout_u64(sum->files_new), &bad);
	put(o, "files_changed", jout_u64(sum->files_changed), &bad);
	put(o, "files_unmodified", jout_u64(sum->files_unmodified), &bad);
	put(o, "dirs_new", jout_u64(sum->dirs_new), &bad);
	put(o, "dirs_changed", jout_u64(sum->dirs_changed), &bad);
	put(o, "dirs_unmodified", jout_u64(sum->dirs_unmodified), &bad);
	put(o, "data_blobs", jout_u64(sum->data_blobs), &bad);
	put(o, "tree_blobs", jout_u64(sum->tree_blobs), &bad);
	put(o, "data_added", jout_u64(sum->data_added), &bad);
	put(o, "data_added_packed", jout_u64(sum->data_added_packed), &bad);
	put(o, "total_files_processed",
	    jout_u64(sum->total_files_processed), &bad);
	put(o, "total_bytes_processed",
	    jout_u64(sum->total_bytes_processed), &bad);
	put(o, "files_failed", jout_u64(sum->files_failed), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *jout_snapshot(const struct snapshot *s)
{
	char id[65], hex[65];
	json_t *o = json_object(), *src;
	int bad = 0;

	fmt_id(s->id, id);
	put(o, "id", json_string(id), &bad);
	put(o, "short_id", json_stringn(id, 8), &bad);
	put(o, "time", jout_time(s->time_sec, s->time_nsec, s->tz_offset),
	    &bad);
	fmt_id(s->tree, hex);
	put(o, "tree", json_string(hex), &bad);
	if (s->has_parent) {
		fmt_id(s->parent, hex);
		put(o, "parent", json_string(hex), &bad);
	}
	put(o, "paths", str_array(s->paths, s->npaths), &bad);
	put(o, "hostname", cstr(s->hostname), &bad);
	put(o, "username", cstr(s->username), &bad);
	put(o, "uid", json_integer(s->uid), &bad);
	put(o, "gid", json_integer(s->gid), &bad);
	put(o, "tags", str_array(s->tags, s->ntags), &bad);
	put(o, "program_version", cstr(s->program_version), &bad);
	if (s->source_kind) {
		src = json_object();
		put(src, "kind", cstr(s->source_kind), &bad);
		if (s->ncommand)
			put(src, "command", str_array(s->command, s->ncommand),
			    &bad);
		put(o, "source", src, &bad);
	}
	put(o, "summary", jout_summary(&s->summary, s->tz_offset), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int jout_print(json_t *j, FILE *f)
{
	int rc = 0;

	if (!j)
		return CAIRN_E_NOMEM;
	if (json_dumpf(j, f, JSON_COMPACT) < 0 || fputc('\n', f) == EOF)
		rc = CAIRN_E_IO;
	json_decref(j);
	return rc;
}
