/* test_chunker.c: properties and the golden vector of the chunker.
 *
 * Property tests use a gear table and data drawn from a seeded generator;
 * the seed is printed, and CAIRN_TEST_SEED=<n> replays a run.  Every
 * boundary list is also checked against ref_chunk(), a byte-at-a-time
 * transcription of the cut rule in chunker.c, so that the unrolled scan
 * loop cannot drift from the rule.
 *
 * The golden vector (tests/vectors/chunker_v1.txt) pins the cut rule
 * itself: changing it changes every repository's chunk boundaries.  Run
 * `test_chunker --print-vector` to print the file's expected content.
 *
 * Self-contained on purpose (local CHECK, no shared test helpers).
 */
#include "chunker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
			return;                                                \
		}                                                              \
	} while (0)

#define KIB ((size_t)1024)
#define MIB ((size_t)1024 * 1024)

/* ------------------------------------------------------------------ */
/* Generators                                                          */

/* splitmix64: one output per call, state advanced by the golden gamma. */
static uint64_t rng_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15u);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

/* xorshift64 with shifts 13, 7, 17; state must be nonzero. */
static uint64_t rng_xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static void gear_fill(uint64_t gear[256], uint64_t seed)
{
	for (int i = 0; i < 256; i++)
		gear[i] = rng_splitmix64(&seed);
}

/* n bytes, each 8-byte group the little-endian image of one output. */
static void data_fill(uint8_t *p, size_t n, uint64_t *state)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_splitmix64(state);

		for (size_t k = 0; k < 8 && i + k < n; k++)
			p[i + k] = (uint8_t)(v >> (8 * k));
	}
}

/* ------------------------------------------------------------------ */
/* Chunking helpers                                                    */

/* The chunk ends of one input: ends[i] is the offset one past chunk i;
 * the last entry is always the input length (for non-empty input). */
struct cuts {
	size_t *ends;
	size_t count;
	size_t cap;
};

static void cuts_push(struct cuts *cs, size_t end)
{
	if (cs->count == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 256;
		cs->ends = realloc(cs->ends, cs->cap * sizeof(*cs->ends));
		if (cs->ends == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	cs->ends[cs->count++] = end;
}

static void cuts_free(struct cuts *cs)
{
	free(cs->ends);
	memset(cs, 0, sizeof(*cs));
}

static int cuts_equal(const struct cuts *a, const struct cuts *b)
{
	return a->count == b->count &&
	       memcmp(a->ends, b->ends, a->count * sizeof(*a->ends)) == 0;
}

struct params {
	size_t min, avg, max;
};

enum feed { FEED_WHOLE, FEED_FIXED, FEED_RANDOM };

/* Chunks p[0..n) through chunker_scan(), handing it `step` bytes per call
 * (FEED_FIXED), a random 1..step bytes per call (FEED_RANDOM), or all that
 * remains (FEED_WHOLE).  Returns 0, or -1 when the scanner broke its
 * contract (a return outside 1..len). */
static int chunk_feed(chunker *c, const uint8_t *p, size_t n, enum feed mode,
		      size_t step, uint64_t *rng, struct cuts *out)
{
	size_t off = 0;

	chunker_reset(c);
	while (off < n) {
		size_t len = n - off;
		size_t r;

		if (mode == FEED_FIXED && len > step)
			len = step;
		if (mode == FEED_RANDOM) {
			size_t want = 1 + (size_t)(rng_splitmix64(rng) % step);

			if (len > want)
				len = want;
		}
		r = chunker_scan(c, p + off, len);
		if (r == CHUNKER_NO_CUT) {
			off += len;
			continue;
		}
		if (r == 0 || r > len)
			return -1;
		off += r;
		cuts_push(out, off);
	}
	if (n > 0 && (out->count == 0 || out->ends[out->count - 1] != n))
		cuts_push(out, n);
	chunker_reset(c);
	return 0;
}

/* The cut rule, byte by byte, written from the description in chunker.c
 * and sharing no code with it. */
static void ref_chunk(const uint64_t gear[256], struct params pr,
		      const uint8_t *p, size_t n, struct cuts *out)
{
	int bits = 0;
	uint64_t mask_s, mask_l, hash = 0;
	size_t start = 0;

	while (((size_t)1 << bits) < pr.avg)
		bits++;
	mask_s = ~(uint64_t)0 << (64 - (bits + 2));
	mask_l = ~(uint64_t)0 << (64 - (bits - 2));
	for (size_t off = 0; off < n; off++) {
		size_t i = off - start;
		int cut = 0;

		if (i >= pr.min) {
			hash = (hash << 1) + gear[p[off]];
			cut = (hash & (i < pr.avg ? mask_s : mask_l)) == 0;
		}
		if (cut || i + 1 == pr.max) {
			cuts_push(out, off + 1);
			start = off + 1;
			hash = 0;
		}
	}
	if (n > 0 && start != n)
		cuts_push(out, n);
}

static int chunker_setup(chunker *c, const uint64_t gear[256],
			 struct params pr)
{
	return chunker_init(c, gear, pr.min, pr.avg, pr.max);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_invalid_params(const uint64_t gear[256])
{
	chunker c;

	CHECK(chunker_init(NULL, gear, 64, 128, 256) == -3);
	CHECK(chunker_init(&c, NULL, 64, 128, 256) == -3);
	CHECK(chunker_init(&c, gear, 63, 128, 256) == -3);   /* min too small */
	CHECK(chunker_init(&c, gear, 0, 128, 256) == -3);
	CHECK(chunker_init(&c, gear, 128, 128, 256) == -3);  /* min == avg */
	CHECK(chunker_init(&c, gear, 200, 128, 256) == -3);  /* min > avg */
	CHECK(chunker_init(&c, gear, 64, 256, 256) == -3);   /* avg == max */
	CHECK(chunker_init(&c, gear, 64, 512, 256) == -3);   /* avg > max */
	CHECK(chunker_init(&c, gear, 64, 192, 256) == -3);   /* not 2^k */
	CHECK(chunker_init(&c, gear, 64, 0, 256) == -3);
	CHECK(chunker_init(&c, gear, 1 * MIB, 16 * MIB, 64 * MIB + 1) == -3);
	CHECK(chunker_init(&c, gear, 1 * MIB, 64 * MIB, 65 * MIB) == -3);
	CHECK(chunker_init(&c, gear, (size_t)-1, (size_t)-1, (size_t)-1) ==
	      -3);
	/* The extremes that are allowed. */
	CHECK(chunker_init(&c, gear, 64, 128, 129) == 0);
	CHECK(chunker_init(&c, gear, 64, 32 * MIB, 64 * MIB) == 0);
	CHECK(chunker_init(&c, gear, 16 * KIB, 64 * KIB, 256 * KIB) == 0);
}

/* Gear tables that make the hash constant pin the two ends of the rule:
 * hash always 0 cuts right after the unhashed prefix; hash always with the
 * top bit set never cuts, so every chunk is forced at max. */
static void test_degenerate_tables(const uint8_t *data, size_t n)
{
	uint64_t zero[256], top[256];
	struct params pr = {256, 1024, 4096};
	struct cuts cs = {0};
	chunker c;

	for (int i = 0; i < 256; i++) {
		zero[i] = 0;
		top[i] = (uint64_t)1 << 63;
	}

	CHECK(chunker_setup(&c, zero, pr) == 0);
	CHECK(chunk_feed(&c, data, n, FEED_WHOLE, 0, NULL, &cs) == 0);
	for (size_t i = 0; i + 1 < cs.count; i++) {
		if (cs.ends[i] != (i + 1) * (pr.min + 1))
			cs.count = 0;
	}
	CHECK(cs.count == (n + pr.min) / (pr.min + 1));
	cuts_free(&cs);

	CHECK(chunker_setup(&c, top, pr) == 0);
	CHECK(chunk_feed(&c, data, n, FEED_WHOLE, 0, NULL, &cs) == 0);
	for (size_t i = 0; i + 1 < cs.count; i++) {
		if (cs.ends[i] != (i + 1) * pr.max)
			cs.count = 0;
	}
	CHECK(cs.count == (n + pr.max - 1) / pr.max);
	cuts_free(&cs);
}

/* Size bounds, agreement with the reference rule, determinism, and
 * reset in the middle of a chunk. */
static void test_bounds_and_reference(const uint64_t gear[256],
				      const uint8_t *data, size_t n,
				      struct params pr)
{
	struct cuts a = {0}, b = {0}, ref = {0};
	size_t prev = 0;
	chunker c;

	CHECK(chunker_setup(&c, gear, pr) == 0);
	CHECK(chunk_feed(&c, data, n, FEED_WHOLE, 0, NULL, &a) == 0);
	CHECK(a.count > 0 && a.ends[a.count - 1] == n);
	for (size_t i = 0; i < a.count; i++) {
		size_t size = a.ends[i] - prev;

		if (i + 1 < a.count) {
			/* The header promises min..max; the rule gives more:
			 * the cut byte itself is at index >= min. */
			CHECK(size > pr.min && size <= pr.max);
		} else {
			CHECK(size >= 1 && size <= pr.max);
		}
		prev = a.ends[i];
	}

	ref_chunk(gear, pr, data, n, &ref);
	CHECK(cuts_equal(&a, &ref));

	/* Same input, reused chunker: same cuts. */
	CHECK(chunk_feed(&c, data, n, FEED_WHOLE, 0, NULL, &b) == 0);
	CHECK(cuts_equal(&a, &b));
	cuts_free(&b);

	/* A reset mid-chunk forgets the partial chunk entirely. */
	{
		size_t r = chunker_scan(&c, data + n / 2, pr.min + 3);

		CHECK(r == CHUNKER_NO_CUT || (r > pr.min && r <= pr.min + 3));
	}
	chunker_reset(&c);
	b.count = 0;
	{
		size_t off = 0, r;

		while (off < n) {
			r = chunker_scan(&c, data + off, n - off);
			if (r == CHUNKER_NO_CUT)
				break;
			off += r;
			cuts_push(&b, off);
		}
		if (b.count == 0 || b.ends[b.count - 1] != n)
			cuts_push(&b, n);
	}
	CHECK(cuts_equal(&a, &b));

	/* A fresh chunker in another struct: same cuts. */
	{
		chunker c2;

		cuts_free(&b);
		CHECK(chunker_setup(&c2, gear, pr) == 0);
		CHECK(chunk_feed(&c2, data, n, FEED_WHOLE, 0, NULL, &b) == 0);
		CHECK(cuts_equal(&a, &b));
	}

	printf("  bounds/reference %zu/%zu/%zu: %zu chunks over %zu bytes\n",
	       pr.min, pr.avg, pr.max, a.count, n);
	cuts_free(&a);
	cuts_free(&b);
	cuts_free(&ref);
}

/* Boundaries do not depend on how the input is split across calls. */
static void test_feed_sizes(const uint64_t gear[256], const uint8_t *data,
			    size_t n, struct params pr, uint64_t *rng)
{
	static const struct {
		enum feed mode;
		size_t step;
	} feeds[] = {
		{FEED_FIXED, 1},       {FEED_FIXED, 7},
		{FEED_FIXED, 4093},    {FEED_RANDOM, 64},
		{FEED_RANDOM, 100000}, {FEED_RANDOM, 3 * MIB},
	};
	struct cuts whole = {0}, other = {0};
	chunker c;

	CHECK(chunker_setup(&c, gear, pr) == 0);
	CHECK(chunk_feed(&c, data, n, FEED_WHOLE, 0, NULL, &whole) == 0);
	for (size_t f = 0; f < sizeof(feeds) / sizeof(feeds[0]); f++) {
		other.count = 0;
		CHECK(chunk_feed(&c, data, n, feeds[f].mode, feeds[f].step, rng,
				 &other) == 0);
		if (!cuts_equal(&whole, &other))
			fprintf(stderr, "feed mode %d step %zu differs\n",
				(int)feeds[f].mode, feeds[f].step);
		CHECK(cuts_equal(&whole, &other));
	}
	printf("  feed sizes %zu/%zu/%zu: %zu feeds agree on %zu chunks\n",
	       pr.min, pr.avg, pr.max, sizeof(feeds) / sizeof(feeds[0]),
	       whole.count);
	cuts_free(&whole);
	cuts_free(&other);
}

/* Fraction of the chunks of `edited` that start at or after `from` and
 * also exist in `orig` once shifted back by `delta` bytes. */
static double resync_fraction(const struct cuts *orig,
			      const struct cuts *edited, size_t from,
			      long delta)
{
	size_t total = 0, same = 0, j = 0;

	for (size_t i = 0; i < edited->count; i++) {
		size_t start = i ? edited->ends[i - 1] : 0;
		long o_start = (long)start - delta;
		long o_end = (long)edited->ends[i] - delta;

		if (start < from)
			continue;
		total++;
		/* orig->ends is sorted: advance j to the first end >= o_end. */
		while (j < orig->count && (long)orig->ends[j] < o_end)
			j++;
		if (j < orig->count && (long)orig->ends[j] == o_end &&
		    (j == 0 ? 0 : (long)orig->ends[j - 1]) == o_start)
			same++;
	}
	return total ? (double)same / (double)total : 0.0;
}

/* Insert and delete a few bytes near the start of the buffer: the chunks
 * after the edit must come back to the same boundaries. */
static void test_resync(const uint64_t gear[256], const uint8_t *data,
			size_t n, struct params pr)
{
	static const struct {
		size_t at;
		size_t del;      /* bytes removed at `at` */
		size_t ins;      /* bytes inserted at `at` */
	} edits[] = {
		{1000, 0, 7}, {3000, 5, 0}, {70000, 1, 1}, {200000, 64, 3},
	};
	uint8_t *buf = malloc(n + 64);
	struct cuts orig = {0}, ed = {0};
	chunker c;

	CHECK(buf != NULL);
	CHECK(chunker_setup(&c, gear, pr) == 0);
	CHECK(chunk_feed(&c, data, n, FEED_WHOLE, 0, NULL, &orig) == 0);
	for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
		size_t at = edits[e].at, del = edits[e].del, ins = edits[e].ins;
		size_t m = n - del + ins;
		long delta = (long)ins - (long)del;
		double frac;

		memcpy(buf, data, at);
		memset(buf + at, 0xA5, ins);
		memcpy(buf + at + ins, data + at + del, n - at - del);
		ed.count = 0;
		if (chunk_feed(&c, buf, m, FEED_WHOLE, 0, NULL, &ed) != 0) {
			free(buf);
			CHECK(0);
		}
		frac = resync_fraction(&orig, &ed, at + ins, delta);
		printf("  resync %zu/%zu/%zu: edit at %zu -%zu +%zu: "
		       "%.1f%% of later chunks unchanged\n",
		       pr.min, pr.avg, pr.max, at, del, ins, 100.0 * frac);
		if (frac < 0.90) {
			free(buf);
			CHECK(frac >= 0.90);
		}
	}
	free(buf);
	cuts_free(&orig);
	cuts_free(&ed);
}

/* Expected chunk size under the model "each hashed byte cuts independently
 * with probability 2^-bits of its mask": sum over s of P(size > s). */
static double model_mean(struct params pr)
{
	int bits = 0;
	double p_s, p_l, surv = 1.0, mean;

	while (((size_t)1 << bits) < pr.avg)
		bits++;
	p_s = 1.0 / (double)((uint64_t)1 << (bits + 2));
	p_l = 1.0 / (double)((uint64_t)1 << (bits - 2));
	mean = (double)pr.min + 1.0;  /* P(size > s) = 1 for s <= min */
	for (size_t i = pr.min; i + 1 < pr.max; i++) {
		surv *= 1.0 - (i < pr.avg ? p_s : p_l);
		mean += surv;
	}
	return mean;
}

/* Mean chunk size on random data.  With min = avg/4 and max = 4 avg the
 * model gives about 1.14 avg (the strict mask rarely fires before avg, and
 * past avg the loose mask ends a chunk within about avg/4 bytes).  The
 * band is +-25% around the model; the measured mean is printed. */
static void test_mean_size(const uint64_t gear[256], const uint8_t *data,
			   size_t n, struct params pr)
{
	struct cuts cs = {0};
	double mean, model;
	chunker c;

	CHECK(chunker_setup(&c, gear, pr) == 0);
	CHECK(chunk_feed(&c, data, n, FEED_WHOLE, 0, NULL, &cs) == 0);
	CHECK(cs.count > 1);
	/* Leave out the last, truncated chunk. */
	mean = (double)cs.ends[cs.count - 2] / (double)(cs.count - 1);
	model = model_mean(pr);
	printf("  mean size %zu/%zu/%zu: %.0f bytes over %zu chunks "
	       "(%.3f x avg; model %.0f, %.3f x avg)\n",
	       pr.min, pr.avg, pr.max, mean, cs.count - 1,
	       mean / (double)pr.avg, model, model / (double)pr.avg);
	cuts_free(&cs);
	CHECK(mean >= 0.75 * model && mean <= 1.25 * model);
}

/* ------------------------------------------------------------------ */
/* Golden vector                                                       */

#define GOLDEN_LEN MIB
#define GOLDEN_XORSHIFT_SEED 0x853C49E6748FEA9Bu
static const struct params golden_params = {16 * KIB, 64 * KIB, 256 * KIB};

/* Computes the golden cuts (chunk ends but the last). */
static int golden_compute(struct cuts *out)
{
	uint64_t gear[256], state = GOLDEN_XORSHIFT_SEED;
	uint8_t *p = malloc(GOLDEN_LEN);
	chunker c;
	int rc = -1;

	if (p == NULL)
		return -1;
	gear_fill(gear, 0);
	for (size_t i = 0; i < GOLDEN_LEN; i += 8) {
		uint64_t v = rng_xorshift64(&state);

		for (size_t k = 0; k < 8; k++)
			p[i + k] = (uint8_t)(v >> (8 * k));
	}
	if (chunker_setup(&c, gear, golden_params) != 0)
		goto out;
	if (chunk_feed(&c, p, GOLDEN_LEN, FEED_WHOLE, 0, NULL, out) != 0)
		goto out;
	if (out->count > 0 && out->ends[out->count - 1] == GOLDEN_LEN)
		out->count--;  /* the remainder is not a cut */
	rc = 0;
out:
	free(p);
	return rc;
}

static int golden_print(FILE *f)
{
	struct cuts cs = {0};

	if (golden_compute(&cs) != 0)
		return -1;
	fprintf(f,
		"# chunker_v1.txt: golden cut offsets of the cairn chunker.\n"
		"# gear[i] = i-th output (i = 0..255) of splitmix64 from "
		"state 0.\n"
		"# input: %zu bytes; xorshift64 (13, 7, 17) from state "
		"0x%016" PRIX64 ",\n"
		"#   each output stored as 8 little-endian bytes.\n"
		"# params: min %zu, avg %zu, max %zu.\n"
		"# One line per cut: the end offset of every chunk but the "
		"last\n"
		"# (the remainder up to the input length is the last chunk).\n",
		(size_t)GOLDEN_LEN, (uint64_t)GOLDEN_XORSHIFT_SEED,
		golden_params.min, golden_params.avg, golden_params.max);
	for (size_t i = 0; i < cs.count; i++)
		fprintf(f, "%zu\n", cs.ends[i]);
	cuts_free(&cs);
	return 0;
}

/* The vector directory: $CAIRN_TEST_VECTORS, else vectors/ beside this
 * source file. */
static void golden_path(char *path, size_t cap)
{
	const char *dir = getenv("CAIRN_TEST_VECTORS");
	const char *slash;

	if (dir != NULL && dir[0] != '\0') {
		snprintf(path, cap, "%s/chunker_v1.txt", dir);
		return;
	}
	slash = strrchr(__FILE__, '/');
	if (slash == NULL)
		snprintf(path, cap, "vectors/chunker_v1.txt");
	else
		snprintf(path, cap, "%.*s/vectors/chunker_v1.txt",
			 (int)(slash - __FILE__), __FILE__);
}

static void test_golden(void)
{
	char path[4096], line[256];
	struct cuts want = {0}, got = {0};
	FILE *f;

	golden_path(path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL)
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *end;
		unsigned long long v;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		errno = 0;
		v = strtoull(line, &end, 10);
		if (errno != 0 || end == line || (*end != '\n' && *end != '\0')) {
			fprintf(stderr, "%s: bad line: %s", path, line);
			want.count = 0;
			break;
		}
		cuts_push(&want, (size_t)v);
	}
	fclose(f);
	CHECK(want.count > 0);
	CHECK(golden_compute(&got) == 0);
	if (!cuts_equal(&want, &got))
		fprintf(stderr, "golden cuts differ from %s "
			"(test_chunker --print-vector prints the current ones)\n",
			path);
	CHECK(cuts_equal(&want, &got));
	printf("  golden vector: %zu cuts match %s\n", got.count, path);
	cuts_free(&want);
	cuts_free(&got);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	static const struct params small = {2 * KIB, 8 * KIB, 32 * KIB};
	static const struct params medium = {4 * KIB, 16 * KIB, 64 * KIB};
	static const struct params large = {16 * KIB, 64 * KIB, 256 * KIB};
	static const struct params tiny = {64, 128, 256};
	static const struct params skew = {100, 4 * KIB, 5000};
	const size_t big = 32 * MIB;
	uint64_t seed, gear[256], rng;
	const char *env = getenv("CAIRN_TEST_SEED");
	uint8_t *data;

	if (argc == 2 && strcmp(argv[1], "--print-vector") == 0)
		return golden_print(stdout) == 0 ? 0 : 1;

	seed = env != NULL ? strtoull(env, NULL, 0)
			   : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	printf("test_chunker: seed %" PRIu64 " (CAIRN_TEST_SEED to replay)\n",
	       seed);
	rng = seed;
	gear_fill(gear, rng_splitmix64(&rng));
	data = malloc(big);
	if (data == NULL) {
		perror("malloc");
		return 1;
	}
	data_fill(data, big, &rng);

	test_invalid_params(gear);
	test_degenerate_tables(data, 1 * MIB + 123);
	test_bounds_and_reference(gear, data, 8 * MIB, large);
	test_bounds_and_reference(gear, data, 8 * MIB, small);
	test_bounds_and_reference(gear, data, 1 * MIB + 17, tiny);
	test_bounds_and_reference(gear, data, 2 * MIB, skew);
	test_bounds_and_reference(gear, data, 100, small);  /* one chunk */
	test_feed_sizes(gear, data, 4 * MIB, small, &rng);
	test_feed_sizes(gear, data, 4 * MIB, large, &rng);
	test_feed_sizes(gear, data, 256 * KIB, tiny, &rng);
	test_resync(gear, data, 8 * MIB, large);
	test_resync(gear, data, 8 * MIB, small);
	test_mean_size(gear, data, big, large);
	test_mean_size(gear, data, big, medium);
	test_mean_size(gear, data, big, small);
	test_golden();

	free(data);
	if (failures) {
		fprintf(stderr, "test_chunker: %d failure(s), seed %" PRIu64
			"\n", failures, seed);
		return 1;
	}
	printf("test_chunker: ok\n");
	return 0;
}
