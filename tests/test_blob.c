/* test_blob.c: blob records (format.md 6): round trips of raw, compressible
 * and empty blobs of both types, and every way a reader must refuse one:
 * wrong key, type, id or raw_length, any flipped bit, and hand-made
 * records whose plaintext breaks a rule (unknown encoding, a frame without
 * a size, with the wrong size, two frames, trailing bytes).  Re-encryption
 * under a new pack key (blob_rekey) for each encoding.
 */
#include "blob.h"
#include "cairn_err.h"
#include "crypto.h"
#include "testutil.h"

#include <sodium.h>
#include <string.h>
#include <stdio.h>
#include <zdict.h>
#include <zstd.h>

static uint8_t key[32];
static uint64_t rng;

/* Encodes then decodes (raw, n); checks the record length bound and the
 * result; returns the record length. */
static size_t round_trip(uint8_t type, const void *raw, size_t n, int level,
			 ZSTD_CCtx *cctx, ZSTD_DCtx *dctx)
{
	struct buf rec = BUF_INIT, out = BUF_INIT;
	uint8_t id[32];
	test_fill(&rng, id, sizeof id);

	/* the record is appended after what out already holds */
	CHECK_RC(buf_put(&rec, "prefix", 6), 0);
	CHECK_RC(blob_encode(key, type, id, raw, n, level, cctx, &rec), 0);
	CHECK(memcmp(rec.p, "prefix", 6) == 0);
	size_t len = rec.len - 6;
	CHECK(len >= BLOB_OVERHEAD && len <= n + BLOB_OVERHEAD);
	CHECK_RC(blob_decode(key, type, id, rec.p + 6, len, n, dctx, &out), 0);
	CHECK(out.len == n);
	CHECK(n == 0 || memcmp(out.p, raw, n) == 0);
	buf_free(&rec);
	buf_free(&out);
	return len;
}

static void test_round_trips(void)
{
	size_t n = 200000;
	uint8_t *rnd = malloc(n), *txt = malloc(n);
	CHECK(rnd && txt);
	test_fill(&rng, rnd, n);
	for (size_t i = 0; i < n; i++)
		txt[i] = "the quick brown fox jumps over the lazy dog "[i % 44];
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	ZSTD_DCtx *dctx = ZSTD_createDCtx();

	for (uint8_t type = 0; type <= 1; type++) {
		/* random data does not compress: stored raw */
		CHECK(round_trip(type, rnd, n, 3, NULL, NULL) ==
		      n + BLOB_OVERHEAD);
		CHECK(round_trip(type, rnd, 1000, 19, cctx, dctx) ==
		      1000 + BLOB_OVERHEAD);
		/* text compresses */
		CHECK(round_trip(type, txt, n, 3, NULL, NULL) < n / 10);
		CHECK(round_trip(type, txt, n, 1, cctx, dctx) < n / 10);
		/* level 0 never compresses */
		CHECK(round_trip(type, txt, n, 0, cctx, dctx) ==
		      n + BLOB_OVERHEAD);
		/* empty and tiny */
		CHECK(round_trip(type, txt, 0, 3, NULL, NULL) == BLOB_OVERHEAD);
		CHECK(round_trip(type, NULL, 0, 3, cctx, dctx) ==
		      BLOB_OVERHEAD);
		CHECK(round_trip(type, txt, 1, 3, cctx, dctx) ==
		      1 + BLOB_OVERHEAD);
		CHECK(round_trip(type, txt, 30, 3, cctx, dctx) <=
		      30 + BLOB_OVERHEAD);
	}
	ZSTD_freeCCtx(cctx);
	ZSTD_freeDCtx(dctx);
	free(rnd);
	free(txt);
}

static void test_args(void)
{
	struct buf rec = BUF_INIT;
	uint8_t id[32] = {0}, b = 0;
	CHECK_RC(blob_encode(key, 2, id, &b, 1, 3, NULL, &rec), CAIRN_E_INVAL);
	CHECK_RC(blob_encode(key, 0, id, &b, 1, -1, NULL, &rec),
		 CAIRN_E_INVAL);
	CHECK_RC(blob_encode(key, 0, id, &b, 1, ZSTD_maxCLevel() + 1, NULL,
			     &rec), CAIRN_E_INVAL);
	/* sizes are checked before the input is read */
	CHECK_RC(blob_encode(key, BLOB_DATA, id, &b, BLOB_RAW_MAX + 1u, 3,
			     NULL, &rec), CAIRN_E_RANGE);
	CHECK_RC(blob_encode(key, BLOB_TREE, id, &b, TREE_RAW_MAX + 1u, 3,
			     NULL, &rec), CAIRN_E_RANGE);
	CHECK(rec.len == 0);
	buf_free(&rec);
}

/* Decoding must fail with CORRUPT and leave out empty. */
static void expect_corrupt(uint8_t type, const uint8_t id[32],
			   const uint8_t *rec, size_t len, uint64_t raw_length,
			   const uint8_t *k)
{
	struct buf out = BUF_INIT;
	CHECK_RC(buf_put(&out, "stale", 5), 0);
	CHECK_RC(blob_decode(k, type, id, rec, len, raw_length, NULL, &out),
		 CAIRN_E_CORRUPT);
	CHECK(out.len == 0);
	for (size_t i = 0; i < out.cap; i++)
		if (out.p[i]) {
			CHECK(!"output not wiped");
			break;
		}
	buf_free(&out);
}

static void test_tamper(void)
{
	uint8_t id[32], other[32], wrong_key[32];
	test_fill(&rng, id, 32);
	memcpy(other, id, 32);
	other[31] ^= 1;
	memcpy(wrong_key, key, 32);
	wrong_key[0] ^= 0x80;
	char txt[3000];
	for (size_t i = 0; i < sizeof txt; i++)
		txt[i] = "abcabcabd"[i % 9];

	for (int level = 0; level <= 3; level += 3) {
		struct buf rec = BUF_INIT;
		CHECK_RC(blob_encode(key, BLOB_DATA, id, txt, sizeof txt,
				     level, NULL, &rec), 0);
		expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt,
			       wrong_key);
		expect_corrupt(BLOB_TREE, id, rec.p, rec.len, sizeof txt, key);
		expect_corrupt(2, id, rec.p, rec.len, sizeof txt, key);
		expect_corrupt(BLOB_DATA, other, rec.p, rec.len, sizeof txt,
			       key);
		expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt - 1,
			       key);
		expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt + 1,
			       key);
		expect_corrupt(BLOB_DATA, id, rec.p, rec.len, 0, key);
		expect_corrupt(BLOB_DATA, id, rec.p, rec.len,
			       (uint64_t)BLOB_RAW_MAX + 1, key);
		/* every bit of a short record; a sample of a long one */
		size_t step = rec.len > 200 ? 7 : 1;
		for (size_t bit = 0; bit < rec.len * 8; bit += step) {
			rec.p[bit / 8] ^= (uint8_t)(1u << bit % 8);
			expect_corrupt(BLOB_DATA, id, rec.p, rec.len,
				       sizeof txt, key);
			rec.p[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
		/* truncated and extended */
		for (size_t l = 0; l < rec.len; l += l < 50 ? 1 : 97)
			expect_corrupt(BLOB_DATA, id, rec.p, l, sizeof txt,
				       key);
		CHECK_RC(buf_put_u8(&rec, 0), 0);
		expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt, key);
		buf_free(&rec);
	}
}

/* Encrypts a hand-made plaintext (encoding byte + body) as a record. */
static void seal_plain(uint8_t type, const uint8_t id[32], const void *plain,
		       size_t n, struct buf *rec)
{
	uint8_t ad[33];
	ad[0] = type;
	memcpy(ad + 1, id, 32);
	rec->len = 0;
	CHECK_RC(buf_reserve(rec, 24 + n + 16), 0);
	randombytes_buf(rec->p, 24);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec->p + 24, &clen, plain, n,
						   ad, 33, NULL, rec->p, key);
	rec->len = 24 + (size_t)clen;
}

static void test_bad_plaintext(void)
{
	uint8_t id[32], plain[4096];
	test_fill(&rng, id, 32);
	char txt[2000];
	memset(txt, 'x', sizeof txt);
	struct buf rec = BUF_INIT, out = BUF_INIT;

	/* a well-formed zstd record made by hand decodes */
	plain[0] = 1;
	size_t fl = ZSTD_compress(plain + 1, sizeof plain - 1, txt, sizeof txt,
				  3);
	CHECK(!ZSTD_isError(fl));
	seal_plain(BLOB_DATA, id, plain, 1 + fl, &rec);
	CHECK_RC(blob_decode(key, BLOB_DATA, id, rec.p, rec.len, sizeof txt,
			     NULL, &out), 0);
	CHECK(out.len == sizeof txt && memcmp(out.p, txt, sizeof txt) == 0);
	/* the same frame, wrong length expected */
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt - 1, key);
	/* a trailing byte after the frame */
	plain[1 + fl] = 0;
	seal_plain(BLOB_DATA, id, plain, 2 + fl, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt, key);
	/* two frames */
	memcpy(plain + 1 + fl, plain + 1, fl);
	seal_plain(BLOB_DATA, id, plain, 1 + 2 * fl, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt, key);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, 2 * sizeof txt, key);
	/* truncated frame */
	seal_plain(BLOB_DATA, id, plain, fl, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt, key);
	/* unknown encodings */
	plain[0] = 2;
	seal_plain(BLOB_DATA, id, plain, 1 + fl, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt, key);
	plain[0] = 0xff;
	seal_plain(BLOB_DATA, id, plain, 1, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, 0, key);
	/* an empty plaintext (no encoding byte) */
	seal_plain(BLOB_DATA, id, plain, 0, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, 0, key);
	/* encoding 1 with a non-zstd body */
	plain[0] = 1;
	memset(plain + 1, 0, 16);
	seal_plain(BLOB_DATA, id, plain, 17, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, 0, key);

	/* a frame without a content size */
	ZSTD_CCtx *c = ZSTD_createCCtx();
	CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag,
						   0)));
	fl = ZSTD_compress2(c, plain + 1, sizeof plain - 1, txt, sizeof txt);
	CHECK(!ZSTD_isError(fl));
	ZSTD_freeCCtx(c);
	CHECK(ZSTD_getFrameContentSize(plain + 1, fl) ==
	      ZSTD_CONTENTSIZE_UNKNOWN);
	plain[0] = 1;
	seal_plain(BLOB_DATA, id, plain, 1 + fl, &rec);
	expect_corrupt(BLOB_DATA, id, rec.p, rec.len, sizeof txt, key);

	/* raw body of the wrong length */
	plain[0] = 0;
	memcpy(plain + 1, txt, 100);
	seal_plain(BLOB_TREE, id, plain, 101, &rec);
	CHECK_RC(blob_decode(key, BLOB_TREE, id, rec.p, rec.len, 100, NULL,
			     &out), 0);
	expect_corrupt(BLOB_TREE, id, rec.p, rec.len, 99, key);
	expect_corrupt(BLOB_TREE, id, rec.p, rec.len, 101, key);

	buf_free(&rec);
	buf_free(&out);
}

/* Decrypts a record to its plaintext (encoding byte + body) into plain;
 * 0 or -1. */
static int open_plain(const uint8_t k[32], uint8_t type, const uint8_t id[32],
		      const uint8_t *rec, size_t len, struct buf *plain)
{
	uint8_t ad[33];
	unsigned long long mlen;
	ad[0] = type;
	memcpy(ad + 1, id, 32);
	plain->len = 0;
	if (len < 40 || buf_reserve(plain, len) < 0)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    plain->p, &mlen, NULL, rec + 24, len - 24, ad, 33, rec, k) != 0)
		return -1;
	plain->len = (size_t)mlen;
	return 0;
}

/* blob_rekey must fail with CORRUPT, keep out's length and content, and
 * leave no plaintext beyond (the spare room starts zeroed). */
static void expect_rekey_corrupt(const uint8_t *old, uint8_t type,
				 const uint8_t id[32], const uint8_t *rec,
				 size_t len)
{
	static const uint8_t new_key[32] = {1, 2, 3};
	struct buf out = BUF_INIT;
	CHECK_RC(buf_reserve(&out, len + 4), 0);
	memset(out.p, 0, out.cap);
	CHECK_RC(buf_put(&out, "kept", 4), 0);
	CHECK_RC(blob_rekey(old, new_key, type, id, rec, len, &out),
		 CAIRN_E_CORRUPT);
	CHECK(out.len == 4 && memcmp(out.p, "kept", 4) == 0);
	for (size_t i = 4; i < out.cap; i++)
		if (out.p[i]) {
			CHECK(!"rekey output not wiped");
			break;
		}
	buf_free(&out);
}

/* Re-encrypts rec (under key, of plaintext raw/n) to a fresh key: the new
 * record has a new nonce, the same length and plaintext (encoding and
 * body, so nothing was recompressed), decodes under the new key only, and
 * every damaged input is refused. */
static void check_rekey(uint8_t type, const uint8_t id[32], const uint8_t *rec,
			size_t len, const void *raw, size_t n,
			const struct blob_dict_resolver *res)
{
	uint8_t new_key[32], other[32];
	struct buf out = BUF_INIT, back = BUF_INIT, dec = BUF_INIT;
	struct buf p0 = BUF_INIT, p1 = BUF_INIT;
	test_fill(&rng, new_key, 32);

	CHECK_RC(buf_put(&out, "prefix", 6), 0);
	CHECK_RC(blob_rekey(key, new_key, type, id, rec, len, &out), 0);
	CHECK(out.len == 6 + len && memcmp(out.p, "prefix", 6) == 0);
	const uint8_t *nrec = out.p + 6;
	CHECK(memcmp(nrec, rec, 24) != 0);
	CHECK(open_plain(key, type, id, rec, len, &p0) == 0);
	CHECK(open_plain(new_key, type, id, nrec, len, &p1) == 0);
	CHECK(p0.len == p1.len && p0.len == len - BLOB_OVERHEAD + 1 &&
	      memcmp(p0.p, p1.p, p0.len) == 0);
	CHECK_RC(blob_decode_dict(new_key, type, id, nrec, len, n, NULL, res,
				  &dec), 0);
	CHECK(dec.len == n && (n == 0 || memcmp(dec.p, raw, n) == 0));
	CHECK_RC(blob_decode_dict(key, type, id, nrec, len, n, NULL, res, &dec),
		 CAIRN_E_CORRUPT);
	/* and back: a second fresh nonce, the original key opens it */
	CHECK_RC(blob_rekey(new_key, key, type, id, nrec, len, &back), 0);
	CHECK(back.len == len && memcmp(back.p, nrec, 24) != 0 &&
	      memcmp(back.p, rec, 24) != 0);
	CHECK_RC(blob_decode_dict(key, type, id, back.p, back.len, n, NULL, res,
				  &dec), 0);
	CHECK(dec.len == n && (n == 0 || memcmp(dec.p, raw, n) == 0));

	/* the old key is now the wrong one; so is any other */
	expect_rekey_corrupt(new_key, type, id, rec, len);
	memcpy(other, key, 32);
	other[31] ^= 0x01;
	expect_rekey_corrupt(other, type, id, rec, len);
	/* wrong type or id, truncated, extended */
	memcpy(other, id, 32);
	other[0] ^= 0x40;
	expect_rekey_corrupt(key, type, other, rec, len);
	expect_rekey_corrupt(key, type ^ 1, id, rec, len);
	expect_rekey_corrupt(key, 2, id, rec, len);
	for (size_t l = 0; l < len; l += l < 60 ? 1 : 101)
		expect_rekey_corrupt(key, type, id, rec, l);
	uint8_t *longer = malloc(len + 1);
	CHECK(longer != NULL);
	if (longer) {
		memcpy(longer, rec, len);
		longer[len] = 0;
		expect_rekey_corrupt(key, type, id, longer, len + 1);
		/* every bit of a short record; a sample of a long one */
		size_t step = len > 300 ? 13 : 1;
		for (size_t bit = 0; bit < len * 8; bit += step) {
			longer[bit / 8] ^= (uint8_t)(1u << bit % 8);
			expect_rekey_corrupt(key, type, id, longer, len);
			longer[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
		free(longer);
	}
	buf_free(&out);
	buf_free(&back);
	buf_free(&dec);
	buf_free(&p0);
	buf_free(&p1);
}

static void test_rekey(void)
{
	uint8_t id[32], rnd[700];
	char txt[5000];
	test_fill(&rng, rnd, sizeof rnd);
	for (size_t i = 0; i < sizeof txt; i++)
		txt[i] = "rekey moves records between packs. "[i % 35];
	for (uint8_t type = 0; type <= 1; type++) {
		struct buf rec = BUF_INIT;
		test_fill(&rng, id, 32);
		/* raw (incompressible), zstd, empty */
		CHECK_RC(blob_encode(key, type, id, rnd, sizeof rnd, 3, NULL,
				     &rec), 0);
		CHECK(rec.len == sizeof rnd + BLOB_OVERHEAD);
		check_rekey(type, id, rec.p, rec.len, rnd, sizeof rnd, NULL);
		rec.len = 0;
		CHECK_RC(blob_encode(key, type, id, txt, sizeof txt, 3, NULL,
				     &rec), 0);
		CHECK(rec.len < sizeof txt / 4);
		check_rekey(type, id, rec.p, rec.len, txt, sizeof txt, NULL);
		rec.len = 0;
		CHECK_RC(blob_encode(key, type, id, NULL, 0, 3, NULL, &rec), 0);
		check_rekey(type, id, rec.p, rec.len, NULL, 0, NULL);
		buf_free(&rec);
	}
}

/* Encoding 2: a dictionary trained on similar text makes the record
 * smaller than plain zstd; decoding needs the resolver, a missing or
 * different dictionary fails, and tree blobs never use one. */
static const ZSTD_DDict *test_ddict;
static uint8_t test_dict_id[32];

static int test_resolve(void *ud, const uint8_t id[32], const ZSTD_DDict **ret)
{
	(void)ud;
	if (memcmp(id, test_dict_id, 32) != 0)
		return CAIRN_E_NOTFOUND;
	*ret = test_ddict;
	return 0;
}

static void test_dictionary(void)
{
	enum { NS = 64, SL = 4096 };
	static char samples[NS * SL];
	size_t sizes[NS];
	char text[SL];
	size_t total = 0;
	for (size_t i = 0; i < NS; i++) {
		/* samples lie end to end, as the trainer wants them */
		char *p = samples + total;
		size_t o = 0;
		while (o + 80 < SL)
			o += (size_t)snprintf(p + o, SL - o,
					      "INSERT INTO t VALUES (%zu, 'name-%zu', '2026-11-%02zu');\n",
					      i * 97 + o, o * 31 % 1000, o % 28 + 1);
		sizes[i] = o;
		total += o;
	}
	uint8_t dbuf[16384];
	size_t dlen = ZDICT_trainFromBuffer(dbuf, sizeof dbuf, samples, sizes, NS);
	CHECK(!ZDICT_isError(dlen));
	if (ZDICT_isError(dlen))
		return;
	ZSTD_CDict *cd = ZSTD_createCDict(dbuf, dlen, 3);
	ZSTD_DDict *dd = ZSTD_createDDict(dbuf, dlen);
	test_ddict = dd;
	test_fill(&rng, test_dict_id, 32);
	struct blob_dict bd;
	memcpy(bd.id, test_dict_id, 32);
	bd.cdict = cd;
	struct blob_dict_resolver res = {test_resolve, NULL};

	/* a short blob, where a window of its own holds little to match */
	size_t n = 0;
	while (n + 80 < 700)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "INSERT INTO t VALUES (%zu, 'name-%zu', '2026-11-%02zu');\n",
				      n * 13, n % 977, n % 28 + 1);
	uint8_t id[32];
	test_fill(&rng, id, 32);
	struct buf plain = BUF_INIT, withd = BUF_INIT, out = BUF_INIT;
	CHECK_RC(blob_encode(key, BLOB_DATA, id, text, n, 3, NULL, &plain), 0);
	CHECK_RC(blob_encode_dict(key, BLOB_DATA, id, text, n, 3, NULL, &bd,
				  &withd), 0);
	if (!(withd.len < plain.len))
		fprintf(stderr, "with dict %zu, plain %zu, raw %zu\n", withd.len, plain.len, n);
	CHECK(withd.len < plain.len);
	CHECK_RC(blob_decode_dict(key, BLOB_DATA, id, withd.p, withd.len, n,
				  NULL, &res, &out), 0);
	CHECK(out.len == n && !memcmp(out.p, text, n));
	/* rekeyed, it still needs the dictionary */
	check_rekey(BLOB_DATA, id, withd.p, withd.len, text, n, &res);
	struct buf moved = BUF_INIT;
	uint8_t new_key[32];
	test_fill(&rng, new_key, 32);
	CHECK_RC(blob_rekey(key, new_key, BLOB_DATA, id, withd.p, withd.len,
			    &moved), 0);
	CHECK_RC(blob_decode(new_key, BLOB_DATA, id, moved.p, moved.len, n,
			     NULL, &out), CAIRN_E_CORRUPT);
	CHECK_RC(blob_decode_dict(new_key, BLOB_DATA, id, moved.p, moved.len,
				  n, NULL, &res, &out), 0);
	buf_free(&moved);
	/* no resolver, or an unknown dictionary */
	CHECK_RC(blob_decode(key, BLOB_DATA, id, withd.p, withd.len, n, NULL,
			     &out), CAIRN_E_CORRUPT);
	uint8_t saved = test_dict_id[0];
	test_dict_id[0] ^= 1;
	CHECK_RC(blob_decode_dict(key, BLOB_DATA, id, withd.p, withd.len, n,
				  NULL, &res, &out), CAIRN_E_NOTFOUND);
	test_dict_id[0] = saved;
	/* incompressible data falls back to raw even with a dictionary */
	uint8_t rnd[3000];
	test_fill(&rng, rnd, sizeof rnd);
	withd.len = 0;
	CHECK_RC(blob_encode_dict(key, BLOB_DATA, id, rnd, sizeof rnd, 3, NULL,
				  &bd, &withd), 0);
	CHECK(withd.len == sizeof rnd + BLOB_OVERHEAD);
	CHECK_RC(blob_decode_dict(key, BLOB_DATA, id, withd.p, withd.len,
				  sizeof rnd, NULL, &res, &out), 0);
	CHECK(out.len == sizeof rnd && !memcmp(out.p, rnd, sizeof rnd));
	buf_free(&plain);
	buf_free(&withd);
	buf_free(&out);
	ZSTD_freeCDict(cd);
	ZSTD_freeDDict(dd);
}

int main(void)
{
	if (crypto_setup() < 0)
		return 1;
	rng = test_seed("test_blob");
	test_fill(&rng, key, sizeof key);
	test_round_trips();
	test_args();
	test_tamper();
	test_bad_plaintext();
	test_rekey();
	test_dictionary();
	return test_done("test_blob");
}
