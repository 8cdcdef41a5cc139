/* fuzz_s3_list.c: the parser of S3 listing pages (s3_list.c), which reads
 * what a possibly hostile server sends.  The first byte picks the object
 * type; the rest is the page.  Every name it reports must be a valid name
 * of that type, and a truncated page must come with a token. */
#include "fuzz.h"
#include "backend.h"
#include "cairn_err.h"
#include "s3_list.h"

#include <string.h>

struct seen {
	enum obj_type t;
	size_t n;
};

static int on_name(void *ud, const char *name, uint64_t size)
{
	struct seen *s = ud;
	(void)size;
	FUZZ_ASSERT(backend_name_ok(s->t, name));
	s->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_listing page = {0};
	if (size < 1)
		return 0;
	struct seen s = {.t = (enum obj_type)(1 + data[0] % (OBJ__MAX - 1))};
	int rc = s3_listing_parse("repo/", s.t, data + 1, size - 1, on_name,
				  &s, &page);
	FUZZ_ASSERT(rc == 0 || rc == CAIRN_E_PROTOCOL || rc == CAIRN_E_NOMEM);
	if (rc == 0 && page.truncated)
		FUZZ_ASSERT(page.token.len > 1 &&
			    strlen((const char *)page.token.p) ==
				    page.token.len - 1);
	buf_free(&page.token);
	return 0;
}
