/* http.h: HTTP requests over libcurl for the network stores (s3.c,
 * ipfs.c).
 *
 * A client keeps a pool of libcurl handles so that connections are reused
 * across requests and threads (one request per handle at a time).  It
 * applies the connect and stall timeouts and TLS settings to every request.
 * It does not retry: that is the store wrappers' job (backend.c), which
 * need to know why a request failed:
 *   - a response arrived (any status): 0, status in the response;
 *   - no connection (refused, no route, name unknown): CAIRN_E_UNREACHABLE;
 *   - reset, short body: CAIRN_E_IO;
 *   - connect timeout, or the transfer stalled: CAIRN_E_TIMEOUT.
 */
#ifndef CAIRN_HTTP_H
#define CAIRN_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct http_client;

struct http_settings {
	long connect_ms;        /* connect timeout */
	long stall_ms;          /* cut a transfer slower than min_speed ... */
	long min_speed;         /* ... bytes per second for stall_ms */
	const char *ca_file;    /* NULL: the system's CA bundle */
	int insecure;           /* 1: no TLS verification (tests only) */
};

int http_client_new(const struct http_settings *s, struct http_client **ret);
void http_client_free(struct http_client *c);

struct http_request {
	const char *method;          /* "GET", "PUT", "HEAD", ... */
	const char *url;             /* complete and already encoded */
	const char *const *headers;  /* "Name: value" lines */
	size_t nheaders;
	const void *body;            /* request body, or NULL */
	size_t body_len;
	/* When form_field is set, the body is sent as the one file part of a
	 * multipart/form-data request (the IPFS RPC API's uploads). */
	const char *form_field;
	const char *form_filename;
	struct buf *out;             /* response body; NULL discards it */
};

struct http_response {
	long status;
	long retry_after_ms;         /* from Retry-After; -1 when absent */
	int64_t content_length;      /* -1 when absent */
	char etag[80];               /* "" when absent */
};

/* Performs rq.  See the top of this file for the results. */
int http_request_do(struct http_client *c, const struct http_request *rq,
		    struct http_response *rs);

/* The cairn code for an HTTP status: 2xx 0, 404 CAIRN_E_NOTFOUND,
 * 409/412 CAIRN_E_EXISTS, 401/403 CAIRN_E_AUTH, 408/429/5xx
 * CAIRN_E_REMOTE (transient), anything else CAIRN_E_PROTOCOL. */
int http_status_rc(long status);

/* Percent-encodes s per RFC 3986 (unreserved characters kept, '/' kept
 * when keep_slash), appending to out. */
int http_url_encode(const char *s, size_t n, int keep_slash, struct buf *out);

#endif
