/* describe -> info: what this AXIOM offers, in the shape of the reference's Info
 * dataclasses (every artifact has name, attribution, installed, description, version;
 * models and voices list their languages). Only what the engine really has is listed:
 * no "asr" without a recogniser, no "tts" with tts.backend = none.
 *
 *   asr     the configured recogniser (PocketSphinx with the pack's language model, or
 *           a sherpa-onnx model), transcript streaming on
 *   tts     the voices (flite's five, or the sherpa-onnx voice), synthesis streaming on
 *   handle  the brain as a conversation agent, answer streaming on
 *   intent  the pack's intent classifier; its description names the intents */
#include "brain/labelled.h"
#include "core/util.h"
#include "speech/tts.h"
#include "wyoming/wyoming_internal.h"

#include <stdio.h>
#include <string.h>

static cJSON *attribution(const char *name, const char *url) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "name", name);
    cJSON_AddStringToObject(a, "url", url);
    return a;
}

/* An Artifact: name, attribution, installed, description, version (NULL = null). */
static cJSON *artifact(const char *name, cJSON *attr, const char *description,
                       const char *version) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddItemToObject(o, "attribution", attr);
    cJSON_AddBoolToObject(o, "installed", 1);
    cJSON_AddStringToObject(o, "description", description);
    if (version)
        cJSON_AddStringToObject(o, "version", version);
    else
        cJSON_AddNullToObject(o, "version");
    return o;
}

static void add_languages(cJSON *o) {
    cJSON *l = cJSON_AddArrayToObject(o, "languages");
    cJSON_AddItemToArray(l, cJSON_CreateString(WY_LANGUAGE));
}

static cJSON *program(const char *description) {
    return artifact("AXIOM", attribution("AXIOM", ""), description, AXIOM_VERSION);
}

static cJSON *asr_program(wyoming_server *srv) {
    const axiom_config *cfg = srv->cfg;
    const char *backend = config_str(cfg, "stt.backend");
    char name[64], desc[256];
    cJSON *attr;
    if (strcmp(backend, "pocketsphinx") == 0) {
        const char *lm = config_str(cfg, "stt.lm");
        snprintf(name, sizeof name, "pocketsphinx-%s", lm);
        snprintf(desc, sizeof desc, "PocketSphinx with %s",
                 strcmp(lm, "domain") == 0 ? "a language model built from the knowledge pack"
                 : strcmp(lm, "mixed") == 0
                     ? "the knowledge pack's language model mixed with general English"
                     : "the stock 20k-word English model");
        attr = attribution("CMU Sphinx", "https://cmusphinx.github.io/");
    } else {
        snprintf(name, sizeof name, "%s-%s", backend, config_str(cfg, "stt.sherpa_model_type"));
        snprintf(desc, sizeof desc, "sherpa-onnx %s model from stt.sherpa_model_dir",
                 config_str(cfg, "stt.sherpa_model_type"));
        attr = attribution("k2-fsa sherpa-onnx", "https://github.com/k2-fsa/sherpa-onnx");
    }
    cJSON *p = program("AXIOM speech-to-text: the recogniser of AXIOM's voice sessions");
    cJSON *models = cJSON_AddArrayToObject(p, "models");
    cJSON *m = artifact(name, attr, desc, NULL);
    add_languages(m);
    cJSON_AddItemToArray(models, m);
    cJSON_AddBoolToObject(p, "supports_transcript_streaming", 1);
    /* The audio between audio-start and audio-stop is one utterance: the client ends
     * it (Home Assistant's own voice activity detection does). */
    cJSON_AddBoolToObject(p, "requires_external_vad", 1);
    cJSON_AddBoolToObject(p, "prefers_auto_gain_enabled", 1);
    /* AXIOM suppresses steady noise itself (stt.denoise). */
    cJSON_AddBoolToObject(p, "prefers_noise_reduction_enabled", !config_bool(cfg, "stt.denoise"));
    return p;
}

/* The voices as info lists them: flite's by name, or one sherpa-onnx voice named
 * "sherpa-<type>" whose speakers are chosen by number. */
static int voice_names(wyoming_server *srv, const char **list, const char **sherpa) {
    const char *backend = config_str(srv->cfg, "tts.backend");
    *sherpa = NULL;
    if (strcmp(backend, "sherpa") == 0) {
        *sherpa = config_str(srv->cfg, "tts.sherpa_model_type");
        *list = NULL;
        return 1;
    }
    const tts_backend *be = tts_backend_find("flite");
    *list = be && be->voices ? be->voices(NULL) : "";
    return 0;
}

static cJSON *tts_program(wyoming_server *srv) {
    cJSON *p = program("AXIOM text-to-speech: the voices of AXIOM's answers");
    cJSON *voices = cJSON_AddArrayToObject(p, "voices");
    const char *list, *sherpa;
    voice_names(srv, &list, &sherpa);
    const char *def = config_str(srv->cfg, "tts.voice");
    if (sherpa) {
        char name[64], desc[160];
        snprintf(name, sizeof name, "sherpa-%s", sherpa);
        snprintf(desc, sizeof desc,
                 "sherpa-onnx %s voice from tts.sherpa_model_dir (speaker: a number)", sherpa);
        cJSON *v = artifact(
            name, attribution("k2-fsa sherpa-onnx", "https://github.com/k2-fsa/sherpa-onnx"), desc,
            NULL);
        add_languages(v);
        cJSON_AddItemToArray(voices, v);
    } else {
        for (const char *s = list; *s;) {
            const char *bar = strchr(s, '|');
            size_t n = bar ? (size_t)(bar - s) : strlen(s);
            char name[32], desc[96];
            snprintf(name, sizeof name, "%.*s", (int)(n < 31 ? n : 31), s);
            snprintf(desc, sizeof desc, "flite voice %s%s", name,
                     strcmp(name, def) == 0 ? " (AXIOM's configured voice)" : "");
            cJSON *v = artifact(name, attribution("CMU Flite", "http://www.festvox.org/flite/"),
                                desc, NULL);
            add_languages(v);
            cJSON_AddItemToArray(voices, v);
            if (!bar) break;
            s = bar + 1;
        }
    }
    cJSON_AddBoolToObject(p, "supports_synthesize_streaming", 1);
    return p;
}

int wy_voice_pick(wyoming_server *srv, const cJSON *data, char *voice, size_t voicelen, char *err,
                  size_t errlen) {
    voice[0] = '\0';
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "voice");
    const char *name = cJSON_IsObject(v) ? wy_data_str(v, "name", NULL) : NULL;
    const char *speaker = cJSON_IsObject(v) ? wy_data_str(v, "speaker", NULL) : NULL;
    if (!name || !*name) return 0; /* by language only, or nothing: the configured voice */
    const char *list, *sherpa;
    voice_names(srv, &list, &sherpa);
    if (sherpa) {
        char want[64];
        snprintf(want, sizeof want, "sherpa-%s", sherpa);
        if (strcmp(name, want) != 0) {
            snprintf(err, errlen, "voice '%.60s': this AXIOM has the voice '%s'", name, want);
            return -1;
        }
        if (speaker) str_copy(voice, voicelen, speaker);
        return 0;
    }
    size_t nl = strlen(name);
    for (const char *s = list; *s;) {
        const char *bar = strchr(s, '|');
        size_t n = bar ? (size_t)(bar - s) : strlen(s);
        if (n == nl && strncmp(s, name, n) == 0) {
            str_copy(voice, voicelen, name);
            return 0;
        }
        if (!bar) break;
        s = bar + 1;
    }
    snprintf(err, errlen, "voice '%.60s': the voices are %s", name, list);
    return -1;
}

static cJSON *handle_program(void) {
    cJSON *p =
        program("AXIOM's brain as a conversation agent: answers about the knowledge pack's items, "
                "with the history of each conversation");
    cJSON *models = cJSON_AddArrayToObject(p, "models");
    cJSON *m = artifact(
        "axiom-brain", attribution("AXIOM", ""),
        "templates, retrieval over the pack's facts, and the language model when one is set", NULL);
    add_languages(m);
    cJSON_AddItemToArray(models, m);
    cJSON_AddBoolToObject(p, "supports_handled_streaming", 1);
    cJSON_AddBoolToObject(p, "supports_home_control", 0);
    return p;
}

static cJSON *intent_program(void) {
    char desc[400] = "the knowledge pack's intent classifier; intents:";
    size_t n = strlen(desc);
    for (int i = 0; i < INTENT_NCLASSES && n < sizeof desc; i++)
        n += (size_t)snprintf(desc + n, sizeof desc - n, "%s %s", i ? "," : "",
                              intent_label_name((intent_label)i));
    cJSON *p =
        program("AXIOM intent recognition: the pack's intents, with the item a question is about");
    cJSON *models = cJSON_AddArrayToObject(p, "models");
    cJSON *m = artifact("axiom-intents", attribution("AXIOM", ""), desc, NULL);
    add_languages(m);
    cJSON_AddItemToArray(models, m);
    return p;
}

cJSON *wy_info_json(wyoming_server *srv) {
    axiom_engine *e = srv->engine;
    cJSON *o = cJSON_CreateObject();
    cJSON *asr = cJSON_AddArrayToObject(o, "asr");
    cJSON *tts = cJSON_AddArrayToObject(o, "tts");
    cJSON *handle = cJSON_AddArrayToObject(o, "handle");
    cJSON *intent = cJSON_AddArrayToObject(o, "intent");
    cJSON_AddArrayToObject(o, "wake");
    cJSON_AddArrayToObject(o, "mic");
    cJSON_AddArrayToObject(o, "snd");
    if (e->stt) cJSON_AddItemToArray(asr, asr_program(srv));
    if (e->tts) cJSON_AddItemToArray(tts, tts_program(srv));
    if (e->brain) {
        cJSON_AddItemToArray(handle, handle_program());
        cJSON_AddItemToArray(intent, intent_program());
    }
    return o;
}
