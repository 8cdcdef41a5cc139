/* http.c: HTTP requests over libcurl for the network stores; see http.h.
 *
 * Handles are pooled (a stack of idle ones under a mutex) because a
 * libcurl easy handle keeps its connection open between requests: reusing
 * it saves a TCP (and TLS) handshake per object.  Bodies are sent from and
 * received into memory; the stores never hold more than one object per
 * request in flight.
 */
#include "http.h"
#include "cairn_err.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct http_client {
	struct http_settings s;
	char *ca_file;
	pthread_mutex_t mu;
	CURL **idle;
	size_t nidle, capidle;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
			    ? 0 : CAIRN_E_IO;
}

int http_client_new(const struct http_settings *s, struct http_client **ret)
{
	pthread_once(&global_once, global_init);
	if (global_rc < 0)
		return global_rc;
	struct http_client *c = calloc(1, sizeof *c);
	if (!c)
		return CAIRN_E_NOMEM;
	c->s = *s;
	if (s->ca_file) {
		c->ca_file = strdup(s->ca_file);
		if (!c->ca_file) {
			free(c);
			return CAIRN_E_NOMEM;
		}
		c->s.ca_file = c->ca_file;
	}
	pthread_mutex_init(&c->mu, NULL);
	*ret = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	free(c->ca_file);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static CURL *handle_take(struct http_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->mu);
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->mu);
	if (!h)
		h = curl_easy_init();
	else
		curl_easy_reset(h); /* keeps the connection, drops options */
	return h;
}

static void handle_give(struct http_client *c, CURL *h)
{
	pthread_mutex_lock(&c->mu);
	if (c->nidle == c->capidle) {
		size_t cap = c->capidle ? c->capidle * 2 : 8;
		CURL **p = realloc(c->idle, cap * sizeof *p);
		if (!p) {
			pthread_mutex_unlock(&c->mu);
			curl_easy_cleanup(h);
			return;
		}
		c->idle = p;
		c->capidle = cap;
	}
	c->idle[c->nidle++] = h;
	pthread_mutex_unlock(&c->mu);
}

/* ---- callbacks -------------------------------------------------------- */

struct xfer {
	const struct http_request *rq;
	struct http_response *rs;
	int nomem;
	const unsigned char *src;   /* multipart body source */
	size_t src_len, src_off;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (!x->rq->out)
		return n;
	if (buf_put(x->rq->out, p, n) < 0) {
		x->nomem = 1;
		return 0;
	}
	return n;
}

/* Retry-After is either seconds or an HTTP date. */
static long retry_after_parse(const char *v)
{
	while (*v == ' ')
		v++;
	if (isdigit((unsigned char)*v)) {
		long s = strtol(v, NULL, 10);
		return s > 3600 ? 3600000 : s * 1000;
	}
	time_t t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	long d = (long)(t - time(NULL));
	return d < 0 ? 0 : (d > 3600 ? 3600000 : d * 1000);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	char line[256];
	size_t m = n < sizeof line - 1 ? n : sizeof line - 1;
	memcpy(line, p, m);
	line[m] = 0;
	while (m && (line[m - 1] == '\r' || line[m - 1] == '\n'))
		line[--m] = 0;
	if (!strncmp(line, "HTTP/", 5)) {
		/* a new response (after 100 Continue or a redirect) */
		x->rs->retry_after_ms = -1;
		x->rs->content_length = -1;
		x->rs->etag[0] = 0;
		return n;
	}
	char *colon = strchr(line, ':');
	if (!colon)
		return n;
	*colon = 0;
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!strcasecmp(line, "retry-after"))
		x->rs->retry_after_ms = retry_after_parse(v);
	else if (!strcasecmp(line, "content-length"))
		x->rs->content_length = strtoll(v, NULL, 10);
	else if (!strcasecmp(line, "etag"))
		snprintf(x->rs->etag, sizeof x->rs->etag, "%s", v);
	return n;
}

static size_t on_form_read(char *p, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems, left = x->src_len - x->src_off;
	if (n > left)
		n = left;
	memcpy(p, x->src + x->src_off, n);
	x->src_off += n;
	return n;
}

static int on_form_seek(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;
	if (origin != SEEK_SET || off < 0 || (size_t)off > x->src_len)
		return CURL_SEEKFUNC_FAIL;
	x->src_off = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static int curl_rc(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK: return 0;
	case CURLE_OUT_OF_MEMORY: return CAIRN_E_NOMEM;
	case CURLE_OPERATION_TIMEDOUT: return CAIRN_E_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return CAIRN_E_UNREACHABLE;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL: return CAIRN_E_INVAL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE: return CAIRN_E_AUTH;
	default: return CAIRN_E_IO;
	}
}

int http_request_do(struct http_client *c, const struct http_request *rq,
		    struct http_response *rs)
{
	struct curl_slist *hdrs = NULL, *l;
	curl_mime *mime = NULL;
	struct xfer x = {.rq = rq, .rs = rs};
	int rc = 0;
	CURL *h = handle_take(c);
	if (!h)
		return CAIRN_E_NOMEM;
	memset(rs, 0, sizeof *rs);
	rs->retry_after_ms = -1;
	rs->content_length = -1;
	if (rq->out)
		rq->out->len = 0;

	for (size_t i = 0; i < rq->nheaders; i++) {
		if (!(l = curl_slist_append(hdrs, rq->headers[i])))
			goto nomem;
		hdrs = l;
	}
	/* no 100-continue round trip before each upload */
	if (!(l = curl_slist_append(hdrs, "Expect:")))
		goto nomem;
	hdrs = l;

	curl_easy_setopt(h, CURLOPT_URL, rq->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* the path is sent as signed: no "/./" or "/../" folding */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->s.connect_ms);
	if (c->s.stall_ms > 0) {
		long secs = (c->s.stall_ms + 999) / 1000;
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT,
				 c->s.min_speed > 0 ? c->s.min_speed : 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, secs);
	}
	if (c->s.ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->s.ca_file);
	if (c->s.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);

	if (!strcmp(rq->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (rq->form_field) {
		curl_mimepart *part;
		if (!(mime = curl_mime_init(h)) || !(part = curl_mime_addpart(mime)))
			goto nomem;
		x.src = rq->body;
		x.src_len = rq->body_len;
		curl_mime_name(part, rq->form_field);
		curl_mime_filename(part, rq->form_filename ? rq->form_filename
							   : "data");
		curl_mime_type(part, "application/octet-stream");
		curl_mime_data_cb(part, (curl_off_t)rq->body_len, on_form_read,
				  on_form_seek, NULL, &x);
		curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	} else if (rq->body || strcmp(rq->method, "GET")) {
		/* a body (possibly empty) sent with the method given */
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)rq->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 rq->body ? rq->body : "");
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	CURLcode cc = curl_easy_perform(h);
	if (x.nomem) {
		rc = CAIRN_E_NOMEM;
	} else if (cc != CURLE_OK) {
		rc = curl_rc(cc);
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
		if (rq->out && rs->content_length >= 0 &&
		    strcmp(rq->method, "HEAD") && rs->status / 100 == 2 &&
		    (uint64_t)rs->content_length != rq->out->len)
			rc = CAIRN_E_IO; /* short body */
	}
	goto out;
nomem:
	rc = CAIRN_E_NOMEM;
out:
	curl_slist_free_all(hdrs);
	curl_mime_free(mime);
	if (rc == 0 || rc == CAIRN_E_NOMEM)
		handle_give(c, h);
	else
		curl_easy_cleanup(h); /* its connection may be broken */
	if (rc < 0 && rq->out)
		rq->out->len = 0;
	return rc;
}

int http_status_rc(long status)
{
	if (status / 100 == 2)
		return 0;
	switch (status) {
	case 404: return CAIRN_E_NOTFOUND;
	case 409:
	case 412: return CAIRN_E_EXISTS;
	case 401:
	case 403: return CAIRN_E_AUTH;
	case 408:
	case 429: return CAIRN_E_REMOTE;
	case 507: return CAIRN_E_NOSPACE;
	default: return status / 100 == 5 ? CAIRN_E_REMOTE : CAIRN_E_PROTOCOL;
	}
}

int http_url_encode(const char *s, size_t n, int keep_slash, struct buf *out)
{
	static const char hexd[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int keep = (ch >= 'A' && ch <= 'Z') ||
			   (ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
			   ch == '~' || (keep_slash && ch == '/');
		char enc[3] = {'%', hexd[ch >> 4], hexd[ch & 15]};
		int rc = keep ? buf_put(out, &s[i], 1)
			      : buf_put(out, enc, 3);
		if (rc < 0)
			return rc;
	}
	return 0;
}
