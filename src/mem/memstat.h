/* Readers for the kernel's memory figures: /proc/meminfo, /proc/pressure/memory, the
 * cgroup (v1 or v2) this process runs in, /proc/swaps, zram devices and vm sysctls.
 *
 * Every reader takes a root folder ("" or "/" = the real system) so the governor's
 * tests and `axiom doctor --root DIR` can feed a fabricated /proc and /sys tree.
 * Units are in the names; bytes are int64_t and -1 means "not available". */
#ifndef AXIOM_MEM_MEMSTAT_H
#define AXIOM_MEM_MEMSTAT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t mem_total, mem_available, mem_free, cached, swap_total, swap_free;
} memstat_meminfo;

typedef struct {
    int supported; /* the file exists and parses */
    double some_avg10, some_avg60, full_avg10, full_avg60;
} memstat_psi;

typedef struct {
    int version;           /* 0 = no memory cgroup found, 1 or 2 */
    char path[256];        /* cgroup path as in /proc/self/cgroup */
    char dir[512];         /* the folder holding its memory files (under root) */
    int64_t max;           /* v2 memory.max, v1 memory.limit_in_bytes; -1 = unlimited */
    int64_t high;          /* v2 memory.high; -1 = unlimited or v1 */
    int64_t limit;         /* the smallest of max and high over the cgroup and its parents */
    int64_t current;       /* v2 memory.current, v1 memory.usage_in_bytes */
    int64_t inactive_file; /* reclaimable page cache counted in current */
    int64_t working_set;   /* current - inactive_file: what the limit really presses on */
    int64_t swap_max;      /* v2 memory.swap.max; -1 unlimited or unknown */
} memstat_cgroup;

/* Joins root and an absolute path ("/proc/meminfo") into out. */
void memstat_path(const char *root, const char *abs, char *out, size_t outlen);

/* Returns 0, or -1 when /proc/meminfo cannot be read (fields stay -1). */
int memstat_meminfo_read(const char *root, memstat_meminfo *out);
/* Returns 0 with out->supported = 1, or -1 (no PSI: kernel without CONFIG_PSI or psi=0). */
int memstat_psi_read(const char *root, memstat_psi *out);
/* Finds this process's memory cgroup (/proc/self/cgroup) and reads its limits, walking
 * up the parents for the effective limit. Returns 0 (version 0 when none is found). */
int memstat_cgroup_read(const char *root, memstat_cgroup *out);

/* A whole small file as a trimmed string; returns 0 or -1. */
int memstat_read_str(const char *root, const char *abs, char *out, size_t outlen);
/* A file holding one integer; "max" reads as -1. Returns 0 or -1 (absent, not a number). */
int memstat_read_i64(const char *root, const char *abs, int64_t *out);

#endif
