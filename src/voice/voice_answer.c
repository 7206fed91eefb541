/* One answer: brain -> sentences -> synthesis -> events, in the order a client
 * expects:
 *   THINKING (sent at submission), [CARD], [MODEL_3D], ANSWER{text,intent,path},
 *   AUDIO per sentence, [TIMINGS], READY.
 *
 * Card and 3D-model events are known only once brain_turn returns, and must precede
 * ANSWER. A template or retrieval answer arrives within milliseconds, so its
 * sentences are held until brain_turn returns and everything goes out in order. An
 * LLM answer streams for seconds: once the first sentence has waited
 * STREAM_AFTER_MS, ANSWER goes out with the text so far and each sentence's audio
 * follows as soon as it is synthesised (ANSWER is repeated with the growing text; a
 * card found only at the end then follows the audio). Synthesis runs sentence by
 * sentence on this turn-pool thread and stops when the cancel flag rises.
 *
 * Every failure leaves through voice_fail_turn (ERROR, IDLE, READY), so no client is
 * left waiting with its microphone closed. */
#include "core/log.h"
#include "core/util.h"
#include "speech/tts.h"
#include "speech/wav.h"
#include "voice/voice_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_AFTER_MS 250
#define MAX_HELD 64
#define PCM_CHUNK_SAMPLES 16384

typedef struct {
    axiom_voice *v;
    uint64_t seq;
    int out_rate, out_pcm;
    int64_t t0_us;    /* user finished speaking / text received */
    int64_t start_us; /* brain_turn called */
    int brain_done;
    int llm_possible;     /* only an LLM answer streams; others are held for order */
    int streaming;        /* ANSWER already sent before brain_turn returned */
    char *held[MAX_HELD]; /* sentences waiting for the header */
    int nheld;
    char *spoken_text; /* text announced so far (streaming) */
    int audio_sent;
    int tts_failed;
    int64_t first_audio_us;
    int64_t tts_us;
    const brain_reply *reply;
} answer_ctx;

static int cancelled(const answer_ctx *t) {
    return atomic_load(&t->v->cancel) != 0;
}

static void emit_answer(answer_ctx *t, const char *text) {
    const brain_reply *r = t->reply;
    axiom_event ev = {.type = AXIOM_EVENT_ANSWER,
                      .turn = t->seq,
                      .text = text,
                      .path = "llm",
                      .intent = "unknown"};
    if (r) {
        if (r->intent[0]) ev.intent = r->intent;
        ev.path = brain_path_name(r->path);
        ev.llm_failure = r->llm_failure[0] ? r->llm_failure : NULL;
        ev.confidence = r->confidence;
        ev.heard = r->heard;
    }
    voice_emit(t->v, &ev);
}

static void emit_cards(answer_ctx *t) {
    const brain_reply *r = t->reply;
    if (r->card.index >= 0) {
        axiom_event ev = {.type = AXIOM_EVENT_CARD,
                          .turn = t->seq,
                          .card_index = r->card.index,
                          .card_keyword = r->card.keyword,
                          .card_product = r->card.product_name};
        voice_emit(t->v, &ev);
    }
    if (r->model_3d.path[0]) {
        axiom_event ev = {.type = AXIOM_EVENT_MODEL_3D,
                          .turn = t->seq,
                          .model_path = r->model_3d.path,
                          .model_name = r->model_3d.name};
        voice_emit(t->v, &ev);
    }
}

static void emit_audio(answer_ctx *t, const int16_t *pcm, size_t n, int rate,
                       const unsigned char *wav, size_t wav_bytes) {
    int ms = rate > 0 ? (int)((int64_t)n * 1000 / rate) : 0;
    axiom_event ev = {.type = AXIOM_EVENT_AUDIO,
                      .turn = t->seq,
                      .pcm = pcm,
                      .samples = n,
                      .sample_rate = rate,
                      .wav = wav,
                      .wav_bytes = wav_bytes,
                      .audio_ms = ms};
    voice_emit(t->v, &ev);
    /* When the client will have played it: the echo guard's "answer still audible". */
    int64_t now = now_ms(), end = atomic_load(&t->v->play_end_ms);
    atomic_store(&t->v->play_end_ms, (end > now ? end : now) + ms);
}

/* Synthesises one sentence and emits its audio (one WAV, or PCM chunks). */
static void speak_sentence(answer_ctx *t, const char *sentence) {
    axiom_voice *v = t->v;
    voice_hub *h = v->hub;
    if (cancelled(t) || t->tts_failed || !v->engine->tts) return;
    tts_audio a = {0};
    char err[256];
    int64_t t1 = now_us();
    /* Canned answers repeat: their sentences come from the cache. Streamed (LLM)
     * sentences rarely do and are not stored. */
    int cacheable = t->reply != NULL && t->reply->path != BRAIN_PATH_LLM;
    int rc = 0;
    if (voice_fault_hit(VOICE_FAULT_TTS)) {
        rc = -1;
        snprintf(err, sizeof err, "the synthesiser failed (injected)");
    } else if (cacheable && audio_cache_get(h->acache, sentence, t->out_rate, &a.samples, &a.n)) {
        a.rate = t->out_rate;
    } else {
        rc =
            tts_synth(v->engine->tts, sentence, NULL, t->out_rate, &v->cancel, &a, err, sizeof err);
        if (rc == 0 && cacheable && a.rate == t->out_rate)
            audio_cache_put(h->acache, sentence, a.rate, a.samples, a.n);
    }
    int64_t dt = now_us() - t1;
    t->tts_us += dt;
    voice_observe(h, VOICE_STAT_TTS_MS, (double)dt / 1000.0, NULL);
    if (rc == 1 || cancelled(t)) {
        tts_audio_clear(&a);
        return;
    }
    if (rc != 0) {
        /* The text still reaches the client; say once why there is no voice. */
        t->tts_failed = 1;
        char m[320];
        snprintf(m, sizeof m, "speech synthesis failed (%s); the answer is text only", err);
        voice_emit_error(v, "tts_failed", m, t->seq);
        tts_audio_clear(&a);
        return;
    }
    if (!t->out_pcm) {
        uint8_t *wav = NULL;
        size_t wl = 0;
        if (wav_encode(a.samples, a.n, a.rate, &wav, &wl) == 0)
            emit_audio(t, a.samples, a.n, a.rate, wav, wl);
        free(wav);
    } else {
        for (size_t off = 0; off < a.n; off += PCM_CHUNK_SAMPLES) {
            size_t n = a.n - off < PCM_CHUNK_SAMPLES ? a.n - off : PCM_CHUNK_SAMPLES;
            emit_audio(t, a.samples + off, n, a.rate, NULL, 0);
        }
    }
    if (!t->audio_sent) {
        t->audio_sent = 1;
        t->first_audio_us = now_us();
        voice_observe(h, VOICE_STAT_TURN_MS, (double)(t->first_audio_us - t->t0_us) / 1000.0, NULL);
    }
    tts_audio_clear(&a);
}

static void append_spoken(answer_ctx *t, const char *sentence) {
    size_t a = t->spoken_text ? strlen(t->spoken_text) : 0, b = strlen(sentence);
    char *n = realloc(t->spoken_text, a + b + 2);
    if (!n) return;
    if (a) n[a++] = ' ';
    memcpy(n + a, sentence, b + 1);
    t->spoken_text = n;
}

static void flush_held(answer_ctx *t) {
    for (int i = 0; i < t->nheld; i++) {
        if (t->held[i]) speak_sentence(t, t->held[i]);
        free(t->held[i]);
    }
    t->nheld = 0;
}

static void drop_held(answer_ctx *t) {
    for (int i = 0; i < t->nheld; i++)
        free(t->held[i]);
    t->nheld = 0;
}

/* brain sink: called on this thread, inside brain_turn. */
static void on_sentence(void *user, const char *sentence) {
    answer_ctx *t = user;
    if (cancelled(t) || !sentence || !*sentence) return;
    if (t->streaming) {
        append_spoken(t, sentence);
        emit_answer(t, t->spoken_text);
        speak_sentence(t, sentence);
        return;
    }
    if (t->nheld < MAX_HELD) t->held[t->nheld++] = strdup(sentence);
    if (t->llm_possible && !t->brain_done && now_us() - t->start_us > STREAM_AFTER_MS * 1000) {
        /* A streamed (LLM) answer: start talking now. */
        t->streaming = 1;
        for (int i = 0; i < t->nheld; i++)
            if (t->held[i]) append_spoken(t, t->held[i]);
        emit_answer(t, t->spoken_text ? t->spoken_text : sentence);
        flush_held(t);
    }
}

/* How a turn was answered, for counting. */
static const char *turn_label(const brain_reply *r) {
    switch (r->path) {
    case BRAIN_PATH_TEMPLATE:
        return "template";
    case BRAIN_PATH_RETRIEVAL:
        return "retrieval";
    case BRAIN_PATH_FALLBACK:
        return "fallback";
    case BRAIN_PATH_LLM:
        return "llm";
    case BRAIN_PATH_REJECTED:
        return "rejected";
    default:
        return "none";
    }
}

/* The client id takes effect here, on the turn thread, where no other turn can be
 * using the brain session. */
static void apply_client_id(axiom_voice *v) {
    char id[sizeof v->client_id];
    pthread_mutex_lock(&v->mu);
    int changed = v->client_id_new;
    v->client_id_new = 0;
    memcpy(id, v->client_id, sizeof id);
    pthread_mutex_unlock(&v->mu);
    if (!changed || !v->brain) return;
    char err[256];
    int n = brain_session_set_client(v->brain, id, err, sizeof err);
    if (n < 0)
        LOG_W("voice", "client id: %s", err);
    else if (n > 0)
        LOG_D("voice", "client %.8s...: %d earlier turns restored", id, n);
}

static void fail(answer_ctx *t, const char *code, const char *message) {
    voice_observe(t->v->hub, VOICE_STAT_TURN, 0, "error");
    voice_fail_turn(t->v, t->seq, code, message);
}

void voice_answer_run(axiom_voice *v, uint64_t seq, turn_input *in) {
    axiom_engine *e = v->engine;
    answer_ctx t = {.v = v, .seq = seq, .t0_us = in->t0_us};
    pthread_mutex_lock(&v->mu);
    t.out_rate = v->out_rate;
    t.out_pcm = v->out_pcm;
    int want_timings = v->timings;
    pthread_mutex_unlock(&v->mu);
    if (in->audio) voice_recognise_backlog(v, in);
    if (cancelled(&t)) return;
    if (in->stt_failed) {
        fail(&t, in->stt_busy ? "busy" : "stt_failed", in->stt_error);
        return;
    }
    const char *p = in->text ? in->text : "";
    while (*p == ' ')
        p++;
    if (!*p) {
        /* Nothing heard (noise): back to listening. */
        voice_observe(v->hub, VOICE_STAT_TURN, 0, "none");
        voice_emit_simple(v, AXIOM_EVENT_IDLE, seq);
        voice_emit_simple(v, AXIOM_EVENT_READY, seq);
        return;
    }
    if (!e->brain || !v->brain) {
        fail(&t, "brain_unavailable",
             "answering is not available: the knowledge pack could not be opened");
        return;
    }
    apply_client_id(v);
    brain_reply reply;
    memset(&reply, 0, sizeof reply);
    brain_turn_opts opts = {.mode = engine_brain_mode(e),
                            .llm = e->llm,
                            .cancel = &v->cancel,
                            .sink = {on_sentence, &t}};
    char err[512] = "";
    t.start_us = now_us();
    t.llm_possible = opts.llm != NULL && opts.mode == BRAIN_MODE_FULL;
    int rc;
    if (voice_fault_hit(VOICE_FAULT_BRAIN)) {
        rc = -1;
        snprintf(err, sizeof err, "the brain failed (injected)");
    } else if (in->heard && in->heard->n_alts) {
        brain_heard_opts ho;
        brain_heard_opts_from_config(v->cfg, &ho);
        rc = brain_turn_heard(e->brain, v->brain, in->heard, &ho, &opts, &reply, err, sizeof err);
    } else {
        rc = brain_turn(e->brain, v->brain, p, &opts, &reply, err, sizeof err);
    }
    t.brain_done = 1;
    int64_t brain_us = now_us() - t.start_us;
    voice_observe(v->hub, VOICE_STAT_BRAIN_MS, (double)brain_us / 1000.0, NULL);
    if (rc != 0) {
        drop_held(&t);
        free(t.spoken_text);
        brain_reply_free(&reply);
        fail(&t, "brain_failed", err);
        return;
    }
    t.reply = &reply;
    voice_observe(v->hub, VOICE_STAT_TURN, 0, turn_label(&reply));
    if (reply.path == BRAIN_PATH_FALLBACK)
        voice_observe(v->hub, VOICE_STAT_LLM_FAILURE, 0, reply.llm_failure);
    if (cancelled(&t)) {
        drop_held(&t);
    } else if (reply.path == BRAIN_PATH_NONE || !reply.text || !reply.text[0]) {
        drop_held(&t);
        voice_emit_simple(v, AXIOM_EVENT_IDLE, seq);
    } else if (!t.streaming) {
        emit_cards(&t);
        emit_answer(&t, reply.text);
        if (!e->tts)
            voice_emit_error(v, "tts_unavailable", "speech synthesis is off; text only", seq);
        if (t.nheld == 0) {
            /* The brain gave no sentences through the sink: split the text here. */
            size_t pos = 0, st, len;
            while (!cancelled(&t) && tts_sentence_next(reply.text, &pos, &st, &len)) {
                char *one = strndup(reply.text + st, len);
                if (one) speak_sentence(&t, one);
                free(one);
            }
        }
        flush_held(&t);
    } else {
        flush_held(&t);
        /* The streamed events said "llm" before the path was known; a fallback gets
         * one more with the true path (and the failure reason). */
        if (!t.spoken_text || strcmp(t.spoken_text, reply.text) != 0 ||
            reply.path != BRAIN_PATH_LLM)
            emit_answer(&t, reply.text);
        emit_cards(&t);
    }
    if (want_timings && !cancelled(&t)) {
        axiom_event ev = {.type = AXIOM_EVENT_TIMINGS,
                          .turn = seq,
                          .path = turn_label(&reply),
                          .stt_ms = (double)(in->stt_us / 100) / 10.0,
                          .brain_ms = (double)(brain_us / 100) / 10.0,
                          .tts_ms = (double)(t.tts_us / 100) / 10.0,
                          .first_audio_ms =
                              t.audio_sent ? (double)((t.first_audio_us - t.t0_us) / 100) / 10.0
                                           : -1};
        voice_emit(v, &ev);
    }
    if (!cancelled(&t)) voice_emit_simple(v, AXIOM_EVENT_READY, seq);
    brain_reply_free(&reply);
    free(t.spoken_text);
}
