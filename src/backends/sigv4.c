/* sigv4.c: AWS Signature Version 4 signing (see sigv4.h for the rules and
 * the contract).  Layout: output and validation helpers; percent-encoding;
 * the three canonical parts (path, query, headers); the canonical request;
 * the string to sign and the HMAC chain; the public entry points.
 *
 * Sorting is over encoded bytes (memcmp order), which is what AWS does:
 * "%E1%88%B4" sorts before "Param" although U+1234 is above 'P'.
 */
#include "sigv4.h"

#include "cairn_err.h"
#include "civil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SCOPE_TERM "aws4_request"
#define PRESIGN_MAX_EXPIRES 604800u /* seven days, the SigV4 limit */

/* ============================ small helpers ============================ */

static int put_cstr(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

/* Ends a public function: on success keeps a NUL past out->len, on error
 * puts out->len back to where it was. */
static int out_finish(struct buf *out, size_t start, int rc)
{
	if (rc == 0)
		rc = buf_reserve(out, 1);
	if (rc < 0) {
		out->len = start;
		return rc;
	}
	out->p[out->len] = '\0';
	return 0;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int crypto_ready(void)
{
	return sodium_init() < 0 ? CAIRN_E_CRYPTO : 0;
}

/* "YYYYMMDDTHHMMSSZ", digits checked but not the calendar: the date is
 * only copied into the scope, and the server judges it. */
static int amz_date_valid(const char *d)
{
	if (!d || strlen(d) != SIGV4_DATE_LEN || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

/* The access key and the scope parts end up between '/' in the
 * credential. */
static int scope_part_valid(const char *s)
{
	return s && *s && !strchr(s, '/');
}

static int creds_valid(const struct sigv4_creds *c)
{
	return c && scope_part_valid(c->access_key) && c->secret_key &&
	       *c->secret_key &&
	       strlen(c->secret_key) <= SIGV4_SECRET_MAX &&
	       scope_part_valid(c->region) && scope_part_valid(c->service);
}

/* =========================== percent-encoding ========================== */

static int encode_byte(struct buf *out, unsigned char c, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	if (is_unreserved(c) || (keep_slash && c == '/'))
		return buf_put_u8(out, c);
	char t[3] = {'%', hex[c >> 4], hex[c & 15]};
	return buf_put(out, t, 3);
}

int sigv4_uri_encode(const char *s, size_t n, int keep_slash, struct buf *out)
{
	size_t start = out->len;
	int rc = 0;
	if (!s && n)
		return CAIRN_E_INVAL;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = encode_byte(out, (unsigned char)s[i], keep_slash);
	return out_finish(out, start, rc);
}

/* Decodes %XX triplets of s[0..n) and re-encodes the result: the canonical
 * form of one query key or value.  A '%' not followed by two hex digits is
 * taken literally (it becomes %25), and so is '+' (%2B): the caller encodes
 * spaces as %20. */
static int recode(const char *s, size_t n, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n &&
		    hex_val((unsigned char)s[i + 1]) >= 0 &&
		    hex_val((unsigned char)s[i + 2]) >= 0) {
			c = (unsigned char)(hex_val((unsigned char)s[i + 1]) << 4 |
					    hex_val((unsigned char)s[i + 2]));
			i += 2;
		}
		rc = encode_byte(out, c, 0);
	}
	return rc;
}

/* ============================ canonical path =========================== */

/* S3 (and any mode that does not encode again): the path goes on the wire
 * as is, so it must already be in the one form S3 re-creates when it
 * checks: unreserved bytes, '/', and %XX. */
static int path_is_encoded(const char *p)
{
	for (size_t i = 0; p[i]; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '%') {
			if (hex_val((unsigned char)p[i + 1]) < 0 ||
			    hex_val((unsigned char)p[i + 2]) < 0)
				return 0;
			i += 2;
		} else if (!is_unreserved(c) && c != '/') {
			return 0;
		}
	}
	return 1;
}

/* Removes empty, "." and ".." segments (RFC 3986 5.2.4 plus collapsing
 * "//"); ".." at the root stays at the root.  The result starts with '/'
 * and ends with '/' when the last input segment was empty, "." or "..". */
static int path_normalize(const char *p, struct buf *out)
{
	size_t base = out->len;
	int rc = 0, trailing = 0;
	const char *s = p;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		trailing = n == 0 || (n == 1 && s[0] == '.') ||
			   (n == 2 && s[0] == '.' && s[1] == '.');
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (out->len > base && out->p[out->len - 1] != '/')
				out->len--;
			if (out->len > base)
				out->len--; /* the '/' before the dropped segment */
		} else if (!trailing) {
			TRY(buf_put_u8(out, '/'));
			TRY(buf_put(out, s, n));
		}
		if (!e)
			break;
		s = e + 1;
	}
	if (out->len == base || trailing)
		TRY(buf_put_u8(out, '/'));
out:
	return rc;
}

static int path_canonical(const char *path, unsigned flags, struct buf *out)
{
	struct buf norm = BUF_INIT;
	int rc = 0;
	if (!path)
		return CAIRN_E_INVAL;
	if (!(flags & SIGV4_ENCODE_PATH) && !path_is_encoded(path))
		return CAIRN_E_INVAL;
	const char *p = *path ? path : "/";
	size_t n = strlen(p);
	if (flags & SIGV4_NORMALIZE_PATH) {
		TRY(path_normalize(p, &norm));
		p = (const char *)norm.p;
		n = norm.len;
	}
	if (flags & SIGV4_ENCODE_PATH) {
		for (size_t i = 0; i < n; i++)
			TRY(encode_byte(out, (unsigned char)p[i], 1));
	} else {
		TRY(buf_put(out, p, n));
	}
out:
	buf_free(&norm);
	return rc;
}

/* ============================ canonical query ========================== */

struct qparam {
	size_t ko, kl, vo, vl;   /* offsets into the storage buffer ... */
	const uint8_t *k, *v;    /* ... and pointers once it stops moving */
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	size_t n = x->kl < y->kl ? x->kl : y->kl;
	int d = n ? memcmp(x->k, y->k, n) : 0;
	if (d || x->kl != y->kl)
		return d ? d : (x->kl < y->kl ? -1 : 1);
	n = x->vl < y->vl ? x->vl : y->vl;
	d = n ? memcmp(x->v, y->v, n) : 0;
	if (d || x->vl != y->vl)
		return d ? d : (x->vl < y->vl ? -1 : 1);
	return 0;
}

static int query_canonical(const char *q, struct buf *out)
{
	struct buf st = BUF_INIT;
	struct qparam *pv = NULL;
	size_t np = 0, cap = 1;
	int rc = 0;
	if (!q || !*q)
		return 0;
	for (const char *s = q; *s; s++)
		cap += *s == '&';
	pv = calloc(cap, sizeof *pv);
	if (!pv)
		return CAIRN_E_NOMEM;
	const char *s = q;
	for (;;) {
		const char *e = strchr(s, '&');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n) { /* "a=1&&b=2": an empty piece is no parameter */
			const char *eq = memchr(s, '=', n);
			size_t kn = eq ? (size_t)(eq - s) : n;
			struct qparam *p = &pv[np++];
			p->ko = st.len;
			TRY(recode(s, kn, &st));
			p->kl = st.len - p->ko;
			p->vo = st.len;
			if (eq)
				TRY(recode(eq + 1, n - kn - 1, &st));
			p->vl = st.len - p->vo;
		}
		if (!e)
			break;
		s = e + 1;
	}
	for (size_t i = 0; i < np; i++) {
		pv[i].k = st.p + pv[i].ko;
		pv[i].v = st.p + pv[i].vo;
	}
	if (np > 1)
		qsort(pv, np, sizeof *pv, qparam_cmp);
	for (size_t i = 0; i < np; i++) {
		if (i)
			TRY(buf_put_u8(out, '&'));
		TRY(buf_put(out, pv[i].k, pv[i].kl));
		TRY(buf_put_u8(out, '='));
		TRY(buf_put(out, pv[i].v, pv[i].vl));
	}
out:
	free(pv);
	buf_free(&st);
	return rc;
}

/* =========================== canonical headers ========================= */

struct hent {
	size_t no, nl, vo, vl, idx;
	const uint8_t *n, *v;
};

/* By name, then by position in the request: repeated names keep their
 * order when joined (qsort alone is not stable). */
static int hent_cmp(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;
	size_t n = x->nl < y->nl ? x->nl : y->nl;
	int d = memcmp(x->n, y->n, n);
	if (d)
		return d;
	if (x->nl != y->nl)
		return x->nl < y->nl ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int header_name_valid(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || *s == ':')
			return 0;
	return 1;
}

/* Trims the value and makes every inner run of blanks (folded line breaks
 * included) one space. */
static int header_value_fold(const char *s, struct buf *out)
{
	size_t start = out->len;
	int rc = 0, gap = 0;
	for (; *s; s++) {
		if (is_blank((unsigned char)*s)) {
			gap = 1;
			continue;
		}
		if (gap && out->len > start)
			TRY(buf_put_u8(out, ' '));
		gap = 0;
		TRY(buf_put_u8(out, (uint8_t)*s));
	}
out:
	return rc;
}

/* Appends the "name:value\n" lines to canon and "a;b;c" to names. */
static int headers_canonical(const struct sigv4_request *rq, struct buf *canon,
			     struct buf *names)
{
	struct buf st = BUF_INIT;
	struct hent *hv = NULL;
	size_t n = rq->nheaders;
	int rc = 0, have_host = 0;
	if (!n || !rq->headers)
		return CAIRN_E_INVAL;
	hv = calloc(n, sizeof *hv);
	if (!hv)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct sigv4_header *h = &rq->headers[i];
		if (!header_name_valid(h->name) || !h->value) {
			rc = CAIRN_E_INVAL;
			goto out;
		}
		hv[i].idx = i;
		hv[i].no = st.len;
		for (const char *c = h->name; *c; c++) {
			char l = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
			TRY(buf_put_u8(&st, (uint8_t)l));
		}
		hv[i].nl = st.len - hv[i].no;
		hv[i].vo = st.len;
		TRY(header_value_fold(h->value, &st));
		hv[i].vl = st.len - hv[i].vo;
	}
	for (size_t i = 0; i < n; i++) {
		hv[i].n = st.p + hv[i].no;
		hv[i].v = st.p + hv[i].vo;
		if (hv[i].nl == 4 && !memcmp(hv[i].n, "host", 4))
			have_host = 1;
	}
	if (!have_host) { /* HTTP/1.1 requires it, and AWS wants it signed */
		rc = CAIRN_E_INVAL;
		goto out;
	}
	qsort(hv, n, sizeof *hv, hent_cmp);
	for (size_t i = 0; i < n; i++) {
		int same = i && hv[i].nl == hv[i - 1].nl &&
			   !memcmp(hv[i].n, hv[i - 1].n, hv[i].nl);
		if (same) {
			TRY(buf_put_u8(canon, ','));
		} else {
			if (i) {
				TRY(buf_put_u8(canon, '\n'));
				TRY(buf_put_u8(names, ';'));
			}
			TRY(buf_put(canon, hv[i].n, hv[i].nl));
			TRY(buf_put_u8(canon, ':'));
			TRY(buf_put(names, hv[i].n, hv[i].nl));
		}
		TRY(buf_put(canon, hv[i].v, hv[i].vl));
	}
	TRY(buf_put_u8(canon, '\n'));
out:
	free(hv);
	buf_free(&st);
	return rc;
}

/* =========================== canonical request ========================= */

/* query overrides rq->query (presigning adds its parameters).  names, when
 * not NULL, gets the signed-headers list as well. */
static int creq_append(const struct sigv4_request *rq, const char *query,
		       unsigned flags, struct buf *out, struct buf *names)
{
	struct buf nm = BUF_INIT;
	int rc = 0;
	if (!rq || !rq->method || !*rq->method || !rq->payload_hash ||
	    !*rq->payload_hash || (flags & ~(unsigned)SIGV4_NORMALIZE))
		return CAIRN_E_INVAL;
	TRY(put_cstr(out, rq->method));
	TRY(buf_put_u8(out, '\n'));
	TRY(path_canonical(rq->path, flags, out));
	TRY(buf_put_u8(out, '\n'));
	TRY(query_canonical(query, out));
	TRY(buf_put_u8(out, '\n'));
	TRY(headers_canonical(rq, out, &nm));
	TRY(buf_put_u8(out, '\n'));
	TRY(buf_put(out, nm.p, nm.len));
	TRY(buf_put_u8(out, '\n'));
	TRY(put_cstr(out, rq->payload_hash));
	if (names)
		TRY(buf_put(names, nm.p, nm.len));
out:
	buf_free(&nm);
	return rc;
}

/* ====================== string to sign, HMAC chain ===================== */

/* DATE/REGION/SERVICE/aws4_request */
static int scope_append(const struct sigv4_creds *c, const char *amz_date,
			struct buf *out)
{
	int rc = 0;
	TRY(buf_put(out, amz_date, 8));
	TRY(buf_put_u8(out, '/'));
	TRY(put_cstr(out, c->region));
	TRY(buf_put_u8(out, '/'));
	TRY(put_cstr(out, c->service));
	TRY(put_cstr(out, "/" SCOPE_TERM));
out:
	return rc;
}

static int sts_append(const struct sigv4_creds *c, const char *amz_date,
		      const struct buf *creq, struct buf *out)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	char hx[2 * crypto_hash_sha256_BYTES + 1];
	int rc = 0;
	crypto_hash_sha256(h, creq->p, creq->len);
	hex_encode(hx, h, sizeof h);
	TRY(put_cstr(out, ALGORITHM "\n"));
	TRY(put_cstr(out, amz_date));
	TRY(buf_put_u8(out, '\n'));
	TRY(scope_append(c, amz_date, out));
	TRY(buf_put_u8(out, '\n'));
	TRY(put_cstr(out, hx));
out:
	return rc;
}

/* out = HMAC-SHA256(key, msg); out may be key. */
static void hmac(uint8_t out[crypto_auth_hmacsha256_BYTES], const uint8_t *key,
		 size_t keylen, const void *msg, size_t n)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

/* hex = HMAC(signing key, sts).  The secret, the derived keys and the MAC
 * states stay on this frame and are wiped before returning. */
static void sign_hex(const struct sigv4_creds *c, const char *amz_date,
		     const struct buf *sts, char hex[SIGV4_SIG_HEX_LEN + 1])
{
	uint8_t seed[4 + SIGV4_SECRET_MAX];
	uint8_t k[crypto_auth_hmacsha256_BYTES];
	size_t sl = strlen(c->secret_key); /* <= SIGV4_SECRET_MAX, checked */
	memcpy(seed, "AWS4", 4);
	memcpy(seed + 4, c->secret_key, sl);
	hmac(k, seed, 4 + sl, amz_date, 8);
	hmac(k, k, sizeof k, c->region, strlen(c->region));
	hmac(k, k, sizeof k, c->service, strlen(c->service));
	hmac(k, k, sizeof k, SCOPE_TERM, strlen(SCOPE_TERM));
	hmac(k, k, sizeof k, sts->p, sts->len);
	hex_encode(hex, k, sizeof k); /* the signature itself is public */
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(k, sizeof k);
}

/* ============================ entry points ============================= */

int sigv4_canonical_request(const struct sigv4_request *rq, unsigned flags,
			    struct buf *out)
{
	size_t start = out->len;
	int rc = rq ? creq_append(rq, rq->query, flags, out, NULL)
		    : CAIRN_E_INVAL;
	return out_finish(out, start, rc);
}

int sigv4_string_to_sign(const struct sigv4_creds *c, const char *amz_date,
			 const struct sigv4_request *rq, unsigned flags,
			 struct buf *out)
{
	struct buf creq = BUF_INIT;
	size_t start = out->len;
	int rc = 0;
	if (!creds_valid(c) || !amz_date_valid(amz_date) || !rq) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	TRY(crypto_ready());
	TRY(creq_append(rq, rq->query, flags, &creq, NULL));
	TRY(sts_append(c, amz_date, &creq, out));
out:
	buf_free(&creq);
	return out_finish(out, start, rc);
}

/* 1 when rq has exactly one x-amz-date header and its value is amz_date. */
static int has_amz_date(const struct sigv4_request *rq, const char *amz_date)
{
	int found = 0;
	for (size_t i = 0; i < rq->nheaders; i++) {
		const struct sigv4_header *h = &rq->headers[i];
		if (!h->name || strcasecmp(h->name, "x-amz-date"))
			continue;
		if (found || !h->value)
			return 0;
		const char *v = h->value;
		while (is_blank((unsigned char)*v))
			v++;
		size_t n = strlen(v);
		while (n && is_blank((unsigned char)v[n - 1]))
			n--;
		if (n != SIGV4_DATE_LEN || memcmp(v, amz_date, n))
			return 0;
		found = 1;
	}
	return found;
}

int sigv4_authorization(const struct sigv4_creds *c, const char *amz_date,
			const struct sigv4_request *rq, unsigned flags,
			struct buf *out)
{
	struct buf creq = BUF_INIT, names = BUF_INIT, sts = BUF_INIT;
	char sig[SIGV4_SIG_HEX_LEN + 1];
	size_t start = out->len;
	int rc = 0;
	if (!creds_valid(c) || !amz_date_valid(amz_date) || !rq ||
	    (rq->nheaders && !rq->headers) || !has_amz_date(rq, amz_date)) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	TRY(crypto_ready());
	TRY(creq_append(rq, rq->query, flags, &creq, &names));
	TRY(sts_append(c, amz_date, &creq, &sts));
	sign_hex(c, amz_date, &sts, sig);
	TRY(put_cstr(out, ALGORITHM " Credential="));
	TRY(put_cstr(out, c->access_key));
	TRY(buf_put_u8(out, '/'));
	TRY(scope_append(c, amz_date, out));
	TRY(put_cstr(out, ", SignedHeaders="));
	TRY(buf_put(out, names.p, names.len));
	TRY(put_cstr(out, ", Signature="));
	TRY(put_cstr(out, sig));
out:
	buf_free(&creq);
	buf_free(&names);
	buf_free(&sts);
	return out_finish(out, start, rc);
}

static int put_encoded(struct buf *b, const void *s, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = encode_byte(b, ((const unsigned char *)s)[i], 0);
	return rc;
}

int sigv4_presign(const struct sigv4_creds *c, const char *amz_date,
		  uint32_t expires, const char *session_token,
		  const struct sigv4_request *rq, unsigned flags,
		  struct buf *out)
{
	struct buf q = BUF_INIT, cred = BUF_INIT, names = BUF_INIT;
	struct buf creq = BUF_INIT, sts = BUF_INIT, scratch = BUF_INIT;
	char sig[SIGV4_SIG_HEX_LEN + 1], num[16];
	size_t start = out->len;
	int rc = 0;
	if (!creds_valid(c) || !amz_date_valid(amz_date) || !rq ||
	    expires < 1 || expires > PRESIGN_MAX_EXPIRES ||
	    (rq->nheaders && !rq->headers)) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	for (size_t i = 0; i < rq->nheaders; i++)
		if (rq->headers[i].name &&
		    !strcasecmp(rq->headers[i].name, "x-amz-date")) {
			rc = CAIRN_E_INVAL; /* the date travels in the query */
			goto out;
		}
	TRY(crypto_ready());
	/* X-Amz-SignedHeaders is itself signed, so the header list comes
	 * first; this also validates the headers. */
	TRY(headers_canonical(rq, &scratch, &names));
	if (rq->query && *rq->query) {
		TRY(put_cstr(&q, rq->query));
		TRY(buf_put_u8(&q, '&'));
	}
	TRY(put_cstr(&cred, c->access_key));
	TRY(buf_put_u8(&cred, '/'));
	TRY(scope_append(c, amz_date, &cred));
	snprintf(num, sizeof num, "%u", (unsigned)expires);
	TRY(put_cstr(&q, "X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential="));
	TRY(put_encoded(&q, cred.p, cred.len));
	TRY(put_cstr(&q, "&X-Amz-Date="));
	TRY(put_cstr(&q, amz_date));
	TRY(put_cstr(&q, "&X-Amz-Expires="));
	TRY(put_cstr(&q, num));
	if (session_token) {
		TRY(put_cstr(&q, "&X-Amz-Security-Token="));
		TRY(put_encoded(&q, session_token, strlen(session_token)));
	}
	TRY(put_cstr(&q, "&X-Amz-SignedHeaders="));
	TRY(put_encoded(&q, names.p, names.len));
	TRY(buf_put_u8(&q, '\0'));
	q.len--; /* q.p is now a C string for creq_append */
	TRY(creq_append(rq, (const char *)q.p, flags, &creq, NULL));
	TRY(sts_append(c, amz_date, &creq, &sts));
	sign_hex(c, amz_date, &sts, sig);
	TRY(buf_put(out, q.p, q.len));
	TRY(put_cstr(out, "&X-Amz-Signature="));
	TRY(put_cstr(out, sig));
out:
	buf_free(&q);
	buf_free(&cred);
	buf_free(&names);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&scratch);
	return out_finish(out, start, rc);
}

int sigv4_amz_date(int64_t unix_time, char dst[SIGV4_DATE_LEN + 1])
{
	/* 9999-12-31T23:59:59Z */
	if (unix_time < 0 || unix_time > INT64_C(253402300799))
		return CAIRN_E_RANGE;
	int64_t days = unix_time / 86400, secs = unix_time % 86400, y;
	int m, d;
	civil_date_from_days(days, &y, &m, &d);
	snprintf(dst, SIGV4_DATE_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ", (int)y,
		 m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
		 (int)(secs % 60));
	return 0;
}
