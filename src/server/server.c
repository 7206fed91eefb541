/* HTTP server. Routes: /health. */
#include "server/server.h"

#include "core/engine.h"
#include "core/log.h"
#include "core/util.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct axiom_server {
    struct mg_context *ctx;
    axiom_engine *engine;
    int port;
};

static int handle_health(struct mg_connection *conn, void *data) {
    axiom_server *s = data;
    char body[256];
    int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%lld}",
                     axiom_version(), (long long)((now_ms() - s->engine->started_ms) / 1000));
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
              n, body);
    return 200;
}

static int log_civetweb(const struct mg_connection *conn, const char *message) {
    (void)conn;
    LOG_W("server", "%s", message);
    return 1;
}

axiom_server *server_start(axiom_engine *engine, const axiom_config *cfg, char *err,
                           size_t errlen) {
    axiom_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->engine = engine;
    char ports[96];
    snprintf(ports, sizeof ports, "%s:%lld", config_str(cfg, "server.host"),
             config_int(cfg, "server.port"));
    const char *options[] = {"listening_ports", ports, "num_threads", "8", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = log_civetweb;
    mg_init_library(0);
    s->ctx = mg_start(&cb, s, options);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s (port in use, or address not on this machine)",
                 ports);
        free(s);
        return NULL;
    }
    mg_set_request_handler(s->ctx, "/health$", handle_health, s);
    struct mg_server_port sp[4];
    int n = mg_get_server_ports(s->ctx, 4, sp);
    s->port = n > 0 ? sp[0].port : (int)config_int(cfg, "server.port");
    LOG_I("server", "listening on http://%s:%d/", config_str(cfg, "server.host"), s->port);
    return s;
}

int server_port(const axiom_server *s) { return s->port; }

void server_stop(axiom_server *s) {
    if (!s) return;
    mg_stop(s->ctx);
    free(s);
}
