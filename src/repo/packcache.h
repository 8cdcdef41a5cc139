/* packcache.h: windows of packs kept in memory for reads from remote
 * stores (packcache.c). */
#ifndef CAIRN_PACKCACHE_H
#define CAIRN_PACKCACHE_H

#include <stdint.h>

#include "backend.h"
#include "buf.h"

#define PACK_CACHE_WINDOW (16u << 20)
#define PACK_CACHE_SLOTS 8

struct pack_cache;

int pack_cache_new(struct pack_cache **ret);
void pack_cache_free(struct pack_cache *c);

/* Copies bytes [off, off + len) of the pack named hex (pack_size bytes
 * long) into out, from the cached window that holds them or by reading
 * that window first.  The bytes are not checked: the caller checks them
 * and calls pack_cache_drop when they are bad.  CAIRN_E_RANGE when the
 * range does not fit in one window or the cache cannot serve it now (read
 * it directly instead); the store's error when the window's read failed
 * after its retries. */
int pack_cache_read(struct pack_cache *c, struct backend *be, const char *hex,
		    uint64_t pack_size, uint64_t off, uint64_t len,
		    struct buf *out);
/* Forgets the window holding off of pack hex. */
void pack_cache_drop(struct pack_cache *c, const char *hex, uint64_t off);

#endif
