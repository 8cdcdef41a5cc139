/* config.h: the repository config file (docs/format.md section 3). */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct chunker_params {
	uint32_t min, avg, max;
};

struct repo_config {
	uint32_t version;
	uint8_t id[32];
	struct chunker_params stream;
	struct chunker_params files;
	int compression_level;
	uint64_t pack_size;
};

/* Fills defaults (version 2, chunker defaults, level 3, 16 MiB) and a random
 * id. */
void config_init_default(struct repo_config *c);

/* Validates ranges (format.md 3); CAIRN_E_INVAL when out of range. */
int config_validate(const struct repo_config *c);

/* Validates one chunker parameter set: 64 <= min < avg < max <= 64 MiB and
 * avg a power of two (format.md 3).  0, or CAIRN_E_INVAL. */
int config_chunker_validate(const struct chunker_params *p);

/* Encodes to JSON bytes: members in the order of format.md 3, two-space
 * indentation, one trailing newline; out's content is replaced.  The same
 * values always give the same bytes (tests/vectors/config_v1.json).
 * CAIRN_E_INVAL when c does not validate. */
int config_encode(const struct repo_config *c, struct buf *out);

/* Parses and validates.  CAIRN_E_CORRUPT when malformed (bad JSON, a
 * duplicated member, a missing or mistyped member, a value out of range,
 * more than 1 MiB), CAIRN_E_UNSUPPORTED for another version or another
 * chunker or compression algorithm.  Unknown members are ignored. */
int config_decode(const void *p, size_t n, struct repo_config *ret);

#endif
