/* The Wyoming listener: the socket, the accept thread, admission, and an orderly stop.
 *
 * Admission, in order: at most wyoming.max_connections at once (each has a thread),
 * then the admission shared with the browser sessions (server.max_sessions counts
 * both, and the memory governor refuses new ones at its critical level). A refused
 * client is told why in an error event with code "busy" by a short-lived refusal
 * thread (at most REFUSERS_MAX at once; past that the connection is simply closed),
 * so refusals never hold up the accept loop or other connections.
 *
 * Wyoming has no authentication, so an address other than loopback needs
 * wyoming.allow_remote = true, as the HTTP server needs server.auth_token. */
#include "core/log.h"
#include "core/util.h"
#include "wyoming/wyoming_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REFUSERS_MAX 8
#define SEND_TIMEOUT_S 10     /* a peer that stops reading fails our writes after this */
#define CONN_STACK (1u << 20) /* the brain, the recogniser and the synthesiser run here */

static int host_is_loopback(const char *host) {
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0) return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

static int listen_on(const char *host, int port, char *err, size_t errlen) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    int g = getaddrinfo(host, ports, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "wyoming.host = %s: %s", host, gai_strerror(g));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen,
                 "cannot listen on %s:%d for Wyoming (port in use, or address not on this machine)",
                 host, port);
    return fd;
}

static int spawn_detached(void *(*fn)(void *), void *arg, size_t stack) {
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, stack);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = pthread_create(&t, &at, fn, arg);
    pthread_attr_destroy(&at);
    return rc;
}

typedef struct {
    wyoming_server *srv;
    int fd;
    char why[200];
} refusal;

/* Tells a refused client why, then waits (at most 2 s) for it to close, so the error
 * is not destroyed by a reset; the stop shuts the socket down to end this early. */
static void *refuse_main(void *arg) {
    refusal *r = arg;
    pthread_setname_np(pthread_self(), "axiom-wy-refuse");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", r->why);
    cJSON_AddStringToObject(d, "code", "busy");
    wy_write_event(r->fd, "error", d, NULL, 0);
    cJSON_Delete(d);
    shutdown(r->fd, SHUT_WR);
    struct timeval tv = {0, 200 * 1000};
    setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char sink[2048];
    int64_t until = now_ms() + 2000;
    while (now_ms() < until) {
        ssize_t n = recv(r->fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
        pthread_mutex_lock(&r->srv->mu);
        int stop = r->srv->stopping;
        pthread_mutex_unlock(&r->srv->mu);
        if (stop) break;
    }
    wyoming_server *srv = r->srv;
    close(r->fd);
    free(r);
    pthread_mutex_lock(&srv->mu);
    srv->nrefusing--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

/* Refusals come in bursts past capacity: one log line a second, with a count. Only the
 * accept thread calls this. */
static void refuse(wyoming_server *srv, int fd, const char *why) {
    int64_t now = now_ms();
    if (now - srv->refusal_logged_ms >= 1000) {
        LOG_W("wyoming", "refusing a connection: %s%s", why,
              srv->refusals_unlogged ? " (and more in the last second)" : "");
        srv->refusal_logged_ms = now;
        srv->refusals_unlogged = 0;
    } else {
        srv->refusals_unlogged++;
    }
    refusal *r = calloc(1, sizeof *r);
    pthread_mutex_lock(&srv->mu);
    int ok = r && srv->nrefusing < REFUSERS_MAX && !srv->stopping;
    if (ok) srv->nrefusing++;
    pthread_mutex_unlock(&srv->mu);
    if (ok) {
        r->srv = srv;
        r->fd = fd;
        str_copy(r->why, sizeof r->why, why);
        if (spawn_detached(refuse_main, r, 128 * 1024) == 0) return;
        pthread_mutex_lock(&srv->mu);
        srv->nrefusing--;
        pthread_cond_broadcast(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
    }
    free(r);
    close(fd); /* too many refusals at once: no words, just the close */
}

static void admit(wyoming_server *srv, int fd) {
    char why[200] = "";
    pthread_mutex_lock(&srv->mu);
    int stopping = srv->stopping, n = srv->nconns;
    pthread_mutex_unlock(&srv->mu);
    if (stopping) {
        close(fd);
        return;
    }
    /* Only this thread adds connections, so the count cannot grow between the check
     * and the add below. */
    if (n >= srv->max_conns) {
        snprintf(why, sizeof why,
                 "busy: %d Wyoming connections in use (wyoming.max_connections); try again later",
                 n);
        refuse(srv, fd, why);
        return;
    }
    if (srv->has_adm && srv->adm.admit(srv->adm.ctx, why, sizeof why) != 0) {
        refuse(srv, fd, why);
        return;
    }
    wy_conn *c = calloc(1, sizeof *c);
    if (!c) {
        if (srv->has_adm) srv->adm.leave(srv->adm.ctx);
        refuse(srv, fd, "busy: out of memory; try again later");
        return;
    }
    c->srv = srv;
    c->fd = fd;
    atomic_init(&c->cancel, 0);
    wy_reader_init(&c->rd, fd);
    pthread_mutex_lock(&srv->mu);
    c->id = ++srv->next_id;
    c->next = srv->conns;
    srv->conns = c;
    srv->nconns++;
    pthread_mutex_unlock(&srv->mu);
    if (spawn_detached(wy_conn_main, c, CONN_STACK) == 0) return;
    pthread_mutex_lock(&srv->mu);
    for (wy_conn **pp = &srv->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    srv->nconns--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    free(c);
    if (srv->has_adm) srv->adm.leave(srv->adm.ctx);
    refuse(srv, fd, "busy: cannot start a thread for the connection; try again later");
}

static void *accept_main(void *arg) {
    wyoming_server *srv = arg;
    pthread_setname_np(pthread_self(), "axiom-wy-accept");
    for (;;) {
        struct pollfd p[2] = {{.fd = srv->fd, .events = POLLIN},
                              {.fd = srv->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            LOG_E("wyoming", "accept loop: poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents) break;
        if (!(p[0].revents & POLLIN)) continue;
        int fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                LOG_W("wyoming", "accept: %s; pausing 100 ms", strerror(errno));
                struct timespec ts = {0, 100 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        struct timeval tv = {SEND_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1; /* events are small and each one is awaited: no Nagle delay */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        admit(srv, fd);
    }
    return NULL;
}

wyoming_server *wyoming_start(axiom_engine *engine, const axiom_config *cfg,
                              const wyoming_admission *adm, char *err, size_t errlen) {
    const char *host = config_str(cfg, "wyoming.host");
    int port = (int)config_int(cfg, "wyoming.port");
    if (port <= 0) {
        snprintf(err, errlen, "wyoming.port is 0: the Wyoming service is off");
        return NULL;
    }
    if (!host_is_loopback(host) && !config_bool(cfg, "wyoming.allow_remote")) {
        snprintf(
            err, errlen,
            "wyoming.host = %s is reachable from other machines, and the Wyoming protocol has no "
            "authentication: set wyoming.allow_remote = true to accept that (only on a network you "
            "trust), or listen on 127.0.0.1",
            host);
        return NULL;
    }
    if (strlen(host) >= 64) {
        snprintf(err, errlen, "wyoming.host: at most 63 characters");
        return NULL;
    }
    wyoming_server *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->engine = engine;
    w->cfg = cfg;
    if (adm) {
        w->adm = *adm;
        w->has_adm = 1;
    }
    str_copy(w->host, sizeof w->host, host);
    w->lim.max_json_bytes = (size_t)config_int(cfg, "wyoming.max_json_bytes");
    w->lim.max_payload_bytes = (size_t)config_int(cfg, "wyoming.max_payload_bytes");
    w->idle_timeout_ms = (int)config_int(cfg, "wyoming.idle_timeout_s") * 1000;
    w->max_conns = (int)config_int(cfg, "wyoming.max_connections");
    w->max_utt_samples = (size_t)config_int(cfg, "server.max_utterance_s") * 16000;
    w->out_rate = (int)config_int(cfg, "tts.sample_rate");
    w->fd = -1;
    w->wake[0] = w->wake[1] = -1;
    w->disc_state = "off";
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->convos = wy_convos_new((int)config_int(cfg, "wyoming.conversations"));
    if (!w->convos || pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "out of memory or descriptors for the Wyoming listener");
        goto fail;
    }
    w->fd = listen_on(host, port, err, errlen);
    if (w->fd < 0) goto fail;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    w->port = port;
    if (getsockname(w->fd, (struct sockaddr *)&sa, &sl) == 0)
        w->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                 : ((struct sockaddr_in *)&sa)->sin_port);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 128 * 1024);
    int rc = pthread_create(&w->thread, &at, accept_main, w);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the Wyoming accept thread");
        goto fail;
    }
    w->thread_started = 1;
    if (config_bool(cfg, "wyoming.zeroconf")) {
        char name[128];
        const char *cn = config_str(cfg, "wyoming.zeroconf_name");
        if (*cn) {
            str_copy(name, sizeof name, cn);
        } else {
            char hn[64] = "";
            gethostname(hn, sizeof hn - 1);
            snprintf(name, sizeof name, "AXIOM on %s", *hn ? hn : "this machine");
        }
        w->disc = wy_discovery_start(name, host, w->port, &w->disc_state);
    }
    LOG_I("wyoming", "listening on tcp://%s:%d (max %d connections; discovery: %s)", host, w->port,
          w->max_conns, w->disc ? wy_discovery_state(w->disc) : w->disc_state);
    return w;
fail:
    if (w->fd >= 0) close(w->fd);
    if (w->wake[0] >= 0) close(w->wake[0]);
    if (w->wake[1] >= 0) close(w->wake[1]);
    wy_convos_free(w->convos);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
}

int wyoming_port(const wyoming_server *w) {
    return w ? w->port : 0;
}

int wyoming_connections(wyoming_server *w) {
    if (!w) return 0;
    pthread_mutex_lock(&w->mu);
    int n = w->nconns;
    pthread_mutex_unlock(&w->mu);
    return n;
}

const char *wyoming_discovery_state(wyoming_server *w) {
    if (!w) return "off";
    return w->disc ? wy_discovery_state(w->disc) : w->disc_state;
}

void wyoming_stop(wyoming_server *w) {
    if (!w) return;
    wy_discovery_stop(w->disc);
    w->disc = NULL;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started) {
        char b = 1;
        if (write(w->wake[1], &b, 1) != 1) LOG_W("wyoming", "cannot wake the accept loop");
        pthread_join(w->thread, NULL);
    }
    close(w->fd);
    /* No connection is added any more: end the ones being served and wait for them. */
    pthread_mutex_lock(&w->mu);
    for (wy_conn *c = w->conns; c; c = c->next) {
        atomic_store(&c->cancel, 1);
        shutdown(c->fd, SHUT_RDWR);
    }
    while (w->nconns > 0 || w->nrefusing > 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    close(w->wake[0]);
    close(w->wake[1]);
    wy_convos_free(w->convos);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    LOG_I("wyoming", "stopped");
    free(w);
}
