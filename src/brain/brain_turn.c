/* One dialogue turn (see brain.h for the paths). The order matters for speed: the
 * template path touches no SQLite and no LLM, so a confident, matching question is
 * answered in tens of microseconds; retrieval is only run when it is needed. */
#include "brain/brain_internal.h"

#include "brain/prompt.h"
#include "brain/speech_text.h"
#include "core/log.h"
#include "core/util.h"
#include "llm/llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_MIN_SIM 0.80     /* cosine a template question must reach to answer */
#define TEMPLATE_ANY_MIN_SIM 0.90 /* ... when the question names no item */
#define TEMPLATE_ANY_MARGIN 0.10  /* ... and beats every other item's template by this */
#define FACTS_K 5
/* Spoken turns answered from retrieval (see brain_turn_opts.spoken): the share of
 * the question's content words the best fact must hold, with and without an item
 * named, and the intent's probability. */
#define SPOKEN_NAMED_MIN_COVERAGE 0.25
#define SPOKEN_MIN_COVERAGE 0.6
#define SPOKEN_MIN_P 0.4f
#define COMPOSE_MAX 320 /* bytes of composed spoken answer */

typedef struct {
    brain_reply *out;
    const brain_turn_opts *opts;
    char *text;
    size_t len, cap;
} speaker;

static void say_append(speaker *sp, const char *s) {
    size_t n = strlen(s);
    if (sp->len + n + 2 > sp->cap) {
        size_t cap = (sp->len + n + 2) * 2;
        char *nt = realloc(sp->text, cap);
        if (!nt) return;
        sp->text = nt;
        sp->cap = cap;
    }
    if (sp->len) sp->text[sp->len++] = ' ';
    memcpy(sp->text + sp->len, s, n + 1);
    sp->len += n;
}

/* One sentence out: shaped for speech, handed to the sink at once, kept for the reply. */
static void say_sentence(void *user, const char *sentence) {
    speaker *sp = user;
    int64_t t0 = now_us();
    char *shaped = speech_shape(sentence);
    sp->out->t.shape_us += now_us() - t0;
    if (!shaped || !*shaped) {
        free(shaped);
        return;
    }
    say_append(sp, shaped);
    if (sp->opts && sp->opts->sink.on_sentence &&
        !(sp->opts->cancel && atomic_load(sp->opts->cancel)))
        sp->opts->sink.on_sentence(sp->opts->sink.user, shaped);
    free(shaped);
}

static void say_all(speaker *sp, const char *text) {
    speech_split_all(text, say_sentence, sp);
}

static const char *pick(const pack *p, pack_resp_kind k, unsigned n) {
    return p->n_responses[k] ? p->responses[k][n % p->n_responses[k]] : "";
}

/* "bye", "goodbye axiom", "see you later": a short farewell (no intent covers it). */
static int is_goodbye(const text_toks *tt) {
    if (tt->n == 0 || tt->n > 6) return 0;
    int bye = 0, see = 0, later = 0;
    for (size_t i = 0; i < tt->n; i++) {
        const char *t = tt->t[i];
        bye |= !strcmp(t, "bye") || !strcmp(t, "goodbye") || !strcmp(t, "farewell") ||
               !strcmp(t, "goodnight");
        see |= !strcmp(t, "see");
        later |= !strcmp(t, "later") || !strcmp(t, "soon");
    }
    return bye || (see && later);
}

static int has_pronoun(const text_toks *tt) {
    static const char *const pro[] = {"it", "its", "this", "that", "they", "them", "one"};
    for (size_t i = 0; i < tt->n; i++)
        for (size_t k = 0; k < sizeof pro / sizeof pro[0]; k++)
            if (strcmp(tt->t[i], pro[k]) == 0) return 1;
    return 0;
}

/* "how long", "how heavy", "how far": the word after "how" names a quantity, which
 * facts write as a noun ("hours", "weight", "range"); the noun is what bm25 can find. */
static void question_words(text_toks *tt) {
    static const struct {
        const char *adj, *noun;
    } q[] = {{"long", "hours"}, {"heavy", "weight"},   {"fast", "speed"}, {"far", "range"},
             {"big", "size"},   {"tall", "height"},    {"wide", "width"}, {"old", "age"},
             {"loud", "noise"}, {"hot", "temperature"}};
    for (size_t i = 0; i + 1 < tt->n; i++) {
        if (strcmp(tt->t[i], "how") != 0) continue;
        for (size_t k = 0; k < sizeof q / sizeof q[0]; k++)
            if (strcmp(tt->t[i + 1], q[k].adj) == 0)
                snprintf(tt->t[i + 1], TOK_LEN, "%s", q[k].noun);
    }
}

/* Share of the question's content words that a text contains (five-letter prefixes,
 * a crude stem: "charging" meets "charge"). A fact that covers half of an off-topic
 * question or less ("who won the football match") is not an answer to it. */
static double coverage(const text_toks *q, const char *text) {
    text_toks *t = malloc(sizeof *t);
    if (!t) return 1;
    text_tokens(text, t);
    int content = 0, hit = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (text_is_stopword(q->t[i]) || !q->t[i][0]) continue;
        content++;
        size_t n = text_stem_len(q->t[i]);
        for (size_t k = 0; k < t->n; k++)
            if (strncmp(q->t[i], t->t[k], n) == 0) {
                hit++;
                break;
            }
    }
    free(t);
    return content ? (double)hit / content : 0;
}

/* Retrieval: facts about the item first, then anything; template answers when no fact
 * matched. Fills out->hits and facts[] (best first, borrowed from the pack).
 * confident: the intent is sure, so half the question's words is enough cover. */
static int retrieve(brain *b, const text_toks *tt, int item, int confident, brain_reply *out,
                    const char **facts, int maxf, char *err, size_t errlen) {
    store_hit fh[FACTS_K], th[2], ih[1];
    int nf = 0, nt = 0, ni = 0;
    pthread_mutex_lock(&b->store_mu);
    if (item >= 0) nf = b->sb->search(b->st, STORE_FACTS, tt, item, fh, FACTS_K, err, errlen);
    if (nf == 0) nf = b->sb->search(b->st, STORE_FACTS, tt, -1, fh, FACTS_K, err, errlen);
    /* templates only when facts are thin; items only when no item is known yet */
    if (nf >= 0 && nf < 2) nt = b->sb->search(b->st, STORE_TEMPLATES, tt, item, th, 2, err, errlen);
    if (nf >= 0 && nt >= 0 && item < 0)
        ni = b->sb->search(b->st, STORE_ITEMS, tt, -1, ih, 1, err, errlen);
    pthread_mutex_unlock(&b->store_mu);
    if (nf < 0 || nt < 0 || ni < 0) return -1;
    /* about no item, the best hit must cover most of the question */
    double need = confident ? 0.5 : 0.51;
    double fcov = 0, tcov = 0;
    if (nf > 0) {
        const pack_fact *f = &b->pk->facts[fh[0].index];
        char both[1024];
        snprintf(both, sizeof both, "%s %s", f->topic ? f->topic : "",
                 f->text); /* the topic is indexed too */
        fcov = coverage(tt, both);
        if (item < 0 && fcov < need) nf = 0;
    }
    if (nt > 0) {
        tcov = coverage(tt, b->pk->templates[th[0].index].question);
        if (item < 0 && tcov < need) nt = 0;
    }
    out->coverage = nf > 0 ? fcov : nt > 0 ? tcov : 0;
    int n = 0;
    for (int i = 0; i < nf && out->n_hits < 8; i++) {
        out->hits[out->n_hits++] = (brain_hit){'f', fh[i].index, fh[i].score};
        if (n < maxf) facts[n++] = b->pk->facts[fh[i].index].text;
    }
    for (int i = 0; i < nt && out->n_hits < 8; i++) {
        out->hits[out->n_hits++] = (brain_hit){'t', th[i].index, th[i].score};
        if (n < maxf && nf == 0) facts[n++] = b->pk->templates[th[i].index].answer;
    }
    for (int i = 0; i < ni && out->n_hits < 8; i++)
        out->hits[out->n_hits++] = (brain_hit){'i', ih[i].index, ih[i].score};
    return n;
}

/* A short spoken answer from the best facts: the first, and the second when it is
 * nearly as good and the answer stays short. */
static void compose(speaker *sp, const char *const *facts, int n, const brain_reply *out) {
    say_all(sp, facts[0]);
    if (n > 1 && out->n_hits > 1 && out->hits[1].kind == out->hits[0].kind &&
        out->hits[1].score >= 0.8 * out->hits[0].score &&
        strlen(facts[0]) + strlen(facts[1]) < COMPOSE_MAX && strcmp(facts[0], facts[1]) != 0)
        say_all(sp, facts[1]);
}

typedef struct {
    speaker *sp;
    sentence_splitter *split;
    const atomic_int *cancel;
} stream_ctx;

static int on_token(void *user, const char *piece, size_t len) {
    stream_ctx *c = user;
    if (c->cancel && atomic_load(c->cancel)) return 1;
    splitter_feed(c->split, piece, len, say_sentence, c->sp);
    return 0;
}

static int count_llm(void *ctx, const char *text) {
    return llm_count_tokens(ctx, text);
}

/* The LLM path. Returns 0 when it answered (possibly cut by barge-in), -1 to fall back. */
static int answer_llm(brain *b, brain_session *s, const char *question, const char *const *facts,
                      int nf, const brain_turn_opts *o, speaker *sp, brain_reply *out, char *why,
                      size_t whylen) {
    prompt pr;
    int ctx_len = llm_context_length(o->llm);
    if (ctx_len <= 0) ctx_len = b->context_len;
    /* Loaded first, so the prompt is measured with the model's own tokenizer (a tiny
     * vocabulary can need twice the estimate); pinned until the answer ends. */
    axiom_component *lc = llm_component(o->llm);
    if (lc && component_acquire(lc, why, whylen) != 0) {
        str_copy(out->llm_failure, sizeof out->llm_failure,
                 llm_fail_name(llm_load_failure(o->llm)));
        return -1;
    }
    if (prompt_build(&pr, b->pk->lab_full_name ? b->pk->lab_full_name : b->pk->lab_name, facts,
                     (size_t)nf, &s->ring, question, ctx_len, b->max_tokens, count_llm,
                     o->llm) != 0) {
        snprintf(why, whylen, "the question does not fit the context window (context_length %d)",
                 ctx_len);
        str_copy(out->llm_failure, sizeof out->llm_failure, "context");
        if (lc) component_release(lc);
        return -1;
    }
    out->n_facts = pr.facts_used;
    stream_ctx sc = {sp, splitter_new(0), o->cancel};
    llm_result res;
    int rc = sc.split ? llm_chat(o->llm, pr.msgs, pr.n, NULL, on_token, &sc, o->cancel, &res, why,
                                 whylen)
                      : -1;
    if (sc.split)
        splitter_flush(sc.split, (o->cancel && atomic_load(o->cancel)) ? NULL : say_sentence, sp);
    splitter_free(sc.split);
    prompt_free(&pr);
    if (lc) component_release(lc);
    if (rc != 0) {
        str_copy(out->llm_failure, sizeof out->llm_failure,
                 sc.split ? llm_fail_name(res.fail) : "other");
        return -1;
    }
    if (!sp->len && !(o->cancel && atomic_load(o->cancel))) {
        str_copy(out->llm_failure, sizeof out->llm_failure, "empty");
        snprintf(why, whylen, "the model returned an empty answer");
        return -1;
    }
    return 0;
}

static void set_events(brain *b, brain_session *s, int named_item, int item, const char *keyword,
                       brain_reply *out) {
    /* a card only for an item named in this utterance, and only a valid index */
    if (named_item >= 0) {
        const pack_item *it = &b->pk->items[named_item];
        if (it->card_index >= 0) {
            out->card.index = it->card_index;
            str_copy(out->card.keyword, sizeof out->card.keyword,
                     keyword && *keyword ? keyword : it->name);
            str_copy(out->card.product_name, sizeof out->card.product_name, it->name);
        }
    }
    if (item >= 0 && b->pk->items[item].model_path) {
        const pack_item *it = &b->pk->items[item];
        if (strcmp(s->last_model, it->model_path) != 0) { /* only when the topic changes */
            str_copy(out->model_3d.path, sizeof out->model_3d.path, it->model_path);
            str_copy(out->model_3d.name, sizeof out->model_3d.name,
                     it->model_name ? it->model_name : it->name);
            str_copy(s->last_model, sizeof s->last_model, it->model_path);
        }
    }
}

/* Everything a turn decides before it says anything: the normalised text, the intent,
 * the items named, and whether a social reply or a template answers. Computing it has
 * no side effects, so brain_assess can weigh several hearings of one utterance. */
typedef struct {
    norm_result nr;
    text_toks tt;
    intent_result ir;
    int confident;
    int named_all[3];
    size_t starts[3], lens[3], n_named;
    int named, item;
    enum {
        PLAN_DROPPED,
        PLAN_GOODBYE,
        PLAN_SOCIAL,
        PLAN_TEMPLATE,
        PLAN_UNKNOWN,
        PLAN_RETRIEVE
    } kind;
    int tpl;
    double sim;
} turn_plan;

static void plan_turn(brain *b, const brain_session *s, const char *text, brain_mode mode,
                      int have_intent, turn_plan *pl, brain_timing *t_out) {
    int64_t t = now_us();
    normalise_text(b->nz, text, &pl->nr);
    if (t_out) t_out->normalise_us = now_us() - t;
    pl->tpl = -1;
    pl->sim = 0;
    pl->named = pl->item = -1;
    pl->n_named = 0;
    pl->ir = (intent_result){.label = INTENT_UNKNOWN};
    pl->confident = 0;
    if (pl->nr.dropped) {
        pl->kind = PLAN_DROPPED;
        return;
    }
    text_tokens(pl->nr.text, &pl->tt);
    text_toks *tt = &pl->tt;

    /* intent */
    t = now_us();
    intent_result *ir = &pl->ir;
    if (have_intent)
        intent_predict(b->im, pl->nr.text, ir);
    else if ((ir->label = intent_social_rule(pl->nr.text)) != INTENT_UNKNOWN)
        ir->p = 1.0f; /* the rule needs no model */
    if (t_out) t_out->intent_us = now_us() - t;
    pl->confident = ir->label != INTENT_UNKNOWN && ir->p >= b->threshold;

    /* the items: named now (best first), or the topic still in force when the user
     * says "it" */
    pl->n_named = mention_find_all(b->mi, tt, pl->named_all, pl->starts, pl->lens, 3);
    pl->named = pl->n_named ? pl->named_all[0] : -1;
    pl->item = pl->named >= 0 ? pl->named : (has_pronoun(tt) ? s->topic_item : -1);
    int named = pl->named, item = pl->item;

    /* social turns */
    t = now_us();
    if (named < 0 && is_goodbye(tt)) {
        pl->kind = PLAN_GOODBYE;
        if (t_out) t_out->template_us = now_us() - t;
        return;
    }
    if (pl->confident && (ir->label == INTENT_GREETING || ir->label == INTENT_ACKNOWLEDGMENT) &&
        named < 0) {
        pl->kind = PLAN_SOCIAL;
        if (t_out) t_out->template_us = now_us() - t;
        return;
    }

    /* fast path: a confident intent and a template about this item close to this question */
    double sim = 0;
    const char *iname = intent_label_name(ir->label);
    int tpl = template_index_best(b->ti, tt, item, iname, &sim);
    /* a question naming two items ("does the x500 work with the jetson") may be filed
     * under either: each named item's templates compete */
    for (size_t k = 1; k < pl->n_named; k++) {
        double s2;
        int t2 = template_index_best(b->ti, tt, pl->named_all[k], iname, &s2);
        if (t2 >= 0 && s2 > sim + 1e-9) tpl = t2, sim = s2;
    }
    if ((tpl < 0 || sim < TEMPLATE_MIN_SIM) && item >= 0) {
        /* general templates may name items too ("should I use a pi or a jetson") */
        double s2;
        int t2 = template_index_best(b->ti, tt, -1, iname, &s2);
        if (t2 >= 0 && s2 > sim + 1e-9) tpl = t2, sim = s2;
    }
    if ((tpl < 0 || sim < TEMPLATE_MIN_SIM) && item < 0) {
        /* No item named: a template about some item may still be this very question
         * ("how do I use the driver board?"), but only when no other item's template
         * is nearly as close; otherwise retrieval decides. */
        double other = 0, s2 = 0;
        int t2 = template_index_best_any(b->ti, tt, iname, &s2, &other);
        if (t2 >= 0 && s2 >= TEMPLATE_ANY_MIN_SIM && other < s2 - TEMPLATE_ANY_MARGIN)
            tpl = t2, sim = s2;
    }
    if (t_out) t_out->template_us = now_us() - t;
    pl->tpl = tpl;
    pl->sim = sim;
    if (tpl >= 0 && (pl->confident || mode == BRAIN_MODE_TEMPLATE_ONLY) && sim >= TEMPLATE_MIN_SIM)
        pl->kind = PLAN_TEMPLATE;
    else if (mode == BRAIN_MODE_TEMPLATE_ONLY)
        pl->kind = PLAN_UNKNOWN;
    else
        pl->kind = PLAN_RETRIEVE;
}

/* Retrieval for a planned turn. About a named item, the item's own words add nothing
 * to the ranking (every fact about it has them), so only the rest of the question is
 * searched; when nothing is left ("tell me about the go2") the item's summary answers
 * (*summary_only). Fills facts (borrowed from the pack), out->hits and out->coverage;
 * returns how many facts, or -1 with err. */
static int find_facts(brain *b, turn_plan *pl, brain_reply *out, const char **facts,
                      int *summary_only, char *err, size_t errlen) {
    text_toks *tt = &pl->tt;
    int named = pl->named;
    size_t ms = pl->n_named ? pl->starts[0] : 0, ml = pl->n_named ? pl->lens[0] : 0;
    text_toks *rest = tt;
    int content = 0;
    question_words(tt);
    if (named >= 0) {
        rest = malloc(sizeof *rest);
        if (!rest) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        rest->n = 0;
        for (size_t i = 0; i < tt->n; i++)
            if (i < ms || i >= ms + ml) {
                memcpy(rest->t[rest->n++], tt->t[i], TOK_LEN);
                content += !text_is_stopword(tt->t[i]);
            }
    }
    int nf;
    *summary_only = named >= 0 && !content && b->pk->items[named].summary;
    if (*summary_only) {
        facts[0] = b->pk->items[named].summary;
        nf = 1;
    } else {
        nf = retrieve(b, rest, pl->item, pl->confident, out, facts, FACTS_K + 2, err, errlen);
    }
    if (rest != tt) free(rest);
    return nf;
}

/* Heard, not typed: a question whose words the facts barely cover is more likely
 * misheard (or not meant for us) than a real question nobody wrote down; better to
 * ask again than guess. Naming an item is evidence, so less cover is needed then (the
 * item's own words are not counted). */
static int spoken_doubtful(const brain *b, const turn_plan *pl, int nf, int summary_only,
                           double coverage) {
    if (summary_only) return 0;
    if (nf == 0 || pl->ir.p < SPOKEN_MIN_P ||
        coverage < (pl->named >= 0 ? SPOKEN_NAMED_MIN_COVERAGE : SPOKEN_MIN_COVERAGE))
        return 1;
    /* A word the pack never uses ("what time does the tennis start", "how do i make a
     * cheese sauce") is talk about something else, however many of its other words
     * a fact happens to hold: the recogniser's common words let it hear such speech,
     * and the facts answer it with something unrelated. The last word is let off: the
     * recogniser often ends a question it heard right on a word nobody said ("what is
     * the pico program been"). */
    for (size_t i = 0; i + 1 < pl->tt.n; i++)
        if (!text_is_stopword(pl->tt.t[i]) && !pack_words_has(b->pw, pl->tt.t[i])) return 1;
    return 0;
}

/* Takes the components a turn reads. Returns 0 (*have_intent says whether the intent
 * model is there) or -1 with err when the pack cannot load. */
static int turn_acquire(brain *b, int *have_intent, char *err, size_t errlen) {
    if (component_acquire(b->c_index, err, errlen) != 0) return -1;
    char ierr[256] = "";
    *have_intent = 0;
    if (!b->intent_failed_ms || now_ms() - b->intent_failed_ms > 60000) {
        *have_intent = component_acquire(b->c_intent, ierr, sizeof ierr) == 0;
        if (!*have_intent) {
            b->intent_failed_ms = now_ms();
            LOG_W("brain",
                  "intent model unavailable (%s); only greetings by rule, no template fast path "
                  "for a minute",
                  ierr);
        } else {
            b->intent_failed_ms = 0;
        }
    }
    return 0;
}

static void turn_release(brain *b, int have_intent) {
    component_release(b->c_index);
    if (have_intent) component_release(b->c_intent);
}

static brain_path plan_path(const turn_plan *pl, const brain_turn_opts *o) {
    switch (pl->kind) {
    case PLAN_DROPPED:
        return BRAIN_PATH_NONE;
    case PLAN_GOODBYE:
    case PLAN_SOCIAL:
    case PLAN_TEMPLATE:
    case PLAN_UNKNOWN:
        return BRAIN_PATH_TEMPLATE;
    default:
        return o && o->llm && o->mode == BRAIN_MODE_FULL ? BRAIN_PATH_LLM : BRAIN_PATH_RETRIEVAL;
    }
}

int brain_assess(brain *b, const brain_session *s, const char *text, brain_mode mode, int evidence,
                 brain_assessment *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->template_index = -1;
    out->item = -1;
    int have_intent = 0;
    if (turn_acquire(b, &have_intent, err, errlen) != 0) return -1;
    turn_plan *pl = malloc(sizeof *pl);
    if (!pl) {
        turn_release(b, have_intent);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    plan_turn(b, s, text, mode, have_intent, pl, NULL);
    str_copy(out->intent, sizeof out->intent,
             pl->kind == PLAN_DROPPED ? "" : intent_label_name(pl->ir.label));
    out->confidence = pl->ir.p;
    out->item = pl->item;
    out->named = pl->named >= 0;
    out->n_words = pl->kind == PLAN_DROPPED ? 0 : (int)pl->tt.n;
    out->template_index = pl->tpl;
    out->template_score = pl->sim;
    brain_turn_opts o = {.mode = mode};
    out->path = plan_path(pl, &o);
    out->social = pl->kind == PLAN_GOODBYE || pl->kind == PLAN_SOCIAL;
    out->fast_path = pl->kind == PLAN_TEMPLATE;
    out->spoken_ok = pl->kind != PLAN_DROPPED && pl->kind != PLAN_UNKNOWN;
    if (evidence && pl->kind == PLAN_RETRIEVE) {
        brain_reply *r = calloc(1, sizeof *r);
        const char *facts[FACTS_K + 2];
        int summary_only = 0, nf = r ? find_facts(b, pl, r, facts, &summary_only, err, errlen) : -1;
        if (nf < 0) {
            if (!r) snprintf(err, errlen, "out of memory");
            free(r);
            free(pl);
            turn_release(b, have_intent);
            return -1;
        }
        out->coverage = r->coverage;
        out->spoken_ok = !spoken_doubtful(b, pl, nf, summary_only, r->coverage);
        free(r);
    }
    free(pl);
    turn_release(b, have_intent);
    return 0;
}

int brain_turn(brain *b, brain_session *s, const char *text, const brain_turn_opts *opts,
               brain_reply *out, char *err, size_t errlen) {
    static const brain_turn_opts none = {.mode = BRAIN_MODE_FULL};
    const brain_turn_opts *o = opts ? opts : &none;
    memset(out, 0, sizeof *out);
    out->card.index = -1;
    out->template_index = -1;
    int64_t t0 = now_us(), t;
    int have_intent = 0;
    if (turn_acquire(b, &have_intent, err, errlen) != 0) return -1;
    out->t.load_us = now_us() - t0;
    speaker sp = {out, o, NULL, 0, 0};
    const pack *p = b->pk;
    turn_plan *pl = malloc(sizeof *pl);
    int rc = 0;
    if (!pl) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto done;
    }
    plan_turn(b, s, text, o->mode, have_intent, pl, &out->t);
    norm_result *nr = &pl->nr;
    text_toks *tt = &pl->tt;
    out->normalised = strdup(nr->text);
    out->truncated = nr->truncated;
    if (pl->kind == PLAN_DROPPED) {
        str_copy(out->dropped, sizeof out->dropped, nr->dropped);
        out->path = BRAIN_PATH_NONE;
        goto done;
    }
    if (nr->truncated) say_all(&sp, "Your question was very long, so I only read the first part.");
    str_copy(out->intent, sizeof out->intent, intent_label_name(pl->ir.label));
    out->confidence = pl->ir.p;
    int named = pl->named, item = pl->item;
    size_t ms = pl->n_named ? pl->starts[0] : 0, ml = pl->n_named ? pl->lens[0] : 0;

    /* UI events are known now, before any sentence: a front end can show the card
     * while the answer is still being produced */
    {
        char kw[64] = ""; /* the words that named the item, as the user said them */
        size_t w = 0;
        for (size_t i = ms; named >= 0 && i < ms + ml && i < tt->n && w + 1 < sizeof kw; i++) {
            int n = snprintf(kw + w, sizeof kw - w, "%s%s", i > ms ? " " : "", tt->t[i]);
            w = n > 0 && (size_t)n < sizeof kw - w ? w + (size_t)n : sizeof kw - 1;
        }
        set_events(b, s, named, item, kw, out);
    }
    if ((out->card.index >= 0 || out->model_3d.path[0]) && o->on_events)
        o->on_events(o->sink.user, out);

    switch (pl->kind) {
    case PLAN_GOODBYE:
        say_all(&sp, pick(p, RESP_GOODBYE, s->turn_no));
        out->path = BRAIN_PATH_TEMPLATE;
        goto answered;
    case PLAN_SOCIAL:
        say_all(&sp,
                pick(p, pl->ir.label == INTENT_GREETING ? RESP_GREETING : RESP_ACK, s->turn_no));
        out->path = BRAIN_PATH_TEMPLATE;
        goto answered;
    case PLAN_TEMPLATE:
        out->template_index = pl->tpl;
        out->template_score = pl->sim;
        say_all(&sp, p->templates[pl->tpl].answer);
        out->path = BRAIN_PATH_TEMPLATE;
        goto answered;
    case PLAN_UNKNOWN:
        say_all(&sp, pick(p, RESP_UNKNOWN, s->turn_no));
        out->path = BRAIN_PATH_TEMPLATE;
        goto answered;
    default:
        break;
    }

    t = now_us();
    const char *facts[FACTS_K + 2];
    int summary_only = 0;
    int nf = find_facts(b, pl, out, facts, &summary_only, err, errlen);
    out->t.retrieval_us = now_us() - t;
    if (nf < 0) {
        rc = -1;
        goto done;
    }
    if (o->spoken && spoken_doubtful(b, pl, nf, summary_only, out->coverage)) {
        say_all(&sp, SPOKEN_REJECT_TEXT);
        out->path = BRAIN_PATH_REJECTED;
        goto done;
    }
    if (o->llm && o->mode == BRAIN_MODE_FULL) {
        t = now_us();
        char why[512] = "";
        int lrc = answer_llm(b, s, nr->clean, facts, nf, o, &sp, out, why, sizeof why);
        out->t.llm_us = now_us() - t;
        if (lrc == 0) {
            out->path = BRAIN_PATH_LLM;
            goto answered;
        }
        if (!out->llm_failure[0]) str_copy(out->llm_failure, sizeof out->llm_failure, "other");
        LOG_W("brain", "LLM failed (%s: %s); answering from retrieval", out->llm_failure, why);
        say_all(&sp, p->llm_unavailable);
        if (nf > 0)
            compose(&sp, facts, nf, out);
        else
            say_all(&sp, "I don't have anything on that in my notes.");
        out->n_facts = nf > 1 ? 2 : nf;
        out->path = BRAIN_PATH_FALLBACK;
        goto answered;
    }
    if (nf == 0 && item >= 0 && p->items[item].summary) { /* about a known item, nothing closer */
        facts[0] = p->items[item].summary;
        nf = 1;
    }
    if (nf > 0) {
        compose(&sp, facts, nf, out);
        out->n_facts = nf > 1 ? 2 : nf;
    } else {
        say_all(&sp, pick(p, RESP_UNKNOWN, s->turn_no));
    }
    out->path = BRAIN_PATH_RETRIEVAL;

answered:
    if (item >= 0) s->topic_item = item;
    s->turn_no++;
    history_ring_push(&s->ring, nr->clean, sp.text ? sp.text : "");
    if (b->hdb) {
        char herr[256];
        if (history_db_add(b->hdb, s->id, nr->clean, sp.text ? sp.text : "", out->intent,
                           brain_path_name(out->path), herr, sizeof herr) != 0)
            LOG_W("brain", "%s", herr);
    }
done:
    if (!out->normalised) out->normalised = strdup("");
    out->text = sp.text ? sp.text : strdup("");
    free(pl);
    turn_release(b, have_intent);
    out->t.total_us = now_us() - t0;
    return rc;
}

void brain_reply_free(brain_reply *r) {
    if (!r) return;
    free(r->text);
    free(r->normalised);
    free(r->heard);
    r->text = r->normalised = r->heard = NULL;
}
