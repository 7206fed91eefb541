/* AXIOM: an offline voice assistant that keeps working under memory pressure.
 *
 * One engine per process holds the shared, lazily loaded components (VAD, speech
 * recogniser, synthesiser, intent model, knowledge index, LLM) and the memory
 * governor that loads and unloads them. Front ends (the CLI, the HTTP/WebSocket
 * server) are thin shells over this library.
 *
 * Thread safety: an engine may be used from many threads at once; configuration is
 * read-only once the engine exists. */
#ifndef AXIOM_H
#define AXIOM_H

#include <stddef.h>

#define AXIOM_VERSION "0.1.0"

typedef struct axiom_config axiom_config;
typedef struct axiom_engine axiom_engine;

const char *axiom_version(void);

/* Creates the engine from a filled configuration (borrowed; it must outlive the
 * engine). Nothing heavy loads here: components load on first use. Returns NULL with
 * a message in err when the configuration cannot work (e.g. unreadable data folder). */
axiom_engine *axiom_engine_new(const axiom_config *cfg, char *err, size_t errlen);
void axiom_engine_free(axiom_engine *engine);

/* A conversation: its own history of the last turns (history_turns), never shared. */
typedef struct axiom_session axiom_session;
axiom_session *axiom_session_new(axiom_engine *engine);
void axiom_session_free(axiom_session *session);

/* One answer. Strings are owned by the reply until axiom_reply_free. */
typedef struct {
    const char *text;         /* the spoken answer ("" when the input was dropped) */
    const char *intent;       /* "equipment_query", ..., "unknown" */
    float confidence;
    const char *path;         /* "template", "retrieval", "llm", "fallback", "none" */
    const char *dropped;      /* why nothing was answered ("empty", "filler", "noise"), or "" */
    int card_index;           /* UI card to show, -1 = none */
    const char *card_keyword, *card_product;
    const char *model_path, *model_name; /* 3D model to load, "" = none */
    long long total_us;
    void *internal_;
} axiom_reply;

/* Called with each finished sentence as soon as it is ready (for streaming speech). */
typedef void (*axiom_sentence_fn)(void *user, const char *sentence);

/* Answers one typed or transcribed question in a session, with the engine's mode and
 * language model. on_sentence may be NULL; cancel (may be NULL) stops the answer when
 * it becomes non-zero. Returns 0 (free the reply with axiom_reply_free), or -1 with err
 * (the knowledge pack cannot load; nothing to free). */
int axiom_ask(axiom_engine *engine, axiom_session *session, const char *text, axiom_sentence_fn on_sentence,
              void *user, const volatile int *cancel, axiom_reply *out, char *err, size_t errlen);
void axiom_reply_free(axiom_reply *reply);

#endif
