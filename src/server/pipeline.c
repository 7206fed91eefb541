/* The voice pipeline of one session: audio -> VAD -> recogniser -> turn, and the
 * events of the listening half of the protocol:
 *   speech_start, [partial], speech_end, thinking, then the answer (turn.c).
 *
 * Audio jobs (audio pool) feed one session's queued audio through its VAD stream, in
 * arrival order; the VAD's sink callbacks run inside that job. A recogniser stream is
 * begun at speech start when a decoder is free and fed live, so the transcript is
 * ready moments after the end of speech. When every decoder is busy the utterance is
 * kept (bounded by server.max_utterance_s) and recognised on the turn pool instead,
 * where waiting for a decoder does not hold up anyone's audio.
 *
 * Turns (turn pool) run one at a time per session; a newer request waits in a
 * one-slot mailbox. A barge-in raises the cancel flag of the running turn (synthesis
 * stops), purges its queued audio and tells the client.
 *
 * A component that is not available turns into an honest error event naming it;
 * nothing is faked. */
#include "brain/brain.h"
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "server/server_internal.h"
#include "server/turn.h"
#include "server/warmup.h"
#include "speech/stt.h"
#include "speech/tts.h"
#include "speech/vad.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTIAL_EVERY_SAMPLES 4800 /* 300 ms */
/* Echo guard: level frames (10 ms) kept per utterance, and how much speech is heard
 * before deciding whether speech during an answer is the user or the answer's echo. */
#define LEVEL_FRAME 160
#define LEVEL_FRAMES 256
#define ECHO_DECIDE_FRAMES 25 /* 250 ms */
#define STT_WAIT_ON_TURN_MS 5000

struct pipeline_shared {
    axiom_server *srv;
    warmup *warm; /* loads the speech path when a session opens */
};

struct pipeline_session {
    ws_session *s;
    vad_stream *vad;
    stt_stream *stt;
    int in_speech;
    int16_t *backlog;          /* utterance audio not yet fed to a decoder */
    size_t nbacklog, backlog_cap;
    size_t max_utt_samples;
    int64_t utt_samples;
    int64_t partial_at;
    char last_partial[256];
    int64_t stt_us;
    int speech_reported;       /* "no voice input" error sent once */
    stt_channel channel;       /* this speaker's normalisation, kept across utterances */
    int silence_min_ms, silence_max_ms; /* adaptive endpointer (0 = off) */
    char pause_why[24];        /* what the endpointer decided at the last pause */
    /* Echo guard (barge-in): the level of this utterance, 10 ms frame by frame from
     * its start (pre-roll excluded), and the user's own speech level from earlier
     * utterances. */
    float frame_pow[LEVEL_FRAMES];
    int nframe_pow;
    double acc_pow;
    int acc_n;
    int64_t skip_preroll;      /* samples of pre-roll still to come before the start */
    double user_level_db;      /* 0 = not known yet */
    int echo_check;            /* speech began while an answer played: undecided */
    int echo;                  /* decided: this utterance is the answer's echo */
};

static void send_error_event(ws_session *s, const char *code, const char *message, uint64_t turn) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", "error");
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", message);
    char *txt = cJSON_PrintUnformatted(o);
    if (txt) session_send_text(s, txt, turn);
    free(txt);
    cJSON_Delete(o);
}

pipeline_shared *pipeline_shared_new(axiom_server *srv, char *err, size_t errlen) {
    pipeline_shared *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->srv = srv;
    axiom_engine *e = srv->engine;
    p->warm = warmup_new(e);
    if (!p->warm) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!e->brain) LOG_W("server", "no brain: text and voice turns will answer with an error");
    if (!e->vad || !e->stt) LOG_W("server", "no VAD or recogniser: voice input is refused with an error event");
    if (!e->tts) LOG_W("server", "no synthesiser: answers are sent as text only");
    return p;
}

void pipeline_shared_free(pipeline_shared *p) {
    if (!p) return;
    warmup_free(p->warm);
    free(p);
}

void pipeline_status_json(pipeline_shared *p, cJSON *obj) {
    axiom_engine *e = p->srv->engine;
    governor *gov = e->gov;
    cJSON_AddStringToObject(obj, "effective_mode",
                            governor_mode_name(governor_effective_mode(gov)));
    /* The governor's figures: level, budget, readings and each component with the
     * memory its load really cost. */
    cJSON *g = cJSON_AddObjectToObject(obj, "governor");
    if (g) governor_status_json(gov, g);
    cJSON *c = cJSON_AddObjectToObject(obj, "components");
    cJSON *gc = g ? cJSON_GetObjectItem(g, "components") : NULL;
    if (c && gc) cJSON_AddItemReferenceToObject(c, "governed", gc);
    cJSON *av = cJSON_AddObjectToObject(obj, "available");
    cJSON_AddBoolToObject(av, "brain", e->brain != NULL);
    cJSON_AddBoolToObject(av, "vad", e->vad != NULL);
    cJSON_AddBoolToObject(av, "stt", e->stt != NULL);
    cJSON_AddBoolToObject(av, "tts", e->tts != NULL);
    cJSON_AddBoolToObject(av, "llm", e->llm != NULL);
    /* The speech path loading in the background since a session opened. */
    cJSON_AddBoolToObject(obj, "warming", warmup_running(p->warm));
    if (e->stt) {
        int created = 0, in_use = 0, size = 0;
        stt_engine_pool_counts(e->stt, &created, &in_use, &size);
        cJSON *d = cJSON_AddObjectToObject(obj, "stt_decoders");
        cJSON_AddNumberToObject(d, "created", created);
        cJSON_AddNumberToObject(d, "in_use", in_use);
        cJSON_AddNumberToObject(d, "pool_size", size);
    }
    if (e->vad) {
        vad_engine_info vi;
        vad_engine_get_info(e->vad, &vi);
        cJSON *d = cJSON_AddObjectToObject(obj, "vad");
        cJSON_AddBoolToObject(d, "silero_loaded", vi.silero_loaded);
        cJSON_AddNumberToObject(d, "pool_in_use", vi.pool_in_use);
        cJSON_AddNumberToObject(d, "pool_size", vi.pool_size);
        if (vi.fallback[0]) cJSON_AddStringToObject(d, "fallback", vi.fallback);
    }
}

size_t pipeline_metrics(pipeline_shared *p, char *buf, size_t cap) {
    if (cap) buf[0] = '\0';
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return 0;
    governor_metrics(p->srv->engine->gov, f);
    fclose(f);
    size_t n = len < cap ? len : (cap ? cap - 1 : 0);
    if (n) memcpy(buf, text, n);
    if (cap) buf[n] = '\0';
    free(text);
    return n;
}

void session_set_cancel(ws_session *s, int on) {
    atomic_store(&s->cancel, on);
    s->brain_cancel = on;
}

void turn_input_free(turn_input *in) {
    if (!in) return;
    free(in->text);
    free(in->audio);
    stt_result_clear(in->heard);
    free(in->heard);
    free(in);
}

/* Keeps a recogniser result (its hypotheses) for the turn: moved into a new owned
 * stt_result; r is left empty. Returns NULL when out of memory (r is then cleared). */
static stt_result *keep_heard(stt_result *r) {
    stt_result *h = malloc(sizeof *h);
    if (!h) {
        stt_result_clear(r);
        return NULL;
    }
    *h = *r;
    memset(r, 0, sizeof *r);
    return h;
}

/* ---- the listening half: VAD sink callbacks (audio pool, inside vad_stream_feed) ---- */

static int answer_active(ws_session *s) {
    pthread_mutex_lock(&s->mu);
    int running = s->turn_running;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->sq.mu);
    int playing = s->sq.play_end_ms > now_ms();
    pthread_mutex_unlock(&s->sq.mu);
    return running || playing;
}

int pipeline_cancel_answer(ws_session *s, const char *why) {
    if (!answer_active(s)) return 0;
    pthread_mutex_lock(&s->mu);
    uint64_t seq = s->turn_seq;
    pthread_mutex_unlock(&s->mu);
    session_set_cancel(s, 1);
    send_queue_purge_turn(&s->sq, seq);
    LOG_D("server", "session %llu: answer %llu cancelled: %s", (unsigned long long)s->id,
          (unsigned long long)seq, why);
    session_send_text(s, "{\"event\":\"barge_in\"}", 0);
    metrics_add(s->srv->metrics, COUNT_BARGE_INS, 1);
    return 1;
}

static int backlog_append(struct pipeline_session *ps, const int16_t *pcm, size_t n) {
    if (ps->nbacklog + n > ps->max_utt_samples) n = ps->max_utt_samples - ps->nbacklog;
    if (n == 0) return 0;
    if (ps->nbacklog + n > ps->backlog_cap) {
        size_t nc = ps->backlog_cap ? ps->backlog_cap * 2 : 16000;
        while (nc < ps->nbacklog + n) nc *= 2;
        if (nc > ps->max_utt_samples) nc = ps->max_utt_samples;
        int16_t *nb = realloc(ps->backlog, nc * sizeof *nb);
        if (!nb) return -1;
        ps->backlog = nb;
        ps->backlog_cap = nc;
    }
    memcpy(ps->backlog + ps->nbacklog, pcm, n * sizeof *pcm);
    ps->nbacklog += n;
    return 0;
}

static void backlog_drop(struct pipeline_session *ps) {
    free(ps->backlog);
    ps->backlog = NULL;
    ps->nbacklog = ps->backlog_cap = 0;
}

/* Takes a decoder if one is free right now, and feeds it what was kept meanwhile.
 * Never loads the recogniser here: a load takes seconds and would stall every
 * session's audio; until it is loaded the utterance is kept and recognised on the
 * turn pool. */
static void try_begin_stt(struct pipeline_session *ps) {
    axiom_engine *e = ps->s->srv->engine;
    if (ps->stt || !e->stt) return;
    if (!component_is_loaded(stt_engine_component(e->stt))) return;
    int status = 0;
    char err[256];
    ps->stt = stt_stream_begin(e->stt, 0, &status, err, sizeof err);
    if (ps->stt) stt_stream_use_channel(ps->stt, &ps->channel);
    if (!ps->stt) {
        if (status != STT_BUSY && !ps->speech_reported) {
            ps->speech_reported = 1;
            char m[400];
            snprintf(m, sizeof m, "speech recognition unavailable: %s", err);
            send_error_event(ps->s, "stt_unavailable", m, 0);
        }
        return;
    }
    if (ps->nbacklog) {
        int64_t t = now_us();
        if (stt_stream_feed(ps->stt, ps->backlog, ps->nbacklog, err, sizeof err) != 0)
            LOG_W("server", "recogniser feed: %s", err);
        ps->stt_us += now_us() - t;
    }
    backlog_drop(ps);
}

/* Active speech level of the frames so far, dB: the mean power of the frames within
 * 20 dB of the loudest (pauses and the quiet edges do not dilute it). */
static double level_db(const struct pipeline_session *ps) {
    float mx = 0;
    for (int i = 0; i < ps->nframe_pow; i++)
        if (ps->frame_pow[i] > mx) mx = ps->frame_pow[i];
    double sum = 0;
    int n = 0;
    for (int i = 0; i < ps->nframe_pow; i++)
        if (ps->frame_pow[i] >= mx / 100) sum += ps->frame_pow[i], n++;
    return n && sum > 0 ? 10 * log10(sum / n) : -100;
}

static void measure_level(struct pipeline_session *ps, const int16_t *pcm, size_t n) {
    size_t skip = ps->skip_preroll > 0 ? (size_t)ps->skip_preroll : 0;
    if (skip > n) skip = n;
    ps->skip_preroll -= (int64_t)skip;
    for (size_t i = skip; i < n && ps->nframe_pow < LEVEL_FRAMES; i++) {
        ps->acc_pow += (double)pcm[i] * pcm[i];
        if (++ps->acc_n == LEVEL_FRAME) {
            ps->frame_pow[ps->nframe_pow++] = (float)(ps->acc_pow / LEVEL_FRAME);
            ps->acc_pow = 0;
            ps->acc_n = 0;
        }
    }
}

/* Speech that began while an answer was playing, once ECHO_DECIDE_FRAMES are heard:
 * the user (barge-in) or the answer's own voice coming back through the room into
 * the microphone. A loudspeaker's echo arrives well below the user's own voice at
 * the same microphone, so it must come within server.barge_in_margin_db of the level
 * the user spoke at before. Until the user's level is known (nothing said yet),
 * every speech start barges in, as the browser's echo cancellation is trusted. */
static void echo_decide(struct pipeline_session *ps) {
    ws_session *s = ps->s;
    ps->echo_check = 0;
    double lvl = level_db(ps);
    double margin = config_double(s->srv->cfg, "server.barge_in_margin_db");
    if (ps->user_level_db != 0 && lvl < ps->user_level_db - margin) {
        ps->echo = 1;
        metrics_add(s->srv->metrics, COUNT_ECHO_IGNORED, 1);
        LOG_D("server", "session %llu: speech at %.1f dB during the answer ignored as its echo "
                        "(user speaks at %.1f dB)",
              (unsigned long long)s->id, lvl, ps->user_level_db);
        return;
    }
    session_send_text(s, "{\"event\":\"speech_start\"}", 0);
    pipeline_cancel_answer(s, "barge-in");
}

static void on_speech_start(void *user, int64_t start_sample) {
    struct pipeline_session *ps = user;
    ws_session *s = ps->s;
    int64_t preroll = (int64_t)config_int(s->srv->cfg, "vad.preroll_ms") * 16;
    ps->skip_preroll = start_sample < preroll ? start_sample : preroll;
    ps->nframe_pow = 0;
    ps->acc_pow = 0;
    ps->acc_n = 0;
    ps->echo = 0;
    ps->echo_check = s->srv->barge_in && answer_active(s);
    if (!ps->echo_check) session_send_text(s, "{\"event\":\"speech_start\"}", 0);
    ps->in_speech = 1;
    ps->utt_samples = 0;
    ps->partial_at = 0;
    ps->last_partial[0] = '\0';
    ps->stt_us = 0;
    backlog_drop(ps);
    try_begin_stt(ps);
}

static void on_speech_audio(void *user, const int16_t *pcm, size_t n) {
    struct pipeline_session *ps = user;
    ws_session *s = ps->s;
    if (!ps->in_speech) return;
    measure_level(ps, pcm, n);
    if (ps->echo_check && ps->nframe_pow >= ECHO_DECIDE_FRAMES) echo_decide(ps);
    if (ps->echo) return; /* the answer's echo: nothing to recognise */
    ps->utt_samples += (int64_t)n;
    if (!ps->stt) try_begin_stt(ps);
    if (!ps->stt) {
        backlog_append(ps, pcm, n);
        return;
    }
    char err[256];
    int64_t t = now_us();
    if (stt_stream_feed(ps->stt, pcm, n, err, sizeof err) != 0)
        LOG_W("server", "session %llu: recogniser feed: %s", (unsigned long long)s->id, err);
    ps->stt_us += now_us() - t;
    if (s->want_partials && ps->utt_samples - ps->partial_at >= PARTIAL_EVERY_SAMPLES) {
        ps->partial_at = ps->utt_samples;
        char part[256];
        if (stt_stream_partial(ps->stt, part, sizeof part) == 0 && part[0] &&
            strcmp(part, ps->last_partial) != 0) {
            str_copy(ps->last_partial, sizeof ps->last_partial, part);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "event", "partial");
            cJSON_AddStringToObject(o, "text", part);
            char *txt = cJSON_PrintUnformatted(o);
            if (txt) session_send_text(s, txt, 0);
            free(txt);
            cJSON_Delete(o);
        }
    }
}

/* Words a question does not end on: a pause after one is the speaker looking for the
 * next word, not the end of the turn. */
static int ends_unfinished(const char *text) {
    static const char *const open_words[] = {
        "the", "a", "an", "of", "and", "or", "but", "is", "are", "was", "to", "for", "with",
        "in", "on", "at", "by", "from", "about", "my", "your", "its", "their", "this", "that",
        "what", "which", "how", "does", "do", "can", "could", "should", "would", "will", "if",
        "than", "as", "into", "some", "any", "um", "uh", "er"};
    const char *w = strrchr(text, ' ');
    w = w ? w + 1 : text;
    for (size_t i = 0; i < sizeof open_words / sizeof open_words[0]; i++)
        if (strcmp(w, open_words[i]) == 0) return 1;
    return 0;
}

/* The adaptive endpointer (VAD sink, once per pause after vad.silence_min_ms): the
 * words so far decide how long this pause must be. A finished question the pack
 * answers confidently ends the turn now; an unfinished phrase gets longer; anything
 * else keeps vad.silence_ms. */
static int on_pause(void *user, int64_t pause_start) {
    struct pipeline_session *ps = user;
    axiom_engine *e = ps->s->srv->engine;
    (void)pause_start;
    char part[256] = "";
    int ms = 0;
    const char *why = "default";
    if (ps->stt && stt_stream_partial(ps->stt, part, sizeof part) == 0 && part[0]) {
        brain_peek_result pr;
        if (ends_unfinished(part)) {
            ms = ps->silence_max_ms;
            why = "unfinished";
        } else if (e->brain && brain_peek(e->brain, part, &pr)) {
            ms = ps->silence_min_ms;
            why = "finished";
        }
    }
    str_copy(ps->pause_why, sizeof ps->pause_why, why);
    LOG_D("server", "session %llu: pause after \"%s\": %s, wait %d ms",
          (unsigned long long)ps->s->id, part, why, ms);
    return ms;
}

static void on_speech_end(void *user, int64_t end_sample) {
    struct pipeline_session *ps = user;
    ws_session *s = ps->s;
    if (!ps->in_speech) return;
    ps->in_speech = 0;
    if (ps->echo_check && ps->nframe_pow > 0) echo_decide(ps); /* a short burst */
    if (ps->echo || ps->echo_check) {
        /* The answer's echo, or too short to tell during an answer: no turn. */
        ps->echo_check = 0;
        stt_stream_cancel(ps->stt);
        ps->stt = NULL;
        backlog_drop(ps);
        ps->pause_why[0] = '\0';
        return;
    }
    {
        /* The user's speech level, for telling their voice from the answer's echo:
         * smoothed over utterances. */
        double lvl = level_db(ps);
        if (ps->nframe_pow >= ECHO_DECIDE_FRAMES && lvl > -90)
            ps->user_level_db = ps->user_level_db == 0 ? lvl : 0.7 * ps->user_level_db + 0.3 * lvl;
    }
    int64_t t0 = now_us();
    {
        /* Where the speech ended and how long the pause that closed it was, in the
         * session's audio (ms since its first sample): what the endpointer did. */
        int64_t at = vad_stream_position(ps->vad);
        char ev[160];
        snprintf(ev, sizeof ev,
                 "{\"event\":\"speech_end\",\"end_ms\":%lld,\"pause_ms\":%lld,\"endpoint\":\"%s\"}",
                 (long long)(end_sample / 16), (long long)((at - end_sample) / 16),
                 ps->pause_why[0] ? ps->pause_why : "default");
        session_send_text(s, ev, 0);
        ps->pause_why[0] = '\0';
    }
    turn_input *in = calloc(1, sizeof *in);
    if (!in) return;
    in->t0_us = t0;
    if (ps->stt) {
        stt_result r;
        memset(&r, 0, sizeof r);
        char err[256];
        int64_t t = now_us();
        int rc = stt_stream_finish(ps->stt, &r, err, sizeof err);
        ps->stt = NULL;
        ps->stt_us += now_us() - t;
        metrics_observe_ms(s->srv->metrics, STAGE_STT, (double)(now_us() - t) / 1000.0);
        in->text = strdup(rc == 0 && r.text ? r.text : "");
        if (rc == 0) in->heard = keep_heard(&r);
        stt_result_clear(&r);
        if (rc != 0) LOG_W("server", "session %llu: recogniser: %s", (unsigned long long)s->id, err);
    } else {
        /* No decoder was free during speech: recognise on the turn pool. */
        in->audio = ps->backlog;
        in->naudio = ps->nbacklog;
        ps->backlog = NULL;
        ps->nbacklog = ps->backlog_cap = 0;
        if (!in->audio) in->text = strdup("");
    }
    in->stt_us = ps->stt_us;
    in->spoken = 1;
    pipeline_submit(s, in);
}

/* ---- sessions ---- */

int pipeline_session_new(ws_session *s, char *err, size_t errlen) {
    axiom_engine *e = s->srv->engine;
    struct pipeline_session *ps = calloc(1, sizeof *ps);
    if (!ps) {
        snprintf(err, errlen, "out of memory for a session");
        return -1;
    }
    ps->s = s;
    ps->max_utt_samples = (size_t)s->srv->max_utterance_s * 16000;
    if (e->vad) {
        vad_sink sink = {on_speech_start, on_speech_audio, on_speech_end, ps, on_pause};
        if (config_bool(s->srv->cfg, "vad.adaptive")) {
            ps->silence_min_ms = (int)config_int(s->srv->cfg, "vad.silence_min_ms");
            ps->silence_max_ms = (int)config_int(s->srv->cfg, "vad.silence_max_ms");
        }
        char verr[256];
        ps->vad = vad_stream_new(e->vad, &sink, verr, sizeof verr);
        if (!ps->vad) LOG_W("server", "session VAD: %s; voice input refused", verr);
    }
    if (e->brain) s->brain = brain_session_new(e->brain);
    s->ps = ps;
    /* The user has not spoken yet: load what the first turn needs meanwhile. */
    if (config_bool(s->srv->cfg, "server.warm_up")) warmup_request(s->srv->pipe->warm);
    return 0;
}

void pipeline_session_free(ws_session *s) {
    struct pipeline_session *ps = s->ps;
    if (ps) {
        vad_stream_free(ps->vad);
        stt_stream_cancel(ps->stt);
        free(ps->backlog);
        free(ps);
    }
    s->ps = NULL;
    if (s->brain) brain_session_free(s->brain);
    s->brain = NULL;
}

static int session_is_open(ws_session *s) {
    pthread_mutex_lock(&s->mu);
    int o = s->open;
    pthread_mutex_unlock(&s->mu);
    return o;
}

void pipeline_audio_job(void *arg) {
    ws_session *s = arg;
    struct pipeline_session *ps = s->ps;
    for (;;) {
        struct audio_chunk *chunks = ws_audio_take(s);
        if (!chunks) break;
        if (!session_is_open(s)) {
            ws_audio_free(chunks);
            continue;
        }
        if (!ps->vad || !s->srv->engine->stt) {
            if (!ps->speech_reported) {
                ps->speech_reported = 1;
                send_error_event(s, "speech_unavailable",
                                 !ps->vad ? "voice input is not available: no voice activity "
                                            "detector (see the server log); text messages work"
                                          : "voice input is not available: no speech recogniser "
                                            "(see the server log); text messages work",
                                 0);
            }
            ws_audio_free(chunks);
            continue;
        }
        for (struct audio_chunk *c = chunks; c; c = ws_audio_next(c)) {
            size_t n;
            const int16_t *pcm = ws_audio_samples(c, &n);
            vad_stream_feed(ps->vad, pcm, n);
        }
        ws_audio_free(chunks);
    }
    session_unref(s);
}

/* ---- turns (turn pool) ---- */

typedef struct {
    ws_session *s;
    turn_input *in;
    uint64_t seq;
} turn_job;

/* Recognises an utterance kept whole because no decoder was free during speech. */
static void recognise_backlog(ws_session *s, turn_input *in) {
    axiom_engine *e = s->srv->engine;
    int status = 0;
    char err[256];
    int64_t t = now_us();
    stt_stream *st = stt_stream_begin(e->stt, STT_WAIT_ON_TURN_MS, &status, err, sizeof err);
    stt_result r;
    memset(&r, 0, sizeof r);
    if (st && stt_stream_feed(st, in->audio, in->naudio, err, sizeof err) == 0 &&
        stt_stream_finish(st, &r, err, sizeof err) == 0) {
        in->text = strdup(r.text ? r.text : "");
        in->heard = keep_heard(&r);
        /* thinking went out before this text existed: send it now */
        if (in->text && in->text[0]) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "event", "transcript");
            cJSON_AddStringToObject(o, "text", in->text);
            char *txt = cJSON_PrintUnformatted(o);
            if (txt) session_send_text(s, txt, 0);
            free(txt);
            cJSON_Delete(o);
        }
    } else {
        if (st) stt_stream_cancel(st);
        LOG_W("server", "session %llu: recognition failed: %s", (unsigned long long)s->id, err);
        char m[320];
        snprintf(m, sizeof m, "speech recognition failed: %s", err);
        send_error_event(s, status == STT_BUSY ? "busy" : "stt_failed", m, 0);
        in->text = strdup("");
    }
    stt_result_clear(&r);
    in->stt_us += now_us() - t;
    metrics_observe_ms(s->srv->metrics, STAGE_STT, (double)(now_us() - t) / 1000.0);
    free(in->audio);
    in->audio = NULL;
}

static void turn_main(void *arg) {
    turn_job *j = arg;
    ws_session *s = j->s;
    for (;;) {
        if (session_is_open(s) && !atomic_load(&s->cancel)) {
            if (j->in->audio) recognise_backlog(s, j->in);
            turn_run(s, j->seq, j->in->text ? j->in->text : "", j->in->heard, j->in->t0_us, j->in->stt_us);
        }
        turn_input_free(j->in);
        j->in = NULL;
        pthread_mutex_lock(&s->mu);
        if (!s->pending || !s->open) {
            s->turn_running = 0;
            s->answering = 0;
            pthread_mutex_unlock(&s->mu);
            break;
        }
        j->in = s->pending;
        s->pending = NULL;
        j->seq = ++s->turn_seq;
        session_set_cancel(s, 0);
        pthread_mutex_unlock(&s->mu);
    }
    free(j);
    session_unref(s);
}

void pipeline_submit(ws_session *s, turn_input *in) {
    turn_job *j = calloc(1, sizeof *j);
    if (!j) {
        turn_input_free(in);
        return;
    }
    /* A spoken question's transcript goes with thinking, so the page can show what
     * was heard even when no partial result came (a short or fast utterance). */
    char *thinking = NULL;
    if (in->spoken && in->text && in->text[0]) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "state", "thinking");
        cJSON_AddStringToObject(o, "transcript", in->text);
        thinking = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    session_send_text(s, thinking ? thinking : "{\"state\":\"thinking\"}", 0);
    free(thinking);
    pthread_mutex_lock(&s->mu);
    if (s->turn_running) {
        /* One answer at a time per session; the newest request waits. */
        turn_input_free(s->pending);
        s->pending = in;
        pthread_mutex_unlock(&s->mu);
        free(j);
        return;
    }
    s->turn_running = 1;
    s->answering = 1;
    s->refs++;
    j->s = s;
    j->in = in;
    j->seq = ++s->turn_seq;
    session_set_cancel(s, 0);
    pthread_mutex_unlock(&s->mu);
    if (worker_pool_submit(s->srv->turn_pool, turn_main, j) != 0) {
        metrics_add(s->srv->metrics, COUNT_SHED, 1);
        session_send_text(s, "{\"state\":\"idle\",\"error\":\"server busy: too many answers "
                             "queued; try again\"}",
                          j->seq);
        session_send_text(s, "{\"event\":\"ready_to_listen\",\"state\":\"idle\"}", j->seq);
        pthread_mutex_lock(&s->mu);
        s->turn_running = 0;
        s->answering = 0;
        pthread_mutex_unlock(&s->mu);
        turn_input_free(j->in);
        free(j);
        session_unref(s);
    }
}

void pipeline_submit_turn(ws_session *s, const char *text, int64_t t0_us) {
    turn_input *in = calloc(1, sizeof *in);
    if (!in) return;
    in->text = strdup(text);
    in->t0_us = t0_us;
    if (!in->text) {
        free(in);
        return;
    }
    pipeline_submit(s, in);
}

/* /api/ask: one turn without a session's voice, answered in the reply body. */
static void collect_sentence(void *user, const char *sentence) {
    (void)user;
    (void)sentence;
}

int pipeline_ask(axiom_server *srv, const char *text, cJSON *out, const volatile int *cancel) {
    axiom_engine *e = srv->engine;
    if (!e->brain) {
        cJSON_AddStringToObject(out, "error", "answering is not available: no knowledge pack "
                                              "loaded (see the server log)");
        return 503;
    }
    brain_session *bs = brain_session_new(e->brain);
    if (!bs) {
        cJSON_AddStringToObject(out, "error", "out of memory");
        return 500;
    }
    brain_mode mode = BRAIN_MODE_FULL;
    governor_mode gm = governor_effective_mode(e->gov);
    if (gm == GOV_MODE_SKIP_LLM) mode = BRAIN_MODE_SKIP_LLM;
    else if (gm == GOV_MODE_TEMPLATE_ONLY) mode = BRAIN_MODE_TEMPLATE_ONLY;
    brain_turn_opts opts = {
        .mode = mode, .llm = e->llm, .cancel = (const atomic_int *)(const void *)cancel, .sink = {collect_sentence, NULL}};
    brain_reply r;
    memset(&r, 0, sizeof r);
    char err[512] = "";
    int64_t t0 = now_us();
    int rc = brain_turn(e->brain, bs, text, &opts, &r, err, sizeof err);
    int64_t dt = now_us() - t0;
    int status = 200;
    if (rc != 0) {
        cJSON_AddStringToObject(out, "error", err);
        metrics_count_turn(srv->metrics, "error");
        status = 503;
    } else {
        const char *path = brain_path_name(r.path);
        cJSON_AddStringToObject(out, "text", r.text ? r.text : "");
        cJSON_AddStringToObject(out, "intent", r.intent);
        cJSON_AddNumberToObject(out, "confidence", (int)(r.confidence * 1000) / 1000.0);
        cJSON_AddStringToObject(out, "path", path);
        if (r.llm_failure[0]) cJSON_AddStringToObject(out, "llm_failure", r.llm_failure);
        if (r.dropped[0]) cJSON_AddStringToObject(out, "dropped", r.dropped);
        if (r.card.index >= 0) {
            cJSON *c = cJSON_AddObjectToObject(out, "card");
            cJSON_AddNumberToObject(c, "card_index", r.card.index);
            cJSON_AddStringToObject(c, "keyword", r.card.keyword);
            cJSON_AddStringToObject(c, "product_name", r.card.product_name);
        }
        if (r.model_3d.path[0]) {
            cJSON *m = cJSON_AddObjectToObject(out, "model_3d");
            cJSON_AddStringToObject(m, "model_path", r.model_3d.path);
            cJSON_AddStringToObject(m, "model_name", r.model_3d.name);
        }
        cJSON *t = cJSON_AddObjectToObject(out, "timings_ms");
        cJSON_AddNumberToObject(t, "total", (double)(dt / 100) / 10.0);
        cJSON_AddNumberToObject(t, "intent", (double)(r.t.intent_us / 100) / 10.0);
        cJSON_AddNumberToObject(t, "retrieval", (double)(r.t.retrieval_us / 100) / 10.0);
        cJSON_AddNumberToObject(t, "llm", (double)(r.t.llm_us / 100) / 10.0);
        metrics_count_turn(srv->metrics, path);
        if (r.path == BRAIN_PATH_FALLBACK) metrics_count_llm_failure(srv->metrics, r.llm_failure);
        metrics_observe_ms(srv->metrics, STAGE_BRAIN, (double)dt / 1000.0);
    }
    brain_reply_free(&r);
    brain_session_free(bs);
    return status;
}
