/* Voice activity detection: 16 kHz mono signed 16-bit audio in, speech start / speech
 * audio / speech end events out, per session.
 *
 * Two detectors sit behind one stream interface:
 *   - energy (vad_energy.c): plain C, a tracked noise floor and a margin above it.
 *     It runs on every stream all the time, as the cheap gate that says "this may be
 *     speech", and it is the whole detector when the Silero model is absent, when
 *     vad.backend = energy, or when every Silero detector is busy.
 *   - Silero v5 through sherpa-onnx (vad_silero.c): accurate in noise, but one
 *     detector costs megabytes (its own onnxruntime session), so the engine keeps a
 *     bounded pool of them (vad.pool_size). A stream borrows one when its gate
 *     opens, feeds it the pre-roll first so the onset is seen, and gives it back
 *     (reset) once the speech has ended and the gate has been closed a while.
 *
 * Events carry sample positions counted from the stream's first sample. Audio
 * handed to on_speech_audio starts vad.preroll_ms before the detected start, so the
 * first syllable reaches the recogniser; it is then forwarded live until the end.
 *
 * The engine is a governor component ("vad", load_order 20). Loading it opens the
 * sherpa-onnx library and creates the first Silero detector; unloading it drops the
 * whole pool (streams keep working on the energy detector until it loads again).
 * A stream pins the component only while it holds a Silero detector.
 *
 * Thread safety: the engine may be used from many threads; one stream from one thread
 * at a time. Sink callbacks run inside vad_stream_feed/flush on the caller's thread
 * and must not call back into the same stream. */
#ifndef AXIOM_VAD_H
#define AXIOM_VAD_H

#include "core/component.h"
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>

#define VAD_SAMPLE_RATE 16000

/* Defaults and allowed ranges (inclusive) of the vad.* settings and of
 * server.max_utterance_s, in one place: the configuration table (core/config.c) and
 * vad_engine_new's check both read these, so a value the configuration accepts is
 * one the detector accepts, and the defaults cannot drift apart. */
#define VAD_THRESHOLD_DEF 0.5
#define VAD_THRESHOLD_MIN 0.01
#define VAD_THRESHOLD_MAX 0.99
#define VAD_ENERGY_MARGIN_DB_DEF 9
#define VAD_ENERGY_MARGIN_DB_MIN 1
#define VAD_ENERGY_MARGIN_DB_MAX 40
#define VAD_MIN_SPEECH_MS_DEF 200
#define VAD_MIN_SPEECH_MS_MIN 0
#define VAD_MIN_SPEECH_MS_MAX 5000
#define VAD_SILENCE_MS_DEF 300
#define VAD_SILENCE_MS_MIN 50
#define VAD_SILENCE_MS_MAX 5000
#define VAD_SILENCE_MIN_MS_DEF 120 /* vad.silence_min_ms: same range as vad.silence_ms */
#define VAD_SILENCE_MAX_MS_DEF 600 /* vad.silence_max_ms: same range as vad.silence_ms */
#define VAD_PREROLL_MS_DEF 300
#define VAD_PREROLL_MS_MIN 0
#define VAD_PREROLL_MS_MAX 2000
#define VAD_POOL_SIZE_DEF 2
#define VAD_POOL_SIZE_MIN 1
#define VAD_POOL_SIZE_MAX 1024
#define VAD_MAX_UTTERANCE_S_DEF 30 /* server.max_utterance_s; max_speech_ms is it x 1000 */
#define VAD_MAX_UTTERANCE_S_MIN 1
#define VAD_MAX_UTTERANCE_S_MAX 600
/* A number as the string the configuration table holds for its default. */
#define VAD_STR_(x) #x
#define VAD_STR(x) VAD_STR_(x)

typedef struct {
    int use_silero;         /* vad.backend = silero (falls back to energy when absent) */
    char model[1024];       /* Silero ONNX file; "" = <root>/deps/silero/dist/silero_vad_v5.onnx */
    float threshold;        /* Silero speech probability */
    float energy_margin_db; /* energy detector: speech is this far above the noise floor */
    int min_speech_ms;      /* shorter bursts are not utterances */
    int silence_ms;         /* trailing silence that ends an utterance */
    int adaptive;           /* the sink's on_pause may shorten or lengthen it ... */
    int silence_min_ms;     /* ... down to this (a finished question) ... */
    int silence_max_ms;     /* ... or up to this (an unfinished phrase) */
    int preroll_ms;         /* audio delivered from before the start */
    int max_speech_ms;      /* an utterance is cut (ended) at this length */
    int pool_size;          /* Silero detectors shared by all streams */
} vad_params;

/* Defaults (the VAD_*_DEF values above): silero, threshold 0.5, 9 dB, 200 / 300 /
 * 300 ms, 30 s, pool 2; adaptive endpointer on, 120..600 ms. */
vad_params vad_params_default(void);
/* Reads vad.* (and server.max_utterance_s for max_speech_ms). */
void vad_params_from_config(const axiom_config *cfg, vad_params *out);

typedef struct {
    /* start: first sample of speech (the pre-roll begins before it). */
    void (*on_speech_start)(void *user, int64_t start_sample);
    /* Pre-roll first, then live audio until the end event. */
    void (*on_speech_audio)(void *user, const int16_t *pcm, size_t n);
    /* end: one past the last sample of speech (trailing silence excluded). */
    void (*on_speech_end)(void *user, int64_t end_sample);
    void *user;
    /* Optional (adaptive endpointer): called once per pause in an utterance, when it
     * has lasted vad.silence_min_ms; pause_start is the sample where the speech
     * stopped. Returns how long this pause must last to end the utterance, in ms
     * (clamped to vad.silence_min_ms..vad.silence_max_ms), or 0 for vad.silence_ms.
     * Runs inside vad_stream_feed, like the others: it must be quick. */
    int (*on_pause)(void *user, int64_t pause_start);
} vad_sink;

typedef struct vad_engine vad_engine;
typedef struct vad_stream vad_stream;

/* Copies params; nothing loads here. Returns NULL with err on bad params. */
vad_engine *vad_engine_new(const vad_params *params, char *err, size_t errlen);
/* All streams must be freed first. */
void vad_engine_free(vad_engine *e);
axiom_component *vad_engine_component(vad_engine *e);

typedef struct {
    int silero_loaded;  /* the component is loaded with a working Silero model */
    int pool_created;   /* detectors that exist now */
    int pool_in_use;    /* borrowed by streams now */
    int pool_size;      /* the bound */
    int64_t borrows;    /* detectors handed out so far */
    int64_t misses;     /* gate openings that found the pool exhausted (energy used) */
    char fallback[320]; /* why Silero is not used ("" when it is or was never tried) */
} vad_engine_info;

void vad_engine_get_info(vad_engine *e, vad_engine_info *out);
/* Runs a few windows of silence through one pooled Silero detector (loading the
 * component if needed), so the first stream to borrow it does not pay the model's
 * first-inference cost. Returns 0, or -1 (no Silero: nothing to warm). */
int vad_engine_warm(vad_engine *e);

/* A stream for one session. The sink is copied. */
vad_stream *vad_stream_new(vad_engine *e, const vad_sink *sink, char *err, size_t errlen);
/* Returns a borrowed detector, if any. NULL is fine. */
void vad_stream_free(vad_stream *s);

/* Feeds audio in any chunk size (0 and 1 included); events fire from inside. */
void vad_stream_feed(vad_stream *s, const int16_t *pcm, size_t n);
/* End of input: an utterance still open ends at its last speech sample. */
void vad_stream_flush(vad_stream *s);
/* Ends an open utterance (on_speech_end), then forgets everything: positions
 * restart at 0 and a borrowed detector goes back to the pool. */
void vad_stream_reset(vad_stream *s);

int vad_stream_in_speech(const vad_stream *s);
/* Samples consumed so far (where the stream is now; event positions are below it). */
int64_t vad_stream_position(const vad_stream *s);
/* "silero" or "energy": the detector deciding right now ("energy" while idle). */
const char *vad_stream_detector(const vad_stream *s);
/* Bytes this stream holds (for the memory budget). */
size_t vad_stream_bytes(const vad_stream *s);

#endif
