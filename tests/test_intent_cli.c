/* axiom eval intents end to end: the report's parts (accuracy, macro-F1, per-intent
 * table, confusion, calibration, held-out misses, suspects) on a small pack written
 * here, the JSON form, and clear errors for a folder without labelled data and for bad
 * arguments. */
#include "check.h"
#include "support/testutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];
static char out[65536], errout[16384];

static void write_pack(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/utterances.tsv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return;
    const char *g[] = {"hello", "hi there", "hey axiom", "good morning", "hiya", "howdy"};
    const char *a[] = {"thanks", "thank you", "ok great", "cool thanks", "got it", "perfect"};
    const char *things[] = {"jetson", "lidar", "drone", "camera", "arm", "printer"};
    for (int i = 0; i < 6; i++) {
        fprintf(f, "greeting\t%s\nacknowledgment\t%s\n", g[i], a[i]);
        fprintf(f, "guidance\thow do i set up the %s\n", things[i]);
        fprintf(f, "guidance\thow do i start using the %s\n", things[i]);
        fprintf(f, "troubleshooting\tthe %s is not working\n", things[i]);
        fprintf(f, "troubleshooting\tmy %s keeps crashing\n", things[i]);
        fprintf(f, "project_idea\twhat can i build with the %s\n", things[i]);
        fprintf(f, "project_idea\tgive me a project idea for the %s\n", things[i]);
    }
    /* A mislabelled row: the rule says greeting. */
    fprintf(f, "troubleshooting\thello there\n");
    fprintf(f, "nonsense\tthis row is skipped\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/held.tsv", dir);
    tu_write_file(path, "guidance\thow do i set up the robot\ngreeting\thello again\n"
                        "project_idea\twhat could i build with the camera\n");
}

static void test_report(void) {
    char args[1024];
    snprintf(args, sizeof args,
             "--data %s eval intents --folds 3 --no-backup --suspects "
             "--heldout %s/held.tsv",
             dir, dir);
    int rc = tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, errout);
    CHECK_CONTAINS(out, "3-fold cross-validation");
    CHECK_CONTAINS(out, "accuracy");
    CHECK_CONTAINS(out, "macro-F1");
    CHECK_CONTAINS(out, "troubleshooting");
    CHECK_CONTAINS(out, "confusion (rows: labelled, columns: predicted)");
    CHECK_CONTAINS(out, "precision at p >= 0.88");
    CHECK_CONTAINS(out, "held-out");
    CHECK_CONTAINS(out, "rows 3 ");
    CHECK_CONTAINS(out, "suspect rows");
    CHECK_CONTAINS(out, "utterances.tsv:49  labelled troubleshooting     looks greeting");
    CHECK_CONTAINS(out, "(1 bad rows skipped)");
    CHECK_CONTAINS(errout, "utterances.tsv:50: field 'intent'");
}

static void test_json(void) {
    char args[1024];
    snprintf(args, sizeof args, "--data %s eval intents --folds 2 --no-backup --json", dir);
    int rc = tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, errout);
    CHECK(out[0] == '{');
    CHECK_CONTAINS(out, "\"folds\":2");
    CHECK_CONTAINS(out, "\"accuracy\":");
    CHECK_CONTAINS(out, "\"macro_f1\":");
    CHECK_CONTAINS(out, "\"confusion\":[[");
    CHECK_CONTAINS(out, "\"precision_at_0_88\":");
}

/* The data folder's path is a JSON string like any other: a double quote, a backslash
 * or a tab in it must not break the object (it once was printed as it was). */
static void test_json_odd_data_path(void) {
    char odd[600], args[1600], cmd[2048];
    snprintf(odd, sizeof odd, "%s/say \"hi\" \\ there\tnow", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/utterances.tsv' '%s/'", odd, dir, odd);
    CHECK(system(cmd) == 0);
    snprintf(args, sizeof args, "--data '%s' eval intents --folds 2 --no-backup --json --suspects",
             odd);
    int rc = tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, errout);
    cJSON *o = cJSON_Parse(out);
    CHECK_MSG(o != NULL, "not JSON: %.300s", out);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "data")), odd);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "folds")) == 2);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "rows")) > 40);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(o, "suspects")));
    const cJSON *cv = cJSON_GetObjectItem(o, "crossval");
    double acc = cJSON_GetNumberValue(cJSON_GetObjectItem(cv, "accuracy"));
    CHECK(acc > 0 && acc <= 1);
    CHECK(cJSON_IsObject(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cv, "per_class"), "troubleshooting")));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cv, "confusion")) > 0);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cv, "calibration")) > 0);
    cJSON_Delete(o);
}

static void test_errors(void) {
    char args[1024], empty[600];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    snprintf(args, sizeof args, "mkdir -p %s", empty);
    CHECK(system(args) == 0);
    snprintf(args, sizeof args, "--data %s eval intents", empty);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 1);
    CHECK_CONTAINS(errout, "utterances.tsv");
    snprintf(args, sizeof args, "--data %s eval intents --folds 1", dir);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 2);
    CHECK_CONTAINS(errout, "--folds 1");
    CHECK_EQ_INT(tu_run_axiom(NULL, "eval intents --bogus", out, sizeof out, errout, sizeof errout),
                 2);
    CHECK_CONTAINS(errout, "--bogus");
    CHECK_EQ_INT(tu_run_axiom(NULL, "eval nothing", out, sizeof out, errout, sizeof errout), 2);
    CHECK_EQ_INT(tu_run_axiom(NULL, "eval intents --help", out, sizeof out, errout, sizeof errout),
                 0);
    CHECK_CONTAINS(out, "--heldout FILE");
    snprintf(args, sizeof args, "--data %s eval intents --heldout %s/absent.tsv", dir, dir);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 1);
    CHECK_CONTAINS(errout, "absent.tsv");
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(dir, sizeof dir) != 0) return 1;
    write_pack();
    RUN(test_report);
    RUN(test_json);
    RUN(test_json_odd_data_path);
    RUN(test_errors);
    tu_rmtree(dir);
    return CHECK_DONE(argv[0]);
}
