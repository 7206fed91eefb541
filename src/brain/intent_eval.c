/* Measuring the intent classifier; see intent_eval.h. */
#include "brain/intent_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const float intent_calib_edges[INTENT_CALIB_BINS] = {0.0f, 0.3f, 0.5f, 0.7f, 0.8f, 0.88f, 0.95f};

void intent_scores_add(intent_scores *s, intent_label truth, const intent_result *r) {
    if ((unsigned)truth >= INTENT_NCLASSES) return;
    unsigned col = (unsigned)r->label < INTENT_NCLASSES ? (unsigned)r->label : INTENT_NCLASSES;
    s->confusion[truth][col]++;
    s->n++;
    int right = r->label == truth;
    int b = 0;
    for (int i = 0; i < INTENT_CALIB_BINS; i++)
        if (r->p >= intent_calib_edges[i]) b = i;
    s->bin_n[b]++;
    s->bin_right[b] += right;
    if (r->p >= 0.88f) {
        s->high_n++;
        s->high_right += right;
    }
}

double intent_scores_accuracy(const intent_scores *s) {
    if (!s->n) return 0;
    size_t right = 0;
    for (int k = 0; k < INTENT_NCLASSES; k++)
        right += s->confusion[k][k];
    return (double)right / (double)s->n;
}

void intent_scores_class(const intent_scores *s, intent_label k, double *prec, double *rec,
                         double *f1) {
    size_t tp = s->confusion[k][k], row = 0, col = 0;
    for (int j = 0; j <= INTENT_NCLASSES; j++)
        row += s->confusion[k][j];
    for (int i = 0; i < INTENT_NCLASSES; i++)
        col += s->confusion[i][k];
    double p = col ? (double)tp / (double)col : 0, r = row ? (double)tp / (double)row : 0;
    if (prec) *prec = p;
    if (rec) *rec = r;
    if (f1) *f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
}

double intent_scores_macro_f1(const intent_scores *s) {
    double sum = 0;
    int classes = 0;
    for (int k = 0; k < INTENT_NCLASSES; k++) {
        size_t row = 0;
        for (int j = 0; j <= INTENT_NCLASSES; j++)
            row += s->confusion[k][j];
        if (!row) continue;
        double f1;
        intent_scores_class(s, (intent_label)k, NULL, NULL, &f1);
        sum += f1;
        classes++;
    }
    return classes ? sum / classes : 0;
}

double intent_scores_high_precision(const intent_scores *s) {
    return s->high_n ? (double)s->high_right / (double)s->high_n : 1.0;
}

int intent_crossval(const labelled_row *rows, size_t n, int folds, const intent_params *p,
                    intent_scores *out, intent_result *pred, char *err, size_t errlen) {
    if (folds < 2 || folds > 50) {
        snprintf(err, errlen, "--folds %d: use 2 to 50 folds", folds);
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (pred) memset(pred, 0, n * sizeof *pred);
    int *fold = malloc((n ? n : 1) * sizeof *fold);
    size_t *ids = malloc((n ? n : 1) * sizeof *ids);
    labelled_row *train = malloc((n ? n : 1) * sizeof *train);
    if (!fold || !ids || !train) {
        free(fold);
        free(ids);
        free(train);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Stratified folds, deterministic: each class's rows dealt round-robin in a fixed
     * shuffled order. */
    uint64_t rs = 0x9e3779b97f4a7c15ULL;
    int next = 0;
    for (int k = 0; k < INTENT_NCLASSES; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].label == (intent_label)k && rows[i].origin == LABELLED_PRIMARY)
                ids[m++] = i;
        for (size_t i = m; i > 1; i--) {
            rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t j = (size_t)(rs >> 33) % i, t = ids[i - 1];
            ids[i - 1] = ids[j];
            ids[j] = t;
        }
        for (size_t q = 0; q < m; q++)
            fold[ids[q]] = (next++) % folds;
    }
    int rc = 0;
    for (int f = 0; f < folds && rc == 0; f++) {
        size_t nt = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].origin != LABELLED_PRIMARY || fold[i] != f) train[nt++] = rows[i];
        intent_model *m = intent_train(train, nt, p, err, errlen);
        if (!m) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (rows[i].origin != LABELLED_PRIMARY || fold[i] != f) continue;
            intent_result r;
            intent_predict(m, rows[i].text, &r);
            intent_scores_add(out, rows[i].label, &r);
            if (pred) pred[i] = r;
        }
        intent_free(m);
    }
    free(fold);
    free(ids);
    free(train);
    return rc;
}

static const char *short_name(int k) {
    static const char *const s[] = {"ack",   "capab", "compat", "equip", "greet",
                                    "guide", "lab",   "proj",   "trbl",  "unk"};
    return s[k];
}

void intent_scores_print(const intent_scores *s, FILE *out) {
    fprintf(out, "rows %zu  accuracy %.3f  macro-F1 %.3f\n", s->n, intent_scores_accuracy(s),
            intent_scores_macro_f1(s));
    fprintf(out, "\n%-20s %6s %6s %6s %6s\n", "intent", "prec", "recall", "F1", "rows");
    for (int k = 0; k < INTENT_NCLASSES; k++) {
        size_t row = 0;
        for (int j = 0; j <= INTENT_NCLASSES; j++)
            row += s->confusion[k][j];
        double p, r, f;
        intent_scores_class(s, (intent_label)k, &p, &r, &f);
        fprintf(out, "%-20s %6.3f %6.3f %6.3f %6zu\n", intent_label_name((intent_label)k), p, r, f,
                row);
    }
    fprintf(out, "\nconfusion (rows: labelled, columns: predicted)\n%-7s", "");
    for (int j = 0; j <= INTENT_NCLASSES; j++)
        fprintf(out, "%7s", short_name(j));
    fputc('\n', out);
    for (int k = 0; k < INTENT_NCLASSES; k++) {
        fprintf(out, "%-7s", short_name(k));
        for (int j = 0; j <= INTENT_NCLASSES; j++)
            fprintf(out, "%7zu", s->confusion[k][j]);
        fputc('\n', out);
    }
    fprintf(out, "\ncalibration (predicted probability -> share correct)\n");
    for (int b = 0; b < INTENT_CALIB_BINS; b++) {
        float hi = b + 1 < INTENT_CALIB_BINS ? intent_calib_edges[b + 1] : 1.0f;
        fprintf(out, "  p in [%.2f, %.2f%c  %5zu predictions  accuracy %s", intent_calib_edges[b],
                hi, b + 1 < INTENT_CALIB_BINS ? ')' : ']', s->bin_n[b], s->bin_n[b] ? "" : "-\n");
        if (s->bin_n[b]) fprintf(out, "%.3f\n", (double)s->bin_right[b] / (double)s->bin_n[b]);
    }
    fprintf(out, "  precision at p >= 0.88: %.3f over %zu predictions (%.0f%% of rows)\n",
            intent_scores_high_precision(s), s->high_n,
            s->n ? 100.0 * (double)s->high_n / (double)s->n : 0.0);
}

/* Figures rounded to the digits the text report shows, so the JSON stays readable. */
static double rounded(double x, double scale) {
    return round(x * scale) / scale;
}

cJSON *intent_scores_json(const intent_scores *s) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "rows", (double)s->n);
    cJSON_AddNumberToObject(o, "accuracy", rounded(intent_scores_accuracy(s), 1e4));
    cJSON_AddNumberToObject(o, "macro_f1", rounded(intent_scores_macro_f1(s), 1e4));
    cJSON *pc = cJSON_AddObjectToObject(o, "per_class");
    for (int k = 0; pc && k < INTENT_NCLASSES; k++) {
        double p, r, f;
        intent_scores_class(s, (intent_label)k, &p, &r, &f);
        cJSON *c = cJSON_AddObjectToObject(pc, intent_label_name((intent_label)k));
        cJSON_AddNumberToObject(c, "precision", rounded(p, 1e4));
        cJSON_AddNumberToObject(c, "recall", rounded(r, 1e4));
        cJSON_AddNumberToObject(c, "f1", rounded(f, 1e4));
    }
    cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
    for (int k = 0; conf && k < INTENT_NCLASSES; k++) {
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; row && j <= INTENT_NCLASSES; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)s->confusion[k][j]));
        cJSON_AddItemToArray(conf, row);
    }
    cJSON *cal = cJSON_AddArrayToObject(o, "calibration");
    for (int b = 0; cal && b < INTENT_CALIB_BINS; b++) {
        cJSON *bin = cJSON_CreateObject();
        cJSON_AddNumberToObject(bin, "p_from", rounded(intent_calib_edges[b], 1e2));
        cJSON_AddNumberToObject(bin, "count", (double)s->bin_n[b]);
        cJSON_AddNumberToObject(bin, "correct", (double)s->bin_right[b]);
        cJSON_AddItemToArray(cal, bin);
    }
    cJSON_AddNumberToObject(o, "precision_at_0_88", rounded(intent_scores_high_precision(s), 1e4));
    cJSON_AddNumberToObject(o, "count_at_0_88", (double)s->high_n);
    return o;
}
