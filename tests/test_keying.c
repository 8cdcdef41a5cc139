/* test_keying.c: what the store's operator can learn from two
 * repositories holding the same data.  Chunk IDs are keyed per repository,
 * so the two share no ID, and the chunker's gear table is keyed, so the
 * two cut the same stream at different places (compared through the
 * multisets of chunk lengths). */
#include "index.h"
#include "repo.h"
#include "repo_internal.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHUNKS 4096

struct collected {
	struct index *ids;
	uint64_t len[MAX_CHUNKS];
	size_t n;
	const struct index *other;  /* when set: count ids found there */
	size_t shared;
};

static int collect(void *ud, const uint8_t id[32], const struct blob_loc *loc)
{
	struct collected *c = ud;
	struct blob_loc none = {0};
	if (loc->type != 0)
		return 0;
	if (c->other && index_has(c->other, id))
		c->shared++;
	if (c->n < MAX_CHUNKS)
		c->len[c->n++] = loc->raw_length;
	return c->ids ? index_blob_add(c->ids, id, &none) : 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Lengths present in both sorted lists (multiset intersection), leaving
 * out chunks cut at the maximum size, which any table produces alike. */
static size_t common_lengths(const struct collected *a,
			     const struct collected *b, uint64_t max)
{
	size_t i = 0, j = 0, n = 0;
	while (i < a->n && j < b->n) {
		if (a->len[i] == b->len[j]) {
			n += a->len[i] != max;
			i++;
			j++;
		} else if (a->len[i] < b->len[j]) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}

int main(void)
{
	uint64_t seed = test_seed("test_keying");
	char base[256], data[300], path[600];
	snprintf(base, sizeof base, "%s/cairn-keying-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(base) != NULL);
	snprintf(data, sizeof data, "%s/data.bin", base);
	size_t n = 12u << 20;
	uint8_t *buf = malloc(n);
	test_fill(&seed, buf, n);
	FILE *f = fopen(data, "wb");
	CHECK(f && fwrite(buf, 1, n, f) == n);
	if (f)
		fclose(f);
	free(buf);

	static struct collected c[2];
	uint64_t max = 0;
	for (int k = 0; k < 2; k++) {
		struct repo *r = NULL;
		snprintf(path, sizeof path, "%s/repo%d", base, k);
		CHECK_RC(repo_create(path, NULL, "pw", 2, &r), 0);
		if (!r)
			return test_done("test_keying");
		max = repo_config_get(r)->stream.max;
		char cat[] = "cat";
		char *cmd[] = {cat, data, NULL};
		struct backup_opts o = {.kind = SRC_COMMAND, .command = cmd};
		struct backup_result res;
		CHECK_RC(repo_backup(r, &o, &res), 0);
		if (k == 0)
			CHECK_RC(index_new(&c[0].ids), 0);
		else
			c[1].other = c[0].ids;
		CHECK_RC(index_foreach(r->idx, collect, &c[k]), 0);
		qsort(c[k].len, c[k].n, sizeof c[k].len[0], u64_cmp);
		repo_close(r);
	}
	size_t common = common_lengths(&c[0], &c[1], max);
	fprintf(stderr, "chunks: %zu and %zu; shared ids: %zu; "
		"lengths in common: %zu\n", c[0].n, c[1].n, c[1].shared, common);
	CHECK(c[0].n > 100 && c[1].n > 100);
	CHECK(c[1].shared == 0);
	/* with independent tables, a length recurs by chance only */
	CHECK(common * 20 < c[0].n);
	index_free(c[0].ids);
	snprintf(path, sizeof path, "rm -rf '%s'", base);
	if (!test_failures && system(path) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return test_done("test_keying");
}
