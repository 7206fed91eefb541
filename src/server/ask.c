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
    volatile int cancel; /* the waiter gave up: the answer stops at its next check */
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

static double ms1(long long us) {
    return (double)(us / 100) / 10.0;
}

/* One answer through the public API, in a session of its own, as the reply body.
 * Returns the HTTP status. */
static int ask_answer(axiom_server *srv, const char *text, cJSON *out, const volatile int *cancel) {
    axiom_session *as = axiom_session_new(srv->engine);
    if (!as) {
        cJSON_AddStringToObject(out, "error",
                                srv->engine->brain ? "out of memory"
                                                   : "answering is not available: no knowledge "
                                                     "pack loaded (see the server log)");
        return srv->engine->brain ? 500 : 503;
    }
    axiom_reply r;
    char err[512] = "";
    int status = 200;
    if (axiom_ask(srv->engine, as, text, NULL, NULL, cancel, &r, err, sizeof err) != 0) {
        cJSON_AddStringToObject(out, "error", err);
        metrics_count_turn(srv->metrics, "error");
        axiom_session_free(as);
        return 503;
    }
    cJSON_AddStringToObject(out, "text", r.text);
    cJSON_AddStringToObject(out, "intent", r.intent);
    cJSON_AddNumberToObject(out, "confidence", (int)(r.confidence * 1000) / 1000.0);
    cJSON_AddStringToObject(out, "path", r.path);
    if (r.llm_failure && r.llm_failure[0])
        cJSON_AddStringToObject(out, "llm_failure", r.llm_failure);
    if (r.dropped[0]) cJSON_AddStringToObject(out, "dropped", r.dropped);
    if (r.card_index >= 0) {
        cJSON *c = cJSON_AddObjectToObject(out, "card");
        cJSON_AddNumberToObject(c, "card_index", r.card_index);
        cJSON_AddStringToObject(c, "keyword", r.card_keyword);
        cJSON_AddStringToObject(c, "product_name", r.card_product);
    }
    if (r.model_path[0]) {
        cJSON *m = cJSON_AddObjectToObject(out, "model_3d");
        cJSON_AddStringToObject(m, "model_path", r.model_path);
        cJSON_AddStringToObject(m, "model_name", r.model_name);
    }
    cJSON *t = cJSON_AddObjectToObject(out, "timings_ms");
    cJSON_AddNumberToObject(t, "total", ms1(r.total_us));
    cJSON_AddNumberToObject(t, "intent", ms1(r.intent_us));
    cJSON_AddNumberToObject(t, "retrieval", ms1(r.retrieval_us));
    cJSON_AddNumberToObject(t, "llm", ms1(r.llm_us));
    metrics_count_turn(srv->metrics, r.path);
    if (strcmp(r.path, "fallback") == 0) metrics_count_llm_failure(srv->metrics, r.llm_failure);
    metrics_observe_ms(srv->metrics, STAGE_BRAIN, (double)r.total_us / 1000.0);
    axiom_reply_free(&r);
    axiom_session_free(as);
    return status;
}

/* Turn pool. */
static void ask_job_run(void *arg) {
    ask_job *j = arg;
    int status = 503;
    if (!j->cancel) status = ask_answer(j->srv, j->text, j->out, &j->cancel);
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
    if (worker_pool_submit(voice_hub_turn_pool(srv->hub), ask_job_run, j) != 0) {
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
