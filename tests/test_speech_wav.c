/* WAV reading and writing: every sample format libsndfile offers, channel mixing,
 * resampling, NaN floats, broken and empty files, size bounds, and an hour-long file
 * read in bounded memory. Files are generated here with libsndfile. */
#include "check.h"
#include "core/util.h"
#include "speech/wav.h"
#include "support/testutil.h"

#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <unistd.h>

static char tmp[256];

/* Writes a sine (amplitude amp, freq Hz) as the given format; extra channels carry
 * the same signal. nan_every > 0 puts a NaN at every nan_every-th frame (float only). */
static int write_sine(const char *path, int format, int rate, int channels, double secs,
                      double freq, double amp, int nan_every) {
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return -1;
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    long frames = (long)(secs * rate);
    float buf[1024 * 8];
    long done = 0;
    while (done < frames) {
        long k = frames - done < 1024 ? frames - done : 1024;
        for (long i = 0; i < k; i++) {
            float v = (float)(amp * sin(2 * M_PI * freq * (double)(done + i) / rate));
            if (nan_every && (done + i) % nan_every == 0) v = NAN;
            for (int c = 0; c < channels; c++)
                buf[i * channels + c] = v;
        }
        sf_writef_float(f, buf, k);
        done += k;
    }
    return sf_close(f);
}

static int zero_crossings(const int16_t *p, size_t n) {
    int z = 0;
    for (size_t i = 1; i < n; i++)
        z += (p[i - 1] < 0) != (p[i] < 0);
    return z;
}

static void test_encode_round_trip(void) {
    int16_t pcm[1000];
    for (int i = 0; i < 1000; i++)
        pcm[i] = (int16_t)(i * 37 - 18000);
    uint8_t *b;
    size_t len;
    CHECK_EQ_INT(wav_encode(pcm, 1000, 22050, &b, &len), 0);
    CHECK_EQ_INT(len, 44 + 2000);
    CHECK(memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVEfmt ", 8) == 0 &&
          memcmp(b + 36, "data", 4) == 0);
    CHECK_EQ_INT(b[24] | b[25] << 8 | b[26] << 16, 22050);
    free(b);
    char path[300], err[256];
    snprintf(path, sizeof path, "%s/rt.wav", tmp);
    CHECK_EQ_INT(wav_write_file(path, pcm, 1000, 22050, err, sizeof err), 0);
    int16_t *back;
    size_t n;
    CHECK_EQ_INT(wav_read_all(path, 22050, 10, &back, &n, err, sizeof err), 0);
    CHECK_EQ_INT(n, 1000);
    CHECK(n == 1000 && memcmp(back, pcm, sizeof pcm) == 0);
    free(back);
    /* Zero samples still make a valid file. */
    CHECK_EQ_INT(wav_write_file(path, NULL, 0, 16000, err, sizeof err), 0);
    CHECK_EQ_INT(wav_read_all(path, 16000, 10, &back, &n, err, sizeof err), 0);
    CHECK_EQ_INT(n, 0);
    free(back);
    CHECK(wav_write_file("/nonexistent-dir/x.wav", pcm, 10, 16000, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "/nonexistent-dir/x.wav");
}

/* Every format arrives as 16 kHz mono with the tone's pitch and level kept. */
static void test_formats_rates_channels(void) {
    struct {
        int format, rate, channels;
        const char *what;
    } cases[] = {
        {SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 8000, 1, "8-bit 8 kHz"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, "16-bit 16 kHz"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, "16-bit 48 kHz stereo"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_24, 44100, 2, "24-bit 44.1 kHz stereo"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_32, 22050, 1, "32-bit 22.05 kHz"},
        {SF_FORMAT_WAV | SF_FORMAT_FLOAT, 32000, 6, "float 32 kHz 6 channels"},
        {SF_FORMAT_WAVEX | SF_FORMAT_PCM_16, 11025, 1, "WAVE_FORMAT_EXTENSIBLE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[300], err[256];
        snprintf(path, sizeof path, "%s/f%zu.wav", tmp, i);
        CHECK_EQ_INT(
            write_sine(path, cases[i].format, cases[i].rate, cases[i].channels, 1.0, 440, 0.5, 0),
            0);
        wav_reader *r = wav_reader_open(path, 16000, 0, err, sizeof err);
        CHECK_MSG(r != NULL, "%s: %s", cases[i].what, err);
        if (!r) continue;
        wav_info wi;
        wav_reader_get_info(r, &wi);
        CHECK_EQ_INT(wi.src_rate, cases[i].rate);
        CHECK_EQ_INT(wi.src_channels, cases[i].channels);
        wav_reader_free(r);
        int16_t *pcm;
        size_t n;
        CHECK_EQ_INT(wav_read_all(path, 16000, 5, &pcm, &n, err, sizeof err), 0);
        CHECK_MSG(n >= 15900 && n <= 16100, "%s: %zu samples for 1 s", cases[i].what, n);
        int z = zero_crossings(pcm, n);
        CHECK_MSG(z > 860 && z < 900, "%s: %d zero crossings, expected ~880", cases[i].what, z);
        int peak = 0;
        for (size_t k = 0; k < n; k++)
            peak = abs(pcm[k]) > peak ? abs(pcm[k]) : peak;
        CHECK_MSG(peak > 14000 && peak < 18500, "%s: peak %d, expected ~16384", cases[i].what,
                  peak);
        free(pcm);
    }
}

static void test_nan_floats(void) {
    char path[300], err[256];
    snprintf(path, sizeof path, "%s/nan.wav", tmp);
    CHECK_EQ_INT(write_sine(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, 1.0, 300, 0.5, 7), 0);
    wav_reader *r = wav_reader_open(path, 16000, 0, err, sizeof err);
    CHECK(r != NULL);
    if (!r) return;
    int16_t buf[4096];
    long got, total = 0;
    int peak = 0;
    while ((got = wav_reader_read(r, buf, 4096, err, sizeof err)) > 0) {
        for (long i = 0; i < got; i++)
            peak = abs(buf[i]) > peak ? abs(buf[i]) : peak;
        total += got;
    }
    CHECK_EQ_INT(got, 0);
    CHECK_EQ_INT(total, 16000);
    CHECK_EQ_INT(wav_reader_bad_samples(r), (16000 + 6) / 7);
    CHECK(peak <= 16500); /* NaN did not turn into full scale */
    wav_reader_free(r);
    /* Floats far out of range are clipped, not wrapped. */
    snprintf(path, sizeof path, "%s/loud.wav", tmp);
    CHECK_EQ_INT(write_sine(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, 0.1, 300, 40.0, 0), 0);
    int16_t *pcm;
    size_t n;
    CHECK_EQ_INT(wav_read_all(path, 16000, 5, &pcm, &n, err, sizeof err), 0);
    int pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++)
        pos += pcm[i] == 32767, neg += pcm[i] == -32768;
    CHECK(pos > 100 && neg > 100);
    free(pcm);
}

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (n) fwrite(p, 1, n, f);
    fclose(f);
}

static void test_broken_files(void) {
    char path[300], err[256];
    int16_t *pcm;
    size_t n;
    /* Empty file. */
    snprintf(path, sizeof path, "%s/empty.wav", tmp);
    write_bytes(path, "", 0);
    CHECK(wav_read_all(path, 16000, 5, &pcm, &n, err, sizeof err) != 0);
    CHECK_CONTAINS(err, path);
    /* Truncated header. */
    uint8_t *b;
    size_t len;
    int16_t s[100] = {0};
    CHECK_EQ_INT(wav_encode(s, 100, 16000, &b, &len), 0);
    snprintf(path, sizeof path, "%s/trunc.wav", tmp);
    write_bytes(path, b, 20);
    CHECK(wav_read_all(path, 16000, 5, &pcm, &n, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "not a readable audio file");
    /* Zero channels in the header. */
    b[22] = 0;
    snprintf(path, sizeof path, "%s/zeroch.wav", tmp);
    write_bytes(path, b, len);
    CHECK(wav_read_all(path, 16000, 5, &pcm, &n, err, sizeof err) != 0);
    CHECK_CONTAINS(err, path);
    /* A data chunk that claims more than the file holds: what is there is read. */
    b[22] = 1;
    b[40] = 0xff, b[41] = 0xff, b[42] = 0x0f;
    snprintf(path, sizeof path, "%s/short.wav", tmp);
    write_bytes(path, b, len);
    int rc = wav_read_all(path, 16000, 5, &pcm, &n, err, sizeof err);
    CHECK_MSG(rc == 0 && n == 100, "rc %d n %zu: %s", rc, n, err);
    if (rc == 0) free(pcm);
    free(b);
    /* Not audio at all, and a missing file. */
    snprintf(path, sizeof path, "%s/text.wav", tmp);
    write_bytes(path, "hello, this is not audio at all\n", 32);
    CHECK(wav_read_all(path, 16000, 5, &pcm, &n, err, sizeof err) != 0);
    CHECK(wav_read_all("/nonexistent/file.wav", 16000, 5, &pcm, &n, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "cannot open");
    /* Bounds. */
    snprintf(path, sizeof path, "%s/long.wav", tmp);
    CHECK_EQ_INT(write_sine(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 3.0, 200, 0.3, 0), 0);
    CHECK(wav_read_all(path, 16000, 1.0, &pcm, &n, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "longer than");
    CHECK(wav_reader_open(path, 10, 0, err, sizeof err) == NULL);
}

/* One hour of 16 kHz 8-bit audio read in chunks: memory must not follow length.
 * (Resampling is covered above; at an hour it would only make the test slow.) */
static void test_hour_long_file_bounded(void) {
    char path[300], err[256];
    snprintf(path, sizeof path, "%s/hour.wav", tmp);
    {
        /* Write one second of a 250 Hz tone 3600 times. */
        SF_INFO info = {
            .samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_U8};
        SNDFILE *f = sf_open(path, SFM_WRITE, &info);
        if (!f) SKIP("could not write a 58 MB file in %s", tmp);
        short sec[16000];
        for (int i = 0; i < 16000; i++)
            sec[i] = (short)(6000 * sin(2 * M_PI * 250 * i / 16000.0));
        for (int k = 0; k < 3600; k++)
            sf_writef_short(f, sec, 16000);
        sf_close(f);
    }
    int64_t rss0 = proc_rss_bytes();
    wav_reader *r = wav_reader_open(path, 16000, 0, err, sizeof err);
    CHECK(r != NULL);
    if (!r) return;
    int16_t buf[8192];
    long got;
    int64_t total = 0, peak_rss = rss0;
    int i = 0;
    while ((got = wav_reader_read(r, buf, 8192, err, sizeof err)) > 0) {
        total += got;
        if ((++i & 1023) == 0) {
            int64_t rss = proc_rss_bytes();
            if (rss > peak_rss) peak_rss = rss;
        }
    }
    wav_reader_free(r);
    unlink(path);
    CHECK_EQ_INT(got, 0);
    CHECK_MSG(llabs(total - 3600LL * 16000) < 100, "%lld samples", (long long)total);
    CHECK_MSG(peak_rss - rss0 < (8 << 20), "RSS grew %lld bytes reading an hour",
              (long long)(peak_rss - rss0));
}

static void test_resample(void) {
    int16_t in[16000];
    for (int i = 0; i < 16000; i++)
        in[i] = (int16_t)(8000 * sin(2 * M_PI * 500 * i / 16000.0));
    int rates[] = {8000, 22050, 44100, 48000};
    for (size_t k = 0; k < 4; k++) {
        int16_t *out;
        size_t n;
        char err[256];
        CHECK_EQ_INT(audio_resample(in, 16000, 16000, rates[k], &out, &n, err, sizeof err), 0);
        CHECK_MSG(labs((long)n - rates[k]) < 64, "%d Hz: %zu samples", rates[k], n);
        int z = zero_crossings(out, n);
        CHECK_MSG(z > 980 && z < 1020, "%d Hz: %d crossings", rates[k], z);
        free(out);
    }
    int16_t *out;
    size_t n;
    char err[256];
    CHECK(audio_resample(in, 10, 16000, 500, &out, &n, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "out of range");
    CHECK_EQ_INT(audio_resample(in, 0, 16000, 8000, &out, &n, err, sizeof err), 0);
    CHECK_EQ_INT(n, 0);
    free(out);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    RUN(test_encode_round_trip);
    RUN(test_formats_rates_channels);
    RUN(test_nan_floats);
    RUN(test_broken_files);
    RUN(test_hour_long_file_bounded);
    RUN(test_resample);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
