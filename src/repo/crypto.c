/* crypto.c: the key hierarchy and cryptographic primitives of the format
 * (docs/format.md sections 1, 4 and 5).
 *
 * Layout: library setup; master keys and their 232-byte block; key files
 * (JSON parse, then KDF and AEAD); hashes, chunk IDs and the gear table;
 * sealed envelopes.
 *
 * Every secret (master keys, the serialized block, the KEK) lives in
 * sodium_malloc memory and is wiped when freed.  Parsing a key file needs
 * no secret, so it is split out (keyfile_parse) and fuzzed on its own.
 */
#include "crypto.h"
#include "cairn_err.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ===================== Library setup ===================== */

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_rc;

static void setup_run(void)
{
	setup_rc = sodium_init() < 0 ? CAIRN_E_CRYPTO : 0;
}

int crypto_setup(void)
{
	if (pthread_once(&setup_once, setup_run) != 0)
		return CAIRN_E_CRYPTO;
	return setup_rc;
}

/* ===================== Master keys ===================== */

#define BLOCK_MAGIC "CMK1"
#define BLOCK_VERSION 1
#define OFF_FLAGS 5
#define OFF_RESERVED 6
#define OFF_REPO_ID 8
#define OFF_CONFIG_HASH 40
#define OFF_CHUNK_ID_KEY 72
#define OFF_CHUNKER_KEY 104
#define OFF_META_KEY 136
#define OFF_DATA_PK 168
#define OFF_DATA_SK 200

struct mac_ctx;
static struct mac_ctx *mac_ctx_new(const uint8_t key[32]);
static void mac_ctx_free(struct mac_ctx *m);

static struct master_keys *mkeys_alloc(void)
{
	struct master_keys *k = sodium_malloc(sizeof *k);
	if (k)
		sodium_memzero(k, sizeof *k);
	return k;
}

int mkeys_new(const uint8_t repo_id[32], struct master_keys **ret)
{
	int rc = crypto_setup();
	if (rc < 0)
		return rc;
	if (!repo_id || !ret)
		return CAIRN_E_INVAL;
	struct master_keys *k = mkeys_alloc();
	if (!k)
		return CAIRN_E_NOMEM;
	k->flags = MASTER_FLAG_FULL;
	memcpy(k->repo_id, repo_id, sizeof k->repo_id);
	randombytes_buf(k->chunk_id_key, sizeof k->chunk_id_key);
	randombytes_buf(k->chunker_key, sizeof k->chunker_key);
	randombytes_buf(k->meta_key, sizeof k->meta_key);
	if (crypto_box_keypair(k->data_pk, k->data_sk) != 0) {
		mkeys_free(k);
		return CAIRN_E_CRYPTO;
	}
	k->id_mac = mac_ctx_new(k->chunk_id_key);
	*ret = k;
	return 0;
}

void mkeys_free(struct master_keys *k)
{
	if (k)
		mac_ctx_free(k->id_mac);
	sodium_free(k); /* wipes; accepts NULL */
}

void mkeys_encode(const struct master_keys *k,
		  uint8_t block[MASTER_BLOCK_LEN])
{
	memset(block, 0, MASTER_BLOCK_LEN);
	memcpy(block, BLOCK_MAGIC, 4);
	block[4] = BLOCK_VERSION;
	block[OFF_FLAGS] = k->flags;
	memcpy(block + OFF_REPO_ID, k->repo_id, 32);
	memcpy(block + OFF_CONFIG_HASH, k->config_hash, 32);
	memcpy(block + OFF_CHUNK_ID_KEY, k->chunk_id_key, 32);
	memcpy(block + OFF_CHUNKER_KEY, k->chunker_key, 32);
	memcpy(block + OFF_META_KEY, k->meta_key, 32);
	memcpy(block + OFF_DATA_PK, k->data_pk, 32);
	memcpy(block + OFF_DATA_SK, k->data_sk, 32);
}

/* Whether the flags and data_sk agree, and a full key's data_pk is the
 * public half of its data_sk.  Used on both sides so that no writer emits
 * a block a reader would refuse. */
static int mkeys_consistent(uint8_t flags, const uint8_t pk[32],
			    const uint8_t sk[32])
{
	if (flags & ~MASTER_FLAG_FULL)
		return 0;
	if (!(flags & MASTER_FLAG_FULL))
		return sodium_is_zero(sk, 32);
	uint8_t derived[32];
	int ok = crypto_scalarmult_base(derived, sk) == 0 &&
		 sodium_memcmp(derived, pk, 32) == 0;
	sodium_memzero(derived, sizeof derived);
	return ok;
}

int mkeys_decode(const uint8_t block[MASTER_BLOCK_LEN],
		 struct master_keys **ret)
{
	int rc = crypto_setup();
	if (rc < 0)
		return rc;
	if (memcmp(block, BLOCK_MAGIC, 4) != 0 || block[4] != BLOCK_VERSION ||
	    block[OFF_RESERVED] != 0 || block[OFF_RESERVED + 1] != 0)
		return CAIRN_E_CORRUPT;
	if (!mkeys_consistent(block[OFF_FLAGS], block + OFF_DATA_PK,
			      block + OFF_DATA_SK))
		return CAIRN_E_CORRUPT;
	struct master_keys *k = mkeys_alloc();
	if (!k)
		return CAIRN_E_NOMEM;
	k->flags = block[OFF_FLAGS];
	memcpy(k->repo_id, block + OFF_REPO_ID, 32);
	memcpy(k->config_hash, block + OFF_CONFIG_HASH, 32);
	memcpy(k->chunk_id_key, block + OFF_CHUNK_ID_KEY, 32);
	memcpy(k->chunker_key, block + OFF_CHUNKER_KEY, 32);
	memcpy(k->meta_key, block + OFF_META_KEY, 32);
	memcpy(k->data_pk, block + OFF_DATA_PK, 32);
	memcpy(k->data_sk, block + OFF_DATA_SK, 32);
	k->id_mac = mac_ctx_new(k->chunk_id_key);
	*ret = k;
	return 0;
}

/* ===================== Key files: clear part ===================== */

#define KEYFILE_VERSION 1
#define KDF_NAME "argon2id13"
#define KEY_AD "cairn-key-v1"
#define KEY_AD_LEN 12

/* Copies string member `name` of o into dst (cap bytes with the NUL).  A
 * missing member, another type, an embedded NUL or a string too long is
 * corrupt. */
static int json_get_cstr(json_t *o, const char *name, char *dst, size_t cap)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v))
		return CAIRN_E_CORRUPT;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n >= cap || memchr(s, 0, n))
		return CAIRN_E_CORRUPT;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

/* Decodes member `name` of o: exactly 2*n lower-case hex digits. */
static int json_get_hex(json_t *o, const char *name, uint8_t *dst, size_t n)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v) || json_string_length(v) != 2 * n)
		return CAIRN_E_CORRUPT;
	const char *s = json_string_value(v);
	for (size_t i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return CAIRN_E_CORRUPT;
	return hex_decode(dst, n, s) < 0 ? CAIRN_E_CORRUPT : 0;
}

/* Integer member `name` of o in [lo, hi]: CAIRN_E_CORRUPT when missing or
 * not an integer, CAIRN_E_RANGE when outside. */
static int json_get_range(json_t *o, const char *name, unsigned long long lo,
			  unsigned long long hi, unsigned long long *ret)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v))
		return CAIRN_E_CORRUPT;
	json_int_t x = json_integer_value(v);
	if (x < 0 || (unsigned long long)x < lo || (unsigned long long)x > hi)
		return CAIRN_E_RANGE;
	*ret = (unsigned long long)x;
	return 0;
}

static int kdf_params_ok(unsigned long long opslimit,
			 unsigned long long memlimit)
{
	return opslimit >= KDF_OPSLIMIT_MIN && opslimit <= KDF_OPSLIMIT_MAX &&
	       memlimit >= KDF_MEMLIMIT_MIN && memlimit <= KDF_MEMLIMIT_MAX &&
	       memlimit <= SIZE_MAX;
}

int keyfile_parse(const void *file, size_t len, struct keyfile_parsed *ret)
{
	int rc;
	json_t *root = NULL;
	struct keyfile_parsed kp;

	if (!file && len)
		return CAIRN_E_INVAL;
	if (len > KEYFILE_MAX_LEN || len == 0)
		return CAIRN_E_CORRUPT;
	memset(&kp, 0, sizeof kp);
	root = json_loadb(file, len, JSON_REJECT_DUPLICATES, NULL);
	rc = CAIRN_E_CORRUPT;
	if (!json_is_object(root))
		goto out;

	json_t *v = json_object_get(root, "version");
	if (!json_is_integer(v))
		goto out;
	rc = CAIRN_E_UNSUPPORTED;
	if (json_integer_value(v) != KEYFILE_VERSION)
		goto out;

	json_t *kdf = json_object_get(root, "kdf");
	rc = CAIRN_E_CORRUPT;
	if (!json_is_object(kdf))
		goto out;
	v = json_object_get(kdf, "algorithm");
	if (!json_is_string(v))
		goto out;
	rc = CAIRN_E_UNSUPPORTED;
	if (strcmp(json_string_value(v), KDF_NAME) != 0 ||
	    json_string_length(v) != strlen(KDF_NAME))
		goto out;
	TRY(json_get_range(kdf, "opslimit", KDF_OPSLIMIT_MIN, KDF_OPSLIMIT_MAX,
			   &kp.info.opslimit));
	TRY(json_get_range(kdf, "memlimit", KDF_MEMLIMIT_MIN, KDF_MEMLIMIT_MAX,
			   &kp.info.memlimit));
	rc = CAIRN_E_RANGE;
	if (!kdf_params_ok(kp.info.opslimit, kp.info.memlimit))
		goto out;
	TRY(json_get_hex(kdf, "salt", kp.salt, sizeof kp.salt));
	TRY(json_get_hex(root, "nonce", kp.nonce, sizeof kp.nonce));
	TRY(json_get_hex(root, "payload", kp.payload, sizeof kp.payload));
	TRY(json_get_cstr(root, "created", kp.info.created,
			  sizeof kp.info.created));
	TRY(json_get_cstr(root, "hostname", kp.info.hostname,
			  sizeof kp.info.hostname));
	TRY(json_get_cstr(root, "username", kp.info.username,
			  sizeof kp.info.username));
	*ret = kp;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int keyfile_read_info(const void *file, size_t len, struct keyfile_info *ret)
{
	struct keyfile_parsed kp;
	int rc = keyfile_parse(file, len, &kp);
	if (rc < 0)
		return rc;
	*ret = kp.info;
	return 0;
}

/* ===================== Key files: KDF and AEAD ===================== */

/* Derives the KEK into kek (sodium_malloc memory, 32 bytes). */
static int kek_derive(uint8_t *kek, const char *password, size_t password_len,
		      const uint8_t salt[KEYFILE_SALT_LEN],
		      unsigned long long opslimit, size_t memlimit)
{
	if (!password)
		password = "";
	if (crypto_pwhash(kek, CAIRN_KEY_LEN, password, password_len, salt,
			  opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return CAIRN_E_NOMEM; /* parameters are checked: only memory */
	return 0;
}

static int json_set_new(json_t *o, const char *name, json_t *v)
{
	if (!v || json_object_set_new(o, name, v) != 0)
		return CAIRN_E_NOMEM;
	return 0;
}

/* json_string() refuses invalid UTF-8; that is the caller's fault. */
static int json_set_str(json_t *o, const char *name, const char *s)
{
	json_t *v = json_string(s);
	if (!v)
		return CAIRN_E_INVAL;
	return json_set_new(o, name, v);
}

static int json_set_hex(json_t *o, const char *name, const uint8_t *p,
			size_t n)
{
	char hex[2 * KEYFILE_PAYLOAD_LEN + 1];
	if (n > KEYFILE_PAYLOAD_LEN)
		return CAIRN_E_INVAL;
	hex_encode(hex, p, n);
	return json_set_new(o, name, json_string(hex));
}

/* Info strings are C strings bounded by their arrays. */
static int info_str_ok(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

int keyfile_create(const struct master_keys *mk, const char *password,
		   size_t password_len, unsigned long long opslimit,
		   size_t memlimit, const struct keyfile_info *info,
		   struct buf *out)
{
	int rc;
	uint8_t *secret = NULL; /* block (232) || kek (32) */
	json_t *root = NULL, *kdf = NULL;
	char *text = NULL;
	uint8_t salt[KEYFILE_SALT_LEN], nonce[KEYFILE_NONCE_LEN];
	uint8_t payload[KEYFILE_PAYLOAD_LEN];
	static const struct keyfile_info no_info;

	TRY(crypto_setup());
	rc = CAIRN_E_INVAL;
	if (!mk || !out || (!password && password_len))
		goto out;
	if (!info)
		info = &no_info;
	if (!info_str_ok(info->created, sizeof info->created) ||
	    !info_str_ok(info->hostname, sizeof info->hostname) ||
	    !info_str_ok(info->username, sizeof info->username))
		goto out;
	if (!mkeys_consistent(mk->flags, mk->data_pk, mk->data_sk))
		goto out;
	rc = CAIRN_E_RANGE;
	if (!kdf_params_ok(opslimit, memlimit))
		goto out;

	rc = CAIRN_E_NOMEM;
	secret = sodium_malloc(MASTER_BLOCK_LEN + CAIRN_KEY_LEN);
	if (!secret)
		goto out;
	uint8_t *block = secret, *kek = secret + MASTER_BLOCK_LEN;
	mkeys_encode(mk, block);
	randombytes_buf(salt, sizeof salt);
	randombytes_buf(nonce, sizeof nonce);
	TRY(kek_derive(kek, password, password_len, salt, opslimit, memlimit));
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		payload, NULL, block, MASTER_BLOCK_LEN,
		(const uint8_t *)KEY_AD, KEY_AD_LEN, NULL, nonce, kek);

	rc = CAIRN_E_NOMEM;
	root = json_object();
	kdf = json_object();
	if (!root || !kdf)
		goto out;
	TRY(json_set_new(root, "version", json_integer(KEYFILE_VERSION)));
	TRY(json_set_str(root, "created", info->created));
	TRY(json_set_str(root, "hostname", info->hostname));
	TRY(json_set_str(root, "username", info->username));
	TRY(json_set_str(kdf, "algorithm", KDF_NAME));
	TRY(json_set_new(kdf, "opslimit", json_integer((json_int_t)opslimit)));
	TRY(json_set_new(kdf, "memlimit", json_integer((json_int_t)memlimit)));
	TRY(json_set_hex(kdf, "salt", salt, sizeof salt));
	rc = json_object_set(root, "kdf", kdf) == 0 ? 0 : CAIRN_E_NOMEM;
	if (rc < 0)
		goto out;
	TRY(json_set_hex(root, "nonce", nonce, sizeof nonce));
	TRY(json_set_hex(root, "payload", payload, sizeof payload));

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
	json_decref(kdf);
	json_decref(root);
	sodium_free(secret);
	return rc;
}

int keyfile_open(const void *file, size_t len, const char *password,
		 size_t password_len, struct master_keys **ret)
{
	int rc;
	uint8_t *secret = NULL; /* block (232) || kek (32) */
	struct keyfile_parsed kp;

	TRY(crypto_setup());
	rc = CAIRN_E_INVAL;
	if (!ret || (!password && password_len))
		goto out;
	TRY(keyfile_parse(file, len, &kp));

	rc = CAIRN_E_NOMEM;
	secret = sodium_malloc(MASTER_BLOCK_LEN + CAIRN_KEY_LEN);
	if (!secret)
		goto out;
	uint8_t *block = secret, *kek = secret + MASTER_BLOCK_LEN;
	TRY(kek_derive(kek, password, password_len, kp.salt, kp.info.opslimit,
		       (size_t)kp.info.memlimit));
	rc = CAIRN_E_PASSWORD;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    block, NULL, NULL, kp.payload, sizeof kp.payload,
		    (const uint8_t *)KEY_AD, KEY_AD_LEN, kp.nonce, kek) != 0)
		goto out;
	TRY(mkeys_decode(block, ret));
	rc = 0;
out:
	sodium_free(secret);
	return rc;
}

/* ===================== Hashes, chunk IDs, gear table ===================== */

/* Hashes are SHA-256 and HMAC-SHA-256 from libcrypto, chosen by
 * measurement: with the CPU's SHA extensions they run at about
 * 0.46 ns/byte, three times faster than BLAKE2b in libsodium here
 * (bench/hashbench.c, docs/performance.md). */

/* SHA-256 fetched once: EVP_sha256() and the one-shot HMAC() look the
 * algorithm up on every call, under a lock shared by all threads. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void md_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md_sha256(void)
{
	pthread_once(&md_once, md_fetch);
	return sha256_md;
}

void crypto_object_hash(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;
	if (!md_sha256() || EVP_Digest(p, n, out, &len, md_sha256(), NULL) != 1)
		SHA256(p, n, out);
}

int crypto_objhash_init(struct objhash *h)
{
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx)
		return CAIRN_E_NOMEM;
	if (!md_sha256() || EVP_DigestInit_ex(h->ctx, md_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
		return CAIRN_E_CRYPTO;
	}
	return 0;
}

void crypto_objhash_update(struct objhash *h, const void *p, size_t n)
{
	EVP_DigestUpdate(h->ctx, p, n);
}

void crypto_objhash_final(struct objhash *h, uint8_t out[32])
{
	unsigned int len = 32;
	EVP_DigestFinal_ex(h->ctx, out, &len);
}

void crypto_objhash_free(struct objhash *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

/* HMAC-SHA-256 with the inner and outer states pre-keyed once, so a MAC
 * costs two context copies and the hashing itself.  The states are key
 * equivalents: libcrypto wipes them when the contexts are freed. */
struct mac_ctx {
	EVP_MD_CTX *inner, *outer;
};

static void mac_ctx_free(struct mac_ctx *m)
{
	if (!m)
		return;
	EVP_MD_CTX_free(m->inner);
	EVP_MD_CTX_free(m->outer);
	free(m);
}

static struct mac_ctx *mac_ctx_new(const uint8_t key[32])
{
	uint8_t pad[64];
	struct mac_ctx *m = calloc(1, sizeof *m);
	if (!m || !md_sha256())
		goto fail;
	m->inner = EVP_MD_CTX_new();
	m->outer = EVP_MD_CTX_new();
	if (!m->inner || !m->outer)
		goto fail;
	memset(pad, 0x36, sizeof pad);
	for (int i = 0; i < 32; i++)
		pad[i] ^= key[i];
	if (EVP_DigestInit_ex(m->inner, md_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(m->inner, pad, sizeof pad) != 1)
		goto fail;
	memset(pad, 0x5c, sizeof pad);
	for (int i = 0; i < 32; i++)
		pad[i] ^= key[i];
	if (EVP_DigestInit_ex(m->outer, md_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(m->outer, pad, sizeof pad) != 1)
		goto fail;
	sodium_memzero(pad, sizeof pad);
	return m;
fail:
	sodium_memzero(pad, sizeof pad);
	mac_ctx_free(m);
	return NULL;
}

static int mac_ctx_run(const struct mac_ctx *m, const void *p, size_t n,
		       uint8_t out[32])
{
	uint8_t inner[32];
	unsigned int len = 32;
	int ok;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return -1;
	ok = EVP_MD_CTX_copy_ex(c, m->inner) == 1 &&
	     EVP_DigestUpdate(c, p, n) == 1 &&
	     EVP_DigestFinal_ex(c, inner, &len) == 1 &&
	     EVP_MD_CTX_copy_ex(c, m->outer) == 1 &&
	     EVP_DigestUpdate(c, inner, sizeof inner) == 1 &&
	     EVP_DigestFinal_ex(c, out, &len) == 1;
	EVP_MD_CTX_free(c);
	sodium_memzero(inner, sizeof inner);
	return ok ? 0 : -1;
}

void crypto_mac(const uint8_t key[32], const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;
	static const uint8_t empty;
	HMAC(EVP_sha256(), key, 32, n ? p : &empty, n, out, &len);
}

void crypto_chunk_id(const struct master_keys *k, const void *p, size_t n,
		     uint8_t out[32])
{
	if (!k->id_mac || mac_ctx_run(k->id_mac, p, n, out) < 0)
		crypto_mac(k->chunk_id_key, p, n, out);
}

/* gear[i] is the first 8 bytes, little-endian, of MAC-H(chunker_key,
 * "cairn-gear-v1" || u8 i). */
void crypto_gear_table(const struct master_keys *k, uint64_t gear[256])
{
	uint8_t msg[14], mac[32];
	memcpy(msg, "cairn-gear-v1", 13);
	for (unsigned i = 0; i < 256; i++) {
		msg[13] = (uint8_t)i;
		crypto_mac(k->chunker_key, msg, sizeof msg, mac);
		gear[i] = get_le64(mac);
	}
	sodium_memzero(mac, sizeof mac);
}

/* ===================== Sealed envelopes ===================== */

#define ENV_MAGIC_LEN 8
#define ENV_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ENV_TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define ENV_OVERHEAD (ENV_MAGIC_LEN + ENV_NONCE_LEN + ENV_TAG_LEN)

int envelope_seal(const uint8_t key[32], const char magic[8], const void *pt,
		  size_t n, struct buf *out)
{
	int rc;

	TRY(crypto_setup());
	rc = CAIRN_E_INVAL;
	if (!key || !magic || !out || (!pt && n))
		goto out;
	out->len = 0;
	rc = CAIRN_E_RANGE;
	if (n > SIZE_MAX - ENV_OVERHEAD ||
	    n > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		goto out;
	TRY(buf_reserve(out, ENV_OVERHEAD + n));
	uint8_t *p = out->p;
	memcpy(p, magic, ENV_MAGIC_LEN);
	randombytes_buf(p + ENV_MAGIC_LEN, ENV_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		p + ENV_MAGIC_LEN + ENV_NONCE_LEN, NULL, pt, n,
		(const uint8_t *)magic, ENV_MAGIC_LEN, NULL,
		p + ENV_MAGIC_LEN, key);
	out->len = ENV_OVERHEAD + n;
	rc = 0;
out:
	if (rc < 0 && out)
		out->len = 0;
	return rc;
}

int envelope_open(const uint8_t key[32], const char magic[8], const void *ct,
		  size_t n, struct buf *out)
{
	int rc;
	const uint8_t *c = ct;

	TRY(crypto_setup());
	rc = CAIRN_E_INVAL;
	if (!key || !magic || !out || (!ct && n))
		goto out;
	out->len = 0;
	rc = CAIRN_E_CORRUPT;
	if (n < ENV_OVERHEAD || memcmp(c, magic, ENV_MAGIC_LEN) != 0)
		goto out;
	size_t pt_len = n - ENV_OVERHEAD;
	TRY(buf_reserve(out, pt_len ? pt_len : 1));
	rc = CAIRN_E_CORRUPT;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out->p, NULL, NULL, c + ENV_MAGIC_LEN + ENV_NONCE_LEN,
		    n - ENV_MAGIC_LEN - ENV_NONCE_LEN, c, ENV_MAGIC_LEN,
		    c + ENV_MAGIC_LEN, key) != 0)
		goto out;
	out->len = pt_len;
	rc = 0;
out:
	if (rc < 0 && out)
		out->len = 0;
	return rc;
}
