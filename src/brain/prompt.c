/* Prompt assembly within the context window (see prompt.h). */
#include "brain/prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_OVERHEAD 8 /* role markers of a chat template, per message */
#define MARGIN 32      /* the template's preamble and the generation prompt */

int prompt_estimate_tokens(void *ctx, const char *text) {
    (void)ctx;
    return (int)((strlen(text ? text : "") + 3) / 4);
}

static const char persona_fmt[] =
    "You are AXIOM, the voice assistant of %s. You answer students' questions about the lab's "
    "equipment, projects and rules.\n"
    "Rules: your answer is spoken aloud, so use two or three short sentences of plain text, with "
    "no "
    "markdown, lists, tables, code or emoji. Use only the facts below and the conversation; if "
    "they do "
    "not answer the question, say you don't know and suggest asking the lab staff. Never invent "
    "specifications.\n";

int prompt_build(prompt *pr, const char *lab, const char *const *facts, size_t n_facts,
                 const history_ring *h, const char *user, int context_len, int reserve,
                 token_count_fn count, void *ctx) {
    memset(pr, 0, sizeof *pr);
    if (!count) count = prompt_estimate_tokens;
    int budget = context_len - reserve - MARGIN;
    char head[1024];
    snprintf(head, sizeof head, persona_fmt, lab && *lab ? lab : "the robotics lab");
    int used = count(ctx, head) + count(ctx, "Facts:\n") + count(ctx, user) + 2 * MSG_OVERHEAD;
    if (used > budget) return -1;
    /* facts, best first, while they fit */
    size_t cap = strlen(head) + 16;
    size_t take = 0;
    for (; take < n_facts; take++) {
        int c = count(ctx, facts[take]) + 1;
        if (used + c > budget) break;
        used += c;
        cap += strlen(facts[take]) + 4;
    }
    /* history, newest first, while it fits */
    size_t nturns = h ? h->count : 0, keep = 0;
    while (keep < nturns && 2 * (keep + 1) + 2 <= PROMPT_MAX_MSGS) {
        const history_turn *t = history_ring_get(h, nturns - 1 - keep);
        int c = count(ctx, t->user) + count(ctx, t->answer) + 2 * MSG_OVERHEAD;
        if (used + c > budget) break;
        used += c;
        keep++;
    }
    pr->system = malloc(cap + 16);
    if (!pr->system) return -1;
    size_t w = (size_t)snprintf(pr->system, cap + 16, "%s", head);
    if (take) w += (size_t)snprintf(pr->system + w, cap + 16 - w, "Facts:\n");
    for (size_t i = 0; i < take; i++)
        w += (size_t)snprintf(pr->system + w, cap + 16 - w, "- %s\n", facts[i]);
    pr->msgs[pr->n++] = (llm_message){"system", pr->system};
    for (size_t k = keep; k > 0; k--) {
        const history_turn *t = history_ring_get(h, nturns - k);
        pr->msgs[pr->n++] = (llm_message){"user", t->user};
        pr->msgs[pr->n++] = (llm_message){"assistant", t->answer};
    }
    pr->msgs[pr->n++] = (llm_message){"user", user};
    pr->facts_used = (int)take;
    pr->turns_used = (int)keep;
    pr->tokens = 0;
    for (size_t i = 0; i < pr->n; i++)
        pr->tokens += count(ctx, pr->msgs[i].content) + MSG_OVERHEAD;
    return 0;
}

void prompt_free(prompt *pr) {
    free(pr->system);
    memset(pr, 0, sizeof *pr);
}
