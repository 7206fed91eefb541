/* Per-client outgoing queue and its sender thread.
 *
 * Producers (network thread, pools) append and return at once; only the sender
 * thread writes to the socket, so a client that stops reading blocks nobody else.
 * The queue is bounded in bytes (server.send_queue_kb): past the bound the client is
 * a slow reader and is dropped (its socket is shut down, which wakes its network
 * thread and runs the normal close path). Messages keep their order. A message may
 * wait for the client's playback to end (ready_to_listen), estimated from the audio
 * durations already sent. */
#include "core/log.h"
#include "core/util.h"
#include "server/server_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct out_msg {
    out_msg *next;
    int opcode;
    uint64_t turn;
    int audio_ms;
    int after_playback;
    size_t len;
    unsigned char data[];
};

int send_queue_init(send_queue *q, size_t limit) {
    memset(q, 0, sizeof *q);
    q->limit = limit;
    if (pthread_mutex_init(&q->mu, NULL) != 0) return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    return 0;
}

static void free_list(out_msg *m) {
    while (m) {
        out_msg *n = m->next;
        free(m);
        m = n;
    }
}

void send_queue_destroy(send_queue *q) {
    free_list(q->head);
    q->head = q->tail = NULL;
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

void ws_send_close(struct mg_connection *conn, int code, const char *reason) {
    unsigned char payload[125];
    payload[0] = (unsigned char)(code >> 8);
    payload[1] = (unsigned char)(code & 0xff);
    size_t n = reason ? strlen(reason) : 0;
    if (n > sizeof payload - 2) n = sizeof payload - 2; /* control frames hold 125 bytes */
    if (n) memcpy(payload + 2, reason, n);
    mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, (const char *)payload, n + 2);
}

void session_drop(ws_session *s, const char *why) {
    pthread_mutex_lock(&s->mu);
    if (s->open && s->fd >= 0) {
        LOG_W("server", "session %llu: dropping client: %s", (unsigned long long)s->id, why);
        /* shutdown, not close: the descriptor stays civetweb's until its close path. */
        shutdown(s->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->sq.mu);
    s->sq.dead = 1;
    free_list(s->sq.head);
    s->sq.head = s->sq.tail = NULL;
    s->sq.bytes = 0;
    pthread_cond_broadcast(&s->sq.cv);
    pthread_mutex_unlock(&s->sq.mu);
}

int session_send(ws_session *s, int opcode, const void *data, size_t len, uint64_t turn,
                 int audio_ms, int after_playback) {
    send_queue *q = &s->sq;
    pthread_mutex_lock(&q->mu);
    if (q->dead || q->stopping) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    if (turn && turn <= q->purged_turn) {
        /* A cancelled answer still finishing a sentence: its output is not wanted. */
        pthread_mutex_unlock(&q->mu);
        return 0;
    }
    if (q->bytes + len > q->limit) {
        pthread_mutex_unlock(&q->mu);
        metrics_add(s->srv->metrics, COUNT_SLOW_DROPPED, 1);
        session_drop(s, "outgoing queue full (client not reading; server.send_queue_kb)");
        return -1;
    }
    out_msg *m = malloc(sizeof *m + len);
    if (!m) {
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    m->next = NULL;
    m->opcode = opcode;
    m->turn = turn;
    m->audio_ms = audio_ms;
    m->after_playback = after_playback;
    m->len = len;
    if (len) memcpy(m->data, data, len);
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += len;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int session_send_text(ws_session *s, const char *json, uint64_t turn) {
    return session_send(s, MG_WEBSOCKET_OPCODE_TEXT, json, strlen(json), turn, 0, 0);
}

void send_queue_purge_turn(send_queue *q, uint64_t turn) {
    pthread_mutex_lock(&q->mu);
    out_msg **pp = &q->head, *last = NULL;
    while (*pp) {
        out_msg *m = *pp;
        if (m->turn == turn) {
            *pp = m->next;
            q->bytes -= m->len;
            free(m);
        } else {
            last = m;
            pp = &m->next;
        }
    }
    q->tail = last;
    if (turn > q->purged_turn) q->purged_turn = turn;
    q->play_end_ms = now_ms(); /* the client stops playback on barge_in */
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void cond_wait_until_ms(send_queue *q, int64_t deadline_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t wait = deadline_ms - now;
    if (wait <= 0) return;
    ts.tv_sec += wait / 1000;
    ts.tv_nsec += (wait % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&q->cv, &q->mu, &ts);
}

static void *sender_main(void *arg) {
    ws_session *s = arg;
    send_queue *q = &s->sq;
    pthread_setname_np(pthread_self(), "axiom-send");
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->dead || (q->stopping && !q->head)) break;
        out_msg *m = q->head;
        if (!m) {
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        if (m->after_playback && !q->stopping) {
            int64_t now = now_ms();
            if (q->play_end_ms > now) {
                cond_wait_until_ms(q, q->play_end_ms);
                continue; /* re-check: a barge-in may have purged it */
            }
        }
        q->head = m->next;
        if (!q->head) q->tail = NULL;
        q->bytes -= m->len;
        pthread_mutex_unlock(&q->mu);
        int rc = mg_websocket_write(s->conn, m->opcode, (const char *)m->data, m->len);
        if (rc > 0) {
            metrics_add(s->srv->metrics, COUNT_MESSAGES_OUT, 1);
            metrics_add(s->srv->metrics, COUNT_BYTES_OUT, (int64_t)m->len);
        }
        pthread_mutex_lock(&q->mu);
        if (m->audio_ms > 0) {
            int64_t now = now_ms();
            if (q->play_end_ms < now) q->play_end_ms = now;
            q->play_end_ms += m->audio_ms;
        }
        free(m);
        if (rc <= 0) q->dead = 1;
    }
    free_list(q->head);
    q->head = q->tail = NULL;
    q->bytes = 0;
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int send_queue_start(ws_session *s) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* The sender only copies bytes into the socket: a small stack keeps each idle
     * session's memory low. */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = pthread_create(&s->sq.thread, &attr, sender_main, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) return -1;
    s->sq.started = 1;
    return 0;
}

void send_queue_stop(ws_session *s) {
    send_queue *q = &s->sq;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    q->dead = 1; /* the connection is closing: nothing more can be delivered */
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (q->started) pthread_join(q->thread, NULL);
    q->started = 0;
}
