/* replica.c: a repository kept on several stores at once.
 *
 * - put: to every member in parallel; succeeds once `quorum` members hold
 *   the object (an existing object counts: names are content hashes).
 *   Members that failed lack the object until `cairn repair` copies it.
 * - get, stat: the members in the order given; a member that lacks the
 *   object, fails, or returns bytes that fail their check (its wrapper
 *   retried already) is skipped for the next.
 * - list: the union of the members' listings.  A member whose listing
 *   fails is left out and counted (replica_list_failures): reading goes on
 *   from the others, while prune refuses to decide on a partial view.
 * - remove: from every member; fails when any member fails, so that a
 *   deletion is never half done silently (the next prune finishes it).
 *
 * Each member is a plain store behind its own wrappers (retries, checks,
 * counters); this store's own wrappers pass straight through
 * (BACKEND_CAP_COMPOSITE).
 */
#include "replica.h"
#include "cairn_err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct replica {
	struct backend base;
	struct backend **m;
	size_t n;
	unsigned need;           /* quorum */
	size_t list_failures;     /* in the last listing */
	size_t list_failures_all; /* since open */
};

static struct replica *rep(struct backend *b)
{
	return (struct replica *)b;
}

size_t replica_count(struct backend *b)
{
	return rep(b)->n;
}

struct backend *replica_member(struct backend *b, size_t i)
{
	return i < rep(b)->n ? rep(b)->m[i] : NULL;
}

size_t replica_list_failures(struct backend *b, int since_open)
{
	return __atomic_load_n(since_open ? &rep(b)->list_failures_all
					  : &rep(b)->list_failures,
			       __ATOMIC_RELAXED);
}

/* ---- put -------------------------------------------------------------- */

struct put_job {
	struct backend *m;
	enum obj_type t;
	const char *name;
	const void *p;
	size_t n;
	int rc;
};

static void *put_thread(void *arg)
{
	struct put_job *j = arg;
	j->rc = backend_put(j->m, j->t, j->name, j->p, j->n);
	return NULL;
}

/* Ranks errors for reporting: the most telling one wins. */
static int worse(int a, int b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	if (a == CAIRN_E_NOTFOUND)
		return b;
	return a;
}

static int replica_put(struct backend *b, enum obj_type t, const char *name,
		       const void *p, size_t n)
{
	struct replica *r = rep(b);
	struct put_job *j = calloc(r->n, sizeof *j);
	pthread_t *th = calloc(r->n, sizeof *th);
	char *started = calloc(r->n, 1);
	int rc = 0;
	if (!j || !th || !started) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	if (t == OBJ_CONFIG) {
		/* the one object whose name is not its hash: never write it
		 * where any member already holds one */
		for (size_t i = 0; i < r->n; i++) {
			uint64_t size;
			int src = backend_stat(r->m[i], t, name, &size);
			if (src == 0)
				rc = CAIRN_E_EXISTS;
			else if (src != CAIRN_E_NOTFOUND)
				rc = src;
			if (rc < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < r->n; i++)
		j[i] = (struct put_job){.m = r->m[i], .t = t, .name = name,
					.p = p, .n = n};
	for (size_t i = 1; i < r->n; i++)
		started[i] = pthread_create(&th[i], NULL, put_thread, &j[i]) == 0;
	put_thread(&j[0]);
	for (size_t i = 1; i < r->n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			put_thread(&j[i]);
	}
	unsigned ok = 0;
	int err = 0, exists = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (j[i].rc == 0 ||
		    (j[i].rc == CAIRN_E_EXISTS && t != OBJ_CONFIG))
			ok++;
		else if (j[i].rc == CAIRN_E_EXISTS)
			exists = 1;
		else
			err = worse(err, j[i].rc);
	}
	if (exists)
		rc = CAIRN_E_EXISTS;
	else if (ok < r->need)
		rc = err ? err : CAIRN_E_IO;
out:
	free(j);
	free(th);
	free(started);
	return rc;
}

/* ---- reads ------------------------------------------------------------ */

static int replica_get(struct backend *b, enum obj_type t, const char *name,
		       uint64_t off, uint64_t len, struct buf *out,
		       backend_verify_fn verify, void *vud)
{
	struct replica *r = rep(b);
	int err = 0;
	for (size_t i = 0; i < r->n; i++) {
		int rc = backend_get_verified(r->m[i], t, name, off, len, out,
					      verify, vud);
		if (rc == 0)
			return 0;
		if (rc == CAIRN_E_NOMEM || rc == CAIRN_E_INVAL)
			return rc;
		err = worse(err, rc);
	}
	return err;
}

static int replica_stat(struct backend *b, enum obj_type t, const char *name,
			uint64_t *size)
{
	struct replica *r = rep(b);
	int err = 0;
	for (size_t i = 0; i < r->n; i++) {
		int rc = backend_stat(r->m[i], t, name, size);
		if (rc == 0)
			return 0;
		if (rc == CAIRN_E_NOMEM || rc == CAIRN_E_INVAL)
			return rc;
		err = worse(err, rc);
	}
	return err;
}

/* The union of the listings: names gathered, sorted, reported once. */
struct name_set {
	struct name_ent {
		char name[65];
		uint64_t size;
	} *v;
	size_t n, cap;
};

static int set_add(void *ud, const char *name, uint64_t size)
{
	struct name_set *s = ud;
	if (strlen(name) > 64)
		return CAIRN_E_CORRUPT;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->v, cap * sizeof *s->v);
		if (!p)
			return CAIRN_E_NOMEM;
		s->v = p;
		s->cap = cap;
	}
	strcpy(s->v[s->n].name, name);
	s->v[s->n].size = size;
	s->n++;
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_ent *)a)->name,
		      ((const struct name_ent *)b)->name);
}

static int replica_list(struct backend *b, enum obj_type t, backend_list_fn fn,
			void *ud)
{
	struct replica *r = rep(b);
	struct name_set s = {0};
	size_t failed = 0;
	int rc = 0, err = 0;
	for (size_t i = 0; i < r->n; i++) {
		size_t before = s.n;
		int lrc = backend_list(r->m[i], t, set_add, &s);
		if (lrc == CAIRN_E_NOMEM) {
			rc = lrc;
			goto out;
		}
		if (lrc < 0) {
			s.n = before; /* what it reported is not trusted */
			failed++;
			err = worse(err, lrc);
		}
	}
	__atomic_store_n(&r->list_failures, failed, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->list_failures_all, failed, __ATOMIC_RELAXED);
	if (failed == r->n) {
		rc = err;
		goto out;
	}
	if (s.n)
		qsort(s.v, s.n, sizeof *s.v, ent_cmp);
	for (size_t i = 0; i < s.n; i++) {
		if (i && !strcmp(s.v[i].name, s.v[i - 1].name))
			continue;
		TRY(fn(ud, s.v[i].name, s.v[i].size));
	}
out:
	free(s.v);
	return rc;
}

static int replica_remove(struct backend *b, enum obj_type t,
			  const char *name)
{
	struct replica *r = rep(b);
	int removed = 0, err = 0;
	for (size_t i = 0; i < r->n; i++) {
		int rc = backend_remove(r->m[i], t, name);
		if (rc == 0)
			removed = 1;
		else if (rc != CAIRN_E_NOTFOUND)
			err = worse(err, rc);
	}
	if (err)
		return err;
	return removed ? 0 : CAIRN_E_NOTFOUND;
}

/* ---- a member that could not be opened -------------------------------- */

/* Stands in for a member store that failed to open (a daemon that is
 * down, say): every call fails with the open's error, so reads fail over
 * to the others and writes count it as a failed member for the quorum. */
struct dead {
	struct backend base;
	int err;
};

static int dead_put(struct backend *b, enum obj_type t, const char *name,
		    const void *p, size_t n)
{
	(void)t, (void)name, (void)p, (void)n;
	return ((struct dead *)b)->err;
}

static int dead_get(struct backend *b, enum obj_type t, const char *name,
		    uint64_t off, uint64_t len, struct buf *out,
		    backend_verify_fn verify, void *vud)
{
	(void)t, (void)name, (void)off, (void)len, (void)out, (void)verify;
	(void)vud;
	return ((struct dead *)b)->err;
}

static int dead_stat(struct backend *b, enum obj_type t, const char *name,
		     uint64_t *size)
{
	(void)t, (void)name, (void)size;
	return ((struct dead *)b)->err;
}

static int dead_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		     void *ud)
{
	(void)t, (void)fn, (void)ud;
	return ((struct dead *)b)->err;
}

static int dead_remove(struct backend *b, enum obj_type t, const char *name)
{
	(void)t, (void)name;
	return ((struct dead *)b)->err;
}

static void dead_close(struct backend *b)
{
	free(b);
}

static int dead_open(const char *location, const struct backend_opts *o,
		     int create, struct backend **ret)
{
	(void)location, (void)o, (void)create, (void)ret;
	return CAIRN_E_UNSUPPORTED;
}

static const struct backend_ops dead_ops = {
	.version = 1,
	.scheme = "unavailable",
	.caps = 0,
	.open = dead_open,
	.close = dead_close,
	.put = dead_put,
	.get = dead_get,
	.stat = dead_stat,
	.list = dead_list,
	.remove = dead_remove,
};

int replica_dead_new(int err, struct backend **ret)
{
	struct dead *d = calloc(1, sizeof *d);
	if (!d)
		return CAIRN_E_NOMEM;
	d->base.ops = &dead_ops;
	d->err = err;
	*ret = &d->base;
	return 0;
}

static void replica_close(struct backend *b)
{
	struct replica *r = rep(b);
	for (size_t i = 0; i < r->n; i++)
		backend_close(r->m[i]);
	free(r->m);
	free(r);
}

static int replica_open_url(const char *location, const struct backend_opts *o,
			    int create, struct backend **ret)
{
	(void)location;
	(void)o;
	(void)create;
	(void)ret;
	return CAIRN_E_UNSUPPORTED; /* made by backend_open_replicated only */
}

const struct backend_ops backend_replica_ops = {
	.version = 1,
	.scheme = "replicated",
	.caps = BACKEND_CAP_COMPOSITE,
	.open = replica_open_url,
	.close = replica_close,
	.put = replica_put,
	.get = replica_get,
	.stat = replica_stat,
	.list = replica_list,
	.remove = replica_remove,
};

int replica_open(struct backend **m, size_t n, unsigned quorum,
		 struct backend **ret)
{
	struct replica *r = calloc(1, sizeof *r);
	if (!r) {
		for (size_t i = 0; i < n; i++)
			backend_close(m[i]);
		free(m);
		return CAIRN_E_NOMEM;
	}
	r->base.ops = &backend_replica_ops;
	r->m = m;
	r->n = n;
	r->need = quorum ? quorum : (unsigned)n;
	*ret = &r->base;
	return 0;
}
