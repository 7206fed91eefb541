/* Hostile and broken clients against a running server, shared by the hostile-client
 * test (which asserts the refusals) and its benchmark (which measures a well-behaved
 * client's turn latency with and without the attack). Everything talks to 127.0.0.1. */
#ifndef AXIOM_HOSTILE_H
#define AXIOM_HOSTILE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* A well-behaved client asking typed questions in a loop on its own thread. */
typedef struct {
    int port;
    volatile int stop;
    pthread_t thread;
    int started;
    /* results */
    int asked, answered, failed;
    double lat_ms[4096];
    int nlat;
    char last_error[200];
} good_client;

int good_client_start(good_client *g, int port);
void good_client_stop(good_client *g);
/* p-th percentile of the latencies recorded so far (NAN when none). */
double good_client_pct(good_client *g, double p);

/* What each attack observed; each field says whether the server refused cleanly. */
typedef struct {
    int flood_opened, flood_busy;              /* 10x the session limit: busy closes (1013) */
    int slow_reader_dropped;                   /* a client that never reads is cut off */
    int bytewise_hello_answered;               /* a hello sent one byte at a time is answered */
    int huge_frame_close;                      /* close code for a 100 MB frame (1009 expected) */
    int text_as_audio_ok, audio_as_text_error; /* binary JSON is audio; binary in text is refused */
    int mid_frame_disconnect_ok;               /* the server is fine after a half-sent frame */
    int foreign_origin_status;                 /* HTTP status for a foreign Origin (403) */
    int dotdot_status, dotdot_leaked; /* ../ path: status, and whether /etc/passwd leaked */
    int overlong_status;              /* 100 KB URL: status (4xx or -1 = cut) */
} hostile_result;

/* Runs every attack once, in sequence, against a server whose server.max_sessions is
 * max_sessions (one of which the good client may hold). */
void hostile_run(int port, int max_sessions, hostile_result *r);
/* Resident memory of this process in KiB (the server runs in it in the test). */
long hostile_rss_kb(void);

#endif
