/* The dialogue brain: everything between a transcript and the answer text.
 *
 * One turn: normalise the transcript (numbers, spelled names, the pack's
 * pronunciation fixes), drop empty or noise-only input, classify the intent, then
 *   template   confident intent + a template for this question about this item:
 *              the canned answer, no retrieval, no LLM;
 *   retrieval  bm25 over facts, templates and items; without an LLM the best facts
 *              are composed into a short spoken answer;
 *   llm        the retrieved facts and the last turns go into a prompt that fits the
 *              context window; tokens stream through the sentence splitter;
 *   fallback   the LLM failed or timed out: an honest answer built from retrieval.
 * Named items raise a card event (valid indices only) and topic changes to the
 * quadruped / depth camera / drone / prototyping board raise a 3D-model event.
 *
 * The knowledge pack, its index and the intent model load lazily, as governor
 * components ("index" and "intent", load order 10), on the first turn.
 *
 * Thread safety: brain_turn may run on many threads at once for different sessions;
 * one session is used by one turn at a time. brain_free must not race with turns. */
#ifndef AXIOM_BRAIN_H
#define AXIOM_BRAIN_H

#include "core/component.h"
#include "core/config.h"
#include "speech/stt.h"

#include <stddef.h>
#include <stdint.h>

typedef struct brain brain;
typedef struct brain_session brain_session;
struct llm;

/* The mode in force for one turn; the memory governor may degrade it. */
typedef enum { BRAIN_MODE_FULL = 0, BRAIN_MODE_SKIP_LLM, BRAIN_MODE_TEMPLATE_ONLY } brain_mode;

typedef enum {
    BRAIN_PATH_NONE = 0, /* input dropped (empty, filler, noise): nothing to say */
    BRAIN_PATH_TEMPLATE, /* canned answer */
    BRAIN_PATH_RETRIEVAL,/* composed from retrieved facts, no LLM */
    BRAIN_PATH_LLM,      /* streamed from the language model */
    BRAIN_PATH_FALLBACK  /* the LLM failed; honest answer from retrieval */
} brain_path;

struct brain_reply;

/* Receives each finished, speech-shaped sentence as soon as it is ready. */
typedef struct {
    void (*on_sentence)(void *user, const char *sentence);
    void *user;
} brain_sink;

typedef struct {
    brain_mode mode;
    struct llm *llm;              /* NULL = no language model */
    const volatile int *cancel;   /* barge-in: non-zero stops the turn (may be NULL) */
    brain_sink sink;              /* on_sentence may be NULL */
    /* Optional: the turn's UI events before its first sentence. Called once (with
     * sink.user), only when the turn raises a card or a 3D-model event, with
     * reply->card and reply->model_3d filled; the rest of the reply is not final yet.
     * Lets a front end show the card while an LLM answer is still streaming. */
    void (*on_events)(void *user, const struct brain_reply *reply);
} brain_turn_opts;

/* Per-stage wall time of one turn, microseconds. */
typedef struct {
    int64_t normalise_us, intent_us, template_us, retrieval_us, llm_us, shape_us, total_us;
    int64_t load_us; /* lazy loading of pack, index or intent model during this turn */
} brain_timing;

/* One retrieval hit: bm25 score, higher is better. */
typedef struct {
    char kind;    /* 'f' fact, 't' template, 'i' item */
    int index;    /* into the pack's facts / templates / items */
    double score;
} brain_hit;

typedef struct brain_reply {
    char intent[32];       /* "equipment_query", ..., "unknown"; "" when dropped */
    float confidence;      /* calibrated intent probability */
    brain_path path;
    char *text;            /* the whole answer, speech-shaped (owned; "" when dropped) */
    char *normalised;      /* the transcript after normalisation (owned) */
    char dropped[64];      /* why input was dropped ("empty", "filler", "noise"), or "" */
    int truncated;         /* input was longer than the cap and was cut */
    struct {
        int index;         /* UI card index, -1 when none */
        char keyword[64];
        char product_name[128];
    } card;
    struct {
        char path[256];    /* "" when no model event */
        char name[128];
    } model_3d;
    int n_facts;           /* retrieved facts used in the answer or the prompt */
    brain_hit hits[8];     /* what retrieval found, best first */
    int n_hits;
    int template_index;    /* the template answered with, -1 otherwise */
    double template_score; /* its similarity to the question (0..1) */
    brain_timing t;
} brain_reply;

/* Cheap: reads the configuration, nothing heavy. Returns NULL with err when the data
 * folder setting is unusable. cfg is borrowed and must outlive the brain. */
brain *brain_new(const axiom_config *cfg, char *err, size_t errlen);
void brain_free(brain *b);

/* The governor's handles: "index" (pack + search index) and "intent" (classifier),
 * both load order 10. Fills out[0..max) and returns how many. Owned by the brain. */
size_t brain_components(brain *b, axiom_component **out, size_t max);

/* Loads everything now (pack, index, intent model) instead of on the first turn. */
int brain_load(brain *b, char *err, size_t errlen);

brain_session *brain_session_new(brain *b);
void brain_session_free(brain_session *s);
/* The session's id (history rows carry it). */
const char *brain_session_id(const brain_session *s);

/* Answers one transcript. Returns 0 (out filled; out->path NONE when the input was
 * dropped, with out->dropped saying why), or -1 with err when the pack cannot load.
 * opts may be NULL (full mode, no LLM, no sink). Always call brain_reply_free. */
int brain_turn(brain *b, brain_session *s, const char *text, const brain_turn_opts *opts,
               brain_reply *out, char *err, size_t errlen);
void brain_reply_free(brain_reply *r);

/* What brain_peek saw. */
typedef struct {
    int sure;              /* 1: the template fast path would answer, confidently */
    char intent[32];       /* the intent and its probability ("" when not classified) */
    float confidence;
    int template_index;    /* the best template (-1 = none) and its similarity */
    double template_score;
} brain_peek_result;

/* Side-effect-free: would the template fast path answer text with high confidence
 * (a finished pack question, or a greeting)? Stricter than brain_turn's own bounds;
 * no history, topic or events are used or changed, and nothing is loaded (returns 0
 * while the pack or the intent model is not loaded). Cheap (well under a millisecond
 * for a spoken question); any thread. Returns out->sure. */
int brain_peek(brain *b, const char *text, brain_peek_result *out);

const char *brain_path_name(brain_path p);
int brain_mode_parse(const char *name, brain_mode *out);

/* The speech recogniser's corpus (template questions, utterances, item names and
 * aliases, pronunciation hints, the pack's content hash) as an stt_corpus_provider:
 * get loads the pack if needed. The provider borrows the brain. */
stt_corpus_provider brain_corpus_provider(brain *b);

/* The loaded pack's content hash (hex), or "" before the pack has loaded. */
const char *brain_content_hash(brain *b);

#endif
