/* POST /api/ask runs on the turn pool, like a voice session's answer, not on the
 * civetweb thread that received it, and only a bounded number at a time:
 *
 *  - admission: at the memory governor's critical level, and when
 *    server.ask_max_concurrent answers are already running or queued, the request is
 *    refused at once with 503 and Retry-After (nothing is queued, so a flood of asks
 *    costs a refusal each, not a thread or a queue slot each);
 *  - the default bound is half the turn pool's threads (at least one), so typed
 *    asks never occupy every turn worker and voice sessions keep being answered;
 *  - deadline: the civetweb thread waits at most server.ask_timeout_s, then answers
 *    504 and asks the turn to stop. The job keeps its slot until it really ends (an
 *    LLM call ends at its own llm.*_timeout_ms), so the bound counts work, not
 *    waiting clients.
 *
 * The job and the waiting thread share the job object; whichever finishes last
 * frees it (reference count under the job's lock). */
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "server/server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    axiom_server *srv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs; /* the waiting thread's and the job's */
    int done;
    int status;
    volatile int cancel; /* the waiter gave up: the turn stops at its next check */
    cJSON *out;          /* the job fills it; the waiter replies with it */
    char text[];
} ask_job;

static void ask_job_unref(ask_job *j) {
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0) return;
    cJSON_Delete(j->out);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* Turn pool. */
static void ask_job_run(void *arg) {
    ask_job *j = arg;
    int status = 503;
    if (!j->cancel) status = pipeline_ask(j->srv, j->text, j->out, &j->cancel);
    atomic_fetch_sub(&j->srv->asks_running, 1);
    pthread_mutex_lock(&j->mu);
    j->status = status;
    j->done = 1;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    ask_job_unref(j);
}

int ask_max_default(int turn_threads) {
    return turn_threads / 2 > 0 ? turn_threads / 2 : 1;
}

int ask_run(axiom_server *srv, const char *text, cJSON **out, char *err, size_t errlen,
            int *retry_after_s) {
    *out = NULL;
    *retry_after_s = 0;
    if (srv->engine->gov && governor_get_level(srv->engine->gov) == GOV_LEVEL_CRITICAL) {
        metrics_add(srv->metrics, COUNT_ASK_REFUSED_BUSY, 1);
        snprintf(err, errlen, "busy: AXIOM is short of memory right now; try again in a moment");
        *retry_after_s = 5;
        return 503;
    }
    if (atomic_fetch_add(&srv->asks_running, 1) >= srv->ask_max) {
        atomic_fetch_sub(&srv->asks_running, 1);
        metrics_add(srv->metrics, COUNT_ASK_REFUSED_BUSY, 1);
        snprintf(err, errlen,
                 "busy: %d questions are being answered (server.ask_max_concurrent); try "
                 "again in a moment",
                 srv->ask_max);
        *retry_after_s = 1;
        return 503;
    }
    size_t n = strlen(text);
    ask_job *j = calloc(1, sizeof *j + n + 1);
    cJSON *o = cJSON_CreateObject();
    if (!j || !o) {
        free(j);
        cJSON_Delete(o);
        atomic_fetch_sub(&srv->asks_running, 1);
        snprintf(err, errlen, "out of memory");
        return 500;
    }
    j->srv = srv;
    j->out = o;
    j->refs = 2;
    memcpy(j->text, text, n + 1);
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (worker_pool_submit(srv->turn_pool, ask_job_run, j) != 0) {
        atomic_fetch_sub(&srv->asks_running, 1);
        j->refs = 1;
        ask_job_unref(j);
        metrics_add(srv->metrics, COUNT_SHED, 1);
        snprintf(err, errlen, "busy: the answering queue is full; try again in a moment");
        *retry_after_s = 1;
        return 503;
    }
    /* Wait in short slices so a stopping server does not wait out the deadline. */
    int64_t deadline = now_ms() + srv->ask_timeout_ms;
    int status = 0;
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        int64_t now = now_ms();
        if (now >= deadline || atomic_load(&srv->asks_stopping)) break;
        int64_t slice = deadline - now < 250 ? deadline - now : 250;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)(slice % 1000) * 1000000L;
        ts.tv_sec += slice / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    if (j->done) {
        status = j->status;
        *out = j->out;
        j->out = NULL;
    } else {
        j->cancel = 1;
    }
    pthread_mutex_unlock(&j->mu);
    ask_job_unref(j);
    if (status) return status;
    if (atomic_load(&srv->asks_stopping)) {
        snprintf(err, errlen, "the server is stopping");
        return 503;
    }
    metrics_add(srv->metrics, COUNT_ASK_TIMEOUTS, 1);
    LOG_W("server", "/api/ask: no answer within %lld s (server.ask_timeout_s); stopping it",
          (long long)(srv->ask_timeout_ms / 1000));
    snprintf(err, errlen, "no answer within %lld s (server.ask_timeout_s)",
             (long long)(srv->ask_timeout_ms / 1000));
    return 504;
}
