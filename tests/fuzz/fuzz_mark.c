/* fuzz_mark.c: the deletion record parser (format.md 13).  A record that
 * decodes holds values within the rules, must re-encode to the same bytes
 * (the encoding is canonical) and decode again to the same record. */
#include "fuzz.h"
#include "buf.h"
#include "cairn_err.h"
#include "mark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mark_record m, n;
	struct buf out = BUF_INIT;

	int rc = mark_record_decode(data, size, &m);
	if (rc < 0) {
		FUZZ_ASSERT(rc == CAIRN_E_CORRUPT || rc == CAIRN_E_UNSUPPORTED ||
			    rc == CAIRN_E_NOMEM);
		FUZZ_ASSERT(rc != CAIRN_E_UNSUPPORTED || (size && data[0] != 1));
		return 0;
	}
	FUZZ_ASSERT(size > 0 && data[0] == 1);
	FUZZ_ASSERT(m.grace >= MARK_GRACE_MIN && m.grace <= MARK_GRACE_MAX);
	FUZZ_ASSERT(m.time >= -((int64_t)1 << 40) &&
		    m.time <= ((int64_t)1 << 40));
	FUZZ_ASSERT((m.npacks + m.ndicts) * 32 < size);
	FUZZ_ASSERT(mark_record_commit_by(&m) > m.time &&
		    mark_record_ripe_at(&m) > mark_record_commit_by(&m));
	FUZZ_ASSERT(mark_record_encode(&m, &out) == 0);
	FUZZ_ASSERT(out.len == size && memcmp(out.p, data, size) == 0);
	FUZZ_ASSERT(mark_record_decode(out.p, out.len, &n) == 0);
	FUZZ_ASSERT(mark_record_equal(&m, &n) && mark_record_equal(&n, &m));
	mark_record_free(&m);
	mark_record_free(&n);
	buf_free(&out);
	return 0;
}
