/* backup.c: the backup pipeline.
 *
 *   reader + chunker + chunk ID + dedup   (the calling thread)
 *        -> bounded queue ->
 *   compress + encrypt + append to the worker's own pack   (N workers)
 *        -> pack committed -> index updated
 *   ... then the final index file, then the snapshot, last.
 *
 * The calling thread computes chunk IDs itself, so it knows every file's
 * content list and every tree in order, and decides deduplication before
 * a chunk is queued: a chunk already stored (in the index) or already
 * queued in this run (the `pending` set) is never queued again.  Workers
 * only turn chunks into records, so there is nothing to wait for while
 * walking.  Memory is bounded by the queue: at most capacity chunks of at
 * most `max` bytes are in flight.
 *
 * A snapshot is written only after every pack and index file it needs is
 * durable; on any failure none is written (format.md 9).
 */
#include "repo_internal.h"

#include "chunker.h"
#include "dict.h"
#include "pack.h"
#include "snapshot.h"
#include "source.h"
#include "tree.h"
#include "workq.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <zstd.h>

#define READ_BLOCK (1u << 20)
#define INDEX_FLUSH_PACKS 256

struct open_pack {
	struct pack_writer *pw;
	struct backend_writer *bw;
	uint8_t *uses_dict;        /* per blob added: compressed with the dict */
	size_t nused, capused;
};

struct bk;

struct bk_worker {
	struct bk *bk;
	ZSTD_CCtx *cctx;
	struct buf rec;
	struct open_pack packs[2]; /* by blob type */
};

struct bk_job {
	uint8_t type;
	uint8_t id[32];
	uint8_t *data;
	size_t len;
	const struct blob_dict *dict;  /* NULL: plain zstd */
};

struct owner_cache {
	uint32_t id;
	char name[64];
	int valid;
};

struct bk {
	struct repo *r;
	const struct backup_opts *o;
	struct workq *q;
	int level;

	pthread_mutex_t mu;       /* guards err, newidx, counters below */
	int err;
	struct index_file newidx; /* packs written since the last flush */
	size_t newidx_cap;
	uint64_t data_added_packed;

	struct index *pending;    /* queued this run; calling thread only */

	/* the run's compression dictionary (dict.h): samples are collected
	 * from the first new data, then one dictionary is trained and used
	 * for every later data blob */
	int dict_state;           /* 0 collecting, 1 in use, 2 none */
	struct buf samples;
	size_t *sample_sizes;
	unsigned nsamples, capsamples;
	struct blob_dict dict;
	ZSTD_CDict *cdict;
	uint32_t dict_num;        /* its number in the repository index */
	chunker ch_stream, ch_files;
	struct snapshot_summary sum;
	uint64_t files_failed;
	double t0, last_progress;
	struct repo_progress prog;
	struct owner_cache users[16], groups[16];

	/* the scanner: counts what is to be read, for the ETA */
	pthread_t scanner;
	int scanner_running;
	int scanner_stop;            /* atomic */
	uint64_t scan_files, scan_bytes;  /* atomic */
	char **scan_paths;
	size_t scan_npaths;
};

/* ---- workers --------------------------------------------------------- */

static int pack_sink(void *ud, const void *p, size_t n)
{
	struct open_pack *op = ud;
	return backend_writer_write(op->bw, p, n);
}

static void bk_fail(struct bk *bk, int rc)
{
	pthread_mutex_lock(&bk->mu);
	if (!bk->err)
		bk->err = rc;
	pthread_mutex_unlock(&bk->mu);
}

static int bk_failed(struct bk *bk)
{
	pthread_mutex_lock(&bk->mu);
	int e = bk->err;
	pthread_mutex_unlock(&bk->mu);
	return e;
}

/* Writes the accumulated index entries as one index file.  Caller holds
 * bk->mu. */
static int bk_index_flush(struct bk *bk)
{
	struct buf pt = BUF_INIT;
	int rc = 0;
	if (!bk->newidx.npacks)
		return 0;
	if (bk->dict_state == 1) {
		bk->newidx.ndicts = 1;
		bk->newidx.dicts = &bk->dict.id;
	}
	TRY(index_file_encode(&bk->newidx, &pt));
	TRY(repo_object_save(bk->r, OBJ_INDEX, MAGIC_INDEX, pt.p, pt.len, NULL));
	for (size_t i = 0; i < bk->newidx.npacks; i++)
		free(bk->newidx.packs[i].blobs);
	bk->newidx.npacks = 0;
out:
	buf_free(&pt);
	return rc;
}

/* Finishes and commits a worker's open pack, then makes its blobs
 * visible in the index. */
static void pack_abort(struct open_pack *op);

static int pack_close(struct bk *bk, struct open_pack *op)
{
	uint8_t pid[32];
	char hex[65];
	size_t n = 0;
	int rc;
	if (!op->pw)
		return 0;
	TRY(pack_writer_finish(op->pw, pid));
	hex_encode(hex, pid, 32);
	rc = backend_writer_commit(op->bw, hex);
	op->bw = NULL;
	if (rc == CAIRN_E_EXISTS)
		rc = 0; /* same bytes already stored: equally good */
	if (rc < 0)
		goto out;
	const struct pack_entry *e = pack_writer_entries(op->pw, &n);
	uint8_t type = pack_writer_type(op->pw);

	pthread_mutex_lock(&bk->mu);
	if (bk->newidx.npacks == bk->newidx_cap) {
		size_t cap = bk->newidx_cap ? bk->newidx_cap * 2 : 16;
		void *p = realloc(bk->newidx.packs, cap * sizeof *bk->newidx.packs);
		if (!p) {
			pthread_mutex_unlock(&bk->mu);
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		bk->newidx.packs = p;
		bk->newidx_cap = cap;
	}
	struct index_pack *ip = &bk->newidx.packs[bk->newidx.npacks];
	ip->blobs = calloc(n, sizeof *ip->blobs);
	if (!ip->blobs) {
		pthread_mutex_unlock(&bk->mu);
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	memcpy(ip->id, pid, 32);
	ip->type = type;
	ip->n = n;
	for (size_t i = 0; i < n; i++) {
		memcpy(ip->blobs[i].id, e[i].id, 32);
		ip->blobs[i].offset = e[i].offset;
		ip->blobs[i].length = e[i].length;
		ip->blobs[i].raw_length = e[i].raw_length;
		/* the run has one dictionary: number 1 of its index files */
		ip->blobs[i].dict = i < op->nused && op->uses_dict[i] ? 1 : 0;
	}
	bk->newidx.npacks++;

	pthread_mutex_lock(&bk->r->mu);
	uint32_t pn;
	rc = index_pack_add(bk->r->idx, pid, type, &pn);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct blob_loc loc = {.pack = pn, .type = type,
				       .offset = e[i].offset,
				       .length = e[i].length,
				       .raw_length = e[i].raw_length};
		if (ip->blobs[i].dict)
			loc.dict = bk->dict_num + 1;
		rc = index_blob_add(bk->r->idx, e[i].id, &loc);
	}
	pthread_mutex_unlock(&bk->r->mu);
	if (rc == 0 && bk->newidx.npacks >= INDEX_FLUSH_PACKS)
		rc = bk_index_flush(bk);
	pthread_mutex_unlock(&bk->mu);
out:
	pack_abort(op);
	return rc;
}

static void pack_abort(struct open_pack *op)
{
	if (op->bw)
		backend_writer_abort(op->bw);
	pack_writer_free(op->pw);
	free(op->uses_dict);
	memset(op, 0, sizeof *op);
}

static void bk_job_run(void *arg, void *state)
{
	struct bk_job *job = arg;
	struct bk_worker *w = state;
	struct bk *bk = w ? w->bk : NULL;
	int rc = 0;
	if (!w) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	if (bk_failed(bk))
		goto out;
	struct open_pack *op = &w->packs[job->type];
	if (!op->pw) {
		TRY(backend_writer_open(bk->r->be, OBJ_PACK, &op->bw));
		rc = pack_writer_new(bk->r->keys->data_pk, job->type, pack_sink,
				     op, &op->pw);
		if (rc < 0) {
			pack_abort(op);
			goto out;
		}
	}
	w->rec.len = 0;
	TRY(blob_encode_dict(pack_writer_key(op->pw), job->type, job->id,
			     job->data, job->len, bk->level, w->cctx, job->dict,
			     &w->rec));
	if (op->nused == op->capused) {
		size_t cap = op->capused ? op->capused * 2 : 256;
		void *p = realloc(op->uses_dict, cap);
		if (!p) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		op->uses_dict = p;
		op->capused = cap;
	}
	TRY(pack_writer_add(op->pw, job->id, w->rec.p, w->rec.len, job->len));
	op->uses_dict[op->nused++] = job->dict != NULL;
	__atomic_add_fetch(&bk->data_added_packed, w->rec.len, __ATOMIC_RELAXED);
	if (pack_writer_size(op->pw) >= bk->r->cfg.pack_size)
		TRY(pack_close(bk, op));
out:
	if (rc < 0 && bk)
		bk_fail(bk, rc);
	free(job->data);
	free(job);
}

static void *bk_worker_new(void *ud, int i)
{
	(void)i;
	struct bk_worker *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->bk = ud;
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		free(w);
		return NULL;
	}
	return w;
}

static void bk_worker_free(void *state)
{
	struct bk_worker *w = state;
	for (int t = 0; t < 2; t++)
		pack_abort(&w->packs[t]);
	ZSTD_freeCCtx(w->cctx);
	buf_free(&w->rec);
	free(w);
}

/* ---- the calling thread: dedup and queue --------------------------- */

static void bk_progress(struct bk *bk, int force)
{
	if (!bk->o->on_event)
		return;
	double now = repo_now();
	if (!force && now - bk->last_progress < 0.25)
		return;
	bk->last_progress = now;
	if (bk->scanner_running) {
		bk->prog.files_total =
			__atomic_load_n(&bk->scan_files, __ATOMIC_RELAXED);
		bk->prog.bytes_total =
			__atomic_load_n(&bk->scan_bytes, __ATOMIC_RELAXED);
	}
	bk->prog.elapsed = now - bk->t0;
	bk->prog.errors = bk->files_failed;
	struct repo_event ev = {.kind = EV_PROGRESS, .progress = &bk->prog};
	bk->o->on_event(bk->o->event_ud, &ev);
}

static int bk_interrupted(struct bk *bk)
{
	return bk->o->interrupt && *bk->o->interrupt;
}

static int blob_known(struct bk *bk, const uint8_t id[32])
{
	if (index_has(bk->pending, id))
		return 1;
	pthread_mutex_lock(&bk->r->mu);
	int has = index_has(bk->r->idx, id);
	pthread_mutex_unlock(&bk->r->mu);
	return has;
}

/* Trains the run's dictionary from the samples, stores it (durably,
 * before any blob that needs it can be indexed) and digests it for the
 * workers.  A dictionary that does not train is no error: the run goes on
 * with plain zstd. */
static int bk_dict_train(struct bk *bk)
{
	struct buf d = BUF_INIT, obj = BUF_INIT;
	char hex[65];
	int rc = dict_train(bk->samples.p, bk->sample_sizes, bk->nsamples, &d);
	buf_free(&bk->samples);
	free(bk->sample_sizes);
	bk->sample_sizes = NULL;
	bk->dict_state = 2;
	if (rc == CAIRN_E_INVAL || bk->level == 0) {
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	TRY(dict_seal(bk->r->keys->data_pk, d.p, d.len, &obj));
	crypto_object_hash(obj.p, obj.len, bk->dict.id);
	hex_encode(hex, bk->dict.id, 32);
	TRY(backend_put(bk->r->be, OBJ_DICT, hex, obj.p, obj.len));
	bk->cdict = ZSTD_createCDict(d.p, d.len, bk->level);
	if (!bk->cdict) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	bk->dict.cdict = bk->cdict;
	pthread_mutex_lock(&bk->r->mu);
	rc = index_dict_add(bk->r->idx, bk->dict.id, &bk->dict_num);
	pthread_mutex_unlock(&bk->r->mu);
	if (rc == 0)
		bk->dict_state = 1;
out:
	if (d.p)
		sodium_memzero(d.p, d.cap);
	buf_free(&d);
	buf_free(&obj);
	return rc;
}

/* Takes training samples from a new data chunk: pieces of DICT_PIECE
 * bytes spread over it, at most DICT_PIECES_MAX, so that large file
 * chunks and small stream chunks both give many samples. */
static int bk_dict_sample(struct bk *bk, const uint8_t *data, size_t len)
{
	int rc = 0;
	if (len < 64)
		return 0;
	size_t pieces = (len + DICT_PIECE - 1) / DICT_PIECE;
	if (pieces > DICT_PIECES_MAX)
		pieces = DICT_PIECES_MAX;
	size_t stride = len / pieces;
	for (size_t i = 0; i < pieces; i++) {
		size_t off = i * stride;
		size_t take = len - off < DICT_PIECE ? len - off : DICT_PIECE;
		if (bk->nsamples == bk->capsamples) {
			unsigned cap = bk->capsamples ? bk->capsamples * 2 : 256;
			void *p = realloc(bk->sample_sizes,
					  cap * sizeof *bk->sample_sizes);
			if (!p)
				return CAIRN_E_NOMEM;
			bk->sample_sizes = p;
			bk->capsamples = cap;
		}
		TRY(buf_put(&bk->samples, data + off, take));
		bk->sample_sizes[bk->nsamples++] = take;
	}
	if (bk->samples.len >= DICT_TRAIN_BYTES)
		rc = bk_dict_train(bk);
out:
	return rc;
}

/* Takes ownership of data. */
static int bk_submit(struct bk *bk, uint8_t type, const uint8_t id[32],
		     uint8_t *data, size_t len)
{
	int rc = bk_failed(bk);
	if (rc < 0) {
		free(data);
		return rc;
	}
	if (blob_known(bk, id)) {
		free(data);
		return 0;
	}
	struct blob_loc none = {0};
	rc = index_blob_add(bk->pending, id, &none);
	struct bk_job *job = rc == 0 ? malloc(sizeof *job) : NULL;
	if (!job) {
		free(data);
		return rc < 0 ? rc : CAIRN_E_NOMEM;
	}
	job->type = type;
	memcpy(job->id, id, 32);
	job->data = data;
	job->len = len;
	job->dict = NULL;
	if (type == BLOB_DATA && bk->dict_state == 0) {
		rc = bk_dict_sample(bk, data, len);
		if (rc < 0) {
			free(data);
			free(job);
			return rc;
		}
	}
	if (type == BLOB_DATA && bk->dict_state == 1)
		job->dict = &bk->dict;
	if (type == BLOB_DATA) {
		bk->sum.data_blobs++;
		bk->sum.data_added += len;
		bk->prog.bytes_added += len;
	} else {
		bk->sum.tree_blobs++;
	}
	return workq_push(bk->q, bk_job_run, job);
}

struct idlist {
	uint8_t (*v)[32];
	size_t n, cap;
};

static int idlist_add(struct idlist *l, const uint8_t id[32])
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * 32);
		if (!p)
			return CAIRN_E_NOMEM;
		l->v = p;
		l->cap = cap;
	}
	memcpy(l->v[l->n++], id, 32);
	return 0;
}

/* Chunks a whole stream; appends chunk IDs to ids and the byte count to
 * *total.  The read buffer of each chunk becomes the job's buffer, so
 * bytes are copied only when a cut leaves a remainder. */
static int bk_stream(struct bk *bk, struct source *src, chunker *c,
		     struct idlist *ids, uint64_t *total)
{
	size_t max = c->max_size;
	size_t have = 0, scanned = 0;
	uint8_t *cur = malloc(max);
	int rc = 0;
	if (!cur)
		return CAIRN_E_NOMEM;
	chunker_reset(c);
	for (;;) {
		if (bk_interrupted(bk)) {
			rc = CAIRN_E_INTERRUPTED;
			goto out;
		}
		if (scanned == have) {
			size_t want = max - have;
			if (want > READ_BLOCK)
				want = READ_BLOCK;
			size_t got = 0;
			TRY(source_read(src, cur + have, want, &got));
			if (got == 0)
				break;
			have += got;
			*total += got;
			bk->prog.bytes_done += got;
			bk_progress(bk, 0);
		}
		size_t k = chunker_scan(c, cur + scanned, have - scanned);
		if (k == CHUNKER_NO_CUT) {
			scanned = have;
			continue;
		}
		size_t clen = scanned + k;
		uint8_t *next = malloc(max);
		if (!next) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		memcpy(next, cur + clen, have - clen);
		uint8_t id[32];
		crypto_chunk_id(bk->r->keys, cur, clen, id);
		TRY(idlist_add(ids, id));
		rc = bk_submit(bk, BLOB_DATA, id, cur, clen);
		cur = next;
		have -= clen;
		scanned = 0;
		if (rc < 0)
			goto out;
	}
	if (have) {
		uint8_t id[32];
		crypto_chunk_id(bk->r->keys, cur, have, id);
		TRY(idlist_add(ids, id));
		rc = bk_submit(bk, BLOB_DATA, id, cur, have);
		cur = NULL;
	}
out:
	free(cur);
	return rc;
}

static const char *owner_name(struct owner_cache *cache, uint32_t id, int group)
{
	struct owner_cache *slot = &cache[id % 16];
	if (slot->valid && slot->id == id)
		return slot->name;
	char buf[4096];
	slot->name[0] = 0;
	if (group) {
		struct group g, *res = NULL;
		if (getgrgid_r(id, &g, buf, sizeof buf, &res) == 0 && res)
			snprintf(slot->name, sizeof slot->name, "%s", g.gr_name);
	} else {
		struct passwd p, *res = NULL;
		if (getpwuid_r(id, &p, buf, sizeof buf, &res) == 0 && res)
			snprintf(slot->name, sizeof slot->name, "%s", p.pw_name);
	}
	slot->id = id;
	slot->valid = 1;
	return slot->name;
}

static void node_from_stat(struct bk *bk, struct tree_node *nd, char *name,
			   const struct stat *st)
{
	memset(nd, 0, sizeof *nd);
	nd->name = name;
	nd->name_len = strlen(name);
	nd->mode = st->st_mode & 07777;
	nd->uid = st->st_uid;
	nd->gid = st->st_gid;
	nd->user = (char *)owner_name(bk->users, st->st_uid, 0);
	nd->group = (char *)owner_name(bk->groups, st->st_gid, 1);
	nd->mtime_sec = st->st_mtim.tv_sec;
	nd->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	nd->ctime_sec = st->st_ctim.tv_sec;
	nd->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	nd->inode = st->st_ino;
	nd->device = st->st_dev;
	nd->links = st->st_nlink;
	nd->link_target = (char *)"";
}

static const struct tree_node *tree_find(const struct tree *t, const char *name)
{
	if (!t)
		return NULL;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t->nodes[mid].name, name);
		if (c == 0)
			return &t->nodes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A file is unchanged when its metadata match the parent snapshot's node
 * and all its content is still indexed. */
static int file_unchanged(struct bk *bk, const struct tree_node *old,
			  const struct stat *st)
{
	if (!old || old->type != NODE_FILE || bk->o->force)
		return 0;
	if (old->size != (uint64_t)st->st_size ||
	    old->mtime_sec != st->st_mtim.tv_sec ||
	    old->mtime_nsec != (uint32_t)st->st_mtim.tv_nsec ||
	    old->ctime_sec != st->st_ctim.tv_sec ||
	    old->ctime_nsec != (uint32_t)st->st_ctim.tv_nsec ||
	    old->inode != st->st_ino)
		return 0;
	for (size_t i = 0; i < old->ncontent; i++)
		if (!blob_known(bk, old->content[i]))
			return 0;
	return 1;
}

static int bk_warn(struct bk *bk, const char *path, int code, const char *what)
{
	bk->files_failed++;
	repo_emit(bk->o->on_event, bk->o->event_ud, EV_WARNING, path, code,
		  "%s: %s", what, strerror(errno));
	return 0;
}

static int bk_dir(struct bk *bk, const char *path, const struct tree *parent,
		  uint8_t ret_id[32]);

static void bk_file_event(struct bk *bk, const char *path, const char *action)
{
	if (!bk->o->on_event)
		return;
	struct repo_event ev = {.kind = EV_FILE, .path = path, .action = action};
	bk->o->on_event(bk->o->event_ud, &ev);
}

/* Backs up one entry at full path; fills *nd (strings borrowed from the
 * arguments, content and owner names from static/bk storage; the caller
 * copies it into a tree with tree_add).  Returns 1 when the entry was
 * skipped (reported), 0 when nd is valid, < 0 on a fatal error. */
static int bk_entry(struct bk *bk, const char *full, char *name,
		    const struct tree_node *old, struct tree_node *nd,
		    struct idlist *ids, char *linkbuf)
{
	struct stat st;
	struct tree *sub_parent = NULL;
	struct tree subp = {0};
	int rc = 0;
	if (lstat(full, &st) < 0)
		return bk_warn(bk, full, CAIRN_E_IO, "cannot stat") + 1;
	node_from_stat(bk, nd, name, &st);
	if (S_ISREG(st.st_mode)) {
		nd->type = NODE_FILE;
		bk->prog.files_done++;
		bk->sum.total_files_processed++;
		if (file_unchanged(bk, old, &st)) {
			for (size_t i = 0; i < old->ncontent; i++)
				TRY(idlist_add(ids, old->content[i]));
			nd->size = old->size;
			bk->sum.files_unmodified++;
			bk->sum.total_bytes_processed += old->size;
			bk->prog.bytes_done += old->size;
			bk_file_event(bk, full, "unchanged");
		} else {
			int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
			if (fd < 0 && errno == EPERM)
				fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return bk_warn(bk, full, CAIRN_E_IO, "cannot open") + 1;
			posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
			struct source *src = NULL;
			uint64_t total = 0;
			rc = source_fd_open(fd, 1, &src);
			if (rc < 0) {
				close(fd);
				goto out;
			}
			rc = bk_stream(bk, src, &bk->ch_files, ids, &total);
			int err_errno = src->err_errno;
			source_close(src);
			if (rc == CAIRN_E_IO) {
				errno = err_errno;
				ids->n = 0;
				return bk_warn(bk, full, rc, "read error") + 1;
			}
			if (rc < 0)
				goto out;
			nd->size = total;
			bk->sum.total_bytes_processed += total;
			if (old) {
				bk->sum.files_changed++;
				bk_file_event(bk, full, "modified");
			} else {
				bk->sum.files_new++;
				bk_file_event(bk, full, "new");
			}
		}
		nd->ncontent = ids->n;
		nd->content = ids->v;
	} else if (S_ISDIR(st.st_mode)) {
		nd->type = NODE_DIR;
		if (old && old->type == NODE_DIR && old->has_subtree &&
		    repo_tree_load(bk->r, old->subtree, &subp) == 0)
			sub_parent = &subp;
		rc = bk_dir(bk, full, sub_parent, nd->subtree);
		if (rc < 0)
			goto out;
		nd->has_subtree = 1;
		/* the recursion reused the owner-name cache slots */
		nd->user = (char *)owner_name(bk->users, nd->uid, 0);
		nd->group = (char *)owner_name(bk->groups, nd->gid, 1);
		if (!old)
			bk->sum.dirs_new++;
		else if (old->type == NODE_DIR && old->has_subtree &&
			 !memcmp(old->subtree, nd->subtree, 32))
			bk->sum.dirs_unmodified++;
		else
			bk->sum.dirs_changed++;
	} else if (S_ISLNK(st.st_mode)) {
		nd->type = NODE_SYMLINK;
		ssize_t l = readlink(full, linkbuf, TREE_TARGET_MAX);
		if (l < 0)
			return bk_warn(bk, full, CAIRN_E_IO, "cannot read link") + 1;
		linkbuf[l] = 0;
		nd->link_target = linkbuf;
		nd->link_len = (size_t)l;
	} else if (S_ISFIFO(st.st_mode)) {
		nd->type = NODE_FIFO;
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		nd->type = S_ISCHR(st.st_mode) ? NODE_CHARDEV : NODE_BLOCKDEV;
		nd->rdev = st.st_rdev;
	} else {
		repo_emit(bk->o->on_event, bk->o->event_ud, EV_WARNING, full, 0,
			  "skipped: sockets and other special files are not "
			  "backed up");
		rc = 1;
	}
out:
	tree_free(&subp);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Saves tree t as a tree blob; ret_id gets its id. */
static int bk_tree_save(struct bk *bk, const struct tree *t, uint8_t ret_id[32])
{
	struct buf enc = BUF_INIT;
	int rc;
	TRY(tree_encode(t, &enc));
	crypto_chunk_id(bk->r->keys, enc.p, enc.len, ret_id);
	rc = bk_submit(bk, BLOB_TREE, ret_id, enc.p, enc.len);
	enc.p = NULL; /* owned by the job now */
out:
	buf_free(&enc);
	return rc;
}

static int bk_dir(struct bk *bk, const char *path, const struct tree *parent,
		  uint8_t ret_id[32])
{
	struct tree t = {0};
	char **names = NULL;
	size_t n = 0, cap = 0;
	char *linkbuf = NULL, *full = NULL;
	int rc = 0;
	DIR *d = opendir(path);
	if (!d) {
		/* recorded as an empty directory, reported */
		bk_warn(bk, path, CAIRN_E_IO, "cannot read directory");
		return bk_tree_save(bk, &t, ret_id);
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			void *p = realloc(names, cap * sizeof *names);
			if (!p) {
				rc = CAIRN_E_NOMEM;
				goto out;
			}
			names = p;
		}
		if (!(names[n] = strdup(e->d_name))) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		n++;
	}
	closedir(d);
	d = NULL;
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	linkbuf = malloc(TREE_TARGET_MAX + 1);
	size_t pl = strlen(path);
	full = malloc(pl + 2 + 4096);
	if (!linkbuf || !full) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct tree_node nd;
		struct idlist ids = {0};
		if (bk_interrupted(bk)) {
			rc = CAIRN_E_INTERRUPTED;
			goto out;
		}
		snprintf(full, pl + 2 + 4096, "%s%s%s", path,
			 path[pl - 1] == '/' ? "" : "/", names[i]);
		rc = bk_entry(bk, full, names[i], tree_find(parent, names[i]),
			      &nd, &ids, linkbuf);
		if (rc == 0)
			rc = tree_add(&t, &nd);
		free(ids.v);
		if (rc < 0)
			goto out;
		rc = 0;
		bk_progress(bk, 0);
	}
	rc = bk_tree_save(bk, &t, ret_id);
out:
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(linkbuf);
	free(full);
	tree_free(&t);
	return rc;
}

/* ---- the root of a file backup --------------------------------------- */

/* A virtual directory level built from the command-line paths. */
struct vdir {
	char *name;
	char *full;         /* absolute path of this level */
	int leaf;           /* backed up whole */
	struct vdir *kids;
	size_t nkids;
};

static void vdir_free(struct vdir *v)
{
	for (size_t i = 0; i < v->nkids; i++)
		vdir_free(&v->kids[i]);
	free(v->kids);
	free(v->name);
	free(v->full);
}

/* Makes path absolute and normal: no ".", "..", empty components or
 * trailing '/'.  Symlinks are not resolved. */
static char *path_absolute(const char *path)
{
	char cwd[PATH_MAX];
	size_t cap;
	char *tmp, *out;
	if (path[0] == '/') {
		cwd[0] = 0;
	} else if (!getcwd(cwd, sizeof cwd)) {
		return NULL;
	}
	cap = strlen(cwd) + strlen(path) + 3;
	tmp = malloc(cap);
	out = malloc(cap);
	if (!tmp || !out) {
		free(tmp);
		free(out);
		return NULL;
	}
	snprintf(tmp, cap, "%s/%s", cwd, path);
	size_t o = 0;
	char *save = NULL;
	for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		size_t l = strlen(c);
		memcpy(out + o, c, l);
		o += l;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(tmp);
	return out;
}

static int vdir_insert(struct vdir *root, const char *abs)
{
	struct vdir *cur = root;
	const char *p = abs;
	if (!strcmp(abs, "/")) {
		root->leaf = 1;
		return 0;
	}
	while (*p == '/')
		p++;
	while (*p && !cur->leaf) {
		const char *end = strchr(p, '/');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		struct vdir *kid = NULL;
		for (size_t i = 0; i < cur->nkids; i++)
			if (strlen(cur->kids[i].name) == l &&
			    !strncmp(cur->kids[i].name, p, l))
				kid = &cur->kids[i];
		if (!kid) {
			void *np = realloc(cur->kids, (cur->nkids + 1) * sizeof *cur->kids);
			if (!np)
				return CAIRN_E_NOMEM;
			cur->kids = np;
			kid = &cur->kids[cur->nkids++];
			memset(kid, 0, sizeof *kid);
			kid->name = strndup(p, l);
			kid->full = strndup(abs, (size_t)(p - abs) + l);
			if (!kid->name || !kid->full)
				return CAIRN_E_NOMEM;
		}
		cur = kid;
		p += l;
		while (*p == '/')
			p++;
	}
	if (!*p) {
		/* this level is backed up whole; deeper requests are covered */
		cur->leaf = 1;
	}
	return 0;
}

static int vdir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vdir *)a)->name, ((const struct vdir *)b)->name);
}

static int bk_vdir(struct bk *bk, struct vdir *v, const struct tree *parent,
		   uint8_t ret_id[32])
{
	struct tree t = {0};
	char *linkbuf = malloc(TREE_TARGET_MAX + 1);
	int rc = 0;
	if (!linkbuf)
		return CAIRN_E_NOMEM;
	if (v->nkids)
		qsort(v->kids, v->nkids, sizeof *v->kids, vdir_cmp);
	for (size_t i = 0; i < v->nkids; i++) {
		struct vdir *k = &v->kids[i];
		const struct tree_node *old = tree_find(parent, k->name);
		struct tree_node nd;
		struct idlist ids = {0};
		if (k->leaf) {
			rc = bk_entry(bk, k->full, k->name, old, &nd, &ids, linkbuf);
			if (rc == 0)
				rc = tree_add(&t, &nd);
			free(ids.v);
			if (rc < 0)
				goto out;
			rc = 0;
			continue;
		}
		struct stat st;
		if (lstat(k->full, &st) < 0 || !S_ISDIR(st.st_mode)) {
			bk_warn(bk, k->full, CAIRN_E_IO, "cannot stat");
			continue;
		}
		node_from_stat(bk, &nd, k->name, &st);
		nd.type = NODE_DIR;
		struct tree sub = {0};
		int have_sub = old && old->type == NODE_DIR && old->has_subtree &&
			       repo_tree_load(bk->r, old->subtree, &sub) == 0;
		rc = bk_vdir(bk, k, have_sub ? &sub : NULL, nd.subtree);
		tree_free(&sub);
		if (rc < 0)
			goto out;
		nd.has_subtree = 1;
		nd.user = (char *)owner_name(bk->users, nd.uid, 0);
		nd.group = (char *)owner_name(bk->groups, nd.gid, 1);
		TRY(tree_add(&t, &nd));
	}
	rc = bk_tree_save(bk, &t, ret_id);
out:
	free(linkbuf);
	tree_free(&t);
	return rc;
}

/* ---- the run ------------------------------------------------------------ */

static int paths_equal(const struct snapshot *s, char **paths, size_t n)
{
	if (s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]))
			return 0;
	return 1;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scanner walks the same paths with lstat only, in parallel with the
 * backup, so that progress can show totals and an ETA.  It is advisory:
 * errors are ignored and its counts never affect the snapshot. */
static int scan_tree(struct bk *bk, char *path, size_t len, size_t cap,
		     unsigned depth)
{
	struct stat st;
	if (__atomic_load_n(&bk->scanner_stop, __ATOMIC_RELAXED) || depth > 256)
		return -1;
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode)) {
		__atomic_add_fetch(&bk->scan_files, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&bk->scan_bytes, (uint64_t)st.st_size,
				   __ATOMIC_RELAXED);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t l = strlen(e->d_name);
		if (len + l + 2 > cap)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, e->d_name, l + 1);
		rc = scan_tree(bk, path, len + 1 + l, cap, depth + 1);
		path[len] = 0;
	}
	closedir(d);
	return rc;
}

static void *scanner_main(void *arg)
{
	struct bk *bk = arg;
	char *path = malloc(PATH_MAX * 2);
	for (size_t i = 0; path && i < bk->scan_npaths; i++) {
		size_t l = strlen(bk->scan_paths[i]);
		if (l >= PATH_MAX)
			continue;
		memcpy(path, bk->scan_paths[i], l + 1);
		if (l == 1 && path[0] == '/')
			l = 0; /* "/" itself: children become "/name" */
		if (scan_tree(bk, path, l, PATH_MAX * 2, 0) < 0)
			break;
	}
	free(path);
	return NULL;
}

static void scanner_start(struct bk *bk, char **paths, size_t n)
{
	bk->scan_paths = paths;
	bk->scan_npaths = n;
	if (bk->o->on_event &&
	    pthread_create(&bk->scanner, NULL, scanner_main, bk) == 0)
		bk->scanner_running = 1;
}

static void scanner_stop(struct bk *bk)
{
	if (!bk->scanner_running)
		return;
	__atomic_store_n(&bk->scanner_stop, 1, __ATOMIC_RELAXED);
	pthread_join(bk->scanner, NULL);
	bk->scanner_running = 0;
}

static int bk_files(struct bk *bk, struct snapshot *snap, uint8_t root[32])
{
	struct vdir top = {0};
	struct snapshot *all = NULL;
	size_t nall = 0, np = 0;
	struct tree parent = {0};
	int have_parent = 0, rc = 0;
	for (const char *const *p = bk->o->paths; p && *p; p++)
		np++;
	if (!np)
		return CAIRN_E_INVAL;
	snap->paths = calloc(np, sizeof *snap->paths);
	if (!snap->paths)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < np; i++) {
		snap->paths[i] = path_absolute(bk->o->paths[i]);
		if (!snap->paths[i]) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		snap->npaths++;
		struct stat st;
		if (lstat(snap->paths[i], &st) < 0) {
			/* a path that does not exist is a usage error */
			repo_emit(bk->o->on_event, bk->o->event_ud, EV_ERROR,
				  snap->paths[i], CAIRN_E_NOTFOUND,
				  "cannot stat: %s", strerror(errno));
			rc = CAIRN_E_NOTFOUND;
			goto out;
		}
		TRY(vdir_insert(&top, snap->paths[i]));
	}
	qsort(snap->paths, snap->npaths, sizeof *snap->paths, str_cmp);
	scanner_start(bk, snap->paths, snap->npaths);

	/* parent: the newest snapshot of the same host and paths */
	if (!bk->o->force &&
	    repo_snapshots_list(bk->r, NULL, &all, &nall) == 0) {
		for (size_t i = nall; i-- > 0;) {
			if (strcmp(all[i].hostname, snap->hostname) ||
			    !paths_equal(&all[i], snap->paths, snap->npaths))
				continue;
			if (repo_tree_load(bk->r, all[i].tree, &parent) == 0) {
				have_parent = 1;
				snap->has_parent = 1;
				memcpy(snap->parent, all[i].id, 32);
			}
			break;
		}
	}
	if (top.leaf) {
		/* "/" itself */
		rc = bk_dir(bk, "/", have_parent ? &parent : NULL, root);
	} else {
		top.full = strdup("/");
		rc = top.full ? bk_vdir(bk, &top, have_parent ? &parent : NULL, root)
			      : CAIRN_E_NOMEM;
	}
out:
	scanner_stop(bk);
	tree_free(&parent);
	repo_snapshots_free(all, nall);
	vdir_free(&top);
	return rc;
}

static int bk_stream_root(struct bk *bk, struct snapshot *snap, uint8_t root[32])
{
	struct source *src = NULL;
	struct idlist ids = {0};
	struct tree t = {0};
	uint64_t total = 0;
	int rc;
	const char *name = bk->o->stdin_filename ? bk->o->stdin_filename : "stdin";
	if (!tree_node_name_ok(name, strlen(name)))
		return CAIRN_E_INVAL;
	if (bk->o->kind == SRC_COMMAND)
		rc = source_command_open(bk->o->command, &src);
	else
		rc = source_fd_open(bk->o->stdin_fd, 0, &src);
	if (rc < 0) {
		if (rc == CAIRN_E_SOURCE)
			repo_emit(bk->o->on_event, bk->o->event_ud, EV_ERROR,
				  NULL, rc, "%s", source_command_status());
		return rc;
	}
	rc = bk_stream(bk, src, &bk->ch_stream, &ids, &total);
	if (rc < 0) {
		source_cancel(src);
		goto out;
	}
	int crc = source_close(src);
	if (rc == 0 && crc < 0) {
		rc = crc;
		if (crc == CAIRN_E_SOURCE)
			repo_emit(bk->o->on_event, bk->o->event_ud, EV_ERROR,
				  NULL, rc, "%s", source_command_status());
	}
	if (rc < 0)
		goto out;

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tree_node nd;
	memset(&nd, 0, sizeof nd);
	nd.name = (char *)name;
	nd.name_len = strlen(name);
	nd.type = NODE_FILE;
	nd.mode = 0644;
	nd.uid = getuid();
	nd.gid = getgid();
	nd.user = (char *)owner_name(bk->users, nd.uid, 0);
	nd.group = (char *)owner_name(bk->groups, nd.gid, 1);
	nd.mtime_sec = nd.ctime_sec = now.tv_sec;
	nd.mtime_nsec = nd.ctime_nsec = (uint32_t)now.tv_nsec;
	nd.links = 1;
	nd.size = total;
	nd.link_target = (char *)"";
	nd.ncontent = ids.n;
	nd.content = ids.v;
	TRY(tree_add(&t, &nd));
	bk->sum.files_new = 1;
	bk->sum.total_files_processed = 1;
	bk->sum.total_bytes_processed = total;
	TRY(bk_tree_save(bk, &t, root));

	snap->paths = calloc(1, sizeof *snap->paths);
	if (!snap->paths || asprintf(&snap->paths[0], "/%s", name) < 0) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	snap->npaths = 1;
out:
	free(ids.v);
	tree_free(&t);
	return rc;
}

static int bk_finish_packs(struct bk *bk)
{
	int rc = 0;
	workq_drain(bk->q);
	for (int i = 0; i < workq_threads(bk->q); i++) {
		struct bk_worker *w = workq_state(bk->q, i);
		for (int t = 0; w && t < 2; t++) {
			if (bk_failed(bk) || rc < 0) {
				pack_abort(&w->packs[t]);
				continue;
			}
			int prc = pack_close(bk, &w->packs[t]);
			if (prc < 0 && rc == 0)
				rc = prc;
		}
	}
	return rc;
}

static char *xstrdup(const char *s) { return strdup(s ? s : ""); }

static void timespec_now(int64_t *sec, uint32_t *nsec)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
}

int repo_backup(struct repo *r, const struct backup_opts *o,
		struct backup_result *res)
{
	struct bk bk;
	struct snapshot snap;
	struct buf enc = BUF_INIT;
	uint8_t root[32];
	int rc;
	memset(&bk, 0, sizeof bk);
	memset(&snap, 0, sizeof snap);
	memset(res, 0, sizeof *res);
	pthread_mutex_init(&bk.mu, NULL);
	bk.r = r;
	bk.o = o;
	bk.t0 = repo_now();
	bk.level = o->compression_level ? o->compression_level
					: r->cfg.compression_level;
	timespec_now(&bk.sum.backup_start_sec, &bk.sum.backup_start_nsec);

	TRY(repo_index_load(r, o->on_event, o->event_ud));
	TRY(index_new(&bk.pending));
	if (chunker_init(&bk.ch_stream, r->gear, r->cfg.stream.min,
			 r->cfg.stream.avg, r->cfg.stream.max) < 0 ||
	    chunker_init(&bk.ch_files, r->gear, r->cfg.files.min,
			 r->cfg.files.avg, r->cfg.files.max) < 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	int threads = o->threads > 0 ? o->threads : workq_cpus();
	TRY(workq_new(threads, (size_t)threads * 2 + 2, bk_worker_new,
		      bk_worker_free, &bk, &bk.q));

	char host[256] = "";
	if (o->hostname)
		snprintf(host, sizeof host, "%s", o->hostname);
	else if (gethostname(host, sizeof host - 1) < 0)
		host[0] = 0;
	snap.hostname = xstrdup(host);
	snap.username = xstrdup(owner_name(bk.users, getuid(), 0));
	snap.uid = getuid();
	snap.gid = getgid();
	if (!snap.hostname || !snap.username) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}

	if (o->kind == SRC_FILES)
		rc = bk_files(&bk, &snap, root);
	else
		rc = bk_stream_root(&bk, &snap, root);
	if (rc < 0)
		goto out;
	TRY(bk_finish_packs(&bk));
	TRY(bk_failed(&bk));
	pthread_mutex_lock(&bk.mu);
	rc = bk_index_flush(&bk);
	pthread_mutex_unlock(&bk.mu);
	if (rc < 0)
		goto out;

	/* every pack and index entry is durable: commit the snapshot */
	memcpy(snap.tree, root, 32);
	if (o->has_time) {
		snap.time_sec = o->time_sec;
		snap.time_nsec = 0;
	} else {
		snap.time_sec = bk.sum.backup_start_sec;
		snap.time_nsec = bk.sum.backup_start_nsec;
	}
	snap.tz_offset = time_local_offset(snap.time_sec);
	size_t nt = 0;
	for (const char *const *t = o->tags; t && *t; t++)
		nt++;
	snap.tags = calloc(nt + 1, sizeof *snap.tags);
	if (!snap.tags) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nt; i++) {
		if (!(snap.tags[i] = strdup(o->tags[i]))) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		snap.ntags++;
	}
	snap.program_version = xstrdup("cairn " CAIRN_VERSION);
	snap.source_kind = xstrdup(o->kind == SRC_FILES   ? "files"
				   : o->kind == SRC_STDIN ? "stdin"
							  : "command");
	if (o->kind == SRC_COMMAND) {
		size_t nc = 0;
		while (o->command[nc])
			nc++;
		snap.command = calloc(nc + 1, sizeof *snap.command);
		if (!snap.command) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < nc; i++) {
			if (!(snap.command[i] = strdup(o->command[i]))) {
				rc = CAIRN_E_NOMEM;
				goto out;
			}
			snap.ncommand++;
		}
	}
	timespec_now(&bk.sum.backup_end_sec, &bk.sum.backup_end_nsec);
	bk.sum.data_added_packed = bk.data_added_packed;
	snap.summary = bk.sum;
	TRY(snapshot_encode(&snap, &enc));
	TRY(repo_object_save(r, OBJ_SNAPSHOT, MAGIC_SNAPSHOT, enc.p, enc.len,
			     res->snapshot_id));
	res->has_snapshot = 1;
	res->summary = bk.sum;
	res->files_failed = bk.files_failed;
	bk_progress(&bk, 1);
	rc = bk.files_failed ? CAIRN_E_PARTIAL : 0;
out:
	if (bk.q) {
		if (rc < 0 && !res->has_snapshot)
			bk_fail(&bk, rc);
		workq_free(bk.q); /* aborts packs still open */
	}
	for (size_t i = 0; i < bk.newidx.npacks; i++)
		free(bk.newidx.packs[i].blobs);
	free(bk.newidx.packs);
	index_free(bk.pending);
	ZSTD_freeCDict(bk.cdict);
	if (bk.samples.p)
		sodium_memzero(bk.samples.p, bk.samples.cap);
	buf_free(&bk.samples);
	free(bk.sample_sizes);
	snapshot_free(&snap);
	buf_free(&enc);
	pthread_mutex_destroy(&bk.mu);
	return rc;
}
