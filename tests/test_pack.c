/* test_pack.c: pack files (format.md 7).
 *
 * A pack of random blobs is written to a memory sink and opened again the
 * way a reader does (tail, sealed key, header, each record); a flipped bit
 * anywhere in header, sealed key or trailer must make one of those steps
 * fail; hand-made headers break each rule in turn.
 *
 * Golden vectors:
 * - packheader_v1.bin: the header plaintext of golden_entries() below.
 * - pack_v1.bin: one complete encrypted data pack; pack_v1.txt holds its
 *   data key pair, the chunk-ID key, its name, and each blob's id, raw
 *   length and content.  The test opens it fully and checks every byte.
 *   Regenerate both with CAIRN_REGEN_VECTORS=1 (new random keys and
 *   nonces: the old files stop matching, so do this only on a format
 *   change).
 */
#include "blob.h"
#include "cairn_err.h"
#include "crypto.h"
#include "pack.h"
#include "testutil.h"

#include <sodium.h>
#include <string.h>

static uint64_t rng;

static int mem_sink(void *ud, const void *p, size_t n)
{
	return buf_put(ud, p, n);
}

struct fail_sink {
	size_t left;
};

static int failing_sink(void *ud, const void *p, size_t n)
{
	struct fail_sink *f = ud;
	if (n > f->left)
		return CAIRN_E_IO;
	f->left -= n;
	return 0;
}

/* Opens a pack as a reader does; returns the first failure. */
static int open_pack(const uint8_t *file, size_t len, const uint8_t pk[32],
		     const uint8_t sk[32], uint8_t key[32],
		     struct pack_trailer *tr, struct pack_entry **e,
		     size_t *n)
{
	int rc;
	if (len < PACK_TAIL_LEN)
		return CAIRN_E_CORRUPT;
	rc = pack_tail_parse(file + len - PACK_TAIL_LEN, len, tr);
	if (rc < 0)
		return rc;
	rc = pack_key_open(pk, sk, tr->sealed_key, key);
	if (rc < 0)
		return rc;
	return pack_header_decode(key, tr, file + tr->header_offset,
				  tr->header_ct_len, e, n);
}

struct blobspec {
	uint8_t id[32];
	uint8_t *data;
	size_t n;
};

static void test_round_trip(void)
{
	uint8_t pk[32], sk[32], key[32], name[32], h[32];
	crypto_box_keypair(pk, sk);
	struct buf file = BUF_INIT, rec = BUF_INIT, out = BUF_INIT;
	struct pack_writer *w = NULL;
	enum { NB = 40 };
	struct blobspec b[NB];

	for (uint8_t type = 0; type <= 1; type++) {
		file.len = 0;
		CHECK_RC(pack_writer_new(pk, type, mem_sink, &file, &w), 0);
		if (!w)
			return;
		CHECK(pack_writer_type(w) == type);
		CHECK_RC(pack_writer_finish(w, name), CAIRN_E_INVAL); /* empty */
		for (size_t i = 0; i < NB; i++) {
			b[i].n = (size_t)(test_rand(&rng) % 5000);
			if (i == 0)
				b[i].n = 0;
			b[i].data = malloc(b[i].n + 1);
			if (i % 2)
				test_fill(&rng, b[i].data, b[i].n);
			else
				memset(b[i].data, (int)i, b[i].n);
			test_fill(&rng, b[i].id, 32);
			rec.len = 0;
			CHECK_RC(blob_encode(pack_writer_key(w), type, b[i].id,
					     b[i].data, b[i].n, 3, NULL, &rec),
				 0);
			uint64_t before = pack_writer_size(w);
			CHECK_RC(pack_writer_add(w, b[i].id, rec.p, rec.len,
						 b[i].n), 0);
			CHECK(pack_writer_size(w) == before + rec.len);
			CHECK(pack_writer_count(w) == i + 1);
		}
		uint64_t records = pack_writer_size(w);
		CHECK_RC(pack_writer_finish(w, name), 0);
		CHECK(pack_writer_size(w) == file.len);
		/* the name is the hash of every byte */
		crypto_object_hash(file.p, file.len, h);
		CHECK(memcmp(h, name, 32) == 0);
		/* a finished writer takes nothing more */
		CHECK_RC(pack_writer_add(w, b[0].id, rec.p, rec.len, b[0].n),
			 CAIRN_E_INVAL);
		CHECK_RC(pack_writer_finish(w, name), CAIRN_E_INVAL);

		struct pack_trailer tr;
		struct pack_entry *e = NULL;
		size_t n = 0;
		CHECK_RC(open_pack(file.p, file.len, pk, sk, key, &tr, &e, &n),
			 0);
		CHECK(tr.type == type && tr.version == 1);
		CHECK(tr.header_offset == records);
		CHECK(memcmp(key, pack_writer_key(w), 32) == 0);
		size_t wn = 0;
		const struct pack_entry *we = pack_writer_entries(w, &wn);
		CHECK(n == NB && wn == NB);
		for (size_t i = 0; e && i < n && i < NB; i++) {
			CHECK(memcmp(&e[i], &we[i], sizeof e[i]) == 0 ||
			      (e[i].type == we[i].type &&
			       memcmp(e[i].id, we[i].id, 32) == 0 &&
			       e[i].offset == we[i].offset &&
			       e[i].length == we[i].length &&
			       e[i].raw_length == we[i].raw_length));
			CHECK(memcmp(e[i].id, b[i].id, 32) == 0);
			CHECK(e[i].raw_length == b[i].n);
			CHECK_RC(blob_decode(key, type, e[i].id,
					     file.p + e[i].offset, e[i].length,
					     e[i].raw_length, NULL, &out), 0);
			CHECK(out.len == b[i].n &&
			      (b[i].n == 0 ||
			       memcmp(out.p, b[i].data, b[i].n) == 0));
		}
		free(e);

		/* a flipped bit anywhere after the records fails a step */
		for (uint64_t bit = records * 8; bit < file.len * 8; bit += 3) {
			file.p[bit / 8] ^= (uint8_t)(1u << bit % 8);
			e = NULL;
			int rc = open_pack(file.p, file.len, pk, sk, key, &tr,
					   &e, &n);
			CHECK(rc == CAIRN_E_CORRUPT || rc == CAIRN_E_UNSUPPORTED);
			CHECK(e == NULL);
			file.p[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
		/* wrong secret key */
		uint8_t pk2[32], sk2[32];
		crypto_box_keypair(pk2, sk2);
		CHECK_RC(open_pack(file.p, file.len, pk2, sk2, key, &tr, &e,
				   &n), CAIRN_E_CORRUPT);
		/* the tail read against a wrong file size */
		CHECK_RC(open_pack(file.p + 1, file.len - 1, pk, sk, key, &tr,
				   &e, &n), CAIRN_E_CORRUPT);

		for (size_t i = 0; i < NB; i++)
			free(b[i].data);
		pack_writer_free(w);
		w = NULL;
	}
	buf_free(&file);
	buf_free(&rec);
	buf_free(&out);
}

static void test_writer_errors(void)
{
	uint8_t pk[32], sk[32], id[32] = {1}, name[32];
	crypto_box_keypair(pk, sk);
	struct pack_writer *w = NULL;
	struct buf file = BUF_INIT, rec = BUF_INIT;

	CHECK_RC(pack_writer_new(pk, 2, mem_sink, &file, &w), CAIRN_E_INVAL);
	CHECK_RC(pack_writer_new(pk, 0, NULL, &file, &w), CAIRN_E_INVAL);
	/* a public key of small order (all zero) cannot be sealed to */
	uint8_t zero[32] = {0};
	CHECK_RC(pack_writer_new(zero, 0, mem_sink, &file, &w), CAIRN_E_INVAL);
	CHECK(w == NULL);

	CHECK_RC(pack_writer_new(pk, BLOB_DATA, mem_sink, &file, &w), 0);
	uint8_t small[BLOB_OVERHEAD + 8] = {0};
	CHECK_RC(pack_writer_add(w, id, small, BLOB_OVERHEAD - 1, 0),
		 CAIRN_E_INVAL);
	/* a body longer than the raw bytes cannot come from blob_encode */
	CHECK_RC(pack_writer_add(w, id, small, BLOB_OVERHEAD + 8, 7),
		 CAIRN_E_INVAL);
	CHECK_RC(pack_writer_add(w, id, small, BLOB_OVERHEAD,
				 BLOB_RAW_MAX + 1u), CAIRN_E_RANGE);
	CHECK(pack_writer_count(w) == 0 && file.len == 0);
	pack_writer_free(w);

	/* a sink failure sticks */
	struct fail_sink fs = {100};
	CHECK_RC(pack_writer_new(pk, BLOB_TREE, failing_sink, &fs, &w), 0);
	CHECK_RC(blob_encode(pack_writer_key(w), BLOB_TREE, id, "abc", 3, 3,
			     NULL, &rec), 0);
	CHECK_RC(pack_writer_add(w, id, rec.p, rec.len, 3), 0);
	CHECK_RC(pack_writer_add(w, id, rec.p, rec.len, 3), 0);
	CHECK_RC(pack_writer_add(w, id, rec.p, rec.len, 3), CAIRN_E_IO);
	CHECK_RC(pack_writer_add(w, id, rec.p, rec.len, 3), CAIRN_E_IO);
	CHECK_RC(pack_writer_finish(w, name), CAIRN_E_IO);
	CHECK(pack_writer_count(w) == 2);
	pack_writer_free(w);
	/* ... also while finishing */
	fs.left = 2 * rec.len + 10;
	CHECK_RC(pack_writer_new(pk, BLOB_TREE, failing_sink, &fs, &w), 0);
	CHECK_RC(pack_writer_add(w, id, rec.p, rec.len, 3), 0);
	CHECK_RC(pack_writer_finish(w, name), CAIRN_E_IO);
	CHECK_RC(pack_writer_finish(w, name), CAIRN_E_IO);
	pack_writer_free(w);
	pack_writer_free(NULL);
	buf_free(&file);
	buf_free(&rec);
}

/* ---- plaintext header ---------------------------------------------------- */

static void golden_entries(struct pack_entry e[4], uint64_t *records)
{
	memset(e, 0, 4 * sizeof *e);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 32; j++)
			e[i].id[j] = (uint8_t)(i * 32 + j);
	e[0].length = BLOB_OVERHEAD;          /* an empty blob */
	e[0].raw_length = 0;
	e[1].length = 300;                    /* compressed: 2-byte varints */
	e[1].raw_length = 1000;
	e[2].length = 65536 + BLOB_OVERHEAD;  /* stored raw: 3-byte varints */
	e[2].raw_length = 65536;
	e[3].length = BLOB_RAW_MAX + BLOB_OVERHEAD; /* largest data blob */
	e[3].raw_length = BLOB_RAW_MAX;
	uint64_t off = 0;
	for (int i = 0; i < 4; i++) {
		e[i].offset = off;
		off += e[i].length;
	}
	*records = off;
}

static void test_header_golden(void)
{
	struct pack_entry g[4], *e = NULL;
	uint64_t records;
	size_t n = 0, flen = 0;
	struct buf enc = BUF_INIT;

	golden_entries(g, &records);
	CHECK_RC(pack_header_encode_plain(g, 4, &enc), 0);
	uint8_t *file = test_read_file(test_vector_path("packheader_v1.bin"),
				       &flen);
	CHECK(file != NULL);
	if (file) {
		CHECK(flen == enc.len && memcmp(file, enc.p, flen) == 0);
		CHECK_RC(pack_header_decode_plain(file, flen, BLOB_DATA,
						  records, &e, &n), 0);
		CHECK(n == 4);
		for (size_t i = 0; e && i < 4; i++) {
			CHECK(e[i].type == 0);
			CHECK(memcmp(e[i].id, g[i].id, 32) == 0);
			CHECK(e[i].offset == g[i].offset);
			CHECK(e[i].length == g[i].length);
			CHECK(e[i].raw_length == g[i].raw_length);
		}
		free(e);
	}
	free(file);
	buf_free(&enc);
}

static void test_header_rules(void)
{
	struct pack_entry g[4], *e = NULL;
	uint64_t records;
	size_t n = 0;
	struct buf enc = BUF_INIT, bad = BUF_INIT;

	golden_entries(g, &records);
	CHECK_RC(pack_header_encode_plain(g, 4, &enc), 0);
	CHECK_RC(pack_header_decode_plain(enc.p, enc.len, BLOB_DATA, records,
					  &e, &n), 0);
	free(e);
	e = NULL;
	/* lengths must sum to the records' extent */
	CHECK_RC(pack_header_decode_plain(enc.p, enc.len, BLOB_DATA,
					  records - 1, &e, &n),
		 CAIRN_E_CORRUPT);
	CHECK_RC(pack_header_decode_plain(enc.p, enc.len, BLOB_DATA,
					  records + 1, &e, &n),
		 CAIRN_E_CORRUPT);
	CHECK_RC(pack_header_decode_plain(enc.p, enc.len, BLOB_DATA, 0, &e,
					  &n), CAIRN_E_CORRUPT);
	/* types must equal the pack's, which must be 0 or 1 (found by
	 * fuzz_packheader: entries of type 2 in a "pack of type 2") */
	CHECK_RC(pack_header_decode_plain(enc.p, enc.len, BLOB_TREE, records,
					  &e, &n), CAIRN_E_CORRUPT);
	bad.len = 0;
	CHECK_RC(buf_put(&bad, enc.p, enc.len), 0);
	for (size_t i = 0, at = 2; i < 4; i++) {
		bad.p[at] = 2;
		at += 1 + 32 + (i == 0 ? 2 : i == 1 ? 4 : i == 2 ? 6 : 8);
	}
	CHECK_RC(pack_header_decode_plain(bad.p, bad.len, 2, records, &e, &n),
		 CAIRN_E_CORRUPT);
	/* every truncation fails, and so does a trailing byte */
	for (size_t l = 0; l < enc.len; l++)
		CHECK(pack_header_decode_plain(enc.p, l, BLOB_DATA, records, &e,
					       &n) < 0);
	CHECK_RC(buf_put(&bad, enc.p, enc.len), 0);
	CHECK_RC(buf_put_u8(&bad, 0), 0);
	CHECK_RC(pack_header_decode_plain(bad.p, bad.len, BLOB_DATA, records,
					  &e, &n), CAIRN_E_CORRUPT);
	/* version */
	bad.len = 0;
	CHECK_RC(buf_put(&bad, enc.p, enc.len), 0);
	bad.p[0] = 2;
	CHECK_RC(pack_header_decode_plain(bad.p, bad.len, BLOB_DATA, records,
					  &e, &n), CAIRN_E_UNSUPPORTED);
	/* n = 0, and n larger than the bytes can hold */
	uint8_t zero[2] = {1, 0};
	CHECK_RC(pack_header_decode_plain(zero, 2, BLOB_DATA, 0, &e, &n),
		 CAIRN_E_CORRUPT);
	bad.len = 0;
	CHECK_RC(buf_put_u8(&bad, 1), 0);
	CHECK_RC(buf_put_varint(&bad, PACK_MAX_BLOBS + 1u), 0);
	CHECK_RC(pack_header_decode_plain(bad.p, bad.len, BLOB_DATA, 0, &e, &n),
		 CAIRN_E_CORRUPT);
	bad.len = 0;
	CHECK_RC(buf_put_u8(&bad, 1), 0);
	CHECK_RC(buf_put_varint(&bad, PACK_MAX_BLOBS), 0);
	CHECK_RC(pack_header_decode_plain(bad.p, bad.len, BLOB_DATA, 0, &e, &n),
		 CAIRN_E_CORRUPT);
	/* impossible record lengths */
	struct pack_entry one = {0};
	uint64_t cases[][2] = {
		{BLOB_OVERHEAD - 1, 0},                      /* too short */
		{BLOB_RAW_MAX + BLOB_OVERHEAD + 1, 10},      /* too long */
		{BLOB_OVERHEAD + 5, BLOB_RAW_MAX + 1},       /* raw too long */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		one.length = cases[i][0];
		one.raw_length = cases[i][1];
		bad.len = 0;
		CHECK_RC(pack_header_encode_plain(&one, 1, &bad), 0);
		CHECK_RC(pack_header_decode_plain(bad.p, bad.len, BLOB_DATA,
						  one.length, &e, &n),
			 CAIRN_E_CORRUPT);
	}
	/* a tree pack allows larger blobs */
	one.type = BLOB_TREE;
	one.length = TREE_RAW_MAX + BLOB_OVERHEAD;
	one.raw_length = TREE_RAW_MAX;
	bad.len = 0;
	CHECK_RC(pack_header_encode_plain(&one, 1, &bad), 0);
	CHECK_RC(pack_header_decode_plain(bad.p, bad.len, BLOB_TREE,
					  one.length, &e, &n), 0);
	free(e);
	e = NULL;
	/* the encoder refuses mixed types and bad counts */
	g[2].type = 1;
	bad.len = 0;
	CHECK_RC(pack_header_encode_plain(g, 4, &bad), CAIRN_E_INVAL);
	CHECK(bad.len == 0);
	CHECK_RC(pack_header_encode_plain(g, 0, &bad), CAIRN_E_INVAL);
	buf_free(&enc);
	buf_free(&bad);
}

/* A well-encrypted header whose lengths do not fit the file is refused. */
static void test_header_mismatch(void)
{
	uint8_t pk[32], sk[32], key[32], id[32] = {7}, name[32];
	crypto_box_keypair(pk, sk);
	struct buf file = BUF_INIT, rec = BUF_INIT, hdr = BUF_INIT;
	struct pack_writer *w = NULL;

	CHECK_RC(pack_writer_new(pk, BLOB_DATA, mem_sink, &file, &w), 0);
	CHECK_RC(blob_encode(pack_writer_key(w), BLOB_DATA, id, "hello", 5, 3,
			     NULL, &rec), 0);
	CHECK_RC(pack_writer_add(w, id, rec.p, rec.len, 5), 0);
	CHECK_RC(pack_writer_finish(w, name), 0);
	memcpy(key, pack_writer_key(w), 32);
	pack_writer_free(w);

	/* rebuild the pack with a header claiming one byte more */
	struct pack_entry e = {.type = 0, .length = rec.len + 1, .raw_length = 5};
	memcpy(e.id, id, 32);
	CHECK_RC(pack_header_encode_plain(&e, 1, &hdr), 0);
	struct buf p2 = BUF_INIT;
	CHECK_RC(buf_put(&p2, file.p, rec.len), 0);
	uint8_t nonce[24];
	randombytes_buf(nonce, 24);
	CHECK_RC(buf_put(&p2, nonce, 24), 0);
	CHECK_RC(buf_reserve(&p2, hdr.len + 16 + PACK_TAIL_LEN), 0);
	unsigned long long clen;
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		p2.p + p2.len, &clen, hdr.p, hdr.len,
		(const uint8_t *)"CAIRNPK1", 8, NULL, nonce, key);
	p2.len += (size_t)clen;
	/* sealed key and trailer from the real pack, with the new length */
	CHECK_RC(buf_put(&p2, file.p + file.len - PACK_TAIL_LEN, PACK_TAIL_LEN),
		 0);
	put_le32(p2.p + p2.len - PACK_TRAILER_LEN, (uint32_t)(24 + clen));

	struct pack_trailer tr;
	struct pack_entry *got = NULL;
	size_t n;
	CHECK_RC(open_pack(p2.p, p2.len, pk, sk, key, &tr, &got, &n),
		 CAIRN_E_CORRUPT);
	CHECK(got == NULL);
	/* and with the right length it opens: the construction is sound */
	hdr.len = 0;
	e.length = rec.len;
	CHECK_RC(pack_header_encode_plain(&e, 1, &hdr), 0);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		p2.p + rec.len + 24, &clen, hdr.p, hdr.len,
		(const uint8_t *)"CAIRNPK1", 8, NULL, p2.p + rec.len, key);
	CHECK_RC(open_pack(p2.p, p2.len, pk, sk, key, &tr, &got, &n), 0);
	free(got);

	/* trailer field checks */
	uint8_t *t = p2.p + p2.len - PACK_TRAILER_LEN;
	struct {
		size_t at;
		uint8_t v;
		int want;
	} flips[] = {
		{4, 2, CAIRN_E_UNSUPPORTED}, {5, 2, CAIRN_E_CORRUPT},
		{6, 1, CAIRN_E_CORRUPT},     {7, 1, CAIRN_E_CORRUPT},
		{8, 'c', CAIRN_E_CORRUPT},   {15, '2', CAIRN_E_CORRUPT},
		{3, 1, CAIRN_E_CORRUPT},
	};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		uint8_t old = t[flips[i].at];
		t[flips[i].at] = flips[i].v;
		CHECK_RC(pack_tail_parse(p2.p + p2.len - PACK_TAIL_LEN, p2.len,
					 &tr), flips[i].want);
		t[flips[i].at] = old;
	}
	/* header length bounds and file size */
	CHECK_RC(pack_tail_parse(p2.p + p2.len - PACK_TAIL_LEN, p2.len, &tr), 0);
	CHECK_RC(pack_tail_parse(p2.p + p2.len - PACK_TAIL_LEN,
				 PACK_TAIL_LEN + tr.header_ct_len +
					 BLOB_OVERHEAD - 1, &tr),
		 CAIRN_E_CORRUPT);
	put_le32(t, 10);
	CHECK_RC(pack_tail_parse(p2.p + p2.len - PACK_TAIL_LEN, p2.len, &tr),
		 CAIRN_E_CORRUPT);
	put_le32(t, UINT32_MAX);
	CHECK_RC(pack_tail_parse(p2.p + p2.len - PACK_TAIL_LEN, UINT64_MAX,
				 &tr), CAIRN_E_CORRUPT);
	buf_free(&p2);
	buf_free(&file);
	buf_free(&rec);
	buf_free(&hdr);
}

/* ---- the complete golden pack ------------------------------------------ */

static void put_hex_line(FILE *f, const char *key, const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	hex_encode(h, p, n);
	fprintf(f, "%s %s\n", key, n ? h : "-");
	free(h);
}

static int regen_pack_vector(void)
{
	uint8_t pk[32], sk[32], ck[32], name[32];
	crypto_box_keypair(pk, sk);
	randombytes_buf(ck, 32);
	struct buf file = BUF_INIT, rec = BUF_INIT;
	struct pack_writer *w = NULL;
	uint8_t text[2000], rnd[100];
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (uint8_t)"cairn golden pack, version 1. "[i % 30];
	uint64_t s = 1;
	test_fill(&s, rnd, sizeof rnd);
	const struct {
		const uint8_t *p;
		size_t n;
	} blobs[3] = {{text, sizeof text}, {rnd, sizeof rnd}, {text, 0}};

	if (pack_writer_new(pk, BLOB_DATA, mem_sink, &file, &w) < 0)
		return 1;
	FILE *t = fopen(test_vector_path("pack_v1.txt"), "w");
	if (!t)
		return 1;
	fprintf(t, "# pack_v1.txt: keys and contents of pack_v1.bin, a complete data pack\n"
		   "# (docs/format.md 7) of three blobs: compressible text, 100 random\n"
		   "# bytes (stored raw), and an empty blob.  Blob ids are\n"
		   "# MAC-H(chunk_id_key, content).  Lines: data_pk, data_sk, chunk_id_key,\n"
		   "# pack_id (= H(file)), type, then one \"blob <id> <raw_length> <content\n"
		   "# hex or - when empty>\" per blob in file order.\n");
	put_hex_line(t, "data_pk", pk, 32);
	put_hex_line(t, "data_sk", sk, 32);
	put_hex_line(t, "chunk_id_key", ck, 32);
	char lines[3][4200];
	for (size_t i = 0; i < 3; i++) {
		uint8_t id[32];
		crypto_mac(ck, blobs[i].p, blobs[i].n, id);
		rec.len = 0;
		if (blob_encode(pack_writer_key(w), BLOB_DATA, id, blobs[i].p,
				blobs[i].n, 3, NULL, &rec) < 0 ||
		    pack_writer_add(w, id, rec.p, rec.len, blobs[i].n) < 0)
			return 1;
		char hid[65], hc[4001];
		hex_encode(hid, id, 32);
		hex_encode(hc, blobs[i].p, blobs[i].n);
		snprintf(lines[i], sizeof lines[i], "blob %s %zu %s\n", hid,
			 blobs[i].n, blobs[i].n ? hc : "-");
	}
	if (pack_writer_finish(w, name) < 0)
		return 1;
	put_hex_line(t, "pack_id", name, 32);
	fprintf(t, "type 0\n");
	for (size_t i = 0; i < 3; i++)
		fputs(lines[i], t);
	fclose(t);
	FILE *b = fopen(test_vector_path("pack_v1.bin"), "wb");
	if (!b || fwrite(file.p, 1, file.len, b) != file.len)
		return 1;
	fclose(b);
	pack_writer_free(w);
	buf_free(&file);
	buf_free(&rec);
	fprintf(stderr, "regenerated pack_v1.bin and pack_v1.txt\n");
	return 0;
}

/* Next whitespace-separated token of a line-oriented text (comments start
 * with '#'); NUL-terminates it in place. */
static char *next_token(char **s)
{
	char *p = *s;
	for (;;) {
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		if (*p != '#')
			break;
		while (*p && *p != '\n')
			p++;
	}
	if (!*p)
		return NULL;
	char *tok = p;
	while (*p && *p != ' ' && *p != '\n' && *p != '\t')
		p++;
	if (*p)
		*p++ = 0;
	*s = p;
	return tok;
}

static int expect_hex(char **s, const char *key, uint8_t *dst, size_t n)
{
	char *k = next_token(s), *v = next_token(s);
	if (!k || !v || strcmp(k, key) != 0)
		return -1;
	if (n == 0 || strcmp(v, "-") == 0)
		return n == 0 && strcmp(v, "-") == 0 ? 0 : -1;
	return strlen(v) == 2 * n && hex_decode(dst, n, v) == 0 ? 0 : -1;
}

static void test_pack_vector(void)
{
	size_t tlen = 0, flen = 0;
	char *txt = (char *)test_read_file(test_vector_path("pack_v1.txt"),
					   &tlen);
	uint8_t *file = test_read_file(test_vector_path("pack_v1.bin"), &flen);
	CHECK(txt && file);
	if (!txt || !file) {
		free(txt);
		free(file);
		return;
	}
	char *z = realloc(txt, tlen + 1);
	CHECK(z != NULL);
	if (!z) {
		free(txt);
		free(file);
		return;
	}
	txt = z;
	txt[tlen] = 0;
	char *s = txt;
	uint8_t pk[32], sk[32], ck[32], name[32], key[32], h[32];
	CHECK(expect_hex(&s, "data_pk", pk, 32) == 0);
	CHECK(expect_hex(&s, "data_sk", sk, 32) == 0);
	CHECK(expect_hex(&s, "chunk_id_key", ck, 32) == 0);
	CHECK(expect_hex(&s, "pack_id", name, 32) == 0);
	char *k = next_token(&s), *v = next_token(&s);
	CHECK(k && v && strcmp(k, "type") == 0 && strcmp(v, "0") == 0);

	crypto_object_hash(file, flen, h);
	CHECK(memcmp(h, name, 32) == 0);
	struct pack_trailer tr;
	struct pack_entry *e = NULL;
	size_t n = 0, i = 0;
	CHECK_RC(open_pack(file, flen, pk, sk, key, &tr, &e, &n), 0);
	CHECK(tr.type == BLOB_DATA && n == 3);
	struct buf out = BUF_INIT;
	while (e && (k = next_token(&s)) != NULL) {
		CHECK(strcmp(k, "blob") == 0);
		char *hid = next_token(&s), *len = next_token(&s);
		char *hc = next_token(&s);
		CHECK(hid && len && hc);
		if (!hid || !len || !hc || i >= n)
			break;
		uint8_t id[32];
		size_t raw = (size_t)strtoull(len, NULL, 10);
		uint8_t *content = malloc(raw + 1);
		CHECK(hex_decode(id, 32, hid) == 0);
		CHECK(raw == 0 ? strcmp(hc, "-") == 0
			       : hex_decode(content, raw, hc) == 0);
		CHECK(memcmp(e[i].id, id, 32) == 0);
		CHECK(e[i].raw_length == raw);
		CHECK_RC(blob_decode(key, BLOB_DATA, id, file + e[i].offset,
				     e[i].length, e[i].raw_length, NULL, &out),
			 0);
		CHECK(out.len == raw && (raw == 0 || memcmp(out.p, content,
							    raw) == 0));
		crypto_mac(ck, out.p, out.len, h);
		CHECK(memcmp(h, id, 32) == 0);
		free(content);
		i++;
	}
	CHECK(i == 3);
	/* the first blob is compressed, the second stored raw */
	CHECK(e && e[0].length < e[0].raw_length);
	CHECK(e && e[1].length == e[1].raw_length + BLOB_OVERHEAD);
	free(e);
	buf_free(&out);
	free(txt);
	free(file);
}

static int regen_header_vector(void)
{
	struct pack_entry g[4];
	uint64_t records;
	struct buf enc = BUF_INIT;
	golden_entries(g, &records);
	if (pack_header_encode_plain(g, 4, &enc) < 0)
		return 1;
	FILE *f = fopen(test_vector_path("packheader_v1.bin"), "wb");
	if (!f || fwrite(enc.p, 1, enc.len, f) != enc.len)
		return 1;
	fclose(f);
	buf_free(&enc);
	return 0;
}

int main(void)
{
	if (crypto_setup() < 0)
		return 1;
	rng = test_seed("test_pack");
	const char *regen = getenv("CAIRN_REGEN_VECTORS");
	if (regen && strcmp(regen, "1") == 0 &&
	    (regen_header_vector() || regen_pack_vector())) {
		fprintf(stderr, "could not regenerate the vectors\n");
		return 1;
	}
	test_round_trip();
	test_writer_errors();
	test_header_golden();
	test_header_rules();
	test_header_mismatch();
	test_pack_vector();
	return test_done("test_pack");
}
