/* test_util.c: the util layer: buffer encoders and the bounds-checked
 * reader (varint edge cases, sticky errors), hex, error texts. */
#include "buf.h"
#include "cairn_err.h"
#include "testutil.h"

#include <string.h>

static void test_varint(void)
{
	static const uint64_t v[] = {0, 1, 127, 128, 300, 16383, 16384,
				     UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct buf b = BUF_INIT;
		struct rd r;
		CHECK_RC(buf_put_varint(&b, v[i]), 0);
		rd_init(&r, b.p, b.len);
		CHECK(rd_varint(&r) == v[i]);
		CHECK(rd_status(&r) == 0 && rd_left(&r) == 0);
		buf_free(&b);
	}
	/* golden encodings */
	struct buf b = BUF_INIT;
	buf_put_varint(&b, 300);
	CHECK(b.len == 2 && b.p[0] == 0xac && b.p[1] == 0x02);
	buf_free(&b);
	/* overlong, too long, truncated */
	static const uint8_t overlong[] = {0x80, 0x00};
	static const uint8_t eleven[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t tenth_big[] = {0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x02};
	static const uint8_t cut[] = {0x80};
	struct rd r;
	rd_init(&r, overlong, sizeof overlong);
	rd_varint(&r);
	CHECK(rd_status(&r) == CAIRN_E_CORRUPT);
	rd_init(&r, eleven, sizeof eleven);
	rd_varint(&r);
	CHECK(rd_status(&r) == CAIRN_E_CORRUPT);
	rd_init(&r, tenth_big, sizeof tenth_big);
	rd_varint(&r);
	CHECK(rd_status(&r) == CAIRN_E_CORRUPT);
	rd_init(&r, cut, sizeof cut);
	rd_varint(&r);
	CHECK(rd_status(&r) == CAIRN_E_CORRUPT);
}

static void test_svarint_and_fixed(void)
{
	static const int64_t v[] = {0, -1, 1, -64, 64, INT64_MIN, INT64_MAX};
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		buf_put_svarint(&b, v[i]);
	buf_put_u8(&b, 0xab);
	buf_put_u32le(&b, 0x01020304);
	buf_put_u64le(&b, 0x0102030405060708ULL);
	buf_put_str(&b, "hello", 5);
	struct rd r;
	rd_init(&r, b.p, b.len);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CHECK(rd_svarint(&r) == v[i]);
	CHECK(rd_u8(&r) == 0xab);
	CHECK(rd_u32le(&r) == 0x01020304);
	CHECK(rd_u64le(&r) == 0x0102030405060708ULL);
	size_t n = 0;
	const uint8_t *s = rd_str(&r, 5, &n);
	CHECK(s && n == 5 && !memcmp(s, "hello", 5));
	CHECK(rd_status(&r) == 0 && rd_left(&r) == 0);
	/* reading past the end is sticky and returns zeros */
	CHECK(rd_u32le(&r) == 0);
	CHECK(rd_u8(&r) == 0);
	CHECK(rd_status(&r) == CAIRN_E_CORRUPT);
	/* a string longer than its limit is refused */
	rd_init(&r, b.p, b.len);
	r.pos = b.len - 6;
	CHECK(rd_str(&r, 4, &n) == NULL && rd_status(&r) == CAIRN_E_CORRUPT);
	buf_free(&b);
}

static void test_hex(void)
{
	uint8_t in[4] = {0x00, 0x9f, 0xa0, 0xff}, out[4];
	char h[9];
	hex_encode(h, in, 4);
	CHECK(!strcmp(h, "009fa0ff"));
	CHECK_RC(hex_decode(out, 4, "009FA0ff"), 0);
	CHECK(!memcmp(in, out, 4));
	CHECK_RC(hex_decode(out, 4, "009fa0f"), CAIRN_E_INVAL);
	CHECK_RC(hex_decode(out, 4, "009fa0ffe"), CAIRN_E_INVAL);
	CHECK_RC(hex_decode(out, 4, "009fa0fg"), CAIRN_E_INVAL);
}

static void test_errors(void)
{
	for (int c = 0; c >= -18; c--)
		CHECK(cairn_strerror(c) && strcmp(cairn_strerror(c), "unknown error"));
	CHECK(!strcmp(cairn_strerror(-999), "unknown error"));
	CHECK(cairn_err_from_errno(28 /* ENOSPC */) == CAIRN_E_NOSPACE);
}

int main(void)
{
	test_varint();
	test_svarint_and_fixed();
	test_hex();
	test_errors();
	return test_done("test_util");
}
