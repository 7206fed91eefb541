/* The memory governor: keeps AXIOM inside its memory budget instead of letting the
 * kernel's OOM killer decide.
 *
 * Every model-holding component (src/core/component.h) is registered here with
 * governor_add. The governor
 *   - loads them in order, lightest and most essential first (intent/index, vad, stt,
 *     tts, llm last), skipping any that fails or would not fit in the budget, with a
 *     logged reason, so the process runs in a degraded mode instead of dying;
 *   - watches memory (MemAvailable, swap, PSI, own RSS, the cgroup v1/v2 limit) from a
 *     background thread and moves between levels with hysteresis:
 *       ok -> warn (default 85% of budget): trim the heap, drop owned caches, unload
 *               idle components;
 *       warn -> critical (default 95%): refuse new sessions, unload the LLM, answer
 *               from templates only;
 *       and back down automatically when use falls below level - hysteresis;
 *   - unloads components idle longer than their idle_unload_ms and measures the drop;
 *   - exposes the mode in force, session admission, a JSON status and Prometheus lines.
 *
 * The budget is the smallest of mem.budget_mb, the cgroup limit and physical RAM.
 *
 * Ownership: the governor references components, it never frees them. Free the
 * governor (which stops its thread) before freeing the components it watches, or
 * call governor_remove first.
 *
 * Thread safety: every function may be called from any thread. */
#ifndef AXIOM_MEM_GOVERNOR_H
#define AXIOM_MEM_GOVERNOR_H

#include "core/component.h"
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct governor governor;
typedef struct cJSON cJSON;

typedef enum { GOV_LEVEL_OK = 0, GOV_LEVEL_WARN, GOV_LEVEL_CRITICAL } governor_level;

/* What the brain may use to answer, best first. */
typedef enum {
    GOV_MODE_FULL = 0,     /* templates, retrieval and the LLM */
    GOV_MODE_SKIP_LLM,     /* templates and retrieval */
    GOV_MODE_TEMPLATE_ONLY /* canned answers only */
} governor_mode;

/* One memory reading, as the watcher takes it. Bytes; -1 = not available. */
typedef struct {
    int64_t mem_total, mem_available, swap_total, swap_free;
    int64_t rss, pss;                      /* this process */
    int64_t cgroup_limit, cgroup_use;      /* binding cgroup limit (v2 min(max,high), v1 limit) */
    int cgroup_version;                    /* 0 = none found, 1, 2 */
    double psi_some_avg10, psi_full_avg10; /* percent; -1 = no PSI */
    int64_t budget;                        /* smallest of config, cgroup limit, RAM */
    int64_t used;                          /* what is counted against the budget */
    double use_pct;                        /* used / budget * 100 */
    const char *budget_source;             /* "config", "cgroup v1", "cgroup v2", "ram" */
} governor_reading;

/* Creates the governor from the mem.* settings (cfg may be NULL: defaults). Sets this
 * process's oom_score_adj (mem.oom_score_adj) when permitted. Starts no thread and
 * loads nothing. Returns NULL with err on failure. */
governor *governor_new(const axiom_config *cfg, char *err, size_t errlen);
/* Stops the watcher; forgets (does not unload or free) the components. */
void governor_free(governor *g);

/* Registers a component. expected_bytes (0 = unknown) is what loading it is expected
 * to cost, e.g. the model files' size; it is replaced by the measured cost after the
 * first load and used to refuse loads that would not fit. Returns 0, or -1 with err
 * (duplicate name, too many components). */
int governor_add(governor *g, axiom_component *c, int64_t expected_bytes, char *err, size_t errlen);
void governor_remove(governor *g, axiom_component *c);
/* The registered component with that name, or NULL. */
axiom_component *governor_find(governor *g, const char *name);

/* A cache the governor may empty at the warn level (e.g. synthesized audio). The
 * callback frees what it can and returns the bytes it released. */
int governor_add_cache(governor *g, const char *name, int64_t (*drop)(void *ctx), void *ctx);

/* Loads every registered component in load order, skipping (with a logged reason)
 * those that fail or would exceed the budget. Returns the number loaded. */
int governor_preload(governor *g);
/* Loads the component with that name now, ahead of its first use (the server's
 * warm-up): only when memory is not critical and its cost keeps use below the warn
 * level (stricter than a load on demand, which may go up to the critical level), so
 * a speculative load never makes the governor unload something else. Blocks for the
 * load (seconds for a model): call it off any latency-sensitive thread. Returns 0
 * (loaded, or already was), or -1 with err (refused, failed, unknown name). */
int governor_load_one(governor *g, const char *name, char *err, size_t errlen);

/* Starts / stops the background watcher (idempotent). The watcher polls every
 * mem.poll_ms and also wakes on a PSI trigger where the kernel supports one. */
int governor_start(governor *g, char *err, size_t errlen);
void governor_stop(governor *g);

/* Takes one reading and acts on it now (what the watcher does each tick). Returns
 * the level in force afterwards. Useful for tests and for a caller that just freed a
 * lot of memory. */
governor_level governor_check(governor *g);
void governor_last_reading(governor *g, governor_reading *out);

/* The answering mode in force: the configured mode, lowered by what failed to load
 * (no LLM registered or usable -> skip-llm; that and a registered "index" failed ->
 * template-only) and by the critical level (template-only). */
governor_mode governor_effective_mode(governor *g);
/* 1 when the component with this name is registered and usable (loaded, or lazily
 * loadable: not failed, not refused). "tts" unusable -> reply in text only. */
int governor_usable(governor *g, const char *name);
governor_level governor_get_level(governor *g);

/* Session admission: 0 = admit; -1 = refused (critical level) with a message for the
 * client in err. */
int governor_admit_session(governor *g, char *err, size_t errlen);

/* Adds the governor's state to a JSON object (level, mode, budget, readings,
 * per-component figures, degradations). Returns 0 or -1 (out of memory). */
int governor_status_json(governor *g, cJSON *obj);
/* Writes Prometheus text-format lines (axiom_memory_*, axiom_component_*). */
void governor_metrics(governor *g, FILE *out);

const char *governor_mode_name(governor_mode m);
const char *governor_level_name(governor_level l);

/* Test hook: replaces the readings' source root ("/" normally) so a fabricated /proc
 * and /sys tree can drive the levels. NULL restores "/". */
void governor_set_root(governor *g, const char *root);

#endif
