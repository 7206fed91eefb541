/* OpenAI-compatible streamed answers: Server-Sent Events split at arbitrary points,
 * each event's data parsed as a chat.completion.chunk. */
#include "fuzz.h"
#include "llm/llm_stream.h"

static int on_event(void *user, const char *data, size_t len) {
    (void)user;
    llm_chunk c;
    memset(&c, 0, sizeof c);
    llm_openai_chunk_parse(data, len, &c);
    if (c.text && c.text_len > len) abort();
    llm_chunk_clear(&c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = (size_t)data[0] % 23 + 1;
    data++, size--;
    llm_sse s;
    llm_sse_init(&s, on_event, NULL);
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (llm_sse_feed(&s, (const char *)data + off, n) != 0) break;
    }
    llm_sse_free(&s);
    return 0;
}
