/* The shipped systemd unit starts as shipped: scripts/install-service.sh stages the
 * install (the README's steps) under a temporary folder, and the installed unit's own
 * lines are obeyed: its ExecStart is parsed from the file and run, in its
 * WorkingDirectory, with its Environment= lines, every /opt/axiom and /var/cache path
 * pointed into the staging folder. No configuration file exists anywhere (the unit
 * names none), and the server must answer /health and a question from the installed
 * pack, then stop cleanly on SIGTERM as systemd stops it. Only the port is moved
 * (AXIOM_SERVER_PORT, as an Environment= line would), since 8000 may be taken. */
#include "check.h"
#include "core/config.h"
#include "core/util.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmp[256];

/* Replaces every `from` in s (in place, bounded by cap) with `to`. */
static void substitute(char *s, size_t cap, const char *from, const char *to) {
    char out[4096];
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    for (const char *p = s; *p && n + 1 < sizeof out;) {
        if (strncmp(p, from, fl) == 0 && n + tl + 1 < sizeof out) {
            memcpy(out + n, to, tl);
            n += tl;
            p += fl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    str_copy(s, cap, out);
}

typedef struct {
    char exec[1024], workdir[1024];
    char env[8][512];
    int nenv;
} unit_lines;

/* The [Service] lines that decide how the process starts. */
static int parse_unit(const char *text, unit_lines *u) {
    memset(u, 0, sizeof *u);
    int in_service = 0;
    char line[1024];
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        if (line[0] == '[') in_service = strcmp(line, "[Service]") == 0;
        if (!in_service || line[0] == '#') continue;
        if (strncmp(line, "ExecStart=", 10) == 0)
            str_copy(u->exec, sizeof u->exec, line + 10);
        else if (strncmp(line, "WorkingDirectory=", 17) == 0)
            str_copy(u->workdir, sizeof u->workdir, line + 17);
        else if (strncmp(line, "Environment=", 12) == 0 && u->nenv < 8)
            str_copy(u->env[u->nenv++], sizeof u->env[0], line + 12);
    }
    return u->exec[0] ? 0 : -1;
}

static pid_t start_unit(const unit_lines *u, int port, const char *log) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (u->workdir[0] && chdir(u->workdir) != 0) _exit(126);
    /* systemd starts services with a clean environment: PATH and the unit's lines. */
    clearenv();
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    for (int i = 0; i < u->nenv; i++)
        putenv(strdup(u->env[i]));
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    setenv("AXIOM_SERVER_PORT", p, 1);
    char cmd[1024], *argv[32];
    str_copy(cmd, sizeof cmd, u->exec);
    int argc = 0;
    for (char *t = strtok(cmd, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    execv(argv[0], argv);
    _exit(127);
}

/* Waits up to ms for the child; returns its status, or -1 (then it is killed). */
static int wait_child(pid_t pid, int ms) {
    int st;
    for (int waited = 0; waited < ms; waited += 20) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void test_unit_starts_as_shipped(void) {
    char root[1024], cmd[4096], out[4096], e[256];
    tu_root_path("", root, sizeof root);
    const char *bin = getenv("AXIOM_BIN");
    CHECK_MSG(bin != NULL, "AXIOM_BIN is not set (tests/run.sh sets it)");
    if (!bin) return;
    snprintf(
        cmd, sizeof cmd,
        "AXIOM_BIN='%s' '%s/scripts/install-service.sh' --destdir '%s' > '%s/install.log' 2>&1",
        bin, root, tmp, tmp);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "install-service.sh --destdir failed (%d); see %s/install.log", rc, tmp);
    if (rc != 0) return;

    char unit_path[512];
    snprintf(unit_path, sizeof unit_path, "%s/etc/systemd/system/axiom.service", tmp);
    char *text = file_read_all(unit_path, 1 << 16, NULL, e, sizeof e);
    CHECK_MSG(text != NULL, "%s", e);
    unit_lines u;
    CHECK(text && parse_unit(text, &u) == 0);
    free(text);
    if (!u.exec[0]) return;
    fprintf(stderr, "  ExecStart=%s\n", u.exec);
    CHECK_MSG(strstr(u.exec, "--config") == NULL, "the unit must not require a configuration file");

    /* Point the unit's absolute paths into the staged install. */
    char opt[400], cache[400];
    snprintf(opt, sizeof opt, "%s/opt/axiom", tmp);
    snprintf(cache, sizeof cache, "%s/var/cache", tmp);
    substitute(u.exec, sizeof u.exec, "/opt/axiom", opt);
    substitute(u.workdir, sizeof u.workdir, "/opt/axiom", opt);
    for (int i = 0; i < u.nenv; i++) {
        substitute(u.env[i], sizeof u.env[i], "/opt/axiom", opt);
        substitute(u.env[i], sizeof u.env[i], "/var/cache", cache);
    }
    /* What systemd creates for CacheDirectory=axiom. */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/axiom'", cache);
    CHECK(system(cmd) == 0);
    CHECK_MSG(access(AXIOM_SYSTEM_CONFIG, F_OK) != 0,
              "%s exists on this machine: the test would not show the unit starting without one",
              AXIOM_SYSTEM_CONFIG);

    int port = fixture_free_port();
    char log[400];
    snprintf(log, sizeof log, "%s/service.log", tmp);
    pid_t pid = start_unit(&u, port, log);
    CHECK(pid > 0);
    if (pid <= 0) return;
    int code = -1;
    for (int i = 0; i < 600 && code != 200; i++) {
        code = http_request(port, "GET", "/health", NULL, NULL, out, sizeof out);
        if (code != 200) {
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                pid = -1;
                break;
            }
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    CHECK_EQ_INT(code, 200);
    CHECK_CONTAINS(out, "\"status\":\"ok\"");
    /* The installed pack answers. */
    code = http_request(port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                        "{\"text\":\"what is a lidar\"}", out, sizeof out);
    CHECK_EQ_INT(code, 200);
    CHECK_CONTAINS(out, "\"path\":");
    if (pid > 0) {
        kill(pid, SIGTERM); /* what systemctl stop sends */
        int st = wait_child(pid, 20000);
        CHECK_MSG(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "stop: status %d", st);
    }
    char *l = file_read_all(log, 1 << 20, NULL, e, sizeof e);
    if (l && (check_failures_ || getenv("VERBOSE"))) fprintf(stderr, "  service log:\n%s\n", l);
    if (l) CHECK_MSG(strstr(l, "listening") != NULL, "the service log says where it listens");
    free(l);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    RUN(test_unit_starts_as_shipped);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
