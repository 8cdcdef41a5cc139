/* backup_pack.c: the workers of a backup.  Each worker compresses and
 * encrypts the chunks it is given into its own open pack (one per blob
 * type), commits the pack when it reaches the target size, and makes its
 * blobs visible in the index; index files are written every
 * INDEX_FLUSH_PACKS packs.
 */
#include "backup_internal.h"

/* ---- workers --------------------------------------------------------- */

static int pack_sink(void *ud, const void *p, size_t n)
{
	struct open_pack *op = ud;
	return backend_writer_write(op->bw, p, n);
}

void bk_fail(struct bk *bk, int rc)
{
	pthread_mutex_lock(&bk->mu);
	if (!bk->err)
		bk->err = rc;
	pthread_mutex_unlock(&bk->mu);
}

int bk_failed(struct bk *bk)
{
	pthread_mutex_lock(&bk->mu);
	int e = bk->err;
	pthread_mutex_unlock(&bk->mu);
	return e;
}

/* Writes the accumulated index entries as one index file.  Caller holds
 * bk->mu. */
int bk_index_flush(struct bk *bk)
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
	/* an index file naming packs that a prune deleted meanwhile would
	 * make the repository fail its check: the same deadline as the
	 * snapshot's applies, and a late file is withdrawn */
	int64_t deadline;
	uint8_t id[32];
	TRY(bk_commit_check(bk, &deadline));
	TRY(repo_object_save(bk->r, OBJ_INDEX, MAGIC_INDEX, pt.p, pt.len, id));
	if (repo_wall_now() >= deadline) {
		char hex[65];
		hex_encode(hex, id, 32);
		backend_remove(bk->r->be, OBJ_INDEX, hex);
		rc = CAIRN_E_CONFLICT;
		goto out;
	}
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

/* Commits a finished pack (pid: its id) and makes its blobs visible. */
static int pack_commit(struct bk *bk, struct open_pack *op,
		       const uint8_t pid[32])
{
	char hex[65];
	size_t n = 0;
	int rc;
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
	if (rc == 0)
		rc = bk_use(bk, pn, 0);
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

/* Stores that cannot stream get whole packs from memory: their uploads run
 * on the upload queue, so that the workers go on compressing while packs
 * travel (and several travel at once). */
struct upload_job {
	struct bk *bk;
	struct open_pack op;
	uint8_t pid[32];
};

static void upload_run(void *arg, void *state)
{
	struct upload_job *j = arg;
	(void)state;
	int rc = bk_failed(j->bk) ? 0 : pack_commit(j->bk, &j->op, j->pid);
	if (rc < 0)
		bk_fail(j->bk, rc);
	pack_abort(&j->op);
	free(j);
}

static int pack_close(struct bk *bk, struct open_pack *op)
{
	uint8_t pid[32];
	int rc;
	if (!op->pw)
		return 0;
	/* finished here: the pack writer's sink is this worker's slot */
	rc = pack_writer_finish(op->pw, pid);
	if (rc < 0) {
		pack_abort(op);
		return rc;
	}
	if (!bk->uq)
		return pack_commit(bk, op, pid);
	struct upload_job *j = malloc(sizeof *j);
	if (!j) {
		pack_abort(op);
		return CAIRN_E_NOMEM;
	}
	j->bk = bk;
	memcpy(j->pid, pid, 32);
	j->op = *op;
	memset(op, 0, sizeof *op);
	return workq_push(bk->uq, upload_run, j);
}

void bk_job_run(void *arg, void *state)
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

void *bk_worker_new(void *ud, int i)
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

void bk_worker_free(void *state)
{
	struct bk_worker *w = state;
	for (int t = 0; t < 2; t++)
		pack_abort(&w->packs[t]);
	ZSTD_freeCCtx(w->cctx);
	buf_free(&w->rec);
	free(w);
}

int bk_finish_packs(struct bk *bk)
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
	if (bk->uq)
		workq_drain(bk->uq);
	return rc;
}
