/* The voice session's insides, shared by its three files and nothing else:
 *   voice_session.c  the public calls, event delivery, turn scheduling, cancel
 *   voice_listen.c   audio -> VAD -> recogniser, the echo guard, the endpointer
 *   voice_answer.c   one answer: brain -> sentences -> synthesis -> events
 *
 * Threads: the caller's threads call the public functions; one audio job at a time
 * per session runs on the hub's audio pool (everything under "listening" below is
 * touched only there); one turn at a time per session runs on the turn pool. */
#ifndef AXIOM_VOICE_INTERNAL_H
#define AXIOM_VOICE_INTERNAL_H

#include "axiom.h"
#include "brain/brain.h"
#include "core/engine.h"
#include "speech/stt.h"
#include "speech/vad.h"
#include "voice/audio_cache.h"
#include "voice/voice_session.h"
#include "voice/warmup.h"

#include <pthread.h>
#include <samplerate.h>
#include <stdatomic.h>
#include <stdint.h>

struct voice_hub {
    axiom_engine *engine;
    worker_pool *audio_pool; /* VAD + recogniser work */
    worker_pool *turn_pool;  /* answering + synthesis */
    audio_cache *acache;     /* synthesised sentences of repeated answers */
    warmup *warm;            /* loads the speech path when a session opens */
    int warm_up, barge_in, max_utterance_s;
    double barge_in_margin_db;
    int vad_adaptive, silence_min_ms, silence_max_ms, preroll_ms;
    pthread_mutex_t obs_mu; /* guards the observer */
    voice_observer_fn obs;
    void *obs_user;
};

void voice_observe(voice_hub *h, voice_stat stat, double value, const char *label);

/* Inbound audio at 16 kHz, waiting for the audio pool. */
typedef struct voice_chunk {
    struct voice_chunk *next;
    size_t n;
    int16_t pcm[];
} voice_chunk;

/* What a turn answers: typed text, or what the recogniser heard, or the audio of an
 * utterance no decoder was free for during speech (recognised on the turn pool). */
typedef struct turn_input {
    char *text;     /* owned; NULL when audio is set */
    int16_t *audio; /* owned */
    size_t naudio;
    int64_t t0_us;     /* when the user finished (latency base) */
    int64_t stt_us;    /* recognition time so far */
    stt_result *heard; /* owned: the recogniser's hypotheses, NULL when typed */
    int spoken;
    int stt_failed; /* the recogniser failed: the turn is its error exit */
    int stt_busy;   /* ... because every decoder stayed busy */
    char stt_error[320];
} turn_input;

void turn_input_free(turn_input *in);

struct axiom_voice {
    axiom_engine *engine;
    voice_hub *hub;
    const axiom_config *cfg;
    axiom_event_fn on_event;
    void *user;
    uint64_t id; /* for log lines */

    /* Events go out one at a time; once closed, never again. */
    pthread_mutex_t emit_mu;
    int closed; /* under emit_mu and mu */

    pthread_mutex_t mu;     /* guards everything down to "listening" */
    pthread_cond_t idle_cv; /* signalled when audio or a turn finishes */
    int refs;               /* the owner's + each queued or running job */
    /* options (axiom_voice_set) */
    int out_rate, out_pcm, partials, timings;
    int feed_wait; /* "feed" = "wait": a full queue makes feed wait instead of dropping */
    char client_id[40];
    int client_id_new; /* applied on the turn thread before the next turn */
    /* inbound audio */
    voice_chunk *in_head, *in_tail;
    size_t in_samples;
    int audio_job; /* an audio job is queued or running */
    int end_input; /* axiom_voice_end_input: flush the VAD after the queued audio */
    /* turns */
    uint64_t turn_seq; /* the newest answer's number */
    int turn_running;
    turn_input *pending; /* the next turn while one runs (newest wins) */

    /* Set by barge-in, a typed interruption or free; read by the brain, the LLM and
     * synthesis; cleared when the next turn starts. The one cancel flag. */
    atomic_int cancel;
    /* Events of answers up to this number are dropped (a cancelled answer's late
     * output never reaches the client). */
    _Atomic uint64_t purged_turn;
    /* When the client will have played the audio sent so far (echo guard). */
    _Atomic int64_t play_end_ms;

    /* resampling of fed audio (feed_mu) */
    pthread_mutex_t feed_mu;
    SRC_STATE *src;
    int src_rate;

    /* brain session: used on the turn thread only */
    brain_session *brain;

    /* listening: the audio job's, one at a time */
    vad_stream *vad;
    struct voice_listen *listen;
};

/* ---- voice_session.c ---- */
/* Delivers one event unless the session is closed or ev->turn was cancelled. */
void voice_emit(axiom_voice *v, const axiom_event *ev);
void voice_emit_simple(axiom_voice *v, axiom_event_type type, uint64_t turn);
void voice_emit_error(axiom_voice *v, const char *code, const char *message, uint64_t turn);
/* Starts (or queues) the answer to in, after THINKING. Takes ownership of in. */
void voice_submit(axiom_voice *v, turn_input *in);
/* Stops the answer in progress (BARGE_IN); 1 when there was one. */
int voice_cancel_answer(axiom_voice *v, const char *why);
/* A turn is running, or its audio is still playing. */
int voice_answer_active(axiom_voice *v);
/* The turn's one failure exit: ERROR, then IDLE with the message, then READY. */
void voice_fail_turn(axiom_voice *v, uint64_t turn, const char *code, const char *message);
void voice_unref(axiom_voice *v);

/* ---- voice_listen.c ---- */
int voice_listen_new(axiom_voice *v, char *err, size_t errlen);
void voice_listen_free(axiom_voice *v);
/* The audio job (audio pool). */
void voice_audio_job(void *arg);
/* Recognises an utterance kept whole (turn pool). */
void voice_recognise_backlog(axiom_voice *v, turn_input *in);

/* ---- voice_answer.c ---- */
/* Answers in as answer number seq: every event of the turn, ending with READY
 * (unless cancelled). */
void voice_answer_run(axiom_voice *v, uint64_t seq, turn_input *in);

#endif
