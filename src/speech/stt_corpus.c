/* JSON folder -> recogniser corpus (see stt_corpus.h). */
#include "speech/stt_corpus.h"

#include "core/util.h"
#include "speech/lm_build.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SENTENCES 500000

/* The start value of both hashes here; not FNV's offset basis (a digit was lost long
 * ago), kept because the corpus hash is part of the language-model cache key. */
#define CORPUS_HASH_SEED 1469598103934665603ULL

/* Returns 1 when the normal form was seen before, else records it (0), -1 on OOM. */
static int seen_before(stt_text_corpus *c, const char *norm) {
    uint64_t h = fnv1a64_str(CORPUS_HASH_SEED, norm) | 1; /* 0 marks an empty slot */
    if ((c->n + 1) * 2 > c->nseen_slots) {
        size_t ns = c->nseen_slots ? c->nseen_slots * 2 : 4096;
        uint64_t *sl = calloc(ns, sizeof *sl);
        if (!sl) return -1;
        for (size_t i = 0; i < c->nseen_slots; i++) {
            if (!c->seen[i]) continue;
            size_t j = c->seen[i] & (ns - 1);
            while (sl[j])
                j = (j + 1) & (ns - 1);
            sl[j] = c->seen[i];
        }
        free(c->seen);
        c->seen = sl;
        c->nseen_slots = ns;
    }
    size_t j = h & (c->nseen_slots - 1);
    while (c->seen[j]) {
        if (c->seen[j] == h) return 1;
        j = (j + 1) & (c->nseen_slots - 1);
    }
    c->seen[j] = h;
    return 0;
}

int stt_text_corpus_add(stt_text_corpus *c, const char *sentence, int is_question) {
    char norm[2048];
    if (!lm_normalize(sentence, norm, sizeof norm)) return 0;
    int dup = seen_before(c, norm);
    if (dup) return dup > 0 ? 0 : -1;
    if (c->n >= MAX_SENTENCES) return -1;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 1024;
        char **ns = realloc(c->sentences, nc * sizeof *ns);
        if (!ns) return -1;
        c->sentences = ns;
        unsigned char *nq = realloc(c->is_question, nc);
        if (!nq) return -1;
        c->is_question = nq;
        c->cap = nc;
    }
    char *copy = strdup(sentence);
    if (!copy) return -1;
    c->sentences[c->n] = copy;
    c->is_question[c->n] = (unsigned char)(is_question != 0);
    c->n++;
    c->h = fnv1a64_str(c->h ? c->h : CORPUS_HASH_SEED, sentence) * 31 + 1;
    snprintf(c->hash, sizeof c->hash, "%016llx", (unsigned long long)c->h);
    c->corpus.sentences = (const char *const *)c->sentences;
    c->corpus.n_sentences = c->n;
    c->corpus.content_hash = c->hash;
    return 0;
}

static const char *const question_keys[] = {"question", "query", "text"};
static const char *const name_keys[] = {"name",           "entity",          "project_title",
                                        "inventory_name", "hardware_needed", "compatible_with",
                                        "full_name"};

static int key_in(const char *k, const char *const *list, size_t n) {
    for (size_t i = 0; k && i < n; i++)
        if (strcmp(k, list[i]) == 0) return 1;
    return 0;
}

static void walk(stt_text_corpus *c, const cJSON *node, int kind) {
    for (const cJSON *it = node; it; it = it->next) {
        int k = kind;
        /* The reference deployment files recogniser mistakes ("stt_errors"); learning
         * them would teach the model to repeat them. */
        if (it->string && strcmp(it->string, "stt_errors") == 0) continue;
        if (it->string) {
            if (key_in(it->string, question_keys, 3))
                k = 1;
            else if (key_in(it->string, name_keys, 7))
                k = 2;
            else
                k = 0;
        }
        if (cJSON_IsString(it) && k && it->valuestring)
            stt_text_corpus_add(c, it->valuestring, k == 1);
        if (it->child) walk(c, it->child, cJSON_IsArray(it) ? k : 0);
    }
}

static int add_hint(stt_text_corpus *c, const char *word, const char *heard, const char *phones) {
    if (c->n_hints == c->hints_cap) {
        size_t nc = c->hints_cap ? c->hints_cap * 2 : 64;
        char **w = realloc(c->hint_words, nc * sizeof *w);
        if (!w) return -1;
        c->hint_words = w;
        char **p = realloc(c->hint_phones, nc * sizeof *p);
        if (!p) return -1;
        c->hint_phones = p;
        char **h = realloc(c->hint_heard, nc * sizeof *h);
        if (!h) return -1;
        c->hint_heard = h;
        c->hints_cap = nc;
    }
    c->hint_words[c->n_hints] = strdup(word);
    c->hint_phones[c->n_hints] = strdup(phones);
    c->hint_heard[c->n_hints] = heard && *heard ? strdup(heard) : NULL;
    if (!c->hint_words[c->n_hints] || !c->hint_phones[c->n_hints]) {
        free(c->hint_words[c->n_hints]);
        free(c->hint_phones[c->n_hints]);
        free(c->hint_heard[c->n_hints]);
        return -1;
    }
    c->n_hints++;
    c->corpus.hint_words = (const char *const *)c->hint_words;
    c->corpus.hint_phones = (const char *const *)c->hint_phones;
    c->corpus.hint_heard = (const char *const *)c->hint_heard;
    c->corpus.n_hints = c->n_hints;
    return 0;
}

/* utterances.tsv: the last column is what a user says; pronunciations.tsv: word,
 * heard-as, phones. Comment lines start with '#'. */
static void read_tsv(stt_text_corpus *c, char *text, int pron) {
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (*line == '#') continue;
        char *col[4] = {line, NULL, NULL, NULL};
        int n = 1;
        for (char *p = line; *p && n < 4; p++)
            if (*p == '\t') {
                *p = '\0';
                col[n++] = p + 1;
            }
        for (int i = 0; i < n; i++) {
            size_t l = strlen(col[i]);
            while (l && (col[i][l - 1] == '\r' || col[i][l - 1] == ' '))
                col[i][--l] = '\0';
        }
        if (!pron) {
            stt_text_corpus_add(c, col[n - 1], 1);
        } else if (n >= 1 && *col[0]) {
            stt_text_corpus_add(c, col[0], 0);
            if (n >= 3 && *col[2]) add_hint(c, col[0], col[1], col[2]);
        }
    }
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

stt_text_corpus *stt_text_corpus_load(const char *dir, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot read the knowledge folder (check the 'data' setting)",
                 dir);
        return NULL;
    }
    char *names[256];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < 256) {
        size_t l = strlen(de->d_name);
        if ((l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) ||
            strcmp(de->d_name, "utterances.tsv") == 0 ||
            strcmp(de->d_name, "pronunciations.tsv") == 0)
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str); /* a stable order gives a stable hash */
    stt_text_corpus *c = calloc(1, sizeof *c);
    for (size_t i = 0; i < nn; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i] ? names[i] : "");
        size_t len;
        char e2[256];
        char *text = c && names[i] ? file_read_all(path, 64u << 20, &len, e2, sizeof e2) : NULL;
        size_t nl = names[i] ? strlen(names[i]) : 0;
        if (text && nl > 4 && strcmp(names[i] + nl - 4, ".tsv") == 0) {
            read_tsv(c, text, strcmp(names[i], "pronunciations.tsv") == 0);
        } else {
            cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
            if (root) walk(c, root, 0);
            cJSON_Delete(root);
        }
        free(text);
        free(names[i]);
    }
    if (!c || !c->n) {
        snprintf(err, errlen, "%s: no sentences found in its JSON files", dir);
        stt_text_corpus_free(c);
        return NULL;
    }
    return c;
}

void stt_text_corpus_free(stt_text_corpus *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++)
        free(c->sentences[i]);
    free(c->sentences);
    free(c->is_question);
    free(c->seen);
    for (size_t i = 0; i < c->n_hints; i++) {
        free(c->hint_words[i]);
        free(c->hint_phones[i]);
        free(c->hint_heard[i]);
    }
    free(c->hint_words);
    free(c->hint_phones);
    free(c->hint_heard);
    free(c);
}

static int provide(void *ctx, stt_corpus *out, char *err, size_t errlen) {
    stt_text_corpus *c = ctx;
    if (!c || !c->n) {
        snprintf(err, errlen, "stt: empty corpus");
        return -1;
    }
    *out = c->corpus;
    return 0;
}

stt_corpus_provider stt_text_corpus_provider(stt_text_corpus *c) {
    stt_corpus_provider p = {provide, NULL, c};
    return p;
}

typedef struct {
    stt_corpus_provider p; /* first: the pointer handed out is this struct */
    char dir[1024];
    stt_text_corpus *loaded;
} dir_provider;

static int dir_get(void *ctx, stt_corpus *out, char *err, size_t errlen) {
    dir_provider *d = ctx;
    stt_text_corpus_free(d->loaded);
    d->loaded = stt_text_corpus_load(d->dir, err, errlen);
    if (!d->loaded) return -1;
    *out = d->loaded->corpus;
    return 0;
}

static void dir_release(void *ctx, stt_corpus *corpus) {
    dir_provider *d = ctx;
    (void)corpus;
    stt_text_corpus_free(d->loaded);
    d->loaded = NULL;
}

stt_corpus_provider *stt_dir_provider_new(const char *dir) {
    dir_provider *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    str_copy(d->dir, sizeof d->dir, dir);
    d->p.get = dir_get;
    d->p.release = dir_release;
    d->p.ctx = d;
    return &d->p;
}

void stt_dir_provider_free(stt_corpus_provider *p) {
    if (!p) return;
    dir_provider *d = (dir_provider *)p;
    stt_text_corpus_free(d->loaded);
    free(d);
}
