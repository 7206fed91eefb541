/* axiom bench soak (`make soak`): SOAK_CLIENTS simulated clients (default 50) talk to
 * a real `axiom serve` child process for SOAK_MINUTES (default 2 here; `make soak`
 * passes 30). Each streams quiet audio at real-time pace and types a question every
 * SOAK_PERIOD_S (default 20 s). Every SOAK_SAMPLE_S (default 60 s) it prints the
 * server's RSS, open descriptors, threads and turns answered; at the end the RSS
 * growth after warm-up (end of the first sixth of the run -> last sample), fd and
 * thread ranges, turns asked / answered and errors (error events, unanswered turns,
 * dropped connections). */
#include "../tests/support/soak.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    soak_sample s[1024];
    int n;
} samples;

static void on_sample(void *user, const soak_sample *s) {
    samples *v = user;
    if (v->n < 1024) v->s[v->n++] = *s;
    printf("  %6.1f min  rss %7ld KiB  fds %4d  threads %4d  turns %6ld\n", s->t_s / 60.0,
           s->rss_kb, s->fds, s->threads, s->turns);
    fflush(stdout);
}

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : def;
}

int main(void) {
    int minutes = env_int("SOAK_MINUTES", 2), clients = env_int("SOAK_CLIENTS", 50);
    int period = env_int("SOAK_PERIOD_S", 20), every = env_int("SOAK_SAMPLE_S", 60);
    if (every > minutes * 60) every = minutes * 60;
    char sessions[48];
    snprintf(sessions, sizeof sessions, "server.max_sessions=%d", clients + 10);
    const char *settings[] = {sessions, "log_level=warn", NULL};
    server_proc p;
    char err[512];
    if (server_proc_start(&p, settings, err, sizeof err) != 0) {
        printf("bench_soak: %s\n", err);
        return 0;
    }
    printf("soak: %d clients, %d min, a question every %d s per client, sample every %d s\n",
           clients, minutes, period, every);
    static samples v;
    soak_totals t;
    soak_run(&p, clients, minutes * 60, period, every, on_sample, &v, &t);
    int rc = server_proc_stop(&p);
    /* Warm-up: allocator arenas, caches and per-session buffers settle in the first
     * sixth of the run (at least the first sample); growth is measured from there. */
    int w = 0;
    while (w + 1 < v.n && v.s[w].t_s < minutes * 60.0 / 6.0 - 1.0)
        w++;
    if (v.n >= 2) {
        long r0 = v.s[w].rss_kb, r1 = v.s[v.n - 1].rss_kb;
        int f0 = v.s[0].fds, f1 = v.s[0].fds, t0 = v.s[0].threads, t1 = v.s[0].threads;
        long rmax = r0;
        for (int i = 0; i < v.n; i++) {
            if (v.s[i].fds < f0) f0 = v.s[i].fds;
            if (v.s[i].fds > f1) f1 = v.s[i].fds;
            if (v.s[i].threads < t0) t0 = v.s[i].threads;
            if (v.s[i].threads > t1) t1 = v.s[i].threads;
            if (v.s[i].rss_kb > rmax) rmax = v.s[i].rss_kb;
        }
        printf("  RSS after warm-up (%.1f min) %ld KiB -> end %ld KiB: growth %.2f%% (max %ld "
               "KiB)\n",
               v.s[w].t_s / 60.0, r0, r1, 100.0 * (double)(r1 - r0) / (double)r0, rmax);
        printf("  fds %d..%d, threads %d..%d over the run\n", f0, f1, t0, t1);
    }
    printf("  turns asked %ld, answered %ld, unanswered %ld; error events %ld, dropped "
           "connections %ld, connect failures %ld; capability notices %ld; audio frames %ld\n",
           t.asked, t.answered, t.unanswered, t.error_events, t.disconnects, t.connect_failures,
           t.notices, t.frames);
    if (t.last_error[0]) printf("  last error: %s\n", t.last_error);
    printf("  server exit status on SIGTERM: %d\n", rc);
    return 0;
}
