/* source.c: the fd and command sources (see source.h). */
#include "source.h"
#include "cairn_err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct fd_source {
	struct source base;
	int fd;
	int own;
	pid_t pid;   /* command sources: the child, else 0 */
	int cancelled;
};

static char last_status[128];

const char *source_command_status(void) { return last_status; }

static int fd_read(struct source *s, void *p, size_t n, size_t *ret_n)
{
	struct fd_source *f = (struct fd_source *)s;
	for (;;) {
		ssize_t r = read(f->fd, p, n);
		if (r >= 0) {
			*ret_n = (size_t)r;
			return 0;
		}
		if (errno == EINTR)
			continue;
		s->err_errno = errno;
		return cairn_err_from_errno(errno);
	}
}

static int fd_close(struct source *s)
{
	struct fd_source *f = (struct fd_source *)s;
	int rc = 0;
	if (f->own && close(f->fd) < 0)
		rc = CAIRN_E_IO;
	free(f);
	return rc;
}

static const struct source_ops fd_ops = {"fd", fd_read, fd_close, NULL};

static int cmd_close(struct source *s)
{
	struct fd_source *f = (struct fd_source *)s;
	int status = 0, rc = 0;
	close(f->fd);
	if (f->cancelled) {
		/* a command that ignores the closed pipe must not hang us */
		kill(f->pid, SIGTERM);
		for (int i = 0; i < 50; i++) {
			pid_t w = waitpid(f->pid, &status, WNOHANG);
			if (w == f->pid)
				goto reaped;
			usleep(100000);
		}
		kill(f->pid, SIGKILL);
	}
	while (waitpid(f->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = CAIRN_E_SOURCE;
			snprintf(last_status, sizeof last_status,
				 "could not wait for command: %s", strerror(errno));
			goto out;
		}
	}
reaped:
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(last_status, sizeof last_status, "exited with status 0");
	} else if (WIFEXITED(status)) {
		rc = CAIRN_E_SOURCE;
		snprintf(last_status, sizeof last_status,
			 "command exited with status %d", WEXITSTATUS(status));
	} else {
		rc = CAIRN_E_SOURCE;
		snprintf(last_status, sizeof last_status,
			 "command killed by signal %d",
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
out:
	free(f);
	return rc;
}

static void cmd_cancel(struct source *s)
{
	((struct fd_source *)s)->cancelled = 1;
}

static const struct source_ops cmd_ops = {"command", fd_read, cmd_close,
					  cmd_cancel};

int source_fd_open(int fd, int own, struct source **ret)
{
	struct fd_source *f = calloc(1, sizeof *f);
	if (!f)
		return CAIRN_E_NOMEM;
	f->base.ops = &fd_ops;
	f->fd = fd;
	f->own = own;
	*ret = &f->base;
	return 0;
}

int source_command_open(char *const argv[], struct source **ret)
{
	int p[2], rc = 0;
	posix_spawn_file_actions_t fa;
	if (!argv || !argv[0])
		return CAIRN_E_INVAL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return cairn_err_from_errno(errno);
	struct fd_source *f = calloc(1, sizeof *f);
	if (!f) {
		close(p[0]);
		close(p[1]);
		return CAIRN_E_NOMEM;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	int e = posix_spawnp(&f->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e != 0) {
		snprintf(last_status, sizeof last_status,
			 "cannot start %s: %s", argv[0], strerror(e));
		close(p[0]);
		free(f);
		rc = CAIRN_E_SOURCE;
		return rc;
	}
	f->base.ops = &cmd_ops;
	f->fd = p[0];
	f->own = 1;
	*ret = &f->base;
	return 0;
}

int source_read(struct source *s, void *p, size_t n, size_t *ret_n)
{
	return s->ops->read(s, p, n, ret_n);
}

int source_read_full(struct source *s, void *p, size_t n, size_t *ret_n)
{
	size_t got = 0;
	while (got < n) {
		size_t r = 0;
		int rc = s->ops->read(s, (char *)p + got, n - got, &r);
		if (rc < 0)
			return rc;
		if (r == 0)
			break;
		got += r;
	}
	*ret_n = got;
	return 0;
}

int source_close(struct source *s)
{
	return s ? s->ops->close(s) : 0;
}

void source_cancel(struct source *s)
{
	if (!s)
		return;
	if (s->ops->cancel)
		s->ops->cancel(s);
	s->ops->close(s);
}
