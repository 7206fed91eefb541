/* libaxiom.so exports exactly the functions include/axiom.h declares AXIOM_API: no
 * fewer (an embedding program links every one of them) and no more (internal
 * functions, even those named axiom_*, stay inside, as SQLite keeps its own). The
 * header is parsed and the export table read with `nm -D --defined-only` from the .so
 * of this build (BUILD/libaxiom.so beside BUILD/tests/). */
#include "check.h"
#include "support/testutil.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAMES 256

typedef struct {
    char *name[MAX_NAMES];
    int n;
} name_set;

static void set_add(name_set *s, const char *name, size_t len) {
    if (s->n >= MAX_NAMES) return;
    s->name[s->n] = strndup(name, len);
    if (s->name[s->n]) s->n++;
}

static int set_has(const name_set *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0) return 1;
    return 0;
}

static void set_free(name_set *s) {
    for (int i = 0; i < s->n; i++)
        free(s->name[i]);
    s->n = 0;
}

/* BUILD is the folder holding tests/ with this program in it. */
static int build_dir(char *out, size_t outlen) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) return -1;
        *slash = '\0';
    }
    snprintf(out, outlen, "%s", exe);
    return 0;
}

/* Blanks comments and preprocessor lines, so only declarations remain. */
static void strip_comments(char *t) {
    for (char *p = t; *p; p++) {
        if (p[0] == '/' && p[1] == '*') {
            char *e = strstr(p + 2, "*/");
            char *end = e ? e + 2 : p + strlen(p);
            for (char *q = p; q < end; q++)
                if (*q != '\n') *q = ' ';
            p = end - 1;
        } else if (p[0] == '/' && p[1] == '/') {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
            if (!*p) break;
        } else if (*p == '#' && (p == t || p[-1] == '\n')) {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
            if (!*p) break;
        }
    }
}

/* The function name of every declaration that starts with AXIOM_API: the identifier
 * just before its first '('. */
static int header_names(const char *path, name_set *out) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    strip_comments(text);
    for (char *p = strstr(text, "AXIOM_API"); p; p = strstr(p + 1, "AXIOM_API")) {
        char *paren = strchr(p, '(');
        char *semi = strchr(p, ';');
        if (!paren || (semi && semi < paren)) continue;
        char *e = paren;
        while (e > p && isspace((unsigned char)e[-1]))
            e--;
        char *b = e;
        while (b > p && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
            b--;
        if (b < e) set_add(out, b, (size_t)(e - b));
    }
    return 0;
}

/* Every defined dynamic symbol, whatever its kind (code, data, weak). */
static int exported_names(const char *so, name_set *out, char *err, size_t errlen) {
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s' 2>&1", so);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(err, errlen, "cannot run nm");
        return -1;
    }
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, p)) {
        snprintf(last, sizeof last, "%s", line);
        char addr[64], type[8], name[400];
        if (sscanf(line, "%63s %7s %399s", addr, type, name) == 3) set_add(out, name, strlen(name));
    }
    int rc = pclose(p);
    if (rc != 0) {
        snprintf(err, errlen, "nm exited with %d: %s", rc, last);
        return -1;
    }
    return 0;
}

static char so_path[PATH_MAX + 32], header[PATH_MAX + 32];

static void test_header_parse(void) {
    name_set h = {0};
    CHECK_MSG(header_names(header, &h) == 0, "cannot read %s", header);
    /* One from each part of the header, so a parser that finds nothing cannot pass. */
    const char *known[] = {"axiom_version",    "axiom_config_new", "axiom_engine_new", "axiom_ask",
                           "axiom_event_name", "axiom_voice_new",  "axiom_voice_free"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        CHECK_MSG(set_has(&h, known[i]), "%s not found in %s", known[i], header);
    CHECK_MSG(h.n >= 20, "only %d AXIOM_API functions parsed", h.n);
    for (int i = 0; i < h.n; i++)
        CHECK_MSG(strncmp(h.name[i], "axiom_", 6) == 0, "%s", h.name[i]);
    set_free(&h);
}

static void test_exports_equal_header(void) {
    name_set h = {0}, x = {0};
    char err[600];
    CHECK(header_names(header, &h) == 0);
    int rc = exported_names(so_path, &x, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc != 0) {
        set_free(&h);
        return;
    }
    for (int i = 0; i < h.n; i++)
        CHECK_MSG(set_has(&x, h.name[i]), "declared in axiom.h, not exported: %s", h.name[i]);
    for (int i = 0; i < x.n; i++)
        CHECK_MSG(set_has(&h, x.name[i]), "exported, not declared in axiom.h: %s", x.name[i]);
    CHECK_EQ_INT(x.n, h.n);
    fprintf(stderr, "  %d functions exported:", x.n);
    for (int i = 0; i < x.n; i++)
        fprintf(stderr, " %s", x.name[i]);
    fputc('\n', stderr);
    set_free(&h);
    set_free(&x);
}

/* The library's own axiom_* helpers are there, but local: hiding works, not luck. */
static void test_internal_names_stay_local(void) {
    char cmd[PATH_MAX + 64], line[512];
    snprintf(cmd, sizeof cmd, "nm '%s'", so_path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) return;
    int found = 0;
    while (fgets(line, sizeof line, p)) {
        char addr[64], type[8], name[400];
        if (sscanf(line, "%63s %7s %399s", addr, type, name) == 3 &&
            strcmp(name, "axiom_root_dir") == 0) {
            found = 1;
            CHECK_MSG(strcmp(type, "t") == 0, "axiom_root_dir has type %s, not t (local code)",
                      type);
        }
    }
    pclose(p);
    CHECK_MSG(found, "axiom_root_dir is not in the symbol table of %s", so_path);
}

int main(int argc, char **argv) {
    (void)argc;
    char build[PATH_MAX];
    struct stat st;
    if (build_dir(build, sizeof build) != 0) {
        fprintf(stderr, "cannot find this program's build folder\n");
        return 1;
    }
    snprintf(so_path, sizeof so_path, "%s/libaxiom.so", build);
    tu_root_path("include/axiom.h", header, sizeof header);
    if (stat(so_path, &st) != 0) {
        /* Built by `make build`; a missing .so is a broken build, never a skip. */
        fprintf(stderr, "%s is missing: make %s/libaxiom.so\n", so_path, build);
        return 1;
    }
    RUN(test_header_parse);
    RUN(test_exports_equal_header);
    RUN(test_internal_names_stay_local);
    return CHECK_DONE(argv[0]);
}
