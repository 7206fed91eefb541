/* axiom ask --audio and voice_ask_pcm: a recording answered through the server's turn
 * (VAD, recogniser per segment, brain) with the real models. A real recording
 * (pocketsphinx-testdata's goforward.raw) is recognised; a pack question spoken by
 * flite through `axiom say` gets the same answer as the same question typed, and a
 * question after an item's specification is heard right; silence
 * gets no answer (path none); another voice going on after the question, quieter, is
 * not answered; a file that is not audio gets an error line while the other files are
 * still answered, and a non-zero exit. */
#include "check.h"
#include "core/config.h"
#include "core/engine.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/wav.h"
#include "support/testutil.h"
#include "voice/voice_ask.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTDATA "/usr/share/pocketsphinx/test/data"
#define QUESTION "what is the jetson orin nano"

static char tmp[256], cache_env[600], out[262144], errb[65536];

static int have_models(void) {
    return access("/usr/share/pocketsphinx/model/en-us/en-us/mdef", R_OK) == 0;
}

static const char *jstr(const cJSON *j, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The n-th output line (0-based) parsed as JSON, or NULL. */
static cJSON *line_json(const char *text, int n) {
    const char *p = text;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return NULL;
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *one = strndup(p, len);
    cJSON *j = one ? cJSON_Parse(one) : NULL;
    free(one);
    return j;
}

static int write_silence(const char *path, double seconds) {
    size_t n = (size_t)(seconds * 16000);
    int16_t *z = calloc(n, sizeof *z);
    char err[256];
    int rc = z ? wav_write_file(path, z, n, 16000, err, sizeof err) : -1;
    free(z);
    return rc;
}

/* goforward.raw (headerless 16 kHz s16) as a WAV file. */
static int goforward_wav(const char *path) {
    FILE *f = fopen(TESTDATA "/goforward.raw", "rb");
    if (!f) return -1;
    int16_t *pcm = malloc(16000 * 10 * sizeof *pcm);
    size_t n = pcm ? fread(pcm, sizeof *pcm, 16000 * 10, f) : 0;
    fclose(f);
    char err[256];
    int rc = n ? wav_write_file(path, pcm, n, 16000, err, sizeof err) : -1;
    free(pcm);
    return rc;
}

/* One run over three files: a real recording, silence, and a text file named .wav. */
static void test_cli_files(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    char go[300], quiet[300], bad[300], args[1200];
    snprintf(go, sizeof go, "%s/goforward.wav", tmp);
    snprintf(quiet, sizeof quiet, "%s/silence.wav", tmp);
    snprintf(bad, sizeof bad, "%s/garbage.wav", tmp);
    if (goforward_wav(go) != 0) SKIP("pocketsphinx-testdata is not installed (" TESTDATA ")");
    CHECK_EQ_INT(write_silence(quiet, 2.0), 0);
    CHECK_EQ_INT(tu_write_file(bad, "this is not a recording\n"), 0);
    snprintf(args, sizeof args, "ask --log-level error --json --audio '%s' '%s' '%s'", go, bad,
             quiet);
    int rc = tu_run_axiom(cache_env, args, out, sizeof out, errb, sizeof errb);
    CHECK_MSG(rc != 0, "a bad file must make the exit status non-zero");
    CHECK_CONTAINS(errb, "garbage.wav");
    cJSON *a = line_json(out, 0), *b = line_json(out, 1), *c = line_json(out, 2);
    CHECK_MSG(a && b && c, "three JSON lines expected: %s", out);
    if (a) {
        CHECK_STR(jstr(a, "file"), go);
        CHECK_CONTAINS(jstr(a, "transcript"), "go forward"); /* "ten meters" is not in the pack */
        const cJSON *turns = cJSON_GetObjectItemCaseSensitive(a, "turns");
        CHECK(cJSON_IsArray(turns) && cJSON_GetArraySize(turns) >= 1);
        const cJSON *t0 = cJSON_GetArrayItem(turns, 0);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(t0, "start_ms");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(t0, "end_ms");
        CHECK(cJSON_IsNumber(s) && cJSON_IsNumber(e) && e->valuedouble > s->valuedouble);
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(a, "timings_ms");
        CHECK(cJSON_GetObjectItemCaseSensitive(tm, "vad") &&
              cJSON_GetObjectItemCaseSensitive(tm, "stt") &&
              cJSON_GetObjectItemCaseSensitive(tm, "brain") &&
              cJSON_GetObjectItemCaseSensitive(tm, "total"));
        const cJSON *au = cJSON_GetObjectItemCaseSensitive(tm, "audio");
        CHECK(cJSON_IsNumber(au) && au->valuedouble > 2500 && au->valuedouble < 3100);
        CHECK(strcmp(jstr(a, "path"), "none") != 0);
        CHECK(cJSON_GetObjectItemCaseSensitive(a, "error") == NULL);
    }
    if (b) {
        CHECK_STR(jstr(b, "file"), bad);
        CHECK_CONTAINS(jstr(b, "error"), "not a readable audio file");
    }
    if (c) {
        CHECK_STR(jstr(c, "path"), "none");
        CHECK_STR(jstr(c, "transcript"), "");
        CHECK_STR(jstr(c, "text"), "");
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

/* Spoken through `axiom say`, with a pause on either side as a person leaves it. */
static void test_spoken_equals_typed(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    char speech[300], padded[300], args[1200];
    snprintf(speech, sizeof speech, "%s/q.wav", tmp);
    snprintf(padded, sizeof padded, "%s/q-padded.wav", tmp);
    snprintf(args, sizeof args,
             "say --log-level error '" QUESTION "' --voice slt --rate 22050 -o '%s'", speech);
    CHECK_EQ_INT(tu_run_axiom(cache_env, args, out, sizeof out, errb, sizeof errb), 0);
    int16_t *pcm = NULL;
    size_t n = 0;
    char err[256];
    CHECK_EQ_INT(wav_read_all(speech, 16000, 30, &pcm, &n, err, sizeof err), 0);
    int16_t *p = calloc(n + 16000, sizeof *p);
    if (!pcm || !p) {
        free(pcm);
        free(p);
        return;
    }
    memcpy(p + 8000, pcm, n * sizeof *pcm);
    CHECK_EQ_INT(wav_write_file(padded, p, n + 16000, 16000, err, sizeof err), 0);
    free(pcm);
    free(p);

    snprintf(args, sizeof args, "ask --log-level error --json --audio '%s'", padded);
    CHECK_EQ_INT(tu_run_axiom(cache_env, args, out, sizeof out, errb, sizeof errb), 0);
    cJSON *spoken = cJSON_Parse(out);

    /* A question after an item's specification, in words no template of the pack uses:
     * the language model has it from the items' specifications ("what's the late of
     * the tello" without them). */
    snprintf(args, sizeof args,
             "say --log-level error \"what's the weight of the tello\" --voice slt -o '%s'",
             speech);
    CHECK_EQ_INT(tu_run_axiom(cache_env, args, out, sizeof out, errb, sizeof errb), 0);
    snprintf(args, sizeof args, "ask --log-level error --json --audio '%s'", speech);
    CHECK_EQ_INT(tu_run_axiom(cache_env, args, out, sizeof out, errb, sizeof errb), 0);
    cJSON *spec = cJSON_Parse(out);
    CHECK(spec != NULL);
    if (spec) CHECK_STR(jstr(spec, "transcript"), "what's the weight of the tello");
    cJSON_Delete(spec);
    CHECK_EQ_INT(tu_run_axiom(cache_env, "ask --log-level error --json '" QUESTION "'", out,
                              sizeof out, errb, sizeof errb),
                 0);
    cJSON *typed = cJSON_Parse(out);
    CHECK(spoken && typed);
    if (spoken && typed) {
        CHECK_STR(jstr(spoken, "transcript"), QUESTION);
        CHECK(strlen(jstr(typed, "answer")) > 20);
        CHECK_STR(jstr(spoken, "text"), jstr(typed, "answer"));
        CHECK_STR(jstr(spoken, "intent"), jstr(typed, "intent"));
        CHECK_STR(jstr(spoken, "path"), jstr(typed, "path"));
    }
    cJSON_Delete(spoken);
    cJSON_Delete(typed);
}

/* An engine on the default pack with this test's cache (cfg must outlive it). */
static axiom_engine *pack_engine(axiom_config *cfg) {
    char err[512], data[600], cache[400];
    tu_root_path("data", data, sizeof data);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    config_set(cfg, "data", data, CFG_FLAG, "test", err, sizeof err);
    config_set(cfg, "cache_dir", cache, CFG_FLAG, "test", err, sizeof err);
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    CHECK_MSG(e != NULL, "%s", err);
    return e;
}

/* The library call: two questions in one recording are two turns of one
 * conversation; the answer is the last one. Silence gives no turn at all. */
static void test_library_segments(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    char err[512];
    axiom_config *cfg = config_new();
    axiom_engine *e = pack_engine(cfg);
    tts_engine *tts = e ? e->tts : NULL;
    if (!tts) {
        axiom_engine_free(e);
        config_free(cfg);
        SKIP("no synthesiser");
    }
    const char *qs[2] = {"when is the lab open", QUESTION};
    tts_audio a[2];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(tts_synth(tts, qs[i], "slt", 16000, NULL, &a[i], err, sizeof err), 0);
    size_t gap = 16000, n = gap + a[0].n + gap + a[1].n + gap;
    int16_t *pcm = calloc(n, sizeof *pcm);
    if (pcm && a[0].samples && a[1].samples) {
        memcpy(pcm + gap, a[0].samples, a[0].n * sizeof *pcm);
        memcpy(pcm + 2 * gap + a[0].n, a[1].samples, a[1].n * sizeof *pcm);
        brain_session *s = brain_session_new(e->brain);
        voice_answer va;
        CHECK_EQ_INT(voice_ask_pcm(e, s, pcm, n, NULL, &va, err, sizeof err), 0);
        CHECK_EQ_INT(va.n, 2);
        CHECK_EQ_INT(va.answer, 1);
        if (va.n == 2) {
            CHECK_STR(va.turns[0].transcript, qs[0]);
            CHECK_STR(va.turns[0].intent, "lab_info");
            CHECK(va.turns[0].end_ms <= va.turns[1].start_ms);
            CHECK(va.turns[1].start_ms >= (int64_t)((2 * gap + a[0].n) / 16) - 400);
        }
        CHECK_CONTAINS(va.transcript, "lab open what is the jetson");
        const voice_turn *f = voice_answer_final(&va);
        CHECK(f && strstr(f->text, "Jetson"));
        CHECK(va.total_us >= va.stt_us + va.brain_us);
        voice_answer_free(&va);
        brain_session_free(s);

        s = brain_session_new(e->brain);
        memset(pcm, 0, n * sizeof *pcm);
        CHECK_EQ_INT(voice_ask_pcm(e, s, pcm, n, NULL, &va, err, sizeof err), 0);
        CHECK_EQ_INT(va.n, 0);
        CHECK(voice_answer_final(&va) == NULL);
        CHECK_STR(va.transcript, "");
        cJSON *j = cJSON_CreateObject();
        voice_answer_json(&va, j);
        CHECK_STR(jstr(j, "path"), "none");
        cJSON_Delete(j);
        voice_answer_free(&va);
        brain_session_free(s);
    }
    free(pcm);
    tts_audio_clear(&a[0]);
    tts_audio_clear(&a[1]);
    axiom_engine_free(e);
    config_free(cfg);
}

/* Someone behind the speaker goes on talking after the question (a real talker,
 * pocketsphinx-testdata's numbers.raw, 10 dB below the question's active level): the
 * VAD hands their words over as utterances of their own, and none is answered; the
 * answer is the question's. */
static void test_library_quieter_voice_after(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    size_t nb = 0;
    int16_t *bg = tu_read_raw(TESTDATA "/numbers.raw", &nb);
    if (!bg || nb < 32000) {
        free(bg);
        SKIP("pocketsphinx-testdata is not installed (" TESTDATA ")");
    }
    char err[512];
    axiom_config *cfg = config_new();
    axiom_engine *e = pack_engine(cfg);
    tts_audio q;
    memset(&q, 0, sizeof q);
    if (e && e->tts)
        CHECK_EQ_INT(tts_synth(e->tts, QUESTION, "slt", 16000, NULL, &q, err, sizeof err), 0);
    size_t gap = 16000, n = gap + q.n + gap / 2 + nb + gap;
    int16_t *pcm = q.samples ? calloc(n, sizeof *pcm) : NULL;
    if (pcm) {
        double g = sqrt(tu_active_power(q.samples, q.n) / tu_active_power(bg, nb) / 10.0);
        memcpy(pcm + gap, q.samples, q.n * sizeof *pcm);
        for (size_t i = 0; i < nb; i++)
            pcm[gap + q.n + gap / 2 + i] = (int16_t)lrint(g * bg[i]);
        brain_session *s = brain_session_new(e->brain);
        voice_answer va;
        CHECK_EQ_INT(voice_ask_pcm(e, s, pcm, n, NULL, &va, err, sizeof err), 0);
        CHECK_MSG(va.n >= 2, "%zu turns: the other voice was not heard", va.n);
        CHECK_EQ_INT(va.answer, 0);
        if (va.n >= 2) CHECK_STR(va.turns[0].transcript, QUESTION);
        for (size_t i = 1; i < va.n; i++) {
            printf("  other voice: '%s' -> %s\n", va.turns[i].transcript,
                   va.turns[i].dropped[0] ? va.turns[i].dropped : va.turns[i].text);
            CHECK(va.turns[i].path == BRAIN_PATH_NONE);
            if (va.turns[i].transcript[0]) CHECK_STR(va.turns[i].dropped, "background");
        }
        voice_answer_free(&va);
        brain_session_free(s);
    }
    free(pcm);
    free(bg);
    tts_audio_clear(&q);
    axiom_engine_free(e);
    config_free(cfg);
}

int main(int argc, char **argv) {
    (void)argc;
    log_set_level(AX_LOG_WARN);
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    snprintf(cache_env, sizeof cache_env, "AXIOM_CACHE_DIR='%s/cache'", tmp);
    RUN(test_cli_files);
    RUN(test_spoken_equals_typed);
    RUN(test_library_segments);
    RUN(test_library_quieter_voice_after);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
