/* The governor's figures for the outside: a JSON object for /api/status and
 * `axiom ... --json`, and Prometheus text lines for /metrics. Both are snapshots
 * taken under the governor's lock. */
#include "mem/governor_internal.h"

#include "core/util.h"

#include <cJSON.h>
#include <string.h>

/* What losing each component means for the user, for the status page and logs. */
static const char *effect_of(const char *name) {
    static const struct {
        const char *name, *effect;
    } effects[] = {
        {"llm", "no LLM: answers come from templates and retrieval"},
        {"index", "no retrieval: answers come from templates (and the LLM when loaded)"},
        {"intent", "no intent model: questions are matched by keywords only"},
        {"tts", "text-only replies"},
        {"stt", "no speech recognition: typed questions only"},
        {"vad", "energy-based speech detection instead of the VAD model"},
    };
    for (size_t i = 0; i < sizeof effects / sizeof effects[0]; i++)
        if (strcmp(effects[i].name, name) == 0) return effects[i].effect;
    return "component unavailable";
}

static const char *entry_state(const gov_entry *e, const component_info *ci) {
    if (ci->loading) return "loading";
    if (ci->loaded) return ci->in_use ? "in-use" : "loaded";
    if (e->refused_critical || e->refused_budget) return "refused";
    if (ci->last_error[0]) return "failed";
    return "lazy";
}

static void add_num(cJSON *o, const char *k, double v) {
    cJSON_AddNumberToObject(o, k, v);
}

int governor_status_json(governor *g, cJSON *obj) {
    if (!obj) return -1;
    pthread_mutex_lock(&g->lock);
    const governor_reading *r = &g->last;
    int64_t now = now_ms();
    cJSON_AddStringToObject(obj, "level", governor_level_name(g->level));
    cJSON_AddStringToObject(obj, "mode", governor_mode_name(gov_mode_locked(g)));
    cJSON_AddStringToObject(obj, "requested_mode", governor_mode_name(g->requested_mode));
    add_num(obj, "budget_bytes", (double)r->budget);
    cJSON_AddStringToObject(obj, "budget_source", r->budget_source ? r->budget_source : "none yet");
    add_num(obj, "used_bytes", (double)r->used);
    add_num(obj, "use_pct", r->use_pct);
    add_num(obj, "warn_pct", g->warn_pct);
    add_num(obj, "critical_pct", g->critical_pct);
    add_num(obj, "hysteresis_pct", g->hysteresis_pct);
    add_num(obj, "rss_bytes", (double)proc_rss_bytes());
    add_num(obj, "pss_bytes", (double)proc_pss_bytes());
    add_num(obj, "mem_total_bytes", (double)r->mem_total);
    add_num(obj, "mem_available_bytes", (double)r->mem_available);
    add_num(obj, "swap_total_bytes", (double)r->swap_total);
    add_num(obj, "swap_free_bytes", (double)r->swap_free);
    add_num(obj, "psi_some_avg10", r->psi_some_avg10);
    add_num(obj, "psi_full_avg10", r->psi_full_avg10);
    cJSON *cg = cJSON_AddObjectToObject(obj, "cgroup");
    if (cg) {
        add_num(cg, "version", r->cgroup_version);
        add_num(cg, "limit_bytes", (double)r->cgroup_limit);
        add_num(cg, "working_set_bytes", (double)r->cgroup_use);
    }
    add_num(obj, "oom_score_adj", g->oom_score_adj);
    add_num(obj, "level_transitions", (double)g->transitions);
    add_num(obj, "sessions_refused", (double)g->sessions_refused);
    add_num(obj, "released_bytes", (double)g->bytes_released);
    add_num(obj, "last_relief_ms", g->last_relief_us / 1000.0);
    add_num(obj, "watching", g->running);
    cJSON *comps = cJSON_AddArrayToObject(obj, "components");
    cJSON *deg = cJSON_AddArrayToObject(obj, "degraded");
    for (int i = 0; i < g->ncomps && comps && deg; i++) {
        gov_entry *e = &g->comps[i];
        component_info ci;
        component_get_info(e->c, &ci);
        cJSON *c = cJSON_CreateObject();
        if (!c) break;
        cJSON_AddItemToArray(comps, c);
        const char *state = entry_state(e, &ci);
        cJSON_AddStringToObject(c, "name", ci.name);
        cJSON_AddStringToObject(c, "state", state);
        add_num(c, "resident_bytes", (double)ci.resident_bytes);
        add_num(c, "mapped_bytes", (double)ci.mapped_bytes);
        add_num(c, "expected_bytes", (double)gov_entry_cost(e, &ci));
        add_num(c, "load_ms", ci.load_us / 1000.0);
        add_num(c, "loads", ci.load_count);
        add_num(c, "unloads", ci.unload_count);
        add_num(c, "failures", ci.fail_count);
        add_num(c, "last_unload_drop_bytes", (double)e->last_drop);
        add_num(c, "idle_ms", ci.last_used_ms ? (double)(now - ci.last_used_ms) : -1);
        const char *why = e->refused_critical ? "memory critical"
                          : e->refused_budget ? e->refuse_reason
                                              : ci.last_error;
        if (why[0]) cJSON_AddStringToObject(c, "reason", why);
        if (strcmp(state, "refused") == 0 || strcmp(state, "failed") == 0) {
            cJSON *d = cJSON_CreateObject();
            if (!d) break;
            cJSON_AddItemToArray(deg, d);
            cJSON_AddStringToObject(d, "component", ci.name);
            cJSON_AddStringToObject(d, "reason", why);
            cJSON_AddStringToObject(d, "effect", effect_of(ci.name));
        }
    }
    pthread_mutex_unlock(&g->lock);
    return comps && deg ? 0 : -1;
}

void governor_metrics(governor *g, FILE *out) {
    pthread_mutex_lock(&g->lock);
    const governor_reading *r = &g->last;
    fprintf(out,
            "# HELP axiom_memory_budget_bytes Memory budget in force (smallest of setting, cgroup, "
            "RAM).\n"
            "# TYPE axiom_memory_budget_bytes gauge\naxiom_memory_budget_bytes %lld\n"
            "# HELP axiom_memory_used_bytes Memory counted against the budget.\n"
            "# TYPE axiom_memory_used_bytes gauge\naxiom_memory_used_bytes %lld\n"
            "# HELP axiom_memory_use_ratio Highest use/limit ratio over the budget sources.\n"
            "# TYPE axiom_memory_use_ratio gauge\naxiom_memory_use_ratio %.4f\n"
            "# HELP axiom_memory_rss_bytes Resident memory of this process.\n"
            "# TYPE axiom_memory_rss_bytes gauge\naxiom_memory_rss_bytes %lld\n"
            "# HELP axiom_memory_available_bytes MemAvailable from /proc/meminfo.\n"
            "# TYPE axiom_memory_available_bytes gauge\naxiom_memory_available_bytes %lld\n"
            "# HELP axiom_memory_level Governor level: 0 ok, 1 warn, 2 critical.\n"
            "# TYPE axiom_memory_level gauge\naxiom_memory_level %d\n",
            (long long)r->budget, (long long)r->used, r->use_pct / 100.0,
            (long long)proc_rss_bytes(), (long long)r->mem_available, (int)g->level);
    if (r->psi_some_avg10 >= 0)
        fprintf(
            out,
            "# HELP axiom_memory_psi_some_avg10 Memory pressure stall, some, 10 s average (%%).\n"
            "# TYPE axiom_memory_psi_some_avg10 gauge\naxiom_memory_psi_some_avg10 %.2f\n",
            r->psi_some_avg10);
    governor_mode m = gov_mode_locked(g);
    fprintf(out, "# HELP axiom_mode Answering mode in force (1 for the current one).\n"
                 "# TYPE axiom_mode gauge\n");
    for (int i = 0; i < 3; i++)
        fprintf(out, "axiom_mode{mode=\"%s\"} %d\n", governor_mode_name((governor_mode)i),
                m == (governor_mode)i);
    fprintf(
        out,
        "# HELP axiom_memory_level_transitions_total Level changes since start.\n"
        "# TYPE axiom_memory_level_transitions_total counter\naxiom_memory_level_transitions_total "
        "%lld\n"
        "# HELP axiom_memory_sessions_refused_total Sessions refused at the critical level.\n"
        "# TYPE axiom_memory_sessions_refused_total counter\naxiom_memory_sessions_refused_total "
        "%lld\n"
        "# HELP axiom_memory_released_bytes_total Bytes released by unloads, trims and caches.\n"
        "# TYPE axiom_memory_released_bytes_total counter\naxiom_memory_released_bytes_total "
        "%lld\n",
        (long long)g->transitions, (long long)g->sessions_refused, (long long)g->bytes_released);
    static const char *const series[][3] = {
        {"axiom_component_loaded", "gauge", "1 when the component is loaded"},
        {"axiom_component_resident_bytes", "gauge", "RSS cost measured at the last load"},
        {"axiom_component_mapped_bytes", "gauge", "Model file bytes mapped"},
        {"axiom_component_loads_total", "counter", "Loads"},
        {"axiom_component_unloads_total", "counter", "Unloads"},
        {"axiom_component_load_failures_total", "counter", "Failed loads"},
    };
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++) {
        fprintf(out, "# HELP %s %s.\n# TYPE %s %s\n", series[s][0], series[s][2], series[s][0],
                series[s][1]);
        for (int i = 0; i < g->ncomps; i++) {
            component_info ci;
            component_get_info(g->comps[i].c, &ci);
            long long v = s == 0   ? ci.loaded
                          : s == 1 ? ci.resident_bytes
                          : s == 2 ? ci.mapped_bytes
                          : s == 3 ? ci.load_count
                          : s == 4 ? ci.unload_count
                                   : ci.fail_count;
            fprintf(out, "%s{component=\"%s\"} %lld\n", series[s][0], ci.name, v);
        }
    }
    pthread_mutex_unlock(&g->lock);
}
