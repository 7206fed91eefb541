/* Speech shaping and sentence splitting (see speech_text.h).
 *
 * Shaping runs in three passes over a growing buffer, because each pass is simple on
 * its own: fold typographic Unicode to ASCII words, strip markdown line by line, then
 * walk the text once expanding numbers-with-units and symbols. Nothing here allocates
 * more than a small multiple of the input. */
#include "brain/speech_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny growable string ---- */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void sb_puts(sbuf *b, const char *s) {
    sb_putn(b, s, strlen(s));
}
static void sb_putc(sbuf *b, char c) {
    sb_putn(b, &c, 1);
}
static char sb_last(const sbuf *b) {
    return b->len ? b->p[b->len - 1] : 0;
}

/* ---- pass 1: typographic Unicode to ASCII ---- */
typedef struct {
    const char *utf8, *ascii;
} fold_rule;

static const fold_rule folds[] = {
    {"\xC2\xA0", " "},
    {"\xE2\x80\xAF", " "},
    {"\xE2\x80\x89", " "},
    {"\xE2\x80\x8B", ""},
    {"\xE2\x80\x90", "-"},
    {"\xE2\x80\x91", "-"},
    {"\xE2\x80\x92", "-"},
    {"\xE2\x80\x93", "-"},
    {"\xE2\x80\x94", ", "},
    {"\xE2\x80\x98", "'"},
    {"\xE2\x80\x99", "'"},
    {"\xE2\x80\x9C", "\""},
    {"\xE2\x80\x9D", "\""},
    {"\xE2\x80\xA6", "..."},
    {"\xC2\xB0"
     "C",
     " degrees Celsius"},
    {"\xC2\xB0"
     "F",
     " degrees Fahrenheit"},
    {"\xC2\xB0", " degrees"},
    {"\xC2\xB1", " plus or minus "},
    {"\xE2\x86\x92", " to "},
    {"\xC3\x97", " by "},
    {"\xE2\x89\x88", " about "},
    {"\xE2\x80\xA2", "- "},
    {"\xC2\xB5"
     "s",
     " microseconds"},
    {"\xCE\xBC"
     "s",
     " microseconds"},
};

static void fold_unicode(const char *in, sbuf *out) {
    for (const char *p = in; *p;) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x80) {
            sb_putc(out, (char)c);
            p++;
            continue;
        }
        int done = 0;
        for (size_t i = 0; i < sizeof folds / sizeof folds[0]; i++) {
            size_t n = strlen(folds[i].utf8);
            if (strncmp(p, folds[i].utf8, n) == 0) {
                sb_puts(out, folds[i].ascii);
                p += n;
                done = 1;
                break;
            }
        }
        if (done) continue;
        /* Emoji and pictographs (4-byte sequences) are dropped: a synthesiser spells
         * them out or says nothing useful. Other letters (accents) are kept. */
        size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        size_t have = strnlen(p, n);
        if (c >= 0xF0 || c < 0xC0) {
            p += have;
            continue;
        }
        sb_putn(out, p, have);
        p += have;
    }
}

/* ---- pass 2: markdown ---- */
static int ends_sentence(const sbuf *b) {
    size_t i = b->len;
    while (i > 0 && b->p[i - 1] == ' ')
        i--;
    if (i == 0) return 1;
    char c = b->p[i - 1];
    return c == '.' || c == '!' || c == '?' || c == ':' || c == ';' || c == ',';
}

static void strip_inline(const char *s, size_t n, sbuf *out) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '*' || c == '`') continue;
        if (c == '_') {
            /* snake_case stays readable as words; emphasis underscores vanish */
            int inword = i > 0 && i + 1 < n && isalnum((unsigned char)s[i - 1]) &&
                         isalnum((unsigned char)s[i + 1]);
            if (inword) sb_putc(out, ' ');
            continue;
        }
        if (c == '[') { /* [text](url) -> text */
            const char *close = memchr(s + i, ']', n - i);
            if (close && (size_t)(close - s) + 1 < n && close[1] == '(') {
                const char *end = memchr(close, ')', n - (size_t)(close - s));
                if (end) {
                    strip_inline(s + i + 1, (size_t)(close - s - (long)i - 1), out);
                    i = (size_t)(end - s);
                    continue;
                }
            }
            continue;
        }
        if (c == ']') continue;
        if (c == '|') { /* table cells become a list */
            if (!ends_sentence(out)) sb_puts(out, ", ");
            continue;
        }
        if (c == '<' || c == '>' || c == '#') {
            if (c == '#' && i + 1 < n && isdigit((unsigned char)s[i + 1])) sb_puts(out, "number ");
            continue;
        }
        sb_putc(out, c);
    }
}

static void strip_markdown(const char *in, sbuf *out) {
    int in_fence = 0;
    for (const char *line = in; *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        const char *s = line;
        while (n && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
            n--;
        if (n >= 3 && strncmp(s, "```", 3) == 0) {
            in_fence = !in_fence;
        } else if (n && !in_fence) {
            int listy = 0;
            while (n && *s == '#')
                s++, n--, listy = 1;
            while (n && *s == '>')
                s++, n--;
            if (n >= 2 && (*s == '-' || *s == '*' || *s == '+') && s[1] == ' ')
                s += 2, n -= 2, listy = 1;
            size_t d = 0;
            while (d < n && isdigit((unsigned char)s[d]))
                d++;
            if (d && d + 1 < n && (s[d] == '.' || s[d] == ')') && s[d + 1] == ' ')
                s += d + 2, n -= d + 2, listy = 1;
            while (n && *s == ' ')
                s++, n--;
            int only_rule = n > 0;
            for (size_t k = 0; k < n; k++)
                if (!strchr("-=*_|: ", s[k])) only_rule = 0;
            if (n && !only_rule) {
                if (out->len && !ends_sentence(out))
                    sb_puts(out, listy ? ". " : " ");
                else if (out->len)
                    sb_putc(out, ' ');
                strip_inline(s, n, out);
            }
        }
        if (!nl) break;
        line = nl + 1;
    }
}

/* ---- pass 3: units and symbols ---- */
typedef struct {
    const char *unit, *one, *many;
} unit_rule;

/* Case-sensitive: "m" is meters, "M" is not a unit on its own. Longest match wins
 * because the scan takes the whole alphabetic run after the number. */
static const unit_rule units[] = {
    {"mm", "millimeter", "millimeters"},
    {"cm", "centimeter", "centimeters"},
    {"m", "meter", "meters"},
    {"km", "kilometer", "kilometers"},
    {"nm", "nanometer", "nanometers"},
    {"kg", "kilogram", "kilograms"},
    {"g", "gram", "grams"},
    {"mg", "milligram", "milligrams"},
    {"W", "watt", "watts"},
    {"kW", "kilowatt", "kilowatts"},
    {"mW", "milliwatt", "milliwatts"},
    {"V", "volt", "volts"},
    {"mV", "millivolt", "millivolts"},
    {"A", "amp", "amps"},
    {"mA", "milliamp", "milliamps"},
    {"mAh", "milliamp hour", "milliamp hours"},
    {"Ah", "amp hour", "amp hours"},
    {"Wh", "watt hour", "watt hours"},
    {"Hz", "hertz", "hertz"},
    {"kHz", "kilohertz", "kilohertz"},
    {"MHz", "megahertz", "megahertz"},
    {"GHz", "gigahertz", "gigahertz"},
    {"KB", "kilobyte", "kilobytes"},
    {"kB", "kilobyte", "kilobytes"},
    {"MB", "megabyte", "megabytes"},
    {"GB", "gigabyte", "gigabytes"},
    {"TB", "terabyte", "terabytes"},
    {"gb", "gigabyte", "gigabytes"},
    {"TOPS", "tera operations per second", "tera operations per second"},
    {"TFLOPS", "teraflops", "teraflops"},
    {"fps", "frames per second", "frames per second"},
    {"FPS", "frames per second", "frames per second"},
    {"ms", "millisecond", "milliseconds"},
    {"s", "second", "seconds"},
    {"sec", "second", "seconds"},
    {"min", "minute", "minutes"},
    {"h", "hour", "hours"},
    {"hrs", "hours", "hours"},
    {"rpm", "r p m", "r p m"},
    {"RPM", "r p m", "r p m"},
    {"dB", "decibel", "decibels"},
    {"MP", "megapixel", "megapixels"},
    {"ft", "foot", "feet"},
    {"lb", "pound", "pounds"},
    {"lbs", "pounds", "pounds"},
    {"Nm", "newton meter", "newton meters"},
    {"Mbps", "megabits per second", "megabits per second"},
    {"Gbps", "gigabits per second", "gigabits per second"},
    {"kph", "kilometers per hour", "kilometers per hour"},
    {"mph", "miles per hour", "miles per hour"},
    {"DOF", "degrees of freedom", "degrees of freedom"},
};

static const unit_rule *unit_find(const char *s, size_t n) {
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].unit) == n && strncmp(units[i].unit, s, n) == 0) return &units[i];
    return NULL;
}

/* "/s", "/sec", "/h" after a unit or a word: "68GB/s" -> "... per second". */
static size_t per_suffix(const char *s, sbuf *out) {
    static const struct {
        const char *suf, *say;
    } pers[] = {{"/sec", " per second"}, {"/s", " per second"}, {"/min", " per minute"},
                {"/h", " per hour"},     {"/hr", " per hour"},  {"/day", " per day"}};
    for (size_t i = 0; i < sizeof pers / sizeof pers[0]; i++) {
        size_t n = strlen(pers[i].suf);
        if (strncmp(s, pers[i].suf, n) == 0 && !isalnum((unsigned char)s[n])) {
            sb_puts(out, pers[i].say);
            return n;
        }
    }
    return 0;
}

static void expand_units(const char *in, sbuf *out) {
    const char *p = in;
    int after_range = 0; /* the second number of "7-15W" or "69.6x45mm" */
    while (*p) {
        unsigned char c = (unsigned char)*p;
        int word_start = p == in || !isalnum((unsigned char)p[-1]) || after_range;
        after_range = 0;
        if (isdigit(c) && word_start) {
            const char *q = p;
            while (isdigit((unsigned char)*q) ||
                   ((*q == '.' || *q == ',') && isdigit((unsigned char)q[1])))
                q++;
            size_t numlen = (size_t)(q - p);
            int one = numlen == 1 && *p == '1';
            sb_putn(out, p, numlen);
            p = q;
            /* a range "7-15W" is spoken "7 to 15 watts" */
            if (*p == '-' && isdigit((unsigned char)p[1])) {
                sb_puts(out, " to ");
                p++;
                after_range = 1;
                continue;
            }
            if (*p == 'x' && isdigit((unsigned char)p[1])) { /* 69.6x45mm */
                sb_puts(out, " by ");
                p++;
                after_range = 1;
                continue;
            }
            const char *u = p;
            if (*u == ' ' && isalpha((unsigned char)u[1])) u++;
            const char *e = u;
            while (isalpha((unsigned char)*e))
                e++;
            const unit_rule *r =
                e > u && !isdigit((unsigned char)*e) ? unit_find(u, (size_t)(e - u)) : NULL;
            /* A lone "A" after a space is more likely a word ("5 A grade") than
             * amps; only the glued form "2A" counts for it. */
            if (r && u != p && (e - u) == 1 && *u == 'A') r = NULL;
            if (r) {
                sb_putc(out, ' ');
                sb_puts(out, one ? r->one : r->many);
                p = e;
                p += per_suffix(p, out);
            } else if (*p == 'x' && !isalnum((unsigned char)p[1])) {
                p++; /* "4x USB" -> "4 USB" */
            } else if (*p == '%') {
                sb_puts(out, " percent");
                p++;
            }
            continue;
        }
        if (isalpha(c)) {
            const char *e = p;
            while (isalnum((unsigned char)*e))
                e++;
            sb_putn(out, p, (size_t)(e - p));
            p = e;
            if (*p == '/') {
                size_t k = per_suffix(p, out);
                if (k) {
                    p += k;
                    continue;
                }
            }
            continue;
        }
        switch (c) {
        case '%':
            sb_puts(out, " percent");
            break;
        case '&':
            sb_puts(out, " and ");
            break;
        case '@':
            sb_puts(out, " at ");
            break;
        case '+':
            sb_puts(out, " plus ");
            break;
        case '=':
            sb_puts(out, " equals ");
            break;
        case '~':
            sb_puts(out, " about ");
            break;
        case '/':
            sb_puts(out,
                    isdigit((unsigned char)p[1]) && out->len && isdigit((unsigned char)sb_last(out))
                        ? " of "
                        : " ");
            break;
        case '\\':
        case '^':
        case '{':
        case '}':
            sb_putc(out, ' ');
            break;
        case '\t':
        case '\n':
        case '\r':
            sb_putc(out, ' ');
            break;
        default:
            if (c >= 0x20 || c >= 0x80) sb_putc(out, (char)c);
        }
        p++;
    }
}

/* Collapses space runs, removes space before punctuation, trims. */
static void tidy(sbuf *b) {
    if (!b->p) return;
    size_t w = 0;
    for (size_t r = 0; r < b->len; r++) {
        char c = b->p[r];
        if (c == ' ' && (w == 0 || b->p[w - 1] == ' ')) continue;
        if ((c == ',' || c == '.' || c == '!' || c == '?' || c == ';' || c == ':') && w &&
            b->p[w - 1] == ' ')
            w--;
        if (c == ',' && w && b->p[w - 1] == ',') continue;
        b->p[w++] = c;
    }
    while (w && b->p[w - 1] == ' ')
        w--;
    /* ", ." left by a stripped bullet becomes "." */
    b->len = w;
    b->p[w] = 0;
}

char *speech_shape(const char *text) {
    sbuf a = {0}, m = {0}, u = {0};
    sb_puts(&a, "");
    fold_unicode(text ? text : "", &a);
    sb_puts(&m, "");
    if (!a.oom) strip_markdown(a.p, &m);
    sb_puts(&u, "");
    if (!a.oom && !m.oom) expand_units(m.p, &u);
    tidy(&u);
    free(a.p);
    free(m.p);
    if (a.oom || m.oom || u.oom) {
        free(u.p);
        return NULL;
    }
    return u.p;
}

/* ---- sentence splitter ---- */
struct sentence_splitter {
    sbuf buf;
    size_t max;
};

sentence_splitter *splitter_new(size_t max_sentence_bytes) {
    sentence_splitter *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->max = max_sentence_bytes ? max_sentence_bytes : 400;
    if (s->max < 16) s->max = 16;
    return s;
}

void splitter_free(sentence_splitter *s) {
    if (!s) return;
    free(s->buf.p);
    free(s);
}

static const char *const abbrevs[] = {"dr",  "mr",  "mrs", "ms",     "prof", "st", "vs",  "e.g",
                                      "i.e", "eg",  "ie",  "approx", "fig",  "no", "inc", "ltd",
                                      "jr",  "sr",  "mt",  "dept",   "est",  "cf", "al",  "etc",
                                      "vol", "rev", "ver", "v",      "ca"};

/* 1 when the '.' at buf[i] ends an abbreviation, an initial or a dotted word. */
static int dot_is_abbrev(const char *buf, size_t i) {
    size_t st = i;
    while (st > 0 && !isspace((unsigned char)buf[st - 1]) && buf[st - 1] != '(' &&
           buf[st - 1] != '"')
        st--;
    size_t n = i - st;
    if (n == 0) return 0;
    char w[16];
    if (n >= sizeof w) return 0;
    for (size_t k = 0; k < n; k++)
        w[k] = (char)tolower((unsigned char)buf[st + k]);
    w[n] = 0;
    if (n == 1 && isalpha((unsigned char)w[0])) return 1; /* initial: "J. Smith" */
    if (memchr(w, '.', n)) return 1;                      /* "e.g", "U.S" */
    for (size_t k = 0; k < sizeof abbrevs / sizeof abbrevs[0]; k++)
        if (strcmp(w, abbrevs[k]) == 0) return strcmp(w, "etc") == 0 ? 2 : 1;
    return 0;
}

static int emit(sentence_splitter *s, size_t upto, sentence_fn fn, void *user) {
    char *b = s->buf.p;
    size_t st = 0, en = upto;
    while (st < en && isspace((unsigned char)b[st]))
        st++;
    while (en > st && isspace((unsigned char)b[en - 1]))
        en--;
    int emitted = 0;
    if (en > st) {
        char save = b[en];
        b[en] = 0;
        if (fn) fn(user, b + st);
        b[en] = save;
        emitted = 1;
    }
    memmove(b, b + upto, s->buf.len - upto + 1);
    s->buf.len -= upto;
    return emitted;
}

/* Finds the end (exclusive) of the first complete sentence, or 0 when none is
 * certain yet. */
static size_t find_boundary(const char *b, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = b[i];
        if (c == '\n' && i + 1 < len && b[i + 1] == '\n') return i + 2;
        if (c != '.' && c != '!' && c != '?') continue;
        size_t j = i + 1;
        while (j < len && (b[j] == '.' || b[j] == '!' || b[j] == '?'))
            j++; /* "...", "?!" */
        while (j < len && (b[j] == '"' || b[j] == '\'' || b[j] == ')'))
            j++;
        if (j >= len) return 0; /* need to see what follows */
        if (!isspace((unsigned char)b[j])) {
            i = j - 1;
            continue; /* "3.5", "v2.1", "example.com" */
        }
        size_t k = j;
        while (k < len && isspace((unsigned char)b[k]))
            k++;
        if (k >= len) return 0;
        unsigned char next = (unsigned char)b[k];
        if (c == '.' && j == i + 1) {
            int ab = dot_is_abbrev(b, i);
            if (ab == 1) continue;
            if (ab == 2 && !isupper(next)) continue;
            if (islower(next)) continue;
        }
        return j;
    }
    return 0;
}

int splitter_feed(sentence_splitter *s, const char *piece, size_t len, sentence_fn fn, void *user) {
    if (!s) return -1;
    if (s->buf.len == 0) sb_puts(&s->buf, "");
    sb_putn(&s->buf, piece ? piece : "", piece ? len : 0);
    if (s->buf.oom) return -1;
    int count = 0;
    for (;;) {
        size_t end = find_boundary(s->buf.p, s->buf.len);
        if (!end && s->buf.len > s->max) {
            /* A run-on sentence: cut at the last comma, else the last space. */
            size_t cut = 0;
            for (size_t i = s->max; i > s->max / 3; i--)
                if (s->buf.p[i] == ',' && isspace((unsigned char)s->buf.p[i + 1])) {
                    cut = i + 1;
                    break;
                }
            for (size_t i = s->max; !cut && i > 0; i--)
                if (s->buf.p[i] == ' ') cut = i;
            if (!cut) {
                cut = s->max; /* never split inside a UTF-8 sequence */
                while (cut > 1 && ((unsigned char)s->buf.p[cut] & 0xC0) == 0x80)
                    cut--;
            }
            end = cut;
        }
        if (!end) break;
        count += emit(s, end, fn, user);
    }
    return count;
}

int splitter_flush(sentence_splitter *s, sentence_fn fn, void *user) {
    if (!s) return -1;
    if (!s->buf.p) return 0;
    int n = emit(s, s->buf.len, fn, user);
    return n;
}

int speech_split_all(const char *text, sentence_fn fn, void *user) {
    sentence_splitter *s = splitter_new(0);
    if (!s) return -1;
    int a = splitter_feed(s, text ? text : "", text ? strlen(text) : 0, fn, user);
    int b = a < 0 ? -1 : splitter_flush(s, fn, user);
    splitter_free(s);
    return a < 0 || b < 0 ? -1 : a + b;
}
