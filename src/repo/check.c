/* check.c: verify a repository (docs/format.md section 11), and compute
 * statistics.
 *
 * Structure first: index files open, every indexed pack exists and is
 * large enough for what the index says it holds, every snapshot opens and
 * every tree it reaches loads, passes tree_check(), and names only indexed
 * blobs.  With read_data, packs are read whole in parallel: the hash must
 * equal the name, the header must agree with the index, and every blob must
 * decrypt, decompress and hash to its ID.
 *
 * Every problem is reported (EV_ERROR, with the object's name) and
 * counted; check goes on to find the rest.
 */
#include "repo_internal.h"

#include "pack.h"
#include "snapshot.h"
#include "tree.h"
#include "workq.h"

#include <sodium.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct ck {
	struct repo *r;
	const struct check_opts *o;
	struct check_result *res;
	pthread_mutex_t mu;     /* serialises events and counters */
	struct index *seen;     /* trees and blobs already verified */
	struct index *present;  /* packs present in the store, with size */
};

static void ck_report(struct ck *ck, enum repo_event_kind kind,
		      const char *path, int code, const char *msg)
{
	pthread_mutex_lock(&ck->mu);
	if (kind == EV_ERROR)
		ck->res->errors++;
	else
		ck->res->notices++;
	repo_emit(ck->o->on_event, ck->o->event_ud, kind, path, code, "%s", msg);
	pthread_mutex_unlock(&ck->mu);
}

static void ck_event(void *ud, const struct repo_event *ev)
{
	struct ck *ck = ud;
	ck_report(ck, ev->kind, ev->path, ev->code, ev->message);
}

static int ck_list_pack(void *ud, const char *name, uint64_t size)
{
	struct ck *ck = ud;
	uint8_t id[32];
	if (hex_decode(id, 32, name) < 0)
		return 0;
	struct blob_loc loc = {0};
	loc.length = size; /* the pack's size, kept in the set entry */
	return index_blob_add(ck->present, id, &loc);
}

struct ck_blobscan {
	struct ck *ck;
	uint64_t *limit;        /* per pack number: size - tail */
};

static int ck_index_entry(void *ud, const uint8_t id[32],
			  const struct blob_loc *loc)
{
	struct ck_blobscan *bs = ud;
	uint64_t limit = bs->limit[loc->pack];
	if (limit != UINT64_MAX &&
	    (loc->offset > limit || loc->length > limit - loc->offset)) {
		char hex[65], msg[256];
		hex_encode(hex, id, 32);
		snprintf(msg, sizeof msg,
			 "blob %s: indexed range lies outside its pack", hex);
		ck_report(bs->ck, EV_ERROR, NULL, CAIRN_E_CORRUPT, msg);
	}
	return 0;
}

static int ck_packs(struct ck *ck)
{
	struct repo *r = ck->r;
	uint32_t np = index_pack_count(r->idx);
	uint64_t *limit = calloc(np ? np : 1, sizeof *limit);
	int rc = 0;
	if (!limit)
		return CAIRN_E_NOMEM;
	for (uint32_t i = 0; i < np; i++) {
		const uint8_t *pid = index_pack_id(r->idx, i);
		struct blob_loc loc;
		char hex[65], msg[256];
		hex_encode(hex, pid, 32);
		if (index_lookup(ck->present, pid, &loc) < 0) {
			snprintf(msg, sizeof msg, "pack %s is named in the index "
				 "but missing from the repository", hex);
			ck_report(ck, EV_ERROR, NULL, CAIRN_E_NOTFOUND, msg);
			limit[i] = UINT64_MAX;
			continue;
		}
		limit[i] = loc.length >= PACK_TAIL_LEN ? loc.length - PACK_TAIL_LEN : 0;
		/* the size layout (format.md 11.2): the tail must parse at the
		 * stored size, so a truncated or extended pack is found without
		 * reading it whole; indexed records must end before the header */
		struct buf tail = BUF_INIT;
		struct pack_trailer tr;
		int trc = loc.length < PACK_TAIL_LEN
				  ? CAIRN_E_CORRUPT
				  : backend_get(r->be, OBJ_PACK, hex,
						loc.length - PACK_TAIL_LEN,
						PACK_TAIL_LEN, &tail);
		if (trc == 0)
			trc = pack_tail_parse(tail.p, loc.length, &tr);
		buf_free(&tail);
		if (trc == CAIRN_E_NOMEM) {
			free(limit);
			return trc;
		}
		if (trc < 0) {
			snprintf(msg, sizeof msg, "pack %s: size %llu does not fit "
				 "its trailer (truncated or damaged): %s", hex,
				 (unsigned long long)loc.length,
				 cairn_strerror(trc));
			ck_report(ck, EV_ERROR, NULL, CAIRN_E_CORRUPT, msg);
			continue;
		}
		if (tr.type != index_pack_type(r->idx, i)) {
			snprintf(msg, sizeof msg, "pack %s: type %u differs from "
				 "the index", hex, tr.type);
			ck_report(ck, EV_ERROR, NULL, CAIRN_E_CORRUPT, msg);
		}
		limit[i] = tr.header_offset;
	}
	for (uint32_t i = 0; i < index_dict_count(r->idx); i++) {
		char hex[65], msg[256];
		uint64_t size;
		hex_encode(hex, index_dict_id(r->idx, i), 32);
		if (backend_stat(r->be, OBJ_DICT, hex, &size) < 0) {
			snprintf(msg, sizeof msg, "dictionary %s is named in the "
				 "index but missing from the repository", hex);
			ck_report(ck, EV_ERROR, NULL, CAIRN_E_NOTFOUND, msg);
		}
	}
	struct ck_blobscan bs = {ck, limit};
	rc = index_foreach(r->idx, ck_index_entry, &bs);
	free(limit);
	ck->res->packs = index_blob_count(ck->present);
	ck->res->blobs = index_blob_count(r->idx);
	return rc;
}

struct ck_unref {
	struct ck *ck;
	struct index *indexed;
};

static int ck_unref_pack(void *ud, const uint8_t id[32],
			 const struct blob_loc *loc)
{
	struct ck_unref *u = ud;
	(void)loc;
	if (!index_has(u->indexed, id)) {
		char hex[65], msg[256];
		hex_encode(hex, id, 32);
		snprintf(msg, sizeof msg, "pack %s is not referenced by any "
			 "index (left by an interrupted backup; prune removes it)",
			 hex);
		ck_report(u->ck, EV_INFO, NULL, 0, msg);
	}
	return 0;
}

static int ck_unreferenced(struct ck *ck)
{
	struct index *indexed = NULL;
	int rc = index_new(&indexed);
	for (uint32_t i = 0; rc == 0 && i < index_pack_count(ck->r->idx); i++) {
		struct blob_loc loc = {0};
		rc = index_blob_add(indexed, index_pack_id(ck->r->idx, i), &loc);
	}
	struct ck_unref u = {ck, indexed};
	if (rc == 0)
		rc = index_foreach(ck->present, ck_unref_pack, &u);
	index_free(indexed);
	return rc;
}

/* Deletion records were read with the index (unreadable ones are errors
 * there); what they name is a notice. */
static void ck_marks(struct ck *ck)
{
	const struct repo_marks *m = &ck->r->marks;
	uint64_t packs = 0, dicts = 0;
	int64_t due = 0;
	char msg[256];
	for (size_t i = 0; i < m->n; i++) {
		packs += m->v[i].npacks;
		dicts += m->v[i].ndicts;
		if (!due || mark_record_ripe_at(&m->v[i]) < due)
			due = mark_record_ripe_at(&m->v[i]);
	}
	if (!m->n)
		return;
	snprintf(msg, sizeof msg,
		 "%zu deletion record%s of prune name %" PRIu64 " packs and %"
		 PRIu64 " dictionaries (first due at Unix time %" PRId64 ")",
		 m->n, m->n == 1 ? "" : "s", packs, dicts, due);
	ck_report(ck, EV_INFO, NULL, 0, msg);
}

static int ck_tree(struct ck *ck, const uint8_t id[32], const char *snap,
		   unsigned depth)
{
	struct tree t = {0};
	struct blob_loc none = {0};
	char hex[65], msg[512];
	const char *why = NULL;
	int rc;
	if (index_has(ck->seen, id))
		return 0;
	TRY(index_blob_add(ck->seen, id, &none));
	hex_encode(hex, id, 32);
	if (depth > 4096) {
		snprintf(msg, sizeof msg, "snapshot %.8s: tree %s nested too deep",
			 snap, hex);
		ck_report(ck, EV_ERROR, NULL, CAIRN_E_CORRUPT, msg);
		return 0;
	}
	rc = repo_tree_load(ck->r, id, &t);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "snapshot %.8s: tree %s: %s", snap, hex,
			 cairn_strerror(rc));
		ck_report(ck, EV_ERROR, NULL, rc, msg);
		rc = rc == CAIRN_E_NOMEM ? rc : 0;
		goto out;
	}
	ck->res->trees++;
	if (tree_check(&t, &why) < 0) {
		snprintf(msg, sizeof msg, "snapshot %.8s: tree %s: %s", snap, hex,
			 why ? why : "invalid");
		ck_report(ck, EV_ERROR, NULL, CAIRN_E_CORRUPT, msg);
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct tree_node *nd = &t.nodes[i];
		for (size_t c = 0; c < nd->ncontent; c++) {
			struct blob_loc loc;
			if (index_lookup(ck->r->idx, nd->content[c], &loc) == 0 &&
			    loc.type == BLOB_DATA)
				continue;
			char bhex[65];
			hex_encode(bhex, nd->content[c], 32);
			snprintf(msg, sizeof msg, "snapshot %.8s: file %.200s: "
				 "data blob %s is not in the index", snap,
				 nd->name, bhex);
			ck_report(ck, EV_ERROR, NULL, CAIRN_E_NOTFOUND, msg);
		}
		if (nd->type == NODE_DIR && nd->has_subtree)
			TRY(ck_tree(ck, nd->subtree, snap, depth + 1));
	}
out:
	tree_free(&t);
	return rc;
}

static int ck_snapshots(struct ck *ck)
{
	char (*names)[65] = NULL;
	size_t nn = 0;
	struct buf pt = BUF_INIT;
	int rc;
	TRY(repo_list_names(ck->r, OBJ_SNAPSHOT, &names, &nn));
	for (size_t i = 0; i < nn; i++) {
		struct snapshot s;
		char msg[256];
		if (ck->o->interrupt && *ck->o->interrupt) {
			rc = CAIRN_E_INTERRUPTED;
			goto out;
		}
		memset(&s, 0, sizeof s);
		rc = repo_object_load(ck->r, OBJ_SNAPSHOT, names[i],
				      MAGIC_SNAPSHOT, &pt);
		if (rc == 0)
			rc = snapshot_decode(pt.p, pt.len, &s);
		if (rc < 0) {
			snprintf(msg, sizeof msg, "snapshot %s: %s", names[i],
				 cairn_strerror(rc));
			ck_report(ck, EV_ERROR, NULL, rc, msg);
			if (rc == CAIRN_E_NOMEM)
				goto out;
			continue;
		}
		ck->res->snapshots++;
		rc = ck_tree(ck, s.tree, names[i], 0);
		snapshot_free(&s);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	free(names);
	buf_free(&pt);
	return rc;
}

/* ---- read-data -------------------------------------------------------- */

struct ck_worker {
	ZSTD_DCtx *dctx;
	struct buf pack, out, scratch;
};

struct ck_pack_job {
	struct ck *ck;
	uint32_t pack;
	uint8_t id[32];
	uint8_t type;
};

static void *ck_worker_new(void *ud, int i)
{
	(void)ud;
	(void)i;
	struct ck_worker *w = calloc(1, sizeof *w);
	if (w && !(w->dctx = ZSTD_createDCtx())) {
		free(w);
		w = NULL;
	}
	return w;
}

static void ck_worker_free(void *state)
{
	struct ck_worker *w = state;
	ZSTD_freeDCtx(w->dctx);
	buf_free(&w->pack);
	buf_free(&w->out);
	if (w->scratch.p)
		sodium_memzero(w->scratch.p, w->scratch.cap);
	buf_free(&w->scratch);
	free(w);
}

static void ck_pack_fail(struct ck *ck, const char *hex, const char *what,
			 int code)
{
	char msg[512];
	snprintf(msg, sizeof msg, "pack %s: %s", hex, what);
	ck_report(ck, EV_ERROR, NULL, code, msg);
}

static void ck_pack_run(void *arg, void *state)
{
	struct ck_pack_job *j = arg;
	struct ck *ck = j->ck;
	struct ck_worker *w = state;
	struct pack_entry *ents = NULL;
	size_t n = 0;
	uint8_t *key = sodium_malloc(32);
	char hex[65];
	uint8_t h[32];
	struct pack_trailer tr;
	int rc;
	hex_encode(hex, j->id, 32);
	if (!w || !key) {
		ck_pack_fail(ck, hex, "out of memory", CAIRN_E_NOMEM);
		goto out;
	}
	/* the store's wrapper hashes the pack against its name */
	rc = backend_get(ck->r->be, OBJ_PACK, hex, 0, BACKEND_TO_END, &w->pack);
	if (rc < 0) {
		ck_pack_fail(ck, hex, cairn_strerror(rc), rc);
		goto out;
	}
	if (w->pack.len < PACK_TAIL_LEN ||
	    pack_tail_parse(w->pack.p + w->pack.len - PACK_TAIL_LEN,
			    w->pack.len, &tr) < 0 ||
	    pack_key_open(ck->r->keys->data_pk, ck->r->keys->data_sk,
			  tr.sealed_key, key) < 0 ||
	    pack_header_decode(key, &tr, w->pack.p + tr.header_offset,
			       tr.header_ct_len, &ents, &n) < 0) {
		ck_pack_fail(ck, hex, "trailer, key or header is invalid",
			     CAIRN_E_CORRUPT);
		goto out;
	}
	if (tr.type != j->type)
		ck_pack_fail(ck, hex, "pack type differs from the index",
			     CAIRN_E_CORRUPT);
	for (size_t i = 0; i < n; i++) {
		struct blob_loc loc;
		char bhex[65], msg[256];
		hex_encode(bhex, ents[i].id, 32);
		pthread_mutex_lock(&ck->r->mu);
		int found = index_lookup(ck->r->idx, ents[i].id, &loc) == 0;
		pthread_mutex_unlock(&ck->r->mu);
		if (found && loc.pack == j->pack &&
		    (loc.offset != ents[i].offset || loc.length != ents[i].length ||
		     loc.raw_length != ents[i].raw_length)) {
			snprintf(msg, sizeof msg,
				 "blob %s: header and index disagree", bhex);
			ck_pack_fail(ck, hex, msg, CAIRN_E_CORRUPT);
		}
		rc = blob_decode_reuse(key, ents[i].type, ents[i].id,
				       w->pack.p + ents[i].offset,
				       ents[i].length, ents[i].raw_length,
				       w->dctx, &ck->r->resolver, &w->scratch,
				       &w->out);
		if (rc == 0) {
			crypto_chunk_id(ck->r->keys, w->out.p, w->out.len, h);
			if (sodium_memcmp(h, ents[i].id, 32) != 0)
				rc = CAIRN_E_CORRUPT;
		}
		if (rc < 0) {
			snprintf(msg, sizeof msg, "blob %s does not decrypt or "
				 "verify", bhex);
			ck_pack_fail(ck, hex, msg, rc);
		}
	}
	pthread_mutex_lock(&ck->mu);
	ck->res->packs_read++;
	pthread_mutex_unlock(&ck->mu);
out:
	free(ents);
	if (key)
		sodium_free(key);
	free(j);
}

static int ck_read_data(struct ck *ck)
{
	struct workq *q = NULL;
	int threads = ck->o->threads > 0 ? ck->o->threads : workq_cpus();
	int rc = workq_new(threads, (size_t)threads * 2, ck_worker_new,
			   ck_worker_free, NULL, &q);
	if (rc < 0)
		return rc;
	double p = ck->o->subset_percent > 0 ? ck->o->subset_percent : 100.0;
	uint32_t np = index_pack_count(ck->r->idx);
	for (uint32_t i = 0; i < np; i++) {
		const uint8_t *pid = index_pack_id(ck->r->idx, i);
		if (ck->o->interrupt && *ck->o->interrupt) {
			rc = CAIRN_E_INTERRUPTED;
			break;
		}
		if (!index_has(ck->present, pid))
			continue; /* reported missing already */
		if (p < 100.0 && randombytes_uniform(1000000) >= (uint32_t)(p * 10000))
			continue;
		struct ck_pack_job *j = malloc(sizeof *j);
		if (!j) {
			rc = CAIRN_E_NOMEM;
			break;
		}
		j->ck = ck;
		j->pack = i;
		memcpy(j->id, pid, 32);
		j->type = index_pack_type(ck->r->idx, i);
		workq_push(q, ck_pack_run, j);
	}
	workq_free(q);
	return rc;
}

int repo_check(struct repo *r, const struct check_opts *o,
	       struct check_result *res)
{
	struct ck ck = {.r = r, .o = o, .res = res};
	int rc;
	memset(res, 0, sizeof *res);
	pthread_mutex_init(&ck.mu, NULL);
	TRY(index_new(&ck.seen));
	TRY(index_new(&ck.present));
	rc = repo_index_load(r, ck_event, &ck);
	if (rc < 0 && rc != CAIRN_E_CORRUPT)
		goto out;
	TRY(backend_list(r->be, OBJ_PACK, ck_list_pack, &ck));
	TRY(ck_packs(&ck));
	TRY(ck_unreferenced(&ck));
	ck_marks(&ck);
	TRY(ck_snapshots(&ck));
	if (o->read_data)
		TRY(ck_read_data(&ck));
	rc = res->errors ? CAIRN_E_CORRUPT : 0;
out:
	index_free(ck.seen);
	index_free(ck.present);
	pthread_mutex_destroy(&ck.mu);
	return rc;
}

/* ---- stats -------------------------------------------------------------- */

struct st {
	struct repo *r;
	struct repo_stats *s;
	struct index *seen;
};

static int st_list_pack(void *ud, const char *name, uint64_t size)
{
	struct repo_stats *s = ud;
	(void)name;
	s->packs++;
	s->packs_size += size;
	return 0;
}

static int st_blob(struct st *st, const uint8_t id[32], uint8_t type)
{
	struct blob_loc loc, none = {0};
	if (index_has(st->seen, id))
		return 0;
	int rc = index_blob_add(st->seen, id, &none);
	if (rc == 0 && index_lookup(st->r->idx, id, &loc) == 0 &&
	    loc.type == type) {
		st->s->blobs++;
		st->s->blobs_size_raw += loc.raw_length;
		st->s->blobs_size_stored += loc.length;
	}
	return rc;
}

static int st_walk(void *ud, const char *path, const struct tree_node *n)
{
	struct st *st = ud;
	int rc = 0;
	(void)path;
	if (n->type == NODE_FILE) {
		st->s->total_files++;
		st->s->total_size += n->size;
		for (size_t i = 0; rc == 0 && i < n->ncontent; i++)
			rc = st_blob(st, n->content[i], BLOB_DATA);
	} else if (n->type == NODE_DIR && n->has_subtree) {
		rc = st_blob(st, n->subtree, BLOB_TREE);
	}
	return rc;
}

int repo_stats_get(struct repo *r, const struct snapshot *s,
		   struct repo_stats *ret)
{
	struct snapshot *all = NULL;
	size_t n = 0;
	struct st st = {.r = r, .s = ret};
	int rc;
	memset(ret, 0, sizeof *ret);
	rc = repo_index_load(r, NULL, NULL);
	if (rc < 0 && rc != CAIRN_E_CORRUPT)
		return rc;
	TRY(index_new(&st.seen));
	TRY(backend_list(r->be, OBJ_PACK, st_list_pack, ret));
	ret->index_blobs = index_blob_count(r->idx);
	if (s) {
		ret->snapshots = 1;
		TRY(st_blob(&st, s->tree, BLOB_TREE));
		TRY(repo_walk(r, s, st_walk, &st));
	} else {
		TRY(repo_snapshots_list(r, NULL, &all, &n));
		ret->snapshots = n;
		for (size_t i = 0; i < n; i++) {
			TRY(st_blob(&st, all[i].tree, BLOB_TREE));
			TRY(repo_walk(r, &all[i], st_walk, &st));
		}
	}
out:
	repo_snapshots_free(all, n);
	index_free(st.seen);
	return rc;
}
