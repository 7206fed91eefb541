/* WAV in and out. Reading goes through libsndfile (every WAV sample format, pipes
 * included) and libsamplerate, one chunk at a time: the reader holds a few thousand
 * frames whatever the file's length, so an hour of audio or an endless stdin costs
 * the same memory as a second. Float files may hold NaN or Inf (a broken encoder, a
 * hostile client); those become silence and are counted, never passed on. */
#include "speech/wav.h"

#include "core/util.h"

#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_FRAMES 4096
#define PEND_CAP (CHUNK_FRAMES * 8) /* enough for 8 kHz -> 48 kHz (x6) of one chunk */

struct wav_reader {
    SNDFILE *sf;
    SF_INFO info;
    SRC_STATE *src;
    double ratio;
    int out_rate;
    char name[256];
    float *in; /* CHUNK_FRAMES * channels interleaved */
    float mono[CHUNK_FRAMES];
    long mono_pos, mono_n;
    float pend[PEND_CAP];
    long pend_pos, pend_n;
    int eof, done;
    int64_t out_total, out_max;
    int64_t bad;
};

static int16_t float_to_s16(float x) {
    if (!(x == x)) return 0; /* NaN */
    /* libsndfile scales 16-bit PCM by 1/32768, so this inverts it exactly. */
    float y = x * 32768.0f;
    if (y >= 32767.0f) return 32767;
    if (y <= -32768.0f) return -32768;
    return (int16_t)lrintf(y);
}

wav_reader *wav_reader_open(const char *path, int out_rate, double max_seconds, char *err,
                            size_t errlen) {
    if (!path || !*path) {
        snprintf(err, errlen, "audio file: no path given (use a WAV file or - for stdin)");
        return NULL;
    }
    if (out_rate < 1000 || out_rate > 384000) {
        snprintf(err, errlen, "audio output rate %d Hz is out of range (1000..384000)", out_rate);
        return NULL;
    }
    int is_stdin = strcmp(path, "-") == 0;
    wav_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    str_copy(r->name, sizeof r->name, is_stdin ? "stdin" : path);
    r->sf = is_stdin ? sf_open_fd(STDIN_FILENO, SFM_READ, &r->info, 0)
                     : sf_open(path, SFM_READ, &r->info);
    if (!r->sf) {
        const char *why = sf_strerror(NULL);
        if (!is_stdin && access(path, R_OK) != 0)
            snprintf(err, errlen, "%s: cannot open (no such file or not readable)", path);
        else
            snprintf(err, errlen, "%s: not a readable audio file (%s); expected a WAV file",
                     r->name, why);
        free(r);
        return NULL;
    }
    if (r->info.channels < 1 || r->info.channels > 64 || r->info.samplerate < 1000 ||
        r->info.samplerate > 384000) {
        snprintf(
            err, errlen,
            "%s: unsupported header (%d channels, %d Hz); expected 1-64 channels at 1000-384000 Hz",
            r->name, r->info.channels, r->info.samplerate);
        wav_reader_free(r);
        return NULL;
    }
    r->in = malloc(sizeof(float) * CHUNK_FRAMES * (size_t)r->info.channels);
    if (!r->in) {
        snprintf(err, errlen, "%s: out of memory", r->name);
        wav_reader_free(r);
        return NULL;
    }
    r->out_rate = out_rate;
    r->ratio = (double)out_rate / r->info.samplerate;
    if (r->info.samplerate != out_rate) {
        int e = 0;
        r->src = src_new(SRC_SINC_FASTEST, 1, &e);
        if (!r->src) {
            snprintf(err, errlen, "%s: resampler: %s", r->name, src_strerror(e));
            wav_reader_free(r);
            return NULL;
        }
    }
    /* Float data is taken as is (no normalisation by the peak) and clipped later. */
    sf_command(r->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    r->out_max = max_seconds > 0 ? (int64_t)(max_seconds * out_rate) : 0;
    return r;
}

void wav_reader_get_info(const wav_reader *r, wav_info *out) {
    memset(out, 0, sizeof *out);
    out->src_rate = r->info.samplerate;
    out->src_channels = r->info.channels;
    switch (r->info.format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
        out->src_bits = 8;
        break;
    case SF_FORMAT_PCM_16:
        out->src_bits = 16;
        break;
    case SF_FORMAT_PCM_24:
        out->src_bits = 24;
        break;
    case SF_FORMAT_PCM_32:
        out->src_bits = 32;
        break;
    case SF_FORMAT_FLOAT:
        out->src_bits = 32;
        out->src_float = 1;
        break;
    case SF_FORMAT_DOUBLE:
        out->src_bits = 64;
        out->src_float = 1;
        break;
    default:
        break;
    }
    /* libsndfile reports a huge frame count for pipes with an unknown length. */
    out->src_frames = r->info.seekable ? (int64_t)r->info.frames : -1;
    out->out_rate = r->out_rate;
}

int64_t wav_reader_bad_samples(const wav_reader *r) {
    return r->bad;
}

/* Reads one chunk from the file into r->mono; sets eof at the end. */
static int refill_mono(wav_reader *r, char *err, size_t errlen) {
    sf_count_t got = sf_readf_float(r->sf, r->in, CHUNK_FRAMES);
    if (got <= 0) {
        if (sf_error(r->sf) != SF_ERR_NO_ERROR) {
            snprintf(err, errlen, "%s: read error: %s", r->name, sf_strerror(r->sf));
            return -1;
        }
        r->eof = 1;
        r->mono_pos = r->mono_n = 0;
        return 0;
    }
    int ch = r->info.channels;
    for (sf_count_t i = 0; i < got; i++) {
        float sum = 0;
        for (int c = 0; c < ch; c++) {
            float x = r->in[i * ch + c];
            if (!isfinite(x)) {
                r->bad++;
                x = 0;
            }
            sum += x;
        }
        r->mono[i] = sum / (float)ch;
    }
    r->mono_pos = 0;
    r->mono_n = (long)got;
    return 0;
}

/* Fills r->pend with converted (resampled) samples; sets done when nothing is left. */
static int refill_pend(wav_reader *r, char *err, size_t errlen) {
    r->pend_pos = r->pend_n = 0;
    while (r->pend_n == 0 && !r->done) {
        if (r->mono_pos >= r->mono_n && !r->eof && refill_mono(r, err, errlen) != 0) return -1;
        if (!r->src) {
            if (r->mono_pos >= r->mono_n) {
                if (r->eof) r->done = 1;
                continue;
            }
            long n = r->mono_n - r->mono_pos;
            memcpy(r->pend, r->mono + r->mono_pos, sizeof(float) * (size_t)n);
            r->pend_n = n;
            r->mono_pos = r->mono_n;
            continue;
        }
        SRC_DATA d = {0};
        d.data_in = r->mono + r->mono_pos;
        d.input_frames = r->mono_n - r->mono_pos;
        d.data_out = r->pend;
        d.output_frames = PEND_CAP;
        d.src_ratio = r->ratio;
        d.end_of_input = r->eof;
        int e = src_process(r->src, &d);
        if (e) {
            snprintf(err, errlen, "%s: resampler: %s", r->name, src_strerror(e));
            return -1;
        }
        r->mono_pos += d.input_frames_used;
        r->pend_n = d.output_frames_gen;
        if (r->eof && d.output_frames_gen == 0) r->done = 1;
    }
    return 0;
}

long wav_reader_read(wav_reader *r, int16_t *out, size_t cap, char *err, size_t errlen) {
    size_t got = 0;
    while (got < cap) {
        if (r->pend_pos >= r->pend_n) {
            if (r->done) break;
            if (refill_pend(r, err, errlen) != 0) return -1;
            continue;
        }
        size_t n = (size_t)(r->pend_n - r->pend_pos);
        if (n > cap - got) n = cap - got;
        for (size_t i = 0; i < n; i++)
            out[got + i] = float_to_s16(r->pend[r->pend_pos + (long)i]);
        r->pend_pos += (long)n;
        got += n;
    }
    r->out_total += (int64_t)got;
    if (r->out_max && r->out_total > r->out_max) {
        snprintf(err, errlen, "%s: longer than the %.0f s allowed; cut the file or raise the limit",
                 r->name, (double)r->out_max / r->out_rate);
        return -1;
    }
    return (long)got;
}

void wav_reader_free(wav_reader *r) {
    if (!r) return;
    if (r->sf) sf_close(r->sf);
    if (r->src) src_delete(r->src);
    free(r->in);
    free(r);
}

int wav_read_all(const char *path, int out_rate, double max_seconds, int16_t **pcm, size_t *n,
                 char *err, size_t errlen) {
    *pcm = NULL;
    *n = 0;
    if (max_seconds <= 0) {
        snprintf(err, errlen, "wav_read_all: a positive max_seconds is required");
        return -1;
    }
    wav_reader *r = wav_reader_open(path, out_rate, max_seconds, err, errlen);
    if (!r) return -1;
    size_t cap = 0, len = 0;
    int16_t *buf = NULL;
    for (;;) {
        if (cap - len < CHUNK_FRAMES) {
            size_t ncap = cap ? cap * 2 : (size_t)out_rate * 4;
            int16_t *nb = realloc(buf, ncap * sizeof *nb);
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                free(buf);
                wav_reader_free(r);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        long got = wav_reader_read(r, buf + len, cap - len, err, errlen);
        if (got < 0) {
            free(buf);
            wav_reader_free(r);
            return -1;
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    wav_reader_free(r);
    *pcm = buf;
    *n = len;
    return 0;
}

static void put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static void put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int wav_encode(const int16_t *pcm, size_t n, int rate, uint8_t **out, size_t *outlen) {
    *out = NULL;
    *outlen = 0;
    if (rate <= 0 || n > (UINT32_MAX - 44) / 2) return -1;
    size_t data = n * 2;
    uint8_t *b = malloc(44 + data);
    if (!b) return -1;
    memcpy(b, "RIFF", 4);
    put_le32(b + 4, (uint32_t)(36 + data));
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le32(b + 16, 16);
    put_le16(b + 20, 1); /* PCM */
    put_le16(b + 22, 1); /* mono */
    put_le32(b + 24, (uint32_t)rate);
    put_le32(b + 28, (uint32_t)rate * 2);
    put_le16(b + 32, 2);
    put_le16(b + 34, 16);
    memcpy(b + 36, "data", 4);
    put_le32(b + 40, (uint32_t)data);
    for (size_t i = 0; i < n; i++)
        put_le16(b + 44 + 2 * i, (uint16_t)pcm[i]);
    *out = b;
    *outlen = 44 + data;
    return 0;
}

int wav_write_file(const char *path, const int16_t *pcm, size_t n, int rate, char *err,
                   size_t errlen) {
    uint8_t *b;
    size_t len;
    if (wav_encode(pcm, n, rate, &b, &len) != 0) {
        snprintf(err, errlen, "%s: cannot encode %zu samples at %d Hz", path, n, rate);
        return -1;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen,
                 "%s: cannot create the file (check the folder exists and is writable)", path);
        free(b);
        return -1;
    }
    int ok = fwrite(b, 1, len, f) == len;
    if (f == stdout)
        ok = fflush(f) == 0 && ok;
    else
        ok = fclose(f) == 0 && ok;
    free(b);
    if (!ok) {
        snprintf(err, errlen, "%s: write failed (disk full?)", path);
        return -1;
    }
    return 0;
}

int audio_resample(const int16_t *in, size_t n, int in_rate, int out_rate, int16_t **out,
                   size_t *nout, char *err, size_t errlen) {
    *out = NULL;
    *nout = 0;
    if (in_rate < 1000 || out_rate < 1000 || in_rate > 384000 || out_rate > 384000) {
        snprintf(err, errlen, "resample: rates %d -> %d Hz out of range (1000..384000)", in_rate,
                 out_rate);
        return -1;
    }
    if (n > ((size_t)1 << 31)) {
        snprintf(err, errlen, "resample: %zu samples is too many for one buffer", n);
        return -1;
    }
    double ratio = (double)out_rate / in_rate;
    size_t cap = (size_t)((double)n * ratio) + 64;
    int16_t *o = malloc(cap * sizeof *o);
    if (!o) {
        snprintf(err, errlen, "resample: out of memory");
        return -1;
    }
    if (in_rate == out_rate || n == 0) {
        if (n) memcpy(o, in, n * sizeof *in);
        *out = o;
        *nout = n;
        return 0;
    }
    float *fi = malloc(n * sizeof *fi), *fo = malloc(cap * sizeof *fo);
    if (!fi || !fo) {
        free(fi);
        free(fo);
        free(o);
        snprintf(err, errlen, "resample: out of memory");
        return -1;
    }
    src_short_to_float_array(in, fi, (int)n);
    SRC_DATA d = {0};
    d.data_in = fi;
    d.input_frames = (long)n;
    d.data_out = fo;
    d.output_frames = (long)cap;
    d.src_ratio = ratio;
    int e = src_simple(&d, SRC_SINC_FASTEST, 1);
    if (e) {
        free(fi);
        free(fo);
        free(o);
        snprintf(err, errlen, "resample: %s", src_strerror(e));
        return -1;
    }
    for (long i = 0; i < d.output_frames_gen; i++)
        o[i] = float_to_s16(fo[i]);
    *out = o;
    *nout = (size_t)d.output_frames_gen;
    free(fi);
    free(fo);
    return 0;
}
