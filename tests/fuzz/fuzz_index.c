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
	FUZZ_ASSERT(index_file_equal(&f, &g));
	index_file_free(&f);
	index_file_free(&g);
	buf_free(&out);
	return 0;
}
