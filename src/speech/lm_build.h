/* Builds PocketSphinx's language model and dictionary from the knowledge pack.
 *
 * - Text normalisation (lm_normalize) turns pack sentences and recogniser output alike
 *   into lower-case words: digits are spelled ("ros2" -> "ros two"), punctuation goes.
 *   Word error rates are scored on the same normal form.
 * - lm_write_arpa: a trigram ARPA model with interpolated Kneser-Ney smoothing (lower
 *   orders count the distinct words seen before a word, not its occurrences; the
 *   discount per order from the count-of-counts, D = n1 / (n1 + 2 n2)); each history's
 *   back-off weight is exactly the mass its discounting freed, so the model is
 *   normalised.
 * - lm_write_dict: one pronunciation line per vocabulary word, from the stock CMU
 *   dictionary when it has the word, else the pack's hint, else flite's lexicon and
 *   letter-to-sound rules (same CMU phone set); short all-capital words also get a
 *   spelled-out alternative ("IMU" -> "AY EH M Y UW").
 * - General English: the stock model's most probable words join the unigrams with a
 *   small share of the probability (GENERAL_WEIGHT), so an everyday word the pack
 *   never used ("can i stand it up") is not forced onto a pack word.
 * - lm_build_cached: both of the above into <cache>/stt/<key>/, where key hashes the
 *   corpus and this builder's version, so a pack is built once and reused. */
#ifndef AXIOM_LM_BUILD_H
#define AXIOM_LM_BUILD_H

#include "speech/stt.h"

#include <stddef.h>

/* Normal form of text: lower-case words separated by one space. Returns the length
 * written (truncated at a word boundary when out is too small). */
size_t lm_normalize(const char *text, char *out, size_t outlen);

/* Words normalisation keeps whole (compared case-insensitively to each raw token):
 * the pack's hinted names written with digits, so "D435i" stays one word with its own
 * pronunciation instead of becoming "d four hundred thirty five i". */
typedef struct {
    const char *const *words;
    size_t n;
} lm_keep;
size_t lm_normalize_keep(const char *text, const lm_keep *keep, char *out, size_t outlen);
/* The corpus's hinted words that are one token of letters and digits, lower-cased
 * (owned by *keep until lm_keep_free). Returns 0, or -1 when out of memory. */
int lm_keep_from_corpus(const stt_corpus *corpus, lm_keep *keep);
void lm_keep_free(lm_keep *keep);

/* Where a built model lives. */
typedef struct {
    char dir[1024];
    char arpa[1100];       /* domain trigram model */
    char dict[1100];       /* pronunciations for the domain vocabulary */
    char extra_dict[1100]; /* only the words the stock dictionary lacks */
    size_t n_words;        /* vocabulary size */
    size_t n_oov;          /* words not in the stock dictionary */
    size_t n_ngrams[3];
    int from_cache;
} lm_files;

/* What the domain model borrows from the stock English model. */
typedef struct {
    const char *stock_dict; /* the CMU dictionary: pronunciations of known words */
    const char *stock_lm;   /* the stock language model (may be NULL when general_words is 0) */
    size_t general_words; /* its most probable words added to the vocabulary (stt.general_words) */
} lm_sources;

/* Builds (or finds in cache_dir/stt/) the domain model for corpus. Returns 0 or -1
 * with err. */
int lm_build_cached(const stt_corpus *corpus, const lm_sources *src, const char *cache_dir,
                    lm_files *out, char *err, size_t errlen);

/* Lower-level pieces, exposed for tests. Sentences are normalised here. */
typedef struct lm_counts lm_counts;
lm_counts *lm_counts_new(void);
void lm_counts_free(lm_counts *c);
/* Sentences added from now on keep these words whole (keep is borrowed). */
void lm_counts_set_keep(lm_counts *c, const lm_keep *keep);
/* General English: n words with their probabilities (any scale) take `weight` of the
 * unigram distribution, the pack's own words the rest. Returns 0 or -1 (a bound). */
int lm_counts_set_general(lm_counts *c, const char *const *words, const double *prob, size_t n,
                          double weight);
/* Adds one sentence; returns 0, or -1 when a bound (words, n-grams) was reached. */
int lm_counts_add(lm_counts *c, const char *sentence);
size_t lm_counts_vocab(const lm_counts *c, const char ***words);
int lm_write_arpa(const lm_counts *c, const char *path, size_t n_ngrams[3], char *err,
                  size_t errlen);
int lm_write_dict(const lm_counts *c, const stt_corpus *corpus, const char *stock_dict,
                  const char *dict_path, const char *extra_path, size_t *n_oov, char *err,
                  size_t errlen);

/* The k most probable plain words of the stock language model (an ARPA or binary
 * sphinxbase model) with their unigram probabilities, most probable first. Caller
 * frees with lm_general_free. Returns 0, or -1 with err. */
int lm_general_words(const char *stock_lm, size_t k, char ***words, double **prob, size_t *n,
                     char *err, size_t errlen);
void lm_general_free(char **words, double *prob, size_t n);

/* CMU phones (upper case, no stress) for an English word by flite's lexicon and
 * letter-to-sound rules. Returns the length written, 0 when none. */
size_t lm_word_phones(const char *word, char *out, size_t outlen);

#endif
