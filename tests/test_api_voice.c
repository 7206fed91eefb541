/* Voice sessions through the public API, as the programs built on it run them:
 * examples/embed (linked to libaxiom.so, nothing but axiom.h) and `axiom listen`
 * (events as JSON lines), on a pack question spoken by flite at 22.05 kHz (so the
 * session resamples) and on a real recording (../shared/audio/jfk.wav). Each must
 * hear the speech, say what it heard, answer, and end the turn with ready_to_listen;
 * embed writes the answer's audio as a WAV. */
#include "axiom.h"
#include "check.h"
#include "speech/wav.h"
#include "support/testutil.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUESTION "what is the unitree go2"

static char tmp[256], build[1024], question[512], question_raw[512], env[1200];
static char out[1 << 18], errb[1 << 16];

static int have_models(void) {
    return access("/usr/share/pocketsphinx/model/en-us/en-us/mdef", R_OK) == 0;
}

/* Runs a shell command line with stdout and stderr captured. Returns its exit status or -1. */
static int run(const char *cmdline) {
    char cmd[9216], o[400], e[400];
    snprintf(o, sizeof o, "%s/run.out", tmp);
    snprintf(e, sizeof e, "%s/run.err", tmp);
    snprintf(cmd, sizeof cmd, "%s >'%s' 2>'%s'", cmdline, o, e);
    int st = system(cmd);
    const char *paths[2] = {o, e};
    char *bufs[2] = {out, errb};
    size_t caps[2] = {sizeof out, sizeof errb};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "rb");
        size_t n = f ? fread(bufs[i], 1, caps[i] - 1, f) : 0;
        bufs[i][n] = '\0';
        if (f) fclose(f);
    }
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

/* The pack question, spoken by flite at 22050 Hz with half a second of quiet either
 * side as a person leaves it; also as headerless s16le for the stdin path. */
static int make_question(void) {
    char args[1200], spoken[400], e[256];
    snprintf(spoken, sizeof spoken, "%s/spoken.wav", tmp);
    snprintf(args, sizeof args,
             "say --log-level error '" QUESTION "' --voice awb --rate 22050 -o '%s'", spoken);
    if (tu_run_axiom(env, args, out, sizeof out, errb, sizeof errb) != 0) return -1;
    int16_t *pcm = NULL, *padded = NULL;
    size_t n = 0, pad = 22050 / 2;
    int rc = wav_read_all(spoken, 22050, 30, &pcm, &n, e, sizeof e);
    if (rc == 0 && (padded = calloc(n + 2 * pad, sizeof *padded))) {
        memcpy(padded + pad, pcm, n * sizeof *pcm);
        rc = wav_write_file(question, padded, n + 2 * pad, 22050, e, sizeof e);
        FILE *f = rc == 0 ? fopen(question_raw, "wb") : NULL;
        for (size_t i = 0; f && i < n + 2 * pad; i++) { /* little-endian */
            fputc(padded[i] & 0xff, f);
            fputc((padded[i] >> 8) & 0xff, f);
        }
        rc = f && fclose(f) == 0 ? rc : -1;
    } else {
        rc = -1;
    }
    free(pcm);
    free(padded);
    return rc;
}

/* Finds embed's line for an event (`transcript      turn 1  "..."`) and copies the
 * text between its first and last quote (may be ""). Returns 1 when the line is there. */
static int embed_line(const char *name, char *text, size_t len) {
    char key[64];
    snprintf(key, sizeof key, "%-15s ", name);
    text[0] = '\0';
    for (const char *p = out; *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (strncmp(p, key, strlen(key)) == 0) {
            const char *q1 = memchr(p, '"', n), *q2 = NULL;
            for (const char *r = q1; r && r < p + n;
                 r = memchr(r + 1, '"', (size_t)(p + n - r - 1)))
                q2 = r;
            if (q1 && q2 > q1) snprintf(text, len, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
            return 1;
        }
        if (!eol) break;
        p = eol + 1;
    }
    return 0;
}

static void check_embed(const char *wav, const char *what) {
    char cmd[8192], answer[400], text[1024];
    snprintf(answer, sizeof answer, "%s/answer.wav", tmp);
    unlink(answer);
    snprintf(cmd, sizeof cmd, "%s '%s/examples/embed' '%s' '%s'", env, build, wav, answer);
    int rc = run(cmd);
    CHECK_MSG(rc == 0, "%s: embed exit %d: %s", what, rc, errb);
    fprintf(stderr, "  embed on %s:\n%s", what, out);
    CHECK_MSG(embed_line(axiom_event_name(AXIOM_EVENT_SPEECH_START), text, sizeof text),
              "%s: no speech_start", what);
    CHECK_MSG(embed_line(axiom_event_name(AXIOM_EVENT_TRANSCRIPT), text, sizeof text) && text[0],
              "%s: no transcript", what);
    CHECK_MSG(embed_line(axiom_event_name(AXIOM_EVENT_ANSWER), text, sizeof text) &&
                  strlen(text) > 5,
              "%s: no answer text", what);
    CHECK_MSG(embed_line(axiom_event_name(AXIOM_EVENT_AUDIO), text, sizeof text),
              "%s: no audio event", what);
    CHECK_MSG(embed_line(axiom_event_name(AXIOM_EVENT_READY), text, sizeof text),
              "%s: no ready_to_listen", what);
    /* the answer's audio: a readable WAV of at least half a second */
    int16_t *pcm = NULL;
    size_t n = 0;
    char e[256];
    CHECK_MSG(wav_read_all(answer, 16000, 120, &pcm, &n, e, sizeof e) == 0, "%s", e);
    CHECK_MSG(n > 8000, "%s: %zu samples of answer audio", what, n);
    free(pcm);
}

static void test_embed_pack_question(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    CHECK(make_question() == 0);
    check_embed(question, "the spoken pack question");
    char text[1024];
    embed_line(axiom_event_name(AXIOM_EVENT_TRANSCRIPT), text, sizeof text);
    CHECK_CONTAINS(text, "go2");
}

static void test_embed_real_recording(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    char jfk[512];
    if (!tu_shared_path("audio/jfk.wav", jfk, sizeof jfk))
        SKIP("../shared/audio/jfk.wav not found");
    check_embed(jfk, "jfk.wav");
}

/* Parses `axiom listen` output: every line one JSON object with an "event"; returns
 * the events in order (caller deletes) and checks the turn's shape. */
static cJSON *check_listen_output(const char *what) {
    cJSON *events = cJSON_CreateArray();
    int lines = 0;
    for (char *p = out, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
        cJSON *j = line ? cJSON_Parse(line) : NULL;
        CHECK_MSG(j && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "event")),
                  "%s: not an event: %s", what, line ? line : "");
        if (j) cJSON_AddItemToArray(events, j);
        free(line);
        lines++;
    }
    CHECK_MSG(lines >= 5, "%s: %d lines", what, lines);
    const axiom_event_type want[] = {AXIOM_EVENT_SPEECH_START, AXIOM_EVENT_SPEECH_END,
                                     AXIOM_EVENT_TRANSCRIPT,   AXIOM_EVENT_ANSWER,
                                     AXIOM_EVENT_AUDIO,        AXIOM_EVENT_READY};
    const char *order[6];
    for (int i = 0; i < 6; i++)
        order[i] = axiom_event_name(want[i]);
    int at = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events) {
        const char *name = cJSON_GetObjectItemCaseSensitive(ev, "event")->valuestring;
        if (at < 6 && strcmp(name, order[at]) == 0) at++;
        if (strcmp(name, axiom_event_name(AXIOM_EVENT_AUDIO)) == 0) {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(ev, "samples");
            const cJSON *ms = cJSON_GetObjectItemCaseSensitive(ev, "ms");
            CHECK(cJSON_IsNumber(s) && s->valuedouble > 0 && cJSON_IsNumber(ms) &&
                  ms->valuedouble > 0);
            CHECK(cJSON_GetObjectItemCaseSensitive(ev, "pcm") ==
                  NULL); /* summarised, never the samples */
        }
        if (strcmp(name, axiom_event_name(AXIOM_EVENT_ANSWER)) == 0) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "text");
            CHECK(cJSON_IsString(t) && strlen(t->valuestring) > 5);
            CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ev, "path")));
        }
        if (strcmp(name, axiom_event_name(AXIOM_EVENT_ERROR)) == 0)
            CHECK_MSG(0, "%s: error event %s", what, cJSON_PrintUnformatted(ev));
    }
    CHECK_MSG(at == 6, "%s: events out of order or missing (%s not seen in order)", what,
              at < 6 ? order[at] : "");
    return events;
}

/* The last answer's text among the events. */
static const char *last_answer(const cJSON *events) {
    const char *t = "";
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(ev, "event")->valuestring,
                   axiom_event_name(AXIOM_EVENT_ANSWER)) == 0)
            t = cJSON_GetObjectItemCaseSensitive(ev, "text")->valuestring;
    }
    return t;
}

static void test_listen_file_and_stdin(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    struct stat st;
    if (stat(question, &st) != 0) CHECK(make_question() == 0);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s/axiom' listen --log-level error '%s'", env, build, question);
    CHECK_EQ_INT(run(cmd), 0);
    cJSON *from_file = check_listen_output("listen FILE");
    /* the same audio as raw PCM on stdin at its own rate: the same answer */
    snprintf(cmd, sizeof cmd, "%s '%s/axiom' listen --log-level error - --rate 22050 < '%s'", env,
             build, question_raw);
    CHECK_EQ_INT(run(cmd), 0);
    cJSON *from_stdin = check_listen_output("listen -");
    CHECK_STR(last_answer(from_stdin), last_answer(from_file));
    cJSON_Delete(from_file);
    cJSON_Delete(from_stdin);
}

static void test_listen_errors(void) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s/axiom' listen --log-level error '%s/absent.wav'", env, build,
             tmp);
    CHECK_EQ_INT(run(cmd), 1);
    CHECK_CONTAINS(errb, "absent.wav");
    snprintf(cmd, sizeof cmd, "%s '%s/axiom' listen - --rate 5 </dev/null", env, build);
    CHECK_EQ_INT(run(cmd), 2);
    CHECK_CONTAINS(errb, "8000 to 48000");
    snprintf(cmd, sizeof cmd, "%s '%s/axiom' listen --help", env, build);
    CHECK_EQ_INT(run(cmd), 0);
    CHECK_CONTAINS(out, "axiom listen");
}

int main(int argc, char **argv) {
    (void)argc;
    ssize_t n = readlink("/proc/self/exe", build, sizeof build - 1);
    build[n > 0 ? n : 0] = '\0';
    for (int up = 0; up < 2; up++) { /* BUILD/tests/this */
        char *slash = strrchr(build, '/');
        if (slash) *slash = '\0';
    }
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    snprintf(question, sizeof question, "%s/question.wav", tmp);
    snprintf(question_raw, sizeof question_raw, "%s/question.raw", tmp);
    /* embed reads $XDG_CACHE_HOME for its cache, axiom $AXIOM_CACHE_DIR: both here */
    snprintf(env, sizeof env,
             "XDG_CACHE_HOME='%s/cache' AXIOM_CACHE_DIR='%s/cache' AXIOM_LOG_LEVEL=warn", tmp, tmp);
    RUN(test_embed_pack_question);
    RUN(test_embed_real_recording);
    RUN(test_listen_file_and_stdin);
    RUN(test_listen_errors);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
