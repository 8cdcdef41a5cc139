/* local.c: a repository in a local directory.
 *
 * Layout as in docs/format.md section 2.  Writes go to ".tmp-<random>" in
 * the destination's directory, are fsynced, renamed without replacing
 * (renameat2 RENAME_NOREPLACE, so an existing object is never touched) and
 * the directory is fsynced: an object is either absent or whole and
 * durable.  Objects are made read-only.
 */
#include "backend.h"
#include "cairn_err.h"
#include "fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct local {
	struct backend base;
	char *root;
};

struct local_writer {
	struct backend_writer base;
	int fd;
	enum obj_type type;
	char tmp[PATH_MAX];
};

static int errno_rc(void) { return cairn_err_from_errno(errno); }

static int obj_dir(const struct local *l, enum obj_type t, const char *name,
		   char *out, size_t cap)
{
	int n;
	if (t == OBJ_CONFIG)
		n = snprintf(out, cap, "%s", l->root);
	else if (t == OBJ_PACK)
		n = snprintf(out, cap, "%s/data/%.2s", l->root, name);
	else
		n = snprintf(out, cap, "%s/%s", l->root, backend_type_dir(t));
	return n < 0 || (size_t)n >= cap ? CAIRN_E_RANGE : 0;
}

static int obj_path(const struct local *l, enum obj_type t, const char *name,
		    char *out, size_t cap)
{
	if (!backend_name_ok(t, name))
		return CAIRN_E_INVAL;
	char dir[PATH_MAX];
	int rc = obj_dir(l, t, name, dir, sizeof dir);
	if (rc < 0)
		return rc;
	int n = snprintf(out, cap, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= cap ? CAIRN_E_RANGE : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno_rc();
	int rc = fsync(fd) < 0 ? errno_rc() : 0;
	close(fd);
	return rc;
}

static int tmp_open(const char *dir, char *path, size_t cap, int *ret_fd)
{
	for (int tries = 0; tries < 8; tries++) {
		uint8_t r[8];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return CAIRN_E_IO;
		char hex[17];
		hex_encode(hex, r, 8);
		int n = snprintf(path, cap, "%s/.tmp-%s", dir, hex);
		if (n < 0 || (size_t)n >= cap)
			return CAIRN_E_RANGE;
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*ret_fd = fd;
			return 0;
		}
		if (errno != EEXIST)
			return errno_rc();
	}
	return CAIRN_E_IO;
}

/* fsync tmp, rename it to its final name without replacing, fsync the
 * directory.  Removes tmp on failure. */
static int commit_tmp(struct local *l, int fd, const char *tmp,
		      enum obj_type t, const char *name)
{
	char final[PATH_MAX], dir[PATH_MAX];
	int rc = obj_path(l, t, name, final, sizeof final);
	if (rc == 0)
		rc = obj_dir(l, t, name, dir, sizeof dir);
	if (rc == 0 && fchmod(fd, 0444) < 0)
		rc = errno_rc();
	if (rc == 0 && fsync(fd) < 0)
		rc = errno_rc();
	if (close(fd) < 0 && rc == 0)
		rc = errno_rc();
	if (rc == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, final,
				 RENAME_NOREPLACE) < 0) {
		if (errno == EINVAL || errno == ENOSYS) {
			/* filesystem without RENAME_NOREPLACE: link is
			 * create-only too */
			rc = link(tmp, final) < 0 ? errno_rc() : 0;
		} else {
			rc = errno_rc();
		}
	}
	unlink(tmp); /* no-op after a successful rename */
	if (rc == 0)
		rc = fsync_dir(dir);
	if (rc == 0 && t == OBJ_PACK) {
		/* the first pack in data/hh made the entry durable too */
		char top[PATH_MAX];
		snprintf(top, sizeof top, "%s/data", l->root);
		rc = fsync_dir(top);
	}
	return rc;
}

static int mkdir_p(const char *path);

static int local_put(struct backend *b, enum obj_type t, const char *name,
		     const void *p, size_t n)
{
	struct local *l = (struct local *)b;
	char dir[PATH_MAX], tmp[PATH_MAX];
	int fd = -1, rc;
	if (!backend_name_ok(t, name))
		return CAIRN_E_INVAL;
	rc = obj_dir(l, t, name, dir, sizeof dir);
	if (rc == 0)
		rc = tmp_open(dir, tmp, sizeof tmp, &fd);
	if (rc == CAIRN_E_NOTFOUND && t != OBJ_CONFIG) {
		/* a directory a newer writer added to an older layout */
		rc = mkdir_p(dir);
		if (rc == 0)
			rc = tmp_open(dir, tmp, sizeof tmp, &fd);
	}
	if (rc < 0)
		return rc;
	rc = fd_write_all(fd, p, n);
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	return commit_tmp(l, fd, tmp, t, name);
}

static int local_writer_open(struct backend *b, enum obj_type t,
			     struct backend_writer **ret)
{
	struct local *l = (struct local *)b;
	struct local_writer *w = calloc(1, sizeof *w);
	if (!w)
		return CAIRN_E_NOMEM;
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s/%s", l->root,
			 t == OBJ_CONFIG ? "" : backend_type_dir(t));
	int rc = n < 0 || (size_t)n >= sizeof dir ? CAIRN_E_RANGE : 0;
	if (rc == 0)
		rc = tmp_open(dir, w->tmp, sizeof w->tmp, &w->fd);
	if (rc < 0) {
		free(w);
		return rc;
	}
	w->base.b = b;
	w->type = t;
	*ret = &w->base;
	return 0;
}

static int local_writer_write(struct backend_writer *bw, const void *p,
			      size_t n)
{
	struct local_writer *w = (struct local_writer *)bw;
	return fd_write_all(w->fd, p, n);
}

static int local_writer_commit(struct backend_writer *bw, const char *name)
{
	struct local_writer *w = (struct local_writer *)bw;
	int rc = commit_tmp((struct local *)w->base.b, w->fd, w->tmp, w->type,
			    name);
	free(w);
	return rc;
}

static void local_writer_abort(struct backend_writer *bw)
{
	struct local_writer *w = (struct local_writer *)bw;
	close(w->fd);
	unlink(w->tmp);
	free(w);
}

static int local_get(struct backend *b, enum obj_type t, const char *name,
		     uint64_t off, uint64_t len, struct buf *out,
		     backend_verify_fn verify, void *vud)
{
	(void)verify; /* applied by the wrapper */
	(void)vud;
	struct local *l = (struct local *)b;
	char path[PATH_MAX];
	int rc = obj_path(l, t, name, path, sizeof path);
	if (rc < 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CAIRN_E_NOTFOUND : errno_rc();
	out->len = 0;
	if (len == BACKEND_TO_END) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			rc = errno_rc();
			goto out;
		}
		if ((uint64_t)st.st_size < off) {
			rc = CAIRN_E_CORRUPT;
			goto out;
		}
		len = (uint64_t)st.st_size - off;
	}
	if (len > SIZE_MAX / 2) {
		rc = CAIRN_E_RANGE;
		goto out;
	}
	TRY(buf_reserve(out, (size_t)len));
	while (out->len < len) {
		ssize_t r = pread(fd, out->p + out->len, (size_t)len - out->len,
				  (off_t)(off + out->len));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = errno_rc();
			goto out;
		}
		if (r == 0) {
			rc = CAIRN_E_CORRUPT; /* shorter than expected */
			goto out;
		}
		out->len += (size_t)r;
	}
out:
	close(fd);
	if (rc < 0)
		out->len = 0;
	return rc;
}

static int local_stat(struct backend *b, enum obj_type t, const char *name,
		      uint64_t *size)
{
	struct local *l = (struct local *)b;
	char path[PATH_MAX];
	int rc = obj_path(l, t, name, path, sizeof path);
	if (rc < 0)
		return rc;
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? CAIRN_E_NOTFOUND : errno_rc();
	*size = (uint64_t)st.st_size;
	return 0;
}

static int list_dir(const char *dir, enum obj_type t, backend_list_fn fn,
		    void *ud)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : errno_rc();
	int rc = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !backend_name_ok(t, e->d_name))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		rc = fn(ud, e->d_name, (uint64_t)st.st_size);
		if (rc < 0)
			break;
		errno = 0;
	}
	if (rc == 0 && errno)
		rc = errno_rc(); /* a listing error must never look empty */
	closedir(d);
	return rc;
}

static int local_list(struct backend *b, enum obj_type t, backend_list_fn fn,
		      void *ud)
{
	struct local *l = (struct local *)b;
	char dir[PATH_MAX];
	if (t == OBJ_CONFIG) {
		uint64_t size;
		int rc = local_stat(b, t, "config", &size);
		if (rc == CAIRN_E_NOTFOUND)
			return 0;
		return rc < 0 ? rc : fn(ud, "config", size);
	}
	if (t != OBJ_PACK) {
		snprintf(dir, sizeof dir, "%s/%s", l->root, backend_type_dir(t));
		return list_dir(dir, t, fn, ud);
	}
	for (int i = 0; i < 256; i++) {
		snprintf(dir, sizeof dir, "%s/data/%02x", l->root, i);
		int rc = list_dir(dir, t, fn, ud);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int local_remove(struct backend *b, enum obj_type t, const char *name)
{
	struct local *l = (struct local *)b;
	char path[PATH_MAX], dir[PATH_MAX];
	int rc = obj_path(l, t, name, path, sizeof path);
	if (rc == 0)
		rc = obj_dir(l, t, name, dir, sizeof dir);
	if (rc < 0)
		return rc;
	if (unlink(path) < 0)
		return errno == ENOENT ? CAIRN_E_NOTFOUND : errno_rc();
	return fsync_dir(dir);
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s", path);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return CAIRN_E_RANGE;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return errno_rc();
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return errno_rc();
	return 0;
}

static void local_close(struct backend *b)
{
	struct local *l = (struct local *)b;
	free(l->root);
	free(l);
}

static int local_open(const char *location, const struct backend_opts *o,
		      int create, struct backend **ret)
{
	(void)o;
	int rc = 0;
	if (!*location)
		return CAIRN_E_INVAL;
	struct local *l = calloc(1, sizeof *l);
	if (!l)
		return CAIRN_E_NOMEM;
	l->base.ops = &backend_local_ops;
	l->root = strdup(location);
	if (!l->root) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	size_t n = strlen(l->root);
	while (n > 1 && l->root[n - 1] == '/')
		l->root[--n] = 0;
	if (create) {
		static const char *const sub[] = {"keys", "snapshots", "index",
						  "data", "dicts", "marks"};
		char p[PATH_MAX];
		TRY(mkdir_p(l->root));
		for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
			snprintf(p, sizeof p, "%s/%s", l->root, sub[i]);
			TRY(mkdir_p(p));
		}
		for (int i = 0; i < 256; i++) {
			snprintf(p, sizeof p, "%s/data/%02x", l->root, i);
			TRY(mkdir_p(p));
		}
		TRY(fsync_dir(l->root));
	} else {
		struct stat st;
		if (stat(l->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
			rc = CAIRN_E_NOREPO;
			goto out;
		}
	}
	*ret = &l->base;
	return 0;
out:
	local_close(&l->base);
	return rc;
}

const struct backend_ops backend_local_ops = {
	.version = 1,
	.scheme = "local",
	.caps = BACKEND_CAP_RANGE_READ | BACKEND_CAP_STREAM_PUT |
		BACKEND_CAP_CONDITIONAL,
	.open = local_open,
	.close = local_close,
	.put = local_put,
	.writer_open = local_writer_open,
	.writer_write = local_writer_write,
	.writer_commit = local_writer_commit,
	.writer_abort = local_writer_abort,
	.get = local_get,
	.stat = local_stat,
	.list = local_list,
	.remove = local_remove,
};
