/* fuzz_index.c: the index file plaintext parser.  A file that decodes must
 * re-encode to the same bytes (the encoding is canonical) and decode again
 * to the same structure. */
#include "fuzz.h"
#include "buf.h"
#include "cairn_err.h"
#include "index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c)                                                         \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,    \
				#c);                                           \
			abort();                                               \
		}                                                              \
	} while (0)

static int file_equal(const struct index_file *a, const struct index_file *b)
{
	if (a->nsupersedes != b->nsupersedes || a->npacks != b->npacks)
		return 0;
	if (a->nsupersedes &&
	    memcmp(a->supersedes, b->supersedes, 32 * a->nsupersedes) != 0)
		return 0;
	for (size_t i = 0; i < a->npacks; i++) {
		const struct index_pack *x = &a->packs[i], *y = &b->packs[i];
		if (memcmp(x->id, y->id, 32) || x->type != y->type ||
		    x->n != y->n)
			return 0;
		for (size_t j = 0; j < x->n; j++) {
			const struct index_blob *u = &x->blobs[j];
			const struct index_blob *v = &y->blobs[j];
			if (memcmp(u->id, v->id, 32) || u->offset != v->offset ||
			    u->length != v->length ||
			    u->raw_length != v->raw_length)
				return 0;
		}
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index_file f, g;
	struct buf out = BUF_INIT;

	int rc = index_file_decode(data, size, &f);
	if (rc < 0) {
		FUZZ_ASSERT(rc == CAIRN_E_CORRUPT || rc == CAIRN_E_UNSUPPORTED ||
			    rc == CAIRN_E_NOMEM);
		return 0;
	}
	FUZZ_ASSERT(index_file_encode(&f, &out) == 0);
	FUZZ_ASSERT(out.len == size && memcmp(out.p, data, size) == 0);
	FUZZ_ASSERT(index_file_decode(out.p, out.len, &g) == 0);
	FUZZ_ASSERT(file_equal(&f, &g));
	index_file_free(&f);
	index_file_free(&g);
	buf_free(&out);
	return 0;
}
