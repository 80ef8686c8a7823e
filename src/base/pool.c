/* pool.c — spin-then-sleep parallel loops (see pool.h).
 *
 * Protocol: the caller publishes (fn, ctx, n_wanted) and bumps `gen`; each
 * helper that sees a new gen runs fn if its id < n_wanted and then bumps
 * `done`. The caller runs id 0 and waits for done == n_wanted - 1. Sleeping
 * helpers are woken through the condition variable only when some helper
 * went to sleep (sleepers > 0). */
#include "pool.h"

#include "base.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <immintrin.h>

#define SPIN_ITERS 200000 /* ~ tens of microseconds of pause loops */

typedef struct {
  hr_pool *pool;
  int id;
  pthread_t thread;
} worker;

struct hr_pool {
  int n_threads;
  worker *workers;
  _Atomic unsigned gen;
  _Atomic int done;
  _Atomic int sleepers;
  _Atomic bool stop;
  hr_pool_fn fn;
  void *ctx;
  int n_wanted;
  pthread_mutex_t lock; /* with cond: sleeping helpers */
  pthread_cond_t cond;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

static void *worker_main(void *arg) {
  worker *w = arg;
  hr_pool *p = w->pool;
  unsigned seen = 0;
  for (;;) {
    unsigned g;
    int spins = 0;
    while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen) {
      if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
      if (++spins < SPIN_ITERS) {
        cpu_relax();
        continue;
      }
      pthread_mutex_lock(&p->lock);
      atomic_fetch_add(&p->sleepers, 1);
      while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->cond, &p->lock);
      atomic_fetch_sub(&p->sleepers, 1);
      pthread_mutex_unlock(&p->lock);
      spins = 0;
    }
    seen = g;
    if (atomic_load(&p->stop)) return NULL;
    if (w->id < p->n_wanted) {
      p->fn(p->ctx, w->id, p->n_wanted);
      atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
  }
}

hr_pool *hr_pool_new(int n_threads) {
  if (n_threads < 1) n_threads = 1;
  hr_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n_threads = n_threads;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->workers = calloc((size_t)n_threads, sizeof *p->workers);
  if (!p->workers) {
    free(p);
    return NULL;
  }
  for (int i = 1; i < n_threads; i++) {
    p->workers[i].pool = p;
    p->workers[i].id = i;
    if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
      p->n_threads = i; /* run with what started */
      break;
    }
  }
  return p;
}

void hr_pool_free(hr_pool *p) {
  if (!p) return;
  atomic_store(&p->stop, true);
  pthread_mutex_lock(&p->lock);
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  for (int i = 1; i < p->n_threads; i++) pthread_join(p->workers[i].thread, NULL);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cond);
  free(p->workers);
  free(p);
}

int hr_pool_size(const hr_pool *p) { return p->n_threads; }

void hr_pool_run(hr_pool *p, hr_pool_fn fn, void *ctx, int n_wanted) {
  if (n_wanted < 1 || n_wanted > p->n_threads) n_wanted = p->n_threads;
  if (n_wanted == 1) {
    fn(ctx, 0, 1);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  p->n_wanted = n_wanted;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  atomic_fetch_add(&p->gen, 1); /* seq_cst: pairs with the sleepers check below */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
  fn(ctx, 0, n_wanted);
  while (atomic_load_explicit(&p->done, memory_order_acquire) < n_wanted - 1) cpu_relax();
}
