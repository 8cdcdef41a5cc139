/* chunkdedup.c: measures the chunker on two versions of some data.
 *
 * Chunks OLD and NEW with a fixed pseudo-random gear table, hashes every
 * chunk, and reports for NEW: the number of chunks, their mean size, the
 * share of NEW's bytes that sit in chunks already present in OLD (what a
 * second backup would not store again), and the chunking throughput
 * (chunk boundaries only, no hashing; median of 3 passes over NEW held in
 * memory).
 *
 * Usage:
 *   chunkdedup OLD NEW MIN AVG MAX    one parameter set (K/M/G suffixes)
 *   chunkdedup OLD NEW                the preset list below
 *
 * Not part of the CMake build; built by the bench script with
 *   cc -O2 -I src/chunker src/chunker/chunker.c bench/chunkdedup.c \
 *      -o chunkdedup -lxxhash
 */
#define _POSIX_C_SOURCE 200809L

#include "chunker.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#define KIB ((size_t)1024)
#define MIB ((size_t)1024 * 1024)

/* Any fixed value will do; a repository derives its table from its key. */
#define GEAR_SEED 0x636169726E676561u

struct params {
	size_t min, avg, max;
};

static const struct params presets[] = {
	{16 * KIB, 64 * KIB, 256 * KIB},
	{64 * KIB, 256 * KIB, 1 * MIB},
	{256 * KIB, 1 * MIB, 4 * MIB},
	{512 * KIB, 1 * MIB, 8 * MIB},
};

struct file_data {
	uint8_t *p;
	size_t len;
};

/* A set of 128-bit chunk hashes: open addressing, linear probing. */
struct hash_set {
	XXH128_hash_t *keys;
	uint8_t *used;
	size_t cap;  /* a power of two */
	size_t count;
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15u);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads a whole file into memory.  Returns 0 or -1 (message printed). */
static int file_read_all(const char *path, struct file_data *out)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL, *np;
	size_t len = 0, cap = 0, got;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 16 * MIB;
			np = realloc(p, cap);
			if (np == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(p);
				fclose(f);
				return -1;
			}
			p = np;
		}
		got = fread(p + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	out->p = p;
	out->len = len;
	return 0;
}

/* Parses "64K", "1M", "4096"; returns 0 on error. */
static size_t size_parse(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	return *end == '\0' ? (size_t)v : 0;
}

static void size_format(char *buf, size_t cap, size_t v)
{
	if (v % MIB == 0)
		snprintf(buf, cap, "%zuM", v / MIB);
	else if (v % KIB == 0)
		snprintf(buf, cap, "%zuK", v / KIB);
	else
		snprintf(buf, cap, "%zu", v);
}

/* Chunk ends of data[0..len), written to ends (capacity len / min + 2,
 * enough for any input); returns their count. */
static size_t chunk_all(chunker *c, const uint8_t *data, size_t len,
			size_t *ends)
{
	size_t off = 0, count = 0, r;

	chunker_reset(c);
	while (off < len) {
		r = chunker_scan(c, data + off, len - off);
		if (r == CHUNKER_NO_CUT)
			break;
		off += r;
		ends[count++] = off;
	}
	if (off < len || (len > 0 && count == 0))
		ends[count++] = len;
	chunker_reset(c);
	return count;
}

static int hash_set_init(struct hash_set *hs, size_t expect)
{
	size_t cap = 1024;

	while (cap < 2 * expect)
		cap *= 2;
	hs->keys = malloc(cap * sizeof(*hs->keys));
	hs->used = calloc(cap, 1);
	hs->cap = cap;
	hs->count = 0;
	if (hs->keys == NULL || hs->used == NULL) {
		free(hs->keys);
		free(hs->used);
		return -1;
	}
	return 0;
}

static void hash_set_free(struct hash_set *hs)
{
	free(hs->keys);
	free(hs->used);
	memset(hs, 0, sizeof(*hs));
}

/* Returns 1 if h was present; otherwise adds it when `add` and returns 0.
 * The capacity is at least twice the number of keys ever added. */
static int hash_set_probe(struct hash_set *hs, XXH128_hash_t h, int add)
{
	size_t i = (size_t)h.low64 & (hs->cap - 1);

	while (hs->used[i]) {
		if (XXH128_isEqual(hs->keys[i], h))
			return 1;
		i = (i + 1) & (hs->cap - 1);
	}
	if (add) {
		hs->used[i] = 1;
		hs->keys[i] = h;
		hs->count++;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Runs one parameter set and prints one table row.  Returns 0 or -1. */
static int run_params(const uint64_t gear[256], const struct file_data *old,
		      const struct file_data *new, struct params pr)
{
	size_t *old_ends = NULL, *new_ends = NULL;
	size_t old_n, new_n, dup_bytes = 0, prev;
	struct hash_set hs = {0};
	double times[3], secs;
	char smin[24], savg[24], smax[24], label[80];
	chunker c;
	int rc = -1;

	if (chunker_init(&c, gear, pr.min, pr.avg, pr.max) != 0) {
		fprintf(stderr, "invalid parameters %zu/%zu/%zu\n", pr.min,
			pr.avg, pr.max);
		return -1;
	}
	old_ends = malloc((old->len / pr.min + 2) * sizeof(*old_ends));
	new_ends = malloc((new->len / pr.min + 2) * sizeof(*new_ends));
	if (old_ends == NULL || new_ends == NULL)
		goto out;

	new_n = 0;
	for (int r = 0; r < 3; r++) {
		double t0 = now_seconds();

		new_n = chunk_all(&c, new->p, new->len, new_ends);
		times[r] = now_seconds() - t0;
	}
	qsort(times, 3, sizeof(times[0]), cmp_double);
	secs = times[1];

	old_n = chunk_all(&c, old->p, old->len, old_ends);
	if (hash_set_init(&hs, old_n) != 0)
		goto out;
	prev = 0;
	for (size_t i = 0; i < old_n; i++) {
		hash_set_probe(&hs, XXH3_128bits(old->p + prev,
						 old_ends[i] - prev), 1);
		prev = old_ends[i];
	}
	prev = 0;
	for (size_t i = 0; i < new_n; i++) {
		size_t len = new_ends[i] - prev;

		if (hash_set_probe(&hs, XXH3_128bits(new->p + prev, len), 0))
			dup_bytes += len;
		prev = new_ends[i];
	}

	size_format(smin, sizeof(smin), pr.min);
	size_format(savg, sizeof(savg), pr.avg);
	size_format(smax, sizeof(smax), pr.max);
	snprintf(label, sizeof(label), "%s/%s/%s", smin, savg, smax);
	printf("%-16s %10zu %10zu %12.0f %9.2f %11.0f %9.3f\n", label, old_n,
	       new_n, new_n ? (double)new->len / (double)new_n : 0.0,
	       new->len ? 100.0 * (double)dup_bytes / (double)new->len : 0.0,
	       secs > 0 ? (double)new->len / secs / 1e6 : 0.0,
	       new->len ? secs * 1e9 / (double)new->len : 0.0);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "out of memory\n");
	hash_set_free(&hs);
	free(old_ends);
	free(new_ends);
	return rc;
}

int main(int argc, char **argv)
{
	struct file_data old = {0}, new = {0};
	uint64_t gear[256], seed = GEAR_SEED;
	int rc = 1;

	if (argc != 3 && argc != 6) {
		fprintf(stderr, "usage: %s OLD NEW [MIN AVG MAX]\n"
			"  sizes take K/M/G suffixes; without them, runs "
			"16K/64K/256K, 64K/256K/1M,\n"
			"  256K/1M/4M and 512K/1M/8M\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < 256; i++)
		gear[i] = splitmix64(&seed);
	if (file_read_all(argv[1], &old) != 0 ||
	    file_read_all(argv[2], &new) != 0)
		goto out;

	printf("OLD %s: %zu bytes; NEW %s: %zu bytes\n", argv[1], old.len,
	       argv[2], new.len);
	printf("%-16s %10s %10s %12s %9s %11s %9s\n", "min/avg/max",
	       "old chunks", "new chunks", "mean size", "dedup %",
	       "chunk MB/s", "ns/byte");
	if (argc == 6) {
		struct params pr = {size_parse(argv[3]), size_parse(argv[4]),
				    size_parse(argv[5])};

		if (run_params(gear, &old, &new, pr) != 0)
			goto out;
	} else {
		for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]);
		     i++) {
			if (run_params(gear, &old, &new, presets[i]) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(old.p);
	free(new.p);
	return rc;
}
