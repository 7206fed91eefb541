#include "core/engine.h"

#include "core/log.h"
#include "core/util.h"
#include "voice/voice_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *axiom_version(void) {
    return AXIOM_VERSION;
}

brain_mode engine_brain_mode(const axiom_engine *e) {
    switch (governor_effective_mode(e->gov)) {
    case GOV_MODE_FULL:
        return BRAIN_MODE_FULL;
    case GOV_MODE_SKIP_LLM:
        return BRAIN_MODE_SKIP_LLM;
    default:
        return BRAIN_MODE_TEMPLATE_ONLY;
    }
}

axiom_engine *axiom_engine_new(const axiom_config *cfg, char *err, size_t errlen) {
    if (!cfg) {
        snprintf(err, errlen,
                 "axiom_engine_new: the configuration is NULL (make one with axiom_config_new)");
        return NULL;
    }
    /* The log level is the process's. A configuration that names one (an embedding
     * program's axiom_config_set, or the command line's, which main already applied)
     * takes effect here, before the engine's first line. */
    ax_log_level lvl;
    if (config_source_of(cfg, "log_level") != CFG_DEFAULT &&
        log_parse_level(config_str(cfg, "log_level"), &lvl) == 0)
        log_set_level(lvl);
    axiom_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = cfg;
    e->started_ms = now_ms();
    pthread_mutex_init(&e->voice_mu, NULL);
    e->gov = governor_new(cfg, err, errlen);
    if (!e->gov) {
        free(e);
        return NULL;
    }
    /* Subsystems are created here, in load order, each registering its components
     * with e->gov. */
    e->brain = brain_new(cfg, err, errlen);
    if (!e->brain) {
        axiom_engine_free(e);
        return NULL;
    }
    {
        axiom_component *bc[4];
        size_t nb = brain_components(e->brain, bc, 4);
        char berr[256];
        for (size_t i = 0; i < nb;
             i++) /* expected costs until measured: pack + index, intent model */
            if (governor_add(e->gov, bc[i], i == 0 ? 24 << 20 : 4 << 20, berr, sizeof berr) != 0)
                LOG_W("brain", "%s", berr);
    }
    vad_params vp;
    vad_params_from_config(cfg, &vp);
    e->vad = vad_engine_new(&vp, err, errlen);
    if (!e->vad) {
        axiom_engine_free(e);
        return NULL;
    }
    {
        /* One Silero detector with the shared library: about 40 MB the first time
         * (onnxruntime), each further pooled detector ~15 MB (bench_vad). */
        char verr[256];
        if (governor_add(e->gov, vad_engine_component(e->vad), vp.use_silero ? (40 << 20) : 0, verr,
                         sizeof verr) != 0)
            LOG_W("vad", "%s", verr);
    }
    {
        /* The recogniser's domain model is built from the brain's pack at its load.
         * stt_engine_new copies the provider, which reads the brain only when a
         * stream begins or the corpus is refreshed, never when the recogniser is
         * freed: so axiom_engine_free may free the brain first. */
        char serr[512];
        stt_corpus_provider corpus = brain_corpus_provider(e->brain);
        e->stt = stt_engine_new(cfg, &corpus, serr, sizeof serr);
        if (!e->stt)
            LOG_W("stt", "%s; speech input is off", serr);
        else if (governor_add(e->gov, stt_engine_component(e->stt),
                              stt_engine_expected_bytes(e->stt), serr, sizeof serr) != 0)
            LOG_W("stt", "%s", serr);
        if (strcmp(config_str(cfg, "tts.backend"), "none") != 0) {
            e->tts = tts_engine_new(cfg, serr, sizeof serr);
            if (!e->tts)
                LOG_W("tts", "%s; answers are text only", serr);
            else if (governor_add(e->gov, tts_engine_component(e->tts),
                                  tts_engine_expected_bytes(e->tts), serr, sizeof serr) != 0)
                LOG_W("tts", "%s", serr);
        }
    }
    if (strcmp(config_str(cfg, "llm.backend"), "none") != 0 &&
        strcmp(config_str(cfg, "mode"), "full") == 0) {
        char lerr[512];
        e->llm = llm_new(cfg, lerr, sizeof lerr);
        if (!e->llm)
            LOG_W("llm", "%s; answering without the language model", lerr);
        else if (governor_add(e->gov, llm_component(e->llm), llm_expected_bytes(e->llm), lerr,
                              sizeof lerr) != 0)
            LOG_W("llm", "%s", lerr);
    }

    /* Last: the first reading sees every component, so the mode logged at start is
     * the real one; then the watcher runs for the engine's lifetime. */
    if (config_bool(cfg, "mem.preload")) {
        /* The recogniser's pack text is read before the loads, never inside one. */
        char perr[256];
        if (e->stt && stt_engine_refresh_corpus(e->stt, perr, sizeof perr) != 0)
            LOG_W("stt", "%s", perr);
        governor_preload(e->gov);
    }
    governor_check(e->gov);
    char werr[256];
    if (governor_start(e->gov, werr, sizeof werr) != 0)
        LOG_W("mem", "%s; memory is not watched", werr);
    return e;
}

void axiom_engine_free(axiom_engine *e) {
    if (!e) return;
    voice_hub_free(e->voice); /* its jobs use the components */
    governor_free(e->gov);
    brain_free(e->brain);
    llm_free(e->llm);
    vad_engine_free(e->vad);
    tts_engine_free(e->tts);
    stt_engine_free(e->stt);
    pthread_mutex_destroy(&e->voice_mu);
    free(e);
}
