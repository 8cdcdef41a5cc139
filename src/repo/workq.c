/* workq.c: see workq.h. */
#include "workq.h"
#include "cairn_err.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct wq_item {
	workq_fn fn;
	void *job;
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full, idle;
	struct wq_item *ring;
	size_t cap, head, count;
	size_t running;
	int stop;
	int nthreads;
	pthread_t *threads;
	void **states;
	void (*state_free)(void *);
};

struct wq_start {
	struct workq *q;
	int i;
};

static void *worker_main(void *arg)
{
	struct wq_start *st = arg;
	struct workq *q = st->q;
	void *state = q->states[st->i];
	free(st);
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->count && !q->stop)
			pthread_cond_wait(&q->not_empty, &q->mu);
		if (!q->count && q->stop)
			break;
		struct wq_item it = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		q->running++;
		pthread_cond_signal(&q->not_full);
		pthread_mutex_unlock(&q->mu);
		it.fn(it.job, state);
		pthread_mutex_lock(&q->mu);
		q->running--;
		if (!q->count && !q->running)
			pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int workq_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (int)n;
}

int workq_new(int nthreads, size_t capacity, void *(*state_new)(void *ud, int i),
	      void (*state_free)(void *state), void *ud, struct workq **ret)
{
	if (nthreads < 1)
		nthreads = 1;
	if (capacity < 1)
		capacity = 1;
	struct workq *q = calloc(1, sizeof *q);
	if (!q)
		return CAIRN_E_NOMEM;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	pthread_cond_init(&q->idle, NULL);
	q->cap = capacity;
	q->state_free = state_free;
	q->ring = calloc(capacity, sizeof *q->ring);
	q->threads = calloc((size_t)nthreads, sizeof *q->threads);
	q->states = calloc((size_t)nthreads, sizeof *q->states);
	if (!q->ring || !q->threads || !q->states) {
		workq_free(q);
		return CAIRN_E_NOMEM;
	}
	for (int i = 0; i < nthreads; i++) {
		q->states[i] = state_new ? state_new(ud, i) : NULL;
		struct wq_start *st = malloc(sizeof *st);
		if (!st) {
			workq_free(q);
			return CAIRN_E_NOMEM;
		}
		st->q = q;
		st->i = i;
		if (pthread_create(&q->threads[i], NULL, worker_main, st) != 0) {
			free(st);
			if (state_free && q->states[i])
				state_free(q->states[i]);
			q->states[i] = NULL;
			workq_free(q);
			return CAIRN_E_NOMEM;
		}
		q->nthreads = i + 1;
	}
	*ret = q;
	return 0;
}

int workq_push(struct workq *q, workq_fn fn, void *job)
{
	pthread_mutex_lock(&q->mu);
	while (q->count == q->cap)
		pthread_cond_wait(&q->not_full, &q->mu);
	q->ring[(q->head + q->count) % q->cap] = (struct wq_item){fn, job};
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void workq_drain(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->count || q->running)
		pthread_cond_wait(&q->idle, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

void *workq_state(struct workq *q, int i)
{
	return i >= 0 && i < q->nthreads ? q->states[i] : NULL;
}

int workq_threads(const struct workq *q) { return q->nthreads; }

void workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	if (q->states)
		for (int i = 0; i < q->nthreads; i++)
			if (q->state_free && q->states[i])
				q->state_free(q->states[i]);
	free(q->ring);
	free(q->threads);
	free(q->states);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->idle);
	free(q);
}
