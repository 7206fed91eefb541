/* A recogniser corpus read straight from a folder of JSON files, for when no brain is
 * attached (the `transcribe` command, tests, benchmarks). Every string under a key
 * users say or name things with ("question", "query", "text", "name", "entity",
 * "project_title", and lists of item names) becomes one sentence; duplicates (same
 * normal form) are kept once; a subtree named "stt_errors" (recorded recogniser mistakes)
 * is skipped. The brain's own provider replaces this in the server. */
#ifndef AXIOM_STT_CORPUS_H
#define AXIOM_STT_CORPUS_H

#include "speech/stt.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **hint_words, **hint_phones, **hint_heard; /* from pronunciations.tsv */
    size_t n_hints, hints_cap;
    char **sentences;
    unsigned char *is_question; /* 1 for questions/utterances, 0 for names */
    size_t n, cap;
    uint64_t *seen; /* normal-form hashes, open addressing (duplicate check) */
    size_t nseen_slots;
    uint64_t h;
    char hash[17];
    stt_corpus corpus; /* view over all sentences */
} stt_text_corpus;

/* Reads every *.json file of dir (at most 64 MiB each), plus the pack's TSV files:
 * utterances.tsv (intent<TAB>utterance) and pronunciations.tsv
 * (word<TAB>heard-as<TAB>CMU phones, the phones becoming hints). Returns NULL with err when the
 * folder cannot be read or holds no sentences. */
stt_text_corpus *stt_text_corpus_load(const char *dir, char *err, size_t errlen);
/* Adds one sentence (copied; ignored when a duplicate). Returns 0 or -1. */
int stt_text_corpus_add(stt_text_corpus *c, const char *sentence, int is_question);
void stt_text_corpus_free(stt_text_corpus *c);
/* A provider that hands out c->corpus (c must outlive the engine). */
stt_corpus_provider stt_text_corpus_provider(stt_text_corpus *c);

/* A provider that reads dir only when the recogniser loads, and frees the text right
 * after (nothing heavy at start-up). dir is copied. Free with stt_dir_provider_free. */
stt_corpus_provider *stt_dir_provider_new(const char *dir);
void stt_dir_provider_free(stt_corpus_provider *p);

#endif
