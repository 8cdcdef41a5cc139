/* cairn_err.c: texts for cairn error codes and errno mapping. */
#include "cairn_err.h"

#include <errno.h>

const char *cairn_strerror(int code)
{
	switch (code) {
	case CAIRN_OK: return "success";
	case CAIRN_E_NOMEM: return "out of memory";
	case CAIRN_E_IO: return "input/output error";
	case CAIRN_E_INVAL: return "invalid argument";
	case CAIRN_E_CORRUPT: return "data is corrupt (hash or authentication mismatch)";
	case CAIRN_E_NOTFOUND: return "not found";
	case CAIRN_E_EXISTS: return "already exists";
	case CAIRN_E_NOREPO: return "repository does not exist";
	case CAIRN_E_PASSWORD: return "wrong password or no key found";
	case CAIRN_E_LOCKED: return "repository is locked";
	case CAIRN_E_UNSUPPORTED: return "unsupported format version or feature";
	case CAIRN_E_NOSPACE: return "no space left on device";
	case CAIRN_E_INTERRUPTED: return "interrupted";
	case CAIRN_E_SOURCE: return "data source failed";
	case CAIRN_E_CRYPTO: return "cryptography library failure";
	case CAIRN_E_RANGE: return "value exceeds a format limit";
	case CAIRN_E_AMBIGUOUS: return "ambiguous snapshot ID prefix";
	case CAIRN_E_PARTIAL: return "some inputs could not be read";
	case CAIRN_E_UNSAFE: return "unsafe path refused";
	case CAIRN_E_CONFLICT: return "a concurrent prune removed data this operation needs; run it again";
	case CAIRN_E_TIMEOUT: return "the store did not answer in time";
	case CAIRN_E_REMOTE: return "the store reported a server error";
	case CAIRN_E_AUTH: return "the store refused the credentials";
	case CAIRN_E_PROTOCOL: return "the store gave an unexpected answer";
	case CAIRN_E_UNREACHABLE: return "cannot connect to the store";
	default: return "unknown error";
	}
}

int cairn_err_from_errno(int errnum)
{
	switch (errnum) {
	case 0: return CAIRN_E_IO;
	case ENOMEM: return CAIRN_E_NOMEM;
	case ENOENT: return CAIRN_E_NOTFOUND;
	case EEXIST: return CAIRN_E_EXISTS;
	case ENOSPC:
	case EDQUOT: return CAIRN_E_NOSPACE;
	case EINTR: return CAIRN_E_INTERRUPTED;
	case EINVAL: return CAIRN_E_INVAL;
	default: return CAIRN_E_IO;
	}
}
