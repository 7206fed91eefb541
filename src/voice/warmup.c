/* Warm-up when a voice session opens.
 *
 * Components load lazily, on first use, so the first spoken turn after start paid for
 * loading the VAD model (~0.7 s), the recogniser, the pack and the synthesiser, and
 * for their first, slow inferences. A session opening is the early warning: the user
 * has not spoken yet. One background thread then loads, in load order, what a spoken
 * turn needs (intent and index, vad, stt, tts; never the LLM) through the governor,
 * which refuses any load that would not fit the budget, and skips everything when
 * memory is not at the ok level. Then it runs each once: a few Silero windows, a
 * synthesised question (flite's voice data is touched on first use) recognised by
 * the first decoder, and the transcript peeked at by the brain (brain_peek: no
 * history, no events).
 *
 * The socket thread only checks a flag and maybe starts the thread; nothing waits
 * for the warm-up. A turn that arrives meanwhile uses whatever is loaded, as before.
 * Thread: `axiom-warm`, at most one at a time, joined by the next request or at
 * shutdown. Lock: warmup.mu guards the running flag and the thread handle only. */
#include "voice/warmup.h"

#include "brain/brain.h"
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "speech/stt.h"
#include "speech/tts.h"
#include "speech/vad.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct warmup {
    axiom_engine *e;
    pthread_mutex_t mu;
    pthread_t thread;
    int started;             /* a thread was created and not joined yet */
    int running;             /* it has not finished */
    int64_t exercised_loads; /* load counts summed when the path was last exercised */
};

/* What a spoken turn needs, in load order. */
static const char *const needed[] = {"index", "intent", "vad", "stt", "tts"};
#define NNEEDED (sizeof needed / sizeof needed[0])

/* Sum of the needed components' load counts: it changes whenever one (re)loads, e.g.
 * after an idle unload, and the fresh load needs exercising again. */
static int64_t load_counts(axiom_engine *e) {
    int64_t n = 0;
    for (size_t i = 0; i < NNEEDED; i++) {
        axiom_component *c = governor_find(e->gov, needed[i]);
        component_info ci;
        if (!c) continue;
        component_get_info(c, &ci);
        n += ci.load_count;
    }
    return n;
}

/* Everything usable is loaded, and was exercised since its last load. */
static int all_warm(warmup *w) {
    axiom_engine *e = w->e;
    for (size_t i = 0; i < NNEEDED; i++) {
        axiom_component *c = governor_find(e->gov, needed[i]);
        if (c && !component_is_loaded(c) && governor_usable(e->gov, needed[i])) return 0;
    }
    return load_counts(e) == w->exercised_loads;
}

/* A spoken question for the recogniser to chew on: silence alone leaves most of the
 * acoustic and language model untouched (first-use page faults land in the first
 * real turn). */
#define WARM_QUESTION "What is the battery life of the robot?"

/* Recognises speech (16 kHz; may be NULL: silence) on one decoder; returns the text. */
static char *exercise_stt(stt_engine *st, const tts_audio *speech) {
    int status = 0;
    char err[256];
    stt_stream *s = stt_stream_begin(st, 0, &status, err, sizeof err);
    if (!s) return NULL;              /* every decoder busy: the server is warm enough */
    static const int16_t quiet[4800]; /* 0.3 s */
    stt_stream_feed(s, quiet, sizeof quiet / sizeof quiet[0], err, sizeof err);
    if (speech && speech->n) stt_stream_feed(s, speech->samples, speech->n, err, sizeof err);
    stt_stream_feed(s, quiet, sizeof quiet / sizeof quiet[0], err, sizeof err);
    stt_result r;
    memset(&r, 0, sizeof r);
    char *text = NULL;
    if (stt_stream_finish(s, &r, err, sizeof err) == 0 && r.text) text = strdup(r.text);
    stt_result_clear(&r);
    return text;
}

static void *warm_main(void *arg) {
    warmup *w = arg;
    axiom_engine *e = w->e;
    pthread_setname_np(pthread_self(), "axiom-warm");
    int64_t t0 = now_us();
    int loaded = 0;
    for (size_t i = 0; i < NNEEDED; i++) {
        if (governor_get_level(e->gov) != GOV_LEVEL_OK) break; /* memory first */
        axiom_component *c = governor_find(e->gov, needed[i]);
        if (!c || component_is_loaded(c) || !governor_usable(e->gov, needed[i])) continue;
        char err[256];
        /* The recogniser's pack text is read outside its load (loads are serialised). */
        if (strcmp(needed[i], "stt") == 0 && e->stt &&
            stt_engine_refresh_corpus(e->stt, err, sizeof err) != 0) {
            LOG_W("voice", "warm-up: %s", err);
            continue;
        }
        if (governor_load_one(e->gov, needed[i], err, sizeof err) == 0)
            loaded++;
        else
            LOG_I("voice", "warm-up: %s not loaded: %s", needed[i], err);
    }
    /* First use of each: only what is loaded now (component_is_loaded), so nothing
     * refused above is loaded behind the governor's back. */
    if (e->vad && component_is_loaded(vad_engine_component(e->vad))) vad_engine_warm(e->vad);
    /* The synthesiser's voice at the recogniser's rate: touches the voice data and
     * gives the recogniser real speech. */
    tts_audio speech = {0};
    char err[256];
    if (e->tts && component_is_loaded(tts_engine_component(e->tts)) &&
        tts_synth(e->tts, WARM_QUESTION, NULL, 16000, NULL, &speech, err, sizeof err) != 0)
        LOG_D("voice", "warm-up synthesis: %s", err);
    char *heard = NULL;
    if (e->stt && component_is_loaded(stt_engine_component(e->stt)))
        heard = exercise_stt(e->stt, &speech);
    tts_audio_clear(&speech);
    if (e->brain) {
        brain_peek_result pr;
        brain_peek(e->brain, heard ? heard : WARM_QUESTION, &pr);
    }
    free(heard);
    LOG_I("voice", "warm-up: %d component%s loaded, speech path exercised in %.0f ms", loaded,
          loaded == 1 ? "" : "s", (double)(now_us() - t0) / 1000.0);
    int64_t counts = load_counts(e);
    pthread_mutex_lock(&w->mu);
    w->exercised_loads = counts;
    w->running = 0;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

warmup *warmup_new(axiom_engine *e) {
    warmup *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->e = e;
    w->exercised_loads = -1;
    pthread_mutex_init(&w->mu, NULL);
    return w;
}

void warmup_request(warmup *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    if (w->running) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    if (w->started) { /* finished: joining it does not wait */
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
    /* Cheap checks only on this (socket) thread: flags, no I/O. */
    if (all_warm(w) || governor_get_level(w->e->gov) != GOV_LEVEL_OK) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1u << 20);
    if (pthread_create(&w->thread, &attr, warm_main, w) == 0) w->started = w->running = 1;
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&w->mu);
}

int warmup_running(warmup *w) {
    pthread_mutex_lock(&w->mu);
    int r = w->running;
    pthread_mutex_unlock(&w->mu);
    return r;
}

void warmup_free(warmup *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    int started = w->started;
    w->started = 0;
    pthread_mutex_unlock(&w->mu);
    if (started) pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
