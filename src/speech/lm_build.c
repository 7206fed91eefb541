/* The domain language model and dictionary, written in C from the knowledge pack
 * (see lm_build.h for the method). Counting uses two open-addressing hash tables (words,
 * and n-grams of up to three word ids); the ARPA writer sorts n-grams in unigram order
 * because sphinxbase's reader requires each history's n-grams to be contiguous. */
#include "speech/lm_build.h"

#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <flite/flite.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <sphinxbase/err.h>
#include <sphinxbase/logmath.h>
#include <sphinxbase/ngram_model.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

cst_lexicon *cmu_lex_init(void);

#define LM_BUILDER_VERSION "lm3-v3"
/* Share of the unigram distribution given to general-English words (stt.general_words),
 * chosen by the held-out word error rate in `make bench speech`. */
#define GENERAL_WEIGHT 0.15
#define MAX_WORDS 200000
#define MAX_NGRAMS 4000000
#define MAX_SENT_WORDS 128
#define NONE UINT32_MAX
#define BOS 0 /* <s> */
#define EOS 1 /* </s> */

/* ---------- normalisation ---------- */

typedef struct {
    char *out;
    size_t cap, len;
    int full;
} nbuf;

static void emit(nbuf *b, const char *w, size_t n) {
    if (!n || b->full) return;
    size_t need = n + (b->len ? 1 : 0);
    if (b->len + need + 1 > b->cap) {
        b->full = 1;
        return;
    }
    if (b->len) b->out[b->len++] = ' ';
    memcpy(b->out + b->len, w, n);
    b->len += n;
    b->out[b->len] = '\0';
}
static void emit_s(nbuf *b, const char *w) {
    emit(b, w, strlen(w));
}

static void emit_number(nbuf *b, const char *d, size_t n) {
    while (n > 1 && *d == '0')
        d++, n--; /* "007" -> 7 */
    if (n > 4) {  /* long numbers are read digit by digit */
        for (size_t i = 0; i < n; i++)
            emit_s(b, NUMBER_ONES[d[i] - '0']);
        return;
    }
    int v = atoi(d);
    (void)n;
    if (v >= 1000) {
        emit_s(b, NUMBER_ONES[v / 1000]);
        emit_s(b, "thousand");
        v %= 1000;
        if (!v) return;
    }
    if (v >= 100) {
        emit_s(b, NUMBER_ONES[v / 100]);
        emit_s(b, "hundred");
        v %= 100;
        if (!v) return;
    }
    if (v >= 20) {
        emit_s(b, NUMBER_TENS[v / 10]);
        if (v % 10) emit_s(b, NUMBER_ONES[v % 10]);
        return;
    }
    emit_s(b, NUMBER_ONES[v]);
}

/* One raw token of letters, digits and apostrophes: split letter and digit runs. */
static void emit_token(nbuf *b, const char *t, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        if (isdigit((unsigned char)t[i])) {
            while (j < n && isdigit((unsigned char)t[j]))
                j++;
            char num[32];
            size_t k = j - i < sizeof num - 1 ? j - i : sizeof num - 1;
            memcpy(num, t + i, k);
            num[k] = '\0';
            emit_number(b, num, k);
        } else {
            while (j < n && !isdigit((unsigned char)t[j]))
                j++;
            size_t s = i, e = j;
            while (s < e && t[s] == '\'')
                s++;
            while (e > s && t[e - 1] == '\'')
                e--;
            emit(b, t + s, e - s);
        }
        i = j;
    }
}

/* 1 when the raw token (lower case, tn bytes) is one of keep's words. */
static int kept_whole(const lm_keep *keep, const char *tok, size_t tn) {
    for (size_t i = 0; keep && i < keep->n; i++)
        if (strlen(keep->words[i]) == tn && strncasecmp(keep->words[i], tok, tn) == 0) return 1;
    return 0;
}

int lm_keep_from_corpus(const stt_corpus *corpus, lm_keep *keep) {
    memset(keep, 0, sizeof *keep);
    size_t n = corpus ? corpus->n_hints : 0;
    if (!n) return 0;
    char **w = calloc(n, sizeof *w);
    if (!w) return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *h = corpus->hint_words[i];
        size_t l = h ? strlen(h) : 0, digits = 0, j = 0;
        for (; j < l && isalnum((unsigned char)h[j]) && (unsigned char)h[j] < 128; j++)
            digits += isdigit((unsigned char)h[j]) != 0;
        /* words without digits stay whole anyway; other punctuation splits tokens */
        if (!l || j < l || !digits || l >= 64) continue;
        if (!(w[k] = strdup(h))) {
            for (size_t i2 = 0; i2 < k; i2++)
                free(w[i2]);
            free(w);
            return -1;
        }
        for (char *p = w[k]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        k++;
    }
    keep->words = (const char *const *)w;
    keep->n = k;
    return 0;
}

void lm_keep_free(lm_keep *keep) {
    if (!keep) return;
    for (size_t i = 0; i < keep->n; i++)
        free((void *)keep->words[i]);
    free((void *)keep->words);
    memset(keep, 0, sizeof *keep);
}

size_t lm_normalize(const char *text, char *out, size_t outlen) {
    return lm_normalize_keep(text, NULL, out, outlen);
}

size_t lm_normalize_keep(const char *text, const lm_keep *keep, char *out, size_t outlen) {
    if (!out || !outlen) return 0;
    out[0] = '\0';
    if (!text) return 0;
    nbuf b = {out, outlen, 0, 0};
    char tok[64];
    size_t tn = 0;
    for (const char *p = text;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c && (isalnum(c) || c == '\'') && c < 128) {
            if (tn < sizeof tok) tok[tn++] = (char)tolower(c);
            continue;
        }
        /* 3.5 -> three point five */
        int decimal =
            c == '.' && tn && isdigit((unsigned char)tok[tn - 1]) && isdigit((unsigned char)p[1]);
        if (tn && kept_whole(keep, tok, tn))
            emit(&b, tok, tn);
        else
            emit_token(&b, tok, tn);
        tn = 0;
        if (!c) break;
        if (decimal)
            emit_s(&b, "point");
        else if (c == '%')
            emit_s(&b, "percent");
        else if (c == '&')
            emit_s(&b, "and");
        else if (c == '+')
            emit_s(&b, "plus");
    }
    return b.len;
}

/* ---------- counting ---------- */

typedef struct {
    uint32_t w[3]; /* NONE-padded */
    uint32_t count;
    uint32_t kn;        /* Kneser-Ney count: the count for the top order and n-grams
                           starting with <s>, else the number of distinct words seen
                           before it */
    uint32_t ctx_count; /* occurrences as a history of the next order */
    uint32_t ctx_types; /* distinct followers */
    double logp, logbow;
} ngram;

typedef struct {
    ngram *v;
    uint32_t *slot; /* index+1 into v, 0 = empty */
    size_t n, cap, nslots;
} ngram_tab;

struct lm_counts {
    char **words;
    uint32_t *wslot;
    size_t nwords, wcap, nwslots;
    unsigned char *acronym; /* seen written in capitals (2-5 letters) */
    ngram_tab tab[3];
    size_t nsent;
    const lm_keep *keep; /* borrowed; words normalisation keeps whole */
    double *bg;          /* per word id: general-English unigram probability, or NULL */
    size_t bg_cap;
    double bg_weight; /* its share of the unigram distribution */
};

/* The start value of every hash here. It is not FNV's offset basis (a digit was lost
 * long ago), but the cache key below names the folders already built under
 * cache_dir/stt, so it stays: changing it would rebuild every cached model. */
#define FNV0 1469598103934665603ULL
static uint64_t fnv(const void *p, size_t n, uint64_t h) {
    return fnv1a64(h, p, n);
}

static int word_grow(lm_counts *c) {
    size_t ns = c->nwslots ? c->nwslots * 2 : 1024;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) return -1;
    for (size_t i = 0; i < c->nwords; i++) {
        size_t h = fnv(c->words[i], strlen(c->words[i]), FNV0) & (ns - 1);
        while (sl[h])
            h = (h + 1) & (ns - 1);
        sl[h] = (uint32_t)i + 1;
    }
    free(c->wslot);
    c->wslot = sl;
    c->nwslots = ns;
    return 0;
}

/* Returns the word's id, adding it when add is set; NONE when absent or full. */
static uint32_t word_id(lm_counts *c, const char *w, size_t n, int add) {
    if (c->nwslots) {
        size_t h = fnv(w, n, FNV0) & (c->nwslots - 1);
        while (c->wslot[h]) {
            const char *x = c->words[c->wslot[h] - 1];
            if (strncmp(x, w, n) == 0 && x[n] == '\0') return c->wslot[h] - 1;
            h = (h + 1) & (c->nwslots - 1);
        }
    }
    if (!add || c->nwords >= MAX_WORDS) return NONE;
    if ((c->nwords + 1) * 2 > c->nwslots && word_grow(c) != 0) return NONE;
    if (c->nwords == c->wcap) {
        size_t nc = c->wcap ? c->wcap * 2 : 256;
        char **nw = realloc(c->words, nc * sizeof *nw);
        if (!nw) return NONE;
        c->words = nw;
        unsigned char *na = realloc(c->acronym, nc);
        if (!na) return NONE;
        c->acronym = na;
        c->wcap = nc;
    }
    char *copy = strndup(w, n);
    if (!copy) return NONE;
    uint32_t id = (uint32_t)c->nwords;
    c->words[c->nwords] = copy;
    c->acronym[c->nwords] = 0;
    c->nwords++;
    size_t h = fnv(w, n, FNV0) & (c->nwslots - 1);
    while (c->wslot[h])
        h = (h + 1) & (c->nwslots - 1);
    c->wslot[h] = id + 1;
    return id;
}

static size_t ngram_hash(const uint32_t w[3]) {
    return (size_t)fnv(w, 12, FNV0);
}

static int tab_grow(ngram_tab *t) {
    size_t ns = t->nslots ? t->nslots * 2 : 4096;
    while (ns < t->n * 2 + 2)
        ns <<= 1;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = ngram_hash(t->v[i].w) & (ns - 1);
        while (sl[h])
            h = (h + 1) & (ns - 1);
        sl[h] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = sl;
    t->nslots = ns;
    return 0;
}

static ngram *tab_find(ngram_tab *t, const uint32_t w[3], int add) {
    if (t->nslots) {
        size_t h = ngram_hash(w) & (t->nslots - 1);
        while (t->slot[h]) {
            ngram *g = &t->v[t->slot[h] - 1];
            if (memcmp(g->w, w, 12) == 0) return g;
            h = (h + 1) & (t->nslots - 1);
        }
    }
    if (!add || t->n >= MAX_NGRAMS) return NULL;
    if ((t->n + 1) * 2 > t->nslots && tab_grow(t) != 0) return NULL;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1024;
        ngram *nv = realloc(t->v, nc * sizeof *nv);
        if (!nv) return NULL;
        t->v = nv;
        t->cap = nc;
    }
    ngram *g = &t->v[t->n];
    memset(g, 0, sizeof *g);
    memcpy(g->w, w, 12);
    size_t h = ngram_hash(w) & (t->nslots - 1);
    while (t->slot[h])
        h = (h + 1) & (t->nslots - 1);
    t->slot[h] = (uint32_t)++t->n;
    return g;
}

lm_counts *lm_counts_new(void) {
    lm_counts *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (word_id(c, "<s>", 3, 1) != BOS || word_id(c, "</s>", 4, 1) != EOS) {
        lm_counts_free(c);
        return NULL;
    }
    return c;
}

void lm_counts_set_keep(lm_counts *c, const lm_keep *keep) {
    if (c) c->keep = keep;
}

/* One ARPA token with a probability: not empty, no white space inside. */
static int general_ok(const char *w, double p) {
    return p > 0 && w && *w && !strpbrk(w, " \t\r\n");
}

int lm_counts_set_general(lm_counts *c, const char *const *words, const double *prob, size_t n,
                          double weight) {
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += general_ok(words[i], prob[i]) ? prob[i] : 0;
    if (!n || total <= 0 || weight <= 0) return 0;
    for (size_t i = 0; i < n; i++) {
        if (!general_ok(words[i], prob[i])) continue;
        uint32_t id = word_id(c, words[i], strlen(words[i]), 1);
        if (id == NONE) return -1;
        if (id >= c->bg_cap) {
            size_t nc = c->wcap > id ? c->wcap : (size_t)id + 1;
            double *nb = realloc(c->bg, nc * sizeof *nb);
            if (!nb) return -1;
            for (size_t j = c->bg_cap; j < nc; j++)
                nb[j] = 0;
            c->bg = nb;
            c->bg_cap = nc;
        }
        c->bg[id] += prob[i] / total;
    }
    c->bg_weight = weight > 0.5 ? 0.5 : weight;
    return 0;
}

void lm_counts_free(lm_counts *c) {
    if (!c) return;
    free(c->bg);
    for (size_t i = 0; i < c->nwords; i++)
        free(c->words[i]);
    free(c->words);
    free(c->wslot);
    free(c->acronym);
    for (int k = 0; k < 3; k++) {
        free(c->tab[k].v);
        free(c->tab[k].slot);
    }
    free(c);
}

/* Marks words written in capitals in the original text ("IMU", "ROS") so the
 * dictionary can offer a spelled-out pronunciation. */
static void mark_acronyms(lm_counts *c, const char *text) {
    const char *p = text;
    while (*p) {
        while (*p && !isalpha((unsigned char)*p))
            p++;
        const char *s = p;
        int upper = 1;
        while (*p && isalpha((unsigned char)*p)) {
            if (!isupper((unsigned char)*p)) upper = 0;
            p++;
        }
        size_t n = (size_t)(p - s);
        if (upper && n >= 2 && n <= 5 && !isalnum((unsigned char)*p)) {
            char low[8];
            for (size_t i = 0; i < n; i++)
                low[i] = (char)tolower((unsigned char)s[i]);
            uint32_t id = word_id(c, low, n, 0);
            if (id != NONE) c->acronym[id] = 1;
        }
    }
}

int lm_counts_add(lm_counts *c, const char *sentence) {
    char norm[4096];
    size_t len = lm_normalize_keep(sentence, c->keep, norm, sizeof norm);
    if (!len) return 0;
    uint32_t ids[MAX_SENT_WORDS + 2];
    size_t n = 0;
    ids[n++] = BOS;
    for (char *p = norm; *p && n < MAX_SENT_WORDS + 1;) {
        char *e = strchr(p, ' ');
        size_t wl = e ? (size_t)(e - p) : strlen(p);
        uint32_t id = word_id(c, p, wl, 1);
        if (id == NONE) return -1;
        ids[n++] = id;
        p += wl;
        while (*p == ' ')
            p++;
    }
    ids[n++] = EOS;
    mark_acronyms(c, sentence);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 3 && (size_t)k <= i; k++) {
            uint32_t w[3] = {NONE, NONE, NONE};
            for (int j = 0; j <= k; j++)
                w[j] = ids[i - (size_t)k + (size_t)j];
            if (k == 0 && w[0] == BOS) continue; /* <s> is never predicted */
            ngram *g = tab_find(&c->tab[k], w, 1);
            if (!g) return -1;
            g->count++;
        }
    }
    c->nsent++;
    return 0;
}

size_t lm_counts_vocab(const lm_counts *c, const char ***words) {
    *words = (const char **)c->words;
    return c->nwords;
}

/* ---------- ARPA writer ---------- */

static int cmp_ngram(const void *a, const void *b) {
    const ngram *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x->w[i] != y->w[i]) return x->w[i] < y->w[i] ? -1 : 1;
    return 0;
}

static double discount(const ngram_tab *t) {
    size_t n1 = 0, n2 = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].kn == 1)
            n1++;
        else if (t->v[i].kn == 2)
            n2++;
    }
    double d = (n1 + 2 * n2) ? (double)n1 / (double)(n1 + 2 * n2) : 0.5;
    return d < 0.1 ? 0.1 : d > 0.9 ? 0.9 : d;
}

int lm_write_arpa(const lm_counts *cc, const char *path, size_t n_ngrams[3], char *err,
                  size_t errlen) {
    lm_counts *c = (lm_counts *)cc; /* counts are annotated in place, not changed */
    if (c->nsent == 0) {
        snprintf(err, errlen, "language model: the knowledge pack gave no sentences to learn from");
        return -1;
    }
    /* The unigram table must hold <s> (a history only) so it can carry a back-off. */
    uint32_t bos[3] = {BOS, NONE, NONE};
    ngram *gb = tab_find(&c->tab[0], bos, 1);
    if (!gb) {
        snprintf(err, errlen, "language model: out of memory");
        return -1;
    }
    /* Kneser-Ney counts: a lower order is used when the longer context was not seen,
     * so it should say how many contexts a word follows, not how often it occurs
     * ("francisco" is frequent but only after "san"). */
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < c->tab[k].n; i++) {
            ngram *g = &c->tab[k].v[i];
            g->kn = k == 2 || (k == 1 && g->w[0] == BOS) ? g->count : 0;
            g->ctx_count = g->ctx_types = 0;
        }
    for (int k = 1; k < 3; k++)
        for (size_t i = 0; i < c->tab[k].n; i++) {
            const ngram *g = &c->tab[k].v[i];
            uint32_t suf[3] = {g->w[1], k == 2 ? g->w[2] : NONE, NONE};
            ngram *lo = tab_find(&c->tab[k - 1], suf, 0);
            if (lo && !(k - 1 == 1 && lo->w[0] == BOS)) lo->kn++;
        }
    /* History statistics: each n-gram's prefix gets its count and distinct followers. */
    for (int k = 1; k < 3; k++) {
        for (size_t i = 0; i < c->tab[k].n; i++) {
            ngram *g = &c->tab[k].v[i];
            uint32_t h[3] = {g->w[0], k == 2 ? g->w[1] : NONE, NONE};
            ngram *p = tab_find(&c->tab[k - 1], h, 0);
            if (!p || !g->kn) continue; /* a prefix is always counted too */
            p->ctx_count += g->kn;
            p->ctx_types++;
        }
    }
    /* General-English words join the unigrams (with no count of their own), so the
     * model can still hear an everyday word the pack never used. */
    for (size_t id = 2; c->bg && id < c->bg_cap; id++) {
        uint32_t w[3] = {(uint32_t)id, NONE, NONE};
        if (c->bg[id] > 0 && !tab_find(&c->tab[0], w, 1)) {
            snprintf(err, errlen, "language model: out of memory");
            return -1;
        }
    }
    double total = 0;
    for (size_t i = 0; i < c->tab[0].n; i++)
        total += c->tab[0].v[i].kn;
    double d[3] = {0, discount(&c->tab[1]), discount(&c->tab[2])};
    double lam = c->bg ? c->bg_weight : 0;
    for (size_t i = 0; i < c->tab[0].n; i++) {
        ngram *g = &c->tab[0].v[i];
        double bg = c->bg && g->w[0] < c->bg_cap ? c->bg[g->w[0]] : 0;
        double p = (1 - lam) * (total > 0 ? g->kn / total : 0) + lam * bg;
        g->logp = g->w[0] == BOS || p <= 0 ? -99.0 : log10(p);
    }
    /* Interpolated absolute discounting; the back-off weight of a history is exactly
     * the mass discounting freed (gamma), which keeps the ARPA model normalised. */
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < c->tab[k].n; i++) {
            ngram *g = &c->tab[k].v[i];
            g->logbow = g->ctx_count ? log10(d[k + 1] * g->ctx_types / g->ctx_count) : 0.0;
        }
    for (int k = 1; k < 3; k++) {
        for (size_t i = 0; i < c->tab[k].n; i++) {
            ngram *g = &c->tab[k].v[i];
            uint32_t h[3] = {g->w[0], k == 2 ? g->w[1] : NONE, NONE};
            uint32_t lo[3] = {g->w[1], k == 2 ? g->w[2] : NONE, NONE};
            ngram *hist = tab_find(&c->tab[k - 1], h, 0);
            ngram *lower = tab_find(&c->tab[k - 1], lo, 0);
            if (!hist || !lower || !hist->ctx_count) continue;
            double gamma = d[k] * hist->ctx_types / hist->ctx_count;
            double p = (g->kn - d[k]) / hist->ctx_count + gamma * pow(10.0, lower->logp);
            g->logp = log10(p);
        }
    }
    for (int k = 0; k < 3; k++)
        qsort(c->tab[k].v, c->tab[k].n, sizeof(ngram), cmp_ngram);
    /* qsort moved the entries: the slot index is stale, rebuild it. */
    for (int k = 0; k < 3; k++) {
        free(c->tab[k].slot);
        c->tab[k].slot = NULL;
        c->tab[k].nslots = 0;
        if (tab_grow(&c->tab[k]) != 0) {
            snprintf(err, errlen, "language model: out of memory");
            return -1;
        }
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create (%s); check cache_dir is writable", path,
                 strerror(errno));
        return -1;
    }
    fprintf(f, "\\data\\\n");
    for (int k = 0; k < 3; k++)
        fprintf(f, "ngram %d=%zu\n", k + 1, c->tab[k].n);
    for (int k = 0; k < 3; k++) {
        fprintf(f, "\n\\%d-grams:\n", k + 1);
        for (size_t i = 0; i < c->tab[k].n; i++) {
            const ngram *g = &c->tab[k].v[i];
            fprintf(f, "%.5f", g->logp);
            for (int j = 0; j <= k; j++)
                fprintf(f, " %s", c->words[g->w[j]]);
            if (k < 2) fprintf(f, " %.5f", g->logbow);
            fputc('\n', f);
        }
        if (n_ngrams) n_ngrams[k] = c->tab[k].n;
    }
    fprintf(f, "\n\\end\\\n");
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed (disk full?)", path);
        return -1;
    }
    return 0;
}

/* ---------- general English ---------- */

typedef struct {
    double p;
    int32_t wid;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    double x = ((const ranked *)a)->p, y = ((const ranked *)b)->p;
    return x > y ? -1 : x < y ? 1 : 0;
}

/* Plain words only: letters with at most inner apostrophes ("don't"), and no single
 * letters but "a" and "i" (the stock model lists every letter as a word). */
static int plain_word(const char *w) {
    size_t n = strlen(w);
    if (!n || n > 40 || w[0] == '\'' || w[n - 1] == '\'') return 0;
    if (n == 1 && w[0] != 'a' && w[0] != 'i') return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)w[i]) || w[i] == '\'')) return 0;
    return 1;
}

int lm_general_words(const char *stock_lm, size_t k, char ***words, double **prob, size_t *n,
                     char *err, size_t errlen) {
    *words = NULL;
    *prob = NULL;
    *n = 0;
    if (!k) return 0;
    if (log_get_level() > AX_LOG_DEBUG) err_set_logfp(NULL); /* sphinxbase's chatter */
    logmath_t *lmath = logmath_init(1.0001, 0, 0);
    ngram_model_t *m = lmath ? ngram_model_read(NULL, stock_lm, NGRAM_AUTO, lmath) : NULL;
    if (!m) {
        snprintf(err, errlen,
                 "%s: cannot read the stock language model (install pocketsphinx-en-us, or set "
                 "stt.general_words = 0)",
                 stock_lm);
        if (lmath) logmath_free(lmath);
        return -1;
    }
    uint32_t nuni = ngram_model_get_counts(m)[0];
    ranked *r = malloc((nuni ? nuni : 1) * sizeof *r);
    size_t nr = 0;
    for (uint32_t i = 0; r && i < nuni; i++) {
        const char *w = ngram_word(m, (int32_t)i);
        if (!w || !plain_word(w)) continue;
        int32_t used;
        r[nr].p = logmath_exp(lmath, ngram_ng_prob(m, (int32_t)i, NULL, 0, &used));
        r[nr++].wid = (int32_t)i;
    }
    int rc = r ? 0 : -1;
    if (r) {
        qsort(r, nr, sizeof *r, cmp_ranked);
        if (k > nr) k = nr;
        *words = calloc(k ? k : 1, sizeof **words);
        *prob = calloc(k ? k : 1, sizeof **prob);
        for (size_t i = 0; *words && *prob && i < k; i++) {
            if (!((*words)[i] = strdup(ngram_word(m, r[i].wid)))) break;
            (*prob)[i] = r[i].p;
            (*n)++;
        }
        if (*n < k) rc = -1;
    }
    free(r);
    ngram_model_free(m);
    logmath_free(lmath);
    if (rc != 0) {
        lm_general_free(*words, *prob, *n);
        *words = NULL;
        *prob = NULL;
        *n = 0;
        snprintf(err, errlen, "language model: out of memory");
    }
    return rc;
}

void lm_general_free(char **words, double *prob, size_t n) {
    for (size_t i = 0; words && i < n; i++)
        free(words[i]);
    free(words);
    free(prob);
}

/* ---------- dictionary ---------- */

/* flite phones carry stress digits and a few symbols CMU's 39-phone set folds. */
static const char *cmu_phone(const char *fp, char *buf, size_t buflen) {
    size_t n = 0;
    for (; fp[n] && !isdigit((unsigned char)fp[n]) && n + 1 < buflen; n++)
        buf[n] = (char)toupper((unsigned char)fp[n]);
    buf[n] = '\0';
    if (strcmp(buf, "AX") == 0) return "AH";
    if (strcmp(buf, "AXR") == 0) return "ER";
    if (strcmp(buf, "IX") == 0) return "IH";
    if (strcmp(buf, "NX") == 0) return "N";
    if (strcmp(buf, "EL") == 0) return "AH L";
    if (strcmp(buf, "EM") == 0) return "AH M";
    if (strcmp(buf, "EN") == 0) return "AH N";
    if (strcmp(buf, "PAU") == 0 || strcmp(buf, "H#") == 0) return "";
    return buf;
}

/* flite's lexicon is static read-only data once initialised; lookups allocate their
 * own results, so only the initialisation needs to happen once. */
static cst_lexicon *flite_lex;
static pthread_once_t flite_lex_once = PTHREAD_ONCE_INIT;
static void flite_lex_init(void) {
    flite_init();
    flite_lex = cmu_lex_init();
}

size_t lm_word_phones(const char *word, char *out, size_t outlen) {
    if (!outlen) return 0;
    out[0] = '\0';
    if (!word || !*word) return 0;
    pthread_once(&flite_lex_once, flite_lex_init);
    cst_lexicon *lex = flite_lex;
    if (!lex) return 0;
    char w[128];
    size_t wl = 0;
    for (const char *p = word; *p && wl + 1 < sizeof w; p++)
        if (isalpha((unsigned char)*p) || *p == '\'') w[wl++] = (char)tolower((unsigned char)*p);
    w[wl] = '\0';
    if (!wl) return 0;
    cst_val *ph = lex_lookup(lex, w, NULL, NULL);
    size_t len = 0;
    for (const cst_val *v = ph; v; v = val_cdr(v)) {
        char buf[16];
        const char *p = cmu_phone(val_string(val_car(v)), buf, sizeof buf);
        size_t pl = strlen(p);
        if (!pl) continue;
        if (len + pl + 2 > outlen) break;
        if (len) out[len++] = ' ';
        memcpy(out + len, p, pl);
        len += pl;
        out[len] = '\0';
    }
    if (ph) delete_val(ph);
    return len;
}

static const char *const letter_phones[26] = {"EY",
                                              "B IY",
                                              "S IY",
                                              "D IY",
                                              "IY",
                                              "EH F",
                                              "JH IY",
                                              "EY CH",
                                              "AY",
                                              "JH EY",
                                              "K EY",
                                              "EH L",
                                              "EH M",
                                              "EH N",
                                              "OW",
                                              "P IY",
                                              "K Y UW",
                                              "AA R",
                                              "EH S",
                                              "T IY",
                                              "Y UW",
                                              "V IY",
                                              "D AH B AH L Y UW",
                                              "EH K S",
                                              "W AY",
                                              "Z IY"};

/* The stock dictionary indexed by base word ("read(2)" is filed under "read"). */
typedef struct {
    char *text;
    size_t len;
    uint32_t *slot; /* line start offset + 1 of the first line per base word */
    uint32_t *next; /* per line start: next line of the same base word (offset+1) */
    size_t nslots;
} stock_dict;

static size_t base_len(const char *line) {
    size_t n = 0;
    while (line[n] && line[n] != ' ' && line[n] != '\t' && line[n] != '(' && line[n] != '\n')
        n++;
    return n;
}

static void stock_free(stock_dict *d) {
    free(d->text);
    free(d->slot);
    free(d->next);
    memset(d, 0, sizeof *d);
}

static int stock_load(stock_dict *d, const char *path, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    if (!path || !*path) return 0; /* no stock dictionary: every word goes through flite */
    d->text = file_read_all(path, 64u << 20, &d->len, err, errlen);
    if (!d->text) return -1;
    size_t lines = 0;
    for (size_t i = 0; i < d->len; i++)
        lines += d->text[i] == '\n';
    d->nslots = 1;
    while (d->nslots < lines * 2 + 2)
        d->nslots <<= 1;
    d->slot = calloc(d->nslots, sizeof *d->slot);
    d->next = calloc(d->len + 1, sizeof *d->next);
    if (!d->slot || !d->next) {
        stock_free(d);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    /* Lines are chained newest first; order does not matter to the decoder. */
    for (size_t off = 0; off < d->len;) {
        const char *line = d->text + off;
        size_t bl = base_len(line);
        if (bl) {
            size_t h = fnv(line, bl, FNV0) & (d->nslots - 1);
            for (;;) {
                if (!d->slot[h]) {
                    d->slot[h] = (uint32_t)off + 1;
                    break;
                }
                const char *o = d->text + d->slot[h] - 1;
                if (base_len(o) == bl && memcmp(o, line, bl) == 0) {
                    d->next[off] = d->slot[h];
                    d->slot[h] = (uint32_t)off + 1;
                    break;
                }
                h = (h + 1) & (d->nslots - 1);
            }
        }
        const char *nl = memchr(line, '\n', d->len - off);
        off = nl ? (size_t)(nl - d->text) + 1 : d->len;
    }
    return 0;
}

/* First line offset+1 of word in the stock dictionary, 0 when absent. */
static uint32_t stock_find(const stock_dict *d, const char *w) {
    if (!d->nslots) return 0;
    size_t wl = strlen(w);
    size_t h = fnv(w, wl, FNV0) & (d->nslots - 1);
    while (d->slot[h]) {
        const char *o = d->text + d->slot[h] - 1;
        if (base_len(o) == wl && memcmp(o, w, wl) == 0) return d->slot[h];
        h = (h + 1) & (d->nslots - 1);
    }
    return 0;
}

static void write_line(FILE *f, const char *word, int alt, const char *phones) {
    if (alt > 1)
        fprintf(f, "%s(%d) %s\n", word, alt, phones);
    else
        fprintf(f, "%s %s\n", word, phones);
}

/* Index of word's pronunciation hint (case-insensitive, as written or in normal
 * form: norm[i] is hint i's, computed once per dictionary), or -1. */
static long hint_for(const stt_corpus *corpus, char (*norm)[128], const char *word) {
    if (!corpus || !norm) return -1;
    for (size_t i = 0; i < corpus->n_hints; i++)
        if (strcmp(norm[i], word) == 0 || strcasecmp(corpus->hint_words[i], word) == 0)
            return (long)i;
    return -1;
}

/* Hints are upper-cased, stress digits dropped, checked against CMU phone letters. */
static int clean_phones(const char *in, char *out, size_t outlen) {
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < outlen; p++) {
        if (isdigit((unsigned char)*p)) continue;
        if (isalpha((unsigned char)*p))
            out[n++] = (char)toupper((unsigned char)*p);
        else if (n && out[n - 1] != ' ')
            out[n++] = ' ';
        else if (!isspace((unsigned char)*p) && *p != ',')
            return -1;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return n ? 0 : -1;
}

#define MAX_ALTS 8

static int is_seen(char seen[][256], int n, const char *ph) {
    for (int i = 0; i < n; i++)
        if (strcmp(seen[i], ph) == 0) return 1;
    return 0;
}

static void remember(char seen[][256], int *n, const char *ph) {
    if (*n < MAX_ALTS && strlen(ph) < 256) strcpy(seen[(*n)++], ph);
}

/* The phones of one stock dictionary line ("read(2) R EH D\n" -> "R EH D"). Returns
 * the length, 0 when they do not fit. */
static size_t stock_phones(const char *line, char *out, size_t outlen) {
    const char *sp = line + base_len(line);
    while (*sp && *sp != ' ' && *sp != '\t' && *sp != '\n')
        sp++; /* skip "(2)" */
    while (*sp == ' ' || *sp == '\t')
        sp++;
    const char *nl = strchr(sp, '\n');
    size_t pl = nl ? (size_t)(nl - sp) : strlen(sp);
    if (!pl || pl >= outlen) return 0;
    memcpy(out, sp, pl);
    out[pl] = '\0';
    return pl;
}

/* Phones of a spoken phrase, word by word: the stock dictionary's first entry, else
 * a single letter's name, else flite's rules. Returns the length, 0 when a word has
 * none or the result does not fit. */
static size_t phrase_phones(const stock_dict *sd, const char *phrase, char *out, size_t outlen) {
    char norm[256];
    if (!lm_normalize(phrase, norm, sizeof norm) || !outlen) return 0;
    size_t len = 0;
    out[0] = '\0';
    char *save = NULL;
    for (char *wd = strtok_r(norm, " ", &save); wd; wd = strtok_r(NULL, " ", &save)) {
        char ph[256];
        uint32_t at = stock_find(sd, wd);
        size_t pl = at ? stock_phones(sd->text + at - 1, ph, sizeof ph) : 0;
        if (!pl && strlen(wd) == 1 && isalpha((unsigned char)wd[0]))
            pl = (size_t)snprintf(ph, sizeof ph, "%s", letter_phones[wd[0] - 'a']);
        if (!pl) pl = lm_word_phones(wd, ph, sizeof ph);
        if (!pl || len + pl + 2 > outlen) return 0;
        if (len) out[len++] = ' ';
        memcpy(out + len, ph, pl + 1);
        len += pl;
    }
    return len;
}

int lm_write_dict(const lm_counts *c, const stt_corpus *corpus, const char *stock_path,
                  const char *dict_path, const char *extra_path, size_t *n_oov, char *err,
                  size_t errlen) {
    stock_dict sd;
    if (stock_load(&sd, stock_path, err, errlen) != 0) return -1;
    FILE *f = fopen(dict_path, "w");
    FILE *x = extra_path ? fopen(extra_path, "w") : NULL;
    if (!f || (extra_path && !x)) {
        snprintf(err, errlen, "%s: cannot create (%s); check cache_dir is writable",
                 !f ? dict_path : extra_path, strerror(errno));
        if (f) fclose(f);
        if (x) fclose(x);
        stock_free(&sd);
        return -1;
    }
    size_t nh = corpus ? corpus->n_hints : 0;
    char(*hint_norm)[128] = nh ? calloc(nh, sizeof *hint_norm) : NULL;
    if (nh && !hint_norm) {
        snprintf(err, errlen, "language model: out of memory");
        fclose(f);
        if (x) fclose(x);
        stock_free(&sd);
        return -1;
    }
    for (size_t i = 0; i < nh; i++)
        lm_normalize(corpus->hint_words[i], hint_norm[i], sizeof hint_norm[i]);
    size_t oov = 0;
    for (size_t i = 2; i < c->nwords; i++) { /* 0, 1: <s>, </s> are not words */
        const char *w = c->words[i];
        int alt = 1;
        char ph[512];
        /* The extra dictionary (added to the stock one in mixed mode) holds only words
         * the stock dictionary lacks, so its alternative numbering cannot clash. */
        int in_stock = stock_find(&sd, w) != 0;
        FILE *xo = in_stock ? NULL : x;
        long hi = hint_for(corpus, hint_norm, w);
        const char *hint = hi >= 0 ? corpus->hint_phones[hi] : NULL;
        char seen[MAX_ALTS][256];
        int nseen = 0;
        if (hint && clean_phones(hint, ph, sizeof ph) == 0) {
            write_line(f, w, alt, ph);
            if (xo) write_line(xo, w, alt, ph);
            alt++;
            remember(seen, &nseen, ph);
        }
        uint32_t at = stock_find(&sd, w);
        for (; at; at = sd.next[at - 1]) {
            if (!stock_phones(sd.text + at - 1, ph, sizeof ph) || is_seen(seen, nseen, ph))
                continue;
            write_line(f, w, alt++, ph);
            remember(seen, &nseen, ph);
        }
        /* The ways the pack says people say it ("b n o zero five five"), as further
         * pronunciations of the one word. */
        const char *heard = hi >= 0 && corpus->hint_heard ? corpus->hint_heard[hi] : NULL;
        for (const char *hp = heard; hp && *hp && nseen < MAX_ALTS;) {
            const char *bar = strchr(hp, '|');
            size_t hl = bar ? (size_t)(bar - hp) : strlen(hp);
            char form[256];
            if (hl < sizeof form) {
                memcpy(form, hp, hl);
                form[hl] = '\0';
                if (phrase_phones(&sd, form, ph, sizeof ph) && !is_seen(seen, nseen, ph)) {
                    write_line(f, w, alt, ph);
                    if (xo) write_line(xo, w, alt, ph);
                    alt++;
                    remember(seen, &nseen, ph);
                }
            }
            hp = bar ? bar + 1 : hp + hl;
        }
        if (alt == 1) { /* neither hint nor stock entry: flite's lexicon + LTS */
            oov++;
            if (lm_word_phones(w, ph, sizeof ph) > 0) {
                write_line(f, w, alt, ph);
                if (xo) write_line(xo, w, alt, ph);
                alt++;
            }
        }
        size_t wl = strlen(w);
        if (c->acronym[i] || (alt == 1 && wl <= 4)) { /* spelled out: "I M U" */
            size_t n = 0;
            int ok = 1;
            for (size_t k = 0; k < wl && ok; k++) {
                if (!isalpha((unsigned char)w[k])) {
                    ok = 0;
                    break;
                }
                const char *lp = letter_phones[w[k] - 'a'];
                size_t ll = strlen(lp);
                if (n + ll + 2 > sizeof ph) {
                    ok = 0;
                    break;
                }
                if (n) ph[n++] = ' ';
                memcpy(ph + n, lp, ll);
                n += ll;
            }
            ph[n] = '\0';
            if (ok && n) {
                write_line(f, w, alt, ph);
                if (xo) write_line(xo, w, alt, ph);
                alt++;
            }
        }
    }
    stock_free(&sd);
    free(hint_norm);
    int bad = ferror(f) || (x && ferror(x));
    bad |= fclose(f) != 0;
    if (x) bad |= fclose(x) != 0;
    if (bad) {
        snprintf(err, errlen, "%s: write failed (disk full?)", dict_path);
        return -1;
    }
    if (n_oov) *n_oov = oov;
    return 0;
}

/* ---------- cache ---------- */

static int mkdir_p(const char *path) {
    char tmp[1024];
    if (str_copy(tmp, sizeof tmp, path) >= sizeof tmp) return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void files_in(lm_files *out, const char *dir) {
    str_copy(out->dir, sizeof out->dir, dir);
    snprintf(out->arpa, sizeof out->arpa, "%s/domain.arpa", dir);
    snprintf(out->dict, sizeof out->dict, "%s/domain.dict", dir);
    snprintf(out->extra_dict, sizeof out->extra_dict, "%s/extra.dict", dir);
}

static int read_info(lm_files *out) {
    char path[1100];
    snprintf(path, sizeof path, "%s/info", out->dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int ok = fscanf(f, "words %zu oov %zu ngrams %zu %zu %zu", &out->n_words, &out->n_oov,
                    &out->n_ngrams[0], &out->n_ngrams[1], &out->n_ngrams[2]) == 5;
    fclose(f);
    return ok && access(out->arpa, R_OK) == 0 && access(out->dict, R_OK) == 0 &&
                   access(out->extra_dict, R_OK) == 0
               ? 0
               : -1;
}

static void rm_dir_files(const char *dir) {
    static const char *const names[] = {"domain.arpa", "domain.dict", "extra.dict", "info"};
    char p[1100];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int lm_build_cached(const stt_corpus *corpus, const lm_sources *src, const char *cache_dir,
                    lm_files *out, char *err, size_t errlen) {
    const char *dict_path = src ? src->stock_dict : NULL;
    size_t n_general = src && src->stock_lm ? src->general_words : 0;
    memset(out, 0, sizeof *out);
    if (!corpus || !corpus->n_sentences) {
        snprintf(err, errlen,
                 "language model: the knowledge pack has no sentences (check the 'data' setting), "
                 "or set stt.lm = stock");
        return -1;
    }
    /* Cache key: the builder's version, the pack's own hash, and the text itself. */
    uint64_t h = fnv(LM_BUILDER_VERSION, strlen(LM_BUILDER_VERSION), FNV0);
    if (corpus->content_hash) h = fnv(corpus->content_hash, strlen(corpus->content_hash), h);
    char general[1100];
    snprintf(general, sizeof general, "%zu %s", n_general, n_general ? src->stock_lm : "");
    h = fnv(general, strlen(general) + 1, h);
    for (size_t i = 0; i < corpus->n_sentences; i++)
        if (corpus->sentences[i])
            h = fnv(corpus->sentences[i], strlen(corpus->sentences[i]) + 1, h);
    for (size_t i = 0; i < corpus->n_hints; i++) {
        h = fnv(corpus->hint_words[i], strlen(corpus->hint_words[i]) + 1, h);
        h = fnv(corpus->hint_phones[i], strlen(corpus->hint_phones[i]) + 1, h);
        const char *heard = corpus->hint_heard ? corpus->hint_heard[i] : NULL;
        if (heard) h = fnv(heard, strlen(heard) + 1, h);
    }
    char base[900], dir[960], tmp[1000];
    if (strlen(cache_dir) > 800) {
        snprintf(err, errlen, "cache_dir is longer than 800 bytes; choose a shorter folder");
        return -1;
    }
    snprintf(base, sizeof base, "%s/stt", cache_dir);
    snprintf(dir, sizeof dir, "%s/%016llx", base, (unsigned long long)h);
    files_in(out, dir);
    if (read_info(out) == 0) {
        out->from_cache = 1;
        return 0;
    }
    if (mkdir_p(base) != 0) {
        snprintf(err, errlen,
                 "%s: cannot create the cache folder (%s); set cache_dir to a writable folder",
                 base, strerror(errno));
        return -1;
    }
    /* Build beside the final folder and rename: a crash or a concurrent build never
     * leaves a half-written model where the next start would trust it. */
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", dir, (long)getpid());
    rm_dir_files(tmp);
    if (mkdir(tmp, 0755) != 0) {
        snprintf(err, errlen, "%s: cannot create (%s)", tmp, strerror(errno));
        return -1;
    }
    lm_files t;
    memset(&t, 0, sizeof t);
    files_in(&t, tmp);
    lm_counts *c = lm_counts_new();
    lm_keep keep;
    int rc = c && lm_keep_from_corpus(corpus, &keep) == 0 ? 0 : -1;
    if (rc)
        snprintf(err, errlen, "language model: out of memory");
    else
        lm_counts_set_keep(c, &keep);
    if (rc == 0 && n_general) {
        char **gw;
        double *gp;
        size_t gn;
        rc = lm_general_words(src->stock_lm, n_general, &gw, &gp, &gn, err, errlen);
        if (rc == 0) {
            if (lm_counts_set_general(c, (const char *const *)gw, gp, gn, GENERAL_WEIGHT) != 0) {
                snprintf(err, errlen, "language model: out of memory");
                rc = -1;
            }
            lm_general_free(gw, gp, gn);
        }
    }
    for (size_t i = 0; rc == 0 && i < corpus->n_sentences; i++) {
        if (corpus->sentences[i] && lm_counts_add(c, corpus->sentences[i]) != 0) {
            snprintf(err, errlen,
                     "language model: the pack is too large (over %d words or %d n-grams)",
                     MAX_WORDS, MAX_NGRAMS);
            rc = -1;
        }
    }
    if (rc == 0) rc = lm_write_arpa(c, t.arpa, out->n_ngrams, err, errlen);
    if (rc == 0)
        rc = lm_write_dict(c, corpus, dict_path, t.dict, t.extra_dict, &out->n_oov, err, errlen);
    if (rc == 0) {
        out->n_words = c->nwords - 2;
        char info[1300];
        snprintf(info, sizeof info, "%s/info", tmp);
        FILE *f = fopen(info, "w");
        if (!f || fprintf(f, "words %zu oov %zu ngrams %zu %zu %zu\n", out->n_words, out->n_oov,
                          out->n_ngrams[0], out->n_ngrams[1], out->n_ngrams[2]) < 0) {
            snprintf(err, errlen, "%s: cannot write", info);
            rc = -1;
        }
        if (f && fclose(f) != 0) rc = -1;
    }
    lm_counts_free(c);
    if (c) lm_keep_free(&keep);
    if (rc != 0) {
        rm_dir_files(tmp);
        return -1;
    }
    /* Reading the stock model for the common words leaves tens of MiB of freed heap;
     * hand it back now, so the recogniser's measured cost is what it keeps. */
    malloc_trim(0);
    rm_dir_files(dir); /* a damaged entry (read_info failed above) is replaced */
    if (rename(tmp, dir) != 0) {
        rm_dir_files(tmp); /* another process finished first: use its copy */
        if (read_info(out) != 0) {
            snprintf(err, errlen, "%s: cannot move the built model into place (%s)", dir,
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}
