/* axiom ask --audio FILE...: each recording answered as the server answers a spoken
 * request (voice/voice_ask.c), one line per file: the transcript, each VAD segment's
 * turn, the answer and the time each stage took (one JSON object with --json). Every
 * file gets a fresh conversation. A file that cannot be read gets an error line and
 * the exit status says so, after the other files. The components load before the
 * first file, so every file's timings are those of a warm turn. */
#include "brain/brain.h"
#include "cli/cli.h"
#include "core/engine.h"
#include "speech/wav.h"
#include "voice/voice_ask.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASK_AUDIO_MAX_S 600.0 /* one request; longer recordings are refused, not read whole */

static void print_line(const char *file, const voice_answer *a, const char *error, int json) {
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        if (a) voice_answer_json(a, o);
        if (error) cJSON_AddStringToObject(o, "error", error);
        char *s = cJSON_PrintUnformatted(o);
        if (s) puts(s);
        free(s);
        cJSON_Delete(o);
    } else if (a) {
        const voice_turn *f = voice_answer_final(a);
        printf("%s\n  heard: %s\n", file,
               a->transcript && *a->transcript ? a->transcript : "(nothing)");
        if (f)
            printf("  %s\n  intent: %s (%.2f)  path: %s\n", f->text, f->intent, f->confidence,
                   brain_path_name(f->path));
        else
            printf("  (nothing to answer)  path: none\n");
        printf("  ms: vad %.1f, stt %.1f, brain %.1f, total %.1f for %lld ms of audio\n",
               a->vad_us / 1000.0, a->stt_us / 1000.0, a->brain_us / 1000.0, a->total_us / 1000.0,
               (long long)a->audio_ms);
    }
    fflush(stdout);
}

/* One file: 0, or 1 after saying why on stderr and in the output line. */
static int ask_file(axiom_engine *e, const char *file, int json) {
    char err[1024] = "";
    int16_t *pcm = NULL;
    size_t n = 0;
    if (wav_read_all(file, 16000, ASK_AUDIO_MAX_S, &pcm, &n, err, sizeof err) != 0) {
        fprintf(stderr, "axiom ask: %s\n", err);
        print_line(file, NULL, err, json);
        return 1;
    }
    brain_session *s = brain_session_new(e->brain);
    brain_turn_opts o = {.mode = engine_brain_mode(e), .llm = e->llm};
    voice_answer a;
    int rc = voice_ask_pcm(e, s, pcm, n, &o, &a, err, sizeof err);
    if (rc != 0) fprintf(stderr, "axiom ask: %s: %s\n", file, err);
    print_line(file, &a, rc != 0 ? err : NULL, json);
    voice_answer_free(&a);
    brain_session_free(s);
    free(pcm);
    return rc != 0;
}

int cli_ask_audio(const axiom_config *cfg, char **files, int nfiles, int json) {
    if (nfiles == 0) {
        fprintf(stderr, "axiom ask: --audio needs at least one WAV file (or - for stdin)\n");
        return 2;
    }
    char err[1024];
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    if (!e) {
        fprintf(stderr, "axiom ask: %s\n", err);
        return 1;
    }
    /* Loaded before the first file, so every file's timings are those of a warm turn. */
    if (brain_load(e->brain, err, sizeof err) != 0 || !e->stt ||
        stt_engine_refresh_corpus(e->stt, err, sizeof err) != 0 ||
        component_load(stt_engine_component(e->stt), err, sizeof err) != 0 ||
        component_load(vad_engine_component(e->vad), err, sizeof err) != 0) {
        fprintf(stderr, "axiom ask: %s\n",
                e->stt ? err : "no speech recogniser (see the log above)");
        axiom_engine_free(e);
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < nfiles; i++)
        failed |= ask_file(e, files[i], json);
    axiom_engine_free(e);
    return failed ? 1 : 0;
}
