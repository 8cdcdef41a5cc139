/* mark.h: prune's deletion records (docs/format.md section 13).  A record
 * names packs and dictionaries that a prune found unused at `time`; they
 * may be deleted once `time + grace` has passed and they are still unused
 * then.  Writers read records to avoid deduplicating against doomed data
 * and to bound how long they may take to commit.  Plaintext codec only:
 * the caller seals it (envelope, magic MAGIC_MARK).
 */
#ifndef CAIRN_MARK_H
#define CAIRN_MARK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MAGIC_MARK "CAIRNMK1"
/* Grace periods are at least an hour: writers rely on it (format.md 13). */
#define MARK_GRACE_MIN 3600u
#define MARK_GRACE_DEFAULT 86400u
/* Largest grace a record may state: 100 years. */
#define MARK_GRACE_MAX (100ull * 366 * 86400)

struct mark_record {
	int64_t time;              /* Unix seconds when the record was written */
	uint64_t grace;            /* seconds, MARK_GRACE_MIN..MARK_GRACE_MAX */
	size_t npacks;
	uint8_t (*packs)[32];
	size_t ndicts;
	uint8_t (*dicts)[32];
};

/* Appends the plaintext to out.  CAIRN_E_INVAL for a grace or a time out of
 * range (out unchanged). */
int mark_record_encode(const struct mark_record *m, struct buf *out);
/* Version (CAIRN_E_UNSUPPORTED unless 1), grace in range, counts backed by
 * the input, no trailing bytes: else CAIRN_E_CORRUPT.  *ret is written on
 * success only; free it with mark_record_free. */
int mark_record_decode(const void *p, size_t n, struct mark_record *ret);
void mark_record_free(struct mark_record *m);
/* 1 when a and b are the same record. */
int mark_record_equal(const struct mark_record *a, const struct mark_record *b);
/* When the record's objects may be deleted; when a writer that uses one of
 * them must have committed (time + grace / 2). */
int64_t mark_record_ripe_at(const struct mark_record *m);
int64_t mark_record_commit_by(const struct mark_record *m);

#endif
