/* brain_peek: would the template fast path answer this text, and surely?
 *
 * The adaptive endpointer asks this about the recogniser's partial hypothesis during
 * a pause, to close the turn early when the words so far are already a complete pack
 * question. It must not change anything: no history, no topic, no events, no loading
 * (a component that is not loaded answers "not sure"). It repeats the template
 * decision of brain_turn.c (intent, named item, TF-IDF template match) with stricter
 * bounds, because a wrong "finished" cuts the speaker off; a question only answerable
 * through the conversation's topic ("how long does it last?") is never sure here.
 *
 * brain_match_describe, also read-only: the pack's names for what brain_assess found. */
#include "brain/brain_internal.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stricter than the fast path's own bounds (TEMPLATE_MIN_SIM 0.80 in brain_turn.c):
 * a partial hypothesis missing its last word can still reach 0.80. */
#define PEEK_MIN_SIM 0.88
#define PEEK_ANY_MIN_SIM 0.92 /* no item named */
#define PEEK_ANY_MARGIN 0.10
#define PEEK_MIN_P 0.60 /* intent probability, at least the brain's threshold */

static int peek_locked(brain *b, const char *text, brain_peek_result *out) {
    norm_result *nr = malloc(sizeof *nr);
    text_toks *tt = malloc(sizeof *tt);
    int sure = 0;
    if (!nr || !tt) goto done;
    normalise_text(b->nz, text, nr);
    if (nr->dropped || nr->truncated) goto done;
    text_tokens(nr->text, tt);
    intent_result ir = {.label = INTENT_UNKNOWN};
    intent_predict(b->im, nr->text, &ir);
    str_copy(out->intent, sizeof out->intent, intent_label_name(ir.label));
    out->confidence = ir.p;
    double need_p = b->threshold > PEEK_MIN_P ? b->threshold : PEEK_MIN_P;
    if (ir.label == INTENT_UNKNOWN || ir.p < need_p) goto done;
    int named_all[3];
    size_t starts[3], lens[3];
    size_t n_named = mention_find_all(b->mi, tt, named_all, starts, lens, 3);
    if ((ir.label == INTENT_GREETING || ir.label == INTENT_ACKNOWLEDGMENT) && n_named == 0) {
        sure = 1; /* answered by a canned social reply */
        goto done;
    }
    const char *iname = intent_label_name(ir.label);
    double sim = 0;
    int tpl = -1;
    if (n_named) {
        for (size_t k = 0; k < n_named; k++) {
            double s2 = 0;
            int t2 = template_index_best(b->ti, tt, named_all[k], iname, &s2);
            if (t2 >= 0 && s2 > sim) tpl = t2, sim = s2;
        }
        sure = tpl >= 0 && sim >= PEEK_MIN_SIM;
    } else {
        double other = 0;
        tpl = template_index_best_any(b->ti, tt, iname, &sim, &other);
        sure = tpl >= 0 && sim >= PEEK_ANY_MIN_SIM && other < sim - PEEK_ANY_MARGIN;
    }
    out->template_index = tpl;
    out->template_score = sim;
done:
    free(nr);
    free(tt);
    out->sure = sure;
    return sure;
}

int brain_peek(brain *b, const char *text, brain_peek_result *out) {
    memset(out, 0, sizeof *out);
    out->template_index = -1;
    if (!b || !text) return 0;
    /* Never load here: the caller is on an audio thread. */
    if (!component_is_loaded(b->c_index) || !component_is_loaded(b->c_intent)) return 0;
    char err[256];
    if (component_acquire(b->c_index, err, sizeof err) != 0) return 0;
    if (component_acquire(b->c_intent, err, sizeof err) != 0) {
        component_release(b->c_index);
        return 0;
    }
    int sure = b->pk && b->ti && b->im ? peek_locked(b, text, out) : 0;
    component_release(b->c_intent);
    component_release(b->c_index);
    return sure;
}

int brain_match_describe(brain *b, int item, int tpl, brain_match_names *out, char *err,
                         size_t errlen) {
    memset(out, 0, sizeof *out);
    if (component_acquire(b->c_index, err, errlen) != 0) return -1;
    const pack *p = b->pk;
    int rc = 0;
    if (!p || item >= (int)p->n_items || tpl >= (int)p->n_templates) {
        snprintf(err, errlen, "item %d or template %d is not in the loaded pack", item, tpl);
        rc = -1;
    } else {
        if (item >= 0) {
            str_copy(out->item_id, sizeof out->item_id, p->items[item].id ? p->items[item].id : "");
            str_copy(out->item_name, sizeof out->item_name,
                     p->items[item].name ? p->items[item].name : "");
        }
        if (tpl >= 0)
            str_copy(out->answer, sizeof out->answer,
                     p->templates[tpl].answer ? p->templates[tpl].answer : "");
    }
    component_release(b->c_index);
    return rc;
}
