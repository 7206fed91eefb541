/* The VAD under awkward input and load: any chunk size gives the same events, huge
 * feeds and ten minutes of silence stay bounded, endless talking is cut, the Silero
 * pool runs out (energy takes over) and is shared by threads, a missing or bogus
 * model falls back to the energy detector with the file named, the governor can
 * unload the pool between utterances, and noise bursts that fool the energy
 * detector do not fool Silero. */
#include "check.h"
#include "core/component.h"
#include "core/util.h"
#include "speech/vad.h"
#include "support/testutil.h"
#include "support/vad_fixture.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static vad_engine *engine_with(int silero, int pool, const char *model) {
    vad_params p = vad_params_default();
    p.use_silero = silero;
    p.pool_size = pool;
    if (model) str_copy(p.model, sizeof p.model, model);
    char err[256];
    vad_engine *e = vad_engine_new(&p, err, sizeof err);
    if (!e) fprintf(stderr, "  vad_engine_new: %s\n", err);
    return e;
}

/* The Harvard sentences' loud cores between 700 ms gaps (exact truth). */
static int harvard_clips_gap(fx_audio *x, fx_seg *truth, int *nt, double noise_dbfs, int gap_ms) {
    char buf[1024];
    const char *path = tu_shared_path("audio/harvard_list72_8k.wav", buf, sizeof buf);
    fx_audio a;
    if (!path || fx_read(path, &a) != 0 || fx_upsample2(&a) != 0) return -1;
    fx_seg segs[FX_MAX_SEGS];
    int n = fx_truth(&a, segs, FX_MAX_SEGS);
    for (int i = 0; i < n; i++)
        segs[i] = fx_loud_core(&a, segs[i]);
    int rc = fx_concat(&a, segs, n, gap_ms, 1000, noise_dbfs, x, truth);
    fx_free(&a);
    *nt = n;
    return rc;
}

static int harvard_clips(fx_audio *x, fx_seg *truth, int *nt, double noise_dbfs) {
    return harvard_clips_gap(x, truth, nt, noise_dbfs, 700);
}

static int same_events(const fx_sink *a, const fx_sink *b) {
    if (a->n != b->n || a->audio != b->audio) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->segs[i].start != b->segs[i].start || a->segs[i].end != b->segs[i].end) return 0;
    return 1;
}

static void run_chunking(int silero) {
    if (silero && !silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -50) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_engine *e = engine_with(silero, 2, NULL);
    CHECK(e != NULL);
    if (!e) return;
    static fx_sink whole, part;
    fx_run(e, &x, 0, &whole);
    CHECK(whole.n >= nt);
    static const size_t chunks[] = {1, 513, 159, 100000, 7, 161, 511, 4097};
    /* Silero's run over the whole clip is the slow part: fewer sizes for it. */
    size_t nchunks = silero ? 4 : sizeof chunks / sizeof chunks[0];
    for (size_t i = 0; i < nchunks; i++) {
        fx_run(e, &x, chunks[i], &part);
        CHECK_MSG(same_events(&whole, &part), "chunk %zu: %d events vs %d whole", chunks[i], part.n,
                  whole.n);
    }
    vad_engine_free(e);
    fx_free(&x);
}

static void any_chunk_size_same_events_energy(void) {
    run_chunking(0);
}
static void any_chunk_size_same_events_silero(void) {
    run_chunking(1);
}

static void ten_minutes_of_silence_then_hiss_are_bounded(void) {
    vad_engine *e = engine_with(silero_available(), 2, NULL);
    CHECK(e != NULL);
    if (!e) return;
    size_t n = (size_t)600 * 16000;
    int16_t *buf = calloc(n, sizeof *buf);
    CHECK(buf != NULL);
    if (!buf) return;
    fx_sink k;
    vad_sink sink = fx_sink_of(&k);
    char err[256];
    vad_stream *s = vad_stream_new(e, &sink, err, sizeof err);
    size_t bytes = vad_stream_bytes(s);
    CHECK(bytes < 128 * 1024);
    vad_stream_feed(s, buf, n); /* one huge feed of digital silence */
    fx_audio hiss = {buf, n / 5, 16000}, mixed;
    CHECK(fx_compose(&hiss, 0, 0, -60, &mixed) == 0); /* then two minutes of hiss */
    vad_stream_feed(s, mixed.s, mixed.n);
    vad_stream_flush(s);
    CHECK_EQ_INT(k.n, 0);
    CHECK_EQ_INT(k.audio, 0);
    CHECK_EQ_INT(vad_stream_bytes(s), bytes);
    vad_engine_info info;
    vad_engine_get_info(e, &info);
    CHECK_EQ_INT(info.borrows, 0); /* the gate never opened: no detector was used */
    vad_stream_free(s);
    fx_free(&mixed);
    free(buf);
    vad_engine_free(e);
}

static void endless_talking_is_cut_at_max_speech(void) {
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -200) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_params p = vad_params_default();
    p.use_silero = 0;
    p.max_speech_ms = 1000;
    char err[256];
    vad_engine *e = vad_engine_new(&p, err, sizeof err);
    fx_sink k;
    fx_run(e, &x, 0, &k);
    CHECK(k.n > nt); /* sentences longer than a second were cut */
    for (int i = 0; i < k.n; i++)
        CHECK_MSG(k.segs[i].end - k.segs[i].start <= 16000 + 160, "utterance %d lasts %lld", i,
                  (long long)(k.segs[i].end - k.segs[i].start));
    CHECK_EQ_INT(k.order_errors, 0);
    vad_engine_free(e);
    fx_free(&x);
}

static void pool_exhausted_falls_back_to_energy(void) {
    if (!silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -200) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_engine *e = engine_with(1, 1, NULL);
    fx_sink ka, kb;
    vad_sink sa = fx_sink_of(&ka), sb = fx_sink_of(&kb);
    char err[256];
    vad_stream *a = vad_stream_new(e, &sa, err, sizeof err);
    vad_stream *b = vad_stream_new(e, &sb, err, sizeof err);
    int saw_both = 0;
    for (size_t at = 0; at < x.n; at += 320) { /* two sessions talking at once */
        size_t len = at + 320 <= x.n ? 320 : x.n - at;
        vad_stream_feed(a, x.s + at, len);
        vad_stream_feed(b, x.s + at, len);
        if (!strcmp(vad_stream_detector(a), "silero") &&
            !strcmp(vad_stream_detector(b), "energy") && vad_stream_in_speech(b))
            saw_both = 1;
    }
    vad_stream_flush(a);
    vad_stream_flush(b);
    CHECK(saw_both);
    vad_engine_info info;
    vad_engine_get_info(e, &info);
    CHECK_EQ_INT(info.pool_size, 1);
    CHECK(info.pool_created <= 1);
    CHECK(info.misses >= 1);
    CHECK_EQ_INT(info.pool_in_use, 0);
    int fa = 0;
    CHECK(fx_score(truth, nt, &ka, &fa, NULL, NULL) >= 0);
    CHECK(fx_score(truth, nt, &kb, &fa, NULL, NULL) >= 0);
    vad_stream_free(a);
    vad_stream_free(b);
    vad_engine_free(e);
    fx_free(&x);
}

/* A session next to a television (loud, fluctuating, not speech) must not keep the
 * only detector from a session where someone talks. */
static void a_noisy_session_does_not_hog_the_pool(void) {
    if (!silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -200) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_engine *e = engine_with(1, 1, NULL);
    fx_sink ka, kb;
    vad_sink sa = fx_sink_of(&ka), sb = fx_sink_of(&kb);
    char err[256];
    vad_stream *tv = vad_stream_new(e, &sa, err, sizeof err);
    vad_stream *talk = vad_stream_new(e, &sb, err, sizeof err);
    int16_t frame[320];
    fx_rng = 99;
    int talk_got_silero = 0;
    for (size_t at = 0; at + 320 <= x.n; at += 320) {
        /* Noise switching between -20 and -45 dBFS every 60 ms keeps the gate open. */
        double amp = ((at / 960) % 2) ? 3277 : 184;
        for (int j = 0; j < 320; j++)
            frame[j] = fx_clip(amp * fx_gauss());
        vad_stream_feed(tv, frame, 320);
        if (at >= 16000) /* the talker joins after the TV has the detector */
            vad_stream_feed(talk, x.s + at, 320);
        if (!strcmp(vad_stream_detector(talk), "silero")) talk_got_silero = 1;
    }
    vad_stream_flush(tv);
    vad_stream_flush(talk);
    CHECK(talk_got_silero);
    vad_stream_free(tv);
    vad_stream_free(talk);
    vad_engine_free(e);
    fx_free(&x);
}

typedef struct {
    vad_engine *e;
    const fx_audio *x;
    const fx_seg *truth;
    int nt;
    double worst;
} worker_arg;

static void *worker(void *p) {
    worker_arg *w = p;
    fx_sink *k = calloc(1, sizeof *k);
    fx_run(w->e, w->x, 480, k);
    int fa = 0;
    w->worst = fx_score(w->truth, w->nt, k, &fa, NULL, NULL);
    if (fa) w->worst = -1;
    free(k);
    return NULL;
}

static void four_threads_share_two_detectors(void) {
    if (!silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -50) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_engine *e = engine_with(1, 2, NULL);
    pthread_t th[4];
    worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg){e, &x, truth, nt, 0};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(args[i].worst >= 0 && args[i].worst <= 100, "thread %d: worst %.0f ms", i,
                  args[i].worst);
    }
    vad_engine_info info;
    vad_engine_get_info(e, &info);
    CHECK(info.pool_created <= 2);
    CHECK_EQ_INT(info.pool_in_use, 0);
    vad_engine_free(e);
    fx_free(&x);
}

static void missing_model_falls_back_naming_the_file(void) {
    vad_engine *e = engine_with(1, 2, "/nonexistent/models/silero_vad_v5.onnx");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -200) != 0) {
        vad_engine_free(e);
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    }
    fx_sink k;
    fx_run(e, &x, 0, &k);
    int fa = 0;
    double worst = fx_score(truth, nt, &k, &fa, NULL, NULL);
    CHECK(worst >= 0 && worst <= 100); /* the energy detector did the work */
    vad_engine_info info;
    vad_engine_get_info(e, &info);
    CHECK_EQ_INT(info.silero_loaded, 0);
    CHECK_CONTAINS(info.fallback, "/nonexistent/models/silero_vad_v5.onnx");
    CHECK_CONTAINS(info.fallback, "No such file");
    vad_engine_free(e);
    fx_free(&x);
}

static void bogus_model_file_does_not_take_the_process_down(void) {
    if (!silero_available()) SKIP("sherpa-onnx is not installed");
    char dir[256], path[512];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    snprintf(path, sizeof path, "%s/not-silero.onnx", dir);
    /* Starts like an ONNX file (0x08) but is not one: onnxruntime would throw. */
    CHECK(tu_write_file(path, "\x08\x07 this is not a model, only its first byte is right") == 0);
    vad_engine *e = engine_with(1, 2, path);
    char err[256];
    CHECK_EQ_INT(component_load(vad_engine_component(e), err, sizeof err), 0);
    vad_engine_info info;
    vad_engine_get_info(e, &info);
    CHECK_EQ_INT(info.silero_loaded, 0);
    CHECK_CONTAINS(info.fallback, path);
    CHECK_CONTAINS(info.fallback, "cannot run it as a Silero VAD model");
    vad_engine_free(e);
    tu_rmtree(dir);
}

static void governor_unload_between_utterances(void) {
    if (!silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -200) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_engine *e = engine_with(1, 2, NULL);
    axiom_component *c = vad_engine_component(e);
    fx_sink k;
    vad_sink sink = fx_sink_of(&k);
    char err[256];
    vad_stream *s = vad_stream_new(e, &sink, err, sizeof err);
    int unloads = 0;
    for (size_t at = 0; at < x.n; at += 1600) {
        vad_stream_feed(s, x.s + at, at + 1600 <= x.n ? 1600 : x.n - at);
        /* The governor tries to unload every 100 ms; it succeeds only when no stream
         * holds a detector, i.e. between utterances. */
        if (component_unload(c) >= 0 || !component_is_loaded(c)) unloads++;
    }
    vad_stream_flush(s);
    CHECK(unloads > 0);
    int fa = 0;
    double worst = fx_score(truth, nt, &k, &fa, NULL, NULL);
    CHECK_MSG(worst >= 0 && worst <= 100 && fa == 0, "worst %.0f ms, %d false", worst, fa);
    component_info ci;
    component_get_info(c, &ci);
    CHECK(ci.load_count >= 2); /* reloaded on the next utterance */
    vad_stream_free(s);
    vad_engine_free(e);
    fx_free(&x);
}

/* Loud noise bursts (300 ms of white noise at -20 dBFS, like a door or a cough
 * into the microphone) between the sentences: the energy detector reports them,
 * Silero does not. */
static void noise_bursts_fool_energy_not_silero(void) {
    if (!silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips_gap(&x, truth, &nt, -55, 1500) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    fx_rng = 777;
    int bursts = 0;
    for (int i = 0; i + 1 < nt; i++) { /* in the middle of each gap */
        int64_t mid = (truth[i].end + truth[i + 1].start) / 2 - 2400;
        if (mid < truth[i].end) continue;
        for (int64_t j = mid; j < mid + 4800; j++)
            x.s[j] = fx_clip(x.s[j] + 3277 * fx_gauss());
        bursts++;
    }
    CHECK(bursts >= 8);
    vad_engine *es = engine_with(1, 1, NULL), *ee = engine_with(0, 1, NULL);
    fx_sink ks, ke;
    fx_run(es, &x, 0, &ks);
    fx_run(ee, &x, 0, &ke);
    int fas = 0, fae = 0;
    double ws = fx_score(truth, nt, &ks, &fas, NULL, NULL);
    fx_score(truth, nt, &ke, &fae, NULL, NULL);
    fprintf(stderr, "  %d bursts: silero %d false alarms (worst %.0f ms), energy %d\n", bursts, fas,
            ws, fae);
    CHECK_EQ_INT(fas, 0);
    CHECK(ws >= 0 && ws <= 100);
    CHECK(fae >= bursts / 2); /* why Silero is worth its memory */
    vad_engine_free(es);
    vad_engine_free(ee);
    fx_free(&x);
}

static void reset_restarts_positions(void) {
    vad_engine *e = engine_with(0, 1, NULL);
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -200) != 0) {
        vad_engine_free(e);
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    }
    fx_sink k;
    vad_sink sink = fx_sink_of(&k);
    char err[256];
    vad_stream *s = vad_stream_new(e, &sink, err, sizeof err);
    vad_stream_feed(s, x.s, x.n / 3);
    vad_stream_reset(s);
    int before = k.n;
    CHECK_EQ_INT(k.open, 0); /* the reset closed what was open */
    vad_stream_feed(s, x.s, (size_t)(truth[0].end + 16000));
    vad_stream_flush(s);
    CHECK(k.n > before);
    CHECK_EQ_INT(k.order_errors, 0);
    CHECK(k.segs[before].start < truth[0].start + 1600 &&
          k.segs[before].start > truth[0].start - 1600);
    CHECK_EQ_INT(vad_stream_in_speech(s), 0);
    vad_stream_free(s);
    vad_engine_free(e);
    fx_free(&x);
}

/* The audio handed over is the stream's own samples, in order, from 300 ms before
 * each start: the recogniser hears the first syllable, and nothing is reordered or
 * duplicated across the pre-roll / live boundary. */
typedef struct {
    int16_t *got;
    size_t n, cap;
    int64_t first_start;
    int starts;
} copy_sink;

static void cs_start(void *u, int64_t start) {
    copy_sink *c = u;
    if (c->starts++ == 0) c->first_start = start;
}
static void cs_audio(void *u, const int16_t *pcm, size_t n) {
    copy_sink *c = u;
    if (c->starts != 1) return; /* the first utterance only */
    for (size_t i = 0; i < n && c->n < c->cap; i++)
        c->got[c->n++] = pcm[i];
}
static void cs_end(void *u, int64_t end) {
    (void)u;
    (void)end;
}

static void run_audio_is_the_input(int silero) {
    if (silero && !silero_available()) SKIP("sherpa-onnx or the Silero model is not installed");
    fx_audio x = {0};
    fx_seg truth[FX_MAX_SEGS];
    int nt = 0;
    if (harvard_clips(&x, truth, &nt, -50) != 0)
        SKIP("../shared/audio/harvard_list72_8k.wav is not available");
    vad_engine *e = engine_with(silero, 1, NULL);
    copy_sink c = {calloc(16000 * 10, sizeof(int16_t)), 0, 16000 * 10, 0, 0};
    vad_sink sink = {cs_start, cs_audio, cs_end, &c, NULL};
    char err[256];
    vad_stream *s = vad_stream_new(e, &sink, err, sizeof err);
    for (size_t at = 0; at < x.n; at += 333)
        vad_stream_feed(s, x.s + at, at + 333 <= x.n ? 333 : x.n - at);
    vad_stream_flush(s);
    CHECK(c.starts >= 1);
    int64_t from = c.first_start - 4800;
    CHECK(from >= 0);
    CHECK(c.n > 16000); /* pre-roll plus the first sentence */
    int same = 1;
    for (size_t i = 0; i < c.n && same; i++)
        same = c.got[i] == x.s[from + (int64_t)i];
    CHECK_MSG(same, "delivered audio differs from the input");
    vad_stream_free(s);
    vad_engine_free(e);
    free(c.got);
    fx_free(&x);
}

static void delivered_audio_is_the_input_energy(void) {
    run_audio_is_the_input(0);
}
static void delivered_audio_is_the_input_silero(void) {
    run_audio_is_the_input(1);
}

/* Every ranged vad.* setting, and server.max_utterance_s (max_speech_ms): a value at
 * either end of the configuration's range is one vad_engine_new accepts, through the
 * configuration and set by hand; one step outside is refused by both. The defaults
 * read from the configuration are vad_params_default's. */
static void config_ranges_are_what_vad_accepts(void) {
    static const struct {
        const char *key;
        size_t off;
        int is_float, scale;
    } fields[] = {
        {"vad.threshold", offsetof(vad_params, threshold), 1, 1},
        {"vad.energy_margin_db", offsetof(vad_params, energy_margin_db), 1, 1},
        {"vad.min_speech_ms", offsetof(vad_params, min_speech_ms), 0, 1},
        {"vad.silence_ms", offsetof(vad_params, silence_ms), 0, 1},
        {"vad.silence_min_ms", offsetof(vad_params, silence_min_ms), 0, 1},
        {"vad.silence_max_ms", offsetof(vad_params, silence_max_ms), 0, 1},
        {"vad.preroll_ms", offsetof(vad_params, preroll_ms), 0, 1},
        {"vad.pool_size", offsetof(vad_params, pool_size), 0, 1},
        {"server.max_utterance_s", offsetof(vad_params, max_speech_ms), 0, 1000},
    };
    const size_t nfields = sizeof fields / sizeof fields[0];
    size_t checked = 0;
    char err[256];
    for (size_t i = 0; config_key_at(i); i++) {
        const char *key = config_key_at(i);
        double lo, hi;
        int kind = config_key_range(key, &lo, &hi);
        if (kind < 0 ||
            (strncmp(key, "vad.", 4) != 0 && strcmp(key, "server.max_utterance_s") != 0))
            continue;
        size_t f = 0;
        while (f < nfields && strcmp(fields[f].key, key) != 0)
            f++;
        CHECK_MSG(f < nfields,
                  "%s has a range but no vad_params field in this test: add it here and to "
                  "vad.c's check",
                  key);
        if (f == nfields) continue;
        double step = kind == 1 ? 1 : 1e-4;
        const double probe[4] = {lo, hi, lo - step, hi + step};
        for (int k = 0; k < 4; k++) {
            int want = k < 2;
            char v[64];
            if (kind == 1)
                snprintf(v, sizeof v, "%.0f", probe[k]);
            else
                snprintf(v, sizeof v, "%.17g", probe[k]);
            axiom_config *cfg = config_new();
            int cfg_ok = config_set(cfg, key, v, CFG_FLAG, NULL, err, sizeof err) == 0;
            CHECK_MSG(cfg_ok == want, "configuration %s %s = %s", want ? "refused" : "accepted",
                      key, v);
            if (cfg_ok) {
                vad_params q;
                vad_params_from_config(cfg, &q);
                vad_engine *e = vad_engine_new(&q, err, sizeof err);
                CHECK_MSG(e != NULL, "%s = %s from the configuration: %s", key, v, err);
                vad_engine_free(e);
            }
            config_free(cfg);
            vad_params p = vad_params_default();
            char *at = (char *)&p + fields[f].off;
            if (fields[f].is_float)
                *(float *)at = (float)probe[k];
            else
                *(int *)at = (int)probe[k] * fields[f].scale;
            vad_engine *e = vad_engine_new(&p, err, sizeof err);
            CHECK_MSG((e != NULL) == want, "vad_engine_new %s %s = %s (%s)",
                      want ? "refused" : "accepted", key, v, e ? "" : err);
            if (!e) CHECK_CONTAINS(err, key);
            vad_engine_free(e);
        }
        checked++;
    }
    CHECK_EQ_INT(checked, nfields);
    axiom_config *cfg = config_new();
    vad_params a, b = vad_params_default();
    vad_params_from_config(cfg, &a);
    config_free(cfg);
    CHECK(a.use_silero == b.use_silero && strcmp(a.model, b.model) == 0 &&
          a.threshold == b.threshold && a.energy_margin_db == b.energy_margin_db &&
          a.min_speech_ms == b.min_speech_ms && a.silence_ms == b.silence_ms &&
          a.adaptive == b.adaptive && a.silence_min_ms == b.silence_min_ms &&
          a.silence_max_ms == b.silence_max_ms && a.preroll_ms == b.preroll_ms &&
          a.max_speech_ms == b.max_speech_ms && a.pool_size == b.pool_size);
}

static void bad_params_are_refused(void) {
    vad_params p = vad_params_default();
    p.threshold = 1.5f;
    char err[256];
    CHECK(vad_engine_new(&p, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "vad.threshold");
    p = vad_params_default();
    p.pool_size = 0;
    CHECK(vad_engine_new(&p, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "vad.pool_size");
    vad_engine *e = engine_with(0, 1, NULL);
    vad_stream_feed(NULL, NULL, 5); /* harmless */
    vad_sink none = {0};
    vad_stream *s = vad_stream_new(e, &none, err, sizeof err);
    int16_t one = 1000;
    for (int i = 0; i < 100000; i++)
        vad_stream_feed(s, &one, 1); /* no sink: no crash */
    vad_stream_feed(s, &one, 0);
    vad_stream_flush(s);
    vad_stream_free(s);
    vad_stream_free(NULL);
    vad_engine_free(e);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(any_chunk_size_same_events_energy);
    RUN(any_chunk_size_same_events_silero);
    RUN(ten_minutes_of_silence_then_hiss_are_bounded);
    RUN(endless_talking_is_cut_at_max_speech);
    RUN(pool_exhausted_falls_back_to_energy);
    RUN(four_threads_share_two_detectors);
    RUN(a_noisy_session_does_not_hog_the_pool);
    RUN(missing_model_falls_back_naming_the_file);
    RUN(bogus_model_file_does_not_take_the_process_down);
    RUN(governor_unload_between_utterances);
    RUN(noise_bursts_fool_energy_not_silero);
    RUN(reset_restarts_positions);
    RUN(delivered_audio_is_the_input_energy);
    RUN(delivered_audio_is_the_input_silero);
    RUN(bad_params_are_refused);
    RUN(config_ranges_are_what_vad_accepts);
    return CHECK_DONE(argv[0]);
}
