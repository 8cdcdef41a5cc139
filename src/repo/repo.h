/* repo.h: the public API of the cairn engine, the only header the CLI uses
 * besides the codecs' value types (snapshot.h, tree.h, config.h).
 *
 * The engine never prints.  Long operations report progress and per-item
 * problems through an event callback; the CLI renders them.
 *
 * Thread-safety: one struct repo is used by one caller thread at a time;
 * the engine runs its own worker threads inside an operation.
 */
#ifndef CAIRN_REPO_H
#define CAIRN_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "cairn_err.h"
#include "config.h"
#include "snapshot.h"
#include "tree.h"

/* The repository format version this engine reads and writes
 * (docs/format.md). */
#define CAIRN_FORMAT_VERSION 2

struct repo;

/* ---- events ------------------------------------------------------------ */

enum repo_event_kind {
	EV_PROGRESS = 1,   /* periodic: counters in struct repo_progress */
	EV_WARNING,        /* a per-item problem; the operation goes on */
	EV_ERROR,          /* a per-item error (check, restore); goes on */
	EV_INFO,           /* a notice (check: unreferenced pack, ...) */
	EV_FILE,           /* verbose: one item processed (path, action) */
};

struct repo_progress {
	uint64_t files_done, files_total;   /* total 0 when unknown */
	uint64_t bytes_done, bytes_total;
	uint64_t bytes_added;               /* new plaintext bytes stored */
	uint64_t errors;
	double elapsed;                     /* seconds since start */
};

struct repo_event {
	enum repo_event_kind kind;
	const char *path;     /* item concerned, may be NULL */
	const char *message;  /* human text, may be NULL */
	const char *action;   /* EV_FILE: "new", "modified", "unchanged", ... */
	int code;             /* CAIRN_E_* for warnings/errors, else 0 */
	const struct repo_progress *progress;  /* EV_PROGRESS (else NULL) */
};

/* Events may come from the calling thread or from worker threads, never
 * from two threads at once for one operation... except check, restore and
 * dump workers: callbacks must be thread-safe. */
typedef void (*repo_event_fn)(void *ud, const struct repo_event *ev);

/* ---- open, create, close ---------------------------------------------- */

/* Where a repository lives: one store, or several that each hold all of
 * it (writes go to all and succeed on a quorum; reads fail over), with
 * store options ("key=value", backend.h). */
struct repo_location {
	const char *const *urls;    /* "/path", "s3:https://...", "ipfs:..." */
	size_t n;
	unsigned quorum;            /* 0: all */
	const char *const *options;
	size_t noptions;
};

/* Creates a repository at loc with config cfg (NULL for defaults) and a
 * first key for password. */
int repo_create_at(const struct repo_location *loc,
		   const struct repo_config *cfg, const char *password,
		   size_t password_len, struct repo **ret);
/* The same for one store named by url, without options. */
int repo_create(const char *url, const struct repo_config *cfg,
		const char *password, size_t password_len, struct repo **ret);

/* Opens: CAIRN_E_NOREPO when there is no config, CAIRN_E_PASSWORD when no
 * key file opens with password. */
int repo_open_at(const struct repo_location *loc, const char *password,
		 size_t password_len, struct repo **ret);
int repo_open(const char *url, const char *password, size_t password_len,
	      struct repo **ret);

/* The repository's store (a replicated one when it has several), for
 * counters and replica maintenance (borrowed). */
struct backend *repo_backend(struct repo *r);
/* Closes and wipes keys; NULL is allowed. */
void repo_close(struct repo *r);
const struct repo_config *repo_config_get(const struct repo *r);
/* Hex id of the key file that opened the repository (borrowed). */
const char *repo_key_id(const struct repo *r);

/* ---- keys -------------------------------------------------------------- */

struct repo_key_info {
	char id[65];
	int current;         /* 1 for the key that opened this session */
	char created[40];
	char hostname[256];
	char username[256];
};

/* *ret is malloc'd: the caller frees it with free(). */
int repo_key_list(struct repo *r, struct repo_key_info **ret, size_t *n);
/* Adds a key file for new_password; *ret_id (65 bytes) gets its id. */
int repo_key_add(struct repo *r, const char *new_password, size_t len,
		 char ret_id[65]);
/* Removes the key file whose id starts with id_prefix.  Refuses the key in
 * use and the last key (CAIRN_E_INVAL). */
int repo_key_remove(struct repo *r, const char *id_prefix);
/* Replaces the current key file by one for new_password. */
int repo_key_passwd(struct repo *r, const char *new_password, size_t len,
		    char ret_id[65]);

/* ---- snapshots ------------------------------------------------------- */

struct snapshot_filter {
	const char *host;         /* NULL: any */
	const char *const *tags;  /* each must be present; NULL-terminated */
	const char *const *paths; /* each must be present; NULL-terminated */
};

/* All snapshots passing filter (NULL: all), sorted by time ascending.
 * Snapshot files that cannot be read are skipped (see
 * repo_snapshots_skipped; check reports them).  Free with
 * repo_snapshots_free. */
int repo_snapshots_list(struct repo *r, const struct snapshot_filter *filter,
			struct snapshot **ret, size_t *n);
void repo_snapshots_free(struct snapshot *s, size_t n);
/* How many snapshot files the last listing had to skip as unreadable. */
size_t repo_snapshots_skipped(const struct repo *r);
/* Resolves "latest" (newest passing filter), a full id or a unique prefix.
 * CAIRN_E_NOTFOUND / CAIRN_E_AMBIGUOUS. Free with snapshot_free. */
int repo_snapshot_find(struct repo *r, const char *spec,
		       const struct snapshot_filter *filter,
		       struct snapshot *ret);
/* Deletes the snapshot file of id (its data stays until a prune).
 * CAIRN_E_NOTFOUND when there is none. */
int repo_snapshot_remove(struct repo *r, const uint8_t id[32]);

/* ---- backup ------------------------------------------------------------ */

enum backup_source_kind { SRC_FILES, SRC_STDIN, SRC_COMMAND };

struct backup_opts {
	enum backup_source_kind kind;
	const char *const *paths;      /* SRC_FILES: NULL-terminated */
	const char *stdin_filename;    /* streams: name in the snapshot */
	char *const *command;          /* SRC_COMMAND: argv, NULL-terminated */
	int stdin_fd;                  /* SRC_STDIN: fd to read (usually 0) */
	const char *const *tags;       /* NULL-terminated or NULL */
	const char *hostname;          /* NULL: this host */
	int64_t time_sec;              /* 0: now */
	int has_time;
	int compression_level;         /* 0: the config's default */
	int force;                     /* 1: re-read every file (no parent) */
	int threads;                   /* 0: number of cores */
	int want_totals;               /* count files ahead for progress/ETA */
	repo_event_fn on_event;
	void *event_ud;
	volatile int *interrupt;       /* set non-zero to stop (SIGINT) */
};

struct backup_result {
	uint8_t snapshot_id[32];
	int has_snapshot;
	struct snapshot_summary summary;
	uint64_t files_failed;         /* unreadable files (exit 3) */
};

/* Runs a backup.  Returns 0 with a snapshot; CAIRN_E_PARTIAL with a
 * snapshot when some files could not be read (each reported as
 * EV_WARNING); any other negative code means no snapshot was written. */
int repo_backup(struct repo *r, const struct backup_opts *o,
		struct backup_result *res);

/* ---- reading ------------------------------------------------------------ */

/* Walks a snapshot's tree depth-first in name order.  fn receives the path
 * relative to the root ("srv/data/x") and the node; return < 0 to stop. */
int repo_walk(struct repo *r, const struct snapshot *s,
	      int (*fn)(void *ud, const char *path, const struct tree_node *n),
	      void *ud);

struct restore_opts {
	const char *target;
	const char *const *include;    /* fnmatch patterns, NULL-terminated */
	const char *const *exclude;
	int threads;
	int verify;                    /* re-read restored files and compare */
	repo_event_fn on_event;
	void *event_ud;
	volatile int *interrupt;
};

struct restore_result {
	uint64_t files, dirs, others, bytes, errors, skipped;
};

/* Restores into o->target.  Entries that would escape it are reported
 * (EV_ERROR, CAIRN_E_UNSAFE) and skipped.  Returns 0, or CAIRN_E_PARTIAL
 * when some entries failed, or another error when nothing could be done. */
int repo_restore(struct repo *r, const struct snapshot *s,
		 const struct restore_opts *o, struct restore_result *res);

/* Writes the content of the file at path (relative to the snapshot root,
 * leading '/' allowed) to fd, in order, decoding in parallel. */
int repo_dump(struct repo *r, const struct snapshot *s, const char *path,
	      int fd, volatile int *interrupt);

/* ---- check and stats ------------------------------------------------- */

struct check_opts {
	int read_data;            /* 1: read packs (all, or the subset) */
	double subset_percent;    /* 0 < p <= 100 when read_data */
	int threads;
	repo_event_fn on_event;
	void *event_ud;
	volatile int *interrupt;  /* non-zero: stop, CAIRN_E_INTERRUPTED */
};

struct check_result {
	uint64_t errors;          /* problems found (each reported EV_ERROR) */
	uint64_t notices;         /* harmless findings (EV_INFO) */
	uint64_t snapshots, trees, blobs, packs, packs_read;
};

/* Returns 0 when clean, CAIRN_E_CORRUPT when errors were found. */
int repo_check(struct repo *r, const struct check_opts *o,
	       struct check_result *res);

/* ---- replicas (replicas.c) -------------------------------------------- */

struct replicas_opts {
	int read_data;            /* read and hash every copy (else compare
				   * listings, and read only copies whose
				   * sizes disagree) */
	int repair;               /* write good copies where they are missing
				   * or corrupt */
	int threads;
	repo_event_fn on_event;   /* EV_ERROR per bad copy, EV_INFO per
				   * repaired one; path "type/name" */
	void *event_ud;
	volatile int *interrupt;
};

struct replicas_result {
	size_t stores;
	uint64_t objects;         /* distinct objects over all stores */
	uint64_t missing, corrupt, unreadable;   /* bad copies found */
	uint64_t repaired, unrepairable;
	struct replicas_store {
		char location[256];
		uint64_t read, missing, corrupt, unreadable, repaired;
	} per_store[32];
};

/* Compares the stores of the repository (and repairs them).  Returns 0
 * when every store holds a good copy of every object (after repair),
 * CAIRN_E_CORRUPT otherwise. */
int repo_replicas_check(struct repo *r, const struct replicas_opts *o,
			struct replicas_result *res);

struct repo_stats {
	uint64_t snapshots;
	uint64_t total_files, total_size;      /* restore size (of the snapshot, or summed) */
	uint64_t blobs, blobs_size_raw, blobs_size_stored;  /* unique blobs referenced */
	uint64_t packs, packs_size;            /* whole repository */
	uint64_t index_blobs;
};

/* Statistics of one snapshot (s != NULL) or of the whole repository. */
int repo_stats_get(struct repo *r, const struct snapshot *s,
		   struct repo_stats *ret);

/* ---- prune (docs/format.md section 13) ------------------------------- */

/* The shortest grace period: backups rely on it (format.md 13). */
#define PRUNE_GRACE_MIN 3600u

struct prune_opts {
	/* repack partly used packs until unused space is at most this share
	 * of the used space after prune (percent, 0..100; < 0: no limit,
	 * repack nothing); ignored when max_unused_bytes is non-zero */
	double max_unused_percent;
	uint64_t max_unused_bytes;
	uint64_t max_repack_bytes;   /* read at most this much to repack; 0: no limit */
	uint64_t grace;              /* seconds, >= 3600; 0: 24 hours */
	int dry_run;                 /* decide and report, change nothing */
	repo_event_fn on_event;
	void *event_ud;
	volatile int *interrupt;
};

struct prune_result {
	/* what was found */
	uint64_t snapshots, packs, packs_bytes, blobs, blobs_used;
	uint64_t used_bytes;          /* record bytes snapshots need */
	uint64_t unused_bytes;        /* unneeded record bytes in packs in use */
	uint64_t unused_packs, unused_packs_bytes; /* packs nothing needs */
	uint64_t unindexed_packs;     /* packs no index names (among unused) */
	/* this run: phase one, recorded for deletion after the grace period */
	uint64_t marked_packs, marked_bytes, marked_dicts;
	uint64_t repacked_packs, repacked_bytes, repack_blobs, repack_written;
	int64_t marked_at;            /* record time, 0 when none written */
	uint64_t grace;
	/* this run: phase two, records whose grace period had passed */
	uint64_t ripe_records, deleted_packs, deleted_bytes, deleted_dicts;
	uint64_t revived_packs, revived_dicts;
	uint64_t index_rewritten, index_written, index_superseded;
	/* still waiting (records not yet ripe, before this run's) */
	uint64_t pending_packs, pending_bytes;
	int64_t next_ripe;            /* earliest ripening of a waiting record */
	/* reclaimable by prune over time: unused packs + unused bytes */
	uint64_t reclaimable_bytes;
};

/* Prunes: deletes the packs, dictionaries and index entries that deletion
 * records named at least a grace period ago and that are still unneeded,
 * then records what is unneeded now (repacking partly used packs) for a
 * later run.  Safe against concurrent backups and prunes, and against a
 * crash at any point.  Refuses (CAIRN_E_CORRUPT, reported through on_event)
 * when a snapshot, index file or record cannot be read or a snapshot needs
 * a blob that no index names. */
int repo_prune(struct repo *r, const struct prune_opts *o,
	       struct prune_result *res);

#endif
