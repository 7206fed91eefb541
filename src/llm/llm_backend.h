/* What a language-model backend implements, and the per-call state llm.c hands it.
 * A new backend is one file defining an llm_backend_ops and one line in llm.c's table.
 *
 * llm.c owns what every backend does the same way: pinning the governor component for
 * the turn, deadlines, cancellation, counting and timing pieces, holding back an
 * incomplete UTF-8 sequence so the caller never sees half a character, and the
 * max_tokens limit. Backends only turn a conversation into pieces of text. */
#ifndef AXIOM_LLM_BACKEND_H
#define AXIOM_LLM_BACKEND_H

#include "llm/llm.h"

typedef struct llm_call llm_call;

/* Settings every backend reads, resolved once in llm_new. */
typedef struct {
    const axiom_config *cfg;
    int context_length;
    int max_tokens;
    double temperature;
    int64_t first_token_timeout_ms, total_timeout_ms;
} llm_settings;

typedef struct {
    const char *name;
    /* Validates configuration; no network and no model load. NULL + err on failure. */
    void *(*create)(const llm_settings *s, char *err, size_t errlen);
    void (*destroy)(void *b);
    int (*load)(void *b, char *err, size_t errlen); /* governor load; 0 or -1 + err */
    void (*unload)(void *b);
    int64_t (*mapped_bytes)(void *b);   /* may be NULL */
    int64_t (*expected_bytes)(void *b); /* may be NULL (0) */
    /* Streams pieces with llm_call_emit until done; sets the finish reason with
     * llm_call_finish. Returns 0, or -1 with err (the caller records ERROR/TIMEOUT). */
    int (*chat)(void *b, const llm_message *msgs, size_t n, llm_call *call, char *err,
                size_t errlen);
    /* Real token count, or -1 when the backend has no tokenizer at hand. */
    int (*count_tokens)(void *b, const char *text);
    const char *(*model_name)(void *b);
    int64_t idle_unload_ms; /* governor idle unload; overridden by config in llm.c */
} llm_backend_ops;

/* The per-call limits a backend must pass on or honour. */
int llm_call_max_tokens(const llm_call *c);
double llm_call_temperature(const llm_call *c);

/* Delivers one piece to the caller. Returns 0 to go on, non-zero when generation must
 * stop (cancelled, callback said stop, max_tokens reached); the finish reason is then
 * already recorded. A piece counts as one token. */
int llm_call_emit(llm_call *c, const char *piece, size_t len);
/* Polled while waiting: non-zero when cancelled or past a deadline (reason recorded;
 * the backend then stops and returns -1 for a deadline, 0 for a cancel). */
int llm_call_should_stop(llm_call *c);
/* Read-only variant for other threads (llama.cpp's abort callback): records nothing. */
int llm_call_peek_stop(const llm_call *c);
/* 1 once a deadline has passed (after llm_call_should_stop said stop). */
int llm_call_timed_out(const llm_call *c);
/* Milliseconds left before the nearest deadline (never below 0). */
int64_t llm_call_ms_left(const llm_call *c);
/* Records how generation ended (STOP or LENGTH from the backend). */
void llm_call_finish(llm_call *c, llm_finish f);
/* 1 once a piece was delivered (retries are only safe before that). */
int llm_call_started(const llm_call *c);
/* Time the backend spent in AXIOM's own code (parsing, piece conversion), including
 * the llm_call_emit calls inside it: llm.c subtracts the callback's time, so the
 * result's overhead_us is AXIOM's cost alone. Model compute and network waits are
 * not added. */
void llm_call_add_overhead_us(llm_call *c, int64_t us);
void llm_call_set_prompt_tokens(llm_call *c, int n);
void llm_call_add_retry(llm_call *c);

/* How the last HTTP exchange on this thread failed (llm_http.c records it): read
 * and cleared by llm.c around a load or a chat, so the failure reason needs no
 * extra plumbing through each backend. Per thread: a load and a chat run on the
 * caller's thread. */
llm_fail llm_http_take_fail(void);

/* Estimate used when no tokenizer is at hand: one token per 4 bytes, rounded up. */
int llm_estimate_tokens(const char *text);

#define LLM_BACKEND_DECLARE(ops, name) extern const llm_backend_ops ops;
LLM_BACKENDS(LLM_BACKEND_DECLARE)

#endif
