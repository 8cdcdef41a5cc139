/* restore.c: restore a snapshot into a directory, and dump one file.
 *
 * Safety: the target is walked with directory file descriptors only.
 * Every entry is created relative to its parent's fd with O_NOFOLLOW /
 * AT_SYMLINK_NOFOLLOW, names are checked by tree_node_name_ok() (no "/",
 * NUL, "." or ".."), and symlinks are only ever created as leaves, never
 * followed.  So no entry of a snapshot, however hostile, can write outside
 * the target; a bad entry is reported and skipped, and its siblings are
 * restored.
 *
 * Speed: file contents are restored by worker threads, one job per blob
 * (read, decrypt, decompress, verify, pwrite at its offset); all-zero
 * blobs are skipped so that sparse files stay sparse.  From remote stores,
 * jobs are queued in batches sorted by pack and offset, so that each
 * window of a pack is fetched once per batch whatever order the files
 * are in (deduplication against older snapshots, prune's repacking and
 * parallel backup workers all scatter a snapshot's blobs); a batch ends
 * at RS_BATCH_JOBS jobs or when it holds half the descriptors allowed.  Directory metadata
 * is applied last, deepest first, so that writing files does not disturb
 * directory mtimes.
 */
#include "repo_internal.h"

#include "fdio.h"
#include "snapshot.h"
#include "tree.h"
#include "workq.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <zstd.h>

#define RESTORE_MAX_DEPTH 4096

struct rs_file {
	int fd;
	char *path;             /* relative to target, for messages */
	uint8_t (*verify_ids)[32];  /* content ids, kept only with --verify */
	uint64_t *verify_lens;
	struct tree_node meta;  /* times, mode, owner to apply at the end */
	unsigned pending;       /* jobs not yet done, guarded by rs.mu */
	int failed;
};

struct rs_job {
	struct rs_file *f;
	uint8_t id[32];
	uint64_t offset;
	uint64_t raw_length;
};

struct rs_dirmeta {
	char *relpath;     /* relative to target, reopened strictly beneath it */
	struct tree_node meta;
};

struct hardlink {
	uint64_t device, inode;
	char *relpath;     /* first restored path, relative to target */
};

struct rs {
	struct repo *r;
	const struct restore_opts *o;
	struct restore_result *res;
	struct workq *q;
	pthread_mutex_t mu;
	int target_fd;
	int is_root;
	struct rs_dirmeta *dirs;
	size_t ndirs, capdirs;
	struct hardlink *links;
	size_t nlinks, caplinks;
	unsigned depth;
	/* batches in pack order (remote stores only) */
	int batching;
	struct rs_jobctx **batch;
	size_t nbatch, capbatch;
	size_t batch_files, batch_files_max;
	uint64_t batch_bytes;
};

#define RS_BATCH_JOBS 8192
#ifndef RS_BATCH_BYTES
#define RS_BATCH_BYTES (64u << 20)
#endif

struct rs_worker {
	struct blob_reader rd;
	struct buf out;
};

static void *rs_worker_new(void *ud, int i)
{
	(void)ud;
	(void)i;
	struct rs_worker *w = calloc(1, sizeof *w);
	if (w && blob_reader_init(&w->rd) < 0) {
		free(w);
		w = NULL;
	}
	return w;
}

static void rs_worker_free(void *state)
{
	struct rs_worker *w = state;
	blob_reader_free(&w->rd);
	buf_free(&w->out);
	free(w);
}

static void rs_error(struct rs *rs, const char *path, int code,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void rs_error(struct rs *rs, const char *path, int code,
		     const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&rs->mu);
	rs->res->errors++;
	pthread_mutex_unlock(&rs->mu);
	repo_emit(rs->o->on_event, rs->o->event_ud, EV_ERROR, path, code, "%s",
		  msg);
}

static void apply_meta_fd(struct rs *rs, int fd, const struct tree_node *m)
{
	if (rs->is_root && fchown(fd, m->uid, m->gid) < 0) {
		/* best effort: reported nowhere, ownership is advisory */
	}
	fchmod(fd, m->mode & 07777);
	struct timespec ts[2] = {
		{m->mtime_sec, m->mtime_nsec},
		{m->mtime_sec, m->mtime_nsec},
	};
	futimens(fd, ts);
}

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[4096];
	while (n >= sizeof zero) {
		if (memcmp(p, zero, sizeof zero))
			return 0;
		p += sizeof zero;
		n -= sizeof zero;
	}
	return !memcmp(p, zero, n);
}

/* Writes a blob at off, skipping runs of zero blocks: the file was created
 * empty, so what is not written reads as zeros and stays a hole. */
#define SPARSE_BLOCK 4096
static int write_sparse(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	size_t i = 0;
	while (i < n) {
		size_t b = n - i < SPARSE_BLOCK ? n - i : SPARSE_BLOCK;
		if (all_zero(p + i, b)) {
			i += b;
			continue;
		}
		size_t start = i;
		while (i < n) {
			b = n - i < SPARSE_BLOCK ? n - i : SPARSE_BLOCK;
			if (all_zero(p + i, b))
				break;
			i += b;
		}
		int rc = fd_pwrite_all(fd, p + start, i - start, off + start);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Removes a file whose content could not be restored, so that no wrong
 * file is left under the real name.  rel is relative to the target and
 * resolved strictly beneath it. */
static int open_beneath(int dirfd, const char *rel, int flags);
static void rs_file_remove(struct rs *rs, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	if (!slash) {
		unlinkat(rs->target_fd, rel, 0);
		return;
	}
	char *dir = strndup(rel, (size_t)(slash - rel));
	int pfd = dir ? open_beneath(rs->target_fd, dir,
				     O_DIRECTORY | O_RDONLY | O_CLOEXEC)
		      : -1;
	if (pfd >= 0) {
		unlinkat(pfd, slash + 1, 0);
		close(pfd);
	}
	free(dir);
}

/* Reads the restored file back and checks every blob's ID. */
static int rs_file_verify(struct rs *rs, struct rs_file *f)
{
	struct buf b = BUF_INIT;
	uint64_t off = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < f->meta.ncontent; i++) {
		size_t n = (size_t)f->verify_lens[i];
		b.len = 0;
		rc = buf_reserve(&b, n ? n : 1);
		if (rc < 0)
			break;
		ssize_t r = pread(f->fd, b.p, n, (off_t)off);
		if (r < 0 || (size_t)r != n) {
			rc = CAIRN_E_IO;
			break;
		}
		uint8_t id[32];
		crypto_chunk_id(rs->r->keys, b.p, n, id);
		if (memcmp(id, f->verify_ids[i], 32) != 0)
			rc = CAIRN_E_CORRUPT;
		off += n;
	}
	buf_free(&b);
	return rc;
}

/* Called with the last reference: sets size and metadata, closes. */
static void rs_file_done(struct rs *rs, struct rs_file *f)
{
	if (!f->failed) {
		if (ftruncate(f->fd, (off_t)f->meta.size) < 0) {
			rs_error(rs, f->path, CAIRN_E_IO, "cannot set size: %s",
				 strerror(errno));
		} else if (f->verify_ids && rs_file_verify(rs, f) < 0) {
			rs_error(rs, f->path, CAIRN_E_CORRUPT, "%s",
				 "verification failed: restored content differs");
		} else {
			apply_meta_fd(rs, f->fd, &f->meta);
			pthread_mutex_lock(&rs->mu);
			rs->res->files++;
			rs->res->bytes += f->meta.size;
			pthread_mutex_unlock(&rs->mu);
			close(f->fd);
			goto done;
		}
	}
	/* failed: reported already; leave no wrong file behind */
	close(f->fd);
	rs_file_remove(rs, f->path);
done:
	free(f->verify_ids);
	free(f->verify_lens);
	free(f->path);
	free(f);
}

static void rs_file_unref(struct rs *rs, struct rs_file *f)
{
	pthread_mutex_lock(&rs->mu);
	unsigned left = --f->pending;
	pthread_mutex_unlock(&rs->mu);
	if (!left)
		rs_file_done(rs, f);
}

struct rs_jobctx {
	struct rs *rs;
	struct rs_job job;
	uint32_t pack;          /* where the blob is, for batch order */
	uint64_t pack_off;
};

static void rs_job_run(void *arg, void *state)
{
	struct rs_jobctx *jc = arg;
	struct rs *rs = jc->rs;
	struct rs_job *j = &jc->job;
	struct rs_worker *w = state;
	int rc = w ? 0 : CAIRN_E_NOMEM;
	int failed;
	pthread_mutex_lock(&rs->mu);
	failed = j->f->failed;
	pthread_mutex_unlock(&rs->mu);
	if (rc == 0 && !failed)
		rc = repo_blob_read(rs->r, &w->rd, j->id, BLOB_DATA, &w->out);
	if (rc == 0 && !failed && w->out.len != j->raw_length)
		rc = CAIRN_E_CORRUPT;
	if (rc == 0 && !failed)
		rc = write_sparse(j->f->fd, w->out.p, w->out.len, j->offset);
	if (rc < 0 && !failed) {
		pthread_mutex_lock(&rs->mu);
		int first = !j->f->failed;
		j->f->failed = 1;
		pthread_mutex_unlock(&rs->mu);
		if (first)
			rs_error(rs, j->f->path, rc, "cannot restore content: %s",
				 cairn_strerror(rc));
	}
	rs_file_unref(rs, j->f);
	free(jc);
}

static int jc_cmp(const void *a, const void *b)
{
	const struct rs_jobctx *x = *(struct rs_jobctx *const *)a;
	const struct rs_jobctx *y = *(struct rs_jobctx *const *)b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->pack_off < y->pack_off ? -1 : x->pack_off > y->pack_off;
}

/* Queues the batch, sorted by pack and offset. */
static void rs_batch_flush(struct rs *rs)
{
	if (rs->nbatch)
		qsort(rs->batch, rs->nbatch, sizeof *rs->batch, jc_cmp);
	for (size_t i = 0; i < rs->nbatch; i++)
		workq_push(rs->q, rs_job_run, rs->batch[i]);
	rs->nbatch = 0;
	rs->batch_files = 0;
	rs->batch_bytes = 0;
}

/* Queues a job now, or into the batch. */
static void rs_job_queue(struct rs *rs, struct rs_jobctx *jc)
{
	if (!rs->batching) {
		workq_push(rs->q, rs_job_run, jc);
		return;
	}
	if (rs->nbatch == RS_BATCH_JOBS)
		rs_batch_flush(rs);
	if (rs->nbatch == rs->capbatch) {
		size_t cap = rs->capbatch ? rs->capbatch * 2 : 1024;
		void *p = realloc(rs->batch, cap * sizeof *rs->batch);
		if (!p) {
			rs_batch_flush(rs);
			workq_push(rs->q, rs_job_run, jc);
			return;
		}
		rs->batch = p;
		rs->capbatch = cap;
	}
	rs->batch[rs->nbatch++] = jc;
}

static int path_selected(const struct restore_opts *o, const char *rel,
			 int is_dir)
{
	char abs[8192];
	snprintf(abs, sizeof abs, "/%s", rel);
	for (const char *const *x = o->exclude; x && *x; x++)
		if (!fnmatch(*x, abs, 0) || !fnmatch(*x, strrchr(abs, '/') + 1, 0))
			return 0;
	if (!o->include || !*o->include)
		return 1;
	for (const char *const *i = o->include; *i; i++) {
		if (!fnmatch(*i, abs, 0) || !fnmatch(*i, strrchr(abs, '/') + 1, 0))
			return 1;
		/* a directory on the way to an included path; a pattern
		 * without '/' matches names at any depth */
		if (is_dir && (!strchr(*i, '/') ||
			       !fnmatch(*i, abs, FNM_LEADING_DIR)))
			return 1;
		size_t l = strlen(abs);
		if (is_dir && !strncmp(*i, abs, l) && (*i)[l] == '/')
			return 1;
	}
	return 0;
}

/* Removes whatever non-directory is at name, so that the new entry is
 * created fresh (never through an existing symlink). */
static void clear_entry(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode))
		unlinkat(dirfd, name, 0);
}

static int open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how = {.flags = (uint64_t)flags,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
}

static int rs_hardlink(struct rs *rs, const struct tree_node *nd, int dirfd,
		       const char *rel)
{
	for (size_t i = 0; i < rs->nlinks; i++) {
		struct hardlink *h = &rs->links[i];
		if (h->device != nd->device || h->inode != nd->inode)
			continue;
		/* link to the first copy, resolved strictly inside target */
		char *slash = strrchr(h->relpath, '/');
		int pfd = rs->target_fd;
		const char *leaf = h->relpath;
		if (slash) {
			*slash = 0;
			pfd = open_beneath(rs->target_fd, h->relpath,
					   O_DIRECTORY | O_RDONLY | O_CLOEXEC);
			*slash = '/';
			leaf = slash + 1;
			if (pfd < 0)
				return 0; /* fall back to a copy */
		}
		int ok = linkat(pfd, leaf, dirfd, nd->name, 0) == 0;
		if (pfd != rs->target_fd)
			close(pfd);
		return ok ? 1 : 0;
	}
	if (rs->nlinks == rs->caplinks) {
		size_t cap = rs->caplinks ? rs->caplinks * 2 : 16;
		void *p = realloc(rs->links, cap * sizeof *rs->links);
		if (!p)
			return CAIRN_E_NOMEM;
		rs->links = p;
		rs->caplinks = cap;
	}
	struct hardlink *h = &rs->links[rs->nlinks];
	h->device = nd->device;
	h->inode = nd->inode;
	h->relpath = strdup(rel);
	if (!h->relpath)
		return CAIRN_E_NOMEM;
	rs->nlinks++;
	return 0;
}

static int copy_node(struct tree_node *dst, const struct tree_node *src)
{
	*dst = *src;
	dst->name = NULL;
	dst->user = dst->group = dst->link_target = NULL;
	dst->content = NULL;
	dst->ncontent = 0;
	return 0;
}

static int rs_file(struct rs *rs, int dirfd, const struct tree_node *nd,
		   const char *rel)
{
	int rc;
	if (nd->links > 1) {
		rc = rs_hardlink(rs, nd, dirfd, rel);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			rs->res->files++;
			return 0;
		}
	}
	clear_entry(dirfd, nd->name);
	int fd = openat(dirfd, nd->name,
			O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rs_error(rs, rel, CAIRN_E_IO, "cannot create file: %s",
			 strerror(errno));
		return 0;
	}
	struct rs_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(rel))) {
		free(f);
		close(fd);
		return CAIRN_E_NOMEM;
	}
	f->fd = fd;
	copy_node(&f->meta, nd);
	if (rs->o->verify && nd->ncontent) {
		f->verify_ids = malloc(nd->ncontent * 32);
		f->verify_lens = calloc(nd->ncontent, sizeof *f->verify_lens);
		if (!f->verify_ids || !f->verify_lens) {
			free(f->verify_ids);
			free(f->verify_lens);
			free(f->path);
			free(f);
			close(fd);
			return CAIRN_E_NOMEM;
		}
		memcpy(f->verify_ids, nd->content, nd->ncontent * 32);
		f->meta.ncontent = nd->ncontent;
	}
	f->pending = 1; /* held by this function until all jobs are queued */
	uint64_t off = 0;
	for (size_t i = 0; i < nd->ncontent; i++) {
		struct blob_loc loc;
		pthread_mutex_lock(&rs->r->mu);
		rc = index_lookup(rs->r->idx, nd->content[i], &loc);
		pthread_mutex_unlock(&rs->r->mu);
		if (rc < 0) {
			f->failed = 1;
			char hex[65];
			hex_encode(hex, nd->content[i], 32);
			rs_error(rs, rel, CAIRN_E_CORRUPT,
				 "content blob %s is missing from the index",
				 hex);
			break;
		}
		struct rs_jobctx *jc = malloc(sizeof *jc);
		if (!jc) {
			f->failed = 1;
			rs_file_unref(rs, f);
			return CAIRN_E_NOMEM;
		}
		jc->rs = rs;
		jc->job.f = f;
		jc->pack = loc.pack;
		jc->pack_off = loc.offset;
		memcpy(jc->job.id, nd->content[i], 32);
		jc->job.offset = off;
		jc->job.raw_length = loc.raw_length;
		if (f->verify_lens)
			f->verify_lens[i] = loc.raw_length;
		off += loc.raw_length;
		pthread_mutex_lock(&rs->mu);
		f->pending++;
		pthread_mutex_unlock(&rs->mu);
		rs_job_queue(rs, jc);
	}
	if (rs->batching) {
		rs->batch_bytes += nd->size;
		/* its files hold descriptors; and the workers should not wait
		 * long for their first jobs while files are being created */
		if (++rs->batch_files >= rs->batch_files_max ||
		    rs->batch_bytes >= RS_BATCH_BYTES)
			rs_batch_flush(rs);
	}
	if (!f->failed && off != nd->size) {
		pthread_mutex_lock(&rs->mu);
		f->failed = 1;
		pthread_mutex_unlock(&rs->mu);
		rs_error(rs, rel, CAIRN_E_CORRUPT, "%s",
			 "content length does not match the recorded size");
	}
	rs_file_unref(rs, f);
	return 0;
}

static int rs_dir_remember(struct rs *rs, const char *rel,
			   const struct tree_node *nd)
{
	if (rs->ndirs == rs->capdirs) {
		size_t cap = rs->capdirs ? rs->capdirs * 2 : 64;
		void *p = realloc(rs->dirs, cap * sizeof *rs->dirs);
		if (!p)
			return CAIRN_E_NOMEM;
		rs->dirs = p;
		rs->capdirs = cap;
	}
	struct rs_dirmeta *d = &rs->dirs[rs->ndirs];
	d->relpath = strdup(rel);
	if (!d->relpath)
		return CAIRN_E_NOMEM;
	copy_node(&d->meta, nd);
	rs->ndirs++;
	return 0;
}

static int rs_tree(struct rs *rs, int dirfd, const uint8_t id[32],
		   const char *prefix);

static int rs_node(struct rs *rs, int dirfd, const struct tree_node *nd,
		   const char *rel)
{
	int rc = 0;
	switch (nd->type) {
	case NODE_DIR: {
		if (!nd->has_subtree) {
			rs_error(rs, rel, CAIRN_E_CORRUPT, "%s",
				 "directory without a subtree");
			return 0;
		}
		if (mkdirat(dirfd, nd->name, 0700) < 0 && errno != EEXIST) {
			rs_error(rs, rel, CAIRN_E_IO, "cannot create directory: %s",
				 strerror(errno));
			return 0;
		}
		int sub = openat(dirfd, nd->name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			/* e.g. a symlink planted where the directory goes */
			rs_error(rs, rel, CAIRN_E_UNSAFE,
				 "cannot enter directory: %s", strerror(errno));
			return 0;
		}
		rc = rs_tree(rs, sub, nd->subtree, rel);
		close(sub);
		if (rc == 0) {
			rc = rs_dir_remember(rs, rel, nd);
			rs->res->dirs++;
		}
		return rc;
	}
	case NODE_FILE:
		return rs_file(rs, dirfd, nd, rel);
	case NODE_SYMLINK:
		clear_entry(dirfd, nd->name);
		if (symlinkat(nd->link_target, dirfd, nd->name) < 0) {
			rs_error(rs, rel, CAIRN_E_IO, "cannot create symlink: %s",
				 strerror(errno));
			return 0;
		}
		if (rs->is_root)
			fchownat(dirfd, nd->name, nd->uid, nd->gid,
				 AT_SYMLINK_NOFOLLOW);
		{
			struct timespec ts[2] = {{nd->mtime_sec, nd->mtime_nsec},
						 {nd->mtime_sec, nd->mtime_nsec}};
			utimensat(dirfd, nd->name, ts, AT_SYMLINK_NOFOLLOW);
		}
		rs->res->others++;
		return 0;
	case NODE_FIFO:
	case NODE_CHARDEV:
	case NODE_BLOCKDEV: {
		mode_t type = nd->type == NODE_FIFO      ? S_IFIFO
			      : nd->type == NODE_CHARDEV ? S_IFCHR
							 : S_IFBLK;
		if (type != S_IFIFO && !rs->is_root) {
			repo_emit(rs->o->on_event, rs->o->event_ud, EV_WARNING,
				  rel, 0, "%s", "device node skipped (not root)");
			rs->res->skipped++;
			return 0;
		}
		clear_entry(dirfd, nd->name);
		if (mknodat(dirfd, nd->name, type | (nd->mode & 07777),
			    (dev_t)nd->rdev) < 0) {
			rs_error(rs, rel, CAIRN_E_IO, "cannot create node: %s",
				 strerror(errno));
			return 0;
		}
		int fd = openat(dirfd, nd->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			if (rs->is_root)
				fchownat(dirfd, nd->name, nd->uid, nd->gid,
					 AT_SYMLINK_NOFOLLOW);
			fchmodat(dirfd, nd->name, nd->mode & 07777, 0);
			struct timespec ts[2] = {{nd->mtime_sec, nd->mtime_nsec},
						 {nd->mtime_sec, nd->mtime_nsec}};
			utimensat(dirfd, nd->name, ts, AT_SYMLINK_NOFOLLOW);
			close(fd);
		}
		rs->res->others++;
		return 0;
	}
	default:
		repo_emit(rs->o->on_event, rs->o->event_ud, EV_WARNING, rel, 0,
			  "%s", "entry of unknown type skipped");
		rs->res->skipped++;
		return 0;
	}
}

/* The order of format.md 10: bytewise, a proper prefix first.  Names may
 * hold NUL here (they are hostile until checked), so lengths count. */
static int name_order(const struct tree_node *a, const struct tree_node *b)
{
	size_t m = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = m ? memcmp(a->name, b->name, m) : 0;
	if (c)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int rs_tree(struct rs *rs, int dirfd, const uint8_t id[32],
		   const char *prefix)
{
	struct tree t = {0};
	int rc;
	if (rs->o->interrupt && *rs->o->interrupt)
		return CAIRN_E_INTERRUPTED;
	if (++rs->depth > RESTORE_MAX_DEPTH) {
		rs_error(rs, prefix, CAIRN_E_CORRUPT, "%s", "tree nested too deep");
		rc = 0;
		goto out;
	}
	rc = repo_tree_load(rs->r, id, &t);
	if (rc < 0) {
		rs_error(rs, prefix[0] ? prefix : "/", rc, "cannot load tree: %s",
			 cairn_strerror(rc));
		rc = rc == CAIRN_E_NOMEM ? rc : 0;
		goto out;
	}
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < t.n; i++) {
		const struct tree_node *nd = &t.nodes[i];
		char *rel;
		/* names must be legal, unique and sorted: comparing with the
		 * previous entry only catches a duplicate when they are */
		if (!tree_node_name_ok(nd->name, nd->name_len) ||
		    (i > 0 && name_order(&t.nodes[i - 1], nd) >= 0)) {
			char shown[128];
			snprintf(shown, sizeof shown, "%s/%.*s", prefix,
				 (int)(nd->name_len > 64 ? 64 : nd->name_len),
				 nd->name);
			rs_error(rs, shown, CAIRN_E_UNSAFE, "%s",
				 "unsafe, duplicate or unsorted name refused");
			continue;
		}
		rel = malloc(pl + nd->name_len + 2);
		if (!rel) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		sprintf(rel, "%s%s%s", prefix, pl ? "/" : "", nd->name);
		if (!path_selected(rs->o, rel, nd->type == NODE_DIR)) {
			free(rel);
			continue;
		}
		rc = rs_node(rs, dirfd, nd, rel);
		free(rel);
		if (rc < 0)
			goto out;
	}
out:
	rs->depth--;
	tree_free(&t);
	return rc;
}

int repo_restore(struct repo *r, const struct snapshot *s,
		 const struct restore_opts *o, struct restore_result *res)
{
	struct rs rs;
	int rc;
	memset(&rs, 0, sizeof rs);
	memset(res, 0, sizeof *res);
	rs.r = r;
	rs.o = o;
	rs.res = res;
	rs.target_fd = -1;
	rs.is_root = geteuid() == 0;
	pthread_mutex_init(&rs.mu, NULL);
	rc = repo_index_load(r, o->on_event, o->event_ud);
	if (rc < 0 && rc != CAIRN_E_CORRUPT)
		goto out;
	if (mkdir(o->target, 0700) < 0 && errno != EEXIST) {
		rc = cairn_err_from_errno(errno);
		goto out;
	}
	rs.target_fd = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rs.target_fd < 0) {
		rc = cairn_err_from_errno(errno);
		goto out;
	}
	int threads = o->threads > 0 ? o->threads : workq_cpus();
	TRY(workq_new(threads, (size_t)threads * 4 + 4, rs_worker_new,
		      rs_worker_free, NULL, &rs.q));
	if (r->pcache) {
		struct rlimit rl;
		rs.batching = 1;
		rs.batch_files_max = 512;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 1024)
			rs.batch_files_max = rl.rlim_cur / 2 > RS_BATCH_JOBS
						     ? RS_BATCH_JOBS
						     : (size_t)rl.rlim_cur / 2;
	}
	rc = rs_tree(&rs, rs.target_fd, s->tree, "");
	rs_batch_flush(&rs);
	workq_drain(rs.q);
	/* directory metadata last, deepest first */
	for (size_t i = rs.ndirs; i-- > 0;) {
		struct rs_dirmeta *d = &rs.dirs[i];
		int fd = open_beneath(rs.target_fd, d->relpath,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			apply_meta_fd(&rs, fd, &d->meta);
			close(fd);
		}
	}
	if (rc == 0 && res->errors)
		rc = CAIRN_E_PARTIAL;
out:
	workq_free(rs.q);
	free(rs.batch);
	for (size_t i = 0; i < rs.ndirs; i++)
		free(rs.dirs[i].relpath);
	free(rs.dirs);
	for (size_t i = 0; i < rs.nlinks; i++)
		free(rs.links[i].relpath);
	free(rs.links);
	if (rs.target_fd >= 0)
		close(rs.target_fd);
	pthread_mutex_destroy(&rs.mu);
	return rc;
}

/* ---- dump: one file, in order, decoded in parallel ------------------ */

struct dump_slot {
	uint8_t id[32];
	struct buf out;
	int rc;
	int done;
};

struct dump {
	struct repo *r;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int failed;        /* a blob failed: the jobs still queued skip */
};

struct dump_job {
	struct dump *d;
	struct dump_slot *slot;
};

static void dump_job_run(void *arg, void *state)
{
	struct dump_job *j = arg;
	struct rs_worker *w = state;
	pthread_mutex_lock(&j->d->mu);
	int failed = j->d->failed;
	pthread_mutex_unlock(&j->d->mu);
	int rc = !w ? CAIRN_E_NOMEM
		 : failed ? CAIRN_E_INTERRUPTED /* never read: the dump ends */
			  : repo_blob_read(j->d->r, &w->rd, j->slot->id,
					   BLOB_DATA, &j->slot->out);
	pthread_mutex_lock(&j->d->mu);
	if (rc < 0)
		j->d->failed = 1;
	j->slot->rc = rc;
	j->slot->done = 1;
	pthread_cond_broadcast(&j->d->cv);
	pthread_mutex_unlock(&j->d->mu);
	free(j);
}

/* Finds the node at path (components separated by '/'). */
static int find_node(struct repo *r, const uint8_t root[32], const char *path,
		     struct tree *holder, const struct tree_node **ret)
{
	char *copy = strdup(path), *save = NULL;
	uint8_t cur[32];
	int rc = CAIRN_E_NOTFOUND;
	if (!copy)
		return CAIRN_E_NOMEM;
	memcpy(cur, root, 32);
	*ret = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (*ret && ((*ret)->type != NODE_DIR || !(*ret)->has_subtree)) {
			rc = CAIRN_E_NOTFOUND;
			goto out;
		}
		if (*ret)
			memcpy(cur, (*ret)->subtree, 32);
		tree_free(holder);
		TRY(repo_tree_load(r, cur, holder));
		*ret = NULL;
		for (size_t i = 0; i < holder->n; i++)
			if (!strcmp(holder->nodes[i].name, c))
				*ret = &holder->nodes[i];
		if (!*ret) {
			rc = CAIRN_E_NOTFOUND;
			goto out;
		}
	}
	rc = *ret ? 0 : CAIRN_E_NOTFOUND;
out:
	free(copy);
	return rc;
}

int repo_dump(struct repo *r, const struct snapshot *s, const char *path,
	      int fd, volatile int *interrupt)
{
	struct tree holder = {0};
	const struct tree_node *nd = NULL;
	struct workq *q = NULL;
	struct dump d = {.r = r};
	struct dump_slot *ring = NULL;
	size_t window = 0, head = 0, next = 0;
	int rc;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	rc = repo_index_load(r, NULL, NULL);
	if (rc < 0 && rc != CAIRN_E_CORRUPT)
		goto out;
	TRY(find_node(r, s->tree, path, &holder, &nd));
	if (nd->type != NODE_FILE) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	int threads = workq_cpus();
	window = (size_t)threads * 4;
	ring = calloc(window, sizeof *ring);
	if (!ring) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	TRY(workq_new(threads, window, rs_worker_new, rs_worker_free, NULL, &q));
	uint64_t written = 0;
	while (head < nd->ncontent) {
		while (next < nd->ncontent && next - head < window) {
			struct dump_slot *sl = &ring[next % window];
			memcpy(sl->id, nd->content[next], 32);
			sl->done = 0;
			sl->rc = 0;
			struct dump_job *j = malloc(sizeof *j);
			if (!j) {
				rc = CAIRN_E_NOMEM;
				goto out;
			}
			j->d = &d;
			j->slot = sl;
			workq_push(q, dump_job_run, j);
			next++;
		}
		struct dump_slot *sl = &ring[head % window];
		pthread_mutex_lock(&d.mu);
		while (!sl->done)
			pthread_cond_wait(&d.cv, &d.mu);
		pthread_mutex_unlock(&d.mu);
		TRY(sl->rc);
		TRY(fd_write_all(fd, sl->out.p, sl->out.len));
		written += sl->out.len;
		head++;
		if (interrupt && *interrupt) {
			rc = CAIRN_E_INTERRUPTED;
			goto out;
		}
	}
	if (written != nd->size)
		rc = CAIRN_E_CORRUPT;
out:
	workq_free(q); /* drains: no job touches the ring after this */
	for (size_t i = 0; ring && i < window; i++)
		buf_free(&ring[i].out);
	free(ring);
	tree_free(&holder);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
	return rc;
}
