/* fuzz_tree.c: the tree parser and rules.  Every decoded tree goes through
 * tree_node_check() and tree_check(); one that passes must re-encode to the
 * input (or, when the input carried ext bytes, which are dropped, to
 * something shorter) and decode again to the same nodes; one that fails
 * must be refused by the encoder. */
#include "fuzz.h"
#include "buf.h"
#include "cairn_err.h"
#include "tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree t, u;
	struct buf out = BUF_INIT;

	int rc = tree_decode(data, size, &t);
	if (rc < 0) {
		FUZZ_ASSERT(rc == CAIRN_E_CORRUPT || rc == CAIRN_E_UNSUPPORTED ||
			    rc == CAIRN_E_NOMEM);
		return 0;
	}
	int nodes_ok = 1;
	for (size_t i = 0; i < t.n; i++) {
		const struct tree_node *n = &t.nodes[i];
		FUZZ_ASSERT(n->name[n->name_len] == 0);
		FUZZ_ASSERT(n->link_target[n->link_len] == 0);
		FUZZ_ASSERT(n->type >= 1 && n->type <= 7);
		FUZZ_ASSERT(n->ncontent == 0 || n->type == NODE_FILE);
		const char *why = NULL;
		if (tree_node_check(n, &why) < 0) {
			FUZZ_ASSERT(why != NULL);
			nodes_ok = 0;
		} else {
			FUZZ_ASSERT(tree_node_name_ok(n->name, n->name_len));
		}
	}
	const char *why = NULL;
	if (tree_check(&t, &why) < 0) {
		FUZZ_ASSERT(why != NULL);
		FUZZ_ASSERT(tree_encode(&t, &out) == CAIRN_E_INVAL);
		FUZZ_ASSERT(out.len == 0);
	} else {
		FUZZ_ASSERT(nodes_ok);
		FUZZ_ASSERT(tree_encode(&t, &out) == 0);
		FUZZ_ASSERT(out.len <= size);
		if (out.len == size)
			FUZZ_ASSERT(memcmp(out.p, data, size) == 0);
		FUZZ_ASSERT(tree_decode(out.p, out.len, &u) == 0);
		FUZZ_ASSERT(u.n == t.n);
		for (size_t i = 0; i < t.n; i++)
			FUZZ_ASSERT(tree_node_equal(&t.nodes[i], &u.nodes[i]));
		tree_free(&u);
	}
	tree_free(&t);
	buf_free(&out);
	return 0;
}
