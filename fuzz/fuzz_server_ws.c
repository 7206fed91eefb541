/* WebSocket frames and protocol messages, sent over a real socket to the running
 * server after a valid upgrade: civetweb's frame parser and AXIOM's message handling
 * (text and binary, fragmented, oversized, invalid UTF-8, control frames, JSON
 * protocol messages) see exactly what a hostile client could send.
 *
 * Input: the first byte picks the form.
 *   even: the rest is a list of messages, each [op][len hi][len lo][payload], sent as
 *         masked frames with opcode op & 0x0f and FIN op & 0x80 (so fragments,
 *         unknown opcodes and control frames all occur); op 0x7f wraps the payload
 *         as {"event":...} JSON text so the protocol handlers are reached quickly.
 *   odd:  the rest goes onto the socket as it is (malformed frame headers, bad
 *         lengths, unmasked frames).
 * Each run then sends a close frame and reads until the server closes. The server
 * must stay up: the next run's connect fails otherwise. */
#include "fuzz_server.h"

static void put_frame(int fd, int op, int fin, const uint8_t *p, size_t n) {
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)((fin ? 0x80 : 0) | (op & 0x0f));
    if (n < 126) {
        h[hl++] = (uint8_t)(0x80 | n);
    } else {
        h[hl++] = 0x80 | 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    }
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(h + hl, mask, 4);
    hl += 4;
    uint8_t *buf = malloc(hl + n + 1);
    if (!buf) abort();
    memcpy(buf, h, hl);
    for (size_t i = 0; i < n; i++) buf[hl + i] = p[i] ^ mask[i & 3];
    fuzz_send_all(fd, buf, hl + n);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int port = fuzz_server_get();
    int fd = fuzz_connect(port);
    const char *hs = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n";
    fuzz_send_all(fd, hs, strlen(hs));
    char reply[8192];
    /* The 101 answer first, so the frames below are parsed as frames. */
    size_t got = 0;
    while (got < 1024 && !memmem(reply, got, "\r\n\r\n", 4)) {
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, 5000);
        if (pr < 0 && errno == EINTR) continue;
        ssize_t n = pr > 0 ? recv(fd, reply + got, 1024 - got, 0) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    reply[got] = '\0';
    if (!strstr(reply, " 101 ")) {
        fprintf(stderr, "the server no longer answers upgrades: %.100s\n", reply);
        abort();
    }
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    if (data[0] & 1) {
        fuzz_send_all(fd, p, left);
    } else {
        while (left >= 3) {
            int op = p[0];
            size_t n = (size_t)p[1] << 8 | p[2];
            p += 3, left -= 3;
            if (n > left) n = left;
            if (op == 0x7f) {
                char *msg = malloc(n + 16);
                if (!msg) abort();
                int k = snprintf(msg, 16, "{\"event\":");
                memcpy(msg + k, p, n);
                put_frame(fd, 1, 1, (const uint8_t *)msg, (size_t)k + n);
                free(msg);
            } else {
                put_frame(fd, op, op & 0x80, p, n);
            }
            p += n, left -= n;
        }
    }
    static const uint8_t close_payload[2] = {0x03, 0xe8};
    put_frame(fd, 8, 1, close_payload, 2);
    fuzz_read_reply(fd, reply, sizeof reply, 50);
    close(fd);
    return 0;
}
