/* backend.h: the store interface.  One ops table per kind of store (local
 * directory, S3, IPFS, and the replicated store made of others), behind
 * thin wrappers (backend_put(), ...) that hold retries with backoff, the
 * concurrency limit, hash checks of what is read, counters and fault
 * injection.  The engine calls only the wrappers.
 *
 * Contract every store implements:
 * - Objects are addressed by (type, name); names are 64 hex digits except
 *   the config (name "config").
 * - put and writer_commit are atomic and create-only: readers see the whole
 *   object or nothing, and an existing name gives CAIRN_E_EXISTS (the
 *   object is left as it was).  They return only once the object is
 *   durable.
 * - get reads a byte range; len BACKEND_TO_END reads to the end.  A range
 *   past the end is CAIRN_E_CORRUPT (the object is shorter than indexed).
 * - list reports every committed object of a type, never temporaries.
 * - Missing objects give CAIRN_E_NOTFOUND.
 */
#ifndef CAIRN_BACKEND_H
#define CAIRN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "buf.h"

enum obj_type {
	OBJ_CONFIG = 0,
	OBJ_KEY,
	OBJ_SNAPSHOT,
	OBJ_INDEX,
	OBJ_PACK,
	OBJ_DICT,
	OBJ_MARK,          /* prune's deletion records (format.md 13) */
	OBJ__MAX
};

#define BACKEND_TO_END UINT64_MAX

/* Capability bits of a store (ops->caps). */
#define BACKEND_CAP_RANGE_READ     0x01u /* get with offsets is cheap */
#define BACKEND_CAP_STREAM_PUT     0x02u /* native streaming writer */
#define BACKEND_CAP_CONDITIONAL    0x04u /* put is create-only at the store
					  * (If-None-Match: *, O_EXCL) */
#define BACKEND_CAP_OBJECT_LOCK    0x08u /* puts can be made immutable */
#define BACKEND_CAP_CONTENT_ADDR   0x10u /* the store addresses by content */
#define BACKEND_CAP_REMOTE         0x20u /* over a network: parallel uploads
					  * pay off, requests are retried */
#define BACKEND_CAP_COMPOSITE      0x40u /* made of other stores (replicas):
					  * the wrappers around it neither
					  * retry nor verify, its members'
					  * wrappers do */

struct backend;
struct backend_writer;

typedef int (*backend_list_fn)(void *ud, const char *name, uint64_t size);

/* Checks bytes read from a store: 0 when they are good, CAIRN_E_CORRUPT
 * when not.  A read that fails its check is retried (the fault may be in
 * transit) and then, in a replicated repository, read from the next
 * store. */
typedef int (*backend_verify_fn)(void *ud, const uint8_t *p, size_t n);

/* Options for stores, "key=value" strings as given with -o; the last one
 * of a key wins.  Keys every store understands (backend.c):
 *   retry.max-time=SECONDS   give up retrying after this long (default 300)
 *   timeout.connect=SECONDS  connect timeout of network stores (default 30)
 *   timeout.stall=SECONDS    a transfer slower than timeout.min-speed
 *                            for this long is cut (default 60)
 *   timeout.min-speed=BYTES  per second (default 1024)
 *   connections=N            requests in flight per store (default 8 for
 *                            network stores, 32 for local ones)
 *   tls.ca-file=FILE         CA bundle for TLS verification
 *   tls.insecure=1           no TLS verification (tests only)
 * and each store documents its own (s3.*, ipfs.*). */
struct backend_opts {
	const char *const *kv;
	size_t n;
};
/* The value of key, or NULL. */
const char *backend_opt(const struct backend_opts *o, const char *key);
/* Parses a duration in seconds (fractions allowed) into milliseconds;
 * dflt_ms when absent; CAIRN_E_INVAL when malformed. */
int backend_opt_ms(const struct backend_opts *o, const char *key,
		   long dflt_ms, long *ret);
int backend_opt_uint(const struct backend_opts *o, const char *key,
		     unsigned long dflt, unsigned long max,
		     unsigned long *ret);
/* CAIRN_E_INVAL with the key in *bad when o names a key no store knows. */
int backend_opts_check(const struct backend_opts *o, const char **bad);

struct backend_ops {
	int version;
	const char *scheme;      /* URL scheme, "" for plain paths */
	unsigned caps;
	int (*open)(const char *location, const struct backend_opts *o,
		    int create, struct backend **ret);
	void (*close)(struct backend *b);
	/* Create-only (CAIRN_E_EXISTS when the name exists, where the store
	 * can tell: BACKEND_CAP_CONDITIONAL). */
	int (*put)(struct backend *b, enum obj_type t, const char *name,
		   const void *p, size_t n);
	/* Optional (BACKEND_CAP_STREAM_PUT): without them the wrappers
	 * gather a writer's bytes in memory and put them on commit. */
	int (*writer_open)(struct backend *b, enum obj_type t,
			   struct backend_writer **ret);
	int (*writer_write)(struct backend_writer *w, const void *p, size_t n);
	/* Consumes w whatever the result. */
	int (*writer_commit)(struct backend_writer *w, const char *name);
	void (*writer_abort)(struct backend_writer *w);
	/* verify may be NULL; composite stores pass it to their members,
	 * others ignore it (the wrapper applies it). */
	int (*get)(struct backend *b, enum obj_type t, const char *name,
		   uint64_t off, uint64_t len, struct buf *out,
		   backend_verify_fn verify, void *vud);
	int (*stat)(struct backend *b, enum obj_type t, const char *name,
		    uint64_t *size);
	int (*list)(struct backend *b, enum obj_type t, backend_list_fn fn,
		    void *ud);
	int (*remove)(struct backend *b, enum obj_type t, const char *name);
};

/* Per-store counters, for metrics (read them with backend_stats_get). */
struct backend_stats {
	uint64_t requests;   /* calls into the store, retries included */
	uint64_t errors;     /* calls that failed (not: not found, exists) */
	uint64_t retries;    /* calls repeated after a transient failure */
	uint64_t corrupt;    /* reads that failed their hash or check */
	uint64_t bytes_in, bytes_out;
};

struct backend_sem {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned avail;
};

/* Every instance starts with this header; backend_open fills all but ops
 * (the store's open sets ops). */
struct backend {
	const struct backend_ops *ops;
	struct backend_stats stats;
	char *location;          /* the URL it was opened with, for messages */
	long retry_max_ms;       /* retry.max-time */
	int64_t failing_until;   /* monotonic ms: after a call ran out of
				  * retries, later calls try once until then */
	struct backend_sem sem;  /* connections */
};

struct backend_writer {
	struct backend *b;
};

/* Opens the store named by url: "local:PATH" or a plain path,
 * "s3:https://host/bucket[/prefix]", "ipfs:http://host:port[/root]".
 * create: make the layout (init).  CAIRN_E_NOREPO if it does not exist and
 * create is 0.  o may be NULL. */
int backend_open(const char *url, const struct backend_opts *o, int create,
		 struct backend **ret);
/* Opens n stores as one replicated store (n == 1: just that store).
 * Writes go to every store and succeed once quorum of them hold the object
 * (0: all); reads take the first store that has a good copy; listings are
 * the union.  See replica.c. */
int backend_open_replicated(const char *const *urls, size_t n,
			    unsigned quorum, const struct backend_opts *o,
			    int create, struct backend **ret);
void backend_close(struct backend *b);

/* The members of a replicated store (1 and b itself for a plain one). */
size_t backend_replica_count(struct backend *b);
struct backend *backend_replica(struct backend *b, size_t i);
const char *backend_location(const struct backend *b);
unsigned backend_caps(const struct backend *b);
/* Members of a replicated store left out of its last listing because
 * their listing failed (0 for a plain store).  A decision that needs the
 * whole view (prune) refuses when this is not 0. */
size_t backend_list_failures(struct backend *b);
/* The same, summed over every listing since the store was opened. */
size_t backend_list_failures_total(struct backend *b);
void backend_stats_get(struct backend *b, struct backend_stats *ret);

int backend_put(struct backend *b, enum obj_type t, const char *name,
		const void *p, size_t n);
int backend_writer_open(struct backend *b, enum obj_type t,
			struct backend_writer **ret);
int backend_writer_write(struct backend_writer *w, const void *p, size_t n);
int backend_writer_commit(struct backend_writer *w, const char *name);
void backend_writer_abort(struct backend_writer *w);
/* Reads a range.  A whole-object read (off 0, len BACKEND_TO_END) of any
 * object but the config is checked against its name (the SHA-256 of its
 * bytes); other reads are checked by verify when given. */
int backend_get(struct backend *b, enum obj_type t, const char *name,
		uint64_t off, uint64_t len, struct buf *out);
int backend_get_verified(struct backend *b, enum obj_type t,
			 const char *name, uint64_t off, uint64_t len,
			 struct buf *out, backend_verify_fn verify, void *vud);
int backend_stat(struct backend *b, enum obj_type t, const char *name,
		 uint64_t *size);
int backend_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		 void *ud);
int backend_remove(struct backend *b, enum obj_type t, const char *name);

const char *backend_type_dir(enum obj_type t);
/* 1 when name is valid for type t (64 lower-case hex digits, or "config"
 * for OBJ_CONFIG). */
int backend_name_ok(enum obj_type t, const char *name);
/* The object's path relative to the repository root, as in format.md
 * section 2 ("config", "keys/<id>", "data/<hh>/<id>", ...). */
int backend_object_path(enum obj_type t, const char *name, char *out,
			size_t cap);

/* A store that failed transiently and was told when to come back (HTTP
 * Retry-After) leaves the delay here for the wrapper's next backoff; it
 * applies to the calling thread's current request. */
void backend_retry_after_hint(long ms);

/* The registered stores. */
extern const struct backend_ops backend_local_ops, backend_s3_ops,
	backend_ipfs_ops, backend_replica_ops;

#endif
