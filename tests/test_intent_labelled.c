/* Labelled utterances: tolerant loading of utterances.tsv and production_dataset.json
 * (a bad row is named by file, row and field, and the rest loads), the backup merge
 * policy and the data hash. */
#include "brain/labelled.h"
#include "check.h"
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

typedef struct {
    char text[4096];
    int count;
} warnings;

static void collect(void *ctx, const char *msg) {
    warnings *w = ctx;
    w->count++;
    size_t len = strlen(w->text);
    snprintf(w->text + len, sizeof w->text - len, "%s\n", msg);
}

static void test_label_names(void) {
    intent_label l;
    CHECK(intent_label_parse(" Greeting ", &l) == 0 && l == INTENT_GREETING);
    CHECK(intent_label_parse("acknowledgement", &l) == 0 && l == INTENT_ACKNOWLEDGMENT);
    CHECK(intent_label_parse("troubleshooting", &l) == 0 && l == INTENT_TROUBLESHOOTING);
    CHECK(intent_label_parse("weather", &l) == -1);
    CHECK(intent_label_parse(NULL, &l) == -1);
    CHECK_STR(intent_label_name(INTENT_LAB_INFO), "lab_info");
    CHECK_STR(intent_label_name(INTENT_UNKNOWN), "unknown");
    CHECK_STR(intent_label_name((intent_label)99), "?");
}

static void test_tsv_bad_rows(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/utterances.tsv", dir);
    const char text[] = "# comment\n"
                        "greeting\thello there\n"
                        "\n"
                        "weather\twhat is the weather\n" /* row 4: bad intent */
                        "guidance no tab here\n"         /* row 5: no tab */
                        "lab_info\t   \n"                /* row 6: empty text */
                        "lab_info\twhen is the lab open\r\n"
                        "troubleshooting\tmy pi won't boot\textra column\n"
                        "unknown\tsomething\n"            /* row 9: unknown is not a label */
                        "project_idea\twhat can i build"; /* no final newline */
    CHECK(tu_write_file(path, text) == 0);
    labelled_set *s = labelled_set_new();
    warnings w = {{0}, 0};
    int n = labelled_load_tsv(s, path, LABELLED_PRIMARY, collect, &w, err, sizeof err);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(labelled_set_count(s), 4);
    CHECK_EQ_INT(labelled_set_errors(s), 4);
    CHECK_EQ_INT(w.count, 4);
    CHECK_CONTAINS(w.text, "utterances.tsv:4: field 'intent': 'weather'");
    CHECK_CONTAINS(w.text, "utterances.tsv:5: field 'text'");
    CHECK_CONTAINS(w.text, "utterances.tsv:6: field 'text': empty");
    CHECK_CONTAINS(w.text, "utterances.tsv:9: field 'intent'");
    const labelled_row *r = labelled_set_rows(s);
    CHECK_STR(r[0].text, "hello there");
    CHECK_EQ_INT(r[0].row, 2);
    CHECK_EQ_INT(r[0].label, INTENT_GREETING);
    CHECK_STR(r[1].text, "when is the lab open"); /* CR removed */
    CHECK_STR(r[2].text, "my pi won't boot");     /* stray column dropped */
    CHECK_STR(r[3].text, "what can i build");
    CHECK_EQ_INT(r[3].row, 10);
    labelled_set_free(s);
}

static void test_tsv_nul_and_missing(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/nul.tsv", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fwrite("greeting\thi\0there\nguidance\thow do i start\n", 1, 40, f);
    fclose(f);
    labelled_set *s = labelled_set_new();
    warnings w = {{0}, 0};
    CHECK_EQ_INT(labelled_load_tsv(s, path, LABELLED_PRIMARY, collect, &w, err, sizeof err), 1);
    CHECK_CONTAINS(w.text, "nul.tsv:1: field 'text': holds a NUL byte");
    snprintf(path, sizeof path, "%s/absent.tsv", dir);
    CHECK_EQ_INT(labelled_load_tsv(s, path, LABELLED_PRIMARY, collect, &w, err, sizeof err), -1);
    CHECK_CONTAINS(err, "absent.tsv");
    labelled_set_free(s);
}

static void test_json_bad_rows(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/production_dataset.json", dir);
    CHECK(tu_write_file(
              path, "[{\"text\": \"hello\", \"label\": \"greeting\"},\n"
                    " {\"text\": \"how do i flash it\", \"label\": \"nonsense\"},\n"
                    " {\"label\": \"guidance\"},\n"
                    " 42,\n"
                    " {\"text\": 7, \"label\": \"guidance\"},\n"
                    " {\"text\": \"does it work with ros\", \"label\": 3},\n"
                    " {\"text\": \"thanks\", \"label\": \"acknowledgment\", \"extra\": 1}]") == 0);
    labelled_set *s = labelled_set_new();
    warnings w = {{0}, 0};
    CHECK_EQ_INT(labelled_load_json(s, path, LABELLED_PRIMARY, collect, &w, err, sizeof err), 2);
    CHECK_EQ_INT(w.count, 5);
    CHECK_CONTAINS(w.text, "production_dataset.json: row 2: field 'label': 'nonsense'");
    CHECK_CONTAINS(w.text, "row 3: field 'text'");
    CHECK_CONTAINS(w.text, "row 4: not an object");
    CHECK_CONTAINS(w.text, "row 5: field 'text'");
    CHECK_CONTAINS(w.text, "row 6: field 'label'");
    CHECK_EQ_INT(labelled_set_rows(s)[1].row, 7);
    labelled_set_free(s);

    /* Whole-file problems: an error, nothing loaded, nothing crashes. */
    const char *bad[] = {"", "{\"text\": \"x\"}", "[{\"text\": \"x\", \"label\": \"greeting\"",
                         "\xff\xfe garbage"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(tu_write_file(path, bad[i]) == 0);
        s = labelled_set_new();
        err[0] = 0;
        CHECK_EQ_INT(labelled_load_json(s, path, LABELLED_PRIMARY, collect, &w, err, sizeof err),
                     -1);
        CHECK_CONTAINS(err, "production_dataset.json");
        CHECK_EQ_INT(labelled_set_count(s), 0);
        labelled_set_free(s);
    }
}

static void test_load_dir_and_backup(void) {
    char pack[512], def[512], path[600], err[512];
    snprintf(pack, sizeof pack, "%s/imported", dir);
    snprintf(def, sizeof def, "%s/default", dir);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s'", pack, def);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/production_dataset.json", pack);
    CHECK(tu_write_file(path, "[{\"text\": \"Hello there!\", \"label\": \"equipment_query\"},"
                              " {\"text\": \"does it work with ros\", \"label\": "
                              "\"compatibility_check\"}]") == 0);
    snprintf(path, sizeof path, "%s/utterances.tsv", def);
    CHECK(tu_write_file(path, "greeting\thello there\ngreeting\thi\nguidance\thow do i start\n") ==
          0);
    labelled_set *s = labelled_set_new();
    size_t nb = 99;
    CHECK_EQ_INT(labelled_load_pack(s, pack, def, NULL, NULL, &nb, err, sizeof err), 2);
    /* "hello there" is already in the import (normalised): the import's row stays. */
    CHECK_EQ_INT(nb, 2);
    CHECK_EQ_INT(labelled_set_count(s), 4);
    const labelled_row *r = labelled_set_rows(s);
    CHECK_EQ_INT(r[0].label, INTENT_EQUIPMENT_QUERY);
    CHECK_EQ_INT(r[0].origin, LABELLED_PRIMARY);
    CHECK_STR(r[2].text, "hi");
    CHECK_EQ_INT(r[2].origin, LABELLED_BACKUP);
    uint64_t h1 = labelled_rows_hash(r, labelled_set_count(s));
    CHECK(h1 == labelled_rows_hash(r, labelled_set_count(s)));
    CHECK(h1 != labelled_rows_hash(r, labelled_set_count(s) - 1));
    labelled_set_free(s);

    /* The default pack itself is not backed up by itself. */
    s = labelled_set_new();
    CHECK_EQ_INT(labelled_load_pack(s, def, def, NULL, NULL, &nb, err, sizeof err), 3);
    CHECK_EQ_INT(nb, 0);
    labelled_set_free(s);

    /* A folder with neither file is an error that says what is expected. */
    s = labelled_set_new();
    snprintf(path, sizeof path, "%s/empty", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    CHECK(system(cmd) == 0);
    CHECK_EQ_INT(labelled_load_pack(s, path, def, NULL, NULL, &nb, err, sizeof err), -1);
    CHECK_CONTAINS(err, "utterances.tsv");
    labelled_set_free(s);
}

static void test_normalise(void) {
    char out[64];
    CHECK_EQ_INT(labelled_normalise("  Hello,   WORLD!! ", out, sizeof out), 11);
    CHECK_STR(out, "hello world");
    labelled_normalise("HC\xe2\x80\x91SR04 \xe2\x80\x94 what\xe2\x80\x99s up", out, sizeof out);
    CHECK_STR(out, "hc sr04 what s up");
    labelled_normalise("caf\xc3\xa9 \xff\xfe", out, sizeof out);
    CHECK_STR(out, "caf\xc3\xa9 \xff\xfe");
    CHECK_EQ_INT(labelled_normalise("abcdefgh", out, 4), 3);
    CHECK_STR(out, "abc");
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(dir, sizeof dir) != 0) return 1;
    RUN(test_label_names);
    RUN(test_tsv_bad_rows);
    RUN(test_tsv_nul_and_missing);
    RUN(test_json_bad_rows);
    RUN(test_load_dir_and_backup);
    RUN(test_normalise);
    tu_rmtree(dir);
    return CHECK_DONE(argv[0]);
}
