/* libFuzzer target for the LLM stream parsers (NDJSON lines, SSE events, Ollama and
 * OpenAI chunk readers). Not part of the suite (tests/test_llm_stream.c runs a short
 * random pass there); run it by hand for long sessions:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *     tests/fuzz/fuzz_llm_stream.c src/llm/llm_stream.c -lcjson -o /tmp/fuzz_llm_stream
 *   /tmp/fuzz_llm_stream -max_total_time=60
 * The first input byte picks the read size, so every way of cutting the stream into
 * reads is explored too. */
#include "llm/llm_stream.h"

#include <stddef.h>
#include <stdint.h>

static int on_line(void *user, char *s, size_t len) {
    (void)user;
    llm_chunk c;
    llm_ollama_chunk_parse(s, len, &c);
    llm_chunk_clear(&c);
    return 0;
}

static int on_event(void *user, const char *s, size_t len) {
    (void)user;
    llm_chunk c;
    llm_openai_chunk_parse(s, len, &c);
    llm_chunk_clear(&c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = 1 + data[0] % 64;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    llm_lines l = {.max_line = 4096};
    llm_sse s;
    llm_sse_init(&s, on_event, NULL);
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        llm_lines_feed(&l, p + i, k, on_line, NULL);
        llm_sse_feed(&s, p + i, k);
    }
    llm_lines_free(&l);
    llm_sse_free(&s);
    return 0;
}
