/* backup_files.c: backing up files and directories.  Builds the root
 * tree from the command-line paths (a virtual directory per path prefix),
 * walks each directory in name order, reuses the content of files that a
 * parent snapshot shows unchanged, and runs a scanner thread that counts
 * what is to be read so that progress can show totals.
 */
#include "backup_internal.h"

const char *bk_owner_name(struct owner_cache *cache, uint32_t id, int group)
{
	struct owner_cache *slot = &cache[id % 16];
	if (slot->valid && slot->id == id)
		return slot->name;
	char buf[4096];
	slot->name[0] = 0;
	if (group) {
		struct group g, *res = NULL;
		if (getgrgid_r(id, &g, buf, sizeof buf, &res) == 0 && res)
			snprintf(slot->name, sizeof slot->name, "%s", g.gr_name);
	} else {
		struct passwd p, *res = NULL;
		if (getpwuid_r(id, &p, buf, sizeof buf, &res) == 0 && res)
			snprintf(slot->name, sizeof slot->name, "%s", p.pw_name);
	}
	slot->id = id;
	slot->valid = 1;
	return slot->name;
}

static void node_from_stat(struct bk *bk, struct tree_node *nd, char *name,
			   const struct stat *st)
{
	memset(nd, 0, sizeof *nd);
	nd->name = name;
	nd->name_len = strlen(name);
	nd->mode = st->st_mode & 07777;
	nd->uid = st->st_uid;
	nd->gid = st->st_gid;
	nd->user = (char *)bk_owner_name(bk->users, st->st_uid, 0);
	nd->group = (char *)bk_owner_name(bk->groups, st->st_gid, 1);
	nd->mtime_sec = st->st_mtim.tv_sec;
	nd->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	nd->ctime_sec = st->st_ctim.tv_sec;
	nd->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	nd->inode = st->st_ino;
	nd->device = st->st_dev;
	nd->links = st->st_nlink;
	nd->link_target = (char *)"";
}

static const struct tree_node *tree_find(const struct tree *t, const char *name)
{
	if (!t)
		return NULL;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t->nodes[mid].name, name);
		if (c == 0)
			return &t->nodes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A file is unchanged when its metadata match the parent snapshot's node
 * and all its content is still indexed. */
static int file_unchanged(struct bk *bk, const struct tree_node *old,
			  const struct stat *st)
{
	if (!old || old->type != NODE_FILE || bk->o->force)
		return 0;
	if (old->size != (uint64_t)st->st_size ||
	    old->mtime_sec != st->st_mtim.tv_sec ||
	    old->mtime_nsec != (uint32_t)st->st_mtim.tv_nsec ||
	    old->ctime_sec != st->st_ctim.tv_sec ||
	    old->ctime_nsec != (uint32_t)st->st_ctim.tv_nsec ||
	    old->inode != st->st_ino)
		return 0;
	for (size_t i = 0; i < old->ncontent; i++)
		if (!blob_known(bk, old->content[i]))
			return 0;
	return 1;
}

static int bk_warn(struct bk *bk, const char *path, int code, const char *what)
{
	bk->files_failed++;
	repo_emit(bk->o->on_event, bk->o->event_ud, EV_WARNING, path, code,
		  "%s: %s", what, strerror(errno));
	return 0;
}

static int bk_dir(struct bk *bk, const char *path, const struct tree *parent,
		  uint8_t ret_id[32]);

static void bk_file_event(struct bk *bk, const char *path, const char *action)
{
	if (!bk->o->on_event)
		return;
	struct repo_event ev = {.kind = EV_FILE, .path = path, .action = action};
	bk->o->on_event(bk->o->event_ud, &ev);
}

/* Backs up one entry at full path; fills *nd (strings borrowed from the
 * arguments, content and owner names from static/bk storage; the caller
 * copies it into a tree with tree_add).  Returns 1 when the entry was
 * skipped (reported), 0 when nd is valid, < 0 on a fatal error. */
static int bk_entry(struct bk *bk, const char *full, char *name,
		    const struct tree_node *old, struct tree_node *nd,
		    struct idlist *ids, char *linkbuf)
{
	struct stat st;
	struct tree *sub_parent = NULL;
	struct tree subp = {0};
	int rc = 0;
	if (lstat(full, &st) < 0)
		return bk_warn(bk, full, CAIRN_E_IO, "cannot stat") + 1;
	node_from_stat(bk, nd, name, &st);
	if (S_ISREG(st.st_mode)) {
		nd->type = NODE_FILE;
		bk->prog.files_done++;
		bk->sum.total_files_processed++;
		if (file_unchanged(bk, old, &st)) {
			for (size_t i = 0; i < old->ncontent; i++)
				TRY(idlist_add(ids, old->content[i]));
			nd->size = old->size;
			bk->sum.files_unmodified++;
			bk->sum.total_bytes_processed += old->size;
			bk->prog.bytes_done += old->size;
			__atomic_add_fetch(&bk->read_bytes, old->size,
					   __ATOMIC_RELAXED);
			bk_file_event(bk, full, "unchanged");
		} else {
			int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
			if (fd < 0 && errno == EPERM)
				fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return bk_warn(bk, full, CAIRN_E_IO, "cannot open") + 1;
			posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
			struct source *src = NULL;
			uint64_t total = 0;
			rc = source_fd_open(fd, 1, &src);
			if (rc < 0) {
				close(fd);
				goto out;
			}
			rc = bk_stream(bk, src, &bk->ch_files, ids, &total);
			int err_errno = src->err_errno;
			source_close(src);
			if (rc == CAIRN_E_IO) {
				errno = err_errno;
				ids->n = 0;
				return bk_warn(bk, full, rc, "read error") + 1;
			}
			if (rc < 0)
				goto out;
			nd->size = total;
			bk->sum.total_bytes_processed += total;
			if (old) {
				bk->sum.files_changed++;
				bk_file_event(bk, full, "modified");
			} else {
				bk->sum.files_new++;
				bk_file_event(bk, full, "new");
			}
		}
		nd->ncontent = ids->n;
		nd->content = ids->v;
	} else if (S_ISDIR(st.st_mode)) {
		nd->type = NODE_DIR;
		if (old && old->type == NODE_DIR && old->has_subtree &&
		    repo_tree_load(bk->r, old->subtree, &subp) == 0)
			sub_parent = &subp;
		rc = bk_dir(bk, full, sub_parent, nd->subtree);
		if (rc < 0)
			goto out;
		nd->has_subtree = 1;
		/* the recursion reused the owner-name cache slots */
		nd->user = (char *)bk_owner_name(bk->users, nd->uid, 0);
		nd->group = (char *)bk_owner_name(bk->groups, nd->gid, 1);
		if (!old)
			bk->sum.dirs_new++;
		else if (old->type == NODE_DIR && old->has_subtree &&
			 !memcmp(old->subtree, nd->subtree, 32))
			bk->sum.dirs_unmodified++;
		else
			bk->sum.dirs_changed++;
	} else if (S_ISLNK(st.st_mode)) {
		nd->type = NODE_SYMLINK;
		ssize_t l = readlink(full, linkbuf, TREE_TARGET_MAX);
		if (l < 0)
			return bk_warn(bk, full, CAIRN_E_IO, "cannot read link") + 1;
		linkbuf[l] = 0;
		nd->link_target = linkbuf;
		nd->link_len = (size_t)l;
	} else if (S_ISFIFO(st.st_mode)) {
		nd->type = NODE_FIFO;
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		nd->type = S_ISCHR(st.st_mode) ? NODE_CHARDEV : NODE_BLOCKDEV;
		nd->rdev = st.st_rdev;
	} else {
		repo_emit(bk->o->on_event, bk->o->event_ud, EV_WARNING, full, 0,
			  "skipped: sockets and other special files are not "
			  "backed up");
		rc = 1;
	}
out:
	tree_free(&subp);
	return rc;
}

/* Backs up one entry and adds its node to t; a skipped entry (reported)
 * adds nothing and is no error. */
static int bk_entry_add(struct bk *bk, const char *full, char *name,
			const struct tree_node *old, struct tree *t,
			char *linkbuf)
{
	struct tree_node nd;
	struct idlist ids = {0};
	int rc = bk_entry(bk, full, name, old, &nd, &ids, linkbuf);
	if (rc == 0)
		rc = tree_add(t, &nd);
	free(ids.v);
	return rc < 0 ? rc : 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Saves tree t as a tree blob; ret_id gets its id. */
int bk_tree_save(struct bk *bk, const struct tree *t, uint8_t ret_id[32])
{
	struct buf enc = BUF_INIT;
	int rc;
	TRY(tree_encode(t, &enc));
	crypto_chunk_id(bk->r->keys, enc.p, enc.len, ret_id);
	rc = bk_submit(bk, BLOB_TREE, ret_id, enc.p, enc.len);
	enc.p = NULL; /* owned by the job now */
out:
	buf_free(&enc);
	return rc;
}

static int bk_dir(struct bk *bk, const char *path, const struct tree *parent,
		  uint8_t ret_id[32])
{
	struct tree t = {0};
	char **names = NULL;
	size_t n = 0, cap = 0;
	char *linkbuf = NULL, *full = NULL;
	int rc = 0;
	DIR *d = opendir(path);
	if (!d) {
		/* recorded as an empty directory, reported */
		bk_warn(bk, path, CAIRN_E_IO, "cannot read directory");
		return bk_tree_save(bk, &t, ret_id);
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			void *p = realloc(names, cap * sizeof *names);
			if (!p) {
				rc = CAIRN_E_NOMEM;
				goto out;
			}
			names = p;
		}
		if (!(names[n] = strdup(e->d_name))) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		n++;
	}
	closedir(d);
	d = NULL;
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	linkbuf = malloc(TREE_TARGET_MAX + 1);
	size_t pl = strlen(path);
	full = malloc(pl + 2 + 4096);
	if (!linkbuf || !full) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (bk_interrupted(bk)) {
			rc = CAIRN_E_INTERRUPTED;
			goto out;
		}
		snprintf(full, pl + 2 + 4096, "%s%s%s", path,
			 path[pl - 1] == '/' ? "" : "/", names[i]);
		TRY(bk_entry_add(bk, full, names[i],
				 tree_find(parent, names[i]), &t, linkbuf));
		bk_progress(bk, 0);
	}
	rc = bk_tree_save(bk, &t, ret_id);
out:
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(linkbuf);
	free(full);
	tree_free(&t);
	return rc;
}

/* ---- the root of a file backup --------------------------------------- */

/* A virtual directory level built from the command-line paths. */
struct vdir {
	char *name;
	char *full;         /* absolute path of this level */
	int leaf;           /* backed up whole */
	struct vdir *kids;
	size_t nkids;
};

static void vdir_free(struct vdir *v)
{
	for (size_t i = 0; i < v->nkids; i++)
		vdir_free(&v->kids[i]);
	free(v->kids);
	free(v->name);
	free(v->full);
}

/* Makes path absolute and normal: no ".", "..", empty components or
 * trailing '/'.  Symlinks are not resolved. */
static char *path_absolute(const char *path)
{
	char cwd[PATH_MAX];
	size_t cap;
	char *tmp, *out;
	if (path[0] == '/') {
		cwd[0] = 0;
	} else if (!getcwd(cwd, sizeof cwd)) {
		return NULL;
	}
	cap = strlen(cwd) + strlen(path) + 3;
	tmp = malloc(cap);
	out = malloc(cap);
	if (!tmp || !out) {
		free(tmp);
		free(out);
		return NULL;
	}
	snprintf(tmp, cap, "%s/%s", cwd, path);
	size_t o = 0;
	char *save = NULL;
	for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		size_t l = strlen(c);
		memcpy(out + o, c, l);
		o += l;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(tmp);
	return out;
}

static int vdir_insert(struct vdir *root, const char *abs)
{
	struct vdir *cur = root;
	const char *p = abs;
	if (!strcmp(abs, "/")) {
		root->leaf = 1;
		return 0;
	}
	while (*p == '/')
		p++;
	while (*p && !cur->leaf) {
		const char *end = strchr(p, '/');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		struct vdir *kid = NULL;
		for (size_t i = 0; i < cur->nkids; i++)
			if (strlen(cur->kids[i].name) == l &&
			    !strncmp(cur->kids[i].name, p, l))
				kid = &cur->kids[i];
		if (!kid) {
			void *np = realloc(cur->kids, (cur->nkids + 1) * sizeof *cur->kids);
			if (!np)
				return CAIRN_E_NOMEM;
			cur->kids = np;
			kid = &cur->kids[cur->nkids++];
			memset(kid, 0, sizeof *kid);
			kid->name = strndup(p, l);
			kid->full = strndup(abs, (size_t)(p - abs) + l);
			if (!kid->name || !kid->full)
				return CAIRN_E_NOMEM;
		}
		cur = kid;
		p += l;
		while (*p == '/')
			p++;
	}
	if (!*p) {
		/* this level is backed up whole; deeper requests are covered */
		cur->leaf = 1;
	}
	return 0;
}

static int vdir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vdir *)a)->name, ((const struct vdir *)b)->name);
}

static int bk_vdir(struct bk *bk, struct vdir *v, const struct tree *parent,
		   uint8_t ret_id[32])
{
	struct tree t = {0};
	char *linkbuf = malloc(TREE_TARGET_MAX + 1);
	int rc = 0;
	if (!linkbuf)
		return CAIRN_E_NOMEM;
	if (v->nkids)
		qsort(v->kids, v->nkids, sizeof *v->kids, vdir_cmp);
	for (size_t i = 0; i < v->nkids; i++) {
		struct vdir *k = &v->kids[i];
		const struct tree_node *old = tree_find(parent, k->name);
		struct tree_node nd;
		if (k->leaf) {
			TRY(bk_entry_add(bk, k->full, k->name, old, &t, linkbuf));
			continue;
		}
		struct stat st;
		if (lstat(k->full, &st) < 0 || !S_ISDIR(st.st_mode)) {
			bk_warn(bk, k->full, CAIRN_E_IO, "cannot stat");
			continue;
		}
		node_from_stat(bk, &nd, k->name, &st);
		nd.type = NODE_DIR;
		struct tree sub = {0};
		int have_sub = old && old->type == NODE_DIR && old->has_subtree &&
			       repo_tree_load(bk->r, old->subtree, &sub) == 0;
		rc = bk_vdir(bk, k, have_sub ? &sub : NULL, nd.subtree);
		tree_free(&sub);
		if (rc < 0)
			goto out;
		nd.has_subtree = 1;
		nd.user = (char *)bk_owner_name(bk->users, nd.uid, 0);
		nd.group = (char *)bk_owner_name(bk->groups, nd.gid, 1);
		TRY(tree_add(&t, &nd));
	}
	rc = bk_tree_save(bk, &t, ret_id);
out:
	free(linkbuf);
	tree_free(&t);
	return rc;
}

static int paths_equal(const struct snapshot *s, char **paths, size_t n)
{
	if (s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]))
			return 0;
	return 1;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two helper threads walk the same paths as the backup, in the same
 * order (names sorted per directory), with lstat only:
 * - the scanner counts files and bytes, so that progress can show totals
 *   and an ETA;
 * - the prefetcher asks the kernel to read each regular file ahead
 *   (POSIX_FADV_WILLNEED), staying at most PREFETCH_AHEAD bytes ahead of
 *   the reader, so that reading small files does not wait on the disk one
 *   file at a time.
 * Both are advisory: errors are ignored and nothing they do affects the
 * snapshot. */
#define PREFETCH_AHEAD (64u << 20)

struct walker {
	struct bk *bk;
	pthread_t thread;
	int running;
	uint64_t done_bytes;   /* prefetcher: bytes asked for so far */
	int (*on_file)(struct walker *w, const char *path, const struct stat *st);
};

static int walker_stopped(struct bk *bk)
{
	return __atomic_load_n(&bk->scanner_stop, __ATOMIC_RELAXED);
}

static int walk_tree(struct walker *w, char *path, size_t len, size_t cap,
		     unsigned depth)
{
	struct stat st;
	char **names = NULL;
	size_t n = 0, ncap = 0;
	int rc = 0;
	if (walker_stopped(w->bk) || depth > 256)
		return -1;
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return w->on_file(w, path, &st);
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == ncap) {
			size_t c = ncap ? ncap * 2 : 32;
			void *p = realloc(names, c * sizeof *names);
			if (!p)
				break;
			names = p;
			ncap = c;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (rc == 0 && len + l + 2 <= cap) {
			path[len] = '/';
			memcpy(path + len + 1, names[i], l + 1);
			rc = walk_tree(w, path, len + 1 + l, cap, depth + 1);
			path[len] = 0;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static void *walker_main(void *arg)
{
	struct walker *w = arg;
	struct bk *bk = w->bk;
	char *path = malloc(PATH_MAX * 2);
	for (size_t i = 0; path && i < bk->scan_npaths; i++) {
		size_t l = strlen(bk->scan_paths[i]);
		if (l >= PATH_MAX)
			continue;
		memcpy(path, bk->scan_paths[i], l + 1);
		if (l == 1 && path[0] == '/')
			l = 0; /* "/" itself: children become "/name" */
		if (walk_tree(w, path, l, PATH_MAX * 2, 0) < 0)
			break;
	}
	free(path);
	return NULL;
}

static int scan_file(struct walker *w, const char *path, const struct stat *st)
{
	(void)path;
	__atomic_add_fetch(&w->bk->scan_files, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&w->bk->scan_bytes, (uint64_t)st->st_size,
			   __ATOMIC_RELAXED);
	return 0;
}

static int prefetch_file(struct walker *w, const char *path,
			 const struct stat *st)
{
	struct bk *bk = w->bk;
	while (!walker_stopped(bk) &&
	       w->done_bytes > __atomic_load_n(&bk->read_bytes,
						__ATOMIC_RELAXED) + PREFETCH_AHEAD)
		usleep(2000);
	if (walker_stopped(bk))
		return -1;
	w->done_bytes += (uint64_t)st->st_size;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
		close(fd);
	}
	return 0;
}

static void scanner_start(struct bk *bk, char **paths, size_t n)
{
	struct walker *ws = calloc(2, sizeof *ws);
	bk->scan_paths = paths;
	bk->scan_npaths = n;
	bk->walkers = ws;
	if (!ws)
		return;
	ws[0].on_file = scan_file;
	ws[1].on_file = prefetch_file;
	for (int i = 0; i < 2; i++) {
		ws[i].bk = bk;
		/* the counts are only wanted when someone shows progress */
		if (i == 0 && (!bk->o->on_event || !bk->o->want_totals))
			continue;
		ws[i].running = pthread_create(&ws[i].thread, NULL, walker_main,
					       &ws[i]) == 0;
	}
	bk->scanner_running = ws[0].running;
}

static void scanner_stop(struct bk *bk)
{
	struct walker *ws = bk->walkers;
	if (!ws)
		return;
	__atomic_store_n(&bk->scanner_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		if (ws[i].running)
			pthread_join(ws[i].thread, NULL);
	free(ws);
	bk->walkers = NULL;
	bk->scanner_running = 0;
}

int bk_files(struct bk *bk, struct snapshot *snap, uint8_t root[32])
{
	struct vdir top = {0};
	struct snapshot *all = NULL;
	size_t nall = 0, np = 0;
	struct tree parent = {0};
	int have_parent = 0, rc = 0;
	for (const char *const *p = bk->o->paths; p && *p; p++)
		np++;
	if (!np)
		return CAIRN_E_INVAL;
	snap->paths = calloc(np, sizeof *snap->paths);
	if (!snap->paths)
		return CAIRN_E_NOMEM;
	for (size_t i = 0; i < np; i++) {
		snap->paths[i] = path_absolute(bk->o->paths[i]);
		if (!snap->paths[i]) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		snap->npaths++;
		struct stat st;
		if (lstat(snap->paths[i], &st) < 0) {
			/* a path that does not exist is a usage error */
			repo_emit(bk->o->on_event, bk->o->event_ud, EV_ERROR,
				  snap->paths[i], CAIRN_E_NOTFOUND,
				  "cannot stat: %s", strerror(errno));
			rc = CAIRN_E_NOTFOUND;
			goto out;
		}
		TRY(vdir_insert(&top, snap->paths[i]));
	}
	qsort(snap->paths, snap->npaths, sizeof *snap->paths, str_cmp);
	scanner_start(bk, snap->paths, snap->npaths);

	/* parent: the newest snapshot of the same host and paths */
	if (!bk->o->force &&
	    repo_snapshots_list(bk->r, NULL, &all, &nall) == 0) {
		for (size_t i = nall; i-- > 0;) {
			if (strcmp(all[i].hostname, snap->hostname) ||
			    !paths_equal(&all[i], snap->paths, snap->npaths))
				continue;
			if (repo_tree_load(bk->r, all[i].tree, &parent) == 0) {
				have_parent = 1;
				snap->has_parent = 1;
				memcpy(snap->parent, all[i].id, 32);
			}
			break;
		}
	}
	if (top.leaf) {
		/* "/" itself */
		rc = bk_dir(bk, "/", have_parent ? &parent : NULL, root);
	} else {
		top.full = strdup("/");
		rc = top.full ? bk_vdir(bk, &top, have_parent ? &parent : NULL, root)
			      : CAIRN_E_NOMEM;
	}
out:
	scanner_stop(bk);
	tree_free(&parent);
	repo_snapshots_free(all, nall);
	vdir_free(&top);
	return rc;
}
