/* Speech-to-text: one interface, backends behind it (stt_pocketsphinx.c, stt_sherpa.c).
 *
 * The engine is a governor component ("stt", load_order 30): loading it prepares the
 * backend's shared model (for PocketSphinx: the language model and dictionary built
 * from the knowledge pack, cached by content hash). Recognition happens in streams: a
 * stream exists for one utterance only and holds one decoder from a bounded pool
 * while it lives, so many sessions can share a few expensive decoders.
 *
 *   stt_stream_begin -> stt_stream_feed ... (stt_stream_partial) -> stt_stream_finish
 *                                                               or stt_stream_cancel
 *
 * Audio everywhere in this interface is 16 kHz mono signed 16-bit PCM (wav.h converts).
 * Thread safety: the engine may be used from many threads; one stream from one thread
 * at a time. */
#ifndef AXIOM_STT_H
#define AXIOM_STT_H

#include "core/component.h"
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

#define STT_SAMPLE_RATE 16000

/* The knowledge pack as the recogniser needs it: every sentence a user may say or
 * hear (questions, example utterances, item names), and pronunciation hints for words
 * a dictionary may lack ("lidar" -> "L AY D AA R", CMU phones, no stress digits).
 * content_hash keys the cache: same hash, same language model. All pointers are
 * borrowed from the provider. */
typedef struct {
    const char *const *sentences;
    size_t n_sentences;
    const char *const *hint_words;  /* n_hints words ... */
    const char *const *hint_phones; /* ... and their phones, same index */
    size_t n_hints;
    const char *content_hash; /* hex digest of the pack's content; "" = unknown (no caching) */
    /* How each hinted word is said, '|'-separated ("d four three five i|d four thirty
     * five i"), same index as hint_words; NULL, or NULL entries, when not known. */
    const char *const *hint_heard;
} stt_corpus;

/* The brain hands the corpus over at load time. get fills *out and returns 0, or -1
 * with err; the engine reads the corpus only until it calls release (may be NULL). */
typedef struct {
    int (*get)(void *ctx, stt_corpus *out, char *err, size_t errlen);
    void (*release)(void *ctx, stt_corpus *corpus);
    void *ctx;
} stt_corpus_provider;

struct stt_hyp;

/* A backend. "model" is the shared, loaded state (one per engine); "decoder" is one
 * recogniser instance that decodes one utterance at a time (one per pool slot). Every
 * call returning int returns 0, or -1 with a message in err naming what to fix.
 * A new backend is one file defining one of these plus a line in stt.c's table. */
typedef struct {
    const char *name; /* the stt.backend value */
    /* corpus may be NULL (no knowledge pack); backends that cannot use it ignore it. */
    void *(*model_load)(const axiom_config *cfg, const stt_corpus *corpus, char *err,
                        size_t errlen);
    void (*model_free)(void *model);
    /* Optional: bytes of model files mapped rather than read (may be NULL). */
    int64_t (*model_mapped_bytes)(void *model);
    void *(*decoder_new)(void *model, char *err, size_t errlen);
    void (*decoder_free)(void *decoder);
    int (*utt_begin)(void *decoder, char *err, size_t errlen);
    int (*utt_feed)(void *decoder, const int16_t *pcm, size_t n, char *err, size_t errlen);
    /* Best hypothesis so far into buf (always terminated; "" when none). */
    int (*utt_partial)(void *decoder, char *buf, size_t buflen);
    /* Ends the utterance and writes the final text into buf. The decoder is then ready
     * for utt_begin again. */
    int (*utt_end)(void *decoder, char *buf, size_t buflen, char *err, size_t errlen);
    /* Drops the utterance in progress (no result); the decoder stays usable. */
    void (*utt_abort)(void *decoder);
    /* Optional (may be NULL): after utt_end, the utterance's best hypotheses, best
     * first, with their words' frame spans (10 ms frames from the utterance's first
     * sample). Fills at most max entries of alts (texts and words owned by the caller)
     * and returns how many. */
    int (*utt_alternatives)(void *decoder, struct stt_hyp *alts, int max);
    /* Optional (may be NULL): the decoder's channel normalisation (see stt_channel).
     * utt_begin always starts from the model's initial state; channel_set, called
     * right after it, replaces that with a session's; channel_get reads it after
     * utt_end. channel_get returns the values written (at most max). */
    size_t (*channel_get)(void *decoder, float *out, size_t max);
    void (*channel_set)(void *decoder, const float *in, size_t n);
} stt_backend;

/* The backends compiled in. A new backend is its file (defining stt_backend_<name>)
 * plus one X(<name>) here: the lookup table and the choices of stt.backend follow. */
#define STT_BACKENDS(X) X(pocketsphinx) X(sherpa)

#define STT_BACKEND_DECLARE(n) extern const stt_backend stt_backend_##n;
STT_BACKENDS(STT_BACKEND_DECLARE)
#define STT_BACKEND_CHOICE(n) "|" #n
/* "pocketsphinx|sherpa": the choices of stt.backend (past the first '|'; written as
 * &s[1], which clang does not take for a string concatenation gone wrong). */
#define STT_BACKEND_CHOICES (&(STT_BACKENDS(STT_BACKEND_CHOICE))[1])

/* The backend named name (stt.backend), or NULL when this build has none by that name. */
const stt_backend *stt_backend_find(const char *name);

typedef struct stt_engine stt_engine;
typedef struct stt_stream stt_stream;

/* Creates the engine; nothing loads yet (the component loads on the first stream or
 * when the governor preloads it). corpus may be NULL: PocketSphinx then can only use
 * stt.lm = stock. cfg must outlive the engine; *corpus is copied, and what it reads
 * (its ctx) must stay valid while streams may begin or stt_engine_refresh_corpus be
 * called (stt_engine_free does not call it). */
stt_engine *stt_engine_new(const axiom_config *cfg, const stt_corpus_provider *corpus, char *err,
                           size_t errlen);
/* All streams must have finished or been cancelled. */
void stt_engine_free(stt_engine *e);
/* The governor's handle (owned by the engine). */
axiom_component *stt_engine_component(stt_engine *e);
/* Asks the provider for the pack's text now and keeps a copy for every later load.
 * The engine does this itself before a lazy load in stt_stream_begin. Loading the
 * component directly (component_load, governor preload) never calls the provider,
 * because the provider may itself load a component and loads are serialised: call
 * this first, outside any load. Returns 0 or -1 with err. */
int stt_engine_refresh_corpus(stt_engine *e, char *err, size_t errlen);
/* What loading is expected to cost, for the governor's budget check (measured for
 * PocketSphinx: model plus one decoder; each further decoder costs about as much;
 * sherpa-onnx: from the model folder's files, mem/estimate.h). */
int64_t stt_engine_expected_bytes(stt_engine *e);
/* Decoders in the pool: created so far, in use now, and the bound. */
void stt_engine_pool_counts(stt_engine *e, int *created, int *in_use, int *pool_size);

/* One speaker's channel normalisation (PocketSphinx's live cepstral mean: the
 * microphone, the room, the loudness), carried from one utterance of a session to its
 * next. Pooled decoders serve everyone, so without it an utterance would start tuned
 * to whoever the decoder served last. Zero it for a new session (n = 0: the model's
 * initial state). */
typedef struct {
    float v[32];
    size_t n;
} stt_channel;

/* stt_stream_begin's status when every decoder stayed busy for wait_ms. */
#define STT_BUSY (-2)

/* Starts an utterance: loads the component if needed and takes a decoder from the
 * pool, waiting at most wait_ms for one to come free. Returns the stream, or NULL with
 * *status = STT_BUSY ("all N decoders busy") or -1 (load or decoder failure) and err. */
stt_stream *stt_stream_begin(stt_engine *e, int wait_ms, int *status, char *err, size_t errlen);
/* Makes the utterance use (before any audio) and update (at finish) this session's
 * channel state; ch must outlive the stream. Without it an utterance starts from the
 * model's initial state. */
void stt_stream_use_channel(stt_stream *s, stt_channel *ch);
/* Feeds audio as it arrives (any chunk size, including 0). */
int stt_stream_feed(stt_stream *s, const int16_t *pcm, size_t n, char *err, size_t errlen);
/* The best hypothesis so far (cheap; call it every few hundred ms). */
int stt_stream_partial(stt_stream *s, char *buf, size_t buflen);
/* 1 while the words heard so far may still change wholesale: the restart from the
 * voice's channel (stt.restart_ms) is still to come and will decode them again. A
 * caller that commits to words as they settle (streamed transcripts) waits until 0. */
int stt_stream_may_revise(const stt_stream *s);

/* One recognised word: where it lies in the utterance and how loud it was there. */
typedef struct {
    char word[40];
    int start_ms, end_ms; /* from the utterance's first sample; end exclusive */
    float level_db;       /* energy of its loudest 10 ms frame, dB full scale */
} stt_word;

#define STT_MAX_ALTS 8
#define STT_MAX_WORDS 48

/* One hypothesis of the utterance: its text and words, and its path score relative
 * to the best one (natural log units, 0 for the best, negative for the others). */
typedef struct stt_hyp {
    char *text; /* owned */
    double score;
    stt_word *words; /* owned; NULL when the backend gives no word spans */
    int n_words;
} stt_hyp;

typedef struct {
    char *text; /* final text, lower case, words separated by one space (owned) */
    /* The best hypotheses (alts[0] is text), when the backend lists them; otherwise
     * n_alts is 1 with no words. */
    stt_hyp alts[STT_MAX_ALTS];
    int n_alts;
    /* The speaker's level: the 95th percentile of the utterance's 10 ms frame levels
     * (dB full scale), the reference for telling a quieter background voice apart. */
    float speech_db;
    int64_t audio_ms;  /* audio fed */
    int64_t decode_us; /* CPU-side time spent in feed + finish calls (wall clock) */
    int64_t finish_us; /* time the final result took after the last audio */
    int n_partials;    /* partial hypotheses asked for */
} stt_result;

/* Ends the utterance, writes the result, returns the decoder to the pool and frees the
 * stream (also on failure). Returns 0 or -1 with err. */
int stt_stream_finish(stt_stream *s, stt_result *out, char *err, size_t errlen);
/* Drops the utterance, returns the decoder, frees the stream. NULL is fine. */
void stt_stream_cancel(stt_stream *s);
void stt_result_clear(stt_result *r);
void stt_hyp_clear(stt_hyp *h);

#endif
