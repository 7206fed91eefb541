/* Loader for AXIOM's own pack format (docs/knowledge-pack.md, version 1). Every
 * record is checked field by field; a bad record is reported with its file, record
 * number and field, and skipped. Unknown fields are ignored. */
#include "brain/pack.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *jstr(cJSON *o, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A list of strings; non-strings are reported. */
static const char **jlist(pack *p, cJSON *o, const char *k, size_t *n, const char *file, int rec) {
    *n = 0;
    cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!a || cJSON_IsNull(a)) return NULL;
    if (!cJSON_IsArray(a)) {
        pack_issue(p, "%s: record %d: field '%s': expected a list of strings; ignored", file, rec,
                   k);
        return NULL;
    }
    int cnt = cJSON_GetArraySize(a);
    const char **out = pack_alloc(p, (size_t)(cnt ? cnt : 1) * sizeof *out);
    cJSON *it;
    cJSON_ArrayForEach(it, a) {
        if (cJSON_IsString(it) && it->valuestring[0] && out)
            out[(*n)++] = pack_strdup(p, it->valuestring);
    }
    return out;
}

static int valid_intent(const char *s) {
    static const char *const names[] = {
        "greeting", "acknowledgment", "capability_check", "compatibility_check", "equipment_query",
        "guidance", "lab_info",       "project_idea",     "troubleshooting"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (s && strcmp(s, names[i]) == 0) return 1;
    return 0;
}

static void load_items(pack *p, cJSON *arr) {
    int cnt = cJSON_GetArraySize(arr);
    p->items = pack_alloc(p, (size_t)(cnt ? cnt : 1) * sizeof *p->items);
    if (!p->items) return;
    int rec = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        rec++;
        if (!cJSON_IsObject(o)) {
            pack_issue(p, "items.json: record %d: expected an object; skipped", rec);
            continue;
        }
        const char *req[] = {"id", "name", "category"};
        int bad = 0;
        for (int k = 0; k < 3 && !bad; k++)
            if (!jstr(o, req[k])) {
                pack_issue(
                    p,
                    "items.json: record %d: field '%s' is missing or not a string; record skipped",
                    rec, req[k]);
                bad = 1;
            }
        if (bad) continue;
        if (pack_item_by_id(p, jstr(o, "id")) >= 0) {
            pack_issue(p, "items.json: record %d: field 'id': '%s' is used twice; record skipped",
                       rec, jstr(o, "id"));
            continue;
        }
        pack_item *it = &p->items[p->n_items];
        it->id = pack_strdup(p, jstr(o, "id"));
        it->name = pack_strdup(p, jstr(o, "name"));
        it->category = pack_strdup(p, jstr(o, "category"));
        it->summary = pack_strdup(p, jstr(o, "summary"));
        it->difficulty = pack_strdup(p, jstr(o, "difficulty"));
        it->location = pack_strdup(p, jstr(o, "location"));
        it->checkout = pack_strdup(p, jstr(o, "checkout"));
        it->aliases = jlist(p, o, "aliases", &it->n_aliases, "items.json", rec);
        it->capabilities = jlist(p, o, "capabilities", &it->n_capabilities, "items.json", rec);
        it->compatible = jlist(p, o, "compatible_with", &it->n_compatible, "items.json", rec);
        cJSON *specs = cJSON_GetObjectItemCaseSensitive(o, "specs");
        if (cJSON_IsObject(specs)) {
            int ns = cJSON_GetArraySize(specs);
            it->spec_keys = pack_alloc(p, (size_t)(ns ? ns : 1) * sizeof(char *));
            it->spec_vals = pack_alloc(p, (size_t)(ns ? ns : 1) * sizeof(char *));
            cJSON *s;
            cJSON_ArrayForEach(s, specs) {
                if (!cJSON_IsString(s) || !it->spec_keys || !it->spec_vals) continue;
                it->spec_keys[it->n_specs] = pack_strdup(p, s->string);
                it->spec_vals[it->n_specs++] = pack_strdup(p, s->valuestring);
            }
        } else if (specs && !cJSON_IsNull(specs)) {
            pack_issue(
                p, "items.json: record %d: field 'specs': expected an object of strings; ignored",
                rec);
        }
        it->card_index = -1;
        cJSON *ci = cJSON_GetObjectItemCaseSensitive(o, "card_index");
        if (ci && !cJSON_IsNull(ci)) {
            if (!cJSON_IsNumber(ci) || ci->valuedouble < 0 || ci->valuedouble > 10000 ||
                ci->valuedouble != (double)(int)ci->valuedouble) {
                pack_issue(p,
                           "items.json: record %d: field 'card_index': expected a whole number "
                           "from 0; ignored",
                           rec);
            } else {
                int dup = 0;
                for (size_t k = 0; k < p->n_items; k++)
                    dup |= p->items[k].card_index == ci->valueint;
                if (dup)
                    pack_issue(
                        p, "items.json: record %d: field 'card_index': %d is used twice; ignored",
                        rec, ci->valueint);
                else
                    it->card_index = ci->valueint;
            }
        }
        cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model_3d");
        if (cJSON_IsObject(m) && jstr(m, "path")) {
            it->model_path = pack_strdup(p, jstr(m, "path"));
            it->model_name = pack_strdup(p, jstr(m, "name") ? jstr(m, "name") : it->name);
        } else if (m && !cJSON_IsNull(m)) {
            pack_issue(p,
                       "items.json: record %d: field 'model_3d': expected {\"path\": ..., "
                       "\"name\": ...}; ignored",
                       rec);
        }
        p->n_items++;
    }
}

static int item_ref(pack *p, cJSON *o, const char *file, int rec, int *out) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "item");
    *out = -1;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) {
        pack_issue(p, "%s: record %d: field 'item': expected an item id or null; record skipped",
                   file, rec);
        return -1;
    }
    *out = pack_item_by_id(p, v->valuestring);
    if (*out < 0) {
        pack_issue(p, "%s: record %d: field 'item': no item has id '%.80s'; record skipped", file,
                   rec, v->valuestring);
        return -1;
    }
    return 0;
}

static void load_templates(pack *p, cJSON *arr) {
    int cnt = cJSON_GetArraySize(arr);
    p->templates = pack_alloc(p, (size_t)(cnt ? cnt : 1) * sizeof *p->templates);
    if (!p->templates) return;
    int rec = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        rec++;
        if (!cJSON_IsObject(o)) {
            pack_issue(p, "templates.json: record %d: expected an object; skipped", rec);
            continue;
        }
        const char *q = jstr(o, "question"), *a = jstr(o, "answer"), *in = jstr(o, "intent");
        if (!q || !a) {
            pack_issue(p,
                       "templates.json: record %d: field '%s' is missing or empty; record skipped",
                       rec, !q ? "question" : "answer");
            continue;
        }
        if (!valid_intent(in)) {
            pack_issue(p,
                       "templates.json: record %d: field 'intent': '%.40s' is not one of the nine "
                       "intents; record skipped",
                       rec, in ? in : "(missing)");
            continue;
        }
        int item;
        if (item_ref(p, o, "templates.json", rec, &item) != 0) continue;
        pack_template *t = &p->templates[p->n_templates++];
        t->intent = pack_strdup(p, in);
        t->item = item;
        t->question = pack_strdup(p, q);
        t->answer = pack_strdup(p, a);
        t->misheard = 0;
    }
}

static void load_facts(pack *p, cJSON *arr) {
    int cnt = cJSON_GetArraySize(arr);
    p->facts = pack_alloc(p, (size_t)(cnt ? cnt : 1) * sizeof *p->facts);
    if (!p->facts) return;
    int rec = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        rec++;
        if (!cJSON_IsObject(o) || !jstr(o, "text")) {
            pack_issue(p, "facts.json: record %d: field 'text' is missing or empty; record skipped",
                       rec);
            continue;
        }
        int item;
        if (item_ref(p, o, "facts.json", rec, &item) != 0) continue;
        pack_fact *f = &p->facts[p->n_facts++];
        f->id = pack_strdup(p, jstr(o, "id"));
        f->topic = pack_strdup(p, jstr(o, "topic"));
        f->text = pack_strdup(p, jstr(o, "text"));
        f->item = item;
    }
}

static cJSON *read_list(pack *p, const char *dir, const char *file) {
    cJSON *j = pack_read_json(p, dir, file, 1);
    if (j && !cJSON_IsArray(j)) {
        pack_issue(p,
                   "%s: record 1: expected a list of records at the top level; the file is skipped",
                   file);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int pack_load_native(pack *p, const char *dir) {
    cJSON *meta = pack_read_json(p, dir, "pack.json", 1);
    if (meta) {
        const char *fmt = jstr(meta, "format");
        cJSON *ver = cJSON_GetObjectItemCaseSensitive(meta, "version");
        if (!fmt || strcmp(fmt, "axiom-pack") != 0)
            pack_issue(p, "pack.json: field 'format': expected \"axiom-pack\"");
        if (!cJSON_IsNumber(ver) || ver->valueint != 1)
            pack_issue(
                p,
                "pack.json: field 'version': this AXIOM reads version 1; newer fields are ignored");
        p->name = pack_strdup(p, jstr(meta, "name"));
        p->description = pack_strdup(p, jstr(meta, "description"));
        cJSON *lab = cJSON_GetObjectItemCaseSensitive(meta, "lab");
        if (cJSON_IsObject(lab)) {
            p->lab_name = pack_strdup(p, jstr(lab, "name"));
            p->lab_full_name = pack_strdup(p, jstr(lab, "full_name"));
            p->lab_location = pack_strdup(p, jstr(lab, "location"));
            p->lab_hours = pack_strdup(p, jstr(lab, "hours"));
            p->lab_contact = pack_strdup(p, jstr(lab, "contact"));
        }
        cJSON_Delete(meta);
    }
    cJSON *items = read_list(p, dir, "items.json");
    if (items) load_items(p, items);
    cJSON_Delete(items);
    cJSON *tpl = read_list(p, dir, "templates.json");
    if (tpl) load_templates(p, tpl);
    cJSON_Delete(tpl);
    cJSON *facts = read_list(p, dir, "facts.json");
    if (facts) load_facts(p, facts);
    cJSON_Delete(facts);
    char path[4096];
    snprintf(path, sizeof path, "%s/utterances.tsv", dir);
    struct stat st;
    if (stat(path, &st) == 0) {
        p->utterances_path = pack_strdup(p, path);
        pack_hash_file(p, dir, "utterances.tsv");
    } else
        pack_issue(
            p, "utterances.tsv: missing; the intent classifier falls back to the default pack's");
    pack_load_pronunciations(p, dir, 0);
    pack_load_responses(p, dir, 1);
    return 0;
}
