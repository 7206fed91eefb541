/* Transcript normalisation: turns what a recogniser (or a person typing) produced
 * into the text the matchers see, and decides when there is nothing to answer.
 *
 *   bad bytes      invalid UTF-8 and control characters are dropped (flagged)
 *   length         input over NORM_MAX_INPUT bytes is cut at a word (flagged)
 *   case, marks    lower case, punctuation to spaces (text_tokens)
 *   numbers        "forty five" -> "45", "two" -> "2"
 *   spelled names  "d 4 3 5" -> "d435", "r p lidar" -> "rp lidar"
 *   phonetic fixes the pack's pronunciation hints: "jet son" -> "jetson"
 *   drop           empty, filler-only ("um uh") or noise markers ("[noise]") -> a reason
 * Read-only after creation; thread-safe. */
#ifndef AXIOM_NORMALISE_H
#define AXIOM_NORMALISE_H

#include "brain/pack.h"

#include <stddef.h>

#define NORM_MAX_INPUT 1000 /* bytes of a transcript considered; more is cut and said so */

typedef struct normaliser normaliser;

normaliser *normaliser_new(const pack *p);
void normaliser_free(normaliser *n);

typedef struct {
    char text[NORM_MAX_INPUT * 2 + 64]; /* normalised: lower-case tokens, single spaces */
    char clean[NORM_MAX_INPUT + 8];     /* the input with bad bytes removed, cut to size */
    const char *dropped;                /* NULL, "empty", "filler" or "noise" */
    int truncated;                      /* input was longer than NORM_MAX_INPUT */
    int bad_bytes;                      /* invalid UTF-8 or control characters were removed */
} norm_result;

/* n may be NULL (no pronunciation hints). Never fails. */
void normalise_text(const normaliser *n, const char *in, norm_result *out);

#endif
