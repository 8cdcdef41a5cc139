/* backend.c: the store registry, store options, and the wrappers the
 * engine calls.  The wrappers are the one place for what every store
 * needs: retries with exponential backoff and jitter (honouring a store's
 * Retry-After, within retry.max-time), the limit on requests in flight,
 * the hash check of whole objects read (an object's name is the SHA-256 of
 * its bytes) and the caller's check of partial reads, per-store counters,
 * and fault injection for the crash tests.  A composite store (replica.c)
 * passes straight through: its members' wrappers do this work. */
#include "backend.h"
#include "cairn_err.h"
#include "replica.h"

#include <errno.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>


static const struct backend_ops *const registry[] = {
	&backend_local_ops,
	&backend_s3_ops,
	&backend_ipfs_ops,
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

int backend_name_ok(enum obj_type t, const char *name)
{
	if (t == OBJ_CONFIG)
		return !strcmp(name, "config");
	if ((unsigned)t >= OBJ__MAX || strlen(name) != 64)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

int backend_object_path(enum obj_type t, const char *name, char *out,
			size_t cap)
{
	int n;
	if (!backend_name_ok(t, name))
		return CAIRN_E_INVAL;
	if (t == OBJ_CONFIG)
		n = snprintf(out, cap, "config");
	else if (t == OBJ_PACK)
		n = snprintf(out, cap, "data/%.2s/%s", name, name);
	else
		n = snprintf(out, cap, "%s/%s", backend_type_dir(t), name);
	return n < 0 || (size_t)n >= cap ? CAIRN_E_RANGE : 0;
}

/* ---- options ---------------------------------------------------------- */

static const char *const known_keys[] = {
	"retry.max-time", "timeout.connect", "timeout.stall",
	"timeout.min-speed", "connections", "tls.ca-file", "tls.insecure",
	"s3.region", "s3.bucket-lookup", "s3.object-lock-days",
	"s3.object-lock-mode", "s3.conditional-put", "s3.storage-class",
	"ipfs.timeout", NULL,
};

const char *backend_opt(const struct backend_opts *o, const char *key)
{
	const char *v = NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; o && i < o->n; i++)
		if (!strncmp(o->kv[i], key, kl) && o->kv[i][kl] == '=')
			v = o->kv[i] + kl + 1;
	return v;
}

int backend_opts_check(const struct backend_opts *o, const char **bad)
{
	for (size_t i = 0; o && i < o->n; i++) {
		const char *eq = strchr(o->kv[i], '=');
		size_t kl = eq ? (size_t)(eq - o->kv[i]) : 0;
		int ok = 0;
		for (size_t k = 0; eq && known_keys[k]; k++)
			if (strlen(known_keys[k]) == kl &&
			    !strncmp(known_keys[k], o->kv[i], kl))
				ok = 1;
		if (!ok) {
			if (bad)
				*bad = o->kv[i];
			return CAIRN_E_INVAL;
		}
	}
	return 0;
}

int backend_opt_ms(const struct backend_opts *o, const char *key,
		   long dflt_ms, long *ret)
{
	const char *v = backend_opt(o, key);
	if (!v) {
		*ret = dflt_ms;
		return 0;
	}
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= 0) || d > 1e7)
		return CAIRN_E_INVAL;
	*ret = (long)(d * 1000.0 + 0.5);
	return 0;
}

int backend_opt_uint(const struct backend_opts *o, const char *key,
		     unsigned long dflt, unsigned long max,
		     unsigned long *ret)
{
	const char *v = backend_opt(o, key);
	if (!v) {
		*ret = dflt;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long u = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || u > max)
		return CAIRN_E_INVAL;
	*ret = u;
	return 0;
}

/* ---- opening ---------------------------------------------------------- */

static void sem_init_n(struct backend_sem *s, unsigned n)
{
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->avail = n ? n : 1;
}

static void sem_acquire(struct backend_sem *s)
{
	pthread_mutex_lock(&s->mu);
	while (!s->avail)
		pthread_cond_wait(&s->cv, &s->mu);
	s->avail--;
	pthread_mutex_unlock(&s->mu);
}

static void sem_release(struct backend_sem *s)
{
	pthread_mutex_lock(&s->mu);
	s->avail++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Fills the wrapper's part of a freshly opened store's header. */
static int backend_setup(struct backend *b, const char *url,
			 const struct backend_opts *o)
{
	int remote = !!(b->ops->caps & BACKEND_CAP_REMOTE);
	unsigned long conns;
	int rc = backend_opt_ms(o, "retry.max-time", remote ? 300000 : 0,
				&b->retry_max_ms);
	if (rc == 0)
		rc = backend_opt_uint(o, "connections", remote ? 8 : 32, 1024,
				      &conns);
	if (rc == 0 && conns == 0)
		rc = CAIRN_E_INVAL;
	if (rc < 0)
		return rc;
	b->location = strdup(url);
	if (!b->location)
		return CAIRN_E_NOMEM;
	sem_init_n(&b->sem, (unsigned)conns);
	return 0;
}

int backend_open(const char *url, const struct backend_opts *o, int create,
		 struct backend **ret)
{
	const struct backend_ops *ops = &backend_local_ops;
	const char *loc = url;
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	struct backend *b;
	int rc;
	TRY(backend_opts_check(o, NULL));
	if (colon && (!slash || colon < slash)) {
		size_t n = (size_t)(colon - url);
		ops = NULL;
		for (size_t i = 0; registry[i]; i++)
			if (strlen(registry[i]->scheme) == n &&
			    !strncmp(registry[i]->scheme, url, n))
				ops = registry[i];
		if (!ops)
			return CAIRN_E_UNSUPPORTED;
		loc = colon + 1;
	}
	TRY(ops->open(loc, o, create, &b));
	rc = backend_setup(b, url, o);
	if (rc < 0) {
		b->ops->close(b);
		return rc;
	}
	*ret = b;
out:
	return rc;
}

int backend_open_replicated(const char *const *urls, size_t n,
			    unsigned quorum, const struct backend_opts *o,
			    int create, struct backend **ret)
{
	struct backend **m;
	int rc = 0;
	if (n == 0 || quorum > n)
		return CAIRN_E_INVAL;
	if (n == 1)
		return backend_open(urls[0], o, create, ret);
	m = calloc(n, sizeof *m);
	if (!m)
		return CAIRN_E_NOMEM;
	/* A member that does not exist yet (a new or lost store) is made
	 * empty when another one exists: check --replicas then shows what
	 * it lacks and repair fills it. */
	/* A member that cannot be reached (a daemon down) is replaced by a
	 * stand-in that fails every call, so that reading goes on from the
	 * others; init wants every store. */
	size_t opened = 0;
	int *err = calloc(n, sizeof *err);
	if (!err) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		err[i] = backend_open(urls[i], o, create, &m[i]);
		if (err[i] == CAIRN_E_NOREPO)
			continue;
		if (err[i] < 0 && (create || err[i] == CAIRN_E_NOMEM ||
				   err[i] == CAIRN_E_INVAL ||
				   err[i] == CAIRN_E_UNSUPPORTED)) {
			rc = err[i];
			free(err);
			goto out;
		}
		if (err[i] == 0)
			opened++;
	}
	rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (m[i])
			continue;
		if (err[i] == CAIRN_E_NOREPO && opened)
			rc = backend_open(urls[i], o, 1, &m[i]);
		else if (err[i] != CAIRN_E_NOREPO &&
			 (rc = replica_dead_new(err[i], &m[i])) == 0 &&
			 (rc = backend_setup(m[i], urls[i], o)) < 0) {
			m[i]->ops->close(m[i]);
			m[i] = NULL;
		}
	}
	if (rc == 0 && !opened)
		rc = err[0] < 0 ? err[0] : CAIRN_E_NOREPO;
	free(err);
	if (rc < 0)
		goto out;
	struct backend *b;
	TRY(replica_open(m, n, quorum, &b)); /* takes m */
	m = NULL;
	rc = backend_setup(b, "replicated", o);
	if (rc < 0) {
		b->ops->close(b);
		goto out;
	}
	*ret = b;
out:
	if (m) {
		for (size_t i = 0; i < n; i++)
			backend_close(m[i]);
		free(m);
	}
	return rc;
}

void backend_close(struct backend *b)
{
	if (!b)
		return;
	if (b->location) {
		pthread_mutex_destroy(&b->sem.mu);
		pthread_cond_destroy(&b->sem.cv);
	}
	free(b->location);
	b->location = NULL;
	b->ops->close(b);
}

const char *backend_location(const struct backend *b)
{
	return b->location ? b->location : "";
}

size_t backend_replica_count(struct backend *b)
{
	return b->ops == &backend_replica_ops ? replica_count(b) : 1;
}

unsigned backend_caps(const struct backend *b)
{
	return b->ops->caps;
}

size_t backend_list_failures(struct backend *b)
{
	return b->ops == &backend_replica_ops ? replica_list_failures(b, 0)
					      : 0;
}

size_t backend_list_failures_total(struct backend *b)
{
	return b->ops == &backend_replica_ops ? replica_list_failures(b, 1)
					      : 0;
}

struct backend *backend_replica(struct backend *b, size_t i)
{
	return b->ops == &backend_replica_ops ? replica_member(b, i) : b;
}

void backend_stats_get(struct backend *b, struct backend_stats *ret)
{
	ret->requests = __atomic_load_n(&b->stats.requests, __ATOMIC_RELAXED);
	ret->errors = __atomic_load_n(&b->stats.errors, __ATOMIC_RELAXED);
	ret->retries = __atomic_load_n(&b->stats.retries, __ATOMIC_RELAXED);
	ret->corrupt = __atomic_load_n(&b->stats.corrupt, __ATOMIC_RELAXED);
	ret->bytes_in = __atomic_load_n(&b->stats.bytes_in, __ATOMIC_RELAXED);
	ret->bytes_out = __atomic_load_n(&b->stats.bytes_out, __ATOMIC_RELAXED);
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

/* ---- retries ---------------------------------------------------------- */

static _Thread_local long retry_after_hint = -1;

void backend_retry_after_hint(long ms)
{
	retry_after_hint = ms;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Failures worth another try: the network (a server restarting refuses
 * connections for a while), the server, a timeout, and
 * bytes that arrived damaged.  Not found, exists, refused credentials, a
 * full store or bad arguments will not change by asking again. */
static int transient(int rc)
{
	return rc == CAIRN_E_IO || rc == CAIRN_E_TIMEOUT ||
	       rc == CAIRN_E_REMOTE || rc == CAIRN_E_CORRUPT ||
	       rc == CAIRN_E_UNREACHABLE;
}

#define RETRY_BASE_MS 100
#define RETRY_CAP_MS 10000
#define RETRY_CORRUPT_MAX 2   /* damage that persists is rot, not transit */
#define RETRY_CORRUPT_MAX_REMOTE 4  /* over a network, damage in transit is
				     * likelier: read again a little longer */

struct attempt {
	struct backend *b;
	int n;            /* attempts made */
	int corrupt;      /* of them, failed checks */
	int64_t start;
};

static void count_error(struct backend *b, int rc)
{
	if (rc < 0 && rc != CAIRN_E_NOTFOUND && rc != CAIRN_E_EXISTS)
		__atomic_add_fetch(&b->stats.errors, 1, __ATOMIC_RELAXED);
}

/* After a failed attempt with result rc: counts it, and returns 1 after
 * sleeping when another attempt should be made (exponential backoff with
 * jitter, or the store's Retry-After, within retry.max-time). */
static int attempt_again(struct attempt *a, int rc)
{
	struct backend *b = a->b;
	long hint = retry_after_hint;
	retry_after_hint = -1;
	count_error(b, rc);
	if (rc == CAIRN_E_CORRUPT) {
		__atomic_add_fetch(&b->stats.corrupt, 1, __ATOMIC_RELAXED);
		if (++a->corrupt > ((b->ops->caps & BACKEND_CAP_REMOTE)
					    ? RETRY_CORRUPT_MAX_REMOTE
					    : RETRY_CORRUPT_MAX))
			return 0;
	}
	if (!transient(rc) || b->retry_max_ms <= 0)
		return 0;
	if (a->n == 1) {
		a->start = now_ms();
		/* a store that just wore out a whole retry budget is not
		 * waited for again by every call that follows (a dump of a
		 * thousand blobs would take a thousand budgets) */
		if (a->start < __atomic_load_n(&b->failing_until,
					       __ATOMIC_RELAXED))
			return 0;
	}
	int shift = a->n - 1 < 16 ? a->n - 1 : 16;
	long d = (long)RETRY_BASE_MS << shift;
	if (d > RETRY_CAP_MS)
		d = RETRY_CAP_MS;
	uint32_t r = 0;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (uint32_t)a->n * 2654435761u;
	d = d / 2 + (long)(r % (uint32_t)(d / 2 + 1)); /* jitter: [d/2, d] */
	if (hint >= 0)
		d = hint;
	int64_t left = b->retry_max_ms - (now_ms() - a->start);
	if (left <= 0 || d > left) {
		__atomic_store_n(&b->failing_until, now_ms() + b->retry_max_ms,
				 __ATOMIC_RELAXED);
		return 0;
	}
	__atomic_add_fetch(&b->stats.retries, 1, __ATOMIC_RELAXED);
	struct timespec ts = {.tv_sec = d / 1000,
			      .tv_nsec = (d % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 1;
}

static void attempt_begin(struct attempt *a)
{
	a->n++;
	__atomic_add_fetch(&a->b->stats.requests, 1, __ATOMIC_RELAXED);
	sem_acquire(&a->b->sem);
}

static void attempt_end(struct attempt *a)
{
	sem_release(&a->b->sem);
}

/* A call that succeeded: the store works again. */
static void store_works(struct backend *b)
{
	if (__atomic_load_n(&b->failing_until, __ATOMIC_RELAXED))
		__atomic_store_n(&b->failing_until, 0, __ATOMIC_RELAXED);
}

static int composite(const struct backend *b)
{
	return !!(b->ops->caps & BACKEND_CAP_COMPOSITE);
}

/* ---- the wrappers ----------------------------------------------------- */

int backend_put(struct backend *b, enum obj_type t, const char *name,
		const void *p, size_t n)
{
	struct attempt a = {.b = b};
	int rc;
	if (composite(b)) {
		rc = b->ops->put(b, t, name, p, n);
	} else {
		do {
			attempt_begin(&a);
			rc = b->ops->put(b, t, name, p, n);
			attempt_end(&a);
			/* an earlier attempt stored it and only its answer
			 * was lost: the name is the hash of these bytes */
			if (rc == CAIRN_E_EXISTS && a.n > 1 && t != OBJ_CONFIG)
				rc = 0;
		} while (rc < 0 && attempt_again(&a, rc));
	}
	if (rc == 0) {
		store_works(b);
		__atomic_add_fetch(&b->stats.bytes_out, n, __ATOMIC_RELAXED);
		if (!composite(b))
			fault_change_done();
	}
	return rc;
}

/* The writer of stores that cannot stream: bytes gathered in memory, put
 * on commit (and so retried as a whole). */
struct mem_writer {
	struct backend_writer base;
	enum obj_type t;
	struct buf data;
};

int backend_writer_open(struct backend *b, enum obj_type t,
			struct backend_writer **ret)
{
	if (b->ops->writer_open) {
		struct attempt a = {.b = b};
		attempt_begin(&a);
		int rc = b->ops->writer_open(b, t, ret);
		attempt_end(&a);
		count_error(b, rc); /* a stream cannot be sent again */
		return rc;
	}
	struct mem_writer *w = calloc(1, sizeof *w);
	if (!w)
		return CAIRN_E_NOMEM;
	w->base.b = b;
	w->t = t;
	*ret = &w->base;
	return 0;
}

int backend_writer_write(struct backend_writer *w, const void *p, size_t n)
{
	struct backend *b = w->b;
	if (!b->ops->writer_open)
		return buf_put(&((struct mem_writer *)w)->data, p, n);
	int rc = b->ops->writer_write(w, p, n);
	if (rc == 0)
		__atomic_add_fetch(&b->stats.bytes_out, n, __ATOMIC_RELAXED);
	return rc;
}

int backend_writer_commit(struct backend_writer *w, const char *name)
{
	struct backend *b = w->b;
	int rc;
	if (!b->ops->writer_open) {
		struct mem_writer *mw = (struct mem_writer *)w;
		rc = backend_put(b, mw->t, name, mw->data.p, mw->data.len);
		buf_free(&mw->data);
		free(mw);
		return rc;
	}
	struct attempt a = {.b = b};
	attempt_begin(&a);
	rc = b->ops->writer_commit(w, name);
	attempt_end(&a);
	count_error(b, rc);
	if (rc == 0)
		fault_change_done();
	return rc;
}

void backend_writer_abort(struct backend_writer *w)
{
	if (!w)
		return;
	if (!w->b->ops->writer_open) {
		struct mem_writer *mw = (struct mem_writer *)w;
		buf_free(&mw->data);
		free(mw);
		return;
	}
	w->b->ops->writer_abort(w);
}

/* A whole object's bytes against its name (the SHA-256 of its bytes). */
static int name_check(const char *name, const uint8_t *p, size_t n)
{
	uint8_t h[32];
	char hex[65];
	SHA256(p, n, h);
	hex_encode(hex, h, 32);
	return strcmp(hex, name) ? CAIRN_E_CORRUPT : 0;
}

int backend_get_verified(struct backend *b, enum obj_type t,
			 const char *name, uint64_t off, uint64_t len,
			 struct buf *out, backend_verify_fn verify, void *vud)
{
	struct attempt a = {.b = b};
	int rc;
	if (composite(b)) {
		rc = b->ops->get(b, t, name, off, len, out, verify, vud);
	} else {
		do {
			attempt_begin(&a);
			rc = b->ops->get(b, t, name, off, len, out, NULL, NULL);
			attempt_end(&a);
			if (rc == 0 && off == 0 && len == BACKEND_TO_END &&
			    t != OBJ_CONFIG)
				rc = name_check(name, out->p, out->len);
			if (rc == 0 && verify)
				rc = verify(vud, out->p, out->len);
			if (rc == 0)
				__atomic_add_fetch(&b->stats.bytes_in, out->len,
						   __ATOMIC_RELAXED);
		} while (rc < 0 && attempt_again(&a, rc));
	}
	if (rc < 0)
		out->len = 0;
	else
		store_works(b);
	return rc;
}

int backend_get(struct backend *b, enum obj_type t, const char *name,
		uint64_t off, uint64_t len, struct buf *out)
{
	return backend_get_verified(b, t, name, off, len, out, NULL, NULL);
}

int backend_stat(struct backend *b, enum obj_type t, const char *name,
		 uint64_t *size)
{
	struct attempt a = {.b = b};
	int rc;
	if (composite(b))
		return b->ops->stat(b, t, name, size);
	do {
		attempt_begin(&a);
		rc = b->ops->stat(b, t, name, size);
		attempt_end(&a);
	} while (rc < 0 && attempt_again(&a, rc));
	if (rc == 0 || rc == CAIRN_E_NOTFOUND)
		store_works(b);
	return rc;
}

/* Listings are retried only as a whole, and only when nothing has been
 * reported yet: a caller must never see a name twice. */
struct list_guard {
	backend_list_fn fn;
	void *ud;
	int reported;
};

static int list_guard_fn(void *ud, const char *name, uint64_t size)
{
	struct list_guard *g = ud;
	g->reported = 1;
	return g->fn(g->ud, name, size);
}

int backend_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		 void *ud)
{
	struct attempt a = {.b = b};
	struct list_guard g = {.fn = fn, .ud = ud};
	int rc;
	if (composite(b))
		return b->ops->list(b, t, fn, ud);
	do {
		attempt_begin(&a);
		rc = b->ops->list(b, t, list_guard_fn, &g);
		attempt_end(&a);
		if (rc < 0 && g.reported)
			count_error(b, rc); /* not again: names were seen */
	} while (rc < 0 && !g.reported && attempt_again(&a, rc));
	return rc;
}

int backend_remove(struct backend *b, enum obj_type t, const char *name)
{
	struct attempt a = {.b = b};
	int rc;
	if (composite(b)) {
		rc = b->ops->remove(b, t, name);
	} else {
		do {
			attempt_begin(&a);
			rc = b->ops->remove(b, t, name);
			attempt_end(&a);
			/* an earlier attempt removed it */
			if (rc == CAIRN_E_NOTFOUND && a.n > 1)
				rc = 0;
		} while (rc < 0 && attempt_again(&a, rc));
	}
	if (rc == 0 && !composite(b))
		fault_change_done();
	return rc;
}
