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

#include "axiom.h"
#include "core/component.h"
#include "core/config.h"
#include "speech/stt.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brain brain;
typedef struct brain_session brain_session;
struct llm;

/* The mode in force for one turn; the memory governor may degrade it. */
typedef enum { BRAIN_MODE_FULL = 0, BRAIN_MODE_SKIP_LLM, BRAIN_MODE_TEMPLATE_ONLY } brain_mode;

typedef enum {
    BRAIN_PATH_NONE = 0,  /* input dropped (empty, filler, noise): nothing to say */
    BRAIN_PATH_TEMPLATE,  /* canned answer */
    BRAIN_PATH_RETRIEVAL, /* composed from retrieved facts, no LLM */
    BRAIN_PATH_LLM,       /* streamed from the language model */
    BRAIN_PATH_FALLBACK,  /* the LLM failed; honest answer from retrieval */
    BRAIN_PATH_REJECTED   /* speech the pack cannot answer with confidence: asked again */
} brain_path;

struct brain_reply;

/* Receives each finished, speech-shaped sentence as soon as it is ready. */
typedef struct {
    void (*on_sentence)(void *user, const char *sentence);
    void *user;
} brain_sink;

typedef struct {
    brain_mode mode;
    struct llm *llm;          /* NULL = no language model */
    const atomic_int *cancel; /* barge-in: non-zero stops the turn (may be NULL) */
    brain_sink sink;          /* on_sentence may be NULL */
    /* Optional: the turn's UI events before its first sentence. Called once (with
     * sink.user), only when the turn raises a card or a 3D-model event, with
     * reply->card and reply->model_3d filled; the rest of the reply is not final yet.
     * Lets a front end show the card while an LLM answer is still streaming. */
    void (*on_events)(void *user, const struct brain_reply *reply);
    /* The text was heard, not typed: a retrieval answer needs firmer evidence (an
     * item named with a sure intent, or facts that cover the question), otherwise
     * the reply is BRAIN_PATH_REJECTED, asking the user to say it again. */
    int spoken;
} brain_turn_opts;

#define SPOKEN_REJECT_TEXT "Sorry, I didn't catch that. Could you say it again?"

/* Per-stage wall time of one turn, microseconds. */
typedef struct {
    int64_t normalise_us, intent_us, template_us, retrieval_us, llm_us, shape_us, total_us;
    int64_t load_us; /* lazy loading of pack, index or intent model during this turn */
} brain_timing;

/* One retrieval hit: bm25 score, higher is better. */
typedef struct {
    char kind; /* 'f' fact, 't' template, 'i' item */
    int index; /* into the pack's facts / templates / items */
    double score;
} brain_hit;

typedef struct brain_reply {
    char intent[32];  /* "equipment_query", ..., "unknown"; "" when dropped */
    float confidence; /* calibrated intent probability */
    brain_path path;
    /* FALLBACK only: why the LLM failed, one of "timeout", "connect", "http", "empty"
     * (no text came), "context" (the prompt did not fit), "other"; "" otherwise. */
    char llm_failure[16];
    char *text;       /* the whole answer, speech-shaped (owned; "" when dropped) */
    char *normalised; /* the transcript after normalisation (owned) */
    char *heard;      /* brain_turn_heard: the hearing answered (owned; NULL otherwise) */
    char dropped[64]; /* why input was dropped ("empty", "filler", "noise", "background"), or "" */
    int truncated;    /* input was longer than the cap and was cut */
    struct {
        int index; /* UI card index, -1 when none */
        char keyword[64];
        char product_name[128];
    } card;
    struct {
        char path[256]; /* "" when no model event */
        char name[128];
    } model_3d;
    int n_facts;       /* retrieved facts used in the answer or the prompt */
    double coverage;   /* share of the question's content words the best hit holds */
    brain_hit hits[8]; /* what retrieval found, best first */
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

/* Client ids name a user across connections (the browser keeps one in localStorage).
 * Valid: BRAIN_CLIENT_ID_MIN to BRAIN_CLIENT_ID_MAX characters of A-Z a-z 0-9 - _. */
#define BRAIN_CLIENT_ID_MIN 8
#define BRAIN_CLIENT_ID_MAX 36
int brain_client_id_valid(const char *id);
/* Makes s the conversation of that user: its history rows are keyed by the client id
 * from now on, and with history.persist the user's last history_turns turns are read
 * back into it (the conversation continues after a reconnect or a restart). The
 * session's in-memory turns so far are dropped: they belonged to an anonymous
 * connection. Not while a turn runs on s. Returns the turns restored, or -1 with err
 * (invalid id; the session is unchanged). */
int brain_session_set_client(brain_session *s, const char *client_id, char *err, size_t errlen);

/* Answers one transcript. Returns 0 (out filled; out->path NONE when the input was
 * dropped, with out->dropped saying why), or -1 with err when the pack cannot load.
 * opts may be NULL (full mode, no LLM, no sink). Always call brain_reply_free. */
int brain_turn(brain *b, brain_session *s, const char *text, const brain_turn_opts *opts,
               brain_reply *out, char *err, size_t errlen);
void brain_reply_free(brain_reply *r);
/* The whole brain_reply behind a reply of axiom_ask (brain_api.c), for the front ends
 * in this tree that show what axiom_reply leaves out (hits, template, every stage's
 * time). Owned by that reply; NULL when it holds none. */
const brain_reply *brain_reply_of(const axiom_reply *reply);

/* What brain_turn would make of a text, without saying anything or touching the
 * session (no history, no topic change, no events). */
typedef struct {
    char intent[32]; /* "" when the text would be dropped */
    float confidence;
    int item;              /* the item the question is about (named or the topic), -1 */
    int named;             /* the text names that item */
    int n_words;           /* tokens after normalisation */
    int template_index;    /* the closest template, -1 */
    double template_score; /* its similarity (0..1) */
    brain_path path;       /* NONE (dropped), TEMPLATE, RETRIEVAL or LLM */
    int fast_path;         /* a confident intent and a template close enough to answer */
    int social;            /* a greeting, thanks or goodbye */
    /* With evidence: retrieval was run too; coverage is the share of the question's
     * content words its best hit holds, and spoken_ok says whether a spoken question
     * would be answered (brain_turn_opts.spoken) rather than asked again. Without
     * evidence spoken_ok is 1 for anything but a dropped or unknown question. */
    double coverage;
    int spoken_ok;
} brain_assessment;

/* Returns 0 with out filled, or -1 with err when the pack cannot load. evidence: also
 * run retrieval (a SQLite query; without it the assessment costs tens of
 * microseconds). Like brain_turn, one session is used by one caller at a time. */
int brain_assess(brain *b, const brain_session *s, const char *text, brain_mode mode, int evidence,
                 brain_assessment *out, char *err, size_t errlen);

/* How a spoken turn is understood (brain_turn_heard). */
typedef struct {
    int rescore;          /* stt.rescore: pick among the recogniser's hypotheses */
    int trim;             /* stt.trim_background: drop quiet words at the edges */
    float trim_margin_db; /* ... quieter than the speaker by this much */
    int reject;           /* stt.reject: ask again instead of answering a doubtful hearing */
    float background_db;  /* stt.background_margin_db: a turn this much quieter than the
                           * speaker's last is another voice (0 = off) ... */
    int background_s;     /* ... within stt.background_forget_s of that turn */
} brain_heard_opts;

/* Reads stt.rescore, stt.trim_background, stt.trim_margin_db, stt.reject,
 * stt.background_margin_db and stt.background_forget_s. */
void brain_heard_opts_from_config(const axiom_config *cfg, brain_heard_opts *out);

/* Answers a spoken utterance: from the recogniser's hypotheses (best first) picks
 * the hearing the pack answers with the most confidence, keeping the background out,
 * then answers it as brain_turn does; out->heard is what it took the user to say.
 * When nothing heard is a question the pack can answer with confidence, the reply is
 * BRAIN_PATH_REJECTED with the pack's "say it again" text (nothing enters the
 * history). An utterance well below the level the session's speaker was last heard
 * at is another voice in the room: it is not answered (BRAIN_PATH_NONE, dropped
 * "background") unless a template answers it confidently. heard_opts may be NULL
 * (the defaults). */
int brain_turn_heard(brain *b, brain_session *s, const stt_result *heard,
                     const brain_heard_opts *heard_opts, const brain_turn_opts *opts,
                     brain_reply *out, char *err, size_t errlen);
/* What brain_peek saw. */
typedef struct {
    int sure;        /* 1: the template fast path would answer, confidently */
    char intent[32]; /* the intent and its probability ("" when not classified) */
    float confidence;
    int template_index; /* the best template (-1 = none) and its similarity */
    double template_score;
} brain_peek_result;

/* Side-effect-free: would the template fast path answer text with high confidence
 * (a finished pack question, or a greeting)? Stricter than brain_turn's own bounds;
 * no history, topic or events are used or changed, and nothing is loaded (returns 0
 * while the pack or the intent model is not loaded). Cheap (well under a millisecond
 * for a spoken question); any thread. Returns out->sure. */
int brain_peek(brain *b, const char *text, brain_peek_result *out);

/* What brain_assess found, by name, read from the pack without changing anything (for
 * front ends that report intents with their entities, like Wyoming's recognize): the
 * item's id and name (item -1: both "") and template tpl's canned answer (tpl -1: "").
 * Loads the pack when it is not loaded. Returns 0, or -1 with err. */
typedef struct {
    char item_id[64];
    char item_name[128];
    char answer[512];
} brain_match_names;
int brain_match_describe(brain *b, int item, int tpl, brain_match_names *out, char *err,
                         size_t errlen);

const char *brain_path_name(brain_path p);
int brain_mode_parse(const char *name, brain_mode *out);

/* The speech recogniser's corpus (template questions, utterances, item names and
 * aliases, pronunciation hints, the pack's content hash) as an stt_corpus_provider:
 * get loads the pack if needed. The provider borrows the brain. */
stt_corpus_provider brain_corpus_provider(brain *b);

/* The loaded pack's content hash (hex), or "" before the pack has loaded. */
const char *brain_content_hash(brain *b);

#endif
