/* axiom doctor's output: a checklist for people and JSON for tools (the shape is
 * documented in docs/doctor-schema.json; keep both in step). */
#include "mem/doctor.h"

#include <cJSON.h>
#include <string.h>

#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)

void doctor_bytes_text(int64_t b, char *out, size_t n) {
    if (b < 0)
        snprintf(out, n, "unknown");
    else if (b >= GIB)
        snprintf(out, n, "%.1f GiB", (double)b / GIB);
    else
        snprintf(out, n, "%.0f MiB", (double)b / MIB);
}

void doctor_print(const doctor_report *r, FILE *out) {
    fprintf(out, "AXIOM doctor: memory checklist for %s\n\n",
            r->root[0] ? r->root : "this machine");
    for (int i = 0; i < r->nchecks; i++) {
        const doctor_check *c = &r->checks[i];
        fprintf(out, "  %-5s %-26s %s\n", doctor_status_name(c->status), c->id, c->message);
        if (c->fix[0]) fprintf(out, "        fix: %s\n", c->fix);
        if (c->why[0]) fprintf(out, "        why: %s\n", c->why);
    }
    char a[32], b[32], c[32];
    doctor_bytes_text(r->budget, a, sizeof a);
    fprintf(out, "\nMemory plan: budget %s (from %s), warn level at %d%%, load order:\n", a,
            r->budget_source ? r->budget_source : "?", r->warn_pct);
    doctor_bytes_text(r->base_bytes, b, sizeof b);
    fprintf(out, "  %-8s %10s %12s  %s\n", "part", "estimate", "cumulative", "fits  source");
    fprintf(out, "  %-8s %10s %12s  %-5s %s\n", "base", b, b, "yes",
            "AXIOM itself, nothing loaded");
    for (int i = 0; i < r->nplan; i++) {
        const doctor_plan_item *p = &r->plan[i];
        doctor_bytes_text(p->estimate, b, sizeof b);
        doctor_bytes_text(p->cumulative, c, sizeof c);
        fprintf(out, "  %-8s %10s %12s  %-5s %s%s\n", p->component, p->configured ? b : "-",
                p->configured ? c : "-",
                !p->configured ? "-"
                : p->fits      ? "yes"
                               : "NO",
                p->source, p->configured && p->file_bytes < 0 ? " (missing)" : "");
    }
    doctor_bytes_text(r->left_after_all >= 0 ? r->left_after_all : -r->left_after_all, b, sizeof b);
    if (r->budget <= 0)
        fprintf(out, "  the budget is unknown: nothing can be said about what fits\n");
    else
        fprintf(out, "  %s %s with everything configured loaded\n",
                r->left_after_all >= 0 ? "leaves" : "EXCEEDS the budget by", b);
    int code = doctor_exit_code(r);
    int warns = 0, fails = 0;
    for (int i = 0; i < r->nchecks; i++) {
        warns += r->checks[i].status == DOC_WARN;
        fails += r->checks[i].status == DOC_FAIL;
    }
    fprintf(out, "\n%s: %d problem%s, %d warning%s (exit %d)%s\n",
            code == 0   ? "All good"
            : code == 1 ? "Runs, with warnings"
                        : "Would not run",
            fails, fails == 1 ? "" : "s", warns, warns == 1 ? "" : "s", code,
            r->ntuning || r->zram_recommended ? "; `axiom doctor --apply` makes the sysctl changes"
                                              : "");
}

static void num(cJSON *o, const char *k, double v) {
    cJSON_AddNumberToObject(o, k, v);
}

cJSON *doctor_json(const doctor_report *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int code = doctor_exit_code(r);
    cJSON_AddStringToObject(o, "schema", "axiom-doctor/1");
    cJSON_AddStringToObject(o, "status", code == 0 ? "ok" : code == 1 ? "warn" : "fail");
    num(o, "exit_code", code);
    cJSON_AddStringToObject(o, "root", r->root[0] ? r->root : "/");

    cJSON *m = cJSON_AddObjectToObject(o, "machine");
    if (!m) goto oom;
    num(m, "mem_total_bytes", (double)r->mem.mem_total);
    num(m, "mem_available_bytes", (double)r->mem.mem_available);
    num(m, "swap_total_bytes", (double)r->mem.swap_total);
    num(m, "swap_free_bytes", (double)r->mem.swap_free);
    num(m, "swap_disk_bytes", (double)r->swap_disk_bytes);
    num(m, "swap_zram_bytes", (double)r->swap_zram_bytes);
    cJSON *zs = cJSON_AddArrayToObject(m, "zram");
    for (int i = 0; zs && i < r->nzram; i++) {
        cJSON *z = cJSON_CreateObject();
        if (!z) goto oom;
        cJSON_AddItemToArray(zs, z);
        cJSON_AddStringToObject(z, "device", r->zram[i].device);
        num(z, "disksize_bytes", (double)r->zram[i].disksize);
        cJSON_AddStringToObject(z, "algorithm", r->zram[i].algorithm);
        num(z, "orig_bytes", (double)r->zram[i].orig_bytes);
        num(z, "compr_bytes", (double)r->zram[i].compr_bytes);
        num(z, "ratio", r->zram[i].ratio);
        cJSON_AddBoolToObject(z, "used_as_swap", r->zram[i].used_as_swap);
    }
    cJSON *sc = cJSON_AddObjectToObject(m, "sysctl");
    if (!sc) goto oom;
    num(sc, "vm.swappiness", (double)r->sysctl_swappiness);
    num(sc, "vm.vfs_cache_pressure", (double)r->sysctl_vfs_cache_pressure);
    num(sc, "vm.dirty_ratio", (double)r->sysctl_dirty_ratio);
    num(sc, "vm.dirty_background_ratio", (double)r->sysctl_dirty_background_ratio);
    num(sc, "vm.overcommit_memory", (double)r->sysctl_overcommit_memory);
    cJSON *psi = cJSON_AddObjectToObject(m, "psi");
    if (!psi) goto oom;
    cJSON_AddBoolToObject(psi, "supported", r->psi.supported);
    num(psi, "some_avg10", r->psi.some_avg10);
    num(psi, "full_avg10", r->psi.full_avg10);
    cJSON *cg = cJSON_AddObjectToObject(m, "cgroup");
    if (!cg) goto oom;
    num(cg, "version", r->cg.version);
    cJSON_AddStringToObject(cg, "path", r->cg.path);
    num(cg, "limit_bytes", (double)r->cg.limit);
    num(cg, "max_bytes", (double)r->cg.max);
    num(cg, "high_bytes", (double)r->cg.high);
    num(cg, "current_bytes", (double)r->cg.current);
    num(cg, "working_set_bytes", (double)r->cg.working_set);
    cJSON *od = cJSON_AddObjectToObject(m, "oom_daemons");
    if (!od) goto oom;
    cJSON_AddBoolToObject(od, "earlyoom", r->earlyoom);
    cJSON_AddBoolToObject(od, "systemd_oomd", r->systemd_oomd);

    cJSON *checks = cJSON_AddArrayToObject(o, "checks");
    for (int i = 0; checks && i < r->nchecks; i++) {
        const doctor_check *c = &r->checks[i];
        cJSON *j = cJSON_CreateObject();
        if (!j) goto oom;
        cJSON_AddItemToArray(checks, j);
        cJSON_AddStringToObject(j, "id", c->id);
        cJSON_AddStringToObject(j, "status", doctor_status_name(c->status));
        cJSON_AddStringToObject(j, "value", c->value);
        cJSON_AddStringToObject(j, "message", c->message);
        if (c->fix[0]) cJSON_AddStringToObject(j, "fix", c->fix);
        if (c->why[0]) cJSON_AddStringToObject(j, "why", c->why);
    }

    cJSON *plan = cJSON_AddObjectToObject(o, "plan");
    if (!plan) goto oom;
    num(plan, "budget_bytes", (double)r->budget);
    cJSON_AddStringToObject(plan, "budget_source", r->budget_source ? r->budget_source : "unknown");
    num(plan, "warn_pct", r->warn_pct);
    num(plan, "base_bytes", (double)r->base_bytes);
    num(plan, "left_bytes", (double)r->left_after_all);
    num(plan, "zram_recommended_bytes", (double)r->zram_recommended);
    cJSON *items = cJSON_AddArrayToObject(plan, "items");
    for (int i = 0; items && i < r->nplan; i++) {
        const doctor_plan_item *p = &r->plan[i];
        cJSON *j = cJSON_CreateObject();
        if (!j) goto oom;
        cJSON_AddItemToArray(items, j);
        cJSON_AddStringToObject(j, "component", p->component);
        cJSON_AddStringToObject(j, "source", p->source);
        cJSON_AddBoolToObject(j, "configured", p->configured);
        num(j, "file_bytes", (double)p->file_bytes);
        num(j, "estimate_bytes", (double)p->estimate);
        num(j, "cumulative_bytes", (double)p->cumulative);
        cJSON_AddBoolToObject(j, "fits", p->fits);
    }
    cJSON *tun = cJSON_AddArrayToObject(o, "tuning");
    for (int i = 0; tun && i < r->ntuning; i++) {
        cJSON *j = cJSON_CreateObject();
        if (!j) goto oom;
        cJSON_AddItemToArray(tun, j);
        cJSON_AddStringToObject(j, "sysctl", r->tuning[i].sysctl);
        num(j, "current", (double)r->tuning[i].current);
        num(j, "recommended", (double)r->tuning[i].recommended);
        cJSON_AddStringToObject(j, "why", r->tuning[i].why);
    }
    return o;
oom:
    cJSON_Delete(o);
    return NULL;
}
