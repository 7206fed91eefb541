/* HTTP requests over a real socket to the running server: request line, path
 * (percent-encoding, "..", overlong, NUL), query and headers reach civetweb's parser,
 * the API routes and the static-file handler. Beyond not crashing, no response may
 * ever carry the file placed next to (outside) the web folder.
 *
 * Input: the first byte picks the form.
 *   even: "GET <rest up to the first newline> HTTP/1.1", then the remaining bytes as
 *         header lines (so paths are mutated on their own).
 *   odd:  the rest goes onto the socket as it is (whole malformed requests). */
#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int port = fuzz_server_get();
    int fd = fuzz_connect(port);
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    if (data[0] & 1) {
        fuzz_send_all(fd, p, left);
        fuzz_send_all(fd, "\r\n\r\n", 4);
    } else {
        const uint8_t *nl = memchr(p, '\n', left);
        size_t pl = nl ? (size_t)(nl - p) : left;
        static const char *methods[] = {"GET ", "HEAD ", "POST ", "OPTIONS "};
        const char *m = methods[(data[0] >> 1) & 3];
        fuzz_send_all(fd, m, strlen(m));
        fuzz_send_all(fd, p, pl);
        const char *v = " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        fuzz_send_all(fd, v, strlen(v));
        if (nl) fuzz_send_all(fd, nl + 1, left - pl - 1);
        fuzz_send_all(fd, "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 42);
    }
    shutdown(fd, SHUT_WR);
    static char reply[1 << 16];
    fuzz_read_reply(fd, reply, sizeof reply, 500);
    close(fd);
    /* A reply may quote the request (an error naming a bad header): the secret is only
     * evidence of a file read when the request did not carry it itself. */
    if (strstr(reply, FUZZ_SECRET) && !memmem(data, size, FUZZ_SECRET, strlen(FUZZ_SECRET))) {
        fprintf(stderr, "a request read a file outside the web folder:\n%.300s\n", reply);
        abort();
    }
    return 0;
}
