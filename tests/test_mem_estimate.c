/* Admission before a big load (mem/estimate.h): the GGUF header reader on a real
 * stand-in model and on broken files (bounded reads, clear errors), the estimates
 * against the memory really taken by the tiny stand-ins (scripts/make-standin-models
 * --size tiny, written into a temporary folder), and the governor refusing a load whose
 * estimate crosses the budget, with the reason, degrading to skip-llm. */
#include "check.h"
#include "core/component.h"
#include "core/config.h"
#include "core/util.h"
#include "llm/llm.h"
#include "mem/estimate.h"
#include "mem/governor.h"
#include "speech/sherpa_api.h"
#include "speech/stt.h"
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIB (1024 * 1024)

/* Sanitizers add shadow memory and quarantine to every allocation: the measured
 * growth is then up to twice any real run's, so an estimate may fall further below
 * it there (never further above). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
static const double tolerance = 0.15, tolerance_below = SANITIZED ? 0.75 : 0.15;

static char tmp[256];
static char models[300];
static char gguf[400];
static int have_models;

static axiom_config *cfg_of(const char *const *kv) {
    axiom_config *c = config_new();
    char err[512];
    for (; *kv; kv += 2)
        CHECK_MSG(config_set(c, kv[0], kv[1], CFG_FLAG, NULL, err, sizeof err) == 0, "%s", err);
    return c;
}

static void standins_are_written(void) {
    char cmd[1200], script[512];
    tu_root_path("scripts/make-standin-models", script, sizeof script);
    snprintf(models, sizeof models, "%s/standin", tmp);
    snprintf(cmd, sizeof cmd, "%s --size tiny --out %s >/dev/null", script, models);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "make-standin-models failed (%d): is python3-onnx installed?", rc);
    snprintf(gguf, sizeof gguf, "%s/llm-llama/model.gguf", models);
    struct stat st;
    have_models = rc == 0 && stat(gguf, &st) == 0;
}

/* ---- the header reader ---- */

static void reads_the_tiny_llama_header(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    gguf_meta m;
    char err[512] = "";
    CHECK_MSG(gguf_meta_read(gguf, &m, err, sizeof err) == 0, "%s", err);
    /* make-standin-models --size tiny: embd 64, 2 layers, 4 heads, 4 kv heads, ff 128,
     * context 4096, Llama 2's 32000-token vocabulary. */
    CHECK_STR(m.arch, "llama");
    CHECK(m.version == 2 || m.version == 3);
    CHECK_EQ_INT(m.n_layer, 2);
    CHECK_EQ_INT(m.n_embd, 64);
    CHECK_EQ_INT(m.n_head, 4);
    CHECK_EQ_INT(m.n_head_kv, 4);
    CHECK_EQ_INT(m.key_length, 16);
    CHECK_EQ_INT(m.value_length, 16);
    CHECK_EQ_INT(m.n_ctx_train, 4096);
    CHECK_EQ_INT(m.n_ff, 128);
    CHECK_EQ_INT(m.n_vocab, 32000);
    CHECK(m.n_tensors > 2 * 9);
    /* KV: 2 layers * 2048 positions * (16 + 16) * 4 heads * 2 bytes. */
    CHECK_EQ_INT(estimate_kv_bytes(&m, 2048), 2 * 2048 * 32 * 4 * 2);
    CHECK_EQ_INT(estimate_llm_context(&m, 2048), 2048);
    CHECK_EQ_INT(estimate_llm_context(&m, 1000), 1024);  /* padded to 256 as llama.cpp does */
    CHECK_EQ_INT(estimate_llm_context(&m, 32768), 4096); /* no more than it was trained for */
    llm_estimate e;
    int64_t total = estimate_llm(&m, 1000, 4096, &e);
    CHECK_EQ_INT(total, e.weights + e.kv_cache + e.compute);
    CHECK_EQ_INT(e.weights, 1000);
    CHECK_EQ_INT(e.kv_cache, estimate_kv_bytes(&m, 4096));
}

static void write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK_EQ_INT(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* A little-endian GGUF v3 writer for hand-made headers. */
typedef struct {
    unsigned char b[4096];
    size_t n;
} buf;
static void put(buf *o, const void *p, size_t n) {
    if (o->n + n <= sizeof o->b) memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put_u32(buf *o, uint32_t v) {
    put(o, &v, 4);
}
static void put_u64(buf *o, uint64_t v) {
    put(o, &v, 8);
}
static void put_str(buf *o, const char *s) {
    put_u64(o, strlen(s));
    put(o, s, strlen(s));
}
static void put_kv_u32(buf *o, const char *k, uint32_t v) {
    put_str(o, k);
    put_u32(o, 4);
    put_u32(o, v);
}
static void header(buf *o, uint64_t n_kv) {
    o->n = 0;
    put(o, "GGUF", 4);
    put_u32(o, 3);
    put_u64(o, 0);
    put_u64(o, n_kv);
}

static void broken_files_are_clear_errors(void) {
    char p[400], err[512];
    gguf_meta m;
    snprintf(p, sizeof p, "%s/bad.gguf", tmp);

    write_bytes(p, "", 0);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "shorter than a GGUF header");
    CHECK_CONTAINS(err, p);

    write_bytes(p, "GGML\3\0\0\0", 8);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "no GGUF magic");

    write_bytes(p, "GGUF\1\0\0\0", 8);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "version 1");

    snprintf(err, sizeof err, "untouched");
    CHECK(gguf_meta_read("/nonexistent/x.gguf", &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "cannot open");

    /* A complete small header parses; every cut of it is an error, never a crash or a
     * read past the end. */
    buf o;
    header(&o, 5);
    put_str(&o, "general.architecture");
    put_u32(&o, 8);
    put_str(&o, "llama");
    put_kv_u32(&o, "llama.block_count", 3);
    put_kv_u32(&o, "llama.embedding_length", 96);
    put_kv_u32(&o, "llama.attention.head_count", 6);
    put_str(&o, "llama.attention.head_count_kv"); /* per layer: the largest counts */
    put_u32(&o, 9);
    put_u32(&o, 5);
    put_u64(&o, 3);
    put_u32(&o, 1);
    put_u32(&o, 3);
    put_u32(&o, 2);
    write_bytes(p, o.b, o.n);
    CHECK_MSG(gguf_meta_read(p, &m, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(m.n_layer, 3);
    CHECK_EQ_INT(m.n_head_kv, 3);
    CHECK_EQ_INT(m.key_length, 16);
    CHECK_EQ_INT(m.n_ctx_train, -1);
    CHECK_EQ_INT(m.n_vocab, -1);
    CHECK_EQ_INT(estimate_llm_context(&m, 1000), 1024); /* no trained context: the setting */
    int cuts_failed = 0;
    for (size_t cut = 0; cut < o.n; cut++) {
        write_bytes(p, o.b, cut);
        if (gguf_meta_read(p, &m, err, sizeof err) == -1 && strstr(err, p)) cuts_failed++;
    }
    CHECK_EQ_INT(cuts_failed, o.n);

    /* Lengths and counts beyond the file: refused from the numbers alone. */
    header(&o, 1);
    put_u64(&o, (uint64_t)1 << 62); /* a key "of 4 EiB" */
    write_bytes(p, o.b, o.n);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "past the end of the file");

    header(&o, 1);
    put_str(&o, "tokenizer.ggml.tokens");
    put_u32(&o, 9);
    put_u32(&o, 8);
    put_u64(&o, (uint64_t)1 << 40); /* a trillion strings in a few bytes */
    write_bytes(p, o.b, o.n);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "past the end of the file");

    header(&o, (uint64_t)1 << 50);
    write_bytes(p, o.b, o.n);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "implausible key count");

    header(&o, 1);
    put_str(&o, "x");
    put_u32(&o, 9);
    put_u32(&o, 9); /* an array of arrays */
    put_u64(&o, 1);
    write_bytes(p, o.b, o.n);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "array of arrays");

    header(&o, 1);
    put_str(&o, "x");
    put_u32(&o, 77); /* no such type */
    write_bytes(p, o.b, o.n);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "unknown type");

    /* Well formed, but not a model whose cache can be sized. */
    header(&o, 2);
    put_str(&o, "general.architecture");
    put_u32(&o, 8);
    put_str(&o, "llama");
    put_kv_u32(&o, "llama.embedding_length", 96);
    write_bytes(p, o.b, o.n);
    CHECK(gguf_meta_read(p, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "no usable llama.block_count");
}

/* ---- estimates against measurements ---- */

static int64_t peak_rss_bytes(void) {
    char line[256];
    long long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kib = strtoll(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib * 1024;
}

static void reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static int count_piece(void *user, const char *piece, size_t len) {
    (void)piece;
    (void)len;
    ++*(int *)user;
    return 0;
}

/* Loads the tiny GGUF read into memory (llm.mmap false) and answers one prompt of
 * ~400 tokens; returns the peak RSS growth, and the estimate in *est. */
static int64_t llm_measured(int context_length, int64_t *est) {
    char ctx[16];
    snprintf(ctx, sizeof ctx, "%d", context_length);
    const char *kv[] = {"llm.backend", "gguf",     "llm.gguf", gguf, "context_length",
                        ctx,           "llm.mmap", "false",    NULL};
    axiom_config *cfg = cfg_of(kv);
    char err[512];
    llm *m = llm_new(cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    int64_t grew = -1;
    if (m) {
        *est = llm_expected_bytes(m);
        reset_peak();
        int64_t before = proc_rss_bytes();
        CHECK_MSG(component_load(llm_component(m), err, sizeof err) == 0, "%s", err);
        static char prompt[2400];
        size_t n = 0;
        while (n + 64 < sizeof prompt)
            n += (size_t)snprintf(prompt + n, sizeof prompt - n,
                                  "The robot checks dock %zu and reports. ", n % 97);
        llm_message msg[1] = {{"user", prompt}};
        llm_options o = {.max_tokens = 8, .temperature = 0};
        llm_result r;
        int pieces = 0;
        CHECK_MSG(llm_chat(m, msg, 1, &o, count_piece, &pieces, NULL, &r, err, sizeof err) == 0,
                  "%s", err);
        CHECK(r.prompt_tokens > 300);
        grew = peak_rss_bytes() - before;
    }
    llm_free(m);
    config_free(cfg);
    return grew;
}

static void llm_estimate_matches_measurement(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    int64_t est = 0;
    llm_measured(1024, &est); /* opens libllama and ggml, which stay: not the model's cost */
    static const int ctxs[] = {1024, 4096};
    for (size_t i = 0; i < 2; i++) {
        int64_t got = llm_measured(ctxs[i], &est);
        double off = got > 0 ? (double)(est - got) / (double)got : 1;
        fprintf(stderr,
                "  tiny llama, context %d: estimate %.1f MiB, measured %.1f MiB (%+.0f%%)\n",
                ctxs[i], (double)est / MIB, (double)got / MIB, off * 100);
        CHECK_MSG(off > -tolerance_below && off < tolerance,
                  "context %d: estimate %lld, measured %lld", ctxs[i], (long long)est,
                  (long long)got);
    }
}

/* With llm.mmap the file's pages are counted once: in mapped_bytes, not again in the
 * resident growth of the load (which read them), so what the governor records after
 * a load stays near the estimate and a reload after an idle unload is not refused. */
static void mapped_model_is_counted_once(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    const char *kv[] = {"llm.backend", "gguf",     "llm.gguf", gguf, "context_length",
                        "2048",        "llm.mmap", "true",     NULL};
    axiom_config *cfg = cfg_of(kv);
    char err[512];
    llm *m = llm_new(cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (m) {
        int64_t est = llm_expected_bytes(m);
        CHECK_MSG(component_load(llm_component(m), err, sizeof err) == 0, "%s", err);
        component_info ci;
        component_get_info(llm_component(m), &ci);
        struct stat st;
        CHECK(stat(gguf, &st) == 0);
        CHECK_EQ_INT(ci.mapped_bytes, st.st_size);
        int64_t recorded = ci.resident_bytes + ci.mapped_bytes;
        fprintf(stderr,
                "  tiny llama mapped: estimate %.1f MiB, recorded %.1f MiB (resident %.1f)\n",
                (double)est / MIB, (double)recorded / MIB, (double)ci.resident_bytes / MIB);
        /* Counted twice, it would be over the estimate by about the file's size; the
         * bound is half of that, so a sanitizer's overhead does not trip it. */
        CHECK_MSG(recorded < est + st.st_size / 2, "recorded %lld, estimate %lld, file %lld",
                  (long long)recorded, (long long)est, (long long)st.st_size);
        CHECK(ci.resident_bytes < st.st_size);
    }
    llm_free(m);
    config_free(cfg);
}

static void onnx_estimate_matches_measurement(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    /* The first sherpa-onnx load of the process: the tiny recogniser's weights are a
     * few hundred KB, so this is mostly the runtime, which every estimate of a first
     * load includes. Later loads of tiny folders grow RSS by about 1 MiB: too little to
     * compare, so only their lower bound is checked. */
    CHECK(!sherpa_api_is_open());
    char dir[400];
    snprintf(dir, sizeof dir, "%s/stt-nemo-ctc", models);
    const char *kv[] = {
        "stt.backend", "sherpa", "stt.sherpa_model_dir", dir, "stt.sherpa_model_type",
        "nemo-ctc",    NULL};
    axiom_config *cfg = cfg_of(kv);
    char err[512];
    stt_engine *e = stt_engine_new(cfg, NULL, err, sizeof err);
    CHECK_MSG(e != NULL, "%s", err);
    if (e) {
        int64_t est = stt_engine_expected_bytes(e);
        onnx_estimate parts;
        CHECK_EQ_INT(estimate_onnx_dir(dir, ONNX_RECOGNISER, 1, &parts, err, sizeof err), est);
        CHECK(parts.runtime > 0 && parts.onnx_bytes > 100000);
        CHECK_MSG(component_load(stt_engine_component(e), err, sizeof err) == 0, "%s", err);
        component_info ci;
        component_get_info(stt_engine_component(e), &ci);
        double off = (double)(est - ci.resident_bytes) / (double)ci.resident_bytes;
        fprintf(stderr,
                "  tiny nemo-ctc, first load: estimate %.1f MiB, measured %.1f MiB (%+.0f%%)\n",
                (double)est / MIB, (double)ci.resident_bytes / MIB, off * 100);
        CHECK_MSG(off > -tolerance_below && off < tolerance, "estimate %lld, measured %lld",
                  (long long)est, (long long)ci.resident_bytes);
        CHECK(sherpa_api_is_open());
        /* The runtime is open now: the next estimate leaves it out. */
        CHECK_EQ_INT(stt_engine_expected_bytes(e), est - parts.runtime);
    }
    stt_engine_free(e);
    config_free(cfg);
    onnx_estimate none;
    snprintf(dir, sizeof dir, "%s/llm-llama", models);
    CHECK(estimate_onnx_dir(dir, ONNX_RECOGNISER, 0, &none, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "no .onnx model file");
}

/* ---- the governor's admission ---- */

static void governor_refuses_what_the_estimate_says_will_not_fit(void) {
    if (!have_models) SKIP("stand-in models were not written (see standins_are_written)");
    /* A context of 4096 on the tiny model: ~28 MiB. The budget leaves 10 MiB below the
     * critical level (95%): the load is refused before it starts, and the answers
     * degrade to skip-llm with the reason. */
    int64_t rss = proc_rss_bytes();
    char mb[32];
    snprintf(mb, sizeof mb, "%lld", (long long)((double)(rss + 10 * MIB) / 0.95 / MIB));
    const char *kv[] = {"llm.backend",
                        "gguf",
                        "llm.gguf",
                        gguf,
                        "context_length",
                        "4096",
                        "mem.budget_mb",
                        mb,
                        "mem.oom_score_adj",
                        "0",
                        NULL};
    axiom_config *cfg = cfg_of(kv);
    char err[512];
    governor *g = governor_new(cfg, err, sizeof err);
    llm *m = llm_new(cfg, err, sizeof err);
    CHECK(g && m);
    if (g && m) {
        int64_t est = llm_expected_bytes(m);
        CHECK(est > 20 * MIB && est < 40 * MIB);
        CHECK(governor_add(g, llm_component(m), est, err, sizeof err) == 0);
        CHECK_EQ_INT(governor_preload(g), 0);
        CHECK(!component_is_loaded(llm_component(m)));
        CHECK_EQ_INT(governor_effective_mode(g), GOV_MODE_SKIP_LLM);
        CHECK(component_acquire(llm_component(m), err, sizeof err) == -1);
        char want[64];
        snprintf(want, sizeof want, "needs ~%.0f MiB", (double)est / MIB);
        CHECK_CONTAINS(err, want);
        CHECK_CONTAINS(err, "budget (config)");
        CHECK(governor_load_one(g, "llm", err, sizeof err) == -1);
        governor_remove(g, llm_component(m));
    }
    governor_free(g);
    llm_free(m);
    config_free(cfg);

    /* The same model with room to spare loads. */
    snprintf(mb, sizeof mb, "%lld", (long long)(proc_rss_bytes() / MIB + 200));
    const char *kv2[] = {"llm.backend",
                         "gguf",
                         "llm.gguf",
                         gguf,
                         "context_length",
                         "4096",
                         "mem.budget_mb",
                         mb,
                         "mem.oom_score_adj",
                         "0",
                         NULL};
    cfg = cfg_of(kv2);
    g = governor_new(cfg, err, sizeof err);
    m = llm_new(cfg, err, sizeof err);
    CHECK(g && m);
    if (g && m) {
        CHECK(governor_add(g, llm_component(m), llm_expected_bytes(m), err, sizeof err) == 0);
        CHECK_EQ_INT(governor_preload(g), 1);
        CHECK_EQ_INT(governor_effective_mode(g), GOV_MODE_FULL);
        governor_remove(g, llm_component(m));
    }
    governor_free(g);
    llm_free(m);
    config_free(cfg);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) {
        fprintf(stderr, "cannot make a temporary folder\n");
        return 1;
    }
    RUN(standins_are_written);
    RUN(reads_the_tiny_llama_header);
    RUN(broken_files_are_clear_errors);
    RUN(onnx_estimate_matches_measurement);
    RUN(llm_estimate_matches_measurement);
    RUN(mapped_model_is_counted_once);
    RUN(governor_refuses_what_the_estimate_says_will_not_fit);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
