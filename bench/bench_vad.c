/* VAD figures: CPU per second of audio (energy detector, Silero engaged, a gated
 * stream), memory per Silero detector (measured RSS delta), a 100-session run with
 * a bounded pool against "one detector per session", and start/end accuracy on the
 * test material (../shared/audio, pocketsphinx-testdata). Prints medians and p95. */
#include "../tests/support/vad_fixture.h"
#include "core/component.h"
#include "core/util.h"
#include "speech/vad.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static char legacy_model[1024];

static vad_engine *engine_model(int silero, int pool, const char *model) {
    vad_params p = vad_params_default();
    p.use_silero = silero;
    p.pool_size = pool;
    if (model) str_copy(p.model, sizeof p.model, model);
    char err[256];
    vad_engine *e = vad_engine_new(&p, err, sizeof err);
    if (!e) fprintf(stderr, "vad: %s\n", err);
    return e;
}

static vad_engine *engine(int silero, int pool) {
    return engine_model(silero, pool, NULL);
}

static int load16(const char *path, fx_audio *a) {
    return path && fx_read(path, a) == 0 && fx_upsample2(a) == 0 ? 0 : -1;
}

/* CPU seconds per second of audio for one stream over x, median of `runs`. */
static double cost_per_audio_s(vad_engine *e, const fx_audio *x, int runs) {
    double v[9];
    if (runs > 9) runs = 9;
    for (int r = 0; r < runs; r++) {
        fx_sink *k = calloc(1, sizeof *k);
        double t0 = cpu_s();
        fx_run(e, x, 320, k);
        v[r] = (cpu_s() - t0) / (x->n / 16000.0);
        free(k);
    }
    return pct(v, runs, 0.5);
}

static void accuracy(const char *label, vad_engine *e, const fx_audio *x, const fx_seg *truth,
                     int nt) {
    fx_sink *k = calloc(1, sizeof *k);
    fx_run(e, x, 320, k);
    double errs[2 * FX_MAX_SEGS], st[FX_MAX_SEGS], en[FX_MAX_SEGS];
    int ne = 0, fa = 0;
    double worst = fx_score(truth, nt, k, &fa, errs, &ne);
    for (int i = 0; i < ne / 2; i++) {
        st[i] = errs[2 * i];
        en[i] = errs[2 * i + 1];
    }
    int n = ne / 2;
    if (worst < 0)
        printf("  %-28s missed an utterance\n", label);
    else
        printf("  %-28s %2d utt  start median %3.0f p95 %3.0f ms   end median %3.0f p95 %3.0f ms"
               "   false %d\n",
               label, nt, pct(st, n, 0.5), pct(st, n, 0.95), pct(en, n, 0.5), pct(en, n, 0.95), fa);
    free(k);
}

/* 100 sessions fed round-robin in 20 ms frames: each hears a faint hiss, and one in
 * ten at a time says a sentence (session i in window i % 10 of the run). */
static void run_sessions(int pool, const fx_audio *harv, const fx_seg *core, int n, double per) {
    enum { SESSIONS = 100, SECONDS = 12 };
    char err[256];
    malloc_trim(0);
    int64_t r0 = proc_rss_bytes();
    vad_engine *es = engine(1, pool);
    vad_stream *ss[SESSIONS];
    fx_sink *ks = calloc(SESSIONS, sizeof *ks);
    for (int i = 0; i < SESSIONS; i++) {
        vad_sink sk = fx_sink_of(&ks[i]);
        ss[i] = vad_stream_new(es, &sk, err, sizeof err);
    }
    fx_audio hiss = {0};
    fx_audio z = {calloc(16000 * SECONDS, sizeof(int16_t)), 16000 * SECONDS, 16000};
    fx_compose(&z, 0, 0, -60, &hiss);
    int16_t frame[320];
    double t0 = cpu_s();
    int64_t peak = r0;
    for (int64_t at = 0; at + 320 <= (int64_t)hiss.n; at += 320) {
        for (int i = 0; i < SESSIONS; i++) {
            memcpy(frame, hiss.s + at, sizeof frame);
            int64_t rel = at - (int64_t)(i % 10) * 16000 * SECONDS / 10;
            int sent = i % n;
            if (rel >= 0 && rel + 320 <= core[sent].end - core[sent].start)
                memcpy(frame, harv->s + core[sent].start + rel, sizeof frame);
            vad_stream_feed(ss[i], frame, 320);
        }
        if (at % 16000 == 0) {
            int64_t r = proc_rss_bytes();
            if (r > peak) peak = r;
        }
    }
    double cpu = cpu_s() - t0;
    int found = 0;
    for (int i = 0; i < SESSIONS; i++) {
        vad_stream_flush(ss[i]);
        found += ks[i].n > 0;
    }
    vad_engine_info info;
    vad_engine_get_info(es, &info);
    printf("100 sessions x %d s, 10 talking at any time, vad.pool_size = %d:\n", SECONDS, pool);
    printf("  cpu %.2f s for %d s of audio (%.3f%% of one core per session); peak RSS growth "
           "%.1f MiB\n",
           cpu, SESSIONS * SECONDS, 100.0 * cpu / (SESSIONS * SECONDS), (peak - r0) / 1048576.0);
    printf("  detectors %d, borrows %lld, gate openings left to energy %lld, sessions that heard "
           "their sentence %d/%d\n",
           info.pool_created, (long long)info.borrows, (long long)info.misses, found, SESSIONS);
    if (pool == 2)
        printf("  (one detector per session would need about %.0f MiB for the detectors alone)\n",
               SESSIONS * per / 1048576.0);
    for (int i = 0; i < SESSIONS; i++)
        vad_stream_free(ss[i]);
    free(ks);
    fx_free(&hiss);
    fx_free(&z);
    vad_engine_free(es);
}

int main(void) {
    char buf[1024];
    fx_audio harv = {0};
    snprintf(buf, sizeof buf, "%s/../shared/audio/harvard_list72_8k.wav", axiom_root_dir());
    if (load16(buf, &harv) != 0) {
        printf("bench_vad: ../shared/audio/harvard_list72_8k.wav not found; no figures\n");
        return 0;
    }
    int64_t rss0 = proc_rss_bytes();

    /* ---- accuracy ---- */
    fx_seg segs[FX_MAX_SEGS], truth[FX_MAX_SEGS];
    int n = fx_truth(&harv, segs, FX_MAX_SEGS);
    fx_seg core[FX_MAX_SEGS] = {{0, 0}};
    for (int i = 0; i < n; i++)
        core[i] = fx_loud_core(&harv, segs[i]);
    fx_audio clips_clean = {0}, clips_noise = {0}, natural = {0}, natural_noise = {0};
    fx_concat(&harv, core, n, 700, 1000, -200, &clips_clean, truth);
    fx_concat(&harv, core, n, 700, 1000, -45, &clips_noise, truth);
    fx_compose(&harv, 1000, 1500, -200, &natural);
    fx_compose(&harv, 1000, 1500, -45, &natural_noise);
    fx_seg ntruth[FX_MAX_SEGS];
    for (int i = 0; i < n; i++)
        ntruth[i] = (fx_seg){segs[i].start + 16000, segs[i].end + 16000};

    vad_engine *es = engine(1, 8), *ee = engine(0, 1);
    printf("accuracy (boundary error against the truth; Harvard list 72, 8 kHz resampled):\n");
    accuracy("clips, silence, silero", es, &clips_clean, truth, n);
    accuracy("clips, silence, energy", ee, &clips_clean, truth, n);
    accuracy("clips, noise -45 dBFS, silero", es, &clips_noise, truth, n);
    accuracy("clips, noise -45 dBFS, energy", ee, &clips_noise, truth, n);
    accuracy("natural, silence, silero", es, &natural, ntruth, n);
    accuracy("natural, silence, energy", ee, &natural, ntruth, n);
    accuracy("natural, noise -45, silero", es, &natural_noise, ntruth, n);
    accuracy("natural, noise -45, energy", ee, &natural_noise, ntruth, n);
    /* The older Silero model costs half the memory per detector: is it as good? */
    snprintf(legacy_model, sizeof legacy_model, "%s/deps/silero/dist/silero_vad_legacy.onnx",
             axiom_root_dir());
    vad_engine *el = engine_model(1, 8, legacy_model);
    accuracy("clips, noise -45, silero legacy", el, &clips_noise, truth, n);
    accuracy("natural, silence, silero legacy", el, &natural, ntruth, n);
    accuracy("natural, noise -45, silero legacy", el, &natural_noise, ntruth, n);

    /* ---- CPU ---- */
    char err[256];
    component_load(vad_engine_component(es), err, sizeof err);
    vad_engine_info info;
    vad_engine_get_info(es, &info);
    double e_cost = cost_per_audio_s(ee, &natural, 5);
    /* Silero engaged all the time: a gate that never closes (speech without pauses
     * is the worst case), measured as CPU per second with the detector fed. */
    double s_cost = info.silero_loaded ? cost_per_audio_s(es, &clips_clean, 3) : 0;
    fx_audio silence = {calloc(16000 * 60, sizeof(int16_t)), 16000 * 60, 16000};
    double idle_cost = cost_per_audio_s(es, &silence, 3);
    printf("cpu per second of audio (one stream, 20 ms feeds):\n");
    printf("  energy detector              %8.1f us\n", e_cost * 1e6);
    printf("  silero gated (speech ~60%%)   %8.1f us   (%s)\n", s_cost * 1e6,
           info.silero_loaded ? "silero loaded" : info.fallback);
    printf("  silence (gate closed)        %8.1f us\n", idle_cost * 1e6);

    /* ---- memory per detector ---- */
    if (info.silero_loaded) {
        fx_sink sinks[8];
        vad_stream *st[8];
        double deltas[8];
        int nd = 0;
        for (int i = 0; i < 8; i++) {
            vad_sink sk = fx_sink_of(&sinks[i]);
            st[i] = vad_stream_new(es, &sk, err, sizeof err);
            malloc_trim(0);
            int64_t before = proc_rss_bytes();
            vad_stream_feed(st[i], harv.s + segs[0].start, 16000); /* opens the gate: borrows */
            int64_t after = proc_rss_bytes();
            vad_engine_get_info(es, &info);
            if (i > 0 && info.pool_in_use == i + 1) deltas[nd++] = (double)(after - before);
        }
        component_info ci;
        component_get_info(vad_engine_component(es), &ci);
        printf("memory:\n");
        printf("  first load (library + 1 detector)  %6.1f MiB (component RSS delta)\n",
               ci.resident_bytes / 1048576.0);
        printf("  each further Silero detector       %6.1f MiB median, %.1f p95 (%d measured)\n",
               pct(deltas, nd, 0.5) / 1048576.0, pct(deltas, nd, 0.95) / 1048576.0, nd);
        vad_sink none = {0};
        vad_stream *one = vad_stream_new(es, &none, err, sizeof err);
        printf("  one stream (ring, frame flags)     %6.1f KiB\n", vad_stream_bytes(one) / 1024.0);
        vad_stream_free(one);
        for (int i = 0; i < 8; i++)
            vad_stream_free(st[i]);
        double per = pct(deltas, nd, 0.5);

        vad_engine_free(es);
        es = NULL;
        for (int pool = 2; pool <= 8; pool *= 2)
            run_sessions(pool, &harv, core, n, per);
    }
    {
        /* Per-detector memory of the legacy model, same method as above. */
        vad_engine_info li;
        char lerr[256];
        component_load(vad_engine_component(el), lerr, sizeof lerr);
        vad_engine_get_info(el, &li);
        if (li.silero_loaded) {
            vad_stream *ls[4];
            fx_sink lk[4];
            double d[4];
            int nd = 0;
            for (int i = 0; i < 4; i++) {
                vad_sink sk = fx_sink_of(&lk[i]);
                ls[i] = vad_stream_new(el, &sk, lerr, sizeof lerr);
                malloc_trim(0);
                int64_t b = proc_rss_bytes();
                vad_stream_feed(ls[i], harv.s + segs[0].start, 16000);
                vad_engine_get_info(el, &li);
                if (i > 0 && li.pool_in_use == i + 1) d[nd++] = (double)(proc_rss_bytes() - b);
            }
            printf("legacy Silero model: each further detector %.1f MiB median (%d measured)\n",
                   pct(d, nd, 0.5) / 1048576.0, nd);
            for (int i = 0; i < 4; i++)
                vad_stream_free(ls[i]);
        }
    }
    vad_engine_free(el);
    printf("process RSS at the end %.1f MiB (start %.1f MiB)\n", proc_rss_bytes() / 1048576.0,
           rss0 / 1048576.0);
    vad_engine_free(es);
    vad_engine_free(ee);
    fx_free(&silence);
    fx_free(&clips_clean);
    fx_free(&clips_noise);
    fx_free(&natural);
    fx_free(&natural_noise);
    fx_free(&harv);
    return 0;
}
