/* The server object: reads the server.* settings, refuses unsafe listen setups,
 * starts civetweb (unless server.port = 0) and the Wyoming listener (when
 * wyoming.port is set), registers the routes, and tears it all down in an order that
 * never frees what a thread may still use: Wyoming connections ended -> sockets shut
 * down -> civetweb stopped (every close handler has run and freed its voice session,
 * so no event comes after) -> the observer removed. The voice hub (pools,
 * answer-audio cache) belongs to the engine and outlives the server.
 *
 * Admission is shared: browser sessions and Wyoming connections both count against
 * server.max_sessions, and both are refused at the governor's critical level. */
#include "server/server.h"

#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "server/server_internal.h"
#include "wyoming/wyoming.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_civetweb(const struct mg_connection *conn, const char *message) {
    (void)conn;
    LOG_D("server", "civetweb: %s", message);
    return 1;
}

static int host_is_loopback(const char *host) {
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0) return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

int server_admit_session(axiom_server *srv, char *err, size_t errlen) {
    int rc = -1;
    pthread_mutex_lock(&srv->mu);
    if (srv->nsessions >= srv->max_sessions) {
        snprintf(err, errlen,
                 "busy: %d voice sessions in use (server.max_sessions); try again later",
                 srv->nsessions);
    } else {
        char why[160];
        if (governor_admit_session(srv->engine->gov, why, sizeof why) != 0)
            snprintf(err, errlen, "%s%.150s", strncmp(why, "busy", 4) == 0 ? "" : "busy: ", why);
        else
            rc = 0, srv->nsessions++;
    }
    pthread_mutex_unlock(&srv->mu);
    if (rc != 0) metrics_add(srv->metrics, COUNT_REFUSED_BUSY, 1);
    return rc;
}

void server_leave_session(axiom_server *srv) {
    pthread_mutex_lock(&srv->mu);
    srv->nsessions--;
    pthread_mutex_unlock(&srv->mu);
}

/* The HTTP and WebSocket server on host:server.port. */
static int http_start(axiom_server *s, const char *host, int workers, char *err, size_t errlen) {
    /* civetweb serves each connection on its own thread for the connection's whole
     * life (a WebSocket keeps it), so it needs one per allowed session plus some for
     * plain HTTP and for refusing sessions past the limit with a clear close code
     * (a refused client that does not leave is cut after 2 s by the reaper). */
    char ports[96], threads[16];
    if (strchr(host, ':'))
        snprintf(ports, sizeof ports, "[%s]:%lld", host, config_int(s->cfg, "server.port"));
    else
        snprintf(ports, sizeof ports, "%s:%lld", host, config_int(s->cfg, "server.port"));
    snprintf(threads, sizeof threads, "%d", s->max_sessions + 32);
    const char *options[] = {"listening_ports", ports, "num_threads", threads,
                             /* bounds a write to a client that stopped reading */
                             "request_timeout_ms", "10000", "enable_keep_alive", "no", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = log_civetweb;
    cb.begin_request = server_begin_request;
    mg_init_library(0);
    s->ctx = mg_start(&cb, s, options);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s (port in use, or address not on this machine)",
                 ports);
        return -1;
    }
    if (ws_reaper_start(s) != 0) {
        mg_stop(s->ctx);
        s->ctx = NULL;
        snprintf(err, errlen, "cannot start the housekeeping thread");
        return -1;
    }
    http_routes_register(s);
    mg_set_request_handler(s->ctx, "/", static_files_handle, s);
    struct mg_server_port sp[4];
    int n = mg_get_server_ports(s->ctx, 4, sp);
    s->port = n > 0 ? sp[0].port : (int)config_int(s->cfg, "server.port");
    LOG_I("server", "listening on http://%s:%d/ (max %d sessions, %d workers per pool)", host,
          s->port, s->max_sessions, workers);
    return 0;
}

static void http_stop(axiom_server *s) {
    ws_shutdown_all(s);
    ws_reaper_stop(s);
    mg_stop(s->ctx);
    s->ctx = NULL;
}

static int admit_cb(void *srv, char *err, size_t errlen) {
    return server_admit_session(srv, err, errlen);
}
static void leave_cb(void *srv) {
    server_leave_session(srv);
}

axiom_server *server_start(axiom_engine *engine, const axiom_config *cfg, char *err,
                           size_t errlen) {
    const char *host = config_str(cfg, "server.host");
    const char *token = config_str(cfg, "server.auth_token");
    int http = config_int(cfg, "server.port") != 0;
    if (!http && config_int(cfg, "wyoming.port") == 0) {
        snprintf(
            err, errlen,
            "nothing to serve: server.port = 0 turns the HTTP server off and wyoming.port = 0 the "
            "Wyoming service; set one of them");
        return NULL;
    }
    if (http && !host_is_loopback(host) && !*token) {
        snprintf(err, errlen,
                 "server.host = %s is reachable from other machines: set server.auth_token "
                 "(clients then send Authorization: Bearer <token>), or listen on 127.0.0.1",
                 host);
        return NULL;
    }
    if (strlen(token) >= 256) {
        snprintf(err, errlen, "server.auth_token: at most 255 characters");
        return NULL;
    }
    axiom_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->engine = engine;
    s->cfg = cfg;
    s->started_ms = now_ms();
    str_copy(s->host, sizeof s->host, host);
    str_copy(s->token, sizeof s->token, token);
    str_copy(s->origins, sizeof s->origins, config_str(cfg, "server.allowed_origins"));
    str_copy(s->allowed_hosts, sizeof s->allowed_hosts, config_str(cfg, "server.allowed_hosts"));
    const char *web = config_str(cfg, "server.web_dir");
    if (*web)
        str_copy(s->web_dir, sizeof s->web_dir, web);
    else
        snprintf(s->web_dir, sizeof s->web_dir, "%s/web", axiom_root_dir());
    s->max_sessions = (int)config_int(cfg, "server.max_sessions");
    s->max_message_bytes = (size_t)config_int(cfg, "server.max_message_bytes");
    s->send_queue_bytes = (size_t)config_int(cfg, "server.send_queue_kb") * 1024;
    s->idle_timeout_ms = config_int(cfg, "server.idle_timeout_s") * 1000;
    s->barge_in = config_bool(cfg, "server.barge_in");
    pthread_mutex_init(&s->mu, NULL);

    s->metrics = metrics_new();
    s->hub = s->metrics ? voice_hub_get(engine, err, errlen) : NULL;
    if (!s->hub) goto fail;
    int workers = worker_pool_threads(voice_hub_turn_pool(s->hub));
    int ask_max = (int)config_int(cfg, "server.ask_max_concurrent");
    s->ask_max = ask_max > 0 ? ask_max : ask_max_default(workers);
    s->ask_timeout_ms = config_int(cfg, "server.ask_timeout_s") * 1000;
    atomic_init(&s->asks_running, 0);
    atomic_init(&s->asks_stopping, 0);
    voice_hub_set_observer(s->hub, server_observe, s);

    if (http && http_start(s, host, workers, err, errlen) != 0) goto fail;
    if (config_int(cfg, "wyoming.port") != 0) {
        wyoming_admission adm = {admit_cb, leave_cb, s};
        s->wyoming = wyoming_start(engine, cfg, &adm, err, errlen);
        if (!s->wyoming) {
            if (s->ctx) http_stop(s);
            goto fail;
        }
    }
    return s;
fail:
    if (s->hub) voice_hub_set_observer(s->hub, NULL, NULL);
    metrics_free(s->metrics);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

int server_port(const axiom_server *s) {
    return s->port;
}

int server_wyoming_port(const axiom_server *s) {
    return wyoming_port(s->wyoming);
}

void server_stop(axiom_server *s) {
    if (!s) return;
    atomic_store(&s->asks_stopping, 1);
    wyoming_stop(s->wyoming); /* its connections leave the session count: srv->mu must live */
    if (s->ctx) http_stop(s);
    /* /api/ask jobs run on the engine's turn pool, which outlives the server: wait for
     * the last (their waiters gave up and raised their cancel flags; an LLM call ends
     * at its own deadline) before freeing what they use. */
    while (atomic_load(&s->asks_running) > 0)
        usleep(10000);
    voice_hub_set_observer(s->hub, NULL, NULL);
    metrics_free(s->metrics);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
