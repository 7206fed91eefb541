/* brain_peek on the default pack: it never loads anything, says "sure" for a complete
 * pack question (and picks the template brain_turn answers with), not for off-topic
 * or broken input, and leaves the conversation untouched. */
#include "brain/brain_internal.h"
#include "check.h"
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static axiom_config *cfg_default(void) {
    axiom_config *c = config_new();
    char err[256];
    config_set(c, "log_level", "warn", CFG_FLAG, "test", err, sizeof err);
    return c;
}

static void test_peek_never_loads(void) {
    axiom_config *c = cfg_default();
    char err[512];
    brain *b = brain_new(c, err, sizeof err);
    CHECK_MSG(b != NULL, "%s", err);
    if (b) {
        brain_peek_result r;
        CHECK_EQ_INT(brain_peek(b, "what is the unitree go2", &r), 0);
        CHECK_EQ_INT(r.sure, 0);
        CHECK_MSG(!component_is_loaded(b->c_index) && !component_is_loaded(b->c_intent),
                  "brain_peek loaded the pack");
        brain_free(b);
    }
    config_free(c);
}

static void test_peek_answers_like_the_fast_path(void) {
    axiom_config *c = cfg_default();
    char err[512];
    brain *b = brain_new(c, err, sizeof err);
    if (!b || brain_load(b, err, sizeof err) != 0) {
        CHECK_MSG(0, "default pack: %s", err);
        brain_free(b);
        config_free(c);
        return;
    }
    brain_session *s = brain_session_new(b);
    brain_peek_result p;
    CHECK_EQ_INT(brain_peek(b, "what is the unitree go2", &p), 1);
    CHECK(p.template_index >= 0 && p.template_score >= 0.88);
    /* Nothing of the conversation changed: no turn, no topic. */
    CHECK_EQ_INT(s->turn_no, 0);
    CHECK_EQ_INT(s->topic_item, -1);
    CHECK_EQ_INT(s->ring.count, 0);
    brain_reply r;
    CHECK(brain_turn(b, s, "what is the unitree go2", NULL, &r, err, sizeof err) == 0);
    CHECK_EQ_INT(r.path, BRAIN_PATH_TEMPLATE);
    CHECK_EQ_INT(r.template_index, p.template_index);
    brain_reply_free(&r);
    const char *not_sure[] = {"who won the football match yesterday",
                              "",
                              "um",
                              "\xff\xfe broken \x01 bytes",
                              "the the the the",
                              NULL};
    for (int i = 0; not_sure[i]; i++) {
        CHECK_MSG(brain_peek(b, not_sure[i], &p) == 0, "sure about \"%s\"", not_sure[i]);
        CHECK_EQ_INT(p.sure, 0);
    }
    CHECK_EQ_INT(brain_peek(b, NULL, &p), 0);
    brain_session_free(s);
    brain_free(b);
    config_free(c);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_peek_never_loads);
    RUN(test_peek_answers_like_the_fast_path);
    return CHECK_DONE(argv[0]);
}
