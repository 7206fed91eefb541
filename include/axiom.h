/* AXIOM: an offline voice assistant that keeps working under memory pressure.
 *
 * This header is the whole public interface of libaxiom (static libaxiom.a and
 * shared libaxiom.so, which exports only the axiom_* functions declared here).
 *
 *   configuration  axiom_config_new / _set / _load_file / _free
 *   engine         axiom_engine_new / _free: the shared, lazily loaded components
 *                  (VAD, recogniser, synthesiser, intent model, knowledge index, LLM)
 *                  and the memory governor that loads and unloads them
 *   text answers   axiom_session_new, axiom_ask, axiom_reply_free
 *   voice          axiom_voice_new / _set / _feed / _text / _cancel / _end_input /
 *                  _wait / _free: PCM in, events out (speech, transcripts, answers,
 *                  synthesised audio), with turn scheduling and barge-in
 *
 * Every front end (the CLI, the WebSocket server, Wyoming, an embedding program) is a
 * client of these functions; examples/embed.c is a complete one.
 *
 * Errors: functions that can fail take (char *err, size_t errlen) and write one
 * human-readable line there; err may be NULL when errlen is 0.
 *
 * Thread safety: an engine may be used from many threads at once; a configuration
 * must not change once an engine uses it. A text session (axiom_session) is used by
 * one thread at a time; a voice session's functions may be called from any thread. */
#ifndef AXIOM_H
#define AXIOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AXIOM_VERSION_MAJOR 0
#define AXIOM_VERSION_MINOR 2
#define AXIOM_VERSION_PATCH 0
#define AXIOM_VERSION "0.2.0"
/* One number for compile-time checks: AXIOM_VERSION_NUMBER >= AXIOM_MAKE_VERSION(0, 2, 0). */
#define AXIOM_MAKE_VERSION(major, minor, patch) ((major)*10000 + (minor)*100 + (patch))
#define AXIOM_VERSION_NUMBER                                                                       \
    AXIOM_MAKE_VERSION(AXIOM_VERSION_MAJOR, AXIOM_VERSION_MINOR, AXIOM_VERSION_PATCH)

#if defined(AXIOM_BUILDING) && defined(__GNUC__)
#define AXIOM_API __attribute__((visibility("default")))
#else
#define AXIOM_API
#endif

typedef struct axiom_config axiom_config;
typedef struct axiom_engine axiom_engine;

/* The library's version at run time (may differ from AXIOM_VERSION when linked
 * against a newer shared library). */
AXIOM_API const char *axiom_version(void);

/* ---- configuration ----------------------------------------------------------------
 * Keys are those of `axiom --print-config` (e.g. "data", "mode", "server.port",
 * "tts.voice"); values are strings, validated against the key's type and range. */

/* A configuration with every key at its default. NULL when out of memory. */
AXIOM_API axiom_config *axiom_config_new(void);
/* Sets one key. Returns 0, or -1 with err naming the key, the value and what is
 * allowed (unknown key, bad value). */
AXIOM_API int axiom_config_set(axiom_config *cfg, const char *key, const char *value, char *err,
                               size_t errlen);
/* Reads an INI file (`key = value`, `[section]` prefixes later keys). Returns 0, or -1
 * with err naming the file, the line and the problem. */
AXIOM_API int axiom_config_load_file(axiom_config *cfg, const char *path, char *err, size_t errlen);
AXIOM_API void axiom_config_free(axiom_config *cfg);

/* ---- engine ---------------------------------------------------------------------- */

/* Creates the engine from a filled configuration (borrowed; it must outlive the
 * engine). Nothing heavy loads here: components load on first use. Returns NULL with
 * a message in err when the configuration cannot work (e.g. unreadable data folder). */
AXIOM_API axiom_engine *axiom_engine_new(const axiom_config *cfg, char *err, size_t errlen);
/* Every voice session must have been freed first. */
AXIOM_API void axiom_engine_free(axiom_engine *engine);

/* ---- text answers ---------------------------------------------------------------- */

/* A conversation: its own history of the last turns (history_turns), never shared. */
typedef struct axiom_session axiom_session;
AXIOM_API axiom_session *axiom_session_new(axiom_engine *engine);
AXIOM_API void axiom_session_free(axiom_session *session);

/* One answer. Strings are owned by the reply until axiom_reply_free. */
typedef struct {
    const char *text;   /* the spoken answer ("" when the input was dropped) */
    const char *intent; /* "equipment_query", ..., "unknown" */
    float confidence;
    const char *path; /* "template", "retrieval", "llm", "fallback", "none" */
    const char
        *dropped; /* why nothing was answered ("empty", "filler", "noise", "background"), or "" */
    const char *llm_failure; /* path "fallback": why the LLM failed ("timeout", ...), else "" */
    int card_index;          /* UI card to show, -1 = none */
    const char *card_keyword, *card_product;
    const char *model_path, *model_name; /* 3D model to load, "" = none */
    long long total_us;
    long long intent_us, retrieval_us, llm_us;
    void *internal_;
} axiom_reply;

/* Called with each finished sentence as soon as it is ready (for streaming speech). */
typedef void (*axiom_sentence_fn)(void *user, const char *sentence);

/* Answers one typed or transcribed question in a session, with the mode the memory
 * governor allows and the engine's language model. on_sentence may be NULL; cancel
 * (may be NULL) stops the answer when it becomes non-zero. Returns 0 (free the reply
 * with axiom_reply_free), or -1 with err (the knowledge pack cannot load; nothing to
 * free). */
AXIOM_API int axiom_ask(axiom_engine *engine, axiom_session *session, const char *text,
                        axiom_sentence_fn on_sentence, void *user, const volatile int *cancel,
                        axiom_reply *out, char *err, size_t errlen);
AXIOM_API void axiom_reply_free(axiom_reply *reply);

/* ---- voice sessions ---------------------------------------------------------------
 * One person talking: audio goes in, events come out. A voice session owns its
 * inbound audio queue, voice activity detector, recogniser stream, conversation
 * history, turn scheduling (one answer at a time; a newer question replaces one
 * waiting), synthesis and barge-in (speech or a typed question during an answer stops
 * it). Many voice sessions share one engine.
 *
 * A turn always ends with AXIOM_EVENT_READY: after an answer, after a failure (an
 * AXIOM_EVENT_ERROR, then AXIOM_EVENT_IDLE, then READY), and after noise (IDLE, READY),
 * unless it was cancelled (AXIOM_EVENT_BARGE_IN) for a newer one. */

typedef enum {
    AXIOM_EVENT_SPEECH_START = 1, /* the user started speaking */
    AXIOM_EVENT_SPEECH_END,       /* end_ms, pause_ms, endpoint */
    AXIOM_EVENT_PARTIAL,          /* text: the transcript so far (option "partials") */
    AXIOM_EVENT_TRANSCRIPT,       /* text: the final transcript of a spoken question */
    AXIOM_EVENT_THINKING,         /* a turn started; text: its transcript when spoken, else "" */
    AXIOM_EVENT_CARD,             /* card_index, card_keyword, card_product */
    AXIOM_EVENT_MODEL_3D,         /* model_path, model_name */
    AXIOM_EVENT_ANSWER,           /* text (the answer so far), intent, path, confidence, heard */
    AXIOM_EVENT_AUDIO,            /* one sentence (WAV) or chunk (PCM) of the answer's speech */
    AXIOM_EVENT_BARGE_IN,         /* the answer `turn` was stopped; drop its unplayed audio */
    AXIOM_EVENT_TIMINGS, /* stt_ms, brain_ms, tts_ms, first_audio_ms, path (option "timings") */
    AXIOM_EVENT_ERROR,   /* code, text: what failed; the session goes on */
    AXIOM_EVENT_IDLE,    /* nothing more is coming for this turn; text: an error or "" */
    AXIOM_EVENT_READY    /* listening again: play what was sent, then open the microphone */
} axiom_event_type;

/* The name of an event type as the WebSocket protocol spells it ("speech_start", ...,
 * "ready_to_listen"); "unknown" for other values. */
AXIOM_API const char *axiom_event_name(int type);

/* One event. Pointers are valid only during the callback. Fields not listed for a
 * type are 0 or NULL. */
typedef struct {
    axiom_event_type type;
    uint64_t turn; /* the answer it belongs to (1, 2, ...), 0 = none */
    const char *text;
    const char *code; /* ERROR: "stt_failed", "brain_failed", "tts_failed", "busy", ... */
    /* ANSWER */
    const char *intent, *path, *heard, *llm_failure;
    float confidence;
    /* CARD, MODEL_3D */
    int card_index;
    const char *card_keyword, *card_product, *model_path, *model_name;
    /* AUDIO: the samples (mono s16, native byte order) at sample_rate; wav/wav_bytes
     * the same audio as a WAV file when output_format is "wav" (else NULL). */
    const int16_t *pcm;
    size_t samples;
    int sample_rate;
    const unsigned char *wav;
    size_t wav_bytes;
    int audio_ms; /* playback length of this audio */
    /* SPEECH_END: where speech ended in the session's audio, the pause that ended
     * it, and what ended it ("finished", "unfinished", "default", "input_end"). */
    long long end_ms, pause_ms;
    const char *endpoint;
    /* TIMINGS (milliseconds; first_audio_ms -1 when no audio was made) */
    double stt_ms, brain_ms, tts_ms, first_audio_ms;
} axiom_event;

/* Receives every event of one voice session, in order and one at a time (never two
 * at once for one session), on a library worker thread or on the thread of the
 * axiom_voice_* call that caused it. It must return quickly (queue the event, do not
 * play audio here) and must not call axiom_voice_* functions on the same session. */
typedef void (*axiom_event_fn)(void *user, const axiom_event *event);

typedef struct axiom_voice axiom_voice;

/* Opens a voice session: its own history, detector and (when needed) recogniser
 * stream; loading the speech path starts in the background. on_event must not be
 * NULL. Returns NULL with err when out of memory. */
AXIOM_API axiom_voice *axiom_voice_new(axiom_engine *engine, axiom_event_fn on_event, void *user,
                                       char *err, size_t errlen);
/* Options, at any time:
 *   "output_rate"    8000..48000: sample rate of answer audio (default tts.sample_rate)
 *   "output_format"  "wav" (one WAV file per sentence, the default) or "pcm" (chunks)
 *   "partials"       "true"/"false": PARTIAL events while the user speaks (default false)
 *   "timings"        "true"/"false": a TIMINGS event after each answer (default false)
 *   "client_id"      8 to 36 letters, digits, '-' or '_': the user, whose last turns
 *                    are restored and kept (takes effect before the next turn)
 *   "feed"           "live" (the default: a microphone; audio more than 2 s behind is
 *                    dropped) or "wait" (a file or pipe: axiom_voice_feed waits until
 *                    the session has caught up, nothing is dropped)
 * Returns 0, or -1 with err (unknown key, bad value: the old value stays). */
AXIOM_API int axiom_voice_set(axiom_voice *v, const char *key, const char *value, char *err,
                              size_t errlen);
/* Queues mono s16 PCM at sample_rate (8000..48000; resampled to 16 kHz) and returns
 * at once (option "feed" = "wait": once there is room); the audio is processed on
 * the library's threads. Returns 0; 1 when the session is behind real time by more
 * than 2 s of audio and this block was dropped; -1 for a bad sample rate, a closed
 * session or out of memory. */
AXIOM_API int axiom_voice_feed(axiom_voice *v, const int16_t *pcm, size_t samples, int sample_rate);
/* The end of the audio (a file ended, the microphone closed): speech in progress ends
 * now, as if the speaker had paused, and its question is answered. */
AXIOM_API void axiom_voice_end_input(axiom_voice *v);
/* A typed question (at most 2000 bytes of UTF-8). An answer in progress is stopped
 * (BARGE_IN) and this one answered at once. Returns 0 when the question was taken
 * (whatever then fails is reported by events, ending with READY), or -1 with err for
 * an empty or too long text or a closed session (no event follows). */
AXIOM_API int axiom_voice_text(axiom_voice *v, const char *text, char *err, size_t errlen);
/* Stops the answer in progress and drops its unplayed audio. Returns 1 when there
 * was one (a BARGE_IN event follows), 0 when nothing was being answered. */
AXIOM_API int axiom_voice_cancel(axiom_voice *v);
/* Waits until every queued sample is processed and no turn is running or waiting.
 * Returns 0, or 1 after timeout_ms (< 0: no limit). */
AXIOM_API int axiom_voice_wait(axiom_voice *v, int timeout_ms);
/* Stops everything and releases the session; once it returns the callback is never
 * called again. Work still running for it finishes on its own in the background. */
AXIOM_API void axiom_voice_free(axiom_voice *v);

#ifdef __cplusplus
}
#endif

#endif
