/* The intent classifier: training, calibration, suspects and prediction. See intent.h
 * for the method; README section `intent` for the numbers behind the choices.
 *
 * Training runs in three steps so the noisy labels of an imported pack do the least
 * harm:
 *   1. the greeting/acknowledgment rule marks rows whose label it contradicts;
 *   2. k-fold out-of-fold predictions (models trained without rule suspects) mark
 *      rows whose label the data itself contradicts with confidence (suspects);
 *   3. a second out-of-fold round, without any suspects in training, gives the
 *      logits the temperature is fitted on, then the final model is trained on the
 *      rows that are not suspects.
 * Everything is deterministic for a given seed. */
#include "brain/intent_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The probability reported when the rule decides: the rule's precision on clean
 * utterances is ~1, but it is a rule, so it does not claim certainty. */
#define RULE_P 0.95f
/* Below this share of greeting/thanks words among the words that mean something, or
 * above this many words, an utterance is not a greeting or an acknowledgment whatever
 * the model says ("hey, does the pi work with ros"); "hi i'm new here" still can be. */
#define SOCIAL_MIN_SHARE 0.3f
#define SOCIAL_MAX_WORDS 12
/* The target of the calibration guard: precision at p >= 0.88 on out-of-fold rows. */
#define CALIB_P 0.88f
#define CALIB_TARGET 0.90f

intent_params intent_default_params(void) {
    intent_params p = {
        .word_ngrams = 2,
        .char_min = 3,
        .char_max = 5,
        .char_weight = 1.0f,
        .l2 = 1e-5f,
        .epochs = 20,
        .balance_classes = 1,
        .backup_weight = 0.8f,
        .calib_folds = 5,
        .suspect_p = 0.6f,
        .drop_suspects = 2,
        .social_rules = 1,
        .unknown_below = 0.30f,
        .seed = 12345,
    };
    return p;
}

/* ---- small helpers ---- */

static uint32_t rng_next(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

static void shuffle(size_t *a, size_t n, uint64_t *s) {
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_next(s) % i;
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static void softmax(const float *z, float t, float *p) {
    float mx = z[0];
    for (int k = 1; k < INTENT_K; k++)
        if (z[k] > mx) mx = z[k];
    float sum = 0;
    for (int k = 0; k < INTENT_K; k++) {
        p[k] = expf((z[k] - mx) / t);
        sum += p[k];
    }
    for (int k = 0; k < INTENT_K; k++)
        p[k] /= sum;
}

/* ---- the feature table ---- */

int intent_model_index(intent_model *m) {
    uint32_t cap = 16;
    while (cap < 2u * m->nfeat + 16u)
        cap *= 2;
    free(m->table_keys);
    free(m->table_idx);
    m->table_keys = calloc(cap, sizeof *m->table_keys);
    m->table_idx = calloc(cap, sizeof *m->table_idx);
    if (!m->table_keys || !m->table_idx) return -1;
    m->table_mask = cap - 1;
    for (uint32_t i = 0; i < m->nfeat; i++) {
        uint64_t k = m->feat_keys[i];
        uint32_t j = (uint32_t)(k >> 7) & m->table_mask;
        while (m->table_keys[j] && m->table_keys[j] != k)
            j = (j + 1) & m->table_mask;
        if (m->table_keys[j] == k) return -1; /* a duplicate key: corrupt */
        m->table_keys[j] = k;
        m->table_idx[j] = i;
    }
    return 0;
}

static int64_t model_lookup(const intent_model *m, uint64_t k) {
    uint32_t j = (uint32_t)(k >> 7) & m->table_mask;
    while (m->table_keys[j]) {
        if (m->table_keys[j] == k) return m->table_idx[j];
        j = (j + 1) & m->table_mask;
    }
    return -1;
}

/* TF-IDF with sublinear tf, L2 per block (word, character), the character block
 * scaled by char_weight. Features the model never saw are dropped. Returns the number
 * of entries written to idx/val. */
static size_t vectorise(const intent_model *m, const intent_feat *f, size_t n, uint32_t *idx,
                        float *val) {
    size_t o = 0;
    double norm[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        int64_t j = model_lookup(m, f[i].key);
        if (j < 0) continue;
        float v = (1.0f + logf(f[i].count)) * m->idf[j];
        idx[o] = (uint32_t)j;
        val[o] = v;
        norm[f[i].key >> 63] += (double)v * v;
        o++;
    }
    float scale[2];
    scale[0] = norm[0] > 0 ? (float)(1.0 / sqrt(norm[0])) : 0.0f;
    scale[1] = norm[1] > 0 ? (float)(m->params.char_weight / sqrt(norm[1])) : 0.0f;
    for (size_t i = 0; i < o; i++)
        val[i] *= scale[m->feat_keys[idx[i]] >> 63];
    return o;
}

static void scores(const intent_model *m, const uint32_t *idx, const float *val, size_t n,
                   float *z) {
    for (int k = 0; k < INTENT_K; k++)
        z[k] = m->bias[k];
    for (size_t i = 0; i < n; i++) {
        const float *w = m->w + (size_t)idx[i] * INTENT_K;
        for (int k = 0; k < INTENT_K; k++)
            z[k] += val[i] * w[k];
    }
}

/* Probabilities for one utterance given its features and the rule's view of it.
 * Returns 1 when the rule decided. */
static int predict_probs(const intent_model *m, const intent_feat *f, size_t n, intent_label rule,
                         float share, float *p) {
    if (m->params.social_rules && rule != INTENT_UNKNOWN) {
        for (int k = 0; k < INTENT_K; k++)
            p[k] = (1.0f - RULE_P) / (INTENT_K - 1);
        p[rule] = RULE_P;
        return 1;
    }
    uint32_t idx[INTENT_MAX_FEATS];
    float val[INTENT_MAX_FEATS], z[INTENT_K];
    size_t nv = vectorise(m, f, n, idx, val);
    scores(m, idx, val, nv, z);
    softmax(z, m->temperature, p);
    if (m->params.social_rules && share < SOCIAL_MIN_SHARE) {
        float rest = 1.0f - p[INTENT_GREETING] - p[INTENT_ACKNOWLEDGMENT];
        p[INTENT_GREETING] = p[INTENT_ACKNOWLEDGMENT] = 0.0f;
        if (rest > 1e-12f)
            for (int k = 0; k < INTENT_K; k++)
                p[k] /= rest;
    }
    return 0;
}

/* ---- training ---- */

/* The training data as features, computed once and shared by every fold. */
typedef struct {
    const labelled_row *rows;
    size_t n;
    intent_feat *feats;
    size_t *off;        /* row i's features: feats[off[i] .. off[i+1]) */
    intent_label *rule; /* the rule's label per row (INTENT_UNKNOWN: no opinion) */
    float *share;       /* social share per row */
    float *weight;      /* per-row training weight (class balance, backup) */
} trainset;

static void trainset_free(trainset *ts) {
    free(ts->feats);
    free(ts->off);
    free(ts->rule);
    free(ts->share);
    free(ts->weight);
}

static int trainset_init(trainset *ts, const labelled_row *rows, size_t n, const intent_params *p) {
    memset(ts, 0, sizeof *ts);
    ts->rows = rows;
    ts->n = n;
    ts->off = calloc(n + 1, sizeof *ts->off);
    ts->rule = calloc(n, sizeof *ts->rule);
    ts->share = calloc(n, sizeof *ts->share);
    ts->weight = calloc(n, sizeof *ts->weight);
    intent_feat *tmp = malloc(INTENT_MAX_FEATS * sizeof *tmp);
    size_t cap = n * 64 + 64, used = 0;
    ts->feats = malloc(cap * sizeof *ts->feats);
    if (!ts->off || !ts->rule || !ts->share || !ts->weight || !tmp || !ts->feats) goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t k = intent_text_features(rows[i].text, p, tmp, INTENT_MAX_FEATS);
        if (used + k > cap) {
            while (used + k > cap)
                cap *= 2;
            intent_feat *nf = realloc(ts->feats, cap * sizeof *nf);
            if (!nf) goto fail;
            ts->feats = nf;
        }
        memcpy(ts->feats + used, tmp, k * sizeof *tmp);
        ts->off[i] = used;
        used += k;
        ts->rule[i] = intent_social_rule(rows[i].text);
        int nw = 0;
        ts->share[i] = intent_social_share(rows[i].text, &nw);
        if (nw > SOCIAL_MAX_WORDS) ts->share[i] = 0.0f;
    }
    ts->off[n] = used;
    /* Class balance: rare classes count more, capped so five noisy rows cannot
     * dominate; backup rows (clean) count backup_weight. */
    size_t count[INTENT_K] = {0}, present = 0;
    for (size_t i = 0; i < n; i++)
        count[rows[i].label]++;
    for (int k = 0; k < INTENT_K; k++)
        present += count[k] > 0;
    for (size_t i = 0; i < n; i++) {
        float w = 1.0f;
        if (p->balance_classes && present) {
            w = (float)n / ((float)present * (float)count[rows[i].label]);
            if (w > 3.0f) w = 3.0f;
            if (w < 0.5f) w = 0.5f;
        }
        if (rows[i].origin == LABELLED_BACKUP) w *= p->backup_weight;
        ts->weight[i] = w;
    }
    free(tmp);
    return 0;
fail:
    free(tmp);
    trainset_free(ts);
    return -1;
}

void intent_free(intent_model *m) {
    if (!m) return;
    free(m->table_keys);
    free(m->table_idx);
    free(m->feat_keys);
    free(m->idf);
    free(m->w);
    free(m->suspects);
    free(m);
}

/* Fits vocabulary, IDF and the softmax weights on the rows with use[i] set. */
static intent_model *fit(const trainset *ts, const unsigned char *use, const intent_params *p) {
    intent_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->params = *p;
    m->temperature = 1.0f;
    size_t nuse = 0, total = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (use[i]) {
            nuse++;
            total += ts->off[i + 1] - ts->off[i];
        }
    /* Vocabulary: distinct keys of the used rows with document frequencies. */
    uint32_t cap = 16;
    while (cap < 2 * total + 16)
        cap *= 2;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *df = calloc(cap, sizeof *df);
    uint32_t *idx = NULL;
    float *val = NULL;
    size_t *order = NULL;
    if (!keys || !df) goto fail;
    uint32_t nfeat = 0;
    for (size_t i = 0; i < ts->n; i++) {
        if (!use[i]) continue;
        for (size_t f = ts->off[i]; f < ts->off[i + 1]; f++) {
            uint64_t k = ts->feats[f].key;
            uint32_t j = (uint32_t)(k >> 7) & (cap - 1);
            while (keys[j] && keys[j] != k)
                j = (j + 1) & (cap - 1);
            if (!keys[j]) {
                keys[j] = k;
                nfeat++;
            }
            df[j]++;
        }
    }
    m->nfeat = nfeat;
    m->feat_keys = malloc((nfeat ? nfeat : 1) * sizeof *m->feat_keys);
    m->idf = malloc((nfeat ? nfeat : 1) * sizeof *m->idf);
    m->w = calloc((size_t)(nfeat ? nfeat : 1) * INTENT_K, sizeof *m->w);
    if (!m->feat_keys || !m->idf || !m->w) goto fail;
    uint32_t o = 0;
    for (uint32_t j = 0; j < cap; j++) {
        if (!keys[j]) continue;
        m->feat_keys[o] = keys[j];
        m->idf[o] = logf((1.0f + (float)nuse) / (1.0f + (float)df[j])) + 1.0f;
        o++;
    }
    free(keys);
    free(df);
    keys = NULL;
    df = NULL;
    if (intent_model_index(m) != 0) goto fail;

    /* Sparse rows. */
    idx = malloc((total ? total : 1) * sizeof *idx);
    val = malloc((total ? total : 1) * sizeof *val);
    size_t *roff = calloc(ts->n + 1, sizeof *roff);
    order = malloc((nuse ? nuse : 1) * sizeof *order);
    if (!idx || !val || !roff || !order) {
        free(roff);
        goto fail;
    }
    size_t used = 0, no = 0;
    for (size_t i = 0; i < ts->n; i++) {
        roff[i] = used;
        if (!use[i]) continue;
        used += vectorise(m, ts->feats + ts->off[i], ts->off[i + 1] - ts->off[i], idx + used,
                          val + used);
        order[no++] = i;
    }
    roff[ts->n] = used;

    /* SGD on the weighted softmax loss with L2; W = scale * V so that the decay of
     * every weight each step costs one multiplication (Bottou's trick). */
    uint64_t rs = p->seed ? p->seed : 1;
    double scale = 1.0;
    float eta0 = 0.5f;
    long t = 0;
    for (int ep = 0; ep < p->epochs; ep++) {
        shuffle(order, no, &rs);
        for (size_t q = 0; q < no; q++, t++) {
            size_t i = order[q];
            float eta = eta0 / (1.0f + eta0 * p->l2 * (float)t * 50.0f);
            size_t a = roff[i], b = roff[i + 1]; /* unused rows add no entries */
            float z[INTENT_K], pr[INTENT_K];
            for (int k = 0; k < INTENT_K; k++)
                z[k] = m->bias[k];
            for (size_t e = a; e < b; e++) {
                const float *w = m->w + (size_t)idx[e] * INTENT_K;
                for (int k = 0; k < INTENT_K; k++)
                    z[k] += (float)scale * val[e] * w[k];
            }
            softmax(z, 1.0f, pr);
            pr[ts->rows[i].label] -= 1.0f;
            float rw = ts->weight[i];
            scale *= (1.0 - (double)eta * p->l2);
            float step = (float)(eta * rw / scale);
            for (size_t e = a; e < b; e++) {
                float *w = m->w + (size_t)idx[e] * INTENT_K;
                for (int k = 0; k < INTENT_K; k++)
                    w[k] -= step * pr[k] * val[e];
            }
            for (int k = 0; k < INTENT_K; k++)
                m->bias[k] -= eta * rw * pr[k] * 0.1f;
            if (scale < 1e-6) {
                for (size_t j = 0; j < (size_t)m->nfeat * INTENT_K; j++)
                    m->w[j] *= (float)scale;
                scale = 1.0;
            }
        }
    }
    for (size_t j = 0; j < (size_t)m->nfeat * INTENT_K; j++)
        m->w[j] *= (float)scale;
    free(roff);
    free(idx);
    free(val);
    free(order);
    return m;
fail:
    free(keys);
    free(df);
    free(idx);
    free(val);
    free(order);
    intent_free(m);
    return NULL;
}

/* Out-of-fold probabilities: stratified k folds over the rows with eval[i] set; each
 * fold's model is trained on the rows with train[i] set outside the fold. oof is
 * n x K (rows without eval[i] are left alone); with raw_logits the model's
 * temperature stays 1 and z (n x K) gets the logits too. */
static int out_of_fold(const trainset *ts, const unsigned char *train, const intent_params *p,
                       int folds, float *oof, float *zout) {
    size_t n = ts->n;
    int *fold = malloc(n * sizeof *fold);
    size_t *ids = malloc(n * sizeof *ids);
    unsigned char *use = malloc(n);
    if (!fold || !ids || !use) goto fail;
    uint64_t rs = (uint64_t)p->seed * 2654435761u + 7;
    /* Stratify by label: deal each class's shuffled rows round-robin into folds. */
    int next = 0;
    for (int k = 0; k < INTENT_K; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (ts->rows[i].label == (intent_label)k) ids[m++] = i;
        shuffle(ids, m, &rs);
        for (size_t q = 0; q < m; q++)
            fold[ids[q]] = (next++) % folds;
    }
    for (int f = 0; f < folds; f++) {
        for (size_t i = 0; i < n; i++)
            use[i] = train[i] && fold[i] != f;
        intent_model *m = fit(ts, use, p);
        if (!m) goto fail;
        uint32_t idx[INTENT_MAX_FEATS];
        float val[INTENT_MAX_FEATS];
        for (size_t i = 0; i < n; i++) {
            if (fold[i] != f) continue;
            const intent_feat *fe = ts->feats + ts->off[i];
            size_t nf = ts->off[i + 1] - ts->off[i];
            predict_probs(m, fe, nf, ts->rule[i], ts->share[i], oof + i * INTENT_K);
            if (zout) {
                size_t nv = vectorise(m, fe, nf, idx, val);
                scores(m, idx, val, nv, zout + i * INTENT_K);
            }
        }
        intent_free(m);
    }
    free(fold);
    free(ids);
    free(use);
    return 0;
fail:
    free(fold);
    free(ids);
    free(use);
    return -1;
}

static int argmax(const float *p) {
    int b = 0;
    for (int k = 1; k < INTENT_K; k++)
        if (p[k] > p[b]) b = k;
    return b;
}

/* Applies the same masking as predict_probs to raw logits at temperature t. */
static void calibrated(const float *z, float t, float share, int social_rules, float *p) {
    softmax(z, t, p);
    if (social_rules && share < SOCIAL_MIN_SHARE) {
        float rest = 1.0f - p[INTENT_GREETING] - p[INTENT_ACKNOWLEDGMENT];
        p[INTENT_GREETING] = p[INTENT_ACKNOWLEDGMENT] = 0.0f;
        if (rest > 1e-12f)
            for (int k = 0; k < INTENT_K; k++)
                p[k] /= rest;
    }
}

/* Temperature: the minimum of the out-of-fold negative log-likelihood (golden-section
 * search over log t), then raised until the precision among predictions with
 * p >= 0.88 reaches CALIB_TARGET on those rows: the promise made to the template fast
 * path is about that threshold, so it is checked directly. */
static float fit_temperature(const trainset *ts, const unsigned char *rows, const float *z,
                             int social_rules) {
    double lo = log(0.05), hi = log(20.0);
    const double gr = 0.6180339887498949;
    float pr[INTENT_K];
    for (int it = 0; it < 40; it++) {
        double a = hi - gr * (hi - lo), b = lo + gr * (hi - lo), na = 0, nb = 0;
        for (size_t i = 0; i < ts->n; i++) {
            if (!rows[i]) continue;
            calibrated(z + i * INTENT_K, (float)exp(a), ts->share[i], social_rules, pr);
            na -= log(pr[ts->rows[i].label] + 1e-9);
            calibrated(z + i * INTENT_K, (float)exp(b), ts->share[i], social_rules, pr);
            nb -= log(pr[ts->rows[i].label] + 1e-9);
        }
        if (na < nb)
            hi = b;
        else
            lo = a;
    }
    float t = (float)exp((lo + hi) / 2);
    for (int it = 0; it < 60; it++) {
        size_t hit = 0, right = 0;
        for (size_t i = 0; i < ts->n; i++) {
            if (!rows[i]) continue;
            calibrated(z + i * INTENT_K, t, ts->share[i], social_rules, pr);
            int b = argmax(pr);
            if (pr[b] >= CALIB_P) {
                hit++;
                right += b == (int)ts->rows[i].label;
            }
        }
        if (hit == 0 || (float)right >= CALIB_TARGET * (float)hit) break;
        t *= 1.08f;
    }
    return t;
}

static int add_suspect(intent_model *m, size_t *cap, size_t row, intent_label given,
                       intent_label pred, float p, int by_rule) {
    if (m->nsuspects == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        intent_suspect *s = realloc(m->suspects, nc * sizeof *s);
        if (!s) return -1;
        m->suspects = s;
        *cap = nc;
    }
    m->suspects[m->nsuspects++] = (intent_suspect){row, given, pred, p, by_rule};
    return 0;
}

intent_model *intent_train(const labelled_row *rows, size_t n, const intent_params *params,
                           char *err, size_t errlen) {
    intent_params p = params ? *params : intent_default_params();
    if (!rows || n == 0) {
        snprintf(err, errlen,
                 "no labelled utterances to train on; the pack's utterances.tsv is "
                 "empty or missing");
        return NULL;
    }
    int labels = 0, seen[INTENT_K] = {0};
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)rows[i].label >= INTENT_K || !rows[i].text) {
            snprintf(err, errlen, "row %zu: label or text invalid", i + 1);
            return NULL;
        }
        if (!seen[rows[i].label]++) labels++;
    }
    if (labels < 2) {
        snprintf(err, errlen, "the labelled utterances use %d intent(s); at least 2 are needed",
                 labels);
        return NULL;
    }
    if (p.epochs < 1) p.epochs = 1;
    if (p.epochs > 500) p.epochs = 500;
    if (p.calib_folds == 1) p.calib_folds = 0;
    if (p.calib_folds > 20) p.calib_folds = 20;
    if (p.char_max > 8) p.char_max = 8;

    trainset ts;
    if (trainset_init(&ts, rows, n, &p) != 0) {
        snprintf(err, errlen, "out of memory preparing %zu utterances", n);
        return NULL;
    }
    unsigned char *train = malloc(n);
    float *oof = malloc(n * INTENT_K * sizeof *oof);
    float *z = malloc(n * INTENT_K * sizeof *z);
    intent_model *m = NULL;
    intent_suspect *sus = NULL;
    size_t nsus = 0, sus_cap = 0;
    if (!train || !oof || !z) goto oom;

    /* 1. The rule's verdicts. */
    intent_model tmp = {0}; /* collects suspects before the final model exists */
    for (size_t i = 0; i < n; i++) {
        train[i] = 1;
        if (!p.social_rules) continue;
        intent_label l = rows[i].label;
        int social = l == INTENT_GREETING || l == INTENT_ACKNOWLEDGMENT;
        if (ts.rule[i] != INTENT_UNKNOWN && ts.rule[i] != l)
            train[i] = 0;
        else if (social && ts.rule[i] == INTENT_UNKNOWN && ts.share[i] < SOCIAL_MIN_SHARE)
            train[i] = 0;
    }
    if (p.drop_suspects == 2) {
        p.drop_suspects = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].origin == LABELLED_BACKUP) p.drop_suspects = 1;
    }
    int folds = p.calib_folds;
    float t = 1.0f;
    if (folds >= 2) {
        /* 2. Out-of-fold suspects. */
        if (out_of_fold(&ts, train, &p, folds, oof, z) != 0) goto oom;
        unsigned char *keep = malloc(n);
        if (!keep) goto oom;
        for (size_t i = 0; i < n; i++) {
            keep[i] = train[i];
            const float *pr = oof + i * INTENT_K;
            int b = argmax(pr);
            if (!train[i]) {
                /* Rule suspect: say what it is, by the rule or the model. */
                intent_label pred = ts.rule[i] != INTENT_UNKNOWN ? ts.rule[i] : (intent_label)b;
                if (add_suspect(&tmp, &sus_cap, i, rows[i].label, pred,
                                ts.rule[i] != INTENT_UNKNOWN ? RULE_P : pr[b], 1) != 0) {
                    free(keep);
                    goto oom;
                }
            } else if (b != (int)rows[i].label && pr[b] >= p.suspect_p &&
                       rows[i].origin == LABELLED_PRIMARY) {
                if (add_suspect(&tmp, &sus_cap, i, rows[i].label, (intent_label)b, pr[b], 0) != 0) {
                    free(keep);
                    goto oom;
                }
                if (p.drop_suspects) keep[i] = 0;
            }
        }
        /* 3. Calibration on a second out-of-fold round trained like the final model
         * (the first round's logits when no row was dropped). */
        if (memcmp(keep, train, n) != 0 && out_of_fold(&ts, keep, &p, folds, oof, z) != 0) {
            free(keep);
            goto oom;
        }
        t = fit_temperature(&ts, train, z, p.social_rules);
        memcpy(train, keep, n);
        free(keep);
    } else {
        /* No folds: only the rule's verdicts are known. */
        for (size_t i = 0; i < n; i++)
            if (!train[i] && add_suspect(&tmp, &sus_cap, i, rows[i].label, ts.rule[i],
                                         ts.rule[i] != INTENT_UNKNOWN ? RULE_P : 0.0f, 1) != 0)
                goto oom;
    }
    sus = tmp.suspects;
    nsus = tmp.nsuspects;
    m = fit(&ts, train, &p);
    if (!m) goto oom;
    m->temperature = t;
    m->suspects = sus;
    m->nsuspects = nsus;
    sus = NULL;
    m->data_hash = labelled_rows_hash(rows, n);
    free(train);
    free(oof);
    free(z);
    trainset_free(&ts);
    return m;
oom:
    free(sus);
    free(train);
    free(oof);
    free(z);
    trainset_free(&ts);
    snprintf(err, errlen, "out of memory training on %zu utterances", n);
    return NULL;
}

int intent_predict(const intent_model *m, const char *text, intent_result *out) {
    if (!m || !out) return -1;
    if (!text) text = "";
    intent_feat f[INTENT_MAX_FEATS];
    float pr[INTENT_K];
    intent_label rule = m->params.social_rules ? intent_social_rule(text) : INTENT_UNKNOWN;
    float share = 0.0f;
    size_t nf = 0;
    if (rule == INTENT_UNKNOWN) {
        int nw = 0;
        share = m->params.social_rules ? intent_social_share(text, &nw) : 1.0f;
        if (m->params.social_rules && nw > SOCIAL_MAX_WORDS) share = 0.0f;
        nf = intent_text_features(text, &m->params, f, INTENT_MAX_FEATS);
    }
    memset(out, 0, sizeof *out);
    out->by_rule = predict_probs(m, f, nf, rule, share, pr);
    for (int r = 0; r < 3; r++) {
        int b = -1;
        for (int k = 0; k < INTENT_K; k++) {
            int taken = 0;
            for (int q = 0; q < r; q++)
                taken |= (int)out->top[q] == k;
            if (!taken && (b < 0 || pr[k] > pr[b])) b = k;
        }
        out->top[r] = (intent_label)b;
        out->top_p[r] = pr[b];
    }
    out->p = out->top_p[0];
    out->label = out->p >= m->params.unknown_below ? out->top[0] : INTENT_UNKNOWN;
    return 0;
}

const intent_suspect *intent_suspects(const intent_model *m, size_t *count) {
    if (count) *count = m ? m->nsuspects : 0;
    return m ? m->suspects : NULL;
}

uint64_t intent_data_hash(const intent_model *m) {
    return m ? m->data_hash : 0;
}
float intent_temperature(const intent_model *m) {
    return m ? m->temperature : 1.0f;
}

size_t intent_memory_bytes(const intent_model *m) {
    if (!m) return 0;
    return sizeof *m + (size_t)(m->table_mask + 1) * (sizeof(uint64_t) + sizeof(uint32_t)) +
           (size_t)m->nfeat * (sizeof(uint64_t) + sizeof(float) + INTENT_K * sizeof(float)) +
           m->nsuspects * sizeof(intent_suspect);
}
