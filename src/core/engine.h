/* The engine's insides, shared by the library's modules and the front ends. Each
 * subsystem owns its state; the engine only holds them together and creates them in
 * load order (brain, vad, stt, tts, llm), governor first so it can watch the rest. */
#ifndef AXIOM_ENGINE_H
#define AXIOM_ENGINE_H

#include "axiom.h"
#include "brain/brain.h"
#include "core/config.h"
#include "llm/llm.h"
#include "mem/governor.h"
#include "speech/stt.h"
#include "speech/tts.h"
#include "speech/vad.h"

#include <pthread.h>
#include <stdint.h>

struct axiom_engine {
    const axiom_config *cfg;
    int64_t started_ms;
    /* Created first, freed first (it only references the components, which their
     * subsystems free after it). Subsystems register with governor_add. */
    governor *gov;
    /* The dialogue brain: knowledge pack, search index and intent model, loaded
     * lazily as the "index" and "intent" components. */
    brain *brain;
    /* Voice activity detection: the Silero pool as component "vad" (streams per
     * session come from vad_stream_new). Never NULL once the engine exists. */
    vad_engine *vad;
    /* The language model; NULL when llm.backend = none, the mode excludes it, or its
     * configuration cannot work (logged; answers then come without it). */
    llm *llm;
    /* Speech recogniser and synthesiser (lazy components "stt" and "tts"); NULL when
     * their configuration cannot work (logged) or tts.backend = none. */
    stt_engine *stt;
    tts_engine *tts;
    /* What voice sessions share (pools, answer-audio cache, warm-up): created with
     * the first session (voice_hub_get), freed first. voice_mu guards its creation. */
    pthread_mutex_t voice_mu;
    struct voice_hub *voice;
};

/* The brain mode the memory governor allows right now (full, skip-llm, template-only),
 * the one mapping from governor modes to brain modes. */
brain_mode engine_brain_mode(const axiom_engine *e);

#endif
