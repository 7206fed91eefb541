/* flite backend: the five voices Debian's flite compiles in. A voice is registered
 * the first time it is asked for and kept until the model is unloaded.
 *
 * flite's synthesis entry points share voice feature tables and its lexicon's lazily
 * built state, so calls are serialised by one lock. A sentence takes a few
 * milliseconds (real-time factor about 0.01), so the lock costs little; barge-in
 * latency is bounded by tts.c cutting answers into short pieces. */
#include "speech/tts.h"

#include "core/log.h"
#include "core/util.h"

#include <flite/flite.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_kal(const char *voxdir);
void unregister_cmu_us_slt(cst_voice *v);
void unregister_cmu_us_kal16(cst_voice *v);
void unregister_cmu_us_awb(cst_voice *v);
void unregister_cmu_us_rms(cst_voice *v);
void unregister_cmu_us_kal(cst_voice *v);

static const struct {
    const char *name;
    cst_voice *(*reg)(const char *);
    void (*unreg)(cst_voice *);
} voice_table[] = {
    {"slt", register_cmu_us_slt, unregister_cmu_us_slt},
    {"kal16", register_cmu_us_kal16, unregister_cmu_us_kal16},
    {"awb", register_cmu_us_awb, unregister_cmu_us_awb},
    {"rms", register_cmu_us_rms, unregister_cmu_us_rms},
    {"kal", register_cmu_us_kal, unregister_cmu_us_kal},
};
#define NVOICES (sizeof voice_table / sizeof voice_table[0])

static pthread_mutex_t flite_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t flite_once = PTHREAD_ONCE_INIT;
static void flite_start(void) { flite_init(); }

typedef struct {
    char def_voice[16];
    cst_voice *voices[NVOICES];
} flite_model;

static int voice_index(const char *name) {
    for (size_t i = 0; i < NVOICES; i++)
        if (strcmp(voice_table[i].name, name) == 0) return (int)i;
    return -1;
}

static void *flite_load(const axiom_config *cfg, char *err, size_t errlen) {
    pthread_once(&flite_once, flite_start);
    flite_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "tts: out of memory");
        return NULL;
    }
    str_copy(m->def_voice, sizeof m->def_voice, config_str(cfg, "tts.voice"));
    int vi = voice_index(m->def_voice);
    if (vi < 0) {
        snprintf(err, errlen, "tts.voice = '%s': flite has slt|kal16|awb|rms|kal", m->def_voice);
        free(m);
        return NULL;
    }
    pthread_mutex_lock(&flite_lock);
    m->voices[vi] = voice_table[vi].reg(NULL);
    pthread_mutex_unlock(&flite_lock);
    if (!m->voices[vi]) {
        snprintf(err, errlen, "tts.voice = '%s': flite could not register the voice", m->def_voice);
        free(m);
        return NULL;
    }
    return m;
}

static void flite_free_model(void *model) {
    flite_model *m = model;
    if (!m) return;
    pthread_mutex_lock(&flite_lock);
    for (size_t i = 0; i < NVOICES; i++)
        if (m->voices[i]) voice_table[i].unreg(m->voices[i]);
    pthread_mutex_unlock(&flite_lock);
    free(m);
}

static int flite_synth(void *model, const char *voice, const char *text, const atomic_int *cancel,
                       tts_audio *out, char *err, size_t errlen) {
    flite_model *m = model;
    memset(out, 0, sizeof *out);
    const char *vn = voice && *voice ? voice : m->def_voice;
    int vi = voice_index(vn);
    if (vi < 0) {
        snprintf(err, errlen, "voice '%s': flite has slt|kal16|awb|rms|kal", vn);
        return -1;
    }
    if (cancel && atomic_load(cancel)) return 1;
    pthread_mutex_lock(&flite_lock);
    if (!m->voices[vi]) m->voices[vi] = voice_table[vi].reg(NULL);
    cst_voice *v = m->voices[vi];
    cst_wave *w = v ? flite_text_to_wave(text, v) : NULL;
    pthread_mutex_unlock(&flite_lock);
    if (!w) {
        snprintf(err, errlen, "flite could not synthesise with voice '%s'", vn);
        return -1;
    }
    int rc = 0;
    size_t n = (size_t)(cst_wave_num_samples(w) > 0 ? cst_wave_num_samples(w) : 0);
    out->rate = cst_wave_sample_rate(w);
    if (cancel && atomic_load(cancel)) {
        rc = 1;
    } else if (n) {
        out->samples = malloc(n * sizeof *out->samples);
        if (!out->samples) {
            snprintf(err, errlen, "tts: out of memory for %zu samples", n);
            rc = -1;
        } else {
            /* mono voices: one channel */
            memcpy(out->samples, cst_wave_samples(w), n * sizeof *out->samples);
            out->n = n;
        }
    }
    delete_wave(w);
    if (rc != 0) tts_audio_clear(out);
    return rc;
}

static const char *flite_voices(void *model) {
    (void)model;
    return "slt|kal16|awb|rms|kal";
}

const tts_backend tts_backend_flite = {
    .name = "flite",
    .model_load = flite_load,
    .model_free = flite_free_model,
    .synth = flite_synth,
    .voices = flite_voices,
};
