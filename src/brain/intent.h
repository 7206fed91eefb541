/* The intent classifier: which of the nine intents an utterance asks, with a
 * calibrated probability.
 *
 * Method (numbers in README, section `intent`; `axiom eval intents` measures them):
 * - features: hashed word unigrams + bigrams and character 3-5-grams within words,
 *   sublinear TF x IDF, each block L2-normalised; only features seen in training are
 *   kept (a compact table, no hash-bucket collisions that matter);
 * - model: multinomial logistic regression (softmax), L2-regularised, SGD;
 * - calibration: temperature scaling fitted on out-of-fold predictions, so p is a
 *   probability: among predictions with p >= 0.88 about 88% or more are right;
 * - robustness: greetings and acknowledgments are recognised by a rule (short
 *   utterances made only of greeting / thanks / okay words) whatever the training
 *   labels say; training rows whose label a rule or the out-of-fold model contradicts
 *   confidently are "suspects" and are left out of the final model (params);
 * - `unknown` when the top probability is below params.unknown_below.
 *
 * Thread safety: intent_predict only reads the model; any number of threads may call it
 * on one model at once. Training, load and free are single-threaded. */
#ifndef AXIOM_INTENT_H
#define AXIOM_INTENT_H

#include "brain/labelled.h"

#include <stddef.h>
#include <stdint.h>

typedef struct intent_model intent_model;

typedef struct {
    /* features */
    int word_ngrams;        /* 1 = unigrams, 2 = uni+bigrams (default 2) */
    int char_min, char_max; /* character n-gram lengths within words; 0 = none (3, 5) */
    float char_weight;      /* weight of the character block against the word block (1) */
    /* model */
    float l2;            /* L2 regularisation strength per row (1e-5) */
    int epochs;          /* SGD passes over the data (20) */
    int balance_classes; /* 1: weight rows so each class counts alike (capped) (1) */
    float backup_weight; /* weight of LABELLED_BACKUP rows (default pack) (0.8) */
    /* calibration and robustness */
    int calib_folds;     /* folds for out-of-fold calibration and suspects; 0 = none (5) */
    float suspect_p;     /* out-of-fold p of another label at or above which a row is a
                            suspect (0.6) */
    int drop_suspects;   /* 1: suspects are left out of the final model; 0: kept (only
                            reported); 2 (default): left out when the rows include
                            LABELLED_BACKUP rows, i.e. for an imported pack backed by the
                            curated default pack, kept when training the default pack */
    int social_rules;    /* 1: the greeting/acknowledgment rule is on (1) */
    float unknown_below; /* top p below this answers `unknown` (0.30) */
    uint32_t seed;       /* shuffling seed (deterministic training) */
} intent_params;

intent_params intent_default_params(void);

/* One prediction. label is INTENT_UNKNOWN when the top p < unknown_below (top[0] still
 * says which intent came first). */
typedef struct {
    intent_label label;
    float p;             /* calibrated probability of top[0] */
    intent_label top[3]; /* best three intents, best first */
    float top_p[3];
    int by_rule; /* 1 when the greeting/acknowledgment rule decided */
} intent_result;

/* Why a training row is a suspect (see intent_suspects). */
typedef struct {
    size_t row;             /* index into the rows given to intent_train */
    intent_label given;     /* the row's label */
    intent_label predicted; /* what the rule or the out-of-fold model says */
    float p;                /* out-of-fold probability of predicted (1 for the rule) */
    int by_rule;
} intent_suspect;

/* Trains on rows[0..n) (at least two labels with rows). Returns NULL with err naming
 * the problem (no rows, one label only, out of memory). p may be NULL (defaults). */
intent_model *intent_train(const labelled_row *rows, size_t n, const intent_params *p, char *err,
                           size_t errlen);

/* Classifies text (any bytes; non-UTF-8, empty and very long input are fine: input
 * beyond 4 KiB is ignored). Returns 0, or -1 on NULL arguments. */
int intent_predict(const intent_model *m, const char *text, intent_result *out);

/* The training rows judged suspect, in row order (valid while the model lives). */
const intent_suspect *intent_suspects(const intent_model *m, size_t *count);

/* The hash of the rows it was trained on (labelled_rows_hash) and its parameters. */
uint64_t intent_data_hash(const intent_model *m);
/* Bytes the model holds. */
size_t intent_memory_bytes(const intent_model *m);
/* The calibration temperature fitted on out-of-fold predictions (1 when none). */
float intent_temperature(const intent_model *m);

/* Cache file: a versioned binary with the training data's hash. Save returns 0 or -1
 * with err (path and reason). Load returns NULL with err when the file is missing,
 * corrupt, of another version, or was trained on other data (hash != expect_hash;
 * pass 0 to accept any); a corrupt file is an error, never a crash. */
int intent_save(const intent_model *m, const char *path, char *err, size_t errlen);
intent_model *intent_load(const char *path, uint64_t expect_hash, char *err, size_t errlen);

/* What an index build calls: loads cache_path when it holds a model trained on exactly
 * these rows (labelled_rows_hash), else trains and writes the cache (a failed write is
 * logged, not fatal). cache_path may be NULL (always trains). *from_cache (may be NULL)
 * says which happened. Returns NULL with err only when training fails. */
intent_model *intent_load_or_train(const labelled_row *rows, size_t n, const intent_params *p,
                                   const char *cache_path, int *from_cache, char *err,
                                   size_t errlen);

void intent_free(intent_model *m);

/* The greeting/acknowledgment rule on its own: returns INTENT_GREETING,
 * INTENT_ACKNOWLEDGMENT, or INTENT_UNKNOWN when text is not a short social phrase. */
intent_label intent_social_rule(const char *text);

#endif
