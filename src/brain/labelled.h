/* Labelled utterances: the intent classifier's training data.
 *
 * Two sources are understood: an AXIOM pack's `utterances.tsv` (intent<TAB>text, `#`
 * comments, blank lines ignored) and the reference deployment's
 * `production_dataset.json` (a list of {"text": ..., "label": ...}). Loading is
 * tolerant: a bad row is reported (file, row, field, fix) and skipped; the rest loads.
 *
 * The merge policy lives here too: the default pack's clean utterances back up an
 * imported pack's (labelled_set_add_backup), so a noisy or thin import still knows
 * what a plain question of each intent looks like.
 *
 * A labelled_set is not thread-safe for writes; once filled it is read-only. */
#ifndef AXIOM_LABELLED_H
#define AXIOM_LABELLED_H

#include <stddef.h>
#include <stdint.h>

/* The nine intents of the knowledge pack, plus `unknown` (the classifier's answer
 * when nothing fits; never a training label). The order is the cache file's order:
 * append only. */
typedef enum {
    INTENT_ACKNOWLEDGMENT = 0,
    INTENT_CAPABILITY_CHECK,
    INTENT_COMPATIBILITY_CHECK,
    INTENT_EQUIPMENT_QUERY,
    INTENT_GREETING,
    INTENT_GUIDANCE,
    INTENT_LAB_INFO,
    INTENT_PROJECT_IDEA,
    INTENT_TROUBLESHOOTING,
    INTENT_UNKNOWN,
} intent_label;

#define INTENT_NCLASSES 9 /* trainable labels: everything before INTENT_UNKNOWN */

/* "greeting", ... "unknown"; "?" for an out-of-range value. */
const char *intent_label_name(intent_label label);
/* Parses a label name (case-insensitive, surrounding blanks ignored). Returns 0, or -1
 * when the name is not one of the ten. */
int intent_label_parse(const char *name, intent_label *out);

/* Where a row came from: the pack being loaded, or the default pack backing it up. */
typedef enum { LABELLED_PRIMARY = 0, LABELLED_BACKUP = 1 } labelled_origin;

typedef struct {
    intent_label label;
    char *text;       /* owned by the set, NUL-terminated UTF-8 (as read) */
    const char *file; /* file name it came from (owned by the set) */
    unsigned row;     /* 1-based line (tsv) or list index + 1 (json) */
    labelled_origin origin;
} labelled_row;

typedef struct labelled_set labelled_set;

labelled_set *labelled_set_new(void);
void labelled_set_free(labelled_set *set);

size_t labelled_set_count(const labelled_set *set);
/* The rows, contiguous; valid until the set is next changed or freed. */
const labelled_row *labelled_set_rows(const labelled_set *set);
/* Rows skipped because they were bad, over every load so far. */
size_t labelled_set_errors(const labelled_set *set);

/* Adds one row (text copied). Returns 0, or -1 on an empty text, a bad label, or
 * when out of memory. */
int labelled_set_add(labelled_set *set, intent_label label, const char *text, const char *file,
                     unsigned row, labelled_origin origin);

/* Called once per bad row with a message naming file, row, field and the fix; NULL
 * logs it as a warning instead. */
typedef void (*labelled_warn_fn)(void *ctx, const char *message);

/* Loads a pack's utterances.tsv / the reference production_dataset.json. Bad rows are
 * reported and skipped. Returns the number of rows added (>= 0), or -1 when the file
 * cannot be used at all (missing, unreadable, not JSON, not a list), with err naming
 * the file and the problem. */
int labelled_load_tsv(labelled_set *set, const char *path, labelled_origin origin,
                      labelled_warn_fn warn, void *ctx, char *err, size_t errlen);
int labelled_load_json(labelled_set *set, const char *path, labelled_origin origin,
                       labelled_warn_fn warn, void *ctx, char *err, size_t errlen);

/* Loads a data folder: DIR/utterances.tsv when present (an AXIOM pack), else
 * DIR/production_dataset.json (the reference deployment's data/). Returns rows added or
 * -1 with err when the folder holds neither. */
int labelled_load_dir(labelled_set *set, const char *dir, labelled_origin origin,
                      labelled_warn_fn warn, void *ctx, char *err, size_t errlen);

/* The merge policy: adds the backup set's rows (the default pack's clean utterances)
 * to set as LABELLED_BACKUP rows, except texts already present in set (normalised
 * comparison: case, blanks and punctuation ignored); the imported row keeps its label
 * and the classifier's suspect check judges it. Returns rows added or -1 (no memory). */
int labelled_set_add_backup(labelled_set *set, const labelled_set *backup);

/* What a pack loader calls: loads DIR's rows (labelled_load_dir) as LABELLED_PRIMARY
 * and, when DIR is not default_dir itself (same folder after resolving links), backs
 * them up with default_dir/utterances.tsv (labelled_set_add_backup). default_dir may be
 * NULL or lack the file: then DIR's rows stand alone. *backup_rows (may be NULL) gets
 * how many backup rows were added. Returns primary rows loaded, or -1 with err. */
int labelled_load_pack(labelled_set *set, const char *dir, const char *default_dir,
                       labelled_warn_fn warn, void *ctx, size_t *backup_rows, char *err,
                       size_t errlen);

/* A 64-bit FNV-1a hash of every row (label, text, origin, in order): the cache key
 * that says whether a cached model was trained on this data. */
uint64_t labelled_rows_hash(const labelled_row *rows, size_t n);

/* Normalises text for comparisons and features: ASCII lower case, every run of
 * non-alphanumeric ASCII (and of Unicode dashes, quotes, spaces) becomes one space, no
 * leading/trailing space; other non-ASCII bytes are kept. Writes at most outlen-1 bytes
 * (input beyond that is dropped) and returns the length written. */
size_t labelled_normalise(const char *text, char *out, size_t outlen);

#endif
