/* The shipped default knowledge pack (data/) checked against docs/knowledge-pack.md:
 * record counts, unique ids and card indices, references that resolve, valid intents,
 * non-empty answers and no duplicated training utterance. This is the data's own
 * consistency check, independent of the pack loader, so a bad edit to data/ fails here
 * with the file and the record named. */
#include "check.h"
#include "core/util.h"
#include "support/testutil.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FILE_BYTES (16u << 20)

static const char *const INTENTS[] = {
    "greeting", "acknowledgment", "capability_check", "compatibility_check", "equipment_query",
    "guidance", "lab_info",       "project_idea",     "troubleshooting"};
#define N_INTENTS (sizeof INTENTS / sizeof INTENTS[0])

static int intent_index(const char *s) {
    for (size_t i = 0; i < N_INTENTS; i++)
        if (s && strcmp(s, INTENTS[i]) == 0) return (int)i;
    return -1;
}

/* Reads data/<name> into a buffer the caller frees; NULL (with a failed CHECK) if absent. */
static char *pack_read(const char *name) {
    char rel[128], path[1024], err[512];
    snprintf(rel, sizeof rel, "data/%s", name);
    tu_root_path(rel, path, sizeof path);
    char *text = file_read_all(path, MAX_FILE_BYTES, NULL, err, sizeof err);
    CHECK_MSG(text != NULL, "%s", err);
    return text;
}

static cJSON *pack_json(const char *name) {
    char *text = pack_read(name);
    if (!text) return NULL;
    cJSON *root = cJSON_Parse(text);
    CHECK_MSG(root != NULL, "data/%s is not valid JSON near: %.60s", name,
              cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "?");
    free(text);
    return root;
}

/* A non-empty string field of obj, or NULL. */
static const char *str_field(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) ? v->valuestring : NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the list and reports every duplicate; returns how many there were. */
static int report_duplicates(const char **list, size_t n, const char *what) {
    int dups = 0;
    qsort(list, n, sizeof *list, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcasecmp(list[i - 1], list[i]) == 0) {
            fprintf(stderr, "  duplicate %s: \"%s\"\n", what, list[i]);
            dups++;
        }
    return dups;
}

/* Everyday words that must not appear in an item's name or aliases: a word that belongs
 * to one item's phrases alone is taken to name that item, so an alias such as "tell oh"
 * (for Tello) would make "tell me about the lab" a question about the drone. Misheard
 * forms belong in pronunciations.tsv, which rewrites them before matching. */
static const char *const EVERYDAY[] = {
    "time", "tell", "real", "lab",   "power",  "your",  "you",      "are",    "but",      "need",
    "said", "too",  "live", "lie",   "flight", "model", "original", "depth",  "distance", "unit",
    "tree", "son",  "jet",  "hello", "create", "mark",  "plus",     "double", "spinning", "fly"};

static void check_everyday_words(const char *id, const char *phrase) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", phrase);
    for (char *save = NULL, *w = strtok_r(buf, " -_.,()/+", &save); w;
         w = strtok_r(NULL, " -_.,()/+", &save))
        for (size_t i = 0; i < sizeof EVERYDAY / sizeof EVERYDAY[0]; i++)
            CHECK_MSG(
                strcasecmp(w, EVERYDAY[i]) != 0,
                "items.json %s: \"%s\" uses the everyday word \"%s\"; move the misheard form to "
                "pronunciations.tsv",
                id, phrase, EVERYDAY[i]);
}

/* Item ids from items.json, for reference checks by the other tests. */
static cJSON *items_root;
static const char **item_ids;
static size_t n_items;

static int item_exists(const char *id) {
    for (size_t i = 0; id && i < n_items; i++)
        if (strcmp(item_ids[i], id) == 0) return 1;
    return 0;
}

static void test_pack_json(void) {
    cJSON *p = pack_json("pack.json");
    if (!p) return;
    CHECK_STR(str_field(p, "format"), "axiom-pack");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(p, "version");
    CHECK(cJSON_IsNumber(ver) && ver->valueint == 1);
    CHECK(str_field(p, "name") != NULL);
    CHECK(str_field(p, "description") != NULL);
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(p, "lab");
    CHECK(cJSON_IsObject(lab));
    const char *keys[] = {"name", "full_name", "location", "hours", "contact"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK_MSG(str_field(lab, keys[i]) != NULL, "pack.json: lab.%s missing or empty", keys[i]);
    cJSON_Delete(p);
}

static void test_items(void) {
    items_root = pack_json("items.json");
    if (!items_root) return;
    CHECK(cJSON_IsArray(items_root));
    n_items = (size_t)cJSON_GetArraySize(items_root);
    CHECK_MSG(n_items >= 25, "items.json holds %zu items, want at least 25", n_items);
    item_ids = calloc(n_items + 1, sizeof *item_ids);
    size_t n_alias = 0, cap_alias = 4096, n_cards = 0, n_models = 0; /* bound: 4096 aliases */
    const char **aliases = malloc(cap_alias * sizeof *aliases);
    int cards[64] = {0}; /* card_index values seen */
    size_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items_root) {
        const char *id0 = str_field(it, "id"), *id = id0 ? id0 : "?";
        CHECK_MSG(id0 != NULL, "items.json record %zu: field id missing", k);
        CHECK_MSG(str_field(it, "name") != NULL, "items.json %s: field name missing", id);
        CHECK_MSG(str_field(it, "category") != NULL, "items.json %s: field category missing", id);
        CHECK_MSG(str_field(it, "summary") != NULL, "items.json %s: summary missing", id);
        item_ids[k++] = id0 ? id0 : "";
        if (str_field(it, "name")) check_everyday_words(id, str_field(it, "name"));
        const cJSON *specs = cJSON_GetObjectItemCaseSensitive(it, "specs"), *s;
        CHECK_MSG(cJSON_IsObject(specs) && cJSON_GetArraySize(specs) >= 3,
                  "items.json %s: specs needs at least 3 key/value pairs", id);
        cJSON_ArrayForEach(s, specs) CHECK_MSG(cJSON_IsString(s) && s->valuestring[0],
                                               "items.json %s: spec %s is not text", id, s->string);
        const cJSON *al = cJSON_GetObjectItemCaseSensitive(it, "aliases"), *a;
        CHECK_MSG(cJSON_IsArray(al) && cJSON_GetArraySize(al) > 0, "items.json %s: no aliases", id);
        cJSON_ArrayForEach(a, al) {
            CHECK_MSG(cJSON_IsString(a) && a->valuestring[0], "items.json %s: empty alias", id);
            if (!cJSON_IsString(a)) continue;
            if (n_alias < cap_alias) aliases[n_alias++] = a->valuestring;
            check_everyday_words(id, a->valuestring);
        }
        const cJSON *card = cJSON_GetObjectItemCaseSensitive(it, "card_index");
        if (card) {
            CHECK_MSG(cJSON_IsNumber(card) && card->valueint >= 0 && card->valueint < 64,
                      "items.json %s: card_index out of range", id);
            if (cJSON_IsNumber(card) && card->valueint >= 0 && card->valueint < 64) {
                CHECK_MSG(!cards[card->valueint], "items.json %s: card_index %d used twice", id,
                          card->valueint);
                cards[card->valueint] = 1;
                n_cards++;
            }
        }
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(it, "model_3d");
        if (model) {
            CHECK_MSG(str_field(model, "path") && str_field(model, "name"),
                      "items.json %s: model_3d needs path and name", id);
            n_models++;
        }
    }
    /* An alias that names two items would make the topic ambiguous. */
    CHECK_EQ_INT(report_duplicates(aliases, n_alias, "alias in items.json"), 0);
    free(aliases);
    const char **sorted = malloc((n_items + 1) * sizeof *sorted);
    memcpy(sorted, item_ids, n_items * sizeof *sorted);
    CHECK_EQ_INT(report_duplicates(sorted, n_items, "item id"), 0);
    free(sorted);
    /* Cards are the browser's carousel slots: 0..n-1 with no gap. */
    CHECK_MSG(n_cards >= 10, "only %zu items have a card_index", n_cards);
    for (size_t c = 0; c < n_cards; c++)
        CHECK_MSG(cards[c], "card_index %zu is unused (gap)", c);
    CHECK_MSG(n_models >= 4, "only %zu items have a model_3d", n_models);
    /* compatible_with names other items, never the item itself. */
    cJSON_ArrayForEach(it, items_root) {
        const char *id = str_field(it, "id") ? str_field(it, "id") : "?";
        const cJSON *cw = cJSON_GetObjectItemCaseSensitive(it, "compatible_with"), *c;
        cJSON_ArrayForEach(c, cw) {
            CHECK_MSG(cJSON_IsString(c) && item_exists(c->valuestring),
                      "items.json %s: compatible_with \"%s\" is not an item id", id,
                      cJSON_IsString(c) ? c->valuestring : "?");
            CHECK_MSG(!cJSON_IsString(c) || strcmp(id, c->valuestring) != 0,
                      "items.json %s: lists itself in compatible_with", id);
        }
    }
}

static void test_templates(void) {
    cJSON *t = pack_json("templates.json");
    if (!t) return;
    size_t n = (size_t)cJSON_GetArraySize(t), k = 0;
    CHECK_MSG(n >= 300, "templates.json holds %zu templates, want at least 300", n);
    const char **questions = calloc(n + 1, sizeof *questions);
    size_t per_intent[N_INTENTS] = {0};
    const cJSON *r;
    cJSON_ArrayForEach(r, t) {
        const char *intent = str_field(r, "intent"), *q = str_field(r, "question"),
                   *a = str_field(r, "answer");
        int ix = intent_index(intent);
        CHECK_MSG(ix >= 0, "templates.json record %zu: intent \"%s\" is not one of the nine", k,
                  intent ? intent : "(missing)");
        if (ix >= 0) per_intent[ix]++;
        CHECK_MSG(q != NULL, "templates.json record %zu: empty question", k);
        CHECK_MSG(a != NULL, "templates.json record %zu: empty answer", k);
        if (a) {
            CHECK_MSG(strlen(a) < 600, "templates.json record %zu: answer too long to speak", k);
            CHECK_MSG(!strpbrk(a, "*#`[]|"), "templates.json record %zu: markdown in answer", k);
        }
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(r, "item");
        CHECK_MSG(!item || cJSON_IsNull(item) ||
                      (cJSON_IsString(item) && item_exists(item->valuestring)),
                  "templates.json record %zu: item \"%s\" is not an item id", k,
                  cJSON_IsString(item) ? item->valuestring : "?");
        questions[k++] = q ? q : "";
    }
    for (size_t i = 0; i < N_INTENTS; i++)
        CHECK_MSG(per_intent[i] > 0, "templates.json: no template for intent %s", INTENTS[i]);
    CHECK_EQ_INT(report_duplicates(questions, k, "template question"), 0);
    free(questions);
    cJSON_Delete(t);
}

static void test_facts(void) {
    cJSON *f = pack_json("facts.json");
    if (!f) return;
    size_t n = (size_t)cJSON_GetArraySize(f), k = 0;
    CHECK_MSG(n >= 400, "facts.json holds %zu facts, want at least 400", n);
    const char **ids = calloc(n + 1, sizeof *ids);
    const cJSON *r;
    cJSON_ArrayForEach(r, f) {
        const char *id = str_field(r, "id"), *text = str_field(r, "text");
        CHECK_MSG(id != NULL, "facts.json record %zu: id missing", k);
        CHECK_MSG(str_field(r, "topic") != NULL, "facts.json %s: topic missing", id ? id : "?");
        CHECK_MSG(text != NULL, "facts.json %s: text missing", id ? id : "?");
        if (text)
            CHECK_MSG(text[strlen(text) - 1] == '.', "facts.json %s: text is not a sentence", id);
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(r, "item");
        CHECK_MSG(!item || cJSON_IsNull(item) ||
                      (cJSON_IsString(item) && item_exists(item->valuestring)),
                  "facts.json %s: item \"%s\" is not an item id", id ? id : "?",
                  cJSON_IsString(item) ? item->valuestring : "?");
        ids[k++] = id ? id : "";
    }
    CHECK_EQ_INT(report_duplicates(ids, k, "fact id"), 0);
    free(ids);
    cJSON_Delete(f);
}

static void test_utterances(void) {
    char *text = pack_read("utterances.tsv");
    if (!text) return;
    size_t cap = 20000, n = 0, lineno = 0, per_intent[N_INTENTS] = {0}; /* bound: 20000 lines */
    const char **utts = malloc(cap * sizeof *utts);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\0') continue;
        char *tab = strchr(line, '\t');
        CHECK_MSG(tab != NULL, "utterances.tsv line %zu: no tab between intent and utterance",
                  lineno);
        if (!tab) continue;
        *tab = '\0';
        const char *utt = tab + 1;
        int ix = intent_index(line);
        CHECK_MSG(ix >= 0, "utterances.tsv line %zu: unknown intent \"%s\"", lineno, line);
        CHECK_MSG(utt[0] && !strchr(utt, '\t'), "utterances.tsv line %zu: empty or extra field",
                  lineno);
        size_t words = 0;
        for (const char *p = utt; *p; p++)
            if (!isspace((unsigned char)*p) && (p == utt || isspace((unsigned char)p[-1]))) words++;
        CHECK_MSG(words >= 1 && words <= 20, "utterances.tsv line %zu: %zu words", lineno, words);
        if (ix >= 0) per_intent[ix]++;
        CHECK_MSG(n < cap, "utterances.tsv: more than %zu lines", cap);
        if (n < cap) utts[n++] = utt;
    }
    CHECK_MSG(n >= 400, "utterances.tsv holds %zu utterances, want at least 400", n);
    for (size_t i = 0; i < N_INTENTS; i++)
        CHECK_MSG(per_intent[i] >= 40, "utterances.tsv: intent %s has %zu examples, want 40",
                  INTENTS[i], per_intent[i]);
    CHECK_EQ_INT(report_duplicates(utts, n, "utterance"), 0);
    free(utts);
    free(text);
}

static void test_responses(void) {
    cJSON *r = pack_json("responses.json");
    if (!r) return;
    const char *lists[] = {"greeting", "acknowledgment", "unknown", "goodbye", "empty"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(r, lists[i]), *s;
        CHECK_MSG(cJSON_IsArray(a) && cJSON_GetArraySize(a) >= 2,
                  "responses.json: %s needs several variants", lists[i]);
        cJSON_ArrayForEach(s, a) CHECK_MSG(cJSON_IsString(s) && s->valuestring[0],
                                           "responses.json: empty %s variant", lists[i]);
    }
    CHECK(str_field(r, "llm_unavailable") != NULL);
    cJSON_Delete(r);
}

/* Phones must come from the CMU dictionary's set, or the recogniser cannot use them. */
static int cmu_phone(const char *p, size_t len) {
    static const char *const PH[] = {"AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D",  "DH",
                                     "EH", "ER", "EY", "F",  "G",  "HH", "IH", "IY", "JH", "K",
                                     "L",  "M",  "N",  "NG", "OW", "OY", "P",  "R",  "S",  "SH",
                                     "T",  "TH", "UH", "UW", "V",  "W",  "Y",  "Z",  "ZH"};
    for (size_t i = 0; i < sizeof PH / sizeof PH[0]; i++)
        if (strlen(PH[i]) == len && strncmp(PH[i], p, len) == 0) return 1;
    return 0;
}

static void test_pronunciations(void) {
    char *text = pack_read("pronunciations.tsv");
    if (!text) return;
    size_t lineno = 0, n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\0') continue;
        char *t1 = strchr(line, '\t');
        CHECK_MSG(t1 && t1 > line && t1[1] && t1[1] != '\t',
                  "pronunciations.tsv line %zu: needs Word<TAB>heard-as", lineno);
        if (!t1) continue;
        char *t2 = strchr(t1 + 1, '\t');
        if (t2) {
            CHECK_MSG(!strchr(t2 + 1, '\t'), "pronunciations.tsv line %zu: too many fields",
                      lineno);
            for (const char *p = t2 + 1; *p;) {
                size_t len = strcspn(p, " ");
                CHECK_MSG(len == 0 || cmu_phone(p, len),
                          "pronunciations.tsv line %zu: bad phone %.*s", lineno, (int)len, p);
                p += len;
                while (*p == ' ')
                    p++;
            }
        }
        n++;
    }
    CHECK_MSG(n >= 20, "pronunciations.tsv holds %zu names", n);
    free(text);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_pack_json);
    RUN(test_items); /* before the tests that resolve item references */
    RUN(test_templates);
    RUN(test_facts);
    RUN(test_utterances);
    RUN(test_responses);
    RUN(test_pronunciations);
    free(item_ids);
    cJSON_Delete(items_root);
    return CHECK_DONE(argv[0]);
}
