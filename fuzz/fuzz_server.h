/* The real server, started once per fuzzing process on a loopback port, for the
 * targets that feed it raw bytes over a socket (WebSocket frames, HTTP requests).
 * Going through the socket means civetweb's own frame and header parsing is fuzzed
 * together with AXIOM's handlers, exactly as a hostile client would reach them.
 *
 * The web folder is a scratch folder holding index.html, with a file next to it
 * (outside the folder) whose contents must never appear in a response. */
#ifndef AXIOM_FUZZ_SERVER_H
#define AXIOM_FUZZ_SERVER_H

#include "core/config.h"
#include "core/engine.h"
#include "core/log.h"
#include "fuzz.h"
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define FUZZ_SECRET "AXIOM-OUTSIDE-WEB-FOLDER-7f3a"

static int fuzz_server_port;

static int fuzz_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static void fuzz_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

/* Settings a target adds to the server's (NULL-terminated pairs), before the first
 * fuzz_server_get. */
static const char *const (*fuzz_server_extra)[2];

/* Starts the server the first time; aborts when it cannot (the run is meaningless). */
static int fuzz_server_get(void) {
    if (fuzz_server_port) return fuzz_server_port;
    char dir[256], web[300], p[400];
    snprintf(dir, sizeof dir, "/tmp/axiom-fuzz-srv-%d", (int)getpid());
    snprintf(web, sizeof web, "%s/web", dir);
    mkdir(dir, 0700);
    mkdir(web, 0700);
    snprintf(p, sizeof p, "%s/index.html", web);
    fuzz_write_file(p, "<html>axiom</html>\n");
    snprintf(p, sizeof p, "%s/secret.txt", dir);
    fuzz_write_file(p, FUZZ_SECRET "\n");
    snprintf(p, sizeof p, "%s/web/sub", dir);
    mkdir(p, 0700);

    char port[16], err[512];
    int pn = fuzz_free_port();
    snprintf(port, sizeof port, "%d", pn);
    axiom_config *cfg = config_new();
    const char *kv[][2] = {{"server.port", port},
                           {"server.web_dir", web},
                           {"server.max_message_bytes", "4096"},
                           {"server.max_sessions", "8"},
                           {"vad.backend", "energy"},
                           {"tts.backend", "none"},
                           {"mode", "template-only"},
                           {"log_level", "off"},
                           {"cache_dir", dir}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (config_set(cfg, kv[i][0], kv[i][1], CFG_FLAG, "fuzz", err, sizeof err) != 0) {
            fprintf(stderr, "fuzz server: %s\n", err);
            abort();
        }
    for (const char *const(*e)[2] = fuzz_server_extra; e && (*e)[0]; e++)
        if (config_set(cfg, (*e)[0], (*e)[1], CFG_FLAG, "fuzz", err, sizeof err) != 0) {
            fprintf(stderr, "fuzz server: %s\n", err);
            abort();
        }
    log_set_level(AX_LOG_OFF);
    axiom_engine *eng = axiom_engine_new(cfg, err, sizeof err);
    if (!eng) {
        fprintf(stderr, "fuzz server: %s\n", err);
        abort();
    }
    /* Lives for the whole process: the fuzzer never returns to tear it down. */
    if (!server_start(eng, cfg, err, sizeof err)) {
        fprintf(stderr, "fuzz server: %s\n", err);
        abort();
    }
    fuzz_server_port = pn;
    return pn;
}

static int fuzz_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) abort();
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* libFuzzer's timeout alarm interrupts system calls: a connect cut short by it
     * goes on in the background, so wait for it instead of failing. */
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 && errno == EINTR) {
        struct pollfd pf = {fd, POLLOUT, 0};
        while (poll(&pf, 1, 5000) < 0 && errno == EINTR) {
        }
        int so = 0;
        socklen_t sl = sizeof so;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
        errno = so;
        rc = so == 0 ? 0 : -1;
    }
    if (rc != 0) {
        fprintf(stderr, "fuzz server: connect: %s (the server died?)\n", strerror(errno));
        abort();
    }
    return fd;
}

static void fuzz_send_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return; /* the server may close on bad input: that is fine */
        p += n;
        len -= (size_t)n;
    }
}

/* Reads what the server answers until it closes or is quiet for quiet_ms; returns
 * the bytes read (at most cap - 1, NUL-terminated). */
static size_t fuzz_read_reply(int fd, char *buf, size_t cap, int quiet_ms) {
    size_t got = 0;
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, quiet_ms);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_t take = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;
        memcpy(buf + got, tmp, take);
        got += take;
    }
    buf[got] = '\0';
    return got;
}

#endif
