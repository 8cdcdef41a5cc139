/* cairn_err.h: the one error convention of cairn.
 *
 * Every fallible function returns int: 0 on success, or a negative CAIRN_E_*
 * code.  Out-parameters are written only on success.  cairn_strerror() gives
 * a short English text for a code; it never returns NULL.
 */
#ifndef CAIRN_ERR_H
#define CAIRN_ERR_H

enum cairn_err {
	CAIRN_OK = 0,
	CAIRN_E_NOMEM = -1,       /* allocation failed */
	CAIRN_E_IO = -2,          /* an I/O call failed; see errno where kept */
	CAIRN_E_INVAL = -3,       /* invalid argument or usage */
	CAIRN_E_CORRUPT = -4,     /* hash mismatch, bad MAC, malformed object */
	CAIRN_E_NOTFOUND = -5,    /* object, snapshot or path does not exist */
	CAIRN_E_EXISTS = -6,      /* create-only target already exists */
	CAIRN_E_NOREPO = -7,      /* no repository at the given location */
	CAIRN_E_PASSWORD = -8,    /* no key file opens with this password */
	CAIRN_E_LOCKED = -9,      /* repository is held by another process */
	CAIRN_E_UNSUPPORTED = -10,/* unknown format version or feature */
	CAIRN_E_NOSPACE = -11,    /* no space left on the store */
	CAIRN_E_INTERRUPTED = -12,/* interrupted by a signal */
	CAIRN_E_SOURCE = -13,     /* the data source failed (command exit != 0) */
	CAIRN_E_CRYPTO = -14,     /* the crypto library could not initialise */
	CAIRN_E_RANGE = -15,      /* a size or count exceeds a format limit */
	CAIRN_E_AMBIGUOUS = -16,  /* a snapshot ID prefix matches several */
	CAIRN_E_PARTIAL = -17,    /* done, but some inputs could not be read */
	CAIRN_E_UNSAFE = -18,     /* refused: entry would escape the target */
	CAIRN_E_CONFLICT = -19,   /* a concurrent prune removed what this run needs */
	CAIRN_E_TIMEOUT = -20,    /* a store did not answer, or stalled, in time */
	CAIRN_E_REMOTE = -21,     /* a store failed the request (HTTP 5xx, 429) */
	CAIRN_E_AUTH = -22,       /* a store refused the credentials */
	CAIRN_E_PROTOCOL = -23,   /* a store answered something unexpected */
	CAIRN_E_UNREACHABLE = -24,/* no connection to a store (refused, no route,
				   * name not resolved) */
};

const char *cairn_strerror(int code);

/* Maps an errno value to the nearest cairn code (ENOSPC -> NOSPACE, ...). */
int cairn_err_from_errno(int errnum);

/* TRY(expr): evaluate, and on a negative result jump to `out` with rc set.
 * The function must declare `int rc` and an `out:` label. */
#define TRY(expr)                                                              \
	do {                                                                   \
		rc = (expr);                                                   \
		if (rc < 0)                                                    \
			goto out;                                              \
	} while (0)

#endif
