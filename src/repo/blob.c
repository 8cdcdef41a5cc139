/* blob.c: blob records (docs/format.md section 6).
 *
 * Record layout: nonce(24) || AEAD(pack_key, nonce, type || id,
 * encoding || body).  The encoder works in place in the output buffer: it
 * reserves room for the raw case, lets zstd try to fit a frame into one
 * byte less than the raw body (so "not smaller" falls out of zstd's own
 * dstSize_tooSmall), then encrypts the plaintext where it lies.
 */
#include "blob.h"
#include "cairn_err.h"

#include <sodium.h>
#include <string.h>
/* for ZSTD_c_forceAttachDict, a parameter of the stable setParameter call */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define ENC_RAW 0
#define ENC_ZSTD 1
#define ENC_ZSTD_DICT 2   /* body: dictionary id (32) || zstd frame */

static void blob_ad(uint8_t ad[33], uint8_t type, const uint8_t id[32])
{
	ad[0] = type;
	memcpy(ad + 1, id, 32);
}

static uint64_t blob_raw_max(uint8_t type)
{
	return type == BLOB_TREE ? TREE_RAW_MAX : BLOB_RAW_MAX;
}

/* Compresses raw into dst (capacity cap); *ret gets the frame size, or 0
 * when the frame does not fit or zstd fails otherwise (the caller then
 * stores raw).  Only an allocation failure is an error. */
static int blob_compress(ZSTD_CCtx *cctx, int level,
			 const struct ZSTD_CDict_s *cdict, const void *raw,
			 size_t n, uint8_t *dst, size_t cap, size_t *ret)
{
	ZSTD_CCtx *own = NULL;
	*ret = 0;
	if (level == 0 || n < 2 || cap == 0)
		return 0;
	if (!cctx) {
		own = ZSTD_createCCtx();
		if (!own)
			return CAIRN_E_NOMEM;
		cctx = own;
	}
	size_t r;
	if (cdict) {
		/* Attach the digested dictionary instead of copying its
		 * tables into the context for every blob: for 64 KiB inputs
		 * the copy costs more than the compression. */
		ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
		r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_forceAttachDict,
					   ZSTD_dictForceAttach);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_refCDict(cctx, cdict);
		if (!ZSTD_isError(r))
			r = ZSTD_compress2(cctx, dst, cap, raw, n);
		ZSTD_CCtx_refCDict(cctx, NULL);
	} else {
		r = ZSTD_compressCCtx(cctx, dst, cap, raw, n, level);
	}
	if (!ZSTD_isError(r))
		*ret = r;
	else if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation) {
		ZSTD_freeCCtx(own);
		return CAIRN_E_NOMEM;
	}
	ZSTD_freeCCtx(own);
	return 0;
}

int blob_encode(const uint8_t pack_key[32], uint8_t type, const uint8_t id[32],
		const void *raw, size_t n, int level, struct ZSTD_CCtx_s *cctx,
		struct buf *out)
{
	return blob_encode_dict(pack_key, type, id, raw, n, level, cctx, NULL,
				out);
}

int blob_encode_dict(const uint8_t pack_key[32], uint8_t type,
		     const uint8_t id[32], const void *raw, size_t n, int level,
		     struct ZSTD_CCtx_s *cctx, const struct blob_dict *dict,
		     struct buf *out)
{
	const size_t start = out->len;
	int rc;

	if (type != BLOB_DATA && type != BLOB_TREE)
		return CAIRN_E_INVAL;
	if (level < 0 || level > ZSTD_maxCLevel())
		return CAIRN_E_INVAL;
	if (n > blob_raw_max(type))
		return CAIRN_E_RANGE;
	TRY(buf_reserve(out, BLOB_OVERHEAD + n));

	uint8_t *rec = out->p + start;
	uint8_t *plain = rec + NONCE_LEN;      /* encoding || body */
	size_t body = 0;
	if (dict && n > 32 + 1) {
		/* the frame must fit in n - 1 - 32 for the whole body to be
		 * smaller than raw */
		TRY(blob_compress(cctx, level, dict->cdict, raw, n,
				  plain + 1 + 32, n - 1 - 32, &body));
		if (body > 0) {
			plain[0] = ENC_ZSTD_DICT;
			memcpy(plain + 1, dict->id, 32);
			body += 32;
		}
	} else if (!dict) {
		TRY(blob_compress(cctx, level, NULL, raw, n, plain + 1,
				  n ? n - 1 : 0, &body));
		if (body > 0)
			plain[0] = ENC_ZSTD;
	}
	if (body == 0) {
		plain[0] = ENC_RAW;
		if (n)
			memcpy(plain + 1, raw, n);
		body = n;
	}

	uint8_t ad[33];
	blob_ad(ad, type, id);
	randombytes_buf(rec, NONCE_LEN);
	unsigned long long clen = 0;
	/* in place: the ciphertext overwrites the plaintext it came from */
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		    plain, &clen, plain, 1 + body, ad, sizeof ad, NULL, rec,
		    pack_key) != 0) {
		rc = CAIRN_E_CRYPTO;
		goto out;
	}
	out->len = start + NONCE_LEN + (size_t)clen;
	rc = 0;
out:
	if (rc < 0 && out->p) {
		/* the reserved space may hold plaintext */
		sodium_memzero(out->p + start, out->cap - start);
		out->len = start;
	}
	return rc;
}

/* Decompresses one zstd frame of exactly raw_length bytes into a fresh
 * buffer swapped into out. */
static int blob_decompress(ZSTD_DCtx *dctx, const struct ZSTD_DDict_s *ddict,
			   const uint8_t *body, size_t len,
			   uint64_t raw_length, struct buf *scratch,
			   struct buf *out)
{
	static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
	ZSTD_DCtx *own = NULL;
	struct buf dst = BUF_INIT;
	int rc;

	if (scratch) {
		/* decompress into the scratch buffer, then swap: no
		 * allocation once the buffers have grown */
		dst = *scratch;
		dst.len = 0;
		*scratch = (struct buf)BUF_INIT;
	}

	if (len < 4 || memcmp(body, magic, 4) != 0)
		return CAIRN_E_CORRUPT;
	unsigned long long fcs = ZSTD_getFrameContentSize(body, len);
	if (fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs == ZSTD_CONTENTSIZE_ERROR ||
	    fcs != raw_length)
		return CAIRN_E_CORRUPT;
	size_t flen = ZSTD_findFrameCompressedSize(body, len);
	if (ZSTD_isError(flen) || flen != len)
		return CAIRN_E_CORRUPT;
	if (!dctx) {
		own = ZSTD_createDCtx();
		if (!own)
			return CAIRN_E_NOMEM;
		dctx = own;
	}
	/* zstd itself refuses output that disagrees with the frame's size */
	TRY(buf_reserve(&dst, (size_t)raw_length + 1));
	size_t r = ddict ? ZSTD_decompress_usingDDict(dctx, dst.p, dst.cap, body,
						     len, ddict)
			 : ZSTD_decompressDCtx(dctx, dst.p, dst.cap, body, len);
	if (ZSTD_isError(r) || r != raw_length) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	dst.len = r;
	if (scratch) {
		/* the old buffer (compressed plaintext) is the next scratch;
		 * its owner wipes it when done */
		*scratch = *out;
		scratch->len = 0;
	} else {
		sodium_memzero(out->p, out->cap);
		buf_free(out);
	}
	*out = dst;
	dst = (struct buf)BUF_INIT;
	rc = 0;
out:
	if (dst.p) {
		sodium_memzero(dst.p, dst.cap);
		if (scratch && !scratch->p)
			*scratch = dst;
		else
			buf_free(&dst);
	}
	ZSTD_freeDCtx(own);
	return rc;
}

int blob_decode(const uint8_t pack_key[32], uint8_t type, const uint8_t id[32],
		const void *rec, size_t len, uint64_t raw_length,
		struct ZSTD_DCtx_s *dctx, struct buf *out)
{
	return blob_decode_dict(pack_key, type, id, rec, len, raw_length, dctx,
				NULL, out);
}

int blob_decode_dict(const uint8_t pack_key[32], uint8_t type,
		     const uint8_t id[32], const void *rec, size_t len,
		     uint64_t raw_length, struct ZSTD_DCtx_s *dctx,
		     const struct blob_dict_resolver *res, struct buf *out)
{
	return blob_decode_reuse(pack_key, type, id, rec, len, raw_length,
				 dctx, res, NULL, out);
}

int blob_decode_reuse(const uint8_t pack_key[32], uint8_t type,
		      const uint8_t id[32], const void *rec, size_t len,
		      uint64_t raw_length, struct ZSTD_DCtx_s *dctx,
		      const struct blob_dict_resolver *res, struct buf *scratch,
		      struct buf *out)
{
	const uint8_t *r = rec;
	int rc;

	out->len = 0;
	if ((type != BLOB_DATA && type != BLOB_TREE) ||
	    raw_length > blob_raw_max(type) || len < BLOB_OVERHEAD ||
	    len - BLOB_OVERHEAD > blob_raw_max(type)) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	const size_t plen = len - NONCE_LEN - TAG_LEN;
	TRY(buf_reserve(out, plen));

	uint8_t ad[33];
	blob_ad(ad, type, id);
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out->p, &mlen, NULL, r + NONCE_LEN, len - NONCE_LEN, ad,
		    sizeof ad, r, pack_key) != 0 || mlen != plen) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	out->len = plen;
	switch (out->p[0]) {
	case ENC_RAW:
		if (plen - 1 != raw_length) {
			rc = CAIRN_E_CORRUPT;
			goto out;
		}
		memmove(out->p, out->p + 1, plen - 1);
		out->len = plen - 1;
		rc = 0;
		break;
	case ENC_ZSTD:
		rc = blob_decompress(dctx, NULL, out->p + 1, plen - 1,
				     raw_length, scratch, out);
		break;
	case ENC_ZSTD_DICT: {
		const struct ZSTD_DDict_s *dd = NULL;
		/* dictionaries are data blobs' business only */
		if (type != BLOB_DATA || !res || plen < 1 + 32 + 4) {
			rc = CAIRN_E_CORRUPT;
			goto out;
		}
		rc = res->get(res->ud, out->p + 1, &dd);
		if (rc < 0)
			goto out;
		rc = blob_decompress(dctx, dd, out->p + 1 + 32, plen - 1 - 32,
				     raw_length, scratch, out);
		break;
	}
	default:
		rc = CAIRN_E_CORRUPT;
		break;
	}
out:
	if (rc < 0) {
		if (out->p)
			sodium_memzero(out->p, out->cap);
		out->len = 0;
		if (rc != CAIRN_E_NOMEM && rc != CAIRN_E_NOTFOUND)
			rc = CAIRN_E_CORRUPT;
	}
	return rc;
}

int blob_rekey(const uint8_t old_key[32], const uint8_t new_key[32],
	       uint8_t type, const uint8_t id[32], const void *rec, size_t len,
	       struct buf *out)
{
	const uint8_t *r = rec;
	const size_t start = out->len;
	int rc;
	if ((type != BLOB_DATA && type != BLOB_TREE) || len < BLOB_OVERHEAD ||
	    len - BLOB_OVERHEAD > blob_raw_max(type))
		return CAIRN_E_CORRUPT;
	TRY(buf_reserve(out, len));
	uint8_t *nonce = out->p + start;
	uint8_t *plain = nonce + NONCE_LEN;
	uint8_t ad[33];
	blob_ad(ad, type, id);
	unsigned long long mlen = 0, clen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    plain, &mlen, NULL, r + NONCE_LEN, len - NONCE_LEN, ad,
		    sizeof ad, r, old_key) != 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	randombytes_buf(nonce, NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		    plain, &clen, plain, mlen, ad, sizeof ad, NULL, nonce,
		    new_key) != 0) {
		rc = CAIRN_E_CRYPTO;
		goto out;
	}
	out->len = start + NONCE_LEN + (size_t)clen;
	rc = 0;
out:
	if (rc < 0) {
		sodium_memzero(out->p + start, out->cap - start);
		out->len = start;
	}
	return rc;
}
