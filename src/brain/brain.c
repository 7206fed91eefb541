/* The brain's life cycle: creation (cheap), the two governor components that load
 * lazily ("index": pack, mention and template indexes, search store; "intent": the
 * classifier, trained once and cached by its data's hash), sessions, and the speech
 * recogniser's corpus. The turn itself is in brain_turn.c. */
#include "brain/brain_internal.h"

#include "brain/labelled.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p: the default cache folder (~/.cache/axiom) may be the first of its line. */
static void make_dirs(const char *path) {
    char buf[2048];
    size_t n = str_copy(buf, sizeof buf, path);
    if (!n || n >= sizeof buf) return;
    for (size_t i = 1; i < n; i++)
        if (buf[i] == '/') {
            buf[i] = 0;
            mkdir(buf, 0700);
            buf[i] = '/';
        }
    mkdir(buf, 0700);
}

/* ---- index component ---- */
static void index_unload(void *ctx) {
    brain *b = ctx;
    if (b->st) b->sb->close(b->st);
    b->st = NULL;
    template_index_free(b->ti);
    b->ti = NULL;
    if (b->norm_q && b->pk)
        for (size_t i = 0; i < b->pk->n_templates; i++)
            free(b->norm_q[i]);
    free(b->norm_q);
    b->norm_q = NULL;
    normaliser_free(b->nz);
    b->nz = NULL;
    pack_words_free(b->pw);
    b->pw = NULL;
    mention_free(b->mi);
    b->mi = NULL;
    pack_free(b->pk);
    b->pk = NULL;
}

static int index_load(void *ctx, char *err, size_t errlen) {
    brain *b = ctx;
    b->pk = pack_load(b->data_dir, b->backup_dir, err, errlen);
    if (!b->pk) return -1;
    b->mi = mention_new(b->pk);
    b->nz = normaliser_new(b->pk);
    b->pw = pack_words_new(b->pk);
    b->norm_q = calloc(b->pk->n_templates + 1, sizeof *b->norm_q);
    norm_result *nr = malloc(sizeof *nr);
    if (!b->mi || !b->nz || !b->pw || !b->norm_q || !nr) {
        free(nr);
        index_unload(b);
        snprintf(err, errlen, "out of memory loading the knowledge pack");
        return -1;
    }
    /* Template questions go through the same normaliser as transcripts, so a
     * misheard form in the pack and in speech meet in the middle. */
    for (size_t i = 0; i < b->pk->n_templates; i++) {
        normalise_text(b->nz, b->pk->templates[i].question, nr);
        b->norm_q[i] = strdup(nr->dropped ? "" : nr->text);
        if (!b->norm_q[i]) b->norm_q[i] = NULL;
    }
    free(nr);
    for (size_t i = 0; i < b->pk->n_templates; i++)
        if (!b->norm_q[i]) {
            index_unload(b);
            snprintf(err, errlen, "out of memory loading the knowledge pack");
            return -1;
        }
    b->ti = template_index_new(b->pk, (const char *const *)b->norm_q);
    if (b->cache_dir[0]) make_dirs(b->cache_dir);
    b->st = b->sb->open(b->pk, b->cache_dir, &b->sinfo, err, errlen);
    if (!b->ti || !b->st) {
        if (!b->ti) snprintf(err, errlen, "out of memory building the template index");
        index_unload(b);
        return -1;
    }
    LOG_I("brain", "index %s in %.1f ms (%s)", b->sinfo.rebuilt ? "built" : "loaded from cache",
          b->sinfo.build_us / 1000.0, b->sinfo.path[0] ? b->sinfo.path : "in memory");
    return 0;
}

/* ---- intent component ---- */
static void intent_unload(void *ctx) {
    brain *b = ctx;
    intent_free(b->im);
    b->im = NULL;
}

static int intent_load_cb(void *ctx, char *err, size_t errlen) {
    brain *b = ctx;
    labelled_set *set = labelled_set_new(), *backup = NULL;
    if (!set) return snprintf(err, errlen, "out of memory"), -1;
    char e2[512];
    int n = labelled_load_dir(set, b->data_dir, LABELLED_PRIMARY, NULL, NULL, e2, sizeof e2);
    if (n < 0) LOG_W("brain", "%s", e2);
    struct stat st;
    if (b->backup_dir[0] && strcmp(b->backup_dir, b->data_dir) != 0 &&
        stat(b->backup_dir, &st) == 0) {
        backup = labelled_set_new();
        if (backup && labelled_load_dir(backup, b->backup_dir, LABELLED_BACKUP, NULL, NULL, e2,
                                        sizeof e2) >= 0)
            labelled_set_add_backup(set, backup);
        labelled_set_free(backup);
    }
    size_t rows = labelled_set_count(set);
    if (!rows) {
        snprintf(err, errlen,
                 "no labelled utterances in %s (utterances.tsv or production_dataset.json)",
                 b->data_dir);
        labelled_set_free(set);
        return -1;
    }
    uint64_t h = labelled_rows_hash(labelled_set_rows(set), rows);
    char path[2300] = "";
    if (b->cache_dir[0]) {
        make_dirs(b->cache_dir);
        snprintf(path, sizeof path, "%s/intent-%016llx.bin", b->cache_dir, (unsigned long long)h);
        b->im = intent_load(path, h, e2, sizeof e2);
    }
    if (!b->im) {
        b->im = intent_train(labelled_set_rows(set), rows, NULL, err, errlen);
        if (b->im && path[0] && intent_save(b->im, path, e2, sizeof e2) != 0)
            LOG_W("brain", "%s", e2);
    }
    labelled_set_free(set);
    b->intent_rows = rows;
    return b->im ? 0 : -1;
}

brain *brain_new(const axiom_config *cfg, char *err, size_t errlen) {
    brain *b = calloc(1, sizeof *b);
    if (!b) return snprintf(err, errlen, "out of memory"), NULL;
    b->cfg = cfg;
    config_data_dir(cfg, b->data_dir, sizeof b->data_dir);
    config_cache_dir(cfg, b->cache_dir, sizeof b->cache_dir);
    snprintf(b->backup_dir, sizeof b->backup_dir, "%s/data", axiom_root_dir());
    b->threshold = config_double(cfg, "template_threshold");
    b->history_turns = (int)config_int(cfg, "history_turns");
    b->context_len = (int)config_int(cfg, "context_length");
    b->max_tokens = (int)config_int(cfg, "llm.max_tokens");
    b->sb = store_backend_find("sqlite");
    pthread_mutex_init(&b->store_mu, NULL);
    pthread_mutex_init(&b->mu, NULL);
    int64_t idle = config_int(cfg, "mem.idle_unload_s") * 1000;
    component_desc di = {"index", 10, 1, index_load, index_unload, NULL, b, idle};
    component_desc dn = {"intent", 10, 1, intent_load_cb, intent_unload, NULL, b, idle};
    b->c_index = component_new(&di);
    b->c_intent = component_new(&dn);
    if (!b->c_index || !b->c_intent) {
        brain_free(b);
        return snprintf(err, errlen, "out of memory"), NULL;
    }
    if (config_bool(cfg, "history.persist")) {
        char path[2300];
        const char *p = config_str(cfg, "history.db");
        if (p && *p)
            snprintf(path, sizeof path, "%s", p);
        else {
            make_dirs(b->cache_dir);
            snprintf(path, sizeof path, "%s/history.db", b->cache_dir);
        }
        b->hdb = history_db_open(path, config_int(cfg, "history.retention_turns"), err, errlen);
        if (!b->hdb) {
            brain_free(b);
            return NULL;
        }
    }
    return b;
}

void brain_free(brain *b) {
    if (!b) return;
    component_free(b->c_index);
    component_free(b->c_intent);
    history_db_close(b->hdb);
    pthread_mutex_destroy(&b->store_mu);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

size_t brain_components(brain *b, axiom_component **out, size_t max) {
    size_t n = 0;
    if (n < max) out[n++] = b->c_index;
    if (n < max) out[n++] = b->c_intent;
    return n;
}

int brain_load(brain *b, char *err, size_t errlen) {
    if (component_load(b->c_index, err, errlen) != 0) return -1;
    return component_load(b->c_intent, err, errlen);
}

brain_session *brain_session_new(brain *b) {
    brain_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->b = b;
    s->topic_item = -1;
    if (history_ring_init(&s->ring, (size_t)b->history_turns) != 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&b->mu);
    unsigned long id = ++b->next_session;
    pthread_mutex_unlock(&b->mu);
    snprintf(s->id, sizeof s->id, "s%lld-%lu", (long long)now_ms(), id);
    return s;
}

void brain_session_free(brain_session *s) {
    if (!s) return;
    history_ring_free(&s->ring);
    free(s);
}

const char *brain_session_id(const brain_session *s) {
    return s ? s->id : "";
}

int brain_client_id_valid(const char *id) {
    size_t n = id ? strlen(id) : 0;
    if (n < BRAIN_CLIENT_ID_MIN || n > BRAIN_CLIENT_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int brain_session_set_client(brain_session *s, const char *client_id, char *err, size_t errlen) {
    if (!brain_client_id_valid(client_id)) {
        snprintf(err, errlen, "client_id must be %d to %d letters, digits, '-' or '_'",
                 BRAIN_CLIENT_ID_MIN, BRAIN_CLIENT_ID_MAX);
        return -1;
    }
    history_ring fresh;
    if (history_ring_init(&fresh, (size_t)s->b->history_turns) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* "u-" keeps client ids apart from generated connection ids ("s<ms>-<n>"). */
    snprintf(s->id, sizeof s->id, "u-%s", client_id);
    history_ring_free(&s->ring);
    s->ring = fresh;
    if (!s->b->hdb) return 0;
    int n = history_db_load(s->b->hdb, s->id, &s->ring, err, errlen);
    if (n < 0) LOG_W("brain", "%s; the conversation starts afresh", err);
    return n < 0 ? 0 : n;
}

const char *brain_content_hash(brain *b) {
    return b && component_is_loaded(b->c_index) && b->pk ? b->pk->content_hash : "";
}

const char *brain_path_name(brain_path p) {
    static const char *const names[] = {"none", "template", "retrieval",
                                        "llm",  "fallback", "rejected"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

int brain_mode_parse(const char *name, brain_mode *out) {
    static const char *const names[] = {"full", "skip-llm", "template-only"};
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0) return *out = (brain_mode)i, 0;
    return -1;
}

/* ---- the recogniser's corpus ---- */
typedef struct {
    const char **sentences;
    size_t n, cap;
    const char **hw, **hp;
    char **hh; /* heard-as forms joined with '|', one per hint */
    size_t nhh;
    labelled_set *utter;
    char **made; /* sentences made here from the items' specifications (owned) */
    size_t nmade, capmade;
} corpus_state;

static void corpus_push(corpus_state *c, const char *s) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        const char **ns = realloc(c->sentences, cap * sizeof *ns);
        if (!ns) return;
        c->sentences = ns;
        c->cap = cap;
    }
    c->sentences[c->n++] = s;
}

static void corpus_add(corpus_state *c, const char *s) {
    if (s && *s) corpus_push(c, s);
}

/* A sentence made here: kept until release. */
static void corpus_make(corpus_state *c, const char *fmt, const char *a, const char *b) {
    if (c->nmade == c->capmade) {
        size_t cap = c->capmade ? c->capmade * 2 : 256;
        char **nm = realloc(c->made, cap * sizeof *nm);
        if (!nm) return;
        c->made = nm;
        c->capmade = cap;
    }
    char buf[512];
    snprintf(buf, sizeof buf, fmt, a, b);
    char *s = strdup(buf);
    if (!s) return;
    c->made[c->nmade++] = s;
    corpus_push(c, s);
}

/* A specification's name a visitor would say: a short phrase of letters and spaces
 * ("weight", "flight time", "field of view"), not "materials allowed in the lab". */
static int sayable_spec(const char *k) {
    int words = 1;
    for (const char *q = k; *q; q++) {
        if (*q == ' ')
            words++;
        else if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
            return 0;
    }
    return *k && words <= 3;
}

/* People ask after what the pack records about an item ("what's the weight of the
 * tello"), in words its templates may never use: without these sentences the language
 * model has no path through "the weight of the" and the recogniser hears "what's awake
 * of the tello". One question per specification and name the item goes by. */
static void corpus_spec_questions(corpus_state *c, const pack *p) {
    for (size_t i = 0; i < p->n_items; i++) {
        const pack_item *it = &p->items[i];
        for (size_t k = 0; k < it->n_specs; k++) {
            if (!sayable_spec(it->spec_keys[k])) continue;
            corpus_make(c, "what's the %s of the %s", it->spec_keys[k], it->name);
            for (size_t a = 0; a < it->n_aliases; a++)
                corpus_make(c, "what's the %s of the %s", it->spec_keys[k], it->aliases[a]);
        }
    }
}

/* "d four three five i|d four thirty five i", or NULL (none, or out of memory: the
 * heard forms only add pronunciations). */
static char *join_heard(const pack_pron *pr) {
    size_t len = 0;
    for (size_t i = 0; i < pr->n_heard; i++)
        len += strlen(pr->heard[i]) + 1;
    char *s = len ? malloc(len) : NULL;
    if (!s) return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < pr->n_heard; i++) {
        if (i) strcat(s, "|");
        strcat(s, pr->heard[i]);
    }
    return s;
}

/* Frees an owned array of owned strings. */
static void free_strings(char **hh, size_t n) {
    for (size_t i = 0; hh && i < n; i++)
        free(hh[i]);
    free(hh);
}

static int corpus_get(void *ctx, stt_corpus *out, char *err, size_t errlen) {
    brain *b = ctx;
    memset(out, 0, sizeof *out);
    /* pinned until release: the sentences point into the pack */
    if (component_acquire(b->c_index, err, errlen) != 0) return -1;
    corpus_state *c = calloc(1, sizeof *c);
    if (!c) {
        component_release(b->c_index);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    const pack *p = b->pk;
    /* recorded misrecognitions are for reading mishearings back, not for teaching the
     * recogniser to mishear */
    for (size_t i = 0; i < p->n_templates; i++)
        if (!p->templates[i].misheard) corpus_add(c, p->templates[i].question);
    for (size_t i = 0; i < p->n_items; i++) {
        corpus_add(c, p->items[i].name);
        for (size_t a = 0; a < p->items[i].n_aliases; a++)
            corpus_add(c, p->items[i].aliases[a]);
    }
    corpus_spec_questions(c, p);
    c->utter = labelled_set_new();
    char e2[256];
    if (c->utter &&
        labelled_load_dir(c->utter, b->data_dir, LABELLED_PRIMARY, NULL, NULL, e2, sizeof e2) > 0) {
        const labelled_row *rows = labelled_set_rows(c->utter);
        for (size_t i = 0; i < labelled_set_count(c->utter); i++)
            corpus_add(c, rows[i].text);
    }
    c->hw = calloc(p->n_prons + 1, sizeof *c->hw);
    c->hp = calloc(p->n_prons + 1, sizeof *c->hp);
    c->hh = calloc(p->n_prons + 1, sizeof *c->hh);
    c->nhh = c->hh ? p->n_prons : 0;
    size_t nh = 0;
    for (size_t i = 0; c->hw && c->hp && c->hh && i < p->n_prons; i++)
        if (p->prons[i].phones) {
            c->hw[nh] = p->prons[i].word;
            c->hp[nh] = p->prons[i].phones;
            c->hh[nh++] = join_heard(&p->prons[i]);
        }
    out->sentences = c->sentences;
    out->n_sentences = c->n;
    out->hint_words = c->hw;
    out->hint_phones = c->hp;
    out->n_hints = nh;
    out->hint_heard = (const char *const *)c->hh;
    out->content_hash = p->content_hash;
    /* stt_corpus has no slot for the provider's state, so it rides one past the last
     * sentence (not counted in n_sentences) where release finds it */
    size_t before = c->n;
    corpus_push(c, (const char *)(void *)c);
    if (c->n == before) { /* could not grow: no room for the state */
        free(c->sentences);
        labelled_set_free(c->utter);
        free_strings(c->hh, c->nhh);
        free_strings(c->made, c->nmade);
        free(c->hw);
        free(c->hp);
        free(c);
        memset(out, 0, sizeof *out);
        component_release(b->c_index);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    out->sentences = c->sentences;
    return 0;
}

static void corpus_release(void *ctx, stt_corpus *corpus) {
    brain *b = ctx;
    if (!corpus || !corpus->sentences) return;
    corpus_state *c = (corpus_state *)(const void *)corpus->sentences[corpus->n_sentences];
    labelled_set_free(c->utter);
    free_strings(c->hh, c->nhh);
    free_strings(c->made, c->nmade);
    free(c->hw);
    free(c->hp);
    free(c->sentences);
    free(c);
    memset(corpus, 0, sizeof *corpus);
    component_release(b->c_index);
}

stt_corpus_provider brain_corpus_provider(brain *b) {
    stt_corpus_provider p = {corpus_get, corpus_release, b};
    return p;
}
