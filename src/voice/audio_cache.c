/* LRU of synthesised sentences: a doubly linked recency list plus a small open hash
 * table of bucket chains. Entries hold their text and samples in one allocation. */
#include "voice/audio_cache.h"

#include "core/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

typedef struct entry {
    struct entry *prev, *next; /* recency: head = most recent */
    struct entry *chain;       /* bucket */
    uint64_t hash;
    int rate;
    size_t n;     /* samples */
    size_t bytes; /* whole allocation */
    int16_t *pcm;
    char text[];
} entry;

struct audio_cache {
    pthread_mutex_t mu;
    size_t max_bytes, bytes, entries;
    int64_t hits, misses;
    entry *head, *tail;
    entry *buckets[NBUCKETS];
};

static uint64_t hash_of(const char *text, int rate) {
    /* In memory only: the standard start, mixed with the rate. */
    return fnv1a64_str(FNV1A64_INIT ^ (uint64_t)rate, text);
}

audio_cache *audio_cache_new(size_t max_bytes) {
    audio_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    return c;
}

static void unlink_lru(audio_cache *c, entry *e) {
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(audio_cache *c, entry *e) {
    e->prev = NULL;
    e->next = c->head;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
}

static void remove_entry(audio_cache *c, entry *e) {
    unlink_lru(c, e);
    entry **pp = &c->buckets[e->hash % NBUCKETS];
    while (*pp && *pp != e)
        pp = &(*pp)->chain;
    if (*pp) *pp = e->chain;
    c->bytes -= e->bytes;
    c->entries--;
    free(e);
}

static entry *find(audio_cache *c, const char *text, int rate, uint64_t h) {
    for (entry *e = c->buckets[h % NBUCKETS]; e; e = e->chain)
        if (e->hash == h && e->rate == rate && strcmp(e->text, text) == 0) return e;
    return NULL;
}

int audio_cache_get(audio_cache *c, const char *text, int rate, int16_t **pcm, size_t *n) {
    if (!c || !c->max_bytes) return 0;
    uint64_t h = hash_of(text, rate);
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, text, rate, h);
    if (!e) {
        c->misses++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    int16_t *copy = malloc(e->n * sizeof *copy + 1);
    if (copy) {
        memcpy(copy, e->pcm, e->n * sizeof *copy);
        unlink_lru(c, e);
        push_front(c, e);
        c->hits++;
        *pcm = copy;
        *n = e->n;
    }
    pthread_mutex_unlock(&c->mu);
    return copy != NULL;
}

void audio_cache_put(audio_cache *c, const char *text, int rate, const int16_t *pcm, size_t n) {
    if (!c || !c->max_bytes) return;
    size_t tl = strlen(text) + 1;
    size_t bytes = sizeof(entry) + tl + n * sizeof(int16_t) + sizeof(int16_t);
    if (bytes > c->max_bytes / 4) return;
    uint64_t h = hash_of(text, rate);
    entry *e = malloc(bytes);
    if (!e) return;
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->rate = rate;
    e->n = n;
    e->bytes = bytes;
    memcpy(e->text, text, tl);
    /* Samples after the text, aligned for int16. */
    uintptr_t at = ((uintptr_t)(e->text + tl) + 1) & ~(uintptr_t)1;
    e->pcm = (int16_t *)at;
    memcpy(e->pcm, pcm, n * sizeof *pcm);
    pthread_mutex_lock(&c->mu);
    entry *old = find(c, text, rate, h);
    if (old) remove_entry(c, old);
    while (c->tail && c->bytes + bytes > c->max_bytes)
        remove_entry(c, c->tail);
    push_front(c, e);
    e->chain = c->buckets[h % NBUCKETS];
    c->buckets[h % NBUCKETS] = e;
    c->bytes += bytes;
    c->entries++;
    pthread_mutex_unlock(&c->mu);
}

int64_t audio_cache_drop(void *cache) {
    audio_cache *c = cache;
    pthread_mutex_lock(&c->mu);
    int64_t released = (int64_t)c->bytes;
    while (c->tail)
        remove_entry(c, c->tail);
    pthread_mutex_unlock(&c->mu);
    return released;
}

void audio_cache_stats(audio_cache *c, size_t *bytes, size_t *entries, int64_t *hits,
                       int64_t *misses) {
    pthread_mutex_lock(&c->mu);
    *bytes = c->bytes;
    *entries = c->entries;
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}

void audio_cache_free(audio_cache *c) {
    if (!c) return;
    audio_cache_drop(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
