/* The sherpa-onnx recogniser and synthesiser backends running the real onnxruntime on
 * random-weight stand-in models (scripts/make-standin-models --size tiny, written
 * into a temporary folder by this test). The words and the voice are noise; what is
 * real is everything around them: sherpa-onnx accepts the folders, stt_sherpa.c and
 * tts_sherpa.c hand it audio and text and get results back at the right moments,
 * cancel, run two utterances at once, take 8/16/48 kHz input (resampled), stream
 * sentences at the requested rate, unload without keeping memory, and the server
 * answers a spoken turn end to end with a stand-in recogniser and voice. */
#include "axiom.h"
#include "check.h"
#include "core/component.h"
#include "core/config.h"
#include "core/util.h"
#include "llm/llm.h"
#include "speech/sherpa_api.h"
#include "speech/stt.h"
#include "speech/tts.h"
#include "speech/wav.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];         /* the test's folder */
static char models[300];      /* tmp/standin: one folder per stand-in */
static char script_out[4096]; /* what make-standin-models printed */
static int have_models;

static void model_dir(const char *name, char *out, size_t outlen) {
    snprintf(out, outlen, "%s/%s", models, name);
}

/* Pseudo-speech: a gliding tone plus noise, loud enough for any front end. */
static int16_t *noise(size_t n, int rate, unsigned seed) {
    int16_t *s = malloc(n * sizeof *s);
    if (!s) return NULL;
    double ph = 0;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        double f = 200 + 150 * sin(2 * M_PI * (double)i / rate * 1.5);
        ph += 2 * M_PI * f / rate;
        s[i] = (int16_t)(6000 * sin(ph) + (double)((int)(seed >> 16 & 0x7fff) - 16384) / 8);
    }
    return s;
}

static axiom_config *cfg_of(const char *const *kv) {
    axiom_config *c = config_new();
    char err[512];
    for (; *kv; kv += 2)
        CHECK_MSG(config_set(c, kv[0], kv[1], CFG_FLAG, NULL, err, sizeof err) == 0, "%s", err);
    return c;
}

/* ---- the models ---- */

static void standins_are_written(void) {
    char cmd[1200], script[512];
    tu_root_path("scripts/make-standin-models", script, sizeof script);
    snprintf(models, sizeof models, "%s/standin", tmp);
    snprintf(cmd, sizeof cmd, "%s --size tiny --out %s", script, models);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) return;
    size_t n = fread(script_out, 1, sizeof script_out - 1, p);
    script_out[n] = '\0';
    int rc = pclose(p);
    CHECK_MSG(rc == 0, "make-standin-models failed (%d): is python3-onnx installed?", rc);
    static const char *const names[] = {"stt-nemo-ctc", "stt-nemo-tdt", "stt-zipformer",
                                        "tts-vits",     "tts-kokoro",   "llm-llama"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char line[64], d[400];
        snprintf(line, sizeof line, "%s\t--set ", names[i]);
        CHECK_CONTAINS(script_out, line);
        model_dir(names[i], d, sizeof d);
        CHECK_CONTAINS(script_out, d);
        struct stat st;
        CHECK_MSG(stat(d, &st) == 0 && S_ISDIR(st.st_mode), "%s missing", d);
    }
    have_models = rc == 0;
    /* A second run keeps what is there (stamped) and prints the same lines. */
    char again[4096];
    p = popen(cmd, "r");
    if (p) {
        n = fread(again, 1, sizeof again - 1, p);
        again[n] = '\0';
        CHECK_EQ_INT(pclose(p), 0);
        CHECK_STR(again, script_out);
    }
}

/* The settings each printed line names work as they are on the command line:
 * `axiom transcribe` with a recogniser's line, `axiom say` with a voice's. */
static void printed_settings_work(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    char path[512];
    const char *wav = tu_shared_path("audio/harvard_list72_8k.wav", path, sizeof path);
    CHECK_MSG(wav != NULL, "../shared/audio/harvard_list72_8k.wav is missing");
    static char out[1 << 16], errout[1 << 16];
    const char *line = script_out;
    while (wav && *line) {
        const char *nl = strchr(line, '\n'), *tab = strchr(line, '\t');
        if (!nl || !tab || tab > nl) break;
        char name[64], set[1200], args[2000], outwav[400];
        snprintf(name, sizeof name, "%.*s", (int)(tab - line), line);
        snprintf(set, sizeof set, "%.*s", (int)(nl - tab - 1), tab + 1);
        line = nl + 1;
        snprintf(outwav, sizeof outwav, "%s/%s.wav", tmp, name);
        if (strncmp(name, "stt-", 4) == 0)
            snprintf(args, sizeof args, "%s --log-level info transcribe --json %s", set, wav);
        else if (strncmp(name, "tts-", 4) == 0)
            snprintf(args, sizeof args, "%s --log-level info say \"Hello there.\" -o %s", set,
                     outwav);
        else
            continue; /* the LLM: llama_standin_generates */
        int rc = tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout);
        if (strcmp(name, "stt-nemo-ctc") == 0 && strstr(errout, "expected one of")) {
            fprintf(stderr, "  %s: the configuration does not offer its type yet\n", name);
            continue;
        }
        CHECK_MSG(rc == 0, "axiom %s: %s", args, errout);
        CHECK_MSG(strstr(errout, "falling back") == NULL, "%s fell back: %s", name, errout);
        CHECK_MSG(strstr(errout, "sherpa-onnx") != NULL, "%s: no sherpa-onnx load in the log: %s",
                  name, errout);
        if (strncmp(name, "tts-", 4) == 0) {
            struct stat st;
            CHECK_MSG(stat(outwav, &st) == 0 && st.st_size > 44 + 1000, "%s: no audio written",
                      name);
        } else {
            CHECK_MSG(strstr(out, "\"text\"") != NULL, "%s: %s", name, out);
        }
        fprintf(stderr, "  %s: ok\n", name);
    }
}

/* ---- recognition ---- */

typedef struct {
    const stt_backend *be;
    void *model;
} stt_backend_model;

static int load_stt(const char *type, const char *name, stt_backend_model *out) {
    char d[400], err[2048];
    model_dir(name, d, sizeof d);
    const char *kv[] = {"stt.backend", "sherpa", "stt.sherpa_model_dir", d, "stt.sherpa_model_type",
                        type,          NULL};
    axiom_config *c = cfg_of(kv);
    out->be = &stt_backend_sherpa;
    out->model = stt_backend_sherpa.model_load(c, NULL, err, sizeof err);
    CHECK_MSG(out->model != NULL, "%s: %s", name, err);
    config_free(c);
    return out->model ? 0 : -1;
}

/* Input shapes read from the ONNX files without loading them (how the NeMo CTC
 * recogniser learns its feature size): 80 for the CTC model, 128 for Parakeet-TDT,
 * the zipformer's chunk of 45 frames, a dynamic time axis as 0, and -1 for a file cut
 * short or a dimension the input does not have. */
static void onnx_input_shapes_are_read(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    char p[600], d[400];
    model_dir("stt-nemo-ctc", d, sizeof d);
    snprintf(p, sizeof p, "%s/model.int8.onnx", d);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, "audio_signal", 1), 80);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, "audio_signal", 2), 0);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, "audio_signal", 3), -1);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, NULL, 1), 80);
    model_dir("stt-nemo-tdt", d, sizeof d);
    snprintf(p, sizeof p, "%s/encoder.int8.onnx", d);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, "audio_signal", 1), 128);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, "length", 0), 0);
    model_dir("stt-zipformer", d, sizeof d);
    snprintf(p, sizeof p, "%s/encoder-epoch-99-avg-1-chunk-16-left-64.onnx", d);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, "x", 1), 45);
    CHECK_EQ_INT(sherpa_onnx_input_dim(p, "embed_states", 1), 128);
    /* The real Silero VAD model (another exporter). */
    char vad[600];
    tu_root_path("deps/silero/dist/silero_vad_v5.onnx", vad, sizeof vad);
    long long v = sherpa_onnx_input_dim(vad, "input", 0);
    CHECK_MSG(v >= 0, "silero: %lld", v);
    /* Cut short: the walk stops at the end of the file, it never reads past it. */
    model_dir("stt-nemo-ctc", d, sizeof d);
    snprintf(p, sizeof p, "%s/model.int8.onnx", d);
    char cut[600];
    snprintf(cut, sizeof cut, "%s/cut.onnx", tmp);
    FILE *in = fopen(p, "rb"), *out = fopen(cut, "wb");
    char buf[4096];
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (out) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
    CHECK_EQ_INT(sherpa_onnx_input_dim(cut, "audio_signal", 1), -1);
    CHECK_EQ_INT(sherpa_onnx_input_dim("/nonexistent.onnx", "x", 0), -1);
    /* Random bytes behind an ONNX first byte: any answer, quickly, no crash. */
    out = fopen(cut, "wb");
    unsigned seed = 99;
    for (int round = 0; out && round < 200; round++) {
        for (size_t k = 0; k < sizeof buf; k++)
            buf[k] = (char)((seed = seed * 1103515245u + 12345u) >> 16);
        buf[0] = 0x08;
        rewind(out);
        fwrite(buf, 1, sizeof buf, out);
        fflush(out);
        (void)sherpa_onnx_input_dim(cut, "x", round % 4);
    }
    if (out) fclose(out);
}

/* The NeMo CTC stand-in straight through sherpa's C API: the recogniser is created
 * and an utterance of noise decodes to text (noise), twice at once. */
static void nemo_ctc_decodes_in_sherpa(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    char err[512], model[500], tokens[500], d[400];
    const sherpa_api *a = sherpa_api_get(err, sizeof err);
    CHECK_MSG(a != NULL, "%s", err);
    if (!a) return;
    model_dir("stt-nemo-ctc", d, sizeof d);
    snprintf(model, sizeof model, "%s/model.int8.onnx", d);
    snprintf(tokens, sizeof tokens, "%s/tokens.txt", d);
    SherpaOnnxOfflineRecognizerConfig c;
    memset(&c, 0, sizeof c);
    c.feat_config.sample_rate = 16000;
    c.feat_config.feature_dim = 80;
    c.model_config.nemo_ctc.model = model;
    c.model_config.tokens = tokens;
    c.model_config.num_threads = 1;
    c.model_config.provider = "cpu";
    c.decoding_method = "greedy_search";
    const SherpaOnnxOfflineRecognizer *r = a->CreateOfflineRecognizer(&c);
    CHECK(r != NULL);
    if (!r) return;
    float *f = malloc(16000 * 2 * sizeof *f);
    int16_t *pcm = noise(16000 * 2, 16000, 7);
    for (int i = 0; i < 32000; i++)
        f[i] = pcm[i] / 32768.0f;
    const SherpaOnnxOfflineStream *s1 = a->CreateOfflineStream(r), *s2 = a->CreateOfflineStream(r);
    a->AcceptWaveformOffline(s1, 16000, f, 32000);
    a->AcceptWaveformOffline(s2, 16000, f, 16000);
    a->DecodeOfflineStream(r, s1);
    a->DecodeOfflineStream(r, s2);
    const SherpaOnnxOfflineRecognizerResult *r1 = a->GetOfflineStreamResult(s1),
                                            *r2 = a->GetOfflineStreamResult(s2);
    CHECK(r1 && r1->text && r1->text[0]);
    CHECK(r2 && r2->text && r2->text[0]);
    if (r1 && r2) fprintf(stderr, "  nemo-ctc noise: '%.60s' / '%.60s'\n", r1->text, r2->text);
    a->DestroyOfflineRecognizerResult(r1);
    a->DestroyOfflineRecognizerResult(r2);
    a->DestroyOfflineStream(s1);
    a->DestroyOfflineStream(s2);
    a->DestroyOfflineRecognizer(r);
    free(f);
    free(pcm);
}

typedef struct {
    stt_backend_model *m;
    unsigned seed;
    char text[512], err[512];
    int rc;
} offline_job;

/* One offline utterance on its own decoder: no partial text while the audio comes
 * in (the model decodes the whole utterance at its end), text at the end. */
static void *offline_utt(void *p) {
    offline_job *j = p;
    const stt_backend *be = j->m->be;
    char part[256];
    j->rc = -1;
    void *d = be->decoder_new(j->m->model, j->err, sizeof j->err);
    if (!d) return NULL;
    int16_t *pcm = noise(16000 * 2, 16000, j->seed);
    int ok = pcm && be->utt_begin(d, j->err, sizeof j->err) == 0;
    for (size_t i = 0; ok && i < 32000; i += 1600) {
        ok = be->utt_feed(d, pcm + i, 1600, j->err, sizeof j->err) == 0;
        be->utt_partial(d, part, sizeof part);
        if (part[0]) {
            snprintf(j->err, sizeof j->err, "partial text '%s' from an offline model", part);
            ok = 0;
        }
    }
    if (ok) j->rc = be->utt_end(d, j->text, sizeof j->text, j->err, sizeof j->err);
    /* 30 ms: shorter than the model's subsampling window; no text, no failure. */
    if (j->rc == 0 && be->utt_begin(d, j->err, sizeof j->err) == 0) {
        char tiny[64];
        be->utt_feed(d, pcm, 480, j->err, sizeof j->err);
        if (be->utt_end(d, tiny, sizeof tiny, j->err, sizeof j->err) != 0) j->rc = -1;
    }
    /* A cancelled utterance leaves nothing behind; an empty one gives no text. */
    if (ok && be->utt_begin(d, j->err, sizeof j->err) == 0) {
        be->utt_feed(d, pcm, 8000, j->err, sizeof j->err);
        be->utt_abort(d);
        char empty[64] = "x";
        if (be->utt_begin(d, j->err, sizeof j->err) != 0 ||
            be->utt_end(d, empty, sizeof empty, j->err, sizeof j->err) != 0 || empty[0]) {
            snprintf(j->err, sizeof j->err, "after a cancel, an empty utterance gave '%s'", empty);
            j->rc = -1;
        }
    }
    free(pcm);
    be->decoder_free(d);
    return NULL;
}

/* Two offline utterances at once on one shared model. */
static void offline_two_at_once(const char *type, const char *name) {
    stt_backend_model m;
    if (load_stt(type, name, &m) != 0) return;
    offline_job j[2] = {{.m = &m, .seed = 21}, {.m = &m, .seed = 22}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, offline_utt, &j[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK_MSG(j[i].rc == 0, "%s: %s", name, j[i].err);
        CHECK_MSG(j[i].text[0] != '\0', "%s: no text", name);
        CHECK_MSG(strchr(j[i].text, '<') == NULL, "%s: special token in '%s'", name, j[i].text);
    }
    fprintf(stderr, "  %s: '%.40s' | '%.40s'\n", name, j[0].text, j[1].text);
    CHECK(strcmp(j[0].text, j[1].text) != 0);
    m.be->model_free(m.model);
}

/* Parakeet-TDT layout (stt.sherpa_model_type = nemo-transducer). */
static void nemo_tdt_decodes_at_the_end(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    offline_two_at_once("nemo-transducer", "stt-nemo-tdt");
}

/* NeMo CTC through stt_sherpa.c, once the configuration offers the type. */
static void nemo_ctc_through_the_backend(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    axiom_config *c = config_new();
    char err[512];
    int offered =
        config_set(c, "stt.sherpa_model_type", "nemo-ctc", CFG_FLAG, NULL, err, sizeof err) == 0;
    config_free(c);
    if (offered)
        offline_two_at_once("nemo-ctc", "stt-nemo-ctc");
    else
        fprintf(stderr,
                "  stt.sherpa_model_type does not offer nemo-ctc yet (%s); sherpa's own API ran it "
                "above\n",
                err);
}

/* Streaming: nothing before the model's first chunk (45 feature frames, about half a
 * second), partial text once chunks are decoded, final text at the end, and the
 * decoder ready for the next utterance. */
static void zipformer_streams_partials(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    stt_backend_model m;
    if (load_stt("transducer", "stt-zipformer", &m) != 0) return;
    char err[512], part[512], text[512];
    void *d = m.be->decoder_new(m.model, err, sizeof err);
    CHECK_MSG(d != NULL, "%s", err);
    int16_t *pcm = noise(16000 * 3, 16000, 3);
    for (int round = 0; round < 2 && d; round++) {
        CHECK(m.be->utt_begin(d, err, sizeof err) == 0);
        CHECK(m.be->utt_feed(d, pcm, 1600, err, sizeof err) == 0); /* 100 ms */
        m.be->utt_partial(d, part, sizeof part);
        CHECK_MSG(part[0] == '\0', "partial after 100 ms: '%s'", part);
        size_t fed = 1600;
        int first_partial_ms = -1;
        while (fed < 16000 * 3) {
            CHECK(m.be->utt_feed(d, pcm + fed, 1600, err, sizeof err) == 0);
            fed += 1600;
            m.be->utt_partial(d, part, sizeof part);
            if (part[0] && first_partial_ms < 0) first_partial_ms = (int)(fed / 16);
        }
        CHECK_MSG(first_partial_ms > 0 && first_partial_ms <= 1500, "first partial at %d ms",
                  first_partial_ms);
        CHECK(m.be->utt_end(d, text, sizeof text, err, sizeof err) == 0);
        CHECK_MSG(text[0] != '\0', "no final text");
        fprintf(stderr, "  round %d: first partial at %d ms, final '%.60s'\n", round,
                first_partial_ms, text);
        /* After the end the next utterance starts empty. */
        CHECK(m.be->utt_begin(d, err, sizeof err) == 0);
        m.be->utt_partial(d, part, sizeof part);
        CHECK_STR(part, "");
        m.be->utt_abort(d);
    }
    /* Cancel midway: the utterance's text is gone and the decoder still works. */
    if (d) {
        CHECK(m.be->utt_begin(d, err, sizeof err) == 0);
        CHECK(m.be->utt_feed(d, pcm, 16000, err, sizeof err) == 0);
        m.be->utt_partial(d, part, sizeof part);
        CHECK(part[0] != '\0');
        m.be->utt_abort(d);
        m.be->utt_partial(d, part, sizeof part);
        CHECK_STR(part, "");
        CHECK(m.be->utt_begin(d, err, sizeof err) == 0);
        CHECK(m.be->utt_feed(d, pcm, 16000, err, sizeof err) == 0);
        CHECK(m.be->utt_end(d, text, sizeof text, err, sizeof err) == 0);
        CHECK(text[0] != '\0');
        m.be->decoder_free(d);
    }
    free(pcm);
    m.be->model_free(m.model);
}

typedef struct {
    stt_engine *e;
    int rate;
    unsigned seed;
    char text[512], err[512];
    int64_t audio_ms;
    int rc;
} utt_job;

/* One utterance through the engine: audio at job->rate, resampled to 16 kHz as the
 * voice session does, fed in 20 ms pieces. */
static void *run_utt(void *p) {
    utt_job *j = p;
    j->rc = -1;
    size_t n = (size_t)j->rate * 2;
    int16_t *in = noise(n, j->rate, j->seed), *pcm = NULL;
    size_t m = 0;
    if (!in || audio_resample(in, n, j->rate, 16000, &pcm, &m, j->err, sizeof j->err) != 0) {
        free(in);
        return NULL;
    }
    int status = 0;
    stt_stream *s = stt_stream_begin(j->e, 10000, &status, j->err, sizeof j->err);
    if (s) {
        for (size_t i = 0; i < m; i += 320)
            stt_stream_feed(s, pcm + i, m - i < 320 ? m - i : 320, j->err, sizeof j->err);
        stt_result r;
        memset(&r, 0, sizeof r);
        j->rc = stt_stream_finish(s, &r, j->err, sizeof j->err);
        snprintf(j->text, sizeof j->text, "%s", r.text ? r.text : "");
        j->audio_ms = r.audio_ms;
        stt_result_clear(&r);
    }
    free(in);
    free(pcm);
    return NULL;
}

static stt_engine *zipformer_engine(axiom_config **cfg) {
    char d[400], err[512];
    model_dir("stt-zipformer", d, sizeof d);
    const char *kv[] = {"stt.backend",
                        "sherpa",
                        "stt.sherpa_model_dir",
                        d,
                        "stt.sherpa_model_type",
                        "transducer",
                        "stt.pool_size",
                        "2",
                        "stt.rescore",
                        "false",
                        "stt.trim_background",
                        "false",
                        NULL};
    *cfg = cfg_of(kv);
    stt_engine *e = stt_engine_new(*cfg, NULL, err, sizeof err);
    CHECK_MSG(e != NULL, "%s", err);
    return e;
}

/* Two utterances at once, at 8, 16 and 48 kHz input. */
static void engine_two_at_once_any_rate(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    axiom_config *cfg;
    stt_engine *e = zipformer_engine(&cfg);
    if (!e) {
        config_free(cfg);
        return;
    }
    static const int rates[] = {8000, 16000, 48000};
    for (int k = 0; k < 3; k++) {
        utt_job j[2];
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            memset(&j[i], 0, sizeof j[i]);
            j[i].e = e;
            j[i].rate = rates[k];
            j[i].seed = (unsigned)(11 + i);
            pthread_create(&t[i], NULL, run_utt, &j[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            CHECK_MSG(j[i].rc == 0, "%d Hz: %s", rates[k], j[i].err);
            CHECK_MSG(j[i].text[0] != '\0', "%d Hz: no text", rates[k]);
            CHECK_MSG(j[i].audio_ms >= 1900 && j[i].audio_ms <= 2100, "%d Hz: %lld ms of audio",
                      rates[k], (long long)j[i].audio_ms);
        }
        fprintf(stderr, "  %d Hz: '%.40s' | '%.40s'\n", rates[k], j[0].text, j[1].text);
        CHECK_MSG(strcmp(j[0].text, j[1].text) != 0, "different audio, different noise");
    }
    int created = 0, in_use = 0, size = 0;
    stt_engine_pool_counts(e, &created, &in_use, &size);
    CHECK_EQ_INT(created, 2);
    CHECK_EQ_INT(in_use, 0);
    stt_engine_free(e);
    config_free(cfg);
}

/* ---- memory ---- */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Resident memory in kB, from the library's one reader. */
static long rss_kb(void) {
    int64_t b = proc_rss_bytes();
    return b < 0 ? -1 : (long)(b / 1024);
}

/* Loading and unloading the recogniser and the voice five times does not pile up
 * memory: what a load takes, the unload gives back (loosely: onnxruntime and malloc
 * keep some pages, so the bound is generous; the figures are printed). */
static void unload_returns_memory(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    axiom_config *cfg;
    stt_engine *e = zipformer_engine(&cfg);
    char d[400], err[512];
    model_dir("tts-kokoro", d, sizeof d);
    const char *kv[] = {"tts.backend", "sherpa", "tts.sherpa_model_dir", d, "tts.sherpa_model_type",
                        "kokoro",      NULL};
    axiom_config *tcfg = cfg_of(kv);
    tts_engine *t = tts_engine_new(tcfg, err, sizeof err);
    CHECK(e && t);
    long base = -1, loaded = 0, after[5] = {0};
    for (int i = 0; e && t && i < 5; i++) {
        CHECK_MSG(component_load(stt_engine_component(e), err, sizeof err) == 0, "%s", err);
        CHECK_MSG(component_load(tts_engine_component(t), err, sizeof err) == 0, "%s", err);
        /* Use both, so the runtime's working memory is allocated too. */
        utt_job j = {.e = e, .rate = 16000, .seed = 5};
        run_utt(&j);
        CHECK(j.rc == 0);
        tts_audio a;
        CHECK(tts_synth(t, "Memory check.", NULL, 16000, NULL, &a, err, sizeof err) == 0);
        tts_audio_clear(&a);
        loaded = rss_kb();
        component_unload(stt_engine_component(e));
        component_unload(tts_engine_component(t));
        after[i] = rss_kb();
        if (i == 0) base = after[0];
    }
    fprintf(stderr, "  RSS loaded %ld kB; after unload: %ld %ld %ld %ld %ld kB\n", loaded, after[0],
            after[1], after[2], after[3], after[4]);
    CHECK(!component_is_loaded(stt_engine_component(e)) &&
          !component_is_loaded(tts_engine_component(t)));
#ifdef UNDER_ASAN
    /* AddressSanitizer keeps freed memory in quarantine, so resident memory says
     * nothing here; this run checks the cycles for leaks and bad accesses instead. */
    fprintf(stderr, "  RSS not compared under AddressSanitizer (freed memory stays quarantined)\n");
    (void)base;
#else
    CHECK_MSG(after[4] < loaded, "unloading gave nothing back");
    CHECK_MSG(after[4] - base < 16 * 1024, "five load/unload cycles grew RSS by %ld kB",
              after[4] - base);
#endif
    tts_engine_free(t);
    stt_engine_free(e);
    config_free(tcfg);
    config_free(cfg);
}

/* ---- synthesis ---- */

typedef struct {
    int sentences;
    int rate_ok;
    size_t samples[8];
    atomic_int *cancel_after_first;
} speak_log;

static int on_sentence(void *ctx, const char *sentence, size_t len, tts_audio *a) {
    (void)sentence;
    (void)len;
    speak_log *l = ctx;
    if (l->sentences < 8) l->samples[l->sentences] = a->n;
    l->sentences++;
    if (a->rate != l->rate_ok) l->rate_ok = -a->rate;
    if (l->cancel_after_first) atomic_store(l->cancel_after_first, 1);
    return 0;
}

static void speak_with(const char *type, const char *name) {
    char d[400], err[512];
    model_dir(name, d, sizeof d);
    const char *kv[] = {"tts.backend", "sherpa", "tts.sherpa_model_dir", d, "tts.sherpa_model_type",
                        type,          NULL};
    axiom_config *cfg = cfg_of(kv);
    /* The backend itself, so a silent fallback to flite cannot pass for it. */
    void *m = tts_backend_sherpa.model_load(cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s: %s", name, err);
    if (m) {
        tts_audio a;
        CHECK(tts_backend_sherpa.synth(m, NULL, "Hello.", NULL, &a, err, sizeof err) == 0);
        CHECK_EQ_INT(a.rate, strcmp(type, "kokoro") == 0 ? 24000 : 22050);
        CHECK(a.n > 0);
        tts_audio_clear(&a);
        /* Texts an answer may hold: nothing to say, only punctuation, digits, accents
         * and symbols, a sentence longer than Kokoro's 510 phonemes. Each is spoken or
         * refused with a message; none may take the process down. */
        static char longtext[4000];
        if (!longtext[0]) {
            static const char w[] = "and the robot walks on and on and on, ";
            for (size_t k = 0; k + sizeof w < sizeof longtext; k += sizeof w - 1)
                memcpy(longtext + k, w, sizeof w - 1);
        }
        const char *edge[] = {"",
                              "...",
                              "42",
                              "Dr. Smith's caf\xc3\xa9 \xe2\x80\x94 na\xc3\xafve!",
                              "\xf0\x9f\xa4\x96 #$%&",
                              longtext};
        for (size_t k = 0; k < sizeof edge / sizeof *edge; k++) {
            char e2[512] = "";
            int rc = tts_backend_sherpa.synth(m, NULL, edge[k], NULL, &a, e2, sizeof e2);
            CHECK_MSG(rc == 0 || (rc == -1 && e2[0]), "'%.20s': rc %d", edge[k], rc);
            if (k == 5)
                CHECK_MSG(rc == 0 && a.n > (size_t)a.rate * 10, "long sentence: %zu samples", a.n);
            tts_audio_clear(&a);
        }
        /* Speakers: Kokoro's voices.bin holds two, VITS one. */
        int speakers = strcmp(type, "kokoro") == 0 ? 2 : 1;
        char sid[8];
        snprintf(sid, sizeof sid, "%d", speakers - 1);
        CHECK(tts_backend_sherpa.synth(m, sid, "Hi.", NULL, &a, err, sizeof err) == 0);
        tts_audio_clear(&a);
        snprintf(sid, sizeof sid, "%d", speakers);
        CHECK(tts_backend_sherpa.synth(m, sid, "Hi.", NULL, &a, err, sizeof err) == -1);
        CHECK_CONTAINS(err, "speakers 0 to");
        tts_backend_sherpa.model_free(m);
    }
    tts_engine *e = tts_engine_new(cfg, err, sizeof err);
    CHECK_MSG(e != NULL, "%s", err);
    static const int rates[] = {8000, 16000, 48000};
    for (int k = 0; e && k < 3; k++) {
        speak_log l = {.rate_ok = rates[k]};
        int rc = tts_speak(
            e, "Hello there. This second sentence is a good deal longer than the first one.", NULL,
            rates[k], NULL, on_sentence, &l, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        CHECK_EQ_INT(l.sentences, 2);
        CHECK_MSG(l.rate_ok == rates[k], "audio at %d Hz, asked for %d", -l.rate_ok, rates[k]);
        CHECK_MSG(l.samples[1] > l.samples[0], "longer sentence, longer audio (%zu vs %zu)",
                  l.samples[1], l.samples[0]);
        fprintf(stderr, "  %s at %d Hz: %zu + %zu samples\n", name, rates[k], l.samples[0],
                l.samples[1]);
    }
    /* Barge-in after the first sentence: the second is never made. */
    if (e) {
        atomic_int cancel = 0;
        speak_log l = {.rate_ok = 16000, .cancel_after_first = &cancel};
        int rc = tts_speak(e, "First sentence. Second sentence. Third sentence.", NULL, 16000,
                           &cancel, on_sentence, &l, err, sizeof err);
        CHECK_EQ_INT(rc, 1);
        CHECK_EQ_INT(l.sentences, 1);
    }
    tts_engine_free(e);
    config_free(cfg);
}

static void vits_speaks_sentences_at_rate(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    speak_with("vits", "tts-vits");
}

static void kokoro_speaks_sentences_at_rate(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    speak_with("kokoro", "tts-kokoro");
}

/* ---- the public voice session ---- */

typedef struct {
    pthread_mutex_t mu;
    int transcripts, audio, audio_rate_bad, ready, errors;
    char heard[256];
    int rate;
} session_log;

static void on_session_event(void *user, const axiom_event *ev) {
    session_log *l = user;
    pthread_mutex_lock(&l->mu);
    if (ev->type == AXIOM_EVENT_TRANSCRIPT) {
        l->transcripts++;
        snprintf(l->heard, sizeof l->heard, "%s", ev->text ? ev->text : "");
    }
    if (ev->type == AXIOM_EVENT_AUDIO) {
        l->audio++;
        if (ev->sample_rate != l->rate) l->audio_rate_bad = ev->sample_rate;
    }
    if (ev->type == AXIOM_EVENT_READY) l->ready++;
    if (ev->type == AXIOM_EVENT_ERROR) l->errors++;
    pthread_mutex_unlock(&l->mu);
}

/* A spoken question (jfk.wav) fed to axiom_voice_feed at 8, 16 and 48 kHz (the session
 * resamples) with the answer asked for at the same rate: the stand-in recogniser's
 * transcript comes out, and the stand-in Kokoro voice answers at that rate. */
static void voice_session_any_rate(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    char path[512], err[512], stt_dir[400], tts_dir[400], cache[400];
    const char *wav = tu_shared_path("audio/jfk.wav", path, sizeof path);
    CHECK_MSG(wav != NULL, "../shared/audio/jfk.wav is missing");
    if (!wav) return;
    int16_t *speech = NULL;
    long n = wav_load_16k(wav, &speech, err, sizeof err);
    CHECK_MSG(n > 16000 * 4, "%s", err);
    if (n <= 16000 * 4) return;
    model_dir("stt-zipformer", stt_dir, sizeof stt_dir);
    model_dir("tts-kokoro", tts_dir, sizeof tts_dir);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    const char *kv[] = {"stt.backend",
                        "sherpa",
                        "stt.sherpa_model_dir",
                        stt_dir,
                        "stt.sherpa_model_type",
                        "transducer",
                        "tts.backend",
                        "sherpa",
                        "tts.sherpa_model_dir",
                        tts_dir,
                        "tts.sherpa_model_type",
                        "kokoro",
                        "cache_dir",
                        cache,
                        "log_level",
                        "warn",
                        NULL};
    axiom_config *cfg = cfg_of(kv);
    axiom_engine *eng = axiom_engine_new(cfg, err, sizeof err);
    CHECK_MSG(eng != NULL, "%s", err);
    static const int rates[] = {8000, 16000, 48000};
    static int16_t silence[48000];
    for (int k = 0; eng && k < 3; k++) {
        session_log l;
        memset(&l, 0, sizeof l);
        pthread_mutex_init(&l.mu, NULL);
        l.rate = rates[k];
        axiom_voice *v = axiom_voice_new(eng, on_session_event, &l, err, sizeof err);
        CHECK_MSG(v != NULL, "%s", err);
        if (!v) break;
        char r[16];
        snprintf(r, sizeof r, "%d", rates[k]);
        CHECK(axiom_voice_set(v, "feed", "wait", err, sizeof err) == 0);
        CHECK(axiom_voice_set(v, "output_rate", r, err, sizeof err) == 0);
        int16_t *in = NULL;
        size_t m = 0;
        size_t first =
            (size_t)(n < 16000 * 9 / 2 ? n : 16000 * 9 / 2); /* one sentence, then a pause */
        CHECK(audio_resample(speech, first, 16000, rates[k], &in, &m, err, sizeof err) == 0);
        for (size_t i = 0; in && i < m; i += (size_t)rates[k] / 50)
            CHECK(axiom_voice_feed(v, in + i,
                                   m - i < (size_t)rates[k] / 50 ? m - i : (size_t)rates[k] / 50,
                                   rates[k]) == 0);
        CHECK(axiom_voice_feed(v, silence, (size_t)rates[k], rates[k]) == 0);
        axiom_voice_end_input(v);
        CHECK_MSG(axiom_voice_wait(v, 60000) == 0, "%d Hz: the session did not finish", rates[k]);
        axiom_voice_free(v);
        fprintf(stderr, "  %d Hz: heard '%.50s'; %d transcript, %d audio, %d ready, %d errors\n",
                rates[k], l.heard, l.transcripts, l.audio, l.ready, l.errors);
        CHECK_MSG(l.transcripts >= 1 && l.heard[0], "%d Hz: no transcript", rates[k]);
        CHECK_MSG(l.audio >= 1, "%d Hz: no answer audio", rates[k]);
        CHECK_MSG(l.audio_rate_bad == 0, "%d Hz: answer audio at %d Hz", rates[k],
                  l.audio_rate_bad);
        CHECK(l.ready >= 1);
        free(in);
        pthread_mutex_destroy(&l.mu);
    }
    if (eng) axiom_engine_free(eng);
    config_free(cfg);
    free(speech);
}

/* ---- the server, end to end ---- */

typedef struct {
    int transcript, speaking, audio, ready, error;
    char heard[256];
} turn_log;

static void on_turn_msg(void *user, const ws_msg *m) {
    turn_log *l = user;
    if (m->opcode == WSC_BINARY) {
        l->audio++;
        return;
    }
    cJSON *o = cJSON_Parse((const char *)m->data);
    const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(o, "event"));
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
    const char *name = ev ? ev : st ? st : "";
    if (strcmp(name, "transcript") == 0 || strcmp(name, "final_transcript") == 0) {
        l->transcript++;
        snprintf(l->heard, sizeof l->heard, "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(o, "text")) ?: "");
    }
    if (strcmp(name, "speaking") == 0) l->speaking++;
    if (strcmp(name, "ready_to_listen") == 0) l->ready++;
    if (strcmp(name, "error") == 0) l->error++;
    cJSON_Delete(o);
}

static void spoken_turn(const char *stt_name, const char *stt_type, const char *tts_name,
                        const char *tts_type) {
    char path[512], err[512], stt_dir[400], tts_dir[400], s1[500], s2[500], s3[500], s4[100],
        s5[100];
    const char *wav = tu_shared_path("audio/jfk.wav", path, sizeof path);
    CHECK_MSG(wav != NULL, "../shared/audio/jfk.wav is missing");
    if (!wav) return;
    int16_t *speech = NULL;
    long n = wav_load_16k(wav, &speech, err, sizeof err);
    CHECK_MSG(n > 16000 * 4, "%s", err);
    if (n <= 16000 * 4) return;
    model_dir(stt_name, stt_dir, sizeof stt_dir);
    model_dir(tts_name, tts_dir, sizeof tts_dir);
    snprintf(s1, sizeof s1, "stt.sherpa_model_dir=%s", stt_dir);
    snprintf(s2, sizeof s2, "tts.sherpa_model_dir=%s", tts_dir);
    snprintf(s3, sizeof s3, "cache_dir=%s/cache", tmp);
    snprintf(s4, sizeof s4, "stt.sherpa_model_type=%s", stt_type);
    snprintf(s5, sizeof s5, "tts.sherpa_model_type=%s", tts_type);
    const char *settings[] = {
        "stt.backend=sherpa", s4,  s1, "tts.backend=sherpa", s5, s2, s3, "mem.preload=true",
        "log_level=info",     NULL};
    /* The server's log goes to a file, to see which recogniser and voice it runs. */
    char logpath[400];
    snprintf(logpath, sizeof logpath, "%s/server.log", tmp);
    fflush(stderr);
    int saved = dup(2), fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    server_fixture f;
    memset(&f, 0, sizeof f);
    int rc = fixture_start(&f, settings, err, sizeof err);
    if (rc != 0) {
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(fd);
        CHECK_MSG(0, "server: %s", err);
        free(speech);
        return;
    }
    int st;
    ws_client *c = ws_client_connect(f.port, "/ws", NULL, 5000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "connect: %d %s", st, err);
    if (c) {
        turn_log l;
        memset(&l, 0, sizeof l);
        ws_client_send_text(c, "{\"event\":\"hello\",\"partials\":true}");
        static int16_t silence[16000 * 2];
        size_t k = (size_t)(n < 16000 * 9 / 2 ? n : 16000 * 9 / 2);
        CHECK(ws_client_stream(c, speech, k, on_turn_msg, &l, NULL) == 0);
        CHECK(ws_client_stream(c, silence, sizeof silence / 2, on_turn_msg, &l, NULL) == 0);
        int64_t end = wsc_now_us() + 30 * 1000000LL;
        while (!l.ready && wsc_now_us() < end) {
            ws_msg m;
            int r = ws_client_recv(c, 100, &m);
            if (r < 0) break;
            if (r == 1) on_turn_msg(&l, &m);
        }
        fprintf(stderr, "  heard '%s'; transcript %d, speaking %d, audio %d, ready %d, error %d\n",
                l.heard, l.transcript, l.speaking, l.audio, l.ready, l.error);
        CHECK_MSG(l.transcript > 0, "no transcript event");
        CHECK_MSG(l.heard[0] != '\0', "the stand-in recogniser's text reaches the client");
        CHECK_MSG(l.speaking > 0 && l.audio > 0, "the turn was answered with the stand-in voice");
        CHECK(l.ready > 0);
        ws_client_free(c);
    }
    fixture_stop(&f);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    static char log[1 << 16];
    FILE *lf = fopen(logpath, "rb");
    size_t ln = lf ? fread(log, 1, sizeof log - 1, lf) : 0;
    log[ln] = '\0';
    if (lf) fclose(lf);
    char want[128];
    snprintf(want, sizeof want, "sherpa-onnx %s recogniser from", stt_type);
    CHECK_CONTAINS(log, want);
    snprintf(want, sizeof want, "sherpa-onnx %s voice from", tts_type);
    CHECK_CONTAINS(log, want);
    CHECK_MSG(strstr(log, "falling back") == NULL, "the server fell back:\n%s", log);
    free(speech);
}

/* Streaming recogniser and a Piper voice; then the seed's pair, Parakeet-TDT and Kokoro. */
static void server_answers_a_spoken_turn(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    spoken_turn("stt-zipformer", "transducer", "tts-vits", "vits");
    spoken_turn("stt-nemo-tdt", "nemo-transducer", "tts-kokoro", "kokoro");
}

/* ---- the language model ---- */

static int count_piece(void *user, const char *piece, size_t len) {
    (void)piece;
    *(size_t *)user += len;
    return 0;
}

/* The llama stand-in loads in the in-process llama.cpp backend, its real tokenizer
 * reads the prompt, and it generates the number of tokens asked for (noise). */
static void llama_standin_generates(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    char gguf[500], err[512], d[400];
    model_dir("llm-llama", d, sizeof d);
    snprintf(gguf, sizeof gguf, "%s/model.gguf", d);
    const char *kv[] = {"llm.backend",
                        "gguf",
                        "llm.gguf",
                        gguf,
                        "llm.threads",
                        "1",
                        "llm.max_tokens",
                        "16",
                        "llm.temperature",
                        "0",
                        "context_length",
                        "512",
                        NULL};
    axiom_config *c = cfg_of(kv);
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (m) {
        static const llm_message q[] = {{"user", "What can the robot dog carry?"}};
        size_t bytes = 0;
        llm_result r;
        int rc = llm_chat(m, q, 1, NULL, count_piece, &bytes, NULL, &r, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        CHECK_MSG(r.prompt_tokens > 8, "the real tokenizer split the prompt into %d tokens",
                  r.prompt_tokens);
        CHECK(r.tokens > 0 && r.tokens <= 16);
        fprintf(stderr, "  llama stand-in: %d prompt tokens, %d generated, %zu bytes\n",
                r.prompt_tokens, r.tokens, bytes);
        llm_free(m);
    }
    config_free(c);
}

int main(int argc, char **argv) {
    (void)argc;
    CHECK(tu_mkdtemp(tmp, sizeof tmp) == 0);
    RUN(standins_are_written);
    RUN(printed_settings_work);
    RUN(onnx_input_shapes_are_read);
    RUN(nemo_ctc_decodes_in_sherpa);
    RUN(nemo_ctc_through_the_backend);
    RUN(nemo_tdt_decodes_at_the_end);
    RUN(zipformer_streams_partials);
    RUN(engine_two_at_once_any_rate);
    RUN(vits_speaks_sentences_at_rate);
    RUN(kokoro_speaks_sentences_at_rate);
    RUN(unload_returns_memory);
    RUN(voice_session_any_rate);
    RUN(server_answers_a_spoken_turn);
    RUN(llama_standin_generates);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
