/* Importer for the reference deployment's data folder (template_database.json,
 * rag_knowledge_base.json, inventory.json, project_ideas_rag.json,
 * carousel_mapping.json, production_dataset.json). That data is machine-generated and
 * noisy, so every record is checked, bad ones are reported with file, list, record
 * number and field, and skipped; everything else loads.
 *
 * Mapping onto the pack model:
 *   inventory.json          items (id = slug of the name; "A: x | B: y" specs split)
 *   carousel_mapping.json   items' card_index (checked against the inventory)
 *   template_database.json  templates; usage -> guidance, specs -> equipment_query,
 *                           compatibility/integrations -> compatibility_check,
 *                           projects -> project_idea, the rest -> equipment_query;
 *                           the item comes from `equipment` or from the question
 *   rag_knowledge_base.json facts (existing_qa), lab facts (institution_facts)
 *   project_ideas_rag.json  facts, one per project idea
 *   items themselves        facts per spec, capabilities and compatibility, so the
 *                           retrieval path can answer spec questions without an LLM
 * 3D models: the reference front end shows a model when the topic moves to a
 * quadruped, depth camera, drone or prototyping board; those items get
 * models/<topic>.glb (see docs/knowledge-pack.md). */
#include "brain/mention.h"
#include "brain/pack.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *jstr(cJSON *o, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static char *slug(pack *p, const char *name) {
    char buf[128];
    size_t w = 0;
    for (const char *s = name; *s && w < sizeof buf - 1; s++) {
        if (isalnum((unsigned char)*s))
            buf[w++] = (char)tolower((unsigned char)*s);
        else if (w && buf[w - 1] != '-')
            buf[w++] = '-';
    }
    while (w && buf[w - 1] == '-')
        w--;
    buf[w] = 0;
    return pack_strdup(p, buf);
}

/* Splits s at sep into trimmed, non-empty arena strings. */
static const char **split(pack *p, const char *s, const char *sep, size_t *n) {
    *n = 0;
    size_t cap = 1;
    for (const char *q = s; (q = strstr(q, sep)); q += strlen(sep))
        cap++;
    const char **out = pack_alloc(p, cap * sizeof *out);
    if (!out) return NULL;
    for (const char *q = s;;) {
        const char *e = strstr(q, sep);
        const char *end = e ? e : q + strlen(q);
        const char *a = q, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a && *n < cap) out[(*n)++] = pack_strndup(p, a, (size_t)(b - a));
        if (!e) break;
        q = e + strlen(sep);
    }
    return out;
}

static const struct {
    const char *words, *topic, *path, *name;
} models3d[] = {
    {"go2|quadruped", "quadruped", "models/quadruped.glb", "Quadruped robot"},
    {"realsense|depth", "depth camera", "models/depth_camera.glb", "Depth camera"},
    {"drone|quadcopter", "drone", "models/drone.glb", "Drone"},
    {"arduino|breadboard|breadboards", "prototyping board", "models/prototyping_board.glb",
     "Prototyping board"},
};

static void add_alias(pack *p, pack_item *it, const char *alias);

static void assign_model(pack *p, pack_item *it) {
    text_toks tt;
    char both[512];
    snprintf(both, sizeof both, "%s %s", it->name, it->category ? it->category : "");
    text_tokens(both, &tt);
    for (size_t m = 0; m < sizeof models3d / sizeof models3d[0]; m++)
        for (size_t i = 0; i < tt.n; i++) {
            char words[64];
            snprintf(words, sizeof words, "|%s|", models3d[m].words);
            char probe[TOK_LEN + 2];
            snprintf(probe, sizeof probe, "|%s|", tt.t[i]);
            if (strstr(words, probe)) {
                it->model_path = models3d[m].path;
                it->model_name = models3d[m].name;
                if (m == 0) { /* what people call it */
                    add_alias(p, it, "robot dog");
                    add_alias(p, it, "quadruped");
                }
                return;
            }
        }
}

static void load_inventory(pack *p, const char *dir) {
    cJSON *j = pack_read_json(p, dir, "inventory.json", 1);
    if (!j) return;
    if (!cJSON_IsArray(j)) {
        pack_issue(p, "inventory.json: record 1: expected a list of items; the file is skipped");
        cJSON_Delete(j);
        return;
    }
    int cnt = cJSON_GetArraySize(j);
    p->items = pack_alloc(p, (size_t)(cnt ? cnt : 1) * sizeof *p->items);
    int rec = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, j) {
        rec++;
        if (!p->items) break;
        const char *name = cJSON_IsObject(o) ? jstr(o, "name") : NULL;
        if (!name) {
            pack_issue(p,
                       "inventory.json: record %d: field 'name' is missing or not a string; record "
                       "skipped",
                       rec);
            /* keep the slot so inventory_index in carousel_mapping.json still lines up */
        }
        pack_item *it = &p->items[p->n_items++];
        it->card_index = -1;
        if (!name) continue;
        it->name = pack_strdup(p, name);
        it->id = slug(p, name);
        it->category = pack_strdup(p, jstr(o, "category") ? jstr(o, "category") : "equipment");
        it->difficulty = pack_strdup(p, jstr(o, "difficulty"));
        const char *specs = jstr(o, "specs");
        if (specs) {
            size_t n;
            const char **parts = split(p, specs, "|", &n);
            it->spec_keys = pack_alloc(p, (n ? n : 1) * sizeof(char *));
            it->spec_vals = pack_alloc(p, (n ? n : 1) * sizeof(char *));
            for (size_t i = 0; parts && it->spec_keys && it->spec_vals && i < n; i++) {
                const char *colon = strchr(parts[i], ':');
                if (!colon) {
                    it->spec_keys[it->n_specs] = "";
                    it->spec_vals[it->n_specs++] = parts[i];
                    continue;
                }
                const char *v = colon + 1;
                while (*v == ' ')
                    v++;
                it->spec_keys[it->n_specs] = pack_strndup(p, parts[i], (size_t)(colon - parts[i]));
                it->spec_vals[it->n_specs++] = v;
            }
        }
        cJSON *caps = cJSON_GetObjectItemCaseSensitive(o, "capabilities");
        if (cJSON_IsString(caps))
            it->capabilities = split(p, caps->valuestring, ",", &it->n_capabilities);
        cJSON *comp = cJSON_GetObjectItemCaseSensitive(o, "compatible_with");
        if (cJSON_IsArray(comp)) {
            int nc = cJSON_GetArraySize(comp);
            it->compatible = pack_alloc(p, (size_t)(nc ? nc : 1) * sizeof(char *));
            cJSON *c;
            cJSON_ArrayForEach(c, comp) if (cJSON_IsString(c) && it->compatible)
                it->compatible[it->n_compatible++] = pack_strdup(p, c->valuestring);
        } else if (comp) {
            pack_issue(
                p, "inventory.json: record %d: field 'compatible_with': expected a list; ignored",
                rec);
        }
        char sum[1024];
        snprintf(sum, sizeof sum, "The %s is %s %s%s%s.", name,
                 strchr("AEIOUaeiou", it->category[0]) ? "an" : "a", it->category,
                 cJSON_IsString(caps) ? ", used for " : "",
                 cJSON_IsString(caps) ? caps->valuestring : "");
        it->summary = pack_strdup(p, sum);
        assign_model(p, it);
    }
    cJSON_Delete(j);
}

static void load_carousel(pack *p, const char *dir) {
    cJSON *j = pack_read_json(p, dir, "carousel_mapping.json", 0);
    if (!j) return;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "carousel_mapping");
    if (!cJSON_IsArray(arr)) {
        pack_issue(p, "carousel_mapping.json: field 'carousel_mapping': expected a list; no cards");
        cJSON_Delete(j);
        return;
    }
    int rec = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        rec++;
        cJSON *ci = cJSON_GetObjectItemCaseSensitive(o, "carousel_index");
        cJSON *ii = cJSON_GetObjectItemCaseSensitive(o, "inventory_index");
        const char *nm = jstr(o, "inventory_name");
        if (!cJSON_IsNumber(ci) || ci->valuedouble < 0 || ci->valuedouble > 1000) {
            pack_issue(p,
                       "carousel_mapping.json: record %d: field 'carousel_index': expected a whole "
                       "number from 0; skipped",
                       rec);
            continue;
        }
        int item = -1;
        if (cJSON_IsNumber(ii) && ii->valueint >= 0 && (size_t)ii->valueint < p->n_items &&
            p->items[ii->valueint].name && (!nm || strcmp(nm, p->items[ii->valueint].name) == 0))
            item = ii->valueint;
        for (size_t k = 0; item < 0 && nm && k < p->n_items; k++)
            if (p->items[k].name && strcmp(p->items[k].name, nm) == 0) item = (int)k;
        if (item < 0) {
            pack_issue(p,
                       "carousel_mapping.json: record %d: field "
                       "'inventory_index'/'inventory_name': no such inventory item; skipped",
                       rec);
            continue;
        }
        int dup = 0;
        for (size_t k = 0; k < p->n_items; k++)
            dup |= p->items[k].card_index == ci->valueint;
        if (dup) {
            pack_issue(p,
                       "carousel_mapping.json: record %d: field 'carousel_index': %d is used "
                       "twice; skipped",
                       rec, ci->valueint);
            continue;
        }
        p->items[item].card_index = ci->valueint;
    }
    cJSON_Delete(j);
}

/* The item an equipment string names: mention first, then the most shared words. */
static int resolve_equipment(pack *p, const mention_index *mi, const char *eq) {
    int it = mention_find_text(mi, eq);
    if (it >= 0) return it;
    text_toks q;
    text_tokens(eq, &q);
    int best = -1, best_n = 0, tie = 0;
    for (size_t i = 0; i < p->n_items; i++) {
        if (!p->items[i].name) continue;
        text_toks nt;
        text_tokens(p->items[i].name, &nt);
        int n = 0;
        for (size_t a = 0; a < q.n; a++)
            for (size_t b = 0; b < nt.n; b++)
                if (strlen(q.t[a]) > 2 && strcmp(q.t[a], nt.t[b]) == 0 && strcmp(q.t[a], "the") &&
                    strcmp(q.t[a], "and"))
                    n++;
        if (n > best_n)
            best = (int)i, best_n = n, tie = 0;
        else if (n == best_n && n)
            tie = 1;
    }
    return tie ? -1 : best;
}

static void add_alias(pack *p, pack_item *it, const char *alias) {
    for (size_t i = 0; i < it->n_aliases; i++)
        if (strcmp(it->aliases[i], alias) == 0) return;
    const char **na = pack_alloc(p, (it->n_aliases + 1) * sizeof *na);
    if (!na) return;
    if (it->n_aliases) memcpy(na, it->aliases, it->n_aliases * sizeof *na);
    na[it->n_aliases++] = pack_strdup(p, alias);
    it->aliases = na;
}

static void load_templates(pack *p, const char *dir, mention_index **mi) {
    static const struct {
        const char *list, *intent;
        int has_equipment, item_from_answer;
    } lists[] = {
        {"usage", "guidance", 1, 0},
        {"specs", "equipment_query", 1, 0},
        {"compatibility", "compatibility_check", 1, 0},
        {"projects", "project_idea", 1, 0},
        {"stt_errors", "equipment_query", 0, 1},
        {"context_and_help", "equipment_query", 0, 0},
        {"comparisons", "equipment_query", 0, 0},
        {"integrations", "compatibility_check", 0, 0},
    };
    cJSON *j = pack_read_json(p, dir, "template_database.json", 1);
    if (!j) return;
    if (!cJSON_IsObject(j)) {
        pack_issue(p, "template_database.json: expected an object of lists; the file is skipped");
        cJSON_Delete(j);
        return;
    }
    /* pass 1: equipment names become aliases of the items they name */
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, lists[l].list);
        cJSON *o;
        if (!lists[l].has_equipment || !cJSON_IsArray(arr)) continue;
        cJSON_ArrayForEach(o, arr) {
            const char *eq = jstr(o, "equipment");
            if (!eq) continue;
            int it = resolve_equipment(p, *mi, eq);
            if (it >= 0) add_alias(p, &p->items[it], eq);
        }
    }
    mention_free(*mi);
    *mi = mention_new(p);
    size_t total = 0;
    for (cJSON *arr = j->child; arr; arr = arr->next)
        if (cJSON_IsArray(arr)) total += (size_t)cJSON_GetArraySize(arr);
    p->templates = pack_alloc(p, (total ? total : 1) * sizeof *p->templates);
    if (!p->templates) {
        cJSON_Delete(j);
        return;
    }
    for (cJSON *arr = j->child; arr; arr = arr->next) {
        size_t l = 0;
        while (l < sizeof lists / sizeof lists[0] &&
               strcmp(lists[l].list, arr->string ? arr->string : ""))
            l++;
        if (!cJSON_IsArray(arr)) {
            pack_issue(p, "template_database.json: field '%s': expected a list; skipped",
                       arr->string ? arr->string : "?");
            continue;
        }
        const char *intent =
            l < sizeof lists / sizeof lists[0] ? lists[l].intent : "equipment_query";
        int rec = 0;
        cJSON *o;
        cJSON_ArrayForEach(o, arr) {
            rec++;
            const char *q = cJSON_IsObject(o) ? jstr(o, "question") : NULL;
            const char *a = cJSON_IsObject(o) ? jstr(o, "answer") : NULL;
            if (!q || !a) {
                pack_issue(p,
                           "template_database.json: %s record %d: field '%s' is missing or empty; "
                           "record skipped",
                           arr->string, rec, !q ? "question" : "answer");
                continue;
            }
            int item = -1;
            const char *eq = jstr(o, "equipment");
            if (eq) item = resolve_equipment(p, *mi, eq);
            if (item < 0) item = mention_find_text(*mi, q);
            if (item < 0 && l < sizeof lists / sizeof lists[0] && lists[l].item_from_answer)
                item = mention_find_text(*mi, a);
            pack_template *t = &p->templates[p->n_templates++];
            t->intent = intent;
            t->item = item;
            t->question = pack_strdup(p, q);
            t->answer = pack_strdup(p, a);
            t->misheard = arr->string && strcmp(arr->string, "stt_errors") == 0;
        }
    }
    cJSON_Delete(j);
}

typedef struct {
    pack_fact *v;
    size_t n, cap;
} fact_vec;

static void fact_add(pack *p, fact_vec *fv, int item, const char *topic, const char *text) {
    if (!text || !*text) return;
    if (fv->n == fv->cap) {
        size_t cap = fv->cap ? fv->cap * 2 : 1024;
        pack_fact *nv = realloc(fv->v, cap * sizeof *nv);
        if (!nv) return;
        fv->v = nv;
        fv->cap = cap;
    }
    pack_fact *f = &fv->v[fv->n++];
    f->id = NULL;
    f->item = item;
    f->topic = topic ? pack_strdup(p, topic) : NULL;
    f->text = pack_strdup(p, text);
}

static void item_facts(pack *p, fact_vec *fv) {
    char buf[2048];
    for (size_t i = 0; i < p->n_items; i++) {
        pack_item *it = &p->items[i];
        if (!it->name) continue;
        fact_add(p, fv, (int)i, "summary", it->summary);
        for (size_t s = 0; s < it->n_specs; s++) {
            if (it->spec_keys[s][0])
                snprintf(buf, sizeof buf, "The %s's %s: %s.", it->name, it->spec_keys[s],
                         it->spec_vals[s]);
            else
                snprintf(buf, sizeof buf, "The %s: %s.", it->name, it->spec_vals[s]);
            fact_add(p, fv, (int)i, it->spec_keys[s], buf);
        }
        if (it->n_compatible) {
            size_t w = (size_t)snprintf(buf, sizeof buf, "The %s works with ", it->name);
            for (size_t c = 0; c < it->n_compatible && w < sizeof buf - 8; c++)
                w += (size_t)snprintf(buf + w, sizeof buf - w, "%s%s",
                                      c ? (c + 1 == it->n_compatible ? " and " : ", ") : "",
                                      it->compatible[c]);
            if (w < sizeof buf - 2) strcat(buf, ".");
            fact_add(p, fv, (int)i, "compatibility", buf);
        }
        if (it->difficulty) {
            snprintf(buf, sizeof buf, "The %s is rated %s difficulty.", it->name, it->difficulty);
            fact_add(p, fv, (int)i, "difficulty", buf);
        }
    }
}

static void load_rag(pack *p, const char *dir, const mention_index *mi, fact_vec *fv) {
    cJSON *j = pack_read_json(p, dir, "rag_knowledge_base.json", 0);
    if (!j) return;
    cJSON *qa = cJSON_GetObjectItemCaseSensitive(j, "existing_qa");
    int rec = 0;
    cJSON *o;
    if (qa && !cJSON_IsArray(qa))
        pack_issue(p, "rag_knowledge_base.json: field 'existing_qa': expected a list; skipped");
    if (cJSON_IsArray(qa)) cJSON_ArrayForEach(o, qa) {
            rec++;
            const char *fact = jstr(o, "technical_fact"), *query = jstr(o, "query"),
                       *src = jstr(o, "source");
            if (!fact) {
                pack_issue(p,
                           "rag_knowledge_base.json: existing_qa record %d: field 'technical_fact' "
                           "is missing or empty; skipped",
                           rec);
                continue;
            }
            int item = query ? mention_find_text(mi, query) : -1;
            if (item < 0 && src) {
                char s2[256];
                snprintf(s2, sizeof s2, "%s", src);
                for (char *c = s2; *c; c++)
                    if (*c == '_') *c = ' ';
                item = mention_find_text(mi, s2);
            }
            fact_add(p, fv, item, query, fact);
        }
    cJSON *inst = cJSON_GetObjectItemCaseSensitive(j, "institution_facts");
    rec = 0;
    if (cJSON_IsArray(inst)) cJSON_ArrayForEach(o, inst) {
            rec++;
            const char *ent = jstr(o, "entity"), *full = jstr(o, "full_name"),
                       *loc = jstr(o, "location"), *est = jstr(o, "established");
            if (!ent) {
                pack_issue(p,
                           "rag_knowledge_base.json: institution_facts record %d: field 'entity' "
                           "is missing; skipped",
                           rec);
                continue;
            }
            char buf[1024];
            snprintf(buf, sizeof buf, "%s%s%s%s%s%s%s.", ent, full ? " is " : "", full ? full : "",
                     loc ? ", located in " : "", loc ? loc : "", est ? ", established in " : "",
                     est ? est : "");
            fact_add(p, fv, -1, "lab", buf);
            if (!p->lab_name) {
                p->lab_name = pack_strdup(p, ent);
                p->lab_full_name = pack_strdup(p, full);
                p->lab_location = pack_strdup(p, loc);
            }
        }
    cJSON_Delete(j);
}

static void load_projects(pack *p, const char *dir, const mention_index *mi, fact_vec *fv) {
    cJSON *j = pack_read_json(p, dir, "project_ideas_rag.json", 0);
    if (!j) return;
    cJSON *all = cJSON_GetObjectItemCaseSensitive(j, "all_entries");
    if (!cJSON_IsArray(all)) {
        pack_issue(p, "project_ideas_rag.json: field 'all_entries': expected a list; skipped");
        cJSON_Delete(j);
        return;
    }
    int rec = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, all) {
        rec++;
        const char *title = jstr(o, "project_title"), *resp = jstr(o, "assistant_response"),
                   *desc = jstr(o, "description");
        if (!title || (!resp && !desc)) {
            pack_issue(
                p, "project_ideas_rag.json: all_entries record %d: field '%s' is missing; skipped",
                rec, !title ? "project_title" : "assistant_response");
            continue;
        }
        int item = -1;
        cJSON *hw = cJSON_GetObjectItemCaseSensitive(o, "hardware_needed"), *h;
        if (cJSON_IsArray(hw)) cJSON_ArrayForEach(h, hw) {
                if (item < 0 && cJSON_IsString(h)) item = mention_find_text(mi, h->valuestring);
            }
        char buf[2048];
        if (resp)
            snprintf(buf, sizeof buf, "%s", resp);
        else
            snprintf(buf, sizeof buf, "Project idea, %s: %s.", title, desc);
        fact_add(p, fv, item, title, buf);
    }
    cJSON_Delete(j);
}

int pack_load_reference(pack *p, const char *dir) {
    p->name = "imported AXIOM data";
    load_inventory(p, dir);
    load_carousel(p, dir);
    /* nameless records kept their slot so carousel inventory_index lined up; now
     * they go */
    size_t w = 0;
    for (size_t i = 0; i < p->n_items; i++)
        if (p->items[i].name) p->items[w++] = p->items[i];
    p->n_items = w;
    mention_index *mi = mention_new(p);
    load_templates(p, dir, &mi);
    fact_vec fv = {0};
    item_facts(p, &fv);
    load_rag(p, dir, mi, &fv);
    load_projects(p, dir, mi, &fv);
    mention_free(mi);
    if (fv.n) {
        p->facts = pack_alloc(p, fv.n * sizeof *fv.v);
        if (p->facts) {
            memcpy(p->facts, fv.v, fv.n * sizeof *fv.v);
            p->n_facts = fv.n;
        }
    }
    free(fv.v);
    char path[4096];
    snprintf(path, sizeof path, "%s/production_dataset.json", dir);
    struct stat st;
    if (stat(path, &st) == 0) {
        p->utterances_path = pack_strdup(p, path);
        pack_hash_file(p, dir, "production_dataset.json");
    }
    pack_load_pronunciations(p, dir, 0);
    pack_load_responses(p, dir, 0);
    return 0;
}
