/* OpenAI-compatible backend, wire and fault tests against the scripted loopback peer:
 * Server-Sent Events framing (comments, CRLF, multi-line data, [DONE]), error events,
 * and the faults every backend must survive: server down, hang after headers, 500,
 * 401, garbage, a huge response, a stream cut short. The normal path runs against a
 * real llama-server in test_llm_openai_server.c. */
#include "check.h"
#include "core/component.h"
#include "core/config.h"
#include "core/util.h"
#include "llm/llm.h"
#include "support/llm_peer.h"
#include "support/testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HDR_SSE                                                                                    \
    "SHTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: "                       \
    "no-cache\r\nConnection: close\r\n\r\n"
#define CHUNK(content)                                                                             \
    "Sdata: "                                                                                      \
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{"    \
    "\"content\":\"" content "\"},\"finish_reason\":null}]}\n\n"
#define FINISH(reason)                                                                             \
    "Sdata: "                                                                                      \
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},"  \
    "\"finish_reason\":\"" reason                                                                  \
    "\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}\n\n"
#define DONE "Sdata: [DONE]\n\n"

static const char *const models_ok[] = {
    "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    "{\"object\":\"list\",\"data\":[{\"id\":\"served-model\",\"object\":\"model\"}]}",
    NULL};

static const llm_message hello[] = {{"user", "Say hello."}};

typedef struct {
    char text[4096];
    size_t len;
    int calls;
} sink;

static int on_piece(void *user, const char *p, size_t len) {
    sink *s = user;
    if (s->len + len < sizeof s->text) {
        memcpy(s->text + s->len, p, len);
        s->len += len;
        s->text[s->len] = '\0';
    }
    s->calls++;
    return 0;
}

typedef struct {
    int rc;
    llm_result r;
    sink s;
    char err[512];
    char body[8192];
    char model[256];
} outcome;

static void run_chat(const char *const *chat, const char *const *kv, outcome *o) {
    memset(o, 0, sizeof *o);
    llm_peer *p = llm_peer_start();
    CHECK(p != NULL);
    if (!p) return;
    llm_peer_route(p, "GET /v1/models", models_ok);
    llm_peer_route(p, "POST /v1/chat/completions", chat);
    axiom_config *c = config_new();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/", llm_peer_port(p));
    config_set(c, "llm.backend", "openai", CFG_FLAG, "t", o->err, sizeof o->err);
    config_set(c, "llm.url", url, CFG_FLAG, "t", o->err, sizeof o->err);
    config_set(c, "llm.first_token_timeout_ms", "1000", CFG_FLAG, "t", o->err, sizeof o->err);
    config_set(c, "llm.total_timeout_ms", "3000", CFG_FLAG, "t", o->err, sizeof o->err);
    for (; kv && kv[0]; kv += 2)
        CHECK(config_set(c, kv[0], kv[1], CFG_FLAG, "t", o->err, sizeof o->err) == 0);
    llm *m = llm_new(c, o->err, sizeof o->err);
    CHECK_MSG(m != NULL, "%s", o->err);
    if (m) {
        o->rc = llm_chat(m, hello, 1, NULL, on_piece, &o->s, NULL, &o->r, o->err, sizeof o->err);
        llm_peer_last_body(p, "POST /v1/chat/completions", o->body, sizeof o->body);
        str_copy(o->model, sizeof o->model, llm_model_name(m));
        llm_free(m);
    }
    config_free(c);
    llm_peer_stop(p);
}

static void test_sse_stream(void) {
    static const char *const chat[] = {
        HDR_SSE, ": keep-alive comment\n\n", CHUNK("Hello"), CHUNK(" there"), FINISH("stop"), DONE,
        NULL};
    const char *kv[] = {"llm.max_tokens", "33", NULL};
    outcome o;
    run_chat(chat, kv, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_STR(o.s.text, "Hello there");
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_STOP);
    CHECK_EQ_INT(o.r.prompt_tokens, 12);
    /* llm.model empty: the server's own model is used. */
    CHECK_STR(o.model, "served-model");
    CHECK_CONTAINS(o.body, "\"model\":\"served-model\"");
    CHECK_CONTAINS(o.body, "\"stream\":true");
    CHECK_CONTAINS(o.body, "\"max_tokens\":33");
    CHECK_CONTAINS(o.body, "{\"role\":\"user\",\"content\":\"Say hello.\"}");
}

static void test_sse_framing_variants(void) {
    /* CRLF line ends, no space after "data:", an event split over two sends, and a
     * data field spread over two lines (joined with a newline: not JSON, so refused). */
    static const char *const crlf[] = {
        HDR_SSE,
        "Sdata:{\"choices\":[{\"delta\":{\"content\":\"A\"},\"finish_reason\":null}]}\r\n\r\n",
        "Sdata: {\"choices\":[{\"delta\":{\"con",
        "W50",
        "Stent\":\"B\"},\"finish_reason\":\"length\"}]}\n\n",
        "Sevent: done\nid: 7\ndata: [DONE]\n\n",
        NULL};
    outcome o;
    run_chat(crlf, NULL, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_STR(o.s.text, "AB");
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_LENGTH);
    /* A server that closes after the finish_reason without [DONE] is fine too. */
    static const char *const no_done[] = {HDR_SSE, CHUNK("x"), FINISH("stop"), NULL};
    run_chat(no_done, NULL, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_STOP);
}

static void test_error_event_and_http_errors(void) {
    static const char *const err_event[] = {
        HDR_SSE, CHUNK("Hi"),
        "Sdata: {\"error\":{\"message\":\"the model crashed\",\"type\":\"server_error\"}}\n\n",
        NULL};
    outcome o;
    run_chat(err_event, NULL, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "server error: the model crashed");
    CHECK_STR(o.s.text, "Hi");
    static const char *const e500[] = {
        "SHTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: "
        "56\r\n\r\n"
        "{\"error\":{\"code\":500,\"message\":\"boom\",\"type\":\"server\"}}\n",
        NULL};
    run_chat(e500, NULL, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "HTTP 500: boom");
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_ERROR);
    static const char *const e401[] = {"SHTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
                                       NULL};
    run_chat(e401, NULL, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "rejected the API key");
}

static void test_garbage_truncation_and_size(void) {
    static const char *const garbage[] = {HDR_SSE, "Sdata: {{{{not json\n\n", NULL};
    outcome o;
    run_chat(garbage, NULL, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "malformed stream");
    static const char *const wrong[] = {HDR_SSE, "Sdata: {\"choices\":\"nope\"}\n\n", NULL};
    run_chat(wrong, NULL, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "no 'choices' array");
    static const char *const cut[] = {HDR_SSE, CHUNK("Hel"), "Sdata: {\"choices\":[{\"del", NULL};
    run_chat(cut, NULL, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "truncated");
    CHECK_STR(o.s.text, "Hel");
    static const char *const huge[] = {HDR_SSE, "Sdata: ", "Z20971520", NULL};
    run_chat(huge, NULL, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "longer than 1 MiB");
}

static void test_hang_after_headers(void) {
    static const char *const hang[] = {HDR_SSE, "H", NULL};
    const char *kv[] = {"llm.first_token_timeout_ms", "250", NULL};
    outcome o;
    int64_t t0 = now_ms();
    run_chat(hang, kv, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_TIMEOUT);
    CHECK_CONTAINS(o.err, "stalled");
    CHECK(now_ms() - t0 < 3000);
    /* Keep-alive comments are not tokens: they do not hold off the deadline forever. */
    static const char *const pings[] = {HDR_SSE, ": ping\n\n", "W100", ": ping\n\n",
                                        "W100",  ": ping\n\n", "W100", ": ping\n\n",
                                        "H",     NULL};
    run_chat(pings, kv, &o);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_TIMEOUT);
}

static void test_server_down(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    axiom_config *c = config_new();
    char err[512], url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
    config_set(c, "llm.backend", "openai", CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.url", url, CFG_FLAG, "t", err, sizeof err);
    llm *m = llm_new(c, err, sizeof err);
    CHECK(m != NULL);
    llm_result r;
    sink s = {0};
    CHECK(llm_chat(m, hello, 1, NULL, on_piece, &s, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "cannot connect");
    CHECK_EQ_INT(r.finish, LLM_FINISH_ERROR);
    llm_free(m);
    config_free(c);
}

static void test_api_key_sources(void) {
    char dir[512], path[600], err[512];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    snprintf(path, sizeof path, "%s/key", dir);
    axiom_config *c = config_new();
    config_set(c, "llm.backend", "openai", CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.api_key_file", path, CFG_FLAG, "t", err, sizeof err);
    CHECK(llm_new(c, err, sizeof err) == NULL); /* missing file */
    CHECK_CONTAINS(err, "llm.api_key_file");
    CHECK(strstr(err, "sk-") == NULL);
    CHECK(tu_write_file(path, "sk-test-secret-123\n") == 0);
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    llm_free(m);
    config_free(c);
    tu_rmtree(dir);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_sse_stream);
    RUN(test_sse_framing_variants);
    RUN(test_error_event_and_http_errors);
    RUN(test_garbage_truncation_and_size);
    RUN(test_hang_after_headers);
    RUN(test_server_down);
    RUN(test_api_key_sources);
    return CHECK_DONE(argv[0]);
}
