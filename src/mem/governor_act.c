/* What the governor does with a reading: level transitions and their actions, budget
 * refusals, idle unloading, and the ordered preload.
 *
 * All of it runs under act_lock (one check at a time; entries cannot move), and calls
 * into components without holding `lock`, because loading and unloading take time and
 * status readers must not wait for them. */
#include "mem/governor_internal.h"

#include "core/log.h"
#include "core/util.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)
#define CLEANUP_EVERY_MS 10000 /* repeat the warn clean-up at most this often */

static void describe(const governor_reading *r, char *out, size_t outlen) {
    snprintf(out, outlen,
             "use %.1f%% (%.0f of %.0f MiB, budget from %s); rss %.0f MiB; MemAvailable %.0f MiB; "
             "swap free %.0f of %.0f MiB; PSI some %.2f full %.2f",
             r->use_pct, r->used / MIB, r->budget / MIB, r->budget_source, r->rss / MIB,
             r->mem_available / MIB, r->swap_free / MIB, r->swap_total / MIB, r->psi_some_avg10,
             r->psi_full_avg10);
}

/* Pushes the governor's refusal state into the component, so a direct
 * component_acquire by its owner is refused too. */
static void apply_refusal(gov_entry *e) {
    int refused = e->refused_budget || e->refused_critical;
    const char *why = e->refused_critical ? "memory is critical; the LLM is shed until it recovers"
                                          : e->refuse_reason;
    component_set_refused(e->c, refused, why);
}

static void unload_entry(governor *g, gov_entry *e, const char *why, int pressure) {
    int64_t drop = component_unload(e->c);
    if (drop < 0) return; /* busy or not loaded */
    pthread_mutex_lock(&g->lock);
    e->last_drop = drop;
    if (drop > 0) g->bytes_released += drop;
    if (pressure)
        e->unloads_pressure++;
    else
        e->unloads_idle++;
    pthread_mutex_unlock(&g->lock);
    LOG_I("mem", "unloaded %s (%s): resident memory -%.1f MiB", component_name(e->c), why,
          drop / MIB);
}

/* Warn level: give back what costs nothing to rebuild, then what is idle. */
static void clean_up(governor *g, int64_t now) {
    int64_t released = 0;
    for (int i = 0; i < g->ncaches; i++) {
        int64_t b = g->caches[i].drop(g->caches[i].ctx);
        if (b > 0) released += b;
        log_msg(b > 0 ? AX_LOG_INFO : AX_LOG_DEBUG, "mem", "dropped cache %s: %.1f MiB",
                g->caches[i].name, (b > 0 ? b : 0) / MIB);
    }
    int64_t before = proc_rss_bytes();
    malloc_trim(0);
    int64_t after = proc_rss_bytes();
    if (before > after) released += before - after;
    log_msg(before - after >= (1 << 20) ? AX_LOG_INFO : AX_LOG_DEBUG, "mem",
            "trimmed the heap: resident memory -%.1f MiB",
            (before > after ? before - after : 0) / MIB);
    /* Largest first: the LLM is the one that matters. */
    for (int i = g->ncomps - 1; i >= 0; i--) {
        component_info ci;
        component_get_info(g->comps[i].c, &ci);
        if (ci.loaded && !ci.in_use && gov_entry_idle_ms(&g->comps[i], &ci, now) >= g->warn_idle_ms)
            unload_entry(g, &g->comps[i], "memory warn level, idle", 1);
    }
    pthread_mutex_lock(&g->lock);
    g->bytes_released += released;
    g->last_cleanup_ms = now;
    pthread_mutex_unlock(&g->lock);
}

static void shed(governor *g, int entering) {
    gov_entry *llm = gov_find_locked(g, "llm"); /* entries do not move under act_lock */
    if (llm) {
        if (entering) {
            pthread_mutex_lock(&g->lock);
            llm->refused_critical = 1;
            pthread_mutex_unlock(&g->lock);
            apply_refusal(llm);
        }
        if (component_is_loaded(llm->c)) unload_entry(g, llm, "memory critical", 1);
    }
    if (entering) malloc_trim(0);
}

static void unshed(governor *g) {
    gov_entry *llm = gov_find_locked(g, "llm");
    if (!llm) return;
    pthread_mutex_lock(&g->lock);
    llm->refused_critical = 0;
    pthread_mutex_unlock(&g->lock);
    apply_refusal(llm);
}

/* Refuses loads that would push use past the critical level, and lifts the refusal
 * when room comes back. Uses the measured cost once a component has loaded before. */
static void check_budget(governor *g, const governor_reading *r) {
    for (int i = 0; i < g->ncomps; i++) {
        gov_entry *e = &g->comps[i];
        component_info ci;
        component_get_info(e->c, &ci);
        if (ci.loading) continue; /* decided when it finishes */
        if (ci.loaded) {
            if (e->refused_budget) {
                pthread_mutex_lock(&g->lock);
                e->refused_budget = 0;
                pthread_mutex_unlock(&g->lock);
                apply_refusal(e);
            }
            continue;
        }
        int64_t cost = gov_entry_cost(e, &ci);
        int refuse = 0;
        char why[200] = "";
        if (cost > 0 && r->budget > 0 && r->used >= 0) {
            int64_t room = (int64_t)((double)r->budget * g->critical_pct / 100.0) - r->used;
            if (cost > room) {
                refuse = 1;
                snprintf(why, sizeof why,
                         "needs ~%.0f MiB but only %.0f MiB of the %.0f MiB budget (%s) is free "
                         "below the critical level",
                         cost / MIB, (room > 0 ? room : 0) / MIB, r->budget / MIB,
                         r->budget_source);
            }
        }
        if (refuse != e->refused_budget || (refuse && strcmp(why, e->refuse_reason) != 0)) {
            pthread_mutex_lock(&g->lock);
            if (refuse != e->refused_budget)
                LOG_W("mem", "%s: %s", ci.name,
                      refuse ? why : "fits in the budget again: loading allowed");
            e->refused_budget = refuse;
            str_copy(e->refuse_reason, sizeof e->refuse_reason, why);
            pthread_mutex_unlock(&g->lock);
            apply_refusal(e);
        }
    }
}

governor_level governor_check(governor *g) {
    pthread_mutex_lock(&g->act_lock);
    char root[256];
    pthread_mutex_lock(&g->lock);
    str_copy(root, sizeof root, g->root);
    governor_level cur = g->level;
    pthread_mutex_unlock(&g->lock);

    int64_t t0 = now_us();
    governor_reading r;
    gov_take_reading(root, g->budget_cfg, &r);
    int64_t now = now_ms();

    pthread_mutex_lock(&g->lock);
    governor_level next = gov_next_level(g, cur, &r);
    g->last = r;
    g->checks++;
    if (next != cur) {
        char d[400];
        describe(&r, d, sizeof d);
        if (next > cur)
            LOG_W("mem", "memory level %s -> %s: %s", governor_level_name(cur),
                  governor_level_name(next), d);
        else
            LOG_I("mem", "memory level %s -> %s (recovered): %s", governor_level_name(cur),
                  governor_level_name(next), d);
        g->level = next;
        g->level_since_ms = now;
        g->transitions++;
    }
    int64_t last_cleanup = g->last_cleanup_ms;
    pthread_mutex_unlock(&g->lock);

    int acted = 0;
    if (next == GOV_LEVEL_CRITICAL) {
        shed(g, cur != GOV_LEVEL_CRITICAL);
        acted = cur != GOV_LEVEL_CRITICAL;
    } else if (cur == GOV_LEVEL_CRITICAL) {
        unshed(g);
    }
    if (next >= GOV_LEVEL_WARN && (cur < next || now - last_cleanup >= CLEANUP_EVERY_MS)) {
        clean_up(g, now);
        acted = 1;
    }
    for (int i = 0; i < g->ncomps; i++) {
        gov_entry *e = &g->comps[i];
        int64_t limit = e->idle_limit_ms;
        component_info ci;
        component_get_info(e->c, &ci);
        int64_t idle = gov_entry_idle_ms(e, &ci, now);
        if (limit > 0 && ci.loaded && !ci.in_use && idle >= limit) unload_entry(g, e, "idle", 0);
    }
    check_budget(g, &r);

    pthread_mutex_lock(&g->lock);
    if (acted) g->last_relief_us = now_us() - t0;
    gov_log_mode_locked(g);
    governor_level out = g->level;
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&g->act_lock);
    return out;
}

/* Loads one entry if the budget allows it now (act_lock held). Returns 1 when loaded. */
static int preload_entry(governor *g, gov_entry *e, const char *root, char *err, size_t errlen) {
    if (component_is_loaded(e->c)) return 1;
    /* A fresh reading per component: each load changes what is left. */
    governor_reading r;
    gov_take_reading(root, g->budget_cfg, &r);
    pthread_mutex_lock(&g->lock);
    g->last = r;
    pthread_mutex_unlock(&g->lock);
    check_budget(g, &r);
    if (e->refused_budget || e->refused_critical) {
        snprintf(err, errlen, "%s", e->refused_critical ? "memory is critical" : e->refuse_reason);
        return 0;
    }
    if (component_load(e->c, err, errlen) != 0) return 0;
    component_info ci;
    component_get_info(e->c, &ci);
    gov_entry_idle_ms(e, &ci, now_ms());
    return 1;
}

int governor_preload(governor *g) {
    pthread_mutex_lock(&g->act_lock);
    char root[256];
    pthread_mutex_lock(&g->lock);
    str_copy(root, sizeof root, g->root);
    pthread_mutex_unlock(&g->lock);
    int loaded = 0;
    for (int i = 0; i < g->ncomps; i++) {
        char err[256];
        if (preload_entry(g, &g->comps[i], root, err, sizeof err))
            loaded++;
        else
            LOG_W("mem", "skipping %s: %s", component_name(g->comps[i].c), err);
    }
    pthread_mutex_lock(&g->lock);
    gov_log_mode_locked(g);
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&g->act_lock);
    return loaded;
}

int governor_load_one(governor *g, const char *name, char *err, size_t errlen) {
    pthread_mutex_lock(&g->act_lock);
    char root[256];
    pthread_mutex_lock(&g->lock);
    str_copy(root, sizeof root, g->root);
    gov_entry *e = gov_find_locked(g, name);
    int critical = g->level == GOV_LEVEL_CRITICAL;
    pthread_mutex_unlock(&g->lock);
    int rc = -1;
    if (!e) {
        snprintf(err, errlen, "no component named %s", name);
    } else if (critical) {
        snprintf(err, errlen, "memory is critical");
    } else if (component_is_loaded(e->c)) {
        rc = 0;
    } else {
        /* A load nobody asked for yet must not push use past the warn level, where the
         * governor would start unloading idle components again. */
        governor_reading r;
        gov_take_reading(root, g->budget_cfg, &r);
        component_info ci;
        component_get_info(e->c, &ci);
        int64_t cost = gov_entry_cost(e, &ci);
        int64_t room = r.budget > 0 && r.used >= 0
                           ? (int64_t)((double)r.budget * g->warn_pct / 100.0) - r.used
                           : INT64_MAX;
        if (cost > room)
            snprintf(err, errlen,
                     "needs ~%.0f MiB but only %.0f MiB of the %.0f MiB budget (%s) is free "
                     "below the warn level",
                     cost / MIB, (room > 0 ? room : 0) / MIB, r.budget / MIB, r.budget_source);
        else
            rc = preload_entry(g, e, root, err, errlen) ? 0 : -1;
    }
    pthread_mutex_lock(&g->lock);
    gov_log_mode_locked(g);
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&g->act_lock);
    return rc;
}
