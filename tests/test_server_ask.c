/* POST /api/ask under load, against a real in-process server whose language model is
 * the scripted Ollama peer (tests/support/llm_peer.c) set never to answer: asks past
 * server.ask_max_concurrent are refused with 503 and Retry-After, admitted ones get
 * 504 at server.ask_timeout_s and are stopped (the slots come back), and meanwhile
 * /health and a WebSocket text turn are still answered. At the governor's critical
 * level asks are refused with 503 and Retry-After. The 500-ask figures are in
 * `axiom bench limits`. */
#include "check.h"
#include "core/engine.h"
#include "mem/governor.h"
#include "support/llm_peer.h"
#include "support/server_fixture.h"
#include "support/ws_client.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define OPEN_Q "what could I build for a science fair"

static const char *const tags_ok[] = {
    "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    "{\"models\":[{\"name\":\"tiny:latest\",\"model\":\"tiny:latest\",\"size\":1}]}",
    NULL};
static const char *const never_answers[] = {"H", NULL};

/* One POST /api/ask; returns the status, with the Retry-After value (0 = none) and
 * the body. */
static int ask_raw(int port, const char *question, int *retry_after, char *body, size_t cap) {
    *retry_after = 0;
    body[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    char json[256], req[1024];
    int jn = snprintf(json, sizeof json, "{\"text\":\"%s\"}", question);
    int n = snprintf(req, sizeof req,
                     "POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
                     "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                     port, jn, json);
    int status = -1;
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
        char resp[8192];
        http_read_reply(fd, resp, sizeof resp, 30000);
        sscanf(resp, "HTTP/1.%*d %d", &status);
        const char *ra = strcasestr(resp, "\r\nRetry-After:");
        const char *he = strstr(resp, "\r\n\r\n");
        if (ra && he && ra < he) *retry_after = atoi(ra + 14);
        snprintf(body, cap, "%s", he ? he + 4 : "");
    }
    close(fd);
    return status;
}

typedef struct {
    int port;
    pthread_t th;
    int status, retry_after;
    char body[512];
} asker;

static void *ask_thread(void *arg) {
    asker *a = arg;
    a->status = ask_raw(a->port, OPEN_Q, &a->retry_after, a->body, sizeof a->body);
    return NULL;
}

static int asks_running(int port) {
    static char st[1 << 16];
    if (http_request(port, "GET", "/api/status", NULL, NULL, st, sizeof st) != 200) return -1;
    cJSON *o = cJSON_Parse(st);
    int n =
        (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "asks"), "running"));
    cJSON_Delete(o);
    return n;
}

/* A typed turn over /ws; returns 1 when ready_to_listen came with an answer. */
static int ws_text_turn(int port, const char *question) {
    char err[256];
    int st = 0;
    ws_client *c = ws_client_connect(port, "/ws", NULL, 5000, &st, err, sizeof err);
    if (!c) return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "{\"event\":\"text\",\"text\":\"%s\"}", question);
    int spoke = 0, done = 0;
    if (ws_client_send_text(c, msg) == 0) {
        for (int i = 0; i < 50 && !done; i++) {
            ws_msg m;
            int r = ws_client_recv(c, 20000, &m);
            if (r <= 0) break;
            if (m.opcode != WSC_TEXT) continue;
            if (strstr((const char *)m.data, "\"speaking\"")) spoke = 1;
            if (strstr((const char *)m.data, "ready_to_listen")) done = 1;
        }
    }
    ws_client_free(c);
    return spoke && done;
}

static void test_bound_deadline_and_responsiveness(void) {
    llm_peer *p = llm_peer_start();
    CHECK(p != NULL);
    if (!p) return;
    llm_peer_route(p, "GET /api/tags", tags_ok);
    llm_peer_route(p, "POST /api/chat", never_answers);
    char url[64];
    snprintf(url, sizeof url, "llm.url=http://127.0.0.1:%d", llm_peer_port(p));
    /* The LLM's own deadlines far away: only the ask deadline and its cancel end a turn. */
    const char *settings[] = {"llm.backend=ollama",
                              "llm.model=tiny",
                              url,
                              "llm.first_token_timeout_ms=600000",
                              "llm.total_timeout_ms=600000",
                              "server.workers=4",
                              "server.ask_max_concurrent=2",
                              "server.ask_timeout_s=2",
                              "tts.backend=none",
                              "vad.backend=energy",
                              NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        llm_peer_stop(p);
        return;
    }
    enum { N = 24 };
    static asker a[N];
    for (int i = 0; i < N; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].port = f.port;
        pthread_create(&a[i].th, NULL, ask_thread, &a[i]);
    }
    usleep(300 * 1000);
    /* While two asks hang on the LLM and the rest are being refused: */
    static char body[4096];
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", NULL, NULL, body, sizeof body), 200);
    CHECK_MSG(ws_text_turn(f.port, "hello"), "a WebSocket text turn was not answered");
    for (int i = 0; i < N; i++)
        pthread_join(a[i].th, NULL);
    int n503 = 0, n504 = 0, other = 0;
    for (int i = 0; i < N; i++) {
        if (a[i].status == 503) {
            n503++;
            CHECK_MSG(a[i].retry_after > 0, "503 without Retry-After: %s", a[i].body);
            CHECK_CONTAINS(a[i].body, "server.ask_max_concurrent");
        } else if (a[i].status == 504) {
            n504++;
            CHECK_CONTAINS(a[i].body, "server.ask_timeout_s");
        } else {
            other++;
            CHECK_MSG(0, "ask %d: status %d %s", i, a[i].status, a[i].body);
        }
    }
    printf("  %d asks: %d refused 503, %d past the deadline 504, %d other\n", N, n503, n504, other);
    CHECK_MSG(n504 >= 2, "asks admitted and timed out: %d", n504);
    CHECK_MSG(n503 >= 1, "asks refused: %d", n503);
    /* The cancelled turns end and give their slots back. */
    int running = -1;
    for (int i = 0; i < 100 && running != 0; i++) {
        running = asks_running(f.port);
        if (running != 0) usleep(100 * 1000);
    }
    CHECK_EQ_INT(running, 0);
    CHECK_EQ_INT(http_request(f.port, "GET", "/metrics", NULL, NULL, body, sizeof body), 200);
    CHECK_CONTAINS(body, "axiom_ask_refused_busy_total ");
    CHECK(strstr(body, "axiom_ask_refused_busy_total 0\n") == NULL);
    CHECK(strstr(body, "axiom_ask_timeouts_total 0\n") == NULL);
    llm_peer_stop(p); /* the LLM's unload request at shutdown then fails at once */
    fixture_stop(&f);
}

static void test_refused_at_critical_level(void) {
    /* A 1 MiB budget: any reading is past the critical level. */
    const char *settings[] = {"mem.budget_mb=1", "tts.backend=none", "vad.backend=energy",
                              "mode=template-only", NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(governor_check(f.engine->gov), GOV_LEVEL_CRITICAL);
    int retry = 0;
    char body[512];
    CHECK_EQ_INT(ask_raw(f.port, "hello", &retry, body, sizeof body), 503);
    CHECK(retry > 0);
    CHECK_CONTAINS(body, "memory");
    static char h[4096];
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", NULL, NULL, h, sizeof h), 200);
    fixture_stop(&f);
}

static void test_answers_normally(void) {
    const char *settings[] = {"tts.backend=none", "vad.backend=energy", "mode=template-only", NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    /* One after another never meets the bound. */
    for (int i = 0; i < 5; i++) {
        int retry = 0;
        char body[4096];
        CHECK_EQ_INT(ask_raw(f.port, "hello", &retry, body, sizeof body), 200);
        CHECK_CONTAINS(body, "\"text\"");
        CHECK_EQ_INT(retry, 0);
    }
    CHECK_EQ_INT(asks_running(f.port), 0);
    fixture_stop(&f);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_answers_normally);
    RUN(test_bound_deadline_and_responsiveness);
    RUN(test_refused_at_critical_level);
    return CHECK_DONE(argv[0]);
}
