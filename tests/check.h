/* A small test harness: every tests/test_*.c is one program that runs its TEST
 * functions and ends with "<program>: N passed, N failed[, N skipped]". tests/run.sh
 * adds the programs' counts up into the suite's closing line. */
#ifndef AXIOM_CHECK_H
#define AXIOM_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures_;  /* in the current test */
static int check_skipped_;   /* the current test called SKIP */
static int check_passed_, check_failed_, check_nskipped_;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures_++;                                                        \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            check_failures_++;                                                        \
        }                                                                             \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                             \
    do {                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                            \
        if (a_ != b_) {                                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", __FILE__, \
                    __LINE__, #a, #b, a_, b_);                                         \
            check_failures_++;                                                         \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                         \
            fprintf(stderr, "  %s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__, \
                    __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");           \
            check_failures_++;                                                           \
        }                                                                                \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                       \
    do {                                                                                  \
        const char *h_ = (hay), *n_ = (needle);                                           \
        if (!h_ || !strstr(h_, n_)) {                                                     \
            fprintf(stderr, "  %s:%d: CHECK failed: \"%.300s\" contains \"%s\"\n", __FILE__, \
                    __LINE__, h_ ? h_ : "(null)", n_);                                    \
            check_failures_++;                                                            \
        }                                                                                 \
    } while (0)

/* Marks the current test skipped with a reason, and returns from it. */
#define SKIP(...)                                           \
    do {                                                    \
        fprintf(stderr, "  skip: ");                        \
        fprintf(stderr, __VA_ARGS__);                       \
        fputc('\n', stderr);                                \
        check_skipped_ = 1;                                 \
        return;                                             \
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
