/* axiom bench limits: what floods cost an in-process server (server and clients run in
 * this process; the clients' own memory is a shared send buffer and small stacks).
 *
 * 1. Ask flood: BENCH_LIMITS_ASKS (default 500) concurrent POST /api/ask against a
 *    language model that never answers (the scripted Ollama peer,
 *    tests/support/llm_peer.c, holding every request open). Prints how the asks were
 *    answered (200 / 503 + Retry-After / 504 / other), how long the flood took, and
 *    during it /health latency and a WebSocket text turn's latency.
 * 2. Big frames: BENCH_LIMITS_FRAME_CLIENTS (default 200) WebSocket clients each
 *    announce a 1 GiB binary frame and send BENCH_LIMITS_FRAME_MB (default 24) MiB of
 *    it. Prints RSS idle, while the frames are being sent, and after; the bytes the
 *    clients managed to send; and a good client's text-turn latency meanwhile. */
#include "../tests/support/llm_peer.h"
#include "../tests/support/server_fixture.h"
#include "../tests/support/ws_client.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* Peak RSS since the last reset_peak() (VmHWM). */
static long peak_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1) break;
    fclose(f);
    return kb;
}

static void reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static int tcp_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

static pthread_t spawn(void *(*fn)(void *), void *arg) {
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 128 * 1024);
    pthread_t t;
    if (pthread_create(&t, &at, fn, arg) != 0) t = 0;
    pthread_attr_destroy(&at);
    return t;
}

/* A typed turn over /ws: milliseconds to ready_to_listen, or -1. */
static double ws_turn_ms(int port) {
    char err[256];
    int st = 0;
    int64_t t0 = wsc_now_us();
    ws_client *c = ws_client_connect(port, "/ws", NULL, 30000, &st, err, sizeof err);
    if (!c) return -1;
    double ms = -1;
    if (ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"hello\"}") == 0) {
        for (int i = 0; i < 50; i++) {
            ws_msg m;
            if (ws_client_recv(c, 30000, &m) <= 0) break;
            if (m.opcode == WSC_TEXT && strstr((const char *)m.data, "ready_to_listen")) {
                ms = (double)(wsc_now_us() - t0) / 1000.0;
                break;
            }
        }
    }
    ws_client_free(c);
    return ms;
}

static double health_ms(int port) {
    static char body[4096];
    int64_t t0 = wsc_now_us();
    int st = http_request(port, "GET", "/health", NULL, NULL, body, sizeof body);
    return st == 200 ? (double)(wsc_now_us() - t0) / 1000.0 : -1;
}

/* ---- 1. ask flood ---- */

typedef struct {
    int port;
    int status, retry_after;
} asker;

static void *ask_thread(void *arg) {
    asker *a = arg;
    a->status = -1;
    int fd = tcp_to(a->port);
    if (fd < 0) return NULL;
    const char *json = "{\"text\":\"what could I build for a science fair\"}";
    char req[512];
    int n = snprintf(req, sizeof req,
                     "POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     a->port, strlen(json), json);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
        char resp[4096];
        http_read_reply(fd, resp, sizeof resp, 60000);
        sscanf(resp, "HTTP/1.%*d %d", &a->status);
        const char *ra = strcasestr(resp, "\r\nRetry-After:");
        a->retry_after = ra ? atoi(ra + 14) : 0;
    }
    close(fd);
    return NULL;
}

static void ask_flood(void) {
    static const char *const tags_ok[] = {
        "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        "{\"models\":[{\"name\":\"tiny:latest\",\"model\":\"tiny:latest\",\"size\":1}]}",
        NULL};
    static const char *const never_answers[] = {"H", NULL};
    const char *env = getenv("BENCH_LIMITS_ASKS");
    int n = env ? atoi(env) : 500;
    if (n < 1) n = 1;
    llm_peer *p = llm_peer_start();
    if (!p) {
        printf("ask flood: cannot start the scripted LLM peer\n");
        return;
    }
    llm_peer_route(p, "GET /api/tags", tags_ok);
    llm_peer_route(p, "POST /api/chat", never_answers);
    char url[64];
    snprintf(url, sizeof url, "llm.url=http://127.0.0.1:%d", llm_peer_port(p));
    /* Default limits (ask bound, ask deadline, LLM deadlines, max_sessions). */
    const char *settings[] = {"llm.backend=ollama", "llm.model=tiny", url, "tts.backend=none",
                              "vad.backend=energy", "log_level=off",  NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        printf("ask flood: server start failed: %s\n", err);
        llm_peer_stop(p);
        return;
    }
    double h0 = health_ms(f.port), w0 = ws_turn_ms(f.port);
    asker *a = calloc((size_t)n, sizeof *a);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    int64_t t0 = wsc_now_us();
    for (int i = 0; i < n; i++) {
        a[i].port = f.port;
        th[i] = spawn(ask_thread, &a[i]);
    }
    double hmax = 0, hsum = 0;
    int hn = 0, hfail = 0;
    for (int i = 0; i < 10; i++) {
        usleep(100 * 1000); /* spread over the first second of the flood */
        double ms = health_ms(f.port);
        if (ms < 0)
            hfail++;
        else {
            hsum += ms;
            hn++;
            if (ms > hmax) hmax = ms;
        }
    }
    double wms = ws_turn_ms(f.port);
    int counts[4] = {0}; /* 200, 503, 504, other */
    int with_retry = 0;
    for (int i = 0; i < n; i++) {
        if (th[i]) pthread_join(th[i], NULL);
        int k = a[i].status == 200 ? 0 : a[i].status == 503 ? 1 : a[i].status == 504 ? 2 : 3;
        counts[k]++;
        if (a[i].status == 503 && a[i].retry_after > 0) with_retry++;
    }
    double wall = (double)(wsc_now_us() - t0) / 1e6;
    printf("ask flood: %d concurrent POST /api/ask, LLM never answers (defaults: "
           "server.ask_max_concurrent = half the turn workers, server.ask_timeout_s 20, "
           "llm.first_token_timeout_ms 3000)\n",
           n);
    printf("  answered: %d x 200 (fallback after the LLM deadline), %d x 503 (%d with "
           "Retry-After), %d x 504, %d other; all done in %.1f s\n",
           counts[0], counts[1], with_retry, counts[2], counts[3], wall);
    printf("  /health quiet %.1f ms; during the flood mean %.1f ms, max %.1f ms, %d failed of 10\n",
           h0, hn ? hsum / hn : NAN, hmax, hfail);
    printf("  WebSocket text turn quiet %.1f ms; during the flood %.1f ms\n", w0, wms);
    printf("  RSS after %ld KiB\n", rss_kb());
    free(a);
    free(th);
    llm_peer_stop(p);
    fixture_stop(&f);
}

/* ---- 2. big frames ---- */

#define GIB (1024LL * 1024 * 1024)

typedef struct {
    int port;
    long long send_bytes;
    long long sent;
    int refused; /* the server closed the connection before all was sent */
    atomic_int *done;
    volatile int *release;
} framer;

static const unsigned char *zeros(size_t *n) {
    static unsigned char buf[64 * 1024];
    *n = sizeof buf;
    return buf;
}

static void *framer_thread(void *arg) {
    framer *c = arg;
    char err[256];
    int st = 0;
    ws_client *ws = ws_client_connect(c->port, "/ws", NULL, 30000, &st, err, sizeof err);
    if (!ws) {
        c->refused = 1;
        atomic_fetch_add(c->done, 1);
        return NULL;
    }
    /* FIN + binary, masked, 64-bit length 1 GiB, mask key 0 (the payload goes as is). */
    unsigned char h[14] = {0x82, 0x80 | 127};
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((unsigned long long)GIB >> (56 - 8 * i));
    memset(h + 10, 0, 4);
    int fd = ws_client_fd(ws);
    if (send(fd, h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h) c->refused = 1;
    size_t zn;
    const unsigned char *z = zeros(&zn);
    while (!c->refused && c->sent < c->send_bytes) {
        size_t k = zn;
        if ((long long)k > c->send_bytes - c->sent) k = (size_t)(c->send_bytes - c->sent);
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, 3000) <= 0) {
            c->refused = 1; /* the server stopped reading: it will not take more */
            break;
        }
        ssize_t r = send(fd, z, k, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            c->refused = 1;
            break;
        }
        c->sent += r;
    }
    atomic_fetch_add(c->done, 1);
    while (!*c->release)
        usleep(20 * 1000);
    ws_client_free(ws);
    return NULL;
}

static void big_frames(void) {
    const char *env = getenv("BENCH_LIMITS_FRAME_CLIENTS");
    int n = env ? atoi(env) : 200;
    env = getenv("BENCH_LIMITS_FRAME_MB");
    long long mb = env ? atoll(env) : 24;
    if (n < 1) n = 1;
    char maxs[48];
    snprintf(maxs, sizeof maxs, "server.max_sessions=%d", n + 10);
    const char *settings[] = {
        maxs, "tts.backend=none", "vad.backend=energy", "mode=template-only", "log_level=off",
        NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        printf("big frames: server start failed: %s\n", err);
        return;
    }
    double w0 = ws_turn_ms(f.port);
    long idle = rss_kb();
    reset_peak();
    atomic_int done;
    atomic_init(&done, 0);
    volatile int release = 0;
    framer *c = calloc((size_t)n, sizeof *c);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    int64_t t0 = wsc_now_us();
    for (int i = 0; i < n; i++) {
        c[i].port = f.port;
        c[i].send_bytes = mb << 20;
        c[i].done = &done;
        c[i].release = &release;
        th[i] = spawn(framer_thread, &c[i]);
    }
    long peak = idle;
    double wms = -1;
    while (atomic_load(&done) < n) {
        long r = rss_kb();
        if (r > peak) peak = r;
        if (wms < 0) wms = ws_turn_ms(f.port); /* as the flood starts */
        usleep(50 * 1000);
    }
    long during = rss_kb();
    if (during > peak) peak = during;
    long hwm = peak_kb();
    if (hwm > peak) peak = hwm;
    double wheld = ws_turn_ms(f.port);
    double secs = (double)(wsc_now_us() - t0) / 1e6;
    long long sent = 0;
    int cut = 0;
    for (int i = 0; i < n; i++) {
        sent += c[i].sent;
        cut += c[i].refused;
    }
    release = 1;
    for (int i = 0; i < n; i++)
        if (th[i]) pthread_join(th[i], NULL);
    usleep(500 * 1000);
    long after = rss_kb();
    printf("big frames: %d clients each announce a 1 GiB binary frame and send up to %lld MiB "
           "(server.max_message_bytes 65536)\n",
           n, mb);
    printf("  sent %.1f MiB in total (%.2f MiB per client), %d cut off by the server, %.1f s\n",
           (double)sent / 1048576.0, (double)sent / 1048576.0 / n, cut, secs);
    printf("  RSS idle %ld KiB, peak while sending %ld KiB (+%.1f MiB), once every client had "
           "sent or been cut off %ld KiB, after they left %ld KiB\n",
           idle, peak, (double)(peak - idle) / 1024.0, during, after);
    printf("  bound asked for: idle + %d x 64 KiB + a few MiB = %ld KiB + %.1f MiB\n", n, idle,
           n * 64.0 / 1024.0);
    printf("  good client's text turn: quiet %.1f ms, during the flood %.1f ms, after it %.1f ms\n",
           w0, wms, wheld);
    free(c);
    free(th);
    fixture_stop(&f);
}

int main(void) {
    const char *only = getenv("BENCH_LIMITS_ONLY"); /* "asks" or "frames" */
    if (!only || strcmp(only, "asks") == 0) ask_flood();
    if (!only || strcmp(only, "frames") == 0) big_frames();
    return 0;
}
