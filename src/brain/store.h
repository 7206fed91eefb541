/* The search store: full-text search with scores over a pack's facts, templates and
 * items. One interface, backends behind it (store_sqlite.c: SQLite FTS5 with bm25,
 * cached on disk by the pack's content hash so a second start does not rebuild).
 *
 * Queries are token lists, never raw text: callers pass the shared tokenizer's
 * output (letters and digits only), and the backend quotes each token itself, so
 * nothing a user says can change the query's syntax. A store is used by one thread at
 * a time per handle; the brain serialises access with its own lock. */
#ifndef AXIOM_STORE_H
#define AXIOM_STORE_H

#include "brain/mention.h"
#include "brain/pack.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { STORE_FACTS = 0, STORE_TEMPLATES, STORE_ITEMS } store_table;

typedef struct {
    int index;    /* into pack facts / templates / items */
    double score; /* higher is better (negated bm25) */
} store_hit;

typedef struct {
    int rebuilt;      /* 1 when the index was built now, 0 when the cache was used */
    int64_t build_us; /* time to open or build */
    char path[4096];  /* the cache file, "" for an in-memory index */
} store_info;

typedef struct store store;

typedef struct {
    const char *name;
    /* Opens the index for p under cache_dir (NULL or "" = in memory, no cache). A
     * build over a second shows progress on stderr when it is a terminal. */
    store *(*open)(const pack *p, const char *cache_dir, store_info *info, char *err,
                   size_t errlen);
    /* Up to k hits, best first; item >= 0 restricts facts and templates to that item.
     * Returns the number of hits, or -1 with err. */
    int (*search)(store *s, store_table t, const text_toks *q, int item, store_hit *out, int k,
                  char *err, size_t errlen);
    void (*close)(store *s);
} store_backend;

/* The backend by name ("sqlite"), or NULL. */
const store_backend *store_backend_find(const char *name);

extern const store_backend store_sqlite_backend;

#endif
