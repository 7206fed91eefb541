/* bench_seed: the seed's model stack at the seed's scale, with the random-weight
 * stand-ins of scripts/make-standin-models --size seed (a ~0.6 B-parameter int8
 * recogniser, a Kokoro-sized voice, a 1.9 GB Llama GGUF). Compute and memory do not
 * depend on the weights' values, so these are real figures for those model classes;
 * only the words and the voice are noise.
 *
 * Per component: load time, resident (RSS delta) and mapped memory, the governor's
 * estimate against the measurement, real-time factor with 1 and 2 threads, memory
 * after unload (and after malloc_trim). For the LLM: the KV cache and the whole load
 * at context_length 512 / 2048 / 4096, estimate against measurement. Printed beside
 * the seed's own table (750 MB baseline, 1.2-1.5 GB peak). Then the whole stack in
 * memory cgroups of 8, 4 and 2 GiB (where one can be created): the load order and
 * what the governor admits, a turn, memory taken until the 85% warn and 95% critical
 * levels (template-only, new sessions refused), recovery once it is given back, and
 * whether the kernel OOM-killed anything.
 *
 *   axiom bench seed                        the stand-ins in ~/.cache/axiom/standin/seed
 *   build/bench/bench_seed DIR [speech|llm|stack] another folder (e.g. the tiny stand-ins)
 *
 * When the stand-ins are absent it prints how to make them and exits 0. Prints
 * figures and exits 0; it asserts nothing. Heavy (minutes, GBs): not part of make
 * test. */
#include "core/component.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "llm/llm.h"
#include "mem/estimate.h"
#include "mem/governor.h"
#include "mem/memstat.h"
#include "speech/sherpa_api.h"
#include "speech/stt.h"
#include "speech/tts.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

static long long status_kib(const char *key) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    long long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') v = strtoll(line + kl + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* Resets this process's peak RSS (VmHWM) to its current RSS. */
static void reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static axiom_config *cfg_of(const char *const *kv) {
    axiom_config *c = config_new();
    char err[512];
    for (; c && *kv; kv += 2)
        if (config_set(c, kv[0], kv[1], CFG_FLAG, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "bench_seed: %s\n", err);
            config_free(c);
            return NULL;
        }
    return c;
}

static double pct_off(double est, double meas) {
    return meas > 0 ? 100.0 * (est - meas) / meas : 0;
}

/* Pseudo-speech: a gliding tone plus noise. */
static int16_t *noise(size_t n, unsigned seed) {
    int16_t *s = malloc(n * sizeof *s);
    double ph = 0;
    for (size_t i = 0; s && i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        ph += 2 * M_PI * (200 + 150 * sin(2 * M_PI * (double)i / 16000 * 1.5)) / 16000;
        s[i] = (int16_t)(6000 * sin(ph) + (double)((int)(seed >> 16 & 0x7fff) - 16384) / 8);
    }
    return s;
}

typedef struct {
    const char *name, *backend_key, *dir_key, *type_key, *type;
    int is_stt;
} speech_standin;

static const speech_standin speech[] = {
    {"stt-nemo-ctc", "stt.backend", "stt.sherpa_model_dir", "stt.sherpa_model_type", "nemo-ctc", 1},
    {"stt-nemo-tdt", "stt.backend", "stt.sherpa_model_dir", "stt.sherpa_model_type",
     "nemo-transducer", 1},
    {"stt-zipformer", "stt.backend", "stt.sherpa_model_dir", "stt.sherpa_model_type", "transducer",
     1},
    {"tts-kokoro", "tts.backend", "tts.sherpa_model_dir", "tts.sherpa_model_type", "kokoro", 0},
    {"tts-vits", "tts.backend", "tts.sherpa_model_dir", "tts.sherpa_model_type", "vits", 0},
};

/* Runs one real-time-factor measurement on a loaded engine: 4 s of audio decoded, or
 * one sentence synthesised. Returns the RTF, or -1. */
static double rtf_stt(stt_engine *e) {
    size_t n = 4 * STT_SAMPLE_RATE;
    int16_t *pcm = noise(n, 7);
    char err[512];
    int st;
    stt_stream *s = pcm ? stt_stream_begin(e, 1000, &st, err, sizeof err) : NULL;
    double rtf = -1;
    if (s) {
        int64_t t0 = now_us();
        for (size_t i = 0; i < n; i += 1600)
            stt_stream_feed(s, pcm + i, n - i < 1600 ? n - i : 1600, err, sizeof err);
        stt_result r;
        if (stt_stream_finish(s, &r, err, sizeof err) == 0) rtf = (double)(now_us() - t0) / 4e6;
        stt_result_clear(&r);
    }
    if (rtf < 0) fprintf(stderr, "bench_seed: decoding failed: %s\n", err);
    free(pcm);
    return rtf;
}

static double rtf_tts(tts_engine *e) {
    char err[512];
    tts_audio a;
    int64_t t0 = now_us();
    int rc = tts_synth(e, "The robot will be at the loading dock in about five minutes.", NULL, 0,
                       NULL, &a, err, sizeof err);
    double took = (double)(now_us() - t0) / 1e6;
    double rtf = rc == 0 && a.n ? took / ((double)a.n / a.rate) : -1;
    if (rc != 0) fprintf(stderr, "bench_seed: synthesis failed: %s\n", err);
    tts_audio_clear(&a);
    return rtf;
}

/* One speech stand-in: a load with 1 thread and one with 2, each measured. */
static void bench_speech_one(const char *root, const speech_standin *s) {
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/%s", root, s->name);
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("%-14s missing (%s)\n", s->name, dir);
        return;
    }
    double rtf[2] = {-1, -1}, load_ms = 0, resident = 0, est_total = 0, after_unload = 0,
           after_trim = 0;
    double load2_ms = 0, file_mib = 0, peak = 0, trim_at_load = 0;
    for (int threads = 1; threads <= 2; threads++) {
        char t[8];
        snprintf(t, sizeof t, "%d", threads);
        setenv("AXIOM_SHERPA_THREADS", t, 1);
        const char *kv[] = {s->backend_key, "sherpa", s->dir_key, dir, s->type_key, s->type, NULL};
        axiom_config *cfg = cfg_of(kv);
        if (!cfg) return;
        char err[1024];
        onnx_estimate est;
        estimate_onnx_dir(
            dir,
            !s->is_stt ? (strcmp(s->type, "kokoro") == 0 ? ONNX_VOICE_KOKORO : ONNX_VOICE_VITS)
                       : ONNX_RECOGNISER,
            !sherpa_api_is_open(), &est, err, sizeof err);
        stt_engine *se = s->is_stt ? stt_engine_new(cfg, NULL, err, sizeof err) : NULL;
        tts_engine *te = s->is_stt ? NULL : tts_engine_new(cfg, err, sizeof err);
        axiom_component *c = se ? stt_engine_component(se) : te ? tts_engine_component(te) : NULL;
        int64_t expected = se   ? stt_engine_expected_bytes(se)
                           : te ? tts_engine_expected_bytes(te)
                                : 0;
        reset_peak();
        int64_t before = proc_rss_bytes();
        if (!c || component_load(c, err, sizeof err) != 0) {
            printf("%-14s load failed: %s\n", s->name, err);
            stt_engine_free(se);
            tts_engine_free(te);
            config_free(cfg);
            return;
        }
        component_info ci;
        component_get_info(c, &ci);
        if (threads == 1) {
            /* What the load left as free heap: given back by a trim right after it. */
            int64_t pre_trim = proc_rss_bytes();
            malloc_trim(0);
            trim_at_load = (double)(pre_trim - proc_rss_bytes());
            load_ms = ci.load_us / 1000.0;
            resident = (double)ci.resident_bytes;
            est_total = (double)expected;
            file_mib = est.onnx_bytes / MIB;
        } else {
            load2_ms = ci.load_us / 1000.0;
        }
        rtf[threads - 1] = se ? rtf_stt(se) : rtf_tts(te);
        if (threads == 1) peak = (double)(status_kib("VmHWM") * 1024 - before);
        stt_engine_free(se); /* unloads */
        tts_engine_free(te);
        if (threads == 1) {
            after_unload = (double)(proc_rss_bytes() - before);
            malloc_trim(0);
            after_trim = (double)(proc_rss_bytes() - before);
        }
        config_free(cfg);
    }
    unsetenv("AXIOM_SHERPA_THREADS");
    printf("%-14s %7.0f %6.0f/%-6.0f %8.0f %8.0f %+6.1f%% %7.0f %7.0f %6.3f %6.3f %8.0f %7.0f\n",
           s->name, file_mib, load_ms, load2_ms, resident / MIB, est_total / MIB,
           pct_off(est_total, resident), trim_at_load / MIB, peak / MIB, rtf[0], rtf[1],
           after_unload / MIB, after_trim / MIB);
}

static void bench_speech(const char *root) {
    printf("\n-- speech (sherpa-onnx; RTF = processing time / audio time, 4 s decoded or one "
           "sentence spoken) --\n");
    printf("%-14s %7s %13s %8s %8s %7s %7s %7s %6s %6s %8s %7s\n", "model", "onnxMiB",
           "load ms 1st/2nd", "resMiB", "estMiB", "est-off", "trimmed", "peakMiB", "RTF1t", "RTF2t",
           "unloadΔ", "trimΔ");
    /* Each model in a process of its own, as a server starts: a model loaded after
     * another one in the same process reuses the heap the first one gave back, and its
     * growth then says more about the allocator than about the model. */
    for (size_t i = 0; i < sizeof speech / sizeof *speech; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            bench_speech_one(root, &speech[i]);
            fflush(stdout);
            _exit(0);
        }
        int st = 0;
        if (pid > 0) waitpid(pid, &st, 0);
        if (pid < 0 || !WIFEXITED(st))
            printf("%-14s the measuring process failed\n", speech[i].name);
    }
    printf("(one process per model. resMiB: RSS growth of the load with 1 thread, onnxruntime's "
           "own ~23 MiB included (opened by this load; it stays). trimmed: what malloc_trim gave "
           "back right after the load (heap the load freed but the allocator kept). peakMiB: the "
           "most RSS over the "
           "pre-load level during the load and the measured use. unloadΔ/trimΔ: RSS left above "
           "the pre-load level after the unload / after malloc_trim.)\n");
}

static int count_piece(void *user, const char *piece, size_t len) {
    (void)piece;
    (void)len;
    ++*(int *)user;
    return 0;
}

/* One turn: a prompt of about 400 tokens (a system prompt and retrieved passages are
 * that long), 16 tokens out. Returns tokens per second, or -1. */
static double llm_turn(llm *m) {
    static char prompt[4096];
    size_t n = 0;
    while (n + 64 < 1400)
        n += (size_t)snprintf(prompt + n, sizeof prompt - n,
                              "The robot checks dock %zu and reports back. ", n % 97);
    llm_message msg[1] = {{"user", prompt}};
    llm_options o = {.max_tokens = 16, .temperature = 0};
    llm_result r;
    int pieces = 0;
    char err[512];
    int rc = llm_chat(m, msg, 1, &o, count_piece, &pieces, NULL, &r, err, sizeof err);
    if (rc != 0) fprintf(stderr, "bench_seed: generation failed: %s\n", err);
    return rc == 0 && r.total_ms > 0 ? 1000.0 * (r.tokens + r.prompt_tokens) / (double)r.total_ms
                                     : -1;
}

typedef struct {
    int64_t estimate, peak, at_load, mapped; /* bytes; peak -1 = the load failed */
    double load_ms, tok_s;
} llm_run;

static axiom_config *llm_cfg(const char *gguf, int n_ctx, int mmap_on, int threads) {
    char ctx[16], th[16];
    snprintf(ctx, sizeof ctx, "%d", n_ctx);
    snprintf(th, sizeof th, "%d", threads);
    const char *kv[] = {"llm.backend", "gguf", "llm.gguf", gguf, "context_length", ctx, "llm.mmap",
                        mmap_on ? "true" : "false", "llm.threads", th,
                        /* a 1.9 GB model on one core reads a long prompt for seconds */
                        "llm.first_token_timeout_ms", "600000", "llm.total_timeout_ms", "900000",
                        NULL};
    return cfg_of(kv);
}

/* Loads the GGUF with context n_ctx, mmap on or off, and runs one turn. The measured
 * cost is the peak RSS over the pre-load level during the load and the turn: with
 * mmap, the file's pages count once the turn has read them. */
static llm_run llm_load_once(const char *gguf, int n_ctx, int mmap_on, int threads) {
    llm_run out = {.peak = -1};
    axiom_config *cfg = llm_cfg(gguf, n_ctx, mmap_on, threads);
    char err[1024] = "";
    llm *m = cfg ? llm_new(cfg, err, sizeof err) : NULL;
    if (m) {
        out.estimate = llm_expected_bytes(m);
        reset_peak();
        int64_t before = proc_rss_bytes();
        if (component_load(llm_component(m), err, sizeof err) == 0) {
            component_info ci;
            component_get_info(llm_component(m), &ci);
            out.mapped = ci.mapped_bytes;
            out.at_load = ci.resident_bytes;
            out.load_ms = ci.load_us / 1000.0;
            out.tok_s = llm_turn(m);
            out.peak = status_kib("VmHWM") * 1024 - before;
        }
    }
    if (out.peak < 0) fprintf(stderr, "bench_seed: LLM load failed: %s\n", err);
    llm_free(m);
    config_free(cfg);
    malloc_trim(0);
    return out;
}

static void bench_llm(const char *root) {
    char gguf[1100], err[512];
    snprintf(gguf, sizeof gguf, "%s/llm-llama/model.gguf", root);
    gguf_meta meta;
    if (gguf_meta_read(gguf, &meta, err, sizeof err) != 0) {
        printf("\n-- LLM: %s --\n", err);
        return;
    }
    struct stat st;
    stat(gguf, &st);
    printf("\n-- LLM (llama.cpp, %s: %lld layers, embd %lld, heads %lld/%lld kv, vocab %lld, "
           "trained ctx %lld; file %.0f MiB) --\n",
           meta.arch, (long long)meta.n_layer, (long long)meta.n_embd, (long long)meta.n_head,
           (long long)meta.n_head_kv, (long long)meta.n_vocab, (long long)meta.n_ctx_train,
           st.st_size / MIB);
    /* A first load opens libllama and ggml (they stay): not part of any model's cost. */
    int64_t before = proc_rss_bytes();
    llm_load_once(gguf, 512, 1, 1);
    printf("libllama + ggml opened: RSS +%.0f MiB (once per process)\n",
           (proc_rss_bytes() - before) / MIB);
    printf("%-5s %-4s %-3s %8s %7s %7s %8s %8s %8s %7s %7s %6s %6s\n", "ctx", "mmap", "thr",
           "load ms", "KV est", "KVmeas", "compute", "est MiB", "peakMiB", "est-off", "atLoad",
           "after", "tok/s");
    static const struct {
        int ctx, mmap, threads;
    } runs[] = {{512, 0, 1}, {2048, 0, 1}, {4096, 0, 1}, {2048, 1, 1}, {2048, 1, 2}};
    int64_t peak512 = -1;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        int64_t rss0 = proc_rss_bytes();
        llm_run r = llm_load_once(gguf, runs[i].ctx, runs[i].mmap, runs[i].threads);
        llm_estimate parts, p512;
        estimate_llm(&meta, st.st_size, runs[i].ctx, &parts);
        estimate_llm(&meta, st.st_size, 512, &p512);
        if (i == 0) peak512 = r.peak;
        /* The KV cache measured: this peak over the 512 run's, plus the 512 run's own
         * (its estimate): the rest of the load is the same at every context. */
        double kv_meas = !runs[i].mmap && peak512 > 0 && r.peak > 0
                             ? (double)(r.peak - peak512 + p512.kv_cache)
                             : -1;
        printf("%-5d %-4s %-3d %8.0f %7.1f %7.1f %8.1f %8.0f %8.0f %+6.1f%% %7.0f %+6.0f %6.1f\n",
               runs[i].ctx, runs[i].mmap ? "yes" : "no", runs[i].threads, r.load_ms,
               parts.kv_cache / MIB, kv_meas / MIB, parts.compute / MIB, r.estimate / MIB,
               r.peak / MIB, pct_off((double)r.estimate, (double)r.peak),
               (r.at_load + r.mapped) / MIB, (proc_rss_bytes() - rss0) / MIB, r.tok_s);
    }
    printf("(peakMiB: peak RSS over the pre-load level during the load and one turn of ~400 "
           "prompt and 16 generated tokens; KVmeas: that peak over the 512 run's plus the 512 "
           "estimate (-1: not comparable); atLoad: what the governor records once loaded (RSS "
           "growth + mapped file); after: RSS left once unloaded and trimmed; tok/s: prompt and "
           "generated tokens per second of the turn)\n");
}

/* ---- the whole stack in memory cgroups -------------------------------------------------- */

static int write_cg(const char *dir, const char *name, const char *text) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int64_t read_cg_key(const char *dir, const char *file, const char *key) {
    char p[1200], line[256];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    int64_t v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') v = strtoll(line + kl + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* Makes <own memory cgroup>/axiom-bench-<pid>-<gb> with the limit (v1 or v2). */
static int cg_make(char *dir, size_t dirlen, int gib, int *version, char *why, size_t whylen) {
    memstat_cgroup own;
    memstat_cgroup_read("", &own);
    *version = own.version;
    char lim[32];
    snprintf(lim, sizeof lim, "%lld", (long long)gib << 30);
    snprintf(dir, dirlen, "%s/axiom-bench-%d-%d", own.dir, (int)getpid(), gib);
    if (own.version != 1 && own.version != 2) {
        snprintf(why, whylen, "no memory cgroup controller is mounted");
        return -1;
    }
    if (mkdir(dir, 0755) != 0 ||
        write_cg(dir, own.version == 1 ? "memory.limit_in_bytes" : "memory.max", lim) != 0) {
        snprintf(why, whylen, "cannot create a memory cgroup %s: %s", dir, strerror(errno));
        rmdir(dir);
        return -1;
    }
    if (own.version == 2) write_cg(dir, "memory.swap.max", "0");
    return 0;
}

static void say_state(governor *g, const char *when) {
    governor_reading r;
    governor_last_reading(g, &r);
    printf("  %-26s level %-8s mode %-13s use %5.1f%% of %5.0f MiB (%s); rss %5.0f MiB; "
           "stt %s tts %s llm %s\n",
           when, governor_level_name(governor_get_level(g)),
           governor_mode_name(governor_effective_mode(g)), r.use_pct, r.budget / MIB,
           r.budget_source, r.rss / MIB,
           component_is_loaded(governor_find(g, "stt")) ? "loaded" : "-",
           component_is_loaded(governor_find(g, "tts")) ? "loaded" : "-",
           component_is_loaded(governor_find(g, "llm")) ? "loaded"
           : governor_usable(g, "llm")                  ? "lazy"
                                                        : "refused");
    fflush(stdout);
}

/* In the cgroup: the seed's stack (Parakeet-CTC-sized recogniser, Kokoro-sized voice,
 * the 1.9 GB LLM read into memory so every byte is charged here) under the governor,
 * a turn, then memory taken until the critical level, then given back. */
static int stack_child(const char *root) {
    char stt_dir[1200], tts_dir[1200], gguf[1200], err[1024];
    snprintf(stt_dir, sizeof stt_dir, "%s/stt-nemo-ctc", root);
    snprintf(tts_dir, sizeof tts_dir, "%s/tts-kokoro", root);
    snprintf(gguf, sizeof gguf, "%s/llm-llama/model.gguf", root);
    const char *kv[] = {"stt.backend",
                        "sherpa",
                        "stt.sherpa_model_dir",
                        stt_dir,
                        "stt.sherpa_model_type",
                        "nemo-ctc",
                        "tts.backend",
                        "sherpa",
                        "tts.sherpa_model_dir",
                        tts_dir,
                        "tts.sherpa_model_type",
                        "kokoro",
                        "llm.backend",
                        "gguf",
                        "llm.gguf",
                        gguf,
                        "llm.mmap",
                        "false",
                        "context_length",
                        "2048",
                        "llm.first_token_timeout_ms",
                        "600000",
                        "llm.total_timeout_ms",
                        "900000",
                        "mem.oom_score_adj",
                        "0",
                        NULL};
    axiom_config *cfg = cfg_of(kv);
    governor *g = cfg ? governor_new(cfg, err, sizeof err) : NULL;
    stt_engine *se = cfg ? stt_engine_new(cfg, NULL, err, sizeof err) : NULL;
    tts_engine *te = cfg ? tts_engine_new(cfg, err, sizeof err) : NULL;
    llm *lm = cfg ? llm_new(cfg, err, sizeof err) : NULL;
    if (!g || !se || !te || !lm) {
        printf("  setup failed: %s\n", err);
        return 2;
    }
    governor_add(g, stt_engine_component(se), stt_engine_expected_bytes(se), err, sizeof err);
    governor_add(g, tts_engine_component(te), tts_engine_expected_bytes(te), err, sizeof err);
    governor_add(g, llm_component(lm), llm_expected_bytes(lm), err, sizeof err);
    printf("  estimates: stt %.0f MiB, tts %.0f MiB, llm %.0f MiB\n",
           stt_engine_expected_bytes(se) / MIB, tts_engine_expected_bytes(te) / MIB,
           llm_expected_bytes(lm) / MIB);
    int64_t t0 = now_us();
    int n = governor_preload(g);
    printf("  preload (order stt, tts, llm): %d of 3 in %.1f s\n", n, (now_us() - t0) / 1e6);
    governor_check(g);
    say_state(g, "after preload");
    reset_peak();
    double r1 = component_is_loaded(governor_find(g, "stt")) ? rtf_stt(se) : -1;
    double tok = governor_usable(g, "llm") ? llm_turn(lm) : -1;
    double r2 = component_is_loaded(governor_find(g, "tts")) ? rtf_tts(te) : -1;
    governor_check(g);
    printf("  a turn (4 s heard, ~400-token prompt, one sentence spoken): stt RTF %.3f, llm "
           "%.1f tok/s, tts RTF %.3f; peak RSS %.0f MiB\n",
           r1, tok, r2, status_kib("VmHWM") / 1024.0);
    say_state(g, "after the turn");
    /* Pressure: take memory 32 MiB at a time (touched, so charged) until critical. */
    enum { CHUNK = 32 << 20, MAXCH = 512 };
    static char *chunk[MAXCH];
    int nch = 0, saw_warn = 0;
    governor_level lvl = governor_get_level(g);
    while (nch < MAXCH && lvl != GOV_LEVEL_CRITICAL) {
        chunk[nch] = malloc(CHUNK);
        if (!chunk[nch]) break;
        memset(chunk[nch], 7, CHUNK);
        nch++;
        lvl = governor_check(g);
        if (lvl == GOV_LEVEL_WARN && !saw_warn) {
            saw_warn = 1;
            char w[64];
            snprintf(w, sizeof w, "warn, +%d MiB taken", nch * 32);
            say_state(g, w);
        }
    }
    char w[64];
    snprintf(w, sizeof w, "%s, +%d MiB taken", governor_level_name(lvl), nch * 32);
    say_state(g, w);
    char why[256] = "";
    int admitted = governor_admit_session(g, why, sizeof why) == 0;
    printf("  new session: %s%s\n", admitted ? "admitted" : "refused: ", admitted ? "" : why);
    while (nch > 0) {
        free(chunk[--nch]);
        chunk[nch] = NULL;
    }
    malloc_trim(0);
    for (int i = 0; i < 3; i++)
        governor_check(g);
    say_state(g, "pressure gone");
    governor_free(g);
    stt_engine_free(se);
    tts_engine_free(te);
    llm_free(lm);
    config_free(cfg);
    return 0;
}

static void bench_stack(const char *root) {
    printf("\n-- the whole stack in memory cgroups (llm.mmap false: the weights are charged to the "
           "cgroup; context_length 2048) --\n");
    static const int gibs[] = {8, 4, 2};
    for (size_t i = 0; i < 3; i++) {
        char dir[1024], why[1200];
        int version;
        if (cg_make(dir, sizeof dir, gibs[i], &version, why, sizeof why) != 0) {
            printf("cgroups: %s; skipped\n", why);
            return;
        }
        printf("%d GiB (cgroup v%d):\n", gibs[i], version);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char p[32];
            snprintf(p, sizeof p, "%d", (int)getpid());
            if (write_cg(dir, "cgroup.procs", p) != 0) _exit(9);
            fflush(stdout);
            _exit(stack_child(root));
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int64_t kills = version == 1 ? read_cg_key(dir, "memory.oom_control", "oom_kill")
                                     : read_cg_key(dir, "memory.events", "oom_kill");
        printf("  child %s; oom_kill %lld\n",
               WIFSIGNALED(st)        ? "KILLED by a signal"
               : WEXITSTATUS(st) == 0 ? "exited 0"
                                      : "failed",
               (long long)kills);
        for (int k = 0; k < 50 && rmdir(dir) != 0 && errno == EBUSY; k++)
            usleep(20000);
    }
}

static void seed_table(void) {
    printf("\n-- the seed's own figures (its documentation; Ollama + sherpa-onnx on an 8 GB "
           "machine) --\n");
    printf("baseline 750 MB; peak 1.2-1.5 GB; alert at 85%%; AXIOM_CONTEXT_LENGTH shrinks the "
           "LLM's context\n");
}

int main(int argc, char **argv) {
    log_set_level(AX_LOG_ERROR);
    char root[1024];
    const char *home = getenv("HOME");
    if (argc > 1)
        str_copy(root, sizeof root, argv[1]);
    else
        snprintf(root, sizeof root, "%s/.cache/axiom/standin/seed", home ? home : "");
    const char *only = argc > 2 ? argv[2] : "";
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("bench_seed: no seed-sized stand-in models in %s.\n"
               "Make them (about 3.5 GB, a few minutes) with:\n"
               "  scripts/make-standin-models --size seed --out %s\n",
               root, root);
        return 0;
    }
    printf("stand-ins: %s; load average at start: ", root);
    FILE *la = fopen("/proc/loadavg", "r");
    char l[64] = "?";
    if (la && fgets(l, sizeof l, la)) l[strcspn(l, "\n")] = '\0';
    if (la) fclose(la);
    printf("%s\n", l);
    if (!*only || strcmp(only, "speech") == 0) bench_speech(root);
    if (!*only || strcmp(only, "llm") == 0) bench_llm(root);
    if (!*only || strcmp(only, "stack") == 0) bench_stack(root);
    seed_table();
    printf("RSS of this process at the end: %.0f MiB (RssAnon %lld KiB, RssFile %lld KiB)\n",
           proc_rss_bytes() / MIB, status_kib("RssAnon"), status_kib("RssFile"));
    return 0;
}
