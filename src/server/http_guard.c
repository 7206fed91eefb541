/* Who may talk to the server at all, checked before any route runs.
 *
 * DNS rebinding: a page on evil.example can make its own name resolve to 127.0.0.1,
 * and the browser then sends that page's requests to this server with
 * "Host: evil.example:8000" and treats the answers as same-origin. So every request
 * (static files, the /api routes, /metrics, /health, the /ws upgrade) must name this machine
 * in its Host: a loopback name or address, the address server.host listens on, or a
 * name the operator listed in server.allowed_hosts. Anything else gets 403 before a
 * handler sees it.
 *
 * CSRF: a page may send a POST to any address without asking. Every request that can
 * change state (any method but GET/HEAD/OPTIONS, and the /ws upgrade) must carry no
 * Origin (not a browser) or an allowed one: same-origin with an allowed Host, or one
 * listed in server.allowed_origins. */
#include "core/log.h"
#include "server/server_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Calls fn on each trimmed, non-empty entry of a comma-separated list; stops and
 * returns 1 when fn does. */
static int list_any(const char *list, const char *want, size_t wantlen,
                    int (*fn)(const char *entry, size_t n, const char *want, size_t wantlen)) {
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n && fn(p, n, want, wantlen)) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static int same_text(const char *entry, size_t n, const char *want, size_t wantlen) {
    return n == wantlen && strncasecmp(entry, want, n) == 0;
}

/* The name part of a Host header: "[::1]:8000" -> "::1", "Localhost:80" -> "Localhost".
 * Returns 0 on a malformed header. */
static int host_name(const char *host, char *name, size_t cap) {
    size_t n;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close || (close[1] != '\0' && close[1] != ':')) return 0;
        host++;
        n = (size_t)(close - host);
    } else {
        const char *colon = strchr(host, ':');
        n = colon ? (size_t)(colon - host) : strlen(host);
        if (colon && strchr(colon + 1, ':')) return 0; /* unbracketed IPv6 */
    }
    if (n == 0 || n >= cap) return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    /* "localhost." is the same name as "localhost". */
    if (n > 1 && name[n - 1] == '.') name[n - 1] = '\0';
    return 1;
}

static int name_is_loopback(const char *name) {
    if (strcasecmp(name, "localhost") == 0) return 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, name, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, name, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

int server_host_allowed(const axiom_server *srv, const char *host) {
    char name[256];
    if (!host || !host_name(host, name, sizeof name)) return 0;
    if (name_is_loopback(name)) return 1;
    /* The address the operator chose to listen on (not a wildcard) is this machine. */
    if (strcmp(srv->host, "0.0.0.0") != 0 && strcmp(srv->host, "::") != 0 &&
        strcasecmp(name, srv->host) == 0)
        return 1;
    return list_any(srv->allowed_hosts, name, strlen(name), same_text);
}

int server_origin_allowed(const axiom_server *srv, const struct mg_connection *conn) {
    const char *origin = mg_get_header(conn, "Origin");
    /* Browsers always send Origin on WebSocket upgrades and cross-site POSTs; a client
     * without one is not a web page, so a random site cannot reach us through it. */
    if (!origin) return 1;
    const char *host = mg_get_header(conn, "Host");
    if (host && server_host_allowed(srv, host)) {
        char same[320];
        snprintf(same, sizeof same, "http://%s", host);
        if (strcasecmp(origin, same) == 0) return 1;
        snprintf(same, sizeof same, "https://%s", host);
        if (strcasecmp(origin, same) == 0) return 1;
    }
    if (list_any(srv->origins, "*", 1, same_text)) return 1;
    return list_any(srv->origins, origin, strlen(origin), same_text);
}

static int changes_state(const struct mg_request_info *ri) {
    const char *m = ri->request_method;
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0) return 1;
    const char *uri = ri->local_uri ? ri->local_uri : "";
    return strcmp(uri, "/ws") == 0;
}

void http_stop_reading(struct mg_connection *conn) {
    int fd = ws_socket_fd(mg_get_request_info(conn));
    if (fd >= 0) socket_flush_and_stop(fd);
}

/* Request bodies: only POST /api/ask takes one (8192 bytes at most, checked as it is
 * read); elsewhere a body larger than server.max_message_bytes, or one of unknown
 * length, is refused on its headers, and nothing of it is read (civetweb would
 * otherwise read and discard it to the end, however long). */
static int body_refused(axiom_server *srv, struct mg_connection *conn,
                        const struct mg_request_info *ri) {
    const char *uri = ri->local_uri ? ri->local_uri : "";
    if (strcmp(uri, "/api/ask") == 0) return 0;
    const char *te = mg_get_header(conn, "Transfer-Encoding");
    if (!te && ri->content_length <= (long long)srv->max_message_bytes) return 0;
    metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
    metrics_add(srv->metrics, COUNT_BAD_MESSAGES, 1);
    http_reply_error(conn, 413,
                     "request body too large (server.max_message_bytes) or of "
                     "unknown length: not read");
    http_stop_reading(conn);
    return 1;
}

int server_begin_request(struct mg_connection *conn) {
    axiom_server *srv = mg_get_user_data(mg_get_context(conn));
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *host = mg_get_header(conn, "Host");
    if (!server_host_allowed(srv, host)) {
        metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
        metrics_add(srv->metrics, COUNT_REFUSED_HOST, 1);
        LOG_W("server",
              "refused %.8s %.80s: Host %.80s is not this machine (add the name to "
              "server.allowed_hosts)",
              ri->request_method, ri->local_uri ? ri->local_uri : "?", host ? host : "(none)");
        http_reply_error(conn, 403,
                         "Host not allowed: this server answers requests addressed to localhost, "
                         "127.0.0.1, [::1], its listen address or a name in "
                         "server.allowed_hosts");
        return 403;
    }
    if (changes_state(ri) && !server_origin_allowed(srv, conn)) {
        metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
        metrics_add(srv->metrics, COUNT_REFUSED_ORIGIN, 1);
        LOG_W("server",
              "refused %.8s %.80s from Origin %.100s (add it to "
              "server.allowed_origins)",
              ri->request_method, ri->local_uri ? ri->local_uri : "?",
              mg_get_header(conn, "Origin"));
        http_reply_error(conn, 403,
                         "Origin not allowed: only same-origin pages and server.allowed_origins "
                         "may send requests that change state or open /ws");
        return 403;
    }
    if (body_refused(srv, conn, ri)) return 413;
    if (ri->local_uri && strcmp(ri->local_uri, "/ws") == 0) return ws_transport_handle(conn, srv);
    return 0; /* civetweb goes on to the route */
}
