/* chunker.h: content-defined chunking (FastCDC-style gear hash with
 * normalized chunking), as a pure state machine: no I/O, no allocation,
 * no dependency on any other cairn module.
 *
 * The gear table is an input: the repository derives it from its secret
 * chunker key (docs/format.md, "Chunker"), so that cut points do not
 * fingerprint content across repositories.
 *
 * Usage: chunker_init() once, then feed bytes with chunker_scan() until it
 * returns a cut; the bytes consumed so far (across calls) form one chunk.
 * At end of input, whatever remains is the last chunk.
 */
#ifndef CAIRN_CHUNKER_H
#define CAIRN_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CHUNKER_MIN_LIMIT 64u              /* smallest allowed min size */
#define CHUNKER_MAX_LIMIT (64u << 20)      /* largest allowed max size */

/* A caller-allocated value type. */
typedef struct chunker {
	uint64_t gear[256];
	uint64_t mask_s;  /* stricter mask, used before the average size */
	uint64_t mask_l;  /* looser mask, used from the average size on */
	uint64_t hash;
	size_t min_size, avg_size, max_size;
	size_t pos;       /* bytes of the current chunk seen so far */
} chunker;

/* Sets up a chunker.  Requires CHUNKER_MIN_LIMIT <= min < avg < max <=
 * CHUNKER_MAX_LIMIT and avg a power of two; returns 0, or -3 (CAIRN_E_INVAL)
 * when the parameters are out of range. */
int chunker_init(chunker *c, const uint64_t gear[256], size_t min_size,
		 size_t avg_size, size_t max_size);

/* Scans n bytes at p, continuing the current chunk.  Returns the number of
 * bytes of p that complete the current chunk (1..n) when a cut is found,
 * after which the chunker is reset for the next chunk; or CHUNKER_NO_CUT
 * when all n bytes belong to the current chunk and more input is needed
 * (always so for n == 0).  After a cut at r, the caller passes p + r on in
 * the next call: the bytes past a cut have not been consumed.
 * Every chunk ends at a cut with min_size <= size <= max_size (in fact
 * size > min_size, see chunker.c), except the last chunk of the input,
 * which may be shorter than min_size.  The cuts depend only on the bytes,
 * never on how they are split across calls. */
#define CHUNKER_NO_CUT ((size_t)-1)
size_t chunker_scan(chunker *c, const void *p, size_t n);

/* Forgets the current partial chunk (start a new input). */
void chunker_reset(chunker *c);

#endif
