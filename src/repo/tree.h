/* tree.h: tree blobs, one directory listing each (docs/format.md 10).
 *
 * tree_decode() checks structure only (lengths, counts, types, ranges), so
 * that a restore can report a hostile entry and still restore its
 * siblings; tree_node_name_ok() and tree_check() apply the naming and
 * ordering rules.
 */
#ifndef CAIRN_TREE_H
#define CAIRN_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum node_type {
	NODE_FILE = 1,
	NODE_DIR = 2,
	NODE_SYMLINK = 3,
	NODE_FIFO = 4,
	NODE_CHARDEV = 5,
	NODE_BLOCKDEV = 6,
	NODE_SOCKET = 7,
};

#define TREE_NAME_MAX 4096
#define TREE_TARGET_MAX 4096
#define TREE_OWNER_MAX 256

struct tree_node {
	char *name;            /* NUL-terminated copy; hostile: may hold NUL */
	size_t name_len;
	uint8_t type;
	uint32_t mode;
	uint32_t uid, gid;
	char *user, *group;    /* NUL-terminated, possibly empty */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	int64_t ctime_sec;
	uint32_t ctime_nsec;
	uint64_t inode, device, links;
	uint64_t size;
	uint64_t rdev;
	char *link_target;     /* NUL-terminated, empty unless symlink */
	size_t link_len;
	size_t ncontent;
	uint8_t (*content)[32];
	int has_subtree;
	uint8_t subtree[32];
};

struct tree {
	size_t n;
	size_t cap;
	struct tree_node *nodes;
};

/* A struct tree starts zeroed ({0}).  Not thread-safe; a tree is owned by
 * one caller at a time. */

/* Appends a deep copy of node (name_len bytes of name, link_len bytes of
 * link_target, user/group up to their NUL, ncontent ids).  NULL strings
 * are taken as empty. */
int tree_add(struct tree *t, const struct tree_node *node);
/* Sorts nodes by name (bytewise, a proper prefix first). */
void tree_sort(struct tree *t);
/* Appends the encoding to out; requires tree_check() to pass
 * (CAIRN_E_INVAL otherwise, out unchanged).  ext is written empty. */
int tree_encode(const struct tree *t, struct buf *out);
/* Structural decode into *ret (overwritten, not freed; set only on
 * success).  Checks: version (CAIRN_E_UNSUPPORTED), every length bound,
 * node count backed by the input, type 1..7, uid/gid/mode within u32,
 * nanoseconds < 10^9, content only on files, has_subtree 0 or 1, no NUL in
 * user or group (they are held as C strings), no trailing bytes: else
 * CAIRN_E_CORRUPT.  Names, order, and the agreement of has_subtree, size,
 * rdev and link_target with the type are left to tree_node_check(). */
int tree_decode(const void *p, size_t n, struct tree *ret);
/* Frees every node and the array; leaves t zeroed.  Accepts a zeroed t. */
void tree_free(struct tree *t);
/* Frees a node's strings and content (any may be NULL); zeroes it. */
void tree_node_free(struct tree_node *node);

/* 1 when name is a legal single path component: 1..TREE_NAME_MAX bytes,
 * not "." or "..", no '/' and no NUL. */
int tree_node_name_ok(const char *name, size_t len);
/* The rules for one node: a legal name, type 1..7, mode <= 07777,
 * nanoseconds < 10^9, user/group <= TREE_OWNER_MAX bytes, content only on
 * files, a subtree exactly on directories, size 0 unless a file, rdev 0
 * unless a device, a symlink target of 1..TREE_TARGET_MAX bytes without
 * NUL on symlinks and none on anything else.  Returns 0 or
 * CAIRN_E_CORRUPT, and when why is non-NULL points it at a static text.
 * A restore skips (and reports) a node that fails this. */
int tree_node_check(const struct tree_node *node, const char **why);
/* Every node passes tree_node_check(), and names are sorted and unique.
 * Returns 0 or CAIRN_E_CORRUPT (why as above). */
int tree_check(const struct tree *t, const char **why);
/* 1 when every field of a and b is equal (names and targets by length). */
int tree_node_equal(const struct tree_node *a, const struct tree_node *b);

#endif
