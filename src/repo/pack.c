/* pack.c: pack files (docs/format.md section 7).
 *
 * Writer: records go to the sink as they are added, and every emitted byte
 * also feeds a running H (crypto_objhash), so that the pack's name is known
 * the moment its last byte is out and no pack is ever held whole in memory.
 * The pack key is drawn and sealed to data_pk when the writer is made (so a
 * bad public key fails early); the sealed copy is emitted at finish.
 *
 * Reader: pack_tail_parse() reads the fixed 96-byte tail (sealed key and
 * trailer), pack_key_open() recovers the pack key, pack_header_decode()
 * decrypts and validates the header against the trailer.  The trailer is
 * not itself authenticated, but every field of it is either checked for a
 * fixed value or bound to the header: header_ct_len delimits the AEAD
 * input and the type must equal every (authenticated) header entry's.
 */
#include "pack.h"
#include "blob.h"
#include "cairn_err.h"
#include "crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char pack_magic[8] = {'C', 'A', 'I', 'R', 'N', 'P', 'K', '1'};

#define PACK_VERSION 1
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
/* Smallest encoding of one header entry: type, id, two 1-byte varints. */
#define ENTRY_MIN (1 + 32 + 1 + 1)
/* Largest header plaintext: version, n, and n entries with 10-byte varints. */
#define HEADER_PLAIN_MAX                                                       \
	(1 + 10 + (uint64_t)PACK_MAX_BLOBS * (1 + 32 + 10 + 10))
#define HEADER_CT_MIN (NONCE_LEN + TAG_LEN + 1 + 1 + ENTRY_MIN)
#define HEADER_CT_MAX (NONCE_LEN + TAG_LEN + HEADER_PLAIN_MAX)

static uint64_t raw_max(uint8_t type)
{
	return type == BLOB_TREE ? TREE_RAW_MAX : BLOB_RAW_MAX;
}

/* 1 when a record of length len holding raw_length bytes is possible for
 * a blob of this type (a record is never larger than its raw form). */
static int record_fits(uint8_t type, uint64_t len, uint64_t raw_length)
{
	return len >= BLOB_OVERHEAD && len - BLOB_OVERHEAD <= raw_max(type) &&
	       raw_length <= raw_max(type);
}

/* ---- writer ------------------------------------------------------------ */

struct pack_writer {
	struct objhash hs;             /* H of every byte emitted */
	int hs_live;
	uint8_t *key;                  /* sodium_malloc'd pack key */
	uint8_t sealed[PACK_SEALED_KEY_LEN];
	uint8_t type;
	int state;                     /* 0 open, 1 finished, < 0 failed */
	pack_sink_fn sink;
	void *sink_ud;
	uint64_t size;
	struct pack_entry *e;
	size_t n, cap;
};

int pack_writer_new(const uint8_t data_pk[32], uint8_t type, pack_sink_fn sink,
		    void *sink_ud, struct pack_writer **ret)
{
	struct pack_writer *w = NULL;
	int rc;

	if ((type != BLOB_DATA && type != BLOB_TREE) || !sink)
		return CAIRN_E_INVAL;
	TRY(crypto_setup());
	w = calloc(1, sizeof *w);
	if (!w)
		return CAIRN_E_NOMEM;
	w->key = sodium_malloc(32);
	if (!w->key) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	randombytes_buf(w->key, 32);
	if (crypto_box_seal(w->sealed, w->key, 32, data_pk) != 0) {
		rc = CAIRN_E_INVAL;  /* a public key of small order */
		goto out;
	}
	TRY(crypto_objhash_init(&w->hs));
	w->hs_live = 1;
	w->type = type;
	w->sink = sink;
	w->sink_ud = sink_ud;
	*ret = w;
	w = NULL;
	rc = 0;
out:
	pack_writer_free(w);
	return rc;
}

void pack_writer_free(struct pack_writer *w)
{
	if (!w)
		return;
	sodium_free(w->key);
	if (w->hs_live)
		crypto_objhash_free(&w->hs);
	free(w->e);
	sodium_memzero(w, sizeof *w);
	free(w);
}

const uint8_t *pack_writer_key(const struct pack_writer *w) { return w->key; }
uint8_t pack_writer_type(const struct pack_writer *w) { return w->type; }
uint64_t pack_writer_size(const struct pack_writer *w) { return w->size; }
size_t pack_writer_count(const struct pack_writer *w) { return w->n; }

const struct pack_entry *pack_writer_entries(const struct pack_writer *w,
					     size_t *n)
{
	*n = w->n;
	return w->e;
}

/* Sends bytes to the sink and the name hash; a sink failure is sticky. */
static int pw_emit(struct pack_writer *w, const void *p, size_t n)
{
	int rc = w->sink(w->sink_ud, p, n);
	if (rc < 0) {
		w->state = rc;
		return rc;
	}
	crypto_objhash_update(&w->hs, p, n);
	w->size += n;
	return 0;
}

static int pw_usable(const struct pack_writer *w)
{
	return w->state < 0 ? w->state : w->state ? CAIRN_E_INVAL : 0;
}

int pack_writer_add(struct pack_writer *w, const uint8_t id[32],
		    const void *record, size_t len, uint64_t raw_length)
{
	int rc;

	TRY(pw_usable(w));
	/* blob_encode never makes a body longer than the raw bytes */
	if (len < BLOB_OVERHEAD || len - BLOB_OVERHEAD > raw_length)
		return CAIRN_E_INVAL;
	if (!record_fits(w->type, len, raw_length) || w->n >= PACK_MAX_BLOBS)
		return CAIRN_E_RANGE;
	/* offsets must stay within u32 for the in-memory index */
	if (len > UINT32_MAX || w->size > UINT32_MAX - len)
		return CAIRN_E_RANGE;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		if (cap > PACK_MAX_BLOBS)
			cap = PACK_MAX_BLOBS;
		struct pack_entry *e = realloc(w->e, cap * sizeof *e);
		if (!e)
			return CAIRN_E_NOMEM;
		w->e = e;
		w->cap = cap;
	}
	struct pack_entry *e = &w->e[w->n];
	e->type = w->type;
	memcpy(e->id, id, 32);
	e->offset = w->size;
	e->length = len;
	e->raw_length = raw_length;
	TRY(pw_emit(w, record, len));
	w->n++;
out:
	return rc;
}

int pack_writer_finish(struct pack_writer *w, uint8_t ret_id[32])
{
	struct buf plain = BUF_INIT, ct = BUF_INIT;
	int rc;

	TRY(pw_usable(w));
	if (w->n == 0)
		return CAIRN_E_INVAL;
	TRY(pack_header_encode_plain(w->e, w->n, &plain));
	TRY(buf_reserve(&ct, NONCE_LEN + plain.len + TAG_LEN));
	if (NONCE_LEN + plain.len + TAG_LEN > HEADER_CT_MAX) {
		rc = CAIRN_E_RANGE;
		goto out;
	}
	randombytes_buf(ct.p, NONCE_LEN);
	unsigned long long clen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		    ct.p + NONCE_LEN, &clen, plain.p, plain.len,
		    (const uint8_t *)pack_magic, sizeof pack_magic, NULL, ct.p,
		    w->key) != 0) {
		rc = CAIRN_E_CRYPTO;
		goto out;
	}
	ct.len = NONCE_LEN + (size_t)clen;

	uint8_t trailer[PACK_TRAILER_LEN];
	put_le32(trailer, (uint32_t)ct.len);
	trailer[4] = PACK_VERSION;
	trailer[5] = w->type;
	trailer[6] = trailer[7] = 0;
	memcpy(trailer + 8, pack_magic, 8);

	TRY(pw_emit(w, ct.p, ct.len));
	TRY(pw_emit(w, w->sealed, sizeof w->sealed));
	TRY(pw_emit(w, trailer, sizeof trailer));
	crypto_objhash_final(&w->hs, ret_id);
	w->state = 1;
	rc = 0;
out:
	if (plain.p)
		sodium_memzero(plain.p, plain.cap);
	buf_free(&plain);
	buf_free(&ct);
	return rc;
}

/* ---- header plaintext codec -------------------------------------------- */

int pack_header_encode_plain(const struct pack_entry *e, size_t n,
			     struct buf *out)
{
	const size_t start = out->len;
	int rc;

	if (n < 1 || n > PACK_MAX_BLOBS || e[0].type > BLOB_TREE)
		return CAIRN_E_INVAL;
	TRY(buf_put_u8(out, PACK_VERSION));
	TRY(buf_put_varint(out, n));
	for (size_t i = 0; i < n; i++) {
		if (e[i].type != e[0].type) {
			rc = CAIRN_E_INVAL;
			goto out;
		}
		TRY(buf_put_u8(out, e[i].type));
		TRY(buf_put(out, e[i].id, 32));
		TRY(buf_put_varint(out, e[i].length));
		TRY(buf_put_varint(out, e[i].raw_length));
	}
out:
	if (rc < 0)
		out->len = start;
	return rc;
}

int pack_header_decode_plain(const void *p, size_t len, uint8_t pack_type,
			     uint64_t records_len, struct pack_entry **ret,
			     size_t *ret_n)
{
	struct pack_entry *e = NULL;
	struct rd r;
	int rc;

	rd_init(&r, p, len);
	uint8_t version = rd_u8(&r);
	/* entries must equal the pack type, which must be one of the two */
	if (r.err || pack_type > BLOB_TREE) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (version != PACK_VERSION) {
		rc = CAIRN_E_UNSUPPORTED;
		goto out;
	}
	uint64_t n = rd_varint(&r);
	if (r.err || n < 1 || n > PACK_MAX_BLOBS ||
	    n > rd_left(&r) / ENTRY_MIN) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	e = calloc((size_t)n, sizeof *e);
	if (!e) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++) {
		e[i].type = rd_u8(&r);
		rd_bytes(&r, e[i].id, 32);
		e[i].length = rd_varint(&r);
		e[i].raw_length = rd_varint(&r);
		if (r.err || e[i].type != pack_type ||
		    !record_fits(pack_type, e[i].length, e[i].raw_length) ||
		    e[i].length > records_len - off) {
			rc = CAIRN_E_CORRUPT;
			goto out;
		}
		e[i].offset = off;
		off += e[i].length;
	}
	if (rd_left(&r) != 0 || off != records_len) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	*ret = e;
	*ret_n = (size_t)n;
	e = NULL;
	rc = 0;
out:
	free(e);
	return rc;
}

/* ---- reader ------------------------------------------------------------ */

int pack_tail_parse(const uint8_t tail[PACK_TAIL_LEN], uint64_t file_size,
		    struct pack_trailer *ret)
{
	const uint8_t *t = tail + PACK_SEALED_KEY_LEN;

	if (memcmp(t + 8, pack_magic, 8) != 0)
		return CAIRN_E_CORRUPT;
	if (t[4] != PACK_VERSION)
		return CAIRN_E_UNSUPPORTED;
	if (t[5] > BLOB_TREE || t[6] != 0 || t[7] != 0)
		return CAIRN_E_CORRUPT;
	uint32_t hl = get_le32(t);
	if (hl < HEADER_CT_MIN || hl > HEADER_CT_MAX)
		return CAIRN_E_CORRUPT;
	/* at least one record before the header */
	if (file_size < (uint64_t)PACK_TAIL_LEN + hl + BLOB_OVERHEAD)
		return CAIRN_E_CORRUPT;
	ret->header_ct_len = hl;
	ret->version = t[4];
	ret->type = t[5];
	ret->header_offset = file_size - PACK_TAIL_LEN - hl;
	memcpy(ret->sealed_key, tail, PACK_SEALED_KEY_LEN);
	return 0;
}

int pack_key_open(const uint8_t data_pk[32], const uint8_t data_sk[32],
		  const uint8_t sealed[PACK_SEALED_KEY_LEN],
		  uint8_t pack_key[32])
{
	uint8_t k[32];
	if (crypto_box_seal_open(k, sealed, PACK_SEALED_KEY_LEN, data_pk,
				 data_sk) != 0) {
		sodium_memzero(k, sizeof k);
		return CAIRN_E_CORRUPT;
	}
	memcpy(pack_key, k, 32);
	sodium_memzero(k, sizeof k);
	return 0;
}

int pack_header_decode(const uint8_t pack_key[32],
		       const struct pack_trailer *tr, const void *header_ct,
		       size_t len, struct pack_entry **ret, size_t *ret_n)
{
	const uint8_t *c = header_ct;
	uint8_t *plain = NULL;
	int rc;

	if (len != tr->header_ct_len || len < HEADER_CT_MIN ||
	    len > HEADER_CT_MAX)
		return CAIRN_E_CORRUPT;
	const size_t plen = len - NONCE_LEN - TAG_LEN;
	plain = malloc(plen);
	if (!plain)
		return CAIRN_E_NOMEM;
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    plain, &mlen, NULL, c + NONCE_LEN, len - NONCE_LEN,
		    (const uint8_t *)pack_magic, sizeof pack_magic, c,
		    pack_key) != 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	rc = pack_header_decode_plain(plain, plen, tr->type, tr->header_offset,
				      ret, ret_n);
out:
	sodium_memzero(plain, plen);
	free(plain);
	return rc;
}
