/* The language model interface: one chat call that streams tokens, with backends
 * behind it (llm.c holds the table):
 *   ollama  Ollama's /api/chat, streamed NDJSON          (llm_ollama.c)
 *   openai  any /v1/chat/completions server, SSE          (llm_openai.c: vLLM, llama-server)
 *   gguf    llama.cpp in process, libllama opened lazily  (llm_llama.c)
 *
 * The model is a governor component named "llm" (load order 90): nothing heavy happens
 * in llm_new; the first llm_chat loads it (for gguf: dlopen libllama and map the
 * model; for ollama: check the model exists), and the governor may unload it when it
 * is idle or memory is short (for ollama this asks the server to unload it too,
 * keep_alive 0). A refused or failed load makes llm_chat fail with the reason, so the
 * caller answers without the model (degraded mode).
 *
 * Thread safety: llm_chat may be called from several threads; the in-process backend
 * runs one generation at a time (others wait), the HTTP backends run them in parallel.
 * llm_free must not race with llm_chat. */
#ifndef AXIOM_LLM_H
#define AXIOM_LLM_H

#include "core/component.h"
#include "core/config.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The backends compiled in: X(its ops, its llm.backend name). A new backend is its
 * file (defining the ops) plus one X(...) here: the lookup table and the choices of
 * llm.backend follow. */
#define LLM_BACKENDS(X)                                                                            \
    X(llm_ollama_ops, "ollama") X(llm_openai_ops, "openai") X(llm_llama_ops, "gguf")
#define LLM_BACKEND_CHOICE(ops, name) "|" name
/* "none|ollama|openai|gguf": the choices of llm.backend. */
#define LLM_BACKEND_CHOICES ("none" LLM_BACKENDS(LLM_BACKEND_CHOICE))

typedef struct llm llm;

/* role: "system", "user" or "assistant". Both strings are borrowed for the call. */
typedef struct {
    const char *role;
    const char *content;
} llm_message;

/* Receives each piece of generated text as it arrives (UTF-8, not NUL-terminated; a
 * multi-byte character is never split across calls). Return 0 to continue, non-zero to
 * stop generation (finish reason LLM_FINISH_CANCEL). Called on the llm_chat thread. */
typedef int (*llm_token_fn)(void *user, const char *piece, size_t len);

typedef enum {
    LLM_FINISH_STOP = 0, /* the model ended its answer */
    LLM_FINISH_LENGTH,   /* llm.max_tokens (or the context window) reached */
    LLM_FINISH_CANCEL,   /* *cancel became non-zero, or the callback returned non-zero */
    LLM_FINISH_TIMEOUT,  /* llm.first_token_timeout_ms or llm.total_timeout_ms passed */
    LLM_FINISH_ERROR     /* connection, HTTP, protocol or model error: see err */
} llm_finish;

/* Why a call failed, in a small fixed set (the server counts failures by it):
 * TIMEOUT  a deadline passed; CONNECT  the server could not be reached;
 * HTTP     the server answered with an HTTP error status; OTHER  anything else
 * (a malformed or cut stream, a model that would not load, out of memory). The
 * brain adds its own two: the prompt did not fit, the answer was empty. */
typedef enum {
    LLM_FAIL_NONE = 0,
    LLM_FAIL_TIMEOUT,
    LLM_FAIL_CONNECT,
    LLM_FAIL_HTTP,
    LLM_FAIL_OTHER
} llm_fail;

typedef struct {
    int tokens;             /* pieces delivered (backend tokens; HTTP: stream chunks) */
    int prompt_tokens;      /* as counted by the backend when it says, else estimated */
    int64_t first_token_ms; /* from the call to the first piece; -1 when none came */
    int64_t total_ms;
    llm_finish finish;
    /* Time spent in AXIOM's own code per call (parsing the stream, assembling pieces,
     * the callback excluded), in microseconds: the overhead the benchmark reports. */
    int64_t overhead_us;
    int64_t callback_us; /* time inside the caller's callback */
    int retries;         /* connection attempts repeated before any token arrived */
    llm_fail fail;       /* LLM_FAIL_NONE unless llm_chat returned -1 */
} llm_result;

/* Per-call overrides; zero fields keep the configured values. May be NULL. */
typedef struct {
    int max_tokens;
    double temperature; /* 0 keeps the configured value (set llm.temperature = 0 for greedy) */
    int64_t first_token_timeout_ms, total_timeout_ms;
} llm_options;

/* Creates the configured backend (llm.backend). Returns NULL with the reason in err
 * when llm.backend is none, or when the configuration cannot work (no llm.model for a
 * server, llm.gguf missing, unreadable llm.api_key_file...). Cheap: no network, no
 * model load. cfg is borrowed and must outlive the llm. */
llm *llm_new(const axiom_config *cfg, char *err, size_t errlen);
void llm_free(llm *m);

/* The governor's handle ("llm", order 90). Owned by the llm. */
axiom_component *llm_component(llm *m);

/* Streams an answer to msgs[0..n) through fn. cancel (may be NULL) is polled between
 * tokens and while waiting on the network, so barge-in stops generation within tens of
 * milliseconds. res (may be NULL) is always filled. The deadlines (llm.first_token_
 * timeout_ms, llm.total_timeout_ms) run from the moment the model is loaded: a lazy
 * load on the first call is not counted against them (res->total_ms includes it).
 * Returns 0 when generation finished (STOP, LENGTH or CANCEL) and -1 on TIMEOUT or
 * ERROR, with the reason in err naming the server or file and the fix. Pieces already
 * delivered before an error stay delivered. */
int llm_chat(llm *m, const llm_message *msgs, size_t n, const llm_options *opt, llm_token_fn fn,
             void *user, const atomic_int *cancel, llm_result *res, char *err, size_t errlen);

/* Tokens in text: the model's own tokenizer for gguf once loaded; otherwise an
 * estimate of one token per 4 bytes of UTF-8, rounded up (close for English BPE
 * vocabularies; use it only to trim prompts, with a margin). */
int llm_count_tokens(llm *m, const char *text);

/* What loading is expected to cost in bytes, for the governor's budget check before
 * the first load: the GGUF file plus a margin for the context; 0 for servers. */
int64_t llm_expected_bytes(const llm *m);

/* The context window the prompt must fit in (AXIOM_CONTEXT_LENGTH). */
int llm_context_length(const llm *m);
/* "ollama", "openai" or "gguf"; and the model name or GGUF path, for status pages. */
const char *llm_backend_name(const llm *m);
const char *llm_model_name(const llm *m);

const char *llm_finish_name(llm_finish f);
/* "timeout", "connect", "http", "other" ("" for NONE). */
const char *llm_fail_name(llm_fail f);

/* Why the model's last load failed (LLM_FAIL_NONE when it did not): a caller whose
 * component_acquire of llm_component() failed learns here whether the server was
 * down or answered with an error. */
llm_fail llm_load_failure(const llm *m);

#endif
