/* fuzz_snapshot.c: the snapshot JSON parser.  A snapshot that decodes must
 * encode, and its encoding must be a fixed point: decoding and encoding it
 * again gives the same bytes. */
#include "fuzz.h"
#include "buf.h"
#include "cairn_err.h"
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot s, t;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;

	int rc = snapshot_decode(data, size, &s);
	if (rc < 0) {
		FUZZ_ASSERT(rc == CAIRN_E_CORRUPT || rc == CAIRN_E_UNSUPPORTED ||
			    rc == CAIRN_E_NOMEM);
		return 0;
	}
	FUZZ_ASSERT(s.hostname != NULL && s.paths != NULL);
	FUZZ_ASSERT(s.time_nsec < 1000000000u);
	FUZZ_ASSERT(snapshot_encode(&s, &e1) == 0);
	FUZZ_ASSERT(snapshot_decode(e1.p, e1.len, &t) == 0);
	FUZZ_ASSERT(t.time_sec == s.time_sec && t.time_nsec == s.time_nsec);
	FUZZ_ASSERT(t.npaths == s.npaths && t.ntags == s.ntags);
	FUZZ_ASSERT(memcmp(t.tree, s.tree, 32) == 0);
	FUZZ_ASSERT(snapshot_encode(&t, &e2) == 0);
	FUZZ_ASSERT(e1.len == e2.len && memcmp(e1.p, e2.p, e1.len) == 0);
	snapshot_free(&s);
	snapshot_free(&t);
	buf_free(&e1);
	buf_free(&e2);
	return 0;
}
