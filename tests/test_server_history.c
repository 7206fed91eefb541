/* History per user: a real in-process server with history.persist on, whose language
 * model is the scripted Ollama peer, so the prompt it receives shows exactly which
 * earlier turns a turn was given. A browser's client id (sent in hello) keys the
 * history: the user's last history_turns turns come back on reconnect and after a
 * restart; another user's, an anonymous connection's and a refused id's prompts never
 * hold them. */
#include "check.h"
#include "support/llm_peer.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_STREAM                                                                                 \
    "SHTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"

static const char *const tags_ok[] = {
    "SHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    "{\"models\":[{\"name\":\"tiny:latest\",\"model\":\"tiny:latest\",\"size\":1}]}",
    NULL};
static const char *const answer[] = {HDR_STREAM,
                                     "K{\"model\":\"tiny\",\"message\":{\"role\":\"assistant\","
                                     "\"content\":\"Noted.\"},\"done\":false}\n",
                                     "K{\"model\":\"tiny\",\"message\":{\"role\":\"assistant\","
                                     "\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\"}\n",
                                     "E", NULL};

#define USER_A "a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define USER_B "user_B-0000000002"

static char tmp[256], dbpath[320];
static llm_peer *peer;
static char prompt[1 << 16];

static int start(server_fixture *f) {
    char url[96], db[400], err[512];
    snprintf(url, sizeof url, "llm.url=http://127.0.0.1:%d", llm_peer_port(peer));
    snprintf(db, sizeof db, "history.db=%s", dbpath);
    const char *settings[] = {"llm.backend=ollama",
                              "llm.model=tiny",
                              url,
                              "template_threshold=1",
                              "tts.backend=none",
                              "history.persist=true",
                              db,
                              "history_turns=2",
                              NULL};
    if (fixture_start(f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return -1;
    }
    return 0;
}

/* Connects and says hello (with the client id when id is not NULL). bad: the hello's
 * client id must be refused. */
static ws_client *join(int port, const char *id, int bad) {
    char err[512], hello[160];
    int st;
    ws_client *c = ws_client_connect(port, "/ws", NULL, 5000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "connect: %d %s", st, err);
    if (!c) return NULL;
    if (id)
        snprintf(hello, sizeof hello, "{\"event\":\"hello\",\"client_id\":\"%s\"}", id);
    else
        snprintf(hello, sizeof hello, "{\"event\":\"hello\"}");
    CHECK(ws_client_send_text(c, hello) == 0);
    int refused = 0, answered = 0;
    int64_t end = wsc_now_us() + 5000000;
    while (!answered && wsc_now_us() < end) {
        ws_msg m;
        if (ws_client_recv(c, 200, &m) < 0) break;
        if (m.opcode != WSC_TEXT) continue;
        if (strstr((char *)m.data, "bad_hello")) refused = 1;
        if (strstr((char *)m.data, "\"event\":\"hello\"")) answered = 1;
    }
    CHECK(answered);
    CHECK_EQ_INT(refused, bad);
    return c;
}

/* One typed turn; copies the prompt the language model received into `prompt`. */
static void turn(ws_client *c, const char *text) {
    char msg[256];
    snprintf(msg, sizeof msg, "{\"event\":\"text\",\"text\":\"%s\"}", text);
    prompt[0] = '\0';
    int before = llm_peer_last_body(peer, "POST /api/chat", prompt, sizeof prompt);
    CHECK(ws_client_send_text(c, msg) == 0);
    int done = 0;
    int64_t end = wsc_now_us() + 15000000;
    while (!done && wsc_now_us() < end) {
        ws_msg m;
        if (ws_client_recv(c, 200, &m) < 0) break;
        if (m.opcode == WSC_TEXT && strstr((char *)m.data, "ready_to_listen")) done = 1;
    }
    CHECK_MSG(done, "no answer to '%s'", text);
    int after = llm_peer_last_body(peer, "POST /api/chat", prompt, sizeof prompt);
    CHECK_MSG(after == before + 1, "'%s' did not reach the language model", text);
}

static int count(const char *hay, const char *word) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, word)); p += strlen(word))
        n++;
    return n;
}

static void leave(ws_client *c) {
    if (!c) return;
    ws_client_close(c, 1000);
    ws_client_free(c);
}

static void test_history_follows_the_user(void) {
    server_fixture f;
    if (start(&f) != 0) return;
    ws_client *a = join(f.port, USER_A, 0);
    if (!a) goto out;
    turn(a, "does the lidar work outdoors kangaroo");
    CHECK_EQ_INT(count(prompt, "kangaroo"), 1); /* the question itself, no history yet */
    turn(a, "how much does the lidar weigh wombat");
    CHECK_CONTAINS(prompt, "kangaroo"); /* the same connection remembers */

    /* Another user, at the same time: none of A's turns. */
    ws_client *b = join(f.port, USER_B, 0);
    turn(b, "what is the range of the lidar platypus");
    CHECK(strstr(prompt, "kangaroo") == NULL && strstr(prompt, "wombat") == NULL);

    /* A reloads the page: the conversation continues. */
    leave(a);
    a = join(f.port, USER_A, 0);
    turn(a, "and its price koala");
    CHECK_CONTAINS(prompt, "kangaroo");
    CHECK_CONTAINS(prompt, "wombat");
    CHECK(strstr(prompt, "platypus") == NULL);
    leave(a);
    leave(b);

    /* An anonymous connection and a refused id start with nothing. */
    ws_client *anon = join(f.port, NULL, 0);
    turn(anon, "what is a lidar");
    CHECK(!strstr(prompt, "kangaroo") && !strstr(prompt, "platypus") && !strstr(prompt, "koala"));
    leave(anon);
    static const char *const bad_ids[] = {"short", "../../etc/passwd", "a b c d e f g h",
                                          "x' OR '1'='1",
                                          "0123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        ws_client *x = join(f.port, bad_ids[i], 1);
        turn(x, "what is a lidar");
        CHECK(!strstr(prompt, "kangaroo") && !strstr(prompt, "platypus") &&
              !strstr(prompt, "koala"));
        leave(x);
    }
out:
    fixture_stop(&f);

    /* After a restart: each user gets back their own last history_turns (2) turns. */
    if (start(&f) != 0) return;
    a = join(f.port, USER_A, 0);
    turn(a, "is it waterproof quokka");
    CHECK_CONTAINS(prompt, "wombat");
    CHECK_CONTAINS(prompt, "koala");
    CHECK_MSG(strstr(prompt, "kangaroo") == NULL, "only the last history_turns turns come back");
    CHECK(strstr(prompt, "platypus") == NULL);
    leave(a);
    b = join(f.port, USER_B, 0);
    turn(b, "does it need a driver");
    CHECK_CONTAINS(prompt, "platypus");
    CHECK(!strstr(prompt, "wombat") && !strstr(prompt, "koala") && !strstr(prompt, "quokka"));
    leave(b);
    fixture_stop(&f);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    snprintf(dbpath, sizeof dbpath, "%s/history.db", tmp);
    peer = llm_peer_start();
    if (!peer) return 1;
    llm_peer_route(peer, "GET /api/tags", tags_ok);
    llm_peer_route(peer, "POST /api/chat", answer);
    RUN(test_history_follows_the_user);
    llm_peer_stop(peer);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
