/* The example configurations in contrib/ load as documented: every key is known and
 * valid, and each one creates its backend (no network or model load at creation), or
 * fails with the message a user needs when the file it names is absent. */
#include "check.h"
#include "core/config.h"
#include "llm/llm.h"
#include "support/testutil.h"

#include <stdio.h>
#include <string.h>

static axiom_config *load(const char *name, char *err, size_t errlen) {
    char path[4096];
    tu_root_path(name, path, sizeof path);
    axiom_config *c = config_new();
    if (config_load_file(c, path, err, errlen) != 0) {
        CHECK_MSG(0, "%s: %s", name, err);
        config_free(c);
        return NULL;
    }
    return c;
}

static void test_server_examples(void) {
    char err[512];
    axiom_config *c = load("contrib/ollama.conf", err, sizeof err);
    if (c) {
        CHECK_STR(config_str(c, "llm.backend"), "ollama");
        CHECK_EQ_INT(config_int(c, "context_length"), 4096);
        llm *m = llm_new(c, err, sizeof err);
        CHECK_MSG(m != NULL, "%s", err);
        if (m) CHECK_STR(llm_model_name(m), "llama3.2:1b");
        llm_free(m);
        config_free(c);
    }
    c = load("contrib/llama-server.conf", err, sizeof err);
    if (c) {
        CHECK_STR(config_str(c, "llm.backend"), "openai");
        llm *m = llm_new(c, err, sizeof err);
        CHECK_MSG(m != NULL, "%s", err);
        llm_free(m);
        config_free(c);
    }
    c = load("contrib/vllm.conf", err, sizeof err);
    if (c) {
        /* The key file of the example is not on this machine: a clear refusal. */
        llm *m = llm_new(c, err, sizeof err);
        if (m)
            llm_free(m);
        else
            CHECK_CONTAINS(err, "llm.api_key_file");
        config_free(c);
    }
}

static void test_gguf_example(void) {
    char err[512];
    axiom_config *c = load("contrib/gguf.conf", err, sizeof err);
    if (!c) return;
    CHECK_STR(config_str(c, "llm.backend"), "gguf");
    CHECK(config_bool(c, "llm.mmap"));
    llm *m = llm_new(c, err, sizeof err);
    if (m)
        llm_free(m);
    else {
        CHECK_CONTAINS(err, "no such file");
        CHECK_CONTAINS(err, "--gguf");
    }
    config_free(c);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_server_examples);
    RUN(test_gguf_example);
    return CHECK_DONE(argv[0]);
}
