/* The intent classifier's view of text: word and character n-gram features, and the
 * rule that recognises greetings and acknowledgments whatever the training labels say.
 *
 * Why a rule: the reference deployment's labelled data calls questions "greeting" (most
 * of its 100 greeting rows are questions) and has five acknowledgment rows. A learned
 * model repeats such noise; a short utterance made only of greeting, thanks and filler
 * words is a greeting or an acknowledgment in any pack, so that is decided by a word
 * list and the model only sees the rest. */
#include "brain/intent_internal.h"

#include "core/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET FNV1A64_INIT
#define KEY_CHAR_BLOCK (1ULL << 63)

static uint64_t fnv(uint64_t h, const char *s, size_t n) {
    return fnv1a64(h, s, n);
}

static uint64_t finish(uint64_t h, int char_block) {
    /* Mix the low bits (FNV's are weak) and tag the block. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h = (h & ~KEY_CHAR_BLOCK) | (char_block ? KEY_CHAR_BLOCK : 0);
    return h | 1;
}

static int cmp_key(const void *a, const void *b) {
    uint64_t x = ((const intent_feat *)a)->key, y = ((const intent_feat *)b)->key;
    return x < y ? -1 : x > y;
}

/* Splits normalised text (single spaces) into words in place; returns the count. */
static size_t split_words(char *norm, char **words, size_t cap) {
    size_t n = 0;
    char *p = norm;
    while (*p && n < cap) {
        words[n++] = p;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = '\0';
        p = sp + 1;
    }
    return n;
}

size_t intent_text_features(const char *text, const intent_params *p, intent_feat *out,
                            size_t cap) {
    char norm[INTENT_MAX_TEXT + 1];
    labelled_normalise(text ? text : "", norm, sizeof norm);
    char *words[INTENT_MAX_TEXT / 2 + 1];
    size_t nw = split_words(norm, words, sizeof words / sizeof words[0]);
    size_t n = 0;
#define EMIT(k)                                                                                    \
    do {                                                                                           \
        if (n < cap) out[n++] = (intent_feat){(k), 1.0f};                                          \
    } while (0)
    for (size_t i = 0; i < nw && n < cap; i++) {
        size_t len = strlen(words[i]);
        EMIT(finish(fnv(fnv(FNV_OFFSET, "w", 1), words[i], len), 0));
        if (p->word_ngrams >= 2) {
            uint64_t h = fnv(FNV_OFFSET, "b", 1);
            h = i ? fnv(h, words[i - 1], strlen(words[i - 1])) : fnv(h, "^", 1);
            h = fnv(h, " ", 1);
            EMIT(finish(fnv(h, words[i], len), 0));
        }
        if (p->char_min > 0 && p->char_max >= p->char_min) {
            /* " word " with boundaries, so prefixes and suffixes are features too. */
            char padded[INTENT_MAX_TEXT + 3];
            padded[0] = ' ';
            memcpy(padded + 1, words[i], len);
            padded[len + 1] = ' ';
            size_t plen = len + 2;
            for (int g = p->char_min; g <= p->char_max; g++) {
                if ((size_t)g > plen) break;
                for (size_t s = 0; s + (size_t)g <= plen && n < cap; s++)
                    EMIT(finish(fnv(fnv(FNV_OFFSET, "c", 1), padded + s, (size_t)g), 1));
            }
        }
    }
#undef EMIT
    if (n > 1) qsort(out, n, sizeof *out, cmp_key);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && out[m - 1].key == out[i].key)
            out[m - 1].count += 1.0f;
        else
            out[m++] = out[i];
    }
    return m;
}

/* ---- the greeting / acknowledgment rule ---- */

/* W_WEAK: an acknowledgment on its own ("good", "makes sense") but common inside
 * questions ("is this good for ..."), so it does not make a long utterance social. */
typedef enum { W_GREET = 1, W_ACK = 2, W_THANK = 3, W_FILL = 4, W_WEAK = 5 } word_kind;

typedef struct {
    const char *word;
    word_kind kind;
} social_word;

/* Words that carry a greeting or an acknowledgment, and the small words around them.
 * Kept short on purpose: a word here must never be the point of a question. */
static const social_word social_words[] = {
    {"hi", W_GREET},
    {"hello", W_GREET},
    {"hey", W_GREET},
    {"heya", W_GREET},
    {"hiya", W_GREET},
    {"howdy", W_GREET},
    {"yo", W_GREET},
    {"greetings", W_GREET},
    {"morning", W_GREET},
    {"afternoon", W_GREET},
    {"evening", W_GREET},
    {"bye", W_GREET},
    {"goodbye", W_GREET},
    {"hallo", W_GREET},
    {"helo", W_GREET},
    {"hullo", W_GREET},
    {"sup", W_GREET},
    {"gday", W_GREET},
    {"welcome", W_GREET},
    {"meet", W_GREET},
    {"later", W_GREET},
    {"night", W_GREET},
    {"day", W_GREET},
    {"thanks", W_THANK},
    {"thank", W_THANK},
    {"thx", W_THANK},
    {"ty", W_THANK},
    {"cheers", W_THANK},
    {"appreciate", W_THANK},
    {"appreciated", W_THANK},
    {"thankyou", W_THANK},
    {"tnx", W_THANK},
    {"grateful", W_THANK},
    {"ok", W_ACK},
    {"okay", W_ACK},
    {"okey", W_ACK},
    {"k", W_ACK},
    {"kk", W_ACK},
    {"alright", W_ACK},
    {"allright", W_ACK},
    {"great", W_WEAK},
    {"cool", W_WEAK},
    {"perfect", W_WEAK},
    {"awesome", W_WEAK},
    {"understood", W_ACK},
    {"got", W_WEAK},
    {"gotcha", W_ACK},
    {"sure", W_WEAK},
    {"yes", W_ACK},
    {"yeah", W_ACK},
    {"yep", W_ACK},
    {"yup", W_ACK},
    {"nice", W_WEAK},
    {"noted", W_ACK},
    {"fine", W_WEAK},
    {"excellent", W_WEAK},
    {"wonderful", W_WEAK},
    {"brilliant", W_WEAK},
    {"fantastic", W_WEAK},
    {"sense", W_WEAK},
    {"helpful", W_WEAK},
    {"helped", W_WEAK},
    {"helps", W_WEAK},
    {"right", W_WEAK},
    {"no", W_WEAK},
    {"nope", W_ACK},
    {"neat", W_WEAK},
    {"amazing", W_WEAK},
    {"clear", W_WEAK},
    {"roger", W_ACK},
    {"wow", W_WEAK},
    {"good", W_WEAK},
    {"makes", W_WEAK},
    {"see", W_WEAK},
    {"done", W_WEAK},
    {"fair", W_WEAK},
    /* filler: never enough on its own */
    {"there", W_FILL},
    {"axiom", W_FILL},
    {"you", W_FILL},
    {"so", W_FILL},
    {"very", W_FILL},
    {"much", W_FILL},
    {"a", W_FILL},
    {"lot", W_FILL},
    {"that", W_FILL},
    {"s", W_FILL},
    {"it", W_FILL},
    {"is", W_FILL},
    {"was", W_FILL},
    {"i", W_FILL},
    {"to", W_FILL},
    {"again", W_FILL},
    {"all", W_FILL},
    {"everyone", W_FILL},
    {"everybody", W_FILL},
    {"folks", W_FILL},
    {"guys", W_FILL},
    {"oh", W_FILL},
    {"ah", W_FILL},
    {"um", W_FILL},
    {"uh", W_FILL},
    {"well", W_FILL},
    {"and", W_FILL},
    {"the", W_FILL},
    {"for", W_FILL},
    {"your", W_FILL},
    {"help", W_FILL},
    {"really", W_FILL},
    {"how", W_FILL},
    {"are", W_FILL},
    {"doing", W_FILL},
    {"going", W_FILL},
    {"what", W_FILL},
    {"whats", W_FILL},
    {"up", W_FILL},
    {"m", W_FILL},
    {"ll", W_FILL},
    {"will", W_FILL},
    {"do", W_FILL},
    {"this", W_FILL},
    {"me", W_FILL},
    {"now", W_FILL},
    {"then", W_FILL},
    {"too", W_FILL},
    {"just", W_FILL},
    {"one", W_FILL},
    {"friend", W_FILL},
    {"buddy", W_FILL},
    {"mate", W_FILL},
    {"today", W_FILL},
    {"assistant", W_FILL},
    {"ya", W_FILL},
    {"we", W_FILL},
    {"go", W_FILL},
    {"have", W_FILL},
    {"had", W_FILL},
    {"sounds", W_FILL},
    {"bunch", W_FILL},
    {"tons", W_FILL},
    {"info", W_FILL},
    {"answer", W_FILL},
    {"explanation", W_FILL},
    {"enough", W_FILL},
    {"needed", W_FILL},
    {"g", W_FILL},
    {"thing", W_FILL},
    {"exactly", W_FILL},
    {"know", W_FILL},
    {"totally", W_FILL},
    {"absolutely", W_FILL},
    {"indeed", W_FILL},
    {"definitely", W_FILL},
    {"quite", W_FILL},
    {"pretty", W_FILL},
    {"precisely", W_FILL},
    {"my", W_FILL},
    {"of", W_FILL},
};

#define NSOCIAL (sizeof social_words / sizeof social_words[0])

/* The word list sorted once for binary search: prediction looks every word up twice,
 * and a linear scan of the list cost more than the whole linear model. */
static social_word social_sorted[NSOCIAL];
static size_t social_n;
static pthread_once_t social_once = PTHREAD_ONCE_INIT;

static int cmp_social(const void *a, const void *b) {
    return strcmp(((const social_word *)a)->word, ((const social_word *)b)->word);
}

static void social_sort(void) {
    memcpy(social_sorted, social_words, sizeof social_words);
    qsort(social_sorted, NSOCIAL, sizeof social_sorted[0], cmp_social);
    /* A word listed twice by mistake is kept once. */
    size_t m = 0;
    for (size_t i = 0; i < NSOCIAL; i++)
        if (!m || strcmp(social_sorted[m - 1].word, social_sorted[i].word) != 0)
            social_sorted[m++] = social_sorted[i];
    social_n = m;
}

static word_kind social_kind(const char *w) {
    pthread_once(&social_once, social_sort);
    social_word key = {w, 0};
    const social_word *hit = bsearch(&key, social_sorted, social_n, sizeof key, cmp_social);
    return hit ? hit->kind : 0;
}

/* Longest utterance the rule decides: anything longer is a request with manners. */
#define SOCIAL_MAX_WORDS 10

float intent_social_share(const char *text, int *nwords) {
    /* The share among the words that are not filler: "is the d435 good for drones" has
     * one social word (good) among four that mean something, so it is not social. */
    char norm[INTENT_MAX_TEXT + 1];
    labelled_normalise(text ? text : "", norm, sizeof norm);
    char *words[INTENT_MAX_TEXT / 2 + 1];
    size_t nw = split_words(norm, words, sizeof words / sizeof words[0]);
    size_t social = 0, meaning = 0;
    for (size_t i = 0; i < nw; i++) {
        word_kind k = social_kind(words[i]);
        if (k == W_FILL || k == W_WEAK) continue;
        meaning++;
        if (k) social++;
    }
    if (nwords) *nwords = (int)nw;
    if (!nw) return 0.0f;
    return meaning ? (float)social / (float)meaning : 1.0f; /* all filler: could be social */
}

intent_label intent_social_rule(const char *text) {
    char norm[INTENT_MAX_TEXT + 1];
    labelled_normalise(text ? text : "", norm, sizeof norm);
    char *words[SOCIAL_MAX_WORDS + 1];
    size_t nw = split_words(norm, words, SOCIAL_MAX_WORDS + 1);
    if (nw == 0 || nw > SOCIAL_MAX_WORDS) return INTENT_UNKNOWN;
    int greet = 0, ack = 0, thank = 0, how = 0;
    for (size_t i = 0; i < nw; i++) {
        word_kind k = social_kind(words[i]);
        if (!k) return INTENT_UNKNOWN; /* a content word: the model decides */
        if (k == W_GREET)
            greet++;
        else if (k == W_ACK || k == W_WEAK)
            ack++;
        else if (k == W_THANK)
            thank++;
        /* "how are you", "how's it going", "what's up" greet without a greeting word. */
        if (i + 1 < nw && strcmp(words[i], "how") == 0 &&
            (strcmp(words[i + 1], "are") == 0 || strcmp(words[i + 1], "is") == 0 ||
             strcmp(words[i + 1], "s") == 0))
            how++;
        if (i > 0 && strcmp(words[i], "up") == 0 &&
            (strcmp(words[i - 1], "what") == 0 || strcmp(words[i - 1], "whats") == 0 ||
             strcmp(words[i - 1], "s") == 0))
            how++;
    }
    /* Thanks wins ("hi, thanks"); "good morning" greets, "good" alone acknowledges. */
    if (thank) return INTENT_ACKNOWLEDGMENT;
    if (greet || how) return INTENT_GREETING;
    if (ack) return INTENT_ACKNOWLEDGMENT;
    return INTENT_UNKNOWN;
}
