/* dict.c: training and sealing compression dictionaries (see dict.h). */
#include "dict.h"
#include "cairn_err.h"

#include <sodium.h>
#include <string.h>
#include <zdict.h>

#define SEALED_LEN (32 + crypto_box_SEALBYTES)
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define HEAD_LEN (8 + SEALED_LEN + NONCE_LEN)

int dict_train(const void *samples, const size_t *sizes, unsigned n,
	       struct buf *out)
{
	int rc;
	out->len = 0;
	if (n < 8)
		return CAIRN_E_INVAL;
	TRY(buf_reserve(out, DICT_CAPACITY));
	size_t r = ZDICT_trainFromBuffer(out->p, DICT_CAPACITY, samples, sizes, n);
	if (ZDICT_isError(r)) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	out->len = r;
out:
	return rc;
}

int dict_seal(const uint8_t data_pk[32], const void *p, size_t n,
	      struct buf *out)
{
	uint8_t *key = sodium_malloc(32);
	int rc;
	if (!key)
		return CAIRN_E_NOMEM;
	out->len = 0;
	TRY(buf_reserve(out, HEAD_LEN + n + TAG_LEN));
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	memcpy(out->p, DICT_MAGIC, 8);
	if (crypto_box_seal(out->p + 8, key, 32, data_pk) != 0) {
		rc = CAIRN_E_CRYPTO;
		goto out;
	}
	uint8_t *nonce = out->p + 8 + SEALED_LEN;
	randombytes_buf(nonce, NONCE_LEN);
	unsigned long long clen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		    out->p + HEAD_LEN, &clen, p, n, (const uint8_t *)DICT_MAGIC,
		    8, NULL, nonce, key) != 0) {
		rc = CAIRN_E_CRYPTO;
		goto out;
	}
	out->len = HEAD_LEN + (size_t)clen;
out:
	if (rc < 0)
		out->len = 0;
	sodium_free(key);
	return rc;
}

int dict_open(const uint8_t data_pk[32], const uint8_t data_sk[32],
	      const void *obj, size_t n, struct buf *out)
{
	const uint8_t *o = obj;
	uint8_t *key = sodium_malloc(32);
	int rc;
	if (!key)
		return CAIRN_E_NOMEM;
	out->len = 0;
	if (n < HEAD_LEN + TAG_LEN || n - HEAD_LEN - TAG_LEN > DICT_MAX ||
	    memcmp(o, DICT_MAGIC, 8) != 0 ||
	    crypto_box_seal_open(key, o + 8, SEALED_LEN, data_pk, data_sk) != 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	TRY(buf_reserve(out, n - HEAD_LEN));
	unsigned long long plen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out->p, &plen, NULL, o + HEAD_LEN, n - HEAD_LEN,
		    (const uint8_t *)DICT_MAGIC, 8, o + 8 + SEALED_LEN, key) != 0) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	out->len = (size_t)plen;
	rc = 0;
out:
	sodium_free(key);
	return rc;
}
