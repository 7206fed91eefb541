/* axiom bench hostile: a well-behaved client's typed-question latency on its own, then
 * while hostile clients (tests/support/hostile.c: session flood, slow reader, byte-wise
 * frames, a 100 MB frame, wrong message types, mid-frame disconnects, foreign Origin,
 * ../ paths, overlong URLs) attack the same in-process server over and over. Prints
 * p50/p95 for both phases, the ratio, turns answered and failed, and the process's
 * resident memory (current and peak). BENCH_HOSTILE_SECONDS per phase (default 20). */
#include "../tests/support/hostile.h"
#include "../tests/support/server_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long peak_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1) break;
    fclose(f);
    return kb;
}

int main(void) {
    const char *env = getenv("BENCH_HOSTILE_SECONDS");
    int secs = env ? atoi(env) : 20;
    if (secs < 2) secs = 2;
    static const char *const settings[] = {"server.max_sessions=4",
                                           "server.send_queue_kb=16",
                                           "tts.backend=none",
                                           "mode=template-only",
                                           "vad.backend=energy",
                                           "log_level=off",
                                           NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        printf("bench_hostile: server start failed: %s\n", err);
        return 0;
    }
    good_client quiet, loud;
    good_client_start(&quiet, f.port);
    sleep((unsigned)secs);
    good_client_stop(&quiet);
    long rss_quiet = hostile_rss_kb();

    good_client_start(&loud, f.port);
    sleep(1);
    int rounds = 0;
    hostile_result r;
    long t_end = (long)secs * 1000000, t = 0;
    while (t < t_end) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        hostile_run(f.port, 4, &r);
        clock_gettime(CLOCK_MONOTONIC, &b);
        t += (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
        rounds++;
    }
    good_client_stop(&loud);
    long rss_loud = hostile_rss_kb();
    double q50 = good_client_pct(&quiet, 50), q95 = good_client_pct(&quiet, 95);
    double l50 = good_client_pct(&loud, 50), l95 = good_client_pct(&loud, 95);
    printf("hostile clients vs one good client (typed questions, template-only, text answers)\n");
    printf("  %-16s %8s %8s %9s %7s\n", "phase", "p50 ms", "p95 ms", "answered", "failed");
    printf("  %-16s %8.1f %8.1f %9d %7d\n", "quiet", q50, q95, quiet.answered, quiet.failed);
    printf("  %-16s %8.1f %8.1f %9d %7d\n", "under attack", l50, l95, loud.answered, loud.failed);
    printf("  p50 ratio attack/quiet: %.2f, p95 ratio: %.2f; attack rounds: %d\n", l50 / q50,
           l95 / q95, rounds);
    printf("  last round: flood busy %d/%d, slow reader dropped %d, 100 MB frame close %d, "
           "foreign Origin %d, ../ %d, 100 KB URL %d\n",
           r.flood_busy, r.flood_opened, r.slow_reader_dropped, r.huge_frame_close,
           r.foreign_origin_status, r.dotdot_status, r.overlong_status);
    printf("  RSS quiet %ld KiB, after attack %ld KiB, peak %ld KiB (server and clients in one "
           "process)\n",
           rss_quiet, rss_loud, peak_kb());
    fixture_stop(&f);
    return 0;
}
