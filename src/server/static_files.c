/* Static files of the browser UI (server.web_dir, default <root>/web).
 *
 * Only regular files strictly inside the web folder are served: the request path is
 * refused outright when it holds a ".." segment, a backslash or a NUL (decoded or
 * not), and the resolved real path must still lie under the folder's real path, so
 * symbolic links cannot lead out either. */
#include "core/log.h"
#include "server/server_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".ico", "image/x-icon"},
    {".wav", "audio/wav"},
    {".glb", "model/gltf-binary"},
    {".gltf", "model/gltf+json"},
    {".wasm", "application/wasm"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *mime_for(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (strcasecmp(dot, mime_types[i].ext) == 0) return mime_types[i].type;
    return "application/octet-stream";
}

/* 1 when the path has a ".." segment or characters no UI file name needs. */
static int path_suspicious(const char *p) {
    if (strchr(p, '\\') || strstr(p, "%00")) return 1;
    for (const char *q = p; (q = strstr(q, "..")) != NULL; q += 2) {
        int starts = q == p || q[-1] == '/';
        int ends = q[2] == '\0' || q[2] == '/' || q[2] == '?';
        if (starts && ends) return 1;
    }
    /* Percent-encoded dots or slashes that could become ".." once decoded. */
    if (strcasestr(p, "%2e") || strcasestr(p, "%2f") || strcasestr(p, "%5c")) return 1;
    return 0;
}

int static_files_handle(struct mg_connection *conn, void *cbdata) {
    axiom_server *srv = cbdata;
    metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
        http_reply_error(conn, 405, "only GET and HEAD are served here");
        return 405;
    }
    const char *uri = ri->local_uri_raw ? ri->local_uri_raw : ri->request_uri;
    if (!uri || uri[0] != '/' || path_suspicious(uri) ||
        (ri->request_uri && path_suspicious(ri->request_uri))) {
        http_reply_error(conn, 403, "path refused: it leaves the web folder");
        return 403;
    }
    char want[2 * PATH_MAX + 64];
    size_t ul = strlen(uri);
    if (ul > PATH_MAX - 16) {
        http_reply_error(conn, 414, "path too long");
        return 414;
    }
    int wn = snprintf(want, sizeof want, "%s%s%s", srv->web_dir, uri,
                      uri[ul - 1] == '/' ? "index.html" : "");
    if (wn < 0 || (size_t)wn >= sizeof want) {
        http_reply_error(conn, 414, "path too long");
        return 414;
    }
    char root_real[PATH_MAX], file_real[PATH_MAX];
    if (!realpath(srv->web_dir, root_real)) {
        char m[PATH_MAX + 128];
        snprintf(m, sizeof m,
                 "no browser UI installed: %s does not exist (set server.web_dir to the UI "
                 "folder); /ws and /api/ask work without it",
                 srv->web_dir);
        http_reply_error(conn, 404, m);
        return 404;
    }
    struct stat st;
    if (!realpath(want, file_real) || stat(file_real, &st) != 0) {
        http_reply_error(conn, 404, "not found");
        return 404;
    }
    size_t rl = strlen(root_real);
    if (strncmp(file_real, root_real, rl) != 0 || (file_real[rl] != '/' && file_real[rl] != '\0')) {
        LOG_W("server", "refused %s: resolves outside %s", uri, root_real);
        http_reply_error(conn, 403, "path refused: it leaves the web folder");
        return 403;
    }
    if (S_ISDIR(st.st_mode)) {
        /* /sub -> /sub/ so relative links inside resolve. */
        char loc[PATH_MAX + 64];
        snprintf(loc, sizeof loc,
                 "HTTP/1.1 301 Moved Permanently\r\nLocation: %s/\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n",
                 uri);
        mg_write(conn, loc, strlen(loc));
        return 301;
    }
    if (!S_ISREG(st.st_mode)) {
        http_reply_error(conn, 403, "not a regular file");
        return 403;
    }
    FILE *f = fopen(file_real, "rb");
    if (!f) {
        http_reply_error(conn, 403, "file not readable");
        return 403;
    }
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %lld\r\n"
              "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"
              "Connection: close\r\n\r\n",
              mime_for(file_real), (long long)st.st_size);
    if (strcmp(ri->request_method, "HEAD") != 0) {
        char buf[16384];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            if (mg_write(conn, buf, n) <= 0) break;
    }
    fclose(f);
    return 200;
}
