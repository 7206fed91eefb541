#include "core/util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_ms(void) {
    return now_us() / 1000;
}

uint64_t fnv1a64(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t fnv1a64_str(uint64_t h, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

char *file_read_all(const char *path, size_t max_bytes, size_t *len_out, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        snprintf(err, errlen, "%s: %lld bytes is over the limit of %zu", path,
                 (long long)st.st_size, max_bytes);
        fclose(f);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory for %zu bytes", path, size);
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, size, f);
    fclose(f);
    if (got != size) {
        snprintf(err, errlen, "%s: short read (%zu of %zu bytes)", path, got, size);
        free(buf);
        return NULL;
    }
    buf[size] = '\0';
    if (len_out) *len_out = size;
    return buf;
}

size_t str_copy(char *dst, size_t dstlen, const char *src) {
    size_t n = strlen(src);
    if (dstlen) {
        size_t c = n < dstlen - 1 ? n : dstlen - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

static int64_t rollup_field(const char *field) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    size_t flen = strlen(field);
    int64_t kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            kib = strtoll(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

static int64_t statm_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long long size = 0, rss = -1;
    if (fscanf(f, "%lld %lld", &size, &rss) != 2) rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (int64_t)sysconf(_SC_PAGESIZE);
}

int64_t proc_rss_file_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long long size = 0, rss = 0, shared = -1;
    if (fscanf(f, "%lld %lld %lld", &size, &rss, &shared) != 3) shared = -1;
    fclose(f);
    return shared < 0 ? -1 : shared * (int64_t)sysconf(_SC_PAGESIZE);
}

int64_t proc_rss_bytes(void) {
    int64_t v = rollup_field("Rss");
    return v >= 0 ? v : statm_rss();
}

int64_t proc_pss_bytes(void) {
    int64_t v = rollup_field("Pss");
    return v >= 0 ? v : statm_rss();
}

static char root_dir[PATH_MAX];
static pthread_once_t root_once = PTHREAD_ONCE_INIT;

static int has_entry(const char *dir, const char *name) {
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static void find_root(void) {
    const char *env = getenv("AXIOM_ROOT");
    if (env && *env) {
        str_copy(root_dir, sizeof root_dir, env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* build/axiom, build/tests/x, build-asan/bench/x: walk up at most three folders. */
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash || slash == exe) break;
            *slash = '\0';
            if (has_entry(exe, "deps") || (has_entry(exe, "data") && has_entry(exe, "web"))) {
                str_copy(root_dir, sizeof root_dir, exe);
                return;
            }
        }
    }
    if (!getcwd(root_dir, sizeof root_dir)) str_copy(root_dir, sizeof root_dir, ".");
}

const char *axiom_root_dir(void) {
    pthread_once(&root_once, find_root);
    return root_dir;
}

const char *const NUMBER_ONES[20] = {"zero",    "one",     "two",       "three",    "four",
                                     "five",    "six",     "seven",     "eight",    "nine",
                                     "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                     "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
const char *const NUMBER_TENS[10] = {"",      "",      "twenty",  "thirty", "forty",
                                     "fifty", "sixty", "seventy", "eighty", "ninety"};
