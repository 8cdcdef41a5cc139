/* s3_list.c: the parser of S3 ListObjectsV2 pages, with expat.
 *
 * The page comes from the network: element text is capped
 * (S3_LIST_TEXT_MAX), only the elements we need are read, at the depths
 * S3 puts them (ListBucketResult > Contents > Key|Size, ListBucketResult >
 * IsTruncated|NextContinuationToken), and a key becomes an object name
 * only when it is exactly the prefix plus the object's path, so no listed
 * key can name anything outside the repository.
 */
#include "s3_list.h"
#include "cairn_err.h"

#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S3_LIST_TEXT_MAX 4096

struct lp {
	int depth;
	int in_contents;
	struct buf text;
	char key[S3_LIST_TEXT_MAX + 1];
	uint64_t size;
	int size_ok;
	int err;
	const char *prefix;
	enum obj_type t;
	backend_list_fn fn;
	void *ud;
	struct s3_listing *page;
};

static void XMLCALL lp_start(void *ud, const XML_Char *el,
			     const XML_Char **attr)
{
	struct lp *lp = ud;
	(void)attr;
	lp->depth++;
	lp->text.len = 0;
	if (lp->depth == 2 && !strcmp(el, "Contents")) {
		lp->in_contents = 1;
		lp->key[0] = 0;
		lp->size = 0;
		lp->size_ok = 0;
	}
}

static void XMLCALL lp_text(void *ud, const XML_Char *s, int len)
{
	struct lp *lp = ud;
	if (len <= 0 || lp->err)
		return;
	if (lp->text.len + (size_t)len > S3_LIST_TEXT_MAX) {
		lp->err = CAIRN_E_PROTOCOL;
		return;
	}
	if (buf_put(&lp->text, s, (size_t)len) < 0)
		lp->err = CAIRN_E_NOMEM;
}

/* A listed key back to an object name, when it is one of type t. */
static const char *key_name(const struct lp *lp, const char *key)
{
	size_t pl = strlen(lp->prefix);
	char want[128];
	if (strncmp(key, lp->prefix, pl))
		return NULL;
	key += pl;
	const char *name = strrchr(key, '/');
	name = name ? name + 1 : key;
	if (backend_object_path(lp->t, name, want, sizeof want) < 0 ||
	    strcmp(want, key))
		return NULL;
	return name;
}

/* Size: decimal digits only. */
static int size_parse(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 1;
}

static void XMLCALL lp_end(void *ud, const XML_Char *el)
{
	struct lp *lp = ud;
	char txt[S3_LIST_TEXT_MAX + 1];
	size_t n = lp->text.len;
	memcpy(txt, n ? (const char *)lp->text.p : "", n);
	txt[n] = 0;
	if (strlen(txt) != n)
		n = 0, txt[0] = 0; /* a NUL inside: nothing we want */
	if (lp->err) {
		/* keep unwinding */
	} else if (lp->in_contents && lp->depth == 3) {
		if (!strcmp(el, "Key"))
			memcpy(lp->key, txt, n + 1);
		else if (!strcmp(el, "Size"))
			lp->size_ok = size_parse(txt, &lp->size);
	} else if (lp->depth == 2 && !strcmp(el, "Contents")) {
		lp->in_contents = 0;
		const char *name = key_name(lp, lp->key);
		/* the page was asked for the type's prefix: any key that is
		 * not an object of the type is foreign or damaged */
		if (!name)
			lp->page->odd++;
		if (name && !lp->size_ok)
			lp->err = CAIRN_E_PROTOCOL;
		else if (name)
			lp->err = lp->fn(lp->ud, name, lp->size);
	} else if (lp->depth == 2 && !strcmp(el, "IsTruncated")) {
		lp->page->truncated = !strcmp(txt, "true");
	} else if (lp->depth == 2 && !strcmp(el, "NextContinuationToken")) {
		lp->page->token.len = 0;
		if (buf_put(&lp->page->token, txt, n + 1) < 0)
			lp->err = CAIRN_E_NOMEM;
	}
	lp->text.len = 0;
	lp->depth--;
}

int s3_listing_parse(const char *prefix, enum obj_type t, const void *xml,
		     size_t n, backend_list_fn fn, void *ud,
		     struct s3_listing *page)
{
	struct lp lp = {.prefix = prefix, .t = t, .fn = fn, .ud = ud,
			.page = page};
	int rc;
	if (n > INT_MAX)
		return CAIRN_E_PROTOCOL;
	XML_Parser xp = XML_ParserCreate(NULL);
	if (!xp)
		return CAIRN_E_NOMEM;
	page->truncated = 0;
	page->token.len = 0;
	page->odd = 0;
	XML_SetUserData(xp, &lp);
	XML_SetElementHandler(xp, lp_start, lp_end);
	XML_SetCharacterDataHandler(xp, lp_text);
	int ok = XML_Parse(xp, xml, (int)n, 1);
	XML_ParserFree(xp);
	buf_free(&lp.text);
	if (lp.err)
		rc = lp.err;
	else if (ok != XML_STATUS_OK)
		rc = CAIRN_E_PROTOCOL;
	else if (page->truncated && page->token.len <= 1)
		rc = CAIRN_E_PROTOCOL; /* more, but no way to ask for it */
	else
		rc = 0;
	return rc;
}
