/* The scripted loopback peer (see llm_peer.h). One thread accepts and serves one
 * connection at a time, which is all a single test client needs. */
#include "llm_peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUTES 8
#define MAX_SCRIPTS 8
#define MAX_REQ (1u << 20)

typedef struct {
    char key[96];
    const char *const *scripts[MAX_SCRIPTS];
    int nscripts;
    int seen;
    char *last_body;
} route;

struct llm_peer {
    int lfd, port;
    int wake[2];
    pthread_t th;
    pthread_mutex_t lock;
    route routes[MAX_ROUTES];
    int nroutes;
    int requests;
    volatile int stopping;
};

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Waits until the client closes (or the peer stops): a stalled server. */
static void hang(llm_peer *p, int fd) {
    while (!p->stopping) {
        struct pollfd pf[2] = {{fd, POLLIN, 0}, {p->wake[0], POLLIN, 0}};
        if (poll(pf, 2, 50) > 0) {
            if (pf[1].revents) return;
            char b[256];
            if (pf[0].revents && recv(fd, b, sizeof b, 0) <= 0) return;
        }
    }
}

static void play(llm_peer *p, int fd, const char *const *script) {
    for (; script && *script; script++) {
        const char *s = *script;
        int rc = 0;
        switch (s[0]) {
        case 'S':
            rc = send_all(fd, s + 1, strlen(s + 1));
            break;
        case 'K': {
            char head[32];
            int n = snprintf(head, sizeof head, "%zx\r\n", strlen(s + 1));
            rc = send_all(fd, head, (size_t)n) || send_all(fd, s + 1, strlen(s + 1)) ||
                 send_all(fd, "\r\n", 2);
            break;
        }
        case 'E':
            rc = send_all(fd, "0\r\n\r\n", 5);
            break;
        case 'W':
            sleep_ms(atol(s + 1));
            break;
        case 'H':
            hang(p, fd);
            return;
        case 'Z': {
            long total = atol(s + 1);
            char buf[8192];
            memset(buf, 'z', sizeof buf);
            for (long sent = 0; sent < total && rc == 0 && !p->stopping; sent += (long)sizeof buf)
                rc = send_all(fd, buf, sizeof buf);
            break;
        }
        default:
            break;
        }
        if (rc) return; /* the client went away */
    }
}

/* Reads one request (headers + Content-Length body). Returns the buffer or NULL. */
static char *read_request(llm_peer *p, int fd, char **body) {
    char *buf = malloc(MAX_REQ + 1);
    if (!buf) return NULL;
    size_t len = 0;
    long need = -1;
    char *hend = NULL;
    while (len < MAX_REQ && !p->stopping) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) continue;
        ssize_t k = recv(fd, buf + len, MAX_REQ - len, 0);
        if (k <= 0) break;
        len += (size_t)k;
        buf[len] = '\0';
        if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
            need = 0;
            for (char *h = buf; h < hend; h = strstr(h, "\r\n") + 2)
                if (strncasecmp(h, "Content-Length:", 15) == 0) need = atol(h + 15);
        }
        if (hend && (long)(len - (size_t)(hend + 4 - buf)) >= need) {
            *body = hend + 4;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

static void serve(llm_peer *p, int fd) {
    char *body = NULL;
    char *req = read_request(p, fd, &body);
    if (!req) return;
    char method[16] = "", path[256] = "";
    sscanf(req, "%15s %255s", method, path);
    char key[300];
    snprintf(key, sizeof key, "%s %s", method, path);
    const char *const *script = NULL;
    pthread_mutex_lock(&p->lock);
    p->requests++;
    for (int i = 0; i < p->nroutes; i++) {
        route *r = &p->routes[i];
        if (strcmp(r->key, key) != 0) continue;
        int idx = r->seen < r->nscripts ? r->seen : r->nscripts - 1;
        script = r->scripts[idx];
        r->seen++;
        free(r->last_body);
        r->last_body = strdup(body);
    }
    pthread_mutex_unlock(&p->lock);
    free(req);
    static const char *const not_found[] = {
        "SHTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 21\r\n"
        "Connection: close\r\n\r\n{\"error\":\"not found\"}",
        NULL};
    play(p, fd, script ? script : not_found);
}

static void *run(void *arg) {
    llm_peer *p = arg;
    while (!p->stopping) {
        struct pollfd pf[2] = {{p->lfd, POLLIN, 0}, {p->wake[0], POLLIN, 0}};
        if (poll(pf, 2, 200) <= 0) continue;
        if (pf[1].revents) break;
        int fd = accept(p->lfd, NULL, NULL);
        if (fd < 0) continue;
        serve(p, fd);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    return NULL;
}

llm_peer *llm_peer_start(void) {
    llm_peer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(p->lfd, 16) != 0 || getsockname(p->lfd, (struct sockaddr *)&a, &al) != 0 ||
        pipe(p->wake) != 0) {
        if (p->lfd >= 0) close(p->lfd);
        free(p);
        return NULL;
    }
    p->port = ntohs(a.sin_port);
    pthread_create(&p->th, NULL, run, p);
    return p;
}

int llm_peer_port(const llm_peer *p) {
    return p->port;
}

void llm_peer_route(llm_peer *p, const char *method_path, const char *const *script) {
    pthread_mutex_lock(&p->lock);
    route *r = NULL;
    for (int i = 0; i < p->nroutes; i++)
        if (strcmp(p->routes[i].key, method_path) == 0) r = &p->routes[i];
    if (!r && p->nroutes < MAX_ROUTES) {
        r = &p->routes[p->nroutes++];
        snprintf(r->key, sizeof r->key, "%s", method_path);
    }
    if (r && r->nscripts < MAX_SCRIPTS) r->scripts[r->nscripts++] = script;
    pthread_mutex_unlock(&p->lock);
}

int llm_peer_last_body(llm_peer *p, const char *method_path, char *out, size_t outlen) {
    int seen = 0;
    pthread_mutex_lock(&p->lock);
    snprintf(out, outlen, "%s", "");
    for (int i = 0; i < p->nroutes; i++)
        if (strcmp(p->routes[i].key, method_path) == 0) {
            seen = p->routes[i].seen;
            snprintf(out, outlen, "%s", p->routes[i].last_body ? p->routes[i].last_body : "");
        }
    pthread_mutex_unlock(&p->lock);
    return seen;
}

int llm_peer_requests(llm_peer *p) {
    pthread_mutex_lock(&p->lock);
    int n = p->requests;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void llm_peer_stop(llm_peer *p) {
    if (!p) return;
    p->stopping = 1;
    if (write(p->wake[1], "x", 1) < 0) { /* the poll timeout ends the thread anyway */
    }
    pthread_join(p->th, NULL);
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    for (int i = 0; i < p->nroutes; i++)
        free(p->routes[i].last_body);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
