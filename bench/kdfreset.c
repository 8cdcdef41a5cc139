/* kdfreset.c: LD_PRELOAD shim of bench/rsswatch.c that marks the end of
 * the key derivation in the measured process.
 *
 * libsodium maps the Argon2id memory with mmap and unmaps it when the key
 * is derived.  After the first munmap of at least RSSWATCH_KDF_BYTES
 * bytes, the shim appends the peak RSS so far (VmHWM, in KiB) to the
 * (existing) file named by RSSWATCH_KDF_FILE and resets the kernel's high-water mark
 * (writes 5 to /proc/self/clear_refs), so that the ru_maxrss the parent
 * gets from wait4 is the peak after the key derivation, exactly.  Every
 * other call is passed through unchanged.  It uses only system calls on
 * the stack: no malloc, no stdio.
 *
 * Linux only.  Not part of the CMake build; built by bench/prune.sh with
 *   cc -O2 -shared -fPIC bench/kdfreset.c -o kdfreset.so -ldl
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Exported: the interposed symbol. */
int munmap(void *addr, size_t len);

static int done;

/* Copies the VmHWM line's value (KiB, digits only) into out; its length. */
static size_t read_hwm(char *out, size_t cap)
{
	char buf[4096];
	const char *p, *end;
	ssize_t n;
	size_t k = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "VmHWM:");
	if (!p)
		return 0;
	for (p += 6; *p == ' ' || *p == '\t'; p++)
		;
	end = p;
	while (*end >= '0' && *end <= '9' && k + 1 < cap)
		out[k++] = *end++;
	return k;
}

/* Records VmHWM in RSSWATCH_KDF_FILE, then resets it: the file holds a
 * figure only when the reset was attempted. */
static void mark(void)
{
	const char *path = getenv("RSSWATCH_KDF_FILE");
	char hwm[32];
	size_t n = read_hwm(hwm, sizeof hwm - 1);
	ssize_t w;
	int fd;

	if (!path || !n)
		return;
	hwm[n++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	w = write(fd, hwm, n);
	close(fd);
	if (w != (ssize_t)n)
		return;
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	w = write(fd, "5", 1);
	(void)w; /* not reset: the parent sees the whole peak after the KDF */
	close(fd);
}

int munmap(void *addr, size_t len)
{
	static int (*real)(void *, size_t);
	const char *min;
	int rc;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "munmap");
	if (!real)
		return -1;
	rc = real(addr, len);
	if (rc == 0 && !__atomic_load_n(&done, __ATOMIC_RELAXED)) {
		min = getenv("RSSWATCH_KDF_BYTES");
		if (min && len >= strtoull(min, NULL, 10) &&
		    !__atomic_exchange_n(&done, 1, __ATOMIC_SEQ_CST))
			mark();
	}
	return rc;
}
