/* test_backend_wrap.c: the store wrappers of backend.c, run against a fake
 * in-memory store that fails on a script: retries of transient errors only,
 * exact counters, exponential backoff with jitter, retry.max-time, the
 * store's Retry-After hint, a put or remove whose answer was lost, hash
 * checks of whole reads and the caller's checks of ranges, the connection
 * limit, the in-memory writer of stores that cannot stream, listings that
 * fail before or after reporting, and the store options. */
#include "backend.h"
#include "cairn_err.h"
#include "testutil.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the fake store ---------------------------------------------------- */

#define FAKE_MAX_OBJS 64
#define FAKE_MAX_TIMES 32

struct fake_obj {
	enum obj_type t;
	char name[65];
	struct buf data;
};

/* "The next n calls fail with rc", optionally after calling
 * backend_retry_after_hint(hint) (hint < 0: no hint). */
struct fail_script {
	int n;
	int rc;
	long hint;
};

struct fake {
	struct backend base;
	pthread_mutex_t mu;
	struct fake_obj objs[FAKE_MAX_OBJS];
	size_t nobj;

	/* scripts */
	struct fail_script get_fail, put_fail, stat_fail, remove_fail,
		list_fail, commit_fail;
	int put_store_then_fail;   /* put stores, then says CAIRN_E_IO */
	int remove_then_fail;      /* remove deletes, then says CAIRN_E_IO */
	int get_flip;              /* next n gets return one bit flipped */
	int list_fail_after;       /* > 0: report this many names, then fail
				    * with CAIRN_E_IO (once) */
	int get_sleep_ms;

	/* observations */
	int calls_get, calls_put, calls_stat, calls_remove, calls_list;
	int64_t get_times[FAKE_MAX_TIMES];
	int inflight, max_inflight;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

static struct fake *fk(struct backend *b)
{
	return (struct fake *)b;
}

/* Under f->mu: takes one scripted failure, 0 when none is due. */
static int script_take(struct fail_script *s)
{
	if (s->n <= 0)
		return 0;
	s->n--;
	if (s->hint >= 0)
		backend_retry_after_hint(s->hint);
	return s->rc;
}

static struct fake_obj *find_obj(struct fake *f, enum obj_type t,
				 const char *name)
{
	for (size_t i = 0; i < f->nobj; i++)
		if (f->objs[i].t == t && !strcmp(f->objs[i].name, name))
			return &f->objs[i];
	return NULL;
}

static int store_obj(struct fake *f, enum obj_type t, const char *name,
		     const void *p, size_t n)
{
	if (f->nobj == FAKE_MAX_OBJS)
		return CAIRN_E_NOSPACE;
	struct fake_obj *o = &f->objs[f->nobj];
	memset(o, 0, sizeof *o);
	o->t = t;
	snprintf(o->name, sizeof o->name, "%s", name);
	int rc = buf_put(&o->data, p, n);
	if (rc == 0)
		f->nobj++;
	return rc;
}

static void drop_obj(struct fake *f, struct fake_obj *o)
{
	buf_free(&o->data);
	size_t i = (size_t)(o - f->objs);
	memmove(&f->objs[i], &f->objs[i + 1],
		(f->nobj - i - 1) * sizeof *f->objs);
	f->nobj--;
}

static int fake_put(struct backend *b, enum obj_type t, const char *name,
		    const void *p, size_t n)
{
	struct fake *f = fk(b);
	int rc;
	pthread_mutex_lock(&f->mu);
	f->calls_put++;
	rc = script_take(&f->put_fail);
	if (rc == 0 && find_obj(f, t, name))
		rc = CAIRN_E_EXISTS;
	if (rc == 0)
		rc = store_obj(f, t, name, p, n);
	if (rc == 0 && f->put_store_then_fail > 0) {
		f->put_store_then_fail--;
		rc = CAIRN_E_IO; /* a 500 after the object was stored */
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int fake_get(struct backend *b, enum obj_type t, const char *name,
		    uint64_t off, uint64_t len, struct buf *out,
		    backend_verify_fn verify, void *vud)
{
	struct fake *f = fk(b);
	int rc, sleep_for;
	(void)verify;
	(void)vud;
	int cur = __atomic_add_fetch(&f->inflight, 1, __ATOMIC_SEQ_CST);
	int seen = __atomic_load_n(&f->max_inflight, __ATOMIC_SEQ_CST);
	while (cur > seen &&
	       !__atomic_compare_exchange_n(&f->max_inflight, &seen, cur, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	pthread_mutex_lock(&f->mu);
	if (f->calls_get < FAKE_MAX_TIMES)
		f->get_times[f->calls_get] = now_ms();
	f->calls_get++;
	sleep_for = f->get_sleep_ms;
	pthread_mutex_unlock(&f->mu);
	if (sleep_for)
		sleep_ms(sleep_for);

	pthread_mutex_lock(&f->mu);
	out->len = 0;
	rc = script_take(&f->get_fail);
	struct fake_obj *o = rc == 0 ? find_obj(f, t, name) : NULL;
	if (rc == 0 && !o)
		rc = CAIRN_E_NOTFOUND;
	if (rc == 0) {
		uint64_t size = o->data.len;
		if (off > size)
			rc = CAIRN_E_CORRUPT;
		else if (len == BACKEND_TO_END)
			len = size - off;
		else if (len > size - off)
			rc = CAIRN_E_CORRUPT;
	}
	if (rc == 0)
		rc = buf_put(out, o->data.p + off, (size_t)len);
	if (rc == 0 && f->get_flip > 0 && out->len) {
		f->get_flip--;
		out->p[out->len / 2] ^= 0x10;
	}
	pthread_mutex_unlock(&f->mu);
	__atomic_sub_fetch(&f->inflight, 1, __ATOMIC_SEQ_CST);
	return rc;
}

static int fake_stat(struct backend *b, enum obj_type t, const char *name,
		     uint64_t *size)
{
	struct fake *f = fk(b);
	pthread_mutex_lock(&f->mu);
	f->calls_stat++;
	int rc = script_take(&f->stat_fail);
	struct fake_obj *o = rc == 0 ? find_obj(f, t, name) : NULL;
	if (rc == 0 && !o)
		rc = CAIRN_E_NOTFOUND;
	if (rc == 0)
		*size = o->data.len;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static int fake_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		     void *ud)
{
	struct fake *f = fk(b);
	char names[FAKE_MAX_OBJS][65];
	uint64_t sizes[FAKE_MAX_OBJS];
	size_t n = 0;
	int fail_after;
	pthread_mutex_lock(&f->mu);
	f->calls_list++;
	int rc = script_take(&f->list_fail);
	for (size_t i = 0; rc == 0 && i < f->nobj; i++)
		if (f->objs[i].t == t) {
			snprintf(names[n], 65, "%s", f->objs[i].name);
			sizes[n++] = f->objs[i].data.len;
		}
	fail_after = f->list_fail_after;
	f->list_fail_after = 0;
	pthread_mutex_unlock(&f->mu);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (fail_after > 0 && (int)i == fail_after)
			return CAIRN_E_IO; /* the connection broke mid-listing */
		rc = fn(ud, names[i], sizes[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int fake_remove(struct backend *b, enum obj_type t, const char *name)
{
	struct fake *f = fk(b);
	pthread_mutex_lock(&f->mu);
	f->calls_remove++;
	int rc = script_take(&f->remove_fail);
	struct fake_obj *o = rc == 0 ? find_obj(f, t, name) : NULL;
	if (rc == 0 && !o)
		rc = CAIRN_E_NOTFOUND;
	if (rc == 0) {
		drop_obj(f, o);
		if (f->remove_then_fail > 0) {
			f->remove_then_fail--;
			rc = CAIRN_E_IO;
		}
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static void fake_close(struct backend *b)
{
	struct fake *f = fk(b);
	for (size_t i = 0; i < f->nobj; i++)
		buf_free(&f->objs[i].data);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static int fake_open(const char *location, const struct backend_opts *o,
		     int create, struct backend **ret)
{
	(void)location;
	(void)o;
	(void)create;
	(void)ret;
	return CAIRN_E_UNSUPPORTED; /* built by fake_new */
}

static const struct backend_ops fake_ops = {
	.version = 1,
	.scheme = "fake",
	.caps = BACKEND_CAP_REMOTE,
	.open = fake_open,
	.close = fake_close,
	.put = fake_put,
	.get = fake_get,
	.stat = fake_stat,
	.list = fake_list,
	.remove = fake_remove,
};

/* A fake store that does stream (writer ops), for the writer wrappers. */
struct fake_writer {
	struct backend_writer base;
	enum obj_type t;
	struct buf data;
};

static int fw_open(struct backend *b, enum obj_type t,
		   struct backend_writer **ret)
{
	struct fake_writer *w = calloc(1, sizeof *w);
	if (!w)
		return CAIRN_E_NOMEM;
	w->base.b = b;
	w->t = t;
	*ret = &w->base;
	return 0;
}

static int fw_write(struct backend_writer *bw, const void *p, size_t n)
{
	return buf_put(&((struct fake_writer *)bw)->data, p, n);
}

static int fw_commit(struct backend_writer *bw, const char *name)
{
	struct fake_writer *w = (struct fake_writer *)bw;
	struct fake *f = fk(bw->b);
	pthread_mutex_lock(&f->mu);
	int rc = script_take(&f->commit_fail);
	if (rc == 0 && find_obj(f, w->t, name))
		rc = CAIRN_E_EXISTS;
	if (rc == 0)
		rc = store_obj(f, w->t, name, w->data.p, w->data.len);
	pthread_mutex_unlock(&f->mu);
	buf_free(&w->data);
	free(w);
	return rc;
}

static void fw_abort(struct backend_writer *bw)
{
	struct fake_writer *w = (struct fake_writer *)bw;
	buf_free(&w->data);
	free(w);
}

static const struct backend_ops fake_stream_ops = {
	.version = 1,
	.scheme = "fakestream",
	.caps = BACKEND_CAP_REMOTE | BACKEND_CAP_STREAM_PUT,
	.open = fake_open,
	.close = fake_close,
	.put = fake_put,
	.writer_open = fw_open,
	.writer_write = fw_write,
	.writer_commit = fw_commit,
	.writer_abort = fw_abort,
	.get = fake_get,
	.stat = fake_stat,
	.list = fake_list,
	.remove = fake_remove,
};

/* Builds a fake store and fills its header as backend_open's
 * backend_setup does (a remote store: retry.max-time 300 s and 8
 * connections by default), so that backend_close can close it. */
static struct fake *fake_new_ops(const struct backend_ops *ops,
				 const char *const *kv, size_t nkv)
{
	struct backend_opts o = {.kv = kv, .n = nkv};
	unsigned long conns = 0;
	struct fake *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->base.ops = ops;
	pthread_mutex_init(&f->mu, NULL);
	f->get_fail.hint = f->put_fail.hint = f->stat_fail.hint = -1;
	f->remove_fail.hint = f->list_fail.hint = f->commit_fail.hint = -1;
	CHECK_RC(backend_opts_check(&o, NULL), 0);
	CHECK_RC(backend_opt_ms(&o, "retry.max-time", 300000,
				&f->base.retry_max_ms), 0);
	CHECK_RC(backend_opt_uint(&o, "connections", 8, 1024, &conns), 0);
	f->base.location = strdup("fake:test");
	if (!f->base.location)
		abort();
	pthread_mutex_init(&f->base.sem.mu, NULL);
	pthread_cond_init(&f->base.sem.cv, NULL);
	f->base.sem.avail = conns ? (unsigned)conns : 1;
	return f;
}

static struct fake *fake_new(const char *const *kv, size_t nkv)
{
	return fake_new_ops(&fake_ops, kv, nkv);
}

/* ---- helpers ------------------------------------------------------------ */

static void sha_hex(const void *p, size_t n, char hex[65])
{
	uint8_t h[32];
	SHA256(p, n, h);
	hex_encode(hex, h, 32);
}

static void put_direct(struct fake *f, enum obj_type t, const char *name,
		       const void *p, size_t n)
{
	pthread_mutex_lock(&f->mu);
	CHECK_RC(store_obj(f, t, name, p, n), 0);
	pthread_mutex_unlock(&f->mu);
}

static struct backend_stats stats_of(struct fake *f)
{
	struct backend_stats s;
	backend_stats_get(&f->base, &s);
	return s;
}

static int stats_are(struct fake *f, uint64_t requests, uint64_t errors,
		     uint64_t retries, uint64_t corrupt)
{
	struct backend_stats s = stats_of(f);
	if (s.requests == requests && s.errors == errors &&
	    s.retries == retries && s.corrupt == corrupt)
		return 1;
	fprintf(stderr,
		"  stats: requests %llu errors %llu retries %llu corrupt %llu; "
		"want %llu %llu %llu %llu\n",
		(unsigned long long)s.requests, (unsigned long long)s.errors,
		(unsigned long long)s.retries, (unsigned long long)s.corrupt,
		(unsigned long long)requests, (unsigned long long)errors,
		(unsigned long long)retries, (unsigned long long)corrupt);
	return 0;
}

static const char *const obj_bytes = "the bytes of an object";
static char obj_name[65];

/* ---- transient and permanent errors ------------------------------------ */

static void test_transient(void)
{
	static const int codes[] = {CAIRN_E_IO, CAIRN_E_TIMEOUT,
				    CAIRN_E_REMOTE};
	size_t n = strlen(obj_bytes);
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		struct fake *f = fake_new(NULL, 0);
		put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
		f->get_fail = (struct fail_script){.n = 2, .rc = codes[i],
						   .hint = 0};
		CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0,
				     BACKEND_TO_END, &out), 0);
		CHECK(out.len == n && !memcmp(out.p, obj_bytes, n));
		CHECK(f->calls_get == 3);
		CHECK(stats_are(f, 3, 2, 2, 0));
		CHECK(stats_of(f).bytes_in == n);
		backend_close(&f->base);
	}
	/* the same through stat, put and remove */
	struct fake *f = fake_new(NULL, 0);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	uint64_t size = 0;
	f->stat_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_TIMEOUT,
					    .hint = 0};
	CHECK_RC(backend_stat(&f->base, OBJ_INDEX, obj_name, &size), 0);
	CHECK(size == n && f->calls_stat == 2);
	CHECK(stats_are(f, 2, 1, 1, 0));
	f->remove_fail = (struct fail_script){.n = 2, .rc = CAIRN_E_REMOTE,
					      .hint = 0};
	CHECK_RC(backend_remove(&f->base, OBJ_INDEX, obj_name), 0);
	CHECK(f->calls_remove == 3 && f->nobj == 0);
	CHECK(stats_are(f, 5, 3, 3, 0));
	f->put_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_IO,
					   .hint = 0};
	CHECK_RC(backend_put(&f->base, OBJ_INDEX, obj_name, obj_bytes, n), 0);
	CHECK(f->calls_put == 2 && f->nobj == 1);
	CHECK(stats_are(f, 7, 4, 4, 0));
	CHECK(stats_of(f).bytes_out == n);
	backend_close(&f->base);
	buf_free(&out);
}

static void test_permanent(void)
{
	static const int codes[] = {CAIRN_E_NOTFOUND, CAIRN_E_EXISTS,
				    CAIRN_E_AUTH, CAIRN_E_INVAL,
				    CAIRN_E_NOSPACE, CAIRN_E_PROTOCOL};
	size_t n = strlen(obj_bytes);
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		struct fake *f = fake_new(NULL, 0);
		put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
		f->get_fail = (struct fail_script){.n = 5, .rc = codes[i],
						   .hint = 0};
		CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0,
				     BACKEND_TO_END, &out), codes[i]);
		CHECK(out.len == 0);
		CHECK(f->calls_get == 1);
		/* not found and exists are answers, not errors */
		int is_err = codes[i] != CAIRN_E_NOTFOUND &&
			     codes[i] != CAIRN_E_EXISTS;
		CHECK(stats_are(f, 1, (uint64_t)is_err, 0, 0));
		/* the same for put */
		f->put_fail = (struct fail_script){.n = 5, .rc = codes[i],
						   .hint = 0};
		CHECK_RC(backend_put(&f->base, OBJ_INDEX, obj_name, "x", 1),
			 codes[i]);
		CHECK(f->calls_put == 1);
		CHECK(stats_are(f, 2, 2 * (uint64_t)is_err, 0, 0));
		backend_close(&f->base);
	}
	/* a real not found and a real exists: one call each */
	struct fake *f = fake_new(NULL, 0);
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_NOTFOUND);
	CHECK_RC(backend_remove(&f->base, OBJ_INDEX, obj_name),
		 CAIRN_E_NOTFOUND);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	CHECK_RC(backend_put(&f->base, OBJ_INDEX, obj_name, obj_bytes, n),
		 CAIRN_E_EXISTS);
	CHECK(stats_are(f, 3, 0, 0, 0));
	CHECK(stats_of(f).bytes_out == 0);
	backend_close(&f->base);
	buf_free(&out);
}

/* ---- backoff, max-time, Retry-After ------------------------------------- */

static void test_backoff(void)
{
	size_t n = strlen(obj_bytes);
	struct buf out = BUF_INIT;

	/* 4 retries: delays 100, 200, 400, 800 ms, each jittered into
	 * [d/2, d]: in all [750, 1500] ms */
	struct fake *f = fake_new(NULL, 0);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	f->get_fail = (struct fail_script){.n = 4, .rc = CAIRN_E_REMOTE,
					   .hint = -1};
	int64_t t0 = now_ms();
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), 0);
	int64_t el = now_ms() - t0;
	fprintf(stderr, "backoff: 4 retries took %lld ms (want 750..1500); gaps",
		(long long)el);
	CHECK(el >= 750 && el <= 1500 + 300);
	CHECK(f->calls_get == 5);
	CHECK(stats_are(f, 5, 4, 4, 0));
	for (int i = 1; i < 5; i++) {
		long d = 100L << (i - 1);
		int64_t gap = f->get_times[i] - f->get_times[i - 1];
		fprintf(stderr, " %lld", (long long)gap);
		CHECK(gap >= d / 2 && gap <= d + 150);
	}
	fprintf(stderr, " ms\n");
	backend_close(&f->base);

	/* retry.max-time bounds the whole: a store that always fails */
	const char *kv[] = {"retry.max-time=0.5"};
	f = fake_new(kv, 1);
	CHECK(f->base.retry_max_ms == 500);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	f->get_fail = (struct fail_script){.n = 1000, .rc = CAIRN_E_TIMEOUT,
					   .hint = -1};
	t0 = now_ms();
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_TIMEOUT);
	el = now_ms() - t0;
	struct backend_stats s = stats_of(f);
	fprintf(stderr, "max-time 0.5 s: gave up after %lld ms, %d calls, "
		"%llu retries\n", (long long)el, f->calls_get,
		(unsigned long long)s.retries);
	CHECK(el >= 150 && el < 800);
	CHECK(f->calls_get >= 3 && f->calls_get <= 4);
	CHECK(s.requests == (uint64_t)f->calls_get &&
	      s.errors == (uint64_t)f->calls_get &&
	      s.retries == (uint64_t)f->calls_get - 1);
	CHECK(out.len == 0);
	backend_close(&f->base);

	/* retry.max-time=0: no retry at all */
	const char *kv0[] = {"retry.max-time=0"};
	f = fake_new(kv0, 1);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	f->get_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_IO,
					   .hint = -1};
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_IO);
	CHECK(stats_are(f, 1, 1, 0, 0));
	backend_close(&f->base);

	/* a Retry-After of 300 ms replaces the first delay (50..100 ms) */
	f = fake_new(NULL, 0);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	f->get_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_REMOTE,
					   .hint = 300};
	t0 = now_ms();
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), 0);
	el = now_ms() - t0;
	fprintf(stderr, "Retry-After 300 ms: one retry took %lld ms\n",
		(long long)el);
	CHECK(el >= 300 && el < 600);
	CHECK(stats_are(f, 2, 1, 1, 0));
	/* the hint is used once: the next failure backs off normally */
	f->get_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_REMOTE,
					   .hint = -1};
	t0 = now_ms();
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), 0);
	el = now_ms() - t0;
	CHECK(el >= 50 && el < 300);
	backend_close(&f->base);

	/* a Retry-After beyond retry.max-time: give up at once */
	f = fake_new(kv, 1);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	f->get_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_REMOTE,
					   .hint = 2000};
	t0 = now_ms();
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_REMOTE);
	el = now_ms() - t0;
	fprintf(stderr, "Retry-After 2 s > max-time 0.5 s: gave up after "
		"%lld ms\n", (long long)el);
	CHECK(el < 100);
	CHECK(stats_are(f, 1, 1, 0, 0));
	backend_close(&f->base);
	buf_free(&out);
}

/* ---- answers lost after the change was made ---------------------------- */

static void test_lost_answers(void)
{
	size_t n = strlen(obj_bytes);
	struct buf out = BUF_INIT;
	struct fake *f = fake_new(NULL, 0);
	/* put stored the object, then reported a 500: the retry meets
	 * EXISTS, which is success for a content-named object */
	f->put_store_then_fail = 1;
	CHECK_RC(backend_put(&f->base, OBJ_PACK, obj_name, obj_bytes, n), 0);
	CHECK(f->calls_put == 2 && f->nobj == 1);
	CHECK(stats_are(f, 2, 1, 1, 0));
	CHECK(stats_of(f).bytes_out == n);
	CHECK_RC(backend_get(&f->base, OBJ_PACK, obj_name, 0, BACKEND_TO_END,
			     &out), 0);
	CHECK(out.len == n && !memcmp(out.p, obj_bytes, n));
	/* ... but not for the config, whose name says nothing of its bytes */
	f->put_store_then_fail = 1;
	CHECK_RC(backend_put(&f->base, OBJ_CONFIG, "config", "cfg", 3),
		 CAIRN_E_EXISTS);
	CHECK(f->calls_put == 4);
	/* remove deleted it, then failed: the retry's NOTFOUND is success */
	f->remove_then_fail = 1;
	CHECK_RC(backend_remove(&f->base, OBJ_PACK, obj_name), 0);
	CHECK(f->calls_remove == 2 && find_obj(f, OBJ_PACK, obj_name) == NULL);
	backend_close(&f->base);
	buf_free(&out);
}

/* ---- checks of what is read ---------------------------------------------- */

struct verify_state {
	int calls;
	int reject;   /* reject this many answers */
	char want[32];
};

static int verify_cb(void *ud, const uint8_t *p, size_t n)
{
	struct verify_state *v = ud;
	v->calls++;
	if (v->reject > 0) {
		v->reject--;
		return CAIRN_E_CORRUPT;
	}
	return n == strlen(v->want) && !memcmp(p, v->want, n)
		       ? 0
		       : CAIRN_E_CORRUPT;
}

static void test_read_checks(void)
{
	size_t n = strlen(obj_bytes);
	struct buf out = BUF_INIT;

	/* damage that persists: 5 attempts on a network store (3 on a local
	 * one), then CAIRN_E_CORRUPT */
	struct fake *f = fake_new(NULL, 0);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	f->get_flip = 100;
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), CAIRN_E_CORRUPT);
	CHECK(out.len == 0);
	CHECK(f->calls_get == 5);
	CHECK(stats_are(f, 5, 5, 4, 5));
	CHECK(stats_of(f).bytes_in == 0);
	backend_close(&f->base);

	/* a bit flipped once in transit: healed by the retry */
	f = fake_new(NULL, 0);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, n);
	f->get_flip = 1;
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), 0);
	CHECK(out.len == n && !memcmp(out.p, obj_bytes, n));
	CHECK(f->calls_get == 2);
	CHECK(stats_are(f, 2, 1, 1, 1));
	CHECK(stats_of(f).bytes_in == n);
	/* flipped twice: still healed by the third and last attempt */
	f->get_flip = 2;
	CHECK_RC(backend_get(&f->base, OBJ_INDEX, obj_name, 0, BACKEND_TO_END,
			     &out), 0);
	CHECK(out.len == n && !memcmp(out.p, obj_bytes, n));
	CHECK(f->calls_get == 5);
	CHECK(stats_are(f, 5, 3, 3, 3));
	backend_close(&f->base);

	/* the config is not named by its hash: no hash check */
	f = fake_new(NULL, 0);
	put_direct(f, OBJ_CONFIG, "config", "config bytes", 12);
	CHECK_RC(backend_get(&f->base, OBJ_CONFIG, "config", 0,
			     BACKEND_TO_END, &out), 0);
	CHECK(out.len == 12 && stats_of(f).corrupt == 0);

	/* a range is not hash-checked; the caller's verify is, and a
	 * rejected answer is retried */
	put_direct(f, OBJ_PACK, obj_name, obj_bytes, n);
	struct verify_state v = {.reject = 1};
	snprintf(v.want, sizeof v.want, "bytes");
	CHECK_RC(backend_get_verified(&f->base, OBJ_PACK, obj_name, 4, 5, &out,
				      verify_cb, &v), 0);
	CHECK(out.len == 5 && !memcmp(out.p, "bytes", 5));
	CHECK(v.calls == 2);
	CHECK(f->calls_get == 3);
	CHECK(stats_are(f, 3, 1, 1, 1));
	/* bytes damaged in transit on a ranged read: verify catches it */
	v = (struct verify_state){.reject = 0};
	snprintf(v.want, sizeof v.want, "bytes");
	f->get_flip = 1;
	CHECK_RC(backend_get_verified(&f->base, OBJ_PACK, obj_name, 4, 5, &out,
				      verify_cb, &v), 0);
	CHECK(out.len == 5 && !memcmp(out.p, "bytes", 5) && v.calls == 2);
	/* a verify that always rejects: 5 attempts */
	v = (struct verify_state){.reject = 100};
	CHECK_RC(backend_get_verified(&f->base, OBJ_PACK, obj_name, 4, 5, &out,
				      verify_cb, &v), CAIRN_E_CORRUPT);
	CHECK(v.calls == 5 && out.len == 0);
	/* without verify a range is taken as it comes */
	CHECK_RC(backend_get(&f->base, OBJ_PACK, obj_name, 4, 5, &out), 0);
	CHECK(out.len == 5);
	/* a whole read with verify: the hash check first, then verify */
	v = (struct verify_state){.reject = 0};
	snprintf(v.want, sizeof v.want, "%s", obj_bytes);
	f->get_flip = 1;
	CHECK_RC(backend_get_verified(&f->base, OBJ_PACK, obj_name, 0,
				      BACKEND_TO_END, &out, verify_cb, &v), 0);
	CHECK(v.calls == 1 && out.len == n);
	backend_close(&f->base);
	buf_free(&out);
}

/* ---- the connection limit ------------------------------------------------ */

struct conc_arg {
	struct fake *f;
	int rc;
};

static void *conc_thread(void *p)
{
	struct conc_arg *a = p;
	struct buf out = BUF_INIT;
	a->rc = backend_get(&a->f->base, OBJ_INDEX, obj_name, 0,
			    BACKEND_TO_END, &out);
	if (a->rc == 0 && (out.len != strlen(obj_bytes) ||
			   memcmp(out.p, obj_bytes, out.len)))
		a->rc = CAIRN_E_CORRUPT;
	buf_free(&out);
	return NULL;
}

static void run_concurrent(struct fake *f, int nthreads, int64_t *elapsed)
{
	pthread_t th[16];
	struct conc_arg args[16];
	int64_t t0 = now_ms();
	for (int i = 0; i < nthreads; i++) {
		args[i] = (struct conc_arg){.f = f, .rc = -999};
		CHECK(pthread_create(&th[i], NULL, conc_thread, &args[i]) == 0);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		CHECK_RC(args[i].rc, 0);
	}
	*elapsed = now_ms() - t0;
}

static void test_connections(void)
{
	const char *kv[] = {"connections=2"};
	struct fake *f = fake_new(kv, 1);
	int64_t el;
	CHECK(f->base.sem.avail == 2);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, strlen(obj_bytes));
	f->get_sleep_ms = 50;
	run_concurrent(f, 8, &el);
	fprintf(stderr, "connections=2: 8 gets of 50 ms, at most %d in flight, "
		"%lld ms\n", f->max_inflight, (long long)el);
	CHECK(f->max_inflight == 2);
	CHECK(el >= 200 && el < 1000);
	CHECK(f->calls_get == 8 && f->base.sem.avail == 2);
	CHECK(stats_are(f, 8, 0, 0, 0));
	backend_close(&f->base);

	/* the default (8) lets them all run at once */
	f = fake_new(NULL, 0);
	put_direct(f, OBJ_INDEX, obj_name, obj_bytes, strlen(obj_bytes));
	f->get_sleep_ms = 50;
	run_concurrent(f, 8, &el);
	fprintf(stderr, "connections=8: 8 gets of 50 ms, at most %d in flight, "
		"%lld ms\n", f->max_inflight, (long long)el);
	CHECK(f->max_inflight > 2 && f->max_inflight <= 8);
	backend_close(&f->base);
}

/* ---- writers ------------------------------------------------------------- */

static void test_mem_writer(void)
{
	struct fake *f = fake_new(NULL, 0);
	struct backend_writer *w = NULL;
	const char *parts[] = {"pack ", "made of ", "three parts"};
	char whole[64], name[65];
	snprintf(whole, sizeof whole, "%s%s%s", parts[0], parts[1], parts[2]);
	sha_hex(whole, strlen(whole), name);
	CHECK_RC(backend_writer_open(&f->base, OBJ_PACK, &w), 0);
	for (int i = 0; w && i < 3; i++)
		CHECK_RC(backend_writer_write(w, parts[i], strlen(parts[i])), 0);
	CHECK(f->calls_put == 0); /* nothing sent before the commit */
	if (w)
		CHECK_RC(backend_writer_commit(w, name), 0);
	CHECK(f->calls_put == 1 && f->nobj == 1);
	struct fake_obj *o = find_obj(f, OBJ_PACK, name);
	CHECK(o && o->data.len == strlen(whole) &&
	      !memcmp(o->data.p, whole, strlen(whole)));
	CHECK(stats_are(f, 1, 0, 0, 0));
	CHECK(stats_of(f).bytes_out == strlen(whole));

	/* abort leaves nothing */
	w = NULL;
	CHECK_RC(backend_writer_open(&f->base, OBJ_PACK, &w), 0);
	if (w) {
		CHECK_RC(backend_writer_write(w, "junk", 4), 0);
		backend_writer_abort(w);
	}
	backend_writer_abort(NULL);
	CHECK(f->calls_put == 1 && f->nobj == 1);

	/* the commit is a put, retried as a whole */
	w = NULL;
	f->put_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_REMOTE,
					   .hint = 0};
	CHECK_RC(backend_writer_open(&f->base, OBJ_INDEX, &w), 0);
	if (w) {
		CHECK_RC(backend_writer_write(w, obj_bytes, strlen(obj_bytes)),
			 0);
		CHECK_RC(backend_writer_commit(w, obj_name), 0);
	}
	CHECK(f->calls_put == 3 && f->nobj == 2);
	/* committing an existing name: EXISTS, object untouched */
	w = NULL;
	CHECK_RC(backend_writer_open(&f->base, OBJ_PACK, &w), 0);
	if (w) {
		CHECK_RC(backend_writer_write(w, "other", 5), 0);
		CHECK_RC(backend_writer_commit(w, name), CAIRN_E_EXISTS);
	}
	o = find_obj(f, OBJ_PACK, name);
	CHECK(o && o->data.len == strlen(whole));
	backend_close(&f->base);

	/* a streaming store whose commit fails: the commit cannot be
	 * retried (it consumed the writer), so nothing should be counted
	 * as a retry nor slept for */
	f = fake_new_ops(&fake_stream_ops, NULL, 0);
	f->commit_fail = (struct fail_script){.n = 1, .rc = CAIRN_E_IO,
					      .hint = -1};
	w = NULL;
	CHECK_RC(backend_writer_open(&f->base, OBJ_PACK, &w), 0);
	if (w) {
		CHECK_RC(backend_writer_write(w, whole, strlen(whole)), 0);
		int64_t t0 = now_ms();
		CHECK_RC(backend_writer_commit(w, name), CAIRN_E_IO);
		int64_t el = now_ms() - t0;
		struct backend_stats s = stats_of(f);
		fprintf(stderr, "streaming commit failing once: %lld ms, "
			"retries %llu, errors %llu\n", (long long)el,
			(unsigned long long)s.retries,
			(unsigned long long)s.errors);
		CHECK(s.errors == 1 && f->nobj == 0);
		/* BUG: backend.c backend_writer_commit (line 521-522) and
		 * backend_writer_open (482-483) call attempt_again() only to
		 * count the error, but attempt_again also sleeps the backoff
		 * (50..100 ms here; a store's Retry-After hint, up to
		 * retry.max-time, otherwise) and counts stats.retries, though
		 * no attempt follows.  Got retries 1 and a 50..100 ms sleep,
		 * want retries 0 and no sleep. */
		CHECK(s.retries == 0);
		CHECK(el < 40);
	}
	backend_close(&f->base);
}

/* ---- listings ------------------------------------------------------------ */

struct seen {
	char names[16][65];
	int n;
	int dup;
};

static int seen_cb(void *ud, const char *name, uint64_t size)
{
	struct seen *s = ud;
	(void)size;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			s->dup++;
	if (s->n < 16)
		snprintf(s->names[s->n++], 65, "%s", name);
	return 0;
}

static int stop_cb(void *ud, const char *name, uint64_t size)
{
	(void)name;
	(void)size;
	(*(int *)ud)++;
	return CAIRN_E_INTERRUPTED;
}

static void test_list(void)
{
	struct fake *f = fake_new(NULL, 0);
	char names[4][65];
	for (int i = 0; i < 4; i++) {
		char body[16];
		snprintf(body, sizeof body, "object %d", i);
		sha_hex(body, strlen(body), names[i]);
		put_direct(f, OBJ_SNAPSHOT, names[i], body, strlen(body));
	}
	/* fails twice before reporting anything: retried */
	struct seen s = {0};
	f->list_fail = (struct fail_script){.n = 2, .rc = CAIRN_E_REMOTE,
					    .hint = 0};
	CHECK_RC(backend_list(&f->base, OBJ_SNAPSHOT, seen_cb, &s), 0);
	CHECK(s.n == 4 && s.dup == 0);
	CHECK(f->calls_list == 3);
	CHECK(stats_are(f, 3, 2, 2, 0));
	/* a permanent failure is not retried */
	s = (struct seen){0};
	f->list_fail = (struct fail_script){.n = 2, .rc = CAIRN_E_AUTH,
					    .hint = 0};
	CHECK_RC(backend_list(&f->base, OBJ_SNAPSHOT, seen_cb, &s),
		 CAIRN_E_AUTH);
	CHECK(s.n == 0 && f->calls_list == 4);
	f->list_fail.n = 0;
	/* fails after reporting a name: not retried, no name twice */
	s = (struct seen){0};
	f->list_fail_after = 2;
	CHECK_RC(backend_list(&f->base, OBJ_SNAPSHOT, seen_cb, &s),
		 CAIRN_E_IO);
	CHECK(s.n == 2 && s.dup == 0);
	CHECK(f->calls_list == 5);
	struct backend_stats st = stats_of(f);
	CHECK(st.requests == 5 && st.retries == 2);
	/* BUG: backend.c backend_list (line 627): when the listing fails
	 * after reporting a name the loop ends on `!g.reported` before
	 * attempt_again(), which is where stats.errors is counted, so this
	 * failed call is not counted (backend.h: errors = calls that
	 * failed).  Got errors 3, want 4 (2 retried + AUTH + this one). */
	CHECK(st.errors == 4);
	/* an empty type lists nothing */
	s = (struct seen){0};
	CHECK_RC(backend_list(&f->base, OBJ_KEY, seen_cb, &s), 0);
	CHECK(s.n == 0 && f->calls_list == 6);
	/* a callback's own error stops the listing, is returned, and the
	 * listing is not repeated */
	int calls = 0;
	CHECK_RC(backend_list(&f->base, OBJ_SNAPSHOT, stop_cb, &calls),
		 CAIRN_E_INTERRUPTED);
	CHECK(calls == 1 && f->calls_list == 7);
	backend_close(&f->base);
}

/* ---- options ------------------------------------------------------------- */

static void test_options(const char *tmpdir)
{
	const char *kv[] = {"connections=2", "retry.max-time=1.5",
			    "connections=5", "tls.insecure=1"};
	struct backend_opts o = {.kv = kv, .n = 4};
	const char *v = backend_opt(&o, "connections");
	CHECK(v && !strcmp(v, "5")); /* last wins */
	CHECK(backend_opt(&o, "connection") == NULL);
	CHECK(backend_opt(&o, "tls.ca-file") == NULL);
	CHECK(backend_opt(NULL, "connections") == NULL);

	long ms = -1;
	CHECK_RC(backend_opt_ms(&o, "retry.max-time", 7, &ms), 0);
	CHECK(ms == 1500);
	CHECK_RC(backend_opt_ms(&o, "timeout.stall", 60000, &ms), 0);
	CHECK(ms == 60000);
	static const struct {
		const char *kv;
		int rc;
		long ms;
	} ms_cases[] = {
		{"t=1.5", 0, 1500}, {"t=0", 0, 0},     {"t=30", 0, 30000},
		{"t=0.001", 0, 1},  {"t=x", CAIRN_E_INVAL, 0},
		{"t=-1", CAIRN_E_INVAL, 0},   {"t=", CAIRN_E_INVAL, 0},
		{"t=1.5s", CAIRN_E_INVAL, 0}, {"t=nan", CAIRN_E_INVAL, 0},
		{"t=inf", CAIRN_E_INVAL, 0},  {"t=1e300", CAIRN_E_INVAL, 0},
	};
	for (size_t i = 0; i < sizeof ms_cases / sizeof *ms_cases; i++) {
		const char *one[] = {ms_cases[i].kv};
		struct backend_opts oo = {.kv = one, .n = 1};
		ms = -7;
		int rc = backend_opt_ms(&oo, "t", 5, &ms);
		if (rc != ms_cases[i].rc ||
		    (rc == 0 && ms != ms_cases[i].ms)) {
			fprintf(stderr, "backend_opt_ms(%s): rc %d ms %ld\n",
				ms_cases[i].kv, rc, ms);
			test_failures++;
		}
	}

	static const struct {
		const char *kv;
		int rc;
		unsigned long u;
	} u_cases[] = {
		{"n=8", 0, 8},         {"n=1024", 0, 1024}, {"n=0", 0, 0},
		{"n=+3", 0, 3},        {"n=1025", CAIRN_E_INVAL, 0},
		{"n=-1", CAIRN_E_INVAL, 0},  {"n=", CAIRN_E_INVAL, 0},
		{"n=5x", CAIRN_E_INVAL, 0},  {"n=x", CAIRN_E_INVAL, 0},
		{"n=99999999999999999999999", CAIRN_E_INVAL, 0},
	};
	for (size_t i = 0; i < sizeof u_cases / sizeof *u_cases; i++) {
		const char *one[] = {u_cases[i].kv};
		struct backend_opts oo = {.kv = one, .n = 1};
		unsigned long u = 77;
		int rc = backend_opt_uint(&oo, "n", 9, 1024, &u);
		if (rc != u_cases[i].rc || (rc == 0 && u != u_cases[i].u)) {
			fprintf(stderr, "backend_opt_uint(%s): rc %d u %lu\n",
				u_cases[i].kv, rc, u);
			test_failures++;
		}
	}
	unsigned long u = 0;
	CHECK_RC(backend_opt_uint(NULL, "n", 9, 1024, &u), 0);
	CHECK(u == 9);

	/* check: every known key passes, others do not */
	const char *good[] = {"retry.max-time=1", "timeout.connect=1",
			      "timeout.stall=1", "connections=1",
			      "tls.ca-file=/x", "tls.insecure=1", "s3.region=x",
			      "ipfs.timeout=1"};
	struct backend_opts go = {.kv = good, .n = sizeof good / sizeof *good};
	CHECK_RC(backend_opts_check(&go, NULL), 0);
	CHECK_RC(backend_opts_check(NULL, NULL), 0);
	static const char *const bad_kv[] = {"conections=2", "connections",
					      "=5", "retry.max-time.x=1",
					      "retry=1"};
	for (size_t i = 0; i < sizeof bad_kv / sizeof *bad_kv; i++) {
		const char *list[] = {"connections=2", bad_kv[i]};
		struct backend_opts bo = {.kv = list, .n = 2};
		const char *bad = NULL;
		CHECK_RC(backend_opts_check(&bo, &bad), CAIRN_E_INVAL);
		CHECK(bad == bad_kv[i]);
	}

	/* backend_open applies them */
	char path[512];
	struct backend *b = NULL;
	snprintf(path, sizeof path, "local:%s/opts-repo", tmpdir);
	const char *unknown[] = {"connections=2", "bogus=1"};
	struct backend_opts uo = {.kv = unknown, .n = 2};
	CHECK_RC(backend_open(path, &uo, 1, &b), CAIRN_E_INVAL);
	CHECK(b == NULL);
	const char *zero[] = {"connections=0"};
	struct backend_opts zo = {.kv = zero, .n = 1};
	CHECK_RC(backend_open(path, &zo, 1, &b), CAIRN_E_INVAL);
	const char *badms[] = {"retry.max-time=soon"};
	struct backend_opts bm = {.kv = badms, .n = 1};
	CHECK_RC(backend_open(path, &bm, 1, &b), CAIRN_E_INVAL);
	const char *ok[] = {"connections=3", "retry.max-time=2.25"};
	struct backend_opts ko = {.kv = ok, .n = 2};
	CHECK_RC(backend_open(path, &ko, 1, &b), 0);
	if (b) {
		CHECK(b->sem.avail == 3 && b->retry_max_ms == 2250);
		CHECK(!strcmp(backend_location(b), path));
		CHECK(backend_replica_count(b) == 1 &&
		      backend_replica(b, 0) == b);
		CHECK(backend_list_failures(b) == 0);
		backend_close(b);
	}
	/* a local store's defaults: no retries, and the documented number
	 * of connections */
	b = NULL;
	CHECK_RC(backend_open(path, NULL, 0, &b), 0);
	if (b) {
		CHECK(b->retry_max_ms == 0);
		/* BUG: backend.h (options comment) documents "connections=N
		 * ... (default 8 for network stores, 32 for local ones)" but
		 * backend.c backend_setup (line 180) gives local stores 64.
		 * Got 64, want 32 (or fix the comment). */
		CHECK(b->sem.avail == 32);
		backend_close(b);
	}
}

int main(void)
{
	char tmpdir[256];
	snprintf(tmpdir, sizeof tmpdir, "%s/cairn-wrap-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	sha_hex(obj_bytes, strlen(obj_bytes), obj_name);
	int64_t t0 = now_ms();
	test_transient();
	test_permanent();
	test_backoff();
	test_lost_answers();
	test_read_checks();
	test_connections();
	test_mem_writer();
	test_list();
	test_options(tmpdir);
	fprintf(stderr, "total %lld ms\n", (long long)(now_ms() - t0));
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return test_done("test_backend_wrap");
}
