/* Whole-recording transcription (see stt_file.h). The pause detector works on 10 ms
 * frames: a frame is speech when its energy is 12 dB over the noise floor (which follows
 * quiet frames down at once and rises slowly, about 1 dB/s) and above -55 dBFS. An
 * utterance starts at the first speech frame with 300 ms of audio before it, and ends
 * after 500 ms without 50 ms of continuous speech (200 ms once it is longer than 15 s, a hard cut
 * at 30 s). */
#include "speech/stt_file.h"

#include "core/util.h"
#include "speech/lm_build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAME 160 /* 10 ms at 16 kHz */
#define PREROLL_FRAMES 30
#define END_SIL_FRAMES 50
#define LONG_UTT_FRAMES 1500
#define LONG_SIL_FRAMES 20
#define MAX_UTT_FRAMES 3000
#define PARTIAL_EVERY_FRAMES 30
#define MAX_SEGMENTS 200000
#define MAX_TEXT (4u << 20)
#define FEED_FRAMES 16 /* the decoder gets 160 ms at a time: fewer, larger calls */

typedef struct {
    stt_engine *e;
    stt_transcript *t;
    stt_partial_fn on_partial;
    void *ctx;
    stt_stream *s;
    int16_t pre[PREROLL_FRAMES * FRAME];
    int pre_frames, pre_head;
    int64_t frame_no;  /* frames seen */
    int64_t utt_start; /* frame where the utterance started */
    int utt_frames, sil_frames, since_partial, speech_run;
    double floor_db;
    char last_partial[1024];
    size_t text_len;
    int16_t pend[FEED_FRAMES * FRAME]; /* audio not yet handed to the decoder */
    size_t npend;
    stt_channel channel; /* one recording, one channel: carried across its segments */
} splitter;

static int64_t thread_cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int add_segment(splitter *sp, const stt_result *r, char *err, size_t errlen) {
    stt_transcript *t = sp->t;
    if (t->n >= MAX_SEGMENTS) return 0; /* keep going; later text is dropped */
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        stt_segment *ns = realloc(t->segs, nc * sizeof *ns);
        if (!ns) {
            snprintf(err, errlen, "transcribe: out of memory");
            return -1;
        }
        t->segs = ns;
        t->cap = nc;
    }
    stt_segment *g = &t->segs[t->n++];
    g->start_ms = sp->utt_start * 10;
    g->end_ms = sp->frame_no * 10;
    g->text = strdup(r->text ? r->text : "");
    g->finish_us = r->finish_us;
    if (!g->text) {
        t->n--;
        snprintf(err, errlen, "transcribe: out of memory");
        return -1;
    }
    size_t l = strlen(g->text);
    if (l && sp->text_len + l + 2 < MAX_TEXT) {
        char *nt = realloc(t->text, sp->text_len + l + 2);
        if (!nt) {
            snprintf(err, errlen, "transcribe: out of memory");
            return -1;
        }
        t->text = nt;
        if (sp->text_len) t->text[sp->text_len++] = ' ';
        memcpy(t->text + sp->text_len, g->text, l + 1);
        sp->text_len += l;
    }
    return 0;
}

static int flush(splitter *sp, char *err, size_t errlen) {
    if (!sp->npend) return 0;
    size_t n = sp->npend;
    sp->npend = 0;
    return stt_stream_feed(sp->s, sp->pend, n, err, errlen);
}

static int end_utt(splitter *sp, char *err, size_t errlen) {
    if (flush(sp, err, errlen) != 0) {
        stt_stream_cancel(sp->s);
        sp->s = NULL;
        return -1;
    }
    stt_result r;
    int rc = stt_stream_finish(sp->s, &r, err, errlen);
    sp->s = NULL;
    if (rc != 0) return -1;
    sp->t->decode_us += r.decode_us;
    sp->t->n_partials += r.n_partials;
    rc = add_segment(sp, &r, err, errlen);
    stt_result_clear(&r);
    sp->last_partial[0] = '\0';
    return rc;
}

static int feed(splitter *sp, const int16_t *pcm, size_t n, char *err, size_t errlen) {
    sp->t->speech_ms += (int64_t)n * 1000 / STT_SAMPLE_RATE;
    while (n) {
        size_t room = sizeof sp->pend / sizeof sp->pend[0] - sp->npend, k = n < room ? n : room;
        memcpy(sp->pend + sp->npend, pcm, k * sizeof *pcm);
        sp->npend += k;
        pcm += k;
        n -= k;
        if (sp->npend == sizeof sp->pend / sizeof sp->pend[0] && flush(sp, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int frame_in(splitter *sp, const int16_t *f, char *err, size_t errlen) {
    double e = 0;
    for (int i = 0; i < FRAME; i++)
        e += (double)f[i] * f[i];
    double db = 10.0 * log10(e / FRAME / (32768.0 * 32768.0) + 1e-12);
    if (sp->frame_no == 0 || db < sp->floor_db)
        sp->floor_db = db;
    else
        sp->floor_db += 0.01;
    double thr = sp->floor_db + 12.0;
    if (thr < -55.0) thr = -55.0;
    int speech = db > thr;
    sp->frame_no++;
    if (!sp->s) {
        if (speech) {
            int status;
            sp->s = stt_stream_begin(sp->e, 30000, &status, err, errlen);
            if (!sp->s) return -1;
            stt_stream_use_channel(sp->s, &sp->channel);
            sp->utt_start = sp->frame_no - 1 - sp->pre_frames;
            sp->utt_frames = sp->sil_frames = sp->since_partial = 0;
            for (int k = 0; k < sp->pre_frames; k++) {
                int idx = (sp->pre_head - sp->pre_frames + k + PREROLL_FRAMES) % PREROLL_FRAMES;
                if (feed(sp, sp->pre + idx * FRAME, FRAME, err, errlen) != 0) return -1;
            }
            sp->pre_frames = 0;
        } else {
            memcpy(sp->pre + sp->pre_head * FRAME, f, sizeof(int16_t) * FRAME);
            sp->pre_head = (sp->pre_head + 1) % PREROLL_FRAMES;
            if (sp->pre_frames < PREROLL_FRAMES) sp->pre_frames++;
            return 0;
        }
    }
    if (feed(sp, f, FRAME, err, errlen) != 0) return -1;
    sp->utt_frames++;
    /* Only 50 ms of speech in a row ends a pause: clicks and breaths in the gap
     * between sentences must not keep an utterance open. */
    sp->speech_run = speech ? sp->speech_run + 1 : 0;
    if (sp->speech_run >= 5)
        sp->sil_frames = 0;
    else if (!speech)
        sp->sil_frames++;
    if (sp->on_partial && ++sp->since_partial >= PARTIAL_EVERY_FRAMES) {
        char p[1024];
        sp->since_partial = 0;
        if (flush(sp, err, errlen) != 0) return -1;
        if (stt_stream_partial(sp->s, p, sizeof p) == 0 && *p && strcmp(p, sp->last_partial) != 0) {
            str_copy(sp->last_partial, sizeof sp->last_partial, p);
            sp->on_partial(sp->ctx, sp->frame_no * 10, p);
        }
    }
    int limit = sp->utt_frames > LONG_UTT_FRAMES ? LONG_SIL_FRAMES : END_SIL_FRAMES;
    if (sp->sil_frames >= limit || sp->utt_frames >= MAX_UTT_FRAMES)
        return end_utt(sp, err, errlen);
    return 0;
}

typedef long (*pull_fn)(void *src, int16_t *out, size_t cap, char *err, size_t errlen);

static int run(stt_engine *e, pull_fn pull, void *src, stt_partial_fn on_partial, void *ctx,
               stt_transcript *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    int64_t cpu0 = thread_cpu_us();
    splitter *sp = calloc(1, sizeof *sp);
    if (!sp) {
        snprintf(err, errlen, "transcribe: out of memory");
        return -1;
    }
    sp->e = e;
    sp->t = out;
    sp->on_partial = on_partial;
    sp->ctx = ctx;
    int16_t buf[FRAME * 50];
    size_t have = 0;
    int rc = 0;
    int64_t samples = 0;
    for (;;) {
        long got = pull(src, buf + have, sizeof buf / sizeof buf[0] - have, err, errlen);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0) break;
        samples += got;
        have += (size_t)got;
        size_t off = 0;
        for (; off + FRAME <= have && rc == 0; off += FRAME)
            rc = frame_in(sp, buf + off, err, errlen);
        if (rc) break;
        memmove(buf, buf + off, (have - off) * sizeof *buf);
        have -= off;
    }
    if (rc == 0 && sp->s && have) rc = feed(sp, buf, have, err, errlen);
    if (sp->s) {
        if (rc == 0)
            rc = end_utt(sp, err, errlen);
        else
            stt_stream_cancel(sp->s);
    }
    out->audio_ms = samples * 1000 / STT_SAMPLE_RATE;
    if (!out->text) out->text = strdup("");
    out->cpu_us = thread_cpu_us() - cpu0;
    free(sp);
    if (!out->text && rc == 0) {
        snprintf(err, errlen, "transcribe: out of memory");
        rc = -1;
    }
    return rc;
}

static long pull_reader(void *src, int16_t *out, size_t cap, char *err, size_t errlen) {
    return wav_reader_read(src, out, cap, err, errlen);
}

typedef struct {
    const int16_t *pcm;
    size_t n, pos;
} mem_src;

static long pull_mem(void *src, int16_t *out, size_t cap, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    mem_src *m = src;
    size_t k = m->n - m->pos < cap ? m->n - m->pos : cap;
    if (k) memcpy(out, m->pcm + m->pos, k * sizeof *out);
    m->pos += k;
    return (long)k;
}

int stt_transcribe_reader(stt_engine *e, wav_reader *r, stt_partial_fn on_partial, void *ctx,
                          stt_transcript *out, char *err, size_t errlen) {
    return run(e, pull_reader, r, on_partial, ctx, out, err, errlen);
}

int stt_transcribe_pcm(stt_engine *e, const int16_t *pcm, size_t n, stt_partial_fn on_partial,
                       void *ctx, stt_transcript *out, char *err, size_t errlen) {
    mem_src m = {pcm, pcm ? n : 0, 0};
    return run(e, pull_mem, &m, on_partial, ctx, out, err, errlen);
}

void stt_transcript_clear(stt_transcript *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++)
        free(t->segs[i].text);
    free(t->segs);
    free(t->text);
    memset(t, 0, sizeof *t);
}

#define WER_MAX_WORDS 1000

static int split_words(char *s, char **w, int max) {
    int n = 0;
    for (char *p = strtok(s, " "); p && n < max; p = strtok(NULL, " "))
        w[n++] = p;
    return n;
}

int stt_word_errors(const char *ref, const char *hyp, int *ref_words) {
    return stt_word_errors_keep(ref, hyp, NULL, ref_words);
}

int stt_word_errors_keep(const char *ref, const char *hyp, const lm_keep *keep, int *ref_words) {
    static const size_t cap = 16384;
    char *a = malloc(cap), *b = malloc(cap);
    char **wa = malloc(sizeof(char *) * WER_MAX_WORDS),
         **wb = malloc(sizeof(char *) * WER_MAX_WORDS);
    int *prev = malloc(sizeof(int) * (WER_MAX_WORDS + 1)),
        *cur = malloc(sizeof(int) * (WER_MAX_WORDS + 1));
    int errors = 0, na = 0;
    if (a && b && wa && wb && prev && cur) {
        lm_normalize_keep(ref, keep, a, cap);
        lm_normalize_keep(hyp, keep, b, cap);
        na = split_words(a, wa, WER_MAX_WORDS);
        int nb = split_words(b, wb, WER_MAX_WORDS);
        for (int j = 0; j <= nb; j++)
            prev[j] = j;
        for (int i = 1; i <= na; i++) {
            cur[0] = i;
            for (int j = 1; j <= nb; j++) {
                int sub = prev[j - 1] + (strcmp(wa[i - 1], wb[j - 1]) != 0);
                int del = prev[j] + 1, ins = cur[j - 1] + 1;
                cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            }
            int *t = prev;
            prev = cur;
            cur = t;
        }
        errors = prev[nb];
    }
    free(a);
    free(b);
    free(wa);
    free(wb);
    free(prev);
    free(cur);
    if (ref_words) *ref_words = na;
    return errors;
}
