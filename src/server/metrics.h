/* Server metrics: counters, gauges and latency histograms, rendered in the
 * Prometheus text exposition format for /metrics. Thread-safe; every update is a
 * short critical section (no allocation). */
#ifndef AXIOM_METRICS_H
#define AXIOM_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct server_metrics server_metrics;

/* Pipeline stages whose latency is recorded (milliseconds). */
typedef enum {
    STAGE_STT = 0, /* end of speech -> final transcript */
    STAGE_BRAIN,   /* transcript -> answer text (first sentence) */
    STAGE_TTS,     /* one sentence's synthesis */
    STAGE_TURN,    /* end of speech (or text received) -> first answer byte queued */
    STAGE_COUNT
} metrics_stage;

typedef enum {
    COUNT_FRAMES_IN = 0, /* binary audio messages received */
    COUNT_AUDIO_BYTES_IN,
    COUNT_MESSAGES_OUT,
    COUNT_BYTES_OUT,
    COUNT_SESSIONS_TOTAL, /* sessions ever accepted */
    COUNT_REFUSED_BUSY,   /* refused: max_sessions or memory governor */
    COUNT_REFUSED_ORIGIN,
    COUNT_REFUSED_AUTH,
    COUNT_SLOW_DROPPED, /* clients dropped for not reading */
    COUNT_BAD_MESSAGES, /* oversized or malformed client messages */
    COUNT_BARGE_INS,
    COUNT_ECHO_IGNORED, /* speech during an answer judged its echo (no barge-in) */
    COUNT_ERRORS,       /* turns that ended in an error event */
    COUNT_SHED,         /* work refused because a queue was full */
    COUNT_HTTP_REQUESTS,
    COUNT_REFUSED_HOST,     /* requests whose Host is not this machine (DNS rebinding) */
    COUNT_ASK_REFUSED_BUSY, /* /api/ask refused: bound reached or memory critical */
    COUNT_ASK_TIMEOUTS,     /* /api/ask answered 504: past server.ask_timeout_s */
    COUNT_KINDS
} metrics_counter;

server_metrics *metrics_new(void);
void metrics_free(server_metrics *m);

void metrics_add(server_metrics *m, metrics_counter c, int64_t n);
int64_t metrics_get(server_metrics *m, metrics_counter c);
void metrics_observe_ms(server_metrics *m, metrics_stage s, double ms);
/* path: "template", "retrieval", "llm", "fallback" (the LLM failed, answered from
 * retrieval), "rejected" (asked to say it again), "none" (nothing heard), "error". */
void metrics_count_turn(server_metrics *m, const char *path);
/* One failed LLM call, by reason: "timeout", "connect", "http", "empty", "context",
 * "other" (anything else is counted as other). */
void metrics_count_llm_failure(server_metrics *m, const char *reason);
void metrics_sessions_delta(server_metrics *m, int delta);
int metrics_sessions(server_metrics *m);

/* Appends the exposition text to buf (NUL-terminated, truncated at cap). Returns the
 * length written. */
size_t metrics_render(server_metrics *m, char *buf, size_t cap);

#endif
