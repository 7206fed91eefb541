/* What the Wyoming front end's files share: the server and connection objects and the
 * handlers' entry points. Not a public header: only src/wyoming/ includes it.
 *
 *   listener.c    socket, accept thread, admission, connection threads, stop
 *   session.c     one connection's loop: read an event, dispatch it, ping, errors
 *   info.c        describe -> info (what AXIOM offers: asr, tts, handle, intent)
 *   transcribe.c  transcribe + audio-start/-chunk/-stop -> transcript (+ streaming)
 *   synthesize.c  synthesize, synthesize-start/-chunk/-stop -> audio
 *   converse.c    transcript -> handled (brain, one history per conversation id);
 *                 recognize -> intent
 *   discovery.c   _wyoming._tcp over Avahi
 *   wire.c, audio_in.c  the wire format and audio conversion
 *
 * Threads: the listener thread accepts; each admitted connection has its own thread
 * that reads its events in order and does the work itself (recognise, synthesise,
 * answer) before it reads the next one, as the protocol is one request at a time per
 * connection. So a connection's work never waits behind another's except where the
 * engine bounds it (the recogniser's decoder pool, the synthesiser, the LLM). */
#ifndef AXIOM_WYOMING_INTERNAL_H
#define AXIOM_WYOMING_INTERNAL_H

#include "core/engine.h"
#include "wyoming/wire.h"
#include "wyoming/wyoming.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Longest text a transcript (to answer) or recognize may carry, as for the WebSocket's
 * typed questions. */
#define WY_TEXT_MAX 2000
/* The language every model here speaks (the pack and the voices are English). */
#define WY_LANGUAGE "en"

typedef struct wy_asr wy_asr;                 /* transcribe.c */
typedef struct wy_tts wy_tts;                 /* synthesize.c */
typedef struct wy_convo_table wy_convo_table; /* converse.c */
typedef struct wy_discovery wy_discovery;     /* discovery.c */
typedef struct wy_conn wy_conn;

struct wyoming_server {
    axiom_engine *engine;
    const axiom_config *cfg;
    wyoming_admission adm;
    int has_adm;
    char host[64];
    int port;
    int fd;      /* listening socket */
    int wake[2]; /* a byte here wakes the accept loop to stop */
    pthread_t thread;
    int thread_started;
    wy_limits lim;
    int idle_timeout_ms;       /* wyoming.idle_timeout_s */
    int max_conns;             /* wyoming.max_connections */
    size_t max_utt_samples;    /* server.max_utterance_s at 16 kHz */
    int out_rate;              /* tts.sample_rate: the rate of synthesised audio */
    int64_t refusal_logged_ms; /* refusal log lines: one a second (accept thread only) */
    int refusals_unlogged;

    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;  /* a connection or refusal thread ended */
    wy_conn *conns;     /* connections being served */
    int nconns;
    int nrefusing; /* refusal threads still telling a client "busy" */
    int stopping;
    uint64_t next_id;

    wy_convo_table *convos; /* conversations (own lock) */
    wy_discovery *disc;     /* NULL when discovery is off or unavailable */
    const char *disc_state;
};

struct wy_conn {
    wyoming_server *srv;
    uint64_t id;
    int fd;
    wy_reader rd;
    atomic_int cancel; /* set by wyoming_stop: work in progress ends early */
    int dead;          /* a write failed: the connection ends */
    wy_asr *asr;       /* created at the first audio-start */
    wy_tts *tts;       /* created at the first synthesize-start */
    wy_conn *next;     /* in srv->conns (srv->mu) */
};

/* ---- session.c ---- */
/* A connection thread's body (arg: the wy_conn, owned by the thread). */
void *wy_conn_main(void *arg);
/* Sends one event; data (may be NULL) is consumed. Returns 0, or -1 and marks the
 * connection dead. */
int wy_send(wy_conn *c, const char *type, cJSON *data, const void *payload, size_t len);
/* Sends an error event {"text", "code"}. */
int wy_send_error(wy_conn *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- info.c ---- */
cJSON *wy_info_json(wyoming_server *srv);
/* The voice name given by a synthesize's data.voice, checked against the voices info
 * lists: 0 with *voice set (NULL = the configured one), or -1 with err. */
int wy_voice_pick(wyoming_server *srv, const cJSON *data, char *voice, size_t voicelen, char *err,
                  size_t errlen);

/* ---- transcribe.c ---- */
/* transcribe, audio-start, audio-chunk, audio-stop. Returns 0 (go on) or -1 (close). */
int wy_asr_event(wy_conn *c, const wy_event *ev);
void wy_asr_free(wy_asr *a);

/* ---- synthesize.c ---- */
/* synthesize, synthesize-start, synthesize-chunk, synthesize-stop. */
int wy_tts_event(wy_conn *c, const wy_event *ev);
void wy_tts_free(wy_tts *t);

/* ---- converse.c ---- */
/* transcript (text to answer) -> handled-start/-chunk, handled, handled-stop or
 * not-handled; intent -> not-handled; recognize -> intent or not-recognized. */
int wy_converse_event(wy_conn *c, const wy_event *ev);
wy_convo_table *wy_convos_new(int max);
void wy_convos_free(wy_convo_table *t);

/* ---- discovery.c ---- */
/* Starts advertising name as _wyoming._tcp on port, on the interface that holds host.
 * Returns NULL with *state saying why not ("unavailable"); never fatal. */
wy_discovery *wy_discovery_start(const char *name, const char *host, int port, const char **state);
const char *wy_discovery_state(wy_discovery *d);
void wy_discovery_stop(wy_discovery *d);

#endif
