/* The Wyoming wire format (the `wyoming` Python package 1.9.0, the client Home
 * Assistant uses): one event is
 *
 *   {"type": "...", "data": {...}, "data_length": N, "payload_length": M}\n
 *   N bytes of JSON data, merged over "data" (keys of the later object win)
 *   M bytes of payload (PCM audio)
 *
 * with "data", "data_length" and "payload_length" optional and unknown keys ignored.
 *
 * Reading is bounded before anything is kept: the header line may be at most
 * max_json_bytes long (the read buffer never grows past that), and data_length and
 * payload_length are compared with their bounds as soon as the header is parsed, before
 * a byte of them is read or allocated. A peer that sends nothing for timeout_ms, or
 * takes longer than that to finish an event it started, gets WY_TIMEOUT.
 *
 * Both directions are used by the server (src/wyoming/) and by the benchmark's client
 * (bench/bench_wyoming.c). One reader and one writer per socket, each from one thread. */
#ifndef AXIOM_WYOMING_WIRE_H
#define AXIOM_WYOMING_WIRE_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The protocol version written in every header: the reference this was built against. */
#define WY_PROTOCOL_VERSION "1.9.0"
#define WY_TYPE_MAX 64 /* longest event type accepted, with its terminator */

typedef struct {
    size_t max_json_bytes;    /* header line, and data_length, each at most this */
    size_t max_payload_bytes; /* payload_length at most this */
} wy_limits;

typedef struct {
    char type[WY_TYPE_MAX];
    cJSON *data;            /* always an object after a successful read (owned) */
    unsigned char *payload; /* NULL when payload_len is 0 (owned) */
    size_t payload_len;
} wy_event;

/* Buffered reads from one socket. The buffer is allocated on the first read and
 * holds at most max_json_bytes (+1); data and payload that do not fit are read into
 * their own exact-size buffers. */
typedef struct {
    int fd;
    unsigned char *buf;
    size_t cap, start, end;
    int64_t bytes_in; /* everything read from the socket so far */
} wy_reader;

typedef enum {
    WY_OK = 0,
    WY_EOF = 1,      /* the peer closed the connection between two events */
    WY_IO = -1,      /* read failed, or the peer closed inside an event */
    WY_TIMEOUT = -2, /* nothing (or not enough) for timeout_ms */
    WY_TOO_BIG = -3, /* header line, data_length or payload_length past its bound */
    WY_BAD = -4,     /* not an event: malformed JSON, no type, bad lengths */
    WY_NOMEM = -5
} wy_status;

void wy_reader_init(wy_reader *r, int fd);
void wy_reader_free(wy_reader *r);

/* Reads one event within timeout_ms (from the call; < 0 = no limit). Returns WY_OK with
 * ev filled (free with wy_event_clear), or a status with err saying what was wrong in
 * words a client can act on. After anything but WY_OK the stream cannot be trusted to
 * be at an event boundary: close it. */
wy_status wy_read_event(wy_reader *r, const wy_limits *lim, int timeout_ms, wy_event *ev, char *err,
                        size_t errlen);
void wy_event_clear(wy_event *ev);

/* Writes one event: the header line (type, version, lengths), data as data_length
 * bytes when it is a non-empty object (data may be NULL), then the payload. The socket
 * should have a send timeout (SO_SNDTIMEO): a peer that stops reading fails the write
 * instead of blocking forever. Returns 0, or -1 (the connection is no longer usable). */
int wy_write_event(int fd, const char *type, const cJSON *data, const void *payload, size_t len);

/* Data members, read leniently as the reference's dataclasses do: the value when the
 * key holds the right type, else def (a string or an integer). */
const char *wy_data_str(const cJSON *data, const char *key, const char *def);
/* 1 and *out when data[key] is a whole number (an integer-valued JSON number). */
int wy_data_int(const cJSON *data, const char *key, long long *out);

#endif
