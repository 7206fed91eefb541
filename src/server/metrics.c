/* Metrics storage and rendering. Histograms use fixed millisecond buckets chosen for
 * a voice turn: a template answer lands in the tens of ms, an LLM answer in seconds. */
#include "server/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bucket_ms[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define NBUCKETS (sizeof bucket_ms / sizeof bucket_ms[0])

static const char *const stage_names[STAGE_COUNT] = {"stt", "brain", "tts", "turn"};

static const struct {
    const char *name, *help;
} counter_info[COUNT_KINDS] = {
    {"axiom_audio_frames_received_total", "binary audio messages received"},
    {"axiom_audio_bytes_received_total", "audio bytes received"},
    {"axiom_messages_sent_total", "WebSocket messages sent"},
    {"axiom_bytes_sent_total", "WebSocket payload bytes sent"},
    {"axiom_sessions_accepted_total", "voice sessions accepted"},
    {"axiom_sessions_refused_busy_total", "sessions refused: server busy (max sessions or memory)"},
    {"axiom_sessions_refused_origin_total", "WebSocket upgrades refused: Origin not allowed"},
    {"axiom_requests_refused_auth_total", "requests refused: missing or wrong bearer token"},
    {"axiom_slow_clients_dropped_total", "clients dropped because they did not read their answers"},
    {"axiom_bad_messages_total", "oversized or malformed client messages"},
    {"axiom_barge_ins_total", "answers cancelled by the user speaking"},
    {"axiom_echo_ignored_total",
     "speech heard during an answer and ignored as the answer's own echo"},
    {"axiom_turn_errors_total", "turns that ended with an error event"},
    {"axiom_work_shed_total", "work refused because a bounded queue was full"},
    {"axiom_http_requests_total", "HTTP requests served"},
    {"axiom_requests_refused_host_total", "requests refused: Host header not this machine"},
    {"axiom_ask_refused_busy_total",
     "/api/ask refused with 503: too many at once or memory critical"},
    {"axiom_ask_timeouts_total", "/api/ask answered 504: no answer within server.ask_timeout_s"},
};

static const char *const turn_paths[] = {"template", "retrieval", "llm",  "fallback",
                                         "rejected", "none",      "error"};
#define NPATHS (sizeof turn_paths / sizeof turn_paths[0])

/* A fixed set, so a label never grows with what a server sends; "other" is last. */
static const char *const llm_fail_reasons[] = {"timeout", "connect", "http",
                                               "empty",   "context", "other"};
#define NREASONS (sizeof llm_fail_reasons / sizeof llm_fail_reasons[0])

typedef struct {
    int64_t counts[NBUCKETS + 1]; /* last: +Inf */
    double sum;
    int64_t n;
} histogram;

struct server_metrics {
    pthread_mutex_t mu;
    int64_t counters[COUNT_KINDS];
    int64_t turns[NPATHS];
    int64_t llm_failures[NREASONS];
    histogram stages[STAGE_COUNT];
    int sessions;
};

server_metrics *metrics_new(void) {
    server_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void metrics_free(server_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void metrics_add(server_metrics *m, metrics_counter c, int64_t n) {
    pthread_mutex_lock(&m->mu);
    m->counters[c] += n;
    pthread_mutex_unlock(&m->mu);
}

int64_t metrics_get(server_metrics *m, metrics_counter c) {
    pthread_mutex_lock(&m->mu);
    int64_t v = m->counters[c];
    pthread_mutex_unlock(&m->mu);
    return v;
}

void metrics_observe_ms(server_metrics *m, metrics_stage s, double ms) {
    size_t b = 0;
    while (b < NBUCKETS && ms > bucket_ms[b])
        b++;
    pthread_mutex_lock(&m->mu);
    m->stages[s].counts[b]++;
    m->stages[s].sum += ms;
    m->stages[s].n++;
    pthread_mutex_unlock(&m->mu);
}

void metrics_count_turn(server_metrics *m, const char *path) {
    size_t i = 0;
    while (i < NPATHS && strcmp(turn_paths[i], path ? path : "") != 0)
        i++;
    if (i == NPATHS) i = NPATHS - 1; /* unknown path: counted as an error */
    pthread_mutex_lock(&m->mu);
    m->turns[i]++;
    pthread_mutex_unlock(&m->mu);
}

void metrics_count_llm_failure(server_metrics *m, const char *reason) {
    size_t i = 0;
    while (i < NREASONS - 1 && strcmp(llm_fail_reasons[i], reason ? reason : "") != 0)
        i++;
    pthread_mutex_lock(&m->mu);
    m->llm_failures[i]++;
    pthread_mutex_unlock(&m->mu);
}

void metrics_sessions_delta(server_metrics *m, int delta) {
    pthread_mutex_lock(&m->mu);
    m->sessions += delta;
    pthread_mutex_unlock(&m->mu);
}

int metrics_sessions(server_metrics *m) {
    pthread_mutex_lock(&m->mu);
    int n = m->sessions;
    pthread_mutex_unlock(&m->mu);
    return n;
}

typedef struct {
    char *buf;
    size_t cap, len;
} outbuf;

__attribute__((format(printf, 2, 3))) static void out(outbuf *o, const char *fmt, ...) {
    if (o->len + 1 >= o->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    o->len += (size_t)n;
    if (o->len >= o->cap) o->len = o->cap - 1;
}

size_t metrics_render(server_metrics *m, char *buf, size_t cap) {
    if (cap == 0) return 0;
    buf[0] = '\0';
    outbuf o = {buf, cap, 0};
    pthread_mutex_lock(&m->mu);
    server_metrics snap = *m; /* render outside the lock's hot path */
    pthread_mutex_unlock(&m->mu);

    out(&o, "# HELP axiom_turns_total voice and text turns answered, by answer path\n"
            "# TYPE axiom_turns_total counter\n");
    for (size_t i = 0; i < NPATHS; i++)
        out(&o, "axiom_turns_total{path=\"%s\"} %lld\n", turn_paths[i], (long long)snap.turns[i]);
    out(&o, "# HELP axiom_llm_failures_total language model calls that failed (answered from "
            "retrieval), "
            "by reason\n# TYPE axiom_llm_failures_total counter\n");
    for (size_t i = 0; i < NREASONS; i++)
        out(&o, "axiom_llm_failures_total{reason=\"%s\"} %lld\n", llm_fail_reasons[i],
            (long long)snap.llm_failures[i]);
    out(&o,
        "# HELP axiom_sessions current voice sessions\n# TYPE axiom_sessions gauge\n"
        "axiom_sessions %d\n",
        snap.sessions);
    for (int c = 0; c < COUNT_KINDS; c++)
        out(&o, "# HELP %s %s\n# TYPE %s counter\n%s %lld\n", counter_info[c].name,
            counter_info[c].help, counter_info[c].name, counter_info[c].name,
            (long long)snap.counters[c]);
    out(&o, "# HELP axiom_stage_latency_seconds latency of each pipeline stage\n"
            "# TYPE axiom_stage_latency_seconds histogram\n");
    for (int s = 0; s < STAGE_COUNT; s++) {
        int64_t cum = 0;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cum += snap.stages[s].counts[b];
            out(&o, "axiom_stage_latency_seconds_bucket{stage=\"%s\",le=\"%g\"} %lld\n",
                stage_names[s], bucket_ms[b] / 1000.0, (long long)cum);
        }
        cum += snap.stages[s].counts[NBUCKETS];
        out(&o, "axiom_stage_latency_seconds_bucket{stage=\"%s\",le=\"+Inf\"} %lld\n",
            stage_names[s], (long long)cum);
        out(&o, "axiom_stage_latency_seconds_sum{stage=\"%s\"} %.6f\n", stage_names[s],
            snap.stages[s].sum / 1000.0);
        out(&o, "axiom_stage_latency_seconds_count{stage=\"%s\"} %lld\n", stage_names[s],
            (long long)snap.stages[s].n);
    }
    return o.len;
}
