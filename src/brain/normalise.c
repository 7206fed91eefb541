/* Transcript normalisation (see normalise.h). Works on the shared tokenizer's tokens
 * so that template questions, hints and queries are all normalised the same way. */
#include "brain/normalise.h"

#include "brain/mention.h"
#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct {
    text_toks from; /* heard-as, normalised */
    text_toks to;   /* the word, tokenized */
} fix;

struct normaliser {
    fix *fixes;
    size_t n;
    /* model names written as one word ("go2", "ros2", "d435i", "jetbot"): "go 2" and
     * "jet bot" are joined back */
    char (*glued)[TOK_LEN];
    size_t n_glued;
};

static int word_num(const char *t, int *v, int *is_tens) {
    for (int i = 0; i < 20; i++)
        if (strcmp(t, NUMBER_ONES[i]) == 0) return *v = i, *is_tens = 0, 1;
    for (int i = 2; i < 10; i++)
        if (strcmp(t, NUMBER_TENS[i]) == 0) return *v = i * 10, *is_tens = 1, 1;
    return 0;
}

/* A number below 100 said as words at tt[*j]: "sixty", "forty five", "seven". */
static int below_hundred(const text_toks *tt, size_t *j, int *v) {
    int is_t, v2, t2;
    if (*j >= tt->n || !word_num(tt->t[*j], v, &is_t)) return 0;
    (*j)++;
    if (is_t && *j < tt->n && word_num(tt->t[*j], &v2, &t2) && !t2 && v2 > 0 && v2 < 10)
        *v += v2, (*j)++;
    return 1;
}

/* "forty five" -> "45", "two" -> "2", "one hundred" -> "100", and the recogniser's way
 * of saying a model number: "three hundred sixty" -> "360", "one hundred and twenty"
 * -> "120". */
static void numbers(text_toks *tt) {
    text_toks out = {.n = 0};
    for (size_t i = 0; i < tt->n;) {
        int v;
        size_t j = i;
        if (below_hundred(tt, &j, &v)) {
            if (j < tt->n && strcmp(tt->t[j], "hundred") == 0 && v < 10) {
                v *= 100;
                j++;
                size_t k = j < tt->n && strcmp(tt->t[j], "and") == 0 ? j + 1 : j;
                int rest;
                if (below_hundred(tt, &k, &rest) && rest > 0) v += rest, j = k;
            }
            snprintf(out.t[out.n++], TOK_LEN, "%d", v);
            i = j;
            continue;
        }
        memcpy(out.t[out.n++], tt->t[i], TOK_LEN);
        i++;
    }
    *tt = out;
}

/* Runs of single letters/digits are a spelled name or number: "d 4 3 5" -> "d435".
 * A leading "a" or "i" is more likely the word. */
static void spelled(text_toks *tt) {
    text_toks out = {.n = 0};
    for (size_t i = 0; i < tt->n;) {
        size_t j = i;
        while (j < tt->n && strlen(tt->t[j]) == 1)
            j++;
        size_t s = i;
        if (j - s >= 2 && (strcmp(tt->t[s], "a") == 0 || strcmp(tt->t[s], "i") == 0)) {
            memcpy(out.t[out.n++], tt->t[s], TOK_LEN);
            s++;
        }
        if (j - s >= 2) {
            char buf[TOK_LEN] = {0};
            size_t w = 0;
            for (size_t k = s; k < j && w < TOK_LEN - 1; k++)
                buf[w++] = tt->t[k][0];
            /* a spelled run glues onto a following number or word part: "d 435" */
            memcpy(out.t[out.n++], buf, TOK_LEN);
        } else {
            for (size_t k = s; k < j; k++)
                memcpy(out.t[out.n++], tt->t[k], TOK_LEN);
        }
        if (j == i) {
            memcpy(out.t[out.n++], tt->t[i], TOK_LEN);
            j = i + 1;
        }
        i = j;
    }
    *tt = out;
}

static int is_glued_form(const char *t) {
    size_t i = 0;
    while (isalpha((unsigned char)t[i]))
        i++;
    return i > 0 && isdigit((unsigned char)t[i]);
}

/* A name word the recogniser may split in two: letters only, long enough that two
 * ordinary words seldom make it up by chance ("jetbot", "realsense"). */
static int is_compound_name(const char *t) {
    size_t i = 0;
    while (isalpha((unsigned char)t[i]))
        i++;
    return i >= 6 && t[i] == '\0';
}

static int is_word(const char *t) {
    size_t i = 0;
    while (isalpha((unsigned char)t[i]))
        i++;
    return i >= 2 && t[i] == '\0';
}

static int cmp_tok(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* "go 2" -> "go2" when the pack names something "go2"; "jet bot" -> "jetbot" when
 * it names something "jetbot" (the recogniser's dictionary spells a name it does not
 * know as the words that sound like its parts). */
static void join_glued(const normaliser *nz, text_toks *tt) {
    if (!nz || !nz->n_glued || tt->n < 2) return;
    size_t w = 0;
    for (size_t i = 0; i < tt->n; i++) {
        if (i + 1 < tt->n && isalpha((unsigned char)tt->t[i][0]) &&
            (isdigit((unsigned char)tt->t[i + 1][0]) ||
             (is_word(tt->t[i]) && is_word(tt->t[i + 1])))) {
            char j[2 * TOK_LEN];
            snprintf(j, sizeof j, "%s%s", tt->t[i], tt->t[i + 1]);
            int hit = strlen(j) < TOK_LEN &&
                      bsearch(j, nz->glued, nz->n_glued, sizeof *nz->glued, cmp_tok) != NULL;
            if (hit) {
                memcpy(tt->t[w++], j, strlen(j) + 1);
                i++;
                continue;
            }
        }
        if (w != i) memcpy(tt->t[w], tt->t[i], TOK_LEN);
        w++;
    }
    tt->n = w;
}

static void apply_fixes(const normaliser *nz, text_toks *tt) {
    if (!nz || !nz->n) return;
    text_toks out = {.n = 0};
    for (size_t i = 0; i < tt->n;) {
        const fix *best = NULL;
        for (size_t f = 0; f < nz->n; f++) {
            const fix *x = &nz->fixes[f];
            if (x->from.n == 0 || i + x->from.n > tt->n || (best && x->from.n <= best->from.n))
                continue;
            size_t k = 0;
            while (k < x->from.n && strcmp(x->from.t[k], tt->t[i + k]) == 0)
                k++;
            if (k == x->from.n) best = x;
        }
        if (best) {
            for (size_t k = 0; k < best->to.n && out.n < TOK_MAX; k++)
                memcpy(out.t[out.n++], best->to.t[k], TOK_LEN);
            i += best->from.n;
        } else {
            if (out.n < TOK_MAX) memcpy(out.t[out.n++], tt->t[i], TOK_LEN);
            i++;
        }
    }
    *tt = out;
}

normaliser *normaliser_new(const pack *p) {
    normaliser *n = calloc(1, sizeof *n);
    if (!n || !p) return n;
    size_t cap = 0;
    for (size_t i = 0; i < p->n_items; i++)
        cap += (1 + p->items[i].n_aliases) * 8; /* words per name, at most kept */
    n->glued = calloc(cap + 1, sizeof *n->glued);
    text_toks *tt = malloc(sizeof *tt);
    for (size_t i = 0; n->glued && tt && i < p->n_items; i++)
        for (size_t a = 0; a <= p->items[i].n_aliases; a++) {
            const char *nm = a == 0 ? p->items[i].name : p->items[i].aliases[a - 1];
            if (!nm) continue;
            text_tokens(nm, tt);
            for (size_t k = 0; k < tt->n && n->n_glued < cap; k++) {
                if (!is_glued_form(tt->t[k]) && !is_compound_name(tt->t[k])) continue;
                int dup = 0;
                for (size_t g = 0; g < n->n_glued && !dup; g++)
                    dup = strcmp(n->glued[g], tt->t[k]) == 0;
                if (!dup) memcpy(n->glued[n->n_glued++], tt->t[k], TOK_LEN);
            }
        }
    /* Long words of the pack's questions and facts too: the recogniser writes
     * "weekdays" or "payload" as two words when its language model likes the parts
     * better ("week days", "pay load"), and the brain then matches other facts. */
    for (int pass = 0; pass < 2 && n->glued && tt; pass++) {
        size_t more = 0; /* first pass: count; second: copy */
        for (size_t i = 0; i < p->n_templates + p->n_facts; i++) {
            const char *text =
                i < p->n_templates ? p->templates[i].question : p->facts[i - p->n_templates].text;
            if (!text || (i < p->n_templates && p->templates[i].misheard)) continue;
            text_tokens(text, tt);
            for (size_t k = 0; k < tt->n; k++)
                if (is_compound_name(tt->t[k]) && pass == 0)
                    more++;
                else if (is_compound_name(tt->t[k]) && n->n_glued < cap)
                    memcpy(n->glued[n->n_glued++], tt->t[k], TOK_LEN);
        }
        if (pass == 0) {
            void *g = realloc(n->glued, (n->n_glued + more + 1) * sizeof *n->glued);
            if (!g) break; /* the item names alone, then */
            n->glued = g;
            cap = n->n_glued + more;
        }
    }
    /* sorted without repeats, for join_glued's binary search */
    qsort(n->glued, n->n_glued, sizeof *n->glued, cmp_tok);
    size_t u = 0;
    for (size_t g = 0; g < n->n_glued; g++)
        if (u == 0 || strcmp(n->glued[u - 1], n->glued[g]) != 0)
            memmove(n->glued[u++], n->glued[g], TOK_LEN);
    n->n_glued = u;
    free(tt);
    size_t total = 0;
    for (size_t i = 0; i < p->n_prons; i++)
        total += p->prons[i].n_heard;
    n->fixes = calloc(total ? total : 1, sizeof *n->fixes);
    if (!n->fixes) return n;
    for (size_t i = 0; i < p->n_prons; i++)
        for (size_t h = 0; h < p->prons[i].n_heard; h++) {
            fix *f = &n->fixes[n->n];
            text_tokens(p->prons[i].heard[h], &f->from);
            numbers(&f->from);
            spelled(&f->from);
            text_tokens(p->prons[i].word, &f->to);
            if (f->from.n && f->to.n) n->n++;
        }
    return n;
}

void normaliser_free(normaliser *n) {
    if (!n) return;
    free(n->glued);
    free(n->fixes);
    free(n);
}

/* Length of the valid UTF-8 character at s (1-4 bytes, of the n that remain), or 0
 * when the bytes there are not one. utf8proc decides: it refuses overlong forms,
 * surrogates, code points past U+10FFFF, stray continuation bytes and the lead bytes
 * C0, C1 and F5-FF. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)n, &cp);
    return k > 0 ? (size_t)k : 0;
}

static const char *const fillers[] = {"um", "umm", "uh",   "uhh", "uhm",  "hmm", "hm",
                                      "mm", "mmm", "mhm",  "er",  "erm",  "ah",  "eh",
                                      "oh", "huh", "like", "so",  "well", "hmmm"};
static int is_filler(const char *t) {
    for (size_t i = 0; i < sizeof fillers / sizeof fillers[0]; i++)
        if (strcmp(t, fillers[i]) == 0) return 1;
    return 0;
}

/* Recogniser noise markers: [noise], <sil>, ++breath++, (cough). */
static void strip_markers(char *s, int *had) {
    static const char open[] = "[<(+", close[] = "]>)+";
    for (char *p = s; *p; p++) {
        const char *o = strchr(open, *p);
        if (!o || !*p) continue;
        char c = close[o - open];
        char *q = p + 1;
        if (*p == '+') {
            if (*q != '+') continue;
            q++;
        }
        char *e = strchr(q, c);
        if (!e || e - q > 24) continue;
        int word = 1;
        for (char *k = q; k < e; k++)
            if (!isalpha((unsigned char)*k) && *k != '_') word = 0;
        if (!word) continue;
        if (*p == '+' && e[1] == '+') e++;
        memset(p, ' ', (size_t)(e - p + 1));
        *had = 1;
    }
}

void normalise_text(const normaliser *nz, const char *in, norm_result *out) {
    memset(out, 0, sizeof *out);
    if (!in) in = "";
    size_t w = 0;
    const unsigned char *s = (const unsigned char *)in;
    const unsigned char *end = s + strlen(in);
    while (*s) {
        size_t n = utf8_len(s, (size_t)(end - s));
        if (!n) {
            out->bad_bytes = 1;
            s++;
            continue;
        }
        if (n == 1 && (*s < 0x20 || *s == 0x7F)) {
            if (*s != '\t' && *s != '\n' && *s != '\r') out->bad_bytes = 1;
            if (w && out->clean[w - 1] != ' ' && w < NORM_MAX_INPUT) out->clean[w++] = ' ';
            s++;
            continue;
        }
        if (w + n > NORM_MAX_INPUT) {
            out->truncated = 1;
            while (w > NORM_MAX_INPUT / 2 && out->clean[w - 1] != ' ')
                w--; /* cut at a word */
            break;
        }
        memcpy(out->clean + w, s, n);
        w += n;
        s += n;
    }
    out->clean[w] = 0;
    char work[sizeof out->clean];
    memcpy(work, out->clean, w + 1);
    int markers = 0;
    strip_markers(work, &markers);
    text_toks tt;
    text_tokens(work, &tt);
    if (tt.n == 0) {
        /* nothing but blanks is "empty"; anything else (markers, symbols, control
         * bytes) is noise the recogniser or the line produced */
        int blank = 1;
        for (const char *q = in; *q; q++)
            if (!isspace((unsigned char)*q)) blank = 0;
        out->dropped = blank ? "empty" : "noise";
        return;
    }
    int all_filler = 1;
    for (size_t i = 0; i < tt.n; i++)
        all_filler &= is_filler(tt.t[i]);
    if (all_filler) {
        out->dropped = "filler";
        return;
    }
    /* a lone letter or digit is recogniser noise more often than a question */
    if (tt.n == 1 && strlen(tt.t[0]) == 1) {
        out->dropped = "noise";
        return;
    }
    numbers(&tt);
    spelled(&tt);
    join_glued(nz, &tt);
    apply_fixes(nz, &tt);
    size_t o = 0;
    for (size_t i = 0; i < tt.n; i++) {
        size_t l = strlen(tt.t[i]);
        if (o + l + 2 >= sizeof out->text) break;
        if (o) out->text[o++] = ' ';
        memcpy(out->text + o, tt.t[i], l);
        o += l;
    }
    out->text[o] = 0;
}
