/* hashbench.c: single-core cost of the per-chunk primitives of a backup.
 *
 * Works on a 64 MiB buffer whose first half is random (incompressible) and
 * second half generated text-like lines (compressible), cut into 64 KiB
 * chunks, and times: keyed BLAKE2b-256, HMAC-SHA-256 and SHA-256 from
 * libsodium (portable code) and from libcrypto (CPU SHA extensions),
 * XChaCha20-Poly1305 and (when the CPU has it) AES-256-GCM encryption, zstd
 * compression at levels 1..3 with one reused context, and zstd
 * decompression.  Each row is the median of 3 passes over the whole
 * buffer; ns/byte and MB/s count input bytes (uncompressed bytes for
 * decompression).
 *
 * Not part of the CMake build; built by the bench script with
 *   cc -O2 bench/hashbench.c -lsodium -lzstd -lcrypto -o hashbench
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <zstd.h>

#define KIB ((size_t)1024)
#define MIB ((size_t)1024 * 1024)
#define BUF_LEN (64 * MIB)
#define CHUNK (64 * KIB)
#define NCHUNKS (BUF_LEN / CHUNK)
#define RUNS 3

/* Shared state of one benchmark run. */
struct bench {
	uint8_t *in;           /* BUF_LEN bytes of input */
	uint8_t *out;          /* one chunk of output, with room to spare */
	size_t out_cap;
	uint8_t *zbuf;         /* compressed chunks, NCHUNKS slots */
	size_t zslot;          /* bytes per compressed slot */
	size_t zlen[NCHUNKS];  /* compressed size of each chunk */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int level;             /* zstd level of the current pass */
	uint8_t key[32];
	uint64_t sink;         /* folds outputs in, so no work is elided */
	int failed;
};

typedef void (*bench_fn)(struct bench *b);

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15u);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

/* Fills p[0..n) with lines of words drawn with a skewed distribution from
 * a fixed vocabulary, with numbers mixed in: compresses roughly like logs
 * or source text. */
static void text_fill(uint8_t *p, size_t n, uint64_t seed)
{
	static const char *const words[] = {
		"the", "of", "and", "to", "in", "is", "for", "that", "with",
		"on", "as", "file", "data", "error", "value", "return", "int",
		"size_t", "struct", "buffer", "chunk", "index", "snapshot",
		"backup", "restore", "repository", "pack", "offset", "length",
		"request", "response", "status", "server", "client", "user",
		"time", "read", "write", "open", "close", "config", "path",
		"directory", "timeout", "retry", "key", "hash", "table", "list",
		"string", "number", "count", "total", "warning", "info", "debug",
	};
	const size_t nwords = sizeof(words) / sizeof(words[0]);
	size_t i = 0, col = 0;

	while (i < n) {
		uint64_t r = splitmix64(&seed);
		/* Product of two uniforms: favours the first words. */
		size_t w = (size_t)(((r & 0xFFFF) * ((r >> 16) & 0xFFFF) *
				     nwords) >> 32);
		char tok[32];
		int len;

		if ((r >> 40) % 11 == 0)
			len = snprintf(tok, sizeof(tok), "%u",
				       (unsigned)((r >> 48) % 100000));
		else
			len = snprintf(tok, sizeof(tok), "%s", words[w]);
		for (int k = 0; k < len && i < n; k++)
			p[i++] = (uint8_t)tok[k];
		col += (size_t)len + 1;
		if (i < n)
			p[i++] = col > 72 ? '\n' : ' ';
		if (col > 72)
			col = 0;
	}
}

static void fold(struct bench *b, const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n < sizeof(v) ? n : sizeof(v));
	b->sink += v;
}

static void run_blake2b(struct bench *b)
{
	for (size_t i = 0; i < NCHUNKS; i++) {
		crypto_generichash(b->out, 32, b->in + i * CHUNK, CHUNK, b->key,
				   sizeof(b->key));
		fold(b, b->out, 32);
	}
}

static void run_hmac(struct bench *b)
{
	for (size_t i = 0; i < NCHUNKS; i++) {
		crypto_auth_hmacsha256(b->out, b->in + i * CHUNK, CHUNK,
				       b->key);
		fold(b, b->out, 32);
	}
}

static void run_sha256(struct bench *b)
{
	for (size_t i = 0; i < NCHUNKS; i++) {
		crypto_hash_sha256(b->out, b->in + i * CHUNK, CHUNK);
		fold(b, b->out, 32);
	}
}

static void run_sha256_libcrypto(struct bench *b)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	unsigned int len = 32;
	for (size_t i = 0; i < NCHUNKS; i++) {
		EVP_Digest(b->in + i * CHUNK, CHUNK, b->out, &len, md, NULL);
		fold(b, b->out, 32);
	}
	EVP_MD_free(md);
}

static void run_hmac_libcrypto(struct bench *b)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	unsigned int len = 32;
	for (size_t i = 0; i < NCHUNKS; i++) {
		HMAC(md, b->key, sizeof(b->key), b->in + i * CHUNK, CHUNK,
		     b->out, &len);
		fold(b, b->out, 32);
	}
	EVP_MD_free(md);
}

static void run_xchacha(struct bench *b)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {0};
	unsigned long long clen;

	for (size_t i = 0; i < NCHUNKS; i++) {
		memcpy(nonce, &i, sizeof(i));
		crypto_aead_xchacha20poly1305_ietf_encrypt(
			b->out, &clen, b->in + i * CHUNK, CHUNK, NULL, 0, NULL,
			nonce, b->key);
		fold(b, b->out + clen - 8, 8);
	}
}

static void run_aesgcm(struct bench *b)
{
	uint8_t nonce[crypto_aead_aes256gcm_NPUBBYTES] = {0};
	unsigned long long clen;

	for (size_t i = 0; i < NCHUNKS; i++) {
		memcpy(nonce, &i, sizeof(i));
		crypto_aead_aes256gcm_encrypt(b->out, &clen, b->in + i * CHUNK,
					      CHUNK, NULL, 0, NULL, nonce,
					      b->key);
		fold(b, b->out + clen - 8, 8);
	}
}

/* Compresses every chunk into its slot of zbuf, at b->level. */
static void run_zstd_compress(struct bench *b)
{
	for (size_t i = 0; i < NCHUNKS; i++) {
		size_t r = ZSTD_compressCCtx(b->cctx, b->zbuf + i * b->zslot,
					     b->zslot, b->in + i * CHUNK, CHUNK,
					     b->level);

		if (ZSTD_isError(r)) {
			b->failed = 1;
			return;
		}
		b->zlen[i] = r;
		fold(b, b->zbuf + i * b->zslot, r);
	}
}

/* Decompresses the slots written by the last compression pass and checks
 * the first chunk of each half against the input. */
static void run_zstd_decompress(struct bench *b)
{
	for (size_t i = 0; i < NCHUNKS; i++) {
		size_t r = ZSTD_decompressDCtx(b->dctx, b->out, b->out_cap,
					       b->zbuf + i * b->zslot,
					       b->zlen[i]);

		if (ZSTD_isError(r) || r != CHUNK) {
			b->failed = 1;
			return;
		}
		if ((i == 0 || i == NCHUNKS / 2) &&
		    memcmp(b->out, b->in + i * CHUNK, CHUNK) != 0) {
			b->failed = 1;
			return;
		}
		fold(b, b->out, r);
	}
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return (a > c) - (a < c);
}

/* Runs fn RUNS times and returns the median seconds per pass. */
static double bench_median(struct bench *b, bench_fn fn)
{
	double t[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double t0 = now_seconds();

		fn(b);
		t[r] = now_seconds() - t0;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	return t[RUNS / 2];
}

static void row_print(const char *name, double secs, const char *note)
{
	printf("%-34s %9.3f %10.0f  %s\n", name, secs * 1e9 / (double)BUF_LEN,
	       (double)BUF_LEN / secs / 1e6, note);
}

/* Compressed/uncompressed totals over the chunks [from, to). */
static double zstd_ratio(const struct bench *b, size_t from, size_t to)
{
	size_t z = 0;

	for (size_t i = from; i < to; i++)
		z += b->zlen[i];
	return z ? (double)((to - from) * CHUNK) / (double)z : 0.0;
}

int main(void)
{
	static struct bench b;
	char name[64], note[128];
	double secs;
	int rc = 1;

	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	b.out_cap = CHUNK + 1024;
	b.zslot = ZSTD_compressBound(CHUNK);
	b.in = malloc(BUF_LEN);
	b.out = malloc(b.out_cap);
	b.zbuf = malloc(NCHUNKS * b.zslot);
	b.cctx = ZSTD_createCCtx();
	b.dctx = ZSTD_createDCtx();
	if (b.in == NULL || b.out == NULL || b.zbuf == NULL ||
	    b.cctx == NULL || b.dctx == NULL) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	{
		uint8_t seed[randombytes_SEEDBYTES] = {1};

		randombytes_buf_deterministic(b.in, BUF_LEN / 2, seed);
	}
	text_fill(b.in + BUF_LEN / 2, BUF_LEN / 2, 7);
	randombytes_buf(b.key, sizeof(b.key));

	printf("hashbench: %zu MiB (half random, half text-like), %zu KiB "
	       "chunks, median of %d passes, one core\n",
	       BUF_LEN / MIB, CHUNK / KIB, RUNS);
	printf("%-34s %9s %10s  %s\n", "operation", "ns/byte", "MB/s", "note");

	row_print("BLAKE2b-256 keyed (generichash)",
		  bench_median(&b, run_blake2b), "");
	row_print("HMAC-SHA-256", bench_median(&b, run_hmac), "");
	row_print("SHA-256", bench_median(&b, run_sha256), "libsodium");
	row_print("SHA-256 (libcrypto)", bench_median(&b, run_sha256_libcrypto),
		  "SHA extensions");
	row_print("HMAC-SHA-256 (libcrypto)",
		  bench_median(&b, run_hmac_libcrypto), "SHA extensions");
	row_print("XChaCha20-Poly1305-IETF encrypt",
		  bench_median(&b, run_xchacha), "");
	if (crypto_aead_aes256gcm_is_available())
		row_print("AES-256-GCM encrypt", bench_median(&b, run_aesgcm),
			  "");
	else
		printf("%-34s %9s %10s  %s\n", "AES-256-GCM encrypt", "-", "-",
		       "not available on this CPU");

	for (int level = 1; level <= 3; level++) {
		b.level = level;
		secs = bench_median(&b, run_zstd_compress);
		if (b.failed)
			break;
		snprintf(name, sizeof(name), "zstd -%d compress", level);
		snprintf(note, sizeof(note),
			 "ratio %.3f (random half %.3f, text half %.3f)",
			 zstd_ratio(&b, 0, NCHUNKS),
			 zstd_ratio(&b, 0, NCHUNKS / 2),
			 zstd_ratio(&b, NCHUNKS / 2, NCHUNKS));
		row_print(name, secs, note);
		if (level == 1 || level == 3) {
			secs = bench_median(&b, run_zstd_decompress);
			if (b.failed)
				break;
			snprintf(name, sizeof(name), "zstd -%d decompress",
				 level);
			row_print(name, secs, "per uncompressed byte");
		}
	}
	if (b.failed) {
		fprintf(stderr, "zstd round trip failed\n");
		goto out;
	}
	printf("(checksum %016llx)\n", (unsigned long long)b.sink);
	rc = 0;
out:
	ZSTD_freeCCtx(b.cctx);
	ZSTD_freeDCtx(b.dctx);
	free(b.in);
	free(b.out);
	free(b.zbuf);
	return rc;
}
