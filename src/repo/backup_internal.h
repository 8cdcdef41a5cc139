/* backup_internal.h: what the files of the backup pipeline share: the
 * state of one run (struct bk) and the functions each part offers.
 * backup.c drives the run and owns the calling thread; backup_pack.c holds
 * the workers and their packs; backup_files.c walks files and directories.
 */
#ifndef CAIRN_BACKUP_INTERNAL_H
#define CAIRN_BACKUP_INTERNAL_H

#include "repo_internal.h"
#include "chunker.h"
#include "dict.h"
#include "pack.h"
#include "snapshot.h"
#include "source.h"
#include "tree.h"
#include "workq.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <zstd.h>

#define READ_BLOCK (1u << 20)
#define INDEX_FLUSH_PACKS 256
#define BK_UPLOADERS 4     /* packs in flight to a remote store */

struct open_pack {
	struct pack_writer *pw;
	struct backend_writer *bw;
	uint8_t *uses_dict;        /* per blob added: compressed with the dict */
	size_t nused, capused;
};

struct bk;

struct bk_worker {
	struct bk *bk;
	ZSTD_CCtx *cctx;
	struct buf rec;
	struct open_pack packs[2]; /* by blob type */
};

struct bk_job {
	uint8_t type;
	uint8_t id[32];
	uint8_t *data;
	size_t len;
	const struct blob_dict *dict;  /* NULL: plain zstd */
};

struct owner_cache {
	uint32_t id;
	char name[64];
	int valid;
};

struct bk {
	struct repo *r;
	const struct backup_opts *o;
	struct workq *q;
	struct workq *uq;         /* uploads, for stores that cannot stream */
	int level;

	pthread_mutex_t mu;       /* guards err, newidx, counters below */
	int err;
	struct index_file newidx; /* packs written since the last flush */
	size_t newidx_cap;
	uint64_t data_added_packed;

	struct index *pending;    /* queued this run; calling thread only */

	/* what the snapshot will depend on, for the commit check against
	 * concurrent prunes (format.md 13); guarded by r->mu */
	uint8_t *used_packs;      /* by pack number: deduplicated or written */
	uint32_t cap_used_packs;
	uint8_t *used_dicts;      /* by dictionary number */
	uint32_t cap_used_dicts;

	/* the run's compression dictionary (dict.h): samples are collected
	 * from the first new data, then one dictionary is trained and used
	 * for every later data blob */
	int dict_state;           /* 0 collecting, 1 in use, 2 none */
	struct buf samples;
	size_t *sample_sizes;
	unsigned nsamples, capsamples;
	struct blob_dict dict;
	ZSTD_CDict *cdict;
	uint32_t dict_num;        /* its number in the repository index */
	chunker ch_stream, ch_files;
	struct snapshot_summary sum;
	uint64_t files_failed;
	double t0, last_progress;
	struct repo_progress prog;
	struct owner_cache users[16], groups[16];

	/* the scanner counts what is to be read, for the ETA; the prefetcher
	 * reads ahead (backup_files.c) */
	void *walkers;
	uint64_t read_bytes;         /* atomic: file bytes the reader consumed */
	int scanner_running;
	int scanner_stop;            /* atomic */
	uint64_t scan_files, scan_bytes;  /* atomic */
	char **scan_paths;
	size_t scan_npaths;
};

struct idlist {
	uint8_t (*v)[32];
	size_t n, cap;
};

/* backup_pack.c: workers turn chunks into records in their own packs */
void bk_fail(struct bk *bk, int rc);
int bk_failed(struct bk *bk);
int bk_index_flush(struct bk *bk);
void bk_job_run(void *arg, void *state);
void *bk_worker_new(void *ud, int i);
void bk_worker_free(void *state);
/* Drains the queue and commits every worker's open packs. */
int bk_finish_packs(struct bk *bk);

/* backup.c: the calling thread */
void bk_progress(struct bk *bk, int force);
int bk_interrupted(struct bk *bk);
/* 1 when the blob is stored in a pack not awaiting deletion (and records
 * that the run now depends on that pack). */
int blob_known(struct bk *bk, const uint8_t id[32]);
/* Before an index file or the snapshot is written: checks that nothing the
 * run depends on was deleted by a concurrent prune and computes the
 * deadline (wall-clock seconds) by which the write must be durable
 * (format.md 13).  CAIRN_E_CONFLICT when it cannot be met. */
int bk_commit_check(struct bk *bk, int64_t *deadline);
/* Records that the run depends on pack number pack and dictionary number
 * dict (0 none, k: number k - 1).  Caller holds r->mu. */
int bk_use(struct bk *bk, uint32_t pack, uint32_t dict);
/* Queues a new blob (takes ownership of data); a known one is dropped. */
int bk_submit(struct bk *bk, uint8_t type, const uint8_t id[32],
	      uint8_t *data, size_t len);
int idlist_add(struct idlist *l, const uint8_t id[32]);
int bk_stream(struct bk *bk, struct source *src, chunker *c,
	      struct idlist *ids, uint64_t *total);

/* backup_files.c: files and directories */
const char *bk_owner_name(struct owner_cache *cache, uint32_t id, int group);
int bk_tree_save(struct bk *bk, const struct tree *t, uint8_t ret_id[32]);
int bk_files(struct bk *bk, struct snapshot *snap, uint8_t root[32]);

#endif
