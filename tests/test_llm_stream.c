/* The stream parsers on their own: line splitting and SSE must give the same events
 * however the bytes are cut into reads, bounds must hold, and random bytes (a cheap
 * in-suite fuzz run; the functions take plain buffers so libFuzzer can drive them too)
 * must never crash or leak. */
#include "check.h"
#include "llm/llm_stream.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char out[8192];
    size_t len;
    int n;
} collect;

static int on_item(void *user, const char *s, size_t len) {
    collect *c = user;
    if (c->len + len + 2 < sizeof c->out) {
        memcpy(c->out + c->len, s, len);
        c->len += len;
        c->out[c->len++] = '|';
        c->out[c->len] = '\0';
    }
    c->n++;
    return 0;
}
static int on_line(void *user, char *s, size_t len) {
    return on_item(user, s, len);
}

static uint32_t rng = 12345;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_lines_split_invariance(void) {
    const char *text = "{\"a\":1}\r\n\n{\"b\":\"two\"}\nlast";
    size_t n = strlen(text);
    collect whole = {0};
    llm_lines l = {0};
    CHECK(llm_lines_feed(&l, text, n, on_line, &whole) == 0);
    CHECK_STR(whole.out, "{\"a\":1}||{\"b\":\"two\"}|");
    CHECK_EQ_INT(llm_lines_pending(&l), 4); /* "last" has no terminator: truncated */
    llm_lines_free(&l);
    for (int trial = 0; trial < 200; trial++) {
        collect c = {0};
        llm_lines p = {0};
        for (size_t i = 0; i < n;) {
            size_t k = 1 + next_rand() % 5;
            if (k > n - i) k = n - i;
            CHECK(llm_lines_feed(&p, text + i, k, on_line, &c) == 0);
            i += k;
        }
        CHECK_STR(c.out, whole.out);
        llm_lines_free(&p);
    }
}

static void test_line_bound(void) {
    llm_lines l = {.max_line = 16};
    collect c = {0};
    CHECK(llm_lines_feed(&l, "0123456789abcdef\n", 17, on_line, &c) == 0); /* exactly 16: fine */
    CHECK(llm_lines_feed(&l, "0123456789abcdefg", 17, on_line, &c) == -1);
    llm_lines_free(&l);
}

static void test_sse_events(void) {
    const char *text = ": comment\n\ndata: one\n\nevent: x\ndata:two\ndata: lines\r\n\r\nid: "
                       "3\n\ndata\n\ndata: [DONE]\n\n";
    size_t n = strlen(text);
    collect whole = {0};
    llm_sse s;
    llm_sse_init(&s, on_item, &whole);
    CHECK(llm_sse_feed(&s, text, n) == 0);
    /* comments and id-only events carry no data; "data" alone is an empty data field */
    CHECK_STR(whole.out, "one|two\nlines||[DONE]|");
    llm_sse_free(&s);
    for (int trial = 0; trial < 200; trial++) {
        collect c = {0};
        llm_sse p;
        llm_sse_init(&p, on_item, &c);
        for (size_t i = 0; i < n;) {
            size_t k = 1 + next_rand() % 7;
            if (k > n - i) k = n - i;
            CHECK(llm_sse_feed(&p, text + i, k) == 0);
            i += k;
        }
        CHECK_STR(c.out, whole.out);
        llm_sse_free(&p);
    }
}

static void test_chunk_readers(void) {
    llm_chunk c;
    const char *ok = "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}";
    CHECK(llm_ollama_chunk_parse(ok, strlen(ok), &c) == 0);
    CHECK_EQ_INT(c.text_len, 2);
    CHECK(memcmp(c.text, "Hi", 2) == 0);
    CHECK_EQ_INT(c.done, 0);
    llm_chunk_clear(&c);
    const char *fin = "{\"done\":true,\"done_reason\":\"length\",\"prompt_eval_count\":9}";
    CHECK(llm_ollama_chunk_parse(fin, strlen(fin), &c) == 0);
    CHECK_EQ_INT(c.done, 1);
    CHECK_EQ_INT(c.finish, LLM_FINISH_LENGTH);
    CHECK_EQ_INT(c.prompt_tokens, 9);
    llm_chunk_clear(&c);
    const char *bad[] = {
        "",   "[]", "{\"done\":\"no\"}", "{\"message\":[],\"done\":false}", "{\"done\":false}",
        "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(llm_ollama_chunk_parse(bad[i], strlen(bad[i]), &c) == -1);
        CHECK(c.error[0] != '\0');
        llm_chunk_clear(&c);
    }
    const char *oa = "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null},\"finish_"
                     "reason\":null}]}";
    CHECK(llm_openai_chunk_parse(oa, strlen(oa), &c) == 0);
    CHECK_EQ_INT(c.text_len, 0);
    CHECK_EQ_INT(c.done, 0);
    llm_chunk_clear(&c);
    const char *usage_only = "{\"choices\":[],\"usage\":{\"prompt_tokens\":5}}";
    CHECK(llm_openai_chunk_parse(usage_only, strlen(usage_only), &c) == 0);
    CHECK_EQ_INT(c.prompt_tokens, 5);
    llm_chunk_clear(&c);
    CHECK(llm_openai_chunk_parse("[DONE]", 6, &c) == 0);
    CHECK_EQ_INT(c.done, 1);
    llm_chunk_clear(&c);
}

typedef struct {
    int items;
    size_t longest;
} fuzz_stats;

static int on_line_parse(void *user, char *s, size_t len) {
    fuzz_stats *st = user;
    st->items++;
    if (len > st->longest) st->longest = len;
    llm_chunk c;
    llm_ollama_chunk_parse(s, len, &c);
    llm_chunk_clear(&c);
    llm_openai_chunk_parse(s, len, &c);
    llm_chunk_clear(&c);
    return 0;
}
static int on_event_parse(void *user, const char *s, size_t len) {
    return on_line_parse(user, (char *)s, len);
}

/* Random bytes biased towards the formats' own characters. */
static void test_random_input_is_harmless(void) {
    static const char alphabet[] = "{}[]\":,\n\r data:event[DONE]\\u00e9 "
                                   "truefalsenull0123456789choicesdeltacontentmessagedone";
    char buf[2048];
    for (int trial = 0; trial < 3000; trial++) {
        size_t n = next_rand() % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (next_rand() % 8) ? alphabet[next_rand() % (sizeof alphabet - 1)]
                                       : (char)next_rand();
        int newlines = 0;
        for (size_t i = 0; i < n; i++)
            newlines += buf[i] == '\n';
        fuzz_stats st = {0};
        llm_lines l = {.max_line = 512};
        llm_lines_feed(&l, buf, n, on_line_parse, &st);
        llm_lines_free(&l);
        /* Never more lines than terminators, never a line over the bound. */
        CHECK(st.items <= newlines);
        CHECK(st.longest <= 512);
        fuzz_stats ev = {0};
        llm_sse s;
        llm_sse_init(&s, on_event_parse, &ev);
        llm_sse_feed(&s, buf, n);
        llm_sse_free(&s);
        CHECK(ev.items <= newlines / 2 + 1); /* an event needs a data line and a blank line */
        CHECK(ev.longest <= n);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_lines_split_invariance);
    RUN(test_line_bound);
    RUN(test_sse_events);
    RUN(test_chunk_readers);
    RUN(test_random_input_is_harmless);
    return CHECK_DONE(argv[0]);
}
