/* One spoken request answered the way the server answers it, from a buffer instead of
 * a WebSocket: audio -> VAD stream (the engine's vad_params) -> one recogniser stream
 * per speech segment -> brain_turn_heard in the caller's brain session, segment by
 * segment.
 * Used by `axiom ask --audio` and the understanding benchmark, so both measure the
 * turn users get.
 *
 * Thread safety: many calls may run at once on one engine, each with its own brain
 * session (a session is used by one call at a time). */
#ifndef AXIOM_VOICE_ASK_H
#define AXIOM_VOICE_ASK_H

#include "axiom.h"
#include "brain/brain.h"

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* One VAD segment and what the brain made of it. */
typedef struct {
    char *transcript; /* the recogniser's text (owned; "" when nothing was heard) */
    char *heard;      /* the hearing the brain answered (brain_turn_heard; owned; NULL when none) */
    char *text;       /* the answer (owned; "" when dropped) */
    char intent[32];
    float confidence;
    brain_path path;          /* BRAIN_PATH_NONE when dropped or nothing was heard */
    char dropped[64];         /* why it was dropped, or "" */
    int64_t start_ms, end_ms; /* speech within the audio (pre-roll excluded) */
} voice_turn;

typedef struct {
    voice_turn *turns; /* one per VAD segment, in order (owned) */
    size_t n, cap;
    char *transcript; /* the non-empty segment transcripts joined by one space (owned) */
    int answer;       /* index of the last turn that was not dropped, -1 = none */
    int64_t audio_ms;
    int64_t vad_us;   /* in the VAD (total minus recogniser and brain) */
    int64_t stt_us;   /* feeding and finishing recogniser streams */
    int64_t brain_us; /* in brain_turn */
    int64_t total_us;
} voice_answer;

/* Answers pcm16k (16 kHz mono s16) in session s with opts o (may be NULL: full mode,
 * no LLM). out is always initialised; free it with voice_answer_free. Returns 0, or -1
 * with err when no VAD or recogniser is available, a recogniser stream fails, or the
 * pack cannot load (the turns answered so far stay in out). */
int voice_ask_pcm(axiom_engine *e, brain_session *s, const int16_t *pcm16k, size_t n,
                  const brain_turn_opts *o, voice_answer *out, char *err, size_t errlen);
void voice_answer_free(voice_answer *a);

/* The answer turn, or NULL when every turn was dropped. */
const voice_turn *voice_answer_final(const voice_answer *a);

/* Adds transcript, turns[], text, intent, confidence, path and timings_ms to obj. */
void voice_answer_json(const voice_answer *a, cJSON *obj);

#endif
