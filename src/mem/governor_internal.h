/* The governor's state, shared by its three files: governor.c (registry, readings,
 * levels, mode, watcher), governor_act.c (what each level does, preloading, idle
 * unloading) and governor_report.c (JSON status, Prometheus lines). */
#ifndef AXIOM_MEM_GOVERNOR_INTERNAL_H
#define AXIOM_MEM_GOVERNOR_INTERNAL_H

#include "mem/governor.h"
#include "mem/memstat.h"

#include <pthread.h>

#define GOV_MAX_COMPONENTS 16
#define GOV_MAX_CACHES 16

typedef struct {
    axiom_component *c;
    int64_t expected;     /* owner's estimate until measured */
    int refused_budget;   /* would not fit: refused until headroom returns */
    int refused_critical; /* shed at the critical level */
    char refuse_reason[200];
    int64_t last_drop; /* RSS drop measured at the last unload; -1 = none yet */
    int64_t unloads_idle, unloads_pressure;
    int64_t idle_limit_ms; /* unload after this long unused; 0 = never */
    /* A preloaded component has never been used (last_used_ms 0); idleness counts
     * from when the governor first saw it loaded. */
    int seen_loads;
    int64_t loaded_seen_ms;
} gov_entry;

typedef struct {
    char name[32];
    int64_t (*drop)(void *ctx);
    void *ctx;
} gov_cache;

struct governor {
    pthread_mutex_t lock, act_lock;
    gov_entry comps[GOV_MAX_COMPONENTS];
    int ncomps;
    gov_cache caches[GOV_MAX_CACHES];
    int ncaches;

    /* settings */
    int64_t budget_cfg;
    int warn_pct, critical_pct, hysteresis_pct;
    int want_oom_score_adj, oom_score_adj;
    int64_t idle_unload_ms, llm_idle_unload_ms, warn_idle_ms;
    int poll_ms;
    double psi_warn, psi_critical;
    governor_mode requested_mode;
    const axiom_config *cfg; /* borrowed, may be NULL */
    char root[256];

    /* state */
    governor_level level;
    governor_reading last;
    int logged_mode;
    int64_t level_since_ms, last_cleanup_ms;
    int64_t transitions, sessions_refused, checks;
    int64_t bytes_released; /* by unloads, trims and caches, all time */
    int64_t last_relief_us; /* reading -> relief action done, last time it acted */

    /* watcher */
    int running;
    pthread_t thread;
    int stop_fd, psi_fd;
};

gov_entry *gov_find_locked(governor *g, const char *name);
governor_mode gov_mode_locked(governor *g);
void gov_log_mode_locked(governor *g);
void gov_take_reading(const char *root, int64_t budget_cfg, governor_reading *r);
governor_level gov_next_level(const governor *g, governor_level cur, const governor_reading *r);
int64_t gov_entry_cost(const gov_entry *e, const component_info *ci);
/* Milliseconds since the component was last used or (if later) loaded. */
int64_t gov_entry_idle_ms(gov_entry *e, const component_info *ci, int64_t now);

#endif
