/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <string.h>
#include <time.h>

int test_failures;

uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void test_fill(uint64_t *s, void *p, size_t n)
{
	uint8_t *d = p;
	while (n >= 8) {
		uint64_t v = test_rand(s);
		memcpy(d, &v, 8);
		d += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = test_rand(s);
		memcpy(d, &v, n);
	}
}

uint64_t test_seed(const char *name)
{
	const char *e = getenv("CAIRN_TEST_SEED");
	uint64_t seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL);
	fprintf(stderr, "%s: seed %llu (set CAIRN_TEST_SEED to replay)\n", name,
		(unsigned long long)seed);
	return seed;
}

int64_t test_utc(const char *s)
{
	struct tm tm = {0};

	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

uint8_t *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *p = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *q = realloc(p, cap);
			if (!q) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = q;
		}
		size_t r = fread(p + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return p;
}

const char *test_vector_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("CAIRN_TEST_VECTORS");
	snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/vectors", name);
	return path;
}

uint8_t *test_golden_vector(const char *name, const void *p, size_t n,
			    size_t *len)
{
	const char *regen = getenv("CAIRN_REGEN_VECTORS");
	if (regen && strcmp(regen, "1") == 0) {
		FILE *f = fopen(test_vector_path(name), "wb");
		CHECK(f && fwrite(p, 1, n, f) == n);
		if (f)
			fclose(f);
	}
	uint8_t *file = test_read_file(test_vector_path(name), len);
	CHECK(file != NULL);
	if (file)
		CHECK(*len == n && (n == 0 || memcmp(file, p, n) == 0));
	return file;
}

int test_done(const char *name)
{
	if (test_failures) {
		fprintf(stderr, "%s: %d check(s) FAILED\n", name, test_failures);
		return 1;
	}
	fprintf(stderr, "%s: ok\n", name);
	return 0;
}
