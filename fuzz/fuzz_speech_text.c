/* Answer shaping and the streaming sentence splitter: any text (including invalid
 * UTF-8 and control bytes) shapes and splits without crashing, and the splitter never
 * returns a sentence longer than its bound. */
#include "brain/speech_text.h"
#include "fuzz.h"

static void on_sentence(void *user, const char *sentence) {
    size_t *bound = user;
    if (strlen(sentence) > *bound) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    char *shaped = speech_shape(text);
    free(shaped);
    size_t bound = 256;
    sentence_splitter *sp = splitter_new(bound);
    if (sp) {
        size_t step = size ? (size_t)data[0] % 7 + 1 : 1;
        for (size_t off = 0; off < size; off += step) {
            size_t n = size - off < step ? size - off : step;
            splitter_feed(sp, text + off, n, on_sentence, &bound);
        }
        splitter_flush(sp, on_sentence, &bound);
        splitter_free(sp);
    }
    free(text);
    return 0;
}
