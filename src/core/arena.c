/* Bounded bump allocator. Blocks are chained newest first; an allocation that does
 * not fit in the current block opens a new one of at least double the previous size
 * (capped by what is left of the budget), so a turn needs few malloc calls and the
 * cap is never exceeded, not even by block headers' worth of rounding. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_BLOCK 4096
#define ALIGN _Alignof(max_align_t)

typedef struct block {
    struct block *next;
    size_t size, used;
    _Alignas(max_align_t) unsigned char data[];
} block;

struct arena {
    block *head;
    size_t cap, reserved, used, peak, last_size;
    int failed;
};

arena *arena_new(size_t cap_bytes) {
    arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->cap = cap_bytes ? cap_bytes : (size_t)1 << 20;
    return a;
}

static void free_blocks(block *b, block *keep) {
    while (b && b != keep) {
        block *n = b->next;
        free(b);
        b = n;
    }
}

void arena_free(arena *a) {
    if (!a) return;
    free_blocks(a->head, NULL);
    free(a);
}

static block *new_block(arena *a, size_t need) {
    size_t size = a->last_size ? a->last_size * 2 : FIRST_BLOCK;
    if (size < need) size = need;
    size_t left = a->cap - a->reserved;
    if (size > left) size = left;
    if (size < need) return NULL;
    block *b = malloc(sizeof *b + size);
    if (!b) return NULL;
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    a->reserved += size;
    a->last_size = size;
    if (a->reserved > a->peak) a->peak = a->reserved;
    return b;
}

void *arena_alloc(arena *a, size_t size) {
    if (size == 0) size = 1;
    if (size > SIZE_MAX - ALIGN) {
        a->failed = 1;
        return NULL;
    }
    size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    block *b = a->head;
    if (!b || b->size - b->used < need) {
        b = new_block(a, need);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    return p;
}

void *arena_calloc(arena *a, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) {
        a->failed = 1;
        return NULL;
    }
    void *p = arena_alloc(a, n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    size_t len = strnlen(s, n);
    char *p = arena_alloc(a, len + 1);
    if (!p) return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, SIZE_MAX); }

char *arena_printf(arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->failed = 1;
        return NULL;
    }
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p) return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_reset(arena *a) {
    /* Keep the oldest (first, smallest) block: the common small turn then allocates
     * nothing at all. */
    block *first = a->head;
    while (first && first->next) first = first->next;
    free_blocks(a->head, first);
    a->head = first;
    a->reserved = first ? first->size : 0;
    a->last_size = a->reserved;
    if (first) first->used = 0;
    a->used = 0;
    a->failed = 0;
}

size_t arena_used(const arena *a) { return a->used; }
size_t arena_reserved(const arena *a) { return a->reserved; }
size_t arena_peak(const arena *a) { return a->peak; }
size_t arena_cap(const arena *a) { return a->cap; }
int arena_failed(const arena *a) { return a->failed; }
