/* workq.h: a fixed pool of worker threads fed by a bounded FIFO.  The
 * bound is what keeps a backup's or restore's memory flat whatever the
 * input size: push() blocks while the queue is full.
 *
 * Each worker owns a state object (zstd contexts, an open pack, buffers)
 * made by state_new on the worker's own thread count; jobs receive it.
 */
#ifndef CAIRN_WORKQ_H
#define CAIRN_WORKQ_H

#include <stddef.h>

typedef void (*workq_fn)(void *job, void *state);

struct workq;

/* Starts nthreads workers (>= 1) with a queue of capacity jobs.
 * state_new(ud, i) makes worker i's state (NULL allowed when it fails: the
 * worker then gets NULL, and jobs must cope). */
int workq_new(int nthreads, size_t capacity, void *(*state_new)(void *ud, int i),
	      void (*state_free)(void *state), void *ud, struct workq **ret);
/* Queues fn(job, state); blocks while the queue is full. */
int workq_push(struct workq *q, workq_fn fn, void *job);
/* Waits until every queued job has run. */
void workq_drain(struct workq *q);
/* Worker i's state (for end-of-run work by the owner, after a drain). */
void *workq_state(struct workq *q, int i);
int workq_threads(const struct workq *q);
/* Drains, stops and joins the workers, frees their states. NULL ok. */
void workq_free(struct workq *q);

/* Number of online CPUs (at least 1). */
int workq_cpus(void);

#endif
