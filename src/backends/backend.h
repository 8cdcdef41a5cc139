/* backend.h: the store interface.  One ops table per kind of store
 * (local directory now; S3, IPFS later), behind thin wrappers
 * (backend_put(), ...) that hold counters and, later, retries and fault
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

#define BACKEND_CAP_RANGE_READ 0x1u   /* get with offsets is cheap */
#define BACKEND_CAP_STREAM_PUT 0x2u   /* native streaming writer */

struct backend;
struct backend_writer;

typedef int (*backend_list_fn)(void *ud, const char *name, uint64_t size);

struct backend_ops {
	int version;
	const char *scheme;      /* URL scheme, "" for plain paths */
	unsigned caps;
	int (*open)(const char *location, int create, struct backend **ret);
	void (*close)(struct backend *b);
	int (*put)(struct backend *b, enum obj_type t, const char *name,
		   const void *p, size_t n);
	int (*writer_open)(struct backend *b, enum obj_type t,
			   struct backend_writer **ret);
	int (*writer_write)(struct backend_writer *w, const void *p, size_t n);
	/* Consumes w whatever the result. */
	int (*writer_commit)(struct backend_writer *w, const char *name);
	void (*writer_abort)(struct backend_writer *w);
	int (*get)(struct backend *b, enum obj_type t, const char *name,
		   uint64_t off, uint64_t len, struct buf *out);
	int (*stat)(struct backend *b, enum obj_type t, const char *name,
		    uint64_t *size);
	int (*list)(struct backend *b, enum obj_type t, backend_list_fn fn,
		    void *ud);
	int (*remove)(struct backend *b, enum obj_type t, const char *name);
};

/* Every instance starts with its ops pointer and the shared counters. */
struct backend_stats {
	uint64_t requests, errors, bytes_in, bytes_out;
};

struct backend {
	const struct backend_ops *ops;
	struct backend_stats stats;
};

struct backend_writer {
	struct backend *b;
};

/* Opens the store named by url: "local:PATH" or a plain path.  create: make
 * the directory layout (init).  CAIRN_E_NOREPO if it does not exist and
 * create is 0 (checked by the caller through the config object). */
int backend_open(const char *url, int create, struct backend **ret);
void backend_close(struct backend *b);

int backend_put(struct backend *b, enum obj_type t, const char *name,
		const void *p, size_t n);
int backend_writer_open(struct backend *b, enum obj_type t,
			struct backend_writer **ret);
int backend_writer_write(struct backend_writer *w, const void *p, size_t n);
int backend_writer_commit(struct backend_writer *w, const char *name);
void backend_writer_abort(struct backend_writer *w);
int backend_get(struct backend *b, enum obj_type t, const char *name,
		uint64_t off, uint64_t len, struct buf *out);
int backend_stat(struct backend *b, enum obj_type t, const char *name,
		 uint64_t *size);
int backend_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		 void *ud);
int backend_remove(struct backend *b, enum obj_type t, const char *name);

const char *backend_type_dir(enum obj_type t);

/* The registered stores. */
extern const struct backend_ops backend_local_ops;

#endif
