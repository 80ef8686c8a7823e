/* pool.c — chunked parallel loops (see pool.h).
 *
 * One 64-bit word holds the current loop: [generation:24][chunks:20]
 * [next:20]. A thread claims a chunk by compare-and-swap on the whole word,
 * so a claim can only succeed for the loop the word describes, and the
 * loop's fn and ctx, written before the word was published, stay put until
 * every claimed chunk is done (the caller waits for that before the next
 * loop). Sleeping helpers are woken through the condition variable only
 * when some helper went to sleep. */
#include "pool.h"

#include "base.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define SPIN_ITERS 100000 /* ~ a few milliseconds of pause loops */

#define ST_NEXT(s) ((uint32_t)((s) & 0xFFFFF))
#define ST_CHUNKS(s) ((uint32_t)(((s) >> 20) & 0xFFFFF))
#define ST_GEN(s) ((uint32_t)((s) >> 40))

typedef struct {
  struct hr_pool *pool;
  int id;
  pthread_t thread;
} worker;

struct hr_pool {
  int n_threads;
  worker *workers;
  _Atomic uint64_t state;
  _Atomic int done;     /* chunks finished in the current loop */
  _Atomic int sleepers;
  _Atomic bool stop;
  hr_pool_fn fn;
  void *ctx;
  pthread_mutex_t lock; /* with cond: sleeping helpers */
  pthread_cond_t cond;
};

/* Claims the next chunk of the current loop, or returns -1. */
static int claim(hr_pool *p) {
  uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
  while (ST_NEXT(s) < ST_CHUNKS(s)) {
    if (atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acq_rel,
                                              memory_order_acquire))
      return (int)ST_NEXT(s);
  }
  return -1;
}

static void run_chunks(hr_pool *p, int id) {
  int c;
  while ((c = claim(p)) >= 0) {
    p->fn(p->ctx, c, id);
    atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
  }
}

static bool has_work(hr_pool *p) {
  uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
  return ST_NEXT(s) < ST_CHUNKS(s);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  hr_pool *p = w->pool;
  for (;;) {
    int spins = 0;
    while (!has_work(p)) {
      if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
      if (++spins < SPIN_ITERS) {
        cpu_relax();
        continue;
      }
      pthread_mutex_lock(&p->lock);
      atomic_fetch_add(&p->sleepers, 1);
      while (!has_work(p) && !atomic_load(&p->stop)) pthread_cond_wait(&p->cond, &p->lock);
      atomic_fetch_sub(&p->sleepers, 1);
      pthread_mutex_unlock(&p->lock);
      spins = 0;
    }
    run_chunks(p, w->id);
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

void hr_pool_run(hr_pool *p, hr_pool_fn fn, void *ctx, int n_chunks, int serial) {
  if (n_chunks <= 0) return;
  if (serial || p->n_threads == 1 || n_chunks == 1) {
    for (int c = 0; c < n_chunks; c++) fn(ctx, c, 0);
    return;
  }
  if (n_chunks > HR_POOL_MAX_CHUNKS) n_chunks = HR_POOL_MAX_CHUNKS;
  p->fn = fn;
  p->ctx = ctx;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  uint64_t gen = ST_GEN(atomic_load_explicit(&p->state, memory_order_relaxed)) + 1;
  /* seq_cst: pairs with a helper's sleepers increment before its check. */
  atomic_store(&p->state, ((gen & 0xFFFFFF) << 40) | ((uint64_t)n_chunks << 20));
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
  run_chunks(p, 0);
  /* Chunks another thread claimed: wait for them, yielding if it takes long
   * (that thread was likely preempted and needs this core). */
  int spins = 0;
  while (atomic_load_explicit(&p->done, memory_order_acquire) < n_chunks) {
    if (++spins < 2000) cpu_relax();
    else sched_yield();
  }
}
