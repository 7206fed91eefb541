/* One answer: brain -> sentences -> synthesis -> the client's outgoing queue, in the
 * order the browser expects:
 *   thinking, [trigger_card], [load_3d_model], speaking{text,intent}, audio per
 *   sentence, ready_to_listen (held by the sender until the audio has played).
 *
 * Card and 3D-model events are known only once brain_turn returns, and must precede
 * `speaking`. A template or retrieval answer arrives within milliseconds, so its
 * sentences are held until brain_turn returns and everything goes out in order. An
 * LLM answer (possible only when a model is in use) streams for seconds: once the
 * first sentence has waited STREAM_AFTER_MS,
 * `speaking` goes out with the text so far and each sentence's audio follows as soon
 * as it is synthesised (`speaking` is repeated with the growing text; a card found
 * only at the end then follows the audio). Synthesis runs sentence by sentence on
 * this turn-pool thread and stops when the cancel flag rises (barge-in, close). */
#include "brain/brain.h"
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "server/audio_cache.h"
#include "server/server_internal.h"
#include "server/turn.h"
#include "speech/tts.h"
#include "speech/wav.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_AFTER_MS 250
#define MAX_HELD 64
#define PCM_CHUNK_BYTES 32768

typedef struct {
    ws_session *s;
    uint64_t seq;
    int64_t t0_us;          /* user finished speaking / text received */
    int64_t start_us;       /* brain_turn called */
    int brain_done;
    int llm_possible;       /* only an LLM answer streams; others are held for order */
    int streaming;          /* speaking already sent before brain_turn returned */
    char *held[MAX_HELD];   /* sentences waiting for the header */
    int nheld;
    char *spoken_text;      /* text announced so far (streaming) */
    int audio_sent;
    int tts_failed;
    int64_t first_audio_us;
    int64_t tts_us;
    const brain_reply *reply;
} turn_ctx;

static int cancelled(const turn_ctx *t) { return atomic_load(&t->s->cancel) != 0; }

static void send_obj(turn_ctx *t, cJSON *o) {
    char *txt = cJSON_PrintUnformatted(o);
    if (txt) session_send_text(t->s, txt, t->seq);
    free(txt);
    cJSON_Delete(o);
}

static void send_error(turn_ctx *t, const char *code, const char *message) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", "error");
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", message);
    send_obj(t, o);
}

static void send_speaking(turn_ctx *t, const char *text) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", "speaking");
    cJSON_AddStringToObject(o, "text", text);
    const brain_reply *r = t->reply;
    cJSON_AddStringToObject(o, "intent", r && r->intent[0] ? r->intent : "unknown");
    if (r) {
        cJSON_AddStringToObject(o, "path", brain_path_name(r->path));
        if (r->llm_failure[0]) cJSON_AddStringToObject(o, "llm_failure", r->llm_failure);
        cJSON_AddNumberToObject(o, "confidence", (int)(r->confidence * 1000) / 1000.0);
        if (r->heard) cJSON_AddStringToObject(o, "heard", r->heard);
    } else {
        cJSON_AddStringToObject(o, "path", "llm");
    }
    send_obj(t, o);
}

static void send_card_events(turn_ctx *t) {
    const brain_reply *r = t->reply;
    if (r->card.index >= 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "trigger_card");
        cJSON_AddNumberToObject(o, "card_index", r->card.index);
        cJSON_AddStringToObject(o, "keyword", r->card.keyword);
        cJSON_AddStringToObject(o, "product_name", r->card.product_name);
        send_obj(t, o);
    }
    if (r->model_3d.path[0]) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "load_3d_model");
        cJSON_AddStringToObject(o, "model_path", r->model_3d.path);
        cJSON_AddStringToObject(o, "model_name", r->model_3d.name);
        send_obj(t, o);
    }
}

/* Synthesises one sentence and queues its audio (WAV, or PCM chunks). */
static void speak_sentence(turn_ctx *t, const char *sentence) {
    ws_session *s = t->s;
    axiom_server *srv = s->srv;
    if (cancelled(t) || t->tts_failed || !srv->engine->tts) return;
    tts_audio a = {0};
    char err[256];
    int64_t t1 = now_us();
    /* Canned answers repeat: their sentences come from the cache. Streamed (LLM)
     * sentences rarely do and are not stored. */
    int cacheable = t->reply != NULL && t->reply->path != BRAIN_PATH_LLM;
    int rc = 0;
    if (cacheable && audio_cache_get(srv->acache, sentence, s->out_rate, &a.samples, &a.n)) {
        a.rate = s->out_rate;
    } else {
        rc = tts_synth(srv->engine->tts, sentence, NULL, s->out_rate, &s->cancel, &a, err,
                       sizeof err);
        if (rc == 0 && cacheable && a.rate == s->out_rate)
            audio_cache_put(srv->acache, sentence, a.rate, a.samples, a.n);
    }
    int64_t dt = now_us() - t1;
    t->tts_us += dt;
    metrics_observe_ms(srv->metrics, STAGE_TTS, (double)dt / 1000.0);
    if (rc == 1 || cancelled(t)) {
        tts_audio_clear(&a);
        return;
    }
    if (rc != 0) {
        /* Text still reaches the client; say once why there is no voice. */
        t->tts_failed = 1;
        char m[320];
        snprintf(m, sizeof m, "speech synthesis failed (%s); the answer is text only", err);
        send_error(t, "tts_failed", m);
        tts_audio_clear(&a);
        return;
    }
    int audio_ms = a.rate > 0 ? (int)((int64_t)a.n * 1000 / a.rate) : 0;
    if (!s->out_pcm) {
        uint8_t *wav = NULL;
        size_t wl = 0;
        if (wav_encode(a.samples, a.n, a.rate, &wav, &wl) == 0)
            session_send(s, MG_WEBSOCKET_OPCODE_BINARY, wav, wl, t->seq, audio_ms, 0);
        free(wav);
    } else {
        /* Raw s16le in chunks; each chunk's share of the playback time. */
        size_t bytes = a.n * 2, off = 0;
        while (off < bytes) {
            size_t n = bytes - off < PCM_CHUNK_BYTES ? bytes - off : PCM_CHUNK_BYTES;
            int ms = a.rate > 0 ? (int)((int64_t)(n / 2) * 1000 / a.rate) : 0;
            session_send(s, MG_WEBSOCKET_OPCODE_BINARY, (const char *)a.samples + off, n, t->seq,
                         ms, 0);
            off += n;
        }
    }
    if (!t->audio_sent) {
        t->audio_sent = 1;
        t->first_audio_us = now_us();
        metrics_observe_ms(srv->metrics, STAGE_TURN, (double)(t->first_audio_us - t->t0_us) / 1000.0);
    }
    tts_audio_clear(&a);
}

static void append_spoken(turn_ctx *t, const char *sentence) {
    size_t a = t->spoken_text ? strlen(t->spoken_text) : 0, b = strlen(sentence);
    char *n = realloc(t->spoken_text, a + b + 2);
    if (!n) return;
    if (a) n[a++] = ' ';
    memcpy(n + a, sentence, b + 1);
    t->spoken_text = n;
}

static void flush_held(turn_ctx *t) {
    for (int i = 0; i < t->nheld; i++) {
        speak_sentence(t, t->held[i]);
        free(t->held[i]);
    }
    t->nheld = 0;
}

/* brain sink: called on this thread, inside brain_turn. */
static void on_sentence(void *user, const char *sentence) {
    turn_ctx *t = user;
    if (cancelled(t) || !sentence || !*sentence) return;
    if (t->streaming) {
        append_spoken(t, sentence);
        send_speaking(t, t->spoken_text);
        speak_sentence(t, sentence);
        return;
    }
    if (t->nheld < MAX_HELD) t->held[t->nheld++] = strdup(sentence);
    if (t->llm_possible && !t->brain_done && now_us() - t->start_us > STREAM_AFTER_MS * 1000) {
        /* A streamed (LLM) answer: start talking now. */
        t->streaming = 1;
        for (int i = 0; i < t->nheld; i++)
            if (t->held[i]) append_spoken(t, t->held[i]);
        send_speaking(t, t->spoken_text ? t->spoken_text : sentence);
        flush_held(t);
    }
}

static brain_mode mode_now(axiom_server *srv) {
    switch (governor_effective_mode(srv->engine->gov)) {
    case GOV_MODE_SKIP_LLM: return BRAIN_MODE_SKIP_LLM;
    case GOV_MODE_TEMPLATE_ONLY: return BRAIN_MODE_TEMPLATE_ONLY;
    default: return BRAIN_MODE_FULL;
    }
}

static const char *metrics_path(const brain_reply *r) {
    switch (r->path) {
    case BRAIN_PATH_TEMPLATE: return "template";
    case BRAIN_PATH_RETRIEVAL: return "retrieval";
    case BRAIN_PATH_FALLBACK: return "fallback";
    case BRAIN_PATH_LLM: return "llm";
    case BRAIN_PATH_REJECTED: return "rejected";
    default: return "none";
    }
}

static void send_ready(turn_ctx *t) {
    const char *m = "{\"event\":\"ready_to_listen\",\"state\":\"idle\"}";
    session_send(t->s, MG_WEBSOCKET_OPCODE_TEXT, m, strlen(m), t->seq, 0, 1);
}

/* The client id from hello takes effect here, on the turn thread, where no other
 * turn can be using the brain session. */
static void apply_client_id(ws_session *s) {
    char id[sizeof s->client_id];
    pthread_mutex_lock(&s->mu);
    int changed = s->client_id_new;
    s->client_id_new = 0;
    memcpy(id, s->client_id, sizeof id);
    pthread_mutex_unlock(&s->mu);
    if (!changed || !s->brain) return;
    char err[256];
    int n = brain_session_set_client(s->brain, id, err, sizeof err);
    if (n < 0) LOG_W("server", "client id: %s", err);
    else if (n > 0) LOG_D("server", "client %.8s...: %d earlier turns restored", id, n);
}

void turn_run(ws_session *s, uint64_t seq, const char *text, const stt_result *heard, int64_t t0_us,
              int64_t stt_us) {
    axiom_server *srv = s->srv;
    turn_ctx t = {.s = s, .seq = seq, .t0_us = t0_us};
    if (atomic_load(&s->cancel)) return;
    const char *p = text;
    while (*p == ' ') p++;
    if (!*p || !srv->engine->brain) {
        if (!*p) {
            /* Nothing heard (noise): back to listening. */
            session_send_text(s, "{\"state\":\"idle\"}", seq);
            metrics_count_turn(srv->metrics, "none");
        } else {
            const char *why = "answering is not available: the knowledge pack could not be opened";
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "state", "idle");
            cJSON_AddStringToObject(o, "error", why);
            send_obj(&t, o);
            metrics_count_turn(srv->metrics, "error");
            metrics_add(srv->metrics, COUNT_ERRORS, 1);
        }
        send_ready(&t);
        return;
    }
    apply_client_id(s);
    brain_reply reply;
    memset(&reply, 0, sizeof reply);
    brain_turn_opts opts = {.mode = mode_now(srv),
                            .llm = srv->engine->llm,
                            .cancel = &s->cancel,
                            .sink = {on_sentence, &t}};
    char err[512] = "";
    t.start_us = now_us();
    t.llm_possible = opts.llm != NULL && opts.mode == BRAIN_MODE_FULL;
    int rc;
    if (heard && heard->n_alts) {
        brain_heard_opts ho;
        brain_heard_opts_from_config(srv->cfg, &ho);
        rc = brain_turn_heard(srv->engine->brain, s->brain, heard, &ho, &opts, &reply, err, sizeof err);
    } else {
        rc = brain_turn(srv->engine->brain, s->brain, p, &opts, &reply, err, sizeof err);
    }
    t.brain_done = 1;
    int64_t brain_us = now_us() - t.start_us;
    metrics_observe_ms(srv->metrics, STAGE_BRAIN, (double)brain_us / 1000.0);
    if (rc != 0) {
        for (int i = 0; i < t.nheld; i++) free(t.held[i]);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "state", "idle");
        cJSON_AddStringToObject(o, "error", err);
        send_obj(&t, o);
        send_error(&t, "brain_failed", err);
        metrics_count_turn(srv->metrics, "error");
        metrics_add(srv->metrics, COUNT_ERRORS, 1);
        send_ready(&t);
        brain_reply_free(&reply);
        free(t.spoken_text);
        return;
    }
    t.reply = &reply;
    metrics_count_turn(srv->metrics, metrics_path(&reply));
    if (reply.path == BRAIN_PATH_FALLBACK) metrics_count_llm_failure(srv->metrics, reply.llm_failure);
    if (cancelled(&t)) {
        for (int i = 0; i < t.nheld; i++) free(t.held[i]);
    } else if (reply.path == BRAIN_PATH_NONE || !reply.text || !reply.text[0]) {
        for (int i = 0; i < t.nheld; i++) free(t.held[i]);
        t.nheld = 0;
        session_send_text(s, "{\"state\":\"idle\"}", seq);
    } else if (!t.streaming) {
        send_card_events(&t);
        send_speaking(&t, reply.text);
        if (!srv->engine->tts) send_error(&t, "tts_unavailable", "speech synthesis is off; text only");
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
        if (!t.spoken_text || strcmp(t.spoken_text, reply.text) != 0 || reply.path != BRAIN_PATH_LLM)
            send_speaking(&t, reply.text);
        send_card_events(&t);
    }
    if (s->want_timings && !cancelled(&t)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "timings");
        cJSON_AddNumberToObject(o, "stt_ms", (double)(stt_us / 100) / 10.0);
        cJSON_AddNumberToObject(o, "brain_ms", (double)(brain_us / 100) / 10.0);
        cJSON_AddNumberToObject(o, "tts_ms", (double)(t.tts_us / 100) / 10.0);
        if (t.audio_sent)
            cJSON_AddNumberToObject(o, "first_audio_ms", (double)((t.first_audio_us - t0_us) / 100) / 10.0);
        cJSON_AddStringToObject(o, "path", metrics_path(&reply));
        send_obj(&t, o);
    }
    if (!cancelled(&t)) send_ready(&t);
    brain_reply_free(&reply);
    free(t.spoken_text);
}
