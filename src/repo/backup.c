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
#include "backup_internal.h"

/* ---- the calling thread: dedup and queue --------------------------- */

void bk_progress(struct bk *bk, int force)
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

int bk_interrupted(struct bk *bk)
{
	return bk->o->interrupt && *bk->o->interrupt;
}

/* Sets byte n of *v, growing it to cover n. */
static int flag_set(uint8_t **v, uint32_t *cap, uint32_t n)
{
	if (n >= *cap) {
		uint32_t c = *cap ? *cap : 256;
		while (c <= n)
			c *= 2;
		uint8_t *p = realloc(*v, c);
		if (!p)
			return CAIRN_E_NOMEM;
		memset(p + *cap, 0, c - *cap);
		*v = p;
		*cap = c;
	}
	(*v)[n] = 1;
	return 0;
}

int bk_use(struct bk *bk, uint32_t pack, uint32_t dict)
{
	int rc = flag_set(&bk->used_packs, &bk->cap_used_packs, pack);
	if (rc == 0 && dict)
		rc = flag_set(&bk->used_dicts, &bk->cap_used_dicts, dict - 1);
	return rc;
}

int blob_known(struct bk *bk, const uint8_t id[32])
{
	if (index_has(bk->pending, id))
		return 1;
	struct blob_loc loc;
	pthread_mutex_lock(&bk->r->mu);
	int has = index_lookup(bk->r->idx, id, &loc) == 0;
	/* a blob whose every copy awaits deletion is stored again; a use
	 * that cannot be recorded is treated the same way */
	if (has && (index_pack_avoided(bk->r->idx, loc.pack) ||
		    bk_use(bk, loc.pack, loc.dict) < 0))
		has = 0;
	pthread_mutex_unlock(&bk->r->mu);
	return has;
}

/* 0 when the object exists, CAIRN_E_CONFLICT when a prune deleted it. */
static int object_present(struct repo *r, enum obj_type t, const uint8_t *id)
{
	char hex[65];
	uint64_t size;
	if (!id)
		return CAIRN_E_CORRUPT;
	hex_encode(hex, id, 32);
	int rc = backend_stat(r->be, t, hex, &size);
	return rc == CAIRN_E_NOTFOUND ? CAIRN_E_CONFLICT : rc;
}

/* Before the snapshot is written: makes sure that nothing it depends on
 * has been deleted by a concurrent prune, and computes by when it must be
 * durable so that no prune can delete it first (format.md 13).  Returns
 * CAIRN_E_CONFLICT when that time has passed or a pack is gone. */
int bk_commit_check(struct bk *bk, int64_t *deadline)
{
	struct repo *r = bk->r;
	struct repo_marks m = {0};
	int rc;
	int64_t now = repo_wall_now();
	int64_t by = now + MARK_GRACE_MIN / 2;
	TRY(repo_marks_read(r, &m, NULL, NULL));
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < m.n; i++) {
		const struct mark_record *mr = &m.v[i];
		int hit = 0;
		for (size_t j = 0; j < mr->npacks && !hit; j++) {
			uint32_t pn;
			hit = index_pack_lookup(r->idx, mr->packs[j], &pn) == 0 &&
			      pn < bk->cap_used_packs && bk->used_packs[pn];
		}
		for (size_t j = 0; j < mr->ndicts && !hit; j++) {
			hit = bk->dict_state == 1 &&
			      !memcmp(mr->dicts[j], bk->dict.id, 32);
			for (uint32_t d = 0; d < bk->cap_used_dicts && !hit; d++) {
				const uint8_t *id = index_dict_id(r->idx, d);
				hit = bk->used_dicts[d] && id &&
				      !memcmp(id, mr->dicts[j], 32);
			}
		}
		if (hit && mark_record_commit_by(mr) < by)
			by = mark_record_commit_by(mr);
	}
	pthread_mutex_unlock(&r->mu);
	/* A pack marked after the index was read cannot be deleted sooner
	 * than MARK_GRACE_MIN later; past half of that, look. */
	if (now - r->index_loaded_at >= (int64_t)MARK_GRACE_MIN / 2) {
		uint32_t np = index_pack_count(r->idx);
		for (uint32_t n = 0; n < np && n < bk->cap_used_packs; n++)
			if (bk->used_packs[n])
				TRY(object_present(r, OBJ_PACK,
						   index_pack_id(r->idx, n)));
		for (uint32_t d = 0; d < bk->cap_used_dicts; d++)
			if (bk->used_dicts[d])
				TRY(object_present(r, OBJ_DICT,
						   index_dict_id(r->idx, d)));
		if (bk->dict_state == 1)
			TRY(object_present(r, OBJ_DICT, bk->dict.id));
	}
	rc = repo_wall_now() < by ? 0 : CAIRN_E_CONFLICT;
	*deadline = by;
out:
	repo_marks_free(&m);
	return rc;
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
int bk_submit(struct bk *bk, uint8_t type, const uint8_t id[32],
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


int idlist_add(struct idlist *l, const uint8_t id[32])
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
int bk_stream(struct bk *bk, struct source *src, chunker *c,
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
			__atomic_add_fetch(&bk->read_bytes, got,
					   __ATOMIC_RELAXED);
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

/* ---- the run ------------------------------------------------------------ */

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
	nd.user = (char *)bk_owner_name(bk->users, nd.uid, 0);
	nd.group = (char *)bk_owner_name(bk->groups, nd.gid, 1);
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
	if (!(backend_caps(r->be) & BACKEND_CAP_STREAM_PUT))
		TRY(workq_new(BK_UPLOADERS, 2, NULL, NULL, NULL, &bk.uq));

	char host[256] = "";
	if (o->hostname)
		snprintf(host, sizeof host, "%s", o->hostname);
	else if (gethostname(host, sizeof host - 1) < 0)
		host[0] = 0;
	snap.hostname = xstrdup(host);
	snap.username = xstrdup(bk_owner_name(bk.users, getuid(), 0));
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
	/* a partial backup says so in its own record */
	bk.sum.files_failed = bk.files_failed;
	snap.summary = bk.sum;
	TRY(snapshot_encode(&snap, &enc));
	int64_t deadline;
	TRY(bk_commit_check(&bk, &deadline));
	TRY(repo_object_save(r, OBJ_SNAPSHOT, MAGIC_SNAPSHOT, enc.p, enc.len,
			     res->snapshot_id));
	if (repo_wall_now() >= deadline) {
		/* stopped for too long while writing: a prune may have deleted
		 * what the snapshot needs, so it must not stay */
		char hex[65];
		hex_encode(hex, res->snapshot_id, 32);
		backend_remove(r->be, OBJ_SNAPSHOT, hex);
		rc = CAIRN_E_CONFLICT;
		goto out;
	}
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
	workq_free(bk.uq); /* uploads left run to their end, or abort */
	for (size_t i = 0; i < bk.newidx.npacks; i++)
		free(bk.newidx.packs[i].blobs);
	free(bk.newidx.packs);
	index_free(bk.pending);
	free(bk.used_packs);
	free(bk.used_dicts);
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
