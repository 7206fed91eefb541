/* WebSocket frames and protocol messages, sent over a real socket to the running
 * server after a valid upgrade: civetweb's frame parser, AXIOM's message handling
 * (text and binary, fragmented, oversized, invalid UTF-8, control frames, JSON
 * protocol messages) and the speech stack behind it (energy VAD, PocketSphinx with
 * the pack's language model, the brain) see exactly what a hostile client could send.
 *
 * Input: the first byte picks the form.
 *   low nibble 1 (one input in 16): the rest goes onto a fresh connection as it is
 *         (malformed frame headers, bad lengths, unmasked frames), which is then
 *         closed; a connection costs about a millisecond, so this form is kept rare.
 *   otherwise: the rest is a list of messages, each [op][len hi][len lo][payload], sent as
 *         masked frames with opcode op & 0x0f and FIN op & 0x80 (so fragments,
 *         unknown opcodes and control frames all occur) on one long-lived session;
 *         op 0x7f wraps the payload as {"event":...} JSON text so the protocol
 *         handlers are reached quickly; op 0x7e sends 0.6 s of real speech
 *         (goforward.raw from its payload[1]-th 100 ms, gain (payload[0] + 1) / 64,
 *         clipped) and 350 ms of silence as 32 ms binary frames, so utterances reach
 *         the recogniser mixed with whatever else the input sends (one utterance at a
 *         time: while one is being recognised, 0x7e sends nothing).
 * The session is kept across inputs (a new one when the server closed it), so
 * inputs cost microseconds, not a connection each: `make fuzz` runs 1 M of them. The
 * server answers asynchronously, so a crash may need the inputs before it to
 * reproduce. The server must stay up: the next connect fails otherwise. At exit the
 * target prints how far inputs got (speech starts and ends seen, recogniser runs from
 * /metrics); fuzz/run.sh fails a run in which the recogniser never ran. */
#include "fuzz_server.h"

#include <time.h>

static const char *const ws_settings[][2] = {
    {"server.max_sessions", "64"}, /* raw-mode connections close abruptly */
    {"stt.pool_size", "1"},        /* decoding takes at most one core; the fuzzer keeps the other */
    {"server.max_utterance_s", "3"},
    {"mem.preload", "true"},     /* the recogniser is loaded before the first input */
    {"server.warm_up", "false"}, /* preloaded already; no warm-up decode per new session */
    {NULL, NULL}};

#define GOFORWARD "/usr/share/pocketsphinx/test/data/goforward.raw"

static int16_t *speech;
static size_t speech_n;
static int session_fd = -1;
static long inputs, speech_starts, speech_ends, reconnects, speech_sent;

static long nowus(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}
static int ws_port;

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
    for (size_t i = 0; i < n; i++)
        buf[hl + i] = p[i] ^ mask[i & 3];
    fuzz_send_all(fd, buf, hl + n);
    free(buf);
}

/* Connects and upgrades; aborts when the server no longer answers upgrades. */
static int open_session(void) {
    int fd = fuzz_connect(ws_port);
    const char *hs = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n";
    fuzz_send_all(fd, hs, strlen(hs));
    char reply[1100];
    size_t got = 0;
    int upgraded = 0;
    /* Only the 101 answer, up to its blank line, so no frame after it is swallowed:
     * peeked until the whole header is there (civetweb writes it in pieces), then
     * taken. */
    for (int tries = 0; tries < 5000; tries++) {
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, 5000);
        if (pr < 0 && errno == EINTR) continue;
        ssize_t n = pr > 0 ? recv(fd, reply, 1024, MSG_PEEK) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        char *end = memmem(reply, (size_t)n, "\r\n\r\n", 4);
        if (!end && n < 1024) {
            struct timespec ts = {0, 200000}; /* the rest of the header is on its way */
            nanosleep(&ts, NULL);
            continue;
        }
        upgraded = memmem(reply, (size_t)n, " 101 ", 5) != NULL;
        size_t take = end ? (size_t)(end - reply) + 4 : (size_t)n;
        while (recv(fd, reply, take, 0) < 0 && errno == EINTR) {
        }
        got = take;
        break;
    }
    reply[got < 1024 ? got : 1023] = '\0';
    if (!upgraded) {
        fprintf(stderr, "the server no longer answers upgrades: %.100s\n", reply);
        abort();
    }
    return fd;
}

/* Reads what is waiting (never blocks), counting speech events; -1 when closed. */
static int drain(int fd) {
    static char carry[32];
    static size_t ncarry;
    for (;;) {
        char buf[8192 + sizeof carry];
        memcpy(buf, carry, ncarry);
        ssize_t n = recv(fd, buf + ncarry, 8192, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        if (n == 0) return -1;
        size_t len = ncarry + (size_t)n;
        for (const char *p = buf; (p = memmem(p, len - (size_t)(p - buf), "speech_", 7)); p += 7) {
            size_t rest = len - (size_t)(p - buf);
            if (rest >= 12 && memcmp(p, "speech_start", 12) == 0) speech_starts++;
            if (rest >= 10 && memcmp(p, "speech_end", 10) == 0) speech_ends++;
        }
        /* an event name split across reads is counted with the next one */
        ncarry = len < sizeof carry ? len : sizeof carry;
        memmove(carry, buf + len - ncarry, ncarry);
    }
}

static void send_speech(int fd, const uint8_t *p, size_t n) {
    /* One utterance at a time: decoding (about 100 ms of CPU under ASan per second of
     * speech) would otherwise pile up behind the fuzzer and slow every input. */
    static long last_us;
    long now = nowus();
    if (speech_sent > speech_ends && now - last_us < 2000000) return; /* or it was lost */
    speech_sent = speech_ends + 1;
    last_us = now;
    int gain = (n > 0 ? p[0] : 63) + 1;
    size_t start = n > 1 ? (size_t)p[1] * 1600 : 0;
    if (speech_n) start %= speech_n;
    int16_t frame[512];
    /* 28 frames of speech (0.9 s), then 22 of silence (704 ms): longer than the longest
     * pause the adaptive endpointer waits for (vad.silence_max_ms, 600), so the
     * utterance always ends and reaches the recogniser */
    for (size_t f = 0; f < 50; f++) {
        for (size_t i = 0; i < 512; i++) {
            size_t at = start + f * 512 + i;
            long v = f < 28 && at < speech_n ? (long)speech[at] * gain / 64 : 0;
            frame[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        put_frame(fd, 2, 1, (const uint8_t *)frame, sizeof frame);
    }
}

static void report(void) {
    char body[1 << 16];
    long stt_runs = -1;
    int fd = fuzz_connect(ws_port);
    const char *rq = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    fuzz_send_all(fd, rq, strlen(rq));
    fuzz_read_reply(fd, body, sizeof body, 2000);
    close(fd);
    const char *m = strstr(body, "axiom_stage_latency_seconds_count{stage=\"stt\"} ");
    if (m) stt_runs = atol(m + strlen("axiom_stage_latency_seconds_count{stage=\"stt\"} "));
    fprintf(stderr,
            "fuzz_server_ws: %ld inputs, %ld sessions, speech_start %ld, speech_end %ld, "
            "recogniser runs %ld\n",
            inputs, reconnects, speech_starts, speech_ends, stt_runs);
}

static void setup(void) {
    fuzz_server_extra = ws_settings;
    ws_port = fuzz_server_get();
    FILE *f = fopen(GOFORWARD, "rb");
    if (!f) {
        fprintf(
            stderr,
            "fuzz_server_ws: %s is missing (pocketsphinx-testdata): run scripts/install-deps.sh\n",
            GOFORWARD);
        abort();
    }
    speech = malloc(16000 * 2 * 10);
    if (!speech) abort();
    speech_n = fread(speech, 2, 16000 * 10, f);
    fclose(f);
    atexit(report);
}

/* Once per run, before the fuzzed inputs: one utterance of real speech on its own
 * session, waited for until the server has ended it (at most 8 s), so every run
 * drives the speech stack however rarely the fuzzer itself picks op 0x7e. */
static void speech_probe(void) {
    int fd = open_session();
    if (fd < 0) return;
    static const uint8_t plain[2] = {63, 4}; /* unity gain, from 0.4 s: "go forward ten" */
    send_speech(fd, plain, sizeof plain);
    for (int i = 0; i < 400 && speech_ends == 0; i++) { /* within libFuzzer's 11 s */
        if (drain(fd) < 0) break;
        usleep(20 * 1000);
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ws_port) {
        setup();
        speech_probe();
    }
    if (size < 1) return 0;
    inputs++;
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    if ((data[0] & 0x0f) == 0x01) {
        int fd = open_session();
        fuzz_send_all(fd, p, left);
        close(fd);
        return 0;
    }
    if (session_fd < 0) {
        session_fd = open_session();
        reconnects++;
    }
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
            put_frame(session_fd, 1, 1, (const uint8_t *)msg, (size_t)k + n);
            free(msg);
        } else if (op == 0x7e) {
            send_speech(session_fd, p, n);
        } else {
            put_frame(session_fd, op, op & 0x80, p, n);
        }
        p += n, left -= n;
        if (drain(session_fd) < 0) break;
    }
    if (drain(session_fd) < 0) { /* the server closed it (bad frame, too big...) */
        close(session_fd);
        session_fd = -1;
    }
    return 0;
}
