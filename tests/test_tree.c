/* test_tree.c: tree blobs (format.md 10).
 *
 * put_node() below writes a node straight from the layout in format.md,
 * independently of tree.c, so that the codec is checked against the text
 * and hostile encodings can be made.
 *
 * Golden vector tree_v1.bin, from golden_tree(): nine nodes covering every
 * type, in this (sorted) order:
 *   "bin"        symlink -> "usr/bin", mode 0777, uid/gid 0, root/root,
 *                mtime 1700000000.5, ctime 1700000001.25, inode 12,
 *                device 2049, links 1
 *   "caf\xc3\xa9" file (UTF-8 name), mode 0644, uid/gid 1000, alice/users,
 *                mtime -1.999999999 (before 1970), ctime 0.0, size 5,
 *                one content id (bytes 0x40..0x5f)
 *   "data.bin"   file, mode 0600, uid 1000, gid 100, user "" group "",
 *                mtime 1800000000.123456789, size 300000, links 2 (a hard
 *                link), inode 2^40, device 2^32 + 7, three content ids
 *                (bytes 0x00.., 0x20.., 0x40.. counting up)
 *   "dev-null"   char device 1:3 (rdev 0x103), mode 0666
 *   "disk"       block device 8:0 (rdev 0x800), mode 0660, gid 6 "disk"
 *   "empty"      file, size 0, no content, mode 0644
 *   "etc"        directory, mode 0755, subtree id (bytes 0xe0..0xff)
 *   "fifo"       fifo, mode 0600
 *   "sock"       socket, mode 0777, mtime -2^40
 * Fields not listed are 0 / empty.  Regenerate with CAIRN_REGEN_VECTORS=1.
 */
#include "cairn_err.h"
#include "tree.h"
#include "testutil.h"

#include <string.h>

static uint64_t rng;

static void fill_seq(uint8_t id[32], uint8_t start)
{
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)(start + i);
}

/* Writes one node per format.md 10, with no checks; ext is written as
 * given (NULL = empty). */
static void put_node(struct buf *b, const struct tree_node *n, const char *ext)
{
	const char *user = n->user ? n->user : "";
	const char *group = n->group ? n->group : "";
	buf_put_str(b, n->name, n->name_len);
	buf_put_u8(b, n->type);
	buf_put_varint(b, n->mode);
	buf_put_varint(b, n->uid);
	buf_put_varint(b, n->gid);
	buf_put_str(b, user, strlen(user));
	buf_put_str(b, group, strlen(group));
	buf_put_svarint(b, n->mtime_sec);
	buf_put_varint(b, n->mtime_nsec);
	buf_put_svarint(b, n->ctime_sec);
	buf_put_varint(b, n->ctime_nsec);
	buf_put_varint(b, n->inode);
	buf_put_varint(b, n->device);
	buf_put_varint(b, n->links);
	buf_put_varint(b, n->size);
	buf_put_varint(b, n->rdev);
	buf_put_str(b, n->link_target, n->link_len);
	buf_put_varint(b, n->ncontent);
	if (n->ncontent)
		buf_put(b, n->content, 32 * n->ncontent);
	buf_put_u8(b, n->has_subtree ? 1 : 0);
	if (n->has_subtree)
		buf_put(b, n->subtree, 32);
	buf_put_str(b, ext ? ext : "", ext ? strlen(ext) : 0);
}

static struct tree_node mk(const char *name, uint8_t type, uint32_t mode)
{
	struct tree_node n;
	memset(&n, 0, sizeof n);
	n.name = (char *)name;
	n.name_len = strlen(name);
	n.type = type;
	n.mode = mode;
	n.user = (char *)"";
	n.group = (char *)"";
	n.link_target = (char *)"";
	return n;
}

static void golden_tree(struct tree *t)
{
	static uint8_t content3[3][32], content1[1][32];
	struct tree_node n;

	fill_seq(content3[0], 0x00);
	fill_seq(content3[1], 0x20);
	fill_seq(content3[2], 0x40);
	fill_seq(content1[0], 0x40);
	memset(t, 0, sizeof *t);

	/* added out of order: tree_sort puts them right */
	n = mk("sock", NODE_SOCKET, 0777);
	n.mtime_sec = -(1LL << 40);
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("etc", NODE_DIR, 0755);
	n.has_subtree = 1;
	fill_seq(n.subtree, 0xe0);
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("data.bin", NODE_FILE, 0600);
	n.uid = 1000;
	n.gid = 100;
	n.mtime_sec = 1800000000;
	n.mtime_nsec = 123456789;
	n.size = 300000;
	n.links = 2;
	n.inode = 1ULL << 40;
	n.device = (1ULL << 32) + 7;
	n.ncontent = 3;
	n.content = content3;
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("bin", NODE_SYMLINK, 0777);
	n.user = n.group = (char *)"root";
	n.mtime_sec = 1700000000;
	n.mtime_nsec = 500000000;
	n.ctime_sec = 1700000001;
	n.ctime_nsec = 250000000;
	n.inode = 12;
	n.device = 2049;
	n.links = 1;
	n.link_target = (char *)"usr/bin";
	n.link_len = 7;
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("fifo", NODE_FIFO, 0600);
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("disk", NODE_BLOCKDEV, 0660);
	n.gid = 6;
	n.group = (char *)"disk";
	n.rdev = 0x800;
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("empty", NODE_FILE, 0644);
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("dev-null", NODE_CHARDEV, 0666);
	n.rdev = 0x103;
	CHECK_RC(tree_add(t, &n), 0);

	n = mk("caf\xc3\xa9", NODE_FILE, 0644);
	n.uid = n.gid = 1000;
	n.user = (char *)"alice";
	n.group = (char *)"users";
	n.mtime_sec = -2;
	n.mtime_nsec = 1;
	n.size = 5;
	n.ncontent = 1;
	n.content = content1;
	CHECK_RC(tree_add(t, &n), 0);

	tree_sort(t);
}


static int tree_equal(const struct tree *a, const struct tree *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!tree_node_equal(&a->nodes[i], &b->nodes[i]))
			return 0;
	return 1;
}

static void test_golden(void)
{
	struct tree g, d;
	struct buf enc = BUF_INIT, ref = BUF_INIT;
	size_t flen = 0;

	golden_tree(&g);
	CHECK(g.n == 9);
	CHECK_RC(tree_check(&g, NULL), 0);
	CHECK(g.n == 9 && g.nodes[0].name_len == 3 &&
	      memcmp(g.nodes[0].name, "bin", 3) == 0);
	CHECK_RC(tree_encode(&g, &enc), 0);
	/* the independent writer agrees */
	buf_put_u8(&ref, 1);
	buf_put_varint(&ref, g.n);
	for (size_t i = 0; i < g.n; i++)
		put_node(&ref, &g.nodes[i], NULL);
	CHECK(ref.len == enc.len && memcmp(ref.p, enc.p, enc.len) == 0);

	uint8_t *file = test_golden_vector("tree_v1.bin", enc.p, enc.len, &flen);
	if (file) {
		CHECK_RC(tree_decode(file, flen, &d), 0);
		CHECK(tree_equal(&g, &d));
		CHECK_RC(tree_check(&d, NULL), 0);
		tree_free(&d);
		/* every truncation fails cleanly */
		for (size_t l = 0; l < flen; l++) {
			CHECK(tree_decode(file, l, &d) < 0);
		}
		free(file);
	}
	tree_free(&g);
	tree_free(&g);   /* a freed tree is zeroed: freeing again is fine */
	buf_free(&enc);
	buf_free(&ref);
}

/* Random valid trees round trip. */
static void test_random(void)
{
	for (int round = 0; round < 50; round++) {
		struct tree t = {0}, d;
		struct buf enc = BUF_INIT;
		size_t n = (size_t)(test_rand(&rng) % 40);
		uint8_t content[8][32];
		char name[64], user[300], target[200];
		for (size_t i = 0; i < n; i++) {
			struct tree_node nd;
			memset(&nd, 0, sizeof nd);
			snprintf(name, sizeof name, "n%zu-%llx", i,
				 (unsigned long long)test_rand(&rng));
			nd.name = name;
			nd.name_len = strlen(name);
			nd.type = (uint8_t)(1 + test_rand(&rng) % 7);
			nd.mode = (uint32_t)(test_rand(&rng) & 07777);
			nd.uid = (uint32_t)test_rand(&rng);
			nd.gid = (uint32_t)test_rand(&rng);
			size_t ul = (size_t)(test_rand(&rng) % 257);
			memset(user, 'u', ul);
			user[ul] = 0;
			nd.user = user;
			nd.group = (char *)"g";
			nd.mtime_sec = (int64_t)test_rand(&rng);
			nd.mtime_nsec = (uint32_t)(test_rand(&rng) % 1000000000);
			nd.ctime_sec = -(int64_t)(test_rand(&rng) >> 1);
			nd.ctime_nsec = (uint32_t)(test_rand(&rng) % 1000000000);
			nd.inode = test_rand(&rng);
			nd.device = test_rand(&rng);
			nd.links = test_rand(&rng) % 5;
			if (nd.type == NODE_FILE) {
				nd.size = test_rand(&rng);
				nd.ncontent = (size_t)(test_rand(&rng) % 9);
				test_fill(&rng, content, sizeof content);
				nd.content = content;
			}
			if (nd.type == NODE_CHARDEV || nd.type == NODE_BLOCKDEV)
				nd.rdev = test_rand(&rng);
			if (nd.type == NODE_SYMLINK) {
				size_t tl = 1 + (size_t)(test_rand(&rng) % 199);
				memset(target, 't', tl);
				target[tl] = 0;
				nd.link_target = target;
				nd.link_len = tl;
			}
			if (nd.type == NODE_DIR) {
				nd.has_subtree = 1;
				test_fill(&rng, nd.subtree, 32);
			}
			CHECK_RC(tree_add(&t, &nd), 0);
		}
		tree_sort(&t);
		CHECK_RC(tree_encode(&t, &enc), 0);
		CHECK_RC(tree_decode(enc.p, enc.len, &d), 0);
		CHECK(tree_equal(&t, &d));
		tree_free(&d);
		tree_free(&t);
		buf_free(&enc);
	}
}

/* Encodes a tree of the given nodes with put_node (no checks). */
static void raw_tree(struct buf *b, const struct tree_node *n, size_t cnt,
		     const char *ext)
{
	b->len = 0;
	buf_put_u8(b, 1);
	buf_put_varint(b, cnt);
	for (size_t i = 0; i < cnt; i++)
		put_node(b, &n[i], ext);
}

static void test_hostile_names(void)
{
	static char longname[TREE_NAME_MAX + 1];
	memset(longname, 'x', sizeof longname);
	const struct {
		const char *name;
		size_t len;
		int decodes;
	} names[] = {
		{"", 0, 1},
		{".", 1, 1},
		{"..", 2, 1},
		{"a/b", 3, 1},
		{"/", 1, 1},
		{"a\0b", 3, 1},
		{"\0", 1, 1},
		{longname, TREE_NAME_MAX, 1},
		{longname, TREE_NAME_MAX + 1, 0},
	};
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		/* the hostile node sits between two good siblings */
		struct tree_node n[3] = {mk("a", NODE_FIFO, 0600),
					 mk("", NODE_FIFO, 0600),
					 mk("zzzz", NODE_FIFO, 0600)};
		n[1].name = (char *)names[i].name;
		n[1].name_len = names[i].len;
		raw_tree(&b, n, 3, NULL);
		struct tree d;
		int rc = tree_decode(b.p, b.len, &d);
		if (!names[i].decodes) {
			CHECK_RC(rc, CAIRN_E_CORRUPT);
			continue;
		}
		CHECK_RC(rc, 0);
		if (rc < 0)
			continue;
		CHECK(d.n == 3);
		CHECK(d.nodes[1].name_len == names[i].len);
		CHECK(memcmp(d.nodes[1].name, names[i].name, names[i].len) == 0);
		CHECK(d.nodes[1].name[names[i].len] == 0);
		int ok = names[i].len == TREE_NAME_MAX;
		CHECK(tree_node_name_ok(d.nodes[1].name, d.nodes[1].name_len) ==
		      ok);
		const char *why = NULL;
		CHECK_RC(tree_node_check(&d.nodes[0], NULL), 0);
		CHECK_RC(tree_node_check(&d.nodes[2], NULL), 0);
		if (!ok) {
			CHECK_RC(tree_node_check(&d.nodes[1], &why),
				 CAIRN_E_CORRUPT);
			CHECK(why != NULL);
			CHECK_RC(tree_check(&d, NULL), CAIRN_E_CORRUPT);
			struct buf enc = BUF_INIT;
			CHECK_RC(tree_encode(&d, &enc), CAIRN_E_INVAL);
			CHECK(enc.len == 0);
			buf_free(&enc);
		}
		tree_free(&d);
	}
	CHECK(tree_node_name_ok("a", 1));
	CHECK(tree_node_name_ok("...", 3));
	CHECK(tree_node_name_ok(".a", 2));
	CHECK(!tree_node_name_ok(NULL, 0));
	buf_free(&b);
}

/* Each structural rule: the encoding must fail to decode. */
static void test_structural(void)
{
	struct buf b = BUF_INIT;
	struct tree d;
	uint8_t ids[2][32] = {{1}, {2}};
	static char big[TREE_TARGET_MAX + 2];
	memset(big, 'b', sizeof big - 1);

	struct tree_node base = mk("f", NODE_FILE, 0644), n;
	raw_tree(&b, &base, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), 0);
	tree_free(&d);

	n = base; n.type = 0;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	n = base; n.type = 8;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	n = base; n.mtime_nsec = 1000000000;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	n = base; n.ctime_nsec = 1000000000;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	n = base; n.type = NODE_DIR; n.ncontent = 2; n.content = ids;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	n = base;
	memset(big, 'u', TREE_OWNER_MAX + 1);
	big[TREE_OWNER_MAX + 1] = 0;
	n.user = big;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	big[TREE_OWNER_MAX] = 0;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), 0);
	tree_free(&d);
	n = base; n.group = big;
	big[TREE_OWNER_MAX] = 'g';
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	n = base; n.type = NODE_SYMLINK;
	memset(big, 'b', sizeof big - 1);
	n.link_target = big;
	n.link_len = TREE_TARGET_MAX + 1;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	n.link_len = TREE_TARGET_MAX;
	raw_tree(&b, &n, 1, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), 0);
	CHECK_RC(tree_check(&d, NULL), 0);
	tree_free(&d);

	/* a NUL inside user: the struct holds C strings, so refused */
	b.len = 0;
	buf_put_u8(&b, 1);
	buf_put_varint(&b, 1);
	buf_put_str(&b, "f", 1);
	buf_put_u8(&b, NODE_FILE);
	buf_put_varint(&b, 0644);
	buf_put_varint(&b, 0);
	buf_put_varint(&b, 0);
	buf_put_str(&b, "a\0b", 3);
	struct buf rest = BUF_INIT;
	put_node(&rest, &base, NULL);
	/* the rest of base after its (empty) group */
	size_t skip = 2 + 1 + 2 + 1 + 1 + 1;  /* name type mode uid gid user */
	buf_put(&b, rest.p + skip, rest.len - skip);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	buf_free(&rest);

	/* uid beyond u32 */
	b.len = 0;
	buf_put_u8(&b, 1);
	buf_put_varint(&b, 1);
	buf_put_str(&b, "f", 1);
	buf_put_u8(&b, NODE_FILE);
	buf_put_varint(&b, 0644);
	buf_put_varint(&b, (uint64_t)UINT32_MAX + 1);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);

	/* has_subtree must be 0 or 1 */
	raw_tree(&b, &base, 1, NULL);
	CHECK(b.p[b.len - 2] == 0);
	b.p[b.len - 2] = 2;
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);

	/* version */
	raw_tree(&b, &base, 1, NULL);
	b.p[0] = 2;
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_UNSUPPORTED);
	/* trailing byte */
	raw_tree(&b, &base, 1, NULL);
	buf_put_u8(&b, 0);
	CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	/* empty input; an empty tree is fine */
	CHECK_RC(tree_decode(b.p, 0, &d), CAIRN_E_CORRUPT);
	raw_tree(&b, NULL, 0, NULL);
	CHECK_RC(tree_decode(b.p, b.len, &d), 0);
	CHECK(d.n == 0);
	tree_free(&d);

	/* ext is skipped */
	raw_tree(&b, &base, 1, "future fields");
	CHECK_RC(tree_decode(b.p, b.len, &d), 0);
	CHECK(d.n == 1 && tree_check(&d, NULL) == 0);
	tree_free(&d);
	buf_free(&b);
}

/* Counts that the input cannot back fail before any large allocation
 * (ASan would report an allocation of this size as an error). */
static void test_huge_counts(void)
{
	struct buf b = BUF_INIT;
	struct tree d;
	const uint64_t counts[] = {UINT64_MAX, 1ULL << 62, 1ULL << 40,
				   100000000, 6};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		b.len = 0;
		buf_put_u8(&b, 1);
		buf_put_varint(&b, counts[i]);
		uint8_t pad[100] = {0};
		buf_put(&b, pad, sizeof pad);
		CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
	}
	/* a content count */
	struct tree_node n = mk("f", NODE_FILE, 0644);
	for (size_t i = 0; i < 3; i++) {
		b.len = 0;
		buf_put_u8(&b, 1);
		buf_put_varint(&b, 1);
		struct buf one = BUF_INIT;
		put_node(&one, &n, NULL);
		/* everything up to the content count (its last 3 bytes are
		 * c = 0, has_subtree = 0, ext = "") */
		buf_put(&b, one.p, one.len - 3);
		buf_put_varint(&b, counts[i]);
		buf_put_u8(&b, 0);
		buf_put_u8(&b, 0);
		CHECK_RC(tree_decode(b.p, b.len, &d), CAIRN_E_CORRUPT);
		buf_free(&one);
	}
	buf_free(&b);
}

static void test_semantics(void)
{
	uint8_t id[1][32] = {{9}};
	struct tree_node ok[] = {mk("a", NODE_FILE, 0644),
				 mk("b", NODE_DIR, 0755),
				 mk("c", NODE_SYMLINK, 0777)};
	ok[1].has_subtree = 1;
	ok[2].link_target = (char *)"x";
	ok[2].link_len = 1;
	for (size_t i = 0; i < 3; i++)
		CHECK_RC(tree_node_check(&ok[i], NULL), 0);

	struct tree_node n;
	const char *why;
#define BAD(setup)                                                             \
	do {                                                                   \
		why = NULL;                                                    \
		setup;                                                         \
		CHECK_RC(tree_node_check(&n, &why), CAIRN_E_CORRUPT);          \
		CHECK(why != NULL);                                            \
	} while (0)
	BAD((n = ok[0], n.mode = 010000));
	BAD((n = ok[0], n.type = 9));
	BAD((n = ok[0], n.mtime_nsec = 1000000000));
	BAD((n = ok[0], n.has_subtree = 1));        /* subtree on a file */
	BAD((n = ok[1], n.has_subtree = 0));        /* dir without subtree */
	BAD((n = ok[1], n.size = 1));
	BAD((n = ok[0], n.rdev = 1));
	BAD((n = ok[1], n.ncontent = 1, n.content = id));
	BAD((n = ok[0], n.ncontent = 1, n.content = NULL));
	BAD((n = ok[2], n.link_len = 0));
	BAD((n = ok[2], n.link_target = (char *)"a\0b", n.link_len = 3));
	BAD((n = ok[0], n.link_target = (char *)"x", n.link_len = 1));
#undef BAD
	n = mk("d", NODE_CHARDEV, 0600);
	n.rdev = 5;
	CHECK_RC(tree_node_check(&n, NULL), 0);

	/* order and uniqueness */
	struct tree t = {0};
	CHECK_RC(tree_add(&t, &ok[1]), 0);
	CHECK_RC(tree_add(&t, &ok[0]), 0);
	const char *w = NULL;
	CHECK_RC(tree_check(&t, &w), CAIRN_E_CORRUPT);
	CHECK(w && strstr(w, "sorted"));
	tree_sort(&t);
	CHECK_RC(tree_check(&t, NULL), 0);
	CHECK_RC(tree_add(&t, &ok[1]), 0);
	CHECK_RC(tree_check(&t, NULL), CAIRN_E_CORRUPT);   /* duplicate */
	tree_free(&t);
	/* a proper prefix sorts first */
	struct tree_node p1 = mk("ab", NODE_FIFO, 0), p2 = mk("abc", NODE_FIFO, 0);
	struct tree_node p3 = mk("ab\xff", NODE_FIFO, 0);
	CHECK_RC(tree_add(&t, &p3), 0);
	CHECK_RC(tree_add(&t, &p2), 0);
	CHECK_RC(tree_add(&t, &p1), 0);
	tree_sort(&t);
	CHECK(t.nodes[0].name_len == 2 && t.nodes[1].name_len == 3 &&
	      t.nodes[1].name[2] == 'c');
	CHECK_RC(tree_check(&t, NULL), 0);
	tree_free(&t);
	/* tree_add takes NULL strings as empty */
	n = mk("x", NODE_FIFO, 0);
	n.user = n.group = n.link_target = NULL;
	CHECK_RC(tree_add(&t, &n), 0);
	CHECK(t.nodes[0].user && t.nodes[0].user[0] == 0);
	CHECK(t.nodes[0].link_target && t.nodes[0].link_len == 0);
	tree_free(&t);
}

int main(void)
{
	rng = test_seed("test_tree");
	test_golden();
	test_random();
	test_hostile_names();
	test_structural();
	test_huge_counts();
	test_semantics();
	return test_done("test_tree");
}
