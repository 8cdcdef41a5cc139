/* fuzz_keyfile.c: the clear part of key files (keyfile_parse and
 * keyfile_read_info) and, for inputs of exactly 232 bytes, the master key
 * block decoder.  The KDF is never run: it costs half a second per input.
 *
 * Checked properties: no crash or leak; read_info agrees with parse; an
 * accepted file has KDF parameters within the limits and NUL-terminated
 * strings; an accepted block re-encodes to the same bytes.
 */
#include "fuzz.h"

#include "cairn_err.h"
#include "crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_block(const uint8_t *data)
{
	uint8_t *block = sodium_malloc(2 * MASTER_BLOCK_LEN);
	struct master_keys *k = NULL;
	if (!block)
		return;
	memcpy(block, data, MASTER_BLOCK_LEN);
	if (mkeys_decode(block, &k) == 0) {
		mkeys_encode(k, block + MASTER_BLOCK_LEN);
		if (memcmp(block, block + MASTER_BLOCK_LEN, MASTER_BLOCK_LEN))
			abort();
		mkeys_free(k);
	}
	sodium_free(block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyfile_parsed kp;
	struct keyfile_info info;

	if (crypto_setup() < 0)
		abort();
	int a = keyfile_parse(data, size, &kp);
	int b = keyfile_read_info(data, size, &info);
	if (a != b)
		abort();
	if (a == 0) {
		if (memcmp(&kp.info, &info, sizeof info) != 0)
			abort();
		if (info.opslimit < KDF_OPSLIMIT_MIN ||
		    info.opslimit > KDF_OPSLIMIT_MAX ||
		    info.memlimit < KDF_MEMLIMIT_MIN ||
		    info.memlimit > KDF_MEMLIMIT_MAX)
			abort();
		if (!memchr(info.created, 0, sizeof info.created) ||
		    !memchr(info.hostname, 0, sizeof info.hostname) ||
		    !memchr(info.username, 0, sizeof info.username))
			abort();
	} else if (a != CAIRN_E_CORRUPT && a != CAIRN_E_RANGE &&
		   a != CAIRN_E_UNSUPPORTED && a != CAIRN_E_NOMEM) {
		abort();
	}
	if (size == MASTER_BLOCK_LEN)
		fuzz_block(data);
	return 0;
}
