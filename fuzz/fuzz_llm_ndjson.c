/* Ollama's streamed /api/chat answer: NDJSON lines split at arbitrary points, each line
 * parsed as a chunk. The first input byte chooses the split size. */
#include "fuzz.h"
#include "llm/llm_stream.h"

static int on_line(void *user, char *line, size_t len) {
    (void)user;
    llm_chunk c;
    memset(&c, 0, sizeof c);
    llm_ollama_chunk_parse(line, len, &c);
    if (c.text && c.text_len > len) abort(); /* a piece cannot be longer than its line */
    llm_chunk_clear(&c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    data++, size--;
    llm_lines l = {.max_line = 4096};
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (llm_lines_feed(&l, (const char *)data + off, n, on_line, NULL) != 0) break;
    }
    llm_lines_free(&l);
    return 0;
}
