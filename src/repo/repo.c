/* repo.c: opening and creating repositories, keys, loading the index,
 * verified reads of objects and blobs, and snapshot lookup.  Backup,
 * restore and check live in their own files and use what is here.
 */
#include "repo_internal.h"

#include "dict.h"
#include "pack.h"
#include "snapshot.h"
#include "tree.h"

#include <errno.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

/* Argon2id cost of new key files: the format's floor (format.md 4). */
#define NEW_KEY_OPSLIMIT KDF_OPSLIMIT_MIN
#define NEW_KEY_MEMLIMIT ((size_t)KDF_MEMLIMIT_MIN)

double repo_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t repo_wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

void repo_emit(repo_event_fn fn, void *ud, enum repo_event_kind kind,
	       const char *path, int code, const char *fmt, ...)
{
	if (!fn)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct repo_event ev = {.kind = kind, .path = path, .message = msg,
				.code = code};
	fn(ud, &ev);
}

static struct repo *repo_alloc(void)
{
	struct repo *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	r->resolver.get = repo_dict_get;
	r->resolver.ud = r;
	if (index_new(&r->idx) < 0) {
		free(r);
		return NULL;
	}
	return r;
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	backend_close(r->be);
	mkeys_free(r->keys);
	index_free(r->idx);
	repo_marks_free(&r->marks);
	if (r->pack_keys)
		sodium_free(r->pack_keys);
	free(r->pack_key_state);
	free(r->pack_sizes);
	pack_cache_free(r->pcache);
	for (size_t i = 0; i < r->ndicts; i++)
		ZSTD_freeDDict(r->dicts[i].ddict);
	free(r->dicts);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

const struct repo_config *repo_config_get(const struct repo *r)
{
	return &r->cfg;
}

const char *repo_key_id(const struct repo *r) { return r->key_id; }

size_t repo_snapshots_skipped(const struct repo *r)
{
	return r->snapshots_skipped;
}

static void keyfile_info_here(struct keyfile_info *info)
{
	memset(info, 0, sizeof *info);
	char tbuf[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(ts.tv_sec, 0, time_local_offset(ts.tv_sec), tbuf);
	memcpy(info->created, tbuf, sizeof info->created - 1);
	if (gethostname(info->hostname, sizeof info->hostname - 1) < 0)
		info->hostname[0] = 0;
	struct passwd pw, *res = NULL;
	char pbuf[1024];
	if (getpwuid_r(getuid(), &pw, pbuf, sizeof pbuf, &res) == 0 && res)
		snprintf(info->username, sizeof info->username, "%s",
			 pw.pw_name);
}

/* Writes a key file for the open master keys; ret_id gets its name. */
static int key_save(struct repo *r, const char *pw, size_t pwlen,
		    char ret_id[65])
{
	struct buf kf = BUF_INIT;
	struct keyfile_info info;
	uint8_t id[32];
	int rc;
	keyfile_info_here(&info);
	TRY(keyfile_create(r->keys, pw, pwlen, NEW_KEY_OPSLIMIT,
			   NEW_KEY_MEMLIMIT, &info, &kf));
	crypto_object_hash(kf.p, kf.len, id);
	hex_encode(ret_id, id, 32);
	TRY(backend_put(r->be, OBJ_KEY, ret_id, kf.p, kf.len));
out:
	buf_free(&kf);
	return rc;
}

static int location_open(const struct repo_location *loc, int create,
			 struct backend **ret)
{
	struct backend_opts o = {.kv = loc->options, .n = loc->noptions};
	return backend_open_replicated(loc->urls, loc->n, loc->quorum, &o,
				       create, ret);
}

struct backend *repo_backend(struct repo *r)
{
	return r->be;
}

int repo_create(const char *url, const struct repo_config *cfg,
		const char *password, size_t password_len, struct repo **ret)
{
	struct repo_location loc = {.urls = &url, .n = 1};
	return repo_create_at(&loc, cfg, password, password_len, ret);
}

int repo_open(const char *url, const char *password, size_t password_len,
	      struct repo **ret)
{
	struct repo_location loc = {.urls = &url, .n = 1};
	return repo_open_at(&loc, password, password_len, ret);
}

int repo_create_at(const struct repo_location *loc,
		   const struct repo_config *cfg, const char *password,
		   size_t password_len, struct repo **ret)
{
	struct buf cb = BUF_INIT;
	struct repo *r = NULL;
	int rc;
	TRY(crypto_setup());
	r = repo_alloc();
	if (!r)
		return CAIRN_E_NOMEM;
	if (cfg)
		r->cfg = *cfg;
	else
		config_init_default(&r->cfg);
	TRY(config_validate(&r->cfg));
	TRY(location_open(loc, 1, &r->be));
	uint64_t size;
	if (backend_stat(r->be, OBJ_CONFIG, "config", &size) == 0) {
		rc = CAIRN_E_EXISTS;
		goto out;
	}
	TRY(config_encode(&r->cfg, &cb));
	TRY(mkeys_new(r->cfg.id, &r->keys));
	crypto_object_hash(cb.p, cb.len, r->keys->config_hash);
	/* The key first: a config without a key is useless, a key without
	 * a config is ignored by init's existence check above. */
	TRY(key_save(r, password, password_len, r->key_id));
	TRY(backend_put(r->be, OBJ_CONFIG, "config", cb.p, cb.len));
	crypto_gear_table(r->keys, r->gear);
	r->index_loaded = 1; /* a new repository has no index files */
	r->marks_loaded = 1;
	r->index_loaded_at = repo_wall_now();
	*ret = r;
	r = NULL;
out:
	buf_free(&cb);
	repo_close(r);
	return rc;
}

struct name_list {
	char (*v)[65];
	size_t n, cap;
};

static int collect_name(void *ud, const char *name, uint64_t size)
{
	struct name_list *l = ud;
	(void)size;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return CAIRN_E_NOMEM;
		l->v = p;
		l->cap = cap;
	}
	snprintf(l->v[l->n++], 65, "%s", name);
	return 0;
}

int repo_list_names(struct repo *r, enum obj_type t, char (**ret)[65],
		    size_t *n)
{
	struct name_list l = {0};
	int rc = backend_list(r->be, t, collect_name, &l);
	if (rc < 0) {
		free(l.v);
		return rc;
	}
	*ret = l.v;
	*n = l.n;
	return 0;
}

static int name_listed(char (*v)[65], size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return 1;
	return 0;
}

int repo_open_at(const struct repo_location *loc, const char *password,
		 size_t password_len, struct repo **ret)
{
	struct buf cb = BUF_INIT, kb = BUF_INIT;
	char (*names)[65] = NULL, (*tried)[65] = NULL;
	size_t nnames = 0, ntried = 0;
	struct repo *r = NULL;
	int rc, mismatch = 0;
	TRY(crypto_setup());
	r = repo_alloc();
	if (!r)
		return CAIRN_E_NOMEM;
	rc = location_open(loc, 0, &r->be);
	if (rc == 0 && !(backend_caps(r->be) & BACKEND_CAP_STREAM_PUT))
		rc = pack_cache_new(&r->pcache); /* requests cost: see there */
	if (rc == CAIRN_E_NOTFOUND)
		rc = CAIRN_E_NOREPO;
	if (rc < 0)
		goto out;
	for (int attempt = 0; attempt < 3; attempt++) {
		rc = backend_get(r->be, OBJ_CONFIG, "config", 0,
				 BACKEND_TO_END, &cb);
		if (rc == CAIRN_E_NOTFOUND)
			rc = CAIRN_E_NOREPO;
		if (rc < 0)
			goto out;
		/* damaged on the way, or at rest: the key's hash decides */
		rc = config_decode(cb.p, cb.len, &r->cfg);
		if (rc == 0 || rc == CAIRN_E_NOMEM)
			break;
	}
	if (rc < 0)
		goto out;
	TRY(repo_list_names(r, OBJ_KEY, &names, &nnames));
	rc = CAIRN_E_PASSWORD;
	int unreadable = 0;
	for (int pass = 0; pass < 2 && rc < 0 && !mismatch; pass++) {
		if (pass) {
			/* a listing damaged on the way may have hidden the key that
			 * opens: list again and try the names not tried yet */
			free(tried);
			tried = names;
			ntried = nnames;
			names = NULL;
			int lrc = repo_list_names(r, OBJ_KEY, &names, &nnames);
			if (lrc < 0) {
				rc = lrc;
				goto out;
			}
		}
		for (size_t i = 0; i < nnames; i++) {
			if (pass && name_listed(tried, ntried, names[i]))
				continue;
			/* a damaged key file fails the wrapper's check against
			 * its name: the others are tried */
			int grc = backend_get(r->be, OBJ_KEY, names[i], 0,
					      BACKEND_TO_END, &kb);
			if (grc < 0) {
				/* the password may belong to this one: if no other
				 * opens, say why it could not be tried */
				if (!unreadable)
					unreadable = grc;
				continue;
			}
			struct master_keys *k = NULL;
			if (keyfile_open(kb.p, kb.len, password, password_len, &k) < 0)
				continue;
			uint8_t ch[32];
			crypto_object_hash(cb.p, cb.len, ch);
			/* the config is not named by its hash, so the store's check
			 * could not catch bytes damaged on the way: read it again */
			for (int again = 0; again < 2 &&
					    sodium_memcmp(k->config_hash, ch, 32) != 0;
			     again++) {
				struct repo_config cfg2;
				if (backend_get(r->be, OBJ_CONFIG, "config", 0,
						BACKEND_TO_END, &cb) < 0)
					break;
				crypto_object_hash(cb.p, cb.len, ch);
				if (sodium_memcmp(k->config_hash, ch, 32) == 0 &&
				    config_decode(cb.p, cb.len, &cfg2) == 0)
					r->cfg = cfg2;
			}
			if (sodium_memcmp(k->repo_id, r->cfg.id, 32) != 0 ||
			    sodium_memcmp(k->config_hash, ch, 32) != 0) {
				/* right password, but a key of another repository, or
				 * the config was replaced: try the other keys, and say
				 * "corrupt" rather than "wrong password" if none fits */
				mkeys_free(k);
				mismatch = 1;
				continue;
			}
			r->keys = k;
			snprintf(r->key_id, sizeof r->key_id, "%s", names[i]);
			rc = 0;
			break;
		}
	}
	if (rc < 0) {
		if (mismatch)
			rc = CAIRN_E_CORRUPT;
		else if (unreadable)
			rc = unreadable;
		goto out;
	}
	crypto_gear_table(r->keys, r->gear);
	*ret = r;
	r = NULL;
out:
	free(names);
	free(tried);
	buf_free(&cb);
	if (kb.p)
		sodium_memzero(kb.p, kb.cap);
	buf_free(&kb);
	repo_close(r);
	return rc;
}

/* ---- keys ----------------------------------------------------------- */

int repo_key_list(struct repo *r, struct repo_key_info **ret, size_t *n)
{
	char (*names)[65] = NULL;
	size_t nn = 0;
	struct buf kb = BUF_INIT;
	struct repo_key_info *v = NULL;
	int rc;
	TRY(repo_list_names(r, OBJ_KEY, &names, &nn));
	v = calloc(nn ? nn : 1, sizeof *v);
	if (!v) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		struct keyfile_info info;
		memset(&info, 0, sizeof info);
		snprintf(v[i].id, sizeof v[i].id, "%s", names[i]);
		v[i].current = !strcmp(names[i], r->key_id);
		if (backend_get(r->be, OBJ_KEY, names[i], 0, BACKEND_TO_END,
				&kb) == 0 &&
		    keyfile_read_info(kb.p, kb.len, &info) == 0) {
			snprintf(v[i].created, sizeof v[i].created, "%s",
				 info.created);
			snprintf(v[i].hostname, sizeof v[i].hostname, "%s",
				 info.hostname);
			snprintf(v[i].username, sizeof v[i].username, "%s",
				 info.username);
		}
	}
	*ret = v;
	*n = nn;
	v = NULL;
out:
	free(v);
	free(names);
	buf_free(&kb);
	return rc;
}

int repo_key_add(struct repo *r, const char *new_password, size_t len,
		 char ret_id[65])
{
	return key_save(r, new_password, len, ret_id);
}

int repo_key_remove(struct repo *r, const char *id_prefix)
{
	char (*names)[65] = NULL;
	size_t nn = 0, match = SIZE_MAX, nmatch = 0;
	int rc;
	TRY(repo_list_names(r, OBJ_KEY, &names, &nn));
	size_t pl = strlen(id_prefix);
	for (size_t i = 0; i < nn; i++)
		if (pl && !strncmp(names[i], id_prefix, pl)) {
			match = i;
			nmatch++;
		}
	if (nmatch == 0) {
		rc = CAIRN_E_NOTFOUND;
		goto out;
	}
	if (nmatch > 1) {
		rc = CAIRN_E_AMBIGUOUS;
		goto out;
	}
	if (!strcmp(names[match], r->key_id) || nn < 2) {
		rc = CAIRN_E_INVAL;
		goto out;
	}
	rc = backend_remove(r->be, OBJ_KEY, names[match]);
out:
	free(names);
	return rc;
}

int repo_key_passwd(struct repo *r, const char *new_password, size_t len,
		    char ret_id[65])
{
	char old[65];
	int rc = key_save(r, new_password, len, ret_id);
	if (rc < 0)
		return rc;
	snprintf(old, sizeof old, "%s", r->key_id);
	snprintf(r->key_id, sizeof r->key_id, "%s", ret_id);
	return backend_remove(r->be, OBJ_KEY, old);
}

/* ---- objects -------------------------------------------------------- */

int repo_object_save(struct repo *r, enum obj_type t, const char magic[8],
		     const void *p, size_t n, uint8_t ret_id[32])
{
	struct buf ct = BUF_INIT;
	uint8_t id[32];
	char hex[65];
	int rc;
	TRY(envelope_seal(r->keys->meta_key, magic, p, n, &ct));
	crypto_object_hash(ct.p, ct.len, id);
	hex_encode(hex, id, 32);
	rc = backend_put(r->be, t, hex, ct.p, ct.len);
	/* the name is the hash of these bytes: an object already there is
	 * this one (stored by an attempt whose answer was lost on the way,
	 * which an HTTP client may repeat on its own) */
	if (rc == CAIRN_E_EXISTS)
		rc = 0;
	if (rc < 0)
		goto out;
	if (ret_id)
		memcpy(ret_id, id, 32);
out:
	buf_free(&ct);
	return rc;
}

int repo_object_load(struct repo *r, enum obj_type t, const char *name,
		     const char magic[8], struct buf *out)
{
	struct buf ct = BUF_INIT;
	int rc;
	/* the store's wrapper checked the bytes against the name */
	TRY(backend_get(r->be, t, name, 0, BACKEND_TO_END, &ct));
	rc = envelope_open(r->keys->meta_key, magic, ct.p, ct.len, out);
out:
	buf_free(&ct);
	return rc;
}

void repo_marks_free(struct repo_marks *m)
{
	for (size_t i = 0; i < m->n; i++)
		mark_record_free(&m->v[i]);
	free(m->v);
	free(m->names);
	memset(m, 0, sizeof *m);
}

int repo_marks_read(struct repo *r, struct repo_marks *ret,
		    repo_event_fn on_event, void *ud)
{
	struct repo_marks m = {0};
	struct buf pt = BUF_INIT;
	size_t nn = 0;
	int rc, bad = 0;
	TRY(repo_list_names(r, OBJ_MARK, &m.names, &nn));
	m.v = calloc(nn ? nn : 1, sizeof *m.v);
	if (!m.v) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		rc = repo_object_load(r, OBJ_MARK, m.names[i], MAGIC_MARK, &pt);
		if (rc == 0)
			rc = mark_record_decode(pt.p, pt.len, &m.v[m.n]);
		if (rc == 0) {
			/* keep names and records in step */
			memmove(m.names[m.n], m.names[i], 65);
			m.n++;
			continue;
		}
		if (rc == CAIRN_E_NOMEM)
			goto out;
		/* a record deleted since the listing was swept: not a fault */
		if (rc == CAIRN_E_NOTFOUND)
			continue;
		bad++;
		repo_emit(on_event, ud, EV_ERROR, NULL, rc,
			  "deletion record %s: %s", m.names[i],
			  cairn_strerror(rc));
	}
	rc = bad ? CAIRN_E_CORRUPT : 0;
	*ret = m;
	memset(&m, 0, sizeof m);
out:
	repo_marks_free(&m);
	buf_free(&pt);
	return rc;
}

int repo_marks_load(struct repo *r, repo_event_fn on_event, void *ud)
{
	int rc, bad = 0;
	if (r->marks_loaded)
		return 0;
	r->index_loaded_at = repo_wall_now();
	rc = repo_marks_read(r, &r->marks, on_event, ud);
	if (rc == CAIRN_E_CORRUPT)
		bad++;
	else if (rc < 0)
		return rc;
	r->marks_loaded = 1;
	for (size_t i = 0; i < r->marks.n; i++)
		for (size_t j = 0; j < r->marks.v[i].npacks; j++)
			TRY(index_pack_avoid(r->idx, r->marks.v[i].packs[j]));
	rc = bad ? CAIRN_E_CORRUPT : 0;
out:
	return rc;
}

int repo_index_reset(struct repo *r)
{
	struct index *x;
	int rc = index_new(&x);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&r->mu);
	index_free(r->idx);
	r->idx = x;
	repo_marks_free(&r->marks);
	r->marks_loaded = 0;
	r->index_loaded = 0;
	r->index_files = 0;
	/* pack numbers change: forget the keys cached by number */
	if (r->pack_key_state)
		memset(r->pack_key_state, 0, r->pack_keys_cap);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static int name_cmp(const void *a, const void *b) { return strcmp(a, b); }

/* Loads the index files named in names that are not in done (sorted);
 * counts those that vanished since the listing (a prune's sweep deletes
 * an index file only after writing its replacement) in *vanished. */
static int index_load_names(struct repo *r, char (*names)[65], size_t nn,
			    char (*done)[65], size_t ndone, size_t *vanished,
			    int *bad, repo_event_fn on_event, void *ud)
{
	struct buf pt = BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < nn; i++) {
		struct index_file f;
		if (ndone && bsearch(names[i], done, ndone, 65, name_cmp))
			continue;
		memset(&f, 0, sizeof f);
		rc = repo_object_load(r, OBJ_INDEX, names[i], MAGIC_INDEX, &pt);
		if (rc == 0)
			rc = index_file_decode(pt.p, pt.len, &f);
		if (rc == 0) {
			rc = index_merge_file(r->idx, &f);
			index_file_free(&f);
			if (rc < 0)
				goto out;
			r->index_files++;
			continue;
		}
		if (rc == CAIRN_E_NOMEM)
			goto out;
		if (rc == CAIRN_E_NOTFOUND) {
			(*vanished)++;
			continue;
		}
		(*bad)++;
		repo_emit(on_event, ud, EV_ERROR, NULL, rc,
			  "index %s: %s", names[i], cairn_strerror(rc));
	}
	rc = 0;
out:
	buf_free(&pt);
	return rc;
}

int repo_index_load(struct repo *r, repo_event_fn on_event, void *ud)
{
	char (*names)[65] = NULL, (*done)[65] = NULL;
	size_t nn = 0, ndone = 0;
	int rc, bad = 0;
	if (r->index_loaded)
		return 0;
	/* packs awaiting deletion first, so that blobs prefer live copies */
	rc = repo_marks_load(r, on_event, ud);
	if (rc == CAIRN_E_CORRUPT)
		bad++;
	else if (rc < 0)
		goto out;
	/* A file that vanished between listing and reading was replaced by
	 * a sweep: list again and read the names not seen yet, until a
	 * listing has nothing new that vanishes. */
	for (int round = 0;; round++) {
		size_t vanished = 0;
		TRY(repo_list_names(r, OBJ_INDEX, &names, &nn));
		TRY(index_load_names(r, names, nn, done, ndone, &vanished, &bad,
				     on_event, ud));
		if (!vanished)
			break;
		if (round == 16) {
			repo_emit(on_event, ud, EV_ERROR, NULL, CAIRN_E_CONFLICT,
				  "index files keep vanishing while being read");
			rc = CAIRN_E_CONFLICT;
			goto out;
		}
		free(done);
		done = names;
		ndone = nn;
		names = NULL;
		qsort(done, ndone, 65, name_cmp);
	}
	r->index_loaded = 1;
	rc = bad ? CAIRN_E_CORRUPT : 0;
out:
	free(names);
	free(done);
	return rc;
}

/* Makes room for pack number n in the key cache.  Caller holds r->mu. */
static int pack_keys_grow(struct repo *r, uint32_t n)
{
	if (n < r->pack_keys_cap)
		return 0;
	uint32_t cap = r->pack_keys_cap ? r->pack_keys_cap : 256;
	while (cap <= n)
		cap *= 2;
	uint8_t(*keys)[32] = sodium_malloc((size_t)cap * 32);
	uint8_t *state = calloc(cap, 1);
	uint64_t *sizes = calloc(cap, sizeof *sizes);
	if (!keys || !state || !sizes) {
		if (keys)
			sodium_free(keys);
		free(state);
		free(sizes);
		return CAIRN_E_NOMEM;
	}
	if (r->pack_keys) {
		memcpy(keys, r->pack_keys, (size_t)r->pack_keys_cap * 32);
		memcpy(state, r->pack_key_state, r->pack_keys_cap);
		memcpy(sizes, r->pack_sizes, r->pack_keys_cap * sizeof *sizes);
		sodium_free(r->pack_keys);
		free(r->pack_key_state);
		free(r->pack_sizes);
	}
	r->pack_sizes = sizes;
	r->pack_keys = keys;
	r->pack_key_state = state;
	r->pack_keys_cap = cap;
	return 0;
}

struct tail_check {
	struct repo *r;
	uint64_t size;
	uint8_t *key;
};

/* A pack's tail is good when it parses and its sealed key opens. */
static int tail_check_fn(void *ud, const uint8_t *p, size_t n)
{
	struct tail_check *tc = ud;
	struct pack_trailer tr;
	(void)n;
	int rc = pack_tail_parse(p, tc->size, &tr);
	if (rc == 0)
		rc = pack_key_open(tc->r->keys->data_pk, tc->r->keys->data_sk,
				   tr.sealed_key, tc->key);
	return rc;
}

int repo_pack_key(struct repo *r, uint32_t n, uint8_t key[32])
{
	char hex[65];
	uint64_t size;
	struct buf tail = BUF_INIT;
	int rc;
	if (!(r->keys->flags & MASTER_FLAG_FULL))
		return CAIRN_E_UNSUPPORTED;
	pthread_mutex_lock(&r->mu);
	rc = pack_keys_grow(r, n);
	if (rc == 0 && r->pack_key_state[n] == 1)
		memcpy(key, r->pack_keys[n], 32);
	else if (rc == 0 && r->pack_key_state[n] == 2)
		rc = CAIRN_E_CORRUPT;
	else if (rc == 0)
		rc = 1; /* not cached */
	const uint8_t *pid = index_pack_id(r->idx, n);
	if (pid)
		hex_encode(hex, pid, 32);
	pthread_mutex_unlock(&r->mu);
	if (rc <= 0)
		return rc;
	if (!pid)
		return CAIRN_E_NOTFOUND;
	TRY(backend_stat(r->be, OBJ_PACK, hex, &size));
	if (size < PACK_TAIL_LEN) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	struct tail_check tc = {.r = r, .size = size, .key = key};
	TRY(backend_get_verified(r->be, OBJ_PACK, hex, size - PACK_TAIL_LEN,
				 PACK_TAIL_LEN, &tail, tail_check_fn, &tc));
out:
	buf_free(&tail);
	pthread_mutex_lock(&r->mu);
	if (rc == 0) {
		memcpy(r->pack_keys[n], key, 32);
		r->pack_sizes[n] = size;
		r->pack_key_state[n] = 1;
	} else if (rc == CAIRN_E_CORRUPT) {
		r->pack_key_state[n] = 2;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int blob_reader_init(struct blob_reader *rd)
{
	memset(rd, 0, sizeof *rd);
	rd->dctx = ZSTD_createDCtx();
	rd->key = sodium_malloc(32);
	if (!rd->dctx || !rd->key) {
		blob_reader_free(rd);
		return CAIRN_E_NOMEM;
	}
	return 0;
}

void blob_reader_free(struct blob_reader *rd)
{
	ZSTD_freeDCtx(rd->dctx);
	if (rd->key)
		sodium_free(rd->key);
	buf_free(&rd->rec);
	if (rd->scratch.p)
		sodium_memzero(rd->scratch.p, rd->scratch.cap);
	buf_free(&rd->scratch);
	memset(rd, 0, sizeof *rd);
}

struct blob_check {
	struct repo *r;
	struct blob_reader *rd;
	const uint8_t *id;
	uint8_t type;
	uint64_t raw_length;
	struct buf *out;
};

/* Decrypts, decompresses and hashes a blob record as it is read. */
static int blob_check_fn(void *ud, const uint8_t *p, size_t n)
{
	struct blob_check *bc = ud;
	uint8_t got[32];
	int rc = blob_decode_reuse(bc->rd->key, bc->type, bc->id, p, n,
				   bc->raw_length, bc->rd->dctx,
				   &bc->r->resolver, &bc->rd->scratch,
				   bc->out);
	if (rc < 0)
		return rc;
	crypto_chunk_id(bc->r->keys, bc->out->p, bc->out->len, got);
	if (sodium_memcmp(got, bc->id, 32) != 0) {
		bc->out->len = 0;
		return CAIRN_E_CORRUPT;
	}
	return 0;
}

int repo_blob_read(struct repo *r, struct blob_reader *rd, const uint8_t id[32],
		   uint8_t type, struct buf *out)
{
	struct blob_reader tmp;
	struct blob_loc loc;
	char hex[65];
	int rc;
	pthread_mutex_lock(&r->mu);
	rc = index_lookup(r->idx, id, &loc);
	const uint8_t *pid = rc == 0 ? index_pack_id(r->idx, loc.pack) : NULL;
	if (pid)
		hex_encode(hex, pid, 32);
	pthread_mutex_unlock(&r->mu);
	if (rc < 0)
		return rc;
	if (loc.type != type || !pid)
		return CAIRN_E_CORRUPT;
	if (!rd) {
		TRY(blob_reader_init(&tmp));
		rd = &tmp;
	}
	TRY(repo_pack_key(r, loc.pack, rd->key));
	struct blob_check bc = {.r = r, .rd = rd, .id = id, .type = type,
				.raw_length = loc.raw_length, .out = out};
	if (r->pcache) {
		pthread_mutex_lock(&r->mu);
		uint64_t psize = r->pack_sizes[loc.pack];
		pthread_mutex_unlock(&r->mu);
		rc = pack_cache_read(r->pcache, r->be, hex, psize, loc.offset,
				     loc.length, &rd->rec);
		if (rc == 0)
			rc = blob_check_fn(&bc, rd->rec.p, rd->rec.len);
		if (rc == 0)
			goto out;
		if (rc == CAIRN_E_CORRUPT)
			pack_cache_drop(r->pcache, hex, loc.offset);
		/* damaged bytes, or a range the cache does not serve: the
		 * direct read below retries, checks and fails over; any
		 * other failure has had its retries already */
		if (rc != CAIRN_E_CORRUPT && rc != CAIRN_E_RANGE)
			goto out;
	}
	/* decoded inside the read, so that a damaged copy is read again,
	 * or from the next store of a replicated repository */
	rc = backend_get_verified(r->be, OBJ_PACK, hex, loc.offset, loc.length,
				  &rd->rec, blob_check_fn, &bc);
	if (rc < 0)
		out->len = 0;
out:
	if (rd == &tmp)
		blob_reader_free(&tmp);
	return rc;
}

static struct ZSTD_DDict_s *dict_cached(struct repo *r, const uint8_t id[32])
{
	for (size_t i = 0; i < r->ndicts; i++)
		if (!memcmp(r->dicts[i].id, id, 32))
			return r->dicts[i].ddict;
	return NULL;
}

int repo_dict_get(void *ud, const uint8_t id[32],
		  const struct ZSTD_DDict_s **ret)
{
	struct repo *r = ud;
	struct buf obj = BUF_INIT, d = BUF_INIT;
	ZSTD_DDict *dd = NULL;
	char hex[65];
	int rc;
	pthread_mutex_lock(&r->mu);
	*ret = dict_cached(r, id);
	pthread_mutex_unlock(&r->mu);
	if (*ret)
		return 0;
	if (!(r->keys->flags & MASTER_FLAG_FULL))
		return CAIRN_E_UNSUPPORTED;
	hex_encode(hex, id, 32);
	/* checked against its name (the id) by the store's wrapper */
	TRY(backend_get(r->be, OBJ_DICT, hex, 0, BACKEND_TO_END, &obj));
	TRY(dict_open(r->keys->data_pk, r->keys->data_sk, obj.p, obj.len, &d));
	dd = ZSTD_createDDict(d.p, d.len);
	if (!dd) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	pthread_mutex_lock(&r->mu);
	*ret = dict_cached(r, id);
	if (!*ret) {
		void *p = realloc(r->dicts, (r->ndicts + 1) * sizeof *r->dicts);
		if (p) {
			r->dicts = p;
			memcpy(r->dicts[r->ndicts].id, id, 32);
			r->dicts[r->ndicts].ddict = dd;
			r->ndicts++;
			*ret = dd;
			dd = NULL;
		} else {
			rc = CAIRN_E_NOMEM;
		}
	}
	pthread_mutex_unlock(&r->mu);
out:
	ZSTD_freeDDict(dd);
	if (d.p)
		sodium_memzero(d.p, d.cap);
	buf_free(&d);
	buf_free(&obj);
	return rc;
}

int repo_tree_load(struct repo *r, const uint8_t id[32], struct tree *ret)
{
	struct buf b = BUF_INIT;
	int rc = repo_blob_read(r, NULL, id, BLOB_TREE, &b);
	if (rc == 0)
		rc = tree_decode(b.p, b.len, ret);
	buf_free(&b);
	return rc;
}

/* ---- snapshots ---------------------------------------------------- */

static int str_in(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

static int filter_pass(const struct snapshot *s, const struct snapshot_filter *f)
{
	if (!f)
		return 1;
	if (f->host && strcmp(f->host, s->hostname))
		return 0;
	for (const char *const *t = f->tags; t && *t; t++)
		if (!str_in(s->tags, s->ntags, *t))
			return 0;
	for (const char *const *p = f->paths; p && *p; p++)
		if (!str_in(s->paths, s->npaths, *p))
			return 0;
	return 1;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct snapshot *x = a, *y = b;
	if (x->time_sec != y->time_sec)
		return x->time_sec < y->time_sec ? -1 : 1;
	if (x->time_nsec != y->time_nsec)
		return x->time_nsec < y->time_nsec ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

/* Lists the snapshots again and appends the names not in *names (growing
 * *v to match). */
static int names_add_new(struct repo *r, char (**names)[65], size_t *nn,
			 struct snapshot **v)
{
	char (*again)[65] = NULL;
	size_t na = 0, add = 0;
	int rc = repo_list_names(r, OBJ_SNAPSHOT, &again, &na);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < na; i++)
		if (!name_listed(*names, *nn, again[i]))
			add++;
	if (add) {
		char (*nv)[65] = realloc(*names, (*nn + add) * sizeof *nv);
		struct snapshot *sv = nv ? realloc(*v, (*nn + add) * sizeof *sv)
					 : NULL;
		if (nv)
			*names = nv;
		if (!sv) {
			free(again);
			return CAIRN_E_NOMEM;
		}
		*v = sv;
		size_t old = *nn;
		for (size_t i = 0; i < na; i++)
			if (!name_listed(*names, old, again[i]))
				memcpy((*names)[(*nn)++], again[i], 65);
	}
	free(again);
	return 0;
}

int repo_snapshots_list(struct repo *r, const struct snapshot_filter *filter,
			struct snapshot **ret, size_t *n)
{
	char (*names)[65] = NULL;
	size_t nn = 0, k = 0;
	struct buf pt = BUF_INIT;
	struct snapshot *v = NULL;
	int rc, relisted = 0;
	TRY(repo_list_names(r, OBJ_SNAPSHOT, &names, &nn));
	v = calloc(nn ? nn : 1, sizeof *v);
	if (!v) {
		rc = CAIRN_E_NOMEM;
		goto out;
	}
	r->snapshots_skipped = 0;
	for (size_t i = 0; i < nn; i++) {
		memset(&v[k], 0, sizeof v[k]);
		rc = repo_object_load(r, OBJ_SNAPSHOT, names[i], MAGIC_SNAPSHOT,
				      &pt);
		if (rc == 0)
			rc = snapshot_decode(pt.p, pt.len, &v[k]);
		if (rc == CAIRN_E_NOMEM)
			goto out;
		if (rc == CAIRN_E_NOTFOUND) {
			/* forgotten since the listing: not damage; or a name
			 * damaged on the way in the listing, which hid the
			 * real one: list once more and add what is new */
			snapshot_free(&v[k]);
			if (!relisted) {
				relisted = 1;
				TRY(names_add_new(r, &names, &nn, &v));
			}
			continue;
		}
		if (rc < 0) {
			/* a damaged snapshot must not hide the others; check
			 * reports it */
			snapshot_free(&v[k]);
			r->snapshots_skipped++;
			continue;
		}
		hex_decode(v[k].id, 32, names[i]);
		if (filter_pass(&v[k], filter))
			k++;
		else
			snapshot_free(&v[k]);
	}
	qsort(v, k, sizeof *v, snap_cmp);
	rc = 0;
	*ret = v;
	*n = k;
	v = NULL;
out:
	if (v)
		repo_snapshots_free(v, k);
	free(names);
	buf_free(&pt);
	return rc;
}

void repo_snapshots_free(struct snapshot *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		snapshot_free(&s[i]);
	free(s);
}

/* Moves src into dst (shallow), leaving src empty. */
static void snapshot_move(struct snapshot *dst, struct snapshot *src)
{
	*dst = *src;
	memset(src, 0, sizeof *src);
}

int repo_snapshot_find(struct repo *r, const char *spec,
		       const struct snapshot_filter *filter,
		       struct snapshot *ret)
{
	struct snapshot *v = NULL;
	size_t n = 0;
	int rc;
	int latest = !strcmp(spec, "latest");
	TRY(repo_snapshots_list(r, latest ? filter : NULL, &v, &n));
	if (latest) {
		if (!n) {
			rc = CAIRN_E_NOTFOUND;
			goto out;
		}
		snapshot_move(ret, &v[n - 1]);
		goto out;
	}
	size_t sl = strlen(spec), found = SIZE_MAX, nfound = 0;
	for (size_t i = 0; i < n && sl && sl <= 64; i++) {
		char hex[65];
		hex_encode(hex, v[i].id, 32);
		if (!strncmp(hex, spec, sl)) {
			found = i;
			nfound++;
		}
	}
	if (nfound == 0)
		rc = CAIRN_E_NOTFOUND;
	else if (nfound > 1)
		rc = CAIRN_E_AMBIGUOUS;
	else
		snapshot_move(ret, &v[found]);
out:
	repo_snapshots_free(v, n);
	return rc;
}

int repo_snapshot_remove(struct repo *r, const uint8_t id[32])
{
	char hex[65];

	hex_encode(hex, id, 32);
	return backend_remove(r->be, OBJ_SNAPSHOT, hex);
}

/* ---- walking ------------------------------------------------------- */

struct walk_ctx {
	struct repo *r;
	int (*fn)(void *ud, const char *path, const struct tree_node *n);
	void *ud;
	unsigned depth;
};

#define WALK_MAX_DEPTH 4096

static int walk_tree(struct walk_ctx *w, const uint8_t id[32],
		     const char *prefix)
{
	struct tree t = {0};
	int rc;
	if (++w->depth > WALK_MAX_DEPTH) {
		rc = CAIRN_E_CORRUPT;
		goto out;
	}
	TRY(repo_tree_load(w->r, id, &t));
	for (size_t i = 0; i < t.n; i++) {
		const struct tree_node *nd = &t.nodes[i];
		size_t pl = strlen(prefix);
		char *path = malloc(pl + nd->name_len + 2);
		if (!path) {
			rc = CAIRN_E_NOMEM;
			goto out;
		}
		sprintf(path, "%s%s%s", prefix, pl ? "/" : "", nd->name);
		rc = w->fn(w->ud, path, nd);
		if (rc == 0 && nd->type == NODE_DIR && nd->has_subtree)
			rc = walk_tree(w, nd->subtree, path);
		free(path);
		if (rc < 0)
			goto out;
	}
out:
	w->depth--;
	tree_free(&t);
	return rc;
}

int repo_walk(struct repo *r, const struct snapshot *s,
	      int (*fn)(void *ud, const char *path, const struct tree_node *n),
	      void *ud)
{
	int rc = repo_index_load(r, NULL, NULL);
	if (rc < 0 && rc != CAIRN_E_CORRUPT)
		return rc;
	struct walk_ctx w = {r, fn, ud, 0};
	return walk_tree(&w, s->tree, "");
}
