/* Ollama backend, wire tests: no Ollama binary exists here, so a scripted loopback
 * peer (tests/support/llm_peer.c) replays Ollama's documented /api/chat NDJSON and
 * /api/tags answers, and the faults a server shows in practice: model not found, an
 * error object mid-stream, stalls before and after the first token, cut lines,
 * garbage, a 500, a huge body, a server that is down. Every case must end within its
 * deadline with the right finish reason and message, and leak nothing (ASan run). */
#include "check.h"
#include "core/component.h"
#include "core/config.h"
#include "core/util.h"
#include "llm/llm.h"
#include "support/llm_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR_STREAM                                                                                 \
    "SHTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
#define LINE(content)                                                                              \
    "K{\"model\":\"tiny\",\"created_at\":\"2026-11-27T10:00:00Z\",\"message\":{\"role\":"          \
    "\"assistant\",\"content\":\"" content "\"},\"done\":false}\n"
#define DONE(reason)                                                                               \
    "K{\"model\":\"tiny\",\"created_at\":\"2026-11-27T10:00:01Z\",\"message\":{\"role\":"          \
    "\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"" reason                      \
    "\",\"total_duration\":1000,\"prompt_eval_count\":26,\"eval_count\":3}\n"

static const char *const tags_ok[] = {
    "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    "{\"models\":[{\"name\":\"llama3.2:1b\",\"model\":\"llama3.2:1b\",\"size\":1000},"
    "{\"name\":\"tiny:latest\",\"model\":\"tiny:latest\",\"size\":1}]}",
    NULL};

/* What Ollama answers to the unload request (keep_alive 0) sent when the llm is freed;
 * given as the second script where the first one stalls, so teardown is quick. */
static const char *const unloaded[] = {
    "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    "{\"model\":\"tiny\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":"
    "\"unload\",\"done\":true}",
    NULL};

static const llm_message hello[] = {{"system", "You are AXIOM."}, {"user", "Say hello."}};

typedef struct {
    char text[4096];
    size_t len;
    int calls;
    int stop_after;
} sink;

static int on_piece(void *user, const char *p, size_t len) {
    sink *s = user;
    if (s->len + len < sizeof s->text) {
        memcpy(s->text + s->len, p, len);
        s->len += len;
        s->text[s->len] = '\0';
    }
    s->calls++;
    return s->stop_after && s->calls >= s->stop_after;
}

static axiom_config *cfg_for(int port, const char *const *kv) {
    axiom_config *c = config_new();
    char err[256], url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    CHECK(config_set(c, "llm.backend", "ollama", CFG_FLAG, "t", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.model", "tiny", CFG_FLAG, "t", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.url", url, CFG_FLAG, "t", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.first_token_timeout_ms", "1500", CFG_FLAG, "t", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.total_timeout_ms", "4000", CFG_FLAG, "t", err, sizeof err) == 0);
    for (; kv && kv[0]; kv += 2)
        CHECK_MSG(config_set(c, kv[0], kv[1], CFG_FLAG, "t", err, sizeof err) == 0, "%s", err);
    return c;
}

/* One chat against a peer playing `chat` (and the standard tags answer). */
typedef struct {
    int rc;
    llm_result r;
    sink s;
    char err[512];
    char body[8192]; /* what the peer received */
    int64_t wall_ms;
} outcome;

static void run_chat(const char *const *chat, const char *const *chat2, const char *const *kv,
                     const atomic_int *cancel, int stop_after, outcome *o) {
    memset(o, 0, sizeof *o);
    o->s.stop_after = stop_after;
    llm_peer *p = llm_peer_start();
    CHECK(p != NULL);
    if (!p) return;
    llm_peer_route(p, "GET /api/tags", tags_ok);
    llm_peer_route(p, "POST /api/chat", chat);
    if (chat2) llm_peer_route(p, "POST /api/chat", chat2);
    axiom_config *c = cfg_for(llm_peer_port(p), kv);
    llm *m = llm_new(c, o->err, sizeof o->err);
    CHECK_MSG(m != NULL, "%s", o->err);
    if (m) {
        int64_t t0 = now_ms();
        o->rc = llm_chat(m, hello, 2, NULL, on_piece, &o->s, cancel, &o->r, o->err, sizeof o->err);
        o->wall_ms = now_ms() - t0;
        llm_peer_last_body(p, "POST /api/chat", o->body, sizeof o->body);
        llm_free(m); /* unloads: one more request to the peer, keep_alive 0 */
    }
    config_free(c);
    llm_peer_stop(p);
}

static void test_normal_stream(void) {
    static const char *const chat[] = {
        HDR_STREAM, LINE("Hello"), LINE(", I am"), LINE(" AXIOM."), DONE("stop"), "E", NULL};
    const char *kv[] = {
        "context_length", "4096", "llm.max_tokens", "77", "llm.keep_alive", "10m", NULL};
    outcome o;
    run_chat(chat, NULL, kv, NULL, 0, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_STR(o.s.text, "Hello, I am AXIOM.");
    CHECK_EQ_INT(o.r.tokens, 3);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_STOP);
    CHECK_EQ_INT(o.r.prompt_tokens, 26);
    CHECK(o.r.first_token_ms >= 0);
    CHECK_EQ_INT(o.r.retries, 0);
    /* What AXIOM asked for: the documented request fields. */
    CHECK_CONTAINS(o.body, "\"model\":\"tiny\"");
    CHECK_CONTAINS(o.body, "\"stream\":true");
    CHECK_CONTAINS(o.body, "\"num_ctx\":4096");
    CHECK_CONTAINS(o.body, "\"num_predict\":77");
    CHECK_CONTAINS(o.body, "\"temperature\":0.3");
    CHECK_CONTAINS(o.body, "\"keep_alive\":\"10m\"");
    CHECK_CONTAINS(o.body, "{\"role\":\"system\",\"content\":\"You are AXIOM.\"}");
}

static void test_length_and_client_limit(void) {
    static const char *const chat[] = {HDR_STREAM, LINE("a"), LINE("b"), DONE("length"), "E", NULL};
    outcome o;
    run_chat(chat, NULL, NULL, NULL, 0, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_LENGTH);
    /* A server that ignores num_predict is cut off by AXIOM at llm.max_tokens. */
    static const char *const endless[] = {HDR_STREAM, LINE("x"), LINE("x"), LINE("x"),
                                          LINE("x"),  LINE("x"), "H",       NULL};
    const char *kv[] = {"llm.max_tokens", "3", NULL};
    run_chat(endless, NULL, kv, NULL, 0, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_LENGTH);
    CHECK_EQ_INT(o.s.calls, 3);
    CHECK_STR(o.s.text, "xxx");
}

static void test_escapes_and_unicode(void) {
    static const char *const chat[] = {
        HDR_STREAM, LINE("caf\\u00e9 \\\"quoted\\\"\\n"), LINE("na\xc3\xafve"), DONE("stop"), "E",
        NULL};
    outcome o;
    run_chat(chat, NULL, NULL, NULL, 0, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_STR(o.s.text, "caf\xc3\xa9 \"quoted\"\nna\xc3\xafve");
}

static void test_model_not_found(void) {
    llm_peer *p = llm_peer_start();
    llm_peer_route(p, "GET /api/tags", tags_ok);
    const char *kv[] = {"llm.model", "mistral", NULL};
    axiom_config *c = cfg_for(llm_peer_port(p), kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK(m != NULL);
    llm_result r;
    sink s = {0};
    CHECK(llm_chat(m, hello, 2, NULL, on_piece, &s, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "model 'mistral' is not on the Ollama server");
    CHECK_CONTAINS(err, "ollama pull mistral");
    CHECK_CONTAINS(err, "llama3.2:1b, tiny:latest");
    CHECK_EQ_INT(r.finish, LLM_FINISH_ERROR);
    CHECK_EQ_INT(component_is_loaded(llm_component(m)), 0);
    llm_free(m);
    config_free(c);
    /* The model vanished between the check and the turn: Ollama's 404 is reported. */
    static const char *const gone[] = {
        "SHTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 52\r\n\r\n"
        "{\"error\":\"model \\\"tiny\\\" not found, try pulling it\"}",
        NULL};
    outcome o;
    run_chat(gone, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "Ollama has no model 'tiny'");
    CHECK_CONTAINS(o.err, "not found, try pulling it");
    llm_peer_stop(p);
}

static void test_error_object_mid_stream(void) {
    static const char *const chat[] = {
        HDR_STREAM, LINE("Hel"), "K{\"error\":\"an unexpected error occurred\"}\n", "E", NULL};
    outcome o;
    run_chat(chat, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_ERROR);
    CHECK_CONTAINS(o.err, "server error: an unexpected error occurred");
    CHECK_STR(o.s.text, "Hel"); /* what came before stays delivered */
}

static void test_stall_before_first_token(void) {
    static const char *const chat[] = {HDR_STREAM, "H", NULL};
    const char *kv[] = {"llm.first_token_timeout_ms", "300", NULL};
    outcome o;
    run_chat(chat, unloaded, kv, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_TIMEOUT);
    CHECK_CONTAINS(o.err, "did not answer within the deadline");
    CHECK_CONTAINS(o.err, "stalled");
    CHECK_EQ_INT(o.s.calls, 0);
    fprintf(stderr, "  stalled turn ended after %lld ms (deadline 300)\n", (long long)o.wall_ms);
}

static void test_stall_after_tokens(void) {
    static const char *const chat[] = {HDR_STREAM, LINE("One"), LINE(" two"), "H", NULL};
    const char *kv[] = {"llm.total_timeout_ms", "500", NULL};
    outcome o;
    run_chat(chat, unloaded, kv, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_TIMEOUT);
    CHECK_EQ_INT(o.s.calls, 2);
    CHECK_STR(o.s.text, "One two");
}

static void test_slow_tokens_arrive(void) {
    static const char *const chat[] = {HDR_STREAM,   "W150", LINE("slow"),  "W150",
                                       LINE(" but"), "W150", LINE(" fine"), DONE("stop"),
                                       "E",          NULL};
    outcome o;
    run_chat(chat, NULL, NULL, NULL, 0, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_STR(o.s.text, "slow but fine");
    CHECK(o.r.first_token_ms >= 100);
    CHECK(o.r.total_ms >= o.r.first_token_ms);
}

static void test_truncated_streams(void) {
    /* Cut mid-line: the connection closes inside a JSON object. */
    static const char *const cut[] = {
        "SHTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n"
        "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n"
        "{\"message\":{\"role\":\"assist",
        NULL};
    outcome o;
    run_chat(cut, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "truncated mid-line");
    CHECK_STR(o.s.text, "Hi");
    /* Cut inside the chunked framing: the transfer itself is incomplete. */
    static const char *const cut_chunk[] = {HDR_STREAM, LINE("Hi"), "S40\r\n{\"message\"", NULL};
    run_chat(cut_chunk, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_ERROR);
    /* Complete lines but no final done line. */
    static const char *const no_done[] = {HDR_STREAM, LINE("Hi"), "E", NULL};
    run_chat(no_done, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "before its final");
}

static void test_garbage_and_http_errors(void) {
    static const char *const garbage[] = {HDR_STREAM, "K<html>oops</html>\n", "E", NULL};
    outcome o;
    run_chat(garbage, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "malformed stream: not a JSON object");
    static const char *const wrong_types[] = {
        HDR_STREAM, "K{\"message\":{\"content\":42},\"done\":false}\n", "E", NULL};
    run_chat(wrong_types, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "'content' is not a string");
    static const char *const e500[] = {"SHTTP/1.1 500 Internal Server Error\r\nContent-Type: "
                                       "application/json\r\nContent-Length: 33\r\n\r\n"
                                       "{\"error\":\"llama runner crashed\"}\n",
                                       NULL};
    run_chat(e500, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "HTTP 500");
    CHECK_CONTAINS(o.err, "llama runner crashed");
    CHECK_EQ_INT(o.r.retries, 0); /* a 500 is not retried */
    static const char *const not_http[] = {"Sthis is not HTTP at all\r\n\r\n", NULL};
    run_chat(not_http, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_ERROR);
}

static void test_huge_response(void) {
    /* 20 MiB without a newline: refused at the 1 MiB line bound, not buffered. */
    static const char *const huge[] = {
        "SHTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n",
        "Z20971520", NULL};
    outcome o;
    run_chat(huge, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_CONTAINS(o.err, "longer than 1 MiB");
    /* A huge error body is kept only in part. */
    static const char *const huge_err[] = {"SHTTP/1.1 500 Oops\r\nConnection: close\r\n\r\n",
                                           "Z20971520", NULL};
    run_chat(huge_err, NULL, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK(strlen(o.err) < 512);
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_server_down(void) {
    axiom_config *c = cfg_for(free_port(), NULL);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK(m != NULL);
    llm_result r;
    int64_t t0 = now_ms();
    CHECK(llm_chat(m, hello, 2, NULL, on_piece, &(sink){0}, NULL, &r, err, sizeof err) == -1);
    CHECK(now_ms() - t0 < 1500 + 1000);
    CHECK_CONTAINS(err, "cannot connect to http://127.0.0.1:");
    CHECK_CONTAINS(err, "ollama serve");
    CHECK_EQ_INT(r.finish, LLM_FINISH_ERROR);
    llm_free(m);
    config_free(c);
}

static void test_retry_before_first_token(void) {
    static const char *const busy[] = {"SHTTP/1.1 503 Service Unavailable\r\nContent-Length: "
                                       "27\r\n\r\n{\"error\":\"server overloaded\"}",
                                       NULL};
    static const char *const ok[] = {HDR_STREAM, LINE("ok"), DONE("stop"), "E", NULL};
    outcome o;
    run_chat(busy, ok, NULL, NULL, 0, &o);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_EQ_INT(o.r.retries, 1);
    CHECK_STR(o.s.text, "ok");
    /* After a token nothing is retried: a cut stream is an error, not a second answer. */
    static const char *const cut[] = {HDR_STREAM, LINE("partial"), NULL};
    run_chat(cut, ok, NULL, NULL, 0, &o);
    CHECK_EQ_INT(o.rc, -1);
    CHECK_EQ_INT(o.r.retries, 0);
    CHECK_STR(o.s.text, "partial");
}

typedef struct {
    atomic_int *flag;
    int ms;
} canceller;

static void *cancel_later(void *arg) {
    canceller *cl = arg;
    struct timespec ts = {0, cl->ms * 1000000L};
    nanosleep(&ts, NULL);
    *cl->flag = 1;
    return NULL;
}

static void test_cancel_while_waiting(void) {
    static const char *const chat[] = {HDR_STREAM, LINE("Hello"), "H", NULL};
    const char *kv[] = {"llm.total_timeout_ms", "30000", NULL};
    atomic_int cancel = 0;
    canceller cl = {&cancel, 200};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &cl);
    outcome o;
    run_chat(chat, unloaded, kv, &cancel, 0, &o);
    pthread_join(th, NULL);
    CHECK_MSG(o.rc == 0, "%s", o.err);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_CANCEL);
    CHECK_STR(o.s.text, "Hello");
    CHECK(o.wall_ms < 30000);
    fprintf(stderr, "  cancel raised at 200 ms, call returned at %lld ms\n", (long long)o.wall_ms);
    /* The callback stops it too. */
    static const char *const chat2[] = {HDR_STREAM,   LINE("a"), LINE("b"), LINE("c"),
                                        DONE("stop"), "E",       NULL};
    run_chat(chat2, NULL, NULL, NULL, 2, &o);
    CHECK_EQ_INT(o.rc, 0);
    CHECK_EQ_INT(o.r.finish, LLM_FINISH_CANCEL);
    CHECK_STR(o.s.text, "ab");
}

static void test_unload_asks_ollama_to_unload(void) {
    llm_peer *p = llm_peer_start();
    llm_peer_route(p, "GET /api/tags", tags_ok);
    llm_peer_route(p, "POST /api/chat", unloaded);
    /* OLLAMA_HOST's short form (host:port, no scheme) is accepted. */
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", llm_peer_port(p));
    const char *kv[] = {"llm.url", host, NULL};
    axiom_config *c = cfg_for(llm_peer_port(p), kv);
    char err[512], body[1024];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (m) {
        CHECK_MSG(component_load(llm_component(m), err, sizeof err) == 0, "%s", err);
        CHECK_EQ_INT(llm_peer_last_body(p, "POST /api/chat", body, sizeof body), 0);
        CHECK(component_unload(llm_component(m)) != -1);
        CHECK_EQ_INT(llm_peer_last_body(p, "POST /api/chat", body, sizeof body), 1);
        CHECK_CONTAINS(body, "\"keep_alive\":0");
        CHECK_CONTAINS(body, "\"messages\":[]");
        CHECK_CONTAINS(body, "\"model\":\"tiny\"");
        llm_free(m);
    }
    config_free(c);
    llm_peer_stop(p);
}

/* OLLAMA_HOST as Ollama users set it: a listen address without a scheme. It is not
 * taken for the OpenAI-compatible backend's URL. */
static void test_ollama_host_env(void) {
    static const char *const chat[] = {HDR_STREAM, LINE("env"), DONE("stop"), "E", NULL};
    llm_peer *p = llm_peer_start();
    llm_peer_route(p, "GET /api/tags", tags_ok);
    llm_peer_route(p, "POST /api/chat", chat);
    char host[64], err[512];
    snprintf(host, sizeof host, "0.0.0.0:%d", llm_peer_port(p));
    setenv("OLLAMA_HOST", host, 1);
    axiom_config *c = config_new();
    CHECK(config_apply_env(c, err, sizeof err) == 0);
    config_set(c, "llm.backend", "ollama", CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.model", "tiny", CFG_FLAG, "t", err, sizeof err);
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (m) {
        sink s = {0};
        llm_result r;
        CHECK_MSG(llm_chat(m, hello, 2, NULL, on_piece, &s, NULL, &r, err, sizeof err) == 0, "%s",
                  err);
        CHECK_STR(s.text, "env");
        llm_free(m);
    }
    config_free(c);
    c = config_new();
    CHECK(config_apply_env(c, err, sizeof err) == 0);
    config_set(c, "llm.backend", "openai", CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.first_token_timeout_ms", "300", CFG_FLAG, "t", err, sizeof err);
    m = llm_new(c, err, sizeof err);
    CHECK(m != NULL);
    if (m) {
        llm_result r;
        /* Default URL 127.0.0.1:8080, not the Ollama peer: nothing there (or not this). */
        if (llm_chat(m, hello, 2, NULL, on_piece, &(sink){0}, NULL, &r, err, sizeof err) != 0)
            CHECK(strstr(err, host + 8) == NULL);
        llm_free(m);
    }
    config_free(c);
    unsetenv("OLLAMA_HOST");
    llm_peer_stop(p);
}

static void test_config_errors(void) {
    axiom_config *c = config_new();
    char err[512];
    config_set(c, "llm.backend", "ollama", CFG_FLAG, "t", err, sizeof err);
    CHECK(llm_new(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "llm.model is empty");
    config_set(c, "llm.model", "x", CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.url", "ftp://127.0.0.1:1", CFG_FLAG, "t", err, sizeof err);
    CHECK(llm_new(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "only http:// and https://");
    config_free(c);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_normal_stream);
    RUN(test_length_and_client_limit);
    RUN(test_escapes_and_unicode);
    RUN(test_model_not_found);
    RUN(test_error_object_mid_stream);
    RUN(test_stall_before_first_token);
    RUN(test_stall_after_tokens);
    RUN(test_slow_tokens_arrive);
    RUN(test_truncated_streams);
    RUN(test_garbage_and_http_errors);
    RUN(test_huge_response);
    RUN(test_server_down);
    RUN(test_retry_before_first_token);
    RUN(test_cancel_while_waiting);
    RUN(test_unload_asks_ollama_to_unload);
    RUN(test_ollama_host_env);
    RUN(test_config_errors);
    return CHECK_DONE(argv[0]);
}
