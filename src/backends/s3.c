/* s3.c: a repository in an S3 bucket (AWS, Backblaze B2's S3 API, MinIO,
 * any S3-compatible store), over libcurl with our own Signature V4
 * (sigv4.c).
 *
 * Location: "https://host[:port]/bucket[/prefix]" (path style; the option
 * s3.bucket-lookup=dns asks for "bucket.host" instead), or "host/bucket"
 * meaning https.  Objects are stored under prefix with the layout of
 * format.md section 2.
 *
 * Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, else from the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE
 * or "default"); never from the command line.  The secret lives in
 * sodium_malloc'd memory.
 *
 * Options: s3.region (else AWS_REGION, AWS_DEFAULT_REGION, us-east-1),
 * s3.bucket-lookup=path|dns, s3.conditional-put=on|off (If-None-Match: *
 * on every put; default on), s3.object-lock-days=N and
 * s3.object-lock-mode=governance|compliance (every object is locked for N
 * days: a stolen key can then neither delete nor overwrite it),
 * s3.storage-class.
 *
 * Payload hashes cost nothing: every object's name is the SHA-256 of its
 * bytes, which is what x-amz-content-sha256 carries.
 */
#include "backend.h"
#include "cairn_err.h"
#include "http.h"
#include "s3_list.h"
#include "sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_SECRET_MAX 256

struct s3 {
	struct backend base;
	struct http_client *http;
	char *scheme_host;   /* "https://host:port" used in URLs */
	char *host;          /* Host header */
	char *bucket;
	char *prefix;        /* "" or "a/b/" */
	int vhost;
	char *region;
	char *access_key;
	char *secret;        /* sodium_malloc'd */
	char *token;         /* session token or NULL */
	int conditional;
	unsigned long lock_days;
	const char *lock_mode;
	char *storage_class;
};

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* ---- credentials ------------------------------------------------------ */

static int secret_set(struct s3 *s, const char *v)
{
	size_t n = strlen(v);
	if (n >= S3_SECRET_MAX)
		return CAIRN_E_INVAL;
	s->secret = sodium_malloc(S3_SECRET_MAX);
	if (!s->secret)
		return CAIRN_E_NOMEM;
	memcpy(s->secret, v, n + 1);
	return 0;
}

static char *trim(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		p[--n] = 0;
	return p;
}

/* Reads the profile's keys from the shared credentials file. */
static int creds_from_file(struct s3 *s)
{
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *profile = getenv("AWS_PROFILE");
	char def[4096], line[1024];
	int rc = 0, in = 0;
	if (!profile || !*profile)
		profile = "default";
	if (!path || !*path) {
		const char *home = getenv("HOME");
		if (!home)
			return CAIRN_E_AUTH;
		snprintf(def, sizeof def, "%s/.aws/credentials", home);
		path = def;
	}
	FILE *f = fopen(path, "re");
	if (!f)
		return CAIRN_E_AUTH;
	while (fgets(line, sizeof line, f)) {
		char *l = trim(line);
		if (*l == '[') {
			char *e = strchr(l, ']');
			if (e)
				*e = 0;
			in = !strcmp(trim(l + 1), profile);
			continue;
		}
		char *eq = strchr(l, '=');
		if (!in || !eq || *l == '#' || *l == ';')
			continue;
		*eq = 0;
		char *k = trim(l), *v = trim(eq + 1);
		if (!strcmp(k, "aws_access_key_id") && !s->access_key)
			s->access_key = strdup(v);
		else if (!strcmp(k, "aws_secret_access_key") && !s->secret)
			rc = secret_set(s, v);
		else if (!strcmp(k, "aws_session_token") && !s->token)
			s->token = strdup(v);
		if (rc < 0)
			break;
	}
	sodium_memzero(line, sizeof line);
	fclose(f);
	if (rc == 0 && (!s->access_key || !s->secret))
		rc = CAIRN_E_AUTH;
	return rc;
}

static int creds_load(struct s3 *s)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID");
	const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tk = getenv("AWS_SESSION_TOKEN");
	if (ak && *ak && sk && *sk) {
		s->access_key = strdup(ak);
		if (!s->access_key)
			return CAIRN_E_NOMEM;
		if (tk && *tk && !(s->token = strdup(tk)))
			return CAIRN_E_NOMEM;
		return secret_set(s, sk);
	}
	return creds_from_file(s);
}

/* ---- requests --------------------------------------------------------- */

/* The key of an object: prefix + format.md path. */
static int object_key(const struct s3 *s, enum obj_type t, const char *name,
		      char *out, size_t cap)
{
	char rel[128];
	int rc = backend_object_path(t, name, rel, sizeof rel);
	if (rc < 0)
		return rc;
	int n = snprintf(out, cap, "%s%s", s->prefix, rel);
	return n < 0 || (size_t)n >= cap ? CAIRN_E_RANGE : 0;
}

struct s3_call {
	const char *method;
	const char *key;          /* object key, or NULL for the bucket */
	const char *query;        /* encoded, or NULL */
	const void *body;
	size_t body_len;
	const char *payload_hash; /* hex SHA-256 of body, NULL to compute */
	const char *const *extra; /* more headers, "Name: value" */
	size_t nextra;
	struct buf *out;
};

/* Signs and sends one request.  Returns the transport result; the status
 * is in *rs. */
static int s3_send(struct s3 *s, const struct s3_call *c,
		   struct http_response *rs)
{
	struct buf path = BUF_INIT, url = BUF_INIT, authz = BUF_INIT;
	char date[17], hash[65], hdr_host[300], hdr_date[40], hdr_sha[90];
	char *hdr_tok = NULL, *hdr_auth = NULL;
	const char *hdrs[24];
	struct sigv4_header sh[16];
	size_t nh = 0, nsh = 0;
	int rc;

	if (c->nextra > 16)
		return CAIRN_E_INVAL;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
	if (c->payload_hash) {
		snprintf(hash, sizeof hash, "%s", c->payload_hash);
	} else if (!c->body_len) {
		snprintf(hash, sizeof hash, "%s", S3_EMPTY_SHA256);
	} else {
		uint8_t h[32];
		crypto_hash_sha256(h, c->body, c->body_len);
		hex_encode(hash, h, 32);
	}

	/* path: /bucket/key (path style) or /key (virtual host) */
	TRY(buf_put(&path, "/", 1));
	if (!s->vhost) {
		TRY(http_url_encode(s->bucket, strlen(s->bucket), 0, &path));
		if (c->key)
			TRY(buf_put(&path, "/", 1));
	}
	if (c->key)
		TRY(http_url_encode(c->key, strlen(c->key), 1, &path));
	TRY(buf_put(&path, "", 1));
	TRY(buf_put(&url, s->scheme_host, strlen(s->scheme_host)));
	TRY(buf_put(&url, path.p, path.len - 1));
	if (c->query && *c->query) {
		TRY(buf_put(&url, "?", 1));
		TRY(buf_put(&url, c->query, strlen(c->query)));
	}
	TRY(buf_put(&url, "", 1));

	snprintf(hdr_host, sizeof hdr_host, "Host: %s", s->host);
	snprintf(hdr_date, sizeof hdr_date, "x-amz-date: %s", date);
	snprintf(hdr_sha, sizeof hdr_sha, "x-amz-content-sha256: %s", hash);
	sh[nsh++] = (struct sigv4_header){"host", s->host};
	sh[nsh++] = (struct sigv4_header){"x-amz-content-sha256", hash};
	sh[nsh++] = (struct sigv4_header){"x-amz-date", date};
	if (s->token) {
		size_t n = strlen(s->token) + 32;
		if (!(hdr_tok = malloc(n))) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		snprintf(hdr_tok, n, "x-amz-security-token: %s", s->token);
		sh[nsh++] = (struct sigv4_header){"x-amz-security-token",
						  s->token};
	}
	/* every x-amz-* header is signed (S3 demands it), and the
	 * conditions too */
	char lower[16][48];
	for (size_t i = 0; i < c->nextra && nsh < 16; i++) {
		const char *h = c->extra[i], *colon = strchr(h, ':');
		size_t kl = colon ? (size_t)(colon - h) : 0;
		if (!kl || kl >= sizeof lower[i])
			continue;
		for (size_t k = 0; k < kl; k++)
			lower[i][k] = (char)tolower((unsigned char)h[k]);
		lower[i][kl] = 0;
		if (strncmp(lower[i], "x-amz-", 6) &&
		    strcmp(lower[i], "content-md5") &&
		    strcmp(lower[i], "if-none-match"))
			continue;
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		sh[nsh++] = (struct sigv4_header){lower[i], v};
	}
	struct sigv4_request sr = {
		.method = c->method, .path = (const char *)path.p,
		.query = c->query ? c->query : "", .headers = sh,
		.nheaders = nsh, .payload_hash = hash,
	};
	struct sigv4_creds cr = {.access_key = s->access_key,
				 .secret_key = s->secret,
				 .region = s->region, .service = "s3"};
	TRY(sigv4_authorization(&cr, date, &sr, SIGV4_S3, &authz));
	TRY(buf_put(&authz, "", 1));
	size_t an = authz.len + 32;
	if (!(hdr_auth = malloc(an))) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	snprintf(hdr_auth, an, "Authorization: %s", authz.p);

	hdrs[nh++] = hdr_host;
	hdrs[nh++] = hdr_date;
	hdrs[nh++] = hdr_sha;
	hdrs[nh++] = hdr_auth;
	if (hdr_tok)
		hdrs[nh++] = hdr_tok;
	for (size_t i = 0; i < c->nextra; i++)
		hdrs[nh++] = c->extra[i];
	struct http_request rq = {
		.method = c->method, .url = (const char *)url.p,
		.headers = hdrs,
		.nheaders = nh, .body = c->body, .body_len = c->body_len,
		.out = c->out,
	};
	rc = http_request_do(s->http, &rq, rs);
	if (rc == 0 && (rs->status == 503 || rs->status == 429) &&
	    rs->retry_after_ms >= 0)
		backend_retry_after_hint(rs->retry_after_ms);
out:
	buf_free(&path);
	buf_free(&url);
	buf_free(&authz);
	free(hdr_tok);
	free(hdr_auth);
	return rc;
}

/* The S3 error code of an error body (<Error><Code>...). */
static int error_code_is(const struct buf *body, const char *code)
{
	if (!body || !body->len)
		return 0;
	char pat[80];
	snprintf(pat, sizeof pat, "<Code>%s</Code>", code);
	return memmem(body->p, body->len, pat, strlen(pat)) != NULL;
}

static int status_rc(long status, const struct buf *body)
{
	if (status / 100 == 2)
		return 0;
	if (error_code_is(body, "SlowDown") ||
	    error_code_is(body, "InternalError") ||
	    error_code_is(body, "RequestTimeout"))
		return CAIRN_E_REMOTE;
	if (error_code_is(body, "NoSuchBucket"))
		return CAIRN_E_NOREPO;
	return http_status_rc(status);
}

/* Sends c and maps the outcome to a cairn code. */
static int s3_call(struct s3 *s, struct s3_call *c)
{
	struct http_response rs;
	struct buf err = BUF_INIT;
	int own = 0;
	if (!c->out) {
		c->out = &err;
		own = 1;
	}
	int rc = s3_send(s, c, &rs);
	if (rc == 0)
		rc = status_rc(rs.status, c->out);
	if (own) {
		c->out = NULL;
		buf_free(&err);
	}
	return rc;
}

/* ---- ops -------------------------------------------------------------- */

static int s3_stat(struct backend *b, enum obj_type t, const char *name,
		   uint64_t *size)
{
	struct s3 *s = (struct s3 *)b;
	char key[512];
	struct http_response rs;
	int rc = object_key(s, t, name, key, sizeof key);
	if (rc < 0)
		return rc;
	struct s3_call c = {.method = "HEAD", .key = key};
	rc = s3_send(s, &c, &rs);
	if (rc == 0)
		rc = http_status_rc(rs.status);
	if (rc == 0 && rs.content_length < 0)
		rc = CAIRN_E_PROTOCOL;
	if (rc == 0)
		*size = (uint64_t)rs.content_length;
	return rc;
}

/* Object Lock headers: retain until now + days, and the Content-MD5 that
 * S3 requires with them. */
static int lock_headers(const struct s3 *s, const void *p, size_t n,
			char *mode, size_t mcap, char *until, size_t ucap,
			char *md5h, size_t hcap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[64];
	time_t t = time(NULL) + (time_t)s->lock_days * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(mode, mcap, "x-amz-object-lock-mode: %s", s->lock_mode);
	strftime(b64, sizeof b64, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(until, ucap, "x-amz-object-lock-retain-until-date: %s", b64);
	if (!EVP_Digest(p, n, md, &mdlen, EVP_md5(), NULL))
		return CAIRN_E_CRYPTO;
	sodium_bin2base64(b64, sizeof b64, md, mdlen,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(md5h, hcap, "Content-MD5: %s", b64);
	return 0;
}

static int s3_put(struct backend *b, enum obj_type t, const char *name,
		  const void *p, size_t n)
{
	struct s3 *s = (struct s3 *)b;
	char key[512], mode[64], until[128], md5h[96], sc[128];
	const char *extra[8];
	size_t ne = 0;
	int rc = object_key(s, t, name, key, sizeof key);
	if (rc < 0)
		return rc;
	if (t == OBJ_CONFIG || !s->conditional) {
		/* the config's name is not its hash: never replace it, even
		 * on stores that ignore If-None-Match */
		uint64_t size;
		rc = s3_stat(b, t, name, &size);
		if (rc == 0)
			return CAIRN_E_EXISTS;
		if (rc != CAIRN_E_NOTFOUND)
			return rc;
	}
	extra[ne++] = "Content-Type: application/octet-stream";
	if (s->conditional)
		extra[ne++] = "If-None-Match: *";
	if (s->lock_days) {
		TRY(lock_headers(s, p, n, mode, sizeof mode, until,
				 sizeof until, md5h, sizeof md5h));
		extra[ne++] = mode;
		extra[ne++] = until;
		extra[ne++] = md5h;
	}
	if (s->storage_class) {
		snprintf(sc, sizeof sc, "x-amz-storage-class: %s",
			 s->storage_class);
		extra[ne++] = sc;
	}
	struct s3_call c = {.method = "PUT", .key = key, .body = p,
			    .body_len = n, .extra = extra, .nextra = ne,
			    .payload_hash = t == OBJ_CONFIG ? NULL : name};
	rc = s3_call(s, &c);
out:
	return rc;
}

static int s3_get(struct backend *b, enum obj_type t, const char *name,
		  uint64_t off, uint64_t len, struct buf *out,
		  backend_verify_fn verify, void *vud)
{
	struct s3 *s = (struct s3 *)b;
	char key[512], range[80];
	const char *extra[1];
	size_t ne = 0;
	(void)verify; /* applied by the wrapper */
	(void)vud;
	int rc = object_key(s, t, name, key, sizeof key);
	if (rc < 0)
		return rc;
	if (len == 0) {
		out->len = 0;
		return 0;
	}
	if (off || len != BACKEND_TO_END) {
		if (len == BACKEND_TO_END)
			snprintf(range, sizeof range, "Range: bytes=%llu-",
				 (unsigned long long)off);
		else
			snprintf(range, sizeof range, "Range: bytes=%llu-%llu",
				 (unsigned long long)off,
				 (unsigned long long)(off + len - 1));
		extra[ne++] = range;
		if (len != BACKEND_TO_END && len < SIZE_MAX)
			TRY(buf_reserve(out, (size_t)len));
	}
	struct s3_call c = {.method = "GET", .key = key, .extra = extra,
			    .nextra = ne, .out = out};
	rc = s3_call(s, &c);
	if (rc == CAIRN_E_PROTOCOL)
		rc = CAIRN_E_CORRUPT; /* 416: the range is past the end */
	if (rc == 0 && len != BACKEND_TO_END && out->len != len)
		rc = CAIRN_E_CORRUPT; /* shorter than indexed */
out:
	if (rc < 0)
		out->len = 0;
	return rc;
}

static int s3_remove(struct backend *b, enum obj_type t, const char *name)
{
	struct s3 *s = (struct s3 *)b;
	char key[512];
	uint64_t size;
	int rc = object_key(s, t, name, key, sizeof key);
	if (rc < 0)
		return rc;
	/* S3 answers 204 for a missing key: ask first so that the contract's
	 * CAIRN_E_NOTFOUND holds */
	TRY(s3_stat(b, t, name, &size));
	struct s3_call c = {.method = "DELETE", .key = key};
	rc = s3_call(s, &c);
out:
	return rc;
}

/* ---- listing (ListObjectsV2, parsed in s3_list.c) --------------------- */

#define S3_PAGE_TRIES 3

/* One page's names, held until the page has parsed whole. */
struct page_names {
	struct page_name {
		char name[65];
		uint64_t size;
	} *v;
	size_t n, cap;
};

static int page_collect(void *ud, const char *name, uint64_t size)
{
	struct page_names *g = ud;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		void *p = realloc(g->v, cap * sizeof *g->v);
		if (!p)
			return CAIRN_E_NOMEM;
		g->v = p;
		g->cap = cap;
	}
	snprintf(g->v[g->n].name, sizeof g->v[g->n].name, "%s", name);
	g->v[g->n++].size = size;
	return 0;
}

static int s3_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		   void *ud)
{
	struct s3 *s = (struct s3 *)b;
	struct s3_listing page = {0};
	struct buf body = BUF_INIT, q = BUF_INIT, pfx = BUF_INIT;
	struct buf prev = BUF_INIT;
	struct page_names got = {0};
	int rc = 0;
	if (t == OBJ_CONFIG) {
		uint64_t size;
		rc = s3_stat(b, t, "config", &size);
		if (rc == CAIRN_E_NOTFOUND)
			return 0;
		return rc < 0 ? rc : fn(ud, "config", size);
	}
	TRY(buf_put(&pfx, s->prefix, strlen(s->prefix)));
	TRY(buf_put(&pfx, backend_type_dir(t), strlen(backend_type_dir(t))));
	TRY(buf_put(&pfx, "/", 1));
	static const char tok[] = "continuation-token=";
	static const char rest[] = "list-type=2&max-keys=1000&prefix=";
	do {
		q.len = 0;
		if (page.token.len) {
			TRY(buf_put(&q, tok, sizeof tok - 1));
			TRY(http_url_encode((const char *)page.token.p,
					    strlen((const char *)page.token.p),
					    0, &q));
			TRY(buf_put(&q, "&", 1));
		}
		TRY(buf_put(&q, rest, sizeof rest - 1));
		TRY(http_url_encode((const char *)pfx.p, pfx.len, 0, &q));
		TRY(buf_put(&q, "", 1));
		struct s3_call c = {.method = "GET", .query = (char *)q.p,
				    .out = &body};
		TRY(buf_put(&prev, page.token.p, page.token.len));
		/* a page is parsed whole before any name is passed on, and
		 * one that does not parse (damaged on the way, most likely)
		 * is asked for again: the wrapper cannot repeat a listing
		 * that has reported names already */
		for (int attempt = 0; attempt < S3_PAGE_TRIES; attempt++) {
			TRY(s3_call(s, &c));
			got.n = 0;
			rc = s3_listing_parse(s->prefix, t, body.p, body.len,
					      page_collect, &got, &page);
			/* a key of ours that names nothing was probably
			 * damaged on the way too: ask again (a foreign object
			 * stays odd, and the last answer is taken) */
			if (rc == 0 && page.odd && attempt + 1 < S3_PAGE_TRIES)
				continue;
			if (rc != CAIRN_E_PROTOCOL)
				break;
		}
		if (rc == CAIRN_E_PROTOCOL)
			rc = CAIRN_E_IO;
		if (rc < 0)
			goto out;
		for (size_t i = 0; i < got.n; i++)
			TRY(fn(ud, got.v[i].name, got.v[i].size));
		if (page.truncated && page.token.len == prev.len &&
		    !memcmp(page.token.p, prev.p, prev.len)) {
			rc = CAIRN_E_PROTOCOL; /* the same page again */
			goto out;
		}
		prev.len = 0;
	} while (page.truncated);
out:
	buf_free(&body);
	buf_free(&q);
	buf_free(&pfx);
	buf_free(&prev);
	free(got.v);
	buf_free(&page.token);
	return rc;
}

/* ---- open and close --------------------------------------------------- */

static void s3_close(struct backend *b)
{
	struct s3 *s = (struct s3 *)b;
	http_client_free(s->http);
	free(s->scheme_host);
	free(s->host);
	free(s->bucket);
	free(s->prefix);
	free(s->region);
	free(s->access_key);
	if (s->secret)
		sodium_free(s->secret);
	free(s->token);
	free(s->storage_class);
	free(s);
}

/* Splits "https://host[:port]/bucket[/prefix]". */
static int location_parse(struct s3 *s, const char *loc)
{
	const char *scheme = "https://";
	if (!strncmp(loc, "https://", 8)) {
		loc += 8;
	} else if (!strncmp(loc, "http://", 7)) {
		scheme = "http://";
		loc += 7;
	}
	const char *slash = strchr(loc, '/');
	if (!slash || slash == loc)
		return CAIRN_E_INVAL;
	char *hostport = dup_range(loc, (size_t)(slash - loc));
	const char *bk = slash + 1;
	const char *bend = strchr(bk, '/');
	size_t bl = bend ? (size_t)(bend - bk) : strlen(bk);
	if (!hostport || !bl) {
		free(hostport);
		return hostport ? CAIRN_E_INVAL : CAIRN_E_NOMEM;
	}
	s->bucket = dup_range(bk, bl);
	const char *pf = bend ? bend + 1 : "";
	size_t pl = strlen(pf);
	while (pl && pf[pl - 1] == '/')
		pl--;
	s->prefix = malloc(pl + 2);
	if (s->prefix) {
		memcpy(s->prefix, pf, pl);
		if (pl)
			s->prefix[pl++] = '/';
		s->prefix[pl] = 0;
	}
	size_t hn = strlen(hostport) + bl + 2;
	s->host = malloc(hn);
	s->scheme_host = malloc(hn + 8);
	if (!s->bucket || !s->prefix || !s->host || !s->scheme_host) {
		free(hostport);
		return CAIRN_E_NOMEM;
	}
	if (s->vhost)
		snprintf(s->host, hn, "%s.%s", s->bucket, hostport);
	else
		snprintf(s->host, hn, "%s", hostport);
	snprintf(s->scheme_host, hn + 8, "%s%s", scheme, s->host);
	free(hostport);
	return 0;
}

static int s3_open(const char *location, const struct backend_opts *o,
		   int create, struct backend **ret)
{
	struct s3 *s = calloc(1, sizeof *s);
	struct http_settings hs = {0};
	const char *v;
	int rc;
	if (!s)
		return CAIRN_E_NOMEM;
	s->base.ops = &backend_s3_ops;
	v = backend_opt(o, "s3.bucket-lookup");
	if (v && strcmp(v, "path") && strcmp(v, "dns") && strcmp(v, "auto")) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	s->vhost = v && !strcmp(v, "dns");
	TRY(location_parse(s, location));
	v = backend_opt(o, "s3.region");
	if (!v || !*v)
		v = getenv("AWS_REGION");
	if (!v || !*v)
		v = getenv("AWS_DEFAULT_REGION");
	if (!v || !*v)
		v = "us-east-1";
	if (!(s->region = strdup(v))) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	v = backend_opt(o, "s3.conditional-put");
	if (v && strcmp(v, "on") && strcmp(v, "off")) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	s->conditional = !v || !strcmp(v, "on");
	TRY(backend_opt_uint(o, "s3.object-lock-days", 0, 36500,
			     &s->lock_days));
	v = backend_opt(o, "s3.object-lock-mode");
	if (!v || !strcasecmp(v, "governance"))
		s->lock_mode = "GOVERNANCE";
	else if (!strcasecmp(v, "compliance"))
		s->lock_mode = "COMPLIANCE";
	else {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	v = backend_opt(o, "s3.storage-class");
	if (v && !(s->storage_class = strdup(v))) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	TRY(backend_opt_ms(o, "timeout.connect", 30000, &hs.connect_ms));
	TRY(backend_opt_ms(o, "timeout.stall", 60000, &hs.stall_ms));
	unsigned long ms;
	TRY(backend_opt_uint(o, "timeout.min-speed", 1024, 1UL << 30, &ms));
	hs.min_speed = (long)ms;
	hs.ca_file = backend_opt(o, "tls.ca-file");
	v = backend_opt(o, "tls.insecure");
	hs.insecure = v && strcmp(v, "0");
	TRY(creds_load(s));
	TRY(http_client_new(&hs, &s->http));
	if (create) {
		/* the bucket must exist; make it when it does not */
		struct s3_call c = {.method = "HEAD"};
		struct http_response rs;
		TRY(s3_send(s, &c, &rs));
		if (rs.status == 404) {
			char body[256];
			struct s3_call mk = {.method = "PUT"};
			if (strcmp(s->region, "us-east-1")) {
				snprintf(body, sizeof body,
					 "<CreateBucketConfiguration><Location"
					 "Constraint>%s</LocationConstraint>"
					 "</CreateBucketConfiguration>",
					 s->region);
				mk.body = body;
				mk.body_len = strlen(body);
			}
			TRY(s3_call(s, &mk));
		} else {
			TRY(http_status_rc(rs.status));
		}
	}
	*ret = &s->base;
	return 0;
out:
	s3_close(&s->base);
	return rc;
}

const struct backend_ops backend_s3_ops = {
	.version = 1,
	.scheme = "s3",
	.caps = BACKEND_CAP_RANGE_READ | BACKEND_CAP_CONDITIONAL |
		BACKEND_CAP_OBJECT_LOCK | BACKEND_CAP_REMOTE,
	.open = s3_open,
	.close = s3_close,
	.put = s3_put,
	.get = s3_get,
	.stat = s3_stat,
	.list = s3_list,
	.remove = s3_remove,
};
