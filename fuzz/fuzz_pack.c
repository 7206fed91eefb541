/* The knowledge pack loader and the reference-data importer: one file of a pack
 * folder replaced by the input (the first byte chooses which), the rest valid or
 * absent. Whatever the bytes, loading ends in a pack or an error, and every issue is
 * reported, never a crash. */
#include "brain/pack.h"
#include "core/log.h"
#include "fuzz.h"

#include <sys/stat.h>

static const char *const files[] = {
    "items.json",
    "templates.json",
    "facts.json",
    "responses.json",
    "pronunciations.tsv",
    "utterances.tsv",
    "pack.json",
    /* reference deployment's names: imported when pack.json is absent */
    "template_database.json",
    "rag_knowledge_base.json",
    "inventory.json",
    "project_ideas_rag.json",
    "carousel_mapping.json",
    "production_dataset.json",
};
#define NFILES (sizeof files / sizeof files[0])
#define FIRST_REFERENCE 7

static void put(const char *dir, const char *name, const uint8_t *data, size_t size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    log_set_level(AX_LOG_OFF);
    size_t which = data[0] % NFILES;
    data++, size--;
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/axiom-fuzz-pack-%d", (int)getpid());
    mkdir(dir, 0700);
    for (size_t i = 0; i < NFILES; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    if (which < FIRST_REFERENCE && which != 6) {
        static const char meta[] = "{\"format\":\"axiom-pack\",\"version\":1,\"name\":\"fuzz\"}";
        put(dir, "pack.json", (const uint8_t *)meta, sizeof meta - 1);
        static const char items[] =
            "[{\"id\":\"arm\",\"name\":\"Robot Arm\",\"category\":\"robot\",\"card_index\":0}]";
        if (which != 0) put(dir, "items.json", (const uint8_t *)items, sizeof items - 1);
    }
    put(dir, files[which], data, size);
    char err[512];
    pack *p = pack_load(dir, NULL, err, sizeof err);
    if (p) {
        for (size_t i = 0; i < p->n_items; i++)
            if (p->items[i].card_index < -1) abort(); /* indices are validated on load */
        pack_free(p);
    } else if (!err[0]) {
        abort(); /* a failed load always says why */
    }
    return 0;
}
