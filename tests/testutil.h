/* testutil.h: tiny helpers shared by the unit tests. */
#ifndef CAIRN_TESTUTIL_H
#define CAIRN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern int test_failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			test_failures++;                                       \
		}                                                              \
	} while (0)

#define CHECK_RC(expr, want)                                                   \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != (want)) {                                           \
			fprintf(stderr, "%s:%d: %s returned %d, want %d\n",    \
				__FILE__, __LINE__, #expr, rc_, (int)(want));  \
			test_failures++;                                       \
		}                                                              \
	} while (0)

/* Deterministic pseudo-random bytes (xorshift64*). */
uint64_t test_rand(uint64_t *state);
void test_fill(uint64_t *state, void *p, size_t n);
/* Seed from CAIRN_TEST_SEED or the clock; printed on stderr. */
uint64_t test_seed(const char *name);
/* Unix time of "YYYY-MM-DD HH:MM:SS" read as UTC; aborts on other text. */
int64_t test_utc(const char *s);
/* Reads a whole file into a malloc'd buffer; NULL on failure. */
uint8_t *test_read_file(const char *path, size_t *len);
/* Path of a file in tests/vectors (CAIRN_TEST_VECTORS); static buffer. */
const char *test_vector_path(const char *name);
/* The golden vector `name` for the encoding (p, n): rewritten from it
 * first when CAIRN_REGEN_VECTORS=1, then read back (malloc'd, *len set) and
 * checked to equal it byte for byte.  NULL, a check failed, when missing. */
uint8_t *test_golden_vector(const char *name, const void *p, size_t n,
			    size_t *len);
/* Returns 0 if no failures, else 1; prints a summary. */
int test_done(const char *name);

#endif
