/* Audio files and buffers: read any WAV libsndfile understands (8/16/24/32-bit
 * integer, float with NaN/Inf cleaned, any channel count mixed down to mono, any rate
 * resampled) as 16 kHz-or-other mono s16, in chunks so an hour-long file or an endless
 * pipe stays bounded in memory; write mono s16 RIFF/WAV to memory (one per spoken
 * sentence on the wire) or to a file; resample a buffer. */
#ifndef AXIOM_WAV_H
#define AXIOM_WAV_H

#include <stddef.h>
#include <stdint.h>

typedef struct wav_reader wav_reader;

typedef struct {
    int src_rate; /* the file's rate */
    int src_channels;
    int src_bits;       /* 8, 16, 24, 32 (0 when not PCM/float) */
    int src_float;      /* 1 for IEEE float data */
    int64_t src_frames; /* from the header; -1 when unknown (pipe) */
    int out_rate;
} wav_info;

/* Opens path ("-" = stdin) and converts to mono s16 at out_rate. max_seconds bounds the
 * audio that will be delivered (0 = no bound); reading past it fails with a message.
 * Returns NULL with err naming the file and the problem. */
wav_reader *wav_reader_open(const char *path, int out_rate, double max_seconds, char *err,
                            size_t errlen);
void wav_reader_get_info(const wav_reader *r, wav_info *out);
/* Reads up to cap converted samples. Returns the count, 0 at the end, -1 with err. */
long wav_reader_read(wav_reader *r, int16_t *out, size_t cap, char *err, size_t errlen);
/* Samples that were NaN or infinite in a float file (replaced by silence). */
int64_t wav_reader_bad_samples(const wav_reader *r);
void wav_reader_free(wav_reader *r);

/* The whole file at out_rate into a new buffer (caller frees), refusing more than
 * max_seconds (required, > 0). */
int wav_read_all(const char *path, int out_rate, double max_seconds, int16_t **pcm, size_t *n,
                 char *err, size_t errlen);

/* A complete RIFF/WAV (PCM, mono, 16-bit) in a new buffer the caller frees. */
int wav_encode(const int16_t *pcm, size_t n, int rate, uint8_t **out, size_t *outlen);
int wav_write_file(const char *path, const int16_t *pcm, size_t n, int rate, char *err,
                   size_t errlen);

/* Resamples mono s16 from in_rate to out_rate into a new buffer (caller frees). Equal
 * rates copy. Returns 0 or -1 with err. */
int audio_resample(const int16_t *in, size_t n, int in_rate, int out_rate, int16_t **out,
                   size_t *nout, char *err, size_t errlen);

#endif
