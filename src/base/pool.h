/* pool.h — the compute pool: T threads that share one parallel loop at a
 * time for the engine's matrix work. The caller takes part as thread 0, so
 * a pool of T has T-1 helper threads.
 *
 * Work is a number of chunks handed out one at a time through an atomic
 * counter, so a thread that the OS preempts (the I/O loops and other
 * processes share these cores) holds up at most the chunk it is in: the
 * others, the caller included, take the rest. Helpers spin on the counter
 * for a while after each loop and only then sleep, so the hundreds of loops
 * of one forward step start in nanoseconds while an idle pool costs nothing.
 *
 * Threads: one caller at a time per pool (the model's scheduler thread). */
#ifndef HEARTH_POOL_H
#define HEARTH_POOL_H

#include <stddef.h>

typedef struct hr_pool hr_pool;

/* Runs chunk `chunk` of a loop. thread_id (0..size-1) indexes per-thread
 * scratch; which thread runs which chunk is not fixed. */
typedef void (*hr_pool_fn)(void *ctx, int chunk, int thread_id);

/* A pool of n_threads (>= 1) including the caller. NULL on failure. */
hr_pool *hr_pool_new(int n_threads);
void hr_pool_free(hr_pool *p);
int hr_pool_size(const hr_pool *p);
/* Runs fn for chunks 0..n_chunks-1 (at most HR_POOL_MAX_CHUNKS) spread over
 * the pool, and returns when all are done. serial: the caller runs them all
 * (work too small to be worth waking anyone). */
/* Items [*i0, *i1) of n split evenly into n_chunks: chunk's share. */
static inline void hr_pool_span(int n, int chunk, int n_chunks, int *i0, int *i1) {
  *i0 = (int)((long)n * chunk / n_chunks);
  *i1 = (int)((long)n * (chunk + 1) / n_chunks);
}
#define HR_POOL_MAX_CHUNKS 0xFFFFF
void hr_pool_run(hr_pool *p, hr_pool_fn fn, void *ctx, int n_chunks, int serial);

#endif
