/* replicas.c: comparing and healing the stores of a replicated repository
 * (check --replicas, repair).
 *
 * Every store should hold every object.  For each object type, each
 * store's listing is read and the union formed; a copy is
 *   - missing when a store's listing lacks the name;
 *   - corrupt when its bytes do not hash to its name (the config, whose
 *     name is fixed, is checked against the hash the master keys hold);
 *     copies are read when read_data is set, and always when stores
 *     disagree on an object's size.
 * Repair reads a copy that passes its hash check and writes it to the
 * stores that lack it or hold a corrupt copy (that copy removed first), so
 * rot is never spread.  Objects go in dependency order (packs and
 * dictionaries, then index files, keys, records, snapshots, the config):
 * a store being healed never names what it does not yet hold.
 */
#include "repo_internal.h"

#include "workq.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLICAS_MAX 32

struct rp {
	struct repo *r;
	const struct replicas_opts *o;
	struct backend *m[REPLICAS_MAX];
	size_t n;
	pthread_mutex_t mu;
	struct replicas_result *res;
	int err;                 /* first fatal error (no memory, ...) */
};

struct rp_obj {
	char name[65];
	uint32_t have;           /* stores whose listing shows it */
	uint64_t size[REPLICAS_MAX];
};

struct rp_list {
	struct rp_obj *v;
	size_t n, cap;
	size_t store;
	int sorted;
};

struct rp_job {
	struct rp *rp;
	enum obj_type t;
	struct rp_obj obj;
};

static int list_add(void *ud, const char *name, uint64_t size)
{
	struct rp_list *l = ud;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return CAIRN_E_NOMEM;
		l->v = p;
		l->cap = cap;
	}
	struct rp_obj *o = &l->v[l->n++];
	memset(o, 0, sizeof *o);
	snprintf(o->name, sizeof o->name, "%s", name);
	o->have = 1u << l->store;
	o->size[l->store] = size;
	return 0;
}

static int obj_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rp_obj *)a)->name,
		      ((const struct rp_obj *)b)->name);
}

static const char *type_label(enum obj_type t)
{
	return t == OBJ_CONFIG ? "config" : backend_type_dir(t);
}

static void rp_event(struct rp *rp, enum repo_event_kind kind, size_t store,
		     enum obj_type t, const char *name, int code,
		     const char *what)
{
	char path[200];
	if (t == OBJ_CONFIG)
		snprintf(path, sizeof path, "config");
	else
		snprintf(path, sizeof path, "%s/%s", type_label(t), name);
	repo_emit(rp->o->on_event, rp->o->event_ud, kind, path, code,
		  "%s: %s", backend_location(rp->m[store]), what);
}

/* Reads store i's copy whole and checks it: 0 good, CAIRN_E_CORRUPT,
 * or another error when it could not be read. */
static int copy_read(struct rp *rp, size_t i, enum obj_type t,
		     const char *name, struct buf *out)
{
	int rc = backend_get(rp->m[i], t, name, 0, BACKEND_TO_END, out);
	if (rc == 0 && t == OBJ_CONFIG) {
		uint8_t h[32];
		crypto_object_hash(out->p, out->len, h);
		if (sodium_memcmp(h, rp->r->keys->config_hash, 32) != 0)
			rc = CAIRN_E_CORRUPT;
	}
	return rc;
}

static void count(struct rp *rp, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&rp->mu);
	*field += n;
	pthread_mutex_unlock(&rp->mu);
}

static void job_run(void *arg, void *state)
{
	struct rp_job *j = arg;
	struct rp *rp = j->rp;
	struct replicas_result *res = rp->res;
	struct buf good = BUF_INIT, tmp = BUF_INIT;
	uint32_t bad = 0, corrupt = 0;
	int have_good = 0, rc = 0;
	(void)state;
	if (rp->o->interrupt && *rp->o->interrupt)
		goto out;

	/* sizes that disagree mean some copy is damaged: read them all */
	int differ = 0;
	uint64_t first = 0;
	int seen = 0;
	for (size_t i = 0; i < rp->n; i++) {
		if (!(j->obj.have & (1u << i)))
			continue;
		if (seen && j->obj.size[i] != first)
			differ = 1;
		first = j->obj.size[i];
		seen = 1;
	}
	int read_all = rp->o->read_data || differ;
	for (size_t i = 0; i < rp->n; i++) {
		if (!(j->obj.have & (1u << i))) {
			bad |= 1u << i;
			count(rp, &res->missing, 1);
			count(rp, &res->per_store[i].missing, 1);
			rp_event(rp, EV_ERROR, i, j->t, j->obj.name,
				 CAIRN_E_NOTFOUND, "missing");
			continue;
		}
		if (!read_all && have_good)
			continue;
		if (!read_all && !rp->o->repair)
			continue;
		/* a copy to repair from (repair) or to check (read_data) */
		struct buf *dst = have_good ? &tmp : &good;
		rc = copy_read(rp, i, j->t, j->obj.name, dst);
		count(rp, &res->per_store[i].read, 1);
		if (rc == 0) {
			have_good = 1;
			continue;
		}
		if (rc == CAIRN_E_NOMEM)
			goto out;
		bad |= 1u << i;
		if (rc == CAIRN_E_CORRUPT || rc == CAIRN_E_NOTFOUND) {
			corrupt |= 1u << i;
			count(rp, &res->corrupt, 1);
			count(rp, &res->per_store[i].corrupt, 1);
			rp_event(rp, EV_ERROR, i, j->t, j->obj.name, rc,
				 rc == CAIRN_E_CORRUPT
					 ? "corrupt copy (hash mismatch)"
					 : "listed but cannot be read");
		} else {
			count(rp, &res->unreadable, 1);
			count(rp, &res->per_store[i].unreadable, 1);
			rp_event(rp, EV_ERROR, i, j->t, j->obj.name, rc,
				 "cannot be read");
		}
	}
	rc = 0;
	if (!bad || !rp->o->repair)
		goto out;
	if (!have_good) {
		/* a listed copy was never read (not read_all): read one */
		for (size_t i = 0; i < rp->n && !have_good; i++)
			if ((j->obj.have & ~bad) & (1u << i))
				have_good = copy_read(rp, i, j->t, j->obj.name,
						      &good) == 0;
	}
	if (!have_good) {
		count(rp, &res->unrepairable, 1);
		repo_emit(rp->o->on_event, rp->o->event_ud, EV_ERROR,
			  j->obj.name, CAIRN_E_CORRUPT,
			  "%s: no store holds a good copy",
			  type_label(j->t));
		goto out;
	}
	for (size_t i = 0; i < rp->n; i++) {
		if (!(bad & (1u << i)))
			continue;
		if (corrupt & (1u << i)) {
			int rrc = backend_remove(rp->m[i], j->t, j->obj.name);
			if (rrc < 0 && rrc != CAIRN_E_NOTFOUND) {
				rp_event(rp, EV_ERROR, i, j->t, j->obj.name,
					 rrc, "cannot remove the corrupt copy");
				count(rp, &res->unrepairable, 1);
				continue;
			}
		}
		int prc = backend_put(rp->m[i], j->t, j->obj.name, good.p,
				      good.len);
		if (prc == CAIRN_E_EXISTS && j->t != OBJ_CONFIG)
			prc = 0;
		if (prc < 0) {
			rp_event(rp, EV_ERROR, i, j->t, j->obj.name, prc,
				 "cannot write the good copy");
			count(rp, &res->unrepairable, 1);
			continue;
		}
		count(rp, &res->repaired, 1);
		count(rp, &res->per_store[i].repaired, 1);
		rp_event(rp, EV_INFO, i, j->t, j->obj.name, 0, "repaired");
	}
out:
	if (rc == CAIRN_E_NOMEM) {
		pthread_mutex_lock(&rp->mu);
		if (!rp->err)
			rp->err = rc;
		pthread_mutex_unlock(&rp->mu);
	}
	buf_free(&good);
	buf_free(&tmp);
	free(j);
}

/* Lists type t on every store and merges the listings. */
static int type_gather(struct rp *rp, enum obj_type t, struct rp_list *all,
		       uint32_t *listed)
{
	int rc = 0;
	*listed = 0;
	all->n = 0;
	for (size_t i = 0; i < rp->n; i++) {
		struct rp_list l = {.store = i};
		rc = backend_list(rp->m[i], t, list_add, &l);
		if (rc == CAIRN_E_NOMEM) {
			free(l.v);
			return rc;
		}
		if (rc < 0) {
			count(rp, &rp->res->unreadable, 1);
			count(rp, &rp->res->per_store[i].unreadable, 1);
			repo_emit(rp->o->on_event, rp->o->event_ud, EV_ERROR,
				  type_label(t), rc, "%s: cannot list",
				  backend_location(rp->m[i]));
			free(l.v);
			continue;
		}
		*listed |= 1u << i;
		for (size_t k = 0; k < l.n; k++) {
			if (all->n == all->cap) {
				size_t cap = all->cap ? all->cap * 2 : 256;
				void *p = realloc(all->v, cap * sizeof *all->v);
				if (!p) {
					free(l.v);
					return CAIRN_E_NOMEM;
				}
				all->v = p;
				all->cap = cap;
			}
			all->v[all->n++] = l.v[k];
		}
		free(l.v);
	}
	if (all->n)
		qsort(all->v, all->n, sizeof *all->v, obj_cmp);
	/* merge equal names */
	size_t w = 0;
	for (size_t k = 0; k < all->n; k++) {
		if (w && !strcmp(all->v[w - 1].name, all->v[k].name)) {
			struct rp_obj *d = &all->v[w - 1];
			for (size_t i = 0; i < rp->n; i++)
				if (all->v[k].have & (1u << i))
					d->size[i] = all->v[k].size[i];
			d->have |= all->v[k].have;
		} else {
			all->v[w++] = all->v[k];
		}
	}
	all->n = w;
	return 0;
}

int repo_replicas_check(struct repo *r, const struct replicas_opts *o,
			struct replicas_result *res)
{
	static const enum obj_type order[] = {
		OBJ_PACK, OBJ_DICT, OBJ_INDEX, OBJ_KEY, OBJ_MARK, OBJ_SNAPSHOT,
		OBJ_CONFIG,
	};
	struct rp rp = {.r = r, .o = o, .res = res};
	struct rp_list all = {0};
	struct workq *q = NULL;
	int rc = 0;
	memset(res, 0, sizeof *res);
	rp.n = backend_replica_count(r->be);
	if (rp.n > REPLICAS_MAX)
		return CAIRN_E_RANGE;
	res->stores = rp.n;
	for (size_t i = 0; i < rp.n; i++) {
		rp.m[i] = backend_replica(r->be, i);
		snprintf(res->per_store[i].location,
			 sizeof res->per_store[i].location, "%s",
			 backend_location(rp.m[i]));
	}
	pthread_mutex_init(&rp.mu, NULL);
	int threads = o->threads > 0 ? o->threads : 8;
	TRY(workq_new(threads, (size_t)threads * 4, NULL, NULL, NULL, &q));
	for (size_t ti = 0; ti < sizeof order / sizeof *order; ti++) {
		uint32_t listed;
		TRY(type_gather(&rp, order[ti], &all, &listed));
		for (size_t k = 0; k < all.n; k++) {
			if (o->interrupt && *o->interrupt) {
				rc = CAIRN_E_INTERRUPTED;
				goto out;
			}
			struct rp_job *j = malloc(sizeof *j);
			if (!j) {
				rc = CAIRN_E_NOMEM;
				goto out;
			}
			j->rp = &rp;
			j->t = order[ti];
			j->obj = all.v[k];
			/* a store whose listing failed is not "missing"
			 * everything: leave it alone */
			j->obj.have |= ~listed & ((1u << rp.n) - 1);
			for (size_t i = 0; i < rp.n; i++)
				if (!(listed & (1u << i)))
					j->obj.size[i] = 0;
			res->objects++;
			TRY(workq_push(q, job_run, j));
		}
		/* dependency order: this type is whole before the next */
		workq_drain(q);
		if (rp.err) {
			rc = rp.err;
			goto out;
		}
	}
out:
	workq_free(q);
	free(all.v);
	pthread_mutex_destroy(&rp.mu);
	if (rc == 0 && o->interrupt && *o->interrupt)
		rc = CAIRN_E_INTERRUPTED;
	if (rc == 0 && (res->unrepairable ||
			(!o->repair && (res->missing || res->corrupt ||
					res->unreadable)) ||
			(o->repair && res->unreadable)))
		rc = CAIRN_E_CORRUPT;
	return rc;
}
