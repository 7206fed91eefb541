/* The WebSocket transport under /ws: the RFC 6455 handshake and the reading of frames,
 * done here rather than by civetweb.
 *
 * Why: civetweb 1.15 reads a whole frame into memory (up to about 2 GB) before its
 * data handler sees the frame's size, so a client announcing a huge frame cost the
 * server everything it chose to send. Here /ws is a plain civetweb request handler
 * that answers the upgrade itself and then reads frames straight from the socket:
 * each frame's header is checked first, and a frame longer than
 * server.max_message_bytes is refused (close 1009) before a byte of its payload is
 * read; a payload is read into a buffer of exactly its length, handed to the session
 * (ws_session.c, through the same callbacks civetweb used to call) and freed. So a
 * connection holds at most one message of at most server.max_message_bytes.
 *
 * Reading the socket directly is sound: RFC 6455 4.1 forbids a client to send
 * anything after its upgrade request before the server's 101, so civetweb has no
 * frame bytes buffered when the handler starts. Writing stays with civetweb
 * (mg_websocket_write, which frames and locks per connection), unchanged. */
#include "core/log.h"
#include "core/util.h"
#include "server/server_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept only ---- */

static uint32_t rol(uint32_t x, int n) {
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* msg is short (key + GUID, under 120 bytes). */
static void sha1(const char *msg, size_t len, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    unsigned char buf[192] = {0};
    memcpy(buf, msg, len);
    buf[len] = 0x80;
    size_t total = (len + 8) / 64 * 64 + 64;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        buf[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64)
        sha1_block(h, buf + off);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static void base64(const unsigned char *in, size_t n, char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Sec-WebSocket-Accept for a client key (RFC 6455 4.2.2). Returns 0, or -1 for a key
 * that is not 16 bytes in base64. */
int ws_accept_key(const char *key, char out[29]) {
    size_t kl = strlen(key);
    if (kl != 24) return -1;
    char msg[80];
    snprintf(msg, sizeof msg, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char d[20];
    sha1(msg, strlen(msg), d);
    base64(d, sizeof d, out);
    return 0;
}

/* ---- the connection's socket ---- */

/* civetweb does not expose a connection's socket; find it by its address pair. Runs
 * once per connection, on its own thread, before the handshake. */
static int addr_matches(const struct sockaddr_storage *ss, const char *ip, int port) {
    char buf[64];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        if (ntohs(a->sin_port) != port) return 0;
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (ntohs(a->sin6_port) != port) return 0;
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    } else {
        return 0;
    }
    return strcmp(buf, ip) == 0;
}

int ws_socket_fd(const struct mg_request_info *ri) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int found = -1;
    struct dirent *e;
    while ((e = readdir(d)) && found < 0) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        int fd = atoi(e->d_name);
        struct sockaddr_storage local, peer;
        socklen_t ll = sizeof local, pl = sizeof peer;
        if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0) continue;
        if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0) continue;
        int lport = local.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&local)->sin_port)
                                               : ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
        if (lport == ri->server_port && addr_matches(&peer, ri->remote_addr, ri->remote_port))
            found = fd;
    }
    closedir(d);
    return found;
}

/* The connection's reader: a small buffer so a frame's header, mask and a short
 * payload usually come from one recv. At most its size is held beyond the frame being
 * read. */
typedef struct {
    axiom_server *srv;
    int fd;
    int64_t idle_ms; /* give up when nothing arrives for this long */
    size_t off, len;
    unsigned char buf[4096];
} reader;

/* One recv into dst, waiting as needed. Returns the bytes read, or -1 when the peer
 * left, the socket was shut down (the session was dropped or the server is
 * stopping), or nothing came for idle_ms. */
static ssize_t recv_some(reader *rd, void *dst, size_t cap) {
    int64_t last = now_ms();
    for (;;) {
        if (atomic_load(&rd->srv->asks_stopping)) return -1;
        ssize_t r = recv(rd->fd, dst, cap, MSG_DONTWAIT);
        if (r > 0) return r;
        if (r == 0) return -1;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        struct pollfd pf = {rd->fd, POLLIN, 0};
        int pr = poll(&pf, 1, 500);
        if (pr < 0 && errno != EINTR) return -1;
        if (pr == 0 && now_ms() - last > rd->idle_ms) return -1;
    }
}

/* Reads exactly n bytes. Returns 0, or -1 (see recv_some). */
static int read_full(reader *rd, void *out, size_t n) {
    unsigned char *p = out;
    while (n) {
        if (rd->off < rd->len) {
            size_t k = rd->len - rd->off < n ? rd->len - rd->off : n;
            memcpy(p, rd->buf + rd->off, k);
            rd->off += k;
            p += k;
            n -= k;
            continue;
        }
        /* A long payload goes straight to its buffer; short reads refill ours. */
        if (n >= sizeof rd->buf) {
            ssize_t r = recv_some(rd, p, n);
            if (r < 0) return -1;
            p += r;
            n -= (size_t)r;
        } else {
            ssize_t r = recv_some(rd, rd->buf, sizeof rd->buf);
            if (r < 0) return -1;
            rd->off = 0;
            rd->len = (size_t)r;
        }
    }
    return 0;
}

/* After refusing a frame: the close frame is queued; send it and a FIN, and wait (at
 * most 2 s) until the client has acknowledged them. Nothing more is read: when the
 * socket is then closed with the client's unread bytes, the kernel answers with a
 * reset, which no longer matters since the close frame already sits in the
 * client's receive queue (a reset does not discard what was received). */
void socket_flush_and_stop(int fd) {
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 200; i++) {
        int queued = 0;
        if (ioctl(fd, SIOCOUTQ, &queued) != 0 || queued == 0) break;
        usleep(10 * 1000);
    }
    /* civetweb's close path reads until the client stops sending: end that now. */
    shutdown(fd, SHUT_RD);
}

static int header_has_token(const char *h, const char *token) {
    if (!h) return 0;
    size_t tl = strlen(token);
    for (const char *p = h; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == tl && strncasecmp(p, token, tl) == 0) return 1;
        p = end;
    }
    return 0;
}

enum { OP_CLOSE = 8 };

/* Reads and dispatches frames until the connection ends. */
static void frame_loop(axiom_server *srv, struct mg_connection *conn, int fd) {
    /* Past the idle close (the reaper sends it and cuts 2 s later) nothing legitimate
     * is this quiet; the margin only matters if the reaper is gone. */
    reader rd = {.srv = srv, .fd = fd, .idle_ms = srv->idle_timeout_ms + 10000};
    for (;;) {
        unsigned char h[14];
        if (read_full(&rd, h, 2) != 0) return;
        int fin = h[0] & 0x80, rsv = h[0] & 0x70, op = h[0] & 0x0f;
        int masked = h[1] & 0x80;
        uint64_t len = h[1] & 0x7f;
        if (len == 126) {
            if (read_full(&rd, h + 2, 2) != 0) return;
            len = (uint64_t)h[2] << 8 | h[3];
        } else if (len == 127) {
            if (read_full(&rd, h + 2, 8) != 0) return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
        }
        const char *bad = NULL;
        if (!masked)
            bad = "client frames must be masked (RFC 6455 5.1)";
        else if (rsv)
            bad = "reserved bits set: no extension was negotiated";
        else if (op >= 8 && (!fin || len > 125))
            bad = "control frames must be whole and at most 125 bytes";
        if (bad) {
            metrics_add(srv->metrics, COUNT_BAD_MESSAGES, 1);
            ws_send_close(conn, WS_CLOSE_PROTOCOL, bad);
            socket_flush_and_stop(fd);
            return;
        }
        if (len > srv->max_message_bytes) {
            /* Refused on its header: not a byte of the payload is read. */
            metrics_add(srv->metrics, COUNT_BAD_MESSAGES, 1);
            char reason[120];
            snprintf(reason, sizeof reason,
                     "message of %llu bytes exceeds server.max_message_bytes=%zu",
                     (unsigned long long)len, srv->max_message_bytes);
            LOG_W("server", "/ws from %s: %s", mg_get_request_info(conn)->remote_addr, reason);
            ws_send_close(conn, WS_CLOSE_TOO_BIG, reason);
            socket_flush_and_stop(fd);
            return;
        }
        unsigned char mask[4];
        if (read_full(&rd, mask, 4) != 0) return;
        char *payload = malloc(len + 1);
        if (!payload) {
            ws_send_close(conn, WS_CLOSE_INTERNAL, "out of memory");
            return;
        }
        if (len && read_full(&rd, payload, len) != 0) {
            free(payload);
            return;
        }
        for (uint64_t i = 0; i < len; i++)
            payload[i] ^= (char)mask[i & 3];
        payload[len] = '\0';
        int keep = ws_data(conn, h[0], payload, (size_t)len, srv);
        if (op == OP_CLOSE) {
            /* Answer the client's close with its code (RFC 6455 5.5.1). */
            int code = len >= 2 ? ((unsigned char)payload[0] << 8 | (unsigned char)payload[1])
                                : WS_CLOSE_NORMAL;
            /* Codes that must never be sent (1005, 1006, 1015, out of range). */
            if (code < 1000 || code > 4999 || code == 1004 || code == 1005 || code == 1006 ||
                code == 1015)
                code = WS_CLOSE_NORMAL;
            ws_send_close(conn, code, NULL);
            free(payload);
            return;
        }
        free(payload);
        if (!keep) {
            socket_flush_and_stop(fd);
            return;
        }
    }
}

int ws_transport_handle(struct mg_connection *conn, axiom_server *srv) {
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *key = mg_get_header(conn, "Sec-WebSocket-Key");
    const char *ver = mg_get_header(conn, "Sec-WebSocket-Version");
    char accept[29];
    if (strcmp(ri->request_method, "GET") != 0 ||
        !header_has_token(mg_get_header(conn, "Upgrade"), "websocket") ||
        !header_has_token(mg_get_header(conn, "Connection"), "upgrade") || !key ||
        ws_accept_key(key, accept) != 0) {
        metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
        http_reply_error(conn, 400, "/ws is the voice protocol: open it as a WebSocket");
        return 400;
    }
    if (!ver || strcmp(ver, "13") != 0) {
        metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
        mg_printf(conn, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                        "Content-Length: 0\r\nConnection: close\r\n\r\n");
        return 426;
    }
    int fd = ws_socket_fd(ri);
    if (fd < 0) {
        metrics_add(srv->metrics, COUNT_HTTP_REQUESTS, 1);
        http_reply_error(conn, 500, "cannot find the connection's socket");
        return 500;
    }
    if (ws_connect(conn, srv, fd) != 0) return 403; /* it answered (403, 401, 503) */
    mg_printf(conn,
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: %s\r\n\r\n",
              accept);
    ws_ready(conn, srv);
    frame_loop(srv, conn, fd);
    ws_close(conn, srv);
    /* Nothing more is read: civetweb's own drain on close must not wait on a client
     * that keeps sending. */
    shutdown(fd, SHUT_RDWR);
    return 101;
}
