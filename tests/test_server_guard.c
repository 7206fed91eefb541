/* Who may talk to the server, against a real in-process server on loopback:
 * DNS-rebinding requests (a Host that is not this machine) are refused on every
 * route, state-changing requests with a foreign Origin are refused, POST /api/ask
 * takes JSON only (a page's text/plain or form POST is refused), a token in the URL
 * counts on /ws only, and the good cases (loopback names, configured names, the
 * browser UI's own origin) still work. */
#include "check.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char body[1 << 16];

static const char *const quick[] = {"tts.backend=none", "mode=template-only", "vad.backend=energy",
                                    NULL};

/* Sends a WebSocket upgrade with the given Host and Origin (either may be NULL) and
 * returns the HTTP status of the answer (101 when the upgrade was accepted). */
static int ws_upgrade_status(int port, const char *host, const char *origin) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    char req[1024], hh[300] = "", oh[300] = "";
    if (host) snprintf(hh, sizeof hh, "Host: %s\r\n", host);
    if (origin) snprintf(oh, sizeof oh, "Origin: %s\r\n", origin);
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\n%s%sUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     hh, oh);
    int status = -1;
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) == n) {
        char resp[2048];
        size_t len = 0;
        while (len < sizeof resp - 1) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 5000) <= 0) break;
            ssize_t r = recv(fd, resp + len, sizeof resp - 1 - len, 0);
            if (r <= 0) break;
            len += (size_t)r;
            resp[len] = '\0';
            if (strstr(resp, "\r\n")) break;
        }
        resp[len] = '\0';
        sscanf(resp, "HTTP/1.%*d %d", &status);
    }
    close(fd);
    return status;
}

static void test_rebinding_refused_on_every_route(void) {
    server_fixture f;
    char err[512];
    if (fixture_start(&f, quick, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    const char *json = "Content-Type: application/json\r\n";
    const struct {
        const char *method, *path, *hdr, *body;
    } routes[] = {
        {"GET", "/", NULL, NULL},        {"GET", "/index.html", NULL, NULL},
        {"GET", "/app.js", NULL, NULL},  {"GET", "/missing.css", NULL, NULL},
        {"GET", "/health", NULL, NULL},  {"GET", "/api/status", NULL, NULL},
        {"GET", "/metrics", NULL, NULL}, {"POST", "/api/ask", json, "{\"text\":\"hello\"}"},
        {"HEAD", "/", NULL, NULL},       {"OPTIONS", "/api/ask", NULL, NULL},
    };
    const char *bad_hosts[] = {
        "evil.example:8000",           "evil.example", "127.0.0.1.evil.example",
        "localhost.evil.example:8000", "[::2]:8000",   ""};
    for (size_t h = 0; h < sizeof bad_hosts / sizeof bad_hosts[0]; h++) {
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
            int st = http_request_host(f.port, bad_hosts[h], routes[i].method, routes[i].path,
                                       routes[i].hdr, routes[i].body, body, sizeof body);
            CHECK_MSG(st == 403, "Host '%s' %s %s -> %d", bad_hosts[h], routes[i].method,
                      routes[i].path, st);
            if (strcmp(routes[i].method, "HEAD") != 0)
                CHECK_MSG(strstr(body, "Host not allowed") != NULL, "body: %.200s", body);
        }
        /* The voice socket, even with an Origin matching the rebound Host. */
        char origin[300];
        snprintf(origin, sizeof origin, "http://%s", bad_hosts[h]);
        CHECK_EQ_INT(ws_upgrade_status(f.port, bad_hosts[h][0] ? bad_hosts[h] : NULL, origin), 403);
        CHECK_EQ_INT(ws_upgrade_status(f.port, bad_hosts[h][0] ? bad_hosts[h] : NULL, NULL), 403);
    }
    /* Loopback in any spelling and with any port is this machine. */
    const char *good_hosts[] = {"localhost:8000", "LOCALHOST",  "localhost.", "127.0.0.1",
                                "127.0.0.1:8000", "[::1]:8000", "[::1]",      "127.1.2.3:80"};
    for (size_t h = 0; h < sizeof good_hosts / sizeof good_hosts[0]; h++) {
        CHECK_MSG(http_request_host(f.port, good_hosts[h], "GET", "/health", NULL, NULL, body,
                                    sizeof body) == 200,
                  "Host %s refused", good_hosts[h]);
    }
    CHECK_EQ_INT(
        http_request_host(f.port, "localhost:8000", "GET", "/", NULL, NULL, body, sizeof body),
        200);
    CHECK_EQ_INT(http_request_host(f.port, "localhost:8000", "GET", "/api/status", NULL, NULL, body,
                                   sizeof body),
                 200);
    CHECK_EQ_INT(http_request(f.port, "GET", "/metrics", NULL, NULL, body, sizeof body), 200);
    CHECK_CONTAINS(body, "axiom_requests_refused_host_total ");
    CHECK(strstr(body, "axiom_requests_refused_host_total 0\n") == NULL);
    /* The reference front end: ws://localhost:8000/ws from its own page, or by address. */
    CHECK_EQ_INT(ws_upgrade_status(f.port, "localhost:8000", "http://localhost:8000"), 101);
    CHECK_EQ_INT(ws_upgrade_status(f.port, "127.0.0.1:8000", "http://127.0.0.1:8000"), 101);
    CHECK_EQ_INT(ws_upgrade_status(f.port, "[::1]:8000", "http://[::1]:8000"), 101);
    /* ... but not a page on another loopback port (another local app). */
    CHECK_EQ_INT(ws_upgrade_status(f.port, "localhost:8000", "http://localhost:3000"), 403);
    fixture_stop(&f);
}

static void test_configured_hosts(void) {
    const char *settings[] = {"server.allowed_hosts=robot.lan, Kiosk", "tts.backend=none",
                              "mode=template-only", "vad.backend=energy", NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(http_request_host(f.port, "robot.lan:8000", "GET", "/health", NULL, NULL, body,
                                   sizeof body),
                 200);
    CHECK_EQ_INT(
        http_request_host(f.port, "kiosk", "GET", "/api/status", NULL, NULL, body, sizeof body),
        200);
    CHECK_EQ_INT(http_request_host(f.port, "robot.lan.evil.example", "GET", "/health", NULL, NULL,
                                   body, sizeof body),
                 403);
    CHECK_EQ_INT(
        http_request_host(f.port, "evil.example", "GET", "/health", NULL, NULL, body, sizeof body),
        403);
    CHECK_EQ_INT(ws_upgrade_status(f.port, "robot.lan:8000", "http://robot.lan:8000"), 101);
    CHECK_EQ_INT(ws_upgrade_status(f.port, "robot.lan:8000", "http://evil.example"), 403);
    fixture_stop(&f);
}

static void test_csrf_and_origin(void) {
    server_fixture f;
    char err[512], hdr[512];
    if (fixture_start(&f, quick, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    /* What any web page may send without a CORS preflight. */
    const char *simple[] = {"Content-Type: text/plain\r\n",
                            "Content-Type: text/plain;charset=UTF-8\r\n",
                            "Content-Type: application/x-www-form-urlencoded\r\n",
                            "Content-Type: multipart/form-data; boundary=x\r\n",
                            "Content-Type: application/jsonp\r\n",
                            NULL};
    for (int i = 0; i < 6; i++) {
        int st = http_request(f.port, "POST", "/api/ask", simple[i], "{\"text\":\"hello\"}", body,
                              sizeof body);
        CHECK_MSG(st == 415, "%s-> %d", simple[i] ? simple[i] : "(no type) ", st);
        CHECK_CONTAINS(body, "application/json");
    }
    /* A page on another site, even with the JSON type (which needs a preflight the
     * server never grants, but the check must not rely on that). */
    CHECK_EQ_INT(http_request(f.port, "POST", "/api/ask",
                              "Content-Type: application/json\r\nOrigin: http://evil.example\r\n",
                              "{\"text\":\"hello\"}", body, sizeof body),
                 403);
    CHECK_CONTAINS(body, "Origin not allowed");
    CHECK_EQ_INT(http_request(f.port, "POST", "/api/ask",
                              "Content-Type: text/plain\r\nOrigin: null\r\n", "{\"text\":\"x\"}",
                              body, sizeof body),
                 403);
    CHECK_EQ_INT(ws_upgrade_status(f.port, NULL, "http://evil.example"), 403);
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", f.port);
    CHECK_EQ_INT(ws_upgrade_status(f.port, host, "http://evil.example"), 403);
    /* Good: the UI's own page (same origin), and a client that is not a browser. */
    snprintf(hdr, sizeof hdr, "Content-Type: application/json\r\nOrigin: http://127.0.0.1:%d\r\n",
             f.port);
    int st =
        http_request(f.port, "POST", "/api/ask", hdr, "{\"text\":\"hello\"}", body, sizeof body);
    CHECK_MSG(st == 200, "same-origin ask -> %d %s", st, body);
    CHECK_CONTAINS(body, "\"text\"");
    st = http_request(f.port, "POST", "/api/ask",
                      "Content-Type: Application/JSON; charset=utf-8\r\n", "{\"text\":\"hello\"}",
                      body, sizeof body);
    CHECK_MSG(st == 200, "ask without Origin -> %d %s", st, body);
    CHECK_EQ_INT(ws_upgrade_status(f.port, host, NULL), 101);
    /* A GET with a foreign Origin changes nothing and reveals nothing the browser
     * would let that page read: served. */
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", "Origin: http://evil.example\r\n", NULL,
                              body, sizeof body),
                 200);
    fixture_stop(&f);
}

static void test_token_in_url_only_on_ws(void) {
    const char *settings[] = {"server.auth_token=s3cret-token", "tts.backend=none",
                              "mode=template-only", "vad.backend=energy", NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(http_request(f.port, "GET", "/api/status?token=s3cret-token", NULL, NULL, body,
                              sizeof body),
                 401);
    CHECK_EQ_INT(
        http_request(f.port, "GET", "/metrics?token=s3cret-token", NULL, NULL, body, sizeof body),
        401);
    CHECK_EQ_INT(http_request(f.port, "POST", "/api/ask?token=s3cret-token",
                              "Content-Type: application/json\r\n", "{\"text\":\"hello\"}", body,
                              sizeof body),
                 401);
    int st = 0;
    ws_client *c =
        ws_client_connect(f.port, "/ws?token=s3cret-token", NULL, 3000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "token in the /ws URL refused: %s", err);
    ws_client_free(c);
    fixture_stop(&f);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_rebinding_refused_on_every_route);
    RUN(test_configured_hosts);
    RUN(test_csrf_and_origin);
    RUN(test_token_in_url_only_on_ws);
    return CHECK_DONE(argv[0]);
}
