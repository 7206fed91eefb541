/* Transcribing a whole recording (a file, stdin, a buffer) with a stt_engine: the audio
 * is cut into utterances at pauses by a small energy detector with an adaptive noise
 * floor, so memory stays bounded however long the recording is (a decoder only ever
 * holds one utterance, at most 30 s) and long silences are never decoded. Used by
 * `axiom transcribe`, the tests and the benchmark; the server uses the VAD instead. */
#ifndef AXIOM_STT_FILE_H
#define AXIOM_STT_FILE_H

#include "speech/lm_build.h"
#include "speech/stt.h"
#include "speech/wav.h"

#include <stdint.h>

typedef struct {
    int64_t start_ms, end_ms; /* within the recording */
    char *text;
    int64_t finish_us; /* from the end of the utterance's audio to its final text */
} stt_segment;

typedef struct {
    stt_segment *segs;
    size_t n, cap;
    char *text;        /* non-empty segment texts joined by one space */
    int64_t audio_ms;  /* whole recording */
    int64_t speech_ms; /* audio fed to the recogniser */
    int64_t decode_us; /* wall time in the recogniser */
    int64_t cpu_us;    /* this thread's CPU time for the whole job, reading included */
    int n_partials;
} stt_transcript;

/* Called when the partial hypothesis changes during an utterance. */
typedef void (*stt_partial_fn)(void *ctx, int64_t at_ms, const char *text);

/* Reads r to its end. Returns 0 or -1 with err (read or recogniser failure; what was
 * transcribed so far stays in out). r must deliver STT_SAMPLE_RATE. */
int stt_transcribe_reader(stt_engine *e, wav_reader *r, stt_partial_fn on_partial, void *ctx,
                          stt_transcript *out, char *err, size_t errlen);
int stt_transcribe_pcm(stt_engine *e, const int16_t *pcm, size_t n, stt_partial_fn on_partial,
                       void *ctx, stt_transcript *out, char *err, size_t errlen);
void stt_transcript_clear(stt_transcript *t);

/* Word errors (substitutions + insertions + deletions, by edit distance) of hyp
 * against ref, both compared in lm_normalize's form. *ref_words gets the reference's
 * word count. At most 1000 words of each are compared. Returns the error count. */
int stt_word_errors(const char *ref, const char *hyp, int *ref_words);
/* The same, with the pack's digit names ("D435i") kept whole, one word each, as the
 * domain model writes them. */
int stt_word_errors_keep(const char *ref, const char *hyp, const lm_keep *keep, int *ref_words);

#endif
