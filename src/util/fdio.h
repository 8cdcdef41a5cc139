/* fdio.h: whole writes on file descriptors, retried on EINTR and short
 * writes; errors come back as cairn codes (ENOSPC -> CAIRN_E_NOSPACE). */
#ifndef CAIRN_FDIO_H
#define CAIRN_FDIO_H

#include <stddef.h>
#include <stdint.h>

int fd_write_all(int fd, const void *p, size_t n);
int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off);

#endif
