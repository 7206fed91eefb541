/* axiom doctor: reading the machine, judging it, and the memory plan. Printing and
 * JSON are in doctor_report.c, --apply in doctor_apply.c.
 *
 * The thresholds below are the reference design's advice for a box that runs a voice
 * assistant next to other work: keep some swap (zram is cheap: pages compress 2-4x),
 * keep swappiness high when swap is zram and low when it is a disk, avoid large dirty
 * page pools that stall writers, and never run the models with overcommit disabled
 * without knowing it. Each judgement carries its one-line reason. */
#include "mem/doctor.h"

#include "core/util.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)

/* AXIOM itself with nothing loaded (bench_memory: `axiom serve` at 12.8 MiB RSS) plus
 * room for the server's buffers. */
#define BASE_BYTES (16 * MIB)

const char *doctor_status_name(doctor_status s) {
    static const char *const n[] = {"ok", "info", "warn", "fail"};
    return (unsigned)s < 4 ? n[s] : "?";
}

static doctor_check *add_check(doctor_report *r, const char *id, doctor_status st, const char *fmt,
                               ...) __attribute__((format(printf, 4, 5)));
static doctor_check *add_check(doctor_report *r, const char *id, doctor_status st, const char *fmt,
                               ...) {
    static doctor_check spare;
    if (r->nchecks >= DOCTOR_MAX_CHECKS) return &spare;
    doctor_check *c = &r->checks[r->nchecks++];
    memset(c, 0, sizeof *c);
    str_copy(c->id, sizeof c->id, id);
    c->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    return c;
}

/* ---- reading ----------------------------------------------------------------------- */

static void read_zram(doctor_report *r) {
    char dir[1024];
    memstat_path(r->root, "/sys/block", dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && r->nzram < DOCTOR_MAX_ZRAM) {
        if (strncmp(e->d_name, "zram", 4) != 0 || strlen(e->d_name) > 10) continue;
        doctor_zram *z = &r->zram[r->nzram++];
        memset(z, 0, sizeof *z);
        str_copy(z->device, sizeof z->device, e->d_name);
        char abs[128], buf[256];
        snprintf(abs, sizeof abs, "/sys/block/%s/disksize", z->device);
        if (memstat_read_i64(r->root, abs, &z->disksize) != 0) z->disksize = 0;
        /* comp_algorithm lists all with the chosen one in brackets: "lzo [lz4] zstd". */
        snprintf(abs, sizeof abs, "/sys/block/%s/comp_algorithm", z->device);
        if (memstat_read_str(r->root, abs, buf, sizeof buf) == 0) {
            char *lb = strchr(buf, '['), *rb = lb ? strchr(lb, ']') : NULL;
            if (lb && rb) {
                *rb = '\0';
                str_copy(z->algorithm, sizeof z->algorithm, lb + 1);
            } else {
                str_copy(z->algorithm, sizeof z->algorithm, buf);
            }
        }
        /* mm_stat: orig_data_size compr_data_size mem_used_total ... */
        snprintf(abs, sizeof abs, "/sys/block/%s/mm_stat", z->device);
        long long o = 0, c = 0;
        if (memstat_read_str(r->root, abs, buf, sizeof buf) == 0 &&
            sscanf(buf, "%lld %lld", &o, &c) == 2) {
            z->orig_bytes = o;
            z->compr_bytes = c;
            z->ratio = c > 0 ? (double)o / (double)c : 0;
        }
    }
    closedir(d);
}

static void read_swaps(doctor_report *r) {
    char path[1024];
    memstat_path(r->root, "/proc/swaps", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char name[256], type[32];
        long long kib;
        if (sscanf(line, "%255s %31s %lld", name, type, &kib) != 3) continue; /* header */
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        if (strncmp(base, "zram", 4) == 0) {
            r->swap_zram_bytes += kib * 1024;
            for (int i = 0; i < r->nzram; i++)
                if (strcmp(r->zram[i].device, base) == 0) r->zram[i].used_as_swap = 1;
        } else {
            r->swap_disk_bytes += kib * 1024;
        }
    }
    fclose(f);
}

static void read_oom_daemons(doctor_report *r) {
    char dir[1024];
    memstat_path(r->root, "/proc", dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char abs[128], comm[64];
        snprintf(abs, sizeof abs, "/proc/%.20s/comm", e->d_name);
        if (memstat_read_str(r->root, abs, comm, sizeof comm) != 0) continue;
        if (strcmp(comm, "earlyoom") == 0) r->earlyoom = 1;
        if (strcmp(comm, "systemd-oomd") == 0) r->systemd_oomd = 1;
    }
    closedir(d);
}

static int64_t sysctl(const char *root, const char *name) {
    char abs[96];
    snprintf(abs, sizeof abs, "/proc/sys/vm/%s", name);
    int64_t v;
    return memstat_read_i64(root, abs, &v) == 0 ? v : -1;
}

/* Bytes under a file or folder (bounded depth and count: a mistyped path must not
 * walk the whole disk). -1 when it does not exist. */
static int64_t path_bytes(const char *path, int depth) {
    struct stat st;
    if (!path || !*path || stat(path, &st) != 0) return -1;
    if (S_ISREG(st.st_mode)) return st.st_size;
    if (!S_ISDIR(st.st_mode) || depth > 4) return 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    int64_t sum = 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n++ < 5000) {
        if (e->d_name[0] == '.') continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        int64_t b = path_bytes(sub, depth + 1);
        if (b > 0) sum += b;
    }
    closedir(d);
    return sum;
}

/* ---- the plan ------------------------------------------------------------------------ */

static void plan_item(doctor_report *r, const char *name, const char *source, int64_t file_bytes,
                      int64_t estimate, int configured) {
    doctor_plan_item *p = &r->plan[r->nplan++];
    memset(p, 0, sizeof *p);
    str_copy(p->component, sizeof p->component, name);
    str_copy(p->source, sizeof p->source, source);
    p->file_bytes = file_bytes;
    p->estimate = configured ? estimate : 0;
    p->configured = configured;
}

/* Estimates: model files are read or mapped whole, plus the runtime's own overhead.
 * The governor replaces these with measured figures after the first load. */
static void make_plan(doctor_report *r, const axiom_config *cfg) {
    char buf[PATH_MAX];
    const char *root = axiom_root_dir();

    config_data_dir(cfg, buf, sizeof buf);
    int64_t data = path_bytes(buf, 0);
    plan_item(r, "intent", buf, data, (data > 0 ? 3 * data : 0) + 4 * MIB, 1);

    const char *vb = config_str(cfg, "vad.backend");
    if (strcmp(vb, "silero") == 0) {
        const char *m = config_str(cfg, "vad.model");
        if (!*m)
            snprintf(buf, sizeof buf, "%s/deps/silero/dist/silero_vad_v5.onnx", root);
        else
            str_copy(buf, sizeof buf, m);
        int64_t b = path_bytes(buf, 0);
        /* + sherpa-onnx and onnxruntime: the Silero detector measured +38 MiB with a
         * 2.2 MiB model (bench_memory). */
        plan_item(r, "vad", buf, b, (b > 0 ? b : 0) + 36 * MIB, 1);
    } else {
        plan_item(r, "vad", "energy detector (no model)", 0, 0, 1);
    }

    if (strcmp(config_str(cfg, "stt.backend"), "sherpa") == 0) {
        str_copy(buf, sizeof buf, config_str(cfg, "stt.sherpa_model_dir"));
        int64_t b = path_bytes(buf, 0);
        plan_item(r, "stt", buf[0] ? buf : "stt.sherpa_model_dir (not set)", b,
                  (b > 0 ? b : 0) + 24 * MIB, 1);
    } else {
        str_copy(buf, sizeof buf, config_str(cfg, "stt.hmm"));
        int64_t b = path_bytes(buf, 0);
        plan_item(r, "stt", buf, b, (b > 0 ? b : 0) + 16 * MIB, 1); /* + LM and decoder */
    }

    const char *tb = config_str(cfg, "tts.backend");
    if (strcmp(tb, "sherpa") == 0) {
        str_copy(buf, sizeof buf, config_str(cfg, "tts.sherpa_model_dir"));
        int64_t b = path_bytes(buf, 0);
        plan_item(r, "tts", buf[0] ? buf : "tts.sherpa_model_dir (not set)", b,
                  (b > 0 ? b : 0) + 24 * MIB, 1);
    } else if (strcmp(tb, "flite") == 0) {
        plan_item(r, "tts", "flite (voice compiled in)", 0, 8 * MIB, 1);
    } else {
        plan_item(r, "tts", "tts.backend none (text-only replies)", 0, 0, 0);
    }

    const char *lb = config_str(cfg, "llm.backend");
    if (strcmp(lb, "gguf") == 0) {
        str_copy(buf, sizeof buf, config_str(cfg, "llm.gguf"));
        int64_t b = path_bytes(buf, 0);
        /* Weights plus ~20% for the KV cache and compute buffers at modest contexts. */
        plan_item(r, "llm", buf[0] ? buf : "llm.gguf (not set)", b,
                  b > 0 ? b + b / 5 + 16 * MIB : 0, 1);
    } else if (strcmp(lb, "none") == 0) {
        plan_item(r, "llm", "llm.backend none", 0, 0, 0);
    } else {
        snprintf(buf, sizeof buf, "%s server (its memory is another process's)", lb);
        plan_item(r, "llm", buf, 0, 2 * MIB, 1);
    }

    int64_t cum = r->base_bytes;
    int64_t limit = r->budget > 0 ? r->budget * r->warn_pct / 100 : -1;
    for (int i = 0; i < r->nplan; i++) {
        cum += r->plan[i].estimate;
        r->plan[i].cumulative = cum;
        r->plan[i].fits = limit < 0 || cum <= limit;
    }
    r->left_after_all = r->budget > 0 ? r->budget - cum : -1;
}

/* zram size by RAM (reference advice): 8 GB -> 2-4 GB, 16 GB -> 4-8 GB, 32 GB and
 * more -> 8-16 GB, always under half of RAM. Returns the upper end. */
static int64_t zram_size_for(int64_t ram, int64_t *low) {
    int64_t lo, hi;
    if (ram <= 10 * GIB)
        lo = 2 * GIB, hi = 4 * GIB;
    else if (ram <= 20 * GIB)
        lo = 4 * GIB, hi = 8 * GIB;
    else
        lo = 8 * GIB, hi = 16 * GIB;
    int64_t half = ram / 2 - 256 * MIB;
    if (hi > half) hi = half > 0 ? half / GIB * GIB : ram / 4;
    if (hi <= 0) hi = ram / 4;
    if (lo > hi) lo = hi / 2;
    *low = lo;
    return hi;
}

static void tune(doctor_report *r, const char *name, int64_t cur, int64_t rec, const char *why) {
    if (r->ntuning >= DOCTOR_MAX_TUNING) return;
    doctor_tuning *t = &r->tuning[r->ntuning++];
    snprintf(t->sysctl, sizeof t->sysctl, "vm.%s", name);
    t->current = cur;
    t->recommended = rec;
    str_copy(t->why, sizeof t->why, why);
}

/* ---- judging ------------------------------------------------------------------------- */

static void judge(doctor_report *r) {
    char a[32], b[32], c[32];
    int64_t ram = r->mem.mem_total;
    doctor_check *k;

    doctor_bytes_text(ram, a, sizeof a);
    doctor_bytes_text(r->mem.mem_available, b, sizeof b);
    if (ram <= 0) {
        k = add_check(r, "ram", DOC_FAIL, "cannot read /proc/meminfo under %s",
                      r->root[0] ? r->root : "/");
    } else if (ram < 1 * GIB) {
        k = add_check(r, "ram", DOC_FAIL, "%s of RAM is below the 1 GiB the speech stack needs", a);
    } else if (ram < 2 * GIB) {
        k = add_check(r, "ram", DOC_WARN,
                      "%s of RAM: the speech stack fits, an LLM in process will not", a);
    } else {
        k = add_check(r, "ram", DOC_OK, "%s of RAM", a);
    }
    snprintf(k->value, sizeof k->value, "%s total, %s available", a, b);

    /* Available memory against what the plan needs without and with the LLM. */
    int64_t need_core = r->base_bytes, need_all = r->base_bytes;
    for (int i = 0; i < r->nplan; i++) {
        need_all += r->plan[i].estimate;
        if (strcmp(r->plan[i].component, "llm") != 0) need_core += r->plan[i].estimate;
    }
    doctor_bytes_text(need_core, a, sizeof a);
    doctor_bytes_text(need_all, c, sizeof c);
    if (r->mem.mem_available < 0) {
        k = add_check(r, "available", DOC_INFO,
                      "MemAvailable cannot be read; the plan needs about %s", c);
    } else if (r->mem.mem_available < need_core) {
        k = add_check(r, "available", DOC_FAIL,
                      "only %s available; the speech stack needs about %s", b, a);
        str_copy(k->fix, sizeof k->fix, "stop other services, or add swap (see the zram line)");
    } else if (r->mem.mem_available < need_all) {
        k = add_check(r, "available", DOC_WARN,
                      "%s available; everything configured needs about %s", b, c);
        str_copy(k->fix, sizeof k->fix, "axiom serve --skip-llm");
    } else {
        k = add_check(r, "available", DOC_OK, "%s available for a plan of about %s", b, c);
    }
    str_copy(k->value, sizeof k->value, b);

    /* Swap and zram. */
    int64_t zlow, zhi = zram_size_for(ram > 0 ? ram : 0, &zlow);
    int64_t swap_used =
        (r->mem.swap_total > 0 && r->mem.swap_free >= 0) ? r->mem.swap_total - r->mem.swap_free : 0;
    doctor_bytes_text(r->mem.swap_total, a, sizeof a);
    doctor_bytes_text(swap_used, b, sizeof b);
    doctor_bytes_text(zhi, c, sizeof c);
    if (r->mem.swap_total <= 0 && ram <= 0) {
        k = add_check(r, "swap", DOC_INFO, "swap cannot be judged without the RAM size");
        str_copy(k->value, sizeof k->value, "unknown");
    } else if (r->mem.swap_total <= 0) {
        k = add_check(r, "swap", DOC_WARN,
                      "no swap: a memory spike goes straight to the OOM killer");
        r->zram_recommended = zhi;
        char lo[32];
        doctor_bytes_text(zlow, lo, sizeof lo);
        snprintf(k->fix, sizeof k->fix,
                 "axiom doctor --apply --zram  (or: modprobe zram && zramctl -a zstd -s %lldM "
                 "/dev/zram0 "
                 "&& mkswap /dev/zram0 && swapon -p 100 /dev/zram0); %s-%s for this RAM",
                 (long long)(zhi / MIB), lo, c);
        str_copy(k->why, sizeof k->why,
                 "compressed swap in RAM holds cold pages at 2-4x density, so a spike slows down "
                 "instead of killing");
        str_copy(k->value, sizeof k->value, "none");
    } else {
        doctor_status st = swap_used * 2 > r->mem.swap_total ? DOC_WARN : DOC_OK;
        k = add_check(r, "swap", st, "%s of swap, %s used%s", a, b,
                      st == DOC_WARN ? ": the machine is already short of memory" : "");
        snprintf(k->value, sizeof k->value, "%s, %s used", a, b);
    }
    for (int i = 0; i < r->nzram; i++) {
        doctor_zram *z = &r->zram[i];
        doctor_bytes_text(z->disksize, a, sizeof a);
        doctor_status st = DOC_OK;
        if (z->disksize > 0 && !z->used_as_swap) st = DOC_INFO;
        if (z->disksize <= 0) st = DOC_INFO;
        char id[32];
        snprintf(id, sizeof id, "zram.%.16s", z->device);
        k = add_check(r, id, st, "%s: %s, %s, ratio %.1f%s", z->device, a,
                      z->algorithm[0] ? z->algorithm : "?", z->ratio,
                      z->disksize <= 0  ? " (not set up)"
                      : z->used_as_swap ? " (swap)"
                                        : " (not used as swap)");
        snprintf(k->value, sizeof k->value, "%s %s ratio %.2f", a, z->algorithm, z->ratio);
    }

    /* vm sysctls. With zram, swapping is cheap: prefer it to dropping file cache. */
    int zram_swap = r->swap_zram_bytes > 0;
    int64_t sw = r->sysctl_swappiness;
    if (sw >= 0) {
        int64_t rec = sw;
        const char *why = "";
        if ((zram_swap || r->zram_recommended) && sw < 100) {
            rec = 180;
            why = "with zram, swapping a cold page costs a compression, far less than re-reading "
                  "model files";
        } else if (!zram_swap && r->swap_disk_bytes > 0 && sw > 60) {
            rec = 10;
            why = "with disk swap, swapping stalls the audio path; keep it for emergencies";
        }
        k = add_check(r, "vm.swappiness", rec == sw ? DOC_OK : DOC_WARN, "vm.swappiness = %lld%s",
                      (long long)sw, rec == sw ? "" : " does not suit this swap set-up");
        snprintf(k->value, sizeof k->value, "%lld", (long long)sw);
        if (rec != sw) {
            snprintf(k->fix, sizeof k->fix, "sysctl -w vm.swappiness=%lld", (long long)rec);
            str_copy(k->why, sizeof k->why, why);
            tune(r, "swappiness", sw, rec, why);
        }
    }
    int64_t vcp = r->sysctl_vfs_cache_pressure;
    if (vcp >= 0) {
        int bad = vcp > 100;
        k = add_check(r, "vm.vfs_cache_pressure", bad ? DOC_WARN : DOC_OK,
                      "vm.vfs_cache_pressure = %lld%s", (long long)vcp,
                      bad ? ": file metadata is reclaimed aggressively" : "");
        snprintf(k->value, sizeof k->value, "%lld", (long long)vcp);
        if (bad) {
            const char *why = "keeps directory and inode caches, so reloading a model after an "
                              "idle unload stays fast";
            str_copy(k->fix, sizeof k->fix, "sysctl -w vm.vfs_cache_pressure=50");
            str_copy(k->why, sizeof k->why, why);
            tune(r, "vfs_cache_pressure", vcp, 50, why);
        }
    }
    int64_t dr = r->sysctl_dirty_ratio, dbr = r->sysctl_dirty_background_ratio;
    if (dr >= 0) {
        int bad = dr > 20;
        k = add_check(r, "vm.dirty_ratio", bad ? DOC_WARN : DOC_OK, "vm.dirty_ratio = %lld%s",
                      (long long)dr, bad ? ": writers may stall on a large dirty-page flush" : "");
        snprintf(k->value, sizeof k->value, "%lld", (long long)dr);
        if (bad) {
            const char *why =
                "smaller dirty pools flush sooner and in smaller bursts: no long stalls mid-answer";
            str_copy(k->fix, sizeof k->fix, "sysctl -w vm.dirty_ratio=10");
            str_copy(k->why, sizeof k->why, why);
            tune(r, "dirty_ratio", dr, 10, why);
        }
    }
    if (dbr >= 0) {
        int bad = dbr > 10 || (dr >= 0 && dbr >= dr);
        k = add_check(r, "vm.dirty_background_ratio", bad ? DOC_WARN : DOC_OK,
                      "vm.dirty_background_ratio = %lld%s", (long long)dbr,
                      bad ? ": background writeback starts late" : "");
        snprintf(k->value, sizeof k->value, "%lld", (long long)dbr);
        if (bad) {
            const char *why = "background writeback starting early keeps dirty memory reclaimable";
            str_copy(k->fix, sizeof k->fix, "sysctl -w vm.dirty_background_ratio=5");
            str_copy(k->why, sizeof k->why, why);
            tune(r, "dirty_background_ratio", dbr, 5, why);
        }
    }
    int64_t oc = r->sysctl_overcommit_memory;
    if (oc >= 0) {
        static const char *const names[] = {"heuristic", "always", "strict"};
        doctor_status st = oc == 0 ? DOC_OK : DOC_WARN;
        k = add_check(
            r, "vm.overcommit_memory", st, "vm.overcommit_memory = %lld (%s)%s", (long long)oc,
            oc >= 0 && oc <= 2 ? names[oc] : "?",
            oc == 1   ? ": allocations never fail, so a model too big is found by the OOM killer"
            : oc == 2 ? ": mapping a large model may fail even with free memory"
                      : "");
        snprintf(k->value, sizeof k->value, "%lld", (long long)oc);
        if (oc != 0) {
            const char *why = "the default heuristic refuses absurd allocations and lets AXIOM "
                              "skip a model cleanly";
            str_copy(k->fix, sizeof k->fix, "sysctl -w vm.overcommit_memory=0");
            str_copy(k->why, sizeof k->why, why);
            tune(r, "overcommit_memory", oc, 0, why);
        }
    }

    /* PSI */
    if (r->psi.supported) {
        k = add_check(r, "psi", DOC_OK,
                      "pressure stall information available (some avg10 %.2f%%, full avg10 %.2f%%)",
                      r->psi.some_avg10, r->psi.full_avg10);
        snprintf(k->value, sizeof k->value, "some %.2f full %.2f", r->psi.some_avg10,
                 r->psi.full_avg10);
    } else {
        k = add_check(r, "psi", DOC_WARN,
                      "no readable /proc/pressure/memory: the governor falls back to polling");
        str_copy(k->fix, sizeof k->fix,
                 "boot with psi=1 on the kernel command line (CONFIG_PSI=y)");
        str_copy(k->why, sizeof k->why,
                 "PSI tells how long tasks stall on memory, earlier than free-memory figures do");
        str_copy(k->value, sizeof k->value, "absent");
    }

    /* cgroup */
    if (r->cg.version == 0) {
        k = add_check(r, "cgroup", DOC_INFO, "no memory cgroup found: the budget is physical RAM");
        str_copy(k->fix, sizeof k->fix,
                 "run under contrib/axiom.service (MemoryHigh=, MemoryMax=)");
        str_copy(k->why, sizeof k->why,
                 "a cgroup limit contains AXIOM without touching the rest of the machine");
        str_copy(k->value, sizeof k->value, "none");
    } else {
        doctor_bytes_text(r->cg.limit, a, sizeof a);
        doctor_bytes_text(r->cg.working_set, b, sizeof b);
        doctor_status st = DOC_OK;
        if (r->cg.limit > 0 && r->cg.limit < need_core)
            st = DOC_FAIL;
        else if (r->cg.limit > 0 && r->cg.limit < need_all)
            st = DOC_WARN;
        k = add_check(r, "cgroup", st, "cgroup v%d %s: limit %s, %s in use%s", r->cg.version,
                      r->cg.path, r->cg.limit > 0 ? a : "none", b,
                      st == DOC_FAIL   ? ": below what the speech stack needs"
                      : st == DOC_WARN ? ": below what everything configured needs"
                                       : "");
        snprintf(k->value, sizeof k->value, "v%d limit %s", r->cg.version,
                 r->cg.limit > 0 ? a : "none");
        if (st != DOC_OK)
            str_copy(k->fix, sizeof k->fix, "raise MemoryMax= in the unit, or run with --skip-llm");
    }

    /* userspace OOM killers */
    if (r->earlyoom || r->systemd_oomd) {
        k = add_check(r, "oom-daemon", DOC_OK,
                      "%s%s%s running: it acts before the kernel's OOM killer",
                      r->earlyoom ? "earlyoom" : "", r->earlyoom && r->systemd_oomd ? " and " : "",
                      r->systemd_oomd ? "systemd-oomd" : "");
        snprintf(k->value, sizeof k->value, "%s%s", r->earlyoom ? "earlyoom " : "",
                 r->systemd_oomd ? "systemd-oomd" : "");
    } else {
        k = add_check(r, "oom-daemon", DOC_INFO, "neither earlyoom nor systemd-oomd is running");
        str_copy(k->fix, sizeof k->fix, "apt-get install earlyoom");
        str_copy(
            k->why, sizeof k->why,
            "the kernel kills late, after the machine has thrashed; earlyoom acts at a set floor");
        str_copy(k->value, sizeof k->value, "none");
    }

    /* The plan: models that are configured but missing, and what does not fit. */
    for (int i = 0; i < r->nplan; i++) {
        doctor_plan_item *p = &r->plan[i];
        char id[32];
        snprintf(id, sizeof id, "model.%s", p->component);
        if (!p->configured) continue;
        if (p->file_bytes < 0) {
            k = add_check(r, id, DOC_WARN,
                          "%s: %s is missing; it will be skipped and the mode degraded",
                          p->component, p->source);
            str_copy(k->value, sizeof k->value, "missing");
            continue;
        }
        if (p->fits) continue;
        doctor_bytes_text(p->estimate, a, sizeof a);
        int64_t left = r->budget - p->cumulative;
        doctor_bytes_text(left >= 0 ? left : -left, b, sizeof b);
        int is_llm = strcmp(p->component, "llm") == 0;
        doctor_bytes_text(r->zram_recommended > 0 ? r->zram_recommended : zhi, c, sizeof c);
        char bud[32];
        doctor_bytes_text(r->budget, bud, sizeof bud);
        if (left >= 0)
            k = add_check(r, id, is_llm ? DOC_WARN : DOC_FAIL,
                          "%s %s would leave %s of the %s budget (%s), past the %d%% warn level",
                          is_llm ? "LLM" : p->component, a, b, bud, r->budget_source, r->warn_pct);
        else
            k = add_check(r, id, is_llm ? DOC_WARN : DOC_FAIL,
                          "%s %s would exceed the %s budget (%s) by %s",
                          is_llm ? "LLM" : p->component, a, bud, r->budget_source, b);
        if (is_llm)
            snprintf(k->fix, sizeof k->fix,
                     "run with --skip-llm or add %s of zram (axiom doctor --apply --zram)", c);
        else
            snprintf(k->fix, sizeof k->fix,
                     "raise the memory budget (mem.budget_mb, MemoryMax=) or free memory");
        doctor_bytes_text(p->estimate, k->value, sizeof k->value);
    }
}

int doctor_run(const axiom_config *cfg, const char *root, doctor_report *r) {
    memset(r, 0, sizeof *r);
    str_copy(r->root, sizeof r->root, root && strcmp(root, "/") != 0 ? root : "");
    memstat_meminfo_read(r->root, &r->mem);
    memstat_psi_read(r->root, &r->psi);
    memstat_cgroup_read(r->root, &r->cg);
    r->sysctl_swappiness = sysctl(r->root, "swappiness");
    r->sysctl_vfs_cache_pressure = sysctl(r->root, "vfs_cache_pressure");
    r->sysctl_dirty_ratio = sysctl(r->root, "dirty_ratio");
    r->sysctl_dirty_background_ratio = sysctl(r->root, "dirty_background_ratio");
    r->sysctl_overcommit_memory = sysctl(r->root, "overcommit_memory");
    read_zram(r);
    read_swaps(r);
    read_oom_daemons(r);

    r->warn_pct = (int)config_int(cfg, "mem.warn_pct");
    int64_t cfg_budget = config_int(cfg, "mem.budget_mb") * MIB;
    r->budget = r->mem.mem_total;
    r->budget_source = "ram";
    if (r->cg.limit > 0 && (r->budget <= 0 || r->cg.limit < r->budget)) {
        r->budget = r->cg.limit;
        r->budget_source = r->cg.version == 2 ? "cgroup v2" : "cgroup v1";
    }
    if (cfg_budget > 0 && (r->budget <= 0 || cfg_budget < r->budget)) {
        r->budget = cfg_budget;
        r->budget_source = "config";
    }
    r->base_bytes = BASE_BYTES;
    make_plan(r, cfg);
    judge(r);
    return 0;
}

int doctor_exit_code(const doctor_report *r) {
    int code = 0;
    for (int i = 0; i < r->nchecks; i++) {
        if (r->checks[i].status == DOC_FAIL) return 2;
        if (r->checks[i].status == DOC_WARN) code = 1;
    }
    return code;
}
