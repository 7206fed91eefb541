/* Kernel memory figures, read from a (possibly fabricated) root. Small fixed buffers
 * and line-by-line parsing: these run every watcher tick and must not allocate much
 * or trust what they read (a file may be absent, truncated or hold garbage). */
#include "mem/memstat.h"

#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cgroup v1 reports "no limit" as a page-rounded LONG_MAX; anything this big is none. */
#define UNLIMITED_FLOOR ((int64_t)1 << 60)

void memstat_path(const char *root, const char *abs, char *out, size_t outlen) {
    if (!root || !*root || strcmp(root, "/") == 0) root = "";
    size_t rl = strlen(root);
    while (rl > 0 && root[rl - 1] == '/')
        rl--;
    snprintf(out, outlen, "%.*s%s", (int)rl, root, abs);
}

int memstat_read_str(const char *root, const char *abs, char *out, size_t outlen) {
    char path[1024];
    memstat_path(root, abs, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, outlen - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    return 0;
}

int memstat_read_i64(const char *root, const char *abs, int64_t *out) {
    char buf[64];
    if (memstat_read_str(root, abs, buf, sizeof buf) != 0) return -1;
    if (strcmp(buf, "max") == 0) {
        *out = -1;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || errno) return -1;
    *out = v >= UNLIMITED_FLOOR ? -1 : (int64_t)v;
    return 0;
}

int memstat_meminfo_read(const char *root, memstat_meminfo *out) {
    out->mem_total = out->mem_available = out->mem_free = out->cached = -1;
    out->swap_total = out->swap_free = -1;
    char path[1024];
    memstat_path(root, "/proc/meminfo", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"MemTotal:", offsetof(memstat_meminfo, mem_total)},
        {"MemAvailable:", offsetof(memstat_meminfo, mem_available)},
        {"MemFree:", offsetof(memstat_meminfo, mem_free)},
        {"Cached:", offsetof(memstat_meminfo, cached)},
        {"SwapTotal:", offsetof(memstat_meminfo, swap_total)},
        {"SwapFree:", offsetof(memstat_meminfo, swap_free)},
    };
    char line[256];
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            size_t n = strlen(fields[i].name);
            if (strncmp(line, fields[i].name, n) != 0) continue;
            char *end;
            long long kib = strtoll(line + n, &end, 10);
            if (end != line + n && kib >= 0)
                *(int64_t *)((char *)out + fields[i].off) = (int64_t)kib * 1024;
        }
    }
    fclose(f);
    /* Kernels before 3.14 have no MemAvailable: free + cache is the old estimate. */
    if (out->mem_available < 0 && out->mem_free >= 0)
        out->mem_available = out->mem_free + (out->cached > 0 ? out->cached : 0);
    return out->mem_total > 0 ? 0 : -1;
}

int memstat_psi_read(const char *root, memstat_psi *out) {
    memset(out, 0, sizeof *out);
    out->some_avg10 = out->some_avg60 = out->full_avg10 = out->full_avg60 = -1;
    char path[1024];
    memstat_path(root, "/proc/pressure/memory", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        double a10, a60;
        if (sscanf(line, "some avg10=%lf avg60=%lf", &a10, &a60) == 2) {
            out->some_avg10 = a10, out->some_avg60 = a60;
            got |= 1;
        } else if (sscanf(line, "full avg10=%lf avg60=%lf", &a10, &a60) == 2) {
            out->full_avg10 = a10, out->full_avg60 = a60;
            got |= 2;
        }
    }
    fclose(f);
    out->supported = (got & 1) != 0;
    return out->supported ? 0 : -1;
}

/* Reads one key of a memory.stat file ("inactive_file" or v1 "total_inactive_file"). */
static int64_t stat_key(const char *root, const char *dir_abs, const char *key) {
    char abs[700], path[1024];
    snprintf(abs, sizeof abs, "%s/memory.stat", dir_abs);
    memstat_path(root, abs, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    size_t kl = strlen(key);
    int64_t v = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
            v = strtoll(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static int64_t min_limit(int64_t a, int64_t b) {
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

/* The mount points where each hierarchy is usually found. A container sees its own
 * cgroup as "/", which these paths then name correctly as well. */
static int find_dir(const char *root, int version, const char *cgpath, char *dir, size_t dirlen) {
    static const char *const v2_mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    static const char *const v1_mounts[] = {"/sys/fs/cgroup/memory",
                                            "/sys/fs/cgroup/memory,cpuset"};
    const char *const *mounts = version == 2 ? v2_mounts : v1_mounts;
    const char *probe = version == 2 ? "memory.max" : "memory.limit_in_bytes";
    const char *rel = strcmp(cgpath, "/") == 0 ? "" : cgpath;
    for (int i = 0; i < 2; i++) {
        char abs[800], path[1024];
        snprintf(abs, sizeof abs, "%s%s/%s", mounts[i], rel, probe);
        memstat_path(root, abs, path, sizeof path);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        fclose(f);
        snprintf(dir, dirlen, "%s%s", mounts[i], rel);
        return 0;
    }
    return -1;
}

/* Effective limit: the smallest limit of the cgroup and every parent up to the mount. */
static int64_t walk_limits(const char *root, int version, const char *dir, const char *mount_end) {
    char d[512];
    str_copy(d, sizeof d, dir);
    int64_t lim = -1;
    for (;;) {
        char abs[600];
        int64_t v;
        if (version == 2) {
            snprintf(abs, sizeof abs, "%s/memory.max", d);
            if (memstat_read_i64(root, abs, &v) == 0) lim = min_limit(lim, v);
            snprintf(abs, sizeof abs, "%s/memory.high", d);
            if (memstat_read_i64(root, abs, &v) == 0) lim = min_limit(lim, v);
        } else {
            snprintf(abs, sizeof abs, "%s/memory.limit_in_bytes", d);
            if (memstat_read_i64(root, abs, &v) == 0) lim = min_limit(lim, v);
        }
        if (strlen(d) <= strlen(mount_end)) break;
        char *slash = strrchr(d, '/');
        if (!slash || slash == d) break;
        *slash = '\0';
    }
    return lim;
}

int memstat_cgroup_read(const char *root, memstat_cgroup *out) {
    memset(out, 0, sizeof *out);
    out->max = out->high = out->limit = out->current = out->inactive_file = -1;
    out->working_set = out->swap_max = -1;
    char path[1024];
    memstat_path(root, "/proc/self/cgroup", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[512], v1path[256] = "", v2path[256] = "";
    int have_v1 = 0, have_v2 = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* hierarchy-ID:controller-list:cgroup-path */
        char *c1 = strchr(line, ':');
        if (!c1) continue;
        char *c2 = strchr(c1 + 1, ':');
        if (!c2) continue;
        *c2 = '\0';
        const char *ctrls = c1 + 1, *cg = c2 + 1;
        if (strncmp(line, "0:", 2) == 0 && *ctrls == '\0') {
            str_copy(v2path, sizeof v2path, cg);
            have_v2 = 1;
            continue;
        }
        /* v1: the controller list is comma-separated and may hold "memory". */
        for (const char *p = ctrls; *p;) {
            size_t len = strcspn(p, ",");
            if (len == 6 && strncmp(p, "memory", 6) == 0) {
                str_copy(v1path, sizeof v1path, cg);
                have_v1 = 1;
            }
            p += len;
            if (*p == ',') p++;
        }
    }
    fclose(f);
    /* A memory controller bound to v1 is absent from v2, so v1 wins when both exist. */
    /* A path is only ever joined under the mount; ".." would leave it. */
    if (strstr(v1path, "..")) have_v1 = 0;
    if (strstr(v2path, "..")) have_v2 = 0;
    int version = 0;
    if (have_v1 && find_dir(root, 1, v1path, out->dir, sizeof out->dir) == 0)
        version = 1;
    else if (have_v2 && find_dir(root, 2, v2path, out->dir, sizeof out->dir) == 0)
        version = 2;
    if (!version) return 0;
    out->version = version;
    str_copy(out->path, sizeof out->path, version == 1 ? v1path : v2path);
    char abs[600];
    const char *d = out->dir;
    size_t pl = strlen(out->path);
    char mount[512];
    str_copy(mount, sizeof mount, d);
    if (strcmp(out->path, "/") != 0 && strlen(mount) >= pl) mount[strlen(mount) - pl] = '\0';
    if (version == 2) {
        snprintf(abs, sizeof abs, "%s/memory.max", d);
        memstat_read_i64(root, abs, &out->max);
        snprintf(abs, sizeof abs, "%s/memory.high", d);
        memstat_read_i64(root, abs, &out->high);
        snprintf(abs, sizeof abs, "%s/memory.current", d);
        memstat_read_i64(root, abs, &out->current);
        snprintf(abs, sizeof abs, "%s/memory.swap.max", d);
        memstat_read_i64(root, abs, &out->swap_max);
        out->inactive_file = stat_key(root, d, "inactive_file");
    } else {
        snprintf(abs, sizeof abs, "%s/memory.limit_in_bytes", d);
        memstat_read_i64(root, abs, &out->max);
        snprintf(abs, sizeof abs, "%s/memory.usage_in_bytes", d);
        memstat_read_i64(root, abs, &out->current);
        out->inactive_file = stat_key(root, d, "total_inactive_file");
        if (out->inactive_file < 0) out->inactive_file = stat_key(root, d, "inactive_file");
    }
    out->limit = walk_limits(root, version, d, mount);
    if (out->current >= 0) {
        int64_t ws = out->current - (out->inactive_file > 0 ? out->inactive_file : 0);
        out->working_set = ws > 0 ? ws : 0;
    }
    return 0;
}
