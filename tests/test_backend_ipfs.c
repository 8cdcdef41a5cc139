/* test_backend_ipfs.c: the store contract of backend.h against an IPFS
 * daemon's RPC API, named by CAIRN_IPFS_API (e.g. http://127.0.0.1:5011;
 * the test is skipped without it).  Each run works in its own MFS root and
 * removes it at the end.  Covered: open (create, reopen, missing root, a
 * dead or silent daemon), create-only put, whole and ranged get of every
 * object type and of a multi-chunk object, stat, list, remove, the raw CID
 * of single-chunk objects, and concurrent use.  Prints the put and get
 * throughput of a 16 MiB object. */
#include "backend.h"
#include "cairn_err.h"
#include "http.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *api;
static char url[512];      /* "ipfs:API/ROOT" of this run */
static char root[128];     /* its MFS root */

static const char *const opt_kv[] = {"retry.max-time=0", "ipfs.timeout=10"};
static const struct backend_opts opts = {opt_kv, 2};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An object's name: the SHA-256 of its bytes, or "config". */
static void obj_name(enum obj_type t, const void *p, size_t n, char out[65])
{
	uint8_t h[32];
	if (t == OBJ_CONFIG) {
		strcpy(out, "config");
		return;
	}
	crypto_hash_sha256(h, p, n);
	hex_encode(out, h, 32);
}

/* Base32 (RFC 4648, lower case, unpadded), one output bit at a time: a
 * second, independent reading of the CID rule the store checks. */
static void b32(char *dst, const uint8_t *p, size_t n)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz234567";
	size_t nbits = n * 8, o = 0;
	for (size_t bit = 0; bit < nbits; bit += 5) {
		unsigned v = 0;
		for (size_t k = bit; k < bit + 5; k++) {
			unsigned b = 0;
			if (k < nbits)
				b = (p[k / 8] >> (7 - k % 8)) & 1;
			v = v << 1 | b;
		}
		dst[o++] = abc[v];
	}
	dst[o] = 0;
}

static void raw_cid_of(const void *p, size_t n, char out[64])
{
	uint8_t bin[36] = {0x01, 0x55, 0x12, 0x20};
	crypto_hash_sha256(bin + 4, p, n);
	out[0] = 'b';
	b32(out + 1, bin, sizeof bin);
}

/* A raw RPC call beside the store (cat by CID, pin/ls, cleanup). */
static long rpc_raw(const char *cmd_query, struct buf *out)
{
	struct http_settings hs = {.connect_ms = 5000, .stall_ms = 20000};
	struct http_client *c = NULL;
	struct http_response rs = {0};
	char u[1024];
	snprintf(u, sizeof u, "%s/api/v0/%s", api, cmd_query);
	if (http_client_new(&hs, &c) < 0)
		return -1;
	struct http_request rq = {.method = "POST", .url = u, .out = out};
	int rc = http_request_do(c, &rq, &rs);
	http_client_free(c);
	return rc < 0 ? rc : rs.status;
}

struct seen {
	const char *name;
	uint64_t size;
	int found, total;
};

static int seen_cb(void *ud, const char *name, uint64_t size)
{
	struct seen *s = ud;
	s->total++;
	if (s->name && !strcmp(name, s->name)) {
		s->found++;
		s->size = size;
	}
	return 0;
}

static int in_list(struct backend *b, enum obj_type t, const char *name,
		   uint64_t *size, int *total)
{
	struct seen s = {.name = name};
	int rc = backend_list(b, t, seen_cb, &s);
	CHECK_RC(rc, 0);
	if (size)
		*size = s.size;
	if (total)
		*total = s.total;
	return s.found;
}

/* The round trip of one object of each type. */
static void test_types(struct backend *b, uint64_t *seed)
{
	for (int t = 0; t < OBJ__MAX; t++) {
		size_t n = 1000 + (size_t)t * 77;
		uint8_t *p = malloc(n);
		char name[65];
		struct buf out = BUF_INIT;
		uint64_t size = 0;
		test_fill(seed, p, n);
		obj_name((enum obj_type)t, p, n, name);
		CHECK_RC(backend_put(b, t, name, p, n), 0);
		CHECK_RC(backend_put(b, t, name, p, n), CAIRN_E_EXISTS);
		CHECK_RC(backend_get(b, t, name, 0, BACKEND_TO_END, &out), 0);
		CHECK(out.len == n && !memcmp(out.p, p, n));
		CHECK_RC(backend_get(b, t, name, 10, 20, &out), 0);
		CHECK(out.len == 20 && !memcmp(out.p, p + 10, 20));
		CHECK_RC(backend_stat(b, t, name, &size), 0);
		CHECK(size == n);
		size = 0;
		CHECK(in_list(b, t, name, &size, NULL) == 1);
		CHECK(size == n);
		CHECK_RC(backend_remove(b, t, name), 0);
		CHECK_RC(backend_stat(b, t, name, &size), CAIRN_E_NOTFOUND);
		CHECK_RC(backend_get(b, t, name, 0, BACKEND_TO_END, &out),
			 CAIRN_E_NOTFOUND);
		CHECK(in_list(b, t, name, NULL, NULL) == 0);
		CHECK_RC(backend_remove(b, t, name), CAIRN_E_NOTFOUND);
		buf_free(&out);
		free(p);
	}
}

/* Missing names, bad names, ranges past the end. */
static void test_errors(struct backend *b, uint64_t *seed)
{
	static const char *missing = "00ff0000000000000000000000000000"
				     "00000000000000000000000000000000";
	struct buf out = BUF_INIT;
	uint64_t size;
	uint8_t p[500];
	char name[65];
	CHECK_RC(backend_get(b, OBJ_PACK, missing, 0, BACKEND_TO_END, &out),
		 CAIRN_E_NOTFOUND);
	CHECK_RC(backend_get(b, OBJ_INDEX, missing, 0, 10, &out),
		 CAIRN_E_NOTFOUND);
	CHECK_RC(backend_stat(b, OBJ_PACK, missing, &size), CAIRN_E_NOTFOUND);
	CHECK_RC(backend_remove(b, OBJ_SNAPSHOT, missing), CAIRN_E_NOTFOUND);
	CHECK_RC(backend_put(b, OBJ_INDEX, "../../x", "x", 1), CAIRN_E_INVAL);
	CHECK_RC(backend_put(b, OBJ_INDEX, "config", "x", 1), CAIRN_E_INVAL);

	test_fill(seed, p, sizeof p);
	obj_name(OBJ_INDEX, p, sizeof p, name);
	CHECK_RC(backend_put(b, OBJ_INDEX, name, p, sizeof p), 0);
	CHECK_RC(backend_get(b, OBJ_INDEX, name, 490, 11, &out),
		 CAIRN_E_CORRUPT);
	CHECK_RC(backend_get(b, OBJ_INDEX, name, 501, BACKEND_TO_END, &out),
		 CAIRN_E_CORRUPT);
	CHECK_RC(backend_get(b, OBJ_INDEX, name, 500, BACKEND_TO_END, &out),
		 0);
	CHECK(out.len == 0);
	CHECK_RC(backend_get(b, OBJ_INDEX, name, 499, 1, &out), 0);
	CHECK(out.len == 1 && out.p[0] == p[499]);

	/* the empty object */
	obj_name(OBJ_DICT, "", 0, name);
	CHECK_RC(backend_put(b, OBJ_DICT, name, "", 0), 0);
	CHECK_RC(backend_get(b, OBJ_DICT, name, 0, BACKEND_TO_END, &out), 0);
	CHECK(out.len == 0);
	CHECK_RC(backend_stat(b, OBJ_DICT, name, &size), 0);
	CHECK(size == 0);
	CHECK_RC(backend_remove(b, OBJ_DICT, name), 0);
	buf_free(&out);
}

/* Single-chunk objects are stored as the raw block of their bytes: the
 * daemon serves them under the CID computed here, pinned. */
static void test_raw_cid(struct backend *b, uint64_t *seed)
{
	static const size_t sizes[] = {1, 4096, 262144};
	char cid[64], q[256], name[65];
	struct buf out = BUF_INIT;
	raw_cid_of("hello ipfs\n", 11, cid);
	CHECK(!strcmp(cid, "bafkreid3yvacrpfyy4vl5imho46qghn5c3clq5vx"
			   "hrqqvpzfxkdjm3i4g4"));
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		size_t n = sizes[i];
		uint8_t *p = malloc(n);
		test_fill(seed, p, n);
		obj_name(OBJ_PACK, p, n, name);
		raw_cid_of(p, n, cid);
		CHECK_RC(backend_put(b, OBJ_PACK, name, p, n), 0);
		snprintf(q, sizeof q, "cat?arg=/ipfs/%s&timeout=5s", cid);
		CHECK(rpc_raw(q, &out) == 200);
		CHECK(out.len == n && !memcmp(out.p, p, n));
		snprintf(q, sizeof q, "pin/ls?arg=%s&cid-base=base32", cid);
		CHECK(rpc_raw(q, &out) == 200);
		CHECK(out.len && memmem(out.p, out.len, cid, strlen(cid)));
		CHECK_RC(backend_remove(b, OBJ_PACK, name), 0);
		CHECK(rpc_raw(q, &out) != 200); /* unpinned */
		free(p);
	}
	buf_free(&out);
}

/* A 3 MiB object spans 12 chunks: ranges inside one, across chunk
 * borders, and to the end. */
static void test_big(struct backend *b, uint64_t *seed)
{
	static const uint64_t offs[] = {0, 1, 262143, 262144, 1048593,
					3145728 - 100};
	static const uint64_t lens[] = {100, 262145, 70000};
	size_t n = 3 << 20;
	uint8_t *p = malloc(n);
	char name[65];
	struct buf out = BUF_INIT;
	uint64_t size = 0;
	test_fill(seed, p, n);
	obj_name(OBJ_PACK, p, n, name);
	CHECK_RC(backend_put(b, OBJ_PACK, name, p, n), 0);
	CHECK_RC(backend_stat(b, OBJ_PACK, name, &size), 0);
	CHECK(size == n);
	size = 0;
	CHECK(in_list(b, OBJ_PACK, name, &size, NULL) == 1);
	CHECK(size == n);
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
		for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
			uint64_t o = offs[i], l = lens[k];
			int rc = backend_get(b, OBJ_PACK, name, o, l, &out);
			if (o + l > n) {
				CHECK_RC(rc, CAIRN_E_CORRUPT);
				continue;
			}
			CHECK_RC(rc, 0);
			CHECK(out.len == l && !memcmp(out.p, p + o, l));
		}
		CHECK_RC(backend_get(b, OBJ_PACK, name, offs[i], BACKEND_TO_END,
				     &out), 0);
		CHECK(out.len == n - offs[i] &&
		      !memcmp(out.p, p + offs[i], out.len));
	}
	CHECK_RC(backend_get(b, OBJ_PACK, name, 0, BACKEND_TO_END, &out), 0);
	CHECK(out.len == n && !memcmp(out.p, p, n));
	CHECK_RC(backend_put(b, OBJ_PACK, name, p, n), CAIRN_E_EXISTS);
	CHECK_RC(backend_remove(b, OBJ_PACK, name), 0);
	buf_free(&out);
	free(p);
}

/* Packs spread over a few data/hh directories are listed exactly, from a
 * fresh store (no cache) too; a removal through one store is seen by
 * another's stat. */
static void test_list(struct backend *b, uint64_t *seed)
{
	enum { N = 6 };
	char names[N][65];
	uint8_t p[N][300];
	struct backend *b2 = NULL;
	int total = 0;
	for (int i = 0; i < N; i++) {
		test_fill(seed, p[i], sizeof p[i]);
		obj_name(OBJ_PACK, p[i], sizeof p[i], names[i]);
		CHECK_RC(backend_put(b, OBJ_PACK, names[i], p[i], sizeof p[i]),
			 0);
	}
	CHECK_RC(backend_open(url, &opts, 0, &b2), 0);
	if (!b2)
		return;
	for (int i = 0; i < N; i++) {
		uint64_t size = 0;
		CHECK(in_list(b2, OBJ_PACK, names[i], &size, &total) == 1);
		CHECK(size == sizeof p[i]);
	}
	CHECK(total == N);
	struct buf out = BUF_INIT;
	CHECK_RC(backend_get(b2, OBJ_PACK, names[0], 5, 7, &out), 0);
	CHECK(out.len == 7 && !memcmp(out.p, p[0] + 5, 7));
	CHECK_RC(backend_remove(b2, OBJ_PACK, names[0]), 0);
	uint64_t size;
	CHECK_RC(backend_stat(b, OBJ_PACK, names[0], &size), CAIRN_E_NOTFOUND);
	CHECK_RC(backend_remove(b, OBJ_PACK, names[0]), CAIRN_E_NOTFOUND);
	for (int i = 1; i < N; i++)
		CHECK_RC(backend_remove(b, OBJ_PACK, names[i]), 0);
	CHECK(in_list(b2, OBJ_PACK, NULL, NULL, &total) == 0);
	CHECK(total == 0);
	backend_close(b2);
	buf_free(&out);
}

/* A store that cached an object's CID, after another removed the object
 * and the daemon collected its blocks: the read finds it missing (after
 * ipfs.timeout, as js-ipfs waits for blocks it lacks). */
static void test_stale(uint64_t *seed)
{
	static const char *const kv[] = {"retry.max-time=0", "ipfs.timeout=2"};
	const struct backend_opts o = {kv, 2};
	struct backend *b1 = NULL, *b2 = NULL;
	struct buf out = BUF_INIT;
	uint8_t p[777];
	char name[65];
	CHECK_RC(backend_open(url, &o, 0, &b1), 0);
	CHECK_RC(backend_open(url, &o, 0, &b2), 0);
	if (!b1 || !b2)
		goto out;
	test_fill(seed, p, sizeof p);
	obj_name(OBJ_SNAPSHOT, p, sizeof p, name);
	CHECK_RC(backend_put(b1, OBJ_SNAPSHOT, name, p, sizeof p), 0);
	CHECK_RC(backend_remove(b2, OBJ_SNAPSHOT, name), 0);
	CHECK(rpc_raw("repo/gc", &out) == 200);
	double t0 = now_s();
	CHECK_RC(backend_get(b1, OBJ_SNAPSHOT, name, 0, BACKEND_TO_END, &out),
		 CAIRN_E_NOTFOUND);
	fprintf(stderr, "stale cached CID: not found after %.1f s\n",
		now_s() - t0);
out:
	backend_close(b1);
	backend_close(b2);
	buf_free(&out);
}

struct worker {
	struct backend *b;
	uint64_t seed;
	int failures;
};

static void *worker_run(void *ud)
{
	struct worker *w = ud;
	struct buf out = BUF_INIT;
	for (int i = 0; i < 6; i++) {
		size_t n = 2000 + (size_t)(test_rand(&w->seed) % 300000);
		uint8_t *p = malloc(n);
		char name[65];
		uint64_t size = 0;
		test_fill(&w->seed, p, n);
		obj_name(OBJ_PACK, p, n, name);
		if (backend_put(w->b, OBJ_PACK, name, p, n) < 0 ||
		    backend_get(w->b, OBJ_PACK, name, 0, BACKEND_TO_END,
				&out) < 0 ||
		    out.len != n || memcmp(out.p, p, n) ||
		    backend_stat(w->b, OBJ_PACK, name, &size) < 0 ||
		    size != n || backend_remove(w->b, OBJ_PACK, name) < 0)
			w->failures++;
		free(p);
	}
	buf_free(&out);
	return NULL;
}

static void test_threads(struct backend *b, uint64_t *seed)
{
	enum { T = 4 };
	pthread_t th[T];
	struct worker w[T];
	for (int i = 0; i < T; i++) {
		w[i] = (struct worker){.b = b, .seed = test_rand(seed) | 1};
		CHECK(pthread_create(&th[i], NULL, worker_run, &w[i]) == 0);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].failures == 0);
	}
}

/* A daemon that is not there, or that never answers, fails the open in
 * about the connect/stall timeout instead of hanging. */
static void test_dead(void)
{
	static const char *const kv[] = {"retry.max-time=0",
					  "timeout.connect=1",
					  "timeout.stall=1"};
	const struct backend_opts o = {kv, 3};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	struct backend *b = NULL;
	char u[128];
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	      getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	snprintf(u, sizeof u, "ipfs:http://127.0.0.1:%u/x",
		 ntohs(sa.sin_port));

	/* bound, not listening: refused */
	double t0 = now_s();
	CHECK_RC(backend_open(u, &o, 0, &b), CAIRN_E_UNREACHABLE);
	CHECK(now_s() - t0 < 3);

	/* listening, never accepting nor answering */
	CHECK(listen(fd, 4) == 0);
	t0 = now_s();
	int rc = backend_open(u, &o, 0, &b);
	double dt = now_s() - t0;
	CHECK(rc == CAIRN_E_TIMEOUT);
	CHECK(dt < 5);
	fprintf(stderr, "silent daemon: %s after %.1f s\n", cairn_strerror(rc),
		dt);
	close(fd);
}

static void test_throughput(struct backend *b, uint64_t *seed)
{
	size_t n = 16 << 20;
	uint8_t *p = malloc(n);
	char name[65];
	struct buf out = BUF_INIT;
	test_fill(seed, p, n);
	obj_name(OBJ_PACK, p, n, name);
	double t0 = now_s();
	CHECK_RC(backend_put(b, OBJ_PACK, name, p, n), 0);
	double t1 = now_s();
	CHECK_RC(backend_get(b, OBJ_PACK, name, 0, BACKEND_TO_END, &out), 0);
	double t2 = now_s();
	CHECK(out.len == n && !memcmp(out.p, p, n));
	fprintf(stderr, "16 MiB object: put %.1f MiB/s (%.2f s), "
		"get %.1f MiB/s (%.2f s)\n", 16 / (t1 - t0), t1 - t0,
		16 / (t2 - t1), t2 - t1);
	CHECK_RC(backend_remove(b, OBJ_PACK, name), 0);
	buf_free(&out);
	free(p);
}

int main(void)
{
	api = getenv("CAIRN_IPFS_API");
	if (!api || !*api) {
		fprintf(stderr, "test_backend_ipfs: CAIRN_IPFS_API not set, "
			"skipped\n");
		return 77;
	}
	uint64_t seed = test_seed("test_backend_ipfs");
	struct backend *b = NULL;
	char u[600];
	snprintf(root, sizeof root, "/cairn-test-%ld-%ld", (long)getpid(),
		 (long)time(NULL));
	snprintf(url, sizeof url, "ipfs:%s%s", api, root);

	CHECK_RC(backend_open(url, &opts, 0, &b), CAIRN_E_NOREPO);
	snprintf(u, sizeof u, "ipfs:ftp://%s", api);
	CHECK_RC(backend_open(u, &opts, 0, &b), CAIRN_E_INVAL);
	snprintf(u, sizeof u, "ipfs:%s%s/../x", api, root);
	CHECK_RC(backend_open(u, &opts, 1, &b), CAIRN_E_INVAL);
	static const char *const zero[] = {"ipfs.timeout=0"};
	const struct backend_opts oz = {zero, 1};
	CHECK_RC(backend_open(url, &oz, 1, &b), CAIRN_E_INVAL);
	CHECK_RC(backend_open(url, &opts, 1, &b), 0);
	if (!b)
		return test_done("test_backend_ipfs");
	backend_close(b);
	b = NULL;
	CHECK_RC(backend_open(url, &opts, 0, &b), 0);
	if (!b)
		return test_done("test_backend_ipfs");
	struct backend *b3 = NULL;
	CHECK_RC(backend_open(url, &opts, 1, &b3), 0); /* create twice */
	backend_close(b3);

	test_types(b, &seed);
	test_errors(b, &seed);
	test_raw_cid(b, &seed);
	test_big(b, &seed);
	test_list(b, &seed);
	test_stale(&seed);
	test_threads(b, &seed);
	test_throughput(b, &seed);
	test_dead();
	backend_close(b);

	struct buf out = BUF_INIT;
	snprintf(u, sizeof u, "files/rm?arg=%s&recursive=true", root);
	CHECK(rpc_raw(u, &out) == 200);
	buf_free(&out);
	return test_done("test_backend_ipfs");
}
