/* workq.h — a few threads that run blocking jobs (waiting on a model,
 * reading a file) for the I/O loops, which must never block. A job runs
 * once on one of the threads; what it produces goes back to its loop
 * through http_req_post or the like.
 *
 * Threads: hr_workq_submit may be called from any thread. */
#ifndef HEARTH_WORKQ_H
#define HEARTH_WORKQ_H

typedef struct hr_workq hr_workq;

hr_workq *hr_workq_new(int n_threads);
/* Runs the queued jobs to the end, then stops the threads. */
void hr_workq_free(hr_workq *q);
/* 0, or HR_ENOMEM / HR_ECLOSED. */
int hr_workq_submit(hr_workq *q, void (*fn)(void *arg), void *arg);

#endif
