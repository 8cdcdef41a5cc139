/* test_index.c: index files (format.md 8) and the in-memory index.
 *
 * Golden vector index_v1.bin is the plaintext of golden_file() below: it
 * supersedes one index file (id 0xaa repeated) and names two packs, a data
 * pack (id bytes 0x10..0x2f) of two blobs and a tree pack (id 0x30..0x4f)
 * of one; blob ids are bytes 0x50.., 0x70.., 0x90.. counting up.
 * Regenerate with CAIRN_REGEN_VECTORS=1.
 */
#include "blob.h"
#include "cairn_err.h"
#include "index.h"
#include "pack.h"
#include "testutil.h"

#include <string.h>
#include <time.h>

static uint64_t rng;

static void fill_seq(uint8_t id[32], uint8_t start)
{
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)(start + i);
}

/* The golden file's structure; arrays are static. */
static void golden_file(struct index_file *f)
{
	static uint8_t sup[1][32], dicts[1][32];
	static struct index_blob b0[2], b1[1];
	static struct index_pack p[2];

	memset(sup, 0xaa, sizeof sup);
	memset(dicts, 0xdd, sizeof dicts);
	memset(b0, 0, sizeof b0);
	memset(b1, 0, sizeof b1);
	memset(p, 0, sizeof p);
	fill_seq(p[0].id, 0x10);
	p[0].type = BLOB_DATA;
	p[0].n = 2;
	p[0].blobs = b0;
	fill_seq(b0[0].id, 0x50);
	b0[0].offset = 0;
	b0[0].length = 1041;
	b0[0].raw_length = 1000000;
	b0[0].dict = 1;
	fill_seq(b0[1].id, 0x70);
	b0[1].offset = 1041;
	b0[1].length = 41;
	b0[1].raw_length = 0;
	fill_seq(p[1].id, 0x30);
	p[1].type = BLOB_TREE;
	p[1].n = 1;
	p[1].blobs = b1;
	fill_seq(b1[0].id, 0x90);
	b1[0].offset = 0;
	b1[0].length = 200;
	b1[0].raw_length = 159;
	f->nsupersedes = 1;
	f->supersedes = sup;
	f->ndicts = 1;
	f->dicts = dicts;
	f->npacks = 2;
	f->packs = p;
}


static void test_golden(void)
{
	struct index_file g, d;
	struct buf enc = BUF_INIT;
	size_t flen = 0;

	golden_file(&g);
	CHECK_RC(index_file_encode(&g, &enc), 0);
	uint8_t *file = test_golden_vector("index_v1.bin", enc.p, enc.len, &flen);
	if (file) {
		CHECK_RC(index_file_decode(file, flen, &d), 0);
		CHECK(index_file_equal(&g, &d));
		index_file_free(&d);
	}
	free(file);
	buf_free(&enc);
}

static void test_codec(void)
{
	struct index_file g, d = {0};
	struct buf enc = BUF_INIT, bad = BUF_INIT;

	golden_file(&g);
	CHECK_RC(index_file_encode(&g, &enc), 0);
	/* every truncation fails cleanly; so does a trailing byte */
	for (size_t l = 0; l < enc.len; l++)
		CHECK(index_file_decode(enc.p, l, &d) < 0);
	CHECK_RC(buf_put(&bad, enc.p, enc.len), 0);
	CHECK_RC(buf_put_u8(&bad, 0), 0);
	CHECK_RC(index_file_decode(bad.p, bad.len, &d), CAIRN_E_CORRUPT);
	bad.p[0] = 2;
	bad.len--;
	CHECK_RC(index_file_decode(bad.p, bad.len, &d), CAIRN_E_UNSUPPORTED);

	/* an empty file (no packs) is valid */
	struct index_file empty = {0};
	bad.len = 0;
	CHECK_RC(index_file_encode(&empty, &bad), 0);
	CHECK(bad.len == 4);
	CHECK_RC(index_file_decode(bad.p, bad.len, &d), 0);
	CHECK(d.npacks == 0 && d.nsupersedes == 0);
	index_file_free(&d);

	/* hostile counts fail without allocating what they claim */
	const uint64_t counts[] = {UINT64_MAX, 1u << 30, 1000};
	for (size_t i = 0; i < 3; i++) {
		bad.len = 0;
		buf_put_u8(&bad, 1);
		buf_put_varint(&bad, counts[i]);   /* supersedes */
		CHECK_RC(index_file_decode(bad.p, bad.len, &d), CAIRN_E_CORRUPT);
		bad.len = 0;
		buf_put_u8(&bad, 1);
		buf_put_varint(&bad, 0);
		buf_put_varint(&bad, counts[i]);   /* packs */
		CHECK_RC(index_file_decode(bad.p, bad.len, &d), CAIRN_E_CORRUPT);
		bad.len = 0;
		buf_put_u8(&bad, 1);
		buf_put_varint(&bad, 0);
		buf_put_varint(&bad, 1);
		uint8_t id[32] = {0};
		buf_put(&bad, id, 32);
		buf_put_u8(&bad, 0);
		buf_put_varint(&bad, counts[i]);   /* blobs */
		CHECK_RC(index_file_decode(bad.p, bad.len, &d), CAIRN_E_CORRUPT);
	}

	/* field rules, one at a time on a one-blob file */
	struct index_blob b = {.length = 100, .raw_length = 100};
	struct index_pack p = {.type = 0, .n = 1, .blobs = &b};
	struct index_file f = {.npacks = 1, .packs = &p};
	struct {
		uint8_t type;
		uint64_t offset, length, raw_length;
		int want;
	} cases[] = {
		{0, 0, 100, 100, 0},
		{1, 5, 100, 100, 0},
		{0, 0, 40, 0, CAIRN_E_CORRUPT},
		{0, 0, BLOB_RAW_MAX + 42ull, 1, CAIRN_E_CORRUPT},
		{0, 0, 100, BLOB_RAW_MAX + 1ull, CAIRN_E_CORRUPT},
		{1, 0, 100, BLOB_RAW_MAX + 1ull, 0},
		{1, 0, 100, TREE_RAW_MAX + 1ull, CAIRN_E_CORRUPT},
		{0, UINT64_MAX - 100, 100, 100, 0},
		{0, UINT64_MAX - 99, 100, 100, CAIRN_E_CORRUPT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p.type = cases[i].type;
		b.offset = cases[i].offset;
		b.length = cases[i].length;
		b.raw_length = cases[i].raw_length;
		bad.len = 0;
		CHECK_RC(index_file_encode(&f, &bad), 0);
		int rc = index_file_decode(bad.p, bad.len, &d);
		CHECK(rc == cases[i].want);
		if (rc == 0) {
			CHECK(index_file_equal(&f, &d));
			index_file_free(&d);
		}
	}
	/* a pack type byte of 2 */
	p.type = 0;
	b.offset = 0;
	b.length = b.raw_length = 100;
	bad.len = 0;
	CHECK_RC(index_file_encode(&f, &bad), 0);
	bad.p[4 + 32] = 2;
	CHECK_RC(index_file_decode(bad.p, bad.len, &d), CAIRN_E_CORRUPT);
	/* the encoder's own refusals leave out unchanged */
	bad.len = 0;
	p.type = 2;
	CHECK_RC(index_file_encode(&f, &bad), CAIRN_E_INVAL);
	p.type = 0;
	p.n = 0;
	CHECK_RC(index_file_encode(&f, &bad), CAIRN_E_INVAL);
	CHECK(bad.len == 0);
	index_file_free(&d);   /* zeroed: a no-op */
	buf_free(&enc);
	buf_free(&bad);
}

static void test_small(void)
{
	struct index *x = NULL;
	struct blob_loc loc, got;
	uint8_t pa[32], pb[32], id[32];
	uint32_t na = 99, nb = 99, n2 = 99;

	CHECK_RC(index_new(&x), 0);
	fill_seq(id, 1);
	CHECK_RC(index_lookup(x, id, &got), CAIRN_E_NOTFOUND);
	CHECK(!index_has(x, id));
	CHECK(index_pack_count(x) == 0 && index_blob_count(x) == 0);
	CHECK(index_pack_id(x, 0) == NULL && index_pack_type(x, 0) == 0xff);

	fill_seq(pa, 100);
	fill_seq(pb, 200);
	CHECK_RC(index_pack_add(x, pa, BLOB_DATA, &na), 0);
	CHECK_RC(index_pack_add(x, pb, BLOB_TREE, &nb), 0);
	CHECK_RC(index_pack_add(x, pa, BLOB_DATA, &n2), 0);
	CHECK(na == 0 && nb == 1 && n2 == 0);
	CHECK_RC(index_pack_add(x, pa, BLOB_TREE, &n2), CAIRN_E_CORRUPT);
	CHECK_RC(index_pack_add(x, pa, 2, &n2), CAIRN_E_INVAL);
	CHECK(index_pack_count(x) == 2);
	CHECK(memcmp(index_pack_id(x, nb), pb, 32) == 0);
	CHECK(index_pack_type(x, nb) == BLOB_TREE);

	loc = (struct blob_loc){nb, BLOB_TREE, 10, 50, 9, 0};
	CHECK_RC(index_blob_add(x, id, &loc), 0);
	/* a duplicate keeps the first location */
	struct blob_loc loc2 = {na, BLOB_DATA, 1, 2, 3, 0};
	CHECK_RC(index_blob_add(x, id, &loc2), 0);
	CHECK(index_blob_count(x) == 1);
	CHECK_RC(index_lookup(x, id, &got), 0);
	CHECK(memcmp(&got, &loc, sizeof got) == 0 ||
	      (got.pack == nb && got.type == BLOB_TREE && got.offset == 10 &&
	       got.length == 50 && got.raw_length == 9));
	CHECK(index_has(x, id));

	/* range checks */
	uint8_t id2[32];
	fill_seq(id2, 2);
	struct blob_loc r;
	r = (struct blob_loc){0, 2, 0, 41, 0, 0};
	CHECK_RC(index_blob_add(x, id2, &r), CAIRN_E_INVAL);
	r = (struct blob_loc){0, 0, (uint64_t)UINT32_MAX + 1, 41, 0, 0};
	CHECK_RC(index_blob_add(x, id2, &r), CAIRN_E_RANGE);
	r = (struct blob_loc){0, 0, UINT32_MAX - 40, 41, 0, 0};
	CHECK_RC(index_blob_add(x, id2, &r), CAIRN_E_RANGE);
	r = (struct blob_loc){0, 0, 0, 41, (uint64_t)UINT32_MAX + 1, 0};
	CHECK_RC(index_blob_add(x, id2, &r), CAIRN_E_RANGE);
	r = (struct blob_loc){0x80000000u, 0, 0, 41, 0, 0};
	CHECK_RC(index_blob_add(x, id2, &r), CAIRN_E_RANGE);
	r = (struct blob_loc){0, 0, UINT32_MAX - 41, 41, UINT32_MAX, 0};
	CHECK_RC(index_blob_add(x, id2, &r), 0);
	CHECK_RC(index_lookup(x, id2, &got), 0);
	CHECK(got.offset == UINT32_MAX - 41 && got.raw_length == UINT32_MAX);
	CHECK(index_blob_count(x) == 2);

	/* merging a file */
	struct index_file g;
	golden_file(&g);
	CHECK_RC(index_merge_file(x, &g), 0);
	CHECK(index_pack_count(x) == 4 && index_blob_count(x) == 5);
	for (size_t i = 0; i < g.npacks; i++)
		for (size_t j = 0; j < g.packs[i].n; j++) {
			const struct index_blob *b = &g.packs[i].blobs[j];
			CHECK_RC(index_lookup(x, b->id, &got), 0);
			CHECK(memcmp(index_pack_id(x, got.pack), g.packs[i].id,
				     32) == 0);
			CHECK(got.type == g.packs[i].type);
			CHECK(got.offset == b->offset &&
			      got.length == b->length &&
			      got.raw_length == b->raw_length);
		}
	/* merging again changes nothing */
	CHECK_RC(index_merge_file(x, &g), 0);
	CHECK(index_pack_count(x) == 4 && index_blob_count(x) == 5);
	/* an out-of-range file adds nothing */
	uint64_t keep = g.packs[1].blobs[0].offset;
	uint8_t newpack[32];
	fill_seq(newpack, 33);
	uint8_t keep_id[32];
	memcpy(keep_id, g.packs[0].id, 32);
	memcpy(g.packs[0].id, newpack, 32);
	g.packs[1].blobs[0].offset = (uint64_t)UINT32_MAX + 1;
	CHECK_RC(index_merge_file(x, &g), CAIRN_E_RANGE);
	CHECK(index_pack_count(x) == 4 && index_blob_count(x) == 5);
	g.packs[1].blobs[0].offset = keep;
	memcpy(g.packs[0].id, keep_id, 32);
	index_free(x);
	index_free(NULL);
}

static int loc_equal(const struct blob_loc *a, const struct blob_loc *b)
{
	return a->pack == b->pack && a->type == b->type &&
	       a->offset == b->offset && a->length == b->length &&
	       a->raw_length == b->raw_length && a->dict == b->dict;
}

/* Entry numbers: index_find gives each blob a number below the blob
 * count, all distinct, unchanged as the table grows, and
 * index_entry_get(number) names the same blob. */
static void test_entries(void)
{
	const size_t N = 20000, EARLY = 64;
	uint8_t (*ids)[32] = malloc(N * 32);
	size_t *early = malloc(EARLY * sizeof *early);
	uint8_t *seen = calloc(N, 1);
	struct index *x = NULL;
	struct blob_loc loc, got;
	uint8_t pid[32], id[32];
	uint32_t pn;
	size_t e = 99;

	CHECK(ids && early && seen);
	if (!ids || !early || !seen)
		goto out;
	test_fill(&rng, ids, N * 32);
	CHECK_RC(index_new(&x), 0);
	CHECK_RC(index_find(x, ids[0], &got, &e), CAIRN_E_NOTFOUND);
	CHECK_RC(index_entry_get(x, 0, id, &got), CAIRN_E_NOTFOUND);
	fill_seq(pid, 7);
	CHECK_RC(index_pack_add(x, pid, BLOB_DATA, &pn), 0);
	for (size_t i = 0; i < N; i++) {
		loc = (struct blob_loc){pn, BLOB_DATA, i * 41, 41, i, 0};
		CHECK_RC(index_blob_add(x, ids[i], &loc), 0);
		if (i < EARLY)
			CHECK_RC(index_find(x, ids[i], NULL, &early[i]), 0);
	}
	CHECK(index_blob_count(x) == N);
	size_t bad = 0;
	for (size_t i = 0; i < N; i++) {
		if (index_find(x, ids[i], &got, &e) != 0 || e >= N || seen[e] ||
		    got.offset != i * 41 || got.raw_length != i ||
		    (i < EARLY && e != early[i])) {
			bad++;
			continue;
		}
		seen[e] = 1;
		if (index_entry_get(x, e, id, &loc) != 0 ||
		    memcmp(id, ids[i], 32) != 0 ||
		    !loc_equal(&loc, &got))
			bad++;
	}
	CHECK(bad == 0);
	CHECK_RC(index_entry_get(x, N, id, &loc), CAIRN_E_NOTFOUND);
	CHECK_RC(index_entry_get(x, SIZE_MAX, id, &loc), CAIRN_E_NOTFOUND);
	/* absent ids, and a duplicate that adds no entry */
	memcpy(id, ids[5], 32);
	id[31] ^= 1;
	CHECK_RC(index_find(x, id, NULL, &e), CAIRN_E_NOTFOUND);
	loc = (struct blob_loc){pn, BLOB_DATA, 0, 41, 0, 0};
	CHECK_RC(index_blob_add(x, ids[5], &loc), 0);
	CHECK(index_blob_count(x) == N);
	CHECK_RC(index_find(x, ids[5], NULL, &e), 0);
	CHECK(e == early[5]);
out:
	index_free(x);
	free(ids);
	free(early);
	free(seen);
}

static void test_pack_lookup(void)
{
	struct index *x = NULL;
	uint8_t pid[40][32];
	uint32_t n = 99, got = 99;

	CHECK_RC(index_new(&x), 0);
	test_fill(&rng, pid, sizeof pid);
	CHECK_RC(index_pack_lookup(x, pid[0], &got), CAIRN_E_NOTFOUND);
	CHECK(got == 99);
	for (uint32_t i = 0; i < 30; i++) {
		CHECK_RC(index_pack_add(x, pid[i], (uint8_t)(i & 1), &n), 0);
		CHECK(n == i);
	}
	for (uint32_t i = 0; i < 30; i++) {
		CHECK_RC(index_pack_lookup(x, pid[i], &got), 0);
		CHECK(got == i);
	}
	/* unknown packs are not added by a lookup */
	for (uint32_t i = 30; i < 40; i++)
		CHECK_RC(index_pack_lookup(x, pid[i], &got), CAIRN_E_NOTFOUND);
	pid[0][31] ^= 1;
	CHECK_RC(index_pack_lookup(x, pid[0], &got), CAIRN_E_NOTFOUND);
	CHECK(index_pack_count(x) == 30);
	index_free(x);
}

/* Adds the NULL-terminated locations of id in order; the blob must then
 * be at want. */
#define LOCS(...) ((const struct blob_loc *const[]){__VA_ARGS__, NULL})
static void adds_end_at(struct index *x, const uint8_t id[32],
			const struct blob_loc *const *locs,
			const struct blob_loc *want)
{
	struct blob_loc got;
	for (; *locs; locs++)
		CHECK_RC(index_blob_add(x, id, *locs), 0);
	CHECK_RC(index_lookup(x, id, &got), 0);
	CHECK(loc_equal(&got, want));
}

/* Packs awaiting deletion: marked before or after they are registered,
 * and the one way a blob's first location is replaced. */
static void test_avoid(void)
{
	struct index *x = NULL;
	uint8_t pid[200][32], id[32];
	uint32_t n;
	struct blob_loc got;
	size_t e0, e1;

	CHECK_RC(index_new(&x), 0);
	test_fill(&rng, pid, sizeof pid);
	CHECK(!index_pack_avoided(x, 0) && !index_pack_avoided(x, UINT32_MAX));
	/* after registration */
	CHECK_RC(index_pack_add(x, pid[0], BLOB_DATA, &n), 0);
	CHECK_RC(index_pack_add(x, pid[1], BLOB_DATA, &n), 0);
	CHECK_RC(index_pack_avoid(x, pid[0]), 0);
	CHECK_RC(index_pack_avoid(x, pid[0]), 0);
	CHECK(index_pack_avoided(x, 0) && !index_pack_avoided(x, 1));
	/* before: many ids (the pending table grows), some registered
	 * between marks, some never */
	for (uint32_t i = 2; i < 200; i++) {
		if (i % 3 == 0)
			CHECK_RC(index_pack_avoid(x, pid[i]), 0);
		if (i % 5 == 0) {
			CHECK_RC(index_pack_add(x, pid[i], BLOB_DATA, &n), 0);
			CHECK(index_pack_avoided(x, n) == (i % 3 == 0));
		}
	}
	for (uint32_t i = 2; i < 200; i++)
		if (i % 5 != 0) {
			CHECK_RC(index_pack_lookup(x, pid[i], &n),
				 CAIRN_E_NOTFOUND);
			CHECK_RC(index_pack_add(x, pid[i], BLOB_TREE, &n), 0);
			CHECK(index_pack_avoided(x, n) == (i % 3 == 0));
		}
	CHECK(index_pack_count(x) == 200);
	for (uint32_t i = 0; i < 200; i++) {
		CHECK_RC(index_pack_lookup(x, pid[i], &n), 0);
		CHECK(index_pack_avoided(x, n) == (i == 0 || (i >= 2 && i % 3 == 0)));
	}
	CHECK(!index_pack_avoided(x, 200));
	index_free(x);

	/* where a blob ends: packs A1, A2 avoided, L1, L2 live */
	uint32_t a1, a2, l1, l2;
	CHECK_RC(index_new(&x), 0);
	CHECK_RC(index_pack_avoid(x, pid[10]), 0);
	CHECK_RC(index_pack_add(x, pid[10], BLOB_DATA, &a1), 0);
	CHECK_RC(index_pack_add(x, pid[11], BLOB_DATA, &a2), 0);
	CHECK_RC(index_pack_add(x, pid[12], BLOB_DATA, &l1), 0);
	CHECK_RC(index_pack_add(x, pid[13], BLOB_DATA, &l2), 0);
	CHECK_RC(index_pack_avoid(x, pid[11]), 0);
	const struct blob_loc in_a1 = {a1, BLOB_DATA, 100, 50, 40, 0};
	const struct blob_loc in_a2 = {a2, BLOB_DATA, 200, 51, 40, 0};
	const struct blob_loc in_l1 = {l1, BLOB_DATA, 300, 52, 40, 3};
	const struct blob_loc in_l2 = {l2, BLOB_DATA, 400, 53, 40, 0};
	const struct blob_loc in_unreg = {99, BLOB_DATA, 500, 54, 40, 0};

	/* avoided, then live: moves, and keeps its entry number */
	fill_seq(id, 1);
	CHECK_RC(index_blob_add(x, id, &in_a1), 0);
	CHECK_RC(index_find(x, id, NULL, &e0), 0);
	adds_end_at(x, id, LOCS(&in_unreg), &in_a1);   /* not registered */
	adds_end_at(x, id, LOCS(&in_l1), &in_l1);
	CHECK_RC(index_find(x, id, NULL, &e1), 0);
	CHECK(e1 == e0 && index_blob_count(x) == 1);
	/* then another live copy: stays */
	adds_end_at(x, id, LOCS(&in_l2), &in_l1);
	/* live first: neither a later avoided nor a later live copy moves it */
	fill_seq(id, 2);
	adds_end_at(x, id, LOCS(&in_l2, &in_a1, &in_l1), &in_l2);
	/* avoided, then avoided: stays at the first ... until a live copy */
	fill_seq(id, 3);
	adds_end_at(x, id, LOCS(&in_a2, &in_a1), &in_a2);
	adds_end_at(x, id, LOCS(&in_l2), &in_l2);

	/* a pack marked after its blobs were added: the next live copy wins */
	fill_seq(id, 4);
	uint32_t late;
	CHECK_RC(index_pack_add(x, pid[14], BLOB_DATA, &late), 0);
	const struct blob_loc in_late = {late, BLOB_DATA, 0, 41, 0, 0};
	adds_end_at(x, id, LOCS(&in_late), &in_late);
	CHECK_RC(index_pack_avoid(x, pid[14]), 0);
	adds_end_at(x, id, LOCS(&in_l1), &in_l1);

	/* a tree blob moves with its type */
	uint32_t ta, tl;
	CHECK_RC(index_pack_add(x, pid[15], BLOB_TREE, &ta), 0);
	CHECK_RC(index_pack_add(x, pid[16], BLOB_TREE, &tl), 0);
	CHECK_RC(index_pack_avoid(x, pid[15]), 0);
	const struct blob_loc in_ta = {ta, BLOB_TREE, 7, 60, 19, 0};
	const struct blob_loc in_tl = {tl, BLOB_TREE, 8, 61, 19, 0};
	fill_seq(id, 5);
	adds_end_at(x, id, LOCS(&in_ta, &in_tl), &in_tl);
	/* a refused location does not move anything */
	fill_seq(id, 6);
	CHECK_RC(index_blob_add(x, id, &in_a1), 0);
	struct blob_loc far = in_l1;
	far.offset = UINT32_MAX;
	CHECK_RC(index_blob_add(x, id, &far), CAIRN_E_RANGE);
	far.type = 2;
	CHECK_RC(index_blob_add(x, id, &far), CAIRN_E_INVAL);
	CHECK_RC(index_lookup(x, id, &got), 0);
	CHECK(loc_equal(&got, &in_a1));
	CHECK(index_blob_count(x) == 6);
	index_free(x);
}

/* index_merge_file with the doomed packs marked first: against a model,
 * over random files merged in random order, every blob ends at its first
 * live copy when it has one, else at its first copy. */
enum { MF_FILES = 6, MF_PACKS = 4, MF_BLOBS = 12, MF_IDS = 60 };

struct mf_copy {
	uint8_t pack[32];
	int doomed;
	uint64_t offset;
	uint32_t dict;    /* the file's dictionary number, 0 for none */
	size_t dict_file; /* which file's dictionary table */
};

static void test_merge_avoid(void)
{
	static uint8_t ids[MF_IDS][32], dict_ids[MF_FILES][1][32];
	static uint8_t pack_ids[MF_FILES][MF_PACKS][32];
	static struct index_blob blobs[MF_FILES][MF_PACKS][MF_BLOBS];
	static struct index_pack packs[MF_FILES][MF_PACKS];
	static struct index_file files[MF_FILES];
	static int doomed[MF_FILES][MF_PACKS];

	size_t total = 0, moved = 0, stuck = 0;
	for (int r = 0; r < 40; r++) {
		struct index *x = NULL;
		test_fill(&rng, ids, sizeof ids);
		test_fill(&rng, pack_ids, sizeof pack_ids);
		test_fill(&rng, dict_ids, sizeof dict_ids);
		for (size_t f = 0; f < MF_FILES; f++) {
			for (size_t p = 0; p < MF_PACKS; p++) {
				struct index_pack *ip = &packs[f][p];
				memcpy(ip->id, pack_ids[f][p], 32);
				ip->type = BLOB_DATA;
				ip->n = 1 + test_rand(&rng) % MF_BLOBS;
				ip->blobs = blobs[f][p];
				doomed[f][p] = test_rand(&rng) % 2 == 0;
				/* distinct ids within a pack */
				size_t start = test_rand(&rng) % MF_IDS;
				for (size_t j = 0; j < ip->n; j++) {
					struct index_blob *b = &ip->blobs[j];
					memcpy(b->id, ids[(start + j * 7) % MF_IDS],
					       32);
					b->offset = 1000 * f + 100 * p + j;
					b->length = 41;
					b->raw_length = j;
					b->dict = (uint32_t)(test_rand(&rng) % 2);
				}
			}
			files[f] = (struct index_file){0, NULL, 1,
						       dict_ids[f], MF_PACKS,
						       packs[f]};
		}
		/* mark first, some packs before registration */
		CHECK_RC(index_new(&x), 0);
		for (size_t f = 0; f < MF_FILES; f++)
			for (size_t p = 0; p < MF_PACKS; p++)
				if (doomed[f][p])
					CHECK_RC(index_pack_avoid(
							 x, pack_ids[f][p]), 0);
		size_t order[MF_FILES];
		for (size_t f = 0; f < MF_FILES; f++)
			order[f] = f;
		for (size_t f = MF_FILES - 1; f > 0; f--) {
			size_t k = test_rand(&rng) % (f + 1), t = order[f];
			order[f] = order[k];
			order[k] = t;
		}
		for (size_t i = 0; i < MF_FILES; i++)
			CHECK_RC(index_merge_file(x, &files[order[i]]), 0);
		CHECK(index_pack_count(x) == MF_FILES * MF_PACKS);

		/* the model: walk the copies in merge order */
		size_t bad = 0, in_index = 0;
		for (size_t k = 0; k < MF_IDS; k++) {
			struct mf_copy first = {0}, live = {0};
			int have = 0, have_live = 0;
			for (size_t i = 0; i < MF_FILES; i++) {
				size_t f = order[i];
				for (size_t p = 0; p < MF_PACKS; p++)
					for (size_t j = 0; j < packs[f][p].n; j++) {
						const struct index_blob *b =
							&blobs[f][p][j];
						if (memcmp(b->id, ids[k], 32))
							continue;
						struct mf_copy c = {{0}, doomed[f][p],
								    b->offset,
								    b->dict, f};
						memcpy(c.pack, pack_ids[f][p], 32);
						if (!have)
							first = c;
						if (!have_live && !c.doomed)
							live = c;
						have = 1;
						have_live |= !c.doomed;
					}
			}
			struct blob_loc got;
			if (!have) {
				CHECK(!index_has(x, ids[k]));
				continue;
			}
			in_index++;
			const struct mf_copy *want = have_live ? &live : &first;
			if (index_lookup(x, ids[k], &got) != 0) {
				bad++;
				continue;
			}
			uint32_t want_dict = 0;
			if (want->dict) {
				uint32_t dn;
				CHECK_RC(index_dict_add(x, dict_ids[want->dict_file][0],
							&dn), 0);
				want_dict = dn + 1;
			}
			if (memcmp(index_pack_id(x, got.pack), want->pack, 32) ||
			    got.offset != want->offset || got.dict != want_dict ||
			    index_pack_avoided(x, got.pack) != want->doomed)
				bad++;
			moved += have_live && first.doomed;
			stuck += !have_live;
		}
		CHECK(bad == 0);
		CHECK(index_blob_count(x) == in_index);
		CHECK(index_dict_count(x) == MF_FILES);
		total += in_index;
		index_free(x);
	}
	/* the model's cases all occurred */
	CHECK(moved > 0 && stuck > 0 && total > moved + stuck);
	fprintf(stderr, "test_index: merge with avoided packs: %zu blobs, "
		"%zu moved to a live copy, %zu only in doomed packs\n", total,
		moved, stuck);
}

struct walk {
	size_t n;
	size_t stop_at;
};

static int count_fn(void *ud, const uint8_t id[32], const struct blob_loc *l)
{
	struct walk *w = ud;
	if (++w->n == w->stop_at)
		return -42;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_million(void)
{
	const size_t N = 1000000, P = 300;
	uint8_t (*ids)[32] = malloc(N * 32);
	uint32_t *packs = malloc(P * sizeof *packs);
	struct index *x = NULL;
	CHECK(ids && packs);
	if (!ids || !packs)
		goto out;
	test_fill(&rng, ids, N * 32);
	CHECK_RC(index_new(&x), 0);
	for (size_t i = 0; i < P; i++) {
		uint8_t pid[32];
		test_fill(&rng, pid, 32);
		CHECK_RC(index_pack_add(x, pid, (uint8_t)(i & 1), &packs[i]), 0);
	}
	double t0 = now();
	for (size_t i = 0; i < N; i++) {
		size_t p = i % P;
		struct blob_loc loc = {packs[p], (uint8_t)(p & 1),
				       (uint32_t)(i * 7919 % 0x80000000u),
				       41 + (uint32_t)(i % 65536),
				       (uint32_t)i, 0};
		if (index_blob_add(x, ids[i], &loc) != 0) {
			CHECK(!"index_blob_add failed");
			break;
		}
	}
	double t1 = now();
	CHECK(index_blob_count(x) == N);
	size_t bad = 0;
	for (size_t i = 0; i < N; i++) {
		struct blob_loc got;
		size_t p = i % P;
		if (index_lookup(x, ids[i], &got) != 0 || got.pack != packs[p] ||
		    got.type != (p & 1) || got.offset != i * 7919 % 0x80000000u ||
		    got.length != 41 + i % 65536 || got.raw_length != i)
			bad++;
	}
	CHECK(bad == 0);
	/* absent ids: fresh random ones, and ones differing in the last byte
	 * (same slot and tag as a present id) */
	size_t found = 0;
	for (size_t i = 0; i < N / 10; i++) {
		uint8_t id[32];
		test_fill(&rng, id, 32);
		found += (size_t)index_has(x, id);
		memcpy(id, ids[i], 32);
		id[31] ^= 0x01;
		found += (size_t)index_has(x, id);
	}
	CHECK(found == 0);
	double t2 = now();
	/* duplicates keep the first */
	struct blob_loc other = {packs[0], 0, 1, 41, 0, 0};
	for (size_t i = 0; i < 1000; i++)
		CHECK_RC(index_blob_add(x, ids[i * 997], &other), 0);
	CHECK(index_blob_count(x) == N);
	struct blob_loc got;
	CHECK_RC(index_lookup(x, ids[997], &got), 0);
	CHECK(got.raw_length == 997);
	struct walk w = {0, 0};
	CHECK_RC(index_foreach(x, count_fn, &w), 0);
	CHECK(w.n == N);
	w = (struct walk){0, 12345};
	CHECK_RC(index_foreach(x, count_fn, &w), -42);
	CHECK(w.n == 12345);
	fprintf(stderr, "test_index: %zu inserts %.2f s, %zu + %zu lookups "
		"%.2f s\n", N, t1 - t0, N, N / 5, t2 - t1);
out:
	index_free(x);
	free(ids);
	free(packs);
}

int main(void)
{
	rng = test_seed("test_index");
	test_golden();
	test_codec();
	test_small();
	test_entries();
	test_pack_lookup();
	test_avoid();
	test_merge_avoid();
	test_million();
	return test_done("test_index");
}
