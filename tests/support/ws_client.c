/* WebSocket client for tests and the load generator (RFC 6455, client side): HTTP
 * upgrade with a random key, masked frames out, unmasked frames in, fragments joined,
 * pings answered. Blocking socket with poll() timeouts; messages up to 64 MB. */
#include "ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGE (64u << 20)

struct ws_client {
    int fd;
    unsigned char *buf; /* received, not yet parsed */
    size_t len, cap;
    unsigned char *msg; /* message being assembled / returned */
    size_t msg_len, msg_cap;
    int msg_opcode;
    int close_code;
    char close_reason[128];
    int closed;
    unsigned rng;
};

int64_t wsc_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms_(void) {
    return wsc_now_us() / 1000;
}

static int tcp_connect(int port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads more bytes into c->buf, waiting at most timeout_ms. 1 read, 0 timeout, -1 eof. */
static int fill(ws_client *c, int timeout_ms) {
    if (c->len == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 65536;
        if (nc > MAX_MESSAGE + 65536) return -1;
        unsigned char *nb = realloc(c->buf, nc);
        if (!nb) return -1;
        c->buf = nb;
        c->cap = nc;
    }
    struct pollfd p = {c->fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (r < 0 && errno == EINTR) return 0;
    if (r <= 0) return r == 0 ? 0 : -1;
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
    if (n <= 0) return -1;
    c->len += (size_t)n;
    return 1;
}

ws_client *ws_client_connect(int port, const char *path, const char *extra_headers, int timeout_ms,
                             int *http_status, char *err, size_t errlen) {
    if (http_status) *http_status = 0;
    if (err && errlen) err[0] = '\0';
    int fd = tcp_connect(port, timeout_ms);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
        return NULL;
    }
    ws_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->rng = (unsigned)wsc_now_us() ^ (unsigned)(uintptr_t)c;
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, port, extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof req || send_all(fd, req, (size_t)n) != 0) goto fail;
    int64_t deadline = now_ms_() + timeout_ms;
    char *end = NULL;
    while (!end) {
        int64_t left = deadline - now_ms_();
        if (left <= 0) {
            snprintf(err, errlen, "no handshake reply within %d ms", timeout_ms);
            goto fail;
        }
        int r = fill(c, (int)left);
        if (r < 0 && c->len == 0) {
            snprintf(err, errlen, "connection closed during the handshake");
            goto fail;
        }
        if (c->len) {
            c->buf[c->len < c->cap ? c->len : c->cap - 1] = '\0';
            end = strstr((char *)c->buf, "\r\n\r\n");
        }
        if (r < 0 && !end) {
            snprintf(err, errlen, "connection closed during the handshake");
            goto fail;
        }
    }
    int status = 0;
    sscanf((char *)c->buf, "HTTP/1.%*d %d", &status);
    if (http_status) *http_status = status;
    size_t hdr = (size_t)(end + 4 - (char *)c->buf);
    if (status != 101) {
        /* Read the refusal's body for the message. */
        for (int i = 0; i < 20 && fill(c, 50) > 0; i++) {
        }
        if (c->len < c->cap)
            c->buf[c->len] = '\0';
        else
            c->buf[c->cap - 1] = '\0';
        snprintf(err, errlen, "%s", (char *)c->buf + hdr);
        goto fail;
    }
    memmove(c->buf, c->buf + hdr, c->len - hdr);
    c->len -= hdr;
    return c;
fail:
    ws_client_free(c);
    return NULL;
}

void ws_client_free(ws_client *c) {
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    free(c->msg);
    free(c);
}

int ws_client_send_frame(ws_client *c, int opcode, int fin, const void *data, size_t len) {
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    unsigned char mask[4];
    for (int i = 0; i < 4; i++) {
        c->rng = c->rng * 1103515245u + 12345u;
        mask[i] = (unsigned char)(c->rng >> 16);
    }
    memcpy(hdr + h, mask, 4);
    h += 4;
    if (send_all(c->fd, hdr, h) != 0) return -1;
    unsigned char tmp[4096];
    const unsigned char *p = data;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof tmp ? len - off : sizeof tmp;
        for (size_t i = 0; i < n; i++)
            tmp[i] = p[off + i] ^ mask[(off + i) & 3];
        if (send_all(c->fd, tmp, n) != 0) return -1;
        off += n;
    }
    return 0;
}

int ws_client_send_text(ws_client *c, const char *text) {
    return ws_client_send_frame(c, WSC_TEXT, 1, text, strlen(text));
}

int ws_client_send_binary(ws_client *c, const void *data, size_t len) {
    return ws_client_send_frame(c, WSC_BINARY, 1, data, len);
}

int ws_client_send_raw(ws_client *c, const void *data, size_t len) {
    return send_all(c->fd, data, len);
}

int ws_client_close(ws_client *c, int code) {
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    return ws_client_send_frame(c, WSC_CLOSE, 1, p, 2);
}

/* Parses one frame from c->buf if complete. Returns 1 and fills the frame fields, 0
 * when more bytes are needed, -1 on a protocol error. */
static int parse_frame(ws_client *c, int *fin, int *opcode, size_t *off, size_t *plen) {
    if (c->len < 2) return 0;
    unsigned char *b = c->buf;
    *fin = (b[0] & 0x80) != 0;
    *opcode = b[0] & 0x0f;
    int masked = (b[1] & 0x80) != 0;
    uint64_t len = b[1] & 0x7f;
    size_t h = 2;
    if (len == 126) {
        if (c->len < 4) return 0;
        len = ((uint64_t)b[2] << 8) | b[3];
        h = 4;
    } else if (len == 127) {
        if (c->len < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | b[2 + i];
        h = 10;
    }
    if (masked) h += 4;
    if (len > MAX_MESSAGE) return -1;
    if (c->len < h + len) return 0;
    if (masked)
        for (uint64_t i = 0; i < len; i++)
            b[h + i] ^= b[h - 4 + (i & 3)];
    *off = h;
    *plen = (size_t)len;
    return 1;
}

static void consume(ws_client *c, size_t n) {
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

int ws_client_recv(ws_client *c, int timeout_ms, ws_msg *out) {
    if (c->closed) return -1;
    int64_t deadline = now_ms_() + timeout_ms;
    for (;;) {
        int fin, opcode;
        size_t off, plen;
        int r = parse_frame(c, &fin, &opcode, &off, &plen);
        if (r < 0) {
            c->closed = 1;
            return -1;
        }
        if (r == 1) {
            unsigned char *payload = c->buf + off;
            if (opcode == WSC_PING) {
                ws_client_send_frame(c, WSC_PONG, 1, payload, plen);
                consume(c, off + plen);
                continue;
            }
            if (opcode == WSC_PONG) {
                consume(c, off + plen);
                continue;
            }
            if (opcode == WSC_CLOSE) {
                if (plen >= 2) {
                    c->close_code = (payload[0] << 8) | payload[1];
                    size_t rl = plen - 2 < sizeof c->close_reason - 1 ? plen - 2
                                                                      : sizeof c->close_reason - 1;
                    memcpy(c->close_reason, payload + 2, rl);
                    c->close_reason[rl] = '\0';
                }
                consume(c, off + plen);
                ws_client_close(c, c->close_code ? c->close_code : 1000);
                c->closed = 1;
                return -1;
            }
            if (opcode != 0) {
                c->msg_opcode = opcode;
                c->msg_len = 0;
            }
            if (c->msg_len + plen + 1 > c->msg_cap) {
                size_t nc = c->msg_len + plen + 1;
                unsigned char *nm = realloc(c->msg, nc);
                if (!nm) return -1;
                c->msg = nm;
                c->msg_cap = nc;
            }
            memcpy(c->msg + c->msg_len, payload, plen);
            c->msg_len += plen;
            c->msg[c->msg_len] = '\0';
            consume(c, off + plen);
            if (!fin) continue;
            out->opcode = c->msg_opcode;
            out->data = c->msg;
            out->len = c->msg_len;
            return 1;
        }
        int64_t left = deadline - now_ms_();
        if (left <= 0) return 0;
        int f = fill(c, (int)left);
        if (f < 0) {
            c->closed = 1;
            return -1;
        }
    }
}

int ws_client_close_code(const ws_client *c) {
    return c->close_code;
}
const char *ws_client_close_reason(const ws_client *c) {
    return c->close_reason;
}
int ws_client_fd(const ws_client *c) {
    return c->fd;
}

void ws_client_set_rcvbuf(ws_client *c, int bytes) {
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

int http_request(int port, const char *method, const char *path, const char *extra_headers,
                 const char *body, char *out, size_t outcap) {
    return http_request_host(port, NULL, method, path, extra_headers, body, out, outcap);
}

int http_request_host(int port, const char *host, const char *method, const char *path,
                      const char *extra_headers, const char *body, char *out, size_t outcap) {
    if (outcap) out[0] = '\0';
    char host_line[300];
    if (host && !*host)
        host_line[0] = '\0';
    else if (host)
        snprintf(host_line, sizeof host_line, "Host: %s\r\n", host);
    else
        snprintf(host_line, sizeof host_line, "Host: 127.0.0.1:%d\r\n", port);
    int fd = tcp_connect(port, 5000);
    if (fd < 0) return -1;
    char req[4096];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\n%sConnection: close\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     method, path, host_line, bl, extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof req || send_all(fd, req, (size_t)n) != 0 ||
        (bl && send_all(fd, body, bl) != 0)) {
        close(fd);
        return -1;
    }
    char *resp = malloc(1 << 20);
    size_t len = 0;
    if (!resp) {
        close(fd);
        return -1;
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) break;
        ssize_t r = recv(fd, resp + len, (1 << 20) - 1 - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
        if (len >= (1 << 20) - 1) break;
        /* Stop at the end of the body rather than waiting for the server to close. */
        resp[len] = '\0';
        char *he = strstr(resp, "\r\n\r\n");
        const char *cl = he ? strcasestr(resp, "\r\nContent-Length:") : NULL;
        if (cl && cl < he && len >= (size_t)(he + 4 - resp) + strtoul(cl + 17, NULL, 10)) break;
    }
    close(fd);
    resp[len] = '\0';
    int status = -1;
    sscanf(resp, "HTTP/1.%*d %d", &status);
    char *b = strstr(resp, "\r\n\r\n");
    if (outcap) snprintf(out, outcap, "%s", b ? b + 4 : "");
    free(resp);
    return status;
}

long wav_load_16k(const char *path, int16_t **samples, char *err, size_t errlen) {
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, sf_strerror(NULL));
        return -1;
    }
    if (info.frames <= 0 || info.frames > 16000L * 3600 || info.channels < 1 || info.channels > 8) {
        snprintf(err, errlen, "%s: unexpected length or channel count", path);
        sf_close(f);
        return -1;
    }
    size_t nf = (size_t)info.frames;
    float *in = malloc(nf * (size_t)info.channels * sizeof *in);
    float *mono = malloc(nf * sizeof *mono);
    if (!in || !mono) {
        free(in);
        free(mono);
        sf_close(f);
        return -1;
    }
    sf_count_t got = sf_readf_float(f, in, info.frames);
    sf_close(f);
    for (sf_count_t i = 0; i < got; i++) {
        float s = 0;
        for (int ch = 0; ch < info.channels; ch++)
            s += in[i * info.channels + ch];
        mono[i] = s / (float)info.channels;
    }
    free(in);
    size_t nout = (size_t)got;
    float *res = mono;
    if (info.samplerate != 16000) {
        double ratio = 16000.0 / info.samplerate;
        nout = (size_t)((double)got * ratio) + 16;
        res = malloc(nout * sizeof *res);
        SRC_DATA d = {0};
        d.data_in = mono;
        d.input_frames = (long)got;
        d.data_out = res;
        d.output_frames = (long)nout;
        d.src_ratio = ratio;
        if (!res || src_simple(&d, SRC_SINC_FASTEST, 1) != 0) {
            free(res);
            free(mono);
            snprintf(err, errlen, "%s: resampling failed", path);
            return -1;
        }
        nout = (size_t)d.output_frames_gen;
        free(mono);
    }
    int16_t *o = malloc((nout ? nout : 1) * sizeof *o);
    if (!o) {
        free(res);
        return -1;
    }
    for (size_t i = 0; i < nout; i++) {
        float v = res[i] * 32767.0f;
        o[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    free(res);
    *samples = o;
    return (long)nout;
}

int ws_client_stream(ws_client *c, const int16_t *samples, size_t n, ws_msg_fn on_msg, void *user,
                     int *late_frames) {
    const size_t frame = 512;
    int64_t start = wsc_now_us();
    size_t k = 0;
    for (size_t off = 0; off < n; off += frame, k++) {
        int64_t due = start + (int64_t)k * 32000;
        for (;;) {
            int64_t now = wsc_now_us();
            if (now >= due) {
                if (late_frames && now - due > 32000) (*late_frames)++;
                break;
            }
            ws_msg m;
            int r = ws_client_recv(c, (int)((due - now + 999) / 1000), &m);
            if (r < 0) return -1;
            if (r == 1 && on_msg) on_msg(user, &m);
        }
        size_t cnt = n - off < frame ? n - off : frame;
        unsigned char buf[1024];
        for (size_t i = 0; i < cnt; i++) {
            buf[2 * i] = (unsigned char)(samples[off + i] & 0xff);
            buf[2 * i + 1] = (unsigned char)((uint16_t)samples[off + i] >> 8);
        }
        if (ws_client_send_binary(c, buf, cnt * 2) != 0) return -1;
    }
    return 0;
}

size_t http_read_reply(int fd, char *buf, size_t cap, int timeout_ms) {
    size_t len = 0;
    if (!cap) return 0;
    while (len < cap - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return len;
}

int wav_message_append(const unsigned char *data, size_t len, int16_t **buf, size_t *n,
                       size_t *cap) {
    if (len <= 44 || memcmp(data, "RIFF", 4) != 0) return 0;
    size_t k = (len - 44) / 2;
    if (*n + k > *cap) {
        size_t nc = (*n + k) * 2;
        int16_t *nb = realloc(*buf, nc * sizeof *nb);
        if (!nb) return -1;
        *buf = nb;
        *cap = nc;
    }
    const unsigned char *d = data + 44;
    for (size_t i = 0; i < k; i++)
        (*buf)[(*n)++] = (int16_t)(uint16_t)(d[2 * i] | d[2 * i + 1] << 8);
    return 0;
}
