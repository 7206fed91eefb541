/* Wyoming events from a peer: the bytes of a connection (header lines, data, payloads,
 * split anywhere) read with small bounds through the same reader the server uses, and
 * every audio-chunk's payload converted in the format its header claims. The first
 * byte picks the read chunking of the socket (the peer's writes). */
#include "fuzz.h"
#include "wyoming/audio_in.h"
#include "wyoming/wire.h"

#include <fcntl.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    size_t step = (size_t)data[0] % 61 + 1;
    data++, size--;
    for (size_t off = 0; off < size; off += step) { /* what does not fit is dropped */
        size_t n = size - off < step ? size - off : step;
        if (write(sv[1], data + off, n) != (ssize_t)n) break;
    }
    close(sv[1]); /* the peer is done: reads end instead of waiting */
    wy_reader r;
    wy_reader_init(&r, sv[0]);
    const wy_limits lim = {256, 2048};
    wy_audio_in *a = wy_audio_in_new();
    for (int i = 0; i < 64; i++) {
        wy_event ev;
        char err[256];
        if (wy_read_event(&r, &lim, 1000, &ev, err, sizeof err) != WY_OK) break;
        if (!ev.data || strlen(ev.type) >= WY_TYPE_MAX || ev.payload_len > lim.max_payload_bytes)
            abort();
        long long rate = 0, width = 0, ch = 0;
        if (a && wy_data_int(ev.data, "rate", &rate) && wy_data_int(ev.data, "width", &width) &&
            wy_data_int(ev.data, "channels", &ch) &&
            wy_audio_format_ok(rate, width, ch, err, sizeof err) == 0) {
            const int16_t *pcm;
            size_t n;
            if (wy_audio_in_convert(a, (int)rate, (int)width, (int)ch, ev.payload, ev.payload_len,
                                    &pcm, &n, err, sizeof err) == 0 &&
                n > 16 * ev.payload_len + 64)
                abort(); /* 16 kHz from 1 kHz at 1 byte a frame is the most there can be */
        }
        wy_event_clear(&ev);
    }
    wy_audio_in_free(a);
    wy_reader_free(&r);
    close(sv[0]);
    return 0;
}
