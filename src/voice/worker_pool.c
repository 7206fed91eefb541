/* Worker pool: a ring of jobs under one mutex and condition variable. The ring is
 * allocated once at its full capacity, so submitting never allocates. */
#include "voice/worker_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    worker_job_fn fn;
    void *arg;
} pool_job;

struct worker_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pool_job *ring;
    size_t cap, head, count;
    int stopping;
    int nthreads;
    pthread_t *threads;
    char name[16];
};

static void *pool_main(void *arg) {
    worker_pool *p = arg;
    pthread_setname_np(pthread_self(), p->name);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->count == 0 && p->stopping) break;
        pool_job job = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        pthread_mutex_unlock(&p->mu);
        job.fn(job.arg);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

worker_pool *worker_pool_new(const char *name, int threads, size_t capacity, char *err,
                             size_t errlen) {
    if (threads < 1 || capacity < 1) {
        snprintf(err, errlen, "worker pool %s: needs at least one thread and one queue slot", name);
        return NULL;
    }
    worker_pool *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->ring = calloc(capacity, sizeof *p->ring);
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->ring || !p->threads) goto oom;
    p->cap = capacity;
    snprintf(p->name, sizeof p->name, "%.15s", name);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* Workers only run our jobs; a modest stack keeps idle memory low. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1u << 20);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], &attr, pool_main, p) != 0) {
            pthread_attr_destroy(&attr);
            snprintf(err, errlen, "worker pool %s: cannot start thread %d", name, i);
            p->nthreads = i;
            worker_pool_free(p);
            return NULL;
        }
        p->nthreads = i + 1;
    }
    pthread_attr_destroy(&attr);
    return p;
oom:
    if (p) {
        free(p->ring);
        free(p->threads);
        free(p);
    }
    snprintf(err, errlen, "worker pool %s: out of memory", name);
    return NULL;
}

int worker_pool_submit(worker_pool *p, worker_job_fn fn, void *arg) {
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->count == p->cap) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    p->ring[(p->head + p->count) % p->cap] = (pool_job){fn, arg};
    p->count++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

size_t worker_pool_pending(worker_pool *p) {
    pthread_mutex_lock(&p->mu);
    size_t n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int worker_pool_threads(const worker_pool *p) {
    return p->nthreads;
}

void worker_pool_free(worker_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->ring);
    free(p->threads);
    free(p);
}
