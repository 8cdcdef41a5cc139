/* fuzz_config.c: config_decode on arbitrary bytes.
 *
 * Checked properties: no crash or leak; only the documented error codes;
 * an accepted config validates, and encoding then decoding it gives the
 * same values and the same bytes again.
 */
#include "fuzz.h"

#include "cairn_err.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

static int same(const struct repo_config *a, const struct repo_config *b)
{
	return a->version == b->version && memcmp(a->id, b->id, 32) == 0 &&
	       a->stream.min == b->stream.min && a->stream.avg == b->stream.avg &&
	       a->stream.max == b->stream.max && a->files.min == b->files.min &&
	       a->files.avg == b->files.avg && a->files.max == b->files.max &&
	       a->compression_level == b->compression_level &&
	       a->pack_size == b->pack_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_config c, d;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;

	int rc = config_decode(data, size, &c);
	if (rc < 0) {
		if (rc != CAIRN_E_CORRUPT && rc != CAIRN_E_UNSUPPORTED &&
		    rc != CAIRN_E_NOMEM)
			abort();
		return 0;
	}
	if (config_validate(&c) != 0)
		abort();
	if (config_encode(&c, &e1) != 0)
		abort();
	if (config_decode(e1.p, e1.len, &d) != 0 || !same(&c, &d))
		abort();
	if (config_encode(&d, &e2) != 0 || e1.len != e2.len ||
	    memcmp(e1.p, e2.p, e1.len) != 0)
		abort();
	buf_free(&e1);
	buf_free(&e2);
	return 0;
}
