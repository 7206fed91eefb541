/* The public front-end API (include/axiom.h) over the brain: sessions and one-call
 * answers with the mode the memory governor allows and the engine's LLM. */
#include "axiom.h"

#include "brain/brain.h"
#include "core/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct axiom_session {
    brain_session *s;
};

axiom_session *axiom_session_new(axiom_engine *e) {
    if (!e || !e->brain) return NULL;
    axiom_session *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->s = brain_session_new(e->brain);
    if (!a->s) {
        free(a);
        return NULL;
    }
    return a;
}

void axiom_session_free(axiom_session *a) {
    if (!a) return;
    brain_session_free(a->s);
    free(a);
}

int axiom_ask(axiom_engine *e, axiom_session *a, const char *text, axiom_sentence_fn on_sentence,
              void *user, const volatile int *cancel, axiom_reply *out, char *err, size_t errlen) {
    if (!out) {
        snprintf(err, errlen, "axiom_ask: the reply is NULL");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!e || !a || !text) {
        snprintf(err, errlen, "axiom_ask: %s is NULL",
                 !e   ? "the engine"
                 : !a ? "the session"
                      : "the question");
        return -1;
    }
    brain_reply *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* The caller's flag is a plain int it stores to as a whole (the public header
     * cannot use C11 atomics, C++ includes it); atomic_int is a lock-free int of the
     * same size, so loading it atomically reads the caller's latest store. */
    _Static_assert(sizeof(atomic_int) == sizeof(int) && ATOMIC_INT_LOCK_FREE == 2,
                   "atomic_int is a plain int");
    brain_turn_opts o = {.mode = engine_brain_mode(e),
                         .llm = e->llm,
                         .cancel = (const atomic_int *)(const void *)cancel,
                         .sink = {on_sentence, user}};
    int rc = brain_turn(e->brain, a->s, text, &o, r, err, errlen);
    if (rc != 0) { /* nothing for the caller to free on failure */
        brain_reply_free(r);
        free(r);
        return rc;
    }
    out->internal_ = r;
    out->text = r->text ? r->text : "";
    out->intent = r->intent;
    out->confidence = r->confidence;
    out->path = brain_path_name(r->path);
    out->dropped = r->dropped;
    out->llm_failure = r->llm_failure;
    out->card_index = r->card.index;
    out->card_keyword = r->card.keyword;
    out->card_product = r->card.product_name;
    out->model_path = r->model_3d.path;
    out->model_name = r->model_3d.name;
    out->total_us = r->t.total_us;
    out->intent_us = r->t.intent_us;
    out->retrieval_us = r->t.retrieval_us;
    out->llm_us = r->t.llm_us;
    return rc;
}

const brain_reply *brain_reply_of(const axiom_reply *out) {
    return out ? out->internal_ : NULL;
}

void axiom_reply_free(axiom_reply *out) {
    if (!out || !out->internal_) return;
    brain_reply_free(out->internal_);
    free(out->internal_);
    memset(out, 0, sizeof *out);
}
