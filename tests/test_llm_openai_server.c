/* OpenAI-compatible backend against a real llama-server (built from the llama.cpp
 * bundle by scripts/build-llama-server.sh, which `make test` runs once) serving the
 * real tiny model ../shared/models/stories260K.gguf on a free loopback port, with an
 * API key. Skips with the reason when the binary or the model is absent.
 * Checked: streaming, the max_tokens limit, cancellation (callback and flag, and the
 * server still answers after), model discovery, key rejection, context overflow, and
 * the server going away. */
#include "check.h"
#include "core/config.h"
#include "core/util.h"
#include "llm/llm.h"
#include "support/llama_server_proc.h"
#include "support/testutil.h"

#include <pthread.h>

static lsp server;
static int server_up, start_failed;
static axiom_config *cur_cfg;
static char skip_why[512];
static char key_file[700], tmpdir[512];

static const llm_message story[] = {{"system", "You tell short stories."},
                                    {"user", "Once upon a time"}};

typedef struct {
    char text[65536];
    size_t len;
    int calls, stop_after;
    atomic_int *flag;
} sink;

static int on_piece(void *user, const char *p, size_t len) {
    sink *s = user;
    if (s->len + len < sizeof s->text) {
        memcpy(s->text + s->len, p, len);
        s->len += len;
        s->text[s->len] = '\0';
    }
    s->calls++;
    if (s->stop_after && s->calls >= s->stop_after) {
        if (s->flag)
            *s->flag = 1;
        else
            return 1;
    }
    return 0;
}

static llm *make(const char *key_path, const char *const *kv) {
    axiom_config *c = config_new();
    char err[512], url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", server.port);
    config_set(c, "llm.backend", "openai", CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.url", url, CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.first_token_timeout_ms", "20000", CFG_FLAG, "t", err, sizeof err);
    config_set(c, "llm.total_timeout_ms", "40000", CFG_FLAG, "t", err, sizeof err);
    if (key_path) config_set(c, "llm.api_key_file", key_path, CFG_FLAG, "t", err, sizeof err);
    for (; kv && kv[0]; kv += 2)
        CHECK(config_set(c, kv[0], kv[1], CFG_FLAG, "t", err, sizeof err) == 0);
    llm *m = llm_new(c, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m)
        config_free(c);
    else
        cur_cfg = c; /* the configuration must outlive the llm */
    return m;
}

static void done(llm *m) {
    llm_free(m);
    config_free(cur_cfg);
    cur_cfg = NULL;
}

static void test_streams_from_real_server(void) {
    CHECK_MSG(!start_failed, "%s", skip_why); /* built but not starting is a failure */
    if (!server_up) SKIP("%s", skip_why);
    const char *kv[] = {"llm.max_tokens", "60", NULL};
    llm *m = make(key_file, kv);
    if (!m) return;
    sink s = {0};
    llm_result r;
    char err[512];
    int rc = llm_chat(m, story, 2, NULL, on_piece, &s, NULL, &r, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    CHECK(s.calls > 3);
    CHECK(r.tokens == s.calls && r.tokens <= 60);
    CHECK(r.finish == LLM_FINISH_STOP || r.finish == LLM_FINISH_LENGTH);
    CHECK(r.first_token_ms >= 0);
    CHECK(strlen(s.text) > 5);
    /* llm.model was empty: the name comes from the server's /v1/models. */
    CHECK(strstr(llm_model_name(m), "stories260K") != NULL);
    fprintf(stderr, "  %d tokens, first after %lld ms, finish %s: %.100s\n", r.tokens,
            (long long)r.first_token_ms, llm_finish_name(r.finish), s.text);
    done(m);
}

static void test_limit_and_cancel(void) {
    if (!server_up) SKIP("%s", skip_why);
    llm *m = make(key_file, NULL);
    if (!m) return;
    char err[512];
    llm_result r;
    llm_options o = {.max_tokens = 5};
    sink s = {0};
    CHECK_MSG(llm_chat(m, story, 2, &o, on_piece, &s, NULL, &r, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(r.finish, LLM_FINISH_LENGTH);
    CHECK(r.tokens >= 1 && r.tokens <= 5);
    /* Stopped by the callback after 3 pieces, then by the flag after 4. */
    sink s2 = {.stop_after = 3};
    llm_options big = {.max_tokens = 400};
    CHECK(llm_chat(m, story, 2, &big, on_piece, &s2, NULL, &r, err, sizeof err) == 0);
    CHECK_EQ_INT(r.finish, LLM_FINISH_CANCEL);
    CHECK_EQ_INT(s2.calls, 3);
    atomic_int cancel = 0;
    sink s3 = {.stop_after = 4, .flag = &cancel};
    CHECK(llm_chat(m, story, 2, &big, on_piece, &s3, &cancel, &r, err, sizeof err) == 0);
    CHECK_EQ_INT(r.finish, LLM_FINISH_CANCEL);
    CHECK_EQ_INT(s3.calls, 4);
    /* The server is not wedged by the abandoned streams. */
    sink s4 = {0};
    CHECK_MSG(llm_chat(m, story, 2, &o, on_piece, &s4, NULL, &r, err, sizeof err) == 0, "%s", err);
    CHECK(s4.calls >= 1);
    done(m);
}

static void test_wrong_key_rejected(void) {
    if (!server_up) SKIP("%s", skip_why);
    const char *kv[] = {"llm.api_key", "not-the-key", NULL};
    llm *m = make(NULL, kv);
    if (!m) return;
    char err[512];
    llm_result r;
    sink s = {0};
    CHECK(llm_chat(m, story, 2, NULL, on_piece, &s, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "rejected the API key");
    CHECK(strstr(err, "not-the-key") == NULL); /* the key never appears in messages */
    CHECK_EQ_INT(s.calls, 0);
    done(m);
}

static void test_context_overflow_reported(void) {
    if (!server_up) SKIP("%s", skip_why);
    llm *m = make(key_file, NULL);
    if (!m) return;
    static char big[40000];
    big[0] = '\0';
    for (int i = 0; i < 2500; i++)
        strcat(big, "cat sat. ");
    llm_message msgs[] = {{"user", big}};
    char err[512];
    llm_result r;
    sink s = {0};
    CHECK(llm_chat(m, msgs, 1, NULL, on_piece, &s, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "answered HTTP 4");
    CHECK_EQ_INT(r.finish, LLM_FINISH_ERROR);
    fprintf(stderr, "  %s\n", err);
    done(m);
}

static void test_server_goes_away(void) {
    if (!server_up) SKIP("%s", skip_why);
    llm *m = make(key_file, NULL);
    if (!m) return;
    char err[512];
    llm_result r;
    sink s = {0};
    llm_options o = {.max_tokens = 3};
    CHECK(llm_chat(m, story, 2, &o, on_piece, &s, NULL, &r, err, sizeof err) == 0);
    lsp_stop(&server);
    server_up = 0;
    int64_t t0 = now_ms();
    CHECK(llm_chat(m, story, 2, &o, on_piece, &s, NULL, &r, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "cannot connect");
    CHECK(now_ms() - t0 < 20000);
    done(m);
}

int main(int argc, char **argv) {
    (void)argc;
    char bin[4096], model[4096];
    if (!tu_shared_path("models/stories260K.gguf", model, sizeof model)) {
        snprintf(skip_why, sizeof skip_why, "../shared/models/stories260K.gguf is absent");
    } else if (lsp_find(bin, sizeof bin, skip_why, sizeof skip_why) != 0) {
        /* skip_why holds the script's reason */
    } else if (tu_mkdtemp(tmpdir, sizeof tmpdir) == 0) {
        snprintf(key_file, sizeof key_file, "%s/key", tmpdir);
        tu_write_file(key_file, "sk-axiom-test-key\n");
        const char *extra[] = {"--api-key", "sk-axiom-test-key", NULL};
        if (lsp_start(&server, bin, model, 1024, extra, 30000, skip_why, sizeof skip_why) == 0)
            server_up = 1;
        else
            start_failed = 1;
    }
    RUN(test_streams_from_real_server);
    RUN(test_limit_and_cancel);
    RUN(test_wrong_key_rejected);
    RUN(test_context_overflow_reported);
    RUN(test_server_goes_away);
    lsp_stop(&server);
    if (tmpdir[0]) tu_rmtree(tmpdir);
    return CHECK_DONE(argv[0]);
}
