/* Knowledge pack loading: the tests' mini pack, the default pack (data/) when it is a
 * full pack, the reference deployment's data folder, import errors that name file,
 * position and field while the rest still loads, the index cache keyed by the content
 * hash, mentions and sanitised search queries. */
#include "brain/mention.h"
#include "brain/normalise.h"
#include "brain/pack.h"
#include "brain/store.h"
#include "brain/template_match.h"
#include "check.h"
#include "core/util.h"
#include "support/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmp[512];

static int has_issue(const pack *p, const char *a, const char *b, const char *c) {
    for (size_t i = 0; i < p->n_issues; i++)
        if (strstr(p->issues[i], a) && (!b || strstr(p->issues[i], b)) &&
            (!c || strstr(p->issues[i], c)))
            return 1;
    return 0;
}

static void test_mini_pack(void) {
    char dir[512], err[512];
    tu_root_path("tests/data/pack-mini", dir, sizeof dir);
    pack *p = pack_load(dir, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    CHECK_STR(p->kind, "axiom-pack");
    CHECK_EQ_INT(p->n_items, 4);
    CHECK_EQ_INT(p->n_templates, 10);
    CHECK_EQ_INT(p->n_facts, 6);
    CHECK_EQ_INT(p->n_prons, 2);
    CHECK_EQ_INT(p->n_issues, 0);
    CHECK_STR(p->items[0].spec_vals[0], "40 TOPS");
    CHECK_EQ_INT(p->items[0].card_index, 0);
    CHECK_EQ_INT(p->items[3].card_index, -1);
    CHECK_STR(p->items[2].model_path, "models/go2.glb");
    CHECK_EQ_INT(p->templates[1].item, 1);
    CHECK_EQ_INT(p->templates[5].item, -1);
    CHECK_STR(p->prons[0].heard[1], "jets in");
    CHECK_EQ_INT(strlen(p->content_hash), 32);
    CHECK(p->utterances_path != NULL);
    pack_free(p);
}

static void test_default_pack(void) {
    char dir[512], probe[600], err[512];
    tu_root_path("data", dir, sizeof dir);
    snprintf(probe, sizeof probe, "%s/pack.json", dir);
    struct stat st;
    if (stat(probe, &st) != 0)
        SKIP("data/pack.json is not there yet: the default pack has only part of its files");
    pack *p = pack_load(dir, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    CHECK(p->n_items > 0);
    CHECK(p->n_templates > 0);
    CHECK(p->n_facts > 0);
    for (size_t i = 0; i < p->n_issues; i++)
        fprintf(stderr, "  default pack issue: %s\n", p->issues[i]);
    CHECK_EQ_INT(p->n_issues, 0);
    pack_free(p);
}

static void test_reference_import(void) {
    char dir[512], err[512];
    if (!tu_shared_path("axiom-reference/data", dir, sizeof dir))
        SKIP("../shared/axiom-reference/data is absent");
    pack *p = pack_load(dir, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    CHECK_STR(p->kind, "reference");
    CHECK_EQ_INT(p->n_items, 27);
    CHECK_EQ_INT(p->n_templates, 2116);
    CHECK(p->n_facts > 1777 + 325);
    /* every carousel card lands on the item the mapping names, and only 10 exist */
    int cards = 0;
    for (size_t i = 0; i < p->n_items; i++)
        if (p->items[i].card_index >= 0) {
            cards++;
            CHECK(p->items[i].card_index < 10);
        }
    CHECK_EQ_INT(cards, 10);
    CHECK_STR(p->items[7].name, "Unitree Go2 Pro");
    CHECK_EQ_INT(p->items[7].card_index, 0);
    CHECK(p->items[7].model_path != NULL);
    /* equipment names resolve to inventory items */
    int with_item = 0;
    for (size_t i = 0; i < p->n_templates; i++)
        with_item += p->templates[i].item >= 0;
    CHECK(with_item > 1800);
    mention_index *m = mention_new(p);
    CHECK_EQ_INT(mention_find_text(m, "is the intel realsense depth camera d435 any good"), 4);
    CHECK_EQ_INT(mention_find_text(m, "tell me about the robot dog"), 7);
    CHECK_EQ_INT(mention_find_text(m, "the jetson nano"), 1);
    CHECK_EQ_INT(mention_find_text(m, "the jetson orin nano"), 0);
    CHECK_EQ_INT(mention_find_text(m, "how does a lidar work"), -1); /* two lidars: no guess */
    mention_free(m);
    pack_free(p);
}

static void write(const char *dir, const char *name, const char *text) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(tu_write_file(path, text) == 0);
}

static void test_native_errors_keep_the_rest(void) {
    char dir[600], err[512];
    snprintf(dir, sizeof dir, "%s/bad-native", tmp);
    mkdir(dir, 0700);
    write(dir, "pack.json", "{\"format\": \"axiom-pack\", \"version\": 1, \"name\": \"x\"}");
    write(
        dir, "items.json",
        "[{\"id\": \"a\", \"name\": \"Alpha Board\", \"category\": \"board\", \"card_index\": 0},\n"
        " {\"id\": \"b\", \"category\": \"board\"},\n"
        " {\"id\": \"c\", \"name\": \"Gamma\", \"category\": \"x\", \"card_index\": 0},\n"
        " \"junk\"]");
    write(
        dir, "templates.json",
        "[{\"intent\": \"equipment_query\", \"item\": \"a\", \"question\": \"what is alpha\", "
        "\"answer\": \"A board.\"},\n"
        " {\"intent\": \"dancing\", \"item\": \"a\", \"question\": \"q\", \"answer\": \"a\"},\n"
        " {\"intent\": \"guidance\", \"item\": \"zzz\", \"question\": \"q\", \"answer\": \"a\"},\n"
        " {\"intent\": \"guidance\", \"question\": \"q\"}]");
    /* a syntax error on line 3: the file is reported with line and column */
    write(dir, "facts.json", "[\n {\"text\": \"one\"},\n {\"text\" \"two\"}\n]");
    write(dir, "responses.json", "{\"greeting\": [\"hi\", 3]}");
    write(dir, "utterances.tsv", "greeting\thi\n");
    pack *p = pack_load(dir, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    CHECK_EQ_INT(p->n_items, 2);
    CHECK_EQ_INT(p->n_templates, 1);
    CHECK_EQ_INT(p->n_facts, 0);
    CHECK(has_issue(p, "items.json: record 2", "'name'", NULL));
    CHECK(has_issue(p, "items.json: record 3", "'card_index'", "used twice"));
    CHECK(has_issue(p, "items.json: record 4", "object", NULL));
    CHECK(has_issue(p, "templates.json: record 2", "'intent'", "dancing"));
    CHECK(has_issue(p, "templates.json: record 3", "'item'", "zzz"));
    CHECK(has_issue(p, "templates.json: record 4", "'answer'", NULL));
    CHECK(has_issue(p, "facts.json: line 3, column", "not valid JSON", NULL));
    CHECK(has_issue(p, "responses.json", "'greeting', entry 2", NULL));
    CHECK_EQ_INT(p->items[1].card_index, -1); /* the duplicate card was dropped, not the item */
    pack_free(p);
}

static void test_reference_errors_keep_the_rest(void) {
    char dir[600], err[512];
    snprintf(dir, sizeof dir, "%s/bad-ref", tmp);
    mkdir(dir, 0700);
    write(dir, "inventory.json",
          "[{\"name\": \"Widget Scanner X1\", \"category\": \"Sensor\", \"specs\": \"Range: 5m | "
          "Rate: 10Hz\","
          " \"capabilities\": \"mapping, scanning\", \"compatible_with\": [\"Pi\"]},\n"
          " {\"category\": \"nameless\"},\n"
          " {\"name\": \"Rover Kit\", \"category\": \"Robot\", \"compatible_with\": \"oops\"}]");
    write(dir, "carousel_mapping.json",
          "{\"carousel_mapping\": [{\"carousel_index\": 0, \"inventory_name\": \"Widget Scanner "
          "X1\", \"inventory_index\": 0},"
          " {\"carousel_index\": 1, \"inventory_name\": \"Nope\", \"inventory_index\": 99},"
          " {\"carousel_index\": -3, \"inventory_name\": \"Rover Kit\", \"inventory_index\": 2},"
          " {\"carousel_index\": 2, \"inventory_name\": \"Rover Kit\", \"inventory_index\": 2}]}");
    write(dir, "template_database.json",
          "{\"specs\": [{\"equipment\": \"widget scanner\", \"question\": \"what is the range of "
          "the widget scanner\","
          " \"answer\": \"Five meters.\"}, {\"equipment\": \"rover kit\", \"question\": \"\"}],"
          " \"usage\": \"not a list\"}");
    write(dir, "rag_knowledge_base.json",
          "{\"existing_qa\": [{\"query\": \"q\"}, {\"query\": \"rover?\", "
          "\"technical_fact\": \"The rover kit has four wheels.\"}]");
    pack *p = pack_load(dir, NULL, err, sizeof err);
    CHECK_MSG(p != NULL, "%s", err);
    if (!p) return;
    CHECK_EQ_INT(p->n_items, 2);
    CHECK_EQ_INT(p->n_templates, 1);
    CHECK_EQ_INT(p->templates[0].item, 0);
    CHECK(has_issue(p, "inventory.json: record 2", "'name'", NULL));
    CHECK(has_issue(p, "inventory.json: record 3", "'compatible_with'", NULL));
    CHECK(has_issue(p, "carousel_mapping.json: record 2", "inventory_index", NULL));
    CHECK(has_issue(p, "carousel_mapping.json: record 3", "'carousel_index'", NULL));
    CHECK(has_issue(p, "template_database.json: specs record 2", "'question'", NULL));
    CHECK(has_issue(p, "template_database.json: field 'usage'", NULL, NULL));
    CHECK(has_issue(p, "rag_knowledge_base.json: line", "not valid JSON", NULL));
    CHECK_EQ_INT(p->items[0].card_index, 0);
    CHECK_EQ_INT(p->items[1].card_index, 2); /* the Rover Kit, after the nameless row was dropped */
    pack_free(p);
    /* an empty folder is an error that says what was looked for */
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty", tmp);
    mkdir(empty, 0700);
    CHECK(pack_load(empty, NULL, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "no usable knowledge");
    CHECK_CONTAINS(err, "inventory.json");
    CHECK(pack_load("/nonexistent/axiom", NULL, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "does not exist");
}

static void test_index_cache_and_safe_queries(void) {
    char dir[512], err[512], cache[600];
    tu_root_path("tests/data/pack-mini", dir, sizeof dir);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    pack *p = pack_load(dir, NULL, err, sizeof err);
    if (!p) return;
    store_info info;
    store *s = store_sqlite_backend.open(p, cache, &info, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    CHECK_EQ_INT(info.rebuilt, 1);
    CHECK_CONTAINS(info.path, p->content_hash);
    store_sqlite_backend.close(s);
    s = store_sqlite_backend.open(p, cache, &info, err, sizeof err);
    CHECK_EQ_INT(info.rebuilt, 0); /* second start: the cache is used */
    text_toks q;
    text_tokens("how much power does it draw", &q);
    store_hit h[5];
    int n = store_sqlite_backend.search(s, STORE_FACTS, &q, -1, h, 5, err, sizeof err);
    CHECK(n >= 1);
    if (n >= 1) CHECK_EQ_INT(h[0].index, 0);
    for (int i = 1; i < n; i++)
        CHECK(h[i].score <= h[i - 1].score);
    /* item filter */
    n = store_sqlite_backend.search(s, STORE_FACTS, &q, 1, h, 5, err, sizeof err);
    for (int i = 0; i < n; i++)
        CHECK_EQ_INT(p->facts[h[i].index].item, 1);
    /* FTS syntax and SQL in user text never reach the query language */
    const char *evil[] = {"\"; DROP TABLE facts; --", "power OR NOT * NEAR(a b) ^col:x",
                          "' OR 1=1 --", "\")(*", "facts MATCH 'x'"};
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        text_tokens(evil[i], &q);
        n = store_sqlite_backend.search(s, STORE_FACTS, &q, -1, h, 5, err, sizeof err);
        CHECK_MSG(n >= 0, "query '%s' failed: %s", evil[i], err);
    }
    text_tokens("power", &q);
    CHECK(store_sqlite_backend.search(s, STORE_FACTS, &q, -1, h, 5, err, sizeof err) >=
          1); /* table intact */
    store_sqlite_backend.close(s);
    pack_free(p);
}

static void test_template_choice_uses_item(void) {
    char dir[512], err[512];
    tu_root_path("tests/data/pack-mini", dir, sizeof dir);
    pack *p = pack_load(dir, NULL, err, sizeof err);
    if (!p) return;
    normaliser *nz = normaliser_new(p);
    const char *qs[16];
    char store_q[16][256];
    norm_result *nr = malloc(sizeof *nr);
    for (size_t i = 0; i < p->n_templates && i < 16; i++) {
        normalise_text(nz, p->templates[i].question, nr);
        str_copy(store_q[i], sizeof store_q[i], nr->text);
        qs[i] = store_q[i];
    }
    template_index *ti = template_index_new(p, qs);
    mention_index *m = mention_new(p);
    text_toks q;
    double sim;
    /* same words, two items: the named item decides, not the first template */
    normalise_text(nz, "how much memory does the r p lidar a2 have", nr);
    text_tokens(nr->text, &q);
    int item = mention_find(m, &q, NULL, NULL, NULL);
    CHECK_EQ_INT(item, 1);
    CHECK_EQ_INT(template_index_best(ti, &q, item, NULL, &sim), 1);
    CHECK(sim > 0.8);
    normalise_text(nz, "how much memory does the jet son orin nano have", nr);
    CHECK_STR(nr->text, "how much memory does the jetson orin nano have");
    text_tokens(nr->text, &q);
    item = mention_find(m, &q, NULL, NULL, NULL);
    CHECK_EQ_INT(template_index_best(ti, &q, item, NULL, &sim), 0);
    /* a general question only matches general templates */
    text_tokens("when is the lab open", &q);
    CHECK_EQ_INT(template_index_best(ti, &q, -1, NULL, &sim), 5);
    text_tokens("how much memory does it have", &q);
    CHECK_EQ_INT(template_index_best(ti, &q, -1, NULL, &sim), -1);
    free(nr);
    mention_free(m);
    template_index_free(ti);
    normaliser_free(nz);
    pack_free(p);
}

static void test_normalise(void) {
    char dir[512], err[512];
    tu_root_path("tests/data/pack-mini", dir, sizeof dir);
    pack *p = pack_load(dir, NULL, err, sizeof err);
    if (!p) return;
    normaliser *nz = normaliser_new(p);
    norm_result *nr = malloc(sizeof *nr);
    struct {
        const char *in, *want;
    } cases[] = {
        {"What's the range of the R P Lidar A two?", "whats the range of the rplidar a2"},
        {"forty five watts and twenty", "45 watts and 20"},
        {"the d 4 3 5 camera", "the d435 camera"},
        {"is a jets in good", "is a jetson good"},
        {"I love it", "i love it"},
        {"one hundred meters", "100 meters"},
        {"the livox mid three hundred sixty", "the livox mid 360"},
        {"one hundred and twenty five grams and two hundred", "125 grams and 200"},
        {"two hundred and a half", "200 and a half"},
        {"is the uni tree go two here", "is the unitree go2 here"},
        {"the uni is a tree", "the uni is a tree"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        normalise_text(nz, cases[i].in, nr);
        CHECK_MSG(!nr->dropped && strcmp(nr->text, cases[i].want) == 0, "'%s' -> '%s', want '%s'",
                  cases[i].in, nr->text, cases[i].want);
    }
    normalise_text(nz, "uh um", nr);
    CHECK_STR(nr->dropped, "filler");
    normalise_text(nz, "\xc3\x28 ok", nr);
    CHECK_EQ_INT(nr->bad_bytes, 1);
    CHECK_STR(nr->text, "ok");
    /* Not UTF-8, each dropped byte by byte and flagged: lead bytes F5-F7 (they would
     * start code points past U+10FFFF), F8-FF, overlong forms of '/' and of U+0800,
     * a surrogate (U+D800), a code point past U+10FFFF, a lone continuation byte and
     * a sequence cut short. What is left of each is the ASCII around it. */
    static const char *const bad[] = {
        "a\xF5\x80\x80\x80"
        "b",
        "a\xF6\x80\x80\x80"
        "b",
        "a\xF7\xBF\xBF\xBF"
        "b",
        "a\xF8\x88\x80\x80\x80"
        "b",
        "a\xFF"
        "b",
        "a\xC0\xAF"
        "b",
        "a\xE0\x80\xAF"
        "b",
        "a\xF0\x80\xA0\x80"
        "b",
        "a\xED\xA0\x80"
        "b",
        "a\xF4\x90\x80\x80"
        "b",
        "a\x80"
        "b",
        "a\xE2\x82"
        "b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        normalise_text(nz, bad[i], nr);
        CHECK_MSG(nr->bad_bytes == 1 && strcmp(nr->clean, "ab") == 0,
                  "case %zu: bad_bytes %d, clean '%s'", i, nr->bad_bytes, nr->clean);
    }
    /* Valid multi-byte characters pass untouched: 2, 3 and 4 bytes, and the edges
     * U+0080, U+07FF, U+0800, U+FFFF (not a surrogate), U+10000 and U+10FFFF. */
    static const char *const good[] = {
        "caf\xC3\xA9",
        "\xE2\x82\xAC 5",
        "\xF0\x9F\xA4\x96 robot",
        "\xC2\x80\xDF\xBF",
        "\xE0\xA0\x80\xEF\xBF\xBF",
        "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
        "\xED\x9F\xBF\xEE\x80\x80",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        normalise_text(nz, good[i], nr);
        CHECK_MSG(nr->bad_bytes == 0 && strcmp(nr->clean, good[i]) == 0,
                  "case %zu: bad_bytes %d, clean '%s'", i, nr->bad_bytes, nr->clean);
    }
    free(nr);
    normaliser_free(nz);
    pack_free(p);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    RUN(test_mini_pack);
    RUN(test_default_pack);
    RUN(test_reference_import);
    RUN(test_native_errors_keep_the_rest);
    RUN(test_reference_errors_keep_the_rest);
    RUN(test_index_cache_and_safe_queries);
    RUN(test_template_choice_uses_item);
    RUN(test_normalise);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
