/* fdio.c: see fdio.h. */
#include "fdio.h"
#include "cairn_err.h"

#include <errno.h>
#include <unistd.h>

int fd_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *s = p;
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return cairn_err_from_errno(errno);
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *s = p;
	while (n) {
		ssize_t w = pwrite(fd, s, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return cairn_err_from_errno(errno);
		}
		s += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}
