/* axiom vad FILE: runs the voice activity detector over a recording and prints the
 * utterances it finds, so the vad.* settings can be tried on one's own microphone
 * and room before a session depends on them. Any format libsndfile reads; channels
 * are mixed and the audio resampled to 16 kHz. */
#include "cli/cli.h"

#include "core/log.h"
#include "speech/vad.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECONDS 3600

typedef struct {
    int n;
    cJSON *utterances; /* --json: the list printed at the end; NULL for the table */
    int64_t start;
    const vad_stream *stream;
    const char *detector;
} printer;

/* Seconds to the millisecond, as the table shows them. */
static double ms_rounded(double s) {
    return round(s * 1000.0) / 1000.0;
}

static void on_start(void *u, int64_t start) {
    printer *p = u;
    p->start = start;
    p->detector = vad_stream_detector(p->stream);
}

static void on_audio(void *u, const int16_t *pcm, size_t n) {
    (void)u;
    (void)pcm;
    (void)n;
}

static void on_end(void *u, int64_t end) {
    printer *p = u;
    double a = p->start / (double)VAD_SAMPLE_RATE, b = end / (double)VAD_SAMPLE_RATE;
    if (p->utterances) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "start", ms_rounded(a));
        cJSON_AddNumberToObject(u, "end", ms_rounded(b));
        cJSON_AddStringToObject(u, "detector", p->detector);
        cJSON_AddItemToArray(p->utterances, u);
    } else
        printf("%8.3f  %8.3f  %6.2f s  %s\n", a, b, b - a, p->detector);
    p->n++;
}

/* Reads path as 16 kHz mono float; returns the sample count or -1 with a message. */
static long read_16k(const char *path, float **out) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        fprintf(stderr, "axiom vad: %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    if (info.channels < 1 || info.samplerate < 4000 || info.samplerate > 192000 ||
        info.frames > (sf_count_t)info.samplerate * MAX_SECONDS) {
        fprintf(stderr,
                "axiom vad: %s: %d channels at %d Hz, %lld frames: not supported (at most %d s)\n",
                path, info.channels, info.samplerate, (long long)info.frames, MAX_SECONDS);
        sf_close(f);
        return -1;
    }
    float *raw = malloc((size_t)info.frames * (size_t)info.channels * sizeof *raw + sizeof *raw);
    float *mono = malloc((size_t)info.frames * sizeof *mono + sizeof *mono);
    if (!raw || !mono) {
        fprintf(stderr, "axiom vad: out of memory\n");
        free(raw);
        free(mono);
        sf_close(f);
        return -1;
    }
    sf_count_t got = sf_readf_float(f, raw, info.frames);
    sf_close(f);
    for (sf_count_t i = 0; i < got; i++) {
        float sum = 0;
        for (int c = 0; c < info.channels; c++)
            sum += raw[i * info.channels + c];
        mono[i] = sum / (float)info.channels;
    }
    free(raw);
    if (info.samplerate == VAD_SAMPLE_RATE) {
        *out = mono;
        return (long)got;
    }
    double ratio = (double)VAD_SAMPLE_RATE / info.samplerate;
    long n16 = (long)(got * ratio) + 16;
    float *res = malloc((size_t)n16 * sizeof *res);
    SRC_DATA d = {.data_in = mono,
                  .input_frames = (long)got,
                  .data_out = res,
                  .output_frames = n16,
                  .src_ratio = ratio};
    int rc = res ? src_simple(&d, SRC_SINC_FASTEST, 1) : -1;
    free(mono);
    if (rc != 0) {
        fprintf(stderr, "axiom vad: resampling failed: %s\n",
                rc > 0 ? src_strerror(rc) : "out of memory");
        free(res);
        return -1;
    }
    *out = res;
    return d.output_frames_gen;
}

int cmd_vad(const axiom_config *cfg, int argc, char **argv) {
    if (cli_wants_help(argc, argv) || argc < 2) {
        printf("usage: axiom vad FILE [--json]\n"
               "  prints the utterances the voice activity detector finds in FILE (start, end,\n"
               "  length, detector); settings: vad.* (axiom --print-config | grep vad)\n");
        return argc < 2 && !cli_wants_help(argc, argv) ? 2 : 0;
    }
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (!path)
            path = argv[i];
        else {
            fprintf(stderr, "axiom vad: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    float *audio = NULL;
    long n = read_16k(path, &audio);
    if (n < 0) return 1;
    vad_params vp;
    vad_params_from_config(cfg, &vp);
    char err[512];
    vad_engine *e = vad_engine_new(&vp, err, sizeof err);
    if (!e) {
        fprintf(stderr, "axiom vad: %s\n", err);
        free(audio);
        return 1;
    }
    cJSON *report = json ? cJSON_CreateObject() : NULL;
    if (report) cJSON_AddStringToObject(report, "file", path);
    printer p = {.utterances = json ? cJSON_AddArrayToObject(report, "utterances") : NULL};
    if (json && !p.utterances) {
        fprintf(stderr, "axiom vad: out of memory\n");
        cJSON_Delete(report);
        vad_engine_free(e);
        free(audio);
        return 1;
    }
    vad_sink sink = {on_start, on_audio, on_end, &p, NULL};
    vad_stream *s = vad_stream_new(e, &sink, err, sizeof err);
    if (!s) {
        fprintf(stderr, "axiom vad: %s\n", err);
        cJSON_Delete(report);
        vad_engine_free(e);
        free(audio);
        return 1;
    }
    p.stream = s;
    if (!json) printf("   start       end    length  detector\n");
    int16_t chunk[320];
    for (long at = 0; at < n; at += 320) {
        long k = n - at < 320 ? n - at : 320;
        for (long i = 0; i < k; i++) {
            float v = audio[at + i] * 32768.0f;
            chunk[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        vad_stream_feed(s, chunk, (size_t)k);
    }
    vad_stream_flush(s);
    vad_engine_info info;
    vad_engine_get_info(e, &info);
    int rc = 0;
    if (json) {
        cJSON_AddNumberToObject(report, "seconds", ms_rounded(n / (double)VAD_SAMPLE_RATE));
        cJSON_AddBoolToObject(report, "silero", info.silero_loaded);
        char *text = cJSON_PrintUnformatted(report);
        if (text)
            printf("%s\n", text);
        else {
            fprintf(stderr, "axiom vad: out of memory\n");
            rc = 1;
        }
        free(text);
        cJSON_Delete(report);
    } else
        printf("%d utterances in %.1f s of audio%s%s\n", p.n, n / (double)VAD_SAMPLE_RATE,
               info.fallback[0] ? "; energy detector only: " : "", info.fallback);
    vad_stream_free(s);
    vad_engine_free(e);
    free(audio);
    return rc;
}
