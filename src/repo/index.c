/* index.c: index files (docs/format.md section 8) and the in-memory index.
 *
 * The in-memory index keeps blob locations in a dense array of 52-byte
 * entries, in insertion order, and finds them through an open-addressing
 * table (linear probing, power-of-two size, grown by doubling at load 0.7)
 * of 8-byte slots: entry number + 1 in the low half (0 = empty), a 32-bit
 * tag of the id in the high half, so that a probe rarely touches an entry
 * that does not match.  Blob ids are keyed hashes, uniformly distributed,
 * so the first 8 bytes serve as the hash.  Memory: 48 bytes per entry
 * plus 8 per slot, with growth slack 64-104 bytes per blob (about 70 at a
 * million).
 *
 * Pack numbers and the pack type share one u32 (type in the top bit), so
 * at most 2^31 - 1 packs; offsets and lengths are u32 (packs stay below
 * 4 GiB: target at most 1 GiB plus one blob), larger values are refused
 * with CAIRN_E_RANGE.
 */
#include "index.h"
#include "blob.h"
#include "cairn_err.h"
#include "pack.h"

#include <stdlib.h>
#include <string.h>

#define INDEX_VERSION 1
/* Smallest encodings: a blob entry (id + four 1-byte varints) and a pack
 * with one blob (id, type, count, entry). */
#define IX_BLOB_MIN (32 + 4)
#define IX_PACK_MIN (32 + 1 + 1 + IX_BLOB_MIN)

static uint64_t raw_max(uint8_t type)
{
	return type == BLOB_TREE ? TREE_RAW_MAX : BLOB_RAW_MAX;
}

/* ---- file codec -------------------------------------------------------- */

int index_file_encode(const struct index_file *f, struct buf *out)
{
	const size_t start = out->len;
	int rc;

	TRY(buf_put_u8(out, INDEX_VERSION));
	TRY(buf_put_varint(out, f->nsupersedes));
	for (size_t i = 0; i < f->nsupersedes; i++)
		TRY(buf_put(out, f->supersedes[i], 32));
	TRY(buf_put_varint(out, f->ndicts));
	for (size_t i = 0; i < f->ndicts; i++)
		TRY(buf_put(out, f->dicts[i], 32));
	TRY(buf_put_varint(out, f->npacks));
	for (size_t i = 0; i < f->npacks; i++) {
		const struct index_pack *p = &f->packs[i];
		if (p->type > BLOB_TREE || p->n < 1 || p->n > PACK_MAX_BLOBS) {
			rc = CAIRN_E_INVAL;
			goto out;
		}
		TRY(buf_put(out, p->id, 32));
		TRY(buf_put_u8(out, p->type));
		TRY(buf_put_varint(out, p->n));
		for (size_t j = 0; j < p->n; j++) {
			const struct index_blob *b = &p->blobs[j];
			TRY(buf_put(out, b->id, 32));
			TRY(buf_put_varint(out, b->offset));
			TRY(buf_put_varint(out, b->length));
			TRY(buf_put_varint(out, b->raw_length));
			if (b->dict > f->ndicts) {
				rc = CAIRN_E_INVAL;
				goto out;
			}
			TRY(buf_put_varint(out, b->dict));
		}
	}
out:
	if (rc < 0)
		out->len = start;
	return rc;
}

static int index_pack_decode(struct rd *r, struct index_pack *p,
			     size_t ndicts)
{
	rd_bytes(r, p->id, 32);
	p->type = rd_u8(r);
	uint64_t n = rd_varint(r);
	if (r->err || p->type > BLOB_TREE || n < 1 || n > PACK_MAX_BLOBS ||
	    n > rd_left(r) / IX_BLOB_MIN)
		return CAIRN_E_CORRUPT;
	p->blobs = calloc((size_t)n, sizeof *p->blobs);
	if (!p->blobs)
		return CAIRN_E_NOMEM;
	p->n = (size_t)n;
	for (size_t i = 0; i < p->n; i++) {
		struct index_blob *b = &p->blobs[i];
		rd_bytes(r, b->id, 32);
		b->offset = rd_varint(r);
		b->length = rd_varint(r);
		b->raw_length = rd_varint(r);
		uint64_t d = rd_varint(r);
		if (r->err || d > ndicts || (d && p->type != BLOB_DATA))
			return CAIRN_E_CORRUPT;
		b->dict = (uint32_t)d;
		if (b->length < BLOB_OVERHEAD ||
		    b->length - BLOB_OVERHEAD > raw_max(p->type) ||
		    b->raw_length > raw_max(p->type) ||
		    b->offset > UINT64_MAX - b->length)
			return CAIRN_E_CORRUPT;
	}
	return 0;
}

int index_file_decode(const void *p, size_t n, struct index_file *ret)
{
	struct index_file f = {0};
	struct rd r;
	int rc;

	rd_init(&r, p, n);
	uint8_t version = rd_u8(&r);
	if (r.err) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (version != INDEX_VERSION) {
		rc = CAIRN_E_UNSUPPORTED;
		goto out;
	}
	uint64_t s = rd_varint(&r);
	if (r.err || s > rd_left(&r) / 32) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (s) {
		f.supersedes = malloc((size_t)s * 32);
		if (!f.supersedes) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		f.nsupersedes = (size_t)s;
		rd_bytes(&r, f.supersedes, (size_t)s * 32);
	}
	uint64_t nd = rd_varint(&r);
	if (r.err || nd > rd_left(&r) / 32) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (nd) {
		f.dicts = malloc((size_t)nd * 32);
		if (!f.dicts) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		f.ndicts = (size_t)nd;
		rd_bytes(&r, f.dicts, (size_t)nd * 32);
	}
	uint64_t np = rd_varint(&r);
	if (r.err || np > rd_left(&r) / IX_PACK_MIN) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (np) {
		f.packs = calloc((size_t)np, sizeof *f.packs);
		if (!f.packs) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		f.npacks = (size_t)np;
	}
	for (size_t i = 0; i < f.npacks; i++)
		TRY(index_pack_decode(&r, &f.packs[i], f.ndicts));
	if (r.err || rd_left(&r) != 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	*ret = f;
	memset(&f, 0, sizeof f);
	rc = 0;
out:
	index_file_free(&f);
	return rc;
}

void index_file_free(struct index_file *f)
{
	if (f->packs) {
		for (size_t i = 0; i < f->npacks; i++)
			free(f->packs[i].blobs);
	}
	free(f->packs);
	free(f->supersedes);
	free(f->dicts);
	memset(f, 0, sizeof *f);
}

/* Field-by-field equality of two decoded index files (tests, fuzzing). */
int index_file_equal(const struct index_file *a, const struct index_file *b)
{
	if (a->nsupersedes != b->nsupersedes || a->npacks != b->npacks ||
	    a->ndicts != b->ndicts)
		return 0;
	if (a->ndicts && memcmp(a->dicts, b->dicts, 32 * a->ndicts) != 0)
		return 0;
	if (a->nsupersedes &&
	    memcmp(a->supersedes, b->supersedes, 32 * a->nsupersedes) != 0)
		return 0;
	for (size_t i = 0; i < a->npacks; i++) {
		const struct index_pack *x = &a->packs[i], *y = &b->packs[i];
		if (memcmp(x->id, y->id, 32) || x->type != y->type ||
		    x->n != y->n)
			return 0;
		for (size_t j = 0; j < x->n; j++) {
			const struct index_blob *u = &x->blobs[j];
			const struct index_blob *v = &y->blobs[j];
			if (memcmp(u->id, v->id, 32) || u->offset != v->offset ||
			    u->length != v->length ||
			    u->raw_length != v->raw_length || u->dict != v->dict)
				return 0;
		}
	}
	return 1;
}

/* ---- in-memory index --------------------------------------------------- */

struct ix_entry {
	uint8_t id[32];
	uint32_t pack_type;     /* pack number | type << 31 */
	uint32_t offset, length, raw_length;
	uint32_t dict;          /* 0 none, else dictionary number + 1 */
};

struct ix_pack {
	uint8_t id[32];
	uint8_t type;
};

struct index {
	struct ix_entry *e;     /* dense, insertion order */
	size_t n, cap;
	uint64_t *slot;         /* (entry + 1) | tag << 32; 0 = empty */
	size_t nslot;           /* power of two */

	struct ix_pack *packs;
	uint32_t npacks, capp;

	uint8_t *avoid;         /* per pack number: 1 = awaiting deletion */
	uint32_t navoid;
	uint8_t (*avoid_ids)[32];  /* named before being registered */
	size_t navoid_ids, capavoid_ids;
	int avoid_sorted;

	uint8_t (*dicts)[32];   /* few: one per backup run at most */
	uint32_t ndicts;
	uint32_t *pslot;        /* pack number + 1; 0 = empty */
	size_t npslot;
};

#define IX_PACK_LIMIT 0x7fffffffu
#define IX_TYPE_BIT 0x80000000u

static uint64_t ix_hash(const uint8_t id[32]) { return get_le64(id); }

/* The load factor limit, 0.7, in integers. */
static int ix_too_full(size_t used, size_t nslot)
{
	return (uint64_t)used * 10 > (uint64_t)nslot * 7;
}

int index_new(struct index **ret)
{
	struct index *x = calloc(1, sizeof *x);
	if (!x)
		return CAIRN_E_NOMEM;
	*ret = x;
	return 0;
}

void index_free(struct index *x)
{
	if (!x)
		return;
	free(x->e);
	free(x->slot);
	free(x->packs);
	free(x->pslot);
	free(x->dicts);
	free(x->avoid);
	free(x->avoid_ids);
	free(x);
}

int index_dict_add(struct index *x, const uint8_t id[32], uint32_t *ret)
{
	for (uint32_t i = 0; i < x->ndicts; i++)
		if (!memcmp(x->dicts[i], id, 32)) {
			*ret = i;
			return 0;
		}
	if (x->ndicts >= IX_PACK_LIMIT)
		return CAIRN_E_RANGE;
	void *p = realloc(x->dicts, ((size_t)x->ndicts + 1) * 32);
	if (!p)
		return CAIRN_E_NOMEM;
	x->dicts = p;
	memcpy(x->dicts[x->ndicts], id, 32);
	*ret = x->ndicts++;
	return 0;
}

const uint8_t *index_dict_id(const struct index *x, uint32_t n)
{
	return n < x->ndicts ? x->dicts[n] : NULL;
}

uint32_t index_dict_count(const struct index *x) { return x->ndicts; }

/* Returns the slot holding id, or the empty slot where it would go. */
static size_t ix_find(const struct index *x, const uint8_t id[32])
{
	const uint64_t h = ix_hash(id);
	const uint32_t tag = (uint32_t)(h >> 32);
	const size_t mask = x->nslot - 1;
	size_t i = (size_t)h & mask;
	for (;;) {
		uint64_t s = x->slot[i];
		if (s == 0)
			return i;
		if ((uint32_t)(s >> 32) == tag &&
		    memcmp(x->e[(uint32_t)s - 1].id, id, 32) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static int ix_grow_slots(struct index *x)
{
	size_t nslot = x->nslot ? x->nslot * 2 : 1024;
	if (nslot > SIZE_MAX / sizeof(uint64_t) || nslot < x->nslot)
		return CAIRN_E_NOMEM;
	uint64_t *slot = calloc(nslot, sizeof *slot);
	if (!slot)
		return CAIRN_E_NOMEM;
	const size_t mask = nslot - 1;
	for (size_t k = 0; k < x->n; k++) {
		uint64_t h = ix_hash(x->e[k].id);
		size_t i = (size_t)h & mask;
		while (slot[i])
			i = (i + 1) & mask;
		slot[i] = (uint64_t)(k + 1) | (h >> 32) << 32;
	}
	free(x->slot);
	x->slot = slot;
	x->nslot = nslot;
	return 0;
}

static int ix_grow_entries(struct index *x)
{
	/* 1.5x: less slack than doubling in the biggest array */
	size_t cap = x->cap ? x->cap + x->cap / 2 : 1024;
	if (cap > (size_t)UINT32_MAX - 1)
		cap = (size_t)UINT32_MAX - 1;
	if (cap <= x->cap || cap > SIZE_MAX / sizeof(struct ix_entry))
		return CAIRN_E_RANGE;
	struct ix_entry *e = realloc(x->e, cap * sizeof *e);
	if (!e)
		return CAIRN_E_NOMEM;
	x->e = e;
	x->cap = cap;
	return 0;
}

/* Pack table: the same scheme, slots are pack number + 1. */
static size_t ix_pack_find(const struct index *x, const uint8_t id[32])
{
	const size_t mask = x->npslot - 1;
	size_t i = (size_t)ix_hash(id) & mask;
	for (;;) {
		uint32_t s = x->pslot[i];
		if (s == 0 || memcmp(x->packs[s - 1].id, id, 32) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static int ix_pack_grow(struct index *x)
{
	size_t nslot = x->npslot ? x->npslot * 2 : 64;
	uint32_t *slot = calloc(nslot, sizeof *slot);
	if (!slot)
		return CAIRN_E_NOMEM;
	const size_t mask = nslot - 1;
	for (uint32_t k = 0; k < x->npacks; k++) {
		size_t i = (size_t)ix_hash(x->packs[k].id) & mask;
		while (slot[i])
			i = (i + 1) & mask;
		slot[i] = k + 1;
	}
	free(x->pslot);
	x->pslot = slot;
	x->npslot = nslot;
	return 0;
}

/* Sets the avoid bit of pack number n. */
static int ix_avoid_set(struct index *x, uint32_t n)
{
	if (n >= x->navoid) {
		uint32_t cap = x->navoid ? x->navoid : 64;
		while (cap <= n)
			cap *= 2;
		uint8_t *p = realloc(x->avoid, cap);
		if (!p)
			return CAIRN_E_NOMEM;
		memset(p + x->navoid, 0, cap - x->navoid);
		x->avoid = p;
		x->navoid = cap;
	}
	x->avoid[n] = 1;
	return 0;
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

/* 1 when pack_id was named by index_pack_avoid before it was registered. */
static int ix_avoid_pending(struct index *x, const uint8_t pack_id[32])
{
	if (!x->navoid_ids)
		return 0;
	if (!x->avoid_sorted) {
		qsort(x->avoid_ids, x->navoid_ids, 32, id_cmp);
		x->avoid_sorted = 1;
	}
	return bsearch(pack_id, x->avoid_ids, x->navoid_ids, 32, id_cmp) != NULL;
}

int index_pack_add(struct index *x, const uint8_t pack_id[32], uint8_t type,
		   uint32_t *ret)
{
	int rc;

	if (type > BLOB_TREE)
		return CAIRN_E_INVAL;
	if (x->npslot == 0 || ix_too_full((size_t)x->npacks + 1, x->npslot))
		TRY(ix_pack_grow(x));
	size_t i = ix_pack_find(x, pack_id);
	if (x->pslot[i]) {
		uint32_t k = x->pslot[i] - 1;
		/* a pack's type is part of what its name hashes */
		if (x->packs[k].type != type)
			return CAIRN_E_CORRUPT;
		*ret = k;
		return 0;
	}
	if (x->npacks >= IX_PACK_LIMIT)
		return CAIRN_E_RANGE;
	if (x->npacks == x->capp) {
		uint32_t cap = x->capp ? x->capp * 2 : 64;
		if (cap > IX_PACK_LIMIT)
			cap = IX_PACK_LIMIT;
		struct ix_pack *p = realloc(x->packs, (size_t)cap * sizeof *p);
		if (!p)
			return CAIRN_E_NOMEM;
		x->packs = p;
		x->capp = cap;
	}
	if (ix_avoid_pending(x, pack_id))
		TRY(ix_avoid_set(x, x->npacks));
	memcpy(x->packs[x->npacks].id, pack_id, 32);
	x->packs[x->npacks].type = type;
	x->pslot[i] = x->npacks + 1;
	*ret = x->npacks++;
	rc = 0;
out:
	return rc;
}

/* Checks that loc can be stored compactly.  The pack number need not be
 * registered: a caller may keep a set of ids with placeholder locations. */
static int ix_loc_check(const struct blob_loc *loc)
{
	if (loc->type > BLOB_TREE)
		return CAIRN_E_INVAL;
	if (loc->pack > IX_PACK_LIMIT || loc->offset > UINT32_MAX ||
	    loc->length > UINT32_MAX ||
	    loc->raw_length > UINT32_MAX ||
	    loc->offset + loc->length > UINT32_MAX)
		return CAIRN_E_RANGE;
	return 0;
}

int index_blob_add(struct index *x, const uint8_t id[32],
		   const struct blob_loc *loc)
{
	int rc;

	TRY(ix_loc_check(loc));
	if (x->nslot == 0 || ix_too_full(x->n + 1, x->nslot))
		TRY(ix_grow_slots(x));
	size_t i = ix_find(x, id);
	if (x->slot[i]) {
		/* a copy in a pack awaiting deletion gives way to a live one */
		struct ix_entry *old = &x->e[(uint32_t)x->slot[i] - 1];
		if (index_pack_avoided(x, old->pack_type & ~IX_TYPE_BIT) &&
		    loc->pack < x->npacks && !index_pack_avoided(x, loc->pack)) {
			old->pack_type =
				loc->pack | (loc->type ? IX_TYPE_BIT : 0);
			old->offset = (uint32_t)loc->offset;
			old->length = (uint32_t)loc->length;
			old->raw_length = (uint32_t)loc->raw_length;
			old->dict = loc->dict;
		}
		return 0;
	}
	if (x->n == x->cap)
		TRY(ix_grow_entries(x));
	struct ix_entry *e = &x->e[x->n];
	memcpy(e->id, id, 32);
	e->pack_type = loc->pack | (loc->type ? IX_TYPE_BIT : 0);
	e->offset = (uint32_t)loc->offset;
	e->length = (uint32_t)loc->length;
	e->raw_length = (uint32_t)loc->raw_length;
	e->dict = loc->dict;
	x->slot[i] = (uint64_t)(x->n + 1) | (ix_hash(id) >> 32) << 32;
	x->n++;
	rc = 0;
out:
	return rc;
}

int index_merge_file(struct index *x, const struct index_file *f)
{
	int rc = 0;

	/* refuse out-of-range files before changing anything */
	for (size_t i = 0; i < f->npacks; i++) {
		const struct index_pack *p = &f->packs[i];
		if (p->type > BLOB_TREE)
			return CAIRN_E_INVAL;
		for (size_t j = 0; j < p->n; j++) {
			const struct index_blob *b = &p->blobs[j];
			if (b->offset > UINT32_MAX || b->length > UINT32_MAX ||
			    b->raw_length > UINT32_MAX ||
			    b->offset + b->length > UINT32_MAX)
				return CAIRN_E_RANGE;
		}
	}
	uint32_t *dmap = NULL;
	if (f->ndicts) {
		dmap = calloc(f->ndicts, sizeof *dmap);
		if (!dmap)
			return CAIRN_E_NOMEM;
		for (size_t i = 0; i < f->ndicts; i++) {
			TRY(index_dict_add(x, f->dicts[i], &dmap[i]));
		}
	}
	for (size_t i = 0; i < f->npacks; i++) {
		const struct index_pack *p = &f->packs[i];
		struct blob_loc loc = {.type = p->type};
		TRY(index_pack_add(x, p->id, p->type, &loc.pack));
		for (size_t j = 0; j < p->n; j++) {
			uint32_t d = p->blobs[j].dict;
			if (d > f->ndicts) {
				rc = CAIRN_E_INVAL;
				goto out;
			}
			loc.offset = p->blobs[j].offset;
			loc.length = p->blobs[j].length;
			loc.raw_length = p->blobs[j].raw_length;
			loc.dict = d ? dmap[d - 1] + 1 : 0;
			TRY(index_blob_add(x, p->blobs[j].id, &loc));
		}
	}
out:
	free(dmap);
	return rc;
}

static void ix_loc(const struct ix_entry *e, struct blob_loc *loc)
{
	loc->pack = e->pack_type & ~IX_TYPE_BIT;
	loc->type = (e->pack_type & IX_TYPE_BIT) ? BLOB_TREE : BLOB_DATA;
	loc->offset = e->offset;
	loc->length = e->length;
	loc->raw_length = e->raw_length;
	loc->dict = e->dict;
}

int index_lookup(const struct index *x, const uint8_t id[32],
		 struct blob_loc *ret)
{
	if (x->n == 0)
		return CAIRN_E_NOTFOUND;
	uint64_t s = x->slot[ix_find(x, id)];
	if (s == 0)
		return CAIRN_E_NOTFOUND;
	ix_loc(&x->e[(uint32_t)s - 1], ret);
	return 0;
}

int index_find(const struct index *x, const uint8_t id[32],
	       struct blob_loc *ret, size_t *ret_entry)
{
	if (x->n == 0)
		return CAIRN_E_NOTFOUND;
	uint64_t s = x->slot[ix_find(x, id)];
	if (s == 0)
		return CAIRN_E_NOTFOUND;
	if (ret)
		ix_loc(&x->e[(uint32_t)s - 1], ret);
	*ret_entry = (uint32_t)s - 1;
	return 0;
}

int index_entry_get(const struct index *x, size_t e, uint8_t id[32],
		    struct blob_loc *loc)
{
	if (e >= x->n)
		return CAIRN_E_NOTFOUND;
	memcpy(id, x->e[e].id, 32);
	ix_loc(&x->e[e], loc);
	return 0;
}

int index_pack_lookup(const struct index *x, const uint8_t pack_id[32],
		      uint32_t *ret)
{
	if (x->npslot == 0)
		return CAIRN_E_NOTFOUND;
	uint32_t s = x->pslot[ix_pack_find(x, pack_id)];
	if (s == 0)
		return CAIRN_E_NOTFOUND;
	*ret = s - 1;
	return 0;
}

int index_pack_avoid(struct index *x, const uint8_t pack_id[32])
{
	uint32_t n;
	if (index_pack_lookup(x, pack_id, &n) == 0)
		return ix_avoid_set(x, n);
	if (x->navoid_ids == x->capavoid_ids) {
		size_t cap = x->capavoid_ids ? x->capavoid_ids * 2 : 64;
		void *p = realloc(x->avoid_ids, cap * 32);
		if (!p)
			return CAIRN_E_NOMEM;
		x->avoid_ids = p;
		x->capavoid_ids = cap;
	}
	memcpy(x->avoid_ids[x->navoid_ids++], pack_id, 32);
	x->avoid_sorted = 0;
	return 0;
}

int index_pack_avoided(const struct index *x, uint32_t n)
{
	return n < x->navoid && x->avoid[n];
}

int index_has(const struct index *x, const uint8_t id[32])
{
	return x->n != 0 && x->slot[ix_find(x, id)] != 0;
}

const uint8_t *index_pack_id(const struct index *x, uint32_t n)
{
	return n < x->npacks ? x->packs[n].id : NULL;
}

uint8_t index_pack_type(const struct index *x, uint32_t n)
{
	return n < x->npacks ? x->packs[n].type : 0xff;
}

uint32_t index_pack_count(const struct index *x) { return x->npacks; }

size_t index_blob_count(const struct index *x) { return x->n; }

int index_foreach(const struct index *x,
		  int (*fn)(void *ud, const uint8_t id[32],
			    const struct blob_loc *loc),
		  void *ud)
{
	for (size_t i = 0; i < x->n; i++) {
		struct blob_loc loc;
		ix_loc(&x->e[i], &loc);
		int rc = fn(ud, x->e[i].id, &loc);
		if (rc < 0)
			return rc;
	}
	return 0;
}
