/* The listening half of a voice session: audio -> VAD -> recogniser -> turn, with the
 * events SPEECH_START, [PARTIAL], SPEECH_END, TRANSCRIPT.
 *
 * The audio job (hub audio pool, one at a time per session) feeds queued audio
 * through the session's VAD stream in arrival order; the VAD's sink callbacks run
 * inside that job. A recogniser stream is begun at speech start when a decoder is
 * free and fed live, so the transcript is ready moments after the end of speech.
 * When every decoder is busy (or the recogniser is still loading) the utterance is
 * kept, bounded by server.max_utterance_s, and recognised on the turn pool instead,
 * where waiting for a decoder holds up nobody's audio.
 *
 * Echo guard: speech that starts while an answer plays is the user (barge-in) or the
 * answer's own voice coming back into the microphone; it is told apart by level.
 * Adaptive endpointer: the words so far decide how long a pause ends the turn.
 *
 * A component that is not available becomes an honest error event naming it. */
#include "core/log.h"
#include "core/util.h"
#include "voice/voice_internal.h"

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

typedef struct voice_listen {
    axiom_voice *v;
    stt_stream *stt;
    int in_speech;
    int16_t *backlog; /* utterance audio not yet fed to a decoder */
    size_t nbacklog, backlog_cap;
    size_t max_utt_samples;
    int64_t utt_samples;
    int64_t partial_at;
    char last_partial[256];
    int64_t stt_us;
    int speech_reported;                /* "no voice input" error sent once */
    int input_end;                      /* the speech in progress ends because the input ended */
    stt_channel channel;                /* this speaker's normalisation, kept across utterances */
    int silence_min_ms, silence_max_ms; /* adaptive endpointer (0 = off) */
    char pause_why[24];                 /* what the endpointer decided at the last pause */
    float frame_pow[LEVEL_FRAMES];
    int nframe_pow;
    double acc_pow;
    int acc_n;
    int64_t skip_preroll; /* samples of pre-roll still to come before the start */
    double user_level_db; /* 0 = not known yet */
    int echo_check;       /* speech began while an answer played: undecided */
    int echo;             /* decided: this utterance is the answer's echo */
} voice_listen;

/* Keeps a recogniser result for the turn: moved into a new owned stt_result; r is
 * left empty. NULL when out of memory (r is then cleared). */
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

static void backlog_append(voice_listen *l, const int16_t *pcm, size_t n) {
    if (l->nbacklog + n > l->max_utt_samples) n = l->max_utt_samples - l->nbacklog;
    if (n == 0) return;
    if (l->nbacklog + n > l->backlog_cap) {
        size_t nc = l->backlog_cap ? l->backlog_cap * 2 : 16000;
        while (nc < l->nbacklog + n)
            nc *= 2;
        if (nc > l->max_utt_samples) nc = l->max_utt_samples;
        int16_t *nb = realloc(l->backlog, nc * sizeof *nb);
        if (!nb) return; /* the utterance is cut here; what was kept stays */
        l->backlog = nb;
        l->backlog_cap = nc;
    }
    memcpy(l->backlog + l->nbacklog, pcm, n * sizeof *pcm);
    l->nbacklog += n;
}

static void backlog_drop(voice_listen *l) {
    free(l->backlog);
    l->backlog = NULL;
    l->nbacklog = l->backlog_cap = 0;
}

/* Takes a decoder if one is free right now and feeds it what was kept meanwhile.
 * Never loads the recogniser here: a load takes seconds and would stall every
 * session's audio; until it is loaded the utterance is kept and recognised on the
 * turn pool. */
static void try_begin_stt(voice_listen *l) {
    axiom_voice *v = l->v;
    axiom_engine *e = v->engine;
    if (l->stt || !e->stt) return;
    if (!component_is_loaded(stt_engine_component(e->stt))) return;
    int status = 0;
    char err[256];
    l->stt = stt_stream_begin(e->stt, 0, &status, err, sizeof err);
    if (!l->stt) {
        if (status != STT_BUSY && !l->speech_reported) {
            l->speech_reported = 1;
            char m[400];
            snprintf(m, sizeof m, "speech recognition unavailable: %s", err);
            voice_emit_error(v, "stt_unavailable", m, 0);
        }
        return;
    }
    stt_stream_use_channel(l->stt, &l->channel);
    if (l->nbacklog) {
        int64_t t = now_us();
        if (stt_stream_feed(l->stt, l->backlog, l->nbacklog, err, sizeof err) != 0)
            LOG_W("voice", "recogniser feed: %s", err);
        l->stt_us += now_us() - t;
    }
    backlog_drop(l);
}

/* Active speech level of the frames so far, dB: the mean power of the frames within
 * 20 dB of the loudest (pauses and the quiet edges do not dilute it). */
static double level_db(const voice_listen *l) {
    float mx = 0;
    for (int i = 0; i < l->nframe_pow; i++)
        if (l->frame_pow[i] > mx) mx = l->frame_pow[i];
    double sum = 0;
    int n = 0;
    for (int i = 0; i < l->nframe_pow; i++)
        if (l->frame_pow[i] >= mx / 100) sum += l->frame_pow[i], n++;
    return n && sum > 0 ? 10 * log10(sum / n) : -100;
}

static void measure_level(voice_listen *l, const int16_t *pcm, size_t n) {
    size_t skip = l->skip_preroll > 0 ? (size_t)l->skip_preroll : 0;
    if (skip > n) skip = n;
    l->skip_preroll -= (int64_t)skip;
    for (size_t i = skip; i < n && l->nframe_pow < LEVEL_FRAMES; i++) {
        l->acc_pow += (double)pcm[i] * pcm[i];
        if (++l->acc_n == LEVEL_FRAME) {
            l->frame_pow[l->nframe_pow++] = (float)(l->acc_pow / LEVEL_FRAME);
            l->acc_pow = 0;
            l->acc_n = 0;
        }
    }
}

/* Speech that began while an answer was playing, once ECHO_DECIDE_FRAMES are heard:
 * the user (barge-in) or the answer's own voice coming back through the room into
 * the microphone. A loudspeaker's echo arrives well below the user's own voice at
 * the same microphone, so it must come within server.barge_in_margin_db of the level
 * the user spoke at before. Until the user's level is known (nothing said yet),
 * every speech start barges in, as the browser's echo cancellation is trusted. */
static void echo_decide(voice_listen *l) {
    axiom_voice *v = l->v;
    l->echo_check = 0;
    double lvl = level_db(l);
    if (l->user_level_db != 0 && lvl < l->user_level_db - v->hub->barge_in_margin_db) {
        l->echo = 1;
        voice_observe(v->hub, VOICE_STAT_ECHO_IGNORED, 1, NULL);
        LOG_D("voice",
              "session %llu: speech at %.1f dB during the answer ignored as its echo "
              "(user speaks at %.1f dB)",
              (unsigned long long)v->id, lvl, l->user_level_db);
        return;
    }
    voice_emit_simple(v, AXIOM_EVENT_SPEECH_START, 0);
    voice_cancel_answer(v, "barge-in");
}

static void on_speech_start(void *user, int64_t start_sample) {
    voice_listen *l = user;
    axiom_voice *v = l->v;
    int64_t preroll = (int64_t)v->hub->preroll_ms * 16;
    l->skip_preroll = start_sample < preroll ? start_sample : preroll;
    l->nframe_pow = 0;
    l->acc_pow = 0;
    l->acc_n = 0;
    l->echo = 0;
    l->echo_check = v->hub->barge_in && voice_answer_active(v);
    if (!l->echo_check) voice_emit_simple(v, AXIOM_EVENT_SPEECH_START, 0);
    l->in_speech = 1;
    l->utt_samples = 0;
    l->partial_at = 0;
    l->last_partial[0] = '\0';
    l->stt_us = 0;
    backlog_drop(l);
    try_begin_stt(l);
}

static void on_speech_audio(void *user, const int16_t *pcm, size_t n) {
    voice_listen *l = user;
    axiom_voice *v = l->v;
    if (!l->in_speech) return;
    measure_level(l, pcm, n);
    if (l->echo_check && l->nframe_pow >= ECHO_DECIDE_FRAMES) echo_decide(l);
    if (l->echo) return; /* the answer's echo: nothing to recognise */
    l->utt_samples += (int64_t)n;
    if (!l->stt) try_begin_stt(l);
    if (!l->stt) {
        backlog_append(l, pcm, n);
        return;
    }
    char err[256];
    int64_t t = now_us();
    if (stt_stream_feed(l->stt, pcm, n, err, sizeof err) != 0)
        LOG_W("voice", "session %llu: recogniser feed: %s", (unsigned long long)v->id, err);
    l->stt_us += now_us() - t;
    pthread_mutex_lock(&v->mu);
    int partials = v->partials;
    pthread_mutex_unlock(&v->mu);
    if (partials && l->utt_samples - l->partial_at >= PARTIAL_EVERY_SAMPLES) {
        l->partial_at = l->utt_samples;
        char part[256];
        if (stt_stream_partial(l->stt, part, sizeof part) == 0 && part[0] &&
            strcmp(part, l->last_partial) != 0) {
            str_copy(l->last_partial, sizeof l->last_partial, part);
            axiom_event ev = {.type = AXIOM_EVENT_PARTIAL, .text = part};
            voice_emit(v, &ev);
        }
    }
}

/* Words a question does not end on: a pause after one is the speaker looking for the
 * next word, not the end of the turn. */
static int ends_unfinished(const char *text) {
    static const char *const open_words[] = {
        "the",   "a",    "an",   "of",   "and",   "or",   "but",  "is",    "are", "was",   "to",
        "for",   "with", "in",   "on",   "at",    "by",   "from", "about", "my",  "your",  "its",
        "their", "this", "that", "what", "which", "how",  "does", "do",    "can", "could", "should",
        "would", "will", "if",   "than", "as",    "into", "some", "any",   "um",  "uh",    "er"};
    const char *w = strrchr(text, ' ');
    w = w ? w + 1 : text;
    for (size_t i = 0; i < sizeof open_words / sizeof open_words[0]; i++)
        if (strcmp(w, open_words[i]) == 0) return 1;
    return 0;
}

/* The adaptive endpointer (VAD sink, once per pause after vad.silence_min_ms): a
 * finished question the pack answers confidently ends the turn now; an unfinished
 * phrase gets longer; anything else keeps vad.silence_ms. */
static int on_pause(void *user, int64_t pause_start) {
    voice_listen *l = user;
    axiom_engine *e = l->v->engine;
    (void)pause_start;
    char part[256] = "";
    int ms = 0;
    const char *why = "default";
    if (l->stt && stt_stream_partial(l->stt, part, sizeof part) == 0 && part[0]) {
        brain_peek_result pr;
        if (ends_unfinished(part)) {
            ms = l->silence_max_ms;
            why = "unfinished";
        } else if (e->brain && brain_peek(e->brain, part, &pr)) {
            ms = l->silence_min_ms;
            why = "finished";
        }
    }
    str_copy(l->pause_why, sizeof l->pause_why, why);
    LOG_D("voice", "session %llu: pause after \"%s\": %s, wait %d ms", (unsigned long long)l->v->id,
          part, why, ms);
    return ms;
}

static void emit_transcript(axiom_voice *v, const char *text) {
    if (!text || !text[0]) return;
    axiom_event ev = {.type = AXIOM_EVENT_TRANSCRIPT, .text = text};
    voice_emit(v, &ev);
}

static void on_speech_end(void *user, int64_t end_sample) {
    voice_listen *l = user;
    axiom_voice *v = l->v;
    if (!l->in_speech) return;
    l->in_speech = 0;
    if (l->echo_check && l->nframe_pow > 0) echo_decide(l); /* a short burst */
    if (l->echo || l->echo_check) {
        /* The answer's echo, or too short to tell during an answer: no turn. */
        l->echo_check = 0;
        stt_stream_cancel(l->stt);
        l->stt = NULL;
        backlog_drop(l);
        l->pause_why[0] = '\0';
        return;
    }
    {
        /* The user's speech level, smoothed over utterances, for the echo guard. */
        double lvl = level_db(l);
        if (l->nframe_pow >= ECHO_DECIDE_FRAMES && lvl > -90)
            l->user_level_db = l->user_level_db == 0 ? lvl : 0.7 * l->user_level_db + 0.3 * lvl;
    }
    int64_t t0 = now_us();
    {
        /* Where the speech ended and how long the pause that closed it was, in the
         * session's audio: what the endpointer did. */
        int64_t at = vad_stream_position(v->vad);
        axiom_event ev = {.type = AXIOM_EVENT_SPEECH_END,
                          .end_ms = end_sample / 16,
                          .pause_ms = (at - end_sample) / 16,
                          .endpoint = l->input_end      ? "input_end"
                                      : l->pause_why[0] ? l->pause_why
                                                        : "default"};
        voice_emit(v, &ev);
        l->pause_why[0] = '\0';
    }
    turn_input *in = voice_fault_hit(VOICE_FAULT_ALLOC) ? NULL : calloc(1, sizeof *in);
    if (!in) {
        stt_stream_cancel(l->stt);
        l->stt = NULL;
        backlog_drop(l);
        voice_fail_turn(v, 0, "out_of_memory",
                        "out of memory: the question was not answered; try again");
        return;
    }
    in->t0_us = t0;
    in->spoken = 1;
    if (l->stt) {
        stt_result r;
        memset(&r, 0, sizeof r);
        char err[256];
        int64_t t = now_us();
        int rc = stt_stream_finish(l->stt, &r, err, sizeof err);
        l->stt = NULL;
        if (rc == 0 && voice_fault_hit(VOICE_FAULT_STT)) {
            rc = -1;
            snprintf(err, sizeof err, "the recogniser failed (injected)");
        }
        l->stt_us += now_us() - t;
        voice_observe(v->hub, VOICE_STAT_STT_MS, (double)(now_us() - t) / 1000.0, NULL);
        if (rc == 0) {
            in->text = strdup(r.text ? r.text : "");
            in->heard = keep_heard(&r);
        } else {
            in->stt_failed = 1;
            snprintf(in->stt_error, sizeof in->stt_error, "speech recognition failed: %s", err);
        }
        stt_result_clear(&r);
        emit_transcript(v, in->text);
    } else {
        /* No decoder was free during speech: recognise on the turn pool. */
        in->audio = l->backlog;
        in->naudio = l->nbacklog;
        l->backlog = NULL;
        l->nbacklog = l->backlog_cap = 0;
        if (!in->audio) in->text = strdup("");
    }
    in->stt_us = l->stt_us;
    voice_submit(v, in);
}

void voice_recognise_backlog(axiom_voice *v, turn_input *in) {
    axiom_engine *e = v->engine;
    int status = 0;
    char err[256] = "no speech recogniser";
    int64_t t = now_us();
    stt_stream *st =
        e->stt ? stt_stream_begin(e->stt, STT_WAIT_ON_TURN_MS, &status, err, sizeof err) : NULL;
    stt_result r;
    memset(&r, 0, sizeof r);
    int rc = -1;
    if (st && stt_stream_feed(st, in->audio, in->naudio, err, sizeof err) != 0)
        stt_stream_cancel(st);
    else if (st)
        rc = stt_stream_finish(st, &r, err, sizeof err); /* frees the stream either way */
    if (rc == 0 && voice_fault_hit(VOICE_FAULT_STT)) {
        rc = -1;
        snprintf(err, sizeof err, "the recogniser failed (injected)");
    }
    if (rc == 0) {
        in->text = strdup(r.text ? r.text : "");
        in->heard = keep_heard(&r);
        emit_transcript(v, in->text);
    } else {
        in->stt_failed = 1;
        snprintf(in->stt_error, sizeof in->stt_error, "speech recognition failed: %s", err);
        if (status == STT_BUSY) in->stt_busy = 1;
    }
    stt_result_clear(&r);
    in->stt_us += now_us() - t;
    voice_observe(v->hub, VOICE_STAT_STT_MS, (double)(now_us() - t) / 1000.0, NULL);
    free(in->audio);
    in->audio = NULL;
}

int voice_listen_new(axiom_voice *v, char *err, size_t errlen) {
    axiom_engine *e = v->engine;
    voice_listen *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory for a voice session");
        return -1;
    }
    l->v = v;
    l->max_utt_samples = (size_t)v->hub->max_utterance_s * 16000;
    if (v->hub->vad_adaptive) {
        l->silence_min_ms = v->hub->silence_min_ms;
        l->silence_max_ms = v->hub->silence_max_ms;
    }
    v->listen = l;
    if (e->vad) {
        vad_sink sink = {on_speech_start, on_speech_audio, on_speech_end, l, on_pause};
        char verr[256];
        v->vad = vad_stream_new(e->vad, &sink, verr, sizeof verr);
        if (!v->vad) LOG_W("voice", "session VAD: %s; voice input refused", verr);
    }
    return 0;
}

void voice_listen_free(axiom_voice *v) {
    vad_stream_free(v->vad);
    v->vad = NULL;
    voice_listen *l = v->listen;
    if (l) {
        stt_stream_cancel(l->stt);
        free(l->backlog);
        free(l);
    }
    v->listen = NULL;
}

/* Takes the queued audio; NULL when none (the job flag is then cleared, so the next
 * feed submits a new job). */
static voice_chunk *take_audio(axiom_voice *v, int *end_input, int *closed) {
    pthread_mutex_lock(&v->mu);
    voice_chunk *c = v->in_head;
    v->in_head = v->in_tail = NULL;
    v->in_samples = 0;
    *end_input = v->end_input && !c;
    if (*end_input) v->end_input = 0;
    *closed = v->closed;
    if (!c && !*end_input) v->audio_job = 0;
    pthread_cond_broadcast(&v->idle_cv); /* room in the queue, or idle */
    pthread_mutex_unlock(&v->mu);
    return c;
}

static void free_chunks(voice_chunk *c) {
    while (c) {
        voice_chunk *n = c->next;
        free(c);
        c = n;
    }
}

void voice_audio_job(void *arg) {
    axiom_voice *v = arg;
    voice_listen *l = v->listen;
    for (;;) {
        int end_input = 0, closed = 0;
        voice_chunk *chunks = take_audio(v, &end_input, &closed);
        if (!chunks && !end_input) break;
        if (closed) {
            free_chunks(chunks);
            continue;
        }
        if (!v->vad || !v->engine->stt) {
            if (chunks && !l->speech_reported) {
                l->speech_reported = 1;
                voice_emit_error(
                    v, "speech_unavailable",
                    !v->vad ? "voice input is not available: no voice activity detector (see the "
                              "server log); text messages work"
                            : "voice input is not available: no speech recogniser (see the server "
                              "log); text messages work",
                    0);
            }
            free_chunks(chunks);
            continue;
        }
        for (voice_chunk *c = chunks; c; c = c->next)
            vad_stream_feed(v->vad, c->pcm, c->n);
        free_chunks(chunks);
        if (end_input) {
            /* The input ended: speech in progress ends here and is answered. */
            l->input_end = 1;
            vad_stream_flush(v->vad);
            l->input_end = 0;
        }
    }
    voice_unref(v);
}
