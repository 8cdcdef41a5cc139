/* dict.h: compression dictionaries (docs/format.md section 7a).
 *
 * Small chunks compress worse than large ones because each starts with an
 * empty window.  A backup trains one zstd dictionary on the first
 * DICT_TRAIN_BYTES of new data it stores and compresses every later data
 * blob with it; on database dumps that recovers the ratio of megabyte
 * chunks while keeping the deduplication of 64 KiB ones.
 *
 * A dictionary is derived from plaintext, so it is stored like a pack: a
 * fresh key sealed to the repository's public key encrypts it.
 */
#ifndef CAIRN_DICT_H
#define CAIRN_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DICT_TRAIN_BYTES (2u << 20)  /* samples collected before training */
#define DICT_PIECE (16u << 10)       /* size of one training sample */
#define DICT_PIECES_MAX 16           /* samples taken from one chunk */
#define DICT_CAPACITY (64u << 10)    /* largest dictionary trained */
#define DICT_MAX (1u << 20)          /* largest dictionary a reader accepts */
#define DICT_MAGIC "CAIRNDC1"

/* Trains a dictionary from n samples laid end to end in samples with
 * sizes[i] bytes each.  CAIRN_E_INVAL when the samples do not train (too
 * few, or incompressible): the caller then goes on without one. */
int dict_train(const void *samples, const size_t *sizes, unsigned n,
	       struct buf *out);

/* The object bytes for dictionary (p, n): magic || SEAL(data_pk, key) ||
 * nonce || AEAD(key, nonce, magic, dictionary). */
int dict_seal(const uint8_t data_pk[32], const void *p, size_t n,
	      struct buf *out);

/* Opens a dictionary object.  CAIRN_E_CORRUPT on any failure. */
int dict_open(const uint8_t data_pk[32], const uint8_t data_sk[32],
	      const void *obj, size_t n, struct buf *out);

#endif
