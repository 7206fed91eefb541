/* WAV/RIFF files as `axiom transcribe` and the tests read them: any header libsndfile
 * may meet (chunk sizes, formats, channel counts, rates, float NaN/Inf), converted to
 * 16 kHz mono s16 in chunks and whole, with a bound on the duration. The decoded
 * audio is written back as WAV and must read again with the same length. */
#include "fuzz.h"
#include "speech/wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(data, size, ".wav");
    char err[512];
    wav_reader *r = wav_reader_open(path, 16000, 5.0, err, sizeof err);
    if (r) {
        wav_info info;
        wav_reader_get_info(r, &info);
        int16_t buf[4096];
        long n, total = 0;
        while ((n = wav_reader_read(r, buf, sizeof buf / sizeof buf[0], err, sizeof err)) > 0) {
            if ((size_t)n > sizeof buf / sizeof buf[0]) abort();
            total += n;
            if (total > 16000L * 6) abort(); /* past the 5 s bound */
        }
        wav_reader_free(r);
    }
    int16_t *pcm = NULL;
    size_t np = 0;
    if (wav_read_all(path, 8000, 2.0, &pcm, &np, err, sizeof err) == 0) {
        if (np > 8000 * 3) abort();
        uint8_t *w = NULL;
        size_t wl = 0;
        if (wav_encode(pcm, np, 8000, &w, &wl) == 0) {
            const char *p2 = fuzz_file(w, wl, ".2.wav");
            int16_t *back = NULL;
            size_t nb = 0;
            if (wav_read_all(p2, 8000, 3.0, &back, &nb, err, sizeof err) != 0 || nb != np) abort();
            free(back);
            free(w);
        }
        free(pcm);
    }
    return 0;
}
