/* Hostile clients: see hostile.h. Each attack is a plain function so that the test and
 * the benchmark run exactly the same sequence. */
#include "hostile.h"

#include "ws_client.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const questions[] = {"what is a fuse", "hello", "how much does it weigh",
                                        "what can you do", "thank you"};

/* Receives until a message containing needle; 1 found, 0 timeout, -1 closed. */
static int wait_text(ws_client *c, const char *needle, int timeout_ms) {
    int64_t end = wsc_now_us() + (int64_t)timeout_ms * 1000;
    while (wsc_now_us() < end) {
        ws_msg m;
        int r = ws_client_recv(c, (int)((end - wsc_now_us()) / 1000) + 1, &m);
        if (r < 0) return -1;
        if (r == 1 && m.opcode == WSC_TEXT && strstr((char *)m.data, needle)) return 1;
    }
    return 0;
}

static void *good_main(void *arg) {
    good_client *g = arg;
    char err[256];
    int st;
    ws_client *c = ws_client_connect(g->port, "/ws", NULL, 5000, &st, err, sizeof err);
    if (!c) {
        g->failed++;
        snprintf(g->last_error, sizeof g->last_error, "connect: %d %.150s", st, err);
        return NULL;
    }
    for (int i = 0; !g->stop; i++) {
        char msg[200];
        snprintf(msg, sizeof msg, "{\"event\":\"text\",\"text\":\"%s\"}",
                 questions[i % (int)(sizeof questions / sizeof questions[0])]);
        int64_t t0 = wsc_now_us();
        g->asked++;
        if (ws_client_send_text(c, msg) != 0 || wait_text(c, "ready_to_listen", 20000) != 1) {
            g->failed++;
            snprintf(g->last_error, sizeof g->last_error, "turn %d not answered within 20 s", i);
            break;
        }
        g->answered++;
        if (g->nlat < (int)(sizeof g->lat_ms / sizeof g->lat_ms[0]))
            g->lat_ms[g->nlat++] = (double)(wsc_now_us() - t0) / 1000.0;
        usleep(200 * 1000); /* a person does not ask back to back */
    }
    ws_client_free(c);
    return NULL;
}

int good_client_start(good_client *g, int port) {
    memset(g, 0, sizeof *g);
    g->port = port;
    if (pthread_create(&g->thread, NULL, good_main, g) != 0) return -1;
    g->started = 1;
    return 0;
}

void good_client_stop(good_client *g) {
    g->stop = 1;
    if (g->started) pthread_join(g->thread, NULL);
    g->started = 0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double good_client_pct(good_client *g, double p) {
    if (g->nlat == 0) return NAN;
    double v[4096];
    memcpy(v, g->lat_ms, (size_t)g->nlat * sizeof *v);
    qsort(v, (size_t)g->nlat, sizeof *v, cmp_d);
    int i = (int)ceil(p / 100.0 * g->nlat) - 1;
    return v[i < 0 ? 0 : i >= g->nlat ? g->nlat - 1 : i];
}

long hostile_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    fclose(f);
    return kb;
}

static ws_client *open_ws(int port, const char *headers, int *status) {
    char err[256];
    return ws_client_connect(port, "/ws", headers, 5000, status, err, sizeof err);
}

/* 10x the session limit at once: the extra ones get the busy close. */
static void flood(int port, int max_sessions, hostile_result *r) {
    int n = 10 * max_sessions;
    ws_client **cs = calloc((size_t)n, sizeof *cs);
    if (!cs) return;
    for (int i = 0; i < n; i++) {
        int st;
        cs[i] = open_ws(port, NULL, &st);
        if (cs[i]) r->flood_opened++;
    }
    for (int i = 0; i < n; i++) {
        if (!cs[i]) continue;
        ws_msg m;
        int64_t end = wsc_now_us() + 3000 * 1000;
        while (wsc_now_us() < end && ws_client_recv(cs[i], 100, &m) >= 0) {
            if (ws_client_close_code(cs[i])) break;
        }
        if (ws_client_close_code(cs[i]) == 1013) r->flood_busy++;
    }
    for (int i = 0; i < n; i++)
        ws_client_free(cs[i]);
    free(cs);
}

/* Asks for many answers and never reads: the server must cut it off rather than
 * queue without bound. */
static void slow_reader(int port, hostile_result *r) {
    int st;
    ws_client *c = open_ws(port, NULL, &st);
    if (!c) return;
    ws_client_set_rcvbuf(c, 4096);
    char hello[200];
    snprintf(hello, sizeof hello, "{\"event\":\"hello\",\"sample_rate\":16000,\"pad\":\"%0120d\"}",
             0);
    for (int i = 0; i < 20000; i++)
        if (ws_client_send_text(c, hello) != 0) break;
    /* Now drain: a dropped client sees the connection end. */
    int64_t end = wsc_now_us() + 10 * 1000000;
    ws_msg m;
    while (wsc_now_us() < end) {
        int rc = ws_client_recv(c, 500, &m);
        if (rc < 0) {
            r->slow_reader_dropped = 1;
            break;
        }
    }
    ws_client_free(c);
}

static void bytewise(int port, hostile_result *r) {
    int st;
    ws_client *c = open_ws(port, NULL, &st);
    if (!c) return;
    const char *msg = "{\"event\":\"hello\",\"timings\":true}";
    size_t n = strlen(msg);
    unsigned char frame[64];
    frame[0] = 0x81;
    frame[1] = (unsigned char)(0x80 | n);
    const unsigned char mask[4] = {1, 2, 3, 4};
    memcpy(frame + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        frame[6 + i] = (unsigned char)msg[i] ^ mask[i & 3];
    int ok = 1;
    for (size_t i = 0; i < 6 + n && ok; i++) {
        ok = ws_client_send_raw(c, frame + i, 1) == 0;
        usleep(2000);
    }
    r->bytewise_hello_answered = ok && wait_text(c, "\"hello\"", 5000) == 1;
    ws_client_free(c);
}

/* A 100 MB binary frame: announced, then streamed until the server stops taking it. */
static void huge_frame(int port, hostile_result *r) {
    int st;
    ws_client *c = open_ws(port, NULL, &st);
    if (!c) return;
    const uint64_t len = 100ull << 20;
    unsigned char h[14] = {0x82, 0x80 | 127};
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    memset(h + 10, 0, 4); /* zero mask: payload bytes go as they are */
    ws_client_send_raw(c, h, sizeof h);
    size_t chunk = 1 << 20;
    unsigned char *zeros = calloc(1, chunk);
    for (uint64_t sent = 0; zeros && sent < len; sent += chunk)
        if (ws_client_send_raw(c, zeros, chunk) != 0) break;
    free(zeros);
    ws_msg m;
    int64_t end = wsc_now_us() + 10 * 1000000;
    while (wsc_now_us() < end && ws_client_recv(c, 500, &m) >= 0) {
    }
    r->huge_frame_close = ws_client_close_code(c);
    ws_client_free(c);
}

static void wrong_types(int port, hostile_result *r) {
    int st;
    ws_client *c = open_ws(port, NULL, &st);
    if (!c) return;
    const char *json = "{\"event\":\"text\",\"text\":\"hello\"}";
    ws_client_send_binary(c, json, strlen(json)); /* binary is audio, whatever it holds */
    ws_client_send_text(c, "{\"event\":\"client_ready\"}");
    r->text_as_audio_ok = wait_text(c, "idle", 5000) == 1;
    unsigned char pcm[640];
    for (size_t i = 0; i < sizeof pcm; i++)
        pcm[i] = (unsigned char)(i * 37 + 0x80);
    ws_client_send_frame(c, WSC_TEXT, 1, pcm, sizeof pcm);
    int64_t end = wsc_now_us() + 5000 * 1000;
    while (wsc_now_us() < end) {
        ws_msg m;
        int rc = ws_client_recv(c, 200, &m);
        if (rc < 0) { /* closing on invalid UTF-8 (1007) is a clean refusal too */
            r->audio_as_text_error = ws_client_close_code(c) == 1007;
            break;
        }
        if (rc == 1 && m.opcode == WSC_TEXT && strstr((char *)m.data, "bad_message")) {
            r->audio_as_text_error = 1;
            break;
        }
    }
    ws_client_free(c);
}

static void mid_frame(int port, hostile_result *r) {
    for (int i = 0; i < 5; i++) {
        int st;
        ws_client *c = open_ws(port, NULL, &st);
        if (!c) return;
        unsigned char h[8] = {0x82, 0x80 | 126, 0x10, 0x00, 9, 9, 9, 9};
        ws_client_send_raw(c, h, sizeof h);
        ws_client_send_raw(c, "partial", 7);
        ws_client_free(c); /* gone with 4 KB announced and 7 bytes sent */
    }
    char body[256];
    r->mid_frame_disconnect_ok =
        http_request(port, "GET", "/health", NULL, NULL, body, sizeof body) == 200;
}

void hostile_run(int port, int max_sessions, hostile_result *r) {
    memset(r, 0, sizeof *r);
    flood(port, max_sessions, r);
    slow_reader(port, r);
    bytewise(port, r);
    huge_frame(port, r);
    wrong_types(port, r);
    mid_frame(port, r);
    int st;
    ws_client *c = open_ws(port, "Origin: http://evil.example\r\n", &st);
    r->foreign_origin_status = c ? 101 : st;
    ws_client_free(c);
    static char body[1 << 16];
    r->dotdot_status =
        http_request(port, "GET", "/../../../../etc/passwd", NULL, NULL, body, sizeof body);
    r->dotdot_leaked = strstr(body, "root:") != NULL;
    int s2 = http_request(port, "GET", "/%2e%2e/%2e%2e/etc/passwd", NULL, NULL, body, sizeof body);
    if (strstr(body, "root:")) r->dotdot_leaked = 1;
    if (s2 == 200) r->dotdot_status = 200;
    size_t n = 100 * 1024;
    char *url = malloc(n + 2);
    if (url) {
        url[0] = '/';
        memset(url + 1, 'a', n);
        url[n + 1] = '\0';
        r->overlong_status = http_request(port, "GET", url, NULL, NULL, body, sizeof body);
        free(url);
    }
}
