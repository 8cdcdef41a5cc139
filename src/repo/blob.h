/* blob.h: one blob record (docs/format.md section 6): compress, encrypt,
 * and the reverse with every check a reader owes.
 *
 * Contexts (ZSTD_CCtx/ZSTD_DCtx) are passed in so that each worker thread
 * reuses its own.
 */
#ifndef CAIRN_BLOB_H
#define CAIRN_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum blob_type { BLOB_DATA = 0, BLOB_TREE = 1 };

#define BLOB_RAW_MAX (64u << 20)
#define TREE_RAW_MAX (256u << 20)
#define BLOB_OVERHEAD (24 + 1 + 16)

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;
struct ZSTD_CDict_s;
struct ZSTD_DDict_s;

/* A dictionary to compress with: its object id and the digested form. */
struct blob_dict {
	uint8_t id[32];
	const struct ZSTD_CDict_s *cdict;
};

/* Finds the digested dictionary named id for decoding; returns 0, or
 * CAIRN_E_NOTFOUND / CAIRN_E_CORRUPT.  *ret stays owned by the resolver. */
struct blob_dict_resolver {
	int (*get)(void *ud, const uint8_t id[32],
		   const struct ZSTD_DDict_s **ret);
	void *ud;
};

/* Appends the record for plaintext (raw, n) to out: zstd at `level` (stored
 * raw when not smaller; level 0 = never compress), then AEAD under
 * pack_key with ad = type || id and a fresh random nonce (crypto_setup()
 * must have run).  cctx may be NULL (one is made per call).  The record
 * is at most n + BLOB_OVERHEAD bytes.  CAIRN_E_INVAL for a type other
 * than 0/1 or a level outside 0..ZSTD_maxCLevel(), CAIRN_E_RANGE when n
 * exceeds BLOB_RAW_MAX/TREE_RAW_MAX.  On failure out keeps its previous
 * length and the bytes this call wrote are wiped. */
int blob_encode(const uint8_t pack_key[32], uint8_t type, const uint8_t id[32],
		const void *raw, size_t n, int level, struct ZSTD_CCtx_s *cctx,
		struct buf *out);

/* As blob_encode, compressing with dict (format.md 6, encoding 2) when it
 * is non-NULL; level is then the dictionary's. */
int blob_encode_dict(const uint8_t pack_key[32], uint8_t type,
		     const uint8_t id[32], const void *raw, size_t n, int level,
		     struct ZSTD_CCtx_s *cctx, const struct blob_dict *dict,
		     struct buf *out);

/* Decrypts and decompresses one record into out (replacing its content).
 * raw_length is the indexed length, checked: a raw body must be that long
 * and a zstd body must be exactly one frame declaring that content size
 * and decoding to it.  Does NOT check the ID (the caller owns the chunk-ID
 * key): callers must recompute it.  Returns CAIRN_E_CORRUPT on any failure
 * (CAIRN_E_NOMEM when memory runs out), and out is then wiped and empty.
 * dctx may be NULL (one is made per call). */
int blob_decode(const uint8_t pack_key[32], uint8_t type, const uint8_t id[32],
		const void *rec, size_t len, uint64_t raw_length,
		struct ZSTD_DCtx_s *dctx, struct buf *out);
/* As blob_decode, resolving dictionaries through res (NULL: a record that
 * needs one is corrupt).  A missing dictionary gives CAIRN_E_NOTFOUND. */
int blob_decode_dict(const uint8_t pack_key[32], uint8_t type,
		     const uint8_t id[32], const void *rec, size_t len,
		     uint64_t raw_length, struct ZSTD_DCtx_s *dctx,
		     const struct blob_dict_resolver *res, struct buf *out);
/* As blob_decode_dict, reusing scratch (caller-owned, kept between calls,
 * wiped by its owner when done) so that no buffer is allocated per blob. */
int blob_decode_reuse(const uint8_t pack_key[32], uint8_t type,
		      const uint8_t id[32], const void *rec, size_t len,
		      uint64_t raw_length, struct ZSTD_DCtx_s *dctx,
		      const struct blob_dict_resolver *res, struct buf *scratch,
		      struct buf *out);

/* Re-encrypts one record under new_key (a fresh nonce; same encoding and
 * body, so no decompression), appending it to out: how prune moves blobs
 * between packs.  CAIRN_E_CORRUPT when the record does not authenticate
 * under old_key for (type, id); the plaintext is wiped on failure.  rec
 * must not lie in out's buffer (out may be reallocated first). */
int blob_rekey(const uint8_t old_key[32], const uint8_t new_key[32],
	       uint8_t type, const uint8_t id[32], const void *rec, size_t len,
	       struct buf *out);

#endif
