/* A backend is one file plus one line in its table: the configuration accepts exactly
 * the backends the tables hold, and each name it accepts finds its backend. */
#include "check.h"
#include "core/config.h"
#include "llm/llm.h"
#include "speech/stt.h"
#include "speech/tts.h"

#include <stdio.h>
#include <string.h>

static void check_choices(const char *key, const char *choices, const void *(*find)(const char *)) {
    axiom_config *c = config_new();
    char err[256], name[64];
    for (const char *p = choices; *p;) {
        size_t n = strcspn(p, "|");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        CHECK_MSG(config_set(c, key, name, CFG_FLAG, "test", err, sizeof err) == 0, "%s", err);
        if (find && strcmp(name, "none") != 0)
            CHECK_MSG(find(name) != NULL, "%s = %s has no backend", key, name);
        p += n + (p[n] == '|');
    }
    CHECK(config_set(c, key, "no-such-backend", CFG_FLAG, "test", err, sizeof err) != 0);
    CHECK_CONTAINS(err, choices);
    config_free(c);
}

static const void *find_stt(const char *n) {
    return stt_backend_find(n);
}
static const void *find_tts(const char *n) {
    return tts_backend_find(n);
}

static void test_stt(void) {
    check_choices("stt.backend", STT_BACKEND_CHOICES, find_stt);
}
static void test_tts(void) {
    CHECK_STR(TTS_BACKEND_CHOICES, "flite|sherpa|none");
    check_choices("tts.backend", TTS_BACKEND_CHOICES, find_tts);
}
static void test_llm(void) {
    CHECK_STR(LLM_BACKEND_CHOICES, "none|ollama|openai|gguf");
    /* llm_new finds the backend by the same table (LLM_BACKENDS). */
    check_choices("llm.backend", LLM_BACKEND_CHOICES, NULL);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_stt);
    RUN(test_tts);
    RUN(test_llm);
    return CHECK_DONE(argv[0]);
}
