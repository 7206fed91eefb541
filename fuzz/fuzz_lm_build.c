/* The recogniser's language model and dictionary writers, fed pack sentences as any
 * file could hold them (one per line): normalisation, trigram counts, the ARPA file,
 * the pronunciation dictionary (stock dictionary, pack hints from "word<TAB>phones"
 * lines, letter-to-sound rules) and per-word phones; digit names kept whole, heard-as
 * forms ("word<TAB>phones<TAB>a|b") and general-English words mixed into the unigrams. */
#include "fuzz.h"
#include "speech/lm_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 20000) return 0;
    char *text = fuzz_cstr(data, size);
    const char *sent[256], *hw[64], *hp[64], *hh[64];
    size_t ns = 0, nh = 0;
    for (char *line = text, *next; line && ns < 256; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *tab = strchr(line, '\t');
        if (tab && nh < 64) {
            *tab = '\0';
            char *tab2 = strchr(tab + 1, '\t'); /* word, phones, heard-as forms */
            if (tab2) *tab2 = '\0';
            hw[nh] = line, hp[nh] = tab + 1, hh[nh++] = tab2 ? tab2 + 1 : NULL;
        } else {
            sent[ns++] = line;
        }
    }
    char norm[512], phones[512];
    stt_corpus corpus = {sent, ns, hw, hp, nh, "", hh};
    lm_keep keep;
    if (lm_keep_from_corpus(&corpus, &keep) != 0) abort();
    lm_counts *c = lm_counts_new();
    if (c) lm_counts_set_keep(c, &keep);
    for (size_t i = 0; c && i < ns; i++) {
        size_t n = lm_normalize_keep(sent[i], &keep, norm, sizeof norm);
        if (n >= sizeof norm) abort();
        lm_counts_add(c, sent[i]);
    }
    /* the first sentences double as general-English words with made-up weights */
    double gp[8];
    for (size_t i = 0; i < 8; i++)
        gp[i] = (double)(i % 3);
    if (c && ns) lm_counts_set_general(c, sent, gp, ns < 8 ? ns : 8, 0.2);
    if (c) {
        const char **words = NULL;
        size_t nw = lm_counts_vocab(c, &words);
        for (size_t i = 0; i < nw && i < 64; i++)
            lm_word_phones(words[i], phones, sizeof phones);
        char err[512], arpa[64], dict[64], extra[64];
        snprintf(arpa, sizeof arpa, "/tmp/axiom-fuzz-%d.arpa", (int)getpid());
        snprintf(dict, sizeof dict, "/tmp/axiom-fuzz-%d.dict", (int)getpid());
        snprintf(extra, sizeof extra, "/tmp/axiom-fuzz-%d.extra", (int)getpid());
        size_t ng[3];
        lm_write_arpa(c, arpa, ng, err, sizeof err);
        size_t oov = 0;
        lm_write_dict(c, &corpus, "/nonexistent/cmudict.dict", dict, extra, &oov, err, sizeof err);
        lm_counts_free(c);
    }
    lm_keep_free(&keep);
    free(text);
    return 0;
}
