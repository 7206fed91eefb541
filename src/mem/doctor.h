/* axiom doctor: the pre-start memory checklist. Reads the machine (RAM, swap, zram,
 * vm sysctls, overcommit, PSI, cgroup limits, userspace OOM killers) and the
 * configured models' sizes, judges each, and makes a memory plan: which components
 * fit in this machine's budget, in load order. Changes nothing unless doctor_apply
 * is called (`axiom doctor --apply`).
 *
 * Everything is read under a root folder, so tests feed fabricated /proc and /sys
 * trees (tests/data/doctor/<case>/). */
#ifndef AXIOM_MEM_DOCTOR_H
#define AXIOM_MEM_DOCTOR_H

#include "core/config.h"
#include "mem/memstat.h"

#include <stdint.h>
#include <stdio.h>

typedef struct cJSON cJSON;

typedef enum { DOC_OK = 0, DOC_INFO, DOC_WARN, DOC_FAIL } doctor_status;

typedef struct {
    char id[32]; /* stable key: "ram", "swap", "vm.swappiness", ... */
    doctor_status status;
    char value[96];    /* what was read, human-readable */
    char message[320]; /* the judgement in one line */
    char fix[400];     /* a concrete command, or "" */
    char why[240];     /* one line: why the fix helps */
} doctor_check;

typedef struct {
    char device[16];
    int64_t disksize, orig_bytes, compr_bytes;
    char algorithm[24];
    double ratio; /* orig / compr; 0 = no data yet */
    int used_as_swap;
} doctor_zram;

typedef struct {
    char component[12]; /* intent+index, vad, stt, tts, llm */
    char source[300];   /* file or folder the estimate comes from, or a note */
    int64_t file_bytes; /* -1 = missing */
    int64_t estimate;   /* expected resident cost */
    int64_t cumulative; /* base + this and everything before it */
    int configured;     /* 0: not configured (e.g. llm.backend none) */
    int fits;           /* cumulative below the warn level of the budget */
} doctor_plan_item;

typedef struct {
    char sysctl[32]; /* "vm.swappiness" */
    int64_t current;
    int64_t recommended;
    char why[200];
} doctor_tuning;

#define DOCTOR_MAX_CHECKS 32
#define DOCTOR_MAX_ZRAM 8
#define DOCTOR_MAX_TUNING 8

typedef struct {
    char root[256];
    memstat_meminfo mem;
    memstat_psi psi;
    memstat_cgroup cg;
    int64_t sysctl_swappiness, sysctl_vfs_cache_pressure, sysctl_dirty_ratio,
        sysctl_dirty_background_ratio, sysctl_overcommit_memory;
    doctor_zram zram[DOCTOR_MAX_ZRAM];
    int nzram;
    int64_t swap_disk_bytes, swap_zram_bytes; /* from /proc/swaps */
    int earlyoom, systemd_oomd;

    doctor_plan_item plan[6];
    int nplan;
    int64_t budget, base_bytes, left_after_all;
    const char *budget_source;
    int warn_pct;
    int64_t zram_recommended; /* bytes; 0 = none recommended */

    doctor_tuning tuning[DOCTOR_MAX_TUNING];
    int ntuning;

    doctor_check checks[DOCTOR_MAX_CHECKS];
    int nchecks;
} doctor_report;

/* Reads and judges. root NULL or "/" = this machine. Returns 0 (the report is always
 * filled; unreadable files become checks). */
int doctor_run(const axiom_config *cfg, const char *root, doctor_report *r);
/* 0 all good, 1 warnings, 2 AXIOM would not run (essentials do not fit). */
int doctor_exit_code(const doctor_report *r);

void doctor_print(const doctor_report *r, FILE *out);
/* The report as JSON (docs/doctor-schema.json); the caller deletes it. NULL when
 * out of memory. */
cJSON *doctor_json(const doctor_report *r);

/* Applies the recommended sysctls (writes <root>/etc/sysctl.d/90-axiom-memory.conf and
 * <root>/proc/sys/vm/NAME) and, with zram = 1, sets up a zram swap device. Prints each
 * change to out. Refuses without root privileges unless root is a fabricated tree.
 * Returns 0 or -1 with err. */
int doctor_apply(const doctor_report *r, int zram, FILE *out, char *err, size_t errlen);

const char *doctor_status_name(doctor_status s);

/* A size for the report: "1.5 GiB", "300 MiB", or "unknown" when b < 0. */
void doctor_bytes_text(int64_t b, char *out, size_t n);

#endif
