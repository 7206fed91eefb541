/* A spoken request answered with the voice session's listening and answering code paths
 * buffer: the audio goes through a fresh VAD stream in the browser's 32 ms frames;
 * each speech segment is fed live into its own recogniser stream, and at the end of
 * the segment voice_answer_segment turns the recogniser's result into a brain turn.
 * An empty transcript is not a turn (the server goes back to listening without
 * asking the brain), so it is recorded as dropped ("empty"). */
#include "voice/voice_ask.h"

#include "core/engine.h"
#include "core/util.h"
#include "speech/stt.h"
#include "speech/vad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_SAMPLES 512 /* what web/mic-worklet.js sends */
#define STT_WAIT_MS 30000 /* in-process callers queue for a decoder instead of failing */

typedef struct {
    axiom_engine *e;
    brain_session *s;
    const brain_turn_opts *o;
    voice_answer *out;
    stt_stream *stt;
    int64_t start_sample;
    int failed;
    char *err;
    size_t errlen;
} ask_ctx;

static int64_t samples_ms(int64_t n) {
    return n * 1000 / VAD_SAMPLE_RATE;
}

static voice_turn *turn_add(voice_answer *a) {
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 4;
        voice_turn *nt = realloc(a->turns, nc * sizeof *nt);
        if (!nt) return NULL;
        a->turns = nt;
        a->cap = nc;
    }
    voice_turn *t = &a->turns[a->n++];
    memset(t, 0, sizeof *t);
    return t;
}

static void fail(ask_ctx *c, const char *what, const char *why) {
    if (!c->failed) snprintf(c->err, c->errlen, "%s: %s", what, why);
    c->failed = 1;
}

/* The recogniser's result for one segment, answered by the brain into t. This is the
 * one place where recognition meets understanding (rescoring a hypothesis list
 * against the pack belongs here). Ends st in every case. */
static int voice_answer_segment(ask_ctx *c, stt_stream *st, voice_turn *t) {
    voice_answer *a = c->out;
    stt_result r;
    memset(&r, 0, sizeof r);
    char err[256] = "";
    int64_t t0 = now_us();
    int rc = stt_stream_finish(st, &r, err, sizeof err);
    a->stt_us += now_us() - t0;
    t->transcript = strdup(rc == 0 && r.text ? r.text : "");
    if (rc != 0) {
        stt_result_clear(&r);
        fail(c, "speech recognition", err);
        return -1;
    }
    const char *p = t->transcript;
    while (p && *p == ' ')
        p++;
    if (!p || !*p) {
        stt_result_clear(&r);
        str_copy(t->dropped, sizeof t->dropped, "empty");
        t->text = strdup("");
        return 0;
    }
    brain_reply br;
    memset(&br, 0, sizeof br);
    char berr[512] = "";
    brain_heard_opts ho;
    brain_heard_opts_from_config(c->e->cfg, &ho);
    t0 = now_us();
    rc = brain_turn_heard(c->e->brain, c->s, &r, &ho, c->o, &br, berr, sizeof berr);
    a->brain_us += now_us() - t0;
    stt_result_clear(&r);
    if (rc != 0) {
        fail(c, "answering", berr);
    } else {
        t->text = strdup(br.text ? br.text : "");
        t->heard = strdup(br.heard ? br.heard : "");
        str_copy(t->intent, sizeof t->intent, br.intent);
        t->confidence = br.confidence;
        t->path = br.path;
        str_copy(t->dropped, sizeof t->dropped, br.dropped);
    }
    brain_reply_free(&br);
    if (!t->text) t->text = strdup("");
    return rc;
}

static void on_start(void *user, int64_t start_sample) {
    ask_ctx *c = user;
    c->start_sample = start_sample;
    if (c->failed) return;
    int status = 0;
    char err[256] = "";
    int64_t t0 = now_us();
    c->stt = stt_stream_begin(c->e->stt, STT_WAIT_MS, &status, err, sizeof err);
    c->out->stt_us += now_us() - t0;
    if (!c->stt) fail(c, "speech recognition unavailable", err);
}

static void on_audio(void *user, const int16_t *pcm, size_t n) {
    ask_ctx *c = user;
    if (!c->stt) return;
    char err[256] = "";
    int64_t t0 = now_us();
    if (stt_stream_feed(c->stt, pcm, n, err, sizeof err) != 0) fail(c, "recogniser feed", err);
    c->out->stt_us += now_us() - t0;
}

static void on_end(void *user, int64_t end_sample) {
    ask_ctx *c = user;
    stt_stream *st = c->stt;
    c->stt = NULL;
    if (!st) return;
    voice_turn *t = turn_add(c->out);
    if (!t) {
        stt_stream_cancel(st);
        fail(c, "voice answer", "out of memory");
        return;
    }
    t->start_ms = samples_ms(c->start_sample);
    t->end_ms = samples_ms(end_sample);
    voice_answer_segment(c, st, t);
}

/* The transcripts of the turns, joined; and the turn that answers the request. */
static int answer_finish(voice_answer *a) {
    size_t len = 1;
    for (size_t i = 0; i < a->n; i++)
        len += strlen(a->turns[i].transcript ? a->turns[i].transcript : "") + 1;
    a->transcript = malloc(len);
    if (!a->transcript) return -1;
    a->transcript[0] = '\0';
    for (size_t i = 0; i < a->n; i++) {
        const char *tx = a->turns[i].transcript;
        if (!tx || !*tx) continue;
        if (a->transcript[0]) strcat(a->transcript, " ");
        strcat(a->transcript, tx);
    }
    /* the last answered turn; a request to say it again only when nothing was
     * answered (a background voice after the question is not the question) */
    for (size_t i = 0; i < a->n; i++)
        if (a->turns[i].path != BRAIN_PATH_NONE &&
            (a->turns[i].path != BRAIN_PATH_REJECTED || a->answer < 0 ||
             a->turns[a->answer].path == BRAIN_PATH_REJECTED))
            a->answer = (int)i;
    return 0;
}

int voice_ask_pcm(axiom_engine *e, brain_session *s, const int16_t *pcm16k, size_t n,
                  const brain_turn_opts *o, voice_answer *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->answer = -1;
    out->audio_ms = samples_ms((int64_t)n);
    if (!e->vad || !e->stt || !e->brain || !s) {
        snprintf(err, errlen, "voice input is not available: no %s",
                 !e->vad   ? "voice activity detector"
                 : !e->stt ? "speech recogniser"
                           : "knowledge pack or session");
        return -1;
    }
    ask_ctx c = {.e = e, .s = s, .o = o, .out = out, .err = err, .errlen = errlen};
    vad_sink sink = {on_start, on_audio, on_end, &c,
                     NULL}; /* fixed vad.silence_ms: a recording is not cut short */
    char verr[256] = "";
    int64_t t0 = now_us();
    vad_stream *v = vad_stream_new(e->vad, &sink, verr, sizeof verr);
    if (!v) {
        snprintf(err, errlen, "voice activity detector: %s", verr);
        return -1;
    }
    for (size_t i = 0; i < n; i += FRAME_SAMPLES)
        vad_stream_feed(v, pcm16k + i, n - i < FRAME_SAMPLES ? n - i : FRAME_SAMPLES);
    vad_stream_flush(v);
    vad_stream_free(v);
    stt_stream_cancel(c.stt); /* only when the VAD never closed the segment */
    out->total_us = now_us() - t0;
    out->vad_us = out->total_us - out->stt_us - out->brain_us;
    if (answer_finish(out) != 0) fail(&c, "voice answer", "out of memory");
    return c.failed ? -1 : 0;
}

void voice_answer_free(voice_answer *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->turns[i].transcript);
        free(a->turns[i].heard);
        free(a->turns[i].text);
    }
    free(a->turns);
    free(a->transcript);
    memset(a, 0, sizeof *a);
    a->answer = -1;
}

const voice_turn *voice_answer_final(const voice_answer *a) {
    return a->answer >= 0 && (size_t)a->answer < a->n ? &a->turns[a->answer] : NULL;
}

static double ms1(int64_t us) {
    return (double)(us / 100) / 10.0;
}
static double conf3(float c) {
    return (double)(int)(c * 1000 + 0.5f) / 1000.0;
}

void voice_answer_json(const voice_answer *a, cJSON *obj) {
    cJSON_AddStringToObject(obj, "transcript", a->transcript ? a->transcript : "");
    cJSON *turns = cJSON_AddArrayToObject(obj, "turns");
    for (size_t i = 0; turns && i < a->n; i++) {
        const voice_turn *t = &a->turns[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "transcript", t->transcript ? t->transcript : "");
        if (t->heard) cJSON_AddStringToObject(o, "heard", t->heard);
        cJSON_AddStringToObject(o, "text", t->text ? t->text : "");
        cJSON_AddStringToObject(o, "intent", t->intent);
        cJSON_AddNumberToObject(o, "confidence", conf3(t->confidence));
        cJSON_AddStringToObject(o, "path", brain_path_name(t->path));
        if (t->dropped[0]) cJSON_AddStringToObject(o, "dropped", t->dropped);
        cJSON_AddNumberToObject(o, "start_ms", (double)t->start_ms);
        cJSON_AddNumberToObject(o, "end_ms", (double)t->end_ms);
        cJSON_AddItemToArray(turns, o);
    }
    const voice_turn *f = voice_answer_final(a);
    cJSON_AddStringToObject(obj, "text", f && f->text ? f->text : "");
    cJSON_AddStringToObject(obj, "intent", f ? f->intent : "");
    cJSON_AddNumberToObject(obj, "confidence", f ? conf3(f->confidence) : 0.0);
    cJSON_AddStringToObject(obj, "path", brain_path_name(f ? f->path : BRAIN_PATH_NONE));
    cJSON *tm = cJSON_AddObjectToObject(obj, "timings_ms");
    if (!tm) return;
    cJSON_AddNumberToObject(tm, "vad", ms1(a->vad_us));
    cJSON_AddNumberToObject(tm, "stt", ms1(a->stt_us));
    cJSON_AddNumberToObject(tm, "brain", ms1(a->brain_us));
    cJSON_AddNumberToObject(tm, "total", ms1(a->total_us));
    cJSON_AddNumberToObject(tm, "audio", (double)a->audio_ms);
}
