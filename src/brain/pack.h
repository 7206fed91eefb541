/* The knowledge pack in memory: items, templates, facts, pronunciation hints and
 * canned responses, loaded from an AXIOM pack folder (docs/knowledge-pack.md, format
 * version 1: pack_native.c) or imported from the reference deployment's data folder
 * (pack_import.c). All strings live in one arena owned by the pack.
 *
 * Loading is tolerant: a malformed file or record is reported as an issue naming the
 * file, the position (line:column for syntax errors, record number otherwise) and the
 * field, and the rest still loads. A pack is read-only once loaded; any number of
 * threads may read it. */
#ifndef AXIOM_PACK_H
#define AXIOM_PACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *id, *name, *category, *summary, *difficulty, *location, *checkout;
    const char **aliases; /* as written */
    size_t n_aliases;
    const char **spec_keys, **spec_vals;
    size_t n_specs;
    const char **capabilities;
    size_t n_capabilities;
    const char **compatible; /* item ids (native) or names (imported) */
    size_t n_compatible;
    int card_index;                      /* -1 = no UI card */
    const char *model_path, *model_name; /* NULL = no 3D model */
} pack_item;

typedef struct {
    const char *intent; /* one of the nine intent names */
    int item;           /* index into items, -1 = general */
    const char *question, *answer;
    /* The question is a recorded misrecognition ("what is the jetsun aurin na no"), kept
     * so that hearing it still finds the answer; never taught to the recogniser. */
    int misheard;
} pack_template;

typedef struct {
    const char *id, *topic, *text;
    int item; /* -1 = general */
} pack_fact;

typedef struct {
    const char *word;   /* as it should be written ("Jetson") */
    const char **heard; /* how the recogniser tends to hear it ("jet son") */
    size_t n_heard;
    const char *phones; /* CMU phones or NULL */
} pack_pron;

typedef enum {
    RESP_GREETING = 0,
    RESP_ACK,
    RESP_UNKNOWN,
    RESP_GOODBYE,
    RESP_EMPTY,
    RESP_N
} pack_resp_kind;

typedef struct pack pack;

struct pack {
    const char *dir;
    const char *kind; /* "axiom-pack" or "reference" */
    const char *name, *description;
    const char *lab_name, *lab_full_name, *lab_location, *lab_hours, *lab_contact;
    pack_item *items;
    size_t n_items;
    pack_template *templates;
    size_t n_templates;
    pack_fact *facts;
    size_t n_facts;
    pack_pron *prons;
    size_t n_prons;
    const char **responses[RESP_N];
    size_t n_responses[RESP_N];
    const char *llm_unavailable;
    const char *utterances_path; /* utterances.tsv or production_dataset.json, or NULL */
    char content_hash[33];       /* hex digest over every file read */
    /* Load issues, one line each: "items.json: record 4: field 'name': missing ...". */
    char **issues;
    size_t n_issues;
    int files_loaded;
    struct pack_arena *arena;
};

/* Loads dir: an AXIOM pack when dir/pack.json exists, else the reference deployment's
 * files. backup_dir (may be NULL) is the default pack, whose pronunciations and
 * responses fill in what an imported folder lacks. Returns NULL with err when nothing
 * usable loaded (missing folder, no items and no templates); issues go to the log. */
pack *pack_load(const char *dir, const char *backup_dir, char *err, size_t errlen);
void pack_free(pack *p);

/* Index of the item with this id, or -1. */
int pack_item_by_id(const pack *p, const char *id);

/* ---- used by the loaders ---- */
typedef struct pack_arena pack_arena;
char *pack_strdup(pack *p, const char *s);
char *pack_strndup(pack *p, const char *s, size_t n);
void *pack_alloc(pack *p, size_t n);
void pack_issue(pack *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds file bytes to the running content hash. */
void pack_hash_add(pack *p, const char *name, const char *data, size_t len);
/* Hashes a file the pack refers to but does not parse (labelled utterances: the
 * recogniser's corpus includes them, so they are part of the cache key). */
void pack_hash_file(pack *p, const char *dir, const char *file);
/* Reads a JSON file (bounded), hashing it; on a syntax error records an issue with
 * line:column and returns NULL. Missing optional files return NULL silently. */
struct cJSON *pack_read_json(pack *p, const char *dir, const char *file, int required);
/* Loads pronunciations.tsv / responses.json from a folder (shared by both loaders). */
void pack_load_pronunciations(pack *p, const char *dir, int required);
void pack_load_responses(pack *p, const char *dir, int required);
/* Fills responses still empty with built-in defaults. */
void pack_default_responses(pack *p);

int pack_load_native(pack *p, const char *dir);
int pack_load_reference(pack *p, const char *dir);

#endif
