/* The brain over Wyoming: a conversation agent (handle) and intent recognition.
 *
 *   transcript {text, context: {conversation_id}}
 *       -> handled-start, handled-chunk (one per sentence, as it is ready), handled
 *          {text, context}, handled-stop; or not-handled {text} when there is nothing
 *          to answer (empty or noise-only text) or the brain failed
 *   intent (a structured intent to carry out) -> not-handled: AXIOM answers text
 *   recognize {text} -> intent {name, entities: item, item_id, text} or not-recognized
 *
 * Answers go through axiom_ask, as the WebSocket's typed questions do, with the mode
 * the memory governor allows. Each Wyoming conversation id (Home Assistant sends one
 * per conversation) has its own text session, so follow-up questions ("how much does
 * it weigh?") know what was talked about. The table holds wyoming.conversations of
 * them; a new one evicts the least recently used one that is not answering. A
 * transcript without an id gets a session of its own for that one answer.
 *
 * recognize is read-only: brain_assess (intent, the item named or implied, and whether
 * the pack has the facts to answer it) and brain_match_describe (their names, the
 * canned answer when a template would answer); no history, no topic change, nothing
 * spoken. A text whose intent is unknown, or that the pack could not answer with
 * confidence, is not recognised. */
#include "brain/brain.h"
#include "core/log.h"
#include "core/util.h"
#include "wyoming/wyoming_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONVO_ID_MAX 128
#define NOTHING_TO_ANSWER "I didn't catch a question there."

typedef struct {
    char id[CONVO_ID_MAX + 1];
    axiom_session *session; /* NULL: a free slot */
    int busy;               /* an answer is running in it */
    int64_t used_ms;
} wy_convo;

struct wy_convo_table {
    pthread_mutex_t mu; /* guards every slot; held only for lookups, never during an answer */
    wy_convo *v;
    int max;
};

wy_convo_table *wy_convos_new(int max) {
    wy_convo_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->v = calloc((size_t)(max > 0 ? max : 1), sizeof *t->v);
    if (!t->v) {
        free(t);
        return NULL;
    }
    t->max = max > 0 ? max : 1;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void wy_convos_free(wy_convo_table *t) {
    if (!t) return;
    for (int i = 0; i < t->max; i++)
        axiom_session_free(t->v[i].session);
    pthread_mutex_destroy(&t->mu);
    free(t->v);
    free(t);
}

/* The conversation's slot, marked busy, created (evicting the least recently used
 * idle one) when new. NULL with err when it is answering on another connection or
 * every slot is busy. */
static wy_convo *convo_take(wy_convo_table *t, axiom_engine *e, const char *id, char *err,
                            size_t errlen) {
    pthread_mutex_lock(&t->mu);
    wy_convo *hit = NULL, *lru = NULL, *fresh = NULL;
    for (int i = 0; i < t->max && !hit; i++) {
        wy_convo *s = &t->v[i];
        if (!s->session) {
            if (!fresh) fresh = s;
        } else if (strcmp(s->id, id) == 0) {
            hit = s;
        } else if (!s->busy && (!lru || s->used_ms < lru->used_ms)) {
            lru = s;
        }
    }
    if (hit && hit->busy) {
        snprintf(err, errlen,
                 "conversation '%.60s' is answering another request; try again when it is done",
                 id);
        hit = NULL;
    } else if (!hit) {
        wy_convo *slot = fresh ? fresh : lru;
        if (!slot) {
            snprintf(err, errlen,
                     "busy: all %d conversations (wyoming.conversations) are answering", t->max);
        } else {
            if (slot == lru) LOG_D("wyoming", "conversation '%s' evicted for '%s'", lru->id, id);
            axiom_session_free(slot->session);
            slot->session = axiom_session_new(e);
            if (!slot->session)
                snprintf(err, errlen, "out of memory for a conversation");
            else
                str_copy(slot->id, sizeof slot->id, id);
            hit = slot->session ? slot : NULL;
        }
    }
    if (hit) hit->busy = 1;
    pthread_mutex_unlock(&t->mu);
    return hit;
}

static void convo_give(wy_convo_table *t, wy_convo *s) {
    pthread_mutex_lock(&t->mu);
    s->busy = 0;
    s->used_ms = now_ms();
    pthread_mutex_unlock(&t->mu);
}

/* The streamed answer: handled-start before the first sentence, then one chunk each. */
typedef struct {
    wy_conn *c;
    int started;
    int chunks;
} answer_stream;

static void on_sentence(void *user, const char *sentence) {
    answer_stream *a = user;
    wy_conn *c = a->c;
    if (c->dead) return;
    if (!a->started) {
        a->started = 1;
        wy_send(c, "handled-start", NULL, NULL, 0);
    }
    char *t = malloc(strlen(sentence) + 2);
    if (t) {
        sprintf(t, "%s%s", a->chunks ? " " : "", sentence);
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "text", t);
        wy_send(c, "handled-chunk", d, NULL, 0);
        free(t);
        a->chunks++;
    }
    /* The client is gone: the rest of the answer (an LLM's) is not worth making. */
    if (c->dead) atomic_store(&c->cancel, 1);
}

static cJSON *context_json(const char *id) {
    if (!id) return NULL;
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddStringToObject(ctx, "conversation_id", id);
    return ctx;
}

static int not_handled(wy_conn *c, const char *text, const char *id) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", text);
    cJSON *ctx = context_json(id);
    if (ctx) cJSON_AddItemToObject(d, "context", ctx);
    return wy_send(c, "not-handled", d, NULL, 0);
}

/* The text of a transcript or recognize: required, at most WY_TEXT_MAX bytes. */
static const char *request_text(wy_conn *c, const wy_event *ev) {
    const char *text = wy_data_str(ev->data, "text", NULL);
    if (!text) {
        wy_send_error(c, "bad_request", "%s needs \"text\" (a string)", ev->type);
        return NULL;
    }
    if (strlen(text) > WY_TEXT_MAX) {
        wy_send_error(c, "bad_request", "%s: text of %zu bytes; at most %d are answered", ev->type,
                      strlen(text), WY_TEXT_MAX);
        return NULL;
    }
    return text;
}

static int on_transcript(wy_conn *c, const wy_event *ev) {
    wyoming_server *srv = c->srv;
    axiom_engine *e = srv->engine;
    const char *text = request_text(c, ev);
    if (!text) return c->dead ? -1 : 0;
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(ev->data, "context");
    const char *id = cJSON_IsObject(ctx) ? wy_data_str(ctx, "conversation_id", NULL) : NULL;
    if (id && (!*id || strlen(id) > CONVO_ID_MAX))
        return wy_send_error(c, "bad_request", "context.conversation_id: 1 to %d characters",
                             CONVO_ID_MAX);
    char err[400] = "";
    wy_convo *convo = NULL;
    axiom_session *session = NULL;
    if (id) {
        convo = convo_take(srv->convos, e, id, err, sizeof err);
        if (convo)
            session = convo->session;
        else
            return wy_send_error(c, "busy", "%s", err);
    } else {
        session = axiom_session_new(e);
        if (!session) return not_handled(c, "AXIOM's brain is not available (see its log)", NULL);
    }
    answer_stream as = {c, 0, 0};
    axiom_reply r;
    /* The flag is an atomic int that stop and on_sentence store to; axiom_ask reads it
     * through a plain volatile int, which it is (see brain_api.c). */
    _Static_assert(sizeof(atomic_int) == sizeof(int), "atomic_int is a plain int");
    int rc = axiom_ask(e, session, text, on_sentence, &as,
                       (const volatile int *)(const void *)&c->cancel, &r, err, sizeof err);
    if (convo)
        convo_give(srv->convos, convo);
    else
        axiom_session_free(session);
    if (c->dead || atomic_load(&c->cancel)) {
        if (rc == 0) axiom_reply_free(&r);
        return -1;
    }
    if (rc != 0) {
        LOG_W("wyoming", "connection %llu: the brain failed: %s", (unsigned long long)c->id, err);
        char msg[500];
        snprintf(msg, sizeof msg, "Sorry, I cannot answer right now: %s", err);
        return not_handled(c, msg, id);
    }
    int out = 0;
    if (!r.text[0] && !as.started) {
        out = not_handled(c, NOTHING_TO_ANSWER, id);
    } else {
        if (!as.started && wy_send(c, "handled-start", NULL, NULL, 0) != 0) out = -1;
        if (out == 0 && !as.chunks) { /* an answer that came without sentences: one chunk */
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "text", r.text);
            out = wy_send(c, "handled-chunk", d, NULL, 0);
        }
        if (out == 0) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "text", r.text);
            cJSON *cj = context_json(id);
            if (cj) cJSON_AddItemToObject(d, "context", cj);
            out = wy_send(c, "handled", d, NULL, 0);
        }
        if (out == 0) out = wy_send(c, "handled-stop", NULL, NULL, 0);
    }
    LOG_D("wyoming", "connection %llu: answered \"%.80s\" by %s (%s, %.2f) in %.1f ms",
          (unsigned long long)c->id, text, r.path, r.intent, r.confidence,
          (double)r.total_us / 1000.0);
    axiom_reply_free(&r);
    return out;
}

static int on_recognize(wy_conn *c, const wy_event *ev) {
    axiom_engine *e = c->srv->engine;
    const char *text = request_text(c, ev);
    if (!text) return c->dead ? -1 : 0;
    if (!e->brain)
        return wy_send_error(c, "brain_unavailable",
                             "AXIOM's brain is not available (see its log)");
    brain_session *s = brain_session_new(e->brain);
    if (!s) return wy_send_error(c, "brain_failed", "out of memory");
    brain_assessment a;
    brain_match_names names;
    char err[400] = "";
    /* With evidence: a question whose words the pack's facts barely cover is not
     * recognised, the same doubt that makes a spoken question be asked again. */
    int rc = brain_assess(e->brain, s, text, engine_brain_mode(e), 1, &a, err, sizeof err);
    brain_session_free(s);
    int recognised = rc == 0 && a.intent[0] && strcmp(a.intent, "unknown") != 0 && a.spoken_ok;
    if (recognised)
        rc = brain_match_describe(e->brain, a.item, a.fast_path ? a.template_index : -1, &names,
                                  err, sizeof err);
    if (rc != 0) return wy_send_error(c, "brain_failed", "intent recognition failed: %s", err);
    if (!recognised) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "text",
                                a.intent[0] ? "That is not something the knowledge pack covers."
                                            : NOTHING_TO_ANSWER);
        return wy_send(c, "not-recognized", d, NULL, 0);
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "name", a.intent);
    if (names.item_name[0]) {
        cJSON *ents = cJSON_AddArrayToObject(d, "entities");
        cJSON *en = cJSON_CreateObject();
        cJSON_AddStringToObject(en, "name", "item");
        cJSON_AddStringToObject(en, "value", names.item_name);
        cJSON_AddItemToArray(ents, en);
        en = cJSON_CreateObject();
        cJSON_AddStringToObject(en, "name", "item_id");
        cJSON_AddStringToObject(en, "value", names.item_id);
        cJSON_AddItemToArray(ents, en);
    }
    if (names.answer[0]) cJSON_AddStringToObject(d, "text", names.answer);
    return wy_send(c, "intent", d, NULL, 0);
}

int wy_converse_event(wy_conn *c, const wy_event *ev) {
    if (strcmp(ev->type, "recognize") == 0) return on_recognize(c, ev);
    if (!c->srv->engine->brain)
        return not_handled(c, "AXIOM's brain is not available (see its log)", NULL);
    if (strcmp(ev->type, "transcript") == 0) return on_transcript(c, ev);
    /* "intent": a structured intent to carry out */
    return not_handled(c,
                       "AXIOM answers questions as text (send a transcript); it does not carry out "
                       "structured intents",
                       NULL);
}
