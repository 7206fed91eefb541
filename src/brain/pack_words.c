/* Sorted vocabulary of the pack (see pack_words.h). */
#include "brain/pack_words.h"

#include "brain/mention.h"

#include <stdlib.h>
#include <string.h>

struct pack_words {
    char (*w)[TOK_LEN];
    size_t n, cap;
    int oom; /* a word could not be added */
};

static void add_text(pack_words *w, text_toks *tt, const char *s) {
    if (!s || !*s || w->oom) return;
    text_tokens(s, tt);
    for (size_t i = 0; i < tt->n; i++) {
        if (!tt->t[i][0]) continue;
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 4096;
            void *nw = realloc(w->w, cap * sizeof *w->w);
            if (!nw) {
                w->oom = 1;
                return;
            }
            w->w = nw;
            w->cap = cap;
        }
        memcpy(w->w[w->n++], tt->t[i], TOK_LEN);
    }
}

static int cmp_word(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

pack_words *pack_words_new(const pack *p) {
    pack_words *w = calloc(1, sizeof *w);
    text_toks *tt = malloc(sizeof *tt);
    if (!w || !tt) {
        free(w);
        free(tt);
        return NULL;
    }
    for (size_t i = 0; p && i < p->n_templates; i++) {
        add_text(w, tt, p->templates[i].question);
        add_text(w, tt, p->templates[i].answer);
    }
    for (size_t i = 0; p && i < p->n_facts; i++) {
        add_text(w, tt, p->facts[i].topic);
        add_text(w, tt, p->facts[i].text);
    }
    for (size_t i = 0; p && i < p->n_items; i++) {
        const pack_item *it = &p->items[i];
        add_text(w, tt, it->name);
        add_text(w, tt, it->category);
        add_text(w, tt, it->summary);
        for (size_t a = 0; a < it->n_aliases; a++)
            add_text(w, tt, it->aliases[a]);
        for (size_t k = 0; k < it->n_specs; k++) {
            add_text(w, tt, it->spec_keys[k]);
            add_text(w, tt, it->spec_vals[k]);
        }
        for (size_t k = 0; k < it->n_capabilities; k++)
            add_text(w, tt, it->capabilities[k]);
    }
    free(tt);
    if (w->oom) {
        pack_words_free(w);
        return NULL;
    }
    if (w->n) qsort(w->w, w->n, sizeof *w->w, cmp_word);
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++)
        if (k == 0 || strcmp(w->w[k - 1], w->w[i]) != 0) memmove(w->w[k++], w->w[i], TOK_LEN);
    w->n = k;
    return w;
}

void pack_words_free(pack_words *w) {
    if (!w) return;
    free(w->w);
    free(w);
}

size_t pack_words_count(const pack_words *w) {
    return w ? w->n : 0;
}

int pack_words_has(const pack_words *w, const char *tok) {
    if (!w || !tok || !*tok) return 0;
    size_t n = text_stem_len(tok);
    /* the first word not before tok's stem; the stem's words follow it */
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strncmp(w->w[mid], tok, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->n && strncmp(w->w[lo], tok, n) == 0;
}
