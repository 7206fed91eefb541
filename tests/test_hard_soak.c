/* Short soak (the CI variant of `make soak`): 10 simulated clients stream audio and
 * type questions at a real `axiom serve` for 20 s (SOAK_TEST_SECONDS). Every question
 * must be answered with no error event and no dropped connection; once the clients
 * are gone the server's open descriptors and threads are back where they were before
 * they came; and the server exits cleanly on SIGTERM, which under the sanitizer build
 * (make asan) means LeakSanitizer found no leak in it. RSS is printed, not asserted
 * (bench_soak prints the growth figures). */
#include "check.h"
#include "support/soak.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void print_sample(void *user, const soak_sample *s) {
    (void)user;
    printf("  t=%5.1fs rss=%ld KiB fds=%d threads=%d turns=%ld\n", s->t_s, s->rss_kb, s->fds,
           s->threads, s->turns);
    fflush(stdout);
}

static void test_short_soak_no_errors_no_leaks(void) {
    const char *env = getenv("SOAK_TEST_SECONDS");
    int secs = env ? atoi(env) : 20;
    if (secs < 5) secs = 5;
    const char *settings[] = {"mode=template-only", "log_level=warn", NULL};
    server_proc p;
    char err[512];
    if (server_proc_start(&p, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "%s", err);
        return;
    }
    /* One turn first so lazily loaded parts are in before the baseline is read. */
    soak_totals warm;
    soak_run(&p, 1, 3, 1, 3, NULL, NULL, &warm);
    usleep(500 * 1000);
    int fds0 = server_proc_fds(&p), th0 = server_proc_threads(&p);
    printf("  baseline: fds=%d threads=%d rss=%ld KiB\n", fds0, th0, server_proc_rss_kb(&p));
    soak_totals t;
    soak_run(&p, 10, secs, 4, 5, print_sample, NULL, &t);
    /* Sessions close asynchronously: give the server a moment to tear them down. */
    int fds1 = -1, th1 = -1;
    for (int i = 0; i < 30; i++) {
        usleep(200 * 1000);
        fds1 = server_proc_fds(&p), th1 = server_proc_threads(&p);
        if (fds1 <= fds0 && th1 <= th0) break;
    }
    printf("  after: fds=%d threads=%d rss=%ld KiB; asked %ld answered %ld unanswered %ld "
           "errors %ld notices %ld disconnects %ld connect failures %ld frames %ld\n",
           fds1, th1, server_proc_rss_kb(&p), t.asked, t.answered, t.unanswered, t.error_events,
           t.notices, t.disconnects, t.connect_failures, t.frames);
    if (t.last_error[0]) printf("  last error: %s\n", t.last_error);
    CHECK(t.answered > 0);
    CHECK_EQ_INT(t.answered, t.asked);
    CHECK_EQ_INT(t.error_events, 0);
    CHECK_EQ_INT(t.disconnects, 0);
    CHECK_EQ_INT(t.connect_failures, 0);
    CHECK_MSG(fds1 <= fds0, "open descriptors %d after the clients left, %d before", fds1, fds0);
    CHECK_MSG(th1 <= th0, "threads %d after the clients left, %d before", th1, th0);
    int rc = server_proc_stop(&p);
    CHECK_MSG(rc == 0, "server exit status %d on SIGTERM (under ASan: leaks reported)", rc);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_short_soak_no_errors_no_leaks);
    return CHECK_DONE(argv[0]);
}
