/* Measuring the intent classifier: accuracy, macro-F1, per-class precision/recall/F1,
 * a confusion matrix and a calibration table, over k-fold cross-validation or a
 * held-out file. Used by `axiom eval intents`, the tests and the benchmark. */
#ifndef AXIOM_INTENT_EVAL_H
#define AXIOM_INTENT_EVAL_H

#include "brain/intent.h"

#include <cjson/cJSON.h>
#include <stdio.h>

#define INTENT_CALIB_BINS 7

typedef struct {
    size_t n;
    /* rows: true intent; columns: predicted intent, the last one `unknown` */
    size_t confusion[INTENT_NCLASSES][INTENT_NCLASSES + 1];
    /* calibration: predictions by their probability, with how many were right */
    size_t bin_n[INTENT_CALIB_BINS], bin_right[INTENT_CALIB_BINS];
    size_t high_n, high_right; /* p >= 0.88 */
} intent_scores;

/* The lower edges of the calibration bins: 0, .3, .5, .7, .8, .88, .95. */
extern const float intent_calib_edges[INTENT_CALIB_BINS];

void intent_scores_add(intent_scores *s, intent_label truth, const intent_result *r);
double intent_scores_accuracy(const intent_scores *s);
/* Mean F1 over the intents that occur in the truth. */
double intent_scores_macro_f1(const intent_scores *s);
/* Precision, recall and F1 of one intent (0 when undefined). */
void intent_scores_class(const intent_scores *s, intent_label k, double *prec, double *rec,
                         double *f1);
/* Precision among predictions with p >= 0.88 (1 when there are none). */
double intent_scores_high_precision(const intent_scores *s);

/* Stratified k-fold cross-validation over the LABELLED_PRIMARY rows; LABELLED_BACKUP
 * rows are in every training fold and never tested. pred (may be NULL) receives each
 * row's prediction (backup rows' entries are left zero). Returns 0, or -1 with err. */
int intent_crossval(const labelled_row *rows, size_t n, int folds, const intent_params *p,
                    intent_scores *out, intent_result *pred, char *err, size_t errlen);

/* Prints the report: accuracy, macro-F1, per-class table, confusion, calibration. */
void intent_scores_print(const intent_scores *s, FILE *out);
/* The same as a JSON object the caller frees with cJSON_Delete; NULL when out of
 * memory. */
cJSON *intent_scores_json(const intent_scores *s);

#endif
