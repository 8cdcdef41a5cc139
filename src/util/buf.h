/* buf.h: a growable byte buffer for encoders, and a bounds-checked reader
 * for decoders.  All on-disk integers are little-endian; varints are
 * unsigned LEB128 of at most 10 bytes (docs/format.md, "Encodings").
 *
 * Ownership: a struct buf owns its memory; buf_free() releases it and leaves
 * an empty buffer.  A struct rd borrows the bytes it reads.
 */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_free(struct buf *b);
/* Makes room for n more bytes. */
int buf_reserve(struct buf *b, size_t n);
int buf_put(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u32le(struct buf *b, uint32_t v);
int buf_put_u64le(struct buf *b, uint64_t v);
int buf_put_varint(struct buf *b, uint64_t v);
/* Zig-zag signed varint. */
int buf_put_svarint(struct buf *b, int64_t v);
/* varint length, then the bytes. */
int buf_put_str(struct buf *b, const void *p, size_t n);

/* A reader over borrowed bytes.  Any read past the end, or an overlong or
 * overflowing varint, sets err and returns 0; callers check rd_ok() once at
 * the end of a decode (a sticky error flag, as in Redis rio). */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t pos;
	int err;
};

void rd_init(struct rd *r, const void *p, size_t len);
uint8_t rd_u8(struct rd *r);
uint32_t rd_u32le(struct rd *r);
uint64_t rd_u64le(struct rd *r);
uint64_t rd_varint(struct rd *r);
int64_t rd_svarint(struct rd *r);
/* Copies n bytes into dst (zero-filled on error). */
void rd_bytes(struct rd *r, void *dst, size_t n);
/* Returns a pointer to n borrowed bytes, or NULL on error. */
const uint8_t *rd_ptr(struct rd *r, size_t n);
/* Reads a varint length (<= max) and returns the borrowed bytes; *n gets the
 * length.  NULL (and err set) on error; a zero-length string returns a
 * non-NULL pointer. */
const uint8_t *rd_str(struct rd *r, size_t max, size_t *n);
static inline size_t rd_left(const struct rd *r) { return r->len - r->pos; }
/* 0 when no error occurred, else CAIRN_E_CORRUPT. */
int rd_status(const struct rd *r);

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Lower-case hex. dst must hold 2*n+1 bytes; it is NUL-terminated. */
void hex_encode(char *dst, const void *src, size_t n);
/* Decodes exactly 2*n hex digits from src into dst; CAIRN_E_INVAL if src is
 * not that. */
int hex_decode(void *dst, size_t n, const char *src);

#endif
