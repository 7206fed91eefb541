/* Soak load: N simulated clients talking to a server process for a while. Each client
 * streams 16 kHz audio at real-time pace (quiet noise, 32 ms frames) and types a
 * question every period (staggered across clients), waiting for the answer to finish
 * (ready_to_listen). Every sample_s the server's resident memory, open descriptors
 * and threads are read from /proc and handed to on_sample. Shared by `make soak`
 * (bench_soak) and its short CI variant (test_hard_soak). */
#ifndef AXIOM_SOAK_H
#define AXIOM_SOAK_H

#include "server_proc.h"

typedef struct {
    double t_s;
    long rss_kb;
    int fds, threads;
    long turns; /* answered so far */
} soak_sample;

typedef struct {
    long asked, answered, unanswered, error_events, notices, disconnects, connect_failures;
    long frames;
    char last_error[240];
} soak_totals;

typedef void (*soak_sample_fn)(void *user, const soak_sample *s);

/* Runs clients against p for seconds; period_s between one client's questions. */
void soak_run(server_proc *p, int clients, int seconds, int period_s, int sample_s,
              soak_sample_fn on_sample, void *user, soak_totals *out);

#endif
