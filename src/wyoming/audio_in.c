/* Wyoming audio in -> 16 kHz mono s16 (see audio_in.h). */
#include "wyoming/audio_in.h"

#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_RATE 16000

struct wy_audio_in {
    int rate, width, channels;                /* the current format; 0 before the first chunk */
    SRC_STATE *src;                           /* NULL when rate is already 16 kHz */
    unsigned char carry[4 * WY_CHANNELS_MAX]; /* start of a frame split across chunks */
    size_t ncarry;
    float *mono, *res; /* scratch, grown to the largest chunk */
    size_t mono_cap, res_cap;
    int16_t *out;
    size_t out_cap;
};

int wy_audio_format_ok(long long rate, long long width, long long channels, char *err,
                       size_t errlen) {
    if (rate < WY_RATE_MIN || rate > WY_RATE_MAX) {
        snprintf(err, errlen, "rate %lld Hz: from %d to %d Hz is accepted", rate, WY_RATE_MIN,
                 WY_RATE_MAX);
        return -1;
    }
    if (width < 1 || width > 4) {
        snprintf(err, errlen,
                 "width %lld: 1, 2, 3 or 4 bytes per sample (signed, little-endian) is accepted",
                 width);
        return -1;
    }
    if (channels < 1 || channels > WY_CHANNELS_MAX) {
        snprintf(err, errlen, "channels %lld: 1 to %d is accepted", channels, WY_CHANNELS_MAX);
        return -1;
    }
    return 0;
}

wy_audio_in *wy_audio_in_new(void) {
    return calloc(1, sizeof(wy_audio_in));
}

void wy_audio_in_free(wy_audio_in *a) {
    if (!a) return;
    if (a->src) src_delete(a->src);
    free(a->mono);
    free(a->res);
    free(a->out);
    free(a);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need)
        nc *= 2;
    void *n = realloc(*p, nc * elem);
    if (!n) return -1;
    *p = n;
    *cap = nc;
    return 0;
}

/* One signed little-endian sample of width bytes, scaled to [-1, 1). */
static float sample_at(const unsigned char *s, int width) {
    switch (width) {
    case 1:
        return (float)(int8_t)s[0] / 128.0f;
    case 2:
        return (float)(int16_t)(uint16_t)(s[0] | (s[1] << 8)) / 32768.0f;
    case 3: {
        int32_t v =
            (int32_t)((uint32_t)s[0] << 8 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 24) >> 8;
        return (float)v / 8388608.0f;
    }
    default: {
        int32_t v = (int32_t)((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
                              (uint32_t)s[3] << 24);
        return (float)((double)v / 2147483648.0);
    }
    }
}

static int set_format(wy_audio_in *a, int rate, int width, int channels, char *err, size_t errlen) {
    if (a->rate == rate && a->width == width && a->channels == channels) return 0;
    if (a->src) src_delete(a->src);
    a->src = NULL;
    a->ncarry = 0;
    a->rate = rate;
    a->width = width;
    a->channels = channels;
    if (rate != OUT_RATE) {
        int e = 0;
        a->src = src_new(SRC_SINC_FASTEST, 1, &e);
        if (!a->src) {
            a->rate = 0;
            snprintf(err, errlen, "resampler: %s", src_strerror(e));
            return -1;
        }
    }
    return 0;
}

/* mono[0..n) at the current rate -> a->out at 16 kHz. */
static int resample(wy_audio_in *a, size_t n, int last, const int16_t **out, size_t *nout,
                    char *err, size_t errlen) {
    const float *src = a->mono;
    size_t m = n;
    if (a->src) {
        double ratio = (double)OUT_RATE / a->rate;
        size_t cap = (size_t)((double)n * ratio) + 64;
        if (grow((void **)&a->res, &a->res_cap, cap, sizeof(float)) != 0) goto oom;
        SRC_DATA d = {0};
        d.data_in = a->mono;
        d.input_frames = (long)n;
        d.data_out = a->res;
        d.output_frames = (long)cap;
        d.src_ratio = ratio;
        d.end_of_input = last;
        int e = src_process(a->src, &d);
        if (e) {
            snprintf(err, errlen, "resampler: %s", src_strerror(e));
            return -1;
        }
        src = a->res;
        m = (size_t)d.output_frames_gen;
    }
    if (grow((void **)&a->out, &a->out_cap, m ? m : 1, sizeof(int16_t)) != 0) goto oom;
    src_float_to_short_array(src, a->out, (int)m);
    *out = a->out;
    *nout = m;
    return 0;
oom:
    snprintf(err, errlen, "out of memory for audio");
    return -1;
}

int wy_audio_in_convert(wy_audio_in *a, int rate, int width, int channels, const unsigned char *pcm,
                        size_t len, const int16_t **out, size_t *nout, char *err, size_t errlen) {
    *out = NULL;
    *nout = 0;
    if (set_format(a, rate, width, channels, err, errlen) != 0) return -1;
    if (len == 0) return 0; /* an audio-chunk may carry no payload (pcm is then NULL) */
    size_t frame = (size_t)width * (size_t)channels;
    size_t frames = (a->ncarry + len) / frame;
    if (grow((void **)&a->mono, &a->mono_cap, frames ? frames : 1, sizeof(float)) != 0) {
        snprintf(err, errlen, "out of memory for audio");
        return -1;
    }
    size_t used = 0, k = 0;
    if (a->ncarry && frames) { /* complete the frame the last chunk began */
        size_t need = frame - a->ncarry;
        memcpy(a->carry + a->ncarry, pcm, need);
        used = need;
        float sum = 0;
        for (int c = 0; c < channels; c++)
            sum += sample_at(a->carry + (size_t)c * (size_t)width, width);
        a->mono[k++] = sum / (float)channels;
        a->ncarry = 0;
    }
    for (; k < frames; k++, used += frame) {
        float sum = 0;
        for (int c = 0; c < channels; c++)
            sum += sample_at(pcm + used + (size_t)c * (size_t)width, width);
        a->mono[k] = sum / (float)channels;
    }
    memcpy(a->carry + a->ncarry, pcm + used, len - used); /* less than one frame */
    a->ncarry += len - used;
    return resample(a, frames, 0, out, nout, err, errlen);
}

int wy_audio_in_flush(wy_audio_in *a, const int16_t **out, size_t *nout, char *err, size_t errlen) {
    *out = NULL;
    *nout = 0;
    a->ncarry = 0;
    if (!a->src) return 0;
    if (grow((void **)&a->mono, &a->mono_cap, 1, sizeof(float)) != 0) {
        snprintf(err, errlen, "out of memory for audio");
        return -1;
    }
    int rc = resample(a, 0, 1, out, nout, err, errlen);
    src_reset(a->src);
    return rc;
}

void wy_audio_in_reset(wy_audio_in *a) {
    a->ncarry = 0;
    if (a->src) src_reset(a->src);
}
