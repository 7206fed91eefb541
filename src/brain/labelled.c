/* Labelled utterances: loading a pack's utterances.tsv or the reference deployment's
 * production_dataset.json, tolerant of bad rows, and the backup merge policy.
 * See labelled.h. */
#include "brain/labelled.h"

#include "core/log.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Bounds: a label file larger than this is not a label file; a row longer than this
 * is not an utterance. */
#define LABELLED_MAX_FILE (64u << 20)
#define LABELLED_MAX_TEXT 4096u
#define LABELLED_MAX_FILES 64u

struct labelled_set {
    labelled_row *rows;
    size_t n, cap;
    size_t errors;
    char *files[LABELLED_MAX_FILES]; /* interned file names the rows point at */
    size_t nfiles;
};

static const char *const label_names[] = {
    "acknowledgment", "capability_check", "compatibility_check", "equipment_query", "greeting",
    "guidance",       "lab_info",         "project_idea",        "troubleshooting", "unknown",
};

const char *intent_label_name(intent_label label) {
    if ((unsigned)label > INTENT_UNKNOWN) return "?";
    return label_names[label];
}

int intent_label_parse(const char *name, intent_label *out) {
    if (!name) return -1;
    while (isspace((unsigned char)*name))
        name++;
    size_t len = strlen(name);
    while (len && isspace((unsigned char)name[len - 1]))
        len--;
    for (unsigned i = 0; i <= INTENT_UNKNOWN; i++) {
        if (strlen(label_names[i]) == len && strncasecmp(label_names[i], name, len) == 0) {
            if (out) *out = (intent_label)i;
            return 0;
        }
    }
    /* The reference data and older packs spell it with an e. */
    if (len == 15 && strncasecmp(name, "acknowledgement", len) == 0) {
        if (out) *out = INTENT_ACKNOWLEDGMENT;
        return 0;
    }
    return -1;
}

labelled_set *labelled_set_new(void) {
    return calloc(1, sizeof(labelled_set));
}

void labelled_set_free(labelled_set *set) {
    if (!set) return;
    for (size_t i = 0; i < set->n; i++)
        free(set->rows[i].text);
    for (size_t i = 0; i < set->nfiles; i++)
        free(set->files[i]);
    free(set->rows);
    free(set);
}

size_t labelled_set_count(const labelled_set *set) {
    return set ? set->n : 0;
}
const labelled_row *labelled_set_rows(const labelled_set *set) {
    return set ? set->rows : NULL;
}
size_t labelled_set_errors(const labelled_set *set) {
    return set ? set->errors : 0;
}

static const char *intern_file(labelled_set *set, const char *file) {
    if (!file) file = "(memory)";
    for (size_t i = 0; i < set->nfiles; i++)
        if (strcmp(set->files[i], file) == 0) return set->files[i];
    if (set->nfiles == LABELLED_MAX_FILES) return "(other file)";
    char *copy = strdup(file);
    if (!copy) return "(memory)";
    set->files[set->nfiles++] = copy;
    return copy;
}

int labelled_set_add(labelled_set *set, intent_label label, const char *text, const char *file,
                     unsigned row, labelled_origin origin) {
    if (!set || !text || (unsigned)label >= INTENT_NCLASSES) return -1;
    size_t len = strnlen(text, LABELLED_MAX_TEXT + 1);
    if (len == 0 || len > LABELLED_MAX_TEXT) return -1;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        labelled_row *rows = realloc(set->rows, cap * sizeof *rows);
        if (!rows) return -1;
        set->rows = rows;
        set->cap = cap;
    }
    char *copy = strndup(text, len);
    if (!copy) return -1;
    labelled_row *r = &set->rows[set->n++];
    r->label = label;
    r->text = copy;
    r->file = intern_file(set, file);
    r->row = row;
    r->origin = origin;
    return 0;
}

static void report(labelled_set *set, labelled_warn_fn warn, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(labelled_set *set, labelled_warn_fn warn, void *ctx, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set->errors++;
    if (warn)
        warn(ctx, msg);
    else
        LOG_W("labelled", "%s", msg);
}

/* Text is usable when it has at least one letter or digit once trimmed. */
static int text_usable(const char *t) {
    for (; *t; t++)
        if (isalnum((unsigned char)*t) || (unsigned char)*t >= 0x80) return 1;
    return 0;
}

int labelled_load_tsv(labelled_set *set, const char *path, labelled_origin origin,
                      labelled_warn_fn warn, void *ctx, char *err, size_t errlen) {
    size_t len = 0;
    char *buf = file_read_all(path, LABELLED_MAX_FILE, &len, err, errlen);
    if (!buf) return -1;
    int added = 0;
    unsigned lineno = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line_end = nl ? nl : end;
        lineno++;
        char *line = p;
        p = nl ? nl + 1 : end;
        if (line_end > line && line_end[-1] == '\r') line_end--;
        *line_end = '\0';
        if (strlen(line) != (size_t)(line_end - line)) {
            report(set, warn, ctx, "%s:%u: field 'text': holds a NUL byte; fix or delete the row",
                   path, lineno);
            continue;
        }
        while (*line == ' ')
            line++;
        if (*line == '\0' || *line == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab) {
            report(set, warn, ctx,
                   "%s:%u: field 'text': missing; a row is intent<TAB>utterance (no tab found)",
                   path, lineno);
            continue;
        }
        *tab = '\0';
        char *text = tab + 1;
        intent_label label;
        if (intent_label_parse(line, &label) != 0 || label == INTENT_UNKNOWN) {
            report(set, warn, ctx,
                   "%s:%u: field 'intent': '%.40s' is not an intent; use one of acknowledgment, "
                   "capability_check, compatibility_check, equipment_query, greeting, guidance, "
                   "lab_info, project_idea, troubleshooting",
                   path, lineno, line);
            continue;
        }
        /* A second tab would be a stray column: keep the utterance, drop the rest. */
        char *tab2 = strchr(text, '\t');
        if (tab2) *tab2 = '\0';
        if (!text_usable(text) || strlen(text) > LABELLED_MAX_TEXT) {
            report(set, warn, ctx, "%s:%u: field 'text': %s; write the utterance after the tab",
                   path, lineno, text_usable(text) ? "longer than 4096 bytes" : "empty");
            continue;
        }
        if (labelled_set_add(set, label, text, path, lineno, origin) != 0) {
            snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
            free(buf);
            return -1;
        }
        added++;
    }
    free(buf);
    return added;
}

int labelled_load_json(labelled_set *set, const char *path, labelled_origin origin,
                       labelled_warn_fn warn, void *ctx, char *err, size_t errlen) {
    size_t len = 0;
    char *buf = file_read_all(path, LABELLED_MAX_FILE, &len, err, errlen);
    if (!buf) return -1;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!root) {
        snprintf(err, errlen, "%s: not valid JSON; it should be a list of {\"text\", \"label\"}",
                 path);
        return -1;
    }
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        snprintf(err, errlen,
                 "%s: the top level is not a list; it should be a list of "
                 "{\"text\", \"label\"}",
                 path);
        return -1;
    }
    int added = 0;
    unsigned idx = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        idx++;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "text");
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(item, "label");
        if (!l) l = cJSON_GetObjectItemCaseSensitive(item, "intent");
        if (!cJSON_IsObject(item)) {
            report(set, warn, ctx, "%s: row %u: not an object; each row is {\"text\", \"label\"}",
                   path, idx);
            continue;
        }
        if (!cJSON_IsString(t) || !text_usable(t->valuestring) ||
            strlen(t->valuestring) > LABELLED_MAX_TEXT) {
            report(set, warn, ctx,
                   "%s: row %u: field 'text': missing, empty, not a string or over 4096 bytes; "
                   "give the utterance as a string",
                   path, idx);
            continue;
        }
        intent_label label;
        if (!cJSON_IsString(l) || intent_label_parse(l->valuestring, &label) != 0 ||
            label == INTENT_UNKNOWN) {
            report(set, warn, ctx,
                   "%s: row %u: field 'label': %s%.40s%s is not an intent; use one of the nine "
                   "intents (greeting, guidance, ...)",
                   path, idx, cJSON_IsString(l) ? "'" : "",
                   cJSON_IsString(l) ? l->valuestring : "missing or not a string",
                   cJSON_IsString(l) ? "'" : "");
            continue;
        }
        if (labelled_set_add(set, label, t->valuestring, path, idx, origin) != 0) {
            snprintf(err, errlen, "%s: row %u: out of memory", path, idx);
            cJSON_Delete(root);
            return -1;
        }
        added++;
    }
    cJSON_Delete(root);
    return added;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int labelled_load_dir(labelled_set *set, const char *dir, labelled_origin origin,
                      labelled_warn_fn warn, void *ctx, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/utterances.tsv", dir);
    if (file_exists(path)) return labelled_load_tsv(set, path, origin, warn, ctx, err, errlen);
    snprintf(path, sizeof path, "%s/production_dataset.json", dir);
    if (file_exists(path)) return labelled_load_json(set, path, origin, warn, ctx, err, errlen);
    snprintf(err, errlen,
             "%s: holds neither utterances.tsv (an AXIOM pack) nor production_dataset.json (the "
             "reference data); point --data at a pack folder",
             dir);
    return -1;
}

size_t labelled_normalise(const char *text, char *out, size_t outlen) {
    if (!outlen) return 0;
    size_t o = 0;
    int space = 1; /* suppress leading spaces */
    const unsigned char *s = (const unsigned char *)text;
    while (*s && o + 1 < outlen) {
        unsigned c = *s;
        int sep = 0, skip = 1;
        if (c < 0x80) {
            sep = !isalnum((int)c);
        } else if (c == 0xE2 && s[1] == 0x80 && s[2] >= 0x80 && s[2] <= 0xBF) {
            /* U+2000..U+203F: Unicode spaces, dashes, quotes, bullets, ellipsis. */
            sep = 1;
            skip = 3;
        } else if (c == 0xC2 && s[1] == 0xA0) {
            sep = 1; /* no-break space */
            skip = 2;
        }
        if (sep) {
            if (!space) {
                out[o++] = ' ';
                space = 1;
            }
        } else {
            out[o++] = (char)tolower((int)c);
            space = 0;
            skip = 1;
        }
        s += skip;
    }
    if (o && out[o - 1] == ' ') o--;
    out[o] = '\0';
    return o;
}

/* Open addressing on normalised-text hashes, so a backup merge is linear. */

static uint64_t text_key(const char *text) {
    char norm[LABELLED_MAX_TEXT + 1];
    size_t n = labelled_normalise(text, norm, sizeof norm);
    return fnv1a64(FNV1A64_INIT, norm, n) | 1; /* 0 marks an empty slot */
}

int labelled_set_add_backup(labelled_set *set, const labelled_set *backup) {
    if (!set || !backup) return -1;
    size_t cap = 64;
    while (cap < 2 * (set->n + backup->n))
        cap *= 2;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < set->n; i++) {
        uint64_t k = text_key(set->rows[i].text);
        size_t j = k & (cap - 1);
        while (slots[j] && slots[j] != k)
            j = (j + 1) & (cap - 1);
        slots[j] = k;
    }
    int added = 0;
    for (size_t i = 0; i < backup->n; i++) {
        const labelled_row *r = &backup->rows[i];
        uint64_t k = text_key(r->text);
        size_t j = k & (cap - 1);
        while (slots[j] && slots[j] != k)
            j = (j + 1) & (cap - 1);
        if (slots[j] == k) continue; /* the imported pack already says something about it */
        slots[j] = k;
        if (labelled_set_add(set, r->label, r->text, r->file, r->row, LABELLED_BACKUP) != 0) {
            free(slots);
            return -1;
        }
        added++;
    }
    free(slots);
    return added;
}

int labelled_load_pack(labelled_set *set, const char *dir, const char *default_dir,
                       labelled_warn_fn warn, void *ctx, size_t *backup_rows, char *err,
                       size_t errlen) {
    if (backup_rows) *backup_rows = 0;
    int n = labelled_load_dir(set, dir, LABELLED_PRIMARY, warn, ctx, err, errlen);
    if (n < 0 || !default_dir || !*default_dir) return n;
    char a[PATH_MAX], b[PATH_MAX], path[PATH_MAX + 32];
    if (realpath(dir, a) && realpath(default_dir, b) && strcmp(a, b) == 0) return n;
    snprintf(path, sizeof path, "%s/utterances.tsv", default_dir);
    if (!file_exists(path)) return n;
    labelled_set *backup = labelled_set_new();
    if (!backup) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char berr[512];
    int nb = labelled_load_tsv(backup, path, LABELLED_BACKUP, warn, ctx, berr, sizeof berr);
    if (nb < 0) {
        /* The backup is a help, not a requirement: say so and go on. */
        LOG_W("labelled", "default pack not used as backup: %s", berr);
    } else {
        int added = labelled_set_add_backup(set, backup);
        if (added < 0) {
            labelled_set_free(backup);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (backup_rows) *backup_rows = (size_t)added;
    }
    labelled_set_free(backup);
    return n;
}

uint64_t labelled_rows_hash(const labelled_row *rows, size_t n) {
    uint64_t h = FNV1A64_INIT;
    for (size_t i = 0; i < n; i++) {
        unsigned char tag[2] = {(unsigned char)rows[i].label, (unsigned char)rows[i].origin};
        h = fnv1a64(h, tag, 2);
        h = fnv1a64(h, rows[i].text, strlen(rows[i].text) + 1);
    }
    return h;
}
