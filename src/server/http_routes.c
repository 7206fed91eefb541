/* HTTP endpoints besides the UI and /ws: /health, /api/ask, /api/status, /metrics.
 * Every reply is complete (Content-Length) and closes the connection, so one slow
 * client never holds a keep-alive thread. With server.auth_token set, /api/ask, /api/status and
 * /metrics need "Authorization: Bearer <token>"; /health and the UI files do not
 * (they reveal nothing). */
#include "core/log.h"
#include "core/util.h"
#include "server/server_internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *status_text(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Error";
    }
}

void http_reply(struct mg_connection *conn, int status, const char *ctype, const char *body,
                size_t len) {
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s"
              "Connection: close\r\n\r\n",
              status, status_text(status), ctype, len,
              status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
    if (len) mg_write(conn, body, len);
}

void http_reply_error_retry(struct mg_connection *conn, int status, const char *message,
                            int retry_after_s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    char *txt = cJSON_PrintUnformatted(o);
    if (retry_after_s > 0) {
        size_t len = txt ? strlen(txt) : 2;
        mg_printf(conn,
                  "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                  "Retry-After: %d\r\nConnection: close\r\n\r\n",
                  status, status_text(status), len, retry_after_s);
        mg_write(conn, txt ? txt : "{}", len);
    } else {
        http_reply(conn, status, "application/json", txt ? txt : "{}", txt ? strlen(txt) : 2);
    }
    free(txt);
    cJSON_Delete(o);
}

void http_reply_error(struct mg_connection *conn, int status, const char *message) {
    http_reply_error_retry(conn, status, message, 0);
}

static void reply_json(struct mg_connection *conn, int status, cJSON *o) {
    char *txt = cJSON_PrintUnformatted(o);
    if (txt)
        http_reply(conn, status, "application/json", txt, strlen(txt));
    else
        http_reply_error(conn, 500, "out of memory");
    free(txt);
}

/* Constant-time comparison: the token must not leak through timing. */
static int token_equal(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

int server_auth_ok(axiom_server *srv, const struct mg_connection *conn) {
    if (!srv->token[0]) return 1;
    const char *h = mg_get_header(conn, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && token_equal(h + 7, srv->token)) return 1;
    /* Browsers cannot set headers on a WebSocket: /ws also takes ?token=. Nowhere
     * else: a token in a URL ends up in logs and browser history. */
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (ri->query_string && ri->local_uri && strcmp(ri->local_uri, "/ws") == 0) {
        char tok[300];
        int n = mg_get_var(ri->query_string, strlen(ri->query_string), "token", tok, sizeof tok);
        if (n > 0 && token_equal(tok, srv->token)) return 1;
    }
    return 0;
}

static int require_auth(axiom_server *srv, struct mg_connection *conn) {
    if (server_auth_ok(srv, conn)) return 1;
    metrics_add(srv->metrics, COUNT_REFUSED_AUTH, 1);
    http_reply_error(conn, 401,
                     "missing or wrong token: send Authorization: Bearer "
                     "<server.auth_token>");
    return 0;
}

static int handle_health(struct mg_connection *conn, void *data) {
    axiom_server *s = data;
    metrics_add(s->metrics, COUNT_HTTP_REQUESTS, 1);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "version", axiom_version());
    cJSON_AddNumberToObject(o, "uptime_s", (double)((now_ms() - s->started_ms) / 1000));
    reply_json(conn, 200, o);
    cJSON_Delete(o);
    return 200;
}

/* Reads the request body, at most max bytes. Returns a NUL-terminated buffer the
 * caller frees, or NULL with *status set (400 / 413). */
static char *read_body(struct mg_connection *conn, size_t max, int *status) {
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (ri->content_length > (long long)max) {
        *status = 413;
        return NULL;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        *status = 500;
        return NULL;
    }
    size_t len = 0;
    for (;;) {
        int n = mg_read(conn, buf + len, max + 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        if (len > max) {
            free(buf);
            *status = 413;
            return NULL;
        }
    }
    buf[len] = '\0';
    return buf;
}

/* "application/json", any case, optionally followed by parameters (charset). */
static int is_json_type(const char *ct) {
    if (!ct) return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0) return 0;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static int handle_ask(struct mg_connection *conn, void *data) {
    axiom_server *srv = data;
    metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
    if (!require_auth(srv, conn)) return 401;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (strcmp(ri->request_method, "POST") != 0) {
        http_reply_error(conn, 405, "POST the question as application/json: {\"text\":\"...\"}");
        return 405;
    }
    /* JSON only: a web page can send text/plain or a form anywhere without asking
     * (no CORS preflight), but not application/json. */
    const char *ct = mg_get_header(conn, "Content-Type");
    if (!is_json_type(ct)) {
        http_reply_error(conn, 415,
                         "POST the question as Content-Type: application/json, "
                         "{\"text\":\"...\"}");
        return 415;
    }
    int status = 400;
    char *body = read_body(conn, 8192, &status);
    if (!body) {
        http_reply_error(conn, status,
                         status == 413 ? "question longer than 8192 bytes"
                                       : "cannot read the request body");
        if (status == 413) http_stop_reading(conn); /* the rest is not read */
        return status;
    }
    cJSON *in = cJSON_Parse(body);
    const cJSON *t = in ? cJSON_GetObjectItemCaseSensitive(in, "text") : NULL;
    if (!cJSON_IsString(t)) {
        cJSON_Delete(in);
        free(body);
        http_reply_error(conn, 400, "expected JSON {\"text\":\"your question\"}");
        return 400;
    }
    const char *text = t->valuestring;
    while (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t')
        text++;
    if (!*text) {
        cJSON_Delete(in);
        free(body);
        http_reply_error(conn, 400, "the question is empty");
        return 400;
    }
    cJSON *out = NULL;
    char err[256] = "";
    int retry_s = 0;
    status = ask_run(srv, text, &out, err, sizeof err, &retry_s);
    if (out)
        reply_json(conn, status, out);
    else
        http_reply_error_retry(conn, status, err, retry_s);
    cJSON_Delete(out);
    cJSON_Delete(in);
    free(body);
    return status;
}

static int handle_status(struct mg_connection *conn, void *data) {
    axiom_server *srv = data;
    metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
    if (!require_auth(srv, conn)) return 401;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "version", axiom_version());
    cJSON_AddNumberToObject(o, "uptime_s", (double)(now_ms() - srv->started_ms) / 1000.0);
    cJSON_AddStringToObject(o, "mode", config_str(srv->cfg, "mode"));
    cJSON *sess = cJSON_AddObjectToObject(o, "sessions");
    pthread_mutex_lock(&srv->mu);
    cJSON_AddNumberToObject(sess, "count", srv->nsessions);
    pthread_mutex_unlock(&srv->mu);
    cJSON_AddNumberToObject(sess, "max", srv->max_sessions);
    ws_status_json(srv, cJSON_AddArrayToObject(sess, "list"));
    cJSON *asks = cJSON_AddObjectToObject(o, "asks");
    cJSON_AddNumberToObject(asks, "running", atomic_load(&srv->asks_running));
    cJSON_AddNumberToObject(asks, "max", srv->ask_max);
    cJSON *mem = cJSON_AddObjectToObject(o, "memory");
    cJSON_AddNumberToObject(mem, "rss_bytes", (double)proc_rss_bytes());
    cJSON_AddNumberToObject(mem, "pss_bytes", (double)proc_pss_bytes());
    voice_hub_status_json(srv->hub, o);
    server_components_json(srv, o);
    reply_json(conn, 200, o);
    cJSON_Delete(o);
    return 200;
}

static int handle_metrics(struct mg_connection *conn, void *data) {
    axiom_server *srv = data;
    metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
    if (!require_auth(srv, conn)) return 401;
    size_t cap = 64 * 1024;
    char *buf = malloc(cap);
    if (!buf) {
        http_reply_error(conn, 500, "out of memory");
        return 500;
    }
    size_t n = metrics_render(srv->metrics, buf, cap);
    n += (size_t)snprintf(buf + n, cap - n,
                          "# HELP axiom_process_resident_memory_bytes resident set size\n"
                          "# TYPE axiom_process_resident_memory_bytes gauge\n"
                          "axiom_process_resident_memory_bytes %lld\n",
                          (long long)proc_rss_bytes());
    if (n >= cap) n = cap - 1;
    /* The answer-audio cache and the governor's figures. */
    FILE *f = fmemopen(buf + n, cap - n, "w");
    if (f) {
        voice_hub_metrics(srv->hub, f);
        governor_metrics(srv->engine->gov, f);
        long w = ftell(f);
        fclose(f);
        if (w > 0) n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;
    }
    http_reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", buf, n);
    free(buf);
    return 200;
}

void http_routes_register(axiom_server *srv) {
    mg_set_request_handler(srv->ctx, "/health$", handle_health, srv);
    mg_set_request_handler(srv->ctx, "/api/ask$", handle_ask, srv);
    mg_set_request_handler(srv->ctx, "/api/status$", handle_status, srv);
    mg_set_request_handler(srv->ctx, "/metrics$", handle_metrics, srv);
}
