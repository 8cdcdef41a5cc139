/* test_replica.c: the replicated store over three local directories
 * (replica.c): puts land on every member and succeed on a quorum, reads fail
 * over past missing and corrupt copies, listings are the union and count
 * the members that could not be listed, removes reach every member, a
 * missing member is made empty on open; then, through the engine, check
 * --replicas and repair (replicas.c) after a pack was lost on one store and
 * damaged on another. */
#include "backend.h"
#include "cairn_err.h"
#include "repo.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256];

static void sha_hex(const void *p, size_t n, char hex[65])
{
	uint8_t h[32];
	crypto_hash_sha256(h, p, n);
	hex_encode(hex, h, 32);
}

/* An object and its name (the SHA-256 of its bytes). */
struct obj {
	char body[64];
	size_t n;
	char name[65];
};

static void obj_make(struct obj *o, const char *what, int i)
{
	o->n = (size_t)snprintf(o->body, sizeof o->body, "%s %d", what, i);
	sha_hex(o->body, o->n, o->name);
}

/* <root>/<path of the object> */
static void obj_file(const char *root, enum obj_type t, const char *name,
		     char *out, size_t cap)
{
	char rel[200];
	CHECK_RC(backend_object_path(t, name, rel, sizeof rel), 0);
	snprintf(out, cap, "%s/%s", root, rel);
}

static int file_is(const char *path, const void *p, size_t n)
{
	size_t len;
	uint8_t *d = test_read_file(path, &len);
	int eq = d && len == n && !memcmp(d, p, n);
	free(d);
	return eq;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Overwrites a (read-only) object file in place. */
static void overwrite(const char *path, const void *p, size_t n)
{
	CHECK(chmod(path, 0644) == 0);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(p, 1, n, f) == n);
	fclose(f);
}

/* Flips one bit of a file in the middle, keeping its size. */
static void flip_byte(const char *path)
{
	size_t len;
	uint8_t *d = test_read_file(path, &len);
	CHECK(d && len > 0);
	if (!d || !len) {
		free(d);
		return;
	}
	d[len / 2] ^= 0x01;
	overwrite(path, d, len);
	free(d);
}

/* Makes <root>/<sub> unusable even for root: the directory is moved
 * aside and a regular file put in its place (opendir, open in it: ENOTDIR).
 * Undone by unblock(). */
static void block(const char *root, const char *sub)
{
	char a[512], b[512];
	snprintf(a, sizeof a, "%s/%s", root, sub);
	snprintf(b, sizeof b, "%s/%s.away", root, sub);
	CHECK(rename(a, b) == 0);
	FILE *f = fopen(a, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
}

static void unblock(const char *root, const char *sub)
{
	char a[512], b[512];
	snprintf(a, sizeof a, "%s/%s", root, sub);
	snprintf(b, sizeof b, "%s/%s.away", root, sub);
	CHECK(unlink(a) == 0);
	CHECK(rename(b, a) == 0);
}

struct names {
	char v[64][65];
	int n;
	int dup;
};

static int names_add(void *ud, const char *name, uint64_t size)
{
	struct names *s = ud;
	(void)size;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			s->dup++;
	if (s->n < 64)
		snprintf(s->v[s->n++], 65, "%s", name);
	return 0;
}

static int names_has(const struct names *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return 1;
	return 0;
}

struct want {
	const void *p;
	size_t n;
	int calls;
};

static int verify_want(void *ud, const uint8_t *p, size_t n)
{
	struct want *w = ud;
	w->calls++;
	return n == w->n && !memcmp(p, w->p, n) ? 0 : CAIRN_E_CORRUPT;
}

/* ---- the store ----------------------------------------------------------- */

static void test_store(void)
{
	char dirs[3][300];
	const char *urls[3];
	char path[600];
	struct buf out = BUF_INIT;
	for (int i = 0; i < 3; i++) {
		snprintf(dirs[i], sizeof dirs[i], "%s/store%d", base, i);
		urls[i] = dirs[i];
	}
	struct backend *rb = NULL;
	CHECK_RC(backend_open_replicated(urls, 3, 4, NULL, 1, &rb),
		 CAIRN_E_INVAL);
	CHECK_RC(backend_open_replicated(urls, 0, 0, NULL, 1, &rb),
		 CAIRN_E_INVAL);
	CHECK_RC(backend_open_replicated(urls, 3, 0, NULL, 0, &rb),
		 CAIRN_E_NOREPO);
	CHECK_RC(backend_open_replicated(urls, 3, 0, NULL, 1, &rb), 0);
	if (!rb)
		return;
	CHECK(backend_replica_count(rb) == 3);
	for (size_t i = 0; i < 3; i++)
		CHECK(backend_replica(rb, i) &&
		      !strcmp(backend_location(backend_replica(rb, i)),
			      urls[i]));
	CHECK(backend_replica(rb, 3) == NULL);
	CHECK(backend_caps(rb) & BACKEND_CAP_COMPOSITE);
	CHECK(!strcmp(backend_location(rb), "replicated"));
	CHECK(backend_list_failures(rb) == 0);

	struct obj o[8];
	for (int i = 0; i < 8; i++)
		obj_make(&o[i], "replicated object", i);

	/* put lands on every member, in the store's layout */
	CHECK_RC(backend_put(rb, OBJ_INDEX, o[0].name, o[0].body, o[0].n), 0);
	CHECK_RC(backend_put(rb, OBJ_PACK, o[1].name, o[1].body, o[1].n), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/index/%s", dirs[i], o[0].name);
		CHECK(file_is(path, o[0].body, o[0].n));
		snprintf(path, sizeof path, "%s/data/%.2s/%s", dirs[i],
			 o[1].name, o[1].name);
		CHECK(file_is(path, o[1].body, o[1].n));
	}
	/* again: every member has it; names are content hashes, so that
	 * counts (replica.c) */
	CHECK_RC(backend_put(rb, OBJ_INDEX, o[0].name, o[0].body, o[0].n), 0);
	CHECK_RC(backend_get(rb, OBJ_INDEX, o[0].name, 0, BACKEND_TO_END,
			     &out), 0);
	CHECK(out.len == o[0].n && !memcmp(out.p, o[0].body, o[0].n));

	/* get fails over: member 0 lacks the object */
	obj_file(dirs[0], OBJ_INDEX, o[0].name, path, sizeof path);
	CHECK(unlink(path) == 0);
	struct backend_stats s0, s1;
	backend_stats_get(backend_replica(rb, 1), &s1);
	CHECK_RC(backend_get(rb, OBJ_INDEX, o[0].name, 0, BACKEND_TO_END,
			     &out), 0);
	CHECK(out.len == o[0].n && !memcmp(out.p, o[0].body, o[0].n));
	struct backend_stats t1;
	backend_stats_get(backend_replica(rb, 1), &t1);
	CHECK(t1.requests == s1.requests + 1);
	uint64_t size = 0;
	CHECK_RC(backend_stat(rb, OBJ_INDEX, o[0].name, &size), 0);
	CHECK(size == o[0].n);

	/* ... and member 0 holds a corrupt copy (same size) */
	obj_file(dirs[0], OBJ_PACK, o[1].name, path, sizeof path);
	char bad[64];
	memcpy(bad, o[1].body, o[1].n);
	bad[0] ^= 0x20;
	overwrite(path, bad, o[1].n);
	backend_stats_get(backend_replica(rb, 0), &s0);
	CHECK_RC(backend_get(rb, OBJ_PACK, o[1].name, 0, BACKEND_TO_END,
			     &out), 0);
	CHECK(out.len == o[1].n && !memcmp(out.p, o[1].body, o[1].n));
	struct backend_stats t0;
	backend_stats_get(backend_replica(rb, 0), &t0);
	CHECK(t0.corrupt == s0.corrupt + 1);
	/* a ranged read is checked by the caller's verify only, and fails
	 * over when that rejects the bytes */
	CHECK_RC(backend_get(rb, OBJ_PACK, o[1].name, 0, 4, &out), 0);
	CHECK(out.len == 4 && !memcmp(out.p, bad, 4)); /* unchecked: member 0 */
	struct want w = {.p = o[1].body, .n = 4};
	CHECK_RC(backend_get_verified(rb, OBJ_PACK, o[1].name, 0, 4, &out,
				      verify_want, &w), 0);
	CHECK(out.len == 4 && !memcmp(out.p, o[1].body, 4) && w.calls == 2);

	/* every copy corrupt: CAIRN_E_CORRUPT; missing everywhere: not
	 * found; missing on some and corrupt on the others: corrupt */
	for (int i = 1; i < 3; i++) {
		obj_file(dirs[i], OBJ_PACK, o[1].name, path, sizeof path);
		overwrite(path, bad, o[1].n);
	}
	CHECK_RC(backend_get(rb, OBJ_PACK, o[1].name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_CORRUPT);
	CHECK(out.len == 0);
	CHECK_RC(backend_get(rb, OBJ_PACK, o[7].name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_NOTFOUND);
	CHECK_RC(backend_stat(rb, OBJ_PACK, o[7].name, &size),
		 CAIRN_E_NOTFOUND);
	obj_file(dirs[0], OBJ_PACK, o[1].name, path, sizeof path);
	CHECK(unlink(path) == 0);
	CHECK_RC(backend_get(rb, OBJ_PACK, o[1].name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_CORRUPT);

	/* list: the union, each name once; o[2] only on member 1, o[3]
	 * only on member 2, o[0] on members 1 and 2 */
	CHECK_RC(backend_put(backend_replica(rb, 1), OBJ_INDEX, o[2].name,
			     o[2].body, o[2].n), 0);
	CHECK_RC(backend_put(backend_replica(rb, 2), OBJ_INDEX, o[3].name,
			     o[3].body, o[3].n), 0);
	CHECK_RC(backend_put(backend_replica(rb, 0), OBJ_INDEX, o[4].name,
			     o[4].body, o[4].n), 0);
	struct names nm = {0};
	CHECK_RC(backend_list(rb, OBJ_INDEX, names_add, &nm), 0);
	CHECK(nm.n == 4 && nm.dup == 0);
	CHECK(names_has(&nm, o[0].name) && names_has(&nm, o[2].name) &&
	      names_has(&nm, o[3].name) && names_has(&nm, o[4].name));
	CHECK(backend_list_failures(rb) == 0);
	nm = (struct names){0};
	CHECK_RC(backend_list(rb, OBJ_SNAPSHOT, names_add, &nm), 0);
	CHECK(nm.n == 0);

	/* a member that cannot be listed is left out and counted */
	block(dirs[1], "index");
	nm = (struct names){0};
	CHECK_RC(backend_list(rb, OBJ_INDEX, names_add, &nm), 0);
	CHECK(nm.n == 3 && nm.dup == 0);
	CHECK(!names_has(&nm, o[2].name)); /* only member 1 has it */
	CHECK(backend_list_failures(rb) == 1);
	/* none can be listed: an error */
	block(dirs[0], "index");
	block(dirs[2], "index");
	nm = (struct names){0};
	CHECK(backend_list(rb, OBJ_INDEX, names_add, &nm) < 0);
	CHECK(nm.n == 0 && backend_list_failures(rb) == 3);
	unblock(dirs[0], "index");
	unblock(dirs[2], "index");
	unblock(dirs[1], "index");
	nm = (struct names){0};
	CHECK_RC(backend_list(rb, OBJ_INDEX, names_add, &nm), 0);
	CHECK(nm.n == 4 && backend_list_failures(rb) == 0);

	/* quorum: member 2 cannot write */
	struct backend *rq = NULL;
	CHECK_RC(backend_open_replicated(urls, 3, 2, NULL, 0, &rq), 0);
	block(dirs[2], "snapshots");
	if (rq) {
		CHECK_RC(backend_put(rq, OBJ_SNAPSHOT, o[5].name, o[5].body,
				     o[5].n), 0);
		for (int i = 0; i < 2; i++) {
			obj_file(dirs[i], OBJ_SNAPSHOT, o[5].name, path,
				 sizeof path);
			CHECK(file_is(path, o[5].body, o[5].n));
		}
	}
	int rc = backend_put(rb, OBJ_SNAPSHOT, o[6].name, o[6].body, o[6].n);
	CHECK(rc == CAIRN_E_IO); /* ENOTDIR */
	/* the members that could write hold it (repair copies it on) */
	for (int i = 0; i < 2; i++) {
		obj_file(dirs[i], OBJ_SNAPSHOT, o[6].name, path, sizeof path);
		CHECK(file_is(path, o[6].body, o[6].n));
	}
	/* remove: fails when a member fails (never half done silently) */
	CHECK(backend_remove(rb, OBJ_SNAPSHOT, o[6].name) == CAIRN_E_IO);
	unblock(dirs[2], "snapshots");
	/* (the members that could, removed it: now no member has it) */
	CHECK_RC(backend_remove(rb, OBJ_SNAPSHOT, o[6].name),
		 CAIRN_E_NOTFOUND);
	/* a member that lacks the object is fine */
	CHECK_RC(backend_remove(rb, OBJ_SNAPSHOT, o[5].name), 0);
	for (int i = 0; i < 3; i++) {
		obj_file(dirs[i], OBJ_SNAPSHOT, o[5].name, path, sizeof path);
		CHECK(!exists(path));
		obj_file(dirs[i], OBJ_SNAPSHOT, o[6].name, path, sizeof path);
		CHECK(!exists(path));
	}
	CHECK_RC(backend_remove(rb, OBJ_SNAPSHOT, o[5].name),
		 CAIRN_E_NOTFOUND);
	/* remove of an object only member 1 holds */
	CHECK_RC(backend_remove(rb, OBJ_INDEX, o[2].name), 0);
	obj_file(dirs[1], OBJ_INDEX, o[2].name, path, sizeof path);
	CHECK(!exists(path));
	backend_close(rq);

	/* the config: member 0 has one already */
	CHECK_RC(backend_put(backend_replica(rb, 0), OBJ_CONFIG, "config",
			     "config one", 10), 0);
	CHECK_RC(backend_stat(rb, OBJ_CONFIG, "config", &size), 0);
	CHECK_RC(backend_put(rb, OBJ_CONFIG, "config", "config two", 10),
		 CAIRN_E_EXISTS);
	snprintf(path, sizeof path, "%s/config", dirs[0]);
	CHECK(file_is(path, "config one", 10));
	CHECK_RC(backend_get(rb, OBJ_CONFIG, "config", 0, BACKEND_TO_END,
			     &out), 0);
	CHECK(out.len == 10 && !memcmp(out.p, "config one", 10));
	/* BUG: replica.c replica_put (lines 96-120) writes the config to
	 * every member in parallel and only afterwards turns a member's
	 * EXISTS into CAIRN_E_EXISTS, so the members that had no config now
	 * hold "config two" although the put failed: the replicated store
	 * was not "left as it was" (backend.h contract), and once member 0
	 * is unreachable, readers get a different config.  Want: members 1
	 * and 2 without a config. */
	for (int i = 1; i < 3; i++) {
		snprintf(path, sizeof path, "%s/config", dirs[i]);
		CHECK(!exists(path));
	}
	backend_close(rb);
	buf_free(&out);

	/* a missing member is made empty when another exists */
	char gone[300];
	snprintf(gone, sizeof gone, "%s/store-new", base);
	const char *urls2[2] = {dirs[0], gone};
	rb = NULL;
	CHECK_RC(backend_open_replicated(urls2, 2, 0, NULL, 0, &rb), 0);
	snprintf(path, sizeof path, "%s/index", gone);
	CHECK(exists(path));
	snprintf(path, sizeof path, "%s/data/ff", gone);
	CHECK(exists(path));
	if (rb) {
		nm = (struct names){0};
		CHECK_RC(backend_list(backend_replica(rb, 1), OBJ_INDEX,
				      names_add, &nm), 0);
		CHECK(nm.n == 0);
		backend_close(rb);
	}
	/* none exists: no repository */
	char gone2[300], gone3[300];
	snprintf(gone2, sizeof gone2, "%s/nothing-a", base);
	snprintf(gone3, sizeof gone3, "%s/nothing-b", base);
	const char *urls3[2] = {gone2, gone3};
	rb = NULL;
	CHECK_RC(backend_open_replicated(urls3, 2, 0, NULL, 0, &rb),
		 CAIRN_E_NOREPO);
	CHECK(!exists(gone2) && !exists(gone3));
	/* one member only: just that store */
	rb = NULL;
	CHECK_RC(backend_open_replicated(urls, 1, 0, NULL, 0, &rb), 0);
	if (rb) {
		CHECK(backend_replica_count(rb) == 1 &&
		      backend_replica(rb, 0) == rb);
		CHECK(!(backend_caps(rb) & BACKEND_CAP_COMPOSITE));
		backend_close(rb);
	}
}

/* ---- the engine: check --replicas and repair ---------------------------- */

static int engine_errors;

static void on_event(void *ud, const struct repo_event *ev)
{
	int quiet = ud != NULL;
	if (ev->kind == EV_ERROR)
		__atomic_add_fetch(&engine_errors, 1, __ATOMIC_RELAXED);
	if (!quiet && (ev->kind == EV_ERROR || ev->kind == EV_WARNING ||
		       ev->kind == EV_INFO))
		fprintf(stderr, "  event %d: %s: %s\n", ev->kind,
			ev->path ? ev->path : "-",
			ev->message ? ev->message : "");
}

/* Every file under dir, as "relative/path" (directories with a '/'),
 * sorted. */
struct ftree {
	char (*v)[320];
	size_t n, cap;
};

static void tree_walk(struct ftree *t, const char *root, const char *rel)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char r[300], full[1400];
		snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof full, "%s/%s", root, r);
		struct stat st;
		if (lstat(full, &st) < 0)
			continue;
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 512;
			t->v = realloc(t->v, t->cap * sizeof *t->v);
			if (!t->v)
				abort();
		}
		snprintf(t->v[t->n++], 320, "%s%s", r,
			 S_ISDIR(st.st_mode) ? "/" : "");
		if (S_ISDIR(st.st_mode))
			tree_walk(t, root, r);
	}
	closedir(d);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* 1 when the trees under a and b hold the same names and bytes. */
static int trees_equal(const char *a, const char *b, size_t *files)
{
	struct ftree ta = {0}, tb = {0};
	int eq = 1;
	tree_walk(&ta, a, "");
	tree_walk(&tb, b, "");
	qsort(ta.v, ta.n, sizeof *ta.v, str_cmp);
	qsort(tb.v, tb.n, sizeof *tb.v, str_cmp);
	*files = 0;
	if (ta.n != tb.n) {
		fprintf(stderr, "  %s: %zu entries, %s: %zu\n", a, ta.n, b,
			tb.n);
		eq = 0;
	}
	for (size_t i = 0; eq && i < ta.n; i++) {
		if (strcmp(ta.v[i], tb.v[i])) {
			fprintf(stderr, "  %s vs %s\n", ta.v[i], tb.v[i]);
			eq = 0;
			break;
		}
		size_t l = strlen(ta.v[i]);
		if (l && ta.v[i][l - 1] == '/')
			continue;
		char pa[1400], pb[1400];
		snprintf(pa, sizeof pa, "%s/%s", a, ta.v[i]);
		snprintf(pb, sizeof pb, "%s/%s", b, tb.v[i]);
		size_t la, lb;
		uint8_t *da = test_read_file(pa, &la), *db = test_read_file(pb, &lb);
		if (!da || !db || la != lb || memcmp(da, db, la)) {
			fprintf(stderr, "  %s differs\n", ta.v[i]);
			eq = 0;
		}
		(*files)++;
		free(da);
		free(db);
	}
	free(ta.v);
	free(tb.v);
	return eq;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(p, 1, n, f) == n);
	fclose(f);
}

static void check_res(const char *what, const struct replicas_result *r)
{
	fprintf(stderr,
		"%s: stores %zu objects %llu missing %llu corrupt %llu "
		"unreadable %llu repaired %llu unrepairable %llu\n",
		what, r->stores, (unsigned long long)r->objects,
		(unsigned long long)r->missing, (unsigned long long)r->corrupt,
		(unsigned long long)r->unreadable,
		(unsigned long long)r->repaired,
		(unsigned long long)r->unrepairable);
}

static void test_engine(void)
{
	uint64_t seed = test_seed("test_replica");
	char src[300], dst[300], dirs[3][300], path[1024];
	const char *urls[3];
	snprintf(src, sizeof src, "%s/src", base);
	snprintf(dst, sizeof dst, "%s/dst", base);
	for (int i = 0; i < 3; i++) {
		snprintf(dirs[i], sizeof dirs[i], "%s/repo%d", base, i);
		urls[i] = dirs[i];
	}
	CHECK(mkdir(src, 0755) == 0);
	size_t big = 300000;
	uint8_t *data = malloc(big);
	if (!data)
		abort();
	test_fill(&seed, data, big);
	snprintf(path, sizeof path, "%s/random.bin", src);
	write_file(path, data, big);
	char text[20000];
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = "replica\n"[i % 8];
	snprintf(path, sizeof path, "%s/text.txt", src);
	write_file(path, text, sizeof text);

	struct repo_location loc = {.urls = urls, .n = 3};
	struct repo *r = NULL;
	CHECK_RC(repo_create_at(&loc, NULL, "pw", 2, &r), 0);
	if (!r) {
		free(data);
		return;
	}
	const char *paths[] = {src, NULL};
	struct backup_opts bo = {.kind = SRC_FILES, .paths = paths,
				 .on_event = on_event};
	struct backup_result br;
	CHECK_RC(repo_backup(r, &bo, &br), 0);
	CHECK(br.has_snapshot);
	size_t files = 0;
	CHECK(trees_equal(dirs[0], dirs[1], &files));
	CHECK(trees_equal(dirs[0], dirs[2], &files));
	fprintf(stderr, "after backup: %zu files on each store\n", files);

	/* clean at first */
	struct replicas_opts ro = {.read_data = 1, .on_event = on_event};
	struct replicas_result res;
	CHECK_RC(repo_replicas_check(r, &ro, &res), 0);
	check_res("clean", &res);
	CHECK(res.stores == 3 && res.objects >= 5);
	CHECK(res.missing == 0 && res.corrupt == 0 && res.repaired == 0);
	for (int i = 0; i < 3; i++)
		CHECK(!strcmp(res.per_store[i].location, urls[i]) &&
		      res.per_store[i].read == res.objects);

	/* one pack lost on store 1, one damaged on store 2 */
	struct names packs = {0};
	CHECK_RC(backend_list(backend_replica(repo_backend(r), 0), OBJ_PACK,
			      names_add, &packs), 0);
	CHECK(packs.n >= 1);
	if (packs.n < 1)
		goto out;
	fprintf(stderr, "%d pack(s)\n", packs.n);
	const char *lost = packs.v[0], *hurt = packs.v[packs.n - 1];
	obj_file(dirs[1], OBJ_PACK, lost, path, sizeof path);
	CHECK(unlink(path) == 0);
	obj_file(dirs[2], OBJ_PACK, hurt, path, sizeof path);
	flip_byte(path);

	/* reads fail over meanwhile: a restore is whole */
	struct snapshot snap;
	memset(&snap, 0, sizeof snap);
	CHECK_RC(repo_snapshot_find(r, "latest", NULL, &snap), 0);

	/* without reading data, only the lost copy shows (sizes agree) */
	ro = (struct replicas_opts){.read_data = 0, .on_event = on_event,
				    .event_ud = (void *)1};
	CHECK_RC(repo_replicas_check(r, &ro, &res), CAIRN_E_CORRUPT);
	check_res("listings only", &res);
	CHECK(res.missing == 1 && res.corrupt == 0);

	ro = (struct replicas_opts){.read_data = 1, .on_event = on_event};
	CHECK_RC(repo_replicas_check(r, &ro, &res), CAIRN_E_CORRUPT);
	check_res("read_data", &res);
	CHECK(res.missing == 1 && res.corrupt == 1 && res.unreadable == 0);
	CHECK(res.repaired == 0 && res.unrepairable == 0);
	CHECK(res.per_store[0].missing == 0 && res.per_store[0].corrupt == 0);
	CHECK(res.per_store[1].missing == 1 && res.per_store[1].corrupt == 0);
	CHECK(res.per_store[2].missing == 0 && res.per_store[2].corrupt == 1);
	obj_file(dirs[1], OBJ_PACK, lost, path, sizeof path);
	CHECK(!exists(path)); /* a check changes nothing */

	ro.repair = 1;
	CHECK_RC(repo_replicas_check(r, &ro, &res), 0);
	check_res("repair", &res);
	CHECK(res.missing == 1 && res.corrupt == 1);
	CHECK(res.repaired == 2 && res.unrepairable == 0);
	CHECK(res.per_store[1].repaired == 1 && res.per_store[2].repaired == 1);

	ro.repair = 0;
	CHECK_RC(repo_replicas_check(r, &ro, &res), 0);
	check_res("after repair", &res);
	CHECK(res.missing == 0 && res.corrupt == 0 && res.repaired == 0);
	CHECK(trees_equal(dirs[0], dirs[1], &files));
	CHECK(trees_equal(dirs[0], dirs[2], &files));
	obj_file(dirs[2], OBJ_PACK, hurt, path, sizeof path);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0444);

	/* now damage store 0, the one read first: a restore still comes out
	 * whole (failover), and repair heals store 0 */
	obj_file(dirs[0], OBJ_PACK, hurt, path, sizeof path);
	flip_byte(path);
	struct restore_opts rso = {.target = dst, .on_event = on_event};
	struct restore_result rr;
	CHECK_RC(repo_restore(r, &snap, &rso, &rr), 0);
	CHECK(rr.errors == 0);
	snprintf(path, sizeof path, "%s%s/random.bin", dst, src);
	CHECK(file_is(path, data, big));
	snprintf(path, sizeof path, "%s%s/text.txt", dst, src);
	CHECK(file_is(path, text, sizeof text));
	struct backend_stats s0;
	backend_stats_get(backend_replica(repo_backend(r), 0), &s0);
	CHECK(s0.corrupt >= 1);
	ro = (struct replicas_opts){.read_data = 1, .repair = 1,
				    .on_event = on_event};
	CHECK_RC(repo_replicas_check(r, &ro, &res), 0);
	check_res("repair store 0", &res);
	CHECK(res.corrupt == 1 && res.repaired == 1 &&
	      res.per_store[0].repaired == 1);
	CHECK(trees_equal(dirs[0], dirs[1], &files));
	snapshot_free(&snap);

	/* reopen: the repository opens from its three stores */
	repo_close(r);
	r = NULL;
	CHECK_RC(repo_open_at(&loc, "pw", 2, &r), 0);
	ro = (struct replicas_opts){.read_data = 1, .on_event = on_event};
	if (r)
		CHECK_RC(repo_replicas_check(r, &ro, &res), 0);
out:
	repo_close(r);
	free(data);
}

int main(void)
{
	snprintf(base, sizeof base, "%s/cairn-replica-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	test_store();
	test_engine();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "chmod -R u+w '%s' && rm -rf '%s'", base,
		 base);
	if (!test_failures && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return test_done("test_replica");
}
