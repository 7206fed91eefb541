/* One answer for one session (turn.c): brain, synthesis and the events of a turn.
 * Runs on the turn pool. */
#ifndef AXIOM_SERVER_TURN_H
#define AXIOM_SERVER_TURN_H

#include "server/server_internal.h"

/* Answers text for session s as answer number seq. heard: the recogniser's hypotheses
 * when the turn was spoken (NULL when typed): the brain then picks among them and may
 * ask the user to say it again. t0_us: when the user finished (latency base); stt_us:
 * recognition time, for the timings event. Queues every message of the turn, ending
 * with ready_to_listen (unless cancelled). */
void turn_run(ws_session *s, uint64_t seq, const char *text, const stt_result *heard, int64_t t0_us,
              int64_t stt_us);

#endif
