/* Text-to-speech: one interface, backends behind it (tts_flite.c, tts_sherpa.c).
 *
 * The engine is a governor component ("tts", load_order 40). Synthesis works one
 * sentence at a time so the first sentence can play while the rest is made: split an
 * answer with tts_sentence_next, synthesise each with tts_synth, and stop when the
 * cancel flag is raised (barge-in). The output is resampled to the rate asked for.
 * Thread safety: the engine may be used from many threads; the backend decides how
 * much runs in parallel (flite: one synthesis at a time per voice). */
#ifndef AXIOM_TTS_H
#define AXIOM_TTS_H

#include "core/component.h"
#include "core/config.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One sentence of audio: mono signed 16-bit at rate Hz (owned; tts_audio_clear frees). */
typedef struct {
    int16_t *samples;
    size_t n;
    int rate;
} tts_audio;

void tts_audio_clear(tts_audio *a);

/* A backend. "model" is its loaded state (voices). synth writes one sentence at the
 * backend's native rate into out; it checks *cancel (may be NULL) as often as it can
 * and returns 1 when cancelled (out left empty), 0 on success, -1 with err.
 * voice NULL means the configured one. A new backend is one file plus a line in
 * tts.c's table. */
typedef struct {
    const char *name; /* the tts.backend value */
    void *(*model_load)(const axiom_config *cfg, char *err, size_t errlen);
    void (*model_free)(void *model);
    int (*synth)(void *model, const char *voice, const char *text, const atomic_int *cancel,
                 tts_audio *out, char *err, size_t errlen);
    /* Names of the voices it offers, "|"-separated ("slt|kal16|awb|rms|kal"). */
    const char *(*voices)(void *model);
} tts_backend;

/* The backends compiled in. A new backend is its file (defining tts_backend_<name>)
 * plus one X(<name>) here: the lookup table and the choices of tts.backend follow. */
#define TTS_BACKENDS(X) X(flite) X(sherpa)

#define TTS_BACKEND_DECLARE(n) extern const tts_backend tts_backend_##n;
TTS_BACKENDS(TTS_BACKEND_DECLARE)
#define TTS_BACKEND_CHOICE(n) "|" #n
/* "flite|sherpa|none": the choices of tts.backend (none = text-only answers). */
#define TTS_BACKEND_CHOICES (&(TTS_BACKENDS(TTS_BACKEND_CHOICE) "|none")[1])

const tts_backend *tts_backend_find(const char *name);

typedef struct tts_engine tts_engine;

/* Nothing loads here. cfg must outlive the engine. tts.backend = none gives an engine
 * whose synthesis fails with a clear "text-only" message. */
tts_engine *tts_engine_new(const axiom_config *cfg, char *err, size_t errlen);
void tts_engine_free(tts_engine *e);
axiom_component *tts_engine_component(tts_engine *e);
/* What loading is expected to cost, for the governor's budget check: a sherpa-onnx
 * voice from its folder's files (mem/estimate.h), flite a few MiB. */
int64_t tts_engine_expected_bytes(tts_engine *e);

/* Synthesises one sentence (loading the component if needed) and resamples it to
 * out_rate (8000..48000; 0 = tts.sample_rate). Returns 0, 1 when *cancel was raised
 * (out empty), or -1 with err. */
int tts_synth(tts_engine *e, const char *text, const char *voice, int out_rate,
              const atomic_int *cancel, tts_audio *out, char *err, size_t errlen);

/* Sentence splitter for streaming: from *pos in text, finds the next sentence (ends at
 * . ! ? ; or a newline, not inside numbers like 3.5 or after "e.g."), writes its bounds
 * and advances *pos. Returns 1 when a sentence was found, 0 at the end. Whitespace-only
 * pieces are skipped. */
int tts_sentence_next(const char *text, size_t *pos, size_t *start, size_t *len);

/* Whole answer, sentence by sentence: on_audio is called for each sentence's audio as
 * soon as it is made (the callback may keep the samples by zeroing a->samples). Stops
 * between and inside sentences when *cancel is raised. Returns 0, 1 when cancelled,
 * -1 with err. */
typedef int (*tts_sentence_fn)(void *ctx, const char *sentence, size_t len, tts_audio *a);
int tts_speak(tts_engine *e, const char *text, const char *voice, int out_rate,
              const atomic_int *cancel, tts_sentence_fn on_audio, void *ctx, char *err,
              size_t errlen);

#endif
