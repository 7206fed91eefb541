/* Voice-session events as the WebSocket protocol's messages (README, section
 * server), the server's counting of what voice sessions report, and the engine's
 * component status for /api/status and /metrics.
 *
 * Events arrive one at a time per session, on voice worker threads or on the network
 * thread whose call caused them; each becomes one message in the session's bounded
 * outgoing queue (never a blocking write). */
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "server/server_internal.h"
#include "speech/stt.h"
#include "speech/vad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void send_json(ws_session *s, cJSON *o, uint64_t turn, int after_playback) {
    char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
    if (txt) session_send(s, MG_WEBSOCKET_OPCODE_TEXT, txt, strlen(txt), turn, 0, after_playback);
    free(txt);
    cJSON_Delete(o);
}

static cJSON *event_obj(const char *name) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", name);
    return o;
}

static cJSON *state_obj(const char *state) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "state", state);
    return o;
}

/* {"event":"error","code":...,"message":...}: every error a client is told of. */
static void send_error_msg(ws_session *s, const char *code, const char *message, uint64_t turn) {
    cJSON *o = event_obj("error");
    cJSON_AddStringToObject(o, "code", code ? code : "error");
    cJSON_AddStringToObject(o, "message", message ? message : "");
    send_json(s, o, turn, 0);
}

void ws_send_error(ws_session *s, const char *code, const char *message) {
    send_error_msg(s, code, message, 0);
}

static void set_answering(ws_session *s, int on) {
    pthread_mutex_lock(&s->mu);
    s->answering = on;
    pthread_mutex_unlock(&s->mu);
}

void ws_on_event(void *session, const axiom_event *ev) {
    ws_session *s = session;
    cJSON *o = NULL;
    switch (ev->type) {
    case AXIOM_EVENT_SPEECH_START:
        o = event_obj("speech_start");
        break;
    case AXIOM_EVENT_SPEECH_END:
        o = event_obj("speech_end");
        cJSON_AddNumberToObject(o, "end_ms", (double)ev->end_ms);
        cJSON_AddNumberToObject(o, "pause_ms", (double)ev->pause_ms);
        cJSON_AddStringToObject(o, "endpoint", ev->endpoint ? ev->endpoint : "default");
        break;
    case AXIOM_EVENT_PARTIAL:
        o = event_obj("partial");
        cJSON_AddStringToObject(o, "text", ev->text);
        break;
    case AXIOM_EVENT_TRANSCRIPT:
        /* What was heard, always sent for a spoken question (the page shows it even
         * when no partial came); an extension older pages ignore. */
        o = event_obj("transcript");
        cJSON_AddStringToObject(o, "text", ev->text);
        cJSON_AddBoolToObject(o, "final", 1);
        break;
    case AXIOM_EVENT_THINKING:
        set_answering(s, 1);
        o = state_obj("thinking");
        if (ev->text && ev->text[0]) cJSON_AddStringToObject(o, "transcript", ev->text);
        break;
    case AXIOM_EVENT_CARD:
        o = event_obj("trigger_card");
        cJSON_AddNumberToObject(o, "card_index", ev->card_index);
        cJSON_AddStringToObject(o, "keyword", ev->card_keyword);
        cJSON_AddStringToObject(o, "product_name", ev->card_product);
        break;
    case AXIOM_EVENT_MODEL_3D:
        o = event_obj("load_3d_model");
        cJSON_AddStringToObject(o, "model_path", ev->model_path);
        cJSON_AddStringToObject(o, "model_name", ev->model_name);
        break;
    case AXIOM_EVENT_ANSWER:
        o = state_obj("speaking");
        cJSON_AddStringToObject(o, "text", ev->text ? ev->text : "");
        cJSON_AddStringToObject(o, "intent", ev->intent ? ev->intent : "unknown");
        cJSON_AddStringToObject(o, "path", ev->path ? ev->path : "llm");
        if (ev->llm_failure) cJSON_AddStringToObject(o, "llm_failure", ev->llm_failure);
        cJSON_AddNumberToObject(o, "confidence", (int)(ev->confidence * 1000) / 1000.0);
        if (ev->heard) cJSON_AddStringToObject(o, "heard", ev->heard);
        break;
    case AXIOM_EVENT_AUDIO:
        /* One WAV per sentence, or raw s16le chunks (little-endian hosts only send
         * the samples as they are). */
        if (ev->wav)
            session_send(s, MG_WEBSOCKET_OPCODE_BINARY, ev->wav, ev->wav_bytes, ev->turn,
                         ev->audio_ms, 0);
        else
            session_send(s, MG_WEBSOCKET_OPCODE_BINARY, ev->pcm, ev->samples * 2, ev->turn,
                         ev->audio_ms, 0);
        return;
    case AXIOM_EVENT_BARGE_IN:
        send_queue_purge_turn(&s->sq, ev->turn);
        set_answering(s, 0);
        o = event_obj("barge_in");
        send_json(s, o, 0, 0);
        return;
    case AXIOM_EVENT_TIMINGS:
        o = event_obj("timings");
        cJSON_AddNumberToObject(o, "stt_ms", ev->stt_ms);
        cJSON_AddNumberToObject(o, "brain_ms", ev->brain_ms);
        cJSON_AddNumberToObject(o, "tts_ms", ev->tts_ms);
        if (ev->first_audio_ms >= 0)
            cJSON_AddNumberToObject(o, "first_audio_ms", ev->first_audio_ms);
        cJSON_AddStringToObject(o, "path", ev->path ? ev->path : "none");
        break;
    case AXIOM_EVENT_ERROR:
        send_error_msg(s, ev->code, ev->text, ev->turn);
        return;
    case AXIOM_EVENT_IDLE:
        o = state_obj("idle");
        if (ev->text && ev->text[0]) cJSON_AddStringToObject(o, "error", ev->text);
        break;
    case AXIOM_EVENT_READY:
        /* Held by the sender until the answer's audio has played, so the page does
         * not reopen the microphone while the answer is still audible. */
        set_answering(s, 0);
        o = event_obj("ready_to_listen");
        cJSON_AddStringToObject(o, "state", "idle");
        send_json(s, o, ev->turn, 1);
        return;
    }
    send_json(s, o, ev->turn, 0);
}

void server_observe(void *arg, voice_stat stat, double value, const char *label) {
    axiom_server *srv = arg;
    switch (stat) {
    case VOICE_STAT_STT_MS:
        metrics_observe_ms(srv->metrics, STAGE_STT, value);
        break;
    case VOICE_STAT_BRAIN_MS:
        metrics_observe_ms(srv->metrics, STAGE_BRAIN, value);
        break;
    case VOICE_STAT_TTS_MS:
        metrics_observe_ms(srv->metrics, STAGE_TTS, value);
        break;
    case VOICE_STAT_TURN_MS:
        metrics_observe_ms(srv->metrics, STAGE_TURN, value);
        break;
    case VOICE_STAT_TURN:
        metrics_count_turn(srv->metrics, label ? label : "none");
        break;
    case VOICE_STAT_LLM_FAILURE:
        metrics_count_llm_failure(srv->metrics, label ? label : "other");
        break;
    case VOICE_STAT_BARGE_IN:
        metrics_add(srv->metrics, COUNT_BARGE_INS, 1);
        break;
    case VOICE_STAT_ECHO_IGNORED:
        metrics_add(srv->metrics, COUNT_ECHO_IGNORED, 1);
        break;
    case VOICE_STAT_ERROR:
        metrics_add(srv->metrics, COUNT_ERRORS, 1);
        break;
    case VOICE_STAT_SHED:
        metrics_add(srv->metrics, COUNT_SHED, 1);
        break;
    }
}

void server_components_json(axiom_server *srv, cJSON *obj) {
    axiom_engine *e = srv->engine;
    governor *gov = e->gov;
    cJSON_AddStringToObject(obj, "effective_mode",
                            governor_mode_name(governor_effective_mode(gov)));
    /* The governor's figures: level, budget, readings and each component with the
     * memory its load really cost. */
    cJSON *g = cJSON_AddObjectToObject(obj, "governor");
    if (g) governor_status_json(gov, g);
    cJSON *c = cJSON_AddObjectToObject(obj, "components");
    cJSON *gc = g ? cJSON_GetObjectItem(g, "components") : NULL;
    if (c && gc) cJSON_AddItemReferenceToObject(c, "governed", gc);
    cJSON *av = cJSON_AddObjectToObject(obj, "available");
    cJSON_AddBoolToObject(av, "brain", e->brain != NULL);
    cJSON_AddBoolToObject(av, "vad", e->vad != NULL);
    cJSON_AddBoolToObject(av, "stt", e->stt != NULL);
    cJSON_AddBoolToObject(av, "tts", e->tts != NULL);
    cJSON_AddBoolToObject(av, "llm", e->llm != NULL);
    if (e->stt) {
        int created = 0, in_use = 0, size = 0;
        stt_engine_pool_counts(e->stt, &created, &in_use, &size);
        cJSON *d = cJSON_AddObjectToObject(obj, "stt_decoders");
        cJSON_AddNumberToObject(d, "created", created);
        cJSON_AddNumberToObject(d, "in_use", in_use);
        cJSON_AddNumberToObject(d, "pool_size", size);
    }
    if (e->vad) {
        vad_engine_info vi;
        vad_engine_get_info(e->vad, &vi);
        cJSON *d = cJSON_AddObjectToObject(obj, "vad");
        cJSON_AddBoolToObject(d, "silero_loaded", vi.silero_loaded);
        cJSON_AddNumberToObject(d, "pool_in_use", vi.pool_in_use);
        cJSON_AddNumberToObject(d, "pool_size", vi.pool_size);
        if (vi.fallback[0]) cJSON_AddStringToObject(d, "fallback", vi.fallback);
    }
}
