/* The /ws endpoint against a real in-process server on loopback, with the protocol
 * client of tests/support/ws_client: control messages, hello negotiation, malformed
 * and oversized input (the server keeps serving others), Origin refusal, the busy
 * close past server.max_sessions, slow readers dropped, and disconnects at random
 * moments (no crash, no leak: ASan runs this too). */
#include "check.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char body[1 << 16];

/* Receives text messages until one contains `needle` (skipping others). Returns a
 * parsed copy or NULL after timeout_ms. */
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

static int start(server_fixture *f, const char *const *settings) {
    char err[512];
    if (fixture_start(f, settings, err, sizeof err) != 0) {
        fprintf(stderr, "  server start: %s\n", err);
        return -1;
    }
    return 0;
}

static ws_client *open_ws(int port, const char *headers) {
    char err[512];
    int st;
    ws_client *c = ws_client_connect(port, "/ws", headers, 5000, &st, err, sizeof err);
    if (!c) fprintf(stderr, "  connect: status %d: %s\n", st, err);
    return c;
}

static const char *const small[] = {"server.max_sessions=4", NULL};

static void test_client_ready_and_hello(void) {
    server_fixture f;
    if (start(&f, small) != 0) {
        CHECK(0);
        return;
    }
    ws_client *c = open_ws(f.port, NULL);
    CHECK(c != NULL);
    if (!c) {
        fixture_stop(&f);
        return;
    }
    CHECK(ws_client_send_text(c, "{\"event\":\"client_ready\"}") == 0);
    cJSON *m = wait_for(c, "state", 3000);
    CHECK(m != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "state")), "idle");
    cJSON_Delete(m);

    CHECK(ws_client_send_text(c,
                              "{\"event\":\"hello\",\"sample_rate\":22050,"
                              "\"audio_format\":\"pcm\",\"partials\":true,\"timings\":true}") == 0);
    m = wait_for(c, "\"hello\"", 3000);
    CHECK(m != NULL);
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(m, "sample_rate")), 22050);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "audio_format")), "pcm");
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(m, "input_sample_rate")), 16000);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(m, "partials")));
    cJSON_Delete(m);

    /* A bad hello is answered with an error and the old values are kept. */
    CHECK(ws_client_send_text(
              c, "{\"event\":\"hello\",\"sample_rate\":5,\"audio_format\":\"mp3\"}") == 0);
    m = wait_for(c, "bad_hello", 3000);
    CHECK(m != NULL);
    cJSON_Delete(m);
    m = wait_for(c, "\"hello\"", 3000);
    CHECK(m != NULL);
    CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(m, "sample_rate")), 22050);
    cJSON_Delete(m);
    ws_client_close(c, 1000);
    ws_client_free(c);
    fixture_stop(&f);
}

static void test_malformed_messages_keep_session(void) {
    server_fixture f;
    if (start(&f, small) != 0) {
        CHECK(0);
        return;
    }
    ws_client *c = open_ws(f.port, NULL);
    if (!c) {
        CHECK(0);
        fixture_stop(&f);
        return;
    }
    const char *bad[] = {"not json",
                         "[1,2]",
                         "{\"event\":5}",
                         "{\"event\":\"nope\"}",
                         "{\"event\":\"text\"}",
                         "{\"event\":\"text\",\"text\":\"\"}",
                         "{\"ev"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(ws_client_send_text(c, bad[i]) == 0);
        cJSON *m = wait_for(c, "\"error\"", 3000);
        CHECK_MSG(m != NULL, "no error event for %s", bad[i]);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(m, "message")));
        cJSON_Delete(m);
    }
    /* Odd-sized and empty audio frames are just audio. */
    CHECK(ws_client_send_binary(c, "\x01", 1) == 0);
    CHECK(ws_client_send_binary(c, "\x02\x03\x04", 3) == 0);
    CHECK(ws_client_send_binary(c, "", 0) == 0);
    /* A fragmented text message is refused politely. */
    CHECK(ws_client_send_frame(c, WSC_TEXT, 0, "{\"event\":", 9) == 0);
    CHECK(ws_client_send_frame(c, 0, 1, "\"client_ready\"}", 15) == 0);
    cJSON *m = wait_for(c, "fragmented", 3000);
    CHECK(m != NULL);
    cJSON_Delete(m);
    CHECK(ws_client_send_text(c, "{\"event\":\"client_ready\"}") == 0);
    m = wait_for(c, "\"idle\"", 3000);
    CHECK(m != NULL);
    cJSON_Delete(m);
    ws_client_free(c);
    CHECK_EQ_INT(http_request(f.port, "GET", "/metrics", NULL, NULL, body, sizeof body), 200);
    CHECK(strstr(body, "axiom_bad_messages_total 0") == NULL);
    fixture_stop(&f);
}

static void test_oversized_and_garbage_frames(void) {
    const char *settings[] = {"server.max_sessions=4", "server.max_message_bytes=4096", NULL};
    server_fixture f;
    if (start(&f, settings) != 0) {
        CHECK(0);
        return;
    }
    ws_client *good = open_ws(f.port, NULL);
    ws_client *big = open_ws(f.port, NULL);
    ws_client *junk = open_ws(f.port, NULL);
    CHECK(good && big && junk);
    if (!good || !big || !junk) {
        ws_client_free(good), ws_client_free(big), ws_client_free(junk);
        fixture_stop(&f);
        return;
    }
    static unsigned char blob[100000];
    /* The server refuses on the frame's header and closes: a client still writing the
     * payload when the close (and the reset for its unread bytes) comes back may see
     * its own send fail. Either way the connection ends; the close code is there to
     * read when the whole frame went out first. */
    int sent = ws_client_send_binary(big, blob, sizeof blob);
    ws_msg m;
    int r;
    while ((r = ws_client_recv(big, 3000, &m)) == 1) {
    }
    CHECK_EQ_INT(r, -1);
    if (sent == 0 || ws_client_close_code(big) != 0) {
        CHECK_EQ_INT(ws_client_close_code(big), 1009);
        CHECK_CONTAINS(ws_client_close_reason(big), "max_message_bytes");
    }

    /* Unmasked frame with a reserved opcode and a nonsense length. */
    const unsigned char garbage[] = {0x8f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    ws_client_send_raw(junk, garbage, sizeof garbage);
    while ((r = ws_client_recv(junk, 3000, &m)) == 1) {
    }
    /* Whatever the verdict on the junk connection, the good one is still served. */
    CHECK(ws_client_send_text(good, "{\"event\":\"client_ready\"}") == 0);
    cJSON *ok = wait_for(good, "\"idle\"", 3000);
    CHECK(ok != NULL);
    cJSON_Delete(ok);
    ws_client_free(big);
    ws_client_free(junk);
    ws_client_free(good);
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", NULL, NULL, body, sizeof body), 200);
    fixture_stop(&f);
}

static void test_origin_check(void) {
    const char *settings[] = {"server.max_sessions=4",
                              "server.allowed_origins=http://lab.example:3000, null", NULL};
    server_fixture f;
    if (start(&f, settings) != 0) {
        CHECK(0);
        return;
    }
    char err[512], hdr[256];
    int st = 0;
    ws_client *c = ws_client_connect(f.port, "/ws", "Origin: http://evil.example\r\n", 3000, &st,
                                     err, sizeof err);
    CHECK(c == NULL);
    CHECK_EQ_INT(st, 403);
    CHECK_CONTAINS(err, "Origin");
    c = ws_client_connect(f.port, "/ws", "Origin: http://127.0.0.1:1\r\n", 3000, &st, err,
                          sizeof err);
    CHECK(c == NULL);
    CHECK_EQ_INT(st, 403);
    snprintf(hdr, sizeof hdr, "Origin: http://127.0.0.1:%d\r\n", f.port);
    c = ws_client_connect(f.port, "/ws", hdr, 3000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "same origin refused: %s", err);
    ws_client_free(c);
    c = ws_client_connect(f.port, "/ws", "Origin: http://lab.example:3000\r\n", 3000, &st, err,
                          sizeof err);
    CHECK_MSG(c != NULL, "configured origin refused: %s", err);
    ws_client_free(c);
    c = ws_client_connect(f.port, "/ws", "Origin: null\r\n", 3000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "configured null origin refused: %s", err);
    ws_client_free(c);
    fixture_stop(&f);
}

static void test_busy_close_past_max_sessions(void) {
    const char *settings[] = {"server.max_sessions=2", NULL};
    server_fixture f;
    if (start(&f, settings) != 0) {
        CHECK(0);
        return;
    }
    ws_client *a = open_ws(f.port, NULL), *b = open_ws(f.port, NULL);
    CHECK(a && b);
    ws_client *c = open_ws(f.port, NULL);
    CHECK(c != NULL);
    if (c) {
        ws_msg m;
        int r;
        while ((r = ws_client_recv(c, 3000, &m)) == 1) {
        }
        CHECK_EQ_INT(r, -1);
        CHECK_EQ_INT(ws_client_close_code(c), 1013);
        CHECK_CONTAINS(ws_client_close_reason(c), "busy");
        ws_client_free(c);
    }
    /* The admitted ones still work, and a freed slot admits a new session. */
    CHECK(a && ws_client_send_text(a, "{\"event\":\"client_ready\"}") == 0);
    cJSON *ok = a ? wait_for(a, "\"idle\"", 3000) : NULL;
    CHECK(ok != NULL);
    cJSON_Delete(ok);
    ws_client_free(a);
    int admitted = 0;
    for (int i = 0; i < 50 && !admitted; i++) {
        usleep(20000);
        ws_client *d = open_ws(f.port, NULL);
        if (!d) continue;
        ws_client_send_text(d, "{\"event\":\"client_ready\"}");
        cJSON *x = wait_for(d, "\"idle\"", 2000);
        admitted = x != NULL;
        cJSON_Delete(x);
        ws_client_free(d);
    }
    CHECK(admitted);
    ws_client_free(b);
    fixture_stop(&f);
}

static void test_slow_reader_dropped(void) {
    const char *settings[] = {"server.max_sessions=4", "server.send_queue_kb=16", NULL};
    server_fixture f;
    if (start(&f, settings) != 0) {
        CHECK(0);
        return;
    }
    ws_client *slow = open_ws(f.port, NULL);
    ws_client *other = open_ws(f.port, NULL);
    CHECK(slow && other);
    if (!slow || !other) {
        ws_client_free(slow), ws_client_free(other);
        fixture_stop(&f);
        return;
    }
    ws_client_set_rcvbuf(slow, 4096);
    /* Each hello draws a ~300-byte answer the slow client never reads; after the
     * socket buffers and 16 KB of queue fill up, the server must drop it. */
    int dropped = 0;
    for (int i = 0; i < 200000 && !dropped; i++) {
        if (ws_client_send_text(slow, "{\"event\":\"hello\"}") != 0) dropped = 1;
        if (i % 1000 == 999) {
            http_request(f.port, "GET", "/metrics", NULL, NULL, body, sizeof body);
            if (!strstr(body, "axiom_slow_clients_dropped_total 0")) dropped = 1;
        }
    }
    CHECK(dropped);
    http_request(f.port, "GET", "/metrics", NULL, NULL, body, sizeof body);
    CHECK(strstr(body, "axiom_slow_clients_dropped_total 0") == NULL);
    CHECK(ws_client_send_text(other, "{\"event\":\"client_ready\"}") == 0);
    cJSON *ok = wait_for(other, "\"idle\"", 3000);
    CHECK(ok != NULL);
    cJSON_Delete(ok);
    ws_client_free(slow);
    ws_client_free(other);
    fixture_stop(&f);
}

static void test_disconnects_at_random_points(void) {
    server_fixture f;
    if (start(&f, small) != 0) {
        CHECK(0);
        return;
    }
    srand(12345);
    static int16_t tone[16000];
    for (int i = 0; i < 16000; i++)
        tone[i] = (int16_t)((i * 37 % 200 - 100) * 60);
    for (int round = 0; round < 24; round++) {
        ws_client *c = open_ws(f.port, NULL);
        if (!c) {
            CHECK(0);
            continue;
        }
        int steps = rand() % 6;
        for (int k = 0; k < steps; k++) {
            switch (rand() % 4) {
            case 0:
                ws_client_send_binary(c, tone, (size_t)(rand() % 2048));
                break;
            case 1:
                ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what can you do\"}");
                break;
            case 2:
                ws_client_send_text(c, "{\"event\":\"hello\",\"audio_format\":\"pcm\"}");
                break;
            default:
                usleep((useconds_t)(rand() % 20000));
                break;
            }
        }
        if (rand() % 2)
            shutdown(ws_client_fd(c), SHUT_RDWR); /* abrupt, no close frame */
        else
            ws_client_close(c, 1000);
        ws_client_free(c);
    }
    /* Every session is released. */
    int sessions = -1;
    for (int i = 0; i < 100 && sessions != 0; i++) {
        usleep(20000);
        http_request(f.port, "GET", "/metrics", NULL, NULL, body, sizeof body);
        const char *p = strstr(body, "\naxiom_sessions ");
        sessions = p ? atoi(p + 16) : -1;
    }
    CHECK_EQ_INT(sessions, 0);
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", NULL, NULL, body, sizeof body), 200);
    fixture_stop(&f);
}

static void test_idle_timeout(void) {
    const char *settings[] = {"server.max_sessions=4", "server.idle_timeout_s=5", NULL};
    server_fixture f;
    if (start(&f, settings) != 0) {
        CHECK(0);
        return;
    }
    ws_client *quiet = open_ws(f.port, NULL);
    CHECK(quiet != NULL);
    if (quiet) {
        int64_t t0 = wsc_now_us();
        ws_msg m;
        int r;
        while ((r = ws_client_recv(quiet, 9000, &m)) == 1) {
        }
        double waited = (double)(wsc_now_us() - t0) / 1e6;
        CHECK_EQ_INT(r, -1); /* closed by the server, not a timeout here */
        CHECK_MSG(waited >= 4.0 && waited < 8.5, "closed after %.1f s; server.idle_timeout_s=5",
                  waited);
        CHECK_EQ_INT(ws_client_close_code(quiet), 1001);
        CHECK_CONTAINS(ws_client_close_reason(quiet), "idle_timeout_s");
        ws_client_free(quiet);
    }
    fixture_stop(&f);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_client_ready_and_hello);
    RUN(test_malformed_messages_keep_session);
    RUN(test_oversized_and_garbage_frames);
    RUN(test_origin_check);
    RUN(test_busy_close_past_max_sessions);
    RUN(test_slow_reader_dropped);
    RUN(test_disconnects_at_random_points);
    RUN(test_idle_timeout);
    return CHECK_DONE(argv[0]);
}
