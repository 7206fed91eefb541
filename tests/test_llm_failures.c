/* LLM failures told truthfully: a real in-process server whose Ollama backend talks to
 * the scripted loopback peer (no Ollama binary exists here), failing in each way the
 * server counts: a stall past the deadline, a server that is down, an HTTP error, an
 * empty answer, a prompt that cannot fit the context window, and a garbage stream.
 * Every turn must still be answered (from retrieval), reported as path "fallback" with
 * the reason on the WebSocket's speaking and timings events and on /api/ask, and
 * counted once in axiom_llm_failures_total{reason} and axiom_turns_total{path=
 * "fallback"} on /metrics. */
#include "check.h"
#include "support/llm_peer.h"
#include "support/server_fixture.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_STREAM                                                                                 \
    "SHTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
#define DONE                                                                                       \
    "K{\"model\":\"tiny\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"    \
    "\"done_reason\":\"stop\"}\n"

static const char *const tags_ok[] = {
    "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    "{\"models\":[{\"name\":\"tiny:latest\",\"model\":\"tiny:latest\",\"size\":1}]}",
    NULL};
static const char *const hang[] = {HDR_STREAM, "H", NULL};
static const char *const e500[] = {
    "SHTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
    "Content-Length: 27\r\nConnection: close\r\n\r\n{\"error\":\"model crashed\"}  ",
    NULL};
static const char *const empty[] = {HDR_STREAM, DONE, "E", NULL};
static const char *const garbage[] = {HDR_STREAM, "K<html>oops</html>\n", "E", NULL};
static const char *const ok[] = {
    HDR_STREAM,
    "K{\"model\":\"tiny\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi.\"},"
    "\"done\":false}\n",
    DONE, "E", NULL};
/* The unload request (keep_alive 0) sent when the server stops. */
static const char *const unloaded[] = {
    "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    "{\"done\":true}",
    NULL};

/* A question the pack answers from retrieval (no template: template_threshold 1). */
#define QUESTION "how much power does the orin nano draw"

static char body[1 << 17];

static cJSON *wait_for(ws_client *c, const char *needle, int timeout_ms) {
    int64_t end = wsc_now_us() + (int64_t)timeout_ms * 1000;
    while (wsc_now_us() < end) {
        ws_msg m;
        int r = ws_client_recv(c, (int)((end - wsc_now_us()) / 1000) + 1, &m);
        if (r < 0) return NULL;
        if (r == 1 && m.opcode == WSC_TEXT && strstr((char *)m.data, needle))
            return cJSON_Parse((char *)m.data);
    }
    return NULL;
}

/* The value of one sample line ("name{label} value") on /metrics, or -1. */
static long long metric(int port, const char *series) {
    if (http_request(port, "GET", "/metrics", NULL, NULL, body, sizeof body) != 200) return -1;
    const char *p = strstr(body, series);
    return p ? atoll(p + strlen(series) + 1) : -1;
}

/* One WebSocket turn and one /api/ask turn against a server whose LLM fails the way
 * `chat` (or, with chat NULL, an unreachable server) makes it fail. A model that
 * cannot even load makes the governor stop offering it (mode skip-llm), so after that
 * failure the second turn is a plain retrieval answer: degraded = 1 says so. */
static void run_case(const char *reason, const char *const *chat, const char *const *extra,
                     int degraded) {
    fprintf(stderr, "  case %s\n", reason);
    llm_peer *p = NULL;
    char url[64] = "http://127.0.0.1:9"; /* discard port: nothing listens there */
    if (chat) {
        p = llm_peer_start();
        CHECK(p != NULL);
        if (!p) return;
        llm_peer_route(p, "GET /api/tags", tags_ok);
        llm_peer_route(p, "POST /api/chat", chat);
        llm_peer_route(p, "POST /api/chat", chat);
        llm_peer_route(p, "POST /api/chat", unloaded);
        snprintf(url, sizeof url, "http://127.0.0.1:%d", llm_peer_port(p));
    }
    char set_url[96];
    snprintf(set_url, sizeof set_url, "llm.url=%s", url);
    const char *settings[16] = {
        "llm.backend=ollama",       "llm.model=tiny",   set_url,
        "template_threshold=1",     "tts.backend=none", "llm.first_token_timeout_ms=600",
        "llm.total_timeout_ms=2000"};
    size_t n = 7;
    for (; extra && *extra && n < 15; extra++)
        settings[n++] = *extra;
    settings[n] = NULL;
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        llm_peer_stop(p);
        return;
    }

    /* WebSocket: the speaking and timings events carry the true path. */
    int st;
    ws_client *c = ws_client_connect(f.port, "/ws", NULL, 5000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "connect: %d %s", st, err);
    if (c) {
        CHECK(ws_client_send_text(c, "{\"event\":\"hello\",\"timings\":true}") == 0);
        CHECK(ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"" QUESTION "\"}") == 0);
        const char *path = NULL, *why = NULL;
        cJSON *last_speaking = NULL;
        for (;;) {
            cJSON *m = wait_for(c, "\"", 15000);
            if (!m) break;
            if (cJSON_GetObjectItem(m, "state") && cJSON_IsString(cJSON_GetObjectItem(m, "text")) &&
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "state")), "speaking") == 0) {
                cJSON_Delete(last_speaking);
                last_speaking = m;
                continue;
            }
            const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(m, "event"));
            if (ev && strcmp(ev, "timings") == 0)
                CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "path")), "fallback");
            int done = ev && strcmp(ev, "ready_to_listen") == 0;
            cJSON_Delete(m);
            if (done) break;
        }
        CHECK_MSG(last_speaking != NULL, "no speaking event for the %s case", reason);
        if (last_speaking) {
            path = cJSON_GetStringValue(cJSON_GetObjectItem(last_speaking, "path"));
            why = cJSON_GetStringValue(cJSON_GetObjectItem(last_speaking, "llm_failure"));
            CHECK_STR(path, "fallback");
            CHECK_STR(why, reason);
            CHECK_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(last_speaking, "text")),
                           "watts");
        }
        cJSON_Delete(last_speaking);
        ws_client_close(c, 1000);
        ws_client_free(c);
    }

    /* /api/ask: the same truth. */
    int code = http_request(f.port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                            "{\"text\":\"" QUESTION "\"}", body, sizeof body);
    CHECK_EQ_INT(code, 200);
    cJSON *a = cJSON_Parse(body);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(a, "path")),
              degraded ? "retrieval" : "fallback");
    if (!degraded)
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(a, "llm_failure")), reason);
    else
        CHECK(cJSON_GetObjectItem(a, "llm_failure") == NULL);
    cJSON_Delete(a);

    /* /metrics: each failure counted with this reason, none with the others. */
    static const char *const reasons[] = {"timeout", "connect", "http",
                                          "empty",   "context", "other"};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        char series[96];
        snprintf(series, sizeof series, "axiom_llm_failures_total{reason=\"%s\"}", reasons[i]);
        CHECK_EQ_INT(metric(f.port, series), strcmp(reasons[i], reason) == 0 ? 2 - degraded : 0);
    }
    CHECK_EQ_INT(metric(f.port, "axiom_turns_total{path=\"fallback\"}"), 2 - degraded);
    CHECK_EQ_INT(metric(f.port, "axiom_turns_total{path=\"retrieval\"}"), degraded);
    fixture_stop(&f);
    llm_peer_stop(p);
}

static void test_timeout(void) {
    run_case("timeout", hang, NULL, 0);
}
static void test_connect(void) {
    run_case("connect", NULL, NULL, 1);
}
static void test_http_error(void) {
    run_case("http", e500, NULL, 0);
}
static void test_empty_answer(void) {
    run_case("empty", empty, NULL, 0);
}
static void test_context_too_small(void) {
    /* 128 tokens of window, 120 of them kept for the answer: no prompt fits. */
    const char *const extra[] = {"context_length=128", "llm.max_tokens=120", NULL};
    run_case("context", ok, extra, 0);
}
static void test_garbage_stream(void) {
    run_case("other", garbage, NULL, 0);
}

/* A working LLM is reported as "llm" and counts no failure. */
static void test_success_is_llm(void) {
    llm_peer *p = llm_peer_start();
    CHECK(p != NULL);
    if (!p) return;
    llm_peer_route(p, "GET /api/tags", tags_ok);
    llm_peer_route(p, "POST /api/chat", ok);
    llm_peer_route(p, "POST /api/chat", unloaded);
    char set_url[96];
    snprintf(set_url, sizeof set_url, "llm.url=http://127.0.0.1:%d", llm_peer_port(p));
    const char *settings[] = {"llm.backend=ollama",   "llm.model=tiny",   set_url,
                              "template_threshold=1", "tts.backend=none", NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        llm_peer_stop(p);
        return;
    }
    CHECK_EQ_INT(http_request(f.port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                              "{\"text\":\"" QUESTION "\"}", body, sizeof body),
                 200);
    cJSON *a = cJSON_Parse(body);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(a, "path")), "llm");
    CHECK(cJSON_GetObjectItem(a, "llm_failure") == NULL);
    cJSON_Delete(a);
    CHECK_EQ_INT(metric(f.port, "axiom_llm_failures_total{reason=\"other\"}"), 0);
    CHECK_EQ_INT(metric(f.port, "axiom_turns_total{path=\"llm\"}"), 1);
    fixture_stop(&f);
    llm_peer_stop(p);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_success_is_llm);
    RUN(test_timeout);
    RUN(test_connect);
    RUN(test_http_error);
    RUN(test_empty_answer);
    RUN(test_context_too_small);
    RUN(test_garbage_stream);
    return CHECK_DONE(argv[0]);
}
