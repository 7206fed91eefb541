/* The in-process llama.cpp backend against a real trained tiny model,
 * ../shared/models/stories260K.gguf (skipped with a message when absent): streaming,
 * the max_tokens limit, cancellation (flag and callback), context overflow, the real
 * tokenizer, unload releasing memory as the governor measures it, and the degraded
 * cases (missing library, missing, non-GGUF, corrupt model, refused by the budget).
 * The model writes children's stories: the checks are about mechanics, not content. */
#include "check.h"
#include "core/component.h"
#include "core/config.h"
#include "core/util.h"
#include "llm/llm.h"
#include "support/testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char model_path[4096];

static axiom_config *cfg_for(const char *gguf, const char *const *kv) {
    axiom_config *c = config_new();
    char err[256];
    CHECK(config_set(c, "llm.backend", "gguf", CFG_FLAG, "test", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.gguf", gguf, CFG_FLAG, "test", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.temperature", "0", CFG_FLAG, "test", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.threads", "1", CFG_FLAG, "test", err, sizeof err) == 0);
    for (; kv && kv[0]; kv += 2)
        CHECK_MSG(config_set(c, kv[0], kv[1], CFG_FLAG, "test", err, sizeof err) == 0, "%s", err);
    return c;
}

typedef struct {
    char text[65536];
    size_t len;
    int calls;
    int stop_after;          /* callback returns non-zero after this many pieces; 0 = never */
    atomic_int *cancel_flag; /* set after stop_after pieces instead, when non-NULL */
    int bad_utf8;
} sink;

/* 1 when s[0..n) is well-formed UTF-8. */
static int utf8_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

static int on_piece(void *user, const char *p, size_t len) {
    sink *s = user;
    if (!utf8_ok(p, len)) s->bad_utf8++;
    if (s->len + len < sizeof s->text) {
        memcpy(s->text + s->len, p, len);
        s->len += len;
        s->text[s->len] = '\0';
    }
    s->calls++;
    if (s->stop_after && s->calls >= s->stop_after) {
        if (s->cancel_flag)
            *s->cancel_flag = 1;
        else
            return 1;
    }
    return 0;
}

static const llm_message story[] = {
    {"user", "Once upon a time, there was a little girl named Lily."}};

static int have_model(void) {
    return tu_shared_path("models/stories260K.gguf", model_path, sizeof model_path) != NULL;
}

/* Must run first: once libllama is open it stays open for the process. */
static void test_missing_library_degrades(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    const char *kv[] = {"llm.lib_dir", "/nonexistent/llama-libs", NULL};
    axiom_config *c = cfg_for(model_path, kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    llm_result r;
    sink s = {0};
    CHECK(llm_chat(m, story, 1, NULL, on_piece, &s, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "cannot open libllama");
    CHECK_CONTAINS(err, "llm.lib_dir");
    CHECK_EQ_INT(r.finish, LLM_FINISH_ERROR);
    CHECK_EQ_INT(s.calls, 0);
    component_info info;
    component_get_info(llm_component(m), &info);
    CHECK_EQ_INT(info.loaded, 0);
    CHECK_EQ_INT(info.fail_count, 1);
    llm_free(m);
    config_free(c);
}

static void test_streams_tokens(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    const char *kv[] = {"llm.max_tokens", "40", NULL};
    axiom_config *c = cfg_for(model_path, kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    CHECK_STR(llm_backend_name(m), "gguf");
    CHECK_EQ_INT(component_is_loaded(llm_component(m)), 0); /* lazy: nothing loaded yet */
    sink s = {0};
    llm_result r;
    int rc = llm_chat(m, story, 1, NULL, on_piece, &s, NULL, &r, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    CHECK(component_is_loaded(llm_component(m)));
    CHECK(s.calls > 3);
    CHECK_EQ_INT(r.tokens, s.calls);
    CHECK(r.tokens <= 40);
    CHECK(r.finish == LLM_FINISH_STOP || r.finish == LLM_FINISH_LENGTH);
    CHECK(r.first_token_ms >= 0 && r.first_token_ms <= r.total_ms);
    CHECK(r.prompt_tokens > 5);
    CHECK_EQ_INT(s.bad_utf8, 0);
    CHECK(strlen(s.text) > 5);
    /* Greedy decoding is deterministic: the same prompt gives the same story. */
    sink s2 = {0};
    CHECK(llm_chat(m, story, 1, NULL, on_piece, &s2, NULL, &r, err, sizeof err) == 0);
    CHECK_STR(s2.text, s.text);
    fprintf(stderr, "  story: %.120s\n", s.text);
    llm_free(m);
    config_free(c);
}

static void test_stops_at_limit(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    axiom_config *c = cfg_for(model_path, NULL);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    llm_options o = {.max_tokens = 5};
    sink s = {0};
    llm_result r;
    CHECK(llm_chat(m, story, 1, &o, on_piece, &s, NULL, &r, err, sizeof err) == 0);
    CHECK_EQ_INT(r.finish, LLM_FINISH_LENGTH);
    CHECK(r.tokens <= 5 && r.tokens >= 1);
    CHECK_EQ_INT(s.calls, r.tokens);
    llm_free(m);
    config_free(c);
}

static void test_cancel_by_flag_and_callback(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    const char *kv[] = {"llm.max_tokens", "500", NULL};
    axiom_config *c = cfg_for(model_path, kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    atomic_int cancel = 0;
    sink s = {.stop_after = 3, .cancel_flag = &cancel};
    llm_result r;
    CHECK(llm_chat(m, story, 1, NULL, on_piece, &s, &cancel, &r, err, sizeof err) == 0);
    CHECK_EQ_INT(r.finish, LLM_FINISH_CANCEL);
    CHECK_EQ_INT(s.calls, 3); /* nothing is delivered after the flag is seen */
    /* The callback itself can stop the answer. */
    sink s2 = {.stop_after = 2};
    CHECK(llm_chat(m, story, 1, NULL, on_piece, &s2, NULL, &r, err, sizeof err) == 0);
    CHECK_EQ_INT(r.finish, LLM_FINISH_CANCEL);
    CHECK_EQ_INT(s2.calls, 2);
    /* Cancelled before it starts: no piece at all. */
    cancel = 1;
    sink s3 = {0};
    CHECK(llm_chat(m, story, 1, NULL, on_piece, &s3, &cancel, &r, err, sizeof err) == 0);
    CHECK_EQ_INT(r.finish, LLM_FINISH_CANCEL);
    CHECK_EQ_INT(s3.calls, 0);
    llm_free(m);
    config_free(c);
}

typedef struct {
    atomic_int *flag;
    int ms;
} canceller;

static void *cancel_later(void *arg) {
    canceller *cl = arg;
    struct timespec ts = {cl->ms / 1000, (cl->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    *cl->flag = 1;
    return NULL;
}

/* Barge-in: another thread raises the flag while tokens stream. */
static void test_cancel_from_another_thread(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    const char *kv[] = {"llm.max_tokens", "8192", "context_length", "8192", "llm.total_timeout_ms",
                        "120000",         NULL};
    axiom_config *c = cfg_for(model_path, kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    atomic_int cancel = 0;
    canceller cl = {&cancel, 150};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &cl);
    sink s = {0};
    llm_result r;
    int rc = llm_chat(m, story, 1, NULL, on_piece, &s, &cancel, &r, err, sizeof err);
    pthread_join(th, NULL);
    CHECK_MSG(rc == 0, "%s", err);
    /* The tiny model may end its story before the flag: both are fine, a hang is not. */
    CHECK(r.finish == LLM_FINISH_CANCEL || r.finish == LLM_FINISH_STOP);
    CHECK(r.tokens < 8192);
    fprintf(stderr, "  finish %s after %d tokens, %lld ms\n", llm_finish_name(r.finish), r.tokens,
            (long long)r.total_ms);
    llm_free(m);
    config_free(c);
}

typedef struct {
    llm *m;
    int rc, tokens;
    sink s;
} session_run;

static void *run_session(void *arg) {
    session_run *r = arg;
    llm_result res;
    char err[256];
    llm_options o = {.max_tokens = 60};
    r->rc = llm_chat(r->m, story, 1, &o, on_piece, &r->s, NULL, &res, err, sizeof err);
    r->tokens = res.tokens;
    return NULL;
}

/* Two sessions answer at once (the in-process model takes them in turn) while a third
 * thread counts tokens for its prompt. */
static void test_sessions_at_once(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    axiom_config *c = cfg_for(model_path, NULL);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    CHECK(component_load(llm_component(m), err, sizeof err) == 0);
    session_run a = {.m = m}, b = {.m = m};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, run_session, &a);
    pthread_create(&tb, NULL, run_session, &b);
    int counted = 0;
    for (int i = 0; i < 50; i++)
        counted += llm_count_tokens(m, "Once upon a time") > 0;
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_EQ_INT(a.rc, 0);
    CHECK_EQ_INT(b.rc, 0);
    CHECK(a.tokens > 0 && b.tokens > 0);
    CHECK_STR(a.s.text, b.s.text); /* greedy, same prompt: the queue did not mix them up */
    CHECK_EQ_INT(counted, 50);
    llm_free(m);
    config_free(c);
}

static void test_context_overflow(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    /* llama.cpp rounds the window up to a multiple of 256. */
    const char *kv[] = {"context_length", "256", "llm.max_tokens", "500", NULL};
    axiom_config *c = cfg_for(model_path, kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    /* A prompt longer than the whole window is refused with the reason... */
    char big[8192] = "";
    for (int i = 0; i < 300; i++)
        strcat(big, "The cat sat. ");
    llm_message msgs[] = {{"user", big}};
    sink s = {0};
    llm_result r;
    CHECK(llm_chat(m, msgs, 1, NULL, on_piece, &s, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "context window is 256");
    CHECK_CONTAINS(err, "context_length");
    CHECK_EQ_INT(r.finish, LLM_FINISH_ERROR);
    CHECK_EQ_INT(s.calls, 0);
    /* ...and an answer that runs into the end of the window stops there. */
    char mid[2048] = "";
    for (int i = 0; i < 45; i++)
        strcat(mid, "Tom ran. ");
    llm_message m2[] = {{"user", mid}};
    sink s2 = {0};
    CHECK_MSG(llm_chat(m, m2, 1, NULL, on_piece, &s2, NULL, &r, err, sizeof err) == 0, "%s", err);
    CHECK(r.finish == LLM_FINISH_LENGTH || r.finish == LLM_FINISH_STOP);
    CHECK(r.prompt_tokens > 150);
    CHECK(r.prompt_tokens + r.tokens <= 256);
    fprintf(stderr, "  prompt %d + answer %d tokens, finish %s\n", r.prompt_tokens, r.tokens,
            llm_finish_name(r.finish));
    /* The model is still usable afterwards. */
    sink s3 = {0};
    CHECK(llm_chat(m, story, 1, NULL, on_piece, &s3, NULL, &r, err, sizeof err) == 0);
    CHECK(s3.calls > 0);
    llm_free(m);
    config_free(c);
}

static void test_token_count(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    axiom_config *c = cfg_for(model_path, NULL);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    const char *text =
        "Once upon a time, there was a little girl named Lily. She loved to play outside.";
    int est = llm_count_tokens(m, text); /* not loaded: the documented estimate */
    CHECK_EQ_INT(est, (int)((strlen(text) + 3) / 4));
    CHECK(component_load(llm_component(m), err, sizeof err) == 0);
    int real = llm_count_tokens(m, text);
    CHECK(real > 5 && real < (int)strlen(text));
    CHECK_EQ_INT(llm_count_tokens(m, ""), 0);
    fprintf(stderr, "  tokens: real %d, estimate %d\n", real, est);
    llm_free(m);
    config_free(c);
}

/* The governor's view: loading costs memory, unloading gives it back. A large context
 * makes the KV cache (the part that is not file-backed) big enough to measure. */
static void test_unload_releases_memory(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    const char *kv[] = {"context_length", "32768", NULL};
    axiom_config *c = cfg_for(model_path, kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    axiom_component *comp = llm_component(m);
    /* First load opens the library too (it stays); measure the second cycle. */
    CHECK(component_load(comp, err, sizeof err) == 0);
    component_unload(comp);
    CHECK_EQ_INT(component_is_loaded(comp), 0);
    int64_t before = proc_rss_bytes();
    CHECK_MSG(component_load(comp, err, sizeof err) == 0, "%s", err);
    sink s = {0};
    llm_result r;
    llm_options o = {.max_tokens = 8};
    CHECK(llm_chat(m, story, 1, &o, on_piece, &s, NULL, &r, err, sizeof err) == 0);
    int64_t loaded = proc_rss_bytes();
    component_info info;
    component_get_info(comp, &info);
    CHECK(info.resident_bytes > 0);
    CHECK(info.mapped_bytes > 1000000); /* the 1.2 MB file, mapped */
    int64_t drop = component_unload(comp);
    int64_t after = proc_rss_bytes();
    fprintf(stderr,
            "  rss before load %.1f MiB, loaded %.1f MiB, after unload %.1f MiB (drop %.1f MiB)\n",
            before / 1048576.0, loaded / 1048576.0, after / 1048576.0, drop / 1048576.0);
    CHECK(drop > 1 << 20);
    CHECK(after < loaded);
    CHECK_EQ_INT(component_is_loaded(comp), 0);
    /* Idle unloading: after mem.llm_idle_unload_s (300 s by default) without use. */
    CHECK(component_load(comp, err, sizeof err) == 0);
    component_unload_if_idle(comp, now_ms() + 10000);
    CHECK_EQ_INT(component_is_loaded(comp), 1);
    component_unload_if_idle(comp, now_ms() + 301000);
    CHECK_EQ_INT(component_is_loaded(comp), 0);
    /* Lazy again: the next answer loads it back. */
    sink s2 = {0};
    CHECK(llm_chat(m, story, 1, &o, on_piece, &s2, NULL, &r, err, sizeof err) == 0);
    CHECK(component_is_loaded(comp));
    llm_free(m);
    config_free(c);
}

static void test_bad_model_files(void) {
    char dir[512], p[600], err[512];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    /* Missing file: refused at creation with the path and the fix. */
    snprintf(p, sizeof p, "%s/none.gguf", dir);
    axiom_config *c = cfg_for(p, NULL);
    CHECK(llm_new(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "none.gguf");
    CHECK_CONTAINS(err, "no such file");
    config_free(c);
    /* Not a GGUF file. */
    snprintf(p, sizeof p, "%s/notes.gguf", dir);
    CHECK(tu_write_file(p, "these are not weights\n") == 0);
    c = cfg_for(p, NULL);
    llm *m = llm_new(c, err, sizeof err);
    CHECK(m != NULL);
    llm_result r;
    if (m) {
        CHECK(llm_chat(m, story, 1, NULL, on_piece, &(sink){0}, NULL, &r, err, sizeof err) == -1);
        CHECK_CONTAINS(err, "not a GGUF model file");
        llm_free(m);
    }
    config_free(c);
    /* A GGUF header followed by garbage: llama.cpp refuses it, AXIOM reports it. */
    if (have_model()) {
        snprintf(p, sizeof p, "%s/corrupt.gguf", dir);
        size_t n = 0;
        char *good = file_read_all(model_path, 8u << 20, &n, err, sizeof err);
        CHECK(good != NULL);
        if (good) {
            for (size_t i = 64; i < n; i += 7)
                good[i] ^= 0x5a; /* keep the magic, break the rest */
            FILE *f = fopen(p, "wb");
            fwrite(good, 1, n / 3, f); /* and cut it short */
            fclose(f);
            free(good);
            c = cfg_for(p, NULL);
            m = llm_new(c, err, sizeof err);
            CHECK(m != NULL);
            if (m) {
                CHECK(llm_chat(m, story, 1, NULL, on_piece, &(sink){0}, NULL, &r, err,
                               sizeof err) == -1);
                CHECK_CONTAINS(err, "could not load");
                CHECK_CONTAINS(err, "corrupt.gguf");
                component_info info;
                component_get_info(llm_component(m), &info);
                CHECK_EQ_INT(info.loaded, 0);
                CHECK(info.fail_count >= 1);
                llm_free(m);
            }
            config_free(c);
        }
    }
    tu_rmtree(dir);
}

static void test_budget_refusal(void) {
    if (!have_model()) SKIP("../shared/models/stories260K.gguf is absent");
    const char *kv[] = {"mem.budget_mb", "1", NULL};
    axiom_config *c = cfg_for(model_path, kv);
    char err[512];
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    llm_result r;
    CHECK(llm_chat(m, story, 1, NULL, on_piece, &(sink){0}, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "refused");
    CHECK_CONTAINS(err, "mem.budget_mb");
    CHECK_EQ_INT(component_is_loaded(llm_component(m)), 0);
    llm_free(m);
    config_free(c);
}

static void test_backend_none(void) {
    axiom_config *c = config_new();
    char err[512];
    CHECK(llm_new(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "llm.backend = none");
    config_free(c);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_missing_library_degrades);
    RUN(test_backend_none);
    RUN(test_bad_model_files);
    RUN(test_budget_refusal);
    RUN(test_streams_tokens);
    RUN(test_stops_at_limit);
    RUN(test_cancel_by_flag_and_callback);
    RUN(test_cancel_from_another_thread);
    RUN(test_sessions_at_once);
    RUN(test_context_overflow);
    RUN(test_token_count);
    RUN(test_unload_releases_memory);
    return CHECK_DONE(argv[0]);
}
