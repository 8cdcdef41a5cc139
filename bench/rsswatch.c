/* rsswatch.c: run a command and report its wall time, CPU time, peak RSS,
 * and its peak RSS after the key derivation.
 *
 * Every cairn command that opens a repository derives the key with
 * Argon2id at 256 MiB or more (docs/format.md 4), so its peak RSS, as
 * /usr/bin/time reports it, is that figure whatever the command does after.
 * To see the memory of the work itself, rsswatch preloads the shim
 * bench/kdfreset.c into the command: when the Argon2 memory is unmapped,
 * the shim records the peak so far and resets the kernel's high-water
 * mark, and wait4's ru_maxrss then returns the peak after the key
 * derivation, exactly, even for a command that exits a millisecond later.
 * Without a shim, or when no mapping that large is ever unmapped (restic,
 * a statically linked binary), both figures are the whole peak.
 *
 * usage: rsswatch [-s SHIM.so [-k KDF_MIB]] [-p LIB]... [-t TIMEOUT_S]
 *                 [-o FILE] -- CMD [ARG...]
 *   -s  the kdfreset.so shim to preload
 *   -k  size of the KDF memory in MiB (default 256); the shim resets after
 *       the first munmap of at least 90% of it
 *   -p  preload LIB too (after the shim; e.g. libfaketime)
 *   -t  send SIGTERM after TIMEOUT_S seconds, SIGKILL 10 s later
 *   -o  append the result line to FILE instead of stderr
 * Result line: "wall_s user_s sys_s peak_kib work_kib status"; status is
 * the exit status, 128+N after signal N, 124 after the timeout.  rsswatch
 * exits with that status (125 when it cannot run the command).
 *
 * Linux only.  Not part of the CMake build; built by bench/prune.sh with
 *   cc -O2 bench/rsswatch.c -o rsswatch
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KILL_GRACE_S 10
#define MAX_PRELOAD 8

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: rsswatch [-s SHIM.so [-k KDF_MIB]] [-p LIB]... "
		"[-t TIMEOUT_S] [-o FILE] -- CMD [ARG...]\n");
	exit(125);
}

/* Sets LD_PRELOAD to the n libraries, then what it held before. */
static int set_preload(const char **lib, int n)
{
	const char *old = getenv("LD_PRELOAD");
	size_t len = old ? strlen(old) + 1 : 1;
	char *v;
	int i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		len += strlen(lib[i]) + 1;
	v = malloc(len);
	if (!v)
		return -1;
	v[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(v, lib[i]);
		strcat(v, ":");
	}
	if (old)
		strcat(v, old);
	else
		v[strlen(v) - 1] = '\0';
	return setenv("LD_PRELOAD", v, 1);
}

/* The KiB figure the shim wrote to path, or -1. */
static long read_kdf_file(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	const char *preload[MAX_PRELOAD], *out = NULL, *shim = NULL;
	char kdf_file[] = "/tmp/rsswatch.XXXXXX", bytes[32];
	long kdf_mib = 256, hwm_kdf = -1;
	int opt, st, status, fd, npre = 1, timeout = 0;
	struct sigaction sa;
	struct rusage ru;
	double t0;
	pid_t pid;
	FILE *f;

	while ((opt = getopt(argc, argv, "+s:k:p:t:o:")) != -1) {
		switch (opt) {
		case 's':
			shim = optarg;
			break;
		case 'k':
			kdf_mib = atol(optarg);
			break;
		case 'p':
			if (npre == MAX_PRELOAD)
				usage();
			preload[npre++] = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	if (shim && kdf_mib > 0) {
		fd = mkstemp(kdf_file);
		if (fd < 0) {
			perror("rsswatch: mkstemp");
			return 125;
		}
		close(fd);
		preload[0] = shim;
		snprintf(bytes, sizeof bytes, "%ld", (kdf_mib << 20) / 10 * 9);
		setenv("RSSWATCH_KDF_BYTES", bytes, 1);
		setenv("RSSWATCH_KDF_FILE", kdf_file, 1);
	} else {
		kdf_file[0] = '\0';
		preload[0] = NULL;
	}
	if (set_preload(preload + !preload[0], npre - !preload[0]) < 0) {
		perror("rsswatch: LD_PRELOAD");
		return 125;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("rsswatch: fork");
		return 125;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "rsswatch: %s: %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	if (timeout > 0)
		alarm((unsigned)timeout);
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rsswatch: wait4");
			return 125;
		}
		if (!alarms)
			continue;
		/* first alarm: SIGTERM; KILL_GRACE_S later: SIGKILL */
		kill(pid, alarms == 1 ? SIGTERM : SIGKILL);
		if (alarms == 1)
			alarm(KILL_GRACE_S);
	}
	status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (alarms)
		status = 124;
	if (kdf_file[0]) {
		hwm_kdf = read_kdf_file(kdf_file);
		unlink(kdf_file);
	}
	f = out ? fopen(out, "a") : stderr;
	if (!f) {
		perror(out);
		return 125;
	}
	fprintf(f, "%.3f %.2f %.2f %ld %ld %d\n", now() - t0, tv_s(ru.ru_utime),
		tv_s(ru.ru_stime),
		hwm_kdf > ru.ru_maxrss ? hwm_kdf : ru.ru_maxrss, ru.ru_maxrss,
		status);
	if (out)
		fclose(f);
	return status;
}
