/* crypto.h: the key hierarchy and every cryptographic primitive of the
 * format (docs/format.md sections 1, 4, 5): master keys, key files,
 * object hashes, chunk IDs, the keyed gear table, and sealed envelopes
 * for index and snapshot files.
 *
 * Secrets live in sodium_malloc memory and are wiped when freed.
 */
#ifndef CAIRN_CRYPTO_H
#define CAIRN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CAIRN_ID_LEN 32
#define CAIRN_KEY_LEN 32
#define MASTER_BLOCK_LEN 232
#define MASTER_FLAG_FULL 0x01

/* Argon2id floors and ceilings a key file must respect (format.md 4). */
#define KDF_OPSLIMIT_MIN 3ULL
#define KDF_MEMLIMIT_MIN (256ULL << 20)
#define KDF_OPSLIMIT_MAX 16ULL
#define KDF_MEMLIMIT_MAX (4096ULL << 20)

/* The master key block.  Always allocated by mkeys_new()/keyfile_open() in
 * sodium_malloc memory; never copy it to ordinary memory. */
struct master_keys {
	uint8_t flags;
	uint8_t repo_id[32];
	uint8_t config_hash[32];
	uint8_t chunk_id_key[32];
	uint8_t chunker_key[32];
	uint8_t meta_key[32];
	uint8_t data_pk[32];
	uint8_t data_sk[32];
	/* Not part of the block: the HMAC state pre-keyed with chunk_id_key
	 * (made by mkeys_new/mkeys_decode; NULL in a hand-built struct, and
	 * crypto_chunk_id then keys from scratch). */
	struct mac_ctx *id_mac;
};

/* Initialises libsodium once; CAIRN_E_CRYPTO on failure.  Thread-safe. */
int crypto_setup(void);

/* New random full master keys for repository repo_id (config_hash zero
 * until set by the caller). */
int mkeys_new(const uint8_t repo_id[32], struct master_keys **ret);
void mkeys_free(struct master_keys *k);

/* Key file metadata shown by `key list`. */
struct keyfile_info {
	char created[40];
	char hostname[256];
	char username[256];
	unsigned long long opslimit;
	unsigned long long memlimit;
};

/* Writes a new key file (JSON, format.md 4) wrapping mk with password.
 * opslimit/memlimit must be within the floors/ceilings (CAIRN_E_RANGE).
 * info gives created/hostname/username (opslimit/memlimit fields ignored;
 * NULL means all empty); a string that is not UTF-8, or mk with flags and
 * data_sk that disagree, is CAIRN_E_INVAL.  out's content is replaced (and
 * left empty on failure).  Runs the KDF once: about 0.5 s at the floor. */
int keyfile_create(const struct master_keys *mk, const char *password,
		   size_t password_len, unsigned long long opslimit,
		   size_t memlimit, const struct keyfile_info *info,
		   struct buf *out);

/* Opens a key file.  CAIRN_E_PASSWORD when the tag fails (wrong password),
 * CAIRN_E_CORRUPT when malformed, CAIRN_E_UNSUPPORTED for an unknown
 * version or KDF, CAIRN_E_RANGE for KDF parameters outside the limits.
 * Every refusal but CAIRN_E_PASSWORD happens before the KDF runs.  The
 * repository id and config hash are not compared: that is the caller's.
 * On success *ret holds the master keys (caller frees with mkeys_free);
 * on failure *ret is untouched. */
int keyfile_open(const void *file, size_t len, const char *password,
		 size_t password_len, struct master_keys **ret);

/* Parses only the clear metadata of a key file.  Runs every check that
 * keyfile_open() runs before the KDF, with the same error codes. */
int keyfile_read_info(const void *file, size_t len, struct keyfile_info *ret);

/* Key files are refused (CAIRN_E_CORRUPT) above this size. */
#define KEYFILE_MAX_LEN (64u << 10)
#define KEYFILE_SALT_LEN 16
#define KEYFILE_NONCE_LEN 24
#define KEYFILE_PAYLOAD_LEN (MASTER_BLOCK_LEN + 16)

/* The clear part of a key file: everything but the password-derived
 * secrets.  Exposed for tests and fuzzing; keyfile_open() is this, then the
 * KDF, the AEAD and mkeys_decode(). */
struct keyfile_parsed {
	struct keyfile_info info;
	uint8_t salt[KEYFILE_SALT_LEN];
	uint8_t nonce[KEYFILE_NONCE_LEN];
	uint8_t payload[KEYFILE_PAYLOAD_LEN];
};

/* Parses and checks a key file without running the KDF.  Error codes as
 * for keyfile_open(), except that it never returns CAIRN_E_PASSWORD. */
int keyfile_parse(const void *file, size_t len, struct keyfile_parsed *ret);

/* The 232-byte master key block (format.md 4).  block should be
 * sodium_malloc memory.  mkeys_decode() checks magic, version, flags,
 * reserved bytes, that data_sk is zero when the flag is clear and that it
 * matches data_pk when set; CAIRN_E_CORRUPT otherwise. */
void mkeys_encode(const struct master_keys *k,
		  uint8_t block[MASTER_BLOCK_LEN]);
int mkeys_decode(const uint8_t block[MASTER_BLOCK_LEN],
		 struct master_keys **ret);

/* H(x): SHA-256, the names of objects. */
void crypto_object_hash(const void *p, size_t n, uint8_t out[32]);

/* H over bytes that arrive in pieces (packs). */
struct objhash {
	struct evp_md_ctx_st *ctx;
};
int crypto_objhash_init(struct objhash *h);
void crypto_objhash_update(struct objhash *h, const void *p, size_t n);
void crypto_objhash_final(struct objhash *h, uint8_t out[32]);
void crypto_objhash_free(struct objhash *h);

/* MAC-H(key, x): HMAC-SHA-256 with a 32-byte key. */
void crypto_mac(const uint8_t key[32], const void *p, size_t n, uint8_t out[32]);

/* Chunk ID: MAC-H(chunk_id_key, plaintext). */
void crypto_chunk_id(const struct master_keys *k, const void *p, size_t n,
		     uint8_t out[32]);

/* The keyed gear table of the chunker (format.md 5): gear[i] is the first
 * 8 bytes, little-endian, of MAC-H(chunker_key, "cairn-gear-v1" || u8 i). */
void crypto_gear_table(const struct master_keys *k, uint64_t gear[256]);

/* Sealed envelope for index and snapshot files: magic(8) || nonce(24) ||
 * AEAD(key, nonce, magic, plaintext).  envelope_open returns CAIRN_E_CORRUPT
 * on a bad magic, short input or failed tag; out is then empty.  Both
 * replace out's content; the input must not point into out. */
int envelope_seal(const uint8_t key[32], const char magic[8], const void *pt,
		  size_t n, struct buf *out);
int envelope_open(const uint8_t key[32], const char magic[8], const void *ct,
		  size_t n, struct buf *out);

#endif
