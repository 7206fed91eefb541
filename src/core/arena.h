/* A bounded bump allocator for one turn's temporary memory (token lists, prompt
 * text, JSON being built). Everything allocated in a turn is released at once with
 * arena_reset at the end of the turn, on success and on error alike, so a turn can
 * never leak and never use more than the arena's cap.
 *
 * Memory comes in blocks allocated on demand (the first one small), so an arena that
 * is never used costs nothing; reset keeps the first block for the next turn.
 * Not thread-safe: one arena per turn / per worker. */
#ifndef AXIOM_ARENA_H
#define AXIOM_ARENA_H

#include <stddef.h>

typedef struct arena arena;

/* cap_bytes bounds the sum of all blocks; 0 means 1 MiB. Returns NULL when out of
 * memory. */
arena *arena_new(size_t cap_bytes);
void arena_free(arena *a);

/* Aligned for any type. Returns NULL (and leaves the arena usable) when the request
 * would exceed the cap or the system is out of memory; arena_failed() then says 1. */
void *arena_alloc(arena *a, size_t size);
void *arena_calloc(arena *a, size_t n, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
/* printf into the arena; NULL on error or when it would exceed the cap. */
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Releases everything allocated since creation or the last reset. */
void arena_reset(arena *a);

size_t arena_used(const arena *a);     /* bytes handed out since the last reset */
size_t arena_reserved(const arena *a); /* bytes held in blocks right now */
size_t arena_peak(const arena *a);     /* highest reserved since creation */
size_t arena_cap(const arena *a);
int arena_failed(const arena *a);      /* an allocation was refused since the last reset */

#endif
