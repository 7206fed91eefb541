/* A model-holding component (VAD model, recogniser, synthesiser, intent model,
 * knowledge index, LLM) as the memory governor sees it.
 *
 * The owner supplies load/unload callbacks; this module adds what every component
 * needs the same way: lazy loading on first acquire, a use count that keeps a
 * component from being unloaded while a turn is using it, the resident memory the
 * load really cost (RSS delta read from /proc/self/smaps_rollup, loads serialised so
 * the delta belongs to one component), the last-used time, and the reason of the
 * last failed load. All calls are thread-safe. Readers (component_get_info,
 * component_is_loaded) see a snapshot and never wait for a load in progress, so
 * status pages and session admission stay responsive while a large model loads. */
#ifndef AXIOM_COMPONENT_H
#define AXIOM_COMPONENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct axiom_component axiom_component;

typedef struct {
    const char *name; /* "stt", "tts", "vad", "intent", "index", "llm" */
    int load_order;   /* lower loads first: intent/index 10, vad 20, stt 30, tts 40, llm 90 */
    int essential;    /* failing to load it degrades a mode rather than a single answer */
    /* Returns 0, or -1 with a message for the log and /api/status. */
    int (*load)(void *ctx, char *err, size_t errlen);
    void (*unload)(void *ctx);
    /* Optional: bytes of model files mapped (counted apart from the RSS delta). */
    int64_t (*mapped_bytes)(void *ctx);
    void *ctx;
    int64_t idle_unload_ms; /* 0 = never unloaded for idleness */
} component_desc;

typedef struct {
    const char *name;
    int loaded;
    int in_use;
    int load_count, unload_count, fail_count;
    int64_t resident_bytes; /* RSS delta measured at the last load */
    int64_t mapped_bytes;
    int64_t load_us;      /* how long the last load took */
    int64_t last_used_ms; /* monotonic ms; 0 = never */
    char last_error[256];
    int loading; /* a load is running right now */
} component_info;

axiom_component *component_new(const component_desc *desc);
/* Unloads if loaded. The component must not be in use. */
void component_free(axiom_component *c);

/* Loads if needed (lazy), marks it used now and pins it until component_release.
 * Returns 0, or -1 with err (the load's reason, or that loading is refused). */
int component_acquire(axiom_component *c, char *err, size_t errlen);
void component_release(axiom_component *c);

/* Loads without pinning (governor preloading). Returns 0 or -1 with err. */
int component_load(axiom_component *c, char *err, size_t errlen);
/* Unloads when loaded and not in use. Returns the measured RSS drop in bytes (may be
 * 0 or negative when the allocator keeps pages), or -1 when it was busy or not loaded. */
int64_t component_unload(axiom_component *c);
/* Unloads if idle longer than its idle_unload_ms at now_ms. Same return as unload. */
int64_t component_unload_if_idle(axiom_component *c, int64_t now_ms);

/* Refuse (1) or allow (0) loading, e.g. under memory pressure or when a budget check
 * fails; a refused acquire fails with `reason`. */
void component_set_refused(axiom_component *c, int refused, const char *reason);

int component_is_loaded(const axiom_component *c);
const char *component_name(const axiom_component *c);
int component_load_order(const axiom_component *c);
void component_get_info(const axiom_component *c, component_info *out);

/* Fault injection for tests: AXIOM_FAIL_LOAD=name1,name2 makes those loads fail. */

#endif
