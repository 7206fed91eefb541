/* The part of voice sessions an engine shares: the audio and turn worker pools, the
 * answer-audio cache, the warm-up, the observer, and failure injection for tests.
 * Created with the first voice session; freed by axiom_engine_free before the
 * components, so no job outlives what it uses. */
#include "core/config.h"
#include "core/log.h"
#include "mem/governor.h"
#include "voice/voice_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The governor keeps this callback for the engine's life; the hub lives as long. */
static int64_t drop_answer_audio(void *hub) {
    voice_hub *h = hub;
    return h->acache ? audio_cache_drop(h->acache) : 0;
}

static voice_hub *hub_new(axiom_engine *e, char *err, size_t errlen) {
    const axiom_config *cfg = e->cfg;
    voice_hub *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->engine = e;
    pthread_mutex_init(&h->obs_mu, NULL);
    int workers = (int)config_int(cfg, "server.workers");
    if (workers <= 0) workers = cores();
    size_t queue = (size_t)config_int(cfg, "server.max_sessions") * 2 + 16;
    h->audio_pool = worker_pool_new("axiom-audio", workers, queue, err, errlen);
    h->turn_pool =
        h->audio_pool ? worker_pool_new("axiom-turn", workers, queue, err, errlen) : NULL;
    h->acache = audio_cache_new((size_t)config_int(cfg, "server.audio_cache_mb") << 20);
    h->warm = warmup_new(e);
    if (!h->turn_pool || !h->acache || !h->warm) {
        if (h->turn_pool) snprintf(err, errlen, "out of memory");
        voice_hub_free(h);
        return NULL;
    }
    h->warm_up = config_bool(cfg, "server.warm_up");
    h->barge_in = config_bool(cfg, "server.barge_in");
    h->barge_in_margin_db = config_double(cfg, "server.barge_in_margin_db");
    h->max_utterance_s = (int)config_int(cfg, "server.max_utterance_s");
    h->vad_adaptive = config_bool(cfg, "vad.adaptive");
    h->silence_min_ms = (int)config_int(cfg, "vad.silence_min_ms");
    h->silence_max_ms = (int)config_int(cfg, "vad.silence_max_ms");
    h->preroll_ms = (int)config_int(cfg, "vad.preroll_ms");
    if (e->gov) governor_add_cache(e->gov, "answer-audio", drop_answer_audio, h);
    if (!e->brain) LOG_W("voice", "no brain: text and voice turns will answer with an error");
    if (!e->vad || !e->stt)
        LOG_W("voice", "no VAD or recogniser: voice input is refused with an error event");
    if (!e->tts) LOG_W("voice", "no synthesiser: answers are text only");
    return h;
}

voice_hub *voice_hub_get(axiom_engine *e, char *err, size_t errlen) {
    pthread_mutex_lock(&e->voice_mu);
    if (!e->voice) e->voice = hub_new(e, err, errlen);
    voice_hub *h = e->voice;
    pthread_mutex_unlock(&e->voice_mu);
    return h;
}

void voice_hub_free(voice_hub *h) {
    if (!h) return;
    /* Sessions are closed by now: queued jobs run, see it and let go. */
    worker_pool_free(h->audio_pool);
    worker_pool_free(h->turn_pool);
    warmup_free(h->warm);
    audio_cache_free(h->acache);
    pthread_mutex_destroy(&h->obs_mu);
    free(h);
}

worker_pool *voice_hub_turn_pool(voice_hub *h) {
    return h->turn_pool;
}
worker_pool *voice_hub_audio_pool(voice_hub *h) {
    return h->audio_pool;
}

void voice_hub_status_json(voice_hub *h, cJSON *obj) {
    cJSON *pools = cJSON_AddObjectToObject(obj, "workers");
    cJSON_AddNumberToObject(pools, "audio_threads", worker_pool_threads(h->audio_pool));
    cJSON_AddNumberToObject(pools, "audio_queued", (double)worker_pool_pending(h->audio_pool));
    cJSON_AddNumberToObject(pools, "turn_threads", worker_pool_threads(h->turn_pool));
    cJSON_AddNumberToObject(pools, "turn_queued", (double)worker_pool_pending(h->turn_pool));
    size_t cb, ce;
    int64_t ch, cm;
    audio_cache_stats(h->acache, &cb, &ce, &ch, &cm);
    cJSON *ac = cJSON_AddObjectToObject(obj, "answer_audio_cache");
    cJSON_AddNumberToObject(ac, "bytes", (double)cb);
    cJSON_AddNumberToObject(ac, "sentences", (double)ce);
    cJSON_AddNumberToObject(ac, "hits", (double)ch);
    cJSON_AddNumberToObject(ac, "misses", (double)cm);
    /* The speech path loading in the background since a session opened. */
    cJSON_AddBoolToObject(obj, "warming", warmup_running(h->warm));
}

void voice_hub_metrics(voice_hub *h, FILE *out) {
    size_t cb, ce;
    int64_t ch, cm;
    audio_cache_stats(h->acache, &cb, &ce, &ch, &cm);
    fprintf(
        out,
        "# HELP axiom_answer_audio_cache_hits_total sentences served from the answer-audio cache\n"
        "# TYPE axiom_answer_audio_cache_hits_total counter\n"
        "axiom_answer_audio_cache_hits_total %lld\n"
        "# HELP axiom_answer_audio_cache_bytes bytes held by the cache\n"
        "# TYPE axiom_answer_audio_cache_bytes gauge\n"
        "axiom_answer_audio_cache_bytes %zu\n",
        (long long)ch, cb);
}

void voice_hub_set_observer(voice_hub *h, voice_observer_fn fn, void *user) {
    pthread_mutex_lock(&h->obs_mu);
    h->obs = fn;
    h->obs_user = user;
    pthread_mutex_unlock(&h->obs_mu);
}

void voice_observe(voice_hub *h, voice_stat stat, double value, const char *label) {
    pthread_mutex_lock(&h->obs_mu);
    if (h->obs) h->obs(h->obs_user, stat, value, label);
    pthread_mutex_unlock(&h->obs_mu);
}

/* ---- failure injection ---- */

static atomic_int faults[VOICE_FAULT_COUNT];

void voice_fault_inject(voice_fault stage, int count) {
    if ((int)stage >= 0 && stage < VOICE_FAULT_COUNT) atomic_store(&faults[stage], count);
}

int voice_fault_hit(voice_fault stage) {
    int n = atomic_load(&faults[stage]);
    while (n > 0)
        if (atomic_compare_exchange_weak(&faults[stage], &n, n - 1)) return 1;
    return 0;
}
