/* test_mark.c: prune's deletion records (format.md 13): round trips, every
 * rule a reader enforces, the encoder's refusals, equality and the two
 * deadlines.
 *
 * Golden vector mark_v1.bin is the plaintext of golden_mark() below: time
 * 2026-11-21T20:22:11Z, grace one day, two packs (id bytes 0x10..0x2f and
 * 0x30..0x4f) and one dictionary (0xd0..0xef).  Regenerate with
 * CAIRN_REGEN_VECTORS=1.
 */
#include "cairn_err.h"
#include "mark.h"
#include "testutil.h"

#include <string.h>

static uint64_t rng;

#define TIME_LIMIT ((int64_t)1 << 40)
/* 2026-11-21T20:22:11Z */
#define GOLDEN_TIME 1795292531LL

static void fill_seq(uint8_t id[32], uint8_t start)
{
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)(start + i);
}

/* The golden record; arrays are static. */
static void golden_mark(struct mark_record *m)
{
	static uint8_t packs[2][32], dicts[1][32];

	fill_seq(packs[0], 0x10);
	fill_seq(packs[1], 0x30);
	fill_seq(dicts[0], 0xd0);
	memset(m, 0, sizeof *m);
	m->time = GOLDEN_TIME;
	m->grace = MARK_GRACE_DEFAULT;
	m->npacks = 2;
	m->packs = packs;
	m->ndicts = 1;
	m->dicts = dicts;
}

/* Encodes a record from its fields without the encoder's checks, so that
 * a test can state what the encoder refuses to write. */
static void put_raw(struct buf *b, uint8_t version, int64_t time,
		    uint64_t grace, uint64_t npacks, uint64_t ndicts)
{
	uint8_t id[32];
	b->len = 0;
	buf_put_u8(b, version);
	buf_put_svarint(b, time);
	buf_put_varint(b, grace);
	buf_put_varint(b, npacks);
	for (uint64_t i = 0; i < npacks; i++) {
		fill_seq(id, (uint8_t)i);
		buf_put(b, id, 32);
	}
	buf_put_varint(b, ndicts);
	for (uint64_t i = 0; i < ndicts; i++) {
		fill_seq(id, (uint8_t)(0x80 + i));
		buf_put(b, id, 32);
	}
}

/* Decoding must fail with want and leave *ret as it was. */
static void expect_refused(const struct buf *b, int want)
{
	struct mark_record m;
	memset(&m, 0x5a, sizeof m);
	CHECK_RC(mark_record_decode(b->p, b->len, &m), want);
	const uint8_t *p = (const uint8_t *)&m;
	for (size_t i = 0; i < sizeof m; i++)
		if (p[i] != 0x5a) {
			CHECK(!"decode wrote *ret on failure");
			break;
		}
}

static void test_golden(void)
{
	struct mark_record g, d;
	struct buf enc = BUF_INIT;
	size_t flen = 0;

	golden_mark(&g);
	CHECK_RC(mark_record_encode(&g, &enc), 0);
	/* the layout, spelled out: version, svarint time, varint grace,
	 * then each list as a count and its ids */
	static const uint8_t head[] = {0x01, 0xe6, 0xf5, 0x8f, 0xb0, 0x0d,
				       0x80, 0xa3, 0x05, 0x02};
	CHECK(enc.len == sizeof head + 64 + 1 + 32);
	CHECK(enc.len > sizeof head && !memcmp(enc.p, head, sizeof head));
	CHECK(enc.len == 107 && !memcmp(enc.p + 10, g.packs, 64) &&
	      enc.p[74] == 1 && !memcmp(enc.p + 75, g.dicts, 32));

	uint8_t *file = test_golden_vector("mark_v1.bin", enc.p, enc.len, &flen);
	if (file) {
		CHECK_RC(mark_record_decode(file, flen, &d), 0);
		CHECK(mark_record_equal(&g, &d));
		CHECK(d.time == GOLDEN_TIME && d.grace == 86400 &&
		      d.npacks == 2 && d.ndicts == 1);
		mark_record_free(&d);
	}
	free(file);
	buf_free(&enc);
}

/* Encodes m after a prefix, decodes, checks equality and that a second
 * encoding gives the same bytes; returns the record's length. */
static size_t round_trip(const struct mark_record *m)
{
	struct buf enc = BUF_INIT, again = BUF_INIT;
	struct mark_record d;

	CHECK_RC(buf_put(&enc, "prefix", 6), 0);
	CHECK_RC(mark_record_encode(m, &enc), 0);
	CHECK(memcmp(enc.p, "prefix", 6) == 0);
	size_t len = enc.len - 6;
	CHECK_RC(mark_record_decode(enc.p + 6, len, &d), 0);
	CHECK(mark_record_equal(m, &d) && mark_record_equal(&d, m));
	CHECK(d.time == m->time && d.grace == m->grace);
	CHECK(d.npacks == m->npacks && d.ndicts == m->ndicts);
	CHECK((d.npacks == 0) == (d.packs == NULL));
	CHECK((d.ndicts == 0) == (d.dicts == NULL));
	CHECK_RC(mark_record_encode(&d, &again), 0);
	CHECK(again.len == len && !memcmp(again.p, enc.p + 6, len));
	mark_record_free(&d);
	CHECK(d.packs == NULL && d.dicts == NULL && d.npacks == 0);
	mark_record_free(&d);   /* zeroed: a no-op */
	buf_free(&enc);
	buf_free(&again);
	return len;
}

static void test_round_trips(void)
{
	struct mark_record m = {.time = 0, .grace = MARK_GRACE_MIN};

	/* empty lists: version, time, grace, two zero counts */
	CHECK(round_trip(&m) == 1 + 1 + 2 + 1 + 1);
	m.time = -1;
	CHECK(round_trip(&m) == 6);
	m.time = -TIME_LIMIT;
	m.grace = MARK_GRACE_MAX;
	round_trip(&m);
	m.time = TIME_LIMIT;
	round_trip(&m);
	m.time = -1795292531LL;
	m.grace = MARK_GRACE_DEFAULT;
	round_trip(&m);

	/* many ids; packs only; dictionaries only */
	const size_t NP = 5000, ND = 700;
	uint8_t (*packs)[32] = malloc(NP * 32);
	uint8_t (*dicts)[32] = malloc(ND * 32);
	CHECK(packs && dicts);
	if (!packs || !dicts)
		goto out;
	test_fill(&rng, packs, NP * 32);
	test_fill(&rng, dicts, ND * 32);
	m = (struct mark_record){GOLDEN_TIME, MARK_GRACE_DEFAULT, NP, packs,
				 ND, dicts};
	CHECK(round_trip(&m) == 1 + 5 + 3 + 2 + NP * 32 + 2 + ND * 32);
	m.ndicts = 0;
	m.dicts = NULL;
	round_trip(&m);
	m.npacks = 0;
	m.packs = NULL;
	m.ndicts = 1;
	m.dicts = dicts;
	round_trip(&m);

	/* random records within the rules */
	for (int i = 0; i < 300; i++) {
		uint64_t r = test_rand(&rng);
		m.time = (int64_t)(r % (2 * (uint64_t)TIME_LIMIT + 1)) -
			 TIME_LIMIT;
		m.grace = MARK_GRACE_MIN +
			  test_rand(&rng) % (MARK_GRACE_MAX - MARK_GRACE_MIN + 1);
		m.npacks = (size_t)(test_rand(&rng) % 40);
		m.ndicts = (size_t)(test_rand(&rng) % 5);
		m.packs = m.npacks ? packs + test_rand(&rng) % (NP - 40) : NULL;
		m.dicts = m.ndicts ? dicts + test_rand(&rng) % (ND - 5) : NULL;
		round_trip(&m);
	}
out:
	free(packs);
	free(dicts);
}

static void test_rules(void)
{
	struct mark_record g;
	struct buf enc = BUF_INIT, bad = BUF_INIT;

	golden_mark(&g);
	CHECK_RC(mark_record_encode(&g, &enc), 0);
	/* every truncation, and a trailing byte */
	for (size_t l = 0; l < enc.len; l++) {
		bad.len = 0;
		CHECK_RC(buf_put(&bad, enc.p, l), 0);
		expect_refused(&bad, CAIRN_E_CORRUPT);
	}
	bad.len = 0;
	CHECK_RC(buf_put(&bad, enc.p, enc.len), 0);
	CHECK_RC(buf_put_u8(&bad, 0), 0);
	expect_refused(&bad, CAIRN_E_CORRUPT);
	/* a trailing id (a count one short) */
	put_raw(&bad, 1, 0, MARK_GRACE_MIN, 1, 0);
	CHECK_RC(mark_record_decode(bad.p, bad.len, &g), 0);
	mark_record_free(&g);
	uint8_t id[32] = {0};
	CHECK_RC(buf_put(&bad, id, 32), 0);
	expect_refused(&bad, CAIRN_E_CORRUPT);

	/* versions other than 1, whatever follows */
	const uint8_t versions[] = {0, 2, 3, 0x7f, 0x80, 0xff};
	for (size_t i = 0; i < sizeof versions; i++) {
		bad.len = 0;
		CHECK_RC(buf_put(&bad, enc.p, enc.len), 0);
		bad.p[0] = versions[i];
		expect_refused(&bad, CAIRN_E_UNSUPPORTED);
		bad.len = 1;
		expect_refused(&bad, CAIRN_E_UNSUPPORTED);
	}

	/* grace and time at and beyond their limits */
	struct {
		int64_t time;
		uint64_t grace;
		int want;
	} cases[] = {
		{0, MARK_GRACE_MIN, 0},
		{0, MARK_GRACE_MIN - 1, CAIRN_E_CORRUPT},
		{0, 0, CAIRN_E_CORRUPT},
		{0, 1, CAIRN_E_CORRUPT},
		{0, MARK_GRACE_MAX, 0},
		{0, MARK_GRACE_MAX + 1, CAIRN_E_CORRUPT},
		{0, UINT64_MAX, CAIRN_E_CORRUPT},
		{TIME_LIMIT, MARK_GRACE_MAX, 0},
		{-TIME_LIMIT, MARK_GRACE_MIN, 0},
		{TIME_LIMIT + 1, MARK_GRACE_MIN, CAIRN_E_CORRUPT},
		{-TIME_LIMIT - 1, MARK_GRACE_MIN, CAIRN_E_CORRUPT},
		{INT64_MAX, MARK_GRACE_MIN, CAIRN_E_CORRUPT},
		{INT64_MIN, MARK_GRACE_MIN, CAIRN_E_CORRUPT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		put_raw(&bad, 1, cases[i].time, cases[i].grace, 2, 1);
		if (cases[i].want) {
			expect_refused(&bad, cases[i].want);
			continue;
		}
		CHECK_RC(mark_record_decode(bad.p, bad.len, &g), 0);
		CHECK(g.time == cases[i].time && g.grace == cases[i].grace);
		mark_record_free(&g);
	}

	/* an overlong varint (grace 3600 in three bytes) and an over-long
	 * one (eleven bytes) */
	static const uint8_t overlong[] = {0x01, 0x00, 0x90, 0x9c, 0x80, 0x00,
					   0x00, 0x00};
	bad.len = 0;
	CHECK_RC(buf_put(&bad, overlong, sizeof overlong), 0);
	expect_refused(&bad, CAIRN_E_CORRUPT);
	bad.len = 0;
	CHECK_RC(buf_put_u8(&bad, 1), 0);
	for (int i = 0; i < 10; i++)
		CHECK_RC(buf_put_u8(&bad, 0x80), 0);
	CHECK_RC(buf_put_u8(&bad, 0x01), 0);
	expect_refused(&bad, CAIRN_E_CORRUPT);

	/* hostile counts fail without allocating what they claim: the
	 * count of packs, then of dictionaries */
	const uint64_t counts[] = {UINT64_MAX, (uint64_t)1 << 58,
				   ((uint64_t)1 << 59) + 1, 1u << 30, 1000, 2};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		put_raw(&bad, 1, 0, MARK_GRACE_MIN, 0, 0);
		bad.len -= 2;
		buf_put_varint(&bad, counts[i]);
		buf_put(&bad, id, 32);   /* one id of backing */
		buf_put_varint(&bad, 0);
		expect_refused(&bad, CAIRN_E_CORRUPT);
		put_raw(&bad, 1, 0, MARK_GRACE_MIN, 1, 0);
		bad.len -= 1;
		buf_put_varint(&bad, counts[i]);
		buf_put(&bad, id, 31);
		expect_refused(&bad, CAIRN_E_CORRUPT);
	}
	buf_free(&enc);
	buf_free(&bad);
}

static void test_encode_refusals(void)
{
	struct mark_record g;
	struct buf out = BUF_INIT;

	golden_mark(&g);
	CHECK_RC(buf_put(&out, "prefix", 6), 0);
	const uint64_t graces[] = {0, 1, MARK_GRACE_MIN - 1, MARK_GRACE_MAX + 1,
				   UINT64_MAX};
	for (size_t i = 0; i < sizeof graces / sizeof graces[0]; i++) {
		g.grace = graces[i];
		CHECK_RC(mark_record_encode(&g, &out), CAIRN_E_INVAL);
		CHECK(out.len == 6 && !memcmp(out.p, "prefix", 6));
	}
	g.grace = MARK_GRACE_MIN;
	const int64_t times[] = {TIME_LIMIT + 1, -TIME_LIMIT - 1, INT64_MAX,
				 INT64_MIN};
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		g.time = times[i];
		CHECK_RC(mark_record_encode(&g, &out), CAIRN_E_INVAL);
		CHECK(out.len == 6);
	}
	/* the limits themselves are written */
	g.time = TIME_LIMIT;
	g.grace = MARK_GRACE_MAX;
	CHECK_RC(mark_record_encode(&g, &out), 0);
	CHECK(out.len > 6);
	buf_free(&out);
}

static void test_equal(void)
{
	struct mark_record a, b;
	uint8_t packs[2][32], dicts[1][32];

	golden_mark(&a);
	/* equal content in other arrays */
	b = a;
	memcpy(packs, a.packs, sizeof packs);
	memcpy(dicts, a.dicts, sizeof dicts);
	b.packs = packs;
	b.dicts = dicts;
	CHECK(mark_record_equal(&a, &b) && mark_record_equal(&b, &a));
	CHECK(mark_record_equal(&a, &a));

	b.time++;
	CHECK(!mark_record_equal(&a, &b));
	b.time = a.time;
	b.grace++;
	CHECK(!mark_record_equal(&a, &b));
	b.grace = a.grace;
	packs[1][31] ^= 1;
	CHECK(!mark_record_equal(&a, &b));
	packs[1][31] ^= 1;
	dicts[0][0] ^= 0x80;
	CHECK(!mark_record_equal(&a, &b));
	dicts[0][0] ^= 0x80;
	b.npacks = 1;
	CHECK(!mark_record_equal(&a, &b) && !mark_record_equal(&b, &a));
	b.npacks = 2;
	b.ndicts = 0;
	CHECK(!mark_record_equal(&a, &b) && !mark_record_equal(&b, &a));
	b.ndicts = 1;
	CHECK(mark_record_equal(&a, &b));
	/* swapping the two pack ids is a different record */
	memcpy(packs[0], a.packs[1], 32);
	memcpy(packs[1], a.packs[0], 32);
	CHECK(!mark_record_equal(&a, &b));

	/* an id listed as a pack is not the same id listed as a dictionary */
	struct mark_record p = {0, MARK_GRACE_MIN, 1, dicts, 0, NULL};
	struct mark_record d = {0, MARK_GRACE_MIN, 0, NULL, 1, dicts};
	CHECK(!mark_record_equal(&p, &d) && !mark_record_equal(&d, &p));
	/* empty lists compare equal whatever their pointers */
	struct mark_record e1 = {5, MARK_GRACE_MIN, 0, NULL, 0, NULL};
	struct mark_record e2 = {5, MARK_GRACE_MIN, 0, packs, 0, dicts};
	CHECK(mark_record_equal(&e1, &e2) && mark_record_equal(&e2, &e1));
}

static void test_deadlines(void)
{
	struct mark_record m = {1000, 3600, 0, NULL, 0, NULL};
	CHECK(mark_record_ripe_at(&m) == 4600);
	CHECK(mark_record_commit_by(&m) == 2800);
	/* half an odd grace rounds down: a writer must commit no later */
	m.grace = 3601;
	CHECK(mark_record_ripe_at(&m) == 4601);
	CHECK(mark_record_commit_by(&m) == 2800);
	m.time = -86400;
	m.grace = MARK_GRACE_DEFAULT;
	CHECK(mark_record_ripe_at(&m) == 0);
	CHECK(mark_record_commit_by(&m) == -43200);
	/* the extremes a record may hold do not overflow */
	m.time = TIME_LIMIT;
	m.grace = MARK_GRACE_MAX;
	CHECK(mark_record_ripe_at(&m) ==
	      TIME_LIMIT + (int64_t)(100LL * 366 * 86400));
	CHECK(mark_record_commit_by(&m) ==
	      TIME_LIMIT + (int64_t)(50LL * 366 * 86400));
	m.time = -TIME_LIMIT;
	m.grace = MARK_GRACE_MIN;
	CHECK(mark_record_ripe_at(&m) == -TIME_LIMIT + 3600);
	CHECK(mark_record_commit_by(&m) == -TIME_LIMIT + 1800);
	/* for every valid record: time < commit_by < ripe_at */
	for (int i = 0; i < 1000; i++) {
		m.time = (int64_t)(test_rand(&rng) % (2 * (uint64_t)TIME_LIMIT +
						      1)) - TIME_LIMIT;
		m.grace = MARK_GRACE_MIN +
			  test_rand(&rng) % (MARK_GRACE_MAX - MARK_GRACE_MIN + 1);
		int64_t c = mark_record_commit_by(&m);
		int64_t r = mark_record_ripe_at(&m);
		CHECK(m.time < c && c < r && r - m.time == (int64_t)m.grace &&
		      (r - c) - (c - m.time) == (int64_t)(m.grace & 1));
	}
	struct mark_record g;
	golden_mark(&g);
	CHECK(mark_record_ripe_at(&g) == GOLDEN_TIME + 86400);
	CHECK(mark_record_commit_by(&g) == GOLDEN_TIME + 43200);
}

int main(void)
{
	rng = test_seed("test_mark");
	test_golden();
	test_round_trips();
	test_rules();
	test_encode_refusals();
	test_equal();
	test_deadlines();
	return test_done("test_mark");
}
