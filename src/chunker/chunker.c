/* chunker.c: the content-defined chunker declared in chunker.h.
 *
 * Cut rule (this defines the chunk boundaries of every repository, so it is
 * part of the format and must not change without a format version bump):
 *
 *   - Bytes are numbered by their index i within the current chunk.
 *   - Bytes with i < min_size are not hashed at all (a cut there is not
 *     allowed, so hashing them would be wasted work).
 *   - The hash starts at 0 for every chunk and absorbs each byte with
 *     i >= min_size as  hash = (hash << 1) + gear[byte]  (mod 2^64).
 *   - After absorbing byte i, the chunk ends there (size i + 1) when
 *     (hash & mask) == 0, where mask is mask_s while i < avg_size and mask_l
 *     from i == avg_size on.  Both masks select the HIGH bits of the hash,
 *     which depend on the last 64 bytes absorbed (the low bits would depend
 *     on only the last few bytes).
 *   - If no cut has happened, the chunk ends after byte max_size - 1.
 *
 * mask_s has log2(avg) + 2 bits and mask_l log2(avg) - 2 bits ("normalized
 * chunking", level 2): sizes cluster around avg_size instead of following a
 * plain geometric distribution.
 *
 * Because the hash restarts at each chunk and all state carried between
 * calls is (pos, hash), boundaries do not depend on how the caller splits
 * the input across chunker_scan() calls.
 *
 * Speed: a mask on the top k bits holds exactly when hash < 2^(64-k), so
 * the test is one compare.  The dependency chain hash -> hash is the
 * bottleneck of the plain loop; gear_find() walks four bytes per step with
 * hash4 = (hash << 4) + (8 g1 + 4 g2 + 2 g3 + g4), where the bracket does
 * not depend on hash, and derives the three intermediate hashes off the
 * chain.  The result is bit-identical to the byte-at-a-time rule above.
 */
#include "chunker.h"

#include <assert.h>
#include <string.h>

/* Same value as CAIRN_E_INVAL in src/util/cairn_err.h; spelled out because
 * the chunker depends on no other cairn module. */
#define CHUNKER_E_INVAL (-3)

#if defined(__GNUC__)
#define CHUNKER_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CHUNKER_UNLIKELY(x) (x)
#endif

/* Returns log2(v) for a power of two v, or -1 when v is not one. */
static int chunker_log2_exact(size_t v)
{
	int bits = 0;

	if (v == 0 || (v & (v - 1)) != 0)
		return -1;
	while (v > 1) {
		v >>= 1;
		bits++;
	}
	return bits;
}

/* The mask on the top `bits` bits of the hash, 1 <= bits <= 63. */
static uint64_t chunker_mask_top(int bits)
{
	return ~(uint64_t)0 << (64 - bits);
}

int chunker_init(chunker *c, const uint64_t gear[256], size_t min_size,
		 size_t avg_size, size_t max_size)
{
	int avg_bits;

	if (c == NULL || gear == NULL)
		return CHUNKER_E_INVAL;
	if (min_size < CHUNKER_MIN_LIMIT || min_size >= avg_size ||
	    avg_size >= max_size || max_size > CHUNKER_MAX_LIMIT)
		return CHUNKER_E_INVAL;
	avg_bits = chunker_log2_exact(avg_size);
	if (avg_bits < 0)
		return CHUNKER_E_INVAL;
	/* avg > min >= 64 gives avg_bits >= 7, and avg < max <= 64 MiB gives
	 * avg_bits <= 25: both masks have between 5 and 27 bits. */
	assert(avg_bits - 2 >= 1 && avg_bits + 2 <= 63);

	memcpy(c->gear, gear, sizeof(c->gear));
	c->mask_s = chunker_mask_top(avg_bits + 2);
	c->mask_l = chunker_mask_top(avg_bits - 2);
	c->min_size = min_size;
	c->avg_size = avg_size;
	c->max_size = max_size;
	chunker_reset(c);
	return 0;
}

void chunker_reset(chunker *c)
{
	c->hash = 0;
	c->pos = 0;
}

/* Absorbs p[0..n) into *hashp and returns the index of the first byte after
 * which the hash has no bit of mask set, or n when there is none.  On a hit
 * *hashp is left unspecified (the caller starts a new chunk); otherwise it
 * holds the hash after all n bytes. */
static size_t gear_find(const uint64_t *gear, const uint8_t *p, size_t n,
			uint64_t mask, uint64_t *hashp)
{
	/* (hash & mask) == 0  <=>  hash < limit, as mask covers the top bits. */
	const uint64_t limit = ~mask + 1;
	uint64_t h = *hashp;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		const uint64_t g1 = gear[p[i]];
		const uint64_t g2 = gear[p[i + 1]];
		const uint64_t g3 = gear[p[i + 2]];
		const uint64_t g4 = gear[p[i + 3]];
		const uint64_t t2 = (g1 << 1) + g2;
		const uint64_t t3 = (t2 << 1) + g3;
		const uint64_t t4 = (t3 << 1) + g4;
		const uint64_t h1 = (h << 1) + g1;
		const uint64_t h2 = (h << 2) + t2;
		const uint64_t h3 = (h << 3) + t3;
		const uint64_t h4 = (h << 4) + t4;

		if (CHUNKER_UNLIKELY(h1 < limit))
			return i;
		if (CHUNKER_UNLIKELY(h2 < limit))
			return i + 1;
		if (CHUNKER_UNLIKELY(h3 < limit))
			return i + 2;
		if (CHUNKER_UNLIKELY(h4 < limit))
			return i + 3;
		h = h4;
	}
	for (; i < n; i++) {
		h = (h << 1) + gear[p[i]];
		if (CHUNKER_UNLIKELY(h < limit))
			return i;
	}
	*hashp = h;
	return n;
}

size_t chunker_scan(chunker *c, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t done = 0;  /* bytes of p consumed */
	size_t span, hit;

	assert(c != NULL && (p != NULL || n == 0));
	assert(c->pos < c->max_size);

	/* Unhashed prefix [0, min_size). */
	if (c->pos < c->min_size) {
		span = c->min_size - c->pos;
		if (span >= n) {
			c->pos += n;
			return CHUNKER_NO_CUT;
		}
		c->pos += span;
		done = span;
	}

	/* Strict part [min_size, avg_size). */
	if (c->pos < c->avg_size) {
		span = c->avg_size - c->pos;
		if (span > n - done)
			span = n - done;
		hit = gear_find(c->gear, p + done, span, c->mask_s, &c->hash);
		if (hit < span)
			goto cut;
		c->pos += span;
		done += span;
		if (done == n)
			return CHUNKER_NO_CUT;
	}

	/* Loose part [avg_size, max_size); a forced cut ends it. */
	span = c->max_size - c->pos;
	if (span > n - done)
		span = n - done;
	hit = gear_find(c->gear, p + done, span, c->mask_l, &c->hash);
	if (hit < span)
		goto cut;
	c->pos += span;
	done += span;
	if (c->pos == c->max_size) {
		chunker_reset(c);
		return done;
	}
	return CHUNKER_NO_CUT;

cut:
	chunker_reset(c);
	return done + hit + 1;
}
