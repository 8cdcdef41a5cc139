/* test_dict.c: compression dictionary objects (format.md 7a): a golden
 * object that must open with its key pair to known bytes, refusal of
 * every flipped bit and truncation, training on text and its clean
 * refusal on too little or random data, and a seal/open round trip.
 * Regenerate the vector with CAIRN_REGEN_VECTORS=1.
 */
#include "cairn_err.h"
#include "crypto.h"
#include "dict.h"
#include "testutil.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The golden dictionary is not a trained one: any bytes are a valid raw
 * zstd dictionary, and fixed bytes keep the vector small and stable. */
static void golden_content(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)("cairn dictionary v1 "[i % 20]);
}

static void keypair(uint8_t pk[32], uint8_t sk[32])
{
	uint8_t seed[32];
	memset(seed, 0x5d, sizeof seed);
	crypto_box_seed_keypair(pk, sk, seed);
}

static void test_golden(void)
{
	uint8_t pk[32], sk[32], content[1000], h[32];
	struct buf obj = BUF_INIT, out = BUF_INIT;
	keypair(pk, sk);
	golden_content(content, sizeof content);
	const char *path = test_vector_path("dict_v1.bin");
	if (getenv("CAIRN_REGEN_VECTORS")) {
		CHECK_RC(dict_seal(pk, content, sizeof content, &obj), 0);
		FILE *f = fopen(path, "wb");
		CHECK(f && fwrite(obj.p, 1, obj.len, f) == obj.len);
		if (f)
			fclose(f);
		buf_free(&obj);
	}
	size_t n = 0;
	uint8_t *file = test_read_file(path, &n);
	CHECK(file != NULL);
	if (!file)
		return;
	CHECK(n == 8 + 80 + 24 + sizeof content + 16);
	CHECK(!memcmp(file, "CAIRNDC1", 8));
	CHECK_RC(dict_open(pk, sk, file, n, &out), 0);
	CHECK(out.len == sizeof content && !memcmp(out.p, content, out.len));
	crypto_object_hash(file, n, h);
	char hex[65];
	hex_encode(hex, h, 32);
	fprintf(stderr, "dict_v1.bin id %s\n", hex);
	/* every bit flip and every truncation is refused */
	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b += 7) {
			file[i] ^= (uint8_t)(1 << b);
			CHECK_RC(dict_open(pk, sk, file, n, &out), CAIRN_E_CORRUPT);
			file[i] ^= (uint8_t)(1 << b);
		}
	}
	for (size_t l = 0; l < n; l += 37)
		CHECK_RC(dict_open(pk, sk, file, l, &out), CAIRN_E_CORRUPT);
	/* another key pair cannot open it */
	uint8_t pk2[32], sk2[32];
	crypto_box_keypair(pk2, sk2);
	CHECK_RC(dict_open(pk2, sk2, file, n, &out), CAIRN_E_CORRUPT);
	free(file);
	buf_free(&out);
}

static void test_train(void)
{
	uint64_t rng = test_seed("test_dict");
	enum { N = 200 };
	static uint8_t samples[N * 2048];
	size_t sizes[N], off = 0;
	struct buf d = BUF_INIT, obj = BUF_INIT, out = BUF_INIT;
	for (size_t i = 0; i < N; i++) {
		int k = snprintf((char *)samples + off, 2048,
				 "INSERT INTO accounts VALUES (%zu, 'user%zu', "
				 "'user%zu@example.org', '2026-%02zu-%02zu');\n",
				 i, i * 7, i * 7, i % 12 + 1, i % 28 + 1);
		sizes[i] = (size_t)k;
		off += (size_t)k;
	}
	CHECK_RC(dict_train(samples, sizes, N, &d), 0);
	CHECK(d.len > 0 && d.len <= DICT_CAPACITY);
	uint8_t pk[32], sk[32];
	crypto_box_keypair(pk, sk);
	CHECK_RC(dict_seal(pk, d.p, d.len, &obj), 0);
	CHECK_RC(dict_open(pk, sk, obj.p, obj.len, &out), 0);
	CHECK(out.len == d.len && !memcmp(out.p, d.p, d.len));
	/* too few samples, or random ones: refused, not crashed */
	CHECK_RC(dict_train(samples, sizes, 3, &d), CAIRN_E_INVAL);
	test_fill(&rng, samples, sizeof samples);
	for (size_t i = 0; i < N; i++)
		sizes[i] = 2048;
	int rc = dict_train(samples, sizes, N, &d);
	CHECK(rc == 0 || rc == CAIRN_E_INVAL);
	buf_free(&d);
	buf_free(&obj);
	buf_free(&out);
}

int main(void)
{
	if (crypto_setup() < 0)
		return 1;
	test_golden();
	test_train();
	return test_done("test_dict");
}
