/* sigv4.h: AWS Signature Version 4 (AWS4-HMAC-SHA256), as a pure function
 * of a request description: no I/O, no clock, no logging.  The S3 store
 * describes each request it is about to send and gets back the value of its
 * Authorization header (or, for a presigned URL, the query string to send).
 *
 * What gets signed is the canonical request:
 *   METHOD \n CANONICAL-PATH \n CANONICAL-QUERY \n
 *   one "name:value\n" per header name \n SIGNED-HEADERS \n PAYLOAD-HASH
 * with header names lower-cased and sorted, values trimmed with inner runs
 * of white space (including folded line breaks) made one space, repeated
 * names joined into one line with ',' in the order given; the query split
 * on '&', each key and value percent-decoded then re-encoded per RFC 3986
 * (space is %20, never '+'), sorted by key then value, "key" written
 * "key=".  The string to sign is
 *   AWS4-HMAC-SHA256 \n AMZ-DATE \n DATE/REGION/SERVICE/aws4_request \n
 *   hex(SHA-256(canonical request))
 * and the key is the HMAC-SHA256 chain "AWS4"+secret, DATE, REGION, SERVICE,
 * "aws4_request".  Derived keys live on the stack and are wiped before any
 * function returns; nothing here keeps or prints a secret.
 *
 * Output: every function that takes `struct buf *out` appends to it and
 * keeps a NUL just past out->len (so out->p is a C string when out started
 * empty).  On error out->len is as it was on entry.  Errors: CAIRN_E_INVAL
 * for a malformed argument (see each function), CAIRN_E_NOMEM,
 * CAIRN_E_CRYPTO if libsodium cannot initialise.
 *
 * For an S3 client (flags SIGV4_S3):
 *   path   = "/" bucket "/" sigv4_uri_encode(key, keep_slash=1)
 *            (or "/" + encoded key for virtual-hosted style); send exactly
 *            this path on the wire;
 *   query  = "k=v&..." with each k and v from sigv4_uri_encode(.., 0);
 *            the wire query may be in any order (the signer sorts);
 *   headers: at least host (as sent, with ":port" when not the default),
 *            x-amz-date (== amz_date) and x-amz-content-sha256
 *            (== payload_hash), plus x-amz-security-token with temporary
 *            credentials, and any other header that must not be altered
 *            in transit (range, content-md5, if-none-match, ...).  Headers
 *            not given here may be sent unsigned.
 */
#ifndef CAIRN_SIGV4_H
#define CAIRN_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Payload hash of a body that is not signed (S3 only, typically presigned
 * URLs or when TLS protects the body), and the hash of an empty body. */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256                                                    \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Length of an amz_date "YYYYMMDDTHHMMSSZ" and of a hex signature. */
#define SIGV4_DATE_LEN 16
#define SIGV4_SIG_HEX_LEN 64

/* Longest secret key accepted (AWS secrets are 40 characters). */
#define SIGV4_SECRET_MAX 256

struct sigv4_header {
	const char *name;   /* any case; no white space, ':' or control bytes */
	const char *value;  /* raw value; trimmed and folded by the signer */
};

struct sigv4_request {
	const char *method;        /* "GET", "PUT", ... */
	/* The path.  SIGV4_S3: exactly as sent on the wire, already
	 * percent-encoded (only unreserved bytes, '/' and %XX triplets are
	 * accepted, anything else is CAIRN_E_INVAL because S3 would
	 * canonicalise it differently).  SIGV4_ENCODE_PATH: the path as
	 * sent, which the signer encodes once more ('%' becomes %25).
	 * "" means "/". */
	const char *path;
	const char *query;         /* raw query as sent, no '?'; NULL or "" */
	/* The headers to sign.  A header named "host" is required. */
	const struct sigv4_header *headers;
	size_t nheaders;
	/* Lower-case hex SHA-256 of the body, SIGV4_UNSIGNED_PAYLOAD, or
	 * another literal the service defines (S3 streaming uploads). */
	const char *payload_hash;
};

struct sigv4_creds {
	const char *access_key;
	const char *secret_key;    /* at most SIGV4_SECRET_MAX bytes */
	const char *region;        /* "us-east-1" */
	const char *service;       /* "s3" */
};

/* Path rules.  S3 uses the path as sent: encoded once, never normalised
 * (an object "a//b/../c" is a different key from "a/c").  Other services
 * use both bits (SIGV4_NORMALIZE), the rules of the official test suite. */
enum sigv4_flags {
	SIGV4_S3 = 0,
	SIGV4_ENCODE_PATH = 1,     /* percent-encode the path a second time */
	SIGV4_NORMALIZE_PATH = 2,  /* drop "." and ".." segments and empty
				      segments (collapse "//") first */
	SIGV4_NORMALIZE = SIGV4_ENCODE_PATH | SIGV4_NORMALIZE_PATH,
};

/* Appends the canonical request of rq (no trailing newline).
 * CAIRN_E_INVAL: a NULL or empty method, NULL payload_hash, a bad path
 * (see struct sigv4_request), a bad header name, no host header. */
int sigv4_canonical_request(const struct sigv4_request *rq, unsigned flags,
			    struct buf *out);

/* Appends the string to sign for rq at amz_date ("20150830T123600Z").
 * Meant for diagnosing SignatureDoesNotMatch (servers often echo theirs).
 * CAIRN_E_INVAL also for a malformed amz_date or empty region/service. */
int sigv4_string_to_sign(const struct sigv4_creds *c, const char *amz_date,
			 const struct sigv4_request *rq, unsigned flags,
			 struct buf *out);

/* Appends the value of the Authorization header:
 *   AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request,
 *   SignedHeaders=a;b;c, Signature=<64 lower-case hex>
 * (one line; ", " between the parts).  rq must carry an x-amz-date header
 * equal to amz_date, else CAIRN_E_INVAL: a request whose date differs from
 * the signing date can never verify. */
int sigv4_authorization(const struct sigv4_creds *c, const char *amz_date,
			const struct sigv4_request *rq, unsigned flags,
			struct buf *out);

/* Query-string signing (a presigned URL valid for expires seconds,
 * 1..604800).  Appends the complete query to send after '?': rq->query as
 * given, then X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-Security-Token (only when session_token is not NULL) and
 * X-Amz-SignedHeaders, all signed, then X-Amz-Signature last.  rq->headers
 * are the headers the URL's user must send (at least host); they must not
 * include x-amz-date.  S3 uses payload_hash SIGV4_UNSIGNED_PAYLOAD. */
int sigv4_presign(const struct sigv4_creds *c, const char *amz_date,
		  uint32_t expires, const char *session_token,
		  const struct sigv4_request *rq, unsigned flags,
		  struct buf *out);

/* Appends s[0..n) percent-encoded per RFC 3986: A-Z a-z 0-9 - _ . ~ are
 * kept, every other byte becomes %XX (upper-case hex), so space is %20 and
 * '+' is %2B; '/' is kept when keep_slash (object keys in a path). */
int sigv4_uri_encode(const char *s, size_t n, int keep_slash, struct buf *out);

/* Writes unix_time as an amz_date "YYYYMMDDTHHMMSSZ" (UTC) and a NUL into
 * dst.  CAIRN_E_RANGE outside years 1970..9999. */
int sigv4_amz_date(int64_t unix_time, char dst[SIGV4_DATE_LEN + 1]);

#endif
