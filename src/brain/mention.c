/* Tokenizer and item-mention index (see mention.h). The phrase list is generated from
 * what a pack already has (names, aliases), because imported data rarely lists the
 * ways people actually say a product name. */
#include "brain/mention.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void text_tokens(const char *s, text_toks *out) {
    out->n = 0;
    if (!s) return;
    size_t len = 0;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) && c < 0x80) {
            if (len < TOK_LEN - 1) out->t[out->n][len++] = (char)tolower(c);
            continue;
        }
        /* apostrophe inside a word joins ("what's"); UTF-8 right quote too */
        if (len && c == '\'' && isalpha((unsigned char)p[1])) continue;
        if (len && c == 0xE2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0x99 &&
            isalpha((unsigned char)p[3])) {
            p += 2;
            continue;
        }
        if (len) {
            out->t[out->n][len] = 0;
            out->n++;
            len = 0;
            if (out->n == TOK_MAX) return;
        }
        if (!c) return;
    }
}

static const char *const stop[] = {
    "what", "whats", "is",     "the",  "a",       "an",       "of",     "to",          "do",
    "does", "how",   "i",      "can",  "could",   "you",      "me",     "about",       "tell",
    "it",   "its",   "this",   "that", "with",    "for",      "and",    "in",          "on",
    "my",   "your",  "are",    "be",   "we",      "our",      "there",  "any",         "or",
    "if",   "so",    "please", "hey",  "hi",      "would",    "should", "which",       "some",
    "at",   "by",    "from",   "as",   "was",     "will",     "have",   "has",         "get",
    "use",  "using", "know",   "show", "explain", "describe", "info",   "information", "need",
    "want", "like",  "more",   "us",   "lab",     "s"};

size_t text_stem_len(const char *tok) {
    size_t len = strlen(tok);
    return len <= 3 ? len + 1 : len - 1 < 5 ? len - 1 : 5;
}

int text_is_stopword(const char *tok) {
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++)
        if (strcmp(tok, stop[i]) == 0) return 1;
    return 0;
}

typedef struct {
    int item;
    int cover; /* characters covered */
    size_t ntok;
    char toks[6][TOK_LEN];
} phrase;

struct mention_index {
    phrase *ph;
    size_t n, cap;
};

static const char *const generic[] = {
    "kit",      "kits",       "robot",   "robots",  "module",     "modules",     "platform",
    "system",   "sensor",     "sensors", "board",   "camera",     "the",         "and",
    "of",       "with",       "for",     "pro",     "ai",         "nvidia",      "intel",
    "wifi",     "dual",       "npu",     "lts",     "components", "power",       "distribution",
    "mobile",   "autonomous", "tracked", "mecanum", "a",          "an",          "plus",
    "hat",      "computer",   "edge",    "lab",     "new",        "mini",        "v2",
    "v3",       "3d",         "dof",     "tool",    "tools",      "set",         "unit",
    "supplies", "supply",     "wires",   "jumper",  "depth",      "driver",      "drivers",
    "motor",    "motors",     "humble",  "jazzy",   "super",      "orientation", "small",
    "large",    "basic",      "starter", "smart",   "developer",  "development", "station",
    "module",   "sensor"};

static int is_generic(const char *t) {
    for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
        if (strcmp(t, generic[i]) == 0) return 1;
    /* memory sizes ("8gb") and bare numbers name no product on their own */
    size_t n = strlen(t), d = 0;
    while (d < n && isdigit((unsigned char)t[d]))
        d++;
    if (d == n) return 1;
    if (d && strcmp(t + d, "gb") == 0) return 1;
    return 0;
}

static void add_phrase(mention_index *m, int item, const text_toks *tt, size_t from, size_t n) {
    if (n == 0 || n > 6) return;
    for (size_t i = 0; i < m->n; i++) { /* no duplicates */
        phrase *q = &m->ph[i];
        if (q->item != item || q->ntok != n) continue;
        size_t k = 0;
        while (k < n && strcmp(q->toks[k], tt->t[from + k]) == 0)
            k++;
        if (k == n) return;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        phrase *np = realloc(m->ph, cap * sizeof *np);
        if (!np) return;
        m->ph = np;
        m->cap = cap;
    }
    phrase *p = &m->ph[m->n++];
    p->item = item;
    p->ntok = n;
    p->cover = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(p->toks[k], tt->t[from + k], TOK_LEN);
        p->cover += (int)strlen(p->toks[k]) + (k ? 1 : 0);
    }
}

/* Adds a name and its shorter spoken forms. */
static void add_name_forms(mention_index *m, int item, const char *name) {
    text_toks full, shortf;
    /* without the parenthesis: "Motor Drivers (L298N/TB6612)" -> "Motor Drivers" */
    char buf[512];
    size_t w = 0;
    int depth = 0;
    for (const char *s = name; *s && w < sizeof buf - 1; s++) {
        if (*s == '(')
            depth++;
        else if (*s == ')')
            depth = depth ? depth - 1 : 0;
        else if (!depth)
            buf[w++] = *s;
    }
    buf[w] = 0;
    text_tokens(name, &full);
    add_phrase(m, item, &full, 0, full.n);
    text_tokens(buf, &shortf);
    add_phrase(m, item, &shortf, 0, shortf.n);
    /* the parenthesis on its own: "(L298N/TB6612)" names it too */
    const char *op = strchr(name, '(');
    if (op) {
        text_toks par;
        text_tokens(op, &par);
        for (size_t i = 0; i < par.n; i++)
            add_phrase(m, item, &par, i, 1);
    }
    /* drop vendor words and memory sizes; suffix-less model numbers */
    text_toks core = {.n = 0};
    for (size_t i = 0; i < shortf.n; i++) {
        const char *t = shortf.t[i];
        size_t n = strlen(t), d = 0;
        while (d < n && isdigit((unsigned char)t[d]))
            d++;
        if (strcmp(t, "nvidia") == 0 || strcmp(t, "intel") == 0 || (d && strcmp(t + d, "gb") == 0))
            continue;
        memcpy(core.t[core.n++], t, TOK_LEN);
    }
    add_phrase(m, item, &core, 0, core.n);
    for (size_t i = 0; i < core.n; i++) {
        char *t = core.t[i];
        size_t n = strlen(t), k = 0;
        while (k < n && isalpha((unsigned char)t[k]))
            k++;
        size_t d = k;
        while (d < n && isdigit((unsigned char)t[d]))
            d++;
        if (k && d > k && d < n) { /* "d435i" -> "d435", "a1m8" -> "a1" */
            text_toks v = core;
            v.t[i][d] = 0;
            add_phrase(m, item, &v, 0, v.n);
            if (i + 1 == core.n && i > 0) add_phrase(m, item, &v, i - 1, 2);
        }
    }
    /* the last two words alone ("orin nano", "realsense d435i") */
    if (core.n >= 3 && !is_generic(core.t[core.n - 1]) && !is_generic(core.t[core.n - 2]))
        add_phrase(m, item, &core, core.n - 2, 2);
    /* a trailing generation number is often left out ("raspberry pi camera module") */
    if (core.n >= 3 && is_generic(core.t[core.n - 1]) &&
        isdigit((unsigned char)core.t[core.n - 1][0]))
        add_phrase(m, item, &core, 0, core.n - 1);
}

mention_index *mention_new(const pack *p) {
    mention_index *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    for (size_t i = 0; i < p->n_items; i++) {
        const pack_item *it = &p->items[i];
        if (!it->name) continue;
        add_name_forms(m, (int)i, it->name);
        for (size_t a = 0; a < it->n_aliases; a++)
            add_name_forms(m, (int)i, it->aliases[a]);
        if (it->id) add_name_forms(m, (int)i, it->id);
    }
    /* single words that belong to exactly one item's phrases */
    size_t nph = m->n;
    for (size_t i = 0; i < nph; i++)
        for (size_t k = 0; k < m->ph[i].ntok; k++) {
            const char *t = m->ph[i].toks[k];
            if (is_generic(t) || text_is_stopword(t) || strlen(t) < 3) continue;
            int owner = m->ph[i].item, unique = 1;
            for (size_t j = 0; j < nph && unique; j++) {
                if (m->ph[j].item == owner) continue;
                for (size_t q = 0; q < m->ph[j].ntok; q++)
                    if (strcmp(m->ph[j].toks[q], t) == 0) unique = 0;
            }
            if (!unique) continue;
            text_toks one;
            one.n = 1;
            memcpy(one.t[0], t, TOK_LEN);
            add_phrase(m, owner, &one, 0, 1);
        }
    return m;
}

void mention_free(mention_index *m) {
    if (!m) return;
    free(m->ph);
    free(m);
}

/* A phrase's word against the text's. The phrase's last word also matches its plural
 * ("how heavy are the crazyflies", "two tellos"): the recogniser often hears one for
 * the other, and people say both. */
static int word_matches(const char *ph, const char *t, int last) {
    if (strcmp(ph, t) == 0) return 1;
    size_t n = strlen(ph);
    return last && n >= 3 && isalpha((unsigned char)ph[n - 1]) && strncmp(ph, t, n) == 0 &&
           strcmp(t + n, "s") == 0;
}

int mention_find(const mention_index *m, const text_toks *tt, int *cover, size_t *start,
                 size_t *len) {
    int best = -1, best_cover = 0;
    size_t bs = 0, bl = 0;
    if (m)
        for (size_t i = 0; i < m->n; i++) {
            const phrase *p = &m->ph[i];
            if (p->cover <= best_cover || p->ntok > tt->n) continue;
            for (size_t s = 0; s + p->ntok <= tt->n; s++) {
                size_t k = 0;
                while (k < p->ntok && word_matches(p->toks[k], tt->t[s + k], k + 1 == p->ntok))
                    k++;
                if (k == p->ntok) {
                    best = p->item;
                    best_cover = p->cover;
                    bs = s;
                    bl = p->ntok;
                    break;
                }
            }
        }
    if (cover) *cover = best_cover;
    if (start) *start = bs;
    if (len) *len = bl;
    return best;
}

size_t mention_find_all(const mention_index *m, const text_toks *toks, int *items, size_t *starts,
                        size_t *lens, size_t max) {
    text_toks *w = malloc(sizeof *w);
    if (!w) return 0;
    *w = *toks;
    size_t n = 0;
    while (n < max) {
        size_t s, l;
        int it = mention_find(m, w, NULL, &s, &l);
        if (it < 0) break;
        for (size_t k = s; k < s + l; k++)
            w->t[k][0] = 0; /* a blank token matches no phrase */
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= items[k] == it;
        if (dup) continue;
        items[n] = it;
        if (starts) starts[n] = s;
        if (lens) lens[n] = l;
        n++;
    }
    free(w);
    return n;
}

int mention_find_text(const mention_index *m, const char *text) {
    text_toks tt;
    text_tokens(text, &tt);
    return mention_find(m, &tt, NULL, NULL, NULL);
}
