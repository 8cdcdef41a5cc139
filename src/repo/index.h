/* index.h: index files (docs/format.md section 8) and the in-memory index
 * that maps a blob ID to its place in a pack.
 *
 * The in-memory index is NOT thread-safe: the caller serialises every
 * call that adds with a lock.  Calls that take a const struct index (the
 * lookups) change nothing and may run concurrently with each other, but
 * not with an add.  Memory: 60-100 bytes per blob (about 65 at a
 * million).
 */
#ifndef CAIRN_INDEX_H
#define CAIRN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct index_blob {
	uint8_t id[32];
	uint64_t offset;
	uint64_t length;
	uint64_t raw_length;
	uint32_t dict;     /* 0: none; k: the file's dicts[k - 1] */
};

struct index_pack {
	uint8_t id[32];
	uint8_t type;
	size_t n;
	struct index_blob *blobs;
};

struct index_file {
	size_t nsupersedes;
	uint8_t (*supersedes)[32];
	size_t ndicts;               /* dictionaries data blobs depend on */
	uint8_t (*dicts)[32];
	size_t npacks;
	struct index_pack *packs;
};

/* Plaintext codec (the caller seals it with envelope_seal).  Appends to
 * out; CAIRN_E_INVAL (out unchanged) for a pack of type > 1 or with a blob
 * count outside 1..PACK_MAX_BLOBS. */
int index_file_encode(const struct index_file *f, struct buf *out);
/* Structural checks: version (CAIRN_E_UNSUPPORTED unless 1), counts
 * backed by the input (1..PACK_MAX_BLOBS blobs per pack), pack type 0 or
 * 1, record lengths and raw lengths possible for the type (format.md 6),
 * offset + length within u64, no trailing bytes: else CAIRN_E_CORRUPT.
 * *ret is overwritten on success only; free it with index_file_free. */
int index_file_decode(const void *p, size_t n, struct index_file *ret);
/* Frees the arrays and zeroes f; accepts a zeroed f. */
void index_file_free(struct index_file *f);
/* 1 when a and b hold the same supersedes, dictionaries, packs and blobs in
 * the same order. */
int index_file_equal(const struct index_file *a, const struct index_file *b);

/* Where a blob is.  Stored compactly: pack < 2^31, offset, length,
 * raw_length and offset + length all <= UINT32_MAX (packs stay below
 * 4 GiB), else CAIRN_E_RANGE. */
struct blob_loc {
	uint32_t pack;        /* index into the pack table; see index_pack_id */
	uint8_t type;
	uint64_t offset;
	uint64_t length;
	uint64_t raw_length;
	uint32_t dict;        /* 0: none; k: dictionary number k - 1 */
};

struct index;

int index_new(struct index **ret);
void index_free(struct index *x);
/* Registers a pack and returns its number in *ret (existing number if the
 * pack is already known; CAIRN_E_CORRUPT if it is known with the other
 * type).  Numbers count from 0 in order of registration. */
int index_pack_add(struct index *x, const uint8_t pack_id[32], uint8_t type,
		   uint32_t *ret);
/* Adds a blob location; a blob already present keeps its first location
 * (returns 0 either way), unless that location is in a pack marked with
 * index_pack_avoid and the new one is in a registered pack that is not: a
 * live copy replaces one awaiting deletion.  loc->pack need not be registered (an index may
 * serve as a plain set of ids); loc->type must be 0 or 1 (CAIRN_E_INVAL). */
int index_blob_add(struct index *x, const uint8_t id[32],
		   const struct blob_loc *loc);
/* Adds every pack and blob of a decoded index file.  Values out of range
 * are refused (CAIRN_E_RANGE) before anything is added; a pack known with
 * the other type fails (CAIRN_E_CORRUPT) part way, leaving the packs and
 * blobs before it added. */
int index_merge_file(struct index *x, const struct index_file *f);
/* 0 and *ret filled, or CAIRN_E_NOTFOUND. */
int index_lookup(const struct index *x, const uint8_t id[32],
		 struct blob_loc *ret);
int index_has(const struct index *x, const uint8_t id[32]);
/* As index_lookup (ret may be NULL), and *ret_entry gets the blob's entry
 * number: 0 .. index_blob_count() - 1, stable for the index's life, for
 * callers that keep one bit per blob. */
int index_find(const struct index *x, const uint8_t id[32],
	       struct blob_loc *ret, size_t *ret_entry);
/* Id and location of entry number e; CAIRN_E_NOTFOUND past the end. */
int index_entry_get(const struct index *x, size_t e, uint8_t id[32],
		    struct blob_loc *loc);
/* Number of a registered pack, without adding it; CAIRN_E_NOTFOUND. */
int index_pack_lookup(const struct index *x, const uint8_t pack_id[32],
		      uint32_t *ret);
/* Marks a pack (registered or not yet) as awaiting deletion (prune,
 * format.md 13): blobs added later prefer copies in other packs.  Mark
 * packs before merging the index files so that every blob ends up at a
 * live copy when it has one. */
int index_pack_avoid(struct index *x, const uint8_t pack_id[32]);
/* 1 when pack number n was marked with index_pack_avoid. */
int index_pack_avoided(const struct index *x, uint32_t n);
/* The id of pack number n (borrowed); NULL if out of range. */
const uint8_t *index_pack_id(const struct index *x, uint32_t n);
/* The type of pack number n, 0xff if out of range. */
uint8_t index_pack_type(const struct index *x, uint32_t n);
uint32_t index_pack_count(const struct index *x);
/* Dictionaries: number n (0-based) for id, added when new. */
int index_dict_add(struct index *x, const uint8_t id[32], uint32_t *ret);
const uint8_t *index_dict_id(const struct index *x, uint32_t n);
uint32_t index_dict_count(const struct index *x);
size_t index_blob_count(const struct index *x);
/* Calls fn for every blob (in order of insertion); stops at a negative
 * return and passes it on.  fn must not add to the index. */
int index_foreach(const struct index *x,
		  int (*fn)(void *ud, const uint8_t id[32],
			    const struct blob_loc *loc),
		  void *ud);

#endif
