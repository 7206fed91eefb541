/* What the library's own front ends need of voice sessions beyond include/axiom.h:
 * the shared part behind every session of an engine (the voice hub: worker pools,
 * answer-audio cache, warm-up), a way to watch sessions for metrics, and failure
 * injection for tests. The voice session itself is the public axiom_voice.
 *
 * The hub is created with the first voice session (or the first call that needs its
 * pools) and lives until the engine is freed. Its settings are the server.* keys
 * that shape every voice session: server.workers (threads per pool),
 * server.max_sessions (queue sizes), server.audio_cache_mb, server.warm_up,
 * server.barge_in, server.barge_in_margin_db and server.max_utterance_s. */
#ifndef AXIOM_VOICE_SESSION_H
#define AXIOM_VOICE_SESSION_H

#include "axiom.h"
#include "voice/worker_pool.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>

typedef struct voice_hub voice_hub;

/* The engine's hub, created on first use (thread-safe). NULL with err when its
 * threads cannot start. */
voice_hub *voice_hub_get(axiom_engine *e, char *err, size_t errlen);
/* Drains the pools (queued jobs run; sessions already freed see they are closed) and
 * frees the hub. Called by axiom_engine_free, before any component is freed. */
void voice_hub_free(voice_hub *h);
/* Answers (brain + synthesis) run here; /api/ask uses it too, so typed and spoken
 * answers share one bound. */
worker_pool *voice_hub_turn_pool(voice_hub *h);
worker_pool *voice_hub_audio_pool(voice_hub *h);
/* Pools, answer-audio cache and warm-up state, as members of obj. */
void voice_hub_status_json(voice_hub *h, cJSON *obj);
/* Prometheus lines for the answer-audio cache. */
void voice_hub_metrics(voice_hub *h, FILE *out);

/* What a voice session reports for counting, besides its events. */
typedef enum {
    VOICE_STAT_STT_MS,       /* value: end of speech -> final transcript */
    VOICE_STAT_BRAIN_MS,     /* value: transcript -> answer text */
    VOICE_STAT_TTS_MS,       /* value: one sentence's synthesis */
    VOICE_STAT_TURN_MS,      /* value: end of speech (or text) -> first answer audio */
    VOICE_STAT_TURN,         /* label: how a turn was answered ("template", ..., "none", "error") */
    VOICE_STAT_LLM_FAILURE,  /* label: why the LLM failed in a fallback answer */
    VOICE_STAT_BARGE_IN,     /* an answer was stopped */
    VOICE_STAT_ECHO_IGNORED, /* speech during an answer judged its echo */
    VOICE_STAT_ERROR,        /* a turn ended in an error event */
    VOICE_STAT_SHED          /* work refused because a queue was full */
} voice_stat;

typedef void (*voice_observer_fn)(void *user, voice_stat stat, double value, const char *label);

/* One observer per hub (the server's metrics); NULL removes it. Called on the
 * sessions' threads; must be thread-safe and quick. */
void voice_hub_set_observer(voice_hub *h, voice_observer_fn fn, void *user);

/* ---- failure injection (tests) ----
 * Makes the next `count` occurrences of a stage fail in every session, the way a
 * real failure of that stage would surface: the recogniser's result, the brain's
 * turn, one sentence's synthesis, or the allocation of a turn. */
typedef enum {
    VOICE_FAULT_STT = 0,
    VOICE_FAULT_BRAIN,
    VOICE_FAULT_TTS,
    VOICE_FAULT_ALLOC,
    VOICE_FAULT_COUNT
} voice_fault;
void voice_fault_inject(voice_fault stage, int count);
/* 1 (and counts one down) when the stage should fail now. */
int voice_fault_hit(voice_fault stage);

#endif
