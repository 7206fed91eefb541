/* axiom eval intents: measures the intent classifier on a data folder (an AXIOM pack or
 * the reference deployment's data/) with k-fold cross-validation, optionally on a
 * held-out file, and lists the training rows whose label looks wrong. */
#include "brain/intent_eval.h"
#include "brain/labelled.h"
#include "cli/cli.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void eval_usage(FILE *out) {
    fprintf(out,
            "usage: axiom eval intents [--data DIR] [--folds K] [--heldout FILE] [--suspects]\n"
            "                          [--json] [--no-backup] [--no-rules] [--keep-suspects]\n"
            "                          [--drop-suspects]\n"
            "                          [--no-char] [--unigrams] [--compare]\n\n"
            "Trains the intent classifier on DIR's labelled utterances (utterances.tsv of a\n"
            "pack, or production_dataset.json of the reference data; default: the configured\n"
            "data folder) and prints accuracy, macro-F1, per-intent precision/recall/F1, the\n"
            "confusion matrix and the calibration table from K-fold cross-validation\n"
            "(default 5). When DIR is not the default pack, the default pack's utterances\n"
            "back DIR's up: they train in every fold and are never tested.\n\n"
            "  --heldout FILE  also train on all rows and report accuracy on FILE\n"
            "                  (intent<TAB>utterance), listing its misses\n"
            "  --suspects      list the rows whose label the rule or the out-of-fold model\n"
            "                  contradicts confidently (they are left out of training)\n"
            "  --json          one JSON object instead of tables\n"
            "  --compare       cross-validate several variants of the method side by side\n"
            "  --no-backup, --no-rules, --keep-suspects, --drop-suspects, --no-char,\n"
            "  --unigrams: variants (suspects are dropped by default only for an imported\n"
            "  pack backed by the default pack)\n");
}

typedef struct {
    const char *name;
    void (*apply)(intent_params *p);
} variant;

static void v_default(intent_params *p) {
    (void)p;
}
static void v_words(intent_params *p) {
    p->char_min = p->char_max = 0;
}
static void v_cw05(intent_params *p) {
    p->char_weight = 0.5f;
}
static void v_cw2(intent_params *p) {
    p->char_weight = 2.0f;
}
static void v_unigram(intent_params *p) {
    p->word_ngrams = 1;
}
static void v_norules(intent_params *p) {
    p->social_rules = 0;
}
static void v_keep(intent_params *p) {
    p->drop_suspects = 0;
}
static void v_drop(intent_params *p) {
    p->drop_suspects = 1;
}
static void v_bw05(intent_params *p) {
    p->backup_weight = 0.5f;
}
static void v_bw1(intent_params *p) {
    p->backup_weight = 1.0f;
}
static void v_bw3(intent_params *p) {
    p->backup_weight = 3.0f;
}
static void v_sp8(intent_params *p) {
    p->suspect_p = 0.8f;
}
static void v_sp4(intent_params *p) {
    p->suspect_p = 0.4f;
}
static void v_nobalance(intent_params *p) {
    p->balance_classes = 0;
}
static void v_l2hi(intent_params *p) {
    p->l2 *= 10.0f;
}
static void v_l2lo(intent_params *p) {
    p->l2 /= 10.0f;
}

static const variant variants[] = {
    {"as configured (default: word 1-2 + char 3-5, rule on)", v_default},
    {"word n-grams only", v_words},
    {"character block weight 0.5", v_cw05},
    {"character block weight 2", v_cw2},
    {"word unigrams only (no bigrams), chars on", v_unigram},
    {"no greeting/ack rule", v_norules},
    {"suspects kept in training", v_keep},
    {"suspects dropped from training", v_drop},
    {"suspect threshold p 0.8", v_sp8},
    {"suspect threshold p 0.4", v_sp4},
    {"backup rows weight 0.5", v_bw05},
    {"backup rows weight 1", v_bw1},
    {"backup rows weight 3", v_bw3},
    {"no class balancing", v_nobalance},
    {"L2 x10", v_l2hi},
    {"L2 /10", v_l2lo},
};

static double heldout_accuracy(const intent_model *m, const labelled_set *held, intent_scores *s,
                               int print_misses) {
    memset(s, 0, sizeof *s);
    const labelled_row *r = labelled_set_rows(held);
    for (size_t i = 0; i < labelled_set_count(held); i++) {
        intent_result res;
        intent_predict(m, r[i].text, &res);
        intent_scores_add(s, r[i].label, &res);
        if (print_misses && res.label != r[i].label)
            printf("  miss: %-20s -> %-20s p=%.2f  \"%s\"\n", intent_label_name(r[i].label),
                   intent_label_name(res.label), res.p, r[i].text);
    }
    return intent_scores_accuracy(s);
}

static int eval_intents(const axiom_config *cfg, int argc, char **argv) {
    int folds = 5, suspects = 0, json = 0, backup = 1, compare = 0;
    const char *heldout = NULL;
    intent_params p = intent_default_params();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--folds") == 0 && i + 1 < argc)
            folds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--heldout") == 0 && i + 1 < argc)
            heldout = argv[++i];
        else if (strcmp(argv[i], "--suspects") == 0)
            suspects = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--compare") == 0)
            compare = 1;
        else if (strcmp(argv[i], "--no-backup") == 0)
            backup = 0;
        else if (strcmp(argv[i], "--no-rules") == 0)
            p.social_rules = 0;
        else if (strcmp(argv[i], "--keep-suspects") == 0)
            p.drop_suspects = 0;
        else if (strcmp(argv[i], "--drop-suspects") == 0)
            p.drop_suspects = 1;
        else if (strcmp(argv[i], "--no-char") == 0)
            p.char_min = p.char_max = 0;
        else if (strcmp(argv[i], "--unigrams") == 0)
            p.word_ngrams = 1;
        else if (strcmp(argv[i], "--backup-weight") == 0 && i + 1 < argc)
            p.backup_weight = (float)atof(argv[++i]);
        else if (strcmp(argv[i], "--l2") == 0 && i + 1 < argc)
            p.l2 = (float)atof(argv[++i]);
        else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc)
            p.epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--suspect-p") == 0 && i + 1 < argc)
            p.suspect_p = (float)atof(argv[++i]);
        else {
            fprintf(stderr, "axiom eval intents: unknown argument '%s'\n", argv[i]);
            eval_usage(stderr);
            return 2;
        }
    }
    if (folds < 2 || folds > 50) {
        fprintf(stderr, "axiom eval intents: --folds %d: use 2 to 50\n", folds);
        return 2;
    }
    char dir[4096], defdir[4200], err[1024];
    config_data_dir(cfg, dir, sizeof dir);
    snprintf(defdir, sizeof defdir, "%s/data", axiom_root_dir());
    labelled_set *set = labelled_set_new();
    labelled_set *held = NULL;
    int rc = 1;
    intent_model *m = NULL;
    intent_result *pred = NULL;
    if (!set) goto out;
    size_t nbackup = 0;
    int nprim =
        labelled_load_pack(set, dir, backup ? defdir : NULL, NULL, NULL, &nbackup, err, sizeof err);
    if (nprim < 0) {
        fprintf(stderr, "axiom eval intents: %s\n", err);
        goto out;
    }
    if (heldout) {
        held = labelled_set_new();
        if (!held ||
            labelled_load_tsv(held, heldout, LABELLED_PRIMARY, NULL, NULL, err, sizeof err) < 0) {
            fprintf(stderr, "axiom eval intents: %s\n", held ? err : "out of memory");
            goto out;
        }
    }
    const labelled_row *rows = labelled_set_rows(set);
    size_t n = labelled_set_count(set);
    if (!json)
        printf("data: %s: %d labelled rows (%zu bad rows skipped), %zu backup rows from %s\n"
               "method: word 1-%d-grams + char %d-%d-grams TF-IDF, softmax regression, "
               "rule %s, suspects %s, %d folds\n\n",
               dir, nprim, labelled_set_errors(set), nbackup, nbackup ? defdir : "(none)",
               p.word_ngrams, p.char_min, p.char_max, p.social_rules ? "on" : "off",
               p.drop_suspects == 2 ? (nbackup ? "dropped" : "kept")
               : p.drop_suspects    ? "dropped"
                                    : "kept",
               folds);
    if (compare) {
        printf("%-56s %8s %8s %8s %8s\n", "variant", "acc", "macroF1", "p>=.88",
               heldout ? "heldout" : "");
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
            intent_params q = p;
            variants[v].apply(&q);
            intent_scores s, hs;
            if (intent_crossval(rows, n, folds, &q, &s, NULL, err, sizeof err) != 0) {
                fprintf(stderr, "axiom eval intents: %s\n", err);
                goto out;
            }
            double h = -1;
            if (held) {
                intent_model *vm = intent_train(rows, n, &q, err, sizeof err);
                if (!vm) {
                    fprintf(stderr, "axiom eval intents: %s\n", err);
                    goto out;
                }
                h = heldout_accuracy(vm, held, &hs, 0);
                intent_free(vm);
            }
            printf("%-56s %8.3f %8.3f %8.3f", variants[v].name, intent_scores_accuracy(&s),
                   intent_scores_macro_f1(&s), intent_scores_high_precision(&s));
            if (h >= 0) printf(" %8.3f", h);
            printf("\n");
            fflush(stdout);
        }
        rc = 0;
        goto out;
    }
    intent_scores cv, hs;
    pred = calloc(n ? n : 1, sizeof *pred);
    if (!pred || intent_crossval(rows, n, folds, &p, &cv, pred, err, sizeof err) != 0) {
        fprintf(stderr, "axiom eval intents: %s\n", pred ? err : "out of memory");
        goto out;
    }
    if (heldout || suspects) {
        m = intent_train(rows, n, &p, err, sizeof err);
        if (!m) {
            fprintf(stderr, "axiom eval intents: %s\n", err);
            goto out;
        }
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "data", dir);
        cJSON_AddNumberToObject(o, "rows", nprim);
        cJSON_AddNumberToObject(o, "backup_rows", (double)nbackup);
        cJSON_AddNumberToObject(o, "folds", folds);
        cJSON_AddItemToObject(o, "crossval", intent_scores_json(&cv));
        if (held) {
            heldout_accuracy(m, held, &hs, 0);
            cJSON_AddItemToObject(o, "heldout", intent_scores_json(&hs));
        }
        if (suspects) {
            size_t ns;
            intent_suspects(m, &ns);
            cJSON_AddNumberToObject(o, "suspects", (double)ns);
        }
        char *text = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!text) {
            fprintf(stderr, "axiom eval intents: out of memory\n");
            goto out;
        }
        printf("%s\n", text);
        free(text);
        rc = 0;
        goto out;
    }
    printf("== %d-fold cross-validation on %s's labels\n", folds, dir);
    intent_scores_print(&cv, stdout);
    if (m) {
        /* The same predictions scored only on rows whose label is not suspect: what
         * robustness costs is on the listed rows. */
        size_t ns;
        const intent_suspect *s = intent_suspects(m, &ns);
        unsigned char *bad = calloc(n ? n : 1, 1);
        if (bad) {
            intent_scores clean;
            memset(&clean, 0, sizeof clean);
            for (size_t i = 0; i < ns; i++)
                bad[s[i].row] = 1;
            for (size_t i = 0; i < n; i++)
                if (rows[i].origin == LABELLED_PRIMARY && !bad[i])
                    intent_scores_add(&clean, rows[i].label, &pred[i]);
            printf("\nwithout the %zu suspect rows: rows %zu  accuracy %.3f  macro-F1 %.3f  "
                   "precision at p >= 0.88 %.3f\n",
                   ns, clean.n, intent_scores_accuracy(&clean), intent_scores_macro_f1(&clean),
                   intent_scores_high_precision(&clean));
            free(bad);
        }
    }
    if (held) {
        printf("\n== held-out %s (trained on all %zu rows)\n", heldout, n);
        heldout_accuracy(m, held, &hs, 1);
        intent_scores_print(&hs, stdout);
    }
    if (suspects) {
        size_t ns;
        const intent_suspect *s = intent_suspects(m, &ns);
        printf("\n== %zu suspect rows (label contradicted by the rule or, with p >= %.2f, by the "
               "out-of-fold model)%s\n",
               ns, p.suspect_p,
               (p.drop_suspects == 2 ? nbackup > 0 : p.drop_suspects) ? "; left out of training"
                                                                      : "; kept in training");
        for (size_t i = 0; i < ns; i++) {
            const labelled_row *r = &rows[s[i].row];
            const char *base = strrchr(r->file, '/');
            printf("  %s:%u  labelled %-19s looks %-19s p=%.2f %s \"%s\"\n",
                   base ? base + 1 : r->file, r->row, intent_label_name(s[i].given),
                   intent_label_name(s[i].predicted), s[i].p, s[i].by_rule ? "(rule)" : "      ",
                   r->text);
        }
    }
    rc = 0;
out:
    free(pred);
    intent_free(m);
    labelled_set_free(set);
    labelled_set_free(held);
    return rc;
}

int cmd_eval(const axiom_config *cfg, int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        eval_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "intents") == 0) return eval_intents(cfg, argc, argv);
    fprintf(stderr, "axiom eval: unknown evaluation '%s' (try: intents)\n", argv[1]);
    return 2;
}
