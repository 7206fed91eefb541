/* Labelled utterance files (utterances.tsv and production_dataset.json): a malformed
 * file loads what it can and counts the rest as errors. The first byte chooses the
 * format. */
#include "brain/labelled.h"
#include "fuzz.h"

static void quiet(void *ctx, const char *message) {
    (void)ctx;
    if (!message || !*message) abort(); /* every bad row must be explained */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int json = data[0] & 1;
    const char *path = fuzz_file(data + 1, size - 1, json ? ".json" : ".tsv");
    labelled_set *set = labelled_set_new();
    char err[512];
    if (json)
        labelled_load_json(set, path, LABELLED_PRIMARY, quiet, NULL, err, sizeof err);
    else
        labelled_load_tsv(set, path, LABELLED_PRIMARY, quiet, NULL, err, sizeof err);
    labelled_set_free(set);
    return 0;
}
