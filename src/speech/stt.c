/* The speech-to-text engine: backend selection, the governor component, and the
 * bounded decoder pool that streams borrow from.
 *
 * Why a pool: a PocketSphinx decoder costs tens of MB and ~0.2-1 s to create, while a
 * session only needs one while someone is actually speaking. Decoders are created on
 * demand up to stt.pool_size and kept for reuse; a stream takes one at
 * stt_stream_begin (waiting a bounded time when all are busy) and gives it back at
 * finish or cancel. Streams also pin the component, so the governor can only unload
 * the model (and every pooled decoder with it) when no utterance is in progress. */
#include "speech/stt.h"

#include "core/log.h"
#include "core/util.h"
#include "mem/estimate.h"
#include "speech/sherpa_api.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <speex/speex_preprocess.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Backends compiled in (STT_BACKENDS in stt.h). */
#define STT_BACKEND_ENTRY(n) &stt_backend_##n,
static const stt_backend *const backends[] = {STT_BACKENDS(STT_BACKEND_ENTRY)};

const stt_backend *stt_backend_find(const char *name) {
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (name && strcmp(backends[i]->name, name) == 0) return backends[i];
    return NULL;
}

typedef struct {
    void *dec;
    int busy;
} pool_slot;

/* An owned copy of the pack's text, so that loading never has to call the provider
 * (which may need to load the brain's own component, and component loads are
 * serialised: calling it from inside our load could deadlock). */
typedef struct {
    stt_corpus view;
    char **sentences, **hw, **hp, **hh; /* hh: heard-as forms, entries may be NULL */
    char *hash;
    int valid;
} corpus_copy;

struct stt_engine {
    const axiom_config *cfg;
    stt_corpus_provider provider;
    int has_provider;
    corpus_copy copy;
    pthread_mutex_t copy_mu;
    const stt_backend *be;
    axiom_component *comp;
    void *model; /* set while loaded */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    pool_slot *pool;
    int pool_size, created, in_use, creating;
    int denoise_db;         /* stt.denoise_db: noise suppression before decoding, 0 = off */
    double denoise_above;   /* stt.denoise_above_db: only when the pre-roll is louder */
    size_t restart_samples; /* stt.restart_ms in samples (0 = off) */
};

/* Frame energies are kept for the first minute of an utterance (6,000 floats): enough
 * to place every word of any utterance the VAD lets through (server.max_utterance_s is
 * at most 60). */
#define LEVEL_FRAME 160
#define LEVEL_MAX_FRAMES 6000
/* Noise suppression works on 20 ms frames (speexdsp's spectral estimator: steady
 * noise such as hiss, a fan or hum is learnt from the pre-roll and taken out before
 * the recogniser, whose acoustic model was trained on quiet speech). It is only
 * switched on when the utterance's first 160 ms (the VAD's pre-roll, before the
 * speech) are louder than stt.denoise_above_db: on a quiet recording its artefacts
 * cost words (a real recording lost one) and there is nothing to take out. */
#define DENOISE_FRAME 320
#define DENOISE_PROBE 2560
#define DENOISE_PRIME_PASSES 6 /* the pre-roll heard 6 times: ~1 s of noise learnt */
/* A decoder starts every utterance from the model's initial channel normalisation (or
 * the session's), a guess about a voice and a microphone it has not heard, and adapts
 * within the first second: the first words suffer ("an much power" for "how much
 * power"). So once stt.restart_ms of an utterance are in, the decoder starts it again
 * from the normalisation it has reached and decodes the audio so far once more, while
 * the person is still talking: the end of the utterance is no later for it.
 *
 * A talker behind the speaker is heard alone before the speaker starts, and the
 * recogniser turns their words into words of the question ("and a girl what is the
 * jetson orin on nano"). Before the restart, the audio before the speaker's first
 * frame within GATE_MARGIN_DB of their level (less GATE_ONSET_FRAMES for a soft
 * onset) is hushed by GATE_HUSH_DB when it is another voice: stretches of at least
 * GATE_MIN_FRAMES 10 ms frames all below that margin hold at least GATE_SOUND_FRAMES
 * frames within GATE_SOUND_DB of the speaker (not the near-silence around a lone
 * speaker) whose level comes and goes (a voice, not steady hiss or a fan). The dev
 * figures of both are in the README ("How a spoken question is understood"). */
#define GATE_MARGIN_DB 8.0f
#define GATE_MIN_FRAMES 15
#define GATE_HUSH_DB 30.0f
#define GATE_SOUND_DB 25.0f
#define GATE_SOUND_FRAMES 20
#define GATE_VOICE_SPREAD_DB 3.0 /* standard deviation of those frames' levels */
#define GATE_ONSET_FRAMES 10

struct stt_stream {
    stt_engine *e;
    stt_channel *channel; /* the session's, or NULL */
    int slot;
    int64_t samples;
    int64_t decode_us;
    int n_partials;
    float *level; /* dB of each whole 10 ms frame fed so far (owned, bounded) */
    int n_level;
    double acc;                    /* energy of the frame being filled ... */
    int acc_n;                     /* ... and its samples so far */
    SpeexPreprocessState *dn;      /* noise suppressor (NULL = off) ... */
    int16_t dn_buf[DENOISE_FRAME]; /* ... and the frame it is filling */
    int dn_n;
    int16_t *probe;        /* the opening audio, held until the suppressor is decided (owned) */
    int n_probe;           /* samples held; -1 once decided */
    int16_t *fed;          /* the audio as the decoder got it, for a second decoding (owned; */
    size_t n_fed, cap_fed; /* at most LEVEL_MAX_FRAMES frames, else dropped) */
    int restarted;         /* decoded again from the start with this voice's channel */
};

static void copy_clear(corpus_copy *c) {
    for (size_t i = 0; c->sentences && i < c->view.n_sentences; i++)
        free(c->sentences[i]);
    for (size_t i = 0; c->hw && i < c->view.n_hints; i++) {
        free(c->hw[i]);
        free(c->hp[i]);
        if (c->hh) free(c->hh[i]);
    }
    free(c->sentences);
    free(c->hw);
    free(c->hp);
    free(c->hh);
    free(c->hash);
    memset(c, 0, sizeof *c);
}

static int copy_fill(corpus_copy *c, const stt_corpus *src) {
    memset(c, 0, sizeof *c);
    c->sentences = calloc(src->n_sentences + 1, sizeof *c->sentences);
    c->hw = calloc(src->n_hints + 1, sizeof *c->hw);
    c->hp = calloc(src->n_hints + 1, sizeof *c->hp);
    c->hh = calloc(src->n_hints + 1, sizeof *c->hh);
    c->hash = strdup(src->content_hash ? src->content_hash : "");
    if (!c->sentences || !c->hw || !c->hp || !c->hh || !c->hash) return copy_clear(c), -1;
    for (size_t i = 0; i < src->n_sentences; i++, c->view.n_sentences++)
        if (!(c->sentences[i] = strdup(src->sentences[i] ? src->sentences[i] : "")))
            return copy_clear(c), -1;
    for (size_t i = 0; i < src->n_hints; i++, c->view.n_hints++) {
        c->hw[i] = strdup(src->hint_words[i] ? src->hint_words[i] : "");
        c->hp[i] = strdup(src->hint_phones[i] ? src->hint_phones[i] : "");
        const char *heard = src->hint_heard ? src->hint_heard[i] : NULL;
        c->hh[i] = heard ? strdup(heard) : NULL;
        if (!c->hw[i] || !c->hp[i] || (heard && !c->hh[i])) {
            c->view.n_hints++;
            return copy_clear(c), -1;
        }
    }
    c->view.sentences = (const char *const *)c->sentences;
    c->view.hint_words = (const char *const *)c->hw;
    c->view.hint_phones = (const char *const *)c->hp;
    c->view.hint_heard = (const char *const *)c->hh;
    c->view.content_hash = c->hash;
    c->valid = 1;
    return 0;
}

int stt_engine_refresh_corpus(stt_engine *e, char *err, size_t errlen) {
    if (!e->has_provider || !e->provider.get) return 0;
    stt_corpus corpus;
    memset(&corpus, 0, sizeof corpus);
    if (e->provider.get(e->provider.ctx, &corpus, err, errlen) != 0) return -1;
    corpus_copy fresh;
    int rc = copy_fill(&fresh, &corpus);
    if (e->provider.release) e->provider.release(e->provider.ctx, &corpus);
    if (rc != 0) {
        snprintf(err, errlen, "stt: out of memory copying the pack's text");
        return -1;
    }
    pthread_mutex_lock(&e->copy_mu);
    copy_clear(&e->copy);
    e->copy = fresh;
    pthread_mutex_unlock(&e->copy_mu);
    return 0;
}

static int stt_load(void *ctx, char *err, size_t errlen) {
    stt_engine *e = ctx;
    /* The provider is never called from here (see corpus_copy): without a copy, read
     * by stt_stream_begin or stt_engine_refresh_corpus beforehand, the backend runs
     * without the pack. */
    if (!e->copy.valid && e->has_provider)
        LOG_W("stt", "the knowledge pack's text was not read before loading; call "
                     "stt_engine_refresh_corpus first");
    pthread_mutex_lock(&e->copy_mu);
    const stt_corpus *corpus = e->copy.valid ? &e->copy.view : NULL;
    void *model = e->be->model_load(e->cfg, corpus, err, errlen);
    if (!model && e->be != &stt_backend_pocketsphinx) {
        /* A bring-your-own model that cannot load: say why, then use the embedded
         * recogniser rather than having no speech input at all. */
        LOG_E("stt", "%s; falling back to pocketsphinx", err);
        e->be = &stt_backend_pocketsphinx;
        model = e->be->model_load(e->cfg, corpus, err, errlen);
    }
    pthread_mutex_unlock(&e->copy_mu);
    if (!model) return -1;
    /* One decoder now: it proves the model works, and the governor's RSS reading for
     * this load then includes the cost of a decoder. */
    void *dec = e->be->decoder_new(model, err, errlen);
    if (!dec) {
        e->be->model_free(model);
        return -1;
    }
    pthread_mutex_lock(&e->mu);
    e->model = model;
    e->pool[0].dec = dec;
    e->pool[0].busy = 0;
    e->created = 1;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static void stt_unload(void *ctx) {
    stt_engine *e = ctx;
    pthread_mutex_lock(&e->mu);
    for (int i = 0; e->pool && i < e->pool_size; i++) {
        if (e->pool[i].dec) e->be->decoder_free(e->pool[i].dec);
        e->pool[i].dec = NULL;
        e->pool[i].busy = 0;
    }
    e->created = 0;
    if (e->model) e->be->model_free(e->model);
    e->model = NULL;
    pthread_mutex_unlock(&e->mu);
}

static int64_t stt_mapped(void *ctx) {
    stt_engine *e = ctx;
    return e->model && e->be->model_mapped_bytes ? e->be->model_mapped_bytes(e->model) : 0;
}

stt_engine *stt_engine_new(const axiom_config *cfg, const stt_corpus_provider *corpus, char *err,
                           size_t errlen) {
    const char *name = config_str(cfg, "stt.backend");
    const stt_backend *be = stt_backend_find(name);
    if (!be) {
        snprintf(err, errlen,
                 "stt.backend = '%s': this build has no such speech recogniser; use pocketsphinx",
                 name);
        return NULL;
    }
    stt_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "stt: out of memory");
        return NULL;
    }
    e->cfg = cfg;
    e->denoise_db = config_bool(cfg, "stt.denoise") ? (int)config_int(cfg, "stt.denoise_db") : 0;
    e->denoise_above = config_double(cfg, "stt.denoise_above_db");
    e->restart_samples = (size_t)config_int(cfg, "stt.restart_ms") * (STT_SAMPLE_RATE / 1000);
    e->be = be;
    if (corpus) {
        e->provider = *corpus;
        e->has_provider = 1;
    }
    long long ps = config_int(cfg, "stt.pool_size");
    if (ps <= 0) ps = sysconf(_SC_NPROCESSORS_ONLN) + 1;
    if (ps < 1) ps = 2;
    if (ps > 256) ps = 256;
    e->pool_size = (int)ps;
    e->pool = calloc((size_t)ps, sizeof *e->pool);
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->copy_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->freed, &ca);
    pthread_condattr_destroy(&ca);
    component_desc d = {
        .name = "stt",
        .load_order = 30,
        .essential = 1,
        .load = stt_load,
        .unload = stt_unload,
        .mapped_bytes = stt_mapped,
        .ctx = e,
        .idle_unload_ms = config_int(cfg, "mem.idle_unload_s") * 1000,
    };
    e->comp = e->pool ? component_new(&d) : NULL;
    if (!e->comp) {
        snprintf(err, errlen, "stt: out of memory");
        stt_engine_free(e);
        return NULL;
    }
    return e;
}

void stt_engine_free(stt_engine *e) {
    if (!e) return;
    if (e->comp)
        component_free(e->comp); /* unloads: frees decoders and model */
    else
        stt_unload(e);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->copy_mu);
    pthread_cond_destroy(&e->freed);
    copy_clear(&e->copy);
    free(e->pool);
    free(e);
}

axiom_component *stt_engine_component(stt_engine *e) {
    return e->comp;
}

int64_t stt_engine_expected_bytes(stt_engine *e) {
    if (strcmp(e->be->name, "sherpa") == 0) {
        /* From the model folder's files (mem/estimate.c); an unreadable folder fails
         * at load with its own message, so only a floor is asked for here. */
        onnx_estimate est;
        char why[512];
        int64_t b = estimate_onnx_dir(config_str(e->cfg, "stt.sherpa_model_dir"), ONNX_RECOGNISER,
                                      !sherpa_api_is_open(), &est, why, sizeof why);
        return b > 0 ? b : 64ll << 20;
    }
    if (strcmp(e->be->name, "pocketsphinx") != 0) return 64ll << 20;
    const char *lm = config_str(e->cfg, "stt.lm");
    /* Measured here (RSS delta of a load with one decoder): stock 91 MiB, mixed 117 MiB,
     * a 1.7k-word domain model 10 MiB. */
    if (strcmp(lm, "stock") == 0) return 96ll << 20;
    if (strcmp(lm, "mixed") == 0) return 120ll << 20;
    return 16ll << 20;
}

void stt_engine_pool_counts(stt_engine *e, int *created, int *in_use, int *pool_size) {
    pthread_mutex_lock(&e->mu);
    if (created) *created = e->created;
    if (in_use) *in_use = e->in_use;
    if (pool_size) *pool_size = e->pool_size;
    pthread_mutex_unlock(&e->mu);
}

/* Takes a decoder: an idle one, else a new one while under the bound, else waits.
 * Returns the slot, -1 on failure, STT_BUSY on timeout. Called with mu unlocked. */
static int pool_take(stt_engine *e, int wait_ms, char *err, size_t errlen) {
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int64_t ns = dl.tv_nsec + (int64_t)(wait_ms > 0 ? wait_ms : 0) * 1000000;
    dl.tv_sec += ns / 1000000000;
    dl.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        for (int i = 0; i < e->pool_size; i++)
            if (e->pool[i].dec && !e->pool[i].busy) {
                e->pool[i].busy = 1;
                e->in_use++;
                pthread_mutex_unlock(&e->mu);
                return i;
            }
        if (e->created + e->creating < e->pool_size) {
            int slot = -1;
            for (int i = 0; i < e->pool_size && slot < 0; i++)
                if (!e->pool[i].dec && !e->pool[i].busy) slot = i;
            e->pool[slot].busy = 1; /* reserved while the decoder is made */
            e->creating++;
            void *model = e->model;
            pthread_mutex_unlock(&e->mu);
            void *dec = e->be->decoder_new(model, err, errlen); /* slow: outside the lock */
            pthread_mutex_lock(&e->mu);
            e->creating--;
            if (!dec) {
                e->pool[slot].busy = 0;
                pthread_cond_signal(&e->freed);
                pthread_mutex_unlock(&e->mu);
                return -1;
            }
            e->pool[slot].dec = dec;
            e->created++;
            e->in_use++;
            pthread_mutex_unlock(&e->mu);
            return slot;
        }
        int rc = wait_ms > 0 ? pthread_cond_timedwait(&e->freed, &e->mu, &dl) : ETIMEDOUT;
        if (rc == ETIMEDOUT) {
            snprintf(err, errlen,
                     "speech recogniser busy: all %d decoders are in use (stt.pool_size); try "
                     "again shortly",
                     e->pool_size);
            pthread_mutex_unlock(&e->mu);
            return STT_BUSY;
        }
    }
}

static void pool_give(stt_engine *e, int slot, int broken) {
    pthread_mutex_lock(&e->mu);
    if (broken) { /* a decoder that failed is not trusted again */
        e->be->decoder_free(e->pool[slot].dec);
        e->pool[slot].dec = NULL;
        e->created--;
    }
    e->pool[slot].busy = 0;
    e->in_use--;
    pthread_cond_signal(&e->freed);
    pthread_mutex_unlock(&e->mu);
}

stt_stream *stt_stream_begin(stt_engine *e, int wait_ms, int *status, char *err, size_t errlen) {
    int st_local;
    if (!status) status = &st_local;
    *status = -1;
    if (!e) {
        snprintf(err, errlen, "stt: no engine");
        return NULL;
    }
    stt_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "stt: out of memory");
        return NULL;
    }
    /* Not loaded: read the pack's text now, outside any component load (see
     * corpus_copy), so a changed pack is picked up at the next load. */
    if (!component_is_loaded(e->comp) && e->has_provider) {
        char why[256];
        if (stt_engine_refresh_corpus(e, why, sizeof why) != 0)
            LOG_W("stt", "knowledge pack text unavailable (%s); using the previous copy", why);
    }
    if (component_acquire(e->comp, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    int slot = pool_take(e, wait_ms, err, errlen);
    if (slot < 0) {
        *status = slot == STT_BUSY ? STT_BUSY : -1;
        component_release(e->comp);
        free(s);
        return NULL;
    }
    if (e->be->utt_begin(e->pool[slot].dec, err, errlen) != 0) {
        pool_give(e, slot, 1);
        component_release(e->comp);
        free(s);
        return NULL;
    }
    s->e = e;
    s->slot = slot;
    s->n_probe = -1;

    if (e->denoise_db < 0 && (s->probe = malloc(DENOISE_PROBE * sizeof *s->probe))) s->n_probe = 0;
    *status = 0;
    return s;
}

static void track_level(stt_stream *s, const int16_t *pcm, size_t n) {
    if (!s->level) s->level = malloc(LEVEL_MAX_FRAMES * sizeof *s->level);
    if (!s->level) return; /* levels are an aid; recognition goes on without them */
    for (size_t i = 0; i < n && s->n_level < LEVEL_MAX_FRAMES; i++) {
        s->acc += (double)pcm[i] * pcm[i];
        if (++s->acc_n == LEVEL_FRAME) {
            s->level[s->n_level++] =
                (float)(10.0 * log10(s->acc / LEVEL_FRAME / (32768.0 * 32768.0) + 1e-10));
            s->acc = 0;
            s->acc_n = 0;
        }
    }
}

static int cmp_float_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* The speaker's level: the 95th percentile of the frames' levels. The person
 * addressing the microphone is the loudest voice in it, so this follows their
 * syllables and not a quieter talker behind them. */
static float speech_level(const stt_stream *s) {
    if (!s->level || s->n_level == 0) return 0;
    float *v = malloc((size_t)s->n_level * sizeof *v);
    if (!v) return 0;
    memcpy(v, s->level, (size_t)s->n_level * sizeof *v);
    qsort(v, (size_t)s->n_level, sizeof *v, cmp_float_desc);
    float r = v[s->n_level / 20];
    free(v);
    return r;
}

static void word_levels(const stt_stream *s, stt_hyp *h) {
    for (int w = 0; w < h->n_words; w++) {
        int a = h->words[w].start_ms / 10, b = h->words[w].end_ms / 10;
        if (a < 0) a = 0;
        float peak = -100.0f;
        for (int f = a; f < b && f < s->n_level; f++)
            if (s->level && s->level[f] > peak) peak = s->level[f];
        h->words[w].level_db = peak;
    }
}

/* 1 while the restart from the voice's channel is still to come: it is on, the
 * backend can restart an utterance, it has not happened, and the audio copy it decodes
 * is still kept. */
static int restart_pending(const stt_stream *s) {
    const stt_backend *be = s->e->be;
    return s->e->restart_samples && !s->restarted && s->n_fed != SIZE_MAX && be->channel_get &&
           be->channel_set && be->utt_abort;
}

/* Keeps a copy of what the decoder is given, for the restart with this voice's
 * channel. Past the level frames' bound, or without memory, the copy is dropped and
 * the utterance is not restarted. */
static void keep_fed(stt_stream *s, const int16_t *pcm, size_t n) {
    if (!restart_pending(s)) return;
    const size_t max = (size_t)LEVEL_MAX_FRAMES * LEVEL_FRAME;
    if (s->n_fed + n > max) goto drop;
    if (s->n_fed + n > s->cap_fed) {
        size_t nc = s->cap_fed ? s->cap_fed * 2 : 4 * STT_SAMPLE_RATE;
        while (nc < s->n_fed + n)
            nc *= 2;
        if (nc > max) nc = max;
        int16_t *f = realloc(s->fed, nc * sizeof *f);
        if (!f) goto drop;
        s->fed = f;
        s->cap_fed = nc;
    }
    memcpy(s->fed + s->n_fed, pcm, n * sizeof *pcm);
    s->n_fed += n;
    return;
drop:
    free(s->fed);
    s->fed = NULL;
    s->cap_fed = 0;
    s->n_fed = SIZE_MAX;
}

static int feed_decoder(stt_stream *s, const int16_t *pcm, size_t n, char *err, size_t errlen) {
    keep_fed(s, pcm, n);
    return s->e->be->utt_feed(s->e->pool[s->slot].dec, pcm, n, err, errlen);
}

/* Hands audio to the decoder, through the noise suppressor when it is on (whole
 * frames; the rest waits for the next call). */
static int decode(stt_stream *s, const int16_t *pcm, size_t n, char *err, size_t errlen) {
    if (!s->dn) return feed_decoder(s, pcm, n, err, errlen);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        s->dn_buf[s->dn_n++] = pcm[i];
        if (s->dn_n == DENOISE_FRAME) {
            speex_preprocess_run(s->dn, s->dn_buf);
            rc = feed_decoder(s, s->dn_buf, DENOISE_FRAME, err, errlen);
            s->dn_n = 0;
        }
    }
    return rc;
}

static int restart_known_voice(stt_stream *s, char *err, size_t errlen);

/* How much of n samples to decode before looking at the restart again. The restart
 * comes at the first moment the decoder has stt.restart_ms of audio (with the noise
 * suppressor, at the end of the 20 ms frame that reaches it), however the audio
 * arrives in chunks: the same recording gives the same words streamed in 32 ms frames
 * or handed over whole. */
static size_t until_restart(const stt_stream *s, size_t n) {
    if (!restart_pending(s)) return n;
    size_t given = s->n_fed + (s->dn ? (size_t)s->dn_n : 0), due = s->e->restart_samples;
    size_t k = given < due ? due - given : s->dn ? (size_t)(DENOISE_FRAME - s->dn_n) : n;
    return k < n ? k : n;
}

/* decode(), with the restart at its place in the audio. track: measure the levels of
 * the audio too (not yet measured): in step with decoding, so that the restart's hush
 * sees the same levels whatever the chunking. */
static int decode_restarting(stt_stream *s, const int16_t *pcm, size_t n, int track, char *err,
                             size_t errlen) {
    int rc = 0;
    while (rc == 0 && n) {
        size_t k = until_restart(s, n);
        if (track) track_level(s, pcm, k);
        rc = decode(s, pcm, k, err, errlen);
        pcm += k;
        n -= k;
        if (rc == 0 && restart_pending(s) && s->n_fed >= s->e->restart_samples)
            rc = restart_known_voice(s, err, errlen);
    }
    return rc;
}

/* The opening audio is in: suppress noise from here on if it was loud, then decode
 * what was held. */
static int denoise_decide(stt_stream *s, char *err, size_t errlen) {
    double e = 0;
    for (int i = 0; i < s->n_probe; i++)
        e += (double)s->probe[i] * s->probe[i];
    double db = s->n_probe ? 10.0 * log10(e / s->n_probe / (32768.0 * 32768.0) + 1e-10) : -100;
    if (db > s->e->denoise_above &&
        (s->dn = speex_preprocess_state_init(DENOISE_FRAME, STT_SAMPLE_RATE))) {
        int on = 1, lim = s->e->denoise_db;
        speex_preprocess_ctl(s->dn, SPEEX_PREPROCESS_SET_DENOISE, &on);
        speex_preprocess_ctl(s->dn, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &lim);
        /* The suppressor learns the noise as it goes (a running minimum over
         * hundreds of frames), but an utterance brings only the pre-roll before the
         * speech: it would meet the first words with a noise estimate half made, and
         * leave hiss in them. So it first hears the pre-roll several times over (on
         * a copy: the output is discarded). White noise at 15 dB below the speaker:
         * word errors 70% -> 61% with this. */
        for (int p = 0; p < DENOISE_PRIME_PASSES; p++)
            for (int i = 0; i + DENOISE_FRAME <= s->n_probe; i += DENOISE_FRAME) {
                int16_t copy[DENOISE_FRAME];
                memcpy(copy, s->probe + i, sizeof copy);
                speex_preprocess_run(s->dn, copy);
            }
    }
    int n = s->n_probe;
    s->n_probe = -1;
    int rc = n ? decode_restarting(s, s->probe, (size_t)n, 0, err, errlen) : 0;
    free(s->probe);
    s->probe = NULL;
    return rc;
}

void stt_stream_use_channel(stt_stream *s, stt_channel *ch) {
    if (!s || !ch) return;
    s->channel = ch;
    void *dec = s->e->pool[s->slot].dec;
    if (ch->n && s->e->be->channel_set) s->e->be->channel_set(dec, ch->v, ch->n);
}

/* 1 when the stretches well below the speaker (see GATE_MARGIN_DB) hold another voice. */
static int background_voice(const stt_stream *s, float speaker_db) {
    int n = s->n_level, sound = 0;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n;) {
        if (s->level[i] >= speaker_db - GATE_MARGIN_DB) {
            i++;
            continue;
        }
        int j = i;
        while (j < n && s->level[j] < speaker_db - GATE_MARGIN_DB)
            j++;
        for (int k = i; j - i >= GATE_MIN_FRAMES && k < j; k++)
            if (s->level[k] > speaker_db - GATE_SOUND_DB) {
                sound++;
                sum += s->level[k];
                sum2 += (double)s->level[k] * s->level[k];
            }
        i = j;
    }
    if (sound < GATE_SOUND_FRAMES) return 0;
    /* A voice comes and goes syllable by syllable; hiss or a fan holds its level. */
    double mean = sum / sound, var = sum2 / sound - mean * mean;
    return var >= GATE_VOICE_SPREAD_DB * GATE_VOICE_SPREAD_DB;
}

/* Before the restart: a background voice heard alone before the speaker's first loud
 * frame is hushed in the audio so far. */
static void hush_lead_in(stt_stream *s) {
    if (!s->level || s->n_level < GATE_MIN_FRAMES) return;
    float spk = speech_level(s);
    if (!background_voice(s, spk)) return;
    int first = 0;
    while (first < s->n_level && s->level[first] < spk - GATE_MARGIN_DB)
        first++;
    int end = first - GATE_ONSET_FRAMES; /* the speaker's soft onset stays */
    const float low = powf(10.0f, -GATE_HUSH_DB / 20.0f);
    if (end >= GATE_MIN_FRAMES)
        for (size_t i = 0; i < (size_t)end * LEVEL_FRAME && i < s->n_fed; i++)
            s->fed[i] = (int16_t)lrintf((float)s->fed[i] * low);
}

/* The utterance so far decoded again from the start, from the channel normalisation
 * the decoder has reached on it (see stt.restart_ms). */
static int restart_known_voice(stt_stream *s, char *err, size_t errlen) {
    const stt_backend *be = s->e->be;
    s->restarted = 1;
    /* It costs one more decoding of the audio so far: with other utterances being
     * decoded at the same moment the CPU goes to them instead (100 voice clients on 2
     * cores: answer p95 2.3 s with every utterance restarted). */
    pthread_mutex_lock(&s->e->mu);
    int alone = s->e->in_use <= 1;
    pthread_mutex_unlock(&s->e->mu);
    if (!alone) return 0;
    void *dec = s->e->pool[s->slot].dec;
    stt_channel ch;
    ch.n = be->channel_get(dec, ch.v, sizeof ch.v / sizeof ch.v[0]);
    if (!ch.n) return 0;
    hush_lead_in(s);
    be->utt_abort(dec);
    if (be->utt_begin(dec, err, errlen) != 0) return -1;
    be->channel_set(dec, ch.v, ch.n);
    return be->utt_feed(dec, s->fed, s->n_fed, err, errlen);
}

int stt_stream_feed(stt_stream *s, const int16_t *pcm, size_t n, char *err, size_t errlen) {
    if (!s) {
        snprintf(err, errlen, "stt: feed without a stream (call stt_stream_begin first)");
        return -1;
    }
    if (!n) return 0;
    if (!pcm) {
        snprintf(err, errlen, "stt: feed of %zu samples from a NULL buffer", n);
        return -1;
    }
    int64_t t0 = now_us();
    int rc = 0;
    size_t fed = n; /* all of it counts as audio, the held opening too */
    if (s->n_probe >= 0 && s->probe) {
        size_t k =
            n < (size_t)(DENOISE_PROBE - s->n_probe) ? n : (size_t)(DENOISE_PROBE - s->n_probe);
        track_level(s, pcm, k);
        memcpy(s->probe + s->n_probe, pcm, k * sizeof *pcm);
        s->n_probe += (int)k;
        pcm += k;
        n -= k;
        if (s->n_probe == DENOISE_PROBE) rc = denoise_decide(s, err, errlen);
    }
    if (rc == 0 && n) rc = decode_restarting(s, pcm, n, 1, err, errlen);
    s->decode_us += now_us() - t0;
    if (rc == 0) s->samples += (int64_t)fed;
    return rc;
}

int stt_stream_partial(stt_stream *s, char *buf, size_t buflen) {
    if (!buflen) return -1;
    buf[0] = '\0';
    if (!s) return -1;
    s->n_partials++;
    return s->e->be->utt_partial(s->e->pool[s->slot].dec, buf, buflen);
}

int stt_stream_may_revise(const stt_stream *s) {
    return s && restart_pending(s);
}

int stt_stream_finish(stt_stream *s, stt_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!s) {
        snprintf(err, errlen, "stt: finish without a stream");
        return -1;
    }
    stt_engine *e = s->e;
    char text[4096];
    int64_t t0 = now_us();
    int rc = 0;
    if (s->n_probe > 0) rc = denoise_decide(s, err, errlen); /* a short utterance */
    if (rc == 0 && s->dn && s->dn_n) /* the last part-frame goes in as it is */
        rc = feed_decoder(s, s->dn_buf, (size_t)s->dn_n, err, errlen);
    if (rc == 0) rc = e->be->utt_end(e->pool[s->slot].dec, text, sizeof text, err, errlen);
    int n_alts = 0;
    if (rc == 0 && e->be->utt_alternatives)
        n_alts = e->be->utt_alternatives(e->pool[s->slot].dec, out->alts, STT_MAX_ALTS);
    int64_t t1 = now_us();
    if (rc == 0 && s->channel && e->be->channel_get)
        s->channel->n = e->be->channel_get(e->pool[s->slot].dec, s->channel->v,
                                           sizeof s->channel->v / sizeof s->channel->v[0]);
    pool_give(e, s->slot, rc != 0);
    component_release(e->comp);
    if (rc == 0) {
        out->text = strdup(text);
        if (!out->text) {
            snprintf(err, errlen, "stt: out of memory");
            rc = -1;
        }
        /* the first alternative is the result itself, whatever the backend listed */
        if (n_alts == 0 || !out->alts[0].text || strcmp(out->alts[0].text, text) != 0) {
            if (n_alts == STT_MAX_ALTS) stt_hyp_clear(&out->alts[--n_alts]);
            memmove(&out->alts[1], &out->alts[0], (size_t)n_alts * sizeof out->alts[0]);
            memset(&out->alts[0], 0, sizeof out->alts[0]);
            out->alts[0].text = strdup(text);
            n_alts++;
            for (int i = 1; i < n_alts; i++) /* the same text again adds nothing */
                if (out->alts[i].text && strcmp(out->alts[i].text, text) == 0) {
                    if (!out->alts[0].words) {
                        out->alts[0].words = out->alts[i].words;
                        out->alts[0].n_words = out->alts[i].n_words;
                        out->alts[i].words = NULL;
                    }
                    stt_hyp_clear(&out->alts[i]);
                    memmove(&out->alts[i], &out->alts[i + 1],
                            (size_t)(n_alts - i - 1) * sizeof out->alts[0]);
                    memset(&out->alts[--n_alts], 0, sizeof out->alts[0]);
                    break;
                }
        }
        out->n_alts = n_alts;
        for (int i = 0; i < n_alts; i++)
            word_levels(s, &out->alts[i]);
        out->speech_db = speech_level(s);
        out->audio_ms = s->samples * 1000 / STT_SAMPLE_RATE;
        out->finish_us = t1 - t0;
        out->decode_us = s->decode_us + (t1 - t0);
        out->n_partials = s->n_partials;
    } else {
        for (int i = 0; i < n_alts; i++)
            stt_hyp_clear(&out->alts[i]);
    }
    free(s->level);
    free(s->probe);
    free(s->fed);
    if (s->dn) speex_preprocess_state_destroy(s->dn);
    free(s);
    return rc;
}

void stt_stream_cancel(stt_stream *s) {
    if (!s) return;
    stt_engine *e = s->e;
    if (e->be->utt_abort) e->be->utt_abort(e->pool[s->slot].dec);
    pool_give(e, s->slot, 0);
    component_release(e->comp);
    free(s->level);
    free(s->probe);
    free(s->fed);
    if (s->dn) speex_preprocess_state_destroy(s->dn);
    free(s);
}

void stt_hyp_clear(stt_hyp *h) {
    if (!h) return;
    free(h->text);
    free(h->words);
    memset(h, 0, sizeof *h);
}

void stt_result_clear(stt_result *r) {
    if (!r) return;
    free(r->text);
    for (int i = 0; i < r->n_alts && i < STT_MAX_ALTS; i++)
        stt_hyp_clear(&r->alts[i]);
    memset(r, 0, sizeof *r);
}
