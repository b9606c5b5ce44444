/*
 * ng_threadpool.h - persistent worker pool.
 *
 * Workers are created once (lazily, or by ng_pool_set_threads), spin briefly after a job and then park on a
 * condition variable. ng_parallel_for splits [0, n) into chunks of at least `grain` items, deals them into one
 * contiguous home range per thread (the calling thread participates, with the first range) and lets a thread
 * that finished its range steal from the others' ends. No allocation per call.
 *
 * Concurrency: one parallel region runs at a time. A call made while the pool is busy (from another thread,
 * or re-entrantly from inside a task) simply runs inline on the calling thread, so it can never deadlock.
 * Tasks must therefore produce results that do not depend on how [0, n) was chunked.
 */
#ifndef NG_THREADPOOL_H
#define NG_THREADPOOL_H

#include <stdint.h>

typedef void (*ng_task_fn)(void *ctx, int64_t begin, int64_t end);

void ng_parallel_for(int64_t n, int64_t grain, ng_task_fn fn, void *ctx);
int ng_pool_threads(void);          /* total threads including the caller (>= 1) */
int ng_pool_set_threads(int n);     /* returns 0 on success, -1 if threads could not be created */

/* one-time initialisation without OS dependencies: state 0 = not run, 1 = running, 2 = done */
void ng_once(int *state_atomic_int, void (*init)(void));

#endif
