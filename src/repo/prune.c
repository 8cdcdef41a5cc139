/* prune.c: what prune reads and decides (docs/format.md section 13).
 *
 * Order matters for safety: the clock is read first, then the deletion
 * records, then the snapshots, then the index.  A backup writes its index
 * files before its snapshot, so every snapshot seen here has its index
 * seen too; a snapshot written after the listing belongs to a backup that
 * missed its commit deadline and withdraws it.
 *
 * Memory: the in-memory index (about 70 bytes per blob), one bit per blob
 * for "needed", about 40 bytes per pack, and one index file or tree at a
 * time.  Only index, snapshot and tree objects are read, never data packs
 * (except the few chosen for repacking).
 */
#include "prune_internal.h"
#include "pack.h"
#include "tree.h"

#include <stdlib.h>
#include <string.h>

#define PR_DEPTH_MAX 4096

_Static_assert(MARK_GRACE_MIN == PRUNE_GRACE_MIN, "one grace floor");

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

struct pr_extra *pr_extra_find(struct pr *p, const uint8_t id[32])
{
	return p->nex ? bsearch(id, p->ex, p->nex, sizeof *p->ex, id_cmp)
		      : NULL;
}

struct pr_dict *pr_dict_find(struct pr *p, const uint8_t id[32])
{
	return p->ndicts ? bsearch(id, p->dicts, p->ndicts, sizeof *p->dicts,
				   id_cmp)
			 : NULL;
}

uint8_t pr_pack_fate(struct pr *p, const uint8_t id[32])
{
	uint32_t n;
	if (index_pack_lookup(p->r->idx, id, &n) == 0 && n < p->npk)
		return p->pk[n].fate;
	return PF_KEEP;
}

static int pr_interrupted(struct pr *p)
{
	return p->o->interrupt && *p->o->interrupt ? CAIRN_E_INTERRUPTED : 0;
}

/* ---- what the snapshots need ------------------------------------------ */

static int pr_need(struct pr *p, const uint8_t id[32], uint8_t type,
		   const char *snap, int *was)
{
	struct blob_loc loc;
	size_t e;
	char hex[65];
	if (index_find(p->r->idx, id, &loc, &e) < 0 || loc.type != type) {
		hex_encode(hex, id, 32);
		repo_emit(p->o->on_event, p->o->event_ud, EV_ERROR, NULL,
			  CAIRN_E_CORRUPT,
			  "snapshot %.8s needs %s blob %s, which no index lists",
			  snap, type == BLOB_TREE ? "tree" : "data", hex);
		return CAIRN_E_CORRUPT;
	}
	*was = (p->ref[e >> 3] >> (e & 7)) & 1;
	p->ref[e >> 3] |= (uint8_t)(1u << (e & 7));
	return 0;
}

/* Marks a tree and everything under it as needed.  A tree already marked
 * was walked before (trees are shared between snapshots). */
static int pr_walk(struct pr *p, const uint8_t id[32], const char *snap,
		   int depth)
{
	struct tree t = {0};
	uint8_t (*subs)[32] = NULL;
	size_t nsubs = 0;
	int rc, was;
	if (depth > PR_DEPTH_MAX)
		return CAIRN_E_CORRUPT;
	TRY(pr_interrupted(p));
	TRY(pr_need(p, id, BLOB_TREE, snap, &was));
	if (was)
		return 0;
	TRY(repo_tree_load(p->r, id, &t));
	for (size_t i = 0; i < t.n; i++) {
		const struct tree_node *nd = &t.nodes[i];
		for (size_t k = 0; k < nd->ncontent; k++)
			TRY(pr_need(p, nd->content[k], BLOB_DATA, snap, &was));
		if (nd->has_subtree)
			nsubs++;
	}
	/* free the tree before descending: memory grows with depth only */
	if (nsubs && !(subs = malloc(nsubs * 32))) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	nsubs = 0;
	for (size_t i = 0; i < t.n; i++)
		if (t.nodes[i].has_subtree)
			memcpy(subs[nsubs++], t.nodes[i].subtree, 32);
	tree_free(&t);
	for (size_t i = 0; i < nsubs; i++)
		TRY(pr_walk(p, subs[i], snap, depth + 1));
out:
	tree_free(&t);
	free(subs);
	return rc;
}

/* ---- what the store holds --------------------------------------------- */

static int pr_list_pack(void *ud, const char *name, uint64_t size)
{
	struct pr *p = ud;
	uint8_t id[32];
	uint32_t n;
	if (hex_decode(id, 32, name) < 0)
		return 0;
	if (index_pack_lookup(p->r->idx, id, &n) == 0 && n < p->npk) {
		p->pk[n].size = size;
		p->pk[n].present = 1;
		return 0;
	}
	if (p->nex == p->capex) {
		size_t cap = p->capex ? p->capex * 2 : 64;
		void *q = realloc(p->ex, cap * sizeof *p->ex);
		if (!q)
			return CAIRN_E_NOMEM;
		p->ex = q;
		p->capex = cap;
	}
	struct pr_extra *x = &p->ex[p->nex++];
	memset(x, 0, sizeof *x);
	memcpy(x->id, id, 32);
	x->size = size;
	return 0;
}

static int pr_dict_add(struct pr *p, const uint8_t id[32])
{
	if (p->ndicts == p->capdicts) {
		size_t cap = p->capdicts ? p->capdicts * 2 : 16;
		void *q = realloc(p->dicts, cap * sizeof *p->dicts);
		if (!q)
			return CAIRN_E_NOMEM;
		p->dicts = q;
		p->capdicts = cap;
	}
	memset(&p->dicts[p->ndicts], 0, sizeof *p->dicts);
	memcpy(p->dicts[p->ndicts++].id, id, 32);
	return 0;
}

static int pr_list_dict(void *ud, const char *name, uint64_t size)
{
	struct pr *p = ud;
	uint8_t id[32];
	(void)size;
	if (hex_decode(id, 32, name) < 0)
		return 0;
	int rc = pr_dict_add(p, id);
	if (rc == 0)
		p->dicts[p->ndicts - 1].present = 1;
	return rc;
}

/* Dictionaries named by records but gone from the store are added too, so
 * that every record entry can be found; duplicates are merged. */
static int pr_dicts_finish(struct pr *p)
{
	int rc = 0;
	for (size_t i = 0; i < p->r->marks.n; i++)
		for (size_t j = 0; j < p->r->marks.v[i].ndicts; j++)
			TRY(pr_dict_add(p, p->r->marks.v[i].dicts[j]));
	if (p->ndicts)
		qsort(p->dicts, p->ndicts, sizeof *p->dicts, id_cmp);
	size_t k = 0;
	for (size_t i = 0; i < p->ndicts; i++) {
		if (k && !memcmp(p->dicts[k - 1].id, p->dicts[i].id, 32)) {
			p->dicts[k - 1].present |= p->dicts[i].present;
			continue;
		}
		p->dicts[k++] = p->dicts[i];
	}
	p->ndicts = k;
out:
	return rc;
}

/* Applies the deletion records: PR_RIPE for records whose grace period
 * has passed by t0, PR_PENDING for the others (ripe wins). */
static void pr_apply_records(struct pr *p)
{
	struct prune_result *res = p->res;
	for (size_t i = 0; i < p->r->marks.n; i++) {
		const struct mark_record *m = &p->r->marks.v[i];
		int ripe = p->t0 >= mark_record_ripe_at(m);
		uint8_t rec = ripe ? PR_RIPE : PR_PENDING;
		if (ripe)
			res->ripe_records++;
		else if (!res->next_ripe ||
			 mark_record_ripe_at(m) < res->next_ripe)
			res->next_ripe = mark_record_ripe_at(m);
		for (size_t j = 0; j < m->npacks; j++) {
			uint32_t n;
			uint8_t *slot = NULL;
			struct pr_extra *x;
			if (index_pack_lookup(p->r->idx, m->packs[j], &n) == 0 &&
			    n < p->npk)
				slot = &p->pk[n].rec;
			else if ((x = pr_extra_find(p, m->packs[j])))
				slot = &x->rec;
			if (slot && *slot != PR_RIPE)
				*slot = rec;
		}
		for (size_t j = 0; j < m->ndicts; j++) {
			struct pr_dict *d = pr_dict_find(p, m->dicts[j]);
			if (d && d->rec != PR_RIPE)
				d->rec = rec;
		}
	}
}

/* ---- decisions ------------------------------------------------------- */

struct acc_ctx {
	struct pr *p;
	size_t e;
};

static int pr_account(void *ud, const uint8_t id[32], const struct blob_loc *loc)
{
	struct acc_ctx *a = ud;
	struct pr *p = a->p;
	size_t e = a->e++;
	(void)id;
	if (loc->pack >= p->npk)
		return 0;
	struct pr_pack *k = &p->pk[loc->pack];
	if ((p->ref[e >> 3] >> (e & 7)) & 1) {
		k->used_bytes += loc->length;
		k->used_blobs++;
		p->res->blobs_used++;
	} else {
		k->unused_bytes += loc->length;
	}
	return 0;
}

struct pr_cand {
	double ratio;             /* unused bytes per byte of pack */
	uint32_t n;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct pr_cand *x = a, *y = b;
	/* most unused per byte first, then by number for a stable order */
	if (x->ratio != y->ratio)
		return x->ratio < y->ratio ? 1 : -1;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* Chooses partly used packs to repack, most wasteful first, until the
 * unused space left is within the limit or the repack budget is spent. */
static int pr_choose_repack(struct pr *p, uint64_t used, uint64_t unused)
{
	const struct prune_opts *o = p->o;
	uint64_t limit;
	if (o->max_unused_bytes)
		limit = o->max_unused_bytes;
	else if (o->max_unused_percent < 0)
		return 0;
	else if (o->max_unused_percent >= 100)
		return 0;
	else
		limit = (uint64_t)((double)used * o->max_unused_percent /
				   (100.0 - o->max_unused_percent));
	if (unused <= limit)
		return 0;
	struct pr_cand *c = malloc(((size_t)p->npk + 1) * sizeof *c);
	if (!c)
		return CAIRN_E_NOMEM;
	size_t nc = 0;
	for (uint32_t n = 0; n < p->npk; n++) {
		const struct pr_pack *k = &p->pk[n];
		if (k->fate == PF_KEEP && k->rec == PR_LIVE && k->present &&
		    k->used_blobs && k->unused_bytes && k->size) {
			c[nc].ratio = (double)k->unused_bytes / (double)k->size;
			c[nc++].n = n;
		}
	}
	qsort(c, nc, sizeof *c, cmp_cand);
	uint64_t budget = 0;
	for (size_t i = 0; i < nc && unused > limit; i++) {
		struct pr_pack *k = &p->pk[c[i].n];
		if (o->max_repack_bytes && budget + k->size > o->max_repack_bytes)
			continue;
		budget += k->size;
		unused -= k->unused_bytes;
		k->fate = PF_REPACK;
	}
	free(c);
	return 0;
}

static int pr_decide_packs(struct pr *p)
{
	struct prune_result *res = p->res;
	uint64_t used = 0, unused = 0;
	char hex[65];
	for (uint32_t n = 0; n < p->npk; n++) {
		struct pr_pack *k = &p->pk[n];
		if (k->present) {
			res->packs++;
			res->packs_bytes += k->size;
		}
		if (!k->used_blobs) {
			if (k->present) {
				res->unused_packs++;
				res->unused_packs_bytes += k->size;
			}
		} else {
			used += k->used_bytes;
			unused += k->unused_bytes;
		}
		if (k->rec == PR_RIPE) {
			if (k->used_blobs)
				res->revived_packs++;
			else
				k->fate = k->present ? PF_DELETE : PF_DROP;
		} else if (k->rec == PR_PENDING) {
			if (k->present) {
				res->pending_packs++;
				res->pending_bytes += k->size;
			}
		} else if (!k->present) {
			if (k->used_blobs) {
				hex_encode(hex, index_pack_id(p->r->idx, n), 32);
				repo_emit(p->o->on_event, p->o->event_ud, EV_ERROR,
					  NULL, CAIRN_E_CORRUPT,
					  "pack %s holds data snapshots need and "
					  "is missing from the store", hex);
				return CAIRN_E_CORRUPT;
			}
			k->fate = PF_DROP;
		} else if (!k->used_blobs) {
			k->fate = PF_MARK;
		}
	}
	for (size_t i = 0; i < p->nex; i++) {
		struct pr_extra *x = &p->ex[i];
		res->packs++;
		res->packs_bytes += x->size;
		res->unused_packs++;
		res->unused_packs_bytes += x->size;
		res->unindexed_packs++;
		if (x->rec == PR_RIPE)
			x->fate = PF_DELETE;
		else if (x->rec == PR_PENDING) {
			res->pending_packs++;
			res->pending_bytes += x->size;
		} else
			x->fate = PF_MARK;
	}
	res->used_bytes = used;
	res->unused_bytes = unused;
	res->reclaimable_bytes = res->unused_packs_bytes + unused;
	return pr_choose_repack(p, used, unused);
}

/* One pass over the index files: which name a pack that goes away (to be
 * rewritten), which are superseded by another (left by an interrupted
 * sweep), and which dictionaries the entries that stay still need. */
static int pr_index_pass(struct pr *p)
{
	struct buf pt = BUF_INIT;
	struct index_file f = {0};
	uint8_t (*sup)[32] = NULL;
	size_t nsup = 0, capsup = 0;
	int rc;
	TRY(repo_list_names(p->r, OBJ_INDEX, &p->ixnames, &p->nix));
	p->ix_rewrite = calloc(p->nix + 1, 1);
	p->ix_superseded = calloc(p->nix + 1, 1);
	if (!p->ix_rewrite || !p->ix_superseded) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->nix; i++) {
		TRY(pr_interrupted(p));
		rc = repo_object_load(p->r, OBJ_INDEX, p->ixnames[i], MAGIC_INDEX,
				      &pt);
		if (rc == 0)
			rc = index_file_decode(pt.p, pt.len, &f);
		if (rc < 0) {
			repo_emit(p->o->on_event, p->o->event_ud, EV_ERROR, NULL,
				  rc, "index %s: %s", p->ixnames[i],
				  cairn_strerror(rc));
			goto out;
		}
		for (size_t j = 0; j < f.nsupersedes; j++) {
			if (nsup == capsup) {
				capsup = capsup ? capsup * 2 : 16;
				void *q = realloc(sup, capsup * 32);
				if (!q) {
					rc = CAIRN_E_NOMEM;
					goto out;
				}
				sup = q;
			}
			memcpy(sup[nsup++], f.supersedes[j], 32);
		}
		for (size_t j = 0; j < f.npacks; j++) {
			const struct index_pack *ip = &f.packs[j];
			uint32_t n;
			int known = index_pack_lookup(p->r->idx, ip->id, &n) == 0 &&
				    n < p->npk;
			uint8_t fate = known ? p->pk[n].fate : PF_KEEP;
			if (fate == PF_DELETE || fate == PF_DROP) {
				p->ix_rewrite[i] = 1;
				continue;
			}
			int goes = known && (fate == PF_MARK ||
					     p->pk[n].rec == PR_PENDING);
			for (size_t b = 0; b < ip->n; b++) {
				uint32_t d = ip->blobs[b].dict;
				struct pr_dict *pd =
					d && d <= f.ndicts
						? pr_dict_find(p, f.dicts[d - 1])
						: NULL;
				if (!pd)
					continue;
				pd->needed_after = 1;
				if (!goes)
					pd->needed_now = 1;
			}
		}
		index_file_free(&f);
	}
	if (nsup) {
		qsort(sup, nsup, 32, id_cmp);
		for (size_t i = 0; i < p->nix; i++) {
			uint8_t id[32];
			if (hex_decode(id, 32, p->ixnames[i]) == 0 &&
			    bsearch(id, sup, nsup, 32, id_cmp)) {
				p->ix_superseded[i] = 1;
				p->ix_rewrite[i] = 0;
			}
		}
	}
	rc = 0;
out:
	index_file_free(&f);
	buf_free(&pt);
	free(sup);
	return rc;
}

static void pr_decide_dicts(struct pr *p)
{
	struct prune_result *res = p->res;
	for (size_t i = 0; i < p->ndicts; i++) {
		struct pr_dict *d = &p->dicts[i];
		if (!d->present)
			continue;
		if (d->rec == PR_RIPE) {
			if (d->needed_after)
				res->revived_dicts++;
			else
				d->fate = PF_DELETE;
		} else if (d->rec == PR_LIVE && !d->needed_now) {
			d->fate = PF_MARK;
		}
	}
}

/* ---- the driver -------------------------------------------------------- */

static void pr_free(struct pr *p)
{
	free(p->ref);
	free(p->pk);
	free(p->ex);
	free(p->dicts);
	free(p->ixnames);
	free(p->ix_rewrite);
	free(p->ix_superseded);
}

int repo_prune(struct repo *r, const struct prune_opts *o,
	       struct prune_result *res)
{
	struct pr p;
	struct snapshot *snaps = NULL;
	size_t nsnaps = 0;
	int rc;
	memset(&p, 0, sizeof p);
	memset(res, 0, sizeof *res);
	p.r = r;
	p.o = o;
	p.res = res;
	p.grace = o->grace ? o->grace : MARK_GRACE_DEFAULT;
	if (p.grace < MARK_GRACE_MIN || p.grace > MARK_GRACE_MAX)
		return CAIRN_E_INVAL;
	if (!(r->keys->flags & MASTER_FLAG_FULL))
		return CAIRN_E_UNSUPPORTED;
	res->grace = p.grace;

	/* a replicated repository must be seen whole: a store left out of a
	 * listing could hold a snapshot the others lack */
	size_t list_failures = backend_list_failures_total(r->be);

	/* clock, records, snapshots, index: in this order (see the top) */
	TRY(repo_index_reset(r));
	p.t0 = repo_wall_now();
	TRY(repo_marks_load(r, o->on_event, o->event_ud));
	TRY(repo_snapshots_list(r, NULL, &snaps, &nsnaps));
	if (repo_snapshots_skipped(r)) {
		repo_emit(o->on_event, o->event_ud, EV_ERROR, NULL,
			  CAIRN_E_CORRUPT,
			  "%zu snapshot files cannot be read; prune would not "
			  "know what they need (run check)",
			  repo_snapshots_skipped(r));
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	res->snapshots = nsnaps;
	TRY(repo_index_load(r, o->on_event, o->event_ud));

	size_t nblobs = index_blob_count(r->idx);
	res->blobs = nblobs;
	p.npk = index_pack_count(r->idx);
	p.ref = calloc(nblobs / 8 + 1, 1);
	p.pk = calloc((size_t)p.npk + 1, sizeof *p.pk);
	if (!p.ref || !p.pk) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nsnaps; i++) {
		char hex[65];
		hex_encode(hex, snaps[i].id, 32);
		TRY(pr_walk(&p, snaps[i].tree, hex, 0));
	}
	repo_snapshots_free(snaps, nsnaps);
	snaps = NULL;

	TRY(backend_list(r->be, OBJ_PACK, pr_list_pack, &p));
	if (p.nex)
		qsort(p.ex, p.nex, sizeof *p.ex, id_cmp);
	TRY(backend_list(r->be, OBJ_DICT, pr_list_dict, &p));
	TRY(pr_dicts_finish(&p));
	if (backend_list_failures_total(r->be) != list_failures) {
		repo_emit(o->on_event, o->event_ud, EV_ERROR, NULL,
			  CAIRN_E_IO,
			  "a store of the repository could not be listed; "
			  "prune needs every store (run check --replicas)");
		rc = CAIRN_E_IO;
		goto out;
	}
	pr_apply_records(&p);
	struct acc_ctx acc = {&p, 0};
	TRY(index_foreach(r->idx, pr_account, &acc));
	TRY(pr_decide_packs(&p));
	TRY(pr_index_pass(&p));
	pr_decide_dicts(&p);
	TRY(pr_interrupted(&p));

	/* repack, record, sweep: each step leaves a whole repository */
	TRY(pr_repack(&p));
	TRY(pr_record_write(&p));
	TRY(pr_sweep(&p));
out:
	repo_snapshots_free(snaps, nsnaps);
	pr_free(&p);
	return rc;
}
