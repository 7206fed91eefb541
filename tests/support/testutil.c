#include "testutil.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int tu_mkdtemp(char *out, size_t outlen) {
    const char *tmp = getenv("TMPDIR");
    snprintf(out, outlen, "%s/axiom-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

void tu_rmtree(const char *path) {
    if (!path || !*path || strstr(path, "axiom-test-") == NULL) return; /* only our own */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "  warning: could not remove %s\n", path);
}

int tu_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void slurp(const char *path, char *buf, size_t cap) {
    if (!buf || !cap) return;
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

int tu_run_axiom(const char *env_prefix, const char *args, char *out, size_t outcap, char *errout,
                 size_t errcap) {
    const char *bin = getenv("AXIOM_BIN");
    char binbuf[4096];
    if (!bin || !*bin) {
        snprintf(binbuf, sizeof binbuf, "%s/build/axiom", axiom_root_dir());
        bin = binbuf;
    }
    char dir[256];
    if (tu_mkdtemp(dir, sizeof dir) != 0) return -1;
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s '%s' %s >'%s/out' 2>'%s/err' </dev/null",
             env_prefix ? env_prefix : "", bin, args, dir, dir);
    int st = system(cmd);
    char p[512];
    snprintf(p, sizeof p, "%s/out", dir);
    slurp(p, out, outcap);
    snprintf(p, sizeof p, "%s/err", dir);
    slurp(p, errout, errcap);
    tu_rmtree(dir);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

const char *tu_shared_path(const char *rel, char *buf, size_t buflen) {
    const char *dir = getenv("AXIOM_SHARED_DIR"); /* a checkout that is not beside it */
    if (dir && *dir)
        snprintf(buf, buflen, "%s/%s", dir, rel);
    else
        snprintf(buf, buflen, "%s/../shared/%s", axiom_root_dir(), rel);
    struct stat st;
    return stat(buf, &st) == 0 ? buf : NULL;
}

const char *tu_root_path(const char *rel, char *buf, size_t buflen) {
    snprintf(buf, buflen, "%s/%s", axiom_root_dir(), rel);
    return buf;
}

int16_t *tu_read_raw(const char *path, size_t *n) {
    size_t len;
    char err[256];
    char *b = file_read_all(path, 16 << 20, &len, err, sizeof err);
    *n = b ? len / 2 : 0;
    return (int16_t *)b;
}

double tu_active_power(const int16_t *pcm, size_t n) {
    double top = 0, sum = 0;
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i + 320 <= n; i += 320) {
            double p = 0;
            for (size_t j = 0; j < 320; j++)
                p += (double)pcm[i + j] * pcm[i + j];
            p /= 320;
            if (pass == 0 && p > top) top = p;
            if (pass == 1 && p >= top / 1000) sum += p, k++;
        }
    return k ? sum / (double)k : 0;
}
