/* test_crypto.c: key files, the master key block, hashes, chunk IDs, the
 * gear table and sealed envelopes (docs/format.md sections 1, 4 and 5).
 *
 * Every key file derivation costs about half a second (Argon2id at the
 * floor, 256 MiB), so the test runs eight of them in all; every other
 * refusal must happen before the KDF and is checked to be fast.
 *
 * Golden vectors in tests/vectors: keyfile_v1.{json,expected},
 * envelope_v1.{bin,txt}, gear_v1.txt, chunkid_v1.txt.  With
 * CAIRN_REGEN_VECTORS=1 the test first writes fresh keyfile and envelope
 * vectors (random keys) and recomputes the gear and chunk ID files; commit
 * them only for a deliberate format change.
 */
#include "cairn_err.h"
#include "crypto.h"
#include "testutil.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#define OPS KDF_OPSLIMIT_MIN
#define MEM ((size_t)KDF_MEMLIMIT_MIN)

/* Any bytes may form a password: this one holds a NUL and a non-UTF-8
 * byte, so a reader that stops at the NUL derives another key. */
static const char PASSWORD[] = "cairn\0pass \xff";
#define PASSWORD_LEN (sizeof PASSWORD - 1)

static int kdf_runs; /* key file derivations run, kept below 10 */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int keys_equal(const struct master_keys *a, const struct master_keys *b)
{
	return a->flags == b->flags &&
	       memcmp(a->repo_id, b->repo_id, 32) == 0 &&
	       memcmp(a->config_hash, b->config_hash, 32) == 0 &&
	       memcmp(a->chunk_id_key, b->chunk_id_key, 32) == 0 &&
	       memcmp(a->chunker_key, b->chunker_key, 32) == 0 &&
	       memcmp(a->meta_key, b->meta_key, 32) == 0 &&
	       memcmp(a->data_pk, b->data_pk, 32) == 0 &&
	       memcmp(a->data_sk, b->data_sk, 32) == 0;
}

/* keyfile_open, counting derivations for the ones expected to run one. */
static int open_slow(const struct buf *f, const char *pw, size_t pw_len,
		     struct master_keys **ret)
{
	kdf_runs++;
	return keyfile_open(f->p, f->len, pw, pw_len, ret);
}

/* ===================== Small file helpers ===================== */

static char *read_text(const char *name)
{
	size_t n;
	uint8_t *p = test_read_file(test_vector_path(name), &n);
	if (!p)
		return NULL;
	char *s = realloc(p, n + 1);
	if (!s) {
		free(p);
		return NULL;
	}
	s[n] = 0;
	return s;
}

static int write_file(const char *name, const void *p, size_t n)
{
	FILE *f = fopen(test_vector_path(name), "wb");
	if (!f)
		return -1;
	int ok = fwrite(p, 1, n, f) == n;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Value of the line "name value" in text (malloc'd), or NULL. */
static char *field(const char *text, const char *name)
{
	size_t nl = strlen(name);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		if (*l == '#' || strncmp(l, name, nl) != 0 || l[nl] != ' ')
			continue;
		const char *v = l + nl + 1, *e = strchr(v, '\n');
		size_t n = e ? (size_t)(e - v) : strlen(v);
		char *s = malloc(n + 1);
		if (s) {
			memcpy(s, v, n);
			s[n] = 0;
		}
		return s;
	}
	return NULL;
}

/* Decodes hex field `name` of text into a malloc'd buffer. */
static uint8_t *field_hex(const char *text, const char *name, size_t *n)
{
	char *h = field(text, name);
	uint8_t *p = NULL;
	if (!h)
		return NULL;
	*n = strlen(h) / 2;
	p = malloc(*n + 1);
	if (p && (strlen(h) % 2 || hex_decode(p, *n, h) < 0)) {
		free(p);
		p = NULL;
	}
	free(h);
	return p;
}

static int field_eq_hex(const char *text, const char *name, const uint8_t *want,
			size_t n)
{
	size_t len = 0;
	uint8_t *p = field_hex(text, name, &len);
	int ok = p && len == n && memcmp(p, want, n) == 0;
	if (!ok)
		fprintf(stderr, "field %s differs\n", name);
	free(p);
	return ok;
}

/* Re-serialises a key file after edit() changed its JSON. */
static int json_edit(const struct buf *in, void (*edit)(json_t *), struct buf *out)
{
	json_t *root = json_loadb((const char *)in->p, in->len, 0, NULL);
	if (!root)
		return -1;
	edit(root);
	char *s = json_dumps(root, JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return -1;
	out->len = 0;
	int rc = buf_put(out, s, strlen(s));
	free(s);
	return rc;
}

/* ===================== Master key block ===================== */

static void test_block(void)
{
	uint8_t id[32], block[MASTER_BLOCK_LEN], copy[MASTER_BLOCK_LEN];
	struct master_keys *k = NULL, *k2 = NULL, *k3 = NULL;

	randombytes_buf(id, sizeof id);
	CHECK_RC(mkeys_new(id, &k), 0);
	if (!k)
		return;
	CHECK(k->flags == MASTER_FLAG_FULL);
	CHECK(memcmp(k->repo_id, id, 32) == 0);
	CHECK(sodium_is_zero(k->config_hash, 32));
	CHECK(!sodium_is_zero(k->chunk_id_key, 32));
	CHECK(memcmp(k->chunk_id_key, k->chunker_key, 32) != 0);
	CHECK(memcmp(k->meta_key, k->chunker_key, 32) != 0);
	CHECK_RC(mkeys_new(id, &k2), 0);
	CHECK(k2 && memcmp(k->meta_key, k2->meta_key, 32) != 0);
	mkeys_free(k2);
	k2 = NULL;

	mkeys_encode(k, block);
	CHECK(memcmp(block, "CMK1", 4) == 0);
	CHECK(block[4] == 1 && block[5] == 1 && block[6] == 0 && block[7] == 0);
	CHECK(memcmp(block + 8, id, 32) == 0);
	CHECK(memcmp(block + 72, k->chunk_id_key, 32) == 0);
	CHECK(memcmp(block + 104, k->chunker_key, 32) == 0);
	CHECK(memcmp(block + 136, k->meta_key, 32) == 0);
	CHECK(memcmp(block + 168, k->data_pk, 32) == 0);
	CHECK(memcmp(block + 200, k->data_sk, 32) == 0);
	CHECK_RC(mkeys_decode(block, &k2), 0);
	CHECK(k2 && keys_equal(k, k2));
	mkeys_free(k2);

	/* Each malformed block is refused and returns no key. */
	static const struct { size_t off; uint8_t val; } bad[] = {
		{0, 'X'}, {3, '2'}, {4, 2}, {4, 0}, {5, 3}, {5, 0x81},
		{6, 1}, {7, 0x80}, {168, 0}, {201, 0},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(copy, block, sizeof copy);
		copy[bad[i].off] ^= bad[i].val ? bad[i].val : 0x01;
		k3 = (struct master_keys *)&k3;
		CHECK_RC(mkeys_decode(copy, &k3), CAIRN_E_CORRUPT);
		CHECK(k3 == (struct master_keys *)&k3);
	}

	/* (X25519 ignores bits 0-2 of data_sk[0]: flips above avoid them.)
	 * A write-only block: flag clear, data_sk zero; nonzero sk refused. */
	memcpy(copy, block, sizeof copy);
	copy[5] = 0;
	memset(copy + 200, 0, 32);
	k3 = NULL;
	CHECK_RC(mkeys_decode(copy, &k3), 0);
	CHECK(k3 && k3->flags == 0 && sodium_is_zero(k3->data_sk, 32));
	mkeys_free(k3);
	copy[231] = 1;
	CHECK_RC(mkeys_decode(copy, &k3), CAIRN_E_CORRUPT);
	mkeys_free(k);
}

/* ===================== Key files ===================== */

static const struct keyfile_info INFO = {
	.created = "2026-11-21T20:22:11Z", .hostname = "db1",
	.username = "root",
};

static void set_ops2(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "opslimit", json_integer(2)); }
static void set_ops17(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "opslimit", json_integer(17)); }
static void set_ops_neg(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "opslimit", json_integer(-3)); }
static void set_ops_real(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "opslimit", json_real(3.0)); }
static void set_ops_str(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "opslimit", json_string("3")); }
static void set_mem64m(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "memlimit", json_integer(64 << 20)); }
static void set_mem_huge(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "memlimit", json_integer((json_int_t)1 << 62)); }
static void set_mem_ceil1(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "memlimit", json_integer((json_int_t)KDF_MEMLIMIT_MAX + 1)); }
static void set_alg(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "algorithm", json_string("argon2i13")); }
static void set_alg_num(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "algorithm", json_integer(13)); }
static void set_version2(json_t *r) { json_object_set_new(r, "version", json_integer(2)); }
static void set_version_str(json_t *r) { json_object_set_new(r, "version", json_string("1")); }
static void set_kdf_arr(json_t *r) { json_object_set_new(r, "kdf", json_array()); }
static void set_salt_upper(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "salt", json_string("000102030405060708090A0B0C0D0E0F")); }
static void set_salt_short(json_t *r) { json_object_set_new(json_object_get(r, "kdf"), "salt", json_string("0001020304050607")); }
static void set_nonce_g(json_t *r) { json_object_set_new(r, "nonce", json_string("g00102030405060708090a0b0c0d0e0f1011121314151617")); }
static void set_payload_odd(json_t *r)
{
	char s[2 * KEYFILE_PAYLOAD_LEN + 2];
	memset(s, 'a', sizeof s - 1);
	s[sizeof s - 1] = 0;
	json_object_set_new(r, "payload", json_string(s));
}
static void set_host_long(json_t *r)
{
	char s[257];
	memset(s, 'h', 256);
	s[256] = 0;
	json_object_set_new(r, "hostname", json_string(s));
}
static void set_host_nul(json_t *r) { json_object_set_new(r, "hostname", json_stringn("a\0b", 3)); }
static void set_created_num(json_t *r) { json_object_set_new(r, "created", json_integer(0)); }
static void set_unknown(json_t *r) { json_object_set_new(r, "comment", json_string("ignored")); }

static void del_version(json_t *r) { json_object_del(r, "version"); }
static void del_created(json_t *r) { json_object_del(r, "created"); }
static void del_hostname(json_t *r) { json_object_del(r, "hostname"); }
static void del_username(json_t *r) { json_object_del(r, "username"); }
static void del_kdf(json_t *r) { json_object_del(r, "kdf"); }
static void del_alg(json_t *r) { json_object_del(json_object_get(r, "kdf"), "algorithm"); }
static void del_ops(json_t *r) { json_object_del(json_object_get(r, "kdf"), "opslimit"); }
static void del_mem(json_t *r) { json_object_del(json_object_get(r, "kdf"), "memlimit"); }
static void del_salt(json_t *r) { json_object_del(json_object_get(r, "kdf"), "salt"); }
static void del_nonce(json_t *r) { json_object_del(r, "nonce"); }
static void del_payload(json_t *r) { json_object_del(r, "payload"); }

/* Refusals that need no KDF: each must be quick and leave *ret alone. */
static void test_keyfile_fast_refusals(const struct buf *good)
{
	static const struct {
		void (*edit)(json_t *);
		int want;
	} cases[] = {
		{set_ops2, CAIRN_E_RANGE}, {set_ops17, CAIRN_E_RANGE},
		{set_ops_neg, CAIRN_E_RANGE}, {set_mem64m, CAIRN_E_RANGE},
		{set_mem_huge, CAIRN_E_RANGE}, {set_mem_ceil1, CAIRN_E_RANGE},
		{set_ops_real, CAIRN_E_CORRUPT}, {set_ops_str, CAIRN_E_CORRUPT},
		{set_alg, CAIRN_E_UNSUPPORTED}, {set_alg_num, CAIRN_E_CORRUPT},
		{set_version2, CAIRN_E_UNSUPPORTED},
		{set_version_str, CAIRN_E_CORRUPT}, {set_kdf_arr, CAIRN_E_CORRUPT},
		{set_salt_upper, CAIRN_E_CORRUPT}, {set_salt_short, CAIRN_E_CORRUPT},
		{set_nonce_g, CAIRN_E_CORRUPT}, {set_payload_odd, CAIRN_E_CORRUPT},
		{set_host_long, CAIRN_E_CORRUPT}, {set_host_nul, CAIRN_E_CORRUPT},
		{set_created_num, CAIRN_E_CORRUPT},
		{del_version, CAIRN_E_CORRUPT}, {del_created, CAIRN_E_CORRUPT},
		{del_hostname, CAIRN_E_CORRUPT}, {del_username, CAIRN_E_CORRUPT},
		{del_kdf, CAIRN_E_CORRUPT}, {del_alg, CAIRN_E_CORRUPT},
		{del_ops, CAIRN_E_CORRUPT}, {del_mem, CAIRN_E_CORRUPT},
		{del_salt, CAIRN_E_CORRUPT}, {del_nonce, CAIRN_E_CORRUPT},
		{del_payload, CAIRN_E_CORRUPT},
	};
	struct buf f = BUF_INIT;
	struct master_keys *k;
	struct keyfile_info info;
	double t0 = now();

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK(json_edit(good, cases[i].edit, &f) == 0);
		k = (struct master_keys *)&k;
		int rc = keyfile_open(f.p, f.len, PASSWORD, PASSWORD_LEN, &k);
		if (rc != cases[i].want)
			fprintf(stderr, "case %zu: got %d want %d\n", i, rc,
				cases[i].want);
		CHECK(rc == cases[i].want);
		CHECK(k == (struct master_keys *)&k);
		CHECK_RC(keyfile_read_info(f.p, f.len, &info), cases[i].want);
	}

	/* Malformed JSON and truncations of a good file. */
	static const char *junk[] = {
		"", "{", "[]", "null", "1", "\"x\"", "{}", "{\"version\":1}",
		"{\"version\":1,\"version\":1}", "\xef\xbb\xbf{}",
	};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		CHECK_RC(keyfile_open(junk[i], strlen(junk[i]), PASSWORD,
				      PASSWORD_LEN, &k),
			 CAIRN_E_CORRUPT);
	for (size_t n = 0; n < good->len - 2; n += 7)
		CHECK_RC(keyfile_open(good->p, n, PASSWORD, PASSWORD_LEN, &k),
			 CAIRN_E_CORRUPT);
	/* A duplicated member, even with the same value. */
	f.len = 0;
	CHECK(buf_put(&f, good->p, good->len) == 0);
	f.len -= 2; /* "}\n" */
	const char dup[] = ",\"nonce\":\"000000000000000000000000000000000000000000000000\"}";
	CHECK(buf_put(&f, dup, sizeof dup - 1) == 0);
	CHECK_RC(keyfile_open(f.p, f.len, PASSWORD, PASSWORD_LEN, &k),
		 CAIRN_E_CORRUPT);
	/* Oversized: valid JSON padded with spaces beyond the limit. */
	f.len = 0;
	CHECK(buf_put(&f, good->p, good->len) == 0);
	while (f.len <= KEYFILE_MAX_LEN)
		CHECK(buf_put_u8(&f, ' ') == 0);
	CHECK_RC(keyfile_open(f.p, f.len, PASSWORD, PASSWORD_LEN, &k),
		 CAIRN_E_CORRUPT);
	CHECK_RC(keyfile_open(NULL, 5, PASSWORD, PASSWORD_LEN, &k),
		 CAIRN_E_INVAL);

	/* Unknown members are ignored: parses (the KDF is not run here). */
	CHECK(json_edit(good, set_unknown, &f) == 0);
	CHECK_RC(keyfile_read_info(f.p, f.len, &info), 0);

	double dt = now() - t0;
	fprintf(stderr, "fast refusals: %.3f s\n", dt);
	CHECK(dt < 0.25); /* one Argon2id run alone takes longer */
	buf_free(&f);
}

static void flip_hex(struct buf *f, const char *member, size_t at_end)
{
	/* Finds "member": "<hex>" and changes one hex digit, keeping it
	 * valid lower-case hex. */
	char key[32];
	snprintf(key, sizeof key, "\"%s\": \"", member);
	char *s = memmem(f->p, f->len, key, strlen(key));
	CHECK(s != NULL);
	if (!s)
		return;
	char *h = s + strlen(key), *e = memchr(h, '"', f->len - (size_t)(h - (char *)f->p));
	CHECK(e != NULL && e > h);
	if (!e)
		return;
	char *c = at_end ? e - 1 : h;
	*c = *c == '0' ? '1' : '0';
}

static void test_keyfile(void)
{
	uint8_t id[32];
	struct master_keys *mk = NULL, *k = NULL;
	struct buf f = BUF_INIT, g = BUF_INIT;
	struct keyfile_info info;

	randombytes_buf(id, sizeof id);
	CHECK_RC(mkeys_new(id, &mk), 0);
	if (!mk)
		return;
	crypto_object_hash("config", 6, mk->config_hash);

	/* Parameter checks before any work. */
	CHECK_RC(keyfile_create(mk, PASSWORD, PASSWORD_LEN, 2, MEM, &INFO, &f),
		 CAIRN_E_RANGE);
	CHECK_RC(keyfile_create(mk, PASSWORD, PASSWORD_LEN, 17, MEM, &INFO, &f),
		 CAIRN_E_RANGE);
	CHECK_RC(keyfile_create(mk, PASSWORD, PASSWORD_LEN, OPS, 64 << 20,
				&INFO, &f),
		 CAIRN_E_RANGE);
	CHECK(f.len == 0);
	mk->data_sk[1] ^= 1;
	CHECK_RC(keyfile_create(mk, PASSWORD, PASSWORD_LEN, OPS, MEM, &INFO, &f),
		 CAIRN_E_INVAL);
	mk->data_sk[1] ^= 1;
	struct keyfile_info bad = INFO;
	memset(bad.hostname, 'x', sizeof bad.hostname);
	CHECK_RC(keyfile_create(mk, PASSWORD, PASSWORD_LEN, OPS, MEM, &bad, &f),
		 CAIRN_E_INVAL);
	strcpy(bad.hostname, "\xff\xfe");
	CHECK_RC(keyfile_create(mk, PASSWORD, PASSWORD_LEN, OPS, MEM, &bad, &f),
		 CAIRN_E_INVAL);

	/* Round trip. */
	kdf_runs++;
	CHECK_RC(keyfile_create(mk, PASSWORD, PASSWORD_LEN, OPS, MEM, &INFO, &f),
		 0);
	CHECK(f.len > 0 && f.p[f.len - 1] == '\n');
	CHECK_RC(keyfile_read_info(f.p, f.len, &info), 0);
	CHECK(strcmp(info.created, INFO.created) == 0);
	CHECK(strcmp(info.hostname, "db1") == 0);
	CHECK(strcmp(info.username, "root") == 0);
	CHECK(info.opslimit == OPS && info.memlimit == MEM);
	CHECK_RC(open_slow(&f, PASSWORD, PASSWORD_LEN, &k), 0);
	CHECK(k && keys_equal(k, mk));
	mkeys_free(k);

	test_keyfile_fast_refusals(&f);

	/* The password is its bytes: stopping at the NUL is another one. */
	k = (struct master_keys *)&k;
	CHECK_RC(open_slow(&f, PASSWORD, strlen(PASSWORD), &k),
		 CAIRN_E_PASSWORD);
	CHECK(k == (struct master_keys *)&k);

	/* A changed digit of any authenticated field fails the tag. */
	static const struct { const char *member; size_t at_end; } flips[] = {
		{"payload", 0}, {"payload", 1}, {"nonce", 0}, {"salt", 1},
	};
	for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
		g.len = 0;
		CHECK(buf_put(&g, f.p, f.len) == 0);
		flip_hex(&g, flips[i].member, flips[i].at_end);
		CHECK_RC(keyfile_read_info(g.p, g.len, &info), 0);
		k = (struct master_keys *)&k;
		CHECK_RC(open_slow(&g, PASSWORD, PASSWORD_LEN, &k),
			 CAIRN_E_PASSWORD);
		CHECK(k == (struct master_keys *)&k);
	}
	buf_free(&g);
	buf_free(&f);
	mkeys_free(mk);
}

/* ===================== Golden vectors ===================== */

static void regen_keyfile_vector(void)
{
	uint8_t id[32];
	struct master_keys *mk = NULL;
	struct buf f = BUF_INIT, t = BUF_INIT;
	char hex[65], pw[2 * sizeof PASSWORD];

	randombytes_buf(id, sizeof id);
	if (mkeys_new(id, &mk) < 0)
		goto out;
	crypto_object_hash("keyfile_v1 config", 17, mk->config_hash);
	kdf_runs++;
	if (keyfile_create(mk, PASSWORD, PASSWORD_LEN, OPS, MEM, &INFO, &f) < 0)
		goto out;
	hex_encode(pw, PASSWORD, PASSWORD_LEN);
	const struct { const char *name; const uint8_t *p; } fields[] = {
		{"repo_id", mk->repo_id}, {"config_hash", mk->config_hash},
		{"chunk_id_key", mk->chunk_id_key},
		{"chunker_key", mk->chunker_key}, {"meta_key", mk->meta_key},
		{"data_pk", mk->data_pk}, {"data_sk", mk->data_sk},
	};
	char line[400];
	snprintf(line, sizeof line,
		 "# keyfile_v1.expected: the fields tests/vectors/keyfile_v1.json opens to.\n"
		 "# password: hex of its bytes; created/hostname/username: text;\n"
		 "# others: hex.\npassword %s\n", pw);
	buf_put(&t, line, strlen(line));
	snprintf(line, sizeof line, "created %s\nhostname %s\nusername %s\n",
		 INFO.created, INFO.hostname, INFO.username);
	buf_put(&t, line, strlen(line));
	snprintf(line, sizeof line, "opslimit %llu\nmemlimit %llu\nflags %02x\n",
		 (unsigned long long)OPS, (unsigned long long)MEM, mk->flags);
	buf_put(&t, line, strlen(line));
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		hex_encode(hex, fields[i].p, 32);
		snprintf(line, sizeof line, "%s %s\n", fields[i].name, hex);
		buf_put(&t, line, strlen(line));
	}
	CHECK(write_file("keyfile_v1.json", f.p, f.len) == 0);
	CHECK(write_file("keyfile_v1.expected", t.p, t.len) == 0);
out:
	buf_free(&f);
	buf_free(&t);
	mkeys_free(mk);
}

static void test_keyfile_vector(void)
{
	size_t n = 0;
	uint8_t *file = test_read_file(test_vector_path("keyfile_v1.json"), &n);
	char *exp = read_text("keyfile_v1.expected");
	size_t pw_len = 0;
	uint8_t *pw = exp ? field_hex(exp, "password", &pw_len) : NULL;
	struct master_keys *k = NULL;
	struct keyfile_info info;
	char *s;

	CHECK(file && exp && pw);
	if (!file || !exp || !pw)
		goto out;
	CHECK_RC(keyfile_read_info(file, n, &info), 0);
	s = field(exp, "created");
	CHECK(s && strcmp(s, info.created) == 0);
	free(s);
	s = field(exp, "hostname");
	CHECK(s && strcmp(s, info.hostname) == 0);
	free(s);
	s = field(exp, "username");
	CHECK(s && strcmp(s, info.username) == 0);
	free(s);
	s = field(exp, "opslimit");
	CHECK(s && strtoull(s, NULL, 10) == info.opslimit);
	free(s);
	s = field(exp, "memlimit");
	CHECK(s && strtoull(s, NULL, 10) == info.memlimit);
	free(s);

	kdf_runs++;
	CHECK_RC(keyfile_open(file, n, (const char *)pw, pw_len, &k), 0);
	if (!k)
		goto out;
	CHECK(field_eq_hex(exp, "flags", &k->flags, 1));
	CHECK(field_eq_hex(exp, "repo_id", k->repo_id, 32));
	CHECK(field_eq_hex(exp, "config_hash", k->config_hash, 32));
	CHECK(field_eq_hex(exp, "chunk_id_key", k->chunk_id_key, 32));
	CHECK(field_eq_hex(exp, "chunker_key", k->chunker_key, 32));
	CHECK(field_eq_hex(exp, "meta_key", k->meta_key, 32));
	CHECK(field_eq_hex(exp, "data_pk", k->data_pk, 32));
	CHECK(field_eq_hex(exp, "data_sk", k->data_sk, 32));
out:
	mkeys_free(k);
	free(pw);
	free(exp);
	free(file);
}

#define ENV_MAGIC "CAIRNSN1"
static const char ENV_PLAIN[] =
	"{\"version\":1,\"paths\":[\"/srv/data\"]}\n\x00\x01\x02\xfe\xff";

static void regen_envelope_vector(void)
{
	uint8_t key[32];
	struct buf e = BUF_INIT, t = BUF_INIT;
	char kh[65], ph[2 * sizeof ENV_PLAIN + 1], line[400];

	randombytes_buf(key, sizeof key);
	CHECK_RC(envelope_seal(key, ENV_MAGIC, ENV_PLAIN, sizeof ENV_PLAIN - 1,
			       &e),
		 0);
	hex_encode(kh, key, 32);
	hex_encode(ph, ENV_PLAIN, sizeof ENV_PLAIN - 1);
	snprintf(line, sizeof line,
		 "# envelope_v1.txt: envelope_v1.bin opens with this key and magic\n"
		 "# to this plaintext (hex).\nkey %s\nmagic %s\nplaintext %s\n",
		 kh, ENV_MAGIC, ph);
	buf_put(&t, line, strlen(line));
	CHECK(write_file("envelope_v1.bin", e.p, e.len) == 0);
	CHECK(write_file("envelope_v1.txt", t.p, t.len) == 0);
	buf_free(&e);
	buf_free(&t);
}

static void test_envelope_vector(void)
{
	size_t n = 0, kn = 0, pn = 0;
	uint8_t *bin = test_read_file(test_vector_path("envelope_v1.bin"), &n);
	char *txt = read_text("envelope_v1.txt");
	uint8_t *key = txt ? field_hex(txt, "key", &kn) : NULL;
	uint8_t *pt = txt ? field_hex(txt, "plaintext", &pn) : NULL;
	char *magic = txt ? field(txt, "magic") : NULL;
	struct buf out = BUF_INIT;

	CHECK(bin && key && kn == 32 && pt && magic && strlen(magic) == 8);
	if (bin && key && kn == 32 && pt && magic && strlen(magic) == 8) {
		CHECK(n == 8 + 24 + pn + 16 && memcmp(bin, magic, 8) == 0);
		CHECK_RC(envelope_open(key, magic, bin, n, &out), 0);
		CHECK(out.len == pn && memcmp(out.p, pt, pn) == 0);
	}
	buf_free(&out);
	free(magic);
	free(pt);
	free(key);
	free(txt);
	free(bin);
}

/* The gear vector's key: bytes 00..1f. */
static void gear_vector_keys(struct master_keys *k)
{
	memset(k, 0, sizeof *k);
	for (int i = 0; i < 32; i++)
		k->chunker_key[i] = (uint8_t)i;
}

static void regen_gear_vector(void)
{
	struct master_keys k;
	uint64_t gear[256];
	struct buf t = BUF_INIT;
	char line[160];

	gear_vector_keys(&k);
	crypto_gear_table(&k, gear);
	snprintf(line, sizeof line,
		 "# gear_v1.txt: the gear table (format.md 5) for chunker_key\n"
		 "# 000102...1f.  One line per i: \"i value\", value in hex.\n");
	buf_put(&t, line, strlen(line));
	for (int i = 0; i < 256; i++) {
		snprintf(line, sizeof line, "%d %016llx\n", i,
			 (unsigned long long)gear[i]);
		buf_put(&t, line, strlen(line));
	}
	CHECK(write_file("gear_v1.txt", t.p, t.len) == 0);
	buf_free(&t);
}

static void test_gear(void)
{
	struct master_keys k;
	uint64_t gear[256], again[256];
	char *txt = read_text("gear_v1.txt");
	int lines = 0;

	gear_vector_keys(&k);
	crypto_gear_table(&k, gear);
	crypto_gear_table(&k, again);
	CHECK(memcmp(gear, again, sizeof gear) == 0);
	k.chunker_key[31] ^= 1;
	crypto_gear_table(&k, again);
	for (int i = 0; i < 256; i++)
		CHECK(gear[i] != again[i]);
	k.chunker_key[31] ^= 1;
	memset(k.chunk_id_key, 0xaa, 32); /* other keys do not matter */
	crypto_gear_table(&k, again);
	CHECK(memcmp(gear, again, sizeof gear) == 0);

	CHECK(txt != NULL);
	for (const char *l = txt; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		int i;
		unsigned long long v;
		if (*l == '#' || sscanf(l, "%d %llx", &i, &v) != 2)
			continue;
		CHECK(i == lines && i < 256);
		if (i == lines && i < 256)
			CHECK(gear[i] == v);
		lines++;
	}
	CHECK(lines == 256);
	free(txt);
}

/* Chunk ID vector lines: "<key hex or -> <input hex or -> <id hex>"; key
 * "-" means the unkeyed object hash H, input "-" the empty input. */
static void chunkid_vector_input(int which, uint8_t *p, size_t *n)
{
	static const char *const text[] = {"", "abc", NULL, NULL};
	if (text[which]) {
		*n = strlen(text[which]);
		memcpy(p, text[which], *n);
		return;
	}
	*n = which == 2 ? 1000 : 200;
	for (size_t i = 0; i < *n; i++)
		p[i] = (uint8_t)(i % 251 + (size_t)which);
}

static void regen_chunkid_vector(void)
{
	struct master_keys k;
	struct buf t = BUF_INIT;
	uint8_t in[1000], id[32];
	char inh[2001], idh[65], kh[65];
	const char *hdr =
		"# chunkid_v1.txt: chunk IDs MAC-H(chunk_id_key, input) and object\n"
		"# hashes H(input).  Lines: <key hex, or - for H> <input hex, or -\n"
		"# for empty> <expected 32-byte id hex>.\n";

	buf_put(&t, hdr, strlen(hdr));
	memset(&k, 0, sizeof k);
	for (int key = 0; key < 3; key++) {
		for (int i = 0; i < 32; i++)
			k.chunk_id_key[i] = (uint8_t)(key == 0 ? i : key == 1 ? 0xff : i * 7 + 3);
		for (int w = 0; w < 4; w++) {
			size_t n;
			chunkid_vector_input(w, in, &n);
			crypto_chunk_id(&k, in, n, id);
			hex_encode(kh, k.chunk_id_key, 32);
			hex_encode(inh, in, n);
			hex_encode(idh, id, 32);
			buf_put(&t, kh, 64);
			buf_put_u8(&t, ' ');
			buf_put(&t, n ? inh : "-", n ? 2 * n : 1);
			buf_put_u8(&t, ' ');
			buf_put(&t, idh, 64);
			buf_put_u8(&t, '\n');
		}
	}
	for (int w = 0; w < 4; w++) {
		size_t n;
		chunkid_vector_input(w, in, &n);
		crypto_object_hash(in, n, id);
		hex_encode(inh, in, n);
		hex_encode(idh, id, 32);
		buf_put(&t, "- ", 2);
		buf_put(&t, n ? inh : "-", n ? 2 * n : 1);
		buf_put_u8(&t, ' ');
		buf_put(&t, idh, 64);
		buf_put_u8(&t, '\n');
	}
	CHECK(write_file("chunkid_v1.txt", t.p, t.len) == 0);
	buf_free(&t);
}

static void test_chunk_id(void)
{
	struct master_keys k;
	uint8_t a[32], b[32], h[32], in[1000], want[32];
	char *txt = read_text("chunkid_v1.txt");
	int lines = 0;

	/* H("") is the published SHA-256 of the empty string. */
	static const char empty_h[] =
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	crypto_object_hash("", 0, h);
	CHECK(hex_decode(want, 32, empty_h) == 0 && memcmp(h, want, 32) == 0);

	memset(&k, 0, sizeof k);
	crypto_chunk_id(&k, "abc", 3, a);
	k.chunk_id_key[0] = 1;
	crypto_chunk_id(&k, "abc", 3, b);
	crypto_object_hash("abc", 3, h);
	CHECK(memcmp(a, b, 32) != 0);
	CHECK(memcmp(a, h, 32) != 0 && memcmp(b, h, 32) != 0);
	memset(k.chunker_key, 0x55, 32); /* only chunk_id_key matters */
	crypto_chunk_id(&k, "abc", 3, a);
	CHECK(memcmp(a, b, 32) == 0);

	CHECK(txt != NULL);
	for (const char *l = txt; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
		if (*l == '#' || *l == '\n')
			continue;
		char kh[65], inh[2001], idh[65];
		if (sscanf(l, "%64s %2000s %64s", kh, inh, idh) != 3) {
			CHECK(!"bad chunkid line");
			continue;
		}
		size_t n = strcmp(inh, "-") == 0 ? 0 : strlen(inh) / 2;
		CHECK(n == 0 || hex_decode(in, n, inh) == 0);
		CHECK(hex_decode(want, 32, idh) == 0);
		if (strcmp(kh, "-") == 0) {
			crypto_object_hash(in, n, a);
		} else {
			CHECK(hex_decode(k.chunk_id_key, 32, kh) == 0);
			crypto_chunk_id(&k, in, n, a);
		}
		CHECK(memcmp(a, want, 32) == 0);
		lines++;
	}
	CHECK(lines == 16);
	free(txt);
}

/* ===================== Envelopes ===================== */

static void test_envelope(void)
{
	uint8_t key[32], other[32], pt[1000];
	struct buf e = BUF_INIT, e2 = BUF_INIT, o = BUF_INIT, c = BUF_INIT;
	static const size_t sizes[] = {0, 1, 15, 16, 17, 1000};

	randombytes_buf(key, sizeof key);
	randombytes_buf(other, sizeof other);
	randombytes_buf(pt, sizeof pt);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t n = sizes[s];
		CHECK_RC(envelope_seal(key, "CAIRNIX1", pt, n, &e), 0);
		CHECK(e.len == 8 + 24 + n + 16);
		CHECK(memcmp(e.p, "CAIRNIX1", 8) == 0);
		CHECK_RC(envelope_seal(key, "CAIRNIX1", pt, n, &e2), 0);
		CHECK(e2.len == e.len && memcmp(e.p + 8, e2.p + 8, 24) != 0);
		buf_put(&o, "stale", 5); /* replaced, not appended to */
		CHECK_RC(envelope_open(key, "CAIRNIX1", e.p, e.len, &o), 0);
		CHECK(o.len == n && (n == 0 || memcmp(o.p, pt, n) == 0));

		CHECK_RC(envelope_open(other, "CAIRNIX1", e.p, e.len, &o),
			 CAIRN_E_CORRUPT);
		CHECK(o.len == 0);
		CHECK_RC(envelope_open(key, "CAIRNSN1", e.p, e.len, &o),
			 CAIRN_E_CORRUPT);
		CHECK(o.len == 0);
		/* The magic is authenticated too: relabelled file fails. */
		c.len = 0;
		buf_put(&c, e.p, e.len);
		memcpy(c.p, "CAIRNSN1", 8);
		CHECK_RC(envelope_open(key, "CAIRNSN1", c.p, c.len, &o),
			 CAIRN_E_CORRUPT);
		for (size_t i = 0; i < e.len; i++) {
			c.len = 0;
			buf_put(&c, e.p, e.len);
			c.p[i] ^= (uint8_t)(1u << (i % 8));
			buf_put(&o, "x", 1);
			CHECK_RC(envelope_open(key, "CAIRNIX1", c.p, c.len, &o),
				 CAIRN_E_CORRUPT);
			CHECK(o.len == 0);
		}
		for (size_t i = 0; i < e.len; i++)
			CHECK_RC(envelope_open(key, "CAIRNIX1", e.p, i, &o),
				 CAIRN_E_CORRUPT);
		c.len = 0;
		buf_put(&c, e.p, e.len);
		buf_put_u8(&c, 0);
		CHECK_RC(envelope_open(key, "CAIRNIX1", c.p, c.len, &o),
			 CAIRN_E_CORRUPT);
	}
	CHECK_RC(envelope_seal(key, "CAIRNIX1", NULL, 1, &e), CAIRN_E_INVAL);
	CHECK(e.len == 0);
	buf_free(&e);
	buf_free(&e2);
	buf_free(&o);
	buf_free(&c);
}

int main(void)
{
	test_seed("test_crypto"); /* randomness here is libsodium's */
	CHECK_RC(crypto_setup(), 0);
	CHECK_RC(crypto_setup(), 0);

	const char *regen = getenv("CAIRN_REGEN_VECTORS");
	if (regen && strcmp(regen, "1") == 0) {
		regen_keyfile_vector();
		regen_envelope_vector();
		regen_gear_vector();
		regen_chunkid_vector();
	}

	test_block();
	test_envelope();
	test_chunk_id();
	test_gear();
	test_envelope_vector();
	double t0 = now();
	test_keyfile();
	test_keyfile_vector();
	fprintf(stderr, "key file tests: %d derivations, %.2f s\n", kdf_runs,
		now() - t0);
	CHECK(kdf_runs < 10);
	return test_done("test_crypto");
}
