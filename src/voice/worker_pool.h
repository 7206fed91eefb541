/* A bounded pool of worker threads with a bounded job queue.
 *
 * Decoding, synthesis and answering run here, never on a connection's network
 * thread. The queue has a fixed capacity: when it is full, worker_pool_submit fails
 * at once and the caller sheds the work with a clear message instead of piling up
 * latency or memory. Jobs run in submission order (FIFO). Thread-safe. */
#ifndef AXIOM_WORKER_POOL_H
#define AXIOM_WORKER_POOL_H

#include <stddef.h>

typedef struct worker_pool worker_pool;
typedef void (*worker_job_fn)(void *arg);

/* threads: number of workers (>= 1); capacity: queued jobs at most (>= 1);
 * name: shown in thread names and logs. Returns NULL with err on failure. */
worker_pool *worker_pool_new(const char *name, int threads, size_t capacity, char *err,
                             size_t errlen);
/* Queues fn(arg). Returns 0, or -1 when the queue is full or the pool is stopping
 * (the job did not and will not run; the caller keeps ownership of arg). */
int worker_pool_submit(worker_pool *p, worker_job_fn fn, void *arg);
/* Jobs waiting (not running). */
size_t worker_pool_pending(worker_pool *p);
int worker_pool_threads(const worker_pool *p);
/* Runs every queued job, then joins the workers and frees the pool. */
void worker_pool_free(worker_pool *p);

#endif
