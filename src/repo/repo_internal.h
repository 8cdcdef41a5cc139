/* repo_internal.h: what the engine's files share about an open repository.
 * Not for the CLI. */
#ifndef CAIRN_REPO_INTERNAL_H
#define CAIRN_REPO_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "backend.h"
#include "blob.h"
#include "config.h"
#include "crypto.h"
#include "index.h"
#include "mark.h"
#include "packcache.h"
#include "repo.h"

struct ZSTD_DCtx_s;

struct repo {
	struct backend *be;
	struct repo_config cfg;
	struct master_keys *keys;
	char key_id[65];
	uint64_t gear[256];

	pthread_mutex_t mu;        /* guards idx and the pack key cache */
	struct index *idx;
	int index_loaded;
	int marks_loaded;
	int64_t index_loaded_at;   /* wall-clock seconds when marks and index
				    * were read (before reading) */
	uint64_t index_files;
	struct repo_marks {        /* prune's deletion records, loaded with
				    * the index; their packs are avoided */
		struct mark_record *v;
		char (*names)[65];
		size_t n;
	} marks;
	size_t snapshots_skipped;  /* unreadable in the last listing */

	/* pack number -> key, filled on first read of a pack */
	uint8_t (*pack_keys)[32];  /* sodium_malloc'd, pack_keys_cap entries */
	uint8_t *pack_key_state;   /* 0 unknown, 1 loaded, 2 unreadable */
	uint64_t *pack_sizes;      /* bytes, when the key is loaded */
	uint32_t pack_keys_cap;

	/* digested dictionaries, loaded on first use; guarded by mu */
	struct repo_dict {
		uint8_t id[32];
		struct ZSTD_DDict_s *ddict;
	} *dicts;
	size_t ndicts;
	struct blob_dict_resolver resolver;
	struct pack_cache *pcache; /* windows of packs, for remote stores */
};

/* Loads every index file once (later calls return 0).  Problems with single
 * index files are passed to on_event when given, and make it return
 * CAIRN_E_CORRUPT after loading the rest. */
int repo_index_load(struct repo *r, repo_event_fn on_event, void *ud);

/* Reads the deletion records into r->marks and marks their packs as
 * avoided in the index (once; repo_index_load calls it when needed). */
int repo_marks_load(struct repo *r, repo_event_fn on_event, void *ud);
/* Forgets the loaded index, records and pack keys, so that the next
 * repo_index_load reads the repository afresh. */
int repo_index_reset(struct repo *r);

/* Reads every deletion record (format.md 13) into *ret (free with
 * repo_marks_free).  Unreadable records are reported through on_event and
 * make it return CAIRN_E_CORRUPT after reading the rest (*ret filled). */
int repo_marks_read(struct repo *r, struct repo_marks *ret,
		    repo_event_fn on_event, void *ud);
void repo_marks_free(struct repo_marks *m);

/* What a thread needs to read blobs, reused from blob to blob: a zstd
 * context, the current pack key (in sodium_malloc memory) and a record
 * buffer. */
struct blob_reader {
	struct ZSTD_DCtx_s *dctx;
	uint8_t *key;
	struct buf rec;
	struct buf scratch;   /* decompression swap buffer, wiped at free */
};

int blob_reader_init(struct blob_reader *rd);
void blob_reader_free(struct blob_reader *rd);

/* Reads, decrypts, decompresses and verifies one blob into out.  Safe to
 * call from several threads, each with its own reader (NULL: a temporary
 * one). */
int repo_blob_read(struct repo *r, struct blob_reader *rd, const uint8_t id[32],
		   uint8_t type, struct buf *out);

/* The resolver's function: finds (loading once) the dictionary id. */
int repo_dict_get(void *ud, const uint8_t id[32],
		  const struct ZSTD_DDict_s **ret);

/* Loads a tree blob. */
int repo_tree_load(struct repo *r, const uint8_t id[32], struct tree *ret);

/* Pack key of pack number n (cached).  Thread-safe. */
int repo_pack_key(struct repo *r, uint32_t n, uint8_t key[32]);

/* Seals plaintext under the meta key with magic and stores it as a new
 * object named by its hash; ret_id gets the id when non-NULL. */
int repo_object_save(struct repo *r, enum obj_type t, const char magic[8],
		     const void *p, size_t n, uint8_t ret_id[32]);
/* Reads an object, checks its hash against its name and opens it. */
int repo_object_load(struct repo *r, enum obj_type t, const char *name,
		     const char magic[8], struct buf *out);

/* Collects object names of a type (array of 65-byte strings). */
int repo_list_names(struct repo *r, enum obj_type t, char (**ret)[65],
		    size_t *n);

void repo_emit(repo_event_fn fn, void *ud, enum repo_event_kind kind,
	       const char *path, int code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

double repo_now(void);
/* Wall-clock Unix seconds (CLOCK_REALTIME), the clock of deletion records. */
int64_t repo_wall_now(void);

#define MAGIC_INDEX "CAIRNIX1"
#define MAGIC_SNAPSHOT "CAIRNSN1"

#endif
