/* Builds PocketSphinx's language model and dictionary from the knowledge pack.
 *
 * - Text normalisation (lm_normalize) turns pack sentences and recogniser output alike
 *   into lower-case words: digits are spelled ("ros2" -> "ros two"), punctuation goes.
 *   Word error rates are scored on the same normal form.
 * - lm_write_arpa: a trigram ARPA model with interpolated absolute discounting (the
 *   discount per order from the count-of-counts, D = n1 / (n1 + 2 n2)); each
 *   history's back-off weight is exactly the mass its discounting freed, so the model
 *   is normalised.
 * - lm_write_dict: one pronunciation line per vocabulary word, from the stock CMU
 *   dictionary when it has the word, else the pack's hint, else flite's lexicon and
 *   letter-to-sound rules (same CMU phone set); short all-capital words also get a
 *   spelled-out alternative ("IMU" -> "AY EH M Y UW").
 * - lm_build_cached: both of the above into <cache>/stt/<key>/, where key hashes the
 *   corpus and this builder's version, so a pack is built once and reused. */
#ifndef AXIOM_LM_BUILD_H
#define AXIOM_LM_BUILD_H

#include "speech/stt.h"

#include <stddef.h>

/* Normal form of text: lower-case words separated by one space. Returns the length
 * written (truncated at a word boundary when out is too small). */
size_t lm_normalize(const char *text, char *out, size_t outlen);

/* Where a built model lives. */
typedef struct {
    char dir[1024];
    char arpa[1100];        /* domain trigram model */
    char dict[1100];        /* pronunciations for the domain vocabulary */
    char extra_dict[1100];  /* only the words the stock dictionary lacks */
    size_t n_words;         /* vocabulary size */
    size_t n_oov;           /* words not in the stock dictionary */
    size_t n_ngrams[3];
    int from_cache;
} lm_files;

/* Builds (or finds in cache_dir/stt/) the domain model for corpus, using stock_dict
 * (the CMU dictionary) for known pronunciations. Returns 0 or -1 with err. */
int lm_build_cached(const stt_corpus *corpus, const char *stock_dict, const char *cache_dir,
                    lm_files *out, char *err, size_t errlen);

/* Lower-level pieces, exposed for tests. Sentences are normalised here. */
typedef struct lm_counts lm_counts;
lm_counts *lm_counts_new(void);
void lm_counts_free(lm_counts *c);
/* Adds one sentence; returns 0, or -1 when a bound (words, n-grams) was reached. */
int lm_counts_add(lm_counts *c, const char *sentence);
size_t lm_counts_vocab(const lm_counts *c, const char ***words);
int lm_write_arpa(const lm_counts *c, const char *path, size_t n_ngrams[3], char *err,
                  size_t errlen);
int lm_write_dict(const lm_counts *c, const stt_corpus *corpus, const char *stock_dict,
                  const char *dict_path, const char *extra_path, size_t *n_oov, char *err,
                  size_t errlen);

/* CMU phones (upper case, no stress) for an English word by flite's lexicon and
 * letter-to-sound rules. Returns the length written, 0 when none. */
size_t lm_word_phones(const char *word, char *out, size_t outlen);

#endif
