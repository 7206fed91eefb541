/* Text tokens and item mentions.
 *
 * text_tokens() is the one tokenizer every matcher shares (templates, mentions, the
 * search index's query builder): ASCII letters and digits lower-cased, apostrophes
 * dropped inside words ("what's" -> "whats"), everything else separates. Because
 * queries and pack text go through the same function, they always agree.
 *
 * A mention index knows, for each item, the phrases that name it: its name, its
 * aliases, the name without vendor words, memory sizes or parentheses, model numbers
 * without their suffix ("d435i" -> "d435"), and single words that name no other item
 * ("unitree", "quadcopter"). mention_find picks the item whose phrase covers the most
 * characters of the text. Read-only after creation; thread-safe. */
#ifndef AXIOM_MENTION_H
#define AXIOM_MENTION_H

#include "brain/pack.h"

#include <stddef.h>

#define TOK_MAX 128 /* tokens kept per text */
#define TOK_LEN 32  /* bytes per token, longer ones are cut */

typedef struct {
    char t[TOK_MAX][TOK_LEN];
    size_t n;
} text_toks;

/* Tokenizes at most TOK_MAX tokens of s. */
void text_tokens(const char *s, text_toks *out);

/* 1 for words that carry no topic ("what", "the", "tell"): left out of search
 * queries so bm25 ranks on content words, and used to see whether a question says
 * anything besides an item's name. */
int text_is_stopword(const char *tok);

/* How many leading bytes of tok two words must share to count as one word: a crude
 * stem ("charging" meets "charge"): five letters at most, one less than the word for
 * words of four or five letters, and words of three letters or fewer whole (the count
 * then takes in the terminating NUL). */
size_t text_stem_len(const char *tok);

typedef struct mention_index mention_index;

mention_index *mention_new(const pack *p);
void mention_free(mention_index *m);

/* The best item named in toks, or -1. *cover (may be NULL) gets the characters its
 * phrase covers (a confidence proxy); *start and *len the token span (may be NULL). */
int mention_find(const mention_index *m, const text_toks *toks, int *cover, size_t *start,
                 size_t *len);
/* Every item named in toks, best (longest phrase) first, at most max; non-overlapping.
 * items[i] with its span starts[i]/lens[i] (the span arrays may be NULL). Returns the
 * count. "does the x500 work with the jetson orin nano" names two. */
size_t mention_find_all(const mention_index *m, const text_toks *toks, int *items, size_t *starts,
                        size_t *lens, size_t max);
/* Same on raw text. */
int mention_find_text(const mention_index *m, const char *text);

#endif
