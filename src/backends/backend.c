/* backend.c: the store registry and the wrappers the engine calls.  The
 * wrappers are the one place for counters (and, as stores go remote,
 * retries and fault injection). */
#include "backend.h"
#include "cairn_err.h"

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
	if (rc == 0)
		__atomic_add_fetch(&b->stats.bytes_out, n, __ATOMIC_RELAXED);
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
	return count(b, b->ops->writer_commit(w, name));
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
	return count(b, b->ops->remove(b, t, name));
}
