/* VAD accuracy on real speech: recordings from ../shared/audio and
 * pocketsphinx-testdata, padded with known lengths of silence or noise (see
 * tests/support/vad_fixture.h for how the truth is built). Each detector (Silero
 * through sherpa-onnx, and the plain energy detector) must find every utterance
 * with its start and end within 100 ms of the truth, raise no false alarms, and
 * deliver the pre-roll before each start. */
#include "check.h"
#include "core/util.h"
#include "speech/vad.h"
#include "support/testutil.h"
#include "support/vad_fixture.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define TOL_MS 100.0

static int silero_available(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/deps/silero/dist/silero_vad_v5.onnx", axiom_root_dir());
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    snprintf(path, sizeof path, "%s/deps/sherpa-onnx/libsherpa-onnx-c-api.so", axiom_root_dir());
    f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* One engine per detector for the whole program: loading Silero (library, probe,
 * first detector) is the slow part, and a loaded engine is what a server runs. */
static vad_engine *engines[2];

static vad_engine *engine_for(int silero) {
    if (engines[silero]) return engines[silero];
    vad_params p = vad_params_default();
    p.use_silero = silero;
    char err[256];
    engines[silero] = vad_engine_new(&p, err, sizeof err);
    if (!engines[silero]) fprintf(stderr, "  vad_engine_new: %s\n", err);
    return engines[silero];
}

/* Loads a recording as 16 kHz; returns 0 or SKIPs through the caller's check. */
static int load(const char *shared_rel, const char *abs, fx_audio *a) {
    char buf[1024];
    const char *path = abs;
    if (shared_rel) path = tu_shared_path(shared_rel, buf, sizeof buf);
    if (!path || fx_read(path, a) != 0) return -1;
    return fx_upsample2(a);
}

/* Checks detections against truth; label names the case in failures. Starts must
 * be within start_tol_ms, ends within end_tol_ms. */
static void check_detections(const char *label, const fx_seg *truth, int nt, const fx_sink *k,
                             double start_tol_ms, double end_tol_ms) {
    double errs[2 * FX_MAX_SEGS];
    int ne = 0, fa = 0;
    double worst = fx_score(truth, nt, k, &fa, errs, &ne);
    double ws = 0, we = 0;
    for (int i = 0; i + 1 < ne; i += 2) {
        if (errs[i] > ws) ws = errs[i];
        if (errs[i + 1] > we) we = errs[i + 1];
    }
    fprintf(stderr,
            "  %s: %d true utterances, %d found, worst start error %.0f ms, end %.0f ms, "
            "%d false\n",
            label, nt, k->n, ws, we, fa);
    int bad = worst < 0 || ws > start_tol_ms || we > end_tol_ms || fa;
    if (bad || getenv("FX_VERBOSE")) {
        for (int i = 0; i < nt; i++)
            fprintf(stderr, "    truth %7.3f-%7.3f\n", truth[i].start / 16000.0,
                    truth[i].end / 16000.0);
        for (int i = 0; i < k->n; i++)
            fprintf(stderr, "    found %7.3f-%7.3f\n", k->segs[i].start / 16000.0,
                    k->segs[i].end / 16000.0);
    }
    CHECK_MSG(worst >= 0, "%s: an utterance was missed", label);
    CHECK_MSG(ws <= start_tol_ms, "%s: a start is off by %.0f ms", label, ws);
    CHECK_MSG(we <= end_tol_ms, "%s: an end is off by %.0f ms", label, we);
    CHECK_MSG(fa == 0, "%s: %d false alarms", label, fa);
    CHECK_EQ_INT(k->order_errors, 0);
    CHECK_EQ_INT(k->open, 0);
    /* Pre-roll: each utterance's audio begins 300 ms before its start (or at 0). */
    for (int i = 0; i < k->n; i++) {
        int64_t want = k->segs[i].start < 4800 ? k->segs[i].start : 4800;
        CHECK_MSG(k->first_audio[i] >= want + (k->segs[i].end - k->segs[i].start),
                  "%s: utterance %d got %lld samples, expected pre-roll + speech", label, i,
                  (long long)k->first_audio[i]);
    }
}

/* Natural boundaries: the clean recording's own pauses, truth by the level rule,
 * padded with lead_ms / tail_ms and optionally noise. Word endings fade (a final
 * "s", hall reverberation), so the rule's end is uncertain by more than its start:
 * ends get 200 ms here and the exact 100 ms test is harvard_clips_*. */
static void check_natural(const char *label, vad_engine *e, const fx_audio *clean, int lead_ms,
                          int tail_ms, double noise_dbfs, int min_truth) {
    fx_seg truth[FX_MAX_SEGS];
    int nt = fx_truth(clean, truth, FX_MAX_SEGS);
    for (int i = 0; i < nt; i++) {
        truth[i].start += (int64_t)lead_ms * 16;
        truth[i].end += (int64_t)lead_ms * 16;
    }
    CHECK_MSG(nt >= min_truth, "%s: truth has %d utterances, expected at least %d", label, nt,
              min_truth);
    fx_audio x = {0};
    CHECK(fx_compose(clean, lead_ms, tail_ms, noise_dbfs, &x) == 0);
    fx_sink k;
    fx_run(e, &x, 0, &k);
    check_detections(label, truth, nt, &k, TOL_MS, 2 * TOL_MS);
    fx_free(&x);
}

static int load_harvard(fx_audio *a) {
    return load("audio/harvard_list72_8k.wav", NULL, a);
}

/* Exact truth: the loud core of each Harvard sentence, cut out and laid between
 * 700 ms gaps of silence or noise. Every boundary is known to the sample. */
static void run_clips(int silero, double noise_dbfs, const char *label) {
    if (silero && !silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio a;
    if (load_harvard(&a) != 0) SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    fx_seg segs[FX_MAX_SEGS], truth[FX_MAX_SEGS];
    int n = fx_truth(&a, segs, FX_MAX_SEGS);
    CHECK(n >= 10);
    for (int i = 0; i < n; i++)
        segs[i] = fx_loud_core(&a, segs[i]);
    fx_audio x = {0};
    CHECK(fx_concat(&a, segs, n, 700, 1000, noise_dbfs, &x, truth) == 0);
    vad_engine *e = engine_for(silero);
    CHECK(e != NULL);
    if (e) {
        fx_sink k;
        fx_run(e, &x, 0, &k);
        check_detections(label, truth, n, &k, TOL_MS, TOL_MS);
    }
    fx_free(&x);
    fx_free(&a);
}

static void harvard_clips_silence_silero(void) {
    run_clips(1, -200, "clips/silence/silero");
}
static void harvard_clips_silence_energy(void) {
    run_clips(0, -200, "clips/silence/energy");
}
static void harvard_clips_noise_silero(void) {
    run_clips(1, -45, "clips/noise-45dB/silero");
}
static void harvard_clips_noise_energy(void) {
    run_clips(0, -45, "clips/noise-45dB/energy");
}

static void run_harvard(int silero, double noise_dbfs, const char *label) {
    if (silero && !silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio a;
    if (load_harvard(&a) != 0) SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_engine *e = engine_for(silero);
    CHECK(e != NULL);
    if (e) check_natural(label, e, &a, 1000, 1500, noise_dbfs, 10);
    fx_free(&a);
}

static void harvard_silence_silero(void) {
    run_harvard(1, -200, "harvard/silence/silero");
}
static void harvard_silence_energy(void) {
    run_harvard(0, -200, "harvard/silence/energy");
}
static void harvard_noise_silero(void) {
    run_harvard(1, -45, "harvard/noise-45dB/silero");
}
static void harvard_noise_energy(void) {
    run_harvard(0, -45, "harvard/noise-45dB/energy");
}

static void run_jfk(int silero, double noise_dbfs, const char *label) {
    if (silero && !silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio a;
    if (load("audio/jfk.wav", NULL, &a) != 0) SKIP("../shared/audio/jfk.wav is not available");
    fx_crop(&a, 0, 10500); /* the clip ends in crowd noise: keep the speech */
    vad_engine *e = engine_for(silero);
    CHECK(e != NULL);
    if (e) check_natural(label, e, &a, 800, 1200, noise_dbfs, 3);
    fx_free(&a);
}

static void jfk_silence_silero(void) {
    run_jfk(1, -200, "jfk/silence/silero");
}
/* The energy detector cannot tell the recording's own tape hiss (-42 dBFS) from
 * speech when it appears out of digital silence, so it gets the clip padded with
 * noise at that level: the floor is known before the speech starts. */
static void jfk_noise_energy(void) {
    run_jfk(0, -45, "jfk/noise-45dB/energy");
}
static void jfk_noise_silero(void) {
    run_jfk(1, -45, "jfk/noise-45dB/silero");
}

static void run_goforward(int silero, const char *label) {
    if (silero && !silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio a;
    if (load(NULL, "/usr/share/pocketsphinx/test/data/goforward.raw", &a) != 0)
        SKIP("pocketsphinx-testdata is not installed (goforward.raw)");
    vad_engine *e = engine_for(silero);
    CHECK(e != NULL);
    if (e) check_natural(label, e, &a, 1000, 1000, -60, 1);
    fx_free(&a);
}

static void goforward_silero(void) {
    run_goforward(1, "goforward/silero");
}
static void goforward_energy(void) {
    run_goforward(0, "goforward/energy");
}

/* axiom vad FILE: the command users try their own recordings with. */
static void cli_vad_lists_utterances(void) {
    char path[1024], args[1200], out[16384], errout[4096];
    if (!tu_shared_path("audio/harvard_list72_8k.wav", path, sizeof path))
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    snprintf(args, sizeof args, "vad '%s' --json --vad.backend energy", path);
    int rc = tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout);
    CHECK_EQ_INT(rc, 0);
    cJSON *o = cJSON_Parse(out);
    CHECK_MSG(o != NULL, "not JSON: %.300s", out);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "file")), path);
    const cJSON *us = cJSON_GetObjectItem(o, "utterances"), *u;
    int n = cJSON_GetArraySize(us);
    CHECK_MSG(n >= 10 && n <= 14, "%d utterances for ten sentences", n);
    double last_end = 0;
    cJSON_ArrayForEach(u, us) {
        double a = cJSON_GetNumberValue(cJSON_GetObjectItem(u, "start"));
        double b = cJSON_GetNumberValue(cJSON_GetObjectItem(u, "end"));
        CHECK(a >= last_end && b > a);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(u, "detector")), "energy");
        last_end = b;
    }
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "seconds")) >= last_end);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(o, "silero")));
    cJSON_Delete(o);
    rc = tu_run_axiom(NULL, "vad /nonexistent/recording.wav", out, sizeof out, errout,
                      sizeof errout);
    CHECK_EQ_INT(rc, 1);
    CHECK_CONTAINS(errout, "/nonexistent/recording.wav");
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(harvard_clips_silence_silero);
    RUN(harvard_clips_silence_energy);
    RUN(harvard_clips_noise_silero);
    RUN(harvard_clips_noise_energy);
    RUN(harvard_silence_silero);
    RUN(harvard_silence_energy);
    RUN(harvard_noise_silero);
    RUN(harvard_noise_energy);
    RUN(jfk_silence_silero);
    RUN(jfk_noise_energy);
    RUN(jfk_noise_silero);
    RUN(goforward_silero);
    RUN(goforward_energy);
    RUN(cli_vad_lists_utterances);
    vad_engine_free(engines[0]);
    vad_engine_free(engines[1]);
    return CHECK_DONE(argv[0]);
}
