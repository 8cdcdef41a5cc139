/* s3_list.h: the parser of S3 ListObjectsV2 pages (s3_list.c). */
#ifndef CAIRN_S3_LIST_H
#define CAIRN_S3_LIST_H

#include <stddef.h>

#include "backend.h"
#include "buf.h"

/* What a page says about the next one. */
struct s3_listing {
	int truncated;       /* another page follows */
	struct buf token;    /* its continuation token, NUL-terminated */
	size_t odd;          /* listed keys that name no object of the type:
			      * foreign, or damaged on the way */
};

/* Parses one page (xml, n bytes) from a store that may be hostile: each
 * listed key that is "<prefix><format.md path of an object of type t>"
 * is passed to fn as (name, size); other keys are ignored.  Fills *page
 * (its token buffer is reused; free it with buf_free).  CAIRN_E_PROTOCOL
 * when the page is not well-formed XML, says it is truncated without a
 * token, or has oversized fields; fn's error stops it and is returned. */
int s3_listing_parse(const char *prefix, enum obj_type t, const void *xml,
		     size_t n, backend_list_fn fn, void *ud,
		     struct s3_listing *page);

#endif
