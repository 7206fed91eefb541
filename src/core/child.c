/* Trial runs in a child process (child.h). */
#include "core/child.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Keeps the last part of the child's output: its final line says why it died. */
typedef struct {
    char buf[2048];
    size_t len;
} tail_buf;

static void tail_read(tail_buf *t, int *fd, int echo) {
    char chunk[1024];
    ssize_t n = read(*fd, chunk, sizeof chunk);
    if (n > 0 && echo && write(2, chunk, (size_t)n) < 0) {
        /* nowhere to say it */
    }
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
        return;
    }
    if (n <= 0) return;
    if (t->len + (size_t)n > sizeof t->buf - 1) { /* drop the oldest half */
        size_t keep = t->len / 2;
        memmove(t->buf, t->buf + t->len - keep, keep);
        t->len = keep;
        if ((size_t)n > sizeof t->buf - 1 - keep) n = (ssize_t)(sizeof t->buf - 1 - keep);
    }
    memcpy(t->buf + t->len, chunk, (size_t)n);
    t->len += (size_t)n;
    t->buf[t->len] = '\0';
}

/* The last non-empty line of the output, printable bytes only. */
static void last_line(const tail_buf *t, char *out, size_t outlen) {
    size_t end = t->len;
    while (end > 0 &&
           (t->buf[end - 1] == '\n' || t->buf[end - 1] == '\r' || t->buf[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start > 0 && t->buf[start - 1] != '\n')
        start--;
    size_t n = 0;
    for (size_t i = start; i < end && n + 1 < outlen && n < 200; i++) {
        unsigned char c = (unsigned char)t->buf[i];
        out[n++] = c >= 32 && c < 127 ? (char)c : ' ';
    }
    out[n] = '\0';
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int child_trial(child_fn fn, void *arg, int timeout_ms, char *why, size_t whylen) {
    return child_trial_echo(fn, arg, timeout_ms, 0, why, whylen);
}

int child_trial_echo(child_fn fn, void *arg, int timeout_ms, int echo, char *why, size_t whylen) {
    int fds[2] = {-1, -1};
    if (pipe2(fds, O_CLOEXEC) != 0) fds[0] = fds[1] = -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "cannot start a trial process: %s", strerror(errno));
        if (fds[0] >= 0) close(fds[0]), close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        int out = fds[1] >= 0 ? fds[1] : open("/dev/null", O_WRONLY);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        _exit(fn(arg) & 0xff);
    }
    if (fds[1] >= 0) close(fds[1]);
    if (fds[0] >= 0) fcntl(fds[0], F_SETFL, O_NONBLOCK);
    tail_buf tail = {.len = 0};
    tail.buf[0] = '\0';
    int64_t end = now_ms() + timeout_ms;
    int status = 0, done = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            done = 1;
            break;
        }
        if (r < 0 && errno != EINTR) {
            if (fds[0] >= 0) close(fds[0]);
            snprintf(why, whylen,
                     "the trial process was reaped elsewhere (SIGCHLD ignored?): cannot tell");
            return 1;
        }
        int64_t left = end - now_ms();
        if (left <= 0) break;
        int step = left < 20 ? (int)left : 20;
        struct pollfd p = {fds[0], POLLIN, 0};
        if (fds[0] >= 0 && poll(&p, 1, step) > 0)
            tail_read(&tail, &fds[0], echo);
        else if (fds[0] < 0)
            sleep_ms(step);
    }
    if (!done) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (fds[0] >= 0) close(fds[0]);
        snprintf(why, whylen, "did not finish within %d ms (killed)", timeout_ms);
        return -1;
    }
    while (fds[0] >= 0) { /* what the child wrote last */
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 0) <= 0) break;
        tail_read(&tail, &fds[0], echo);
    }
    if (fds[0] >= 0) close(fds[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    char line[320];
    last_line(&tail, line, sizeof line);
    if (WIFEXITED(status))
        snprintf(why, whylen, "exited with status %d%s%s", WEXITSTATUS(status), line[0] ? ": " : "",
                 line);
    else
        snprintf(why, whylen, "died of signal %d (%s)%s%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), line[0] ? ": " : "", line);
    return -1;
}

/* ---- files that passed ---- */

#define REMEMBERED 8

static pthread_mutex_t passed_mu = PTHREAD_MUTEX_INITIALIZER;
static char passed[REMEMBERED][2048];
static int passed_next;

/* path:size:mtime:inode of each file; "" when one cannot be read. */
static void identity(const char *const *files, size_t n, char *out, size_t outlen) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (!files[i] || stat(files[i], &st) != 0) {
            out[0] = '\0';
            return;
        }
        int w =
            snprintf(out + used, outlen - used, "%s:%lld:%lld:%llu;", files[i],
                     (long long)st.st_size, (long long)st.st_mtime, (unsigned long long)st.st_ino);
        if (w < 0 || (size_t)w >= outlen - used) {
            out[0] = '\0';
            return;
        }
        used += (size_t)w;
    }
}

int child_trial_passed_before(const char *const *files, size_t n) {
    char id[2048];
    identity(files, n, id, sizeof id);
    if (!id[0]) return 0;
    pthread_mutex_lock(&passed_mu);
    int found = 0;
    for (int i = 0; i < REMEMBERED && !found; i++)
        found = strcmp(passed[i], id) == 0;
    pthread_mutex_unlock(&passed_mu);
    return found;
}

void child_trial_remember(const char *const *files, size_t n) {
    char id[2048];
    identity(files, n, id, sizeof id);
    if (!id[0]) return;
    pthread_mutex_lock(&passed_mu);
    str_copy(passed[passed_next], sizeof passed[0], id);
    passed_next = (passed_next + 1) % REMEMBERED;
    pthread_mutex_unlock(&passed_mu);
}
