/* Knowledge pack: the parts both loaders share (arena, issues, content hash, JSON
 * reading with positions, pronunciations, responses) and the choice of loader.
 *
 * Strings are copied into a chunked arena: a pack is thousands of small strings that
 * live and die together, so one free and no per-string bookkeeping. */
#include "brain/pack.h"

#include "core/log.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ARENA_CHUNK (256 * 1024)
#define PACK_FILE_MAX (64u * 1024 * 1024)
#define PACK_MAX_ISSUES 200

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

struct pack_arena {
    chunk *head;
    uint64_t h1, h2; /* two FNV-1a lanes = a 128-bit content digest */
    int oom;
};

void *pack_alloc(pack *p, size_t n) {
    pack_arena *a = p->arena;
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->head->used + n > a->head->cap) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        chunk *c = malloc(sizeof *c + cap);
        if (!c) {
            a->oom = 1;
            return NULL;
        }
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *r = a->head->data + a->head->used;
    a->head->used += n;
    memset(r, 0, n);
    return r;
}

char *pack_strndup(pack *p, const char *s, size_t n) {
    char *d = pack_alloc(p, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *pack_strdup(pack *p, const char *s) {
    return s ? pack_strndup(p, s, strlen(s)) : NULL;
}

void pack_issue(pack *p, const char *fmt, ...) {
    if (p->n_issues >= PACK_MAX_ISSUES) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **ni = realloc(p->issues, (p->n_issues + 1) * sizeof *ni);
    if (!ni) return;
    p->issues = ni;
    p->issues[p->n_issues] = strdup(buf);
    if (p->issues[p->n_issues]) p->n_issues++;
    if (p->n_issues == PACK_MAX_ISSUES)
        LOG_W("pack", "more issues follow; only the first %d are kept", PACK_MAX_ISSUES);
}

void pack_hash_add(pack *p, const char *name, const char *data, size_t len) {
    pack_arena *a = p->arena;
    const char *parts[2] = {name, data};
    size_t lens[2] = {strlen(name) + 1, len};
    for (int k = 0; k < 2; k++) {
        a->h1 = fnv1a64(a->h1, parts[k], lens[k]);
        /* The second lane is deliberately not plain FNV-1a (another start value and an
         * added constant), so the two lanes do not collide together. */
        for (size_t i = 0; i < lens[k]; i++)
            a->h2 = (a->h2 ^ (unsigned char)parts[k][i]) * 0x100000001b3ULL + 0x9e37;
    }
}

/* line:column of a byte offset, for syntax errors a person can find. */
static void text_position(const char *text, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n')
            (*line)++, *col = 1;
        else
            (*col)++;
    }
}

cJSON *pack_read_json(pack *p, const char *dir, const char *file, int required) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (required)
            pack_issue(p, "%s: missing; this file is required (see docs/knowledge-pack.md)", file);
        return NULL;
    }
    size_t len = 0;
    char *text = file_read_all(path, PACK_FILE_MAX, &len, err, sizeof err);
    if (!text) {
        pack_issue(p, "%s: %s", file, err);
        return NULL;
    }
    pack_hash_add(p, file, text, len);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        int line, col;
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        text_position(text, off, &line, &col);
        pack_issue(
            p, "%s: line %d, column %d: not valid JSON; the file is skipped, fix the syntax there",
            file, line, col);
    } else {
        p->files_loaded++;
    }
    free(text);
    return j;
}

/* Reads a text file, hashing it; NULL when absent. */
static char *read_text(pack *p, const char *dir, const char *file, int required) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (required)
            pack_issue(p, "%s: missing; this file is required (see docs/knowledge-pack.md)", file);
        return NULL;
    }
    size_t len;
    char *t = file_read_all(path, PACK_FILE_MAX, &len, err, sizeof err);
    if (!t)
        pack_issue(p, "%s: %s", file, err);
    else {
        pack_hash_add(p, file, t, len);
        p->files_loaded++;
    }
    return t;
}

void pack_hash_file(pack *p, const char *dir, const char *file) {
    char *t = read_text(p, dir, file, 0); /* read_text hashes what it reads */
    free(t);
}

static void trim(char **s, char **e) {
    while (*s < *e && (**s == ' ' || **s == '\t' || **s == '\r'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

void pack_load_pronunciations(pack *p, const char *dir, int required) {
    if (p->n_prons) return; /* the pack's own win over the backup's */
    char *t = read_text(p, dir, "pronunciations.tsv", required);
    if (!t) return;
    size_t cap = 16, n = 0;
    pack_pron *pr = calloc(cap, sizeof *pr);
    int line = 0;
    for (char *s = t; s && *s && pr;) {
        char *nl = strchr(s, '\n');
        char *e = nl ? nl : s + strlen(s);
        line++;
        char *ls = s, *le = e;
        s = nl ? nl + 1 : NULL;
        trim(&ls, &le);
        if (ls == le || *ls == '#') continue;
        char *tab1 = memchr(ls, '\t', (size_t)(le - ls));
        if (!tab1) {
            pack_issue(p,
                       "pronunciations.tsv: line %d: field 'heard-as' missing; write "
                       "Word<TAB>heard-as[|...]",
                       line);
            continue;
        }
        char *tab2 = memchr(tab1 + 1, '\t', (size_t)(le - tab1 - 1));
        char *ws = ls, *we = tab1, *hs = tab1 + 1, *he = tab2 ? tab2 : le;
        trim(&ws, &we);
        trim(&hs, &he);
        if (ws == we) {
            pack_issue(p, "pronunciations.tsv: line %d: field 'word' is empty", line);
            continue;
        }
        if (n == cap) {
            pack_pron *np = realloc(pr, cap * 2 * sizeof *pr);
            if (!np) break;
            pr = np;
            cap *= 2;
        }
        pack_pron *x = &pr[n];
        memset(x, 0, sizeof *x);
        x->word = pack_strndup(p, ws, (size_t)(we - ws));
        size_t nh = 1;
        for (char *q = hs; q < he; q++)
            nh += *q == '|';
        x->heard = pack_alloc(p, nh * sizeof *x->heard);
        for (char *q = hs; x->heard && q <= he;) {
            char *bar = memchr(q, '|', (size_t)(he - q));
            char *ve = bar ? bar : he, *vs = q;
            trim(&vs, &ve);
            if (ve > vs) x->heard[x->n_heard++] = pack_strndup(p, vs, (size_t)(ve - vs));
            q = (bar ? bar : he) + 1;
        }
        if (tab2) {
            char *ps = tab2 + 1, *pe = le;
            trim(&ps, &pe);
            if (pe > ps) x->phones = pack_strndup(p, ps, (size_t)(pe - ps));
        }
        n++;
    }
    free(t);
    /* moved into the arena so the pack frees it with everything else */
    if (pr && n) {
        p->prons = pack_alloc(p, n * sizeof *pr);
        if (p->prons) {
            memcpy(p->prons, pr, n * sizeof *pr);
            p->n_prons = n;
        }
    }
    free(pr);
}

static const char *const resp_keys[RESP_N] = {"greeting", "acknowledgment", "unknown", "goodbye",
                                              "empty"};

void pack_load_responses(pack *p, const char *dir, int required) {
    cJSON *j = pack_read_json(p, dir, "responses.json", required);
    if (!j) return;
    if (!cJSON_IsObject(j)) {
        pack_issue(p, "responses.json: record 1: expected an object of lists");
        cJSON_Delete(j);
        return;
    }
    for (int k = 0; k < RESP_N; k++) {
        if (p->n_responses[k]) continue;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, resp_keys[k]);
        if (!arr) continue;
        if (!cJSON_IsArray(arr)) {
            pack_issue(p, "responses.json: field '%s': expected a list of strings", resp_keys[k]);
            continue;
        }
        int n = cJSON_GetArraySize(arr);
        p->responses[k] = pack_alloc(p, (size_t)(n > 0 ? n : 1) * sizeof(char *));
        cJSON *it;
        int i = 0;
        cJSON_ArrayForEach(it, arr) {
            i++;
            if (cJSON_IsString(it) && it->valuestring[0] && p->responses[k])
                p->responses[k][p->n_responses[k]++] = pack_strdup(p, it->valuestring);
            else
                pack_issue(p, "responses.json: field '%s', entry %d: expected a non-empty string",
                           resp_keys[k], i);
        }
    }
    cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "llm_unavailable");
    if (!p->llm_unavailable && cJSON_IsString(u) && u->valuestring[0])
        p->llm_unavailable = pack_strdup(p, u->valuestring);
    cJSON_Delete(j);
}

void pack_default_responses(pack *p) {
    static const char *const defs[RESP_N] = {
        "Hello! Ask me about any equipment in the lab.",
        "You're welcome. Anything else?",
        "I'm not sure about that. Try asking about a specific piece of lab equipment.",
        "Goodbye!",
        "I didn't catch that. Could you say it again?",
    };
    for (int k = 0; k < RESP_N; k++) {
        if (p->n_responses[k]) continue;
        p->responses[k] = pack_alloc(p, sizeof(char *));
        if (!p->responses[k]) continue;
        p->responses[k][0] = pack_strdup(p, defs[k]);
        p->n_responses[k] = 1;
    }
    if (!p->llm_unavailable)
        p->llm_unavailable =
            pack_strdup(p, "I couldn't reach the language model; here is what I know:");
}

int pack_item_by_id(const pack *p, const char *id) {
    if (!id) return -1;
    for (size_t i = 0; i < p->n_items; i++)
        if (p->items[i].id && strcmp(p->items[i].id, id) == 0) return (int)i;
    return -1;
}

pack *pack_load(const char *dir, const char *backup_dir, char *err, size_t errlen) {
    struct stat st;
    if (!dir || !*dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen,
                 "knowledge pack folder '%s' does not exist; set --data to a pack or the reference "
                 "data/ folder",
                 dir ? dir : "");
        return NULL;
    }
    pack *p = calloc(1, sizeof *p);
    if (!p) return snprintf(err, errlen, "out of memory"), NULL;
    p->arena = calloc(1, sizeof *p->arena);
    if (!p->arena) {
        free(p);
        return snprintf(err, errlen, "out of memory"), NULL;
    }
    p->arena->h1 = FNV1A64_INIT;
    p->arena->h2 = 0x84222325cbf29ce4ULL;
    p->dir = pack_strdup(p, dir);
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/pack.json", dir);
    int native = stat(probe, &st) == 0;
    p->kind = native ? "axiom-pack" : "reference";
    int rc = native ? pack_load_native(p, dir) : pack_load_reference(p, dir);
    /* An imported folder borrows the default pack's pronunciation hints and canned
     * replies; the pack's own always come first. */
    if (backup_dir && *backup_dir && strcmp(backup_dir, dir) != 0 && stat(backup_dir, &st) == 0) {
        pack_load_pronunciations(p, backup_dir, 0);
        pack_load_responses(p, backup_dir, 0);
    }
    pack_default_responses(p);
    snprintf(p->content_hash, sizeof p->content_hash, "%016llx%016llx",
             (unsigned long long)p->arena->h1, (unsigned long long)p->arena->h2);
    for (size_t i = 0; i < p->n_issues; i++)
        LOG_W("pack", "%s: %s", dir, p->issues[i]);
    if (rc != 0 || p->arena->oom || (p->n_items == 0 && p->n_templates == 0 && p->n_facts == 0)) {
        snprintf(err, errlen, "%s: no usable knowledge loaded (%s)%s%s", dir,
                 native ? "AXIOM pack"
                        : "no pack.json, so read as the reference deployment's data folder",
                 p->n_issues ? "; first problem: " : "", p->n_issues ? p->issues[0] : "");
        pack_free(p);
        return NULL;
    }
    LOG_I("pack", "%s (%s): %zu items, %zu templates, %zu facts, %zu pronunciations, %zu issues",
          dir, p->kind, p->n_items, p->n_templates, p->n_facts, p->n_prons, p->n_issues);
    return p;
}

void pack_free(pack *p) {
    if (!p) return;
    if (p->arena) {
        for (chunk *c = p->arena->head; c;) {
            chunk *n = c->next;
            free(c);
            c = n;
        }
        free(p->arena);
    }
    for (size_t i = 0; i < p->n_issues; i++)
        free(p->issues[i]);
    free(p->issues);
    free(p);
}
