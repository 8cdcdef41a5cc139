/* buf.c: growable buffer and bounds-checked reader (see buf.h). */
#include "buf.h"
#include "cairn_err.h"

#include <stdlib.h>
#include <string.h>

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	if (n > SIZE_MAX - b->len)
		return CAIRN_E_RANGE;
	size_t need = b->len + n;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return CAIRN_E_NOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int buf_put(struct buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v) { return buf_put(b, &v, 1); }

int buf_put_u32le(struct buf *b, uint32_t v)
{
	uint8_t t[4];
	put_le32(t, v);
	return buf_put(b, t, 4);
}

int buf_put_u64le(struct buf *b, uint64_t v)
{
	uint8_t t[8];
	put_le64(t, v);
	return buf_put(b, t, 8);
}

int buf_put_varint(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		t[n++] = c | (v ? 0x80 : 0);
	} while (v);
	return buf_put(b, t, n);
}

int buf_put_svarint(struct buf *b, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	return buf_put_varint(b, u);
}

int buf_put_str(struct buf *b, const void *p, size_t n)
{
	int rc = buf_put_varint(b, n);
	return rc < 0 ? rc : buf_put(b, p, n);
}

void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->err = 0;
}

const uint8_t *rd_ptr(struct rd *r, size_t n)
{
	if (r->err || n > r->len - r->pos) {
		r->err = 1;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 1);
	return p ? p[0] : 0;
}

uint32_t rd_u32le(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 4);
	return p ? get_le32(p) : 0;
}

uint64_t rd_u64le(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 8);
	return p ? get_le64(p) : 0;
}

uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 10; i++) {
		const uint8_t *p = rd_ptr(r, 1);
		if (!p)
			return 0;
		uint64_t c = p[0] & 0x7f;
		/* the tenth byte may only carry the top bit of a 64-bit value */
		if (i == 9 && (p[0] & 0xfe)) {
			r->err = 1;
			return 0;
		}
		v |= c << (7 * i);
		if (!(p[0] & 0x80)) {
			/* reject overlong encodings: a final zero byte after the first */
			if (i > 0 && c == 0) {
				r->err = 1;
				return 0;
			}
			return v;
		}
	}
	r->err = 1;
	return 0;
}

int64_t rd_svarint(struct rd *r)
{
	uint64_t u = rd_varint(r);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

void rd_bytes(struct rd *r, void *dst, size_t n)
{
	const uint8_t *p = rd_ptr(r, n);
	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

const uint8_t *rd_str(struct rd *r, size_t max, size_t *n)
{
	uint64_t l = rd_varint(r);
	if (r->err || l > max) {
		r->err = 1;
		return NULL;
	}
	const uint8_t *p = rd_ptr(r, (size_t)l);
	if (p)
		*n = (size_t)l;
	return p;
}

int rd_status(const struct rd *r) { return r->err ? CAIRN_E_CORRUPT : 0; }

void hex_encode(char *dst, const void *src, size_t n)
{
	static const char d[] = "0123456789abcdef";
	const uint8_t *s = src;
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = d[s[i] >> 4];
		dst[2 * i + 1] = d[s[i] & 15];
	}
	dst[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int hex_decode(void *dst, size_t n, const char *src)
{
	uint8_t *d = dst;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(src[2 * i]);
		int lo = hi < 0 ? -1 : hexval(src[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CAIRN_E_INVAL;
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	return src[2 * n] == 0 ? 0 : CAIRN_E_INVAL;
}
