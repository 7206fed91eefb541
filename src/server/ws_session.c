/* The /ws endpoint: admission (Origin, token, session limits), per-connection
 * sessions, and the network thread's share of the protocol: it parses client
 * messages, checks their size and shape and hands them to the connection's voice
 * session (axiom_voice_feed/text/cancel/set); the session's events come back as
 * messages through ws_events.c. Nothing here decodes, answers or synthesises.
 *
 * Protocol (see README, section server): binary messages are 16 kHz s16le mono PCM;
 * text messages are JSON: {"event":"client_ready"}, {"event":"hello",...},
 * {"event":"text","text":"..."}, {"event":"cancel"}. */
#include "brain/brain.h"
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "server/server_internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TEXT_CHARS 2000

void session_ref(ws_session *s) {
    pthread_mutex_lock(&s->mu);
    s->refs++;
    pthread_mutex_unlock(&s->mu);
}

void session_unref(ws_session *s) {
    pthread_mutex_lock(&s->mu);
    int left = --s->refs;
    pthread_mutex_unlock(&s->mu);
    if (left > 0) return;
    axiom_voice_free(s->voice);
    send_queue_destroy(&s->sq);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void refuse_http(struct mg_connection *conn, int status, const char *msg) {
    char body[512];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
    http_reply(conn, status, "application/json", body, (size_t)n);
}

int ws_connect(struct mg_connection *conn, axiom_server *srv, int fd) {
    metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
    if (!server_origin_allowed(srv, conn)) { /* begin_request checked it too */
        metrics_add(srv->metrics, COUNT_REFUSED_ORIGIN, 1);
        const char *o = mg_get_header(conn, "Origin");
        LOG_W("server", "refused /ws from Origin %.100s (add it to server.allowed_origins)", o);
        refuse_http(conn, 403,
                    "Origin not allowed: only same-origin pages and server.allowed_origins "
                    "may open /ws");
        return 1;
    }
    if (!server_auth_ok(srv, conn)) {
        metrics_add(srv->metrics, COUNT_REFUSED_AUTH, 1);
        refuse_http(conn, 401,
                    "missing or wrong token: send Authorization: Bearer <server.auth_token> "
                    "or /ws?token=<server.auth_token>");
        return 1;
    }
    ws_session *s = calloc(1, sizeof *s);
    if (!s) {
        refuse_http(conn, 503, "out of memory");
        return 1;
    }
    if (send_queue_init(&s->sq, srv->send_queue_bytes) != 0) {
        free(s);
        refuse_http(conn, 503, "cannot create a session");
        return 1;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->srv = srv;
    s->conn = conn;
    s->refs = 1; /* the connection's */
    s->connected_ms = now_ms();
    atomic_init(&s->last_activity_ms, s->connected_ms);
    s->out_rate = (int)config_int(srv->cfg, "tts.sample_rate");
    s->fd = fd;

    if (server_admit_session(srv, s->refuse_reason, sizeof s->refuse_reason) != 0) {
        s->refused = WS_CLOSE_BUSY;
    } else {
        pthread_mutex_lock(&srv->mu);
        s->id = ++srv->next_session_id;
        s->next = srv->sessions;
        srv->sessions = s;
        pthread_mutex_unlock(&srv->mu);
    }
    mg_set_user_connection_data(conn, s);
    return 0;
}

static void track_refused(axiom_server *srv, ws_session *s) {
    int64_t now = now_ms();
    pthread_mutex_lock(&srv->mu);
    s->refused_ms = now;
    s->next_refused = srv->refused;
    srv->refused = s;
    /* Past capacity refusals come in bursts: one log line a second, with a count. */
    int log_now = now - srv->refusal_logged_ms >= 1000;
    int extra = srv->refusals_unlogged;
    if (log_now) {
        srv->refusal_logged_ms = now;
        srv->refusals_unlogged = 0;
    } else {
        srv->refusals_unlogged++;
    }
    pthread_mutex_unlock(&srv->mu);
    if (log_now)
        LOG_W("server", "refusing a voice session: %s%s", s->refuse_reason,
              extra ? " (and more refused in the last second)" : "");
}

static void *reaper_main(void *arg) {
    axiom_server *srv = arg;
    pthread_setname_np(pthread_self(), "axiom-reaper");
    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->reaper_cv, &srv->mu, &ts);
        int64_t now = now_ms();
        for (ws_session *s = srv->refused; s; s = s->next_refused) {
            if (now - s->refused_ms < 2000) continue;
            pthread_mutex_lock(&s->mu);
            if (s->fd >= 0) shutdown(s->fd, SHUT_RDWR);
            pthread_mutex_unlock(&s->mu);
        }
        for (ws_session *s = srv->sessions; s; s = s->next) {
            if (s->idle_close_ms) {
                if (now - s->idle_close_ms >= 2000)
                    session_drop(s, "idle, and did not answer the close");
                continue;
            }
            int64_t idle = now - atomic_load(&s->last_activity_ms);
            if (idle < srv->idle_timeout_ms) continue;
            s->idle_close_ms = now;
            char payload[96];
            int n = snprintf(payload + 2, sizeof payload - 2,
                             "idle for %lld s (server.idle_timeout_s)", (long long)(idle / 1000));
            payload[0] = (char)(WS_CLOSE_GOING_AWAY >> 8);
            payload[1] = (char)(WS_CLOSE_GOING_AWAY & 0xff);
            session_send(s, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, payload, (size_t)n + 2, 0, 0, 0);
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

int ws_reaper_start(axiom_server *srv) {
    pthread_cond_init(&srv->reaper_cv, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = pthread_create(&srv->reaper, &attr, reaper_main, srv);
    pthread_attr_destroy(&attr);
    srv->reaper_started = rc == 0;
    return rc == 0 ? 0 : -1;
}

void ws_reaper_stop(axiom_server *srv) {
    pthread_mutex_lock(&srv->mu);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->reaper_cv);
    pthread_mutex_unlock(&srv->mu);
    if (srv->reaper_started) pthread_join(srv->reaper, NULL);
    srv->reaper_started = 0;
    pthread_cond_destroy(&srv->reaper_cv);
}

void ws_ready(struct mg_connection *conn, axiom_server *srv) {
    ws_session *s = mg_get_user_connection_data(conn);
    if (!s) return;
    if (!s->refused) {
        char err[256] = "";
        s->voice = axiom_voice_new(srv->engine, ws_on_event, s, err, sizeof err);
        if (!s->voice) {
            s->refused = WS_CLOSE_BUSY;
            snprintf(s->refuse_reason, sizeof s->refuse_reason, "busy: %.140s", err);
            metrics_add(srv->metrics, COUNT_REFUSED_BUSY, 1);
        } else if (send_queue_start(s) != 0) {
            s->refused = WS_CLOSE_INTERNAL;
            snprintf(s->refuse_reason, sizeof s->refuse_reason, "cannot start the sender");
        }
    }
    if (s->refused) {
        track_refused(srv, s);
        ws_send_close(conn, s->refused, s->refuse_reason);
        if (s->fd >= 0) shutdown(s->fd, SHUT_WR); /* graceful: the close frame goes first */
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->open = 1;
    pthread_mutex_unlock(&s->mu);
    metrics_add(srv->metrics, COUNT_SESSIONS_TOTAL, 1);
    metrics_sessions_delta(srv->metrics, 1);
    LOG_D("server", "session %llu opened", (unsigned long long)s->id);
}

/* A voice option the client asked for; the voice session validated it already. */
static void voice_set(ws_session *s, const char *key, const char *value) {
    char err[200];
    if (axiom_voice_set(s->voice, key, value, err, sizeof err) != 0)
        ws_send_error(s, "bad_hello", err);
}

/* hello negotiates the answer audio, partial results, timings and the user's id.
 * Runs on the network thread, the only one that reads these fields. */
static void handle_hello(ws_session *s, const cJSON *msg) {
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(msg, "sample_rate");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(msg, "audio_format");
    const cJSON *partials = cJSON_GetObjectItemCaseSensitive(msg, "partials");
    const cJSON *timings = cJSON_GetObjectItemCaseSensitive(msg, "timings");
    if (rate) {
        if (!cJSON_IsNumber(rate) || rate->valuedouble < 8000 || rate->valuedouble > 48000) {
            ws_send_error(s, "bad_hello",
                          "sample_rate must be a number from 8000 to 48000; kept "
                          "the server's rate");
        } else {
            s->out_rate = (int)rate->valuedouble;
            char v[16];
            snprintf(v, sizeof v, "%d", s->out_rate);
            voice_set(s, "output_rate", v);
        }
    }
    if (fmt) {
        if (cJSON_IsString(fmt) &&
            (strcmp(fmt->valuestring, "wav") == 0 || strcmp(fmt->valuestring, "pcm") == 0)) {
            s->out_pcm = fmt->valuestring[0] == 'p';
            voice_set(s, "output_format", fmt->valuestring);
        } else {
            ws_send_error(s, "bad_hello", "audio_format must be \"wav\" or \"pcm\"; kept wav");
        }
    }
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(msg, "client_id");
    if (cid) {
        if (!cJSON_IsString(cid) || !brain_client_id_valid(cid->valuestring))
            ws_send_error(s, "bad_hello",
                          "client_id must be 8 to 36 letters, digits, '-' or '_'; the history "
                          "stays with this connection");
        else
            voice_set(s, "client_id", cid->valuestring);
    }
    if (cJSON_IsBool(partials)) {
        s->want_partials = cJSON_IsTrue(partials);
        voice_set(s, "partials", s->want_partials ? "true" : "false");
    }
    if (cJSON_IsBool(timings)) {
        s->want_timings = cJSON_IsTrue(timings);
        voice_set(s, "timings", s->want_timings ? "true" : "false");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", "hello");
    cJSON_AddStringToObject(o, "server", "axiom");
    cJSON_AddStringToObject(o, "version", axiom_version());
    cJSON_AddNumberToObject(o, "protocol", 1);
    cJSON_AddNumberToObject(o, "input_sample_rate", 16000);
    cJSON_AddStringToObject(o, "input_format", "s16le");
    cJSON_AddNumberToObject(o, "sample_rate", s->out_rate);
    cJSON_AddStringToObject(o, "audio_format", s->out_pcm ? "pcm" : "wav");
    cJSON_AddBoolToObject(o, "partials", s->want_partials);
    cJSON_AddBoolToObject(o, "timings", s->want_timings);
    cJSON_AddBoolToObject(o, "barge_in", s->srv->barge_in);
    cJSON_AddNumberToObject(o, "max_message_bytes", (double)s->srv->max_message_bytes);
    char *txt = cJSON_PrintUnformatted(o);
    if (txt) session_send_text(s, txt, 0);
    free(txt);
    cJSON_Delete(o);
}

static void handle_text(ws_session *s, const char *data, size_t len) {
    cJSON *msg = cJSON_ParseWithLength(data, len);
    const cJSON *ev = msg ? cJSON_GetObjectItemCaseSensitive(msg, "event") : NULL;
    if (!msg || !cJSON_IsObject(msg) || !cJSON_IsString(ev)) {
        metrics_add(s->srv->metrics, COUNT_BAD_MESSAGES, 1);
        ws_send_error(s, "bad_message",
                      "text messages must be JSON objects with an \"event\" string, e.g. "
                      "{\"event\":\"text\",\"text\":\"hello\"}");
        cJSON_Delete(msg);
        return;
    }
    const char *e = ev->valuestring;
    if (strcmp(e, "client_ready") == 0) {
        session_send_text(s, "{\"state\":\"idle\"}", 0);
    } else if (strcmp(e, "hello") == 0) {
        handle_hello(s, msg);
    } else if (strcmp(e, "text") == 0) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "text");
        if (!cJSON_IsString(t) || !t->valuestring[0]) {
            ws_send_error(s, "bad_message", "\"text\" must be a non-empty string");
        } else if (strlen(t->valuestring) > MAX_TEXT_CHARS) {
            ws_send_error(s, "too_long", "\"text\" is longer than 2000 bytes");
        } else {
            char err[200];
            if (axiom_voice_text(s->voice, t->valuestring, err, sizeof err) != 0)
                ws_send_error(s, "bad_message", err);
        }
    } else if (strcmp(e, "cancel") == 0) {
        axiom_voice_cancel(s->voice);
    } else {
        metrics_add(s->srv->metrics, COUNT_BAD_MESSAGES, 1);
        char m[160];
        snprintf(m, sizeof m, "unknown event \"%.60s\" (known: client_ready, hello, text, cancel)",
                 e);
        ws_send_error(s, "unknown_event", m);
    }
    cJSON_Delete(msg);
}

/* Binary messages are 16 kHz s16le mono PCM, a byte stream: a byte left over waits
 * for the next message. The voice session sheds audio past 2 s behind real time. */
static void handle_audio(ws_session *s, const unsigned char *data, size_t len) {
    axiom_server *srv = s->srv;
    metrics_add(srv->metrics, COUNT_FRAMES_IN, 1);
    metrics_add(srv->metrics, COUNT_AUDIO_BYTES_IN, (int64_t)len);
    size_t ns = (len + (size_t)s->has_carry) / 2;
    if (ns == 0) {
        if (len) s->carry = data[0], s->has_carry = 1;
        return;
    }
    /* Bounded by server.max_message_bytes, checked before the message was read. */
    int16_t *pcm = malloc(ns * sizeof *pcm);
    if (!pcm) {
        metrics_add(srv->metrics, COUNT_SHED, 1);
        return;
    }
    const unsigned char *p = data;
    size_t i = 0;
    if (s->has_carry) {
        pcm[i++] = (int16_t)(uint16_t)(s->carry | (p[0] << 8));
        p++;
    }
    for (; i < ns; i++, p += 2)
        pcm[i] = (int16_t)(uint16_t)(p[0] | (p[1] << 8));
    size_t used = (size_t)(p - data);
    s->has_carry = used < len;
    if (s->has_carry) s->carry = data[len - 1];
    axiom_voice_feed(s->voice, pcm, ns, 16000);
    free(pcm);
}

int ws_data(struct mg_connection *conn, int bits, char *data, size_t len, axiom_server *srv) {
    ws_session *s = mg_get_user_connection_data(conn);
    int opcode = bits & 0x0f;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) return 0;
    if (!s || s->refused) return 1; /* waiting for the client to answer our close */
    atomic_store(&s->last_activity_ms, now_ms());
    if (opcode == MG_WEBSOCKET_OPCODE_PING) {
        session_send(s, MG_WEBSOCKET_OPCODE_PONG, data, len, 0, 0, 0);
        return 1;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_PONG) return 1;
    if (len > srv->max_message_bytes) {
        metrics_add(srv->metrics, COUNT_BAD_MESSAGES, 1);
        char reason[120];
        snprintf(reason, sizeof reason, "message of %zu bytes exceeds server.max_message_bytes=%zu",
                 len, srv->max_message_bytes);
        LOG_W("server", "session %llu: %s", (unsigned long long)s->id, reason);
        ws_send_close(conn, WS_CLOSE_TOO_BIG, reason);
        return 0;
    }
    /* Audio is a byte stream, so a fragmented binary message is simply more audio;
     * a JSON message must come whole. */
    int fin = (bits & 0x80) != 0;
    if (opcode == MG_WEBSOCKET_OPCODE_CONTINUATION)
        opcode = s->frag_opcode;
    else
        s->frag_opcode = fin ? 0 : opcode;
    if (fin && (bits & 0x0f) == MG_WEBSOCKET_OPCODE_CONTINUATION) s->frag_opcode = 0;
    if (opcode == MG_WEBSOCKET_OPCODE_BINARY) {
        handle_audio(s, (const unsigned char *)data, len);
        return 1;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_TEXT && fin && (bits & 0x0f) == MG_WEBSOCKET_OPCODE_TEXT) {
        handle_text(s, data, len);
        return 1;
    }
    metrics_add(srv->metrics, COUNT_BAD_MESSAGES, 1);
    ws_send_error(s, "bad_message",
                  "fragmented or unknown WebSocket frames are not accepted; send each JSON "
                  "message in one text frame and audio in binary frames");
    return 1;
}

void ws_close(const struct mg_connection *cconn, axiom_server *srv) {
    ws_session *s = mg_get_user_connection_data(cconn);
    if (!s) return;
    /* No event reaches this session after this: the sender can stop. */
    axiom_voice_free(s->voice);
    s->voice = NULL;
    /* Wake a sender blocked on a client that stopped reading, then wait for it: after
     * this handler returns, civetweb frees the connection. */
    pthread_mutex_lock(&s->mu);
    int was_open = s->open;
    if (s->fd >= 0) shutdown(s->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->mu);
    send_queue_stop(s);
    pthread_mutex_lock(&s->mu);
    s->open = 0;
    s->conn = NULL;
    s->fd = -1;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&srv->mu);
    for (ws_session **pp = &srv->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            srv->nsessions--;
            break;
        }
    }
    for (ws_session **pp = &srv->refused; *pp; pp = &(*pp)->next_refused) {
        if (*pp == s) {
            *pp = s->next_refused;
            break;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    if (was_open) metrics_sessions_delta(srv->metrics, -1);
    LOG_D("server", "session %llu closed", (unsigned long long)s->id);
    mg_set_user_connection_data(cconn, NULL);
    session_unref(s);
}

void ws_shutdown_all(axiom_server *srv) {
    pthread_mutex_lock(&srv->mu);
    for (ws_session *s = srv->sessions; s; s = s->next) {
        pthread_mutex_lock(&s->mu);
        if (s->fd >= 0) shutdown(s->fd, SHUT_RDWR);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&srv->mu);
}

void ws_status_json(axiom_server *srv, cJSON *arr) {
    int64_t now = now_ms();
    pthread_mutex_lock(&srv->mu);
    for (ws_session *s = srv->sessions; s; s = s->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)s->id);
        cJSON_AddNumberToObject(o, "connected_s", (double)(now - s->connected_ms) / 1000.0);
        cJSON_AddNumberToObject(o, "idle_s",
                                (double)(now - atomic_load(&s->last_activity_ms)) / 1000.0);
        pthread_mutex_lock(&s->mu);
        cJSON_AddBoolToObject(o, "answering", s->answering);
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_lock(&s->sq.mu);
        cJSON_AddNumberToObject(o, "queued_bytes", (double)s->sq.bytes);
        pthread_mutex_unlock(&s->sq.mu);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&srv->mu);
}
