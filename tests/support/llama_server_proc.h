/* Starts and stops a real llama-server (built by scripts/build-llama-server.sh) on a
 * free loopback port, for the OpenAI-compatible tests and the LLM benchmark. Header
 * only, because benchmarks link the library but not the test support objects.
 *
 * lsp_find reports the cached binary without building it (the build takes minutes and
 * belongs to `make test`); callers skip with the reason when it is absent. */
#ifndef AXIOM_LLAMA_SERVER_PROC_H
#define AXIOM_LLAMA_SERVER_PROC_H

#include "core/util.h"
#include "llm/llm_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
    char log[512];
} lsp;

/* Path of the cached llama-server, or -1 with the script's reason in why. */
static inline int lsp_find(char *out, size_t outlen, char *why, size_t whylen) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "'%s/scripts/build-llama-server.sh' --cached 2>&1", axiom_root_dir());
    FILE *f = popen(cmd, "r");
    if (!f) return snprintf(why, whylen, "cannot run scripts/build-llama-server.sh"), -1;
    char line[4200] = "";
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    int rc = pclose(f);
    line[strcspn(line, "\n")] = '\0';
    if (rc != 0 || line[0] != '/') {
        snprintf(why, whylen, "%s", line[0] ? line : "llama-server is not built");
        return -1;
    }
    snprintf(out, outlen, "%s", line);
    return 0;
}

static inline int lsp_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* Starts `bin -m model` with extra arguments (NULL-terminated) and waits until /health
 * answers 200 (model loaded), at most wait_ms. Returns 0, or -1 with why. */
static inline int lsp_start(lsp *s, const char *bin, const char *model, int ctx,
                            const char *const *extra, int64_t wait_ms, char *why, size_t whylen) {
    memset(s, 0, sizeof *s);
    s->port = lsp_free_port();
    snprintf(s->log, sizeof s->log, "%s/llama-server-%d.log",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", s->port);
    char port[16], cbuf[16];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(cbuf, sizeof cbuf, "%d", ctx);
    const char *argv[40] = {
        bin,  "-m", model, "--host",     "127.0.0.1", "--port",     port,          "-c",
        cbuf, "-t", "1",   "--parallel", "1",         "--no-webui", "--no-warmup", "--offline"};
    int argc = 16;
    for (; extra && *extra && argc < 38; extra++)
        argv[argc++] = *extra;
    argv[argc] = NULL;
    s->pid = fork();
    if (s->pid < 0) return snprintf(why, whylen, "fork failed"), -1;
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", s->port);
    int64_t until = now_ms() + wait_ms;
    while (now_ms() < until) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return snprintf(why, whylen, "llama-server exited at start; see %.300s", s->log), -1;
        }
        llm_http_req rq = {.url = url, .timeout_ms = 1000};
        llm_http_resp rs;
        char e[256];
        int rc = llm_http_request(&rq, &rs, e, sizeof e);
        long st = rs.status;
        llm_http_resp_free(&rs);
        if (rc == 0 && st == 200) return 0;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    snprintf(why, whylen, "llama-server did not become healthy within %lld ms; see %.300s",
             (long long)wait_ms, s->log);
    return -1;
}

static inline void lsp_stop(lsp *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            unlink(s->log);
            return;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

#endif
