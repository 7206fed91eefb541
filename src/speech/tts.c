/* The text-to-speech engine: backend selection, the governor component, resampling
 * to the rate a client wants, and the sentence splitter that lets the first sentence
 * play while the rest is being made. Long sentences are cut at a comma or a space
 * after MAX_PIECE bytes so a cancel (barge-in) never waits behind a long synthesis. */
#include "speech/tts.h"

#include "core/log.h"
#include "core/util.h"
#include "mem/estimate.h"
#include "speech/sherpa_api.h"
#include "speech/wav.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PIECE 240
#define MAX_TEXT (256u << 10)

/* Backends compiled in (TTS_BACKENDS in tts.h). */
#define TTS_BACKEND_ENTRY(n) &tts_backend_##n,
static const tts_backend *const backends[] = {TTS_BACKENDS(TTS_BACKEND_ENTRY)};

const tts_backend *tts_backend_find(const char *name) {
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (name && strcmp(backends[i]->name, name) == 0) return backends[i];
    return NULL;
}

struct tts_engine {
    const axiom_config *cfg;
    const tts_backend *be; /* NULL for tts.backend = none */
    axiom_component *comp;
    pthread_mutex_t mu;
    void *model;
};

void tts_audio_clear(tts_audio *a) {
    if (!a) return;
    free(a->samples);
    memset(a, 0, sizeof *a);
}

static int tts_load(void *ctx, char *err, size_t errlen) {
    tts_engine *e = ctx;
    if (!e->be) {
        snprintf(err, errlen,
                 "tts.backend = none: speech output is switched off (text-only replies)");
        return -1;
    }
    void *m = e->be->model_load(e->cfg, err, errlen);
    if (!m && e->be != &tts_backend_flite) {
        /* A bring-your-own voice that cannot load: say why, then speak with flite. */
        LOG_E("tts", "%s; falling back to flite", err);
        e->be = &tts_backend_flite;
        m = e->be->model_load(e->cfg, err, errlen);
    }
    if (!m) return -1;
    pthread_mutex_lock(&e->mu);
    e->model = m;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static void tts_unload(void *ctx) {
    tts_engine *e = ctx;
    pthread_mutex_lock(&e->mu);
    if (e->model && e->be) e->be->model_free(e->model);
    e->model = NULL;
    pthread_mutex_unlock(&e->mu);
}

tts_engine *tts_engine_new(const axiom_config *cfg, char *err, size_t errlen) {
    const char *name = config_str(cfg, "tts.backend");
    const tts_backend *be = NULL;
    if (strcmp(name, "none") != 0 && !(be = tts_backend_find(name))) {
        snprintf(err, errlen,
                 "tts.backend = '%s': this build has no such synthesiser; use flite or none", name);
        return NULL;
    }
    tts_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "tts: out of memory");
        return NULL;
    }
    e->cfg = cfg;
    e->be = be;
    pthread_mutex_init(&e->mu, NULL);
    component_desc d = {
        .name = "tts",
        .load_order = 40,
        .essential = 0,
        .load = tts_load,
        .unload = tts_unload,
        .ctx = e,
        .idle_unload_ms = config_int(cfg, "mem.idle_unload_s") * 1000,
    };
    e->comp = component_new(&d);
    if (!e->comp) {
        snprintf(err, errlen, "tts: out of memory");
        pthread_mutex_destroy(&e->mu);
        free(e);
        return NULL;
    }
    return e;
}

void tts_engine_free(tts_engine *e) {
    if (!e) return;
    component_free(e->comp);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

axiom_component *tts_engine_component(tts_engine *e) {
    return e->comp;
}

int64_t tts_engine_expected_bytes(tts_engine *e) {
    if (e->be == &tts_backend_sherpa) {
        /* From the voice folder's files (mem/estimate.c); an unreadable folder fails at
         * load and falls back to flite, which the floor covers. */
        onnx_estimate est;
        char why[512];
        int kokoro = strcmp(config_str(e->cfg, "tts.sherpa_model_type"), "kokoro") == 0;
        int64_t b = estimate_onnx_dir(config_str(e->cfg, "tts.sherpa_model_dir"),
                                      kokoro ? ONNX_VOICE_KOKORO : ONNX_VOICE_VITS,
                                      !sherpa_api_is_open(), &est, why, sizeof why);
        if (b > 0) return b;
    }
    return 4 << 20; /* flite's voices are compiled in: a few MiB of tables */
}

int tts_synth(tts_engine *e, const char *text, const char *voice, int out_rate,
              const atomic_int *cancel, tts_audio *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!e || !text) {
        snprintf(err, errlen, "tts: no engine or no text");
        return -1;
    }
    if (out_rate == 0) out_rate = (int)config_int(e->cfg, "tts.sample_rate");
    if (out_rate < 8000 || out_rate > 48000) {
        snprintf(err, errlen, "tts: sample rate %d Hz not supported; use 8000 to 48000", out_rate);
        return -1;
    }
    if (strlen(text) > MAX_TEXT) {
        snprintf(err, errlen, "tts: text of %zu bytes is over the %u allowed in one call",
                 strlen(text), MAX_TEXT);
        return -1;
    }
    int words = 0;
    for (const char *p = text; *p && !words; p++)
        words = isalnum((unsigned char)*p);
    if (!words) { /* nothing to say: no audio rather than a breath of silence */
        out->rate = out_rate;
        return 0;
    }
    if (component_acquire(e->comp, err, errlen) != 0) return -1;
    tts_audio raw;
    int rc = e->be->synth(e->model, voice, text, cancel, &raw, err, errlen);
    component_release(e->comp);
    if (rc != 0) return rc;
    if (!raw.n || raw.rate == out_rate) {
        *out = raw;
        if (!out->n) out->rate = out_rate;
        return 0;
    }
    int16_t *res;
    size_t nres;
    rc = audio_resample(raw.samples, raw.n, raw.rate, out_rate, &res, &nres, err, errlen);
    tts_audio_clear(&raw);
    if (rc != 0) return -1;
    out->samples = res;
    out->n = nres;
    out->rate = out_rate;
    return 0;
}

/* Abbreviations whose full stop does not end a sentence. */
static int is_abbrev(const char *text, size_t dot) {
    static const char *const ab[] = {"e.g", "i.e", "etc",    "vs", "dr", "mr",
                                     "mrs", "ms",  "approx", "no", "fig"};
    size_t s = dot;
    while (s > 0 && (isalpha((unsigned char)text[s - 1]) || text[s - 1] == '.'))
        s--;
    size_t n = dot - s;
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
        if (strlen(ab[i]) == n && strncasecmp(text + s, ab[i], n) == 0) return 1;
    return 0;
}

int tts_sentence_next(const char *text, size_t *pos, size_t *start, size_t *len) {
    if (!text) return 0;
    size_t p = *pos;
    for (;;) {
        while (text[p] && (isspace((unsigned char)text[p])))
            p++;
        if (!text[p]) {
            *pos = p;
            return 0;
        }
        size_t s = p, cut = 0;
        while (text[p]) {
            char c = text[p];
            if (c == '\n') break;
            if ((c == '.' || c == '!' || c == '?' || c == ';') &&
                (!text[p + 1] || isspace((unsigned char)text[p + 1]) || text[p + 1] == '"' ||
                 text[p + 1] == ')') &&
                !(c == '.' && is_abbrev(text, p))) {
                p++;
                while (text[p] == '"' || text[p] == ')' || text[p] == '!' || text[p] == '?')
                    p++;
                break;
            }
            if (p - s >= MAX_PIECE) { /* too long: cut at the last comma or space */
                size_t q = cut ? cut : p;
                p = q;
                break;
            }
            if (c == ',' || c == ' ') cut = p + 1;
            p++;
        }
        size_t e = p;
        while (e > s && isspace((unsigned char)text[e - 1]))
            e--;
        *pos = p;
        int has_word = 0;
        for (size_t i = s; i < e && !has_word; i++)
            has_word = isalnum((unsigned char)text[i]);
        if (!has_word) continue; /* punctuation-only pieces make no sound */
        *start = s;
        *len = e - s;
        return 1;
    }
}

int tts_speak(tts_engine *e, const char *text, const char *voice, int out_rate,
              const atomic_int *cancel, tts_sentence_fn on_audio, void *ctx, char *err,
              size_t errlen) {
    size_t pos = 0, s, n;
    while (tts_sentence_next(text, &pos, &s, &n)) {
        if (cancel && atomic_load(cancel)) return 1;
        char *piece = strndup(text + s, n);
        if (!piece) {
            snprintf(err, errlen, "tts: out of memory");
            return -1;
        }
        tts_audio a;
        int rc = tts_synth(e, piece, voice, out_rate, cancel, &a, err, errlen);
        if (rc == 0 && on_audio && on_audio(ctx, piece, n, &a) != 0) rc = 1;
        free(piece);
        tts_audio_clear(&a);
        if (rc != 0) return rc;
    }
    return 0;
}
