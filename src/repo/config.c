/* config.c: the repository config file (docs/format.md section 3).
 *
 * The encoding is fixed: members in the order of the format document,
 * two-space indentation, one trailing newline.  The file is hashed into
 * the master key block when written and never rewritten, so a reader never
 * needs to re-encode it; the fixed form only keeps `init` reproducible and
 * the golden vector meaningful.
 */
#include "config.h"
#include "cairn_err.h"
#include "crypto.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

/* Written by this program; version 1 (before deletion records) is read. */
#define CONFIG_VERSION 2
#define CONFIG_VERSION_MIN 1
#define CONFIG_MAX_LEN (1u << 20)
#define CHUNK_MIN_LIMIT 64u
#define CHUNK_MAX_LIMIT (64u << 20)
#define LEVEL_MIN 1
#define LEVEL_MAX 19
#define PACK_SIZE_MIN (1ULL << 20)
#define PACK_SIZE_MAX (1ULL << 30)
#define CHUNKER_NAME "gear-v1"
#define COMPRESSION_NAME "zstd"

void config_init_default(struct repo_config *c)
{
	memset(c, 0, sizeof *c);
	c->version = CONFIG_VERSION;
	(void)crypto_setup(); /* randombytes_buf also works without it */
	randombytes_buf(c->id, sizeof c->id);
	c->stream = (struct chunker_params){16u << 10, 64u << 10, 256u << 10};
	c->files = (struct chunker_params){256u << 10, 1u << 20, 4u << 20};
	c->compression_level = 3;
	c->pack_size = 16u << 20;
}

int config_chunker_validate(const struct chunker_params *p)
{
	if (!p || !(CHUNK_MIN_LIMIT <= p->min && p->min < p->avg &&
		    p->avg < p->max && p->max <= CHUNK_MAX_LIMIT &&
		    (p->avg & (p->avg - 1)) == 0))
		return CAIRN_E_INVAL;
	return 0;
}

int config_validate(const struct repo_config *c)
{
	if (!c || c->version < CONFIG_VERSION_MIN ||
	    c->version > CONFIG_VERSION ||
	    config_chunker_validate(&c->stream) < 0 ||
	    config_chunker_validate(&c->files) < 0 ||
	    c->compression_level < LEVEL_MIN ||
	    c->compression_level > LEVEL_MAX ||
	    c->pack_size < PACK_SIZE_MIN || c->pack_size > PACK_SIZE_MAX)
		return CAIRN_E_INVAL;
	return 0;
}

/* ===================== Encoding ===================== */

static int set_new(json_t *o, const char *name, json_t *v)
{
	if (!v)
		return CAIRN_E_NOMEM;
	return json_object_set_new(o, name, v) == 0 ? 0 : CAIRN_E_NOMEM;
}

static json_t *chunker_params_json(const struct chunker_params *p)
{
	return json_pack("{s:I, s:I, s:I}", "min", (json_int_t)p->min, "avg",
			 (json_int_t)p->avg, "max", (json_int_t)p->max);
}

int config_encode(const struct repo_config *c, struct buf *out)
{
	int rc;
	json_t *root = NULL, *chunker = NULL;
	char *text = NULL;
	char id_hex[2 * sizeof c->id + 1];

	TRY(config_validate(c));
	rc = CAIRN_E_INVAL;
	if (!out)
		goto out;
	rc = CAIRN_E_NOMEM;
	root = json_object();
	chunker = json_object();
	if (!root || !chunker)
		goto out;
	hex_encode(id_hex, c->id, sizeof c->id);
	TRY(set_new(root, "version", json_integer(c->version)));
	TRY(set_new(root, "id", json_string(id_hex)));
	TRY(set_new(chunker, "algorithm", json_string(CHUNKER_NAME)));
	TRY(set_new(chunker, "stream", chunker_params_json(&c->stream)));
	TRY(set_new(chunker, "files", chunker_params_json(&c->files)));
	TRY(set_new(root, "chunker", json_incref(chunker)));
	TRY(set_new(root, "compression",
		    json_pack("{s:s, s:i}", "algorithm", COMPRESSION_NAME,
			      "level", c->compression_level)));
	TRY(set_new(root, "pack_size", json_integer((json_int_t)c->pack_size)));

	rc = CAIRN_E_NOMEM;
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		goto out;
	out->len = 0;
	TRY(buf_put(out, text, strlen(text)));
	TRY(buf_put_u8(out, '\n'));
	rc = 0;
out:
	if (rc < 0 && out)
		out->len = 0;
	free(text);
	json_decref(chunker);
	json_decref(root);
	return rc;
}

/* ===================== Decoding ===================== */

/* Integer member `name` of o in [lo, hi]; anything else is corrupt. */
static int get_uint(json_t *o, const char *name, uint64_t lo, uint64_t hi,
		    uint64_t *ret)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v))
		return CAIRN_E_CORRUPT;
	json_int_t x = json_integer_value(v);
	if (x < 0 || (uint64_t)x < lo || (uint64_t)x > hi)
		return CAIRN_E_CORRUPT;
	*ret = (uint64_t)x;
	return 0;
}

/* String member `name` of o must be present; CAIRN_E_UNSUPPORTED unless it
 * equals want (another algorithm is a feature this version lacks). */
static int get_name(json_t *o, const char *name, const char *want)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v))
		return CAIRN_E_CORRUPT;
	if (json_string_length(v) != strlen(want) ||
	    strcmp(json_string_value(v), want) != 0)
		return CAIRN_E_UNSUPPORTED;
	return 0;
}

static int get_chunker_params(json_t *o, const char *name,
			      struct chunker_params *p)
{
	int rc;
	uint64_t min, avg, max;
	json_t *v = json_object_get(o, name);
	if (!json_is_object(v))
		return CAIRN_E_CORRUPT;
	TRY(get_uint(v, "min", 0, CHUNK_MAX_LIMIT, &min));
	TRY(get_uint(v, "avg", 0, CHUNK_MAX_LIMIT, &avg));
	TRY(get_uint(v, "max", 0, CHUNK_MAX_LIMIT, &max));
	p->min = (uint32_t)min;
	p->avg = (uint32_t)avg;
	p->max = (uint32_t)max;
out:
	return rc;
}

static int get_id(json_t *o, const char *name, uint8_t id[32])
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v) || json_string_length(v) != 64)
		return CAIRN_E_CORRUPT;
	const char *s = json_string_value(v);
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return CAIRN_E_CORRUPT;
	return hex_decode(id, 32, s) < 0 ? CAIRN_E_CORRUPT : 0;
}

int config_decode(const void *p, size_t n, struct repo_config *ret)
{
	int rc;
	json_t *root = NULL;
	struct repo_config c;
	uint64_t x;

	if ((!p && n) || !ret)
		return CAIRN_E_INVAL;
	if (n == 0 || n > CONFIG_MAX_LEN)
		return CAIRN_E_CORRUPT;
	memset(&c, 0, sizeof c);
	rc = CAIRN_E_CORRUPT;
	root = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;

	json_t *v = json_object_get(root, "version");
	if (!json_is_integer(v))
		goto out;
	rc = CAIRN_E_UNSUPPORTED;
	if (json_integer_value(v) < CONFIG_VERSION_MIN ||
	    json_integer_value(v) > CONFIG_VERSION)
		goto out;
	c.version = (uint32_t)json_integer_value(v);
	TRY(get_id(root, "id", c.id));

	json_t *chunker = json_object_get(root, "chunker");
	rc = CAIRN_E_CORRUPT;
	if (!json_is_object(chunker))
		goto out;
	TRY(get_name(chunker, "algorithm", CHUNKER_NAME));
	TRY(get_chunker_params(chunker, "stream", &c.stream));
	TRY(get_chunker_params(chunker, "files", &c.files));

	json_t *comp = json_object_get(root, "compression");
	rc = CAIRN_E_CORRUPT;
	if (!json_is_object(comp))
		goto out;
	TRY(get_name(comp, "algorithm", COMPRESSION_NAME));
	TRY(get_uint(comp, "level", LEVEL_MIN, LEVEL_MAX, &x));
	c.compression_level = (int)x;
	TRY(get_uint(root, "pack_size", PACK_SIZE_MIN, PACK_SIZE_MAX,
		     &c.pack_size));

	rc = config_validate(&c) < 0 ? CAIRN_E_CORRUPT : 0;
	if (rc < 0)
		goto out;
	*ret = c;
out:
	json_decref(root);
	return rc;
}
