/* Text-to-speech through sherpa-onnx, for users who bring their own voice folder
 * (tts.sherpa_model_dir), in one of two layouts (tts.sherpa_model_type):
 *
 *   vits    Piper / VITS: one *.onnx model, tokens.txt, espeak-ng-data/ (Piper
 *           voices) or lexicon.txt (older VITS voices).
 *   kokoro  Kokoro: model*.onnx, voices.bin, tokens.txt, espeak-ng-data/, and
 *           optionally lexicon*.txt files.
 *
 * Files are found and checked before sherpa-onnx sees them (onnxruntime aborts the
 * process on a file that is not a model); a missing one is an error naming it and
 * the engine falls back to flite. Voices are speaker numbers ("0", "1", ...).
 * Synthesis runs one sentence at a time per model (a mutex): the engine splits
 * answers into sentences, and the cancel flag is checked from sherpa's progress
 * callback so barge-in stops a sentence midway. */
#include "speech/tts.h"

#include "core/child.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/sherpa_api.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_VOICE_NAMES 64

typedef struct {
    const sherpa_api *api;
    const SherpaOnnxOfflineTts *tts;
    pthread_mutex_t lock;
    int rate, speakers;
    char voices[MAX_VOICE_NAMES * 4];
    char files[4][1024];
    char lexicons[2048];
} sherpa_tts;

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Comma-separated list of lexicon*.txt files in dir (Kokoro ships one per language). */
static void find_lexicons(const char *dir, char *out, size_t outlen) {
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (!d) return;
    size_t used = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        const char *n = de->d_name;
        size_t nl = strlen(n);
        if (strncmp(n, "lexicon", 7) != 0 || nl < 4 || strcmp(n + nl - 4, ".txt") != 0) continue;
        int w = snprintf(out + used, outlen - used, "%s%s/%s", used ? "," : "", dir, n);
        if (w < 0 || (size_t)w >= outlen - used) {
            out[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
    closedir(d);
}

/* The first load of a voice folder runs in a child process (core/child.h):
 * onnxruntime and sherpa-onnx exit or abort on a truncated, garbage or
 * wrong-architecture model, which must cost an error and flite, not the server. The
 * child creates the synthesiser and speaks one word. */
#define TTS_TRIAL_TIMEOUT_MS 120000

typedef struct {
    const sherpa_api *api;
    const SherpaOnnxOfflineTtsConfig *config;
} tts_trial_args;

static int tts_trial(void *arg) {
    const tts_trial_args *t = arg;
    const SherpaOnnxOfflineTts *tts = t->api->CreateOfflineTts(t->config);
    if (!tts) return 2;
    const SherpaOnnxGeneratedAudio *a =
        t->api->OfflineTtsGenerateWithCallbackWithArg(tts, "Hello.", 0, 1.0f, NULL, NULL);
    int ok = a != NULL;
    if (a) t->api->DestroyOfflineTtsGeneratedAudio(a);
    t->api->DestroyOfflineTts(tts);
    return ok ? 0 : 3;
}

static void *model_load(const axiom_config *cfg, char *err, size_t errlen) {
    const char *dir = config_str(cfg, "tts.sherpa_model_dir");
    const char *type = config_str(cfg, "tts.sherpa_model_type");
    if (!*dir) {
        snprintf(err, errlen,
                 "tts.sherpa_model_dir is not set: point it at a sherpa-onnx voice folder "
                 "(README, section speech-vad) or use tts.backend = flite");
        return NULL;
    }
    int kokoro = strcmp(type, "kokoro") == 0;
    const char *expected = kokoro ? "model*.onnx, voices.bin, tokens.txt, espeak-ng-data/"
                                  : "*.onnx, tokens.txt, espeak-ng-data/ or lexicon.txt";
    sherpa_tts *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char why[1400], data_dir[1100];
    snprintf(data_dir, sizeof data_dir, "%s/espeak-ng-data", dir);
    int have_data = is_dir(data_dir);
    find_lexicons(dir, m->lexicons, sizeof m->lexicons);
    int bad = sherpa_find_file(dir, kokoro ? "model" : "", ".onnx", 0, expected, m->files[0],
                               sizeof m->files[0], why, sizeof why) ||
              sherpa_check_onnx("voice model", m->files[0], why, sizeof why) ||
              sherpa_find_file(dir, "tokens", ".txt", 0, expected, m->files[1], sizeof m->files[1],
                               why, sizeof why) ||
              sherpa_check_file("tokens file", m->files[1], why, sizeof why);
    if (!bad && kokoro) {
        snprintf(m->files[2], sizeof m->files[2], "%s/voices.bin", dir);
        bad = sherpa_check_file("Kokoro voices file", m->files[2], why, sizeof why);
    }
    if (!bad && !have_data && (kokoro || !m->lexicons[0])) {
        snprintf(why, sizeof why, "%s: missing (expected %s)", data_dir, expected);
        bad = 1;
    }
    if (bad) {
        snprintf(err, errlen, "tts.sherpa_model_dir (%s): %s", type, why);
        free(m);
        return NULL;
    }
    m->api = sherpa_api_get(why, sizeof why);
    if (!m->api) {
        snprintf(err, errlen, "%s", why);
        free(m);
        return NULL;
    }
    SherpaOnnxOfflineTtsConfig c;
    memset(&c, 0, sizeof c);
    const char *debug = getenv("AXIOM_SHERPA_DEBUG");
    c.model.debug = debug && *debug && strcmp(debug, "0") != 0;
    /* One thread: sentences are short and the recogniser needs the other core.
     * AXIOM_SHERPA_THREADS overrides it, for measuring (bench_seed). */
    const char *threads = getenv("AXIOM_SHERPA_THREADS");
    c.model.num_threads = threads && atoi(threads) > 0 && atoi(threads) <= 64 ? atoi(threads) : 1;
    c.model.provider = "cpu";
    c.max_num_sentences = 1;
    if (kokoro) {
        c.model.kokoro.model = m->files[0];
        c.model.kokoro.voices = m->files[2];
        c.model.kokoro.tokens = m->files[1];
        c.model.kokoro.data_dir = data_dir;
        c.model.kokoro.length_scale = 1.0f;
        if (m->lexicons[0]) c.model.kokoro.lexicon = m->lexicons;
    } else {
        c.model.vits.model = m->files[0];
        c.model.vits.tokens = m->files[1];
        if (have_data)
            c.model.vits.data_dir = data_dir;
        else
            c.model.vits.lexicon = m->lexicons;
        c.model.vits.noise_scale = 0.667f;
        c.model.vits.noise_scale_w = 0.8f;
        c.model.vits.length_scale = 1.0f;
    }
    const char *files[3] = {m->files[0], m->files[1], kokoro ? m->files[2] : m->files[1]};
    if (!child_trial_passed_before(files, 3)) {
        tts_trial_args t = {m->api, &c};
        int rc =
            child_trial_echo(tts_trial, &t, TTS_TRIAL_TIMEOUT_MS, c.model.debug, why, sizeof why);
        if (rc == -1) {
            snprintf(
                err, errlen,
                "tts.sherpa_model_dir %s: damaged, or not a %s voice (sherpa-onnx's trial load %s)",
                dir, type, why);
            free(m);
            return NULL;
        }
        if (rc == 1)
            LOG_W("tts", "tts.sherpa_model_dir: %s; loading without a trial", why);
        else
            child_trial_remember(files, 3);
    }
    m->tts = m->api->CreateOfflineTts(&c);
    if (!m->tts) {
        snprintf(err, errlen,
                 "tts.sherpa_model_dir (%s): sherpa-onnx could not create the synthesiser from %s "
                 "(set AXIOM_SHERPA_DEBUG=1 for its own messages)",
                 type, dir);
        free(m);
        return NULL;
    }
    m->rate = m->api->OfflineTtsSampleRate(m->tts);
    m->speakers = m->api->OfflineTtsNumSpeakers(m->tts);
    if (m->speakers < 1) m->speakers = 1;
    size_t used = 0;
    for (int i = 0; i < m->speakers && i < MAX_VOICE_NAMES; i++)
        used +=
            (size_t)snprintf(m->voices + used, sizeof m->voices - used, "%s%d", i ? "|" : "", i);
    pthread_mutex_init(&m->lock, NULL);
    LOG_I("tts", "sherpa-onnx %s voice from %s: %d Hz, %d speakers", type, dir, m->rate,
          m->speakers);
    return m;
}

static void model_free(void *model) {
    sherpa_tts *m = model;
    if (!m) return;
    m->api->DestroyOfflineTts(m->tts);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int32_t keep_going(const float *samples, int32_t n, void *arg) {
    (void)samples;
    (void)n;
    const atomic_int *cancel = arg;
    return cancel && atomic_load(cancel) ? 0 : 1;
}

static int synth(void *model, const char *voice, const char *text, const atomic_int *cancel,
                 tts_audio *out, char *err, size_t errlen) {
    sherpa_tts *m = model;
    memset(out, 0, sizeof *out);
    int sid = 0;
    if (voice && *voice) {
        char *end;
        long v = strtol(voice, &end, 10);
        if (*end || v < 0 || v >= m->speakers) {
            snprintf(err, errlen, "voice '%s': this sherpa-onnx voice has speakers 0 to %d", voice,
                     m->speakers - 1);
            return -1;
        }
        sid = (int)v;
    }
    if (cancel && atomic_load(cancel)) return 1;
    pthread_mutex_lock(&m->lock);
    const SherpaOnnxGeneratedAudio *a = m->api->OfflineTtsGenerateWithCallbackWithArg(
        m->tts, text, sid, 1.0f, keep_going, (void *)cancel);
    pthread_mutex_unlock(&m->lock);
    if (cancel && atomic_load(cancel)) {
        if (a) m->api->DestroyOfflineTtsGeneratedAudio(a);
        return 1;
    }
    if (!a || a->n < 0) {
        if (a) m->api->DestroyOfflineTtsGeneratedAudio(a);
        snprintf(err, errlen, "sherpa-onnx produced no audio for '%.40s'", text);
        return -1;
    }
    out->samples = malloc(((size_t)a->n + 1) * sizeof *out->samples);
    if (!out->samples) {
        m->api->DestroyOfflineTtsGeneratedAudio(a);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int32_t i = 0; i < a->n; i++) {
        float v = a->samples[i] * 32767.0f;
        out->samples[i] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : v);
    }
    out->n = (size_t)a->n;
    out->rate = a->sample_rate > 0 ? a->sample_rate : m->rate;
    m->api->DestroyOfflineTtsGeneratedAudio(a);
    return 0;
}

static const char *voices(void *model) {
    return ((sherpa_tts *)model)->voices;
}

const tts_backend tts_backend_sherpa = {
    .name = "sherpa",
    .model_load = model_load,
    .model_free = model_free,
    .synth = synth,
    .voices = voices,
};
