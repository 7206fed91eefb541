/* LLM benchmark: what AXIOM itself costs per streamed token, apart from the model.
 *   1. parsers alone: an Ollama NDJSON line and an OpenAI SSE event, per chunk;
 *   2. in process (llama.cpp, ../shared/models/stories260K.gguf): AXIOM's time per token
 *      (piece conversion, UTF-8 hold-back, bookkeeping; the callback excluded) vs the
 *      model's time per token; the loaded model's memory as the governor measures it
 *      vs the GGUF file size;
 *   3. against a real llama-server (cached build, see scripts/build-llama-server.sh):
 *      AXIOM's time per token (HTTP read callback, SSE + JSON parsing) vs wall time;
 *   4. time to the first spoken sentence: from the first sentence-ending token through
 *      the brain's sentence splitter to flite's audio for that sentence (target: at
 *      most 30 ms of AXIOM's time beyond synthesis).
 * Target: <= 20 us of AXIOM overhead per token. Prints medians and p95; exits 0,
 * printing why a part was skipped. */
#include "core/component.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "llm/llm.h"
#include "llm/llm_stream.h"

#include "../tests/support/llama_server_proc.h"
#include "brain/speech_text.h"
#include "speech/tts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RUNS 7

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double pct(double *v, int n, double p) {
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static int count_piece(void *user, const char *p, size_t len) {
    (void)p;
    *(size_t *)user += len;
    return 0;
}

static int on_line(void *user, char *s, size_t len) {
    llm_chunk c;
    llm_ollama_chunk_parse(s, len, &c);
    *(size_t *)user += c.text_len;
    llm_chunk_clear(&c);
    return 0;
}
static int on_event(void *user, const char *s, size_t len) {
    llm_chunk c;
    llm_openai_chunk_parse(s, len, &c);
    *(size_t *)user += c.text_len;
    llm_chunk_clear(&c);
    return 0;
}

static void bench_parsers(void) {
    const char *line =
        "{\"model\":\"llama3.2:1b\",\"created_at\":\"2026-11-27T10:00:00.123456Z\",\"message\":"
        "{\"role\":\"assistant\",\"content\":\" token\"},\"done\":false}\n";
    const char *event =
        "data: "
        "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion.chunk\",\"created\":1764237600,"
        "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},"
        "\"finish_reason\":null}]}\n\n";
    enum { N = 20000 };
    double a[RUNS], b[RUNS];
    size_t sink = 0;
    for (int r = 0; r < RUNS; r++) {
        llm_lines l = {0};
        int64_t t0 = now_us();
        for (int i = 0; i < N; i++)
            llm_lines_feed(&l, line, strlen(line), on_line, &sink);
        a[r] = (double)(now_us() - t0) / N;
        llm_lines_free(&l);
        llm_sse s;
        llm_sse_init(&s, on_event, &sink);
        t0 = now_us();
        for (int i = 0; i < N; i++)
            llm_sse_feed(&s, event, strlen(event));
        b[r] = (double)(now_us() - t0) / N;
        llm_sse_free(&s);
    }
    printf("parse per chunk: ollama ndjson median %.2f us (p95 %.2f), openai sse median %.2f us "
           "(p95 %.2f)\n",
           pct(a, RUNS, 0.5), pct(a, RUNS, 0.95), pct(b, RUNS, 0.5), pct(b, RUNS, 0.95));
}

typedef struct {
    double overhead_per_tok[RUNS], model_per_tok[RUNS], first_ms[RUNS];
    int tokens;
} run_figs;

static int run_chats(llm *m, int max_tokens, run_figs *f, char *err, size_t errlen) {
    static const llm_message msgs[] = {
        {"user", "Once upon a time, there was a little dog named Max."}};
    llm_options o = {.max_tokens = max_tokens};
    for (int r = 0; r < RUNS; r++) {
        size_t bytes = 0;
        llm_result res;
        if (llm_chat(m, msgs, 1, &o, count_piece, &bytes, NULL, &res, err, errlen) != 0) return -1;
        int t = res.tokens > 0 ? res.tokens : 1;
        f->overhead_per_tok[r] = (double)res.overhead_us / t;
        f->model_per_tok[r] = (res.total_ms * 1000.0 - res.overhead_us - res.callback_us) / t;
        f->first_ms[r] = (double)res.first_token_ms;
        f->tokens = res.tokens;
    }
    return 0;
}

static void print_figs(const char *name, run_figs *f) {
    printf("%s: %d tokens per answer; AXIOM overhead per token median %.2f us (p95 %.2f); "
           "backend per token median %.0f us; first token median %.0f ms\n",
           name, f->tokens, pct(f->overhead_per_tok, RUNS, 0.5),
           pct(f->overhead_per_tok, RUNS, 0.95), pct(f->model_per_tok, RUNS, 0.5),
           pct(f->first_ms, RUNS, 0.5));
}

static axiom_config *base_cfg(const char *backend) {
    axiom_config *c = config_new();
    char err[256];
    config_set(c, "llm.backend", backend, CFG_FLAG, "bench", err, sizeof err);
    config_set(c, "llm.temperature", "0", CFG_FLAG, "bench", err, sizeof err);
    config_set(c, "llm.threads", "1", CFG_FLAG, "bench", err, sizeof err);
    config_set(c, "llm.total_timeout_ms", "60000", CFG_FLAG, "bench", err, sizeof err);
    config_set(c, "llm.first_token_timeout_ms", "30000", CFG_FLAG, "bench", err, sizeof err);
    return c;
}

static void bench_in_process(const char *model) {
    axiom_config *c = base_cfg("gguf");
    char err[512];
    config_set(c, "llm.gguf", model, CFG_FLAG, "bench", err, sizeof err);
    llm *m = llm_new(c, err, sizeof err);
    if (!m) {
        printf("in process: skipped: %s\n", err);
        config_free(c);
        return;
    }
    run_figs f;
    if (run_chats(m, 200, &f, err, sizeof err) != 0)
        printf("in process: failed: %s\n", err);
    else
        print_figs("in process (llama.cpp, stories260K, 1 thread)", &f);
    component_info info;
    component_get_info(llm_component(m), &info);
    struct stat st;
    stat(model, &st);
    int64_t rss_loaded = proc_rss_bytes();
    int64_t drop = component_unload(llm_component(m));
    int64_t rss_unloaded = proc_rss_bytes();
    /* The first load also opened libllama (which stays); a second load is the model alone. */
    component_load(llm_component(m), err, sizeof err);
    component_info again;
    component_get_info(llm_component(m), &again);
    printf("memory: GGUF file %.2f MiB, %.2f MiB mapped; governor measured +%.2f MiB resident at "
           "the first load "
           "(libllama included), +%.2f MiB at a reload (model, context of %lld tokens, buffers); "
           "unload released "
           "%.2f MiB (RSS %.1f -> %.1f MiB)\n",
           st.st_size / 1048576.0, info.mapped_bytes / 1048576.0, info.resident_bytes / 1048576.0,
           again.resident_bytes / 1048576.0, config_int(c, "context_length"), drop / 1048576.0,
           rss_loaded / 1048576.0, rss_unloaded / 1048576.0);
    llm_free(m);
    config_free(c);
}

/* From the LLM's first sentence-ending token to the first sentence leaving the
 * splitter (what the brain hands to TTS): the splitter may wait for the next token to
 * be sure a '.' ends a sentence, which is model time, so both the wall time and
 * AXIOM's own time (splitter calls) are shown. */
typedef struct {
    sentence_splitter *sp;
    tts_engine *tts;
    int64_t t_end_token, t_emitted, t_audio, split_us, synth_us;
    int emitted;
} first_sentence;

/* The brain hands the sentence to TTS at once; here the TTS engine (flite, its
 * default voice) makes its audio. */
static void on_sentence(void *user, const char *sentence) {
    first_sentence *f = user;
    if (f->emitted) return;
    f->emitted = 1;
    f->t_emitted = now_us();
    if (f->tts) {
        tts_audio a;
        char err[256];
        int rc = tts_synth(f->tts, sentence, NULL, 16000, NULL, &a, err, sizeof err);
        f->t_audio = now_us();
        f->synth_us = f->t_audio - f->t_emitted;
        if (rc == 0) tts_audio_clear(&a);
    }
}

static int feed_splitter(void *user, const char *p, size_t len) {
    first_sentence *f = user;
    if (!f->t_end_token && (memchr(p, '.', len) || memchr(p, '!', len) || memchr(p, '?', len)))
        f->t_end_token = now_us();
    int64_t t0 = now_us();
    if (!f->emitted) splitter_feed(f->sp, p, len, on_sentence, f);
    if (!f->emitted)
        f->split_us += now_us() - t0;
    else if (f->t_emitted >= t0 && !f->split_us)
        f->split_us += f->t_emitted - t0;
    return 0;
}

static void bench_first_sentence(const char *model) {
    axiom_config *c = base_cfg("gguf");
    char err[512];
    config_set(c, "llm.gguf", model, CFG_FLAG, "bench", err, sizeof err);
    llm *m = llm_new(c, err, sizeof err);
    if (!m) {
        printf("first sentence: skipped: %s\n", err);
        config_free(c);
        return;
    }
    static const llm_message msgs[] = {
        {"user", "Once upon a time, there was a little dog named Max."}};
    llm_options o = {.max_tokens = 120};
    double wall[RUNS], own[RUNS], spoken[RUNS], synth[RUNS];
    int n = 0;
    tts_engine *tts = tts_engine_new(c, err, sizeof err);
    if (tts && component_load(tts_engine_component(tts), err, sizeof err) != 0) {
        tts_engine_free(tts);
        tts = NULL;
    }
    for (int r = 0; r < RUNS; r++) {
        first_sentence f = {.sp = splitter_new(0), .tts = tts};
        llm_result res;
        if (llm_chat(m, msgs, 1, &o, feed_splitter, &f, NULL, &res, err, sizeof err) == 0 &&
            f.emitted && f.t_end_token) {
            wall[n] = (f.t_emitted - f.t_end_token) / 1000.0;
            own[n] = f.split_us / 1000.0;
            spoken[n] = (f.t_audio - f.t_end_token) / 1000.0;
            synth[n] = f.synth_us / 1000.0;
            n++;
        }
        splitter_free(f.sp);
    }
    if (n) {
        printf(
            "first sentence (in process): sentence-ending token -> sentence out of the splitter "
            "median %.2f ms "
            "wall (p95 %.2f, includes waiting for the next token), splitter's own time %.3f ms\n",
            pct(wall, n, 0.5), pct(wall, n, 0.95), pct(own, n, 0.5));
        /* pct sorts in place: copy before reusing arrays. */
        double over[RUNS];
        for (int i = 0; i < n; i++)
            over[i] = spoken[i] - synth[i];
        printf("first spoken sentence: sentence-ending token -> audio ready (flite, default voice) "
               "median %.2f ms (p95 %.2f), "
               "of which synthesis %.2f ms; AXIOM beyond TTS median %.2f ms (target <= 30 ms)\n",
               pct(spoken, n, 0.5), pct(spoken, n, 0.95), pct(synth, n, 0.5), pct(over, n, 0.5));
    } else
        printf("first sentence: no sentence ended within 120 tokens (%s)\n", err);
    tts_engine_free(tts);
    llm_free(m);
    config_free(c);
}

static void bench_server(const char *model) {
    char bin[4096], why[512];
    if (lsp_find(bin, sizeof bin, why, sizeof why) != 0) {
        printf("llama-server: skipped: %s\n", why);
        return;
    }
    lsp s;
    if (lsp_start(&s, bin, model, 2048, NULL, 30000, why, sizeof why) != 0) {
        printf("llama-server: skipped: %s\n", why);
        lsp_stop(&s);
        return;
    }
    axiom_config *c = base_cfg("openai");
    char url[64], err[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", s.port);
    config_set(c, "llm.url", url, CFG_FLAG, "bench", err, sizeof err);
    llm *m = llm_new(c, err, sizeof err);
    run_figs f;
    if (!m)
        printf("llama-server: failed: %s\n", err);
    else if (run_chats(m, 200, &f, err, sizeof err) != 0)
        printf("llama-server: failed: %s\n", err);
    else
        print_figs("llama-server over HTTP/SSE (stories260K, 1 thread)", &f);
    llm_free(m);
    config_free(c);
    lsp_stop(&s);
}

int main(void) {
    log_set_level(AX_LOG_WARN);
    bench_parsers();
    char model[4096];
    snprintf(model, sizeof model, "%s/../shared/models/stories260K.gguf", axiom_root_dir());
    struct stat st;
    if (stat(model, &st) != 0) {
        printf("in process and llama-server: skipped: %s is absent\n", model);
        return 0;
    }
    bench_in_process(model);
    bench_first_sentence(model);
    bench_server(model);
    printf("target: <= 20 us of AXIOM overhead per token\n");
    return 0;
}
