/* test_hostile.c: restore and check against hand-crafted hostile
 * repositories.
 *
 * Every case builds its own repository with the engine's codecs (blobs in
 * packs through pack_writer, index files, snapshots), hand-encoding tree
 * blobs where tree_encode() would refuse them (docs/format.md 10), then
 * reopens it from disk and restores into a fresh target beside a sibling
 * "outside" directory.  After each restore: nothing outside the target was
 * created or changed (a listing of the scratch area, /tmp/outside, and a
 * probe file at the root), every bad entry was reported, and the good
 * siblings were restored.
 *
 * Cases: illegal names (".", "..", "", "a/b", "x\0y", "../../etc/passwd");
 * a symlink followed by a directory of the same name (adjacent and not);
 * a symlink and a file of one name; a symlink planted in the target where
 * a directory or a file goes; a 5000-level chain of trees; a data blob
 * used as a subtree and a tree blob used as file content; an index that
 * puts blobs at the wrong offsets; a file whose size disagrees with its
 * content.
 */
#include "repo_internal.h"
#include "testutil.h"

#include "pack.h"
#include "snapshot.h"
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char base[256];      /* scratch root: repos, targets, outside */
static char scratch[300];   /* base/s: targets and outside live here */
static char outside[320];   /* base/s/outside */
static char probe[128];     /* a path at / that must never appear */
static int ncase;

/* ---- events --------------------------------------------------------- */

struct evlog {
	unsigned errors, unsafe, warnings;
	char text[4096];
};

static void on_event(void *ud, const struct repo_event *ev)
{
	struct evlog *l = ud;
	if (ev->kind != EV_ERROR && ev->kind != EV_WARNING)
		return;
	if (ev->kind == EV_ERROR)
		l->errors++;
	else
		l->warnings++;
	if (ev->code == CAIRN_E_UNSAFE)
		l->unsafe++;
	size_t n = strlen(l->text);
	if (n < sizeof l->text - 1)
		snprintf(l->text + n, sizeof l->text - n, "  %s %.100s: %s (%d)\n",
			 ev->kind == EV_ERROR ? "error" : "warning",
			 ev->path ? ev->path : "-",
			 ev->message ? ev->message : "", ev->code);
}

/* ---- crafting a repository ----------------------------------------- */

#define MAX_BLOBS 6000

struct pending_blob {
	uint8_t type;
	uint8_t id[32];
	uint8_t *p;
	size_t n;
};

static struct repo *R;
static struct pending_blob pend[MAX_BLOBS];
static size_t npend;

/* Queues a blob for the next craft_flush(); id gets its chunk id. */
static void add_blob(uint8_t type, const void *p, size_t n, uint8_t id[32])
{
	if (npend == MAX_BLOBS) {
		CHECK(!"too many blobs");
		return;
	}
	crypto_chunk_id(R->keys, p, n, id);
	struct pending_blob *b = &pend[npend++];
	b->type = type;
	memcpy(b->id, id, 32);
	b->p = malloc(n ? n : 1);
	memcpy(b->p, p, n);
	b->n = n;
}

static void add_data(const char *s, uint8_t id[32])
{
	add_blob(BLOB_DATA, s, strlen(s), id);
}

static int sink(void *ud, const void *p, size_t n)
{
	return backend_writer_write(ud, p, n);
}

/* Writes the queued blobs as one pack per type and describes them in f
 * (which the caller may tamper with, then saves with index_save). */
static void craft_packs(struct index_file *f)
{
	memset(f, 0, sizeof *f);
	f->packs = calloc(2, sizeof *f->packs);
	for (uint8_t type = 0; type < 2; type++) {
		struct backend_writer *bw = NULL;
		struct pack_writer *pw = NULL;
		struct buf rec = BUF_INIT;
		size_t count = 0;
		for (size_t i = 0; i < npend; i++)
			count += pend[i].type == type;
		if (!count)
			continue;
		CHECK_RC(backend_writer_open(R->be, OBJ_PACK, &bw), 0);
		CHECK_RC(pack_writer_new(R->keys->data_pk, type, sink, bw, &pw), 0);
		for (size_t i = 0; i < npend; i++) {
			if (pend[i].type != type)
				continue;
			rec.len = 0;
			CHECK_RC(blob_encode(pack_writer_key(pw), type, pend[i].id,
					     pend[i].p, pend[i].n, 3, NULL, &rec), 0);
			CHECK_RC(pack_writer_add(pw, pend[i].id, rec.p, rec.len,
						 pend[i].n), 0);
		}
		uint8_t pid[32];
		char hex[65];
		CHECK_RC(pack_writer_finish(pw, pid), 0);
		hex_encode(hex, pid, 32);
		CHECK_RC(backend_writer_commit(bw, hex), 0);
		size_t n = 0;
		const struct pack_entry *e = pack_writer_entries(pw, &n);
		struct index_pack *ip = &f->packs[f->npacks++];
		memcpy(ip->id, pid, 32);
		ip->type = type;
		ip->n = n;
		ip->blobs = calloc(n, sizeof *ip->blobs);
		for (size_t i = 0; i < n; i++) {
			memcpy(ip->blobs[i].id, e[i].id, 32);
			ip->blobs[i].offset = e[i].offset;
			ip->blobs[i].length = e[i].length;
			ip->blobs[i].raw_length = e[i].raw_length;
		}
		pack_writer_free(pw);
		buf_free(&rec);
	}
	for (size_t i = 0; i < npend; i++)
		free(pend[i].p);
	npend = 0;
}

static void index_save(struct index_file *f)
{
	struct buf pt = BUF_INIT;
	CHECK_RC(index_file_encode(f, &pt), 0);
	CHECK_RC(repo_object_save(R, OBJ_INDEX, MAGIC_INDEX, pt.p, pt.len, NULL), 0);
	buf_free(&pt);
	index_file_free(f);
}

static void craft_flush(void)
{
	struct index_file f;
	craft_packs(&f);
	index_save(&f);
}

/* A snapshot whose root is tree; s gets it (for repo_restore). */
static void snapshot_save(const uint8_t tree[32], struct snapshot *s)
{
	static char path[] = "/hostile", host[] = "hostile-host";
	static char *paths[] = {path};
	struct buf enc = BUF_INIT;
	memset(s, 0, sizeof *s);
	s->time_sec = time(NULL);
	memcpy(s->tree, tree, 32);
	s->paths = paths;
	s->npaths = 1;
	s->hostname = host;
	CHECK_RC(snapshot_encode(s, &enc), 0);
	CHECK_RC(repo_object_save(R, OBJ_SNAPSHOT, MAGIC_SNAPSHOT, enc.p,
				  enc.len, s->id), 0);
	buf_free(&enc);
	s->paths = NULL;
	s->npaths = 0;
	s->hostname = NULL;
}

/* ---- hand-encoded trees (format.md 10) ----------------------------- */

struct tb {
	struct buf b;
	uint64_t n;
	struct buf nodes;
};

static void tb_node(struct tb *t, const char *name, size_t name_len,
		    uint8_t type, uint32_t mode, uint64_t size,
		    const char *target, const uint8_t (*content)[32], size_t nc,
		    const uint8_t *subtree)
{
	struct buf *o = &t->nodes;
	buf_put_str(o, name, name_len);
	buf_put_u8(o, type);
	buf_put_varint(o, mode);
	buf_put_varint(o, getuid());
	buf_put_varint(o, getgid());
	buf_put_str(o, "", 0);
	buf_put_str(o, "", 0);
	buf_put_svarint(o, 1600000000);   /* mtime */
	buf_put_varint(o, 123456789);
	buf_put_svarint(o, 1600000000);   /* ctime */
	buf_put_varint(o, 0);
	buf_put_varint(o, 0);             /* inode, device, links */
	buf_put_varint(o, 0);
	buf_put_varint(o, 1);
	buf_put_varint(o, size);
	buf_put_varint(o, 0);             /* rdev */
	buf_put_str(o, target ? target : "", target ? strlen(target) : 0);
	buf_put_varint(o, nc);
	for (size_t i = 0; i < nc; i++)
		buf_put(o, content[i], 32);
	buf_put_u8(o, subtree ? 1 : 0);
	if (subtree)
		buf_put(o, subtree, 32);
	buf_put_str(o, "", 0);            /* ext */
	t->n++;
}

/* A regular file holding one data blob with content s. */
static void tb_file(struct tb *t, const char *name, size_t name_len,
		    const char *s)
{
	uint8_t id[32];
	add_data(s, id);
	tb_node(t, name, name_len, NODE_FILE, 0644, strlen(s), NULL,
		(const uint8_t (*)[32])id, 1, NULL);
}

static void tb_dir(struct tb *t, const char *name, size_t name_len,
		   const uint8_t subtree[32])
{
	tb_node(t, name, name_len, NODE_DIR, 0755, 0, NULL, NULL, 0, subtree);
}

static void tb_symlink(struct tb *t, const char *name, const char *target)
{
	tb_node(t, name, strlen(name), NODE_SYMLINK, 0777, 0, target, NULL, 0,
		NULL);
}

/* Finishes the tree, queues it as a tree blob; id gets its id. */
static void tb_end(struct tb *t, uint8_t id[32])
{
	struct buf all = BUF_INIT;
	buf_put_u8(&all, 1);
	buf_put_varint(&all, t->n);
	buf_put(&all, t->nodes.p, t->nodes.len);
	add_blob(BLOB_TREE, all.p, all.len, id);
	buf_free(&all);
	buf_free(&t->nodes);
	memset(t, 0, sizeof *t);
}

/* A tree holding one file "name" with content s. */
static void tree_with_file(const char *name, const char *s, uint8_t id[32])
{
	struct tb t = {0};
	tb_file(&t, name, strlen(name), s);
	tb_end(&t, id);
}

/* ---- the world outside the target ---------------------------------- */

struct listing {
	char *text;
	size_t len, cap;
};

static void list_add(struct listing *l, const char *s)
{
	size_t n = strlen(s);
	if (l->len + n + 2 > l->cap) {
		l->cap = (l->len + n + 2) * 2;
		l->text = realloc(l->text, l->cap);
	}
	memcpy(l->text + l->len, s, n);
	l->len += n;
	l->text[l->len++] = '\n';
	l->text[l->len] = 0;
}

/* Every entry under dir (type, size, mtime, link target), skipping
 * repositories and restore targets, which may change. */
static void list_tree(struct listing *l, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[4096], line[8192], target[512] = "";
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((depth == 0 && !strncmp(e->d_name, "repo-", 5)) ||
		    (depth == 1 && !strncmp(e->d_name, "target-", 7)))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(path, target, sizeof target - 1);
			target[n > 0 ? n : 0] = 0;
		}
		/* a directory's mtime changes as targets are made in it;
		 * what is in it is listed anyway */
		if (S_ISDIR(st.st_mode))
			st.st_mtim.tv_sec = st.st_mtim.tv_nsec = 0;
		snprintf(line, sizeof line, "%s %o %lld %lld.%09ld %s", path,
			 (unsigned)st.st_mode, (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, target);
		list_add(l, line);
		if (S_ISDIR(st.st_mode))
			list_tree(l, path, depth + 1);
	}
	closedir(d);
}

static void outside_snapshot(struct listing *l)
{
	char line[256];
	struct stat st;
	memset(l, 0, sizeof *l);
	list_add(l, "");
	list_tree(l, base, 0);
	snprintf(line, sizeof line, "/tmp/outside %d",
		 lstat("/tmp/outside", &st) == 0 ? (int)st.st_mtim.tv_sec : -1);
	list_add(l, line);
	snprintf(line, sizeof line, "%s %d", probe, lstat(probe, &st) == 0);
	list_add(l, line);
}

/* ---- one case ------------------------------------------------------- */

static char repo_path[400];

static void case_begin(void)
{
	ncase++;
	snprintf(repo_path, sizeof repo_path, "%s/repo-%d", base, ncase);
	R = NULL;
	CHECK_RC(repo_create(repo_path, NULL, "pw", 2, &R), 0);
	if (!R) {
		fprintf(stderr, "cannot create a repository\n");
		exit(1);
	}
}

/* Closes the crafting session and opens the repository afresh from disk,
 * so that everything below reads what was written. */
static void case_reopen(void)
{
	repo_close(R);
	R = NULL;
	CHECK_RC(repo_open(repo_path, "pw", 2, &R), 0);
	if (!R) {
		fprintf(stderr, "cannot reopen the repository\n");
		exit(1);
	}
}

static void case_end(void)
{
	repo_close(R);
	R = NULL;
}

/* Restores s into a fresh target (made by the caller when prepared is 1)
 * and checks that nothing outside changed.  Returns the restore's code. */
static int restore_into(const struct snapshot *s, const char *target,
			struct evlog *log, struct restore_result *res,
			const char *what)
{
	struct listing before, after;
	outside_snapshot(&before);
	memset(log, 0, sizeof *log);
	struct restore_opts o = {.target = target, .threads = 2,
				 .on_event = on_event, .event_ud = log};
	int rc = repo_restore(R, s, &o, res);
	outside_snapshot(&after);
	if (strcmp(before.text, after.text) != 0) {
		fprintf(stderr, "%s: something outside the target changed\n"
			"before:\n%s\nafter:\n%s\n", what, before.text, after.text);
		CHECK(!"restore wrote outside its target");
	}
	free(before.text);
	free(after.text);
	fprintf(stderr, "%s: restore returned %d, %u errors (%u unsafe), "
		"%u warnings\n%s", what, rc, log->errors, log->unsafe,
		log->warnings, log->text);
	return rc;
}

static int file_has(const char *dir, const char *rel, const char *want)
{
	char path[1024];
	size_t n = 0;
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	uint8_t *p = test_read_file(path, &n);
	int ok = p && n == strlen(want) && !memcmp(p, want, n);
	free(p);
	return ok;
}

static int file_is(const char *dir, const char *rel, const char *want)
{
	int ok = file_has(dir, rel, want);
	if (!ok)
		fprintf(stderr, "%s/%s: not restored as expected\n", dir, rel);
	return ok;
}

static int exists(const char *dir, const char *rel)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return lstat(path, &st) == 0;
}

static void target_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/target-%s", scratch, name);
}

static int check_repo(struct evlog *log, int read_data, const char *what)
{
	struct check_opts o = {.read_data = read_data,
			       .subset_percent = read_data ? 100.0 : 0,
			       .threads = 2, .on_event = on_event,
			       .event_ud = log};
	struct check_result res;
	memset(log, 0, sizeof *log);
	int rc = repo_check(R, &o, &res);
	fprintf(stderr, "%s: check%s returned %d, %u errors\n%s", what,
		read_data ? " --read-data" : "", rc, log->errors, log->text);
	return rc;
}

/* ---- the cases ------------------------------------------------------ */

/* Illegal names next to good siblings. */
static void case_names(void)
{
	struct tb root = {0};
	uint8_t sub_dot[32], sub_dotdot[32], sub_good[32], rid[32];
	struct snapshot s;
	struct evlog log;
	struct restore_result res;
	char target[512];

	case_begin();
	tree_with_file("pwned-dot", "written through .", sub_dot);
	tree_with_file("pwned", "written through ..", sub_dotdot);
	tree_with_file("inner", "inner content", sub_good);
	/* bytewise order, so only the names are wrong */
	tb_file(&root, "", 0, "empty name");
	tb_dir(&root, ".", 1, sub_dot);
	tb_dir(&root, "..", 2, sub_dotdot);
	tb_file(&root, "../../etc/passwd", 16, "root::0:0::/:/bin/sh\n");
	tb_file(&root, "../pwned-file", 13, "escaped");
	tb_file(&root, "a/b", 3, "slash");
	tb_file(&root, "good", 4, "good content");
	tb_dir(&root, "good-dir", 8, sub_good);
	tb_file(&root, "x\0y", 3, "nul in name");
	tb_end(&root, rid);
	craft_flush();
	snapshot_save(rid, &s);
	case_reopen();

	target_path(target, sizeof target, "names");
	int rc = restore_into(&s, target, &log, &res, "names");
	CHECK_RC(rc, CAIRN_E_PARTIAL);
	CHECK(log.errors == 7);
	CHECK(log.unsafe == 7);
	CHECK(res.errors == 7);
	CHECK(file_is(target, "good", "good content"));
	CHECK(file_is(target, "good-dir/inner", "inner content"));
	CHECK(!exists(target, "pwned-dot"));
	CHECK(!exists(target, "x"));
	CHECK(!exists(target, "a"));
	CHECK(!exists(scratch, "pwned"));
	CHECK(!exists(scratch, "pwned-file"));

	/* check calls the tree invalid */
	CHECK_RC(check_repo(&log, 0, "names"), CAIRN_E_CORRUPT);
	CHECK(log.errors >= 1);
	case_end();
}

/* A symlink to a directory outside, then a directory of the same name
 * with a file in it: adjacent (sorted) and separated by another entry. */
static void case_symlink_dir(int adjacent)
{
	struct tb root = {0};
	uint8_t sub[32], rid[32];
	struct snapshot s;
	struct evlog log;
	struct restore_result res;
	char target[512], name[64];

	case_begin();
	tree_with_file("planted", "must not reach outside", sub);
	tb_symlink(&root, "d", outside);
	if (adjacent) {
		tb_dir(&root, "d", 1, sub);
		tb_file(&root, "e", 1, "sibling");
	} else {
		tb_file(&root, "e", 1, "sibling");
		tb_dir(&root, "d", 1, sub);
	}
	/* the same through a symlink to / */
	tb_symlink(&root, "r", "/");
	{
		uint8_t rsub[32];
		tree_with_file(probe + 1, "must not reach /", rsub);
		tb_dir(&root, "r", 1, rsub);
	}
	tb_end(&root, rid);
	craft_flush();
	snapshot_save(rid, &s);
	case_reopen();

	snprintf(name, sizeof name, "symlink-dir-%s",
		 adjacent ? "adjacent" : "apart");
	target_path(target, sizeof target, name);
	int rc = restore_into(&s, target, &log, &res, name);
	CHECK_RC(rc, CAIRN_E_PARTIAL);
	CHECK(log.errors == 2);
	CHECK(file_is(target, "e", "sibling"));
	CHECK(!exists(outside, "planted"));
	CHECK(access(probe, F_OK) != 0);
	case_end();
}

/* A symlink to /tmp/outside and a file of the same name, adjacent and
 * apart: the file must never be written through the link, and the
 * duplicate must be reported. */
static void case_symlink_file(int adjacent)
{
	struct tb root = {0};
	uint8_t rid[32];
	struct snapshot s;
	struct evlog log;
	struct restore_result res;
	char target[512], name[64];

	case_begin();
	tb_symlink(&root, "link", "/tmp/outside");
	if (adjacent) {
		tb_file(&root, "link", 4, "through the link");
		tb_file(&root, "m", 1, "sibling");
	} else {
		tb_file(&root, "m", 1, "sibling");
		tb_file(&root, "link", 4, "through the link");
	}
	tb_end(&root, rid);
	craft_flush();
	snapshot_save(rid, &s);
	case_reopen();

	snprintf(name, sizeof name, "symlink-file-%s",
		 adjacent ? "adjacent" : "apart");
	target_path(target, sizeof target, name);
	int rc = restore_into(&s, target, &log, &res, name);
	CHECK_RC(rc, CAIRN_E_PARTIAL);
	CHECK(log.errors == 1);
	CHECK(file_is(target, "m", "sibling"));
	char buf[64] = "";
	char path[1024];
	snprintf(path, sizeof path, "%s/link", target);
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	CHECK(n == 12 && !memcmp(buf, "/tmp/outside", 12));
	case_end();
}

/* Symlinks planted in the target before the restore, where the snapshot
 * has a directory and a file. */
static void case_planted(void)
{
	struct tb root = {0};
	uint8_t sub[32], rid[32];
	struct snapshot s;
	struct evlog log;
	struct restore_result res;
	char target[512], path[1024];

	case_begin();
	tree_with_file("payload", "must stay inside", sub);
	tb_file(&root, "file-victim", 11, "replaces the link");
	tb_file(&root, "good", 4, "good content");
	tb_dir(&root, "victim", 6, sub);
	tb_end(&root, rid);
	craft_flush();
	snapshot_save(rid, &s);
	case_reopen();

	target_path(target, sizeof target, "planted");
	CHECK(mkdir(target, 0700) == 0);
	snprintf(path, sizeof path, "%s/victim", target);
	CHECK(symlink("../outside", path) == 0);
	snprintf(path, sizeof path, "%s/file-victim", target);
	char keep[512];
	snprintf(keep, sizeof keep, "%s/keep", outside);
	CHECK(symlink(keep, path) == 0);

	int rc = restore_into(&s, target, &log, &res, "planted");
	CHECK_RC(rc, CAIRN_E_PARTIAL);
	CHECK(log.errors == 1);
	CHECK(log.unsafe == 1);
	CHECK(!exists(outside, "payload"));
	CHECK(file_is(outside, "keep", "keep me\n"));
	CHECK(file_is(target, "good", "good content"));
	/* the planted file link was replaced by a plain file */
	struct stat st;
	snprintf(path, sizeof path, "%s/file-victim", target);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(file_is(target, "file-victim", "replaces the link"));
	case_end();
}

static int walk_count(void *ud, const char *path, const struct tree_node *n)
{
	(void)path;
	(void)n;
	(*(int *)ud)++;
	return 0;
}

/* A chain of 5000 directories, each one tree. */
static void case_deep(void)
{
	enum { DEPTH = 5000 };
	uint8_t cur[32], rid[32];
	struct snapshot s;
	struct evlog log;
	struct restore_result res;
	char target[512];

	case_begin();
	tree_with_file("bottom", "at the bottom", cur);
	for (int i = 0; i < DEPTH; i++) {
		struct tb t = {0};
		tb_dir(&t, "d", 1, cur);
		tb_end(&t, cur);
	}
	{
		struct tb root = {0};
		tb_file(&root, "good", 4, "good content");
		tb_dir(&root, "z", 1, cur);
		tb_end(&root, rid);
	}
	craft_flush();
	snapshot_save(rid, &s);
	case_reopen();

	target_path(target, sizeof target, "deep");
	double t0 = repo_now();
	int rc = restore_into(&s, target, &log, &res, "deep");
	fprintf(stderr, "deep: restore took %.2f s\n", repo_now() - t0);
	CHECK_RC(rc, CAIRN_E_PARTIAL);
	CHECK(log.errors >= 1);
	CHECK(file_is(target, "good", "good content"));

	t0 = repo_now();
	CHECK_RC(check_repo(&log, 0, "deep"), CAIRN_E_CORRUPT);
	CHECK(log.errors >= 1);
	CHECK(strstr(log.text, "too deep") != NULL);
	fprintf(stderr, "deep: check took %.2f s\n", repo_now() - t0);

	/* walking (ls) refuses the chain too */
	int count = 0;
	CHECK_RC(repo_walk(R, &s, walk_count, &count), CAIRN_E_CORRUPT);
	case_end();
}

/* A data blob named as a subtree, and a tree blob named as content. */
static void case_type_confusion(void)
{
	struct tb root = {0};
	uint8_t data_id[32], tree_id[32], rid[32];
	struct snapshot s;
	struct evlog log;
	struct restore_result res;
	char target[512];

	case_begin();
	add_data("I am file content", data_id);
	tree_with_file("inner", "inner content", tree_id);
	tb_dir(&root, "confused-dir", 12, data_id);
	/* the tree blob's plaintext length is unknown here: use the index's */
	tb_node(&root, "confused-file", 13, NODE_FILE, 0644, 0, NULL,
		(const uint8_t (*)[32])tree_id, 1, NULL);
	tb_file(&root, "good", 4, "good content");
	tb_dir(&root, "real-dir", 8, tree_id);
	tb_end(&root, rid);
	craft_flush();
	snapshot_save(rid, &s);
	case_reopen();

	target_path(target, sizeof target, "confusion");
	int rc = restore_into(&s, target, &log, &res, "confusion");
	CHECK_RC(rc, CAIRN_E_PARTIAL);
	CHECK(log.errors == 2);
	CHECK(file_is(target, "good", "good content"));
	CHECK(file_is(target, "real-dir/inner", "inner content"));
	CHECK(!exists(target, "confused-dir/inner"));

	CHECK_RC(check_repo(&log, 0, "confusion"), CAIRN_E_CORRUPT);
	CHECK(log.errors >= 2);
	CHECK_RC(check_repo(&log, 1, "confusion"), CAIRN_E_CORRUPT);

	/* walking (ls) does not descend into a data blob either */
	int count = 0;
	CHECK(repo_walk(R, &s, walk_count, &count) < 0);
	case_end();
}

/* The index puts two blobs at each other's offsets; a third is right. */
static void case_wrong_offset(void)
{
	struct tb root = {0};
	uint8_t a[32], b[32], c[32], rid[32];
	struct snapshot s;
	struct evlog log;
	struct restore_result res;
	struct index_file f;
	char target[512];

	case_begin();
	add_data("content of blob a, which is longer", a);
	add_data("content of blob b", b);
	add_data("content of blob c", c);
	tb_node(&root, "a", 1, NODE_FILE, 0644, 34, NULL,
		(const uint8_t (*)[32])a, 1, NULL);
	tb_node(&root, "b", 1, NODE_FILE, 0644, 17, NULL,
		(const uint8_t (*)[32])b, 1, NULL);
	tb_node(&root, "c", 1, NODE_FILE, 0644, 17, NULL,
		(const uint8_t (*)[32])c, 1, NULL);
	/* size says 1 TiB, content says 17 bytes */
	tb_node(&root, "liar", 4, NODE_FILE, 0644, 1ULL << 40, NULL,
		(const uint8_t (*)[32])c, 1, NULL);
	tb_end(&root, rid);
	craft_packs(&f);
	for (size_t i = 0; i < f.npacks; i++) {
		struct index_pack *p = &f.packs[i];
		struct index_blob *ea = NULL, *eb = NULL;
		for (size_t j = 0; j < p->n; j++) {
			if (!memcmp(p->blobs[j].id, a, 32))
				ea = &p->blobs[j];
			if (!memcmp(p->blobs[j].id, b, 32))
				eb = &p->blobs[j];
		}
		if (ea && eb) {
			uint64_t off = ea->offset, len = ea->length;
			ea->offset = eb->offset;
			ea->length = eb->length;
			eb->offset = off;
			eb->length = len;
		}
	}
	index_save(&f);
	snapshot_save(rid, &s);
	case_reopen();

	target_path(target, sizeof target, "offset");
	int rc = restore_into(&s, target, &log, &res, "offset");
	CHECK_RC(rc, CAIRN_E_PARTIAL);
	CHECK(log.errors == 3);
	CHECK(file_is(target, "c", "content of blob c"));
	if (exists(target, "a"))
		CHECK(!file_has(target, "a", "content of blob b"));
	struct stat st;
	char path[1024];
	snprintf(path, sizeof path, "%s/liar", target);
	CHECK(lstat(path, &st) < 0 || st.st_size < (1 << 20));

	/* structure may pass; reading the data must not */
	check_repo(&log, 0, "offset");
	CHECK_RC(check_repo(&log, 1, "offset"), CAIRN_E_CORRUPT);
	CHECK(strstr(log.text, "disagree") != NULL);
	case_end();
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/cairn-hostile-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(scratch, sizeof scratch, "%s/s", base);
	snprintf(outside, sizeof outside, "%s/outside", scratch);
	snprintf(probe, sizeof probe, "/cairn-hostile-probe-%ld", (long)getpid());
	CHECK(mkdir(scratch, 0700) == 0);
	CHECK(mkdir(outside, 0700) == 0);
	char keep[512];
	snprintf(keep, sizeof keep, "%s/keep", outside);
	FILE *fk = fopen(keep, "w");
	CHECK(fk != NULL);
	if (fk) {
		fputs("keep me\n", fk);
		fclose(fk);
	}
	struct stat st;
	int tmp_outside_before = lstat("/tmp/outside", &st) == 0;

	double t0 = repo_now();
	case_names();
	case_symlink_dir(1);
	case_symlink_dir(0);
	case_symlink_file(1);
	case_symlink_file(0);
	case_planted();
	case_type_confusion();
	case_wrong_offset();
	case_deep();
	fprintf(stderr, "test_hostile: %d cases in %.1f s\n", ncase,
		repo_now() - t0);

	if (!tmp_outside_before)
		CHECK(lstat("/tmp/outside", &st) < 0);
	CHECK(lstat(probe, &st) < 0);

	if (!getenv("CAIRN_TEST_KEEP")) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", base);
	}
	return test_done("test_hostile");
}
