/* The intent classifier on the default pack: it learns the nine intents, greetings and
 * thanks go by the rule, odd input is harmless, predictions are the same from many
 * threads, and the cache file round-trips while a damaged one is refused cleanly. */
#include "brain/intent.h"
#include "check.h"
#include "support/testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];
static labelled_set *pack;
static intent_model *model;

static void load_pack(void) {
    char path[512], err[512];
    tu_root_path("data", path, sizeof path);
    pack = labelled_set_new();
    if (labelled_load_dir(pack, path, LABELLED_PRIMARY, NULL, NULL, err, sizeof err) <= 0) {
        fprintf(stderr, "  default pack not loaded: %s\n", err);
        labelled_set_free(pack);
        pack = NULL;
        return;
    }
    intent_params p = intent_default_params();
    model = intent_train(labelled_set_rows(pack), labelled_set_count(pack), &p, err, sizeof err);
    if (!model) fprintf(stderr, "  training failed: %s\n", err);
}

static void test_train_errors(void) {
    char err[256] = "";
    CHECK(intent_train(NULL, 0, NULL, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "no labelled utterances");
    labelled_row one[2] = {{INTENT_GREETING, (char *)"hi", "x", 1, LABELLED_PRIMARY},
                           {INTENT_GREETING, (char *)"hello", "x", 2, LABELLED_PRIMARY}};
    CHECK(intent_train(one, 2, NULL, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "at least 2");
    /* Two rows of two intents is enough to train (no folds possible: still works). */
    labelled_row two[2] = {
        {INTENT_GREETING, (char *)"hi", "x", 1, LABELLED_PRIMARY},
        {INTENT_GUIDANCE, (char *)"how do i set up the jetson", "x", 2, LABELLED_PRIMARY}};
    intent_model *m = intent_train(two, 2, NULL, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    intent_result r;
    CHECK(intent_predict(m, "how do i set up the camera", &r) == 0);
    CHECK_EQ_INT(r.top[0], INTENT_GUIDANCE);
    intent_free(m);
}

static void test_default_pack_predictions(void) {
    if (!pack) SKIP("data/utterances.tsv (the default pack) is absent");
    CHECK(model != NULL);
    if (!model) return;
    struct {
        const char *text;
        intent_label want;
    } cases[] = {
        {"hello there", INTENT_GREETING},
        {"good morning axiom", INTENT_GREETING},
        {"thanks a lot", INTENT_ACKNOWLEDGMENT},
        {"okay got it", INTENT_ACKNOWLEDGMENT},
        {"does the realsense work with the raspberry pi", INTENT_COMPATIBILITY_CHECK},
        {"how do i install ros on the jetson", INTENT_GUIDANCE},
        {"what can i build with a lidar", INTENT_PROJECT_IDEA},
        {"my raspberry pi will not boot", INTENT_TROUBLESHOOTING},
        {"when does the lab open", INTENT_LAB_INFO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        intent_result r;
        CHECK(intent_predict(model, cases[i].text, &r) == 0);
        CHECK_MSG(r.label == cases[i].want, "\"%s\" -> %s (p %.2f), want %s", cases[i].text,
                  intent_label_name(r.label), r.p, intent_label_name(cases[i].want));
        CHECK(r.p >= r.top_p[1] && r.top_p[1] >= r.top_p[2]);
        CHECK(r.top[0] != r.top[1] && r.top[1] != r.top[2] && r.top[0] != r.top[2]);
    }
    intent_result r;
    intent_predict(model, "hello", &r);
    CHECK(r.by_rule == 1);
    /* A question that starts with a greeting is a question. */
    intent_predict(model, "hey, does the turtlebot work with ros two", &r);
    CHECK_MSG(r.label != INTENT_GREETING && r.by_rule == 0, "got %s", intent_label_name(r.label));
    CHECK(intent_temperature(model) > 0.0f);
    CHECK(intent_memory_bytes(model) > 1000);
}

static void test_odd_input(void) {
    if (!model) SKIP("no model (default pack absent)");
    intent_result r;
    CHECK(intent_predict(model, "", &r) == 0);
    CHECK(r.p >= 0.0f && r.p <= 1.0f);
    CHECK(intent_predict(model, NULL, &r) == 0);
    CHECK(intent_predict(NULL, "hi", &r) == -1);
    CHECK(intent_predict(model, "hi", NULL) == -1);
    CHECK(intent_predict(model, "\xff\xfe\xc3\x28\xa0\xa1 \xe2\x82 jetson \xf0\x28\x8c", &r) == 0);
    CHECK(r.p >= 0.0f && r.p <= 1.0f);
    CHECK(intent_predict(model, "!!! ??? ... ---", &r) == 0);
    /* 1 MiB of text: bounded work, no crash, still an answer. */
    size_t big = 1 << 20;
    char *huge = malloc(big + 1);
    CHECK(huge != NULL);
    if (!huge) return;
    for (size_t i = 0; i < big; i++)
        huge[i] = "how do i set up the jetson orin nano "[i % 37];
    huge[big] = '\0';
    CHECK(intent_predict(model, huge, &r) == 0);
    CHECK(r.p >= 0.0f && r.p <= 1.0f);
    memset(huge, 'a', big);
    CHECK(intent_predict(model, huge, &r) == 0);
    free(huge);
}

typedef struct {
    const intent_model *m;
    int mismatches;
} thread_arg;

static const char *thread_texts[] = {"hello there", "how do i calibrate the imu",
                                     "does the lidar work with ros", "my drone keeps drifting",
                                     "what is the battery life of the go two"};

static void *predict_many(void *p) {
    thread_arg *a = p;
    intent_result want[5], got;
    for (int i = 0; i < 5; i++)
        intent_predict(a->m, thread_texts[i], &want[i]);
    for (int it = 0; it < 400; it++) {
        int i = it % 5;
        intent_predict(a->m, thread_texts[i], &got);
        if (got.label != want[i].label || got.p != want[i].p) a->mismatches++;
    }
    return NULL;
}

static void test_threads(void) {
    if (!model) SKIP("no model (default pack absent)");
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){model, 0};
        CHECK(pthread_create(&th[i], NULL, predict_many, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].mismatches, 0);
    }
}

static void test_cache_round_trip(void) {
    if (!model) SKIP("no model (default pack absent)");
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/intent.bin", dir);
    CHECK_MSG(intent_save(model, path, err, sizeof err) == 0, "%s", err);
    uint64_t h = labelled_rows_hash(labelled_set_rows(pack), labelled_set_count(pack));
    CHECK(intent_data_hash(model) == h);
    intent_model *m = intent_load(path, h, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    const char *texts[] = {"hello", "can the jetson run yolo", "how do i book the printer",
                           "the lidar shows no data", "suggest a project with the arm"};
    for (size_t i = 0; i < 5; i++) {
        intent_result a, b;
        intent_predict(model, texts[i], &a);
        intent_predict(m, texts[i], &b);
        CHECK(a.label == b.label && a.p == b.p && a.top[1] == b.top[1]);
    }
    size_t na, nb;
    intent_suspects(model, &na);
    intent_suspects(m, &nb);
    CHECK_EQ_INT(na, nb);
    CHECK(intent_temperature(m) == intent_temperature(model));
    intent_free(m);
    /* Trained on other data: refused with a reason. */
    m = intent_load(path, h ^ 1, err, sizeof err);
    CHECK(m == NULL);
    CHECK_CONTAINS(err, "other data");
    /* The index build's entry point: first call trains and writes, second loads. */
    char path2[600];
    snprintf(path2, sizeof path2, "%s/intent2.bin", dir);
    int cached = -1;
    m = intent_load_or_train(labelled_set_rows(pack), labelled_set_count(pack), NULL, path2,
                             &cached, err, sizeof err);
    CHECK(m != NULL && cached == 0);
    intent_free(m);
    m = intent_load_or_train(labelled_set_rows(pack), labelled_set_count(pack), NULL, path2,
                             &cached, err, sizeof err);
    CHECK(m != NULL && cached == 1);
    intent_free(m);
    /* Other rows: retrained, not loaded. */
    m = intent_load_or_train(labelled_set_rows(pack), labelled_set_count(pack) - 1, NULL, path2,
                             &cached, err, sizeof err);
    CHECK(m != NULL && cached == 0);
    intent_free(m);
    /* Unwritable place: an error naming the path. */
    CHECK(intent_save(model, "/nonexistent-dir/intent.bin", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "/nonexistent-dir/intent.bin");
}

static void test_corrupt_cache(void) {
    if (!model) SKIP("no model (default pack absent)");
    char path[512], bad[512], err[512];
    snprintf(path, sizeof path, "%s/intent.bin", dir);
    snprintf(bad, sizeof bad, "%s/bad.bin", dir);
    CHECK(intent_save(model, path, err, sizeof err) == 0);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len);
    CHECK(buf && fread(buf, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    if (!buf) return;
    /* Truncations at many points, flipped bytes across the file, garbage, empty. */
    long cuts[] = {0, 4, 8, 20, 60, 100, len / 3, len / 2, len - 9, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        f = fopen(bad, "wb");
        fwrite(buf, 1, (size_t)cuts[i], f);
        fclose(f);
        err[0] = 0;
        CHECK_MSG(intent_load(bad, 0, err, sizeof err) == NULL, "cut at %ld", cuts[i]);
        CHECK_CONTAINS(err, "bad.bin");
    }
    for (long pos = 16; pos < len; pos += len / 23 + 1) { /* past magic and version */
        buf[pos] ^= 0x5a;
        f = fopen(bad, "wb");
        fwrite(buf, 1, (size_t)len, f);
        fclose(f);
        buf[pos] ^= 0x5a;
        err[0] = 0;
        CHECK_MSG(intent_load(bad, 0, err, sizeof err) == NULL, "flip at %ld", pos);
        CHECK_CONTAINS(err, "corrupt");
    }
    CHECK(tu_write_file(bad, "AXINTENT but not really a cache file at all, just text") == 0);
    CHECK(intent_load(bad, 0, err, sizeof err) == NULL);
    snprintf(bad, sizeof bad, "%s/absent.bin", dir);
    CHECK(intent_load(bad, 0, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "absent.bin");
    free(buf);
}

static void test_social_rule(void) {
    CHECK_EQ_INT(intent_social_rule("Hello there!"), INTENT_GREETING);
    CHECK_EQ_INT(intent_social_rule("hey how's it going"), INTENT_GREETING);
    CHECK_EQ_INT(intent_social_rule("good morning"), INTENT_GREETING);
    CHECK_EQ_INT(intent_social_rule("thanks, that helped a lot"), INTENT_ACKNOWLEDGMENT);
    CHECK_EQ_INT(intent_social_rule("hi, thanks"), INTENT_ACKNOWLEDGMENT);
    CHECK_EQ_INT(intent_social_rule("okay"), INTENT_ACKNOWLEDGMENT);
    CHECK_EQ_INT(intent_social_rule("hey does the nano have emmc"), INTENT_UNKNOWN);
    CHECK_EQ_INT(intent_social_rule("Is the D435 good for autonomous vehicles?"), INTENT_UNKNOWN);
    CHECK_EQ_INT(intent_social_rule(""), INTENT_UNKNOWN);
    CHECK_EQ_INT(intent_social_rule(NULL), INTENT_UNKNOWN);
    CHECK_EQ_INT(intent_social_rule("hi hi hi hi hi hi hi hi hi hi hi hi"), INTENT_UNKNOWN);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(dir, sizeof dir) != 0) return 1;
    load_pack();
    RUN(test_train_errors);
    RUN(test_social_rule);
    RUN(test_default_pack_predictions);
    RUN(test_odd_input);
    RUN(test_threads);
    RUN(test_cache_round_trip);
    RUN(test_corrupt_cache);
    intent_free(model);
    labelled_set_free(pack);
    tu_rmtree(dir);
    return CHECK_DONE(argv[0]);
}
