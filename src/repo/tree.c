/* tree.c: tree blobs (docs/format.md section 10).
 *
 * tree_decode() enforces what the encoding itself must satisfy (lengths
 * within their bounds, types, ranges, content only on files) and keeps
 * everything else as found, hostile names included, so that a restore can
 * report and skip one entry.  tree_node_check() and tree_check() hold the
 * semantic rules; tree_encode() writes only trees that pass them, so every
 * tree it writes decodes and checks.
 */
#include "tree.h"
#include "cairn_err.h"

#include <stdlib.h>
#include <string.h>

#define TREE_VERSION 1
/* Smallest encoded node: an empty name, every varint one byte, svarints one
 * byte, no content, no subtree, empty ext. */
#define TREE_NODE_MIN 20
#define NSEC_PER_SEC 1000000000u

/* ---- building ---------------------------------------------------------- */

static char *dup_bytes(const void *p, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	return s;
}

void tree_node_free(struct tree_node *node)
{
	if (!node)
		return;
	free(node->name);
	free(node->user);
	free(node->group);
	free(node->link_target);
	free(node->content);
	memset(node, 0, sizeof *node);
}

void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		tree_node_free(&t->nodes[i]);
	free(t->nodes);
	memset(t, 0, sizeof *t);
}

static int tree_node_copy(struct tree_node *dst, const struct tree_node *src)
{
	const char *user = src->user ? src->user : "";
	const char *group = src->group ? src->group : "";

	*dst = *src;
	dst->name = dup_bytes(src->name, src->name ? src->name_len : 0);
	dst->user = dup_bytes(user, strlen(user));
	dst->group = dup_bytes(group, strlen(group));
	dst->link_target = dup_bytes(src->link_target,
				     src->link_target ? src->link_len : 0);
	dst->content = NULL;
	if (!src->name)
		dst->name_len = 0;
	if (!src->link_target)
		dst->link_len = 0;
	if (src->ncontent) {
		if (!src->content ||
		    src->ncontent > SIZE_MAX / sizeof *src->content)
			goto fail;
		dst->content = malloc(src->ncontent * sizeof *src->content);
		if (dst->content)
			memcpy(dst->content, src->content,
			       src->ncontent * sizeof *src->content);
	}
	if (!dst->name || !dst->user || !dst->group || !dst->link_target ||
	    (src->ncontent && !dst->content))
		goto fail;
	return 0;
fail:
	tree_node_free(dst);
	return CAIRN_E_NOMEM;
}

int tree_add(struct tree *t, const struct tree_node *node)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		if (cap > SIZE_MAX / sizeof *t->nodes)
			return CAIRN_E_NOMEM;
		struct tree_node *p = realloc(t->nodes, cap * sizeof *p);
		if (!p)
			return CAIRN_E_NOMEM;
		t->nodes = p;
		t->cap = cap;
	}
	int rc = tree_node_copy(&t->nodes[t->n], node);
	if (rc < 0)
		return rc;
	t->n++;
	return 0;
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int c = m ? memcmp(a, b, m) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int node_cmp(const void *a, const void *b)
{
	const struct tree_node *x = a, *y = b;
	return name_cmp(x->name, x->name_len, y->name, y->name_len);
}

void tree_sort(struct tree *t)
{
	if (t->n > 1)
		qsort(t->nodes, t->n, sizeof *t->nodes, node_cmp);
}

/* ---- rules ------------------------------------------------------------- */

int tree_node_name_ok(const char *name, size_t len)
{
	if (!name || len < 1 || len > TREE_NAME_MAX)
		return 0;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == 0)
			return 0;
	return 1;
}

static int owner_ok(const char *s)
{
	return !s || strlen(s) <= TREE_OWNER_MAX;
}

int tree_node_check(const struct tree_node *n, const char **why)
{
	const char *w = NULL;

	if (!tree_node_name_ok(n->name, n->name_len))
		w = "illegal name";
	else if (n->type < NODE_FILE || n->type > NODE_SOCKET)
		w = "unknown node type";
	else if (n->mode > 07777)
		w = "mode has bits beyond 07777";
	else if (n->mtime_nsec >= NSEC_PER_SEC || n->ctime_nsec >= NSEC_PER_SEC)
		w = "nanoseconds out of range";
	else if (!owner_ok(n->user) || !owner_ok(n->group))
		w = "owner name too long";
	else if (n->ncontent && n->type != NODE_FILE)
		w = "content on a node that is not a file";
	else if (n->ncontent && !n->content)
		w = "content missing";
	else if ((n->has_subtree != 0) != (n->type == NODE_DIR))
		w = n->type == NODE_DIR ? "directory without subtree"
					: "subtree on a non-directory";
	else if (n->size && n->type != NODE_FILE)
		w = "size on a node that is not a file";
	else if (n->rdev && n->type != NODE_CHARDEV &&
		 n->type != NODE_BLOCKDEV)
		w = "device number on a node that is not a device";
	else if (n->type == NODE_SYMLINK &&
		 (!n->link_target || n->link_len < 1 ||
		  n->link_len > TREE_TARGET_MAX ||
		  memchr(n->link_target, 0, n->link_len)))
		w = "illegal symlink target";
	else if (n->type != NODE_SYMLINK && n->link_len)
		w = "link target on a node that is not a symlink";
	if (!w)
		return 0;
	if (why)
		*why = w;
	return CAIRN_E_CORRUPT;
}

int tree_check(const struct tree *t, const char **why)
{
	for (size_t i = 0; i < t->n; i++) {
		int rc = tree_node_check(&t->nodes[i], why);
		if (rc < 0)
			return rc;
		if (i > 0 && node_cmp(&t->nodes[i - 1], &t->nodes[i]) >= 0) {
			if (why)
				*why = "names not sorted or not unique";
			return CAIRN_E_CORRUPT;
		}
	}
	return 0;
}

/* ---- codec ------------------------------------------------------------- */

static int node_encode(const struct tree_node *n, struct buf *out)
{
	const char *user = n->user ? n->user : "";
	const char *group = n->group ? n->group : "";
	int rc;

	TRY(buf_put_str(out, n->name, n->name_len));
	TRY(buf_put_u8(out, n->type));
	TRY(buf_put_varint(out, n->mode));
	TRY(buf_put_varint(out, n->uid));
	TRY(buf_put_varint(out, n->gid));
	TRY(buf_put_str(out, user, strlen(user)));
	TRY(buf_put_str(out, group, strlen(group)));
	TRY(buf_put_svarint(out, n->mtime_sec));
	TRY(buf_put_varint(out, n->mtime_nsec));
	TRY(buf_put_svarint(out, n->ctime_sec));
	TRY(buf_put_varint(out, n->ctime_nsec));
	TRY(buf_put_varint(out, n->inode));
	TRY(buf_put_varint(out, n->device));
	TRY(buf_put_varint(out, n->links));
	TRY(buf_put_varint(out, n->size));
	TRY(buf_put_varint(out, n->rdev));
	TRY(buf_put_str(out, n->link_target, n->link_len));
	TRY(buf_put_varint(out, n->ncontent));
	if (n->ncontent)
		TRY(buf_put(out, n->content, n->ncontent * 32));
	TRY(buf_put_u8(out, n->has_subtree ? 1 : 0));
	if (n->has_subtree)
		TRY(buf_put(out, n->subtree, 32));
	TRY(buf_put_str(out, "", 0));   /* ext: empty in version 1 */
out:
	return rc;
}

int tree_encode(const struct tree *t, struct buf *out)
{
	const size_t start = out->len;
	int rc;

	if (tree_check(t, NULL) < 0)
		return CAIRN_E_INVAL;
	TRY(buf_put_u8(out, TREE_VERSION));
	TRY(buf_put_varint(out, t->n));
	for (size_t i = 0; i < t->n; i++)
		TRY(node_encode(&t->nodes[i], out));
out:
	if (rc < 0)
		out->len = start;
	return rc;
}

/* A string with no NUL inside, copied NUL-terminated. */
static char *rd_cstr(struct rd *r, size_t max)
{
	size_t n = 0;
	const uint8_t *p = rd_str(r, max, &n);
	if (!p)
		return NULL;
	if (memchr(p, 0, n)) {
		r->err = 1;
		return NULL;
	}
	return dup_bytes(p, n);
}

static uint32_t rd_u32v(struct rd *r)
{
	uint64_t v = rd_varint(r);
	if (v > UINT32_MAX) {
		r->err = 1;
		return 0;
	}
	return (uint32_t)v;
}

static uint32_t rd_nsec(struct rd *r)
{
	uint64_t v = rd_varint(r);
	if (v >= NSEC_PER_SEC) {
		r->err = 1;
		return 0;
	}
	return (uint32_t)v;
}

/* Decodes one node into n (zeroed by the caller).  On failure n may hold
 * partial allocations, which tree_node_free() releases. */
static int node_decode(struct rd *r, struct tree_node *n)
{
	size_t len = 0;
	const uint8_t *p;

	p = rd_str(r, TREE_NAME_MAX, &len);
	if (!p)
		return CAIRN_E_CORRUPT;
	n->name = dup_bytes(p, len);
	if (!n->name)
		return CAIRN_E_NOMEM;
	n->name_len = len;
	n->type = rd_u8(r);
	if (n->type < NODE_FILE || n->type > NODE_SOCKET)
		return CAIRN_E_CORRUPT;
	n->mode = rd_u32v(r);
	n->uid = rd_u32v(r);
	n->gid = rd_u32v(r);
	/* owner names: the struct holds them as C strings, so no NUL */
	n->user = rd_cstr(r, TREE_OWNER_MAX);
	if (!n->user)
		return r->err ? CAIRN_E_CORRUPT : CAIRN_E_NOMEM;
	n->group = rd_cstr(r, TREE_OWNER_MAX);
	if (!n->group)
		return r->err ? CAIRN_E_CORRUPT : CAIRN_E_NOMEM;
	n->mtime_sec = rd_svarint(r);
	n->mtime_nsec = rd_nsec(r);
	n->ctime_sec = rd_svarint(r);
	n->ctime_nsec = rd_nsec(r);
	n->inode = rd_varint(r);
	n->device = rd_varint(r);
	n->links = rd_varint(r);
	n->size = rd_varint(r);
	n->rdev = rd_varint(r);
	p = rd_str(r, TREE_TARGET_MAX, &len);
	if (!p)
		return CAIRN_E_CORRUPT;
	n->link_target = dup_bytes(p, len);
	if (!n->link_target)
		return CAIRN_E_NOMEM;
	n->link_len = len;
	uint64_t c = rd_varint(r);
	if (r->err || (c && n->type != NODE_FILE) || c > rd_left(r) / 32)
		return CAIRN_E_CORRUPT;
	if (c) {
		n->content = malloc((size_t)c * 32);
		if (!n->content)
			return CAIRN_E_NOMEM;
		n->ncontent = (size_t)c;
		rd_bytes(r, n->content, (size_t)c * 32);
	}
	uint8_t has = rd_u8(r);
	if (has > 1)
		return CAIRN_E_CORRUPT;
	n->has_subtree = has;
	if (has)
		rd_bytes(r, n->subtree, 32);
	rd_str(r, SIZE_MAX, &len);      /* ext: skipped */
	return rd_status(r);
}

int tree_decode(const void *p, size_t n, struct tree *ret)
{
	struct tree t = {0};
	struct rd r;
	int rc;

	rd_init(&r, p, n);
	uint8_t version = rd_u8(&r);
	if (r.err) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (version != TREE_VERSION) {
		rc = CAIRN_E_UNSUPPORTED;
		goto out;
	}
	uint64_t cnt = rd_varint(&r);
	/* a hostile count cannot make us allocate more than the input backs */
	if (r.err || cnt > rd_left(&r) / TREE_NODE_MIN) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	if (cnt) {
		t.nodes = calloc((size_t)cnt, sizeof *t.nodes);
		if (!t.nodes) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		t.cap = (size_t)cnt;
	}
	for (size_t i = 0; i < cnt; i++) {
		rc = node_decode(&r, &t.nodes[i]);
		if (rc < 0) {
			tree_node_free(&t.nodes[i]);
			goto out;
		}
		t.n++;
	}
	if (rd_left(&r) != 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	*ret = t;
	memset(&t, 0, sizeof t);
	rc = 0;
out:
	tree_free(&t);
	return rc;
}

int tree_node_equal(const struct tree_node *a, const struct tree_node *b)
{
	return a->name_len == b->name_len &&
	       memcmp(a->name, b->name, a->name_len) == 0 &&
	       a->name[a->name_len] == 0 && b->name[b->name_len] == 0 &&
	       a->type == b->type && a->mode == b->mode && a->uid == b->uid &&
	       a->gid == b->gid && strcmp(a->user, b->user) == 0 &&
	       strcmp(a->group, b->group) == 0 &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec &&
	       a->inode == b->inode && a->device == b->device &&
	       a->links == b->links && a->size == b->size &&
	       a->rdev == b->rdev && a->link_len == b->link_len &&
	       memcmp(a->link_target, b->link_target, a->link_len) == 0 &&
	       a->ncontent == b->ncontent &&
	       (a->ncontent == 0 ||
		memcmp(a->content, b->content, 32 * a->ncontent) == 0) &&
	       !!a->has_subtree == !!b->has_subtree &&
	       (!a->has_subtree || memcmp(a->subtree, b->subtree, 32) == 0);
}
