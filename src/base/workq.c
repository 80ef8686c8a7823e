/* workq.c — a mutex-guarded FIFO and a condition variable; jobs are rare
 * and long next to the lock, so nothing cleverer is needed. */
#include "workq.h"

#include "base.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct job {
  struct job *next;
  void (*fn)(void *arg);
  void *arg;
} job;

struct hr_workq {
  pthread_mutex_t lock; /* guards head, tail, stopping */
  pthread_cond_t cond;
  job *head, *tail;
  bool stopping;
  int n_threads;
  pthread_t *threads;
};

static void *worker(void *arg) {
  hr_workq *q = arg;
  pthread_mutex_lock(&q->lock);
  for (;;) {
    while (!q->head && !q->stopping) pthread_cond_wait(&q->cond, &q->lock);
    job *j = q->head;
    if (!j) break; /* stopping and drained */
    q->head = j->next;
    if (!q->head) q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    j->fn(j->arg);
    free(j);
    pthread_mutex_lock(&q->lock);
  }
  pthread_mutex_unlock(&q->lock);
  return NULL;
}

hr_workq *hr_workq_new(int n_threads) {
  hr_workq *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->cond, NULL);
  q->threads = calloc((size_t)(n_threads > 0 ? n_threads : 1), sizeof(pthread_t));
  if (!q->threads) {
    free(q);
    return NULL;
  }
  for (int i = 0; i < n_threads; i++) {
    if (pthread_create(&q->threads[i], NULL, worker, q) != 0) break;
    q->n_threads++;
  }
  return q;
}

void hr_workq_free(hr_workq *q) {
  if (!q) return;
  pthread_mutex_lock(&q->lock);
  q->stopping = true;
  pthread_cond_broadcast(&q->cond);
  pthread_mutex_unlock(&q->lock);
  for (int i = 0; i < q->n_threads; i++) pthread_join(q->threads[i], NULL);
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->cond);
  free(q->threads);
  free(q);
}

int hr_workq_submit(hr_workq *q, void (*fn)(void *arg), void *arg) {
  job *j = malloc(sizeof *j);
  if (!j) return HR_ENOMEM;
  j->next = NULL;
  j->fn = fn;
  j->arg = arg;
  pthread_mutex_lock(&q->lock);
  if (q->stopping) {
    pthread_mutex_unlock(&q->lock);
    free(j);
    return HR_ECLOSED;
  }
  if (q->tail) q->tail->next = j;
  else q->head = j;
  q->tail = j;
  pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->lock);
  return HR_OK;
}
