/* The words the knowledge pack uses: every token (text_tokens) of its templates,
 * facts and items, sorted, for telling a question about the lab from talk about
 * something else ("what time does the tennis start"). Built when the pack loads;
 * bounded by the pack's own text. */
#ifndef AXIOM_PACK_WORDS_H
#define AXIOM_PACK_WORDS_H

#include "brain/pack.h"

typedef struct pack_words pack_words;

/* NULL when out of memory. */
pack_words *pack_words_new(const pack *p);
void pack_words_free(pack_words *w);
/* 1 when the pack uses tok or a word with the same crude stem (text_stem_len, as
 * retrieval's coverage: "charging" meets "charge"). */
int pack_words_has(const pack_words *w, const char *tok);
/* How many words the vocabulary holds. */
size_t pack_words_count(const pack_words *w);

#endif
