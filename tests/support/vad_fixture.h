/* Audio material and ground truth for the VAD tests and benchmark: a small WAV reader
 * (16-bit PCM mono), 8 -> 16 kHz resampling, padding with silence or seeded white
 * noise, and the reference segmentation of a clean recording.
 *
 * Truth: the recordings used have a quiet background (at most -40 dBFS) and speech
 * 20-45 dB louder. A 10 ms frame is speech when it is at least 15 dB above the
 * recording's 10th-percentile frame level; speech frames closer than 500 ms are one
 * utterance, and utterances under 150 ms are dropped (clicks). The truth is measured
 * on the clean recording, then the recording is padded with known lengths of silence
 * or noise (and noise may be mixed over it), so every position stays known. */
#ifndef AXIOM_VAD_FIXTURE_H
#define AXIOM_VAD_FIXTURE_H

#include "speech/vad.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int16_t *s;
    size_t n;
    int rate;
} fx_audio;

static inline void fx_free(fx_audio *a) {
    free(a->s);
    memset(a, 0, sizeof *a);
}

static inline uint32_t fx_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a 16-bit PCM mono WAV, or raw s16le 16 kHz when the name ends in .raw. */
static inline int fx_read(const char *path, fx_audio *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len <= 0 || len > (64L << 20)) {
        fclose(f);
        return -1;
    }
    unsigned char *buf = malloc((size_t)len);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    const unsigned char *data = buf;
    size_t dlen = (size_t)len;
    int rate = 16000;
    size_t pl = strlen(path);
    if (!(pl > 4 && strcmp(path + pl - 4, ".raw") == 0)) {
        if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
            free(buf);
            return -1;
        }
        data = NULL;
        int ok_fmt = 0;
        for (size_t at = 12; at + 8 <= (size_t)len;) {
            uint32_t sz = fx_le32(buf + at + 4);
            if (at + 8 + sz > (size_t)len) sz = (uint32_t)((size_t)len - at - 8);
            if (!memcmp(buf + at, "fmt ", 4) && sz >= 16) {
                int fmt = buf[at + 8] | buf[at + 9] << 8, ch = buf[at + 10] | buf[at + 11] << 8;
                int bits = buf[at + 22] | buf[at + 23] << 8;
                rate = (int)fx_le32(buf + at + 12);
                ok_fmt = fmt == 1 && ch == 1 && bits == 16;
            } else if (!memcmp(buf + at, "data", 4)) {
                data = buf + at + 8;
                dlen = sz;
                break;
            }
            at += 8 + sz + (sz & 1);
        }
        if (!ok_fmt || !data) {
            free(buf);
            return -1;
        }
    }
    out->n = dlen / 2;
    out->rate = rate;
    out->s = malloc(out->n * sizeof *out->s + 1);
    if (!out->s) {
        free(buf);
        return -1;
    }
    for (size_t i = 0; i < out->n; i++)
        out->s[i] = (int16_t)(data[2 * i] | data[2 * i + 1] << 8);
    free(buf);
    return 0;
}

/* 8 kHz -> 16 kHz by linear interpolation (enough for detection). */
static inline int fx_upsample2(fx_audio *a) {
    if (a->rate != 8000) return a->rate == 16000 ? 0 : -1;
    int16_t *o = malloc(2 * a->n * sizeof *o + 2);
    if (!o) return -1;
    for (size_t i = 0; i < a->n; i++) {
        int next = i + 1 < a->n ? a->s[i + 1] : a->s[i];
        o[2 * i] = a->s[i];
        o[2 * i + 1] = (int16_t)((a->s[i] + next) / 2);
    }
    free(a->s);
    a->s = o;
    a->n *= 2;
    a->rate = 16000;
    return 0;
}

/* Keeps [from_ms, to_ms) of a. */
static inline void fx_crop(fx_audio *a, int from_ms, int to_ms) {
    size_t from = (size_t)from_ms * 16, to = (size_t)to_ms * 16;
    if (to > a->n) to = a->n;
    if (from > to) from = to;
    memmove(a->s, a->s + from, (to - from) * sizeof *a->s);
    a->n = to - from;
}

static uint32_t fx_rng = 12345;
static inline double fx_gauss(void) {
    /* Irwin-Hall: the sum of 12 uniforms minus 6, close enough to Gaussian. */
    double t = 0;
    for (int i = 0; i < 12; i++) {
        fx_rng = fx_rng * 1664525u + 1013904223u;
        t += (fx_rng >> 8) / 16777216.0;
    }
    return t - 6.0;
}

static inline int16_t fx_clip(double v) {
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* lead_ms of padding, a, tail_ms of padding; noise_dbfs > -100 mixes white noise of
 * that RMS level over the whole result (padding included), seeded for repeatability. */
static inline int fx_compose(const fx_audio *a, int lead_ms, int tail_ms, double noise_dbfs,
                             fx_audio *out) {
    size_t lead = (size_t)lead_ms * 16, tail = (size_t)tail_ms * 16;
    out->n = lead + a->n + tail;
    out->rate = 16000;
    out->s = calloc(out->n + 1, sizeof *out->s);
    if (!out->s) return -1;
    memcpy(out->s + lead, a->s, a->n * sizeof *a->s);
    if (noise_dbfs > -100) {
        fx_rng = 12345;
        double amp = 32768.0 * pow(10.0, noise_dbfs / 20.0);
        for (size_t i = 0; i < out->n; i++)
            out->s[i] = fx_clip(out->s[i] + amp * fx_gauss());
    }
    return 0;
}

typedef struct {
    int64_t start, end; /* samples */
} fx_seg;

#define FX_MAX_SEGS 256

static inline float fx_frame_db(const int16_t *x, size_t n) {
    double sq = 0;
    for (size_t i = 0; i < n; i++)
        sq += (double)x[i] * x[i];
    double rms = sqrt(sq / (double)n) / 32768.0;
    return rms < 1e-6 ? -120.0f : (float)(20 * log10(rms));
}

static int fx_cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The truth rule described at the top. Returns the number of segments. */
static inline int fx_truth(const fx_audio *a, fx_seg *segs, int max) {
    size_t nf = a->n / 160;
    if (nf == 0) return 0;
    float *db = malloc(nf * sizeof *db), *sorted = malloc(nf * sizeof *sorted);
    if (!db || !sorted) {
        free(db);
        free(sorted);
        return 0;
    }
    for (size_t i = 0; i < nf; i++)
        sorted[i] = db[i] = fx_frame_db(a->s + i * 160, 160);
    qsort(sorted, nf, sizeof *sorted, fx_cmp_float);
    float thr = sorted[nf / 10] + 15.0f;
    int n = 0;
    int64_t cur_s = -1, cur_e = -1;
    for (size_t i = 0; i < nf; i++) {
        if (db[i] < thr) continue;
        int64_t s = (int64_t)i * 160, e = s + 160;
        if (cur_s >= 0 && s - cur_e < 8000) {
            cur_e = e;
            continue;
        }
        if (cur_s >= 0 && cur_e - cur_s >= 2400 && n < max) segs[n++] = (fx_seg){cur_s, cur_e};
        cur_s = s;
        cur_e = e;
    }
    if (cur_s >= 0 && cur_e - cur_s >= 2400 && n < max) segs[n++] = (fx_seg){cur_s, cur_e};
    free(db);
    free(sorted);
    return n;
}

/* Narrows seg to its loud core: from the first to the last 10 ms frame within 20 dB
 * of the segment's loudest frame. Cut there, a clip starts and ends inside speech,
 * so its boundaries are exact truth with no judgement about fading word endings. */
static inline fx_seg fx_loud_core(const fx_audio *a, fx_seg seg) {
    float peak = -200;
    for (int64_t at = seg.start; at + 160 <= seg.end; at += 160) {
        float d = fx_frame_db(a->s + at, 160);
        if (d > peak) peak = d;
    }
    fx_seg core = {-1, -1};
    for (int64_t at = seg.start; at + 160 <= seg.end; at += 160) {
        if (fx_frame_db(a->s + at, 160) < peak - 20) continue;
        if (core.start < 0) core.start = at;
        core.end = at + 160;
    }
    return core.start < 0 ? seg : core;
}

/* Builds gap_ms of padding, clip 1, gap_ms, clip 2, ... tail_ms, with optional noise
 * mixed over everything (as fx_compose); truth gets each clip's exact position. */
static inline int fx_concat(const fx_audio *src, const fx_seg *clips, int n, int gap_ms,
                            int tail_ms, double noise_dbfs, fx_audio *out, fx_seg *truth) {
    size_t total = (size_t)tail_ms * 16;
    for (int i = 0; i < n; i++)
        total += (size_t)gap_ms * 16 + (size_t)(clips[i].end - clips[i].start);
    fx_audio body = {calloc(total + 1, sizeof(int16_t)), total, 16000};
    if (!body.s) return -1;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        at += (size_t)gap_ms * 16;
        size_t len = (size_t)(clips[i].end - clips[i].start);
        memcpy(body.s + at, src->s + clips[i].start, len * sizeof(int16_t));
        truth[i].start = (int64_t)at;
        truth[i].end = (int64_t)(at + len);
        at += len;
    }
    int rc = fx_compose(&body, 0, 0, noise_dbfs, out);
    fx_free(&body);
    return rc;
}

/* ---- a sink that records what the VAD says ---- */

typedef struct {
    fx_seg segs[FX_MAX_SEGS];
    int n;                            /* completed utterances */
    int open;                         /* a start without its end yet */
    int64_t audio;                    /* samples delivered in total */
    int64_t audio_now;                /* samples delivered for the current utterance */
    int64_t first_audio[FX_MAX_SEGS]; /* samples delivered per utterance */
    int order_errors; /* audio outside start..end, start while open, end while closed */
} fx_sink;

static void fx_on_start(void *u, int64_t start) {
    fx_sink *k = u;
    if (k->open) k->order_errors++;
    k->open = 1;
    k->audio_now = 0;
    if (k->n < FX_MAX_SEGS) k->segs[k->n].start = start;
}

static void fx_on_audio(void *u, const int16_t *pcm, size_t n) {
    fx_sink *k = u;
    (void)pcm;
    if (!k->open) k->order_errors++;
    k->audio += (int64_t)n;
    k->audio_now += (int64_t)n;
}

static void fx_on_end(void *u, int64_t end) {
    fx_sink *k = u;
    if (!k->open) k->order_errors++;
    k->open = 0;
    if (k->n < FX_MAX_SEGS) {
        k->segs[k->n].end = end;
        k->first_audio[k->n] = k->audio_now;
        k->n++;
    }
}

static inline vad_sink fx_sink_of(fx_sink *k) {
    memset(k, 0, sizeof *k);
    vad_sink s = {fx_on_start, fx_on_audio, fx_on_end, k, NULL};
    return s;
}

/* Runs a stream over a in chunks of `chunk` samples (0 = all at once) and flushes. */
static inline void fx_run(vad_engine *e, const fx_audio *a, size_t chunk, fx_sink *k) {
    vad_sink sink = fx_sink_of(k);
    char err[256];
    vad_stream *s = vad_stream_new(e, &sink, err, sizeof err);
    if (!s) return;
    if (chunk == 0) chunk = a->n;
    for (size_t at = 0; at < a->n; at += chunk)
        vad_stream_feed(s, a->s + at, at + chunk <= a->n ? chunk : a->n - at);
    vad_stream_flush(s);
    vad_stream_free(s);
}

/* Scores detections against truth: for each truth utterance, the detections that
 * overlap it give a start (earliest) and an end (latest). Returns the worst boundary
 * error in ms (-1 when a truth utterance was missed), and counts detections that
 * overlap no truth in *false_alarms. errs_ms (may be NULL) gets every boundary error. */
static inline double fx_score(const fx_seg *truth, int nt, const fx_sink *k, int *false_alarms,
                              double *errs_ms, int *n_errs) {
    double worst = 0;
    int ne = 0;
    for (int t = 0; t < nt; t++) {
        int64_t s = -1, e = -1;
        for (int d = 0; d < k->n; d++) {
            if (k->segs[d].end <= truth[t].start || k->segs[d].start >= truth[t].end) continue;
            if (s < 0 || k->segs[d].start < s) s = k->segs[d].start;
            if (k->segs[d].end > e) e = k->segs[d].end;
        }
        if (s < 0) return -1;
        double es = fabs((double)(s - truth[t].start)) / 16.0;
        double ee = fabs((double)(e - truth[t].end)) / 16.0;
        if (errs_ms) {
            errs_ms[ne++] = es;
            errs_ms[ne++] = ee;
        }
        if (es > worst) worst = es;
        if (ee > worst) worst = ee;
    }
    int fa = 0;
    for (int d = 0; d < k->n; d++) {
        int hit = 0;
        for (int t = 0; t < nt && !hit; t++)
            hit = k->segs[d].end > truth[t].start && k->segs[d].start < truth[t].end;
        fa += !hit;
    }
    if (false_alarms) *false_alarms = fa;
    if (n_errs) *n_errs = ne;
    return worst;
}

#endif
