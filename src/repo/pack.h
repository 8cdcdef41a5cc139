/* pack.h: pack files (docs/format.md section 7): a streaming writer that
 * emits bytes to a sink and names the pack by their hash, and the reader
 * side (trailer, sealed key, header).
 *
 * A writer is used by one thread at a time.  Its records' offsets stay
 * within u32 (CAIRN_E_RANGE beyond), as the in-memory index requires.
 */
#ifndef CAIRN_PACK_H
#define CAIRN_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PACK_TRAILER_LEN 16
#define PACK_SEALED_KEY_LEN 80
#define PACK_TAIL_LEN (PACK_SEALED_KEY_LEN + PACK_TRAILER_LEN)
#define PACK_MAX_BLOBS 1000000u

struct pack_entry {
	uint8_t type;
	uint8_t id[32];
	uint64_t offset;
	uint64_t length;
	uint64_t raw_length;
};

/* Receives the bytes of a pack in order; returns 0 or a negative code. */
typedef int (*pack_sink_fn)(void *ud, const void *p, size_t n);

struct pack_writer;

/* Starts a pack of blob type `type`; draws a fresh pack key (in
 * sodium_malloc memory, wiped by free) and seals it to data_pk at once
 * (CAIRN_E_INVAL for an unusable public key). */
int pack_writer_new(const uint8_t data_pk[32], uint8_t type, pack_sink_fn sink,
		    void *sink_ud, struct pack_writer **ret);
void pack_writer_free(struct pack_writer *w);
/* The pack key, for blob_encode(); borrowed, valid until free. */
const uint8_t *pack_writer_key(const struct pack_writer *w);
uint8_t pack_writer_type(const struct pack_writer *w);
/* Bytes emitted so far. */
uint64_t pack_writer_size(const struct pack_writer *w);
size_t pack_writer_count(const struct pack_writer *w);
/* Appends one encoded record (from blob_encode) to the sink and remembers
 * its header entry.  CAIRN_E_INVAL for a record shorter than
 * BLOB_OVERHEAD or with a body longer than raw_length; CAIRN_E_RANGE past
 * PACK_MAX_BLOBS records, for a blob too large for the pack's type, or
 * past 4 GiB.  A sink failure is returned and sticks: every later call
 * returns it. */
int pack_writer_add(struct pack_writer *w, const uint8_t id[32],
		    const void *record, size_t len, uint64_t raw_length);
/* Emits header, sealed key and trailer; *ret_id gets the pack's name.  A
 * pack must hold at least one blob.  Entries stay readable until free. */
int pack_writer_finish(struct pack_writer *w, uint8_t ret_id[32]);
/* The header entries (borrowed). */
const struct pack_entry *pack_writer_entries(const struct pack_writer *w,
					     size_t *n);

struct pack_trailer {
	uint32_t header_ct_len;
	uint8_t version;
	uint8_t type;
	uint64_t header_offset;   /* where header_ct starts in the file */
	uint8_t sealed_key[PACK_SEALED_KEY_LEN];
};

/* Parses the last PACK_TAIL_LEN bytes of a pack of file_size bytes:
 * magic, version (CAIRN_E_UNSUPPORTED unless 1), type 0/1, reserved 0,
 * a header length that a header of 1..PACK_MAX_BLOBS entries can have and
 * that leaves room for at least one record: else CAIRN_E_CORRUPT. */
int pack_tail_parse(const uint8_t tail[PACK_TAIL_LEN], uint64_t file_size,
		    struct pack_trailer *ret);

/* Opens the sealed pack key with the data key pair; CAIRN_E_CORRUPT on
 * failure. */
int pack_key_open(const uint8_t data_pk[32], const uint8_t data_sk[32],
		  const uint8_t sealed[PACK_SEALED_KEY_LEN],
		  uint8_t pack_key[32]);

/* Decrypts and parses header_ct (len must equal tr->header_ct_len);
 * checks every rule of format.md 7 against the trailer (type, lengths
 * summing to header_offset) and fills in the offsets.  *ret is malloc'd
 * (caller frees); CAIRN_E_CORRUPT on a failed tag or any broken rule. */
int pack_header_decode(const uint8_t pack_key[32],
		       const struct pack_trailer *tr, const void *header_ct,
		       size_t len, struct pack_entry **ret, size_t *ret_n);

/* The plaintext header codec alone (for golden vectors and fuzzing).
 * encode appends (entries' offsets are not encoded); all entries must have
 * one type, and 1 <= n <= PACK_MAX_BLOBS (CAIRN_E_INVAL).  decode checks
 * the version, count, each type == pack_type, record and raw lengths
 * possible for the type, their sum == records_len, no trailing bytes. */
int pack_header_encode_plain(const struct pack_entry *e, size_t n,
			     struct buf *out);
int pack_header_decode_plain(const void *p, size_t len, uint8_t pack_type,
			     uint64_t records_len, struct pack_entry **ret,
			     size_t *ret_n);

#endif
