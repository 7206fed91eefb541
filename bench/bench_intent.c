/* Intent classifier benchmark: prediction latency (p50/p99, microseconds; target
 * < 50 us, the whole template fast path has 0.3 ms at p50), training time on the
 * default pack and on the reference data backed by the default pack (which includes
 * the out-of-fold rounds for suspects and calibration), cache load time, and the
 * model's memory. Prints figures and exits 0; parts whose data is absent are skipped
 * with the reason. */
#include "brain/intent.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_i64);
    return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

static void bench_model(const char *name, const labelled_set *set, const labelled_set *texts) {
    char err[512];
    const labelled_row *rows = labelled_set_rows(set);
    size_t n = labelled_set_count(set);
    int64_t train_us[3];
    intent_model *m = NULL;
    for (int r = 0; r < 3; r++) {
        intent_free(m);
        int64_t t0 = now_us();
        m = intent_train(rows, n, NULL, err, sizeof err);
        train_us[r] = now_us() - t0;
        if (!m) {
            printf("%s: training failed: %s\n", name, err);
            return;
        }
    }
    size_t ns;
    intent_suspects(m, &ns);
    printf("%s: %zu rows, training %.0f ms (median of 3, with %d-fold out-of-fold rounds), "
           "model %.2f MiB, %zu suspects, temperature %.2f\n",
           name, n, (double)pct(train_us, 3, 0.5) / 1000.0, intent_default_params().calib_folds,
           (double)intent_memory_bytes(m) / 1048576.0, ns, intent_temperature(m));

    /* Prediction latency over held-out utterances, each predicted many times. */
    const labelled_row *q = labelled_set_rows(texts);
    size_t nq = labelled_set_count(texts), total = nq * 20;
    int64_t *lat = malloc(total * sizeof *lat);
    if (!lat) return;
    intent_result res;
    for (size_t i = 0; i < nq; i++)
        intent_predict(m, q[i].text, &res); /* warm caches */
    for (size_t i = 0; i < total; i++) {
        int64_t t0 = now_us();
        intent_predict(m, q[i % nq].text, &res);
        lat[i] = now_us() - t0;
    }
    /* now_us has microsecond resolution: also time a batch for the mean. */
    int64_t t0 = now_us();
    for (size_t i = 0; i < total; i++)
        intent_predict(m, q[i % nq].text, &res);
    double mean = (double)(now_us() - t0) / (double)total;
    long long p50 = (long long)pct(lat, total, 0.5), p99 = (long long)pct(lat, total, 0.99);
    printf("%s: predict p50 %lld us, p99 %lld us, max %lld us, mean %.1f us over %zu calls "
           "(target < 50 us)\n",
           name, p50, p99, (long long)lat[total - 1], mean, total);
    free(lat);

    /* The cache: save once, load a few times. */
    char path[256];
    snprintf(path, sizeof path, "/tmp/axiom-bench-intent-%d.bin", (int)getpid());
    if (intent_save(m, path, err, sizeof err) == 0) {
        int64_t lu[5];
        for (int r = 0; r < 5; r++) {
            int64_t t1 = now_us();
            intent_model *c = intent_load(path, intent_data_hash(m), err, sizeof err);
            lu[r] = now_us() - t1;
            intent_free(c);
        }
        FILE *f = fopen(path, "rb");
        long sz = 0;
        if (f) {
            fseek(f, 0, SEEK_END);
            sz = ftell(f);
            fclose(f);
        }
        printf("%s: cache file %.2f MiB, load %.1f ms (median of 5) instead of training\n", name,
               (double)sz / 1048576.0, (double)pct(lu, 5, 0.5) / 1000.0);
        remove(path);
    }
    intent_free(m);
}

int main(void) {
    char path[4200], def[4200], err[512];
    const char *root = axiom_root_dir();
    snprintf(def, sizeof def, "%s/data", root);
    snprintf(path, sizeof path, "%s/tests/data/intent_clean.tsv", root);
    labelled_set *texts = labelled_set_new();
    if (labelled_load_tsv(texts, path, LABELLED_PRIMARY, NULL, NULL, err, sizeof err) <= 0) {
        printf("intent: skipped: %s\n", err);
        labelled_set_free(texts);
        return 0;
    }
    labelled_set *pack = labelled_set_new();
    if (labelled_load_dir(pack, def, LABELLED_PRIMARY, NULL, NULL, err, sizeof err) > 0)
        bench_model("default pack", pack, texts);
    else
        printf("default pack: skipped: %s\n", err);
    labelled_set_free(pack);

    snprintf(path, sizeof path, "%s/../shared/axiom-reference/data", root);
    labelled_set *ref = labelled_set_new();
    if (labelled_load_pack(ref, path, def, NULL, NULL, NULL, err, sizeof err) > 0)
        bench_model("reference data + default pack backup", ref, texts);
    else
        printf("reference data: skipped: %s\n", err);
    labelled_set_free(ref);
    labelled_set_free(texts);
    return 0;
}
