/* pool.h — the compute pool: T threads that run one parallel loop at a time
 * for the engine's matrix work. The caller takes part as thread 0, so a pool
 * of T has T-1 helper threads.
 *
 * A forward step issues hundreds of small parallel loops per token; waking
 * threads through a condition variable for each would cost more than the
 * work. Helpers therefore spin on a generation counter for a short while
 * after each loop and only then sleep, so back-to-back loops start in
 * nanoseconds, and an idle pool still costs no CPU.
 *
 * Threads: one caller at a time per pool (the model's scheduler thread). */
#ifndef HEARTH_POOL_H
#define HEARTH_POOL_H

#include <stddef.h>

typedef struct hr_pool hr_pool;

/* fn runs for thread ids 0..n_threads-1 with the same ctx; each splits the
 * work by its id (see hr_pool_range). */
typedef void (*hr_pool_fn)(void *ctx, int thread_id, int n_threads);

/* A pool of n_threads (>= 1) including the caller. NULL on failure. */
hr_pool *hr_pool_new(int n_threads);
void hr_pool_free(hr_pool *p);
int hr_pool_size(const hr_pool *p);
/* Runs fn on every thread of the pool and returns when all are done.
 * n_threads_wanted (1..size) limits how many take part (small work). */
void hr_pool_run(hr_pool *p, hr_pool_fn fn, void *ctx, int n_threads_wanted);

/* The share [begin, end) of n items for thread id of n_threads, in chunks
 * that are multiples of align (the last may be shorter). */
static inline void hr_pool_range(int n, int align, int id, int n_threads, int *begin, int *end) {
  int chunks = (n + align - 1) / align;
  int per = chunks / n_threads, extra = chunks % n_threads;
  int b = id * per + (id < extra ? id : extra);
  int e = b + per + (id < extra ? 1 : 0);
  *begin = b * align < n ? b * align : n;
  *end = e * align < n ? e * align : n;
}

#endif
