/* prune_exec.c: prune's changes to the repository, in the order that
 * keeps it whole if the process dies between any two of them
 * (docs/format.md section 13):
 *
 *   1. repack: copy the needed blobs of partly used packs into new packs,
 *      then write an index file naming the new packs;
 *   2. record: write one deletion record naming what is unneeded now
 *      (and the repacked packs);
 *   3. sweep, for records whose grace period has passed: write index files
 *      that replace those naming doomed packs, delete the replaced index
 *      files, then the packs, then unneeded dictionaries, then the records.
 *
 * With dry_run set each step only counts.
 */
#include "prune_internal.h"
#include "pack.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A replacement index file is flushed past this many blobs. */
#define IXB_BLOBS_MAX 100000

/* ---- an index file under construction --------------------------------- */

struct ixb {
	struct index_file f;
	size_t cap_packs, cap_dicts, cap_sup, nblobs;
};

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 16;
	void *q = realloc(*v, c * elem);
	if (!q)
		return CAIRN_E_NOMEM;
	*v = q;
	*cap = c;
	return 0;
}

/* The file's number for dictionary id (1-based), added when new. */
static int ixb_dict(struct ixb *b, const uint8_t id[32], uint32_t *ret)
{
	for (size_t i = 0; i < b->f.ndicts; i++)
		if (!memcmp(b->f.dicts[i], id, 32)) {
			*ret = (uint32_t)i + 1;
			return 0;
		}
	void *v = b->f.dicts;
	if (grow(&v, &b->cap_dicts, b->f.ndicts, 32) < 0)
		return CAIRN_E_NOMEM;
	b->f.dicts = v;
	memcpy(b->f.dicts[b->f.ndicts++], id, 32);
	*ret = (uint32_t)b->f.ndicts;
	return 0;
}

static int ixb_pack(struct ixb *b, const uint8_t id[32], uint8_t type,
		    size_t n, struct index_pack **ret)
{
	void *v = b->f.packs;
	if (grow(&v, &b->cap_packs, b->f.npacks, sizeof *b->f.packs) < 0)
		return CAIRN_E_NOMEM;
	b->f.packs = v;
	struct index_pack *ip = &b->f.packs[b->f.npacks];
	ip->blobs = calloc(n, sizeof *ip->blobs);
	if (!ip->blobs)
		return CAIRN_E_NOMEM;
	memcpy(ip->id, id, 32);
	ip->type = type;
	ip->n = n;
	b->f.npacks++;
	b->nblobs += n;
	*ret = ip;
	return 0;
}

static int ixb_supersede(struct ixb *b, const uint8_t id[32])
{
	void *v = b->f.supersedes;
	if (grow(&v, &b->cap_sup, b->f.nsupersedes, 32) < 0)
		return CAIRN_E_NOMEM;
	b->f.supersedes = v;
	memcpy(b->f.supersedes[b->f.nsupersedes++], id, 32);
	return 0;
}

static void ixb_free(struct ixb *b)
{
	for (size_t i = 0; i < b->f.npacks; i++)
		free(b->f.packs[i].blobs);
	free(b->f.packs);
	free(b->f.dicts);
	free(b->f.supersedes);
	memset(b, 0, sizeof *b);
}

/* Writes the file (when it names a pack) and starts an empty one. */
static int ixb_flush(struct pr *p, struct ixb *b)
{
	struct buf pt = BUF_INIT;
	int rc = 0;
	if (b->f.npacks) {
		TRY(index_file_encode(&b->f, &pt));
		TRY(repo_object_save(p->r, OBJ_INDEX, MAGIC_INDEX, pt.p, pt.len,
				     NULL));
		p->res->index_written++;
	}
out:
	buf_free(&pt);
	ixb_free(b);
	return rc;
}

/* ---- 1. repack ---------------------------------------------------------- */

struct rp_out {               /* the open new pack of one blob type */
	struct pack_writer *pw;
	struct backend_writer *bw;
	uint32_t *dict;           /* per blob: index dictionary number + 1 */
	size_t ndict, capdict;
};

static int rp_sink(void *ud, const void *buf, size_t n)
{
	struct rp_out *o = ud;
	return backend_writer_write(o->bw, buf, n);
}

static void rp_abort(struct rp_out *o)
{
	if (o->bw)
		backend_writer_abort(o->bw);
	pack_writer_free(o->pw);
	free(o->dict);
	memset(o, 0, sizeof *o);
}

static int rp_close(struct pr *p, struct rp_out *o, struct ixb *b)
{
	uint8_t pid[32];
	char hex[65];
	size_t n;
	struct index_pack *ip;
	int rc;
	if (!o->pw)
		return 0;
	TRY(pack_writer_finish(o->pw, pid));
	hex_encode(hex, pid, 32);
	rc = backend_writer_commit(o->bw, hex);
	o->bw = NULL;
	if (rc < 0)
		goto out;
	p->res->repack_written += pack_writer_size(o->pw);
	const struct pack_entry *e = pack_writer_entries(o->pw, &n);
	TRY(ixb_pack(b, pid, pack_writer_type(o->pw), n, &ip));
	for (size_t i = 0; i < n; i++) {
		struct index_blob *ib = &ip->blobs[i];
		memcpy(ib->id, e[i].id, 32);
		ib->offset = e[i].offset;
		ib->length = e[i].length;
		ib->raw_length = e[i].raw_length;
		const uint8_t *did =
			o->dict[i] ? index_dict_id(p->r->idx, o->dict[i] - 1) : NULL;
		if (did)
			TRY(ixb_dict(b, did, &ib->dict));
	}
out:
	rp_abort(o);
	return rc;
}

static int rp_add(struct pr *p, struct rp_out *o, struct ixb *b,
		  const uint8_t key[32], const uint8_t id[32],
		  const struct blob_loc *loc, const uint8_t *rec, struct buf *tmp)
{
	int rc;
	if (!o->pw) {
		TRY(backend_writer_open(p->r->be, OBJ_PACK, &o->bw));
		TRY(pack_writer_new(p->r->keys->data_pk, loc->type, rp_sink, o,
				    &o->pw));
	}
	tmp->len = 0;
	TRY(blob_rekey(key, pack_writer_key(o->pw), loc->type, id, rec,
		       loc->length, tmp));
	void *v = o->dict;
	TRY(grow(&v, &o->capdict, o->ndict, sizeof *o->dict));
	o->dict = v;
	TRY(pack_writer_add(o->pw, id, tmp->p, tmp->len, loc->raw_length));
	o->dict[o->ndict++] = loc->dict;
	if (pack_writer_size(o->pw) >= p->r->cfg.pack_size)
		TRY(rp_close(p, o, b));
out:
	return rc;
}

struct rp_item {
	uint32_t pack;
	uint32_t offset;
	size_t entry;
};

static int cmp_item(const void *a, const void *b)
{
	const struct rp_item *x = a, *y = b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

struct rp_collect {
	struct pr *p;
	struct rp_item *v;
	size_t n, cap, e;
};

static int rp_collect(void *ud, const uint8_t id[32], const struct blob_loc *loc)
{
	struct rp_collect *c = ud;
	struct pr *p = c->p;
	size_t e = c->e++;
	(void)id;
	if (loc->pack >= p->npk || p->pk[loc->pack].fate != PF_REPACK ||
	    !((p->ref[e >> 3] >> (e & 7)) & 1))
		return 0;
	void *v = c->v;
	if (grow(&v, &c->cap, c->n, sizeof *c->v) < 0)
		return CAIRN_E_NOMEM;
	c->v = v;
	c->v[c->n++] = (struct rp_item){loc->pack, (uint32_t)loc->offset, e};
	return 0;
}

int pr_repack(struct pr *p)
{
	struct rp_collect c = {p, NULL, 0, 0, 0};
	struct rp_out out[2];
	struct ixb b;
	struct buf pk = BUF_INIT, tmp = BUF_INIT;
	uint8_t *key = NULL;
	int rc = 0;
	memset(out, 0, sizeof out);
	memset(&b, 0, sizeof b);
	for (uint32_t n = 0; n < p->npk; n++)
		if (p->pk[n].fate == PF_REPACK) {
			p->res->repacked_packs++;
			p->res->repacked_bytes += p->pk[n].size;
			p->res->repack_blobs += p->pk[n].used_blobs;
		}
	if (!p->res->repacked_packs || p->o->dry_run)
		return 0;
	key = sodium_malloc(32);
	if (!key)
		return CAIRN_E_NOMEM;
	TRY(index_foreach(p->r->idx, rp_collect, &c));
	qsort(c.v, c.n, sizeof *c.v, cmp_item);
	for (size_t i = 0; i < c.n;) {
		uint32_t n = c.v[i].pack;
		char hex[65];
		if (p->o->interrupt && *p->o->interrupt) {
			rc = CAIRN_E_INTERRUPTED;
			goto out;
		}
		hex_encode(hex, index_pack_id(p->r->idx, n), 32);
		TRY(backend_get(p->r->be, OBJ_PACK, hex, 0, BACKEND_TO_END, &pk));
		TRY(repo_pack_key(p->r, n, key));
		for (; i < c.n && c.v[i].pack == n; i++) {
			uint8_t id[32];
			struct blob_loc loc;
			TRY(index_entry_get(p->r->idx, c.v[i].entry, id, &loc));
			if (pk.len < PACK_TAIL_LEN ||
			    loc.offset + loc.length > pk.len - PACK_TAIL_LEN) {
				rc = CAIRN_E_CORRUPT;
				goto out;
			}
			rc = rp_add(p, &out[loc.type], &b, key, id, &loc,
				    pk.p + loc.offset, &tmp);
			if (rc == CAIRN_E_CORRUPT)
				repo_emit(p->o->on_event, p->o->event_ud,
					  EV_ERROR, NULL, rc,
					  "pack %s: a blob to keep does not "
					  "authenticate; nothing was repacked",
					  hex);
			if (rc < 0)
				goto out;
		}
	}
	TRY(rp_close(p, &out[0], &b));
	TRY(rp_close(p, &out[1], &b));
	/* the new packs are durable: name them (the old ones stay indexed
	 * until a sweep) */
	TRY(ixb_flush(p, &b));
out:
	rp_abort(&out[0]);
	rp_abort(&out[1]);
	ixb_free(&b);
	free(c.v);
	buf_free(&pk);
	if (tmp.p)
		sodium_memzero(tmp.p, tmp.cap);
	buf_free(&tmp);
	if (key)
		sodium_free(key);
	return rc;
}

/* ---- 2. the deletion record -------------------------------------------- */

static int ids_push(uint8_t (**v)[32], size_t *n, size_t *cap,
		    const uint8_t id[32])
{
	void *q = *v;
	if (grow(&q, cap, *n, 32) < 0)
		return CAIRN_E_NOMEM;
	*v = q;
	memcpy((*v)[(*n)++], id, 32);
	return 0;
}

int pr_record_write(struct pr *p)
{
	struct mark_record m;
	struct buf pt = BUF_INIT;
	size_t capp = 0, capd = 0;
	int rc = 0;
	memset(&m, 0, sizeof m);
	for (uint32_t n = 0; n < p->npk; n++) {
		const struct pr_pack *k = &p->pk[n];
		if (k->fate != PF_MARK && k->fate != PF_REPACK)
			continue;
		TRY(ids_push(&m.packs, &m.npacks, &capp,
			     index_pack_id(p->r->idx, n)));
		p->res->marked_bytes += k->size;
	}
	for (size_t i = 0; i < p->nex; i++)
		if (p->ex[i].fate == PF_MARK) {
			TRY(ids_push(&m.packs, &m.npacks, &capp, p->ex[i].id));
			p->res->marked_bytes += p->ex[i].size;
		}
	for (size_t i = 0; i < p->ndicts; i++)
		if (p->dicts[i].fate == PF_MARK)
			TRY(ids_push(&m.dicts, &m.ndicts, &capd, p->dicts[i].id));
	p->res->marked_packs = m.npacks;
	p->res->marked_dicts = m.ndicts;
	if ((!m.npacks && !m.ndicts) || p->o->dry_run)
		goto out;
	m.time = repo_wall_now();
	m.grace = p->grace;
	TRY(mark_record_encode(&m, &pt));
	TRY(repo_object_save(p->r, OBJ_MARK, MAGIC_MARK, pt.p, pt.len, NULL));
	p->res->marked_at = m.time;
out:
	mark_record_free(&m);
	buf_free(&pt);
	return rc;
}

/* ---- 3. the sweep -------------------------------------------------------- */

static int remove_gone(struct pr *p, enum obj_type t, const char *name)
{
	int rc = backend_remove(p->r->be, t, name);
	return rc == CAIRN_E_NOTFOUND ? 0 : rc;
}

/* Copies the packs of f that stay into b; *kept counts them. */
static int sweep_copy(struct pr *p, struct ixb *b, const struct index_file *f,
		      size_t *kept)
{
	int rc = 0;
	for (size_t j = 0; j < f->npacks; j++) {
		const struct index_pack *src = &f->packs[j];
		uint8_t fate = pr_pack_fate(p, src->id);
		struct index_pack *ip;
		if (fate == PF_DELETE || fate == PF_DROP)
			continue;
		TRY(ixb_pack(b, src->id, src->type, src->n, &ip));
		for (size_t k = 0; k < src->n; k++) {
			ip->blobs[k] = src->blobs[k];
			uint32_t d = src->blobs[k].dict;
			ip->blobs[k].dict = 0;
			if (d && d <= f->ndicts)
				TRY(ixb_dict(b, f->dicts[d - 1], &ip->blobs[k].dict));
		}
		(*kept)++;
	}
out:
	return rc;
}

/* Replaces every index file that names a pack going away. */
static int sweep_index(struct pr *p)
{
	struct ixb b;
	struct buf pt = BUF_INIT;
	struct index_file f = {0};
	int rc = 0;
	memset(&b, 0, sizeof b);
	for (size_t i = 0; i < p->nix; i++) {
		if (!p->ix_rewrite[i])
			continue;
		uint8_t id[32];
		size_t kept = 0;
		TRY(repo_object_load(p->r, OBJ_INDEX, p->ixnames[i], MAGIC_INDEX,
				     &pt));
		TRY(index_file_decode(pt.p, pt.len, &f));
		TRY(sweep_copy(p, &b, &f, &kept));
		index_file_free(&f);
		/* named in the file that takes its last pack: every file
		 * before it is durable by then */
		if (kept && hex_decode(id, 32, p->ixnames[i]) == 0)
			TRY(ixb_supersede(&b, id));
		if (b.nblobs >= IXB_BLOBS_MAX)
			TRY(ixb_flush(p, &b));
	}
	TRY(ixb_flush(p, &b));
out:
	ixb_free(&b);
	index_file_free(&f);
	buf_free(&pt);
	return rc;
}

int pr_sweep(struct pr *p)
{
	struct prune_result *res = p->res;
	int rc = 0, work = 0;
	for (uint32_t n = 0; n < p->npk; n++)
		if (p->pk[n].fate == PF_DELETE) {
			res->deleted_packs++;
			res->deleted_bytes += p->pk[n].size;
		}
	for (size_t i = 0; i < p->nex; i++)
		if (p->ex[i].fate == PF_DELETE) {
			res->deleted_packs++;
			res->deleted_bytes += p->ex[i].size;
		}
	for (size_t i = 0; i < p->ndicts; i++)
		res->deleted_dicts += p->dicts[i].fate == PF_DELETE;
	for (size_t i = 0; i < p->nix; i++) {
		res->index_rewritten += p->ix_rewrite[i];
		res->index_superseded += p->ix_superseded[i];
		work |= p->ix_rewrite[i] | p->ix_superseded[i];
	}
	if (p->o->dry_run || (!work && !res->ripe_records &&
			      !res->deleted_packs && !res->deleted_dicts))
		return 0;

	/* replacements first, then what they replace */
	TRY(sweep_index(p));
	for (size_t i = 0; i < p->nix; i++)
		if (p->ix_rewrite[i] || p->ix_superseded[i])
			TRY(remove_gone(p, OBJ_INDEX, p->ixnames[i]));
	/* no index names them any more: the packs, then dictionaries */
	for (uint32_t n = 0; n < p->npk; n++) {
		if (p->pk[n].fate != PF_DELETE)
			continue;
		char hex[65];
		hex_encode(hex, index_pack_id(p->r->idx, n), 32);
		TRY(remove_gone(p, OBJ_PACK, hex));
	}
	for (size_t i = 0; i < p->nex; i++) {
		if (p->ex[i].fate != PF_DELETE)
			continue;
		char hex[65];
		hex_encode(hex, p->ex[i].id, 32);
		TRY(remove_gone(p, OBJ_PACK, hex));
	}
	for (size_t i = 0; i < p->ndicts; i++) {
		if (p->dicts[i].fate != PF_DELETE)
			continue;
		char hex[65];
		hex_encode(hex, p->dicts[i].id, 32);
		TRY(remove_gone(p, OBJ_DICT, hex));
	}
	/* last, the records whose work is done */
	for (size_t i = 0; i < p->r->marks.n; i++)
		if (p->t0 >= mark_record_ripe_at(&p->r->marks.v[i]))
			TRY(remove_gone(p, OBJ_MARK, p->r->marks.names[i]));
out:
	return rc;
}
