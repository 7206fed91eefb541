/* Text meant to be spoken: answer shaping and sentence splitting for streaming TTS.
 *
 * speech_shape() turns written text (an LLM answer, a template, a fact) into text a
 * synthesiser reads well: markdown removed, units and symbols spelled out ("5m" ->
 * "5 meters", "40 TOPS" -> "40 tera operations per second", "%" -> " percent",
 * "45°C" -> "45 degrees Celsius"), typographic Unicode (non-breaking spaces and
 * hyphens, curly quotes, dashes) folded to plain ASCII.
 *
 * The splitter is incremental: feed it pieces of any size (LLM tokens) and it hands
 * out each sentence as soon as the next non-space character shows the sentence really
 * ended. It does not split after abbreviations ("e.g.", "Dr.", "etc."), inside
 * numbers ("3.5", "v2.1") or before a lower-case continuation. Thread safety: one
 * splitter per stream; speech_shape is reentrant. */
#ifndef AXIOM_SPEECH_TEXT_H
#define AXIOM_SPEECH_TEXT_H

#include <stddef.h>

/* Returns a newly allocated shaped copy of text (caller frees), or NULL when out of
 * memory. NULL text gives "". */
char *speech_shape(const char *text);

typedef struct sentence_splitter sentence_splitter;

/* Receives one finished sentence (trimmed, NUL-terminated, borrowed for the call). */
typedef void (*sentence_fn)(void *user, const char *sentence);

/* max_sentence_bytes: a sentence longer than this is cut at a comma or space so TTS
 * never waits on a run-on answer (0 = 400). */
sentence_splitter *splitter_new(size_t max_sentence_bytes);
void splitter_free(sentence_splitter *s);
/* Feeds len bytes of text; calls fn for each sentence completed. Returns the number
 * of sentences emitted, or -1 when out of memory. */
int splitter_feed(sentence_splitter *s, const char *piece, size_t len, sentence_fn fn, void *user);
/* Emits whatever is left as a final sentence (if not blank) and resets. */
int splitter_flush(sentence_splitter *s, sentence_fn fn, void *user);

/* Splits a complete text into sentences (feed + flush). Returns the count or -1. */
int speech_split_all(const char *text, sentence_fn fn, void *user);

#endif
