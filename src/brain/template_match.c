/* TF-IDF cosine over template questions (see template_match.h). Binary term
 * frequency: questions are short, so a repeated word says little. Postings are kept
 * in one compressed-row array; the vocabulary is an open-addressing hash table. */
#include "brain/template_match.h"

#include "core/util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char tok[TOK_LEN];
    int id; /* -1 = empty slot */
} vslot;

struct template_index {
    const pack *p;
    vslot *vocab;
    size_t vcap, nvocab;
    float *idf;        /* per token id */
    uint32_t *post_at; /* nvocab + 1 offsets into post */
    int *post;         /* template ids */
    float *tnorm;      /* per template */
    size_t n;
    size_t bytes;
};

/* Only a slot in the in-memory vocabulary; token ids do not depend on it. */
static size_t hash_tok(const char *s) {
    return (size_t)fnv1a64_str(FNV1A64_INIT, s);
}

static int vocab_find(const template_index *t, const char *tok) {
    if (!t->vcap) return -1;
    for (size_t i = hash_tok(tok) & (t->vcap - 1);; i = (i + 1) & (t->vcap - 1)) {
        if (t->vocab[i].id < 0) return -1;
        if (strcmp(t->vocab[i].tok, tok) == 0) return t->vocab[i].id;
    }
}

static int vocab_add(template_index *t, const char *tok) {
    size_t i = hash_tok(tok) & (t->vcap - 1);
    for (;; i = (i + 1) & (t->vcap - 1)) {
        if (t->vocab[i].id < 0) break;
        if (strcmp(t->vocab[i].tok, tok) == 0) return t->vocab[i].id;
    }
    memcpy(t->vocab[i].tok, tok, TOK_LEN);
    t->vocab[i].id = (int)t->nvocab++;
    return t->vocab[i].id;
}

/* A question's word the templates do not have, read as its singular or plural when
 * the templates have that instead: "is the lab open on sundays" is the template "is
 * the lab open on sunday" (a recogniser that knows only one of the two hears that
 * one; typed and heard must find the same answer). */
static int vocab_find_number(const template_index *t, const char *tok) {
    int id = vocab_find(t, tok);
    size_t len = strlen(tok);
    if (id >= 0 || len < 4) return id;
    char other[TOK_LEN];
    if (tok[len - 1] == 's' && tok[len - 2] != 's') {
        memcpy(other, tok, len - 1);
        other[len - 1] = '\0';
    } else if (len + 1 < TOK_LEN) {
        memcpy(other, tok, len);
        other[len] = 's';
        other[len + 1] = '\0';
    } else {
        return -1;
    }
    return vocab_find(t, other);
}

/* Unique token ids of one text (at most TOK_MAX). */
static size_t uniq_ids(template_index *t, const text_toks *tt, int *ids, int add) {
    size_t n = 0;
    for (size_t i = 0; i < tt->n; i++) {
        int id = add ? vocab_add(t, tt->t[i]) : vocab_find_number(t, tt->t[i]);
        if (id < 0) {
            ids[n++] = -1;
            continue;
        }
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= ids[k] == id;
        if (!dup) ids[n++] = id;
    }
    return n;
}

template_index *template_index_new(const pack *p, const char *const *qs) {
    template_index *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->p = p;
    t->n = p->n_templates;
    size_t total_toks = 0;
    text_toks *tt = malloc(sizeof *tt);
    if (!tt) goto fail;
    for (size_t i = 0; i < t->n; i++) {
        text_tokens(qs[i], tt);
        total_toks += tt->n;
    }
    t->vcap = 64;
    while (t->vcap < total_toks * 2 + 64)
        t->vcap *= 2;
    t->vocab = malloc(t->vcap * sizeof *t->vocab);
    int *df = calloc(total_toks + 1, sizeof *df);
    int **tids = calloc(t->n + 1, sizeof *tids);
    size_t *tn = calloc(t->n + 1, sizeof *tn);
    t->tnorm = calloc(t->n + 1, sizeof *t->tnorm);
    if (!t->vocab || !df || !tids || !tn || !t->tnorm) {
        free(df);
        free(tids);
        free(tn);
        goto fail;
    }
    for (size_t i = 0; i < t->vcap; i++)
        t->vocab[i].id = -1;
    int ids[TOK_MAX];
    size_t npost = 0;
    for (size_t i = 0; i < t->n; i++) {
        text_tokens(qs[i], tt);
        tn[i] = uniq_ids(t, tt, ids, 1);
        tids[i] = malloc((tn[i] ? tn[i] : 1) * sizeof(int));
        if (tids[i])
            memcpy(tids[i], ids, tn[i] * sizeof(int));
        else
            tn[i] = 0;
        for (size_t k = 0; k < tn[i]; k++)
            df[ids[k]]++;
        npost += tn[i];
    }
    t->idf = malloc((t->nvocab + 1) * sizeof *t->idf);
    t->post_at = calloc(t->nvocab + 2, sizeof *t->post_at);
    t->post = malloc((npost + 1) * sizeof *t->post);
    if (t->idf && t->post_at && t->post) {
        for (size_t v = 0; v < t->nvocab; v++) {
            t->idf[v] = (float)log(1.0 + (double)t->n / df[v]);
            t->post_at[v + 1] = t->post_at[v] + (uint32_t)df[v];
        }
        uint32_t *fill = calloc(t->nvocab + 1, sizeof *fill);
        for (size_t i = 0; fill && i < t->n; i++) {
            double norm = 0;
            for (size_t k = 0; k < tn[i]; k++) {
                int v = tids[i][k];
                t->post[t->post_at[v] + fill[v]++] = (int)i;
                norm += (double)t->idf[v] * t->idf[v];
            }
            t->tnorm[i] = (float)sqrt(norm);
        }
        free(fill);
    }
    for (size_t i = 0; i < t->n; i++)
        free(tids[i]);
    free(tids);
    free(tn);
    free(df);
    free(tt);
    if (!t->idf || !t->post_at || !t->post) {
        template_index_free(t);
        return NULL;
    }
    t->bytes = sizeof *t + t->vcap * sizeof *t->vocab +
               t->nvocab * (sizeof(float) + sizeof(uint32_t)) + npost * sizeof(int) +
               t->n * sizeof(float);
    return t;
fail:
    free(tt);
    template_index_free(t);
    return NULL;
}

void template_index_free(template_index *t) {
    if (!t) return;
    free(t->vocab);
    free(t->idf);
    free(t->post_at);
    free(t->post);
    free(t->tnorm);
    free(t);
}

size_t template_index_bytes(const template_index *t) {
    return t ? t->bytes : 0;
}

/* Scores every template sharing a word with q. any = 0: only templates about item;
 * any = 1: all, and *other gets the best score of a template about another item with
 * another answer (how ambiguous the winner is). Ranking adds 0.05 for the expected
 * intent; *score is the plain cosine. */
static int best_core(const template_index *t, const text_toks *q, int item, int any,
                     const char *intent, double *score, double *other) {
    *score = 0;
    if (other) *other = 0;
    if (!t || !t->n || !q->n) return -1;
    int ids[TOK_MAX];
    size_t n = uniq_ids((template_index *)t, q, ids, 0);
    /* a word no template uses still counts against every template: it is part of the
     * question that none of them answers */
    double qn = 0, unknown_w = log(1.0 + (double)t->n);
    for (size_t k = 0; k < n; k++)
        qn += ids[k] < 0 ? unknown_w * unknown_w : (double)t->idf[ids[k]] * t->idf[ids[k]];
    if (qn <= 0) return -1;
    qn = sqrt(qn);
    float stackacc[4096];
    float *acc = t->n <= 4096 ? stackacc : calloc(t->n, sizeof *acc);
    if (!acc) return -1;
    if (acc == stackacc) memset(acc, 0, t->n * sizeof *acc);
    int best = -1;
    double bestrank = 0, bestcos = 0;
    for (size_t k = 0; k < n; k++) {
        if (ids[k] < 0) continue;
        int v = ids[k];
        float w = t->idf[v] * t->idf[v];
        for (uint32_t j = t->post_at[v]; j < t->post_at[v + 1]; j++) {
            int ti = t->post[j];
            if (!any && t->p->templates[ti].item != item) continue;
            acc[ti] += w;
        }
    }
    /* candidates in posting order; each scored once (acc negated after) */
    for (size_t k = 0; k < n; k++) {
        if (ids[k] < 0) continue;
        int v = ids[k];
        for (uint32_t j = t->post_at[v]; j < t->post_at[v + 1]; j++) {
            int ti = t->post[j];
            if (acc[ti] <= 0) continue;
            double c = acc[ti] / (qn * t->tnorm[ti]);
            double r = c + (intent && strcmp(t->p->templates[ti].intent, intent) == 0 ? 0.05 : 0);
            if (r > bestrank + 1e-9 || (r > bestrank - 1e-9 && best >= 0 && ti < best))
                best = ti, bestrank = r, bestcos = c;
        }
        for (uint32_t j = t->post_at[v]; j < t->post_at[v + 1]; j++)
            if (acc[t->post[j]] > 0) acc[t->post[j]] = -acc[t->post[j]];
    }
    /* Several templates may hold this very question with different answers (noisy
     * imported data: a misheard form and a spec entry both read "what is the unitree
     * go2"). Among the equally close ones, the answer most of them give wins. */
    if (best >= 0) {
        int ties[64], nt = 0;
        for (size_t ti = 0; ti < t->n && nt < 64; ti++) {
            if (acc[ti] >= 0) continue;
            double c = -acc[ti] / (qn * t->tnorm[ti]);
            double r = c + (intent && strcmp(t->p->templates[ti].intent, intent) == 0 ? 0.05 : 0);
            if (r > bestrank - 1e-6) ties[nt++] = (int)ti;
        }
        int best_votes = 0;
        for (int a = 0; a < nt; a++) {
            int votes = 0;
            for (int c = 0; c < nt; c++)
                votes +=
                    strcmp(t->p->templates[ties[a]].answer, t->p->templates[ties[c]].answer) == 0;
            if (votes > best_votes) best_votes = votes, best = ties[a];
        }
    }
    if (any && other && best >= 0) {
        const pack_template *w = &t->p->templates[best];
        for (size_t ti = 0; ti < t->n; ti++) {
            if (acc[ti] >= 0) continue; /* negated = was a candidate */
            const pack_template *x = &t->p->templates[ti];
            if (x->item == w->item || strcmp(x->answer, w->answer) == 0) continue;
            double c = -acc[ti] / (qn * t->tnorm[ti]);
            if (c > *other) *other = c;
        }
    }
    if (acc != stackacc) free(acc);
    *score = bestcos > 1 ? 1 : bestcos;
    return best;
}

int template_index_best(const template_index *t, const text_toks *q, int item, const char *intent,
                        double *score) {
    return best_core(t, q, item, 0, intent, score, NULL);
}

int template_index_best_any(const template_index *t, const text_toks *q, const char *intent,
                            double *score, double *other) {
    return best_core(t, q, -1, 1, intent, score, other);
}
