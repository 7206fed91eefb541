/* axiom doctor --apply: makes the recommended sysctl changes, persistently (a file in
 * /etc/sysctl.d) and now (/proc/sys/vm), and with --zram sets up compressed swap.
 * Only what the report recommends, each change printed. Needs root on the real
 * system; under --root DIR it writes into that tree, which is how it is tested. */
#include "mem/doctor.h"

#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYSCTL_FILE "/etc/sysctl.d/90-axiom-memory.conf"

static int write_text(const char *root, const char *abs, const char *text, char *err,
                      size_t errlen) {
    char path[1024];
    memstat_path(root, abs, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int ok = fputs(text, f) >= 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok) snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
    return ok ? 0 : -1;
}

static int run_cmd(int real, const char *cmd, FILE *out) {
    fprintf(out, "  %s %s\n", real ? "running:" : "would run:", cmd);
    if (!real) return 0;
    int st = system(cmd);
    return st == 0 ? 0 : -1;
}

static int setup_zram(const doctor_report *r, int real, FILE *out, char *err, size_t errlen) {
    if (r->zram_recommended <= 0) {
        fprintf(out, "zram: swap is already configured; nothing added\n");
        return 0;
    }
    const doctor_zram *z = NULL;
    for (int i = 0; i < r->nzram; i++)
        if (strcmp(r->zram[i].device, "zram0") == 0) z = &r->zram[i];
    if (!z) {
        if (run_cmd(real, "modprobe zram num_devices=1", out) != 0 || !real) {
            if (real) {
                snprintf(err, errlen, "zram: modprobe zram failed (is the zram module available?)");
                return -1;
            }
            fprintf(out, "zram: no /sys/block/zram0 under %s; stopping here\n", r->root);
            return 0;
        }
    } else if (z->disksize > 0) {
        snprintf(err, errlen,
                 "zram: /dev/zram0 is already set up (%lld bytes); reset it first "
                 "(swapoff /dev/zram0; echo 1 > /sys/block/zram0/reset)",
                 (long long)z->disksize);
        return -1;
    }
    /* zstd compresses best; lz4 is the fallback on kernels without it. */
    if (write_text(r->root, "/sys/block/zram0/comp_algorithm", "zstd\n", err, errlen) != 0 &&
        write_text(r->root, "/sys/block/zram0/comp_algorithm", "lz4\n", err, errlen) != 0)
        return -1;
    char size[32];
    snprintf(size, sizeof size, "%lld\n", (long long)r->zram_recommended);
    if (write_text(r->root, "/sys/block/zram0/disksize", size, err, errlen) != 0) return -1;
    fprintf(out, "zram0: zstd, %lld MiB\n", (long long)(r->zram_recommended >> 20));
    if (run_cmd(real, "mkswap /dev/zram0 >/dev/null", out) != 0 ||
        run_cmd(real, "swapon -p 100 /dev/zram0", out) != 0) {
        snprintf(err, errlen, "zram: mkswap/swapon /dev/zram0 failed");
        return -1;
    }
    fprintf(out,
            "zram is not persistent: add it to your boot set-up (e.g. the zram-tools package)\n");
    return 0;
}

int doctor_apply(const doctor_report *r, int zram, FILE *out, char *err, size_t errlen) {
    int real = r->root[0] == '\0';
    if (real && geteuid() != 0) {
        snprintf(err, errlen,
                 "--apply changes kernel settings and needs root: sudo axiom doctor --apply");
        return -1;
    }
    if (r->ntuning == 0 && !zram) {
        fprintf(out, "Nothing to change: the sysctls already suit AXIOM.\n");
        return 0;
    }
    if (r->ntuning > 0) {
        char text[4096];
        size_t n =
            (size_t)snprintf(text, sizeof text,
                             "# Written by `axiom doctor --apply`: memory settings for AXIOM.\n"
                             "# Remove this file and reboot (or sysctl --system) to undo.\n");
        for (int i = 0; i < r->ntuning && n < sizeof text; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "# %s (was %lld)\n%s = %lld\n",
                                  r->tuning[i].why, (long long)r->tuning[i].current,
                                  r->tuning[i].sysctl, (long long)r->tuning[i].recommended);
        if (!real) {
            char dir[1024];
            memstat_path(r->root, "/etc", dir, sizeof dir);
            mkdir(dir, 0755);
            memstat_path(r->root, "/etc/sysctl.d", dir, sizeof dir);
            mkdir(dir, 0755);
        }
        if (write_text(r->root, SYSCTL_FILE, text, err, errlen) != 0) return -1;
        char path[1024];
        memstat_path(r->root, SYSCTL_FILE, path, sizeof path);
        fprintf(out, "wrote %s (applies at every boot)\n", path);
        for (int i = 0; i < r->ntuning; i++) {
            const doctor_tuning *t = &r->tuning[i];
            char abs[96], val[32];
            snprintf(abs, sizeof abs, "/proc/sys/vm/%s", t->sysctl + 3);
            snprintf(val, sizeof val, "%lld\n", (long long)t->recommended);
            if (write_text(r->root, abs, val, err, errlen) != 0) return -1;
            fprintf(out, "%s: %lld -> %lld  (%s)\n", t->sysctl, (long long)t->current,
                    (long long)t->recommended, t->why);
        }
    }
    if (zram) return setup_zram(r, real, out, err, errlen);
    if (r->zram_recommended > 0)
        fprintf(out, "zram swap is recommended but not set up: add --zram to do it\n");
    return 0;
}
