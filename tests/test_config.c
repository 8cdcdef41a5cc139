/* test_config.c: the repository config file (docs/format.md section 3):
 * defaults, validation, encode/decode round trip, refusals, and the golden
 * vector tests/vectors/config_v2.json (CAIRN_REGEN_VECTORS=1 rewrites it), and
 * reads the version-1 vector config_v1.json.
 */
#include "cairn_err.h"
#include "config.h"
#include "testutil.h"

#include <jansson.h>
#include <string.h>

static int config_equal(const struct repo_config *a, const struct repo_config *b)
{
	return a->version == b->version && memcmp(a->id, b->id, 32) == 0 &&
	       a->stream.min == b->stream.min && a->stream.avg == b->stream.avg &&
	       a->stream.max == b->stream.max && a->files.min == b->files.min &&
	       a->files.avg == b->files.avg && a->files.max == b->files.max &&
	       a->compression_level == b->compression_level &&
	       a->pack_size == b->pack_size;
}

/* The values of config_v2.json: the defaults, id 00..1f. */
static void vector_config(struct repo_config *c)
{
	config_init_default(c);
	for (int i = 0; i < 32; i++)
		c->id[i] = (uint8_t)i;
}

static void test_defaults(void)
{
	struct repo_config a, b;
	config_init_default(&a);
	config_init_default(&b);
	CHECK(a.version == 2);
	CHECK(a.stream.min == 16384 && a.stream.avg == 65536 &&
	      a.stream.max == 262144);
	CHECK(a.files.min == 262144 && a.files.avg == 1048576 &&
	      a.files.max == 4194304);
	CHECK(a.compression_level == 3 && a.pack_size == 16777216);
	CHECK(memcmp(a.id, b.id, 32) != 0);
	CHECK_RC(config_validate(&a), 0);
}

static void test_validate(void)
{
	struct repo_config d, c;
	config_init_default(&d);
	struct buf out = BUF_INIT;

#define EXPECT(stmt, want)                                                     \
	do {                                                                   \
		c = d;                                                         \
		stmt;                                                          \
		CHECK_RC(config_validate(&c), want);                           \
		if ((want) < 0)                                                \
			CHECK_RC(config_encode(&c, &out), want);               \
	} while (0)

	EXPECT(c.version = 0, CAIRN_E_INVAL);
	EXPECT(c.version = 3, CAIRN_E_INVAL);
	EXPECT(c.version = 1, 0);
	EXPECT(c.stream.min = 63, CAIRN_E_INVAL);
	EXPECT(c.stream.min = 64, 0);
	EXPECT(c.stream.min = 0, CAIRN_E_INVAL);
	EXPECT(c.stream.min = c.stream.avg, CAIRN_E_INVAL);
	EXPECT(c.stream.max = c.stream.avg, CAIRN_E_INVAL);
	EXPECT(c.stream.avg = 65536 + 4096, CAIRN_E_INVAL);
	EXPECT(c.files.max = 64u << 20, 0);
	EXPECT(c.files.max = (64u << 20) + 1, CAIRN_E_INVAL);
	EXPECT((c.files.min = 64, c.files.avg = 128, c.files.max = 129), 0);
	EXPECT((c.files.avg = 64u << 20, c.files.max = 64u << 20),
	       CAIRN_E_INVAL);
	EXPECT(c.files.avg = 0, CAIRN_E_INVAL);
	EXPECT(c.files.avg = 1u << 31, CAIRN_E_INVAL);
	EXPECT(c.compression_level = 0, CAIRN_E_INVAL);
	EXPECT(c.compression_level = 1, 0);
	EXPECT(c.compression_level = 19, 0);
	EXPECT(c.compression_level = 20, CAIRN_E_INVAL);
	EXPECT(c.compression_level = -1, CAIRN_E_INVAL);
	EXPECT(c.pack_size = (1u << 20) - 1, CAIRN_E_INVAL);
	EXPECT(c.pack_size = 1u << 20, 0);
	EXPECT(c.pack_size = 1u << 30, 0);
	EXPECT(c.pack_size = (1u << 30) + 1, CAIRN_E_INVAL);
	EXPECT(c.pack_size = UINT64_MAX, CAIRN_E_INVAL);
#undef EXPECT
	CHECK(out.len == 0);
	CHECK_RC(config_validate(NULL), CAIRN_E_INVAL);
	buf_free(&out);
}

static void test_round_trip(void)
{
	struct repo_config c, d;
	struct buf a = BUF_INIT, b = BUF_INIT;

	config_init_default(&c);
	c.stream = (struct chunker_params){64, 128, 64u << 20};
	c.compression_level = 19;
	c.pack_size = 1u << 30;
	CHECK_RC(config_encode(&c, &a), 0);
	memset(&d, 0xee, sizeof d);
	CHECK_RC(config_decode(a.p, a.len, &d), 0);
	CHECK(config_equal(&c, &d));
	buf_put(&b, "stale", 5); /* replaced, not appended to */
	CHECK_RC(config_encode(&d, &b), 0);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	CHECK(a.len > 0 && a.p[a.len - 1] == '\n');
	buf_free(&a);
	buf_free(&b);
}

/* One edit of the vector's JSON: at member `key` of the object at `path`
 * ("" the root, else a member name, or "chunker.stream"), set `value` (JSON
 * text) or delete it (NULL); decoding must give `want`. */
struct edit {
	const char *path, *key, *value;
	int want;
};

static const struct edit EDITS[] = {
	{"", "version", "3", CAIRN_E_UNSUPPORTED},
	{"", "version", "0", CAIRN_E_UNSUPPORTED},
	{"", "version", "-1", CAIRN_E_UNSUPPORTED},
	{"", "version", "\"1\"", CAIRN_E_CORRUPT},
	{"", "version", "1.0", CAIRN_E_CORRUPT},
	{"", "version", NULL, CAIRN_E_CORRUPT},
	{"", "id", NULL, CAIRN_E_CORRUPT},
	{"", "id", "\"00\"", CAIRN_E_CORRUPT},
	{"", "id", "\"000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f\"", CAIRN_E_CORRUPT},
	{"", "id", "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\"", CAIRN_E_CORRUPT},
	{"", "id", "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00\"", CAIRN_E_CORRUPT},
	{"", "id", "\"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"", CAIRN_E_CORRUPT},
	{"", "id", "42", CAIRN_E_CORRUPT},
	{"", "chunker", NULL, CAIRN_E_CORRUPT},
	{"", "chunker", "[]", CAIRN_E_CORRUPT},
	{"chunker", "algorithm", "\"gear-v2\"", CAIRN_E_UNSUPPORTED},
	{"chunker", "algorithm", "null", CAIRN_E_CORRUPT},
	{"chunker", "algorithm", NULL, CAIRN_E_CORRUPT},
	{"chunker", "stream", NULL, CAIRN_E_CORRUPT},
	{"chunker", "files", "{}", CAIRN_E_CORRUPT},
	{"chunker.stream", "min", "63", CAIRN_E_CORRUPT},
	{"chunker.stream", "min", "-16384", CAIRN_E_CORRUPT},
	{"chunker.stream", "min", "16384.0", CAIRN_E_CORRUPT},
	{"chunker.stream", "min", "65536", CAIRN_E_CORRUPT},
	{"chunker.stream", "avg", "65537", CAIRN_E_CORRUPT},
	{"chunker.stream", "avg", "4294967296", CAIRN_E_CORRUPT},
	{"chunker.stream", "avg", "9223372036854775807", CAIRN_E_CORRUPT},
	{"chunker.stream", "max", "67108865", CAIRN_E_CORRUPT},
	{"chunker.stream", "max", "true", CAIRN_E_CORRUPT},
	{"chunker.stream", "max", NULL, CAIRN_E_CORRUPT},
	{"chunker.stream", "min", "64", 0},
	{"chunker.stream", "extra", "[1, {\"x\": null}]", 0},
	{"compression", "algorithm", "\"lz4\"", CAIRN_E_UNSUPPORTED},
	{"compression", "algorithm", NULL, CAIRN_E_CORRUPT},
	{"compression", "level", "0", CAIRN_E_CORRUPT},
	{"compression", "level", "20", CAIRN_E_CORRUPT},
	{"compression", "level", "19", 0},
	{"compression", "level", "\"3\"", CAIRN_E_CORRUPT},
	{"", "compression", "\"zstd\"", CAIRN_E_CORRUPT},
	{"", "pack_size", "1048575", CAIRN_E_CORRUPT},
	{"", "pack_size", "1073741825", CAIRN_E_CORRUPT},
	{"", "pack_size", "1048576", 0},
	{"", "pack_size", "-1", CAIRN_E_CORRUPT},
	{"", "pack_size", NULL, CAIRN_E_CORRUPT},
	{"", "comment", "\"unknown members are ignored\"", 0},
	{"", "future", "{\"deep\": [[[[1]]]]}", 0},
	{"compression", "dictionary", "null", 0},
};

static json_t *object_at(json_t *root, const char *path)
{
	if (!*path)
		return root;
	if (strcmp(path, "chunker.stream") == 0)
		return json_object_get(json_object_get(root, "chunker"), "stream");
	return json_object_get(root, path);
}

static void test_decode_edits(const struct buf *good)
{
	struct repo_config want, got;
	struct buf f = BUF_INIT;

	CHECK_RC(config_decode(good->p, good->len, &want), 0);
	for (size_t i = 0; i < sizeof EDITS / sizeof EDITS[0]; i++) {
		const struct edit *e = &EDITS[i];
		json_t *root = json_loadb((const char *)good->p, good->len, 0, NULL);
		json_t *o = object_at(root, e->path);
		CHECK(o != NULL);
		if (e->value)
			json_object_set_new(o, e->key,
					    json_loads(e->value, JSON_DECODE_ANY, NULL));
		else
			json_object_del(o, e->key);
		char *s = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
		json_decref(root);
		memset(&got, 0xee, sizeof got);
		int rc = config_decode(s, strlen(s), &got);
		if (rc != e->want)
			fprintf(stderr, "edit %zu (%s.%s = %s): got %d want %d\n",
				i, e->path, e->key, e->value ? e->value : "(deleted)",
				rc, e->want);
		CHECK(rc == e->want);
		if (rc < 0) {
			unsigned char probe = 0xee;
			CHECK(memcmp(&got, &probe, 1) == 0); /* untouched */
		}
		free(s);
	}

	/* Hand-written inputs jansson would not produce. */
	static const struct {
		const char *text;
		int want;
	} raw[] = {
		{"", CAIRN_E_CORRUPT},
		{" ", CAIRN_E_CORRUPT},
		{"{", CAIRN_E_CORRUPT},
		{"[]", CAIRN_E_CORRUPT},
		{"null", CAIRN_E_CORRUPT},
		{"{}", CAIRN_E_CORRUPT},
		{"{\"version\":3}", CAIRN_E_UNSUPPORTED},
		{"{\"version\":2}", CAIRN_E_CORRUPT},
		{"{\"version\":1}", CAIRN_E_CORRUPT},
		{"{\"version\":1e0}", CAIRN_E_CORRUPT},
		{"{\"version\":100000000000000000000000000}", CAIRN_E_CORRUPT},
		{"{\"version\":1,\"version\":1}", CAIRN_E_CORRUPT},
		{"{'version':1}", CAIRN_E_CORRUPT},
		{"{\"version\":1} x", CAIRN_E_CORRUPT},
	};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
		CHECK_RC(config_decode(raw[i].text, strlen(raw[i].text), &got),
			 raw[i].want);

	/* Every truncation of the good file is refused. */
	for (size_t n = 0; n + 2 < good->len; n++)
		CHECK_RC(config_decode(good->p, n, &got), CAIRN_E_CORRUPT);
	/* Trailing white space is fine. */
	f.len = 0;
	buf_put(&f, good->p, good->len);
	buf_put(&f, "\n\n  ", 4);
	CHECK_RC(config_decode(f.p, f.len, &got), 0);
	CHECK(config_equal(&got, &want));
	/* A duplicated member. */
	f.len = 0;
	buf_put(&f, good->p, good->len - 2);
	buf_put(&f, ",\"pack_size\":16777216}", 22);
	CHECK_RC(config_decode(f.p, f.len, &got), CAIRN_E_CORRUPT);
	/* An embedded NUL byte. */
	f.len = 0;
	buf_put(&f, good->p, good->len);
	f.p[10] = 0;
	CHECK_RC(config_decode(f.p, f.len, &got), CAIRN_E_CORRUPT);
	CHECK_RC(config_decode(NULL, 3, &got), CAIRN_E_INVAL);
	CHECK_RC(config_decode(good->p, good->len, NULL), CAIRN_E_INVAL);
	buf_free(&f);
}

static void test_vector(void)
{
	struct repo_config c, d;
	struct buf enc = BUF_INIT;
	size_t n = 0;

	vector_config(&c);
	CHECK_RC(config_encode(&c, &enc), 0);
	uint8_t *file = test_golden_vector("config_v2.json", enc.p, enc.len, &n);
	if (file) {
		CHECK_RC(config_decode(file, n, &d), 0);
		CHECK(config_equal(&c, &d));
		struct buf good = {file, n, n};
		test_decode_edits(&good);
	}
	free(file);
	/* a version-1 repository (before deletion records) still opens */
	file = test_read_file(test_vector_path("config_v1.json"), &n);
	CHECK(file != NULL);
	if (file) {
		CHECK_RC(config_decode(file, n, &d), 0);
		c.version = 1;
		CHECK(config_equal(&c, &d));
	}
	free(file);
	buf_free(&enc);
}

int main(void)
{
	test_seed("test_config"); /* randomness here is libsodium's */
	test_defaults();
	test_validate();
	test_round_trip();
	test_vector();
	return test_done("test_config");
}
