/* The LLM prompt: a system message (persona, rules for spoken answers, the retrieved
 * facts), the last turns, then the user's question, fitted to the context window.
 *
 * Fitting: the window must hold the prompt plus the answer (reserve = llm.max_tokens)
 * and a small margin. The persona, rules and question always go in (the question is
 * already capped by the normaliser); then facts in score order while they fit; then
 * history newest-first while it fits (so the oldest turns are the first dropped).
 * Tokens are counted by the caller's function: the model's tokenizer when there is an
 * LLM (llm_count_tokens), otherwise prompt_estimate_tokens: one token per 4 bytes,
 * rounded up, plus 8 per message and 32 overall for the chat template (English BPE vocabularies
 * average 4 to 4.5 bytes per token, so this errs on the safe side). */
#ifndef AXIOM_PROMPT_H
#define AXIOM_PROMPT_H

#include "brain/history.h"
#include "llm/llm.h"

#include <stddef.h>

#define PROMPT_MAX_MSGS 64

typedef int (*token_count_fn)(void *ctx, const char *text);

typedef struct {
    llm_message msgs[PROMPT_MAX_MSGS];
    size_t n;
    char *system; /* owned */
    int tokens;   /* counted size of everything in msgs */
    int facts_used, turns_used;
} prompt;

int prompt_estimate_tokens(void *ctx, const char *text);

/* Builds the prompt. lab (may be NULL) names the lab for the persona. facts are best
 * first. count NULL = the estimate. Returns 0, or -1 when even persona + question do
 * not fit (the caller answers without the LLM). */
int prompt_build(prompt *pr, const char *lab, const char *const *facts, size_t n_facts,
                 const history_ring *h, const char *user, int context_len, int reserve,
                 token_count_fn count, void *ctx);
void prompt_free(prompt *pr);

#endif
