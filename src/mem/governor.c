/* The memory governor: registry of components, readings, levels and the actions they
 * trigger. Reporting (JSON, Prometheus) lives in governor_report.c.
 *
 * Two locks: `lock` guards the small state (entries, level, last reading) and is held
 * only for copies; `act_lock` serialises the slow work (a check, a preload, a
 * removal) so a component is never loaded or unloaded while being removed, and loads
 * never run under `lock` (an LLM load takes seconds; /api/status must not wait). */
#include "mem/governor_internal.h"

#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

const char *governor_mode_name(governor_mode m) {
    static const char *const n[] = {"full", "skip-llm", "template-only"};
    return (unsigned)m < 3 ? n[m] : "?";
}

const char *governor_level_name(governor_level l) {
    static const char *const n[] = {"ok", "warn", "critical"};
    return (unsigned)l < 3 ? n[l] : "?";
}

static long long cfg_int(const axiom_config *cfg, const char *key, long long def) {
    return cfg ? config_int(cfg, key) : def;
}

static void set_oom_score_adj(governor *g) {
    char buf[32];
    int fd = open("/proc/self/oom_score_adj", O_RDWR);
    if (fd < 0) {
        g->oom_score_adj = 0;
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int old = n > 0 ? (buf[n] = '\0', atoi(buf)) : 0;
    g->oom_score_adj = old;
    if (old != g->want_oom_score_adj) {
        int len = snprintf(buf, sizeof buf, "%d\n", g->want_oom_score_adj);
        if (lseek(fd, 0, SEEK_SET) == 0 && write(fd, buf, (size_t)len) == len) {
            g->oom_score_adj = g->want_oom_score_adj;
            LOG_I("mem", "oom_score_adj %d -> %d (mem.oom_score_adj)", old, g->oom_score_adj);
        } else {
            /* Lowering it needs CAP_SYS_RESOURCE; the systemd unit sets it instead.
             * Routine for a plain user, so only at debug level. */
            LOG_D("mem",
                  "oom_score_adj stays %d: setting %d is not permitted (%s); "
                  "set OOMScoreAdjust= in the service unit instead",
                  old, g->want_oom_score_adj, strerror(errno));
        }
    }
    close(fd);
}

governor *governor_new(const axiom_config *cfg, char *err, size_t errlen) {
    governor *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "memory governor: out of memory");
        return NULL;
    }
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->act_lock, NULL);
    g->budget_cfg = (int64_t)cfg_int(cfg, "mem.budget_mb", 0) * 1024 * 1024;
    g->warn_pct = (int)cfg_int(cfg, "mem.warn_pct", 85);
    g->critical_pct = (int)cfg_int(cfg, "mem.critical_pct", 95);
    g->hysteresis_pct = (int)cfg_int(cfg, "mem.hysteresis_pct", 5);
    g->want_oom_score_adj = (int)cfg_int(cfg, "mem.oom_score_adj", -100);
    g->cfg = cfg;
    g->idle_unload_ms = cfg_int(cfg, "mem.idle_unload_s", 600) * 1000;
    g->llm_idle_unload_ms = cfg_int(cfg, "mem.llm_idle_unload_s", 300) * 1000;
    g->warn_idle_ms = cfg_int(cfg, "mem.warn_idle_s", 30) * 1000;
    g->poll_ms = (int)cfg_int(cfg, "mem.poll_ms", 500);
    g->psi_warn = (double)cfg_int(cfg, "mem.psi_warn_pct", 20);
    g->psi_critical = (double)cfg_int(cfg, "mem.psi_critical_pct", 10);
    if (g->critical_pct < g->warn_pct) {
        snprintf(err, errlen,
                 "mem.critical_pct (%d) is below mem.warn_pct (%d): set critical at or above warn",
                 g->critical_pct, g->warn_pct);
        governor_free(g);
        return NULL;
    }
    const char *mode = cfg ? config_str(cfg, "mode") : "full";
    g->requested_mode = strcmp(mode, "template-only") == 0 ? GOV_MODE_TEMPLATE_ONLY
                        : strcmp(mode, "skip-llm") == 0    ? GOV_MODE_SKIP_LLM
                                                           : GOV_MODE_FULL;
    g->logged_mode = -1;
    g->stop_fd = g->psi_fd = -1;
    set_oom_score_adj(g);
    return g;
}

void governor_free(governor *g) {
    if (!g) return;
    governor_stop(g);
    pthread_mutex_destroy(&g->lock);
    pthread_mutex_destroy(&g->act_lock);
    free(g);
}

void governor_set_root(governor *g, const char *root) {
    pthread_mutex_lock(&g->lock);
    str_copy(g->root, sizeof g->root, root ? root : "");
    pthread_mutex_unlock(&g->lock);
}

/* Idle timeout per component: mem.<name>_idle_unload_s when set (>= 0), the LLM's own
 * key, else mem.idle_unload_s. */
static int64_t idle_limit_for(const governor *g, const char *name) {
    static const char *const named[] = {"index", "intent", "vad", "stt", "tts"};
    if (strcmp(name, "llm") == 0) return g->llm_idle_unload_ms;
    for (size_t i = 0; g->cfg && i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(name, named[i]) != 0) continue;
        char key[48];
        snprintf(key, sizeof key, "mem.%s_idle_unload_s", name);
        long long v = config_int(g->cfg, key);
        if (v >= 0) return v * 1000;
    }
    return g->idle_unload_ms;
}

int governor_add(governor *g, axiom_component *c, int64_t expected_bytes, char *err,
                 size_t errlen) {
    pthread_mutex_lock(&g->act_lock);
    pthread_mutex_lock(&g->lock);
    int rc = -1;
    if (g->ncomps >= GOV_MAX_COMPONENTS) {
        snprintf(err, errlen, "memory governor: more than %d components", GOV_MAX_COMPONENTS);
    } else if (gov_find_locked(g, component_name(c))) {
        snprintf(err, errlen, "memory governor: a component named '%s' is already registered",
                 component_name(c));
    } else {
        /* Keep entries sorted by load order so every pass walks them in that order. */
        int i = g->ncomps;
        while (i > 0 && component_load_order(g->comps[i - 1].c) > component_load_order(c)) {
            g->comps[i] = g->comps[i - 1];
            i--;
        }
        memset(&g->comps[i], 0, sizeof g->comps[i]);
        g->comps[i].c = c;
        g->comps[i].expected = expected_bytes > 0 ? expected_bytes : 0;
        g->comps[i].last_drop = -1;
        g->comps[i].idle_limit_ms = idle_limit_for(g, component_name(c));
        g->ncomps++;
        rc = 0;
    }
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&g->act_lock);
    return rc;
}

void governor_remove(governor *g, axiom_component *c) {
    pthread_mutex_lock(&g->act_lock);
    pthread_mutex_lock(&g->lock);
    for (int i = 0; i < g->ncomps; i++) {
        if (g->comps[i].c != c) continue;
        memmove(&g->comps[i], &g->comps[i + 1], (size_t)(g->ncomps - i - 1) * sizeof g->comps[0]);
        g->ncomps--;
        break;
    }
    pthread_mutex_unlock(&g->lock);
    pthread_mutex_unlock(&g->act_lock);
}

gov_entry *gov_find_locked(governor *g, const char *name) {
    for (int i = 0; i < g->ncomps; i++)
        if (strcmp(component_name(g->comps[i].c), name) == 0) return &g->comps[i];
    return NULL;
}

axiom_component *governor_find(governor *g, const char *name) {
    pthread_mutex_lock(&g->lock);
    gov_entry *e = gov_find_locked(g, name);
    axiom_component *c = e ? e->c : NULL;
    pthread_mutex_unlock(&g->lock);
    return c;
}

int governor_add_cache(governor *g, const char *name, int64_t (*drop)(void *ctx), void *ctx) {
    pthread_mutex_lock(&g->lock);
    int rc = -1;
    if (g->ncaches < GOV_MAX_CACHES) {
        str_copy(g->caches[g->ncaches].name, sizeof g->caches[0].name, name);
        g->caches[g->ncaches].drop = drop;
        g->caches[g->ncaches].ctx = ctx;
        g->ncaches++;
        rc = 0;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

/* ---- readings ---------------------------------------------------------------------- */

void gov_take_reading(const char *root, int64_t budget_cfg, governor_reading *r) {
    memset(r, 0, sizeof *r);
    memstat_meminfo mi;
    memstat_meminfo_read(root, &mi);
    r->mem_total = mi.mem_total;
    r->mem_available = mi.mem_available;
    r->swap_total = mi.swap_total;
    r->swap_free = mi.swap_free;
    int real = !root[0] || strcmp(root, "/") == 0;
    r->rss = real ? proc_rss_bytes() : -1;
    r->pss = real ? proc_pss_bytes() : -1;
    memstat_psi psi;
    memstat_psi_read(root, &psi);
    r->psi_some_avg10 = psi.some_avg10;
    r->psi_full_avg10 = psi.full_avg10;
    memstat_cgroup cg;
    memstat_cgroup_read(root, &cg);
    r->cgroup_version = cg.version;
    r->cgroup_limit = cg.limit;
    r->cgroup_use = cg.working_set;

    /* Each source gives a budget and what is counted against it; the budget is the
     * smallest, the use percentage the highest ratio (any one of them can kill us). */
    r->budget = -1;
    r->use_pct = 0;
    struct {
        int64_t budget, used;
        const char *name;
    } src[3] = {
        {budget_cfg > 0 ? budget_cfg : -1, r->rss, "config"},
        {cg.limit, cg.working_set, cg.version == 2 ? "cgroup v2" : "cgroup v1"},
        {mi.mem_total,
         (mi.mem_total > 0 && mi.mem_available >= 0) ? mi.mem_total - mi.mem_available : -1, "ram"},
    };
    for (int i = 0; i < 3; i++) {
        if (src[i].budget <= 0) continue;
        if (r->budget < 0 || src[i].budget < r->budget) {
            r->budget = src[i].budget;
            r->used = src[i].used;
            r->budget_source = src[i].name;
        }
        if (src[i].used >= 0) {
            double pct = 100.0 * (double)src[i].used / (double)src[i].budget;
            if (pct > r->use_pct) r->use_pct = pct;
        }
    }
    if (!r->budget_source) r->budget_source = "unknown";
}

void governor_last_reading(governor *g, governor_reading *out) {
    pthread_mutex_lock(&g->lock);
    *out = g->last;
    pthread_mutex_unlock(&g->lock);
}

/* ---- levels ------------------------------------------------------------------------ */

static governor_level raw_level(const governor *g, double pct, double psi_some, double psi_full) {
    if (pct >= g->critical_pct || (psi_full >= 0 && psi_full >= g->psi_critical))
        return GOV_LEVEL_CRITICAL;
    if (pct >= g->warn_pct || (psi_some >= 0 && psi_some >= g->psi_warn)) return GOV_LEVEL_WARN;
    return GOV_LEVEL_OK;
}

/* Escalate at once; step down only when use is below the level minus the hysteresis,
 * so a reading hovering at 85% does not flap between ok and warn every tick. */
governor_level gov_next_level(const governor *g, governor_level cur, const governor_reading *r) {
    governor_level up = raw_level(g, r->use_pct, r->psi_some_avg10, r->psi_full_avg10);
    if (up >= cur) return up;
    double h = g->hysteresis_pct;
    governor_level held =
        raw_level(g, r->use_pct + h, r->psi_some_avg10 < 0 ? -1 : r->psi_some_avg10 + h,
                  r->psi_full_avg10 < 0 ? -1 : r->psi_full_avg10 + h);
    governor_level down = held < cur ? held : cur;
    return down > up ? down : up;
}

/* ---- entry state ------------------------------------------------------------------- */

/* Measured cost after a load, else what the owner expected. */
int64_t gov_entry_cost(const gov_entry *e, const component_info *ci) {
    if (ci->load_count > 0 && ci->resident_bytes + ci->mapped_bytes > 0)
        return ci->resident_bytes + ci->mapped_bytes;
    return e->expected;
}

int64_t gov_entry_idle_ms(gov_entry *e, const component_info *ci, int64_t now) {
    if (ci->load_count != e->seen_loads) {
        e->seen_loads = ci->load_count;
        e->loaded_seen_ms = now;
    }
    int64_t since = ci->last_used_ms > e->loaded_seen_ms ? ci->last_used_ms : e->loaded_seen_ms;
    return now - since;
}

static int entry_usable(const gov_entry *e) {
    component_info ci;
    component_get_info(e->c, &ci);
    if (ci.loaded) return 1;
    if (e->refused_budget || e->refused_critical) return 0;
    return ci.last_error[0] == '\0';
}

int governor_usable(governor *g, const char *name) {
    pthread_mutex_lock(&g->lock);
    gov_entry *e = gov_find_locked(g, name);
    int u = e ? entry_usable(e) : 0;
    pthread_mutex_unlock(&g->lock);
    return u;
}

governor_mode gov_mode_locked(governor *g) {
    governor_mode m = g->requested_mode;
    gov_entry *llm = gov_find_locked(g, "llm");
    gov_entry *index = gov_find_locked(g, "index");
    int has_llm = llm && entry_usable(llm);
    /* Retrieval is only known to be missing when an index is registered and unusable. */
    int has_index = !index || entry_usable(index);
    if (!has_llm && m < GOV_MODE_SKIP_LLM) m = GOV_MODE_SKIP_LLM;
    if (!has_llm && !has_index) m = GOV_MODE_TEMPLATE_ONLY;
    if (g->level == GOV_LEVEL_CRITICAL) m = GOV_MODE_TEMPLATE_ONLY;
    return m;
}

governor_mode governor_effective_mode(governor *g) {
    pthread_mutex_lock(&g->lock);
    governor_mode m = gov_mode_locked(g);
    pthread_mutex_unlock(&g->lock);
    return m;
}

governor_level governor_get_level(governor *g) {
    pthread_mutex_lock(&g->lock);
    governor_level l = g->level;
    pthread_mutex_unlock(&g->lock);
    return l;
}

int governor_admit_session(governor *g, char *err, size_t errlen) {
    pthread_mutex_lock(&g->lock);
    int rc = 0;
    if (g->level == GOV_LEVEL_CRITICAL) {
        g->sessions_refused++;
        snprintf(err, errlen,
                 "AXIOM is short of memory right now (%.0f%% of its %.0f MiB budget in use); "
                 "please try again in a moment",
                 g->last.use_pct, g->last.budget / MIB);
        rc = -1;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

/* Logs the mode when it changes, with the reasons it is below the configured one. */
void gov_log_mode_locked(governor *g) {
    governor_mode m = gov_mode_locked(g);
    if ((int)m == g->logged_mode) return;
    char why[512] = "";
    size_t n = 0;
    for (int i = 0; i < g->ncomps && n < sizeof why; i++) {
        if (entry_usable(&g->comps[i])) continue;
        component_info ci;
        component_get_info(g->comps[i].c, &ci);
        const char *reason = g->comps[i].refused_critical ? "memory critical"
                             : g->comps[i].refused_budget ? g->comps[i].refuse_reason
                                                          : ci.last_error;
        n += (size_t)snprintf(why + n, sizeof why - n, "%s%s unavailable (%s)", n ? "; " : "",
                              ci.name, reason);
    }
    if (g->level == GOV_LEVEL_CRITICAL && n < sizeof why)
        n += (size_t)snprintf(why + n, sizeof why - n, "%smemory level critical", n ? "; " : "");
    if (m == g->requested_mode)
        LOG_I("mem", "mode %s (as configured)%s%s", governor_mode_name(m), n ? "; " : "", why);
    else if (!n) /* nothing failed: the configuration has no LLM (llm.backend none) */
        LOG_I("mem", "mode %s: no language model configured", governor_mode_name(m));
    else
        LOG_W("mem", "mode %s instead of %s: %s", governor_mode_name(m),
              governor_mode_name(g->requested_mode), why);
    g->logged_mode = (int)m;
}

/* ---- the watcher thread ------------------------------------------------------------ */

static void *watch_main(void *arg) {
    governor *g = arg;
    for (;;) {
        struct pollfd p[2] = {{g->stop_fd, POLLIN, 0}, {g->psi_fd, POLLPRI, 0}};
        int n = poll(p, g->psi_fd >= 0 ? 2 : 1, g->poll_ms);
        if (n > 0 && (p[0].revents & POLLIN)) break;
        if (n > 0 && g->psi_fd >= 0 && (p[1].revents & (POLLERR | POLLNVAL))) {
            close(g->psi_fd); /* the trigger went away (e.g. cgroup removed): poll only */
            g->psi_fd = -1;
        }
        governor_check(g);
    }
    return NULL;
}

/* A PSI trigger wakes the watcher within the window when tasks stall on memory for
 * 150 ms per 2 s, so relief does not wait for the next poll. Unprivileged processes
 * need a window that is a multiple of 2 s, hence 2 s. */
static int open_psi_trigger(const char *root) {
    if (root[0] && strcmp(root, "/") != 0) return -1;
    int fd = open("/proc/pressure/memory", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    const char trig[] = "some 150000 2000000";
    if (write(fd, trig, sizeof trig) < 0) {
        LOG_D("mem", "no PSI trigger (%s): polling every interval", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int governor_start(governor *g, char *err, size_t errlen) {
    pthread_mutex_lock(&g->lock);
    if (g->running) {
        pthread_mutex_unlock(&g->lock);
        return 0;
    }
    g->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (g->stop_fd < 0) {
        snprintf(err, errlen, "memory governor: eventfd: %s", strerror(errno));
        pthread_mutex_unlock(&g->lock);
        return -1;
    }
    g->psi_fd = open_psi_trigger(g->root);
    int rc = pthread_create(&g->thread, NULL, watch_main, g);
    if (rc != 0) {
        snprintf(err, errlen, "memory governor: cannot start the watcher thread: %s", strerror(rc));
        close(g->stop_fd);
        if (g->psi_fd >= 0) close(g->psi_fd);
        g->stop_fd = g->psi_fd = -1;
        pthread_mutex_unlock(&g->lock);
        return -1;
    }
    g->running = 1;
    LOG_I("mem", "watching memory every %d ms%s", g->poll_ms,
          g->psi_fd >= 0 ? " and on PSI triggers" : "");
    pthread_mutex_unlock(&g->lock);
    return 0;
}

void governor_stop(governor *g) {
    pthread_mutex_lock(&g->lock);
    int running = g->running;
    g->running = 0;
    pthread_mutex_unlock(&g->lock);
    if (!running) return;
    uint64_t one = 1;
    if (write(g->stop_fd, &one, sizeof one) < 0)
        LOG_W("mem", "cannot wake the watcher: %s", strerror(errno));
    pthread_join(g->thread, NULL);
    close(g->stop_fd);
    if (g->psi_fd >= 0) close(g->psi_fd);
    g->stop_fd = g->psi_fd = -1;
}
