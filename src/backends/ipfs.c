/* ipfs.c: a repository in IPFS, through the RPC API of an IPFS daemon
 * (Kubo, IPFS Cluster's proxy to it, js-ipfs).
 *
 * Location: "http://HOST:PORT[/MFS-ROOT]" (https too); the repository lives
 * in the daemon's MFS (its mutable file system) under MFS-ROOT, default
 * "/cairn", laid out as in docs/format.md section 2.  MFS gives what IPFS
 * lacks by itself: names.  Objects are added as UnixFS files (CIDv1, raw
 * leaves, 256 KiB chunks), pinned, and linked into MFS under their name.
 *
 * Only calls the three daemons share are used, and always with POST (the
 * RPC refuses GET).  Their differences that matter here:
 * - js-ipfs prints CIDv1 in base58btc unless asked for base32 (cid-base),
 *   and files/stat and files/ls ignore that option: CIDs read back are
 *   used as the opaque strings they are, never compared as text, except
 *   the one add returns, which we ask in base32.
 * - js-ipfs's cat of a CID it lacks waits forever: every call that may
 *   need blocks (cat, pin/rm) carries the RPC's timeout= (ipfs.timeout).
 * - Errors are JSON {"Message","Code","Type":"error"} with HTTP 500 or 400;
 *   "missing" is only told by the message ("file does not exist",
 *   "... not found ...").
 *
 * Options: ipfs.timeout=SECONDS (default 60) bounds each cat and pin call
 * at the daemon, so it must exceed the time one object takes to transfer;
 * timeout.connect, timeout.stall, timeout.min-speed, tls.ca-file and
 * tls.insecure go to the HTTP client.
 *
 * Resolving a name costs a files/stat, so name -> (CID, size) is cached per
 * store, filled by list, put and stat.  Reads may use a cached CID: a
 * name's bytes never change (names are content hashes; the config is
 * create-only), so a read through the cache always returns the right bytes
 * or fails.  A name another process removed may still read from the cache
 * while the daemon keeps its blocks; stat and remove always ask the store,
 * so existence is never answered from the cache.
 */
#include "backend.h"
#include "cairn_err.h"
#include "http.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPFS_ROOT_DEFAULT "/cairn"
#define IPFS_CHUNK 262144       /* chunker=size-262144, as we ask on add */
#define IPFS_PATH_MAX 1024
#define IPFS_CID_MAX 128        /* CIDv1 sha2-256 in base32 is 59 chars */

/* A cached name: type and binary id (the name is 64 hex digits). */
struct cid_entry {
	struct cid_entry *next;
	uint64_t size;
	uint8_t type;
	uint8_t id[32];
	char cid[];
};

struct ipfs {
	struct backend base;
	struct http_client *http;
	char *api;              /* "http://host:port/api/v0/" */
	char *root;             /* MFS root, no trailing '/': "" for "/" */
	char timeout[32];       /* the RPC timeout= value, "60000ms" */
	pthread_mutex_t mu;     /* guards the cache */
	struct cid_entry **tab;
	size_t nbuckets, count;
};

/* ---- cache ------------------------------------------------------------ */

/* The config is never cached: its name is not a content hash. */
static int cache_key(enum obj_type t, const char *name, uint8_t id[32])
{
	return t != OBJ_CONFIG && hex_decode(id, 32, name) == 0;
}

static size_t cache_slot(const struct ipfs *s, enum obj_type t,
			 const uint8_t id[32])
{
	uint64_t h = get_le64(id) ^ ((uint64_t)t * 0x9e3779b97f4a7c15u);
	return (size_t)(h & (s->nbuckets - 1));
}

static struct cid_entry **cache_find(struct ipfs *s, enum obj_type t,
				     const uint8_t id[32])
{
	struct cid_entry **pp = &s->tab[cache_slot(s, t, id)];
	while (*pp && ((*pp)->type != t || memcmp((*pp)->id, id, 32)))
		pp = &(*pp)->next;
	return pp;
}

/* Copies the cached CID of (t, name) into cid; 1 when found. */
static int cache_get(struct ipfs *s, enum obj_type t, const char *name,
		     char *cid, size_t cap, uint64_t *size)
{
	uint8_t id[32];
	int found = 0;
	if (!cache_key(t, name, id))
		return 0;
	pthread_mutex_lock(&s->mu);
	struct cid_entry *e = *cache_find(s, t, id);
	if (e && strlen(e->cid) < cap) {
		strcpy(cid, e->cid);
		*size = e->size;
		found = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return found;
}

static void cache_grow(struct ipfs *s)
{
	size_t n = s->nbuckets * 2;
	struct cid_entry **tab = calloc(n, sizeof *tab);
	if (!tab)
		return; /* longer chains, still correct */
	struct cid_entry **old = s->tab;
	size_t oldn = s->nbuckets;
	s->tab = tab;
	s->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		struct cid_entry *e = old[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t k = cache_slot(s, (enum obj_type)e->type, e->id);
			e->next = tab[k];
			tab[k] = e;
		}
	}
	free(old);
}

/* Best effort: a failed allocation only loses the entry. */
static void cache_put(struct ipfs *s, enum obj_type t, const char *name,
		      const char *cid, uint64_t size)
{
	uint8_t id[32];
	size_t cl = strlen(cid);
	if (!cache_key(t, name, id) || cl >= IPFS_CID_MAX)
		return;
	pthread_mutex_lock(&s->mu);
	struct cid_entry **pp = cache_find(s, t, id);
	if (*pp && !strcmp((*pp)->cid, cid)) {
		(*pp)->size = size;
	} else {
		struct cid_entry *e = malloc(sizeof *e + cl + 1);
		if (e) {
			e->size = size;
			e->type = (uint8_t)t;
			memcpy(e->id, id, 32);
			memcpy(e->cid, cid, cl + 1);
			if (*pp) { /* replaced (removed and put again) */
				e->next = (*pp)->next;
				free(*pp);
				*pp = e;
			} else {
				e->next = NULL;
				*pp = e;
				if (++s->count > s->nbuckets)
					cache_grow(s);
			}
		}
	}
	pthread_mutex_unlock(&s->mu);
}

static void cache_drop(struct ipfs *s, enum obj_type t, const char *name)
{
	uint8_t id[32];
	if (!cache_key(t, name, id))
		return;
	pthread_mutex_lock(&s->mu);
	struct cid_entry **pp = cache_find(s, t, id);
	if (*pp) {
		struct cid_entry *e = *pp;
		*pp = e->next;
		free(e);
		s->count--;
	}
	pthread_mutex_unlock(&s->mu);
}

static void cache_free(struct ipfs *s)
{
	for (size_t i = 0; s->tab && i < s->nbuckets; i++) {
		struct cid_entry *e = s->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s->tab);
	s->tab = NULL;
}

/* ---- RPC calls -------------------------------------------------------- */

struct rpc_arg {
	const char *k;
	const char *v;   /* URL-encoded here ('/' kept) */
};

/* A reply body as JSON, or NULL (also for an empty body). */
static json_t *body_json(const struct buf *body)
{
	if (!body->len)
		return NULL;
	return json_loadb((const char *)body->p, body->len, 0, NULL);
}

/* The message of an RPC error reply, or NULL.  Borrowed from j. */
static const char *rpc_error_msg(json_t *j)
{
	const char *type = json_string_value(json_object_get(j, "Type"));
	const char *msg = json_string_value(json_object_get(j, "Message"));
	return type && !strcmp(type, "error") && msg ? msg : NULL;
}

/* The cairn code of a failed RPC reply (status, body).  The daemons say
 * "missing" with a 500 and a message only, and a 404 that is not an RPC
 * error means the server lacks the endpoint: not that an object is
 * missing. */
static int rpc_status_rc(long status, const struct buf *body)
{
	json_t *j = body_json(body);
	const char *msg = j ? rpc_error_msg(j) : NULL;
	int rc = http_status_rc(status);
	if (!msg) {
		if (rc == CAIRN_E_NOTFOUND)
			rc = CAIRN_E_PROTOCOL;
	} else if (strstr(msg, "does not exist") || strstr(msg, "not found") ||
		   strstr(msg, "no link named")) {
		rc = CAIRN_E_NOTFOUND;
	} else if (strstr(msg, "timed out") ||
		   strstr(msg, "deadline exceeded")) {
		rc = CAIRN_E_TIMEOUT;
	} else if (strstr(msg, "already has entry") ||
		   strstr(msg, "already exists")) {
		rc = CAIRN_E_EXISTS;
	}
	json_decref(j);
	return rc;
}

/* 1 when a failed reply's message contains s. */
static int rpc_msg_has(const struct buf *body, const char *s)
{
	json_t *j = body_json(body);
	const char *msg = j ? rpc_error_msg(j) : NULL;
	int has = msg && strstr(msg, s);
	json_decref(j);
	return has;
}

/* POSTs api/v0/<cmd>?<args> and leaves the reply body in out (also on an
 * error reply, for rpc_msg_has).  upload, when set, sends (p, n) as the
 * one file of a multipart body. */
static int rpc_call(struct ipfs *s, const char *cmd,
		    const struct rpc_arg *args, size_t nargs, int upload,
		    const void *p, size_t n, struct buf *out)
{
	struct buf url = BUF_INIT;
	struct http_response rs;
	int rc;
	TRY(buf_put(&url, s->api, strlen(s->api)));
	TRY(buf_put(&url, cmd, strlen(cmd)));
	for (size_t i = 0; i < nargs; i++) {
		TRY(buf_put(&url, i ? "&" : "?", 1));
		TRY(buf_put(&url, args[i].k, strlen(args[i].k)));
		TRY(buf_put(&url, "=", 1));
		TRY(http_url_encode(args[i].v, strlen(args[i].v), 1, &url));
	}
	TRY(buf_put(&url, "", 1));
	struct http_request rq = {
		.method = "POST",
		.url = (const char *)url.p,
		.body = upload ? (p ? p : "") : NULL,
		.body_len = upload ? n : 0,
		.form_field = upload ? "file" : NULL,
		.form_filename = upload ? "object" : NULL,
		.out = out,
	};
	TRY(http_request_do(s->http, &rq, &rs));
	rc = rs.status / 100 == 2 ? 0 : rpc_status_rc(rs.status, out);
	if (rc < 0 && rs.retry_after_ms >= 0)
		backend_retry_after_hint(rs.retry_after_ms);
out:
	buf_free(&url);
	return rc;
}

/* rpc_call that parses a JSON object reply into *ret (caller decrefs). */
static int rpc_json(struct ipfs *s, const char *cmd,
		    const struct rpc_arg *args, size_t nargs, json_t **ret)
{
	struct buf out = BUF_INIT;
	int rc;
	TRY(rpc_call(s, cmd, args, nargs, 0, NULL, 0, &out));
	json_t *j = body_json(&out);
	if (!json_is_object(j)) {
		json_decref(j);
		rc = CAIRN_E_PROTOCOL;
		goto out;
	}
	*ret = j;
out:
	buf_free(&out);
	return rc;
}

/* ---- paths and MFS ---------------------------------------------------- */

static int path_join(const struct ipfs *s, const char *rel, char *out,
		     size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", s->root, rel);
	return n < 0 || (size_t)n >= cap ? CAIRN_E_RANGE : 0;
}

/* The object's MFS path, and the directory holding it. */
static int obj_path(const struct ipfs *s, enum obj_type t, const char *name,
		    char *path, char *dir, size_t cap)
{
	char rel[256];
	int rc = backend_object_path(t, name, rel, sizeof rel);
	if (rc < 0)
		return rc;
	rc = path_join(s, rel, path, cap);
	if (rc == 0 && dir) {
		char *slash = strrchr(path, '/');
		size_t n = (size_t)(slash - path);
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	return rc;
}

static int json_size(json_t *v, uint64_t *ret)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return CAIRN_E_PROTOCOL;
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* files/stat of path: its CID, size and whether it is a directory. */
static int mfs_stat(struct ipfs *s, const char *path, char *cid, size_t cap,
		    uint64_t *size, int *is_dir)
{
	const struct rpc_arg a[] = {{"arg", path}};
	json_t *j = NULL;
	int rc;
	TRY(rpc_json(s, "files/stat", a, 1, &j));
	const char *hash = json_string_value(json_object_get(j, "Hash"));
	const char *type = json_string_value(json_object_get(j, "Type"));
	if (!hash || !type || strlen(hash) >= cap) {
		rc = CAIRN_E_PROTOCOL;
		goto out;
	}
	TRY(json_size(json_object_get(j, "Size"), size));
	strcpy(cid, hash);
	*is_dir = !strcmp(type, "directory");
out:
	json_decref(j);
	return rc;
}

/* The CID and size of an object, from the store (and into the cache). */
static int obj_resolve(struct ipfs *s, enum obj_type t, const char *name,
		       const char *path, char *cid, size_t cap, uint64_t *size)
{
	int is_dir;
	int rc = mfs_stat(s, path, cid, cap, size, &is_dir);
	if (rc == 0 && is_dir)
		rc = CAIRN_E_CORRUPT; /* something else where an object goes */
	if (rc == 0)
		cache_put(s, t, name, cid, *size);
	return rc;
}

static int mfs_mkdir(struct ipfs *s, const char *path)
{
	const struct rpc_arg a[] = {{"arg", path}, {"parents", "true"}};
	struct buf out = BUF_INIT;
	int rc = rpc_call(s, "files/mkdir", a, 2, 0, NULL, 0, &out);
	buf_free(&out);
	return rc;
}

/* Unpins cid; a CID that is not pinned is fine (Kubo and js-ipfs say
 * "not pinned", a cluster that does not know it "not found"). */
static int ipfs_unpin(struct ipfs *s, const char *cid)
{
	const struct rpc_arg a[] = {{"arg", cid}, {"timeout", s->timeout}};
	struct buf out = BUF_INIT;
	int rc = rpc_call(s, "pin/rm", a, 2, 0, NULL, 0, &out);
	if (rc == CAIRN_E_NOTFOUND ||
	    (rc < 0 && rpc_msg_has(&out, "not pinned")))
		rc = 0;
	buf_free(&out);
	return rc;
}

/* ---- CIDs ------------------------------------------------------------- */

/* RFC 4648 base32, lower case, no padding; dst holds (8n+4)/5+1 bytes. */
static void base32_lower(char *dst, const uint8_t *p, size_t n)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | p[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			*dst++ = abc[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		*dst++ = abc[(acc << (5 - bits)) & 31];
	*dst = 0;
}

/* The CIDv1 of (p, n) stored as one raw block, in base32 ("bafkrei..."):
 * multibase 'b', then version 1, codec raw (0x55), sha2-256 (0x12) of 32
 * bytes (0x20), and the digest. */
static void raw_cid(char out[64], const void *p, size_t n)
{
	uint8_t bin[4 + crypto_hash_sha256_BYTES] = {0x01, 0x55, 0x12, 0x20};
	crypto_hash_sha256(bin + 4, p, n);
	out[0] = 'b';
	base32_lower(out + 1, bin, sizeof bin);
}

/* ---- the store -------------------------------------------------------- */

/* add: stores (p, n) as a pinned UnixFS file and gives its root CID.
 * Pinned so that no garbage collection can take it before files/cp links
 * it into MFS.  The reply is one JSON line per file and directory added
 * (here the one file): the last line with a Hash wins. */
static int ipfs_add(struct ipfs *s, const void *p, size_t n, char *cid,
		    size_t cap)
{
	const struct rpc_arg a[] = {
		{"cid-version", "1"}, {"raw-leaves", "true"},
		{"chunker", "size-262144"}, {"hash", "sha2-256"},
		{"pin", "true"}, {"cid-base", "base32"},
		{"progress", "false"}, {"quieter", "true"},
	};
	struct buf out = BUF_INIT;
	int rc;
	TRY(rpc_call(s, "add", a, sizeof a / sizeof *a, 1, p, n, &out));
	rc = CAIRN_E_PROTOCOL;
	const char *line = out.len ? (const char *)out.p : "";
	const char *end = line + out.len;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
		json_t *j = json_loadb(line, ll, 0, NULL);
		const char *h = json_string_value(json_object_get(j, "Hash"));
		if (j && rpc_error_msg(j)) {
			rc = CAIRN_E_REMOTE; /* failed after the 200 */
		} else if (h && strlen(h) < cap) {
			strcpy(cid, h);
			rc = 0;
		}
		json_decref(j);
		if (rc == CAIRN_E_REMOTE)
			break;
		line += ll + 1;
	}
	if (rc < 0)
		goto out;
	/* An object of one chunk is one raw block whose CID we know.  A
	 * different one means the daemon got other bytes than we sent: drop
	 * its pin and let the wrapper try again.  Only base32 replies are
	 * compared, in case a proxy ignores cid-base. */
	if (n <= IPFS_CHUNK && cid[0] == 'b') {
		char want[64];
		raw_cid(want, p ? p : "", n);
		if (strcmp(cid, want)) {
			(void)ipfs_unpin(s, cid);
			rc = CAIRN_E_CORRUPT;
		}
	}
out:
	buf_free(&out);
	return rc;
}

/* files/cp /ipfs/cid to path.  Older daemons lack cp's parents option
 * (they ignore it): then the directory is made and cp tried again. */
static int mfs_link(struct ipfs *s, const char *cid, const char *path,
		    const char *dir)
{
	char src[IPFS_CID_MAX + 8];
	snprintf(src, sizeof src, "/ipfs/%s", cid);
	const struct rpc_arg a[] = {{"arg", src}, {"arg", path},
				    {"parents", "true"}};
	struct buf out = BUF_INIT;
	int rc = rpc_call(s, "files/cp", a, 3, 0, NULL, 0, &out);
	if (rc == CAIRN_E_NOTFOUND) {
		rc = mfs_mkdir(s, dir);
		if (rc == 0)
			rc = rpc_call(s, "files/cp", a, 3, 0, NULL, 0, &out);
	}
	buf_free(&out);
	return rc;
}

/* Create-only: stat first, then add and link.  Two writers racing
 * between the stat and the link are harmless: files/cp refuses an existing
 * entry (CAIRN_E_EXISTS), and since names are content hashes both wrote
 * the same bytes anyway. */
static int ipfs_put(struct backend *b, enum obj_type t, const char *name,
		    const void *p, size_t n)
{
	struct ipfs *s = (struct ipfs *)b;
	char path[IPFS_PATH_MAX], dir[IPFS_PATH_MAX], cid[IPFS_CID_MAX];
	uint64_t size;
	int is_dir, rc;
	TRY(obj_path(s, t, name, path, dir, sizeof path));
	rc = mfs_stat(s, path, cid, sizeof cid, &size, &is_dir);
	if (rc == 0)
		rc = CAIRN_E_EXISTS;
	if (rc != CAIRN_E_NOTFOUND)
		goto out;
	TRY(ipfs_add(s, p, n, cid, sizeof cid));
	TRY(mfs_link(s, cid, path, dir));
	cache_put(s, t, name, cid, n);
out:
	return rc;
}

/* cat of [off, off+want) of cid into out; exactly want bytes or an error
 * (a stream that breaks off reports it only in a trailer). */
static int ipfs_cat(struct ipfs *s, const char *cid, uint64_t off,
		    uint64_t want, struct buf *out)
{
	char src[IPFS_CID_MAX + 8], offs[24], lens[24];
	snprintf(src, sizeof src, "/ipfs/%s", cid);
	snprintf(offs, sizeof offs, "%" PRIu64, off);
	snprintf(lens, sizeof lens, "%" PRIu64, want);
	const struct rpc_arg a[] = {{"arg", src}, {"offset", offs},
				    {"length", lens}, {"timeout", s->timeout}};
	int rc = buf_reserve(out, (size_t)want);
	if (rc == 0)
		rc = rpc_call(s, "cat", a, 4, 0, NULL, 0, out);
	if (rc == 0 && out->len != want)
		rc = out->len < want ? CAIRN_E_IO : CAIRN_E_PROTOCOL;
	return rc;
}

static int ipfs_get(struct backend *b, enum obj_type t, const char *name,
		    uint64_t off, uint64_t len, struct buf *out,
		    backend_verify_fn verify, void *vud)
{
	struct ipfs *s = (struct ipfs *)b;
	char path[IPFS_PATH_MAX], cid[IPFS_CID_MAX];
	uint64_t size, want;
	int cached, rc;
	(void)verify; /* the wrapper checks what we return */
	(void)vud;
	out->len = 0;
	TRY(obj_path(s, t, name, path, NULL, sizeof path));
	cached = cache_get(s, t, name, cid, sizeof cid, &size);
	if (!cached)
		TRY(obj_resolve(s, t, name, path, cid, sizeof cid, &size));
	for (;;) {
		if (off > size || (len != BACKEND_TO_END && len > size - off)) {
			rc = CAIRN_E_CORRUPT; /* shorter than indexed */
			goto out;
		}
		want = len == BACKEND_TO_END ? size - off : len;
		if (want > SIZE_MAX / 2) {
			rc = CAIRN_E_RANGE;
			goto out;
		}
		if (want == 0) {
			rc = 0; /* js-ipfs refuses "length=0" */
			goto out;
		}
		rc = ipfs_cat(s, cid, off, want, out);
		if (rc == 0 || !cached ||
		    (rc != CAIRN_E_NOTFOUND && rc != CAIRN_E_TIMEOUT))
			break;
		/* The cached CID lost its blocks: another process removed
		 * the object and the daemon collected them.  Ask again. */
		cache_drop(s, t, name);
		cached = 0;
		TRY(obj_resolve(s, t, name, path, cid, sizeof cid, &size));
	}
out:
	if (rc < 0)
		out->len = 0;
	return rc;
}

static int ipfs_stat(struct backend *b, enum obj_type t, const char *name,
		     uint64_t *size)
{
	struct ipfs *s = (struct ipfs *)b;
	char path[IPFS_PATH_MAX], cid[IPFS_CID_MAX];
	uint64_t sz;
	int rc;
	TRY(obj_path(s, t, name, path, NULL, sizeof path));
	TRY(obj_resolve(s, t, name, path, cid, sizeof cid, &sz));
	*size = sz;
out:
	return rc;
}

/* Type of a files/ls entry: Kubo and js-ipfs give 0 file, 1 directory. */
static int entry_is_file(json_t *e)
{
	json_t *ty = json_object_get(e, "Type");
	if (json_is_integer(ty))
		return json_integer_value(ty) == 0;
	return json_is_string(ty) && !strcmp(json_string_value(ty), "file");
}

/* files/ls of dir (long, for sizes).  *ret gets the Entries array, or
 * NULL when dir is empty (Kubo says null) or missing; *owner is what to
 * decref. */
static int mfs_ls(struct ipfs *s, const char *dir, json_t **ret,
		  json_t **owner)
{
	const struct rpc_arg a[] = {{"arg", dir}, {"long", "true"}};
	json_t *j = NULL;
	int rc = rpc_json(s, "files/ls", a, 2, &j);
	*owner = NULL;
	*ret = NULL;
	if (rc == CAIRN_E_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	json_t *ents = json_object_get(j, "Entries");
	if (!json_is_array(ents) && !json_is_null(ents) && ents) {
		json_decref(j);
		return CAIRN_E_PROTOCOL;
	}
	*ret = json_is_array(ents) ? ents : NULL;
	*owner = j;
	return 0;
}

/* Reports the objects of type t in dir; prefix, when set, is the two hex
 * digits every name in it must start with (data/hh). */
static int list_dir(struct ipfs *s, const char *dir, enum obj_type t,
		    const char *prefix, backend_list_fn fn, void *ud)
{
	json_t *ents, *owner, *e;
	size_t i;
	int rc = mfs_ls(s, dir, &ents, &owner);
	if (rc < 0)
		return rc;
	json_array_foreach(ents, i, e) {
		const char *name =
			json_string_value(json_object_get(e, "Name"));
		const char *cid = json_string_value(json_object_get(e, "Hash"));
		uint64_t size;
		if (!name || !entry_is_file(e) || !backend_name_ok(t, name) ||
		    (prefix && strncmp(name, prefix, 2)))
			continue;
		rc = json_size(json_object_get(e, "Size"), &size);
		if (rc < 0)
			break;
		if (cid)
			cache_put(s, t, name, cid, size);
		rc = fn(ud, name, size);
		if (rc < 0)
			break;
	}
	json_decref(owner);
	return rc;
}

static int is_hex2(const char *n)
{
	for (int i = 0; i < 2; i++)
		if (!((n[i] >= '0' && n[i] <= '9') ||
		      (n[i] >= 'a' && n[i] <= 'f')))
			return 0;
	return n[2] == 0;
}

static int ipfs_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		     void *ud)
{
	struct ipfs *s = (struct ipfs *)b;
	char dir[IPFS_PATH_MAX], sub[IPFS_PATH_MAX];
	json_t *ents, *owner = NULL, *e;
	size_t i;
	int rc;
	if ((unsigned)t >= OBJ__MAX)
		return CAIRN_E_INVAL;
	if (t == OBJ_CONFIG) {
		uint64_t size;
		rc = ipfs_stat(b, t, "config", &size);
		if (rc == CAIRN_E_NOTFOUND)
			return 0;
		return rc < 0 ? rc : fn(ud, "config", size);
	}
	TRY(path_join(s, backend_type_dir(t), dir, sizeof dir));
	if (t != OBJ_PACK)
		return list_dir(s, dir, t, NULL, fn, ud);
	/* data/ holds at most 256 directories, usually far fewer: list it
	 * rather than asking for each possible one */
	TRY(mfs_ls(s, dir, &ents, &owner));
	json_array_foreach(ents, i, e) {
		const char *name =
			json_string_value(json_object_get(e, "Name"));
		if (!name || entry_is_file(e) || !is_hex2(name))
			continue;
		int n = snprintf(sub, sizeof sub, "%s/%s", dir, name);
		if (n < 0 || (size_t)n >= sizeof sub) {
			rc = CAIRN_E_RANGE;
			goto out;
		}
		TRY(list_dir(s, sub, t, name, fn, ud));
	}
out:
	json_decref(owner);
	return rc;
}

/* Unpins first, then unlinks: a failure in between leaves the object
 * whole (MFS keeps its blocks from collection) for the retry to finish.
 * Another object with the same bytes, in another repository of the same
 * daemon, loses its pin too, but its MFS link still keeps it. */
static int ipfs_remove(struct backend *b, enum obj_type t, const char *name)
{
	struct ipfs *s = (struct ipfs *)b;
	char path[IPFS_PATH_MAX], cid[IPFS_CID_MAX];
	struct buf out = BUF_INIT;
	uint64_t size;
	int rc;
	TRY(obj_path(s, t, name, path, NULL, sizeof path));
	TRY(obj_resolve(s, t, name, path, cid, sizeof cid, &size));
	TRY(ipfs_unpin(s, cid));
	const struct rpc_arg a[] = {{"arg", path}};
	rc = rpc_call(s, "files/rm", a, 1, 0, NULL, 0, &out);
	cache_drop(s, t, name);
out:
	buf_free(&out);
	return rc;
}

static void ipfs_close(struct backend *b)
{
	struct ipfs *s = (struct ipfs *)b;
	if (!s)
		return;
	http_client_free(s->http);
	cache_free(s);
	pthread_mutex_destroy(&s->mu);
	free(s->api);
	free(s->root);
	free(s);
}

/* Splits "http[s]://HOST:PORT[/ROOT]" into the API base and the MFS root.
 * The root's components must be plain names (no "", ".", ".."). */
static int location_parse(struct ipfs *s, const char *loc)
{
	const char *host = strstr(loc, "://");
	if (!host || strncmp(loc, "http", 4) ||
	    (host - loc != 4 && strncmp(loc, "https://", 8)) ||
	    strpbrk(loc, "?# \t\r\n"))
		return CAIRN_E_INVAL;
	host += 3;
	const char *slash = strchr(host, '/');
	size_t hl = slash ? (size_t)(slash - host) : strlen(host);
	if (!hl)
		return CAIRN_E_INVAL;
	const char *root = slash && slash[1] ? slash : IPFS_ROOT_DEFAULT;
	size_t rl = strlen(root);
	while (rl && root[rl - 1] == '/')
		rl--;
	for (size_t i = 0; i < rl;) {  /* root[i] == '/' */
		size_t j = i + 1;
		while (j < rl && root[j] != '/')
			j++;
		size_t cl = j - i - 1;
		if (cl == 0 || (cl == 1 && root[i + 1] == '.') ||
		    (cl == 2 && !strncmp(root + i + 1, "..", 2)))
			return CAIRN_E_INVAL;
		i = j;
	}
	size_t al = (size_t)(host - loc) + hl;
	s->api = malloc(al + sizeof "/api/v0/");
	s->root = malloc(rl + 1);
	if (!s->api || !s->root)
		return CAIRN_E_NOMEM;
	memcpy(s->api, loc, al);
	strcpy(s->api + al, "/api/v0/");
	memcpy(s->root, root, rl);
	s->root[rl] = 0;
	return 0;
}

static int settings_read(struct ipfs *s, const struct backend_opts *o,
			 struct http_settings *hs)
{
	unsigned long speed, insecure;
	long t;
	int rc;
	TRY(backend_opt_ms(o, "timeout.connect", 30000, &hs->connect_ms));
	TRY(backend_opt_ms(o, "timeout.stall", 60000, &hs->stall_ms));
	TRY(backend_opt_uint(o, "timeout.min-speed", 1, 1ul << 30, &speed));
	TRY(backend_opt_uint(o, "tls.insecure", 0, 1, &insecure));
	TRY(backend_opt_ms(o, "ipfs.timeout", 60000, &t));
	if (t < 1) {
		rc = CAIRN_E_INVAL; /* "0" would let js-ipfs's cat hang */
		goto out;
	}
	hs->min_speed = (long)speed;
	hs->insecure = (int)insecure;
	hs->ca_file = backend_opt(o, "tls.ca-file");
	snprintf(s->timeout, sizeof s->timeout, "%ldms", t);
out:
	return rc;
}

/* The daemon answers version with {"Version": ...}: a dead daemon fails
 * here with the transport's code (CAIRN_E_UNREACHABLE: nothing listens;
 * CAIRN_E_TIMEOUT: nothing answers), never as a missing repository. */
static int daemon_check(struct ipfs *s)
{
	json_t *j = NULL;
	int rc = rpc_json(s, "version", NULL, 0, &j);
	if (rc == 0 && !json_is_string(json_object_get(j, "Version")))
		rc = CAIRN_E_PROTOCOL;
	if (rc == CAIRN_E_NOTFOUND)
		rc = CAIRN_E_PROTOCOL;
	json_decref(j);
	return rc;
}

static int ipfs_open(const char *location, const struct backend_opts *o,
		     int create, struct backend **ret)
{
	struct http_settings hs = {0};
	char path[IPFS_PATH_MAX], cid[IPFS_CID_MAX];
	int rc;
	struct ipfs *s = calloc(1, sizeof *s);
	if (!s)
		return CAIRN_E_NOMEM;
	s->base.ops = &backend_ipfs_ops;
	pthread_mutex_init(&s->mu, NULL);
	s->nbuckets = 256;
	s->tab = calloc(s->nbuckets, sizeof *s->tab);
	if (!s->tab) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	TRY(location_parse(s, location));
	TRY(settings_read(s, o, &hs));
	TRY(http_client_new(&hs, &s->http));
	TRY(daemon_check(s));
	if (create) {
		static const enum obj_type dirs[] = {OBJ_KEY, OBJ_SNAPSHOT,
			OBJ_INDEX, OBJ_PACK, OBJ_DICT, OBJ_MARK};
		TRY(mfs_mkdir(s, *s->root ? s->root : "/"));
		for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
			TRY(path_join(s, backend_type_dir(dirs[i]), path,
				      sizeof path));
			TRY(mfs_mkdir(s, path));
		}
	} else {
		uint64_t size;
		int is_dir;
		rc = mfs_stat(s, *s->root ? s->root : "/", cid, sizeof cid,
			      &size, &is_dir);
		if (rc == CAIRN_E_NOTFOUND || (rc == 0 && !is_dir))
			rc = CAIRN_E_NOREPO;
		if (rc < 0)
			goto out;
	}
	*ret = &s->base;
	return 0;
out:
	ipfs_close(&s->base);
	return rc;
}

const struct backend_ops backend_ipfs_ops = {
	.version = 1,
	.scheme = "ipfs",
	.caps = BACKEND_CAP_RANGE_READ | BACKEND_CAP_REMOTE |
		BACKEND_CAP_CONTENT_ADDR,
	.open = ipfs_open,
	.close = ipfs_close,
	.put = ipfs_put,
	.get = ipfs_get,
	.stat = ipfs_stat,
	.list = ipfs_list,
	.remove = ipfs_remove,
};
