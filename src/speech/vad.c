/* The VAD engine (a governor component holding the Silero pool) and the per-session
 * stream: an energy gate on every 10 ms frame, a Silero detector borrowed while the
 * gate is open, and one state machine that turns "speech / not speech" spans from
 * whichever detector is active into start / audio / end events.
 *
 * Positions are absolute sample indexes since the stream began (int64: no wrap in
 * any realistic session). The stream keeps a ring of recent audio long enough to
 * replay the pre-roll before a start that was decided late: Silero's decision lags
 * its input by about two windows (64 ms), the minimum speech duration adds its own
 * wait, and the gate may open a little after the true onset, which is why the
 * detector is fed the ring's last pre-roll first. */
#include "speech/vad.h"

#include "core/log.h"
#include "core/util.h"
#include "speech/vad_detectors.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The gate opens this much below the speech margin, so Silero sees onsets early. */
#define GATE_SLACK_DB 4.0f
/* A borrowed detector goes back after the gate has been shut this long (idle). */
#define RELEASE_MS 500
/* Fairness: a stream whose gate stays open on sound that is not speech (a TV, music)
 * gives its detector back after this long without speech when other streams were
 * turned away meanwhile, and waits HOG_COOLDOWN_MS before borrowing again. */
#define HOG_MS 4000
#define HOG_COOLDOWN_MS 2000
/* Audio Silero is fed from before the gate opened, at least (LSTM warm-up). */
#define SILERO_LEADIN_MS 300

#define MS(ms) ((int64_t)(ms)*VAD_SAMPLE_RATE / 1000)

/* ---------------- parameters ---------------- */

vad_params vad_params_default(void) {
    vad_params p;
    memset(&p, 0, sizeof p);
    p.use_silero = 1;
    p.threshold = (float)VAD_THRESHOLD_DEF;
    p.energy_margin_db = (float)VAD_ENERGY_MARGIN_DB_DEF;
    p.min_speech_ms = VAD_MIN_SPEECH_MS_DEF;
    p.silence_ms = VAD_SILENCE_MS_DEF;
    p.adaptive = 1;
    p.silence_min_ms = VAD_SILENCE_MIN_MS_DEF;
    p.silence_max_ms = VAD_SILENCE_MAX_MS_DEF;
    p.preroll_ms = VAD_PREROLL_MS_DEF;
    p.max_speech_ms = VAD_MAX_UTTERANCE_S_DEF * 1000;
    p.pool_size = VAD_POOL_SIZE_DEF;
    return p;
}

void vad_params_from_config(const axiom_config *cfg, vad_params *out) {
    *out = vad_params_default();
    out->use_silero = strcmp(config_str(cfg, "vad.backend"), "silero") == 0;
    str_copy(out->model, sizeof out->model, config_str(cfg, "vad.model"));
    out->threshold = (float)config_double(cfg, "vad.threshold");
    out->energy_margin_db = (float)config_double(cfg, "vad.energy_margin_db");
    out->min_speech_ms = (int)config_int(cfg, "vad.min_speech_ms");
    out->silence_ms = (int)config_int(cfg, "vad.silence_ms");
    out->adaptive = config_bool(cfg, "vad.adaptive");
    out->silence_min_ms = (int)config_int(cfg, "vad.silence_min_ms");
    out->silence_max_ms = (int)config_int(cfg, "vad.silence_max_ms");
    out->preroll_ms = (int)config_int(cfg, "vad.preroll_ms");
    out->max_speech_ms = (int)config_int(cfg, "server.max_utterance_s") * 1000;
    out->pool_size = (int)config_int(cfg, "vad.pool_size");
}

/* The same ranges as the configuration table (VAD_* in vad.h), so a value read from
 * the configuration always passes; a caller filling vad_params by hand learns which
 * setting is wrong and what it allows. */
static int check_num(const char *key, double v, double lo, double hi, char *err, size_t errlen) {
    if (v >= lo && v <= hi) return 0; /* also refuses NaN */
    snprintf(err, errlen, "%s = %g: expected a number from %g to %g", key, v, lo, hi);
    return -1;
}

static int params_check(const vad_params *p, char *err, size_t errlen) {
    int bad =
        check_num("vad.threshold", p->threshold, (float)VAD_THRESHOLD_MIN, (float)VAD_THRESHOLD_MAX,
                  err, errlen) ||
        check_num("vad.energy_margin_db", p->energy_margin_db, VAD_ENERGY_MARGIN_DB_MIN,
                  VAD_ENERGY_MARGIN_DB_MAX, err, errlen) ||
        check_num("vad.min_speech_ms", p->min_speech_ms, VAD_MIN_SPEECH_MS_MIN,
                  VAD_MIN_SPEECH_MS_MAX, err, errlen) ||
        check_num("vad.silence_ms", p->silence_ms, VAD_SILENCE_MS_MIN, VAD_SILENCE_MS_MAX, err,
                  errlen) ||
        check_num("vad.silence_min_ms", p->silence_min_ms, VAD_SILENCE_MS_MIN, VAD_SILENCE_MS_MAX,
                  err, errlen) ||
        check_num("vad.silence_max_ms", p->silence_max_ms, VAD_SILENCE_MS_MIN, VAD_SILENCE_MS_MAX,
                  err, errlen) ||
        check_num("vad.preroll_ms", p->preroll_ms, VAD_PREROLL_MS_MIN, VAD_PREROLL_MS_MAX, err,
                  errlen) ||
        check_num("vad.pool_size", p->pool_size, VAD_POOL_SIZE_MIN, VAD_POOL_SIZE_MAX, err,
                  errlen) ||
        check_num("server.max_utterance_s (max_speech_ms)", p->max_speech_ms,
                  VAD_MAX_UTTERANCE_S_MIN * 1000.0, VAD_MAX_UTTERANCE_S_MAX * 1000.0, err, errlen);
    return bad ? -1 : 0;
}

/* ---------------- engine ---------------- */

struct vad_engine {
    vad_params p;
    axiom_component *comp;
    pthread_mutex_t lock;  /* borrows, misses, fallback */
    vad_silero_pool *pool; /* set while loaded with a working model; read under a pin */
    int64_t borrows, misses;
    char fallback[320];
};

static int engine_load(void *ctx, char *err, size_t errlen) {
    vad_engine *e = ctx;
    (void)err;
    (void)errlen;
    if (!e->p.use_silero) return 0; /* nothing to load: the energy detector is plain C */
    char model[1024];
    if (e->p.model[0])
        str_copy(model, sizeof model, e->p.model);
    else
        snprintf(model, sizeof model, "%s/deps/silero/dist/silero_vad_v5.onnx", axiom_root_dir());
    char why[512] = "";
    vad_silero_pool *pool =
        vad_silero_pool_new(model, e->p.threshold, e->p.pool_size, why, sizeof why);
    pthread_mutex_lock(&e->lock);
    e->pool = pool;
    if (pool)
        e->fallback[0] = '\0';
    else
        snprintf(e->fallback, sizeof e->fallback, "%s", why);
    pthread_mutex_unlock(&e->lock);
    /* The component still loads: streams run on the energy detector instead, and the
     * reason stays visible in vad_engine_get_info and the log. */
    if (!pool) LOG_W("vad", "Silero VAD unavailable, using the energy detector: %s", why);
    return 0;
}

static void engine_unload(void *ctx) {
    vad_engine *e = ctx;
    pthread_mutex_lock(&e->lock);
    vad_silero_pool *pool = e->pool;
    e->pool = NULL;
    pthread_mutex_unlock(&e->lock);
    vad_silero_pool_free(pool);
}

vad_engine *vad_engine_new(const vad_params *params, char *err, size_t errlen) {
    if (params_check(params, err, errlen) != 0) return NULL;
    vad_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->p = *params;
    pthread_mutex_init(&e->lock, NULL);
    component_desc d = {.name = "vad",
                        .load_order = 20,
                        .essential = 0,
                        .load = engine_load,
                        .unload = engine_unload,
                        .ctx = e};
    e->comp = component_new(&d);
    if (!e->comp) {
        vad_engine_free(e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return e;
}

void vad_engine_free(vad_engine *e) {
    if (!e) return;
    component_free(e->comp); /* unloads: frees the pool */
    pthread_mutex_destroy(&e->lock);
    free(e);
}

axiom_component *vad_engine_component(vad_engine *e) {
    return e->comp;
}

void vad_engine_get_info(vad_engine *e, vad_engine_info *out) {
    memset(out, 0, sizeof *out);
    out->pool_size = e->p.pool_size;
    pthread_mutex_lock(&e->lock);
    if (e->pool) {
        out->silero_loaded = 1;
        vad_silero_pool_counts(e->pool, &out->pool_created, &out->pool_in_use);
    }
    out->borrows = e->borrows;
    out->misses = e->misses;
    str_copy(out->fallback, sizeof out->fallback,
             e->p.use_silero ? e->fallback : "vad.backend = energy");
    pthread_mutex_unlock(&e->lock);
}

/* A detector with the component pinned, or NULL (energy then decides). */
static vad_silero *engine_borrow(vad_engine *e, int count_miss) {
    if (!e->p.use_silero) return NULL;
    char err[256];
    if (component_acquire(e->comp, err, sizeof err) != 0) return NULL;
    /* Pinned: the pool cannot be unloaded under us. */
    vad_silero *d = e->pool ? vad_silero_take(e->pool) : NULL;
    pthread_mutex_lock(&e->lock);
    if (d)
        e->borrows++;
    else if (e->pool && count_miss)
        e->misses++;
    pthread_mutex_unlock(&e->lock);
    if (!d) component_release(e->comp);
    return d;
}

static int64_t engine_misses(vad_engine *e) {
    pthread_mutex_lock(&e->lock);
    int64_t m = e->misses;
    pthread_mutex_unlock(&e->lock);
    return m;
}

static void engine_give_back(vad_engine *e, vad_silero *d) {
    vad_silero_give(e->pool, d);
    component_release(e->comp);
}

int vad_engine_warm(vad_engine *e) {
    vad_silero *d = engine_borrow(e, 0);
    if (!d) return -1;
    /* The first inferences of a fresh onnxruntime session are the slow ones. */
    static const float quiet[VAD_SILERO_WINDOW];
    for (int i = 0; i < 4; i++)
        vad_silero_window(d, quiet);
    engine_give_back(e, d); /* reset on the way back: no state leaks into a stream */
    return 0;
}

/* ---------------- stream ---------------- */

struct vad_stream {
    vad_engine *e;
    vad_sink sink;
    int64_t min_speech, silence, preroll, max_speech, release; /* in samples */
    int64_t silence_min, silence_max; /* adaptive endpointer bounds; 0 = off */

    int16_t *ring; /* the last `cap` samples; sample i lives at ring[i % cap] */
    int64_t cap;
    int64_t pos; /* samples consumed so far */
    int16_t hop[VAD_HOP];
    size_t hop_n;

    vad_energy energy;
    /* Per 10 ms frame: where it started and whether the energy detector called it
     * speech; Silero's boundaries are refined against these (see refine_*). */
    int64_t *frame_at;
    uint8_t *frame_voiced;
    int64_t nframes_cap, nframes;
    int64_t last_gate; /* position when the gate was last open; -1 = never */
    int miss_latched;  /* a pool miss was counted for this gate opening */

    vad_silero *det;
    int64_t det_origin; /* absolute position of the detector's first sample */
    int64_t det_next;   /* absolute position of the next sample it gets */
    int64_t det_chunks;
    float win[VAD_SILERO_WINDOW];
    size_t win_n;
    int det_prev;
    int64_t det_busy_at;     /* last position with speech (or the borrow) */
    int64_t det_misses;      /* the engine's miss count when borrowed */
    int64_t no_borrow_until; /* cooldown after giving a detector back for fairness */

    int in_speech;
    int64_t cand_start, cand_voiced, last_voiced_end, speech_start, emitted;
    /* The pause in progress: the sink was asked (on_pause) how long to wait for the
     * pause that began at pause_of (a last_voiced_end); -1 = not asked yet. */
    int64_t pause_of, pause_target;
};

vad_stream *vad_stream_new(vad_engine *e, const vad_sink *sink, char *err, size_t errlen) {
    vad_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->e = e;
    if (sink) s->sink = *sink;
    s->min_speech = MS(e->p.min_speech_ms);
    s->silence = MS(e->p.silence_ms);
    if (e->p.adaptive) {
        /* The bounds bracket vad.silence_ms whatever they are set to. */
        s->silence_min = MS(e->p.silence_min_ms);
        s->silence_max = MS(e->p.silence_max_ms);
        if (s->silence_min > s->silence || s->silence_min <= 0) s->silence_min = s->silence;
        if (s->silence_max < s->silence) s->silence_max = s->silence;
    }
    s->preroll = MS(e->p.preroll_ms);
    s->max_speech = MS(e->p.max_speech_ms);
    s->release = MS(RELEASE_MS);
    /* Far enough back for the pre-roll before a start found after Silero's lead-in,
     * its lag and the minimum speech: bounded by the settings (at most ~10 s). */
    int64_t leadin = s->preroll > MS(SILERO_LEADIN_MS) ? s->preroll : MS(SILERO_LEADIN_MS);
    s->cap = s->preroll + leadin + s->min_speech + MS(1000);
    s->ring = malloc((size_t)s->cap * sizeof *s->ring);
    s->nframes_cap = s->cap / VAD_HOP + 1;
    s->frame_at = malloc((size_t)s->nframes_cap * sizeof *s->frame_at);
    s->frame_voiced = malloc((size_t)s->nframes_cap);
    if (!s->ring || !s->frame_at || !s->frame_voiced) {
        free(s->ring);
        free(s->frame_at);
        free(s->frame_voiced);
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    vad_stream_reset(s);
    return s;
}

static void speech_end(vad_stream *s, int64_t end);

static void release_detector(vad_stream *s) {
    if (!s->det) return;
    engine_give_back(s->e, s->det);
    s->det = NULL;
    s->win_n = 0;
}

void vad_stream_free(vad_stream *s) {
    if (!s) return;
    release_detector(s);
    free(s->ring);
    free(s->frame_at);
    free(s->frame_voiced);
    free(s);
}

void vad_stream_reset(vad_stream *s) {
    if (s->in_speech) /* close what the sink opened before positions restart */
        speech_end(s, s->last_voiced_end > s->speech_start ? s->last_voiced_end : s->pos);
    release_detector(s);
    s->pos = 0;
    s->hop_n = 0;
    s->nframes = 0;
    vad_energy_init(&s->energy);
    s->last_gate = -1;
    s->miss_latched = 0;
    s->no_borrow_until = 0;
    s->in_speech = 0;
    s->cand_start = -1;
    s->cand_voiced = 0;
    s->last_voiced_end = 0;
    s->speech_start = 0;
    s->emitted = 0;
    s->pause_of = -1;
}

int vad_stream_in_speech(const vad_stream *s) {
    return s->in_speech;
}

int64_t vad_stream_position(const vad_stream *s) {
    return s->pos;
}

const char *vad_stream_detector(const vad_stream *s) {
    return s->det ? "silero" : "energy";
}

size_t vad_stream_bytes(const vad_stream *s) {
    return sizeof *s + (size_t)s->cap * sizeof *s->ring +
           (size_t)s->nframes_cap * (sizeof *s->frame_at + 1);
}

static int64_t ring_oldest(const vad_stream *s) {
    return s->pos > s->cap ? s->pos - s->cap : 0;
}

/* Hands [from, to) of the ring to the sink, in at most two pieces (wrap). */
static void forward_audio(vad_stream *s, int64_t from, int64_t to) {
    if (from < ring_oldest(s)) from = ring_oldest(s);
    while (from < to) {
        int64_t at = from % s->cap;
        int64_t n = to - from;
        if (n > s->cap - at) n = s->cap - at;
        if (s->sink.on_speech_audio) s->sink.on_speech_audio(s->sink.user, s->ring + at, (size_t)n);
        from += n;
    }
}

/* Silero is robust against noise but its boundaries are coarse: its decision covers
 * a 32 ms window, soft onsets (a leading "sh") reach its threshold late, and its
 * probability decays for 100-250 ms after the last word. The energy frames are
 * sharp where the signal is clearly above the floor, so a Silero boundary moves to
 * the nearest energy boundary connected to it, within bounds. */
#define REFINE_START_MS 250       /* how far an onset may move earlier */
#define REFINE_GAP_FRAMES 3       /* quiet frames bridged while walking back */
#define REFINE_TAIL_GAP_FRAMES 10 /* ... and while following a fading word ending */
#define REFINE_END_BACK_MS 250
#define REFINE_END_FWD_MS 150

/* Moves start back to the beginning of the energy run it belongs to, but only when
 * that run really begins (quiet frames before it) within REFINE_START_MS: a run that
 * goes back further is background the floor has not learnt yet, not an onset. */
static int64_t refine_start(const vad_stream *s, int64_t start) {
    int64_t best = start;
    int gap = 0;
    for (int64_t k = s->nframes - 1; k >= 0 && k > s->nframes - s->nframes_cap; k--) {
        int64_t at = s->frame_at[k % s->nframes_cap];
        if (at > start) continue;
        if (at < start - MS(REFINE_START_MS)) return start; /* no onset in reach */
        if (s->frame_voiced[k % s->nframes_cap]) {
            best = at;
            gap = 0;
        } else if (++gap > REFINE_GAP_FRAMES) {
            return best;
        }
    }
    return best;
}

/* Moves end to the end of the energy run that Silero's speech ends in: the last
 * energy frame at or before end, extended over frames that continue it (short
 * gaps bridged), never more than REFINE_END_BACK_MS earlier or REFINE_END_FWD_MS
 * later. A separate loud sound after the speech (a cough, a door) is a new run and
 * does not drag the end along. */
static int64_t refine_end(const vad_stream *s, int64_t end, int64_t start) {
    int64_t oldest = s->nframes > s->nframes_cap ? s->nframes - s->nframes_cap + 1 : 0;
    int64_t k = s->nframes - 1, base = -1;
    for (; k >= oldest; k--) {
        int64_t at = s->frame_at[k % s->nframes_cap];
        if (at + VAD_HOP > end) continue;
        if (at < start || at + VAD_HOP < end - MS(1000)) break;
        if (s->frame_voiced[k % s->nframes_cap]) {
            base = k;
            break;
        }
    }
    if (base < 0) return end; /* no energy evidence near the end: trust Silero */
    int64_t found = s->frame_at[base % s->nframes_cap] + VAD_HOP;
    int gap = 0;
    for (k = base + 1; k < s->nframes; k++) {
        int64_t at = s->frame_at[k % s->nframes_cap];
        if (at + VAD_HOP > end + MS(REFINE_END_FWD_MS)) break;
        if (s->frame_voiced[k % s->nframes_cap]) {
            found = at + VAD_HOP;
            gap = 0;
        } else if (++gap > REFINE_TAIL_GAP_FRAMES) {
            break;
        }
    }
    if (found < end - MS(REFINE_END_BACK_MS)) found = end - MS(REFINE_END_BACK_MS);
    return found;
}

static void speech_begin(vad_stream *s, int64_t start) {
    if (s->det) start = refine_start(s, start);
    s->in_speech = 1;
    s->speech_start = start;
    s->cand_start = -1;
    s->cand_voiced = 0;
    if (s->sink.on_speech_start) s->sink.on_speech_start(s->sink.user, start);
    int64_t from = start - s->preroll;
    if (from < 0) from = 0;
    forward_audio(s, from, s->pos);
    s->emitted = s->pos;
}

static void speech_end(vad_stream *s, int64_t end) {
    if (s->det) end = refine_end(s, end, s->speech_start);
    s->in_speech = 0;
    s->cand_start = -1;
    s->cand_voiced = 0;
    if (s->sink.on_speech_end) s->sink.on_speech_end(s->sink.user, end);
}

/* Where the trailing silence of the utterance in progress is counted from. The
 * energy detector's ends are sharp. Silero's end lags the speech by its window and
 * by its hysteresis (it stays "speech" until its probability falls 0.15 below the
 * threshold): about 100 ms. Counting the silence from there made every utterance a
 * Silero-equipped stream hears end ~130 ms later than one on the energy detector
 * (a lone client waited longer than one of fifty, whose streams mostly run on
 * energy). So the count starts at the end the VAD reports, refined against the
 * energy frames (refine_end); Silero must still have judged the latest window not
 * speech, so a soft word only Silero hears keeps the utterance open. */
static int64_t pause_base(const vad_stream *s) {
    return s->det ? refine_end(s, s->last_voiced_end, s->speech_start) : s->last_voiced_end;
}

/* Ends the utterance once the pause reaching `now` is long enough. With the adaptive
 * endpointer, the sink is asked once per pause, after vad.silence_min_ms, how long
 * this pause must be (a finished question ends now; an unfinished phrase waits up to
 * vad.silence_max_ms). */
static void check_end(vad_stream *s, int64_t now) {
    int64_t base = pause_base(s);
    int64_t quiet = now - base;
    int64_t target = s->silence;
    if (s->silence_min > 0) {
        if (s->pause_of == s->last_voiced_end) {
            target = s->pause_target;
        } else if (quiet >= s->silence_min) {
            int ms = s->sink.on_pause ? s->sink.on_pause(s->sink.user, base) : 0;
            target = ms > 0 ? MS(ms) : s->silence;
            if (target < s->silence_min) target = s->silence_min;
            if (target > s->silence_max) target = s->silence_max;
            s->pause_of = s->last_voiced_end;
            s->pause_target = target;
        }
    }
    if (quiet >= target) speech_end(s, s->last_voiced_end);
}

/* The state machine: one span [a, b) judged speech or not by the active detector.
 * Spans arrive in order but may lie before s->pos (Silero's lag). */
static void judge_span(vad_stream *s, int64_t a, int64_t b, int voiced) {
    if (voiced) {
        if (!s->in_speech) {
            if (s->cand_start < 0) {
                s->cand_start = a;
                s->cand_voiced = 0;
            }
            s->cand_voiced += b - a;
            s->last_voiced_end = b;
            if (s->cand_voiced >= s->min_speech && s->cand_voiced > 0)
                speech_begin(s, s->cand_start);
        } else {
            s->last_voiced_end = b;
        }
    } else if (s->in_speech) {
        check_end(s, b);
    } else if (b - s->last_voiced_end >= s->silence) {
        s->cand_start = -1; /* a burst too short to be speech */
    }
    if (s->in_speech && b - s->speech_start >= s->max_speech) {
        /* Cut an endless utterance; if the talking goes on, a new one starts. */
        s->last_voiced_end = b;
        speech_end(s, b);
    }
}

/* One Silero decision after feeding the chunk that starts at c (see vad_silero.c):
 * it judges about [c - 512, c); a fresh onset began a window earlier, when the first
 * loud window was held back by Silero's own one-window confirmation. */
static void silero_chunk(vad_stream *s, int64_t c) {
    int speech = vad_silero_window(s->det, s->win);
    s->win_n = 0;
    int first = s->det_chunks++ == 0;
    if (first) {
        s->det_prev = speech;
        return; /* the model needs 576 samples: no decision on the first chunk */
    }
    int64_t a = c - VAD_SILERO_WINDOW;
    if (speech && !s->det_prev) a -= VAD_SILERO_WINDOW;
    if (a < s->det_origin) a = s->det_origin;
    s->det_prev = speech;
    judge_span(s, a, c, speech);
}

/* Feeds the detector the ring from s->det_next up to s->pos. */
static void silero_catch_up(vad_stream *s) {
    while (s->det && s->det_next < s->pos) {
        s->win[s->win_n++] = (float)s->ring[s->det_next % s->cap] / 32768.0f;
        s->det_next++;
        if (s->win_n == VAD_SILERO_WINDOW) silero_chunk(s, s->det_next - VAD_SILERO_WINDOW);
    }
}

static int idle(const vad_stream *s) {
    return !s->in_speech && s->cand_start < 0;
}

static void process_hop(vad_stream *s, const int16_t *x, size_t n) {
    int64_t h0 = s->pos;
    for (size_t i = 0; i < n; i++)
        s->ring[(h0 + (int64_t)i) % s->cap] = x[i];
    s->pos += (int64_t)n;

    float db = vad_energy_frame_db(x, n);
    float above = vad_energy_update(&s->energy, db);
    const vad_params *p = &s->e->p;
    int gate =
        db >= VAD_ENERGY_MIN_DB - GATE_SLACK_DB && above >= p->energy_margin_db - GATE_SLACK_DB;
    int voiced = db >= VAD_ENERGY_MIN_DB && above >= p->energy_margin_db;
    s->frame_at[s->nframes % s->nframes_cap] = h0;
    s->frame_voiced[s->nframes % s->nframes_cap] = (uint8_t)voiced;
    s->nframes++;
    if (gate)
        s->last_gate = s->pos;
    else
        s->miss_latched = 0;

    if (!s->det && gate && idle(s) && p->use_silero && s->pos >= s->no_borrow_until) {
        s->det = engine_borrow(s->e, !s->miss_latched);
        if (s->det) {
            s->det_busy_at = s->pos;
            s->det_misses = engine_misses(s->e);
            int64_t leadin = s->preroll > MS(SILERO_LEADIN_MS) ? s->preroll : MS(SILERO_LEADIN_MS);
            int64_t from = s->pos - leadin;
            if (from < ring_oldest(s)) from = ring_oldest(s);
            s->det_origin = s->det_next = from;
            s->det_chunks = 0;
            s->det_prev = 0;
            s->win_n = 0;
        } else {
            s->miss_latched = 1;
        }
    }

    if (s->det) {
        silero_catch_up(s);
        /* Between Silero's windows the pause grows hop by hop: the end may be due. */
        if (s->in_speech && s->det && s->det_chunks > 1 && !s->det_prev) check_end(s, s->pos);
        if (!idle(s)) s->det_busy_at = s->pos;
        if (idle(s) && s->last_gate >= 0 && s->pos - s->last_gate >= s->release) {
            release_detector(s);
        } else if (idle(s) && s->pos - s->det_busy_at >= MS(HOG_MS) &&
                   engine_misses(s->e) > s->det_misses) {
            release_detector(s);
            s->no_borrow_until = s->pos + MS(HOG_COOLDOWN_MS);
        }
    } else {
        judge_span(s, h0, s->pos, voiced);
    }

    if (s->in_speech && s->emitted < s->pos) {
        forward_audio(s, s->emitted, s->pos);
        s->emitted = s->pos;
    }
}

void vad_stream_feed(vad_stream *s, const int16_t *pcm, size_t n) {
    if (!s || !pcm) return;
    while (n > 0) {
        if (s->hop_n == 0 && n >= VAD_HOP) { /* whole frames straight from the input */
            process_hop(s, pcm, VAD_HOP);
            pcm += VAD_HOP;
            n -= VAD_HOP;
            continue;
        }
        size_t take = VAD_HOP - s->hop_n;
        if (take > n) take = n;
        memcpy(s->hop + s->hop_n, pcm, take * sizeof *pcm);
        s->hop_n += take;
        pcm += take;
        n -= take;
        if (s->hop_n == VAD_HOP) {
            s->hop_n = 0;
            process_hop(s, s->hop, VAD_HOP);
        }
    }
}

void vad_stream_flush(vad_stream *s) {
    if (!s) return;
    if (s->hop_n > 0) {
        size_t n = s->hop_n;
        s->hop_n = 0;
        process_hop(s, s->hop, n);
    }
    if (s->in_speech) {
        int64_t end = s->last_voiced_end > s->speech_start ? s->last_voiced_end : s->pos;
        speech_end(s, end);
    }
    s->cand_start = -1;
    s->cand_voiced = 0;
    release_detector(s);
}
