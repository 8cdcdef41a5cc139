/* backend.c: the store registry and the wrappers the engine calls.  The
 * wrappers are the one place for counters (and, as stores go remote,
 * retries and fault injection). */
#include "backend.h"
#include "cairn_err.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>


static const struct backend_ops *const registry[] = {
	&backend_local_ops,
	NULL,
};

const char *backend_type_dir(enum obj_type t)
{
	switch (t) {
	case OBJ_CONFIG: return "";
	case OBJ_KEY: return "keys";
	case OBJ_SNAPSHOT: return "snapshots";
	case OBJ_INDEX: return "index";
	case OBJ_PACK: return "data";
	case OBJ_DICT: return "dicts";
	case OBJ_MARK: return "marks";
	default: return NULL;
	}
}

int backend_open(const char *url, int create, struct backend **ret)
{
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	if (colon && (!slash || colon < slash)) {
		size_t n = (size_t)(colon - url);
		for (size_t i = 0; registry[i]; i++)
			if (strlen(registry[i]->scheme) == n &&
			    !strncmp(registry[i]->scheme, url, n))
				return registry[i]->open(colon + 1, create, ret);
		return CAIRN_E_UNSUPPORTED;
	}
	return backend_local_ops.open(url, create, ret);
}

void backend_close(struct backend *b)
{
	if (b)
		b->ops->close(b);
}

/* Fault injection for crash tests: with CAIRN_FAULT_KILL_AFTER=N in the
 * environment, the process kills itself with SIGKILL right after its N-th
 * successful change to any store (put, commit or remove), so that a test can
 * stop an operation after each of its steps in turn.  Unset: no effect. */
static long fault_kill_after = -1;   /* -1 unread, 0 off */
static long fault_changes;

static void fault_change_done(void)
{
	long limit = __atomic_load_n(&fault_kill_after, __ATOMIC_RELAXED);
	if (limit < 0) {
		const char *v = getenv("CAIRN_FAULT_KILL_AFTER");
		limit = v ? strtol(v, NULL, 10) : 0;
		if (limit < 0)
			limit = 0;
		__atomic_store_n(&fault_kill_after, limit, __ATOMIC_RELAXED);
	}
	if (limit > 0 &&
	    __atomic_add_fetch(&fault_changes, 1, __ATOMIC_SEQ_CST) >= limit)
		raise(SIGKILL);
}

static int count(struct backend *b, int rc)
{
	__atomic_add_fetch(&b->stats.requests, 1, __ATOMIC_RELAXED);
	if (rc < 0 && rc != CAIRN_E_NOTFOUND && rc != CAIRN_E_EXISTS)
		__atomic_add_fetch(&b->stats.errors, 1, __ATOMIC_RELAXED);
	return rc;
}

int backend_put(struct backend *b, enum obj_type t, const char *name,
		const void *p, size_t n)
{
	int rc = count(b, b->ops->put(b, t, name, p, n));
	if (rc == 0) {
		__atomic_add_fetch(&b->stats.bytes_out, n, __ATOMIC_RELAXED);
		fault_change_done();
	}
	return rc;
}

int backend_writer_open(struct backend *b, enum obj_type t,
			struct backend_writer **ret)
{
	return count(b, b->ops->writer_open(b, t, ret));
}

int backend_writer_write(struct backend_writer *w, const void *p, size_t n)
{
	int rc = w->b->ops->writer_write(w, p, n);
	if (rc == 0)
		__atomic_add_fetch(&w->b->stats.bytes_out, n, __ATOMIC_RELAXED);
	return rc;
}

int backend_writer_commit(struct backend_writer *w, const char *name)
{
	struct backend *b = w->b;
	int rc = count(b, b->ops->writer_commit(w, name));
	if (rc == 0)
		fault_change_done();
	return rc;
}

void backend_writer_abort(struct backend_writer *w)
{
	if (w)
		w->b->ops->writer_abort(w);
}

int backend_get(struct backend *b, enum obj_type t, const char *name,
		uint64_t off, uint64_t len, struct buf *out)
{
	int rc = count(b, b->ops->get(b, t, name, off, len, out));
	if (rc == 0)
		__atomic_add_fetch(&b->stats.bytes_in, out->len, __ATOMIC_RELAXED);
	return rc;
}

int backend_stat(struct backend *b, enum obj_type t, const char *name,
		 uint64_t *size)
{
	return count(b, b->ops->stat(b, t, name, size));
}

int backend_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		 void *ud)
{
	return count(b, b->ops->list(b, t, fn, ud));
}

int backend_remove(struct backend *b, enum obj_type t, const char *name)
{
	int rc = count(b, b->ops->remove(b, t, name));
	if (rc == 0)
		fault_change_done();
	return rc;
}
