/* fuzz_packheader.c: the pack trailer and header plaintext parsers.
 *
 * Input: the whole input is taken as a pack file for pack_tail_parse() (its
 * last PACK_TAIL_LEN bytes); what precedes the tail (or everything, when
 * the input is shorter) is [u8 pack type][u64 records_len, little-endian]
 * [header plaintext] for pack_header_decode_plain().  A header that decodes
 * must satisfy every rule and re-encode to the same bytes (the encoding is
 * canonical).
 */
#include "fuzz.h"
#include "buf.h"
#include "cairn_err.h"
#include "pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pack_trailer tr;

	if (size >= PACK_TAIL_LEN) {
		int rc = pack_tail_parse(data + size - PACK_TAIL_LEN, size, &tr);
		if (rc == 0) {
			FUZZ_ASSERT(tr.header_offset + tr.header_ct_len +
					    PACK_TAIL_LEN == size);
			FUZZ_ASSERT(tr.version == 1 && tr.type <= 1);
			FUZZ_ASSERT(tr.header_offset >= 41);
			FUZZ_ASSERT(memcmp(tr.sealed_key,
					   data + size - PACK_TAIL_LEN,
					   PACK_SEALED_KEY_LEN) == 0);
		} else {
			FUZZ_ASSERT(rc == CAIRN_E_CORRUPT ||
				    rc == CAIRN_E_UNSUPPORTED);
		}
		size -= PACK_TAIL_LEN;
	}
	if (size < 9)
		return 0;
	const uint8_t type = data[0];
	const uint64_t records_len = get_le64(data + 1);
	const uint8_t *hdr = data + 9;
	const size_t len = size - 9;

	struct pack_entry *e = NULL;
	size_t n = 0;
	int rc = pack_header_decode_plain(hdr, len, type, records_len, &e, &n);
	if (rc < 0) {
		FUZZ_ASSERT(rc == CAIRN_E_CORRUPT || rc == CAIRN_E_UNSUPPORTED ||
			    rc == CAIRN_E_NOMEM);
		return 0;
	}
	FUZZ_ASSERT(n >= 1 && n <= PACK_MAX_BLOBS && type <= 1);
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(e[i].type == type);
		FUZZ_ASSERT(e[i].offset == off);
		FUZZ_ASSERT(e[i].length >= 41);
		off += e[i].length;
	}
	FUZZ_ASSERT(off == records_len);
	struct buf out = BUF_INIT;
	FUZZ_ASSERT(pack_header_encode_plain(e, n, &out) == 0);
	FUZZ_ASSERT(out.len == len && memcmp(out.p, hdr, len) == 0);
	buf_free(&out);
	free(e);
	return 0;
}
