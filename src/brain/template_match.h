/* The fast path's template chooser: an in-memory TF-IDF cosine index over the pack's
 * (normalised) template questions, restricted to the item the user named.
 *
 * Why not "the first template sharing two words" (the reference system's defect):
 * that picks another item's template whenever questions share filler words. Here a
 * template can only win when it is about the named item (or is general when no item
 * is named), and it must be close to the whole question, weighted by how rare each
 * word is. Read-only after creation; thread-safe. */
#ifndef AXIOM_TEMPLATE_MATCH_H
#define AXIOM_TEMPLATE_MATCH_H

#include "brain/mention.h"
#include "brain/pack.h"

typedef struct template_index template_index;

/* norm_questions[i] is template i's question after normalise_text. */
template_index *template_index_new(const pack *p, const char *const *norm_questions);
void template_index_free(template_index *t);

/* The best template for the query tokens about item (-1 = general), or -1 when none
 * shares a word. *score gets its cosine similarity (0..1). Templates whose intent
 * equals `intent` (may be NULL) rank 0.05 higher. */
int template_index_best(const template_index *t, const text_toks *q, int item, const char *intent,
                        double *score);

/* The same over every item's templates, for questions that name no item ("how do I
 * use the driver board?"). *other gets the best similarity of a template about a
 * different item with a different answer: when it is close to *score the question is
 * ambiguous and the caller should not answer from a template. */
int template_index_best_any(const template_index *t, const text_toks *q, const char *intent,
                            double *score, double *other);

size_t template_index_bytes(const template_index *t);

#endif
