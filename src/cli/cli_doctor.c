/* axiom doctor [--json] [--root DIR] [--apply [--zram]]: the pre-start memory
 * checklist (src/mem/doctor.c). Exit 0 all good, 1 warnings, 2 would not run
 * (3 when --apply itself failed). */
#include "cli/cli.h"
#include "mem/doctor.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out) {
    fprintf(out,
            "usage: axiom doctor [--json] [--root DIR] [--apply [--zram]]\n"
            "Checks this machine's memory set-up for AXIOM: RAM, swap and zram, vm sysctls,\n"
            "overcommit, PSI, cgroup limits, userspace OOM killers, and whether the configured\n"
            "models fit in the memory budget. Prints a concrete fix for each problem.\n\n"
            "  --json       machine-readable report (schema: docs/doctor-schema.json)\n"
            "  --root DIR   read DIR/proc and DIR/sys instead of this machine's\n"
            "  --apply      make the recommended sysctl changes (root only; writes\n"
            "               /etc/sysctl.d/90-axiom-memory.conf and prints each change)\n"
            "  --zram       with --apply: also set up a zram swap device of the advised size\n\n"
            "exit status: 0 all good, 1 warnings, 2 AXIOM would not run, 3 --apply failed\n");
}

int cmd_doctor(const axiom_config *cfg, int argc, char **argv) {
    int json = 0, apply = 0, zram = 0;
    const char *root = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--apply") == 0) {
            apply = 1;
        } else if (strcmp(argv[i], "--zram") == 0) {
            zram = 1;
        } else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else if (strncmp(argv[i], "--root=", 7) == 0) {
            root = argv[i] + 7;
        } else {
            fprintf(stderr, "axiom doctor: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (zram && !apply) {
        fprintf(stderr, "axiom doctor: --zram only makes sense with --apply\n");
        return 2;
    }
    doctor_report *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "axiom doctor: out of memory\n");
        return 2;
    }
    doctor_run(cfg, root, r);
    int code = doctor_exit_code(r);
    if (json) {
        cJSON *o = doctor_json(r);
        char *text = o ? cJSON_Print(o) : NULL;
        if (!text) {
            fprintf(stderr, "axiom doctor: out of memory\n");
            code = 2;
        } else {
            printf("%s\n", text);
        }
        free(text);
        cJSON_Delete(o);
    } else {
        doctor_print(r, stdout);
    }
    if (apply) {
        char err[512];
        FILE *out = json ? stderr : stdout;
        fprintf(out, "\nApplying:\n");
        if (doctor_apply(r, zram, out, err, sizeof err) != 0) {
            fprintf(stderr, "axiom doctor --apply: %s\n", err);
            code = 3;
        }
    }
    free(r);
    return code;
}
