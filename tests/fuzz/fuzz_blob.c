/* fuzz_blob.c: the plaintext layer of blob records.  A co-client holding
 * the keys may be malicious, so what is inside a valid AEAD must be parsed
 * as hostile too: the input is sealed with a fixed key as a record's
 * plaintext (encoding byte and body) and decoded, with a dictionary
 * resolver that knows no dictionary.
 *
 * Input: u8 type (low bit), u32 raw_length (little-endian), then the
 * plaintext.
 */
#include "blob.h"
#include "buf.h"
#include "cairn_err.h"
#include "fuzz.h"

#include <sodium.h>
#include <string.h>

static int no_dict(void *ud, const uint8_t id[32],
		   const struct ZSTD_DDict_s **ret)
{
	(void)ud;
	(void)id;
	(void)ret;
	return CAIRN_E_NOTFOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = {1, 2, 3};
	static const uint8_t id[32] = {9, 8, 7};
	uint8_t nonce[24] = {0};
	if (size < 5 || size > (1u << 20) || sodium_init() < 0)
		return 0;
	uint8_t type = data[0] & 1;
	uint64_t raw_length = get_le32(data + 1) & 0xffffff;
	const uint8_t *plain = data + 5;
	size_t plen = size - 5;
	struct buf rec = BUF_INIT, out = BUF_INIT;
	if (buf_reserve(&rec, 24 + plen + 16) < 0)
		return 0;
	uint8_t ad[33];
	ad[0] = type;
	memcpy(ad + 1, id, 32);
	memcpy(rec.p, nonce, 24);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec.p + 24, &clen, plain, plen,
						   ad, sizeof ad, NULL, nonce, key);
	rec.len = 24 + (size_t)clen;
	struct blob_dict_resolver res = {no_dict, NULL};
	struct buf scratch = BUF_INIT;
	int rc = blob_decode_reuse(key, type, id, rec.p, rec.len, raw_length,
				   NULL, &res, &scratch, &out);
	if (rc == 0 && out.len != raw_length)
		__builtin_trap();
	buf_free(&rec);
	buf_free(&out);
	buf_free(&scratch);
	return 0;
}
