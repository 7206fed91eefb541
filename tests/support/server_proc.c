#include "server_proc.h"

#include "server_fixture.h"
#include "ws_client.h"

#include "core/util.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int server_proc_start(server_proc *p, const char *const *settings, char *err, size_t errlen) {
    p->pid = 0;
    p->port = fixture_free_port();
    const char *bin = getenv("AXIOM_BIN");
    char binbuf[4096];
    if (!bin || !*bin) {
        snprintf(binbuf, sizeof binbuf, "%s/build/axiom", axiom_root_dir());
        bin = binbuf;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", p->port);
    const char *argv[96];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "serve";
    argv[n++] = "--port";
    argv[n++] = port;
    for (const char *const *s = settings; s && *s && n < 90; s++) {
        argv[n++] = "--set";
        argv[n++] = *s;
    }
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return snprintf(err, errlen, "fork failed"), -1;
    if (pid == 0) {
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    p->pid = pid;
    char body[256];
    for (int i = 0; i < 300; i++) {
        usleep(100 * 1000);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            p->pid = 0;
            snprintf(err, errlen, "%s serve exited at start (status %d); run it by hand to see why",
                     bin, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            return -1;
        }
        if (http_request(p->port, "GET", "/health", NULL, NULL, body, sizeof body) == 200) return 0;
    }
    server_proc_kill(p);
    snprintf(err, errlen, "%s serve did not answer /health within 30 s", bin);
    return -1;
}

int server_proc_stop(server_proc *p) {
    if (p->pid <= 0) return -1;
    kill(p->pid, SIGTERM);
    int st = 0;
    waitpid(p->pid, &st, 0);
    p->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void server_proc_kill(server_proc *p) {
    if (p->pid <= 0) return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

static long status_field(const server_proc *p, const char *key) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)p->pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    if (f) fclose(f);
    return v;
}

long server_proc_rss_kb(const server_proc *p) {
    return status_field(p, "VmRSS");
}
int server_proc_threads(const server_proc *p) {
    return (int)status_field(p, "Threads");
}

int server_proc_fds(const server_proc *p) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)p->pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}
