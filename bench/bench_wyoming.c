/* axiom bench wyoming: what Home Assistant waits for when AXIOM is its Wyoming
 * speech-to-text, text-to-speech and conversation agent. An in-process server
 * (wyoming.port on a free port, HTTP off) and a client in C speaking the same wire
 * format (src/wyoming/wire.c), over loopback. Medians of BENCH_WYOMING_RUNS runs
 * (default 7 for speech, 3x that for the rest), after one warm-up of each.
 *
 * 1. transcribe: a 3.0 s utterance (goforward.raw, padded with silence) streamed at
 *    real-time pace in 1024-sample chunks as a microphone would; audio-stop ->
 *    transcript, and how many transcript-chunk events came before audio-stop.
 * 2. synthesize: a two-sentence answer; synthesize -> first audio-chunk, and -> audio-stop.
 * 3. handle: a pack question in one conversation; transcript -> first handled-chunk,
 *    and -> handled-stop.
 * 4. memory: RSS per open connection (each answered one ping, so its thread and read
 *    buffer exist), over BENCH_WYOMING_CONNS (64) connections. */
#include "../tests/support/server_fixture.h"
#include "core/util.h"
#include "wyoming/wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GOFORWARD "/usr/share/pocketsphinx/test/data/goforward.raw"
#define UTT_SAMPLES 48000 /* 3.0 s at 16 kHz */
#define CHUNK 1024

static const wy_limits LIM = {1 << 20, 1 << 22};

typedef struct {
    int fd;
    wy_reader rd;
} conn;

static int conn_open(conn *c, int port) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (c->fd >= 0) close(c->fd);
        return -1;
    }
    wy_reader_init(&c->rd, c->fd);
    return 0;
}

static void conn_close(conn *c) {
    wy_reader_free(&c->rd);
    close(c->fd);
}

/* Reads events until one of type want; *first_at (may be NULL) gets the time of the
 * first event of type first. Returns the time of want, or -1. */
static int64_t read_until(conn *c, const char *want, const char *first, int64_t *first_at,
                          int *n_first) {
    if (first_at) *first_at = -1;
    if (n_first) *n_first = 0;
    for (;;) {
        wy_event ev;
        char err[200];
        if (wy_read_event(&c->rd, &LIM, 60000, &ev, err, sizeof err) != WY_OK) {
            fprintf(stderr, "bench wyoming: read: %s\n", err);
            return -1;
        }
        int64_t t = now_us();
        int hit = strcmp(ev.type, want) == 0, err_ev = strcmp(ev.type, "error") == 0;
        if (first && strcmp(ev.type, first) == 0) {
            if (first_at && *first_at < 0) *first_at = t;
            if (n_first) (*n_first)++;
        }
        if (err_ev)
            fprintf(stderr, "bench wyoming: error event: %s\n", wy_data_str(ev.data, "text", ""));
        wy_event_clear(&ev);
        if (hit) return t;
        if (err_ev) return -1;
    }
}

static cJSON *fmt16k(void) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "rate", 16000);
    cJSON_AddNumberToObject(d, "width", 2);
    cJSON_AddNumberToObject(d, "channels", 1);
    return d;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    if (n <= 0) return -1;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void sleep_us(int64_t us) {
    if (us <= 0) return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* One transcription at real-time pace: ms from audio-stop to transcript. */
static double transcribe_once(int port, const int16_t *pcm, int *chunks_before, char *text,
                              size_t len) {
    conn c;
    if (conn_open(&c, port) != 0) return -1;
    cJSON *start = fmt16k();
    wy_write_event(c.fd, "audio-start", start, NULL, 0);
    cJSON_Delete(start);
    int64_t t0 = now_us();
    for (int i = 0; i < UTT_SAMPLES; i += CHUNK) {
        int n = UTT_SAMPLES - i < CHUNK ? UTT_SAMPLES - i : CHUNK;
        cJSON *d = fmt16k();
        wy_write_event(c.fd, "audio-chunk", d, pcm + i, (size_t)n * 2); /* little-endian host */
        cJSON_Delete(d);
        sleep_us(t0 + (int64_t)(i + n) * 1000000 / 16000 - now_us());
    }
    /* What came back while the audio was arriving is already waiting in the socket. */
    int64_t stop = now_us();
    wy_write_event(c.fd, "audio-stop", NULL, NULL, 0);
    double ms = -1;
    for (int before = 0;;) {
        wy_event ev;
        char err[200];
        if (wy_read_event(&c.rd, &LIM, 60000, &ev, err, sizeof err) != WY_OK) break;
        if (strcmp(ev.type, "transcript-chunk") == 0) before++;
        if (strcmp(ev.type, "transcript") == 0) {
            ms = (double)(now_us() - stop) / 1000.0;
            str_copy(text, len, wy_data_str(ev.data, "text", ""));
            *chunks_before = before;
        }
        int done = strcmp(ev.type, "transcript-stop") == 0 || strcmp(ev.type, "error") == 0;
        wy_event_clear(&ev);
        if (done) break;
    }
    conn_close(&c);
    return ms;
}

static const char *ANSWER =
    "The Unitree Go2 EDU is a 12-joint quadruped robot. It carries a 4D LiDAR L1 on its "
    "head and a Jetson Orin NX on its back for onboard autonomy.";

static int synth_once(int port, double *first_ms, double *all_ms) {
    conn c;
    if (conn_open(&c, port) != 0) return -1;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", ANSWER);
    int64_t t0 = now_us(), first;
    wy_write_event(c.fd, "synthesize", d, NULL, 0);
    cJSON_Delete(d);
    int64_t end = read_until(&c, "audio-stop", "audio-chunk", &first, NULL);
    conn_close(&c);
    if (end < 0 || first < 0) return -1;
    *first_ms = (double)(first - t0) / 1000.0;
    *all_ms = (double)(end - t0) / 1000.0;
    return 0;
}

static int handle_once(conn *c, double *first_ms, double *all_ms) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", "what is the unitree go2");
    cJSON *ctx = cJSON_AddObjectToObject(d, "context");
    cJSON_AddStringToObject(ctx, "conversation_id", "bench");
    int64_t t0 = now_us(), first;
    wy_write_event(c->fd, "transcript", d, NULL, 0);
    cJSON_Delete(d);
    int64_t end = read_until(c, "handled-stop", "handled-chunk", &first, NULL);
    if (end < 0 || first < 0) return -1;
    *first_ms = (double)(first - t0) / 1000.0;
    *all_ms = (double)(end - t0) / 1000.0;
    return 0;
}

static void loadavg(char *out, size_t len) {
    FILE *f = fopen("/proc/loadavg", "r");
    out[0] = '\0';
    if (f) {
        if (!fgets(out, (int)len, f)) out[0] = '\0';
        fclose(f);
    }
    char *nl = strchr(out, '\n');
    if (nl) *nl = '\0';
}

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : def;
}

int main(void) {
    int runs = env_int("BENCH_WYOMING_RUNS", 7), nconns = env_int("BENCH_WYOMING_CONNS", 64);
    char load[128];
    loadavg(load, sizeof load);
    printf("load average at start: %s\n", load);
    int16_t *pcm = calloc(UTT_SAMPLES, sizeof *pcm);
    FILE *f = fopen(GOFORWARD, "rb");
    size_t got = f && pcm ? fread(pcm, 2, UTT_SAMPLES, f) : 0;
    if (f) fclose(f);
    if (got < 40000) {
        fprintf(stderr, "bench wyoming: %s is missing (install pocketsphinx-testdata)\n",
                GOFORWARD);
        free(pcm);
        return 1;
    }
    char port[48], conns[64];
    snprintf(port, sizeof port, "wyoming.port=%d", fixture_free_port());
    snprintf(conns, sizeof conns, "wyoming.max_connections=%d", nconns + 8);
    const char *settings[] = {
        port, conns, "server.port=0", "wyoming.zeroconf=false", "log_level=error", NULL};
    server_fixture fx;
    char err[512];
    if (fixture_start(&fx, settings, err, sizeof err) != 0) {
        fprintf(stderr, "bench wyoming: server start: %s\n", err);
        free(pcm);
        return 1;
    }
    int wp = server_wyoming_port(fx.srv);

    /* 1. transcribe (the first run loads the recogniser: not counted) */
    double *v = calloc((size_t)runs * 3 + 1, sizeof *v);
    char text[512] = "";
    int before = 0, before_sum = 0, n = 0;
    transcribe_once(wp, pcm, &before, text, sizeof text);
    for (int i = 0; i < runs; i++) {
        double ms = transcribe_once(wp, pcm, &before, text, sizeof text);
        if (ms >= 0) v[n++] = ms, before_sum += before;
    }
    printf("transcribe, 3.0 s utterance at real-time pace: audio-stop -> transcript median %.1f ms "
           "(%d runs; "
           "%.1f transcript-chunk events before audio-stop on average; \"%s\")\n",
           median(v, n), n, n ? (double)before_sum / n : 0.0, text);

    /* 2. synthesize */
    double first[64], all[64];
    int m = 0, sruns = runs * 3 > 64 ? 64 : runs * 3;
    synth_once(wp, &first[0], &all[0]);
    for (int i = 0; i < sruns; i++)
        if (synth_once(wp, &first[m], &all[m]) == 0) m++;
    printf("synthesize, two sentences (%zu characters): first audio-chunk median %.1f ms, "
           "audio-stop median %.1f ms "
           "(%d runs)\n",
           strlen(ANSWER), median(first, m), median(all, m), m);

    /* 3. handle, one conversation over one connection */
    conn hc;
    m = 0;
    if (conn_open(&hc, wp) == 0) {
        handle_once(&hc, &first[0], &all[0]);
        for (int i = 0; i < sruns; i++)
            if (handle_once(&hc, &first[m], &all[m]) == 0) m++;
        conn_close(&hc);
    }
    printf("handle \"what is the unitree go2\": first handled-chunk median %.2f ms, handled-stop "
           "median %.2f ms "
           "(%d runs)\n",
           median(first, m), median(all, m), m);

    /* 4. memory per connection */
    struct timespec settle = {0, 300 * 1000 * 1000};
    nanosleep(&settle, NULL);
    int64_t rss0 = proc_rss_bytes();
    conn *cs = calloc((size_t)nconns, sizeof *cs);
    int open_n = 0;
    for (int i = 0; cs && i < nconns; i++) {
        if (conn_open(&cs[i], wp) != 0) break;
        wy_write_event(cs[i].fd, "ping", NULL, NULL, 0);
        if (read_until(&cs[i], "pong", NULL, NULL, NULL) < 0) {
            conn_close(&cs[i]);
            break;
        }
        open_n++;
    }
    int64_t rss1 = proc_rss_bytes();
    printf("memory: %d open connections, RSS %+.1f MiB, %.1f KiB per connection (thread, read "
           "buffer; client "
           "sockets in the same process)\n",
           open_n, (double)(rss1 - rss0) / (1 << 20),
           open_n ? (double)(rss1 - rss0) / 1024.0 / open_n : 0.0);
    for (int i = 0; i < open_n; i++)
        conn_close(&cs[i]);
    free(cs);
    loadavg(load, sizeof load);
    printf("load average at end: %s\n", load);
    fixture_stop(&fx);
    free(v);
    free(pcm);
    return 0;
}
