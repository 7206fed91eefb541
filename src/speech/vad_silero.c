/* Silero VAD detectors through sherpa-onnx, in a bounded pool.
 *
 * Why a pool: every sherpa-onnx VoiceActivityDetector owns its own onnxruntime
 * session, a few megabytes each (bench_vad prints the measured figure), so 100
 * always-on sessions cannot each have one. Streams borrow a detector only while
 * their energy gate hears something, and a reset detector is as good as new.
 * Detectors are created on demand up to the bound and kept until the pool is freed
 * (the governor unloads the whole "vad" component to get the memory back).
 *
 * How a detector is driven: sherpa's own segmenter is told min_speech = min_silence
 * = 10 ms (less than a window), so after each 512-sample window its "detected" flag is simply
 * Silero's hysteresis (on above threshold, off below threshold - 0.15). vad.c applies the user's
 * minimum speech, trailing silence and pre-roll. After every window the segment queue is cleared
 * and an open segment flushed, so sherpa's internal buffer never grows past a few windows however
 * long someone talks. */
#include "speech/vad_detectors.h"

#include "core/child.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/sherpa_api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vad_silero {
    const sherpa_api *api;
    const SherpaOnnxVoiceActivityDetector *det;
    vad_silero *next_free;
};

struct vad_silero_pool {
    const sherpa_api *api;
    SherpaOnnxVadModelConfig cfg;
    char model[1024];
    pthread_mutex_t lock;
    int size, created, in_use;
    vad_silero *free_list;
    vad_silero **all; /* every detector created, for freeing */
};

static vad_silero *detector_new(vad_silero_pool *p) {
    vad_silero *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    /* 1 s of internal buffer is plenty: it is flushed after every window. */
    d->api = p->api;
    d->det = p->api->CreateVoiceActivityDetector(&p->cfg, 1.0f);
    if (!d->det) {
        free(d);
        return NULL;
    }
    return d;
}

/* sherpa-onnx calls exit() on an ONNX file that is not a Silero model (wrong inputs,
 * wrong window size), so the first load of a model happens in a child process
 * (core/child.h): a bad file then costs a clear error instead of the server. A model
 * that passed once is not tried again when the governor reloads the pool. */
#define VAD_TRIAL_TIMEOUT_MS 20000

static int vad_trial(void *arg) {
    vad_silero_pool *p = arg;
    const SherpaOnnxVoiceActivityDetector *d = p->api->CreateVoiceActivityDetector(&p->cfg, 1.0f);
    if (!d) return 2;
    float zeros[VAD_SILERO_WINDOW] = {0};
    for (int i = 0; i < 3; i++)
        p->api->VoiceActivityDetectorAcceptWaveform(d, zeros, VAD_SILERO_WINDOW);
    p->api->DestroyVoiceActivityDetector(d);
    return 0;
}

static int probe_in_child(vad_silero_pool *p, char *err, size_t errlen) {
    const char *files[1] = {p->model};
    if (child_trial_passed_before(files, 1)) return 0;
    char why[512];
    int rc = child_trial(vad_trial, p, VAD_TRIAL_TIMEOUT_MS, why, sizeof why);
    if (rc == 1) return 0; /* cannot probe; go ahead */
    if (rc == 0) {
        child_trial_remember(files, 1);
        return 0;
    }
    snprintf(err, errlen,
             "VAD model %s: sherpa-onnx cannot run it as a Silero VAD model (the trial load %s); "
             "set vad.model to silero_vad_v5.onnx or silero_vad_legacy.onnx",
             p->model, why);
    return -1;
}

vad_silero_pool *vad_silero_pool_new(const char *model, float threshold, int size, char *err,
                                     size_t errlen) {
    if (size < 1) size = 1;
    if (sherpa_check_onnx("VAD model", model, err, errlen) != 0) return NULL;
    const sherpa_api *api = sherpa_api_get(err, errlen);
    if (!api) return NULL;
    vad_silero_pool *p = calloc(1, sizeof *p);
    vad_silero **all = calloc((size_t)size, sizeof *all);
    if (!p || !all) {
        free(p);
        free(all);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->api = api;
    p->all = all;
    p->size = size;
    str_copy(p->model, sizeof p->model, model);
    p->cfg.silero_vad.model = p->model;
    p->cfg.silero_vad.threshold = threshold;
    /* Tiny but not zero: 1.13.8 replaces 0 with its defaults (0.5 s and 0.25 s). */
    p->cfg.silero_vad.min_silence_duration = 0.01f;
    p->cfg.silero_vad.min_speech_duration = 0.01f;
    p->cfg.silero_vad.window_size = VAD_SILERO_WINDOW;
    p->cfg.silero_vad.max_speech_duration = 3600.0f;
    p->cfg.sample_rate = 16000;
    p->cfg.num_threads = 1;
    p->cfg.provider = "cpu";
    pthread_mutex_init(&p->lock, NULL);
    if (probe_in_child(p, err, errlen) != 0) {
        vad_silero_pool_free(p);
        return NULL;
    }
    vad_silero *first = detector_new(p);
    if (!first) {
        snprintf(err, errlen, "VAD model %s: sherpa-onnx could not create a detector", model);
        vad_silero_pool_free(p);
        return NULL;
    }
    p->all[p->created++] = first;
    first->next_free = NULL;
    p->free_list = first;
    return p;
}

void vad_silero_pool_free(vad_silero_pool *p) {
    if (!p) return;
    if (p->in_use) LOG_E("vad", "Silero pool freed with %d detectors still borrowed", p->in_use);
    for (int i = 0; i < p->created; i++) {
        if (!p->all[i]) continue; /* a slot whose creation failed */
        p->api->DestroyVoiceActivityDetector(p->all[i]->det);
        free(p->all[i]);
    }
    pthread_mutex_destroy(&p->lock);
    free(p->all);
    free(p);
}

vad_silero *vad_silero_take(vad_silero_pool *p) {
    pthread_mutex_lock(&p->lock);
    vad_silero *d = p->free_list;
    if (d) {
        p->free_list = d->next_free;
        p->in_use++;
        pthread_mutex_unlock(&p->lock);
        return d;
    }
    if (p->created >= p->size) {
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    /* Reserve the slot, create outside the lock (tens of ms), then fill it. */
    int slot = p->created++;
    p->all[slot] = NULL;
    p->in_use++;
    pthread_mutex_unlock(&p->lock);
    d = detector_new(p);
    pthread_mutex_lock(&p->lock);
    if (d) {
        p->all[slot] = d;
    } else {
        /* Give the slot back; only the last slot can be taken back cleanly. */
        p->in_use--;
        if (slot == p->created - 1) p->created--;
        LOG_W("vad", "could not create Silero detector %d of %d", slot + 1, p->size);
    }
    pthread_mutex_unlock(&p->lock);
    return d;
}

void vad_silero_give(vad_silero_pool *p, vad_silero *d) {
    if (!d) return;
    p->api->VoiceActivityDetectorReset(d->det);
    pthread_mutex_lock(&p->lock);
    d->next_free = p->free_list;
    p->free_list = d;
    p->in_use--;
    pthread_mutex_unlock(&p->lock);
}

void vad_silero_pool_counts(vad_silero_pool *p, int *created, int *in_use) {
    pthread_mutex_lock(&p->lock);
    if (created) *created = p->created;
    if (in_use) *in_use = p->in_use;
    pthread_mutex_unlock(&p->lock);
}

int vad_silero_window(vad_silero *d, const float *x) {
    const sherpa_api *api = d->api;
    api->VoiceActivityDetectorAcceptWaveform(d->det, x, VAD_SILERO_WINDOW);
    int speech = api->VoiceActivityDetectorDetected(d->det) != 0;
    if (speech) api->VoiceActivityDetectorFlush(d->det); /* closes the open segment ... */
    if (!api->VoiceActivityDetectorEmpty(d->det))
        api->VoiceActivityDetectorClear(d->det); /* ... and drops it: we keep our own audio */
    return speech;
}
