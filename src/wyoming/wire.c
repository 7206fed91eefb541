/* Wyoming events on a socket: the bounded reader and the writer (see wire.h). */
#include "wyoming/wire.h"

#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

void wy_reader_init(wy_reader *r, int fd) {
    memset(r, 0, sizeof *r);
    r->fd = fd;
}

void wy_reader_free(wy_reader *r) {
    free(r->buf);
    r->buf = NULL;
    r->cap = r->start = r->end = 0;
}

void wy_event_clear(wy_event *ev) {
    if (!ev) return;
    cJSON_Delete(ev->data);
    free(ev->payload);
    memset(ev, 0, sizeof *ev);
}

/* Waits until the socket is readable or the deadline passes (deadline_ms < 0: none).
 * Returns 1 readable, 0 timed out, -1 failed. */
static int wait_readable(int fd, int64_t deadline_ms) {
    for (;;) {
        int wait = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - now_ms();
            if (left <= 0) return 0;
            wait = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, wait);
        if (n > 0) return 1;  /* readable, or hung up: recv says which */
        if (n == 0) continue; /* re-check the deadline */
        if (errno != EINTR) return -1;
    }
}

/* One recv into dst within the deadline. Returns bytes (> 0), 0 at end of stream, or a
 * negative wy_status. */
static long recv_some(wy_reader *r, void *dst, size_t want, int64_t deadline_ms) {
    for (;;) {
        int w = wait_readable(r->fd, deadline_ms);
        if (w == 0) return WY_TIMEOUT;
        if (w < 0) return WY_IO;
        ssize_t n = recv(r->fd, dst, want, 0);
        if (n > 0) {
            r->bytes_in += n;
            return (long)n;
        }
        if (n == 0) return 0;
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        return WY_IO;
    }
}

/* Fills dst with exactly n bytes: first what the line buffer already holds, then
 * straight from the socket. */
static wy_status read_exact(wy_reader *r, unsigned char *dst, size_t n, int64_t deadline_ms) {
    size_t have = r->end - r->start;
    size_t take = have < n ? have : n;
    memcpy(dst, r->buf + r->start, take);
    r->start += take;
    for (size_t got = take; got < n;) {
        long k = recv_some(r, dst + got, n - got, deadline_ms);
        if (k == 0) return WY_IO;
        if (k < 0) return (wy_status)k;
        got += (size_t)k;
    }
    return WY_OK;
}

/* Reads the header line (without its newline) into the buffer; *line and *len point
 * into it. The buffer is never filled past max_json_bytes + 1, so a line without a
 * newline is refused once it reaches the bound, however much more the peer sends. */
static wy_status read_line(wy_reader *r, size_t max, int64_t deadline_ms, char **line, size_t *len,
                           char *err, size_t errlen) {
    if (!r->buf) {
        r->cap = max + 1;
        r->buf = malloc(r->cap);
        if (!r->buf) {
            snprintf(err, errlen, "out of memory");
            return WY_NOMEM;
        }
    }
    size_t scanned = r->start;
    for (;;) {
        unsigned char *nl = memchr(r->buf + scanned, '\n', r->end - scanned);
        if (nl) {
            *line = (char *)r->buf + r->start;
            *len = (size_t)(nl - (r->buf + r->start));
            *nl = '\0';
            r->start = (size_t)(nl - r->buf) + 1;
            return WY_OK;
        }
        scanned = r->end;
        if (r->end - r->start > max) {
            snprintf(err, errlen,
                     "event header line longer than %zu bytes (wyoming.max_json_bytes); it was not "
                     "read further",
                     max);
            return WY_TOO_BIG;
        }
        if (r->start > 0 && r->end == r->cap) { /* room at the front: move the line there */
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            scanned -= r->start;
            r->start = 0;
        }
        if (r->start == r->end) r->start = r->end = scanned = 0;
        int at_boundary = r->start == r->end;
        /* Read no further than the bound allows this line to grow. */
        size_t room = r->start + max + 1 - r->end;
        if (room > r->cap - r->end) room = r->cap - r->end;
        long k = recv_some(r, r->buf + r->end, room, deadline_ms);
        if (k == 0) return at_boundary ? WY_EOF : WY_IO;
        if (k < 0) {
            if (k == WY_TIMEOUT)
                snprintf(err, errlen,
                         at_boundary ? "nothing received for %s" : "event not finished within %s",
                         "wyoming.idle_timeout_s");
            return (wy_status)k;
        }
        r->end += (size_t)k;
    }
}

/* A length member of the header: absent or null is 0; otherwise a whole number from 0 to
 * max. Returns WY_OK, WY_BAD or WY_TOO_BIG (err names the member and the bound). */
static wy_status header_length(const cJSON *hdr, const char *key, size_t max, const char *setting,
                               size_t *out, char *err, size_t errlen) {
    *out = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(hdr, key);
    if (!v || cJSON_IsNull(v)) return WY_OK;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || d < 0 || d != floor(d)) {
        snprintf(err, errlen, "%s must be a whole number of bytes, 0 or more", key);
        return WY_BAD;
    }
    if (d > (double)max) {
        snprintf(err, errlen, "%s %.0f is over the %zu bytes allowed (%s); nothing of it was read",
                 key, d, max, setting);
        return WY_TOO_BIG;
    }
    *out = (size_t)d;
    return WY_OK;
}

wy_status wy_read_event(wy_reader *r, const wy_limits *lim, int timeout_ms, wy_event *ev, char *err,
                        size_t errlen) {
    memset(ev, 0, sizeof *ev);
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    char *line = NULL;
    size_t len = 0;
    wy_status st = read_line(r, lim->max_json_bytes, deadline, &line, &len, err, errlen);
    if (st != WY_OK) return st;
    cJSON *hdr = cJSON_ParseWithLength(line, len);
    if (!cJSON_IsObject(hdr)) {
        cJSON_Delete(hdr);
        snprintf(err, errlen, "the event header is not a JSON object on one line");
        return WY_BAD;
    }
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hdr, "type"));
    size_t dlen = 0, plen = 0;
    if (!type || !*type || strlen(type) >= WY_TYPE_MAX) {
        snprintf(err, errlen, "the event header needs \"type\": a string of 1 to %d characters",
                 WY_TYPE_MAX - 1);
        st = WY_BAD;
    } else {
        st = header_length(hdr, "data_length", lim->max_json_bytes, "wyoming.max_json_bytes", &dlen,
                           err, errlen);
        if (st == WY_OK)
            st = header_length(hdr, "payload_length", lim->max_payload_bytes,
                               "wyoming.max_payload_bytes", &plen, err, errlen);
    }
    cJSON *data = NULL;
    if (st == WY_OK) {
        cJSON *inline_data = cJSON_DetachItemFromObjectCaseSensitive(hdr, "data");
        if (!inline_data || cJSON_IsNull(inline_data)) {
            cJSON_Delete(inline_data);
            data = cJSON_CreateObject();
        } else if (cJSON_IsObject(inline_data)) {
            data = inline_data;
        } else {
            cJSON_Delete(inline_data);
            snprintf(err, errlen, "\"data\" must be a JSON object");
            st = WY_BAD;
        }
        if (st == WY_OK && !data) st = WY_NOMEM;
    }
    if (st == WY_OK) str_copy(ev->type, sizeof ev->type, type);
    cJSON_Delete(hdr);
    if (st == WY_NOMEM) snprintf(err, errlen, "out of memory");
    if (st != WY_OK) {
        cJSON_Delete(data);
        return st;
    }
    ev->data = data;
    if (dlen > 0) {
        unsigned char *db = malloc(dlen);
        st = db ? read_exact(r, db, dlen, deadline) : WY_NOMEM;
        cJSON *extra = st == WY_OK ? cJSON_ParseWithLength((const char *)db, dlen) : NULL;
        free(db);
        if (st == WY_OK && !cJSON_IsObject(extra)) {
            snprintf(err, errlen, "the event's data (data_length bytes) is not a JSON object");
            st = WY_BAD;
        }
        /* Merged over the header's data, member by member, as the reference does. */
        while (st == WY_OK && extra->child) {
            cJSON *item = cJSON_DetachItemViaPointer(extra, extra->child);
            const char *k = item->string;
            /* k is the detached item's own key: deleting data's member leaves it alone */
            cJSON_DeleteItemFromObjectCaseSensitive(data, k);
            cJSON_AddItemToObject(data, k, item);
        }
        cJSON_Delete(extra);
    }
    if (st == WY_OK && plen > 0) {
        ev->payload = malloc(plen);
        st = ev->payload ? read_exact(r, ev->payload, plen, deadline) : WY_NOMEM;
        ev->payload_len = plen;
    }
    if (st != WY_OK) {
        if (st == WY_NOMEM)
            snprintf(err, errlen, "out of memory");
        else if (st == WY_TIMEOUT)
            snprintf(err, errlen, "event not finished within wyoming.idle_timeout_s");
        else if (st == WY_IO)
            snprintf(err, errlen, "the connection closed inside an event");
        wy_event_clear(ev);
    }
    return st;
}

int wy_write_event(int fd, const char *type, const cJSON *data, const void *payload, size_t len) {
    char *dtext = NULL;
    size_t dlen = 0;
    if (data && data->child) {
        dtext = cJSON_PrintUnformatted(data);
        if (!dtext) return -1;
        dlen = strlen(dtext);
    }
    /* The type is ours (a constant), never a peer's: it needs no escaping. */
    char hdr[256];
    int hn =
        snprintf(hdr, sizeof hdr, "{\"type\":\"%s\",\"version\":\"%s\"", type, WY_PROTOCOL_VERSION);
    if (dlen) hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, ",\"data_length\":%zu", dlen);
    if (payload && len)
        hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, ",\"payload_length\":%zu", len);
    hn += snprintf(hdr + hn, sizeof hdr - (size_t)hn, "}\n");
    if (hn >= (int)sizeof hdr) {
        free(dtext);
        return -1;
    }
    struct iovec iov[3] = {{hdr, (size_t)hn}, {dtext, dlen}, {(void *)payload, payload ? len : 0}};
    int niov = 3, first = 0, rc = 0;
    while (first < niov) {
        if (iov[first].iov_len == 0) {
            first++;
            continue;
        }
        struct msghdr m = {.msg_iov = iov + first, .msg_iovlen = (size_t)(niov - first)};
        ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            rc = -1; /* includes EAGAIN: the send timeout passed */
            break;
        }
        for (size_t left = (size_t)n; left > 0 && first < niov;) {
            size_t step = left < iov[first].iov_len ? left : iov[first].iov_len;
            iov[first].iov_base = (char *)iov[first].iov_base + step;
            iov[first].iov_len -= step;
            left -= step;
            if (iov[first].iov_len == 0) first++;
        }
    }
    free(dtext);
    return rc;
}

const char *wy_data_str(const cJSON *data, const char *key, const char *def) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, key));
    return s ? s : def;
}

int wy_data_int(const cJSON *data, const char *key, long long *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9e15) return 0;
    *out = (long long)d;
    return 1;
}
