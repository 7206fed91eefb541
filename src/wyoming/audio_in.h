/* Wyoming audio in any format the reference allows -> the recogniser's 16 kHz mono s16.
 *
 * An audio-chunk carries raw little-endian signed PCM described by its own rate (Hz),
 * width (bytes per sample: 1, 2, 3 or 4, as Python's audioop reads them) and channels
 * (interleaved). The converter mixes channels to mono (their mean, so nothing clips),
 * and resamples with libsamplerate's streaming state kept from chunk to chunk, the way
 * the reference's AudioChunkConverter keeps audioop.ratecv's state: chunk boundaries
 * leave no clicks. A frame split across two chunks is carried over. A chunk in another
 * format than the one before restarts the converter in the new format. */
#ifndef AXIOM_WYOMING_AUDIO_IN_H
#define AXIOM_WYOMING_AUDIO_IN_H

#include <stddef.h>
#include <stdint.h>

#define WY_RATE_MIN 1000
#define WY_RATE_MAX 384000
#define WY_CHANNELS_MAX 16

typedef struct wy_audio_in wy_audio_in;

/* 0 when (rate, width, channels) can be converted, else -1 with err naming the field
 * and what is allowed. */
int wy_audio_format_ok(long long rate, long long width, long long channels, char *err,
                       size_t errlen);

wy_audio_in *wy_audio_in_new(void);
void wy_audio_in_free(wy_audio_in *a);
/* Converts one chunk (format checked by wy_audio_format_ok). *out points to the
 * converter's own buffer, valid until the next call; *nout samples at 16 kHz. Returns
 * 0, or -1 with err (out of memory, resampler failure). */
int wy_audio_in_convert(wy_audio_in *a, int rate, int width, int channels, const unsigned char *pcm,
                        size_t len, const int16_t **out, size_t *nout, char *err, size_t errlen);
/* Forgets the stream so far (a new utterance starts clean). */
void wy_audio_in_reset(wy_audio_in *a);
/* The resampler's tail at the end of the stream (call once at audio-stop). */
int wy_audio_in_flush(wy_audio_in *a, const int16_t **out, size_t *nout, char *err, size_t errlen);

#endif
