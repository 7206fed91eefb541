/* A small WebSocket client over loopback for the server tests and the load
 * generator: connect with chosen headers (Origin, Authorization), send masked text
 * and binary frames (or raw bytes, to test malformed input), receive messages with a
 * timeout (pings answered, close code and reason recorded), and stream 16 kHz PCM at
 * real-time pace. One client per thread; no client is shared between threads. */
#ifndef AXIOM_WS_CLIENT_H
#define AXIOM_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_client ws_client;

enum { WSC_TEXT = 1, WSC_BINARY = 2, WSC_CLOSE = 8, WSC_PING = 9, WSC_PONG = 10 };

typedef struct {
    int opcode;          /* WSC_TEXT or WSC_BINARY */
    unsigned char *data; /* NUL-terminated; owned by the client until the next recv */
    size_t len;
} ws_msg;

/* Connects to 127.0.0.1:port and upgrades `path`. extra_headers: complete header
 * lines ("Origin: http://x\r\n"), or NULL. On refusal returns NULL with *http_status
 * set to the HTTP status (e.g. 403) and the response body in err. */
ws_client *ws_client_connect(int port, const char *path, const char *extra_headers, int timeout_ms,
                             int *http_status, char *err, size_t errlen);
void ws_client_free(ws_client *c);

int ws_client_send_text(ws_client *c, const char *text);
int ws_client_send_binary(ws_client *c, const void *data, size_t len);
/* A frame with any opcode and FIN bit, masked as clients must. */
int ws_client_send_frame(ws_client *c, int opcode, int fin, const void *data, size_t len);
/* Bytes straight onto the socket (malformed frames). */
int ws_client_send_raw(ws_client *c, const void *data, size_t len);
/* Sends a close frame with a code. */
int ws_client_close(ws_client *c, int code);

/* Waits up to timeout_ms for one message. Returns 1 with *out filled, 0 on timeout,
 * -1 when the connection closed (see ws_client_close_code) or failed. */
int ws_client_recv(ws_client *c, int timeout_ms, ws_msg *out);
/* The close code and reason the server sent (0 / "" when none). */
int ws_client_close_code(const ws_client *c);
const char *ws_client_close_reason(const ws_client *c);
/* The socket, for tests that stop reading or shut it down abruptly. */
int ws_client_fd(const ws_client *c);
/* Shrinks the receive buffer (slow-reader tests). */
void ws_client_set_rcvbuf(ws_client *c, int bytes);

/* Plain HTTP request over loopback; returns the status code (or -1) and the body
 * (bounded, NUL-terminated). method "GET"/"POST"; body may be NULL. */
int http_request(int port, const char *method, const char *path, const char *extra_headers,
                 const char *body, char *out, size_t outcap);
/* The same with a chosen Host header (NULL: 127.0.0.1:port; "": none at all). */
int http_request_host(int port, const char *host, const char *method, const char *path,
                      const char *extra_headers, const char *body, char *out, size_t outcap);

/* Reads a raw HTTP reply on fd into buf until the peer closes, buf is full, or no byte
 * arrives for timeout_ms; NUL-terminates it and returns its length. */
size_t http_read_reply(int fd, char *buf, size_t cap, int timeout_ms);

/* Appends the samples of one answer-audio message (a 44-byte-header RIFF/WAV of s16le)
 * to a growing buffer; other messages are ignored. Returns 0, or -1 when out of memory. */
int wav_message_append(const unsigned char *data, size_t len, int16_t **buf, size_t *n,
                       size_t *cap);

/* Loads a WAV file as 16 kHz mono s16 (resampled/mixed down when needed). Returns
 * the sample count, or -1 with err. *samples is malloc'd. */
long wav_load_16k(const char *path, int16_t **samples, char *err, size_t errlen);

/* Real-time streaming helper: sends samples as 512-sample (32 ms) frames at
 * real-time pace, receiving while it waits. on_msg (may be NULL) sees every message
 * received meanwhile. Returns 0, or -1 when the connection ended. *late_frames (may
 * be NULL) counts frames sent more than 32 ms behind schedule. */
typedef void (*ws_msg_fn)(void *user, const ws_msg *m);
int ws_client_stream(ws_client *c, const int16_t *samples, size_t n, ws_msg_fn on_msg, void *user,
                     int *late_frames);

/* Monotonic microseconds. */
int64_t wsc_now_us(void);

#endif
