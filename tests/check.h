/* A small test harness: every tests/test_*.c is one program that runs its TEST
 * functions and ends with "<program>: N passed, N failed[, N skipped]". tests/run.sh
 * adds the programs' counts up into the suite's closing line.
 *
 * Honest runs: with CI=true in the environment a skipped test FAILS unless its reason
 * contains one of the patterns of tests/skip-allowlist.txt (things a CI machine here
 * truly cannot have, each with why); tests/run.sh prints the allowed skips at the
 * end. Without CI=true a skip is reported as a skip. */
#ifndef AXIOM_CHECK_H
#define AXIOM_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures_; /* in the current test */
static int check_skipped_;  /* the current test called SKIP */
static char check_skip_reason_[512];
static int check_passed_, check_failed_, check_nskipped_;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
            check_failures_++;                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            check_failures_++;                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "  %s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", __FILE__,          \
                    __LINE__, #a, #b, a_, b_);                                                     \
            check_failures_++;                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "  %s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__,      \
                    __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
            check_failures_++;                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            fprintf(stderr, "  %s:%d: CHECK failed: \"%.300s\" contains \"%s\"\n", __FILE__,       \
                    __LINE__, h_ ? h_ : "(null)", n_);                                             \
            check_failures_++;                                                                     \
        }                                                                                          \
    } while (0)

/* 1 when CI=true and reason matches no line of tests/skip-allowlist.txt. A line is
 * "pattern | why"; the pattern is a plain substring of the skip's reason. */
static inline int check_skip_forbidden_(const char *reason) {
    const char *ci = getenv("CI");
    if (!ci || strcmp(ci, "true") != 0) return 0;
    char path[1024];
    const char *root = getenv("AXIOM_ROOT");
    snprintf(path, sizeof path, "%s/tests/skip-allowlist.txt", root && *root ? root : ".");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "  (CI=true: %s cannot be read: every skip fails)\n", path);
        return 1;
    }
    char line[1024];
    int allowed = 0;
    while (!allowed && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *bar = strstr(line, " | ");
        if (!bar) continue;
        *bar = '\0';
        allowed = line[0] && strstr(reason, line) != NULL;
    }
    fclose(f);
    return !allowed;
}

static inline void check_skip_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void check_skip_(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(check_skip_reason_, sizeof check_skip_reason_, fmt, ap);
    va_end(ap);
    fprintf(stderr, "  skip: %s\n", check_skip_reason_);
    if (check_skip_forbidden_(check_skip_reason_)) {
        fprintf(stderr, "  CI=true: this skip is not on tests/skip-allowlist.txt, so it fails: "
                        "install or fix what "
                        "it needs\n");
        check_failures_++;
    }
    check_skipped_ = 1;
}

/* Marks the current test skipped with a reason, and returns from it. Under CI=true a
 * reason not on tests/skip-allowlist.txt makes it a failure instead. */
#define SKIP(...)                                                                                  \
    do {                                                                                           \
        check_skip_(__VA_ARGS__);                                                                  \
        return;                                                                                    \
    } while (0)

#define RUN(fn) check_run_(#fn, fn)

static inline void check_run_(const char *name, void (*fn)(void)) {
    check_failures_ = 0;
    check_skipped_ = 0;
    fprintf(stderr, "- %s\n", name);
    fn();
    if (check_failures_) {
        check_failed_++;
        fprintf(stderr, "FAIL %s\n", name);
    } else if (check_skipped_) {
        check_nskipped_++;
        fprintf(stderr, "skip %s\n", name);
    } else {
        check_passed_++;
        fprintf(stderr, "ok   %s\n", name);
    }
}

/* Ends main(): prints the program's counts and returns its exit status. */
static inline int check_summary_(const char *prog) {
    const char *slash = strrchr(prog, '/');
    printf("%s: %d passed, %d failed, %d skipped\n", slash ? slash + 1 : prog, check_passed_,
           check_failed_, check_nskipped_);
    fflush(stdout);
    return check_failed_ ? 1 : 0;
}
#define CHECK_DONE(argv0) check_summary_(argv0)

#endif
