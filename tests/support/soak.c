/* Soak load: see soak.h. Notices that a capability is missing in this build
 * (tts_unavailable, stt_unavailable, speech_unavailable) are counted apart from
 * errors: they describe the build, not a failure under load. */
#include "soak.h"

#include "ws_client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const questions[] = {"what is a fuse",          "how much does it weigh",
                                        "what can you do",         "hello",
                                        "tell me about batteries", "thank you"};

typedef struct {
    int port, id, nclients, seconds, period_s;
    atomic_long *answered_total;
    soak_totals t;
} soak_client;

static void note_error(soak_client *c, const char *fmt, const char *what) {
    snprintf(c->t.last_error, sizeof c->t.last_error, fmt, what);
}

static void *client_main(void *arg) {
    soak_client *c = arg;
    char err[256];
    int st;
    ws_client *ws = ws_client_connect(c->port, "/ws", NULL, 10000, &st, err, sizeof err);
    if (!ws) {
        c->t.connect_failures++;
        note_error(c, "connect: %.200s", err);
        return NULL;
    }
    const int64_t frame_us = 32000;
    int64_t start = wsc_now_us(), end = start + (int64_t)c->seconds * 1000000;
    int64_t next_q = start + 500000 + (int64_t)c->period_s * 1000000 * c->id / c->nclients;
    int64_t asked_at = 0;
    int waiting = 0, qi = c->id;
    unsigned seed = (unsigned)c->id * 2654435761u;
    unsigned char buf[1024];
    for (int64_t k = 0;; k++) {
        int64_t due = start + k * frame_us;
        for (;;) {
            int64_t now = wsc_now_us();
            if (now >= due) break;
            ws_msg m;
            int r = ws_client_recv(ws, (int)((due - now + 999) / 1000), &m);
            if (r < 0) {
                c->t.disconnects++;
                snprintf(c->t.last_error, sizeof c->t.last_error, "closed %d %.150s",
                         ws_client_close_code(ws), ws_client_close_reason(ws));
                goto out;
            }
            if (r == 0 || m.opcode != WSC_TEXT) continue;
            const char *txt = (const char *)m.data;
            if (strstr(txt, "\"error\"")) {
                if (strstr(txt, "_unavailable\"")) {
                    c->t.notices++;
                } else {
                    c->t.error_events++;
                    note_error(c, "error event %.200s", txt);
                }
            }
            if (waiting && strstr(txt, "ready_to_listen")) {
                waiting = 0;
                c->t.answered++;
                atomic_fetch_add(c->answered_total, 1);
            }
        }
        int64_t now = wsc_now_us();
        if (waiting && now - asked_at > 20000000) {
            waiting = 0;
            c->t.unanswered++;
            note_error(c, "%s", "a question got no ready_to_listen within 20 s");
        }
        if (now >= end && !waiting) break;
        if (!waiting && now >= next_q && now < end) {
            char msg[160];
            snprintf(msg, sizeof msg, "{\"event\":\"text\",\"text\":\"%s\"}",
                     questions[qi++ % (int)(sizeof questions / sizeof questions[0])]);
            if (ws_client_send_text(ws, msg) != 0) {
                c->t.disconnects++;
                break;
            }
            c->t.asked++;
            waiting = 1;
            asked_at = now;
            next_q += (int64_t)c->period_s * 1000000;
        }
        /* Quiet room noise (about -60 dBFS): the detectors run, nothing is speech. */
        for (int i = 0; i < 512; i++) {
            seed = seed * 1103515245u + 12345u;
            int16_t v = (int16_t)((int)((seed >> 16) % 61) - 30);
            buf[2 * i] = (unsigned char)(v & 0xff);
            buf[2 * i + 1] = (unsigned char)((uint16_t)v >> 8);
        }
        if (ws_client_send_binary(ws, buf, sizeof buf) != 0) {
            c->t.disconnects++;
            break;
        }
        c->t.frames++;
    }
out:
    ws_client_close(ws, 1000);
    ws_client_free(ws);
    return NULL;
}

void soak_run(server_proc *p, int clients, int seconds, int period_s, int sample_s,
              soak_sample_fn on_sample, void *user, soak_totals *out) {
    memset(out, 0, sizeof *out);
    soak_client *cs = calloc((size_t)clients, sizeof *cs);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    atomic_long answered = 0;
    if (!cs || !th) {
        free(cs);
        free(th);
        snprintf(out->last_error, sizeof out->last_error, "out of memory");
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int started = 0;
    for (int i = 0; i < clients; i++) {
        cs[i] = (soak_client){p->port, i, clients, seconds, period_s, &answered, {0}};
        if (pthread_create(&th[i], &attr, client_main, &cs[i]) != 0) break;
        started++;
    }
    pthread_attr_destroy(&attr);
    int64_t t0 = wsc_now_us();
    for (int k = 1; (int64_t)k * sample_s <= seconds; k++) {
        int64_t due = t0 + (int64_t)k * sample_s * 1000000;
        int64_t now = wsc_now_us();
        if (due > now) usleep((useconds_t)(due - now));
        soak_sample s = {(double)(wsc_now_us() - t0) / 1e6, server_proc_rss_kb(p),
                         server_proc_fds(p), server_proc_threads(p), atomic_load(&answered)};
        if (on_sample) on_sample(user, &s);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < started; i++) {
        soak_totals *t = &cs[i].t;
        out->asked += t->asked;
        out->answered += t->answered;
        out->unanswered += t->unanswered;
        out->error_events += t->error_events;
        out->notices += t->notices;
        out->disconnects += t->disconnects;
        out->connect_failures += t->connect_failures;
        out->frames += t->frames;
        if (t->last_error[0]) memcpy(out->last_error, t->last_error, sizeof out->last_error);
    }
    out->connect_failures += clients - started;
    free(cs);
    free(th);
}
