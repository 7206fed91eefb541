/* The recogniser's language model and dictionary writers, fed pack sentences as any
 * file could hold them (one per line): normalisation, trigram counts, the ARPA file,
 * the pronunciation dictionary (stock dictionary, pack hints from "word<TAB>phones"
 * lines, letter-to-sound rules) and per-word phones. */
#include "fuzz.h"
#include "speech/lm_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 20000) return 0;
    char *text = fuzz_cstr(data, size);
    const char *sent[256], *hw[64], *hp[64];
    size_t ns = 0, nh = 0;
    for (char *line = text, *next; line && ns < 256; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *tab = strchr(line, '\t');
        if (tab && nh < 64) {
            *tab = '\0';
            hw[nh] = line, hp[nh++] = tab + 1;
        } else {
            sent[ns++] = line;
        }
    }
    char norm[512], phones[512];
    lm_counts *c = lm_counts_new();
    for (size_t i = 0; c && i < ns; i++) {
        size_t n = lm_normalize(sent[i], norm, sizeof norm);
        if (n >= sizeof norm) abort();
        lm_counts_add(c, sent[i]);
    }
    if (c) {
        const char **words = NULL;
        size_t nw = lm_counts_vocab(c, &words);
        for (size_t i = 0; i < nw && i < 64; i++) lm_word_phones(words[i], phones, sizeof phones);
        char err[512], arpa[64], dict[64], extra[64];
        snprintf(arpa, sizeof arpa, "/tmp/axiom-fuzz-%d.arpa", (int)getpid());
        snprintf(dict, sizeof dict, "/tmp/axiom-fuzz-%d.dict", (int)getpid());
        snprintf(extra, sizeof extra, "/tmp/axiom-fuzz-%d.extra", (int)getpid());
        size_t ng[3];
        lm_write_arpa(c, arpa, ng, err, sizeof err);
        stt_corpus corpus = {sent, ns, hw, hp, nh, ""};
        size_t oov = 0;
        lm_write_dict(c, &corpus, "/nonexistent/cmudict.dict", dict, extra, &oov, err, sizeof err);
        lm_counts_free(c);
    }
    free(text);
    return 0;
}
