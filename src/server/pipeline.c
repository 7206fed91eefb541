/* The voice pipeline of one session: audio -> VAD -> recogniser -> brain -> synthesis
 * -> outgoing queue, and the event order the browser expects:
 *   speech_start, speech_end, thinking, [trigger_card], [load_3d_model],
 *   speaking + one WAV per sentence, ready_to_listen (held until playback ends).
 *
 * Audio jobs (audio pool) run the VAD and recogniser for one session at a time, in
 * arrival order. Turn jobs (turn pool) answer and synthesise; one turn per session
 * runs at a time and a newer utterance waits in a one-slot mailbox. A barge-in
 * cancels the running turn through its cancel flag and purges its queued audio.
 *
 * A component that is not available (not built yet, or failed to load) turns into an
 * honest error event naming it; nothing is faked. */
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "server/server_internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pipeline_shared {
    axiom_server *srv;
    char speech_unavailable[256]; /* why voice input cannot work, or "" */
    char brain_unavailable[256];  /* why answers cannot be produced, or "" */
};

struct pipeline_session {
    int speech_reported;          /* the "no speech input" error was sent once */
};

typedef struct {
    ws_session *s;
    turn_input *in;
    uint64_t seq;
} turn_job;

pipeline_shared *pipeline_shared_new(axiom_server *srv, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    pipeline_shared *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->srv = srv;
    str_copy(p->speech_unavailable, sizeof p->speech_unavailable,
             "voice input is not available in this build (no VAD/recogniser linked)");
    str_copy(p->brain_unavailable, sizeof p->brain_unavailable,
             "answering is not available in this build (no brain linked)");
    return p;
}

void pipeline_shared_free(pipeline_shared *p) { free(p); }

void pipeline_status_json(pipeline_shared *p, cJSON *obj) {
    governor *gov = p->srv->engine->gov;
    cJSON_AddStringToObject(obj, "effective_mode",
                            governor_mode_name(governor_effective_mode(gov)));
    cJSON *g = cJSON_AddObjectToObject(obj, "governor");
    if (g) governor_status_json(gov, g);
    cJSON *c = cJSON_AddObjectToObject(obj, "components");
    cJSON *gc = g ? cJSON_GetObjectItem(g, "components") : NULL;
    if (c && gc) cJSON_AddItemReferenceToObject(c, "governed", gc);
    if (p->speech_unavailable[0])
        cJSON_AddStringToObject(obj, "speech_unavailable", p->speech_unavailable);
    if (p->brain_unavailable[0])
        cJSON_AddStringToObject(obj, "brain_unavailable", p->brain_unavailable);
}

size_t pipeline_metrics(pipeline_shared *p, char *buf, size_t cap) {
    if (cap) buf[0] = '\0';
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return 0;
    governor_metrics(p->srv->engine->gov, f);
    fclose(f);
    size_t n = len < cap ? len : (cap ? cap - 1 : 0);
    if (n) memcpy(buf, text, n);
    if (cap) buf[n] = '\0';
    free(text);
    return n;
}

void session_set_cancel(ws_session *s, int on) {
    atomic_store(&s->cancel, on);
    s->brain_cancel = on;
}

void turn_input_free(turn_input *in) {
    if (!in) return;
    free(in->text);
    free(in->audio);
    free(in);
}

int pipeline_session_new(ws_session *s, char *err, size_t errlen) {
    s->ps = calloc(1, sizeof *s->ps);
    if (!s->ps) {
        snprintf(err, errlen, "out of memory for a session");
        return -1;
    }
    return 0;
}

void pipeline_session_free(ws_session *s) {
    free(s->ps);
    s->ps = NULL;
}

static int session_is_open(ws_session *s) {
    pthread_mutex_lock(&s->mu);
    int o = s->open;
    pthread_mutex_unlock(&s->mu);
    return o;
}

static void send_event(ws_session *s, const char *json, uint64_t turn) {
    session_send_text(s, json, turn);
}

static void send_json(ws_session *s, cJSON *o, uint64_t turn) {
    char *txt = cJSON_PrintUnformatted(o);
    if (txt) session_send_text(s, txt, turn);
    free(txt);
    cJSON_Delete(o);
}

static void send_error_event(ws_session *s, const char *code, const char *message, uint64_t turn) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", "error");
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", message);
    send_json(s, o, turn);
}

void pipeline_audio_job(void *arg) {
    ws_session *s = arg;
    pipeline_shared *p = s->srv->pipe;
    for (;;) {
        struct audio_chunk *chunks = ws_audio_take(s);
        if (!chunks) break;
        if (session_is_open(s) && p->speech_unavailable[0] && !s->ps->speech_reported) {
            s->ps->speech_reported = 1;
            send_error_event(s, "speech_unavailable", p->speech_unavailable, 0);
        }
        ws_audio_free(chunks);
    }
    session_unref(s);
}

int pipeline_cancel_answer(ws_session *s, const char *why) {
    pthread_mutex_lock(&s->mu);
    int active = s->turn_running;
    uint64_t seq = s->turn_seq;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->sq.mu);
    int playing = s->sq.play_end_ms > now_ms();
    pthread_mutex_unlock(&s->sq.mu);
    if (!active && !playing) return 0;
    session_set_cancel(s, 1);
    send_queue_purge_turn(&s->sq, seq);
    LOG_D("server", "session %llu: answer %llu cancelled: %s", (unsigned long long)s->id,
          (unsigned long long)seq, why);
    send_event(s, "{\"event\":\"barge_in\"}", 0);
    metrics_add(s->srv->metrics, COUNT_BARGE_INS, 1);
    return 1;
}

/* Runs one answer. Returns with every message of the turn queued. */
static void run_turn(turn_job *j) {
    ws_session *s = j->s;
    pipeline_shared *p = s->srv->pipe;
    if (!session_is_open(s) || atomic_load(&s->cancel)) return;
    if (p->brain_unavailable[0]) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "state", "idle");
        cJSON_AddStringToObject(o, "error", p->brain_unavailable);
        send_json(s, o, j->seq);
        send_error_event(s, "brain_unavailable", p->brain_unavailable, j->seq);
        metrics_count_turn(s->srv->metrics, "error");
        metrics_add(s->srv->metrics, COUNT_ERRORS, 1);
    }
    session_send(s, MG_WEBSOCKET_OPCODE_TEXT, "{\"event\":\"ready_to_listen\",\"state\":\"idle\"}",
                 strlen("{\"event\":\"ready_to_listen\",\"state\":\"idle\"}"), j->seq, 0, 1);
}

static void turn_main(void *arg) {
    turn_job *j = arg;
    ws_session *s = j->s;
    for (;;) {
        run_turn(j);
        turn_input_free(j->in);
        j->in = NULL;
        pthread_mutex_lock(&s->mu);
        if (!s->pending || !s->open) {
            s->turn_running = 0;
            s->answering = 0;
            pthread_mutex_unlock(&s->mu);
            break;
        }
        j->in = s->pending;
        s->pending = NULL;
        j->seq = ++s->turn_seq;
        session_set_cancel(s, 0);
        pthread_mutex_unlock(&s->mu);
    }
    free(j);
    session_unref(s);
}

void pipeline_submit(ws_session *s, turn_input *in) {
    turn_job *j = calloc(1, sizeof *j);
    if (!j) {
        turn_input_free(in);
        return;
    }
    send_event(s, "{\"state\":\"thinking\"}", 0);
    pthread_mutex_lock(&s->mu);
    if (s->turn_running) {
        turn_input_free(s->pending);
        s->pending = in;
        pthread_mutex_unlock(&s->mu);
        free(j);
        return;
    }
    s->turn_running = 1;
    s->answering = 1;
    s->refs++;
    j->s = s;
    j->in = in;
    j->seq = ++s->turn_seq;
    session_set_cancel(s, 0);
    pthread_mutex_unlock(&s->mu);
    if (worker_pool_submit(s->srv->turn_pool, turn_main, j) != 0) {
        metrics_add(s->srv->metrics, COUNT_SHED, 1);
        send_event(s, "{\"state\":\"idle\",\"error\":\"server busy: too many answers queued; "
                      "try again\"}",
                   j->seq);
        send_event(s, "{\"event\":\"ready_to_listen\",\"state\":\"idle\"}", j->seq);
        pthread_mutex_lock(&s->mu);
        s->turn_running = 0;
        s->answering = 0;
        pthread_mutex_unlock(&s->mu);
        turn_input_free(j->in);
        free(j);
        session_unref(s);
    }
}

void pipeline_submit_turn(ws_session *s, const char *text, int64_t t0_us) {
    turn_input *in = calloc(1, sizeof *in);
    if (!in) return;
    in->text = strdup(text);
    in->t0_us = t0_us;
    if (!in->text) {
        free(in);
        return;
    }
    pipeline_submit(s, in);
}

int pipeline_ask(axiom_server *srv, const char *text, cJSON *out) {
    pipeline_shared *p = srv->pipe;
    (void)text;
    if (p->brain_unavailable[0]) {
        cJSON_AddStringToObject(out, "error", p->brain_unavailable);
        return 503;
    }
    return 500;
}
