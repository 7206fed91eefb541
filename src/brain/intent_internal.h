/* Shared between intent.c (training, prediction), intent_text.c (features, the social
 * rule) and intent_cache.c (the cache file). Not a public interface. */
#ifndef AXIOM_INTENT_INTERNAL_H
#define AXIOM_INTENT_INTERNAL_H

#include "brain/intent.h"

#include <stdint.h>

#define INTENT_K INTENT_NCLASSES
/* Features per utterance at most: enough for ~150 words; the rest is ignored, which
 * bounds the prediction's stack use and time. */
#define INTENT_MAX_FEATS 2048
/* Bytes of an utterance that are read (after normalisation). */
#define INTENT_MAX_TEXT 4096

/* One utterance as features: distinct feature keys with their counts. Bit 63 of a key
 * tells the block (0 word n-gram, 1 character n-gram); bit 0 is always set so 0 can
 * mark an empty slot. */
typedef struct {
    uint64_t key;
    float count;
} intent_feat;

/* Extracts and deduplicates the features of text into out (cap entries), sorted by
 * key. Returns how many. */
size_t intent_text_features(const char *text, const intent_params *p, intent_feat *out, size_t cap);

/* The share of greeting / thanks / okay words among the words of text that are not
 * filler (0..1; 1 when all are filler, 0 for no words), and the number of words. */
float intent_social_share(const char *text, int *nwords);

struct intent_model {
    intent_params params;
    uint32_t nfeat;
    uint32_t table_mask;  /* open-addressing table of feature keys, size mask + 1 */
    uint64_t *table_keys; /* 0 = empty */
    uint32_t *table_idx;  /* feature index of the slot's key */
    uint64_t *feat_keys;  /* by feature index (kept for the cache file) */
    float *idf;           /* by feature index */
    float *w;             /* nfeat x INTENT_K */
    float bias[INTENT_K];
    float temperature;
    uint64_t data_hash;
    intent_suspect *suspects;
    size_t nsuspects;
};

/* Builds the key table from feat_keys (after training or loading). Returns 0 or -1. */
int intent_model_index(intent_model *m);

#endif
