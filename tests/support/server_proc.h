/* `axiom serve` as a child process on a free loopback port, for tests and benchmarks
 * that must kill it (-9), read its /proc figures or have LeakSanitizer check it at
 * exit. */
#ifndef AXIOM_SERVER_PROC_H
#define AXIOM_SERVER_PROC_H

#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
} server_proc;

/* settings: NULL-terminated "key=value" list passed as --set. Waits (up to 30 s)
 * until /health answers. Returns 0, or -1 with err. */
int server_proc_start(server_proc *p, const char *const *settings, char *err, size_t errlen);
/* SIGTERM and wait; returns the exit status (or 128 + signal), -1 when not running. */
int server_proc_stop(server_proc *p);
/* SIGKILL and reap. */
void server_proc_kill(server_proc *p);
/* From /proc/<pid>: resident KiB, open descriptors, threads (-1 when unreadable). */
long server_proc_rss_kb(const server_proc *p);
int server_proc_fds(const server_proc *p);
int server_proc_threads(const server_proc *p);

#endif
