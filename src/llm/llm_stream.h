/* The two streaming wire formats, as small pure functions over bytes so they can be
 * tested and fuzzed without a network:
 *   - a line splitter (LF or CRLF) with a bound on line length, which NDJSON is;
 *   - a Server-Sent Events parser (data: fields joined per event, comments ignored);
 *   - the per-chunk JSON readers for Ollama's /api/chat lines and OpenAI's
 *     chat.completion.chunk events.
 * Nothing here allocates without a bound: a line longer than max_line is an error. */
#ifndef AXIOM_LLM_STREAM_H
#define AXIOM_LLM_STREAM_H

#include "llm/llm.h"

#include <stddef.h>

/* Called with one line (no terminator; NUL-terminated in place). Non-zero stops. */
typedef int (*llm_line_fn)(void *user, char *line, size_t len);

typedef struct {
    char *buf;
    size_t len, cap;
    size_t max_line; /* 0 = 1 MiB */
} llm_lines;

/* Feeds bytes; calls fn per complete line. Returns 0, fn's non-zero value, or -1 when a
 * line exceeds max_line (or memory runs out). */
int llm_lines_feed(llm_lines *l, const char *data, size_t n, llm_line_fn fn, void *user);
/* Bytes of an unterminated last line still held (a truncated stream when non-zero). */
size_t llm_lines_pending(const llm_lines *l);
void llm_lines_free(llm_lines *l);

/* Called with one event's data (fields joined by '\n', NUL-terminated). Non-zero stops. */
typedef int (*llm_event_fn)(void *user, const char *data, size_t len);

typedef struct {
    llm_lines lines;
    char *data;
    size_t len, cap;
    int has_data;
    llm_event_fn on_event;
    void *user;
} llm_sse;

void llm_sse_init(llm_sse *s, llm_event_fn fn, void *user);
/* Returns 0, the callback's non-zero value, or -1 (line or event over 1 MiB). */
int llm_sse_feed(llm_sse *s, const char *data, size_t n);
void llm_sse_free(llm_sse *s);

/* One decoded chunk of either API. text points into the parsed JSON, valid until
 * llm_chunk_clear. */
typedef struct {
    const char *text;
    size_t text_len;
    int done;          /* the stream says the answer is complete */
    llm_finish finish; /* STOP or LENGTH when done */
    int prompt_tokens; /* -1 when the chunk does not say */
    char error[256];   /* non-empty: the server reported an error, or the chunk is malformed */
    void *json_;
} llm_chunk;

/* Ollama /api/chat line: {"message":{"content":"..."},"done":false} ... {"done":true,
 * "done_reason":"stop","prompt_eval_count":N} or {"error":"..."}. Returns 0, or -1 with
 * out->error set (server error or malformed line). */
int llm_ollama_chunk_parse(const char *json, size_t len, llm_chunk *out);
/* OpenAI chat.completion.chunk: {"choices":[{"delta":{"content":"..."},"finish_reason":
 * null|"stop"|"length"}],"usage":{...}} or {"error":{"message":"..."}}. The "[DONE]"
 * sentinel gives done = 1. Same return as above. */
int llm_openai_chunk_parse(const char *json, size_t len, llm_chunk *out);
void llm_chunk_clear(llm_chunk *c);

#endif
