/* source.h: byte streams that a backup reads: an open file descriptor
 * (stdin, a regular file) or the standard output of a command.  One ops
 * table per kind, behind source_read()/source_close().
 *
 * The contract that matters for correctness is source_close(): it returns
 * the stream's final verdict.  A command that exits non-zero, or is killed,
 * makes close return CAIRN_E_SOURCE even when every read succeeded, so that
 * a failed dump never becomes a snapshot.
 */
#ifndef CAIRN_SOURCE_H
#define CAIRN_SOURCE_H

#include <stddef.h>
#include <sys/types.h>

struct source;

struct source_ops {
	const char *name;
	/* Reads up to n bytes; *ret_n = 0 at end of stream. */
	int (*read)(struct source *s, void *p, size_t n, size_t *ret_n);
	/* Releases the source and gives the verdict (see above). */
	int (*close)(struct source *s);
	/* Optional: makes the producer stop (a command gets SIGTERM, then
	 * SIGKILL after a grace period, when closed).  Called before close
	 * when the backup is abandoned. */
	void (*cancel)(struct source *s);
};

struct source {
	const struct source_ops *ops;
	int err_errno;            /* errno of the last failed read, if any */
};

/* Wraps fd; own: close it in source_close. */
int source_fd_open(int fd, int own, struct source **ret);
/* Starts argv[0] (searched in PATH) with stdout to a pipe; stdin is
 * /dev/null, stderr is inherited. */
int source_command_open(char *const argv[], struct source **ret);

/* Reads until n bytes or end of stream (short only at the end). */
int source_read_full(struct source *s, void *p, size_t n, size_t *ret_n);
int source_read(struct source *s, void *p, size_t n, size_t *ret_n);
int source_close(struct source *s);
/* Abandons the stream: stops its producer, then closes it. */
void source_cancel(struct source *s);

/* For diagnostics: exit status text of the last closed command (static). */
const char *source_command_status(void);

#endif
