/* Text-to-speech with flite: every compiled-in voice, resampling to client rates, the
 * sentence splitter, cancellation (before and between sentences), parallel callers,
 * tts.backend = none, and `axiom say`. */
#include "check.h"
#include "core/component.h"
#include "core/config.h"
#include "speech/tts.h"
#include "speech/wav.h"
#include "support/testutil.h"

#include <math.h>
#include <pthread.h>

static axiom_config *cfg_with(const char *key, const char *value) {
    axiom_config *cfg = config_new();
    char err[256];
    if (key && config_set(cfg, key, value, CFG_FLAG, "test", err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
    }
    return cfg;
}

static double rms(const tts_audio *a) {
    double e = 0;
    for (size_t i = 0; i < a->n; i++)
        e += (double)a->samples[i] * a->samples[i];
    return a->n ? sqrt(e / a->n) : 0;
}

static void test_voices(void) {
    axiom_config *cfg = cfg_with(NULL, NULL);
    char err[256];
    tts_engine *e = tts_engine_new(cfg, err, sizeof err);
    CHECK(e != NULL);
    const char *voices[] = {"slt", "kal16", "awb", "rms", "kal"};
    for (int i = 0; e && i < 5; i++) {
        tts_audio a;
        int rc =
            tts_synth(e, "The lab opens at nine.", voices[i], 16000, NULL, &a, err, sizeof err);
        CHECK_MSG(rc == 0, "%s: %s", voices[i], err);
        CHECK_EQ_INT(a.rate, 16000);
        /* about 1-2.5 s of audible speech */
        CHECK_MSG(a.n > 12000 && a.n < 48000, "%s: %zu samples", voices[i], a.n);
        CHECK_MSG(rms(&a) > 300, "%s: rms %.0f", voices[i], rms(&a));
        tts_audio_clear(&a);
    }
    tts_audio a;
    CHECK(tts_synth(e, "hello", "nobody", 16000, NULL, &a, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "slt|kal16|awb|rms|kal");
    CHECK(tts_synth(e, "hello", NULL, 4000, NULL, &a, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "8000 to 48000");
    /* Empty text: no audio, no error. */
    CHECK_EQ_INT(tts_synth(e, "", NULL, 16000, NULL, &a, err, sizeof err), 0);
    CHECK_EQ_INT(a.n, 0);
    tts_audio_clear(&a);
    tts_engine_free(e);
    config_free(cfg);
}

/* The voices are shared libraries opened on first use and closed when the component
 * unloads (idle unloading does this in the server); a voice used before the unload
 * speaks the same after the reload, and an unused one still opens. */
static void test_voices_reopen_after_unload(void) {
    axiom_config *cfg = cfg_with(NULL, NULL);
    char err[256];
    tts_engine *e = tts_engine_new(cfg, err, sizeof err);
    CHECK(e != NULL);
    size_t before[2] = {0, 0};
    const char *voices[] = {"awb", NULL};
    for (int round = 0; e && round < 3; round++) {
        for (int v = 0; v < 2; v++) {
            tts_audio a;
            CHECK_MSG(tts_synth(e, "Pick it up at the front desk.", voices[v], 16000, NULL, &a, err,
                                sizeof err) == 0,
                      "round %d: %s", round, err);
            if (round == 0)
                before[v] = a.n;
            else
                CHECK_EQ_INT((int)a.n, (int)before[v]); /* same voice, same audio */
            CHECK(rms(&a) > 300);
            tts_audio_clear(&a);
        }
        CHECK(component_is_loaded(tts_engine_component(e)));
        component_unload(tts_engine_component(e));
        CHECK(!component_is_loaded(tts_engine_component(e)));
    }
    tts_engine_free(e);
    config_free(cfg);
}

static void test_rates(void) {
    axiom_config *cfg = cfg_with(NULL, NULL);
    char err[256];
    tts_engine *e = tts_engine_new(cfg, err, sizeof err);
    tts_audio base;
    CHECK_EQ_INT(tts_synth(e, "Go forward ten meters.", NULL, 16000, NULL, &base, err, sizeof err),
                 0);
    int rates[] = {8000, 22050, 24000, 44100, 48000};
    for (int i = 0; i < 5; i++) {
        tts_audio a;
        CHECK_EQ_INT(
            tts_synth(e, "Go forward ten meters.", NULL, rates[i], NULL, &a, err, sizeof err), 0);
        CHECK_EQ_INT(a.rate, rates[i]);
        double want = (double)base.n * rates[i] / 16000;
        CHECK_MSG(fabs((double)a.n - want) < 64, "%d Hz: %zu samples, want %.0f", rates[i], a.n,
                  want);
        tts_audio_clear(&a);
    }
    /* The 8 kHz kal voice is upsampled to what the client wants. */
    tts_audio k;
    CHECK_EQ_INT(tts_synth(e, "Go forward ten meters.", "kal", 16000, NULL, &k, err, sizeof err),
                 0);
    CHECK_EQ_INT(k.rate, 16000);
    CHECK(k.n > 16000);
    tts_audio_clear(&k);
    tts_audio_clear(&base);
    tts_engine_free(e);
    config_free(cfg);
}

static void test_sentence_split(void) {
    const char *text = "The Jetson has 8 GB, e.g. for vision. It costs 3.5 dollars!  Really?\n"
                       "Next line without stop\n...\n";
    const char *want[] = {"The Jetson has 8 GB, e.g. for vision.", "It costs 3.5 dollars!",
                          "Really?", "Next line without stop"};
    size_t pos = 0, s, n;
    int k = 0;
    while (tts_sentence_next(text, &pos, &s, &n)) {
        CHECK_MSG(k < 4, "extra sentence '%.*s'", (int)n, text + s);
        if (k < 4)
            CHECK_MSG(strlen(want[k]) == n && strncmp(text + s, want[k], n) == 0, "%d: '%.*s'", k,
                      (int)n, text + s);
        k++;
    }
    CHECK_EQ_INT(k, 4);
    /* A run-on sentence is cut at a comma or a space, never above the piece limit. */
    char big[2000];
    size_t bl = 0;
    while (bl + 12 < sizeof big)
        bl += (size_t)snprintf(big + bl, sizeof big - bl, "word word, ");
    pos = 0;
    int pieces = 0;
    while (tts_sentence_next(big, &pos, &s, &n)) {
        CHECK(n <= 240);
        pieces++;
    }
    CHECK(pieces >= 8);
    pos = 0;
    CHECK_EQ_INT(tts_sentence_next("   ", &pos, &s, &n), 0);
    pos = 0;
    CHECK_EQ_INT(tts_sentence_next(NULL, &pos, &s, &n), 0);
}

typedef struct {
    int sentences;
    atomic_int *cancel;
    int cancel_after;
} speak_ctx;

static int on_sentence(void *ctx, const char *sentence, size_t len, tts_audio *a) {
    (void)sentence;
    (void)len;
    speak_ctx *c = ctx;
    if (a->n) c->sentences++;
    if (c->cancel && c->sentences == c->cancel_after) atomic_store(c->cancel, 1);
    return 0;
}

static void test_speak_and_cancel(void) {
    axiom_config *cfg = cfg_with(NULL, NULL);
    char err[256];
    tts_engine *e = tts_engine_new(cfg, err, sizeof err);
    const char *answer = "First sentence here. Second one follows. Third is last.";
    speak_ctx c = {0, NULL, 0};
    CHECK_EQ_INT(tts_speak(e, answer, NULL, 16000, NULL, on_sentence, &c, err, sizeof err), 0);
    CHECK_EQ_INT(c.sentences, 3);
    /* Barge-in after the first sentence: the rest is never made. */
    atomic_int cancel = 0;
    speak_ctx c2 = {0, &cancel, 1};
    CHECK_EQ_INT(tts_speak(e, answer, NULL, 16000, &cancel, on_sentence, &c2, err, sizeof err), 1);
    CHECK_EQ_INT(c2.sentences, 1);
    /* Raised before the call: nothing at all. */
    tts_audio a;
    CHECK_EQ_INT(tts_synth(e, "Nothing.", NULL, 16000, &cancel, &a, err, sizeof err), 1);
    CHECK_EQ_INT(a.n, 0);
    tts_engine_free(e);
    config_free(cfg);
}

static tts_engine *shared;
static void *synth_thread(void *arg) {
    char err[256];
    long ok = 0;
    for (int i = 0; i < 5; i++) {
        tts_audio a;
        if (tts_synth(shared, "Parallel sessions speak at once.", (const char *)arg, 22050, NULL,
                      &a, err, sizeof err) == 0 &&
            a.n > 10000)
            ok++;
        tts_audio_clear(&a);
    }
    return (void *)ok;
}

static void test_threads(void) {
    axiom_config *cfg = cfg_with(NULL, NULL);
    char err[256];
    shared = tts_engine_new(cfg, err, sizeof err);
    pthread_t t[4];
    const char *v[4] = {"slt", "awb", "rms", "kal16"};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, synth_thread, (void *)v[i]);
    long total = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (long)r;
    }
    CHECK_EQ_INT(total, 20);
    tts_engine_free(shared);
    config_free(cfg);
}

static void test_backend_none(void) {
    axiom_config *cfg = cfg_with("tts.backend", "none");
    char err[256];
    tts_engine *e = tts_engine_new(cfg, err, sizeof err);
    CHECK(e != NULL);
    tts_audio a;
    CHECK_EQ_INT(tts_synth(e, "hello", NULL, 16000, NULL, &a, err, sizeof err), -1);
    CHECK_CONTAINS(err, "text-only");
    tts_engine_free(e);
    config_free(cfg);
}

static void test_cli_say(void) {
    char dir[256], args[1024], out[4096], errout[4096], path[300];
    if (tu_mkdtemp(dir, sizeof dir) != 0) SKIP("no temp dir");
    snprintf(path, sizeof path, "%s/hi.wav", dir);
    snprintf(args, sizeof args,
             "say \"Hello there. How can I help?\" -o '%s' --voice awb --rate 22050", path);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 0);
    char err[256];
    wav_reader *r = wav_reader_open(path, 22050, 0, err, sizeof err);
    CHECK(r != NULL);
    if (r) {
        wav_info wi;
        wav_reader_get_info(r, &wi);
        CHECK_EQ_INT(wi.src_rate, 22050);
        CHECK_EQ_INT(wi.src_channels, 1);
        CHECK_EQ_INT(wi.src_bits, 16);
        CHECK(wi.src_frames > 22050);
        wav_reader_free(r);
    }
    snprintf(args, sizeof args, "say hello -o '%s' --rate 1000", path);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 2);
    CHECK_CONTAINS(errout, "--rate");
    snprintf(args, sizeof args, "say hello -o '%s' --voice robot", path);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 1);
    CHECK_CONTAINS(errout, "slt|kal16|awb|rms|kal");
    snprintf(args, sizeof args, "say '...' -o '%s'", path);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 1);
    CHECK_CONTAINS(errout, "nothing to say");
    CHECK_EQ_INT(tu_run_axiom(NULL, "say hello -o /nonexistent-dir/a.wav", out, sizeof out, errout,
                              sizeof errout),
                 1);
    CHECK_CONTAINS(errout, "/nonexistent-dir/a.wav");
    tu_rmtree(dir);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_voices);
    RUN(test_voices_reopen_after_unload);
    RUN(test_rates);
    RUN(test_sentence_split);
    RUN(test_speak_and_cancel);
    RUN(test_threads);
    RUN(test_backend_none);
    RUN(test_cli_say);
    return CHECK_DONE(argv[0]);
}
