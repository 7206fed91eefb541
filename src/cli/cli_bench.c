/* axiom bench [NAME...]: runs the benchmark programs (build/bench/bench_*), each a
 * separate tool that prints its own figures. With no name, runs them all. */
#include "cli/cli.h"
#include "core/util.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int bench_dir(char *out, size_t outlen) {
    char exe[PATH_MAX - 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = '\0';
    snprintf(out, outlen, "%s/bench", exe);
    return 0;
}

static int run_one(const char *dir, const char *name, const char *exe_self) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/bench_%s", dir, name);
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "axiom bench: no benchmark named '%s' (looked for %s)\n", name, path);
        return 2;
    }
    printf("== bench %s ==\n", name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("AXIOM_BIN", exe_self, 0);
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_bench(const axiom_config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_wants_help(argc, argv)) {
        printf("usage: axiom bench [NAME...]\n"
               "Runs the benchmark programs built beside axiom (bench/bench_NAME) and prints\n"
               "their figures; with no NAME, all of them. `make bench` runs this.\n");
        return 0;
    }
    char dir[PATH_MAX + 16], self[PATH_MAX];
    ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
    if (bench_dir(dir, sizeof dir) != 0 || sn <= 0) {
        fprintf(stderr, "axiom bench: cannot find the benchmark folder\n");
        return 1;
    }
    self[sn] = '\0';
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            int r = run_one(dir, argv[i], self);
            if (r) rc = r;
        }
        return rc;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "axiom bench: no benchmarks built in %s (run make bench)\n", dir);
        return 2;
    }
    char *names[128];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 128) {
        if (strncmp(e->d_name, "bench_", 6) != 0 || strchr(e->d_name, '.')) continue;
        names[n++] = strdup(e->d_name + 6);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        int r = run_one(dir, names[i], self);
        if (r) rc = r;
        free(names[i]);
    }
    if (n == 0) {
        fprintf(stderr, "axiom bench: no benchmarks built in %s\n", dir);
        return 2;
    }
    return rc;
}
