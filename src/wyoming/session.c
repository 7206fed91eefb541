/* One Wyoming connection: read an event, answer it, read the next.
 *
 * Bad input and what it gets (the reference's servers drop a connection on a
 * malformed event; AXIOM first says why, in an error event with a code):
 *   header line, data_length or payload_length past its bound -> "too_big", closed
 *     (refused when the header is read, before any of the rest is)
 *   not an event (malformed JSON, no type, bad lengths)         -> "bad_event", closed
 *   silent or slow peer (wyoming.idle_timeout_s)                -> "timeout", closed
 *   an event AXIOM does not offer                               -> "unknown_event"
 *   wrong order (audio-chunk before audio-start, ...)           -> "out_of_order"
 *   a field missing or of the wrong type                        -> "bad_request"
 * The last three keep the connection: the stream is still at an event boundary.
 * Nothing a connection does reaches another's state: each has its own thread, reader
 * and buffers. */
#include "core/log.h"
#include "core/util.h"
#include "wyoming/wyoming_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int wy_send(wy_conn *c, const char *type, cJSON *data, const void *payload, size_t len) {
    int rc = c->dead ? -1 : wy_write_event(c->fd, type, data, payload, len);
    cJSON_Delete(data);
    if (rc != 0 && !c->dead) {
        c->dead = 1;
        LOG_D("wyoming", "connection %llu: write failed (peer gone or not reading); closing",
              (unsigned long long)c->id);
    }
    return rc;
}

int wy_send_error(wy_conn *c, const char *code, const char *fmt, ...) {
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    LOG_D("wyoming", "connection %llu: error %s: %s", (unsigned long long)c->id, code, text);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", text);
    cJSON_AddStringToObject(d, "code", code);
    return wy_send(c, "error", d, NULL, 0);
}

static int on_ping(wy_conn *c, const wy_event *ev) {
    cJSON *d = cJSON_CreateObject();
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev->data, "text");
    if (cJSON_IsString(t))
        cJSON_AddStringToObject(d, "text", t->valuestring);
    else
        cJSON_AddNullToObject(d, "text");
    return wy_send(c, "pong", d, NULL, 0);
}

/* The event types each handler takes. */
static const char *const asr_types[] = {"transcribe", "audio-start", "audio-chunk", "audio-stop",
                                        NULL};
static const char *const tts_types[] = {"synthesize", "synthesize-start", "synthesize-chunk",
                                        "synthesize-stop", NULL};
static const char *const converse_types[] = {"transcript", "intent", "recognize", NULL};

static int one_of(const char *type, const char *const *list) {
    for (; *list; list++)
        if (strcmp(type, *list) == 0) return 1;
    return 0;
}

static int dispatch(wy_conn *c, const wy_event *ev) {
    const char *t = ev->type;
    if (strcmp(t, "describe") == 0) return wy_send(c, "info", wy_info_json(c->srv), NULL, 0);
    if (strcmp(t, "ping") == 0) return on_ping(c, ev);
    if (one_of(t, asr_types)) return wy_asr_event(c, ev);
    if (one_of(t, tts_types)) return wy_tts_event(c, ev);
    if (one_of(t, converse_types)) return wy_converse_event(c, ev);
    if (strcmp(t, "error") == 0) { /* a client telling us something failed: nothing to answer */
        LOG_I("wyoming", "connection %llu: the client reports an error: %.200s",
              (unsigned long long)c->id, wy_data_str(ev->data, "text", ""));
        return 0;
    }
    return wy_send_error(
        c, "unknown_event",
        "AXIOM does not offer '%s': it answers describe, ping, transcribe with audio-start/"
        "-chunk/-stop, synthesize (and -start/-chunk/-stop), transcript (to answer) and "
        "recognize",
        t);
}

void *wy_conn_main(void *arg) {
    wy_conn *c = arg;
    wyoming_server *srv = c->srv;
    pthread_setname_np(pthread_self(), "axiom-wyoming");
    LOG_D("wyoming", "connection %llu open", (unsigned long long)c->id);
    while (!c->dead && !atomic_load(&c->cancel)) {
        wy_event ev;
        char err[300] = "";
        wy_status st = wy_read_event(&c->rd, &srv->lim, srv->idle_timeout_ms, &ev, err, sizeof err);
        if (st == WY_EOF) break;
        if (st != WY_OK) {
            const char *code = st == WY_TOO_BIG   ? "too_big"
                               : st == WY_TIMEOUT ? "timeout"
                                                  : "bad_event";
            if (st != WY_IO && !atomic_load(&c->cancel)) {
                LOG_I("wyoming", "connection %llu closed: %s", (unsigned long long)c->id, err);
                wy_send_error(c, code, "%s", err);
            }
            break;
        }
        int rc = dispatch(c, &ev);
        wy_event_clear(&ev);
        if (rc != 0) break;
    }
    /* Unread input (a refused header's payload) would turn the close into a reset that
     * can destroy the error event before the client reads it: send our side's end
     * first, then give the client a moment (bounded) to read and close. */
    shutdown(c->fd, SHUT_WR);
    char sink[4096];
    int64_t until = now_ms() + 1000;
    while (!atomic_load(&c->cancel) && now_ms() < until) {
        struct timeval tv = {0, 100 * 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
    }
    wy_asr_free(c->asr);
    wy_tts_free(c->tts);
    wy_reader_free(&c->rd);
    LOG_D("wyoming", "connection %llu closed", (unsigned long long)c->id);
    if (srv->has_adm) srv->adm.leave(srv->adm.ctx);
    /* Last: after the count drops, wyoming_stop may free the server. The socket is
     * closed under the lock, once out of the list wyoming_stop shuts down, so it never
     * shuts down a descriptor number that was reused meanwhile. */
    pthread_mutex_lock(&srv->mu);
    for (wy_conn **pp = &srv->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    close(c->fd);
    srv->nconns--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    free(c);
    return NULL;
}
