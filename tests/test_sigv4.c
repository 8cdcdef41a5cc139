/* test_sigv4.c: the SigV4 signer against published vectors.
 *
 * 1. The vector suites, read in place from $CAIRN_SHARED/vectors/sigv4/
 *    (never copied into the project): the AWS test suite (generic rules),
 *    the AWS CRT suite (header and presigned variants) and the S3
 *    documentation examples (S3 rules).  Skipped, with a note, when absent.
 * 2. The six S3 documentation examples written out here, from the AWS S3
 *    API reference (published values).
 * 3. Edge cases an S3 client meets: query order and encoding, object keys
 *    with '+', space and UTF-8, continuation tokens, argument errors.
 */
#include "cairn_err.h"
#include "sigv4.h"
#include "testutil.h"

#include <dirent.h>
#include <stdarg.h>
#include <jansson.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_HDR 32

/* ============================== helpers =============================== */

/* The whole file, NUL-terminated; *len excludes the NUL.  NULL if absent. */
static char *read_text(const char *path, size_t *len)
{
	size_t n;
	uint8_t *p = test_read_file(path, &n);
	if (!p)
		return NULL;
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
		if (len)
			*len = n;
	}
	free(p);
	return s;
}

/* snprintf into a path buffer; -1 (and a message) when it does not fit. */
static int path_fmt(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int path_fmt(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "path too long: %s...\n", dst);
		test_failures++;
		return -1;
	}
	return 0;
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Compares got with the expected text (trailing line breaks of the file
 * ignored); prints both on a mismatch.  1 when equal. */
static int same(const char *what, const char *name, const struct buf *got,
		const char *want)
{
	size_t wn = strlen(want);
	while (wn && (want[wn - 1] == '\n' || want[wn - 1] == '\r'))
		wn--;
	if (got->len == wn && !memcmp(got->p, want, wn))
		return 1;
	fprintf(stderr, "%s: %s differs\n--- got\n%.*s\n--- want\n%.*s\n---\n",
		name, what, (int)got->len, got->len ? (const char *)got->p : "",
		(int)wn, want);
	return 0;
}

static void sha256_hex(const void *p, size_t n, char hex[65])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, p, n);
	hex_encode(hex, h, sizeof h);
}

/* The 64 hex digits after "Signature=" in an Authorization value. */
static const char *sig_of(const struct buf *authz)
{
	const char *s = authz->len ? strstr((const char *)authz->p, "Signature=")
				   : NULL;
	return s ? s + 10 : "";
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A raw HTTP request file: request line, headers, blank line, body; the
 * file is split in place.  A header line starting with blanks continues
 * the previous header, and the two suites read that differently:
 *   - the CRT suite (split_folds 0) follows RFC 7230 obs-fold: one value
 *     spanning the lines, which the signer folds to "value1 value2 value3";
 *   - the 2015 AWS suite (split_folds 1) takes each continuation line as
 *     one more value of the same header, joined with ',' like a repeated
 *     header: "value1,value2,value3".
 * Both are the signer's rules; only the mapping from raw text to headers
 * differs, so the harness does that part. */
struct raw_req {
	char *text;
	char *method, *path, *query;
	struct sigv4_header h[MAX_HDR];
	size_t nh;
	const char *body;
	size_t body_len;
};

static int raw_req_parse(struct raw_req *r, const char *file, int split_folds)
{
	size_t len;
	memset(r, 0, sizeof *r);
	r->text = read_text(file, &len);
	if (!r->text)
		return -1;
	char *end = r->text + len;
	char *eol = strchr(r->text, '\n');
	char *p = end;
	if (eol) {
		*eol = '\0';
		p = eol + 1;
	}
	size_t ll = strlen(r->text);
	if (ll && r->text[ll - 1] == '\r')
		r->text[--ll] = '\0';
	/* METHOD SP TARGET SP VERSION; the target may hold spaces */
	char *sp1 = strchr(r->text, ' ');
	char *sp2 = strrchr(r->text, ' ');
	if (!sp1 || sp2 == sp1)
		return -1;
	*sp1 = '\0';
	*sp2 = '\0';
	r->method = r->text;
	r->path = sp1 + 1;
	char *qm = strchr(r->path, '?');
	if (qm) {
		*qm = '\0';
		r->query = qm + 1;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end;
		if (le == p || (le == p + 1 && *p == '\r')) { /* blank line */
			r->body = nl ? nl + 1 : end;
			r->body_len = (size_t)(end - r->body);
			break;
		}
		const char *name;
		char *value;
		if (split_folds && (*p == ' ' || *p == '\t') && r->nh) {
			name = r->h[r->nh - 1].name;
			value = p;
		} else {
			char *colon = memchr(p, ':', (size_t)(le - p));
			if (!colon)
				return -1;
			*colon = '\0';
			name = p;
			value = colon + 1;
			/* the value runs on over continuation lines */
			while (!split_folds && nl && nl + 1 < end &&
			       (nl[1] == ' ' || nl[1] == '\t')) {
				char *n2 = memchr(nl + 1, '\n',
						  (size_t)(end - nl - 1));
				le = n2 ? n2 : end;
				nl = n2;
			}
		}
		if (r->nh == MAX_HDR)
			return -1;
		if (le > value && le[-1] == '\r')
			le[-1] = '\0';
		if (le < end)
			*le = '\0';
		r->h[r->nh].name = name;
		r->h[r->nh].value = value;
		r->nh++;
		p = nl ? nl + 1 : end;
	}
	if (!r->body)
		r->body = end;
	return 0;
}

static const char *raw_req_header(const struct raw_req *r, const char *name)
{
	for (size_t i = 0; i < r->nh; i++)
		if (!strcasecmp(r->h[i].name, name))
			return r->h[i].value;
	return NULL;
}

/* ================= suite 1: the AWS SigV4 test suite =================== */

static const struct sigv4_creds aws_suite_creds = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
	"service"};

/* One NAME.req with NAME.creq, NAME.sts, NAME.authz beside it. */
static int aws_suite_case(const char *base, const char *name)
{
	char path[4096];
	struct raw_req r;
	struct buf creq = BUF_INIT, sts = BUF_INIT, authz = BUF_INIT;
	char *want_creq = NULL, *want_sts = NULL, *want_authz = NULL;
	char ph[65];
	int ok = 0;

	path_fmt(path, sizeof path, "%s.req", base);
	if (raw_req_parse(&r, path, 1) < 0) {
		fprintf(stderr, "%s: cannot parse %s\n", name, path);
		goto out;
	}
	path_fmt(path, sizeof path, "%s.creq", base);
	want_creq = read_text(path, NULL);
	path_fmt(path, sizeof path, "%s.sts", base);
	want_sts = read_text(path, NULL);
	path_fmt(path, sizeof path, "%s.authz", base);
	want_authz = read_text(path, NULL);
	const char *date = raw_req_header(&r, "X-Amz-Date");
	if (!want_creq || !want_sts || !want_authz || !date) {
		fprintf(stderr, "%s: vector files incomplete\n", name);
		goto out;
	}
	sha256_hex(r.body, r.body_len, ph);
	struct sigv4_request rq = {r.method, r.path, r.query, r.h, r.nh, ph};
	if (sigv4_canonical_request(&rq, SIGV4_NORMALIZE, &creq) < 0 ||
	    sigv4_string_to_sign(&aws_suite_creds, date, &rq, SIGV4_NORMALIZE,
				 &sts) < 0 ||
	    sigv4_authorization(&aws_suite_creds, date, &rq, SIGV4_NORMALIZE,
				&authz) < 0) {
		fprintf(stderr, "%s: signer returned an error\n", name);
		goto out;
	}
	ok = same("canonical request", name, &creq, want_creq) &
	     same("string to sign", name, &sts, want_sts) &
	     same("authorization", name, &authz, want_authz);
out:
	free(r.text);
	free(want_creq);
	free(want_sts);
	free(want_authz);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&authz);
	return ok;
}

/* Walks dir (with subdirectories) for *.req files. */
static void aws_suite_walk(const char *dir, int *run, int *ok)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[4096];
		if (e->d_name[0] == '.')
			continue;
		path_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t n = strlen(e->d_name);
		if (is_dir(path)) {
			aws_suite_walk(path, run, ok);
		} else if (n > 4 && !strcmp(e->d_name + n - 4, ".req")) {
			path[strlen(path) - 4] = '\0';
			e->d_name[n - 4] = '\0';
			(*run)++;
			if (aws_suite_case(path, e->d_name))
				(*ok)++;
			else
				test_failures++;
		}
	}
	closedir(d);
}

/* ===================== suite 2: the AWS CRT suite ====================== */

struct crt_ctx {
	json_t *root;
	struct sigv4_creds creds;
	const char *token;       /* NULL when none */
	int omit_token, normalize, sign_body;
	uint32_t expires;
	char date[SIGV4_DATE_LEN + 1];
};

static const char *json_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int crt_ctx_load(struct crt_ctx *x, const char *file)
{
	json_error_t err;
	memset(x, 0, sizeof *x);
	x->root = json_load_file(file, 0, &err);
	if (!x->root)
		return -1;
	json_t *cr = json_object_get(x->root, "credentials");
	x->creds.access_key = json_str(cr, "access_key_id");
	x->creds.secret_key = json_str(cr, "secret_access_key");
	x->creds.region = json_str(x->root, "region");
	x->creds.service = json_str(x->root, "service");
	x->token = json_str(cr, "token");
	x->omit_token = json_is_true(json_object_get(x->root, "omit_session_token"));
	x->normalize = json_is_true(json_object_get(x->root, "normalize"));
	x->sign_body = json_is_true(json_object_get(x->root, "sign_body"));
	x->expires = (uint32_t)json_integer_value(
		json_object_get(x->root, "expiration_in_seconds"));
	/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
	const char *ts = json_str(x->root, "timestamp");
	size_t k = 0;
	for (; ts && *ts && k < SIGV4_DATE_LEN; ts++)
		if (*ts != '-' && *ts != ':')
			x->date[k++] = *ts;
	x->date[k] = '\0';
	return x->creds.access_key && x->creds.secret_key && x->creds.region &&
			       x->creds.service && k == SIGV4_DATE_LEN
		       ? 0
		       : -1;
}

static char *crt_file(const char *dir, const char *name)
{
	char path[4096];
	path_fmt(path, sizeof path, "%s/%s", dir, name);
	return read_text(path, NULL);
}

/* The Authorization value in header-signed-request.txt. */
static int crt_authz_line(const char *signed_req, struct buf *out)
{
	const char *a = strstr(signed_req, "\nAuthorization:");
	if (!a)
		return -1;
	a += strlen("\nAuthorization:");
	size_t n = strcspn(a, "\r\n");
	return buf_put(out, a, n);
}

static int crt_case(const char *dir, const char *name, int *header_ok,
		    int *query_ok)
{
	char path[4096];
	struct crt_ctx x;
	struct raw_req r;
	struct sigv4_header h[MAX_HDR + 3];
	struct buf creq = BUF_INIT, sts = BUF_INIT, authz = BUF_INIT;
	struct buf want_authz = BUF_INIT, pq = BUF_INIT, qcreq = BUF_INIT,
		   qsts = BUF_INIT, sig = BUF_INIT;
	char *w_hcreq = crt_file(dir, "header-canonical-request.txt");
	char *w_hsts = crt_file(dir, "header-string-to-sign.txt");
	char *w_hsig = crt_file(dir, "header-signature.txt");
	char *w_hsreq = crt_file(dir, "header-signed-request.txt");
	char *w_qcreq = crt_file(dir, "query-canonical-request.txt");
	char *w_qsts = crt_file(dir, "query-string-to-sign.txt");
	char *w_qsig = crt_file(dir, "query-signature.txt");
	char ph[65];
	int ok = 1;

	memset(&r, 0, sizeof r);
	path_fmt(path, sizeof path, "%s/context.json", dir);
	int bad_ctx = crt_ctx_load(&x, path) < 0;
	path_fmt(path, sizeof path, "%s/request.txt", dir);
	if (bad_ctx || raw_req_parse(&r, path, 0) < 0 || !w_hcreq || !w_hsts ||
	    !w_hsig || !w_hsreq || !w_qcreq || !w_qsts || !w_qsig) {
		fprintf(stderr, "%s: vector files incomplete\n", name);
		ok = 0;
		goto out;
	}
	sha256_hex(r.body, r.body_len, ph);
	unsigned flags = x.normalize ? SIGV4_NORMALIZE : SIGV4_ENCODE_PATH;

	/* Header signing: the signer's caller adds X-Amz-Date, the token
	 * (unless the context says it is added unsigned afterwards) and,
	 * with sign_body, x-amz-content-sha256. */
	size_t nh = r.nh;
	memcpy(h, r.h, nh * sizeof h[0]);
	h[nh++] = (struct sigv4_header){"X-Amz-Date", x.date};
	if (x.token && !x.omit_token)
		h[nh++] = (struct sigv4_header){"X-Amz-Security-Token", x.token};
	if (x.sign_body)
		h[nh++] = (struct sigv4_header){"x-amz-content-sha256", ph};
	struct sigv4_request rq = {r.method, r.path, r.query, h, nh, ph};
	int hok = sigv4_canonical_request(&rq, flags, &creq) == 0 &&
		  sigv4_string_to_sign(&x.creds, x.date, &rq, flags, &sts) == 0 &&
		  sigv4_authorization(&x.creds, x.date, &rq, flags, &authz) == 0 &&
		  crt_authz_line(w_hsreq, &want_authz) == 0 &&
		  buf_put_u8(&want_authz, 0) == 0;
	if (!hok)
		fprintf(stderr, "%s: header signing failed\n", name);
	chomp(w_hsig);
	hok = hok && same("header canonical request", name, &creq, w_hcreq) &
			     same("header string to sign", name, &sts, w_hsts) &
			     same("authorization", name, &authz,
				  (const char *)want_authz.p);
	if (hok && strcmp(sig_of(&authz), w_hsig)) {
		fprintf(stderr, "%s: header signature %s, want %s\n", name,
			sig_of(&authz), w_hsig);
		hok = 0;
	}
	*header_ok += hok;

	/* Query signing: only the request's own headers are signed. */
	struct sigv4_request qrq = {r.method, r.path, r.query, r.h, r.nh, ph};
	int qok = sigv4_presign(&x.creds, x.date, x.expires,
				x.omit_token ? NULL : x.token, &qrq, flags,
				&pq) == 0;
	const char *cut = qok ? strstr((const char *)pq.p, "&X-Amz-Signature=")
			      : NULL;
	if (!cut) {
		fprintf(stderr, "%s: presigning failed\n", name);
		qok = 0;
	} else {
		/* what was signed is the query without X-Amz-Signature */
		size_t qn = (size_t)(cut - (const char *)pq.p);
		char *signed_q = strndup((const char *)pq.p, qn);
		qrq.query = signed_q;
		buf_put(&sig, cut + 17, strlen(cut + 17));
		qok = signed_q &&
		      sigv4_canonical_request(&qrq, flags, &qcreq) == 0 &&
		      sigv4_string_to_sign(&x.creds, x.date, &qrq, flags,
					   &qsts) == 0;
		qok = qok && same("query canonical request", name, &qcreq,
				  w_qcreq) &
				     same("query string to sign", name, &qsts,
					  w_qsts) &
				     same("query signature", name, &sig, w_qsig);
		free(signed_q);
	}
	*query_ok += qok;
	ok = hok && qok;
out:
	json_decref(x.root);
	free(r.text);
	free(w_hcreq);
	free(w_hsts);
	free(w_hsig);
	free(w_hsreq);
	free(w_qcreq);
	free(w_qsts);
	free(w_qsig);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&authz);
	buf_free(&want_authz);
	buf_free(&pq);
	buf_free(&qcreq);
	buf_free(&qsts);
	buf_free(&sig);
	return ok;
}

static void crt_suite(const char *root, int *run, int *header_ok,
		      int *query_ok)
{
	DIR *d = opendir(root);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[4096];
		if (e->d_name[0] == '.')
			continue;
		path_fmt(path, sizeof path, "%s/%s", root, e->d_name);
		if (!is_dir(path))
			continue;
		(*run)++;
		if (!crt_case(path, e->d_name, header_ok, query_ok))
			test_failures++;
	}
	closedir(d);
}

/* ================ suite 3: S3 documentation examples =================== */

static const struct sigv4_creds s3_doc_creds = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"us-east-1", "s3"};
#define S3_DOC_DATE "20130524T000000Z"

/* Rebuilds the request from NAME.creq (method, path, query, header lines,
 * payload hash), signs it with S3 rules, and checks the canonical request,
 * NAME.sts and NAME.sig.  A presigned example (X-Amz-Algorithm in the
 * query) goes through sigv4_presign with its other parameters removed. */
static int s3_doc_case(const char *base, const char *name)
{
	char path[4096];
	struct sigv4_header h[MAX_HDR];
	struct buf creq = BUF_INIT, sts = BUF_INIT, out = BUF_INIT,
		   sig = BUF_INIT, q = BUF_INIT;
	size_t nh = 0;
	char *lines[64];
	size_t nl = 0;
	int ok = 0;

	path_fmt(path, sizeof path, "%s.creq", base);
	char *text = read_text(path, NULL);
	char *orig = text ? strdup(text) : NULL;
	path_fmt(path, sizeof path, "%s.sts", base);
	char *want_sts = read_text(path, NULL);
	path_fmt(path, sizeof path, "%s.sig", base);
	char *want_sig = read_text(path, NULL);
	if (!text || !orig || !want_sts || !want_sig)
		goto out;
	chomp(text);
	chomp(want_sig);
	for (char *p = text; p && nl < 64;) {
		lines[nl++] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	/* method, path, query, headers..., "", signed names, payload */
	if (nl < 6)
		goto out;
	for (size_t i = 3; i + 3 < nl && nh < MAX_HDR; i++) {
		char *colon = strchr(lines[i], ':');
		if (!colon)
			goto out;
		*colon = '\0';
		h[nh++] = (struct sigv4_header){lines[i], colon + 1};
	}
	struct sigv4_request rq = {lines[0], lines[1], lines[2], h, nh,
				   lines[nl - 1]};
	if (strstr(lines[2], "X-Amz-Algorithm=")) {
		unsigned long expires = 0;
		for (char *t = strtok(lines[2], "&"); t; t = strtok(NULL, "&")) {
			if (!strncmp(t, "X-Amz-Expires=", 14))
				expires = strtoul(t + 14, NULL, 10);
			else if (strncmp(t, "X-Amz-", 6)) {
				if (q.len)
					buf_put_u8(&q, '&');
				buf_put(&q, t, strlen(t));
			}
		}
		buf_put_u8(&q, 0);
		rq.query = (const char *)q.p;
		if (sigv4_presign(&s3_doc_creds, S3_DOC_DATE, (uint32_t)expires,
				  NULL, &rq, SIGV4_S3, &out) < 0)
			goto out;
		const char *cut = strstr((const char *)out.p, "&X-Amz-Signature=");
		if (!cut)
			goto out;
		buf_put(&sig, cut + 17, strlen(cut + 17));
		out.len = (size_t)(cut - (const char *)out.p);
		out.p[out.len] = '\0';
		rq.query = (const char *)out.p;
	} else {
		if (sigv4_authorization(&s3_doc_creds, S3_DOC_DATE, &rq,
					SIGV4_S3, &out) < 0)
			goto out;
		buf_put(&sig, sig_of(&out), strlen(sig_of(&out)));
	}
	if (sigv4_canonical_request(&rq, SIGV4_S3, &creq) < 0 ||
	    sigv4_string_to_sign(&s3_doc_creds, S3_DOC_DATE, &rq, SIGV4_S3,
				 &sts) < 0)
		goto out;
	ok = same("canonical request", name, &creq, orig) &
	     same("string to sign", name, &sts, want_sts) &
	     same("signature", name, &sig, want_sig);
out:
	if (!ok)
		fprintf(stderr, "%s: failed\n", name);
	free(text);
	free(orig);
	free(want_sts);
	free(want_sig);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&out);
	buf_free(&sig);
	buf_free(&q);
	return ok;
}

static void s3_doc_suite(const char *dir, int *run, int *ok)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[4096];
		size_t n = strlen(e->d_name);
		if (n <= 5 || strcmp(e->d_name + n - 5, ".creq"))
			continue;
		path_fmt(path, sizeof path, "%s/%.*s", dir, (int)(n - 5),
			 e->d_name);
		(*run)++;
		if (s3_doc_case(path, e->d_name))
			(*ok)++;
		else
			test_failures++;
	}
	closedir(d);
}

static int run_vector_suites(void)
{
	const char *shared = getenv("CAIRN_SHARED");
	char root[4096], dir[4200];
	int ran = 0;
	if (!shared) {
		fprintf(stderr, "vector suites skipped: CAIRN_SHARED not set\n");
		return 0;
	}
	path_fmt(root, sizeof root, "%s/vectors/sigv4", shared);

	path_fmt(dir, sizeof dir, "%s/aws-sig-v4-test-suite", root);
	if (is_dir(dir)) {
		int run = 0, ok = 0;
		aws_suite_walk(dir, &run, &ok);
		fprintf(stderr, "aws-sig-v4-test-suite: %d/%d cases ok\n", ok,
			run);
		CHECK(run == 31);
		ran++;
	} else {
		fprintf(stderr, "aws-sig-v4-test-suite: skipped (%s absent)\n",
			dir);
	}

	path_fmt(dir, sizeof dir, "%s/aws-signing-test-suite-v4", root);
	if (is_dir(dir)) {
		int run = 0, hok = 0, qok = 0;
		crt_suite(dir, &run, &hok, &qok);
		fprintf(stderr,
			"aws-signing-test-suite-v4: %d/%d header cases ok, "
			"%d/%d query (presigned) cases ok\n",
			hok, run, qok, run);
		CHECK(run == 38);
		ran++;
	} else {
		fprintf(stderr, "aws-signing-test-suite-v4: skipped (%s absent)\n",
			dir);
	}

	path_fmt(dir, sizeof dir, "%s/s3-doc-examples", root);
	if (is_dir(dir)) {
		int run = 0, ok = 0;
		s3_doc_suite(dir, &run, &ok);
		fprintf(stderr, "s3-doc-examples: %d/%d cases ok\n", ok, run);
		CHECK(run == 6);
		ran++;
	} else {
		fprintf(stderr, "s3-doc-examples: skipped (%s absent)\n", dir);
	}
	return ran;
}

/* ============ part 2: the S3 documentation examples, inline ============ */

/* Checks hex(sha256(canonical request)) and the signature of rq. */
static int s3_example(const char *name, const struct sigv4_request *rq,
		      const char *want_creq_hash, const char *want_sig)
{
	struct buf creq = BUF_INIT, authz = BUF_INIT;
	char hx[65];
	int ok = 0;
	if (sigv4_canonical_request(rq, SIGV4_S3, &creq) < 0 ||
	    sigv4_authorization(&s3_doc_creds, S3_DOC_DATE, rq, SIGV4_S3,
				&authz) < 0) {
		fprintf(stderr, "%s: signer returned an error\n", name);
		goto out;
	}
	sha256_hex(creq.p, creq.len, hx);
	ok = !strcmp(hx, want_creq_hash) && !strcmp(sig_of(&authz), want_sig);
	if (!ok)
		fprintf(stderr, "%s: creq hash %s signature %s\n%s\n", name, hx,
			sig_of(&authz), (const char *)creq.p);
out:
	buf_free(&creq);
	buf_free(&authz);
	return ok;
}

static int test_s3_examples(void)
{
	static const char host[] = "examplebucket.s3.amazonaws.com";
	int ok = 0;

	/* GET Object with a Range header */
	{
		const struct sigv4_header h[] = {
			{"Host", host},
			{"Range", "bytes=0-9"},
			{"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
			{"x-amz-date", S3_DOC_DATE}};
		const struct sigv4_request rq = {"GET", "/test.txt", NULL, h, 4,
						 SIGV4_EMPTY_SHA256};
		ok += s3_example(
			"GET Object", &rq,
			"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
			"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
		struct buf a = BUF_INIT;
		CHECK_RC(sigv4_authorization(&s3_doc_creds, S3_DOC_DATE, &rq,
					     SIGV4_S3, &a),
			 0);
		CHECK(a.len && !strcmp((const char *)a.p,
				       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/"
				       "20130524/us-east-1/s3/aws4_request, "
				       "SignedHeaders=host;range;x-amz-content-sha256;"
				       "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6"
				       "ed310bd44f0170aba48dd91039c6036bdb41"));
		buf_free(&a);
	}
	/* PUT Object "test$file.text": the key is encoded by the caller */
	{
		static const char body[] = "Welcome to Amazon S3.";
		char ph[65];
		struct buf path = BUF_INIT;
		sha256_hex(body, strlen(body), ph);
		CHECK(!strcmp(ph, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"));
		CHECK_RC(buf_put_u8(&path, '/'), 0);
		CHECK_RC(sigv4_uri_encode("test$file.text", 14, 1, &path), 0);
		CHECK(!strcmp((const char *)path.p, "/test%24file.text"));
		const struct sigv4_header h[] = {
			{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
			{"Host", host},
			{"x-amz-date", S3_DOC_DATE},
			{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
			{"x-amz-content-sha256", ph}};
		const struct sigv4_request rq = {"PUT", (const char *)path.p, "",
						 h, 5, ph};
		ok += s3_example(
			"PUT Object", &rq,
			"9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
			"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
		buf_free(&path);
	}
	/* GET Bucket lifecycle: a key without '=' */
	{
		const struct sigv4_header h[] = {
			{"x-amz-date", S3_DOC_DATE},
			{"host", host},
			{"x-amz-content-sha256", SIGV4_EMPTY_SHA256}};
		const struct sigv4_request rq = {"GET", "/", "lifecycle", h, 3,
						 SIGV4_EMPTY_SHA256};
		ok += s3_example(
			"GET lifecycle", &rq,
			"9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
			"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	}
	/* List objects: the query is sorted by the signer */
	{
		const struct sigv4_header h[] = {
			{"host", host},
			{"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
			{"x-amz-date", S3_DOC_DATE}};
		const struct sigv4_request rq = {"GET", "/", "prefix=J&max-keys=2",
						 h, 3, SIGV4_EMPTY_SHA256};
		ok += s3_example(
			"List objects", &rq,
			"df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
			"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	}
	/* Presigned GET, valid 86400 s */
	{
		const struct sigv4_header h[] = {{"Host", host}};
		struct sigv4_request rq = {"GET", "/test.txt", NULL, h, 1,
					   SIGV4_UNSIGNED_PAYLOAD};
		struct buf q = BUF_INIT, creq = BUF_INIT;
		char hx[65];
		int pok = sigv4_presign(&s3_doc_creds, S3_DOC_DATE, 86400, NULL,
					&rq, SIGV4_S3, &q) == 0;
		const char *want_q =
			"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
			"AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
			"aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires="
			"86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
			"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
		pok = pok && !strcmp((const char *)q.p, want_q);
		if (pok) {
			char *cut = strstr((char *)q.p, "&X-Amz-Signature=");
			*cut = '\0';
			rq.query = (const char *)q.p;
			pok = sigv4_canonical_request(&rq, SIGV4_S3, &creq) == 0;
			sha256_hex(creq.p, creq.len, hx);
			pok = pok &&
			      !strcmp(hx, "3bfa292879f6447bbcda7001decf97f4"
					  "a54dc650c8942174ae0a9121cf58ad04");
		}
		if (!pok)
			fprintf(stderr, "Presigned GET: %s\n",
				q.len ? (const char *)q.p : "(error)");
		ok += pok;
		buf_free(&q);
		buf_free(&creq);
	}
	/* Seed request of a chunked (aws-chunked) upload */
	{
		const struct sigv4_header h[] = {
			{"Host", "s3.amazonaws.com"},
			{"x-amz-date", S3_DOC_DATE},
			{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
			{"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
			{"Content-Encoding", "aws-chunked"},
			{"x-amz-decoded-content-length", "66560"},
			{"Content-Length", "66824"}};
		const struct sigv4_request rq = {
			"PUT", "/examplebucket/chunkObject.txt", NULL, h, 7,
			"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"};
		ok += s3_example(
			"Chunked seed", &rq,
			"cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455",
			"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	}
	fprintf(stderr, "S3 documentation examples (inline): %d/6 cases ok\n", ok);
	CHECK(ok == 6);
	return ok;
}

/* ========================= part 3: edge cases ========================== */

/* Line `line` (0-based) of the canonical request of rq, into out. */
static int creq_line(const struct sigv4_request *rq, unsigned flags, int line,
		     char *out, size_t cap)
{
	struct buf b = BUF_INIT;
	int rc = sigv4_canonical_request(rq, flags, &b);
	out[0] = '\0';
	if (rc == 0) {
		const char *p = (const char *)b.p;
		for (int i = 0; i < line && p; i++) {
			p = strchr(p, '\n');
			if (p)
				p++;
		}
		if (p)
			snprintf(out, cap, "%.*s", (int)strcspn(p, "\n"), p);
	}
	buf_free(&b);
	return rc;
}

static const struct sigv4_header edge_h[] = {
	{"host", "127.0.0.1:5000"},
	{"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
	{"x-amz-date", "20240101T000000Z"}};

static const char *canon_query(const char *q, char *out, size_t cap)
{
	const struct sigv4_request rq = {"GET", "/bkt", q, edge_h, 3,
					 SIGV4_EMPTY_SHA256};
	CHECK_RC(creq_line(&rq, SIGV4_S3, 2, out, cap), 0);
	return out;
}

static const char *canon_path(const char *path, unsigned flags, char *out,
			      size_t cap)
{
	const struct sigv4_request rq = {"GET", path, NULL, edge_h, 3,
					 SIGV4_EMPTY_SHA256};
	CHECK_RC(creq_line(&rq, flags, 1, out, cap), 0);
	return out;
}

static void test_uri_encode(void)
{
	struct buf b = BUF_INIT;
	CHECK_RC(sigv4_uri_encode("", 0, 0, &b), 0);
	CHECK(b.len == 0 && b.p && b.p[0] == '\0');
	static const char unres[] =
		"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	CHECK_RC(sigv4_uri_encode(unres, strlen(unres), 0, &b), 0);
	CHECK(!strcmp((const char *)b.p, unres));
	b.len = 0;
	CHECK_RC(sigv4_uri_encode("a/b c+d=e&f*g%h", 15, 0, &b), 0);
	CHECK(!strcmp((const char *)b.p, "a%2Fb%20c%2Bd%3De%26f%2Ag%25h"));
	b.len = 0;
	CHECK_RC(sigv4_uri_encode("a/b c", 5, 1, &b), 0);
	CHECK(!strcmp((const char *)b.p, "a/b%20c"));
	/* appends, keeps the NUL, encodes a NUL byte inside the range */
	CHECK_RC(sigv4_uri_encode("\0\xff", 2, 1, &b), 0);
	CHECK(!strcmp((const char *)b.p, "a/b%20c%00%FF"));
	/* every byte: kept iff unreserved, else %XX with upper-case hex */
	for (int c = 0; c < 256; c++) {
		char ch = (char)c, want[4];
		b.len = 0;
		CHECK_RC(sigv4_uri_encode(&ch, 1, 0, &b), 0);
		if (c && strchr(unres, c))
			snprintf(want, sizeof want, "%c", c);
		else
			snprintf(want, sizeof want, "%%%02X", c);
		CHECK(b.len == strlen(want) && !memcmp(b.p, want, b.len));
	}
	buf_free(&b);
	CHECK_RC(sigv4_uri_encode(NULL, 1, 0, &b), CAIRN_E_INVAL);
}

/* Inverse of sigv4_uri_encode, for the round trip checks. */
static size_t pct_decode(const char *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
			out[k++] = (char)v;
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	return k;
}

static void test_query_edges(void)
{
	char l[512];
	CHECK(!strcmp(canon_query("prefix=dir%2F&list-type=2", l, sizeof l),
		      "list-type=2&prefix=dir%2F"));
	CHECK(!strcmp(canon_query("b=2&a=1&a=0", l, sizeof l), "a=0&a=1&b=2"));
	CHECK(!strcmp(canon_query("uploads", l, sizeof l), "uploads="));
	CHECK(!strcmp(canon_query("a=1&&b", l, sizeof l), "a=1&b="));
	CHECK(!strcmp(canon_query("=v", l, sizeof l), "=v"));
	CHECK(!strcmp(canon_query("", l, sizeof l), ""));
	/* decoded then re-encoded: %7e is '~', lower-case hex normalised */
	CHECK(!strcmp(canon_query("%7e=%41&k=%2f", l, sizeof l), "k=%2F&~=A"));
	/* raw '+' is a plus sign, raw space a space; a stray '%' is literal */
	CHECK(!strcmp(canon_query("x=a+b c&y=50%", l, sizeof l),
		      "x=a%2Bb%20c&y=50%25"));
	/* keys sorted before values; "a" < "a-b" < "ab" by bytes */
	CHECK(!strcmp(canon_query("ab=1&a-b=2&a=3", l, sizeof l),
		      "a=3&a-b=2&ab=1"));

	/* a continuation token with '/', '+', '=' survives the round trip */
	static const char token[] = "1/0fPa+Xyz==";
	struct buf q = BUF_INIT;
	CHECK_RC(buf_put(&q, "list-type=2&continuation-token=", 31), 0);
	CHECK_RC(sigv4_uri_encode(token, strlen(token), 0, &q), 0);
	CHECK(!strcmp(canon_query((const char *)q.p, l, sizeof l),
		      "continuation-token=1%2F0fPa%2BXyz%3D%3D&list-type=2"));
	char dec[64];
	const char *v = strchr(l, '=') + 1;
	pct_decode(v, strcspn(v, "&"), dec);
	CHECK(!strcmp(dec, token));
	buf_free(&q);
}

static void test_path_edges(void)
{
	char l[512];
	/* an object key with '+', space and UTF-8, as S3 expects it */
	static const char key[] = "dir/a+b \xc3\xa9.bin";
	struct buf p = BUF_INIT;
	CHECK_RC(buf_put(&p, "/bkt/", 5), 0);
	CHECK_RC(sigv4_uri_encode(key, strlen(key), 1, &p), 0);
	CHECK(!strcmp((const char *)p.p, "/bkt/dir/a%2Bb%20%C3%A9.bin"));
	CHECK(!strcmp(canon_path((const char *)p.p, SIGV4_S3, l, sizeof l),
		      "/bkt/dir/a%2Bb%20%C3%A9.bin"));
	/* generic rules encode the encoded path once more */
	CHECK(!strcmp(canon_path((const char *)p.p, SIGV4_NORMALIZE, l, sizeof l),
		      "/bkt/dir/a%252Bb%2520%25C3%25A9.bin"));
	buf_free(&p);
	/* S3 never normalises: "//" and ".." are parts of the key */
	CHECK(!strcmp(canon_path("/bkt/a//b/../c", SIGV4_S3, l, sizeof l),
		      "/bkt/a//b/../c"));
	CHECK(!strcmp(canon_path("/bkt/a//b/../c", SIGV4_NORMALIZE, l, sizeof l),
		      "/bkt/a/c"));
	CHECK(!strcmp(canon_path("/a/b/..", SIGV4_NORMALIZE, l, sizeof l), "/a/"));
	CHECK(!strcmp(canon_path("/../..", SIGV4_NORMALIZE, l, sizeof l), "/"));
	CHECK(!strcmp(canon_path("", SIGV4_S3, l, sizeof l), "/"));
	/* S3 paths must already be encoded */
	struct buf b = BUF_INIT;
	static const char *const bad[] = {"/a b", "/a%2", "/a%zz", "/a+b",
					  "/\xc3\xa9", "/a?b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const struct sigv4_request rq = {"GET", bad[i], NULL, edge_h, 3,
						 SIGV4_EMPTY_SHA256};
		CHECK_RC(sigv4_canonical_request(&rq, SIGV4_S3, &b), CAIRN_E_INVAL);
		CHECK(b.len == 0);
	}
	buf_free(&b);
}

static void test_header_edges(void)
{
	const struct sigv4_header h[] = {
		{"X-Amz-Date", "20240101T000000Z"},
		{"HOST", "  example.com  "},
		{"X-Multi", "a\r\n   b\t\tc  "},
		{"x-multi", "second"},
		{"x-empty", "   "}};
	const struct sigv4_request rq = {"GET", "/", NULL, h, 5,
					 SIGV4_EMPTY_SHA256};
	struct buf b = BUF_INIT;
	CHECK_RC(sigv4_canonical_request(&rq, SIGV4_S3, &b), 0);
	CHECK(b.len && !strcmp((const char *)b.p,
			       "GET\n/\n\nhost:example.com\nx-amz-date:20240101T000000Z\n"
			       "x-empty:\nx-multi:a b c,second\n\n"
			       "host;x-amz-date;x-empty;x-multi\n" SIGV4_EMPTY_SHA256));
	buf_free(&b);
}

static void test_errors(void)
{
	const struct sigv4_creds c = {"AK", "SECRET", "us-east-1", "s3"};
	const struct sigv4_header nohost[] = {{"x-amz-date", "20240101T000000Z"}};
	const struct sigv4_header badname[] = {{"ho st", "x"}, {"host", "x"}};
	const struct sigv4_header h[] = {{"host", "x"},
					 {"x-amz-date", "20240101T000000Z"}};
	struct buf b = BUF_INIT;
	CHECK_RC(buf_put(&b, "keep", 4), 0);

	struct sigv4_request rq = {"GET", "/", NULL, nohost, 1, SIGV4_EMPTY_SHA256};
	CHECK_RC(sigv4_canonical_request(&rq, SIGV4_S3, &b), CAIRN_E_INVAL);
	rq.headers = badname;
	rq.nheaders = 2;
	CHECK_RC(sigv4_canonical_request(&rq, SIGV4_S3, &b), CAIRN_E_INVAL);
	rq.headers = h;
	rq.payload_hash = NULL;
	CHECK_RC(sigv4_canonical_request(&rq, SIGV4_S3, &b), CAIRN_E_INVAL);
	rq.payload_hash = SIGV4_EMPTY_SHA256;
	CHECK_RC(sigv4_canonical_request(&rq, 8, &b), CAIRN_E_INVAL);
	/* the signing date must be the request's x-amz-date */
	CHECK_RC(sigv4_authorization(&c, "20240102T000000Z", &rq, SIGV4_S3, &b),
		 CAIRN_E_INVAL);
	CHECK_RC(sigv4_authorization(&c, "2024-01-01T00:00Z", &rq, SIGV4_S3, &b),
		 CAIRN_E_INVAL);
	const struct sigv4_creds badc = {"AK", "", "us-east-1", "s3"};
	CHECK_RC(sigv4_authorization(&badc, "20240101T000000Z", &rq, SIGV4_S3, &b),
		 CAIRN_E_INVAL);
	/* presigning: the date goes in the query, expiry within 7 days */
	CHECK_RC(sigv4_presign(&c, "20240101T000000Z", 60, NULL, &rq, SIGV4_S3, &b),
		 CAIRN_E_INVAL);
	rq.nheaders = 1;
	CHECK_RC(sigv4_presign(&c, "20240101T000000Z", 0, NULL, &rq, SIGV4_S3, &b),
		 CAIRN_E_INVAL);
	CHECK_RC(sigv4_presign(&c, "20240101T000000Z", 604801, NULL, &rq,
			       SIGV4_S3, &b),
		 CAIRN_E_INVAL);
	CHECK(b.len == 4 && !memcmp(b.p, "keep", 4));
	/* success appends after what was there */
	rq.nheaders = 2;
	CHECK_RC(sigv4_authorization(&c, "20240101T000000Z", &rq, SIGV4_S3, &b), 0);
	CHECK(b.len > 4 && !strncmp((const char *)b.p, "keepAWS4-HMAC-SHA256 ", 21) &&
	      strlen((const char *)b.p) == b.len &&
	      strlen(sig_of(&b)) == SIGV4_SIG_HEX_LEN);
	buf_free(&b);
}

static void test_amz_date(void)
{
	char d[SIGV4_DATE_LEN + 1];
	CHECK_RC(sigv4_amz_date(1440938160, d), 0);
	CHECK(!strcmp(d, "20150830T123600Z"));
	CHECK_RC(sigv4_amz_date(0, d), 0);
	CHECK(!strcmp(d, "19700101T000000Z"));
	CHECK_RC(sigv4_amz_date(951782399, d), 0); /* leap day */
	CHECK(!strcmp(d, "20000228T235959Z"));
	CHECK_RC(sigv4_amz_date(951782400 + 86399, d), 0);
	CHECK(!strcmp(d, "20000229T235959Z"));
	CHECK_RC(sigv4_amz_date(-1, d), CAIRN_E_RANGE);
	CHECK_RC(sigv4_amz_date(INT64_C(253402300800), d), CAIRN_E_RANGE);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	run_vector_suites();
	test_s3_examples();
	test_uri_encode();
	test_query_edges();
	test_path_edges();
	test_header_edges();
	test_errors();
	test_amz_date();
	fprintf(stderr, "edge cases: done\n");
	return test_done("test_sigv4");
}
