/* flite backend: the five voices Debian's flite ships. A voice's library is opened
 * and the voice registered the first time it is asked for, and both are kept until
 * the last model using it is unloaded. A voice is registered once per process and
 * shared by every model (engine): flite's voices share global tables, so
 * unregistering one engine's copy would break another engine's.
 *
 * flite's synthesis entry points share voice feature tables and its lexicon's lazily
 * built state, so calls are serialised by one lock. A sentence takes a few
 * milliseconds (real-time factor about 0.01), so the lock costs little; barge-in
 * latency is bounded by tts.c cutting answers into short pieces. */
#include "speech/tts.h"

#include "core/log.h"
#include "core/util.h"

#include <dlfcn.h>
#include <flite/flite.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each voice is its own shared library, opened the first time the voice is asked for
 * and closed with the model: the three clustergen voices (slt, awb, rms) are about
 * 5 MiB of relocated data that a process speaking with kal16 should never carry. */
static const char *const voice_names[] = {"slt", "kal16", "awb", "rms", "kal"};
#define NVOICES (sizeof voice_names / sizeof voice_names[0])

typedef cst_voice *(*register_fn)(const char *voxdir);
typedef void (*unregister_fn)(cst_voice *v);

static pthread_mutex_t flite_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t flite_once = PTHREAD_ONCE_INIT;
static void flite_start(void) {
    flite_init();
}

/* The process's registered voices (flite_lock): each with the models using it. */
static cst_voice *g_voice[NVOICES];
static void *g_lib[NVOICES];
static unregister_fn g_unreg[NVOICES];
static int g_users[NVOICES];

typedef struct {
    char def_voice[16];
    cst_voice *voices[NVOICES]; /* the shared voices this model uses */
} flite_model;

static int voice_index(const char *name) {
    for (size_t i = 0; i < NVOICES; i++)
        if (strcmp(voice_names[i], name) == 0) return (int)i;
    return -1;
}

/* Opens and registers voice vi (flite_lock held). Returns it, or NULL with err. */
static cst_voice *open_voice(flite_model *m, int vi, char *err, size_t errlen) {
    if (m->voices[vi]) return m->voices[vi];
    if (g_voice[vi]) {
        g_users[vi]++;
        return m->voices[vi] = g_voice[vi];
    }
    char lib[64], sym[64];
    snprintf(lib, sizeof lib, "libflite_cmu_us_%s.so.1", voice_names[vi]);
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "flite voice '%s': %s (install Debian's libflite1)", voice_names[vi],
                 dlerror());
        return NULL;
    }
    register_fn reg = NULL;
    unregister_fn unreg = NULL;
    /* Object pointer to function pointer: POSIX guarantees this works for dlsym. */
    snprintf(sym, sizeof sym, "register_cmu_us_%s", voice_names[vi]);
    *(void **)(&reg) = dlsym(h, sym);
    snprintf(sym, sizeof sym, "unregister_cmu_us_%s", voice_names[vi]);
    *(void **)(&unreg) = dlsym(h, sym);
    cst_voice *v = reg && unreg ? reg(NULL) : NULL;
    if (!v) {
        snprintf(err, errlen, "flite voice '%s': %s has no usable %s", voice_names[vi], lib,
                 reg && unreg ? "voice" : "register/unregister functions");
        dlclose(h);
        return NULL;
    }
    g_voice[vi] = v;
    g_lib[vi] = h;
    g_unreg[vi] = unreg;
    g_users[vi] = 1;
    m->voices[vi] = v;
    return v;
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
    cst_voice *v = open_voice(m, vi, err, errlen);
    pthread_mutex_unlock(&flite_lock);
    if (!v) {
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
        if (m->voices[i] && --g_users[i] == 0) {
            g_unreg[i](g_voice[i]);
            dlclose(g_lib[i]);
            g_voice[i] = NULL;
            g_lib[i] = NULL;
        }
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
    cst_voice *v = open_voice(m, vi, err, errlen);
    cst_wave *w = v ? flite_text_to_wave(text, v) : NULL;
    pthread_mutex_unlock(&flite_lock);
    if (!v) return -1;
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
