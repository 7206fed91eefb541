/* A dialogue turn on any bytes: the transcript goes through normalisation, item
 * mentions, the intent model, the template chooser and the full-text index (the path
 * where user text meets SQLite). Whatever the bytes, a turn ends with a reply whose
 * card index is one the pack defines, and the index still answers afterwards. Runs on
 * the tests' mini pack (tests/data/pack-mini). */
#include "brain/brain_internal.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "fuzz.h"

static brain *b;
static brain_session *s;

static void setup(void) {
    char dir[2048], cache[256], err[512];
    log_set_level(AX_LOG_OFF);
    snprintf(dir, sizeof dir, "%s/tests/data/pack-mini", axiom_root_dir());
    snprintf(cache, sizeof cache, "/tmp/axiom-fuzz-brain-%d", (int)getpid());
    axiom_config *c = config_new(); /* lives for the process, as the brain borrows it */
    config_set(c, "data", dir, CFG_FLAG, "fuzz", err, sizeof err);
    config_set(c, "cache_dir", cache, CFG_FLAG, "fuzz", err, sizeof err);
    config_set(c, "history_turns", "3", CFG_FLAG, "fuzz", err, sizeof err);
    b = brain_new(c, err, sizeof err);
    if (!b || brain_load(b, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_brain_turn: %s\n", err);
        abort();
    }
    s = brain_session_new(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!b) setup();
    char *text = fuzz_cstr(data, size);
    char err[512];
    brain_reply r;
    brain_turn_opts o = {.mode =
                             size && data[0] & 1 ? BRAIN_MODE_TEMPLATE_ONLY : BRAIN_MODE_SKIP_LLM,
                         .llm = NULL,
                         .cancel = NULL,
                         .sink = {NULL, NULL}};
    if (brain_turn(b, s, text, &o, &r, err, sizeof err) != 0) abort();
    if (r.card.index != -1) {
        int ok = 0;
        for (size_t i = 0; i < b->pk->n_items; i++)
            ok |= b->pk->items[i].card_index == r.card.index;
        if (!ok) abort();
    }
    if (!r.text || (r.path == BRAIN_PATH_NONE && !r.dropped[0])) abort();
    brain_reply_free(&r);
    free(text);
    if (brain_turn(b, s, "what is the range of the rplidar", &o, &r, err, sizeof err) != 0 ||
        !r.text[0])
        abort();
    brain_reply_free(&r);
    return 0;
}
