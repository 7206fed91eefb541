/* The voice session of the public API (axiom_voice_*) with the real components:
 * VAD, recogniser and brain over the default pack, flite synthesis. Speech is made by
 * the real synthesiser at 22050 Hz, so feeding it also checks the resampling.
 *   - a spoken question: speech_start, speech_end, the final transcript, thinking,
 *     the answer, its audio, ready_to_listen, in that order;
 *   - every failure exit (recogniser, brain, synthesis, allocation, an LLM that is
 *     down) ends the turn with error (or a fallback), idle and ready_to_listen, and
 *     the next turn is answered normally;
 *   - a typed question during an answer interrupts it at once;
 *   - no event after axiom_voice_free returns. */
#include "check.h"
#include "core/config.h"
#include "core/engine.h"
#include "speech/tts.h"
#include "support/server_fixture.h"
#include "voice/voice_session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_EV 512
#define QUESTION "what is the unitree go2"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int type[MAX_EV];
    uint64_t turn[MAX_EV];
    char text[MAX_EV][160];
    char code[MAX_EV][32];
    char path[MAX_EV][16];
    int n;
    int after_free; /* events counted after axiom_voice_free */
    int freed;
} recorder;

static void on_event(void *user, const axiom_event *ev) {
    recorder *r = user;
    pthread_mutex_lock(&r->mu);
    if (r->freed) r->after_free++;
    if (r->n < MAX_EV) {
        int i = r->n++;
        r->type[i] = ev->type;
        r->turn[i] = ev->turn;
        snprintf(r->text[i], sizeof r->text[i], "%s", ev->text ? ev->text : "");
        snprintf(r->code[i], sizeof r->code[i], "%s", ev->code ? ev->code : "");
        snprintf(r->path[i], sizeof r->path[i], "%s", ev->path ? ev->path : "");
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void rec_init(recorder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void rec_destroy(recorder *r) {
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

static int find(recorder *r, int type, int from) {
    pthread_mutex_lock(&r->mu);
    int at = -1;
    for (int i = from; i < r->n && at < 0; i++)
        if (r->type[i] == type) at = i;
    pthread_mutex_unlock(&r->mu);
    return at;
}

/* Waits until an event of type arrives at or after index from; its index or -1. */
static int wait_for(recorder *r, int type, int from, int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    pthread_mutex_lock(&r->mu);
    int at = -1;
    for (;;) {
        for (int i = from; i < r->n && at < 0; i++)
            if (r->type[i] == type) at = i;
        if (at >= 0 || pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0) break;
    }
    pthread_mutex_unlock(&r->mu);
    return at;
}

static void print_events(recorder *r) {
    pthread_mutex_lock(&r->mu);
    fprintf(stderr, "  events:");
    for (int i = 0; i < r->n; i++)
        fprintf(stderr, " %s", axiom_event_name(r->type[i]));
    fputc('\n', stderr);
    pthread_mutex_unlock(&r->mu);
}

static axiom_config *cfg;
static axiom_engine *engine;
static int16_t *speech; /* QUESTION spoken by flite at 22050 Hz, with pauses */
static size_t nspeech;

static int setup(void) {
    char err[512];
    cfg = config_new();
    if (!cfg || config_set(cfg, "log_level", "warn", CFG_FLAG, "test", err, sizeof err) != 0)
        return -1;
    engine = axiom_engine_new(cfg, err, sizeof err);
    if (!engine) {
        fprintf(stderr, "  engine: %s\n", err);
        return -1;
    }
    if (!engine->tts || !engine->stt || !engine->brain) return 0;
    tts_audio a = {0};
    if (tts_synth(engine->tts, QUESTION, NULL, 22050, NULL, &a, err, sizeof err) != 0) return 0;
    /* Half a second of silence on either side, as a person leaves it. */
    nspeech = a.n + 22050;
    speech = calloc(nspeech, sizeof *speech);
    if (speech) memcpy(speech + 11025, a.samples, a.n * sizeof *a.samples);
    tts_audio_clear(&a);
    return 0;
}

/* Feeds the question in 20 ms pieces, then ends the input. */
static void speak(axiom_voice *v) {
    for (size_t off = 0; off < nspeech; off += 441) {
        size_t k = nspeech - off < 441 ? nspeech - off : 441;
        CHECK(axiom_voice_feed(v, speech + off, k, 22050) == 0);
    }
    axiom_voice_end_input(v);
}

static axiom_voice *open_voice(recorder *r) {
    char err[256];
    axiom_voice *v = axiom_voice_new(engine, on_event, r, err, sizeof err);
    CHECK_MSG(v != NULL, "axiom_voice_new: %s", err);
    /* Fed faster than real time, like a file: wait rather than drop. */
    if (v) CHECK_EQ_INT(axiom_voice_set(v, "feed", "wait", err, sizeof err), 0);
    return v;
}

static void test_spoken_question(void) {
    if (!speech) SKIP("no synthesiser or recogniser in this build");
    recorder r;
    rec_init(&r);
    axiom_voice *v = open_voice(&r);
    if (!v) return;
    speak(v);
    CHECK_EQ_INT(axiom_voice_wait(v, 60000), 0);
    print_events(&r);
    int ss = find(&r, AXIOM_EVENT_SPEECH_START, 0), se = find(&r, AXIOM_EVENT_SPEECH_END, 0);
    int tr = find(&r, AXIOM_EVENT_TRANSCRIPT, 0), th = find(&r, AXIOM_EVENT_THINKING, 0);
    int an = find(&r, AXIOM_EVENT_ANSWER, 0), au = find(&r, AXIOM_EVENT_AUDIO, 0);
    int rd = find(&r, AXIOM_EVENT_READY, 0);
    /* The transcript comes before thinking when a decoder heard the speech live, and
     * after it when the utterance was recognised whole on the turn pool (the
     * recogniser was still loading): before the answer either way. */
    CHECK(ss >= 0 && se > ss && tr > se && th > se && an > tr && an > th && au > an && rd > au);
    if (tr >= 0) CHECK_CONTAINS(r.text[tr], "unitree");
    if (th > tr) CHECK_STR(r.text[th], r.text[tr]); /* thinking carries the same transcript */
    if (an >= 0) CHECK(r.text[an][0] != '\0' && strcmp(r.path[an], "none") != 0);
    CHECK(find(&r, AXIOM_EVENT_ERROR, 0) < 0);
    axiom_voice_free(v);
    rec_destroy(&r);
}

/* One turn that fails at `stage`, then a normal one. */
static void check_failure_exit(voice_fault stage, const char *code, int spoken) {
    recorder r;
    rec_init(&r);
    axiom_voice *v = open_voice(&r);
    if (!v) return;
    voice_fault_inject(stage, 1);
    char err[256];
    if (spoken)
        speak(v);
    else
        CHECK_EQ_INT(axiom_voice_text(v, QUESTION, err, sizeof err), 0);
    CHECK_EQ_INT(axiom_voice_wait(v, 60000), 0);
    int er = find(&r, AXIOM_EVENT_ERROR, 0), rd = find(&r, AXIOM_EVENT_READY, 0);
    CHECK_MSG(er >= 0 && rd > er, "stage %d: no error then ready_to_listen", (int)stage);
    if (er >= 0) CHECK_STR(r.code[er], code);
    if (stage != VOICE_FAULT_TTS)
        CHECK_MSG(find(&r, AXIOM_EVENT_IDLE, er) > er, "stage %d: no idle", (int)stage);
    else
        CHECK(find(&r, AXIOM_EVENT_ANSWER, 0) >= 0); /* the text still arrives */
    voice_fault_inject(stage, 0);
    /* The next turn is answered with its voice. */
    int from = rd + 1;
    CHECK_EQ_INT(axiom_voice_text(v, QUESTION, err, sizeof err), 0);
    CHECK_EQ_INT(axiom_voice_wait(v, 60000), 0);
    int an = find(&r, AXIOM_EVENT_ANSWER, from);
    CHECK_MSG(an >= 0 && find(&r, AXIOM_EVENT_AUDIO, an) > an &&
                  find(&r, AXIOM_EVENT_READY, an) > an,
              "stage %d: the next turn was not answered", (int)stage);
    CHECK(find(&r, AXIOM_EVENT_ERROR, from) < 0);
    print_events(&r);
    axiom_voice_free(v);
    rec_destroy(&r);
}

static void test_failure_exits(void) {
    if (!speech) SKIP("no synthesiser or recogniser in this build");
    check_failure_exit(VOICE_FAULT_STT, "stt_failed", 1);
    check_failure_exit(VOICE_FAULT_BRAIN, "brain_failed", 0);
    check_failure_exit(VOICE_FAULT_TTS, "tts_failed", 0);
    check_failure_exit(VOICE_FAULT_ALLOC, "out_of_memory", 0);
    check_failure_exit(VOICE_FAULT_ALLOC, "out_of_memory", 1);
}

/* An LLM that is down (nothing listens on its port): the answer falls back and the
 * turn ends as usual. */
static void test_llm_down(void) {
    if (!speech) SKIP("no synthesiser or recogniser in this build");
    char err[512], url[64];
    axiom_config *c = config_new();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", fixture_free_port());
    CHECK(config_set(c, "log_level", "error", CFG_FLAG, "test", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.backend", "ollama", CFG_FLAG, "test", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.url", url, CFG_FLAG, "test", err, sizeof err) == 0);
    CHECK(config_set(c, "llm.model", "tiny", CFG_FLAG, "test", err, sizeof err) == 0);
    axiom_engine *e = axiom_engine_new(c, err, sizeof err);
    CHECK_MSG(e != NULL, "%s", err);
    if (!e) {
        config_free(c);
        return;
    }
    recorder r;
    rec_init(&r);
    axiom_voice *v = axiom_voice_new(e, on_event, &r, err, sizeof err);
    /* A question no template answers goes to the LLM. */
    CHECK_EQ_INT(axiom_voice_text(v, "tell me a story about the weather on mars", err, sizeof err),
                 0);
    CHECK_EQ_INT(axiom_voice_wait(v, 60000), 0);
    print_events(&r);
    /* A slow turn streams first (ANSWER says "llm" before the outcome is known); the
     * last ANSWER carries the true path. */
    int an = -1;
    for (int i = find(&r, AXIOM_EVENT_ANSWER, 0); i >= 0; i = find(&r, AXIOM_EVENT_ANSWER, i + 1))
        an = i;
    CHECK(an >= 0 && find(&r, AXIOM_EVENT_READY, an) > an);
    if (an >= 0) CHECK_STR(r.path[an], "fallback");
    axiom_voice_free(v);
    rec_destroy(&r);
    axiom_engine_free(e);
    config_free(c);
}

static void test_typed_question_interrupts(void) {
    if (!speech) SKIP("no synthesiser or recogniser in this build");
    recorder r;
    rec_init(&r);
    axiom_voice *v = open_voice(&r);
    if (!v) return;
    char err[256];
    CHECK_EQ_INT(axiom_voice_text(v, QUESTION, err, sizeof err), 0);
    int au = wait_for(&r, AXIOM_EVENT_AUDIO, 0, 30000);
    CHECK(au >= 0);
    CHECK_EQ_INT(axiom_voice_text(v, "what can you do", err, sizeof err), 0);
    CHECK_EQ_INT(axiom_voice_wait(v, 60000), 0);
    print_events(&r);
    int bi = find(&r, AXIOM_EVENT_BARGE_IN, au);
    CHECK_MSG(bi > au, "the typed question did not interrupt the answer");
    if (bi > au) {
        /* Nothing more of the first answer after it (synthesis may have finished and
         * its ready gone out while its audio still plays): every later event belongs
         * to the second. */
        uint64_t first = r.turn[au];
        for (int i = bi + 1; i < r.n; i++)
            CHECK_MSG(r.turn[i] == 0 || r.turn[i] > first, "event %d of the old answer", i);
        int an = find(&r, AXIOM_EVENT_ANSWER, bi);
        CHECK(an > bi && find(&r, AXIOM_EVENT_READY, an) > an);
    }
    axiom_voice_free(v);
    rec_destroy(&r);
}

static void test_no_event_after_free(void) {
    if (!speech) SKIP("no synthesiser or recogniser in this build");
    for (int round = 0; round < 4; round++) {
        recorder r;
        rec_init(&r);
        axiom_voice *v = open_voice(&r);
        if (!v) return;
        char err[256];
        axiom_voice_text(v, QUESTION, err, sizeof err);
        speak(v);
        usleep((useconds_t)round * 20000);
        axiom_voice_free(v);
        pthread_mutex_lock(&r.mu);
        r.freed = 1;
        pthread_mutex_unlock(&r.mu);
        usleep(300000); /* the abandoned work finishes meanwhile */
        CHECK_EQ_INT(r.after_free, 0);
        rec_destroy(&r);
    }
}

static void test_bad_input(void) {
    recorder r;
    rec_init(&r);
    axiom_voice *v = open_voice(&r);
    if (!v) return;
    char err[256];
    int16_t pcm[160] = {0};
    CHECK_EQ_INT(axiom_voice_feed(v, pcm, 160, 4000), -1);
    CHECK_EQ_INT(axiom_voice_feed(v, pcm, 160, 96000), -1);
    CHECK_EQ_INT(axiom_voice_text(v, "", err, sizeof err), -1);
    static char big[3000];
    memset(big, 'a', sizeof big - 1);
    CHECK_EQ_INT(axiom_voice_text(v, big, err, sizeof err), -1);
    CHECK_CONTAINS(err, "2000");
    CHECK_EQ_INT(axiom_voice_set(v, "output_rate", "7999", err, sizeof err), -1);
    CHECK_EQ_INT(axiom_voice_set(v, "output_format", "mp3", err, sizeof err), -1);
    CHECK_EQ_INT(axiom_voice_set(v, "client_id", "x", err, sizeof err), -1);
    CHECK_EQ_INT(axiom_voice_set(v, "volume", "3", err, sizeof err), -1);
    CHECK_CONTAINS(err, "volume");
    CHECK_EQ_INT(axiom_voice_set(v, "partials", "true", err, sizeof err), 0);
    /* 3 s at once is more than the 2 s queue: the excess is shed, not kept. */
    int16_t *lots = calloc(48000, sizeof *lots);
    int shed = 0;
    for (int i = 0; i < 20 && lots; i++)
        shed |= axiom_voice_feed(v, lots, 48000, 16000) == 1;
    CHECK(shed);
    free(lots);
    CHECK_EQ_INT(axiom_voice_wait(v, 30000), 0);
    CHECK_EQ_INT(axiom_voice_cancel(v), 0);
    CHECK_STR(axiom_event_name(AXIOM_EVENT_READY), "ready_to_listen");
    CHECK_STR(axiom_event_name(99), "unknown");
    axiom_voice_free(v);
    rec_destroy(&r);
}

int main(int argc, char **argv) {
    (void)argc;
    if (setup() != 0) {
        CHECK(0);
        return CHECK_DONE(argv[0]);
    }
    RUN(test_spoken_question);
    RUN(test_failure_exits);
    RUN(test_llm_down);
    RUN(test_typed_question_interrupts);
    RUN(test_no_event_after_free);
    RUN(test_bad_input);
    free(speech);
    axiom_engine_free(engine);
    config_free(cfg);
    return CHECK_DONE(argv[0]);
}
