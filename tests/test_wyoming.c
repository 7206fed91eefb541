/* The Wyoming service with the real reference client: an in-process server with
 * wyoming.port set, and Debian's python3 running the `wyoming` package from
 * ../shared/wyoming-reference (the client Home Assistant uses) through the scripts in
 * tests/wyoming/, each printing one JSON line of what it saw.
 *
 * Covered: describe (parsed by the reference's Info) and ping; transcribe a real
 * recording (goforward.raw) in the formats the reference can send (rates, widths,
 * channels; converted by its own AudioChunkConverter), and a pack question spoken by
 * `axiom say`, each compared with what the library's recogniser hears; streaming
 * transcripts that arrive while audio is still being sent; synthesize, plain and
 * streaming (a sentence spoken before the rest of the text is sent); handle with a
 * history per conversation id, compared with axiom_ask; recognize, compared with
 * brain_assess; every bad input (bounds refused before the rest is read, malformed
 * events, wrong order, unknown events, silent and stalled peers, with another
 * connection served meanwhile); admission (wyoming.max_connections, server.max_sessions
 * shared with a browser session both ways, the governor's critical level); the service
 * alone (server.port = 0); the remote-address opt-in; discovery with no Avahi daemon and
 * with a real one (a private dbus-daemon and avahi-daemon, browsed with avahi-browse). */
#include "brain/brain.h"
#include "check.h"
#include "core/engine.h"
#include "core/util.h"
#include "server/server_internal.h"
#include "speech/stt.h"
#include "speech/stt_file.h"
#include "speech/wav.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"
#include "wyoming/wire.h"
#include "wyoming/wyoming.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TESTDATA "/usr/share/pocketsphinx/test/data"
#define GOFORWARD TESTDATA "/goforward.raw"
#define PYTHON "/usr/bin/python3"
#define QUESTION "what is the unitree go2"

static char tmp[256], refdir[1024], scripts[1024];
static server_fixture F; /* the shared server: most tests use it */
static int F_up;
static char spoken_question[600]; /* QUESTION by `axiom say`, 22.05 kHz */

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs tests/wyoming/<script> with the reference on PYTHONPATH; parses the last line of
 * its output as JSON (caller frees). NULL, with the script's stderr printed, when it
 * failed. */
static cJSON *py(const char *script, const char *args) {
    char cmd[4096], errf[400];
    snprintf(errf, sizeof errf, "%s/py.err", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && PYTHONPATH='%s' timeout 300 " PYTHON " -u %s %s 2>'%s'",
             scripts, refdir, script, args, errf);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    static char out[1 << 20];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    char *last = NULL;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        last = line;
    cJSON *j = last ? cJSON_Parse(last) : NULL;
    if (!j || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "  %s %s failed (status %d); its stderr:\n", script, args, st);
        char show[600];
        snprintf(show, sizeof show, "tail -n 25 '%s' | sed 's/^/    /' >&2", errf);
        if (system(show) != 0) fprintf(stderr, "    (none)\n");
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static const char *jstr(const cJSON *o, const char *key) {
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}
static double jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}
static int jtrue(const cJSON *o, const char *key) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The event types of a result, space-joined ("transcript-start transcript ..."). */
static const char *types_of(const cJSON *r, char *buf, size_t len) {
    buf[0] = '\0';
    size_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "events")) {
        const char *t = cJSON_IsString(e) ? e->valuestring : jstr(e, "type");
        int k = snprintf(buf + n, len - n, "%s%s", n ? " " : "", t ? t : "?");
        if (k < 0 || (size_t)k >= len - n) break;
        n += (size_t)k;
    }
    return buf;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* The chunks of a result joined ("go" + " forward" ...). */
static void joined(const cJSON *r, const char *key, char *buf, size_t len) {
    buf[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, key)) {
        if (cJSON_IsString(e)) strncat(buf, e->valuestring, len - strlen(buf) - 1);
    }
}

static int start(server_fixture *f, const char *const *extra, char *err, size_t errlen) {
    char port[48];
    snprintf(port, sizeof port, "wyoming.port=%d", fixture_free_port());
    const char *settings[24] = {port, "wyoming.zeroconf=false", "tts.voice=kal16"};
    int n = 3;
    for (const char *const *s = extra; s && *s && n < 23; s++)
        settings[n++] = *s;
    settings[n] = NULL;
    return fixture_start(f, settings, err, errlen);
}

static int wport(const server_fixture *f) {
    return server_wyoming_port(f->srv);
}

static int need_main(void) {
    if (!F_up) CHECK_MSG(0, "the shared server did not start");
    return F_up;
}

/* What the library's recogniser hears in 16 kHz audio fed whole, as one utterance. */
static int hear_in_process(const int16_t *pcm, size_t n, char *text, size_t len) {
    char err[300];
    int status = 0;
    stt_stream *s = stt_stream_begin(F.engine->stt, 10000, &status, err, sizeof err);
    if (!s) {
        fprintf(stderr, "  recogniser: %s\n", err);
        return -1;
    }
    stt_result r;
    memset(&r, 0, sizeof r);
    int rc = stt_stream_feed(s, pcm, n, err, sizeof err);
    if (rc != 0)
        stt_stream_cancel(s);
    else
        rc = stt_stream_finish(s, &r, err, sizeof err);
    if (rc == 0) str_copy(text, len, r.text ? r.text : "");
    stt_result_clear(&r);
    return rc;
}

/* ---- describe, ping ---- */

static void test_describe_and_ping(void) {
    if (!need_main()) return;
    char args[64];
    snprintf(args, sizeof args, "%d", wport(&F));
    cJSON *r = py("describe.py", args);
    CHECK(r != NULL);
    if (!r) return;
    const cJSON *asr = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "asr"), 0);
    const cJSON *tts = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "tts"), 0);
    const cJSON *handle = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "handle"), 0);
    const cJSON *intent = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "intent"), 0);
    CHECK(asr && tts && handle && intent);
    if (asr && tts && handle && intent) {
        CHECK(jtrue(asr, "installed"));
        CHECK(jtrue(asr, "streaming"));
        const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(asr, "models"), 0);
        CHECK_STR(jstr(m, "name"), "pocketsphinx-domain");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "languages"), 0)),
                  "en");
        CHECK(jtrue(tts, "streaming"));
        const cJSON *voices = cJSON_GetObjectItem(tts, "voices");
        CHECK_EQ_INT(cJSON_GetArraySize(voices), 5);
        int kal16 = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, voices) kal16 |=
            jstr(v, "name") && strcmp(jstr(v, "name"), "kal16") == 0;
        CHECK(kal16);
        CHECK(jtrue(handle, "streaming"));
        const cJSON *im = cJSON_GetArrayItem(cJSON_GetObjectItem(intent, "models"), 0);
        CHECK_CONTAINS(jstr(im, "description"), "equipment_query");
        CHECK_CONTAINS(jstr(im, "description"), "troubleshooting");
    }
    CHECK_STR(jstr(r, "pong"), "are you there");
    cJSON_Delete(r);
}

/* ---- transcribe ---- */

static cJSON *transcribe(const char *audio, const char *extra) {
    char args[1400];
    snprintf(args, sizeof args, "%d --audio '%s' %s", wport(&F), audio, extra ? extra : "");
    return py("transcribe.py", args);
}

/* A streamed transcript: transcript-start first, chunks that join into the transcript
 * (when the recogniser never revised a word it had sent), transcript, transcript-stop. */
static void check_stream_shape(const cJSON *r) {
    char types[4096], chunks[2048];
    types_of(r, types, sizeof types);
    CHECK_MSG(strncmp(types, "transcript-start", 16) == 0, "events: %s", types);
    CHECK_MSG(ends_with(types, " transcript transcript-stop"), "events: %s", types);
    CHECK_MSG(strstr(types, "transcript-chunk") != NULL, "no transcript-chunk: %s", types);
    joined(r, "chunks", chunks, sizeof chunks);
    CHECK_STR(chunks, jstr(r, "transcript"));
}

static void test_transcribe_recording(void) {
    if (!need_main()) return;
    size_t n = 0;
    int16_t *pcm = tu_read_raw(GOFORWARD, &n);
    CHECK_MSG(pcm != NULL, "%s is missing: install pocketsphinx-testdata", GOFORWARD);
    if (!pcm) return;
    char local[512] = "";
    CHECK(hear_in_process(pcm, n, local, sizeof local) == 0);
    free(pcm);
    cJSON *r = transcribe(GOFORWARD, NULL);
    CHECK(r != NULL);
    if (!r) return;
    CHECK_MSG(cJSON_GetArraySize(cJSON_GetObjectItem(r, "errors")) == 0, "errors: %s",
              cJSON_PrintUnformatted(cJSON_GetObjectItem(r, "errors")));
    const char *t = jstr(r, "transcript");
    CHECK_CONTAINS(t, "go forward");
    /* Over Wyoming, in 1024-sample chunks, the same words as the library hears. */
    CHECK_STR(t, local);
    check_stream_shape(r);
    fprintf(stderr, "  goforward.raw over Wyoming: \"%s\" (%.0f ms after audio-stop)\n", t ? t : "",
            jnum(r, "stop_to_transcript_ms"));
    cJSON_Delete(r);
}

static void test_transcribe_formats(void) {
    if (!need_main()) return;
    cJSON *base = transcribe(GOFORWARD, NULL);
    const char *want = base ? jstr(base, "transcript") : NULL;
    CHECK(want != NULL);
    /* Rate, width (1 to 4 bytes, as audioop reads them) and channels, each converted by
     * the reference's AudioChunkConverter before it is sent. */
    static const struct {
        int rate, width, channels;
        int same; /* the same words as 16 kHz mono s16 (nothing lost on the way) */
    } fmts[] = {
        {16000, 2, 2, 1}, {16000, 4, 1, 1}, {16000, 3, 2, 1}, {44100, 4, 2, 0},
        {48000, 3, 1, 0}, {22050, 2, 1, 0}, {8000, 2, 1, 0},  {11025, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        char extra[200];
        snprintf(extra, sizeof extra, "--rate %d --width %d --channels %d --samples-per-chunk 777",
                 fmts[i].rate, fmts[i].width, fmts[i].channels);
        cJSON *r = transcribe(GOFORWARD, extra);
        CHECK_MSG(r != NULL, "format %d Hz, %d bytes, %d channels", fmts[i].rate, fmts[i].width,
                  fmts[i].channels);
        if (!r) continue;
        const char *t = jstr(r, "transcript");
        fprintf(stderr, "  %5d Hz, width %d, %d channel(s): \"%s\"\n", fmts[i].rate, fmts[i].width,
                fmts[i].channels, t ? t : "(none)");
        CHECK_MSG(t != NULL, "no transcript for %d Hz, %d bytes, %d channels: %s", fmts[i].rate,
                  fmts[i].width, fmts[i].channels, cJSON_PrintUnformatted(r));
        if (fmts[i].same && want)
            CHECK_STR(t, want);
        else if (fmts[i].width > 1)
            CHECK_CONTAINS(t, "forward");
        cJSON_Delete(r);
    }
    cJSON_Delete(base);
}

static void test_transcribe_streams_while_audio_arrives(void) {
    if (!need_main()) return;
    /* At a microphone's pace, words the recogniser has settled on come back before the
     * speaker has finished. */
    cJSON *r = transcribe(GOFORWARD, "--realtime --no-transcribe");
    CHECK(r != NULL);
    if (!r) return;
    check_stream_shape(r);
    CHECK_MSG(jnum(r, "chunks_before_stop") >= 1, "no transcript-chunk before audio-stop: %s",
              cJSON_PrintUnformatted(r));
    double ms = jnum(r, "stop_to_transcript_ms");
    CHECK_MSG(ms >= 0 && ms < 2000, "transcript %.0f ms after audio-stop", ms);
    fprintf(stderr,
            "  real-time pace: %.0f chunk(s) before audio-stop, transcript %.0f ms after it\n",
            jnum(r, "chunks_before_stop"), ms);
    cJSON_Delete(r);
}

/* A pack question spoken by axiom itself, sent as 44.1 kHz 32-bit stereo; then the
 * pipeline Home Assistant runs: its transcript answered (handle), the answer spoken
 * (streaming synthesis). */
static void test_pack_question_pipeline(void) {
    if (!need_main()) return;
    CHECK_MSG(spoken_question[0], "axiom say did not make the question");
    if (!spoken_question[0]) return;
    int16_t *pcm = NULL;
    size_t n = 0;
    char err[300], local[512] = "";
    CHECK(wav_read_all(spoken_question, 16000, 30, &pcm, &n, err, sizeof err) == 0);
    if (pcm) CHECK(hear_in_process(pcm, n, local, sizeof local) == 0);
    free(pcm);
    cJSON *r = transcribe(spoken_question, "--rate 44100 --width 4 --channels 2");
    CHECK(r != NULL);
    if (!r) return;
    const char *t = jstr(r, "transcript");
    int words = 0, errs = t ? stt_word_errors(QUESTION, t, &words) : 99;
    fprintf(stderr,
            "  \"%s\" spoken by flite, over Wyoming at 44.1 kHz/32-bit/stereo: \"%s\" (library: "
            "\"%s\")\n",
            QUESTION, t ? t : "", local);
    CHECK_MSG(errs <= 1, "%d word errors in \"%s\"", errs, t ? t : "");
    check_stream_shape(r);
    char args[1200];
    snprintf(args, sizeof args, "%d '%s' --conversation pipeline-1", wport(&F), t ? t : "");
    cJSON *h = py("converse.py", args);
    const cJSON *a = cJSON_GetArrayItem(h, 0);
    CHECK_CONTAINS(jstr(a, "handled"), "Unitree Go2");
    if (jstr(a, "handled")) {
        char sargs[2000];
        snprintf(sargs, sizeof sargs, "%d --stream --text '%s'", wport(&F), jstr(a, "handled"));
        cJSON *s = py("synthesize.py", sargs);
        CHECK(s != NULL);
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(s, "groups")), 2); /* two sentences */
        cJSON_Delete(s);
    }
    cJSON_Delete(h);
    cJSON_Delete(r);
}

/* ---- synthesize ---- */

static void check_speech_group(const cJSON *g, double min_s) {
    CHECK_EQ_INT(jnum(g, "rate"), 16000);
    CHECK_EQ_INT(jnum(g, "width"), 2);
    CHECK_EQ_INT(jnum(g, "channels"), 1);
    CHECK_MSG(jnum(g, "samples") >= min_s * 16000, "%.0f samples", jnum(g, "samples"));
    CHECK_MSG(jnum(g, "rms") > 300, "rms %.0f: not speech", jnum(g, "rms"));
}

static void test_synthesize(void) {
    if (!need_main()) return;
    char args[300];
    snprintf(args, sizeof args, "%d --text 'Hello there. This is AXIOM speaking.'", wport(&F));
    cJSON *r = py("synthesize.py", args);
    CHECK(r != NULL);
    const cJSON *groups = cJSON_GetObjectItem(r, "groups");
    CHECK_EQ_INT(cJSON_GetArraySize(groups), 1); /* one audio stream for the whole text */
    if (cJSON_GetArraySize(groups) == 1) check_speech_group(cJSON_GetArrayItem(groups, 0), 1.2);
    cJSON_Delete(r);
    /* Another voice by name, as info lists it; an unknown one is a clear error. */
    snprintf(args, sizeof args, "%d --text 'Hello.' --voice slt", wport(&F));
    r = py("synthesize.py", args);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "groups")), 1);
    cJSON_Delete(r);
    snprintf(args, sizeof args, "%d --text 'Hello.' --voice nobody", wport(&F));
    r = py("synthesize.py", args);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "errors"), 0);
    CHECK_STR(jstr(e, "code"), "bad_request");
    CHECK_CONTAINS(jstr(e, "text"), "kal16");
    cJSON_Delete(r);
}

static void test_synthesize_streaming(void) {
    if (!need_main()) return;
    char args[300];
    snprintf(args, sizeof args,
             "%d --stream --text 'Hello there. This is|AXIOM speaking.| Goodbye'", wport(&F));
    cJSON *r = py("synthesize.py", args);
    CHECK(r != NULL);
    if (!r) return;
    /* The first sentence was spoken before the rest of the text was sent. */
    CHECK_EQ_INT(jnum(r, "first_groups"), 1);
    const cJSON *groups = cJSON_GetObjectItem(r, "groups");
    /* One stream per sentence; the plain synthesize sent along is not spoken again. */
    CHECK_EQ_INT(cJSON_GetArraySize(groups), 3);
    const cJSON *g;
    cJSON_ArrayForEach(g, groups) check_speech_group(g, 0.3);
    char types[4096];
    types_of(r, types, sizeof types);
    CHECK_MSG(ends_with(types, " synthesize-stopped"), "events: %s", types);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "errors")), 0);
    cJSON_Delete(r);
}

/* ---- handle, recognize ---- */

static void ask_local(axiom_session *s, const char *text, char *out, size_t len) {
    axiom_reply rep;
    char err[300];
    out[0] = '\0';
    if (axiom_ask(F.engine, s, text, NULL, NULL, NULL, &rep, err, sizeof err) == 0) {
        str_copy(out, len, rep.text);
        axiom_reply_free(&rep);
    }
}

static void check_handled(const cJSON *a, const char *want) {
    char types[2048], chunks[4096];
    types_of(a, types, sizeof types);
    CHECK_MSG(strncmp(types, "handled-start handled-chunk", 27) == 0, "events: %s", types);
    CHECK_MSG(ends_with(types, " handled handled-stop"), "events: %s", types);
    CHECK_STR(jstr(a, "handled"), want);
    joined(a, "chunks", chunks, sizeof chunks);
    CHECK_STR(chunks, want);
}

static void test_handle_conversations(void) {
    if (!need_main()) return;
    char args[400];
    snprintf(args, sizeof args,
             "%d '" QUESTION "' 'how much does it weigh' --conversation wy-conv-1", wport(&F));
    cJSON *r = py("converse.py", args);
    CHECK_EQ_INT(cJSON_GetArraySize(r), 2);
    /* The brain's answers, as axiom_ask gives them in one session of two turns. */
    axiom_session *s = axiom_session_new(F.engine);
    char a1[2000], a2[2000], lone[2000];
    ask_local(s, QUESTION, a1, sizeof a1);
    ask_local(s, "how much does it weigh", a2, sizeof a2);
    axiom_session_free(s);
    s = axiom_session_new(F.engine);
    ask_local(s, "how much does it weigh", lone, sizeof lone);
    axiom_session_free(s);
    CHECK_CONTAINS(a2, "15");
    CHECK_MSG(strcmp(a2, lone) != 0, "the follow-up needs the first turn's topic to make sense");
    const cJSON *x = cJSON_GetArrayItem(r, 0), *y = cJSON_GetArrayItem(r, 1);
    if (x && y) {
        check_handled(x, a1);
        check_handled(y, a2); /* the history of wy-conv-1 */
        CHECK_STR(jstr(cJSON_GetObjectItem(y, "context"), "conversation_id"), "wy-conv-1");
    }
    cJSON_Delete(r);
    /* Another conversation has its own history: the same follow-up alone. */
    snprintf(args, sizeof args, "%d 'how much does it weigh' --conversation wy-conv-2", wport(&F));
    r = py("converse.py", args);
    if (cJSON_GetArrayItem(r, 0)) check_handled(cJSON_GetArrayItem(r, 0), lone);
    cJSON_Delete(r);
    /* Nothing to answer: not-handled, with words a speaker can say. */
    snprintf(args, sizeof args, "%d '' 'um' --conversation wy-conv-3", wport(&F));
    r = py("converse.py", args);
    const cJSON *e;
    cJSON_ArrayForEach(e, r) {
        CHECK_MSG(jstr(e, "not_handled") != NULL, "%s", cJSON_PrintUnformatted(e));
        CHECK(!jtrue(e, "closed"));
    }
    cJSON_Delete(r);
}

static void test_recognize(void) {
    if (!need_main()) return;
    char args[400];
    snprintf(args, sizeof args,
             "%d --recognize 'how heavy is the go two' 'hello there' 'purple monkey dishwasher'",
             wport(&F));
    cJSON *r = py("converse.py", args);
    CHECK_EQ_INT(cJSON_GetArraySize(r), 3);
    brain_session *s = brain_session_new(F.engine->brain);
    brain_assessment a;
    char err[300];
    CHECK(brain_assess(F.engine->brain, s, "how heavy is the go two", engine_brain_mode(F.engine),
                       1, &a, err, sizeof err) == 0);
    brain_session_free(s);
    const cJSON *x = cJSON_GetArrayItem(r, 0);
    CHECK_STR(jstr(x, "name"), a.intent);
    CHECK_STR(jstr(x, "name"), "equipment_query");
    CHECK_STR(jstr(cJSON_GetObjectItem(x, "entities"), "item"), "Unitree Go2 EDU");
    CHECK_STR(jstr(cJSON_GetObjectItem(x, "entities"), "item_id"), "unitree-go2");
    CHECK_CONTAINS(jstr(x, "text"), "15 kg"); /* the pack's canned answer */
    CHECK_STR(jstr(cJSON_GetArrayItem(r, 1), "name"), "greeting");
    CHECK_MSG(jstr(cJSON_GetArrayItem(r, 2), "not_recognized") != NULL, "%s",
              cJSON_PrintUnformatted(cJSON_GetArrayItem(r, 2)));
    cJSON_Delete(r);
}

/* ---- bad input ---- */

static void check_case(const cJSON *all, const char *name, const char *code, int closed) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(all, name);
    CHECK_MSG(c != NULL, "case %s did not run", name);
    if (!c) return;
    const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "events"), 0);
    const cJSON *data = cJSON_GetObjectItem(ev, "data");
    CHECK_MSG(jstr(ev, "type") && strcmp(jstr(ev, "type"), "error") == 0 && jstr(data, "code") &&
                  strcmp(jstr(data, "code"), code) == 0,
              "%s: wanted an error '%s', got %s", name, code, cJSON_PrintUnformatted(c));
    CHECK_MSG(jstr(data, "text") && strlen(jstr(data, "text")) > 10, "%s: no words in the error",
              name);
    CHECK_MSG(jtrue(c, "closed") == closed, "%s: closed %d, wanted %d", name, jtrue(c, "closed"),
              closed);
    if (!closed) /* still at an event boundary: the connection goes on */
        CHECK_MSG(jstr(cJSON_GetObjectItem(c, "after"), "type") &&
                      strcmp(jstr(cJSON_GetObjectItem(c, "after"), "type"), "pong") == 0,
                  "%s: no pong after the error: %s", name, cJSON_PrintUnformatted(c));
}

static void test_bad_input(void) {
    if (!need_main()) return;
    char args[600];
    snprintf(args, sizeof args,
             "%d long_header huge_data huge_payload bad_json not_object no_type negative_length "
             "data_not_object "
             "chunk_before_start stop_before_start synth_chunk_before_start unknown_event no_text "
             "bad_width "
             "long_text",
             wport(&F));
    cJSON *r = py("bad_input.py", args);
    CHECK(r != NULL);
    if (!r) return;
    check_case(r, "long_header", "too_big", 1);
    check_case(r, "huge_data", "too_big", 1);
    check_case(r, "huge_payload", "too_big", 1);
    /* Refused on the header alone: the 1 GiB was never sent, so waiting for it would
     * have taken until the idle timeout (3 s). */
    CHECK_MSG(jnum(cJSON_GetObjectItem(r, "huge_data"), "elapsed_ms") < 1500, "%.0f ms",
              jnum(cJSON_GetObjectItem(r, "huge_data"), "elapsed_ms"));
    CHECK_MSG(jnum(cJSON_GetObjectItem(r, "huge_payload"), "elapsed_ms") < 1500, "%.0f ms",
              jnum(cJSON_GetObjectItem(r, "huge_payload"), "elapsed_ms"));
    check_case(r, "bad_json", "bad_event", 1);
    check_case(r, "not_object", "bad_event", 1);
    check_case(r, "no_type", "bad_event", 1);
    check_case(r, "negative_length", "bad_event", 1);
    check_case(r, "data_not_object", "bad_event", 1);
    check_case(r, "chunk_before_start", "out_of_order", 0);
    check_case(r, "stop_before_start", "out_of_order", 0);
    check_case(r, "synth_chunk_before_start", "out_of_order", 0);
    check_case(r, "unknown_event", "unknown_event", 0);
    check_case(r, "no_text", "bad_request", 0);
    check_case(r, "bad_width", "bad_request", 0);
    check_case(r, "long_text", "bad_request", 0);
    cJSON_Delete(r);
    CHECK_EQ_INT(wyoming_connections(F.srv->wyoming), 0);
}

static void test_stalled_peers_and_a_neighbour(void) {
    if (!need_main()) return;
    char args[64];
    snprintf(args, sizeof args, "%d", wport(&F));
    cJSON *r = py("neighbours.py", args);
    CHECK(r != NULL);
    if (!r) return;
    const char *who[] = {"silent", "half_header"};
    for (int i = 0; i < 2; i++) {
        const cJSON *p = cJSON_GetObjectItem(r, who[i]);
        double ms = jnum(p, "closed_after_ms");
        /* wyoming.idle_timeout_s = 3 here, plus the server's short wait for the close */
        CHECK_MSG(ms >= 2800 && ms < 8000, "%s peer closed after %.0f ms", who[i], ms);
        const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "events"), 0);
        CHECK_STR(jstr(cJSON_GetObjectItem(ev, "data"), "code"), "timeout");
    }
    const cJSON *o = cJSON_GetObjectItem(r, "other");
    CHECK(jnum(o, "requests") >= 10);
    CHECK_EQ_INT(jnum(o, "replies"), jnum(o, "requests"));
    CHECK_MSG(jnum(o, "slowest_ms") < 2000, "the other connection waited %.0f ms",
              jnum(o, "slowest_ms"));
    fprintf(stderr,
            "  stalled peers closed after %.0f / %.0f ms; meanwhile %.0f requests answered, "
            "slowest %.0f ms\n",
            jnum(cJSON_GetObjectItem(r, "silent"), "closed_after_ms"),
            jnum(cJSON_GetObjectItem(r, "half_header"), "closed_after_ms"), jnum(o, "requests"),
            jnum(o, "slowest_ms"));
    cJSON_Delete(r);
}

/* ---- admission ---- */

static void check_refused(const cJSON *r, const char *why) {
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "refused"), 0);
    CHECK_MSG(jstr(e, "type") && strcmp(jstr(e, "type"), "error") == 0, "not refused: %s",
              cJSON_PrintUnformatted(r));
    CHECK_STR(jstr(cJSON_GetObjectItem(e, "data"), "code"), "busy");
    CHECK_CONTAINS(jstr(cJSON_GetObjectItem(e, "data"), "text"), why);
}

static void test_max_connections(void) {
    const char *extra[] = {"wyoming.max_connections=2", NULL};
    server_fixture f;
    char err[512], args[64];
    if (start(&f, extra, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    snprintf(args, sizeof args, "%d --hold 2", wport(&f));
    cJSON *r = py("busy.py", args);
    check_refused(r, "wyoming.max_connections");
    CHECK_STR(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "after"), 0), "type"), "pong");
    cJSON_Delete(r);
    fixture_stop(&f);
}

/* A Wyoming connection in C (the wire functions), for holding a slot. */
static int wy_connect_ping(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        wy_write_event(fd, "ping", NULL, NULL, 0)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    wy_reader rd;
    wy_reader_init(&rd, fd);
    wy_limits lim = {65536, 65536};
    wy_event ev;
    char err[200];
    int ok = wy_read_event(&rd, &lim, 10000, &ev, err, sizeof err) == WY_OK &&
             strcmp(ev.type, "pong") == 0;
    wy_event_clear(&ev);
    wy_reader_free(&rd);
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_sessions_shared_with_browsers(void) {
    const char *extra[] = {"server.max_sessions=1", NULL};
    server_fixture f;
    char err[512], args[64];
    if (start(&f, extra, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    /* A browser session holds the only slot: Wyoming is refused. */
    int st = 0;
    ws_client *ws = ws_client_connect(f.port, "/ws", NULL, 5000, &st, err, sizeof err);
    CHECK(ws != NULL);
    ws_msg m;
    if (ws) CHECK_EQ_INT(ws_client_recv(ws, 3000, &m), 0); /* served: no close */
    snprintf(args, sizeof args, "%d", wport(&f));
    cJSON *r = py("busy.py", args);
    check_refused(r, "server.max_sessions");
    cJSON_Delete(r);
    ws_client_free(ws);
    sleep_ms(500);
    /* A Wyoming connection holds it: the browser is refused (close 1013). */
    int fd = wy_connect_ping(wport(&f));
    CHECK(fd >= 0);
    ws = ws_client_connect(f.port, "/ws", NULL, 5000, &st, err, sizeof err);
    if (ws) {
        int got = ws_client_recv(ws, 3000, &m);
        CHECK_EQ_INT(got, -1);
        CHECK_EQ_INT(ws_client_close_code(ws), 1013);
        ws_client_free(ws);
    }
    if (fd >= 0) close(fd);
    sleep_ms(300);
    pthread_mutex_lock(&f.srv->mu);
    int n = f.srv->nsessions;
    pthread_mutex_unlock(&f.srv->mu);
    CHECK_EQ_INT(n, 0);
    fixture_stop(&f);
}

static void test_refused_at_critical_level(void) {
    const char *extra[] = {"mem.budget_mb=1", "tts.backend=none", NULL};
    server_fixture f;
    char err[512], args[64];
    if (start(&f, extra, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(governor_check(f.engine->gov), GOV_LEVEL_CRITICAL);
    snprintf(args, sizeof args, "%d", wport(&f));
    cJSON *r = py("busy.py", args);
    check_refused(r, "memory");
    cJSON_Delete(r);
    fixture_stop(&f);
}

/* ---- the service alone, addresses ---- */

/* `axiom serve` in the background with env (may be "") and args; its output goes to
 * tmp/<name>.out. Returns its pid or 0. */
static int serve_bg(const char *name, const char *env, const char *args) {
    char cmd[3000];
    const char *bin = getenv("AXIOM_BIN");
    char binbuf[1024];
    if (!bin || !*bin) bin = tu_root_path("build/axiom", binbuf, sizeof binbuf);
    snprintf(cmd, sizeof cmd, "%s '%s' serve %s >'%s/%s.out' 2>&1 & echo $!", env, bin, args, tmp,
             name);
    FILE *p = popen(cmd, "r");
    int pid = 0;
    if (p) {
        if (fscanf(p, "%d", &pid) != 1) pid = 0;
        pclose(p);
    }
    return pid;
}

/* Waits (at most ms) until tmp/<name>.out contains text; its content goes to out. */
static int serve_says(const char *name, const char *text, int ms, char *out, size_t len) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s.out", tmp, name);
    for (int waited = 0;; waited += 100) {
        FILE *o = fopen(path, "r");
        size_t k = o ? fread(out, 1, len - 1, o) : 0;
        out[k] = '\0';
        if (o) fclose(o);
        if (strstr(out, text)) return 1;
        if (waited >= ms) return 0;
        sleep_ms(100);
    }
}

static void serve_stop(int pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
        sleep_ms(100);
    CHECK_MSG(kill(pid, 0) != 0, "axiom serve did not stop on SIGTERM");
}

static void test_wyoming_alone(void) {
    const char *extra[] = {"server.port=0", NULL};
    server_fixture f;
    char err[512], args[300];
    if (start(&f, extra, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(server_port(f.srv), 0);
    CHECK(f.srv->ctx == NULL); /* no HTTP server */
    snprintf(args, sizeof args, "%d", wport(&f));
    cJSON *r = py("describe.py", args);
    CHECK_STR(jstr(r, "pong"), "are you there");
    cJSON_Delete(r);
    fixture_stop(&f);
    /* Neither service: a clear error, not a process serving nothing. */
    const char *none[] = {"server.port=0", "wyoming.port=0", NULL};
    CHECK(fixture_start(&f, none, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "nothing to serve");
    /* `axiom serve --port 0 --wyoming.port N` says where it listens, and only there. */
    int port = fixture_free_port();
    snprintf(args, sizeof args,
             "--port 0 --wyoming.port %d --set wyoming.zeroconf=false --log-level warn", port);
    int pid = serve_bg("alone", "", args);
    CHECK(pid > 0);
    char out[8192], want[64];
    snprintf(want, sizeof want, "tcp://127.0.0.1:%d", port);
    CHECK_MSG(serve_says("alone", want, 10000, out, sizeof out), "axiom serve said: %s", out);
    CHECK(strstr(out, "http://") == NULL);
    snprintf(args, sizeof args, "%d", port);
    r = py("describe.py", args);
    CHECK_STR(jstr(r, "pong"), "are you there");
    cJSON_Delete(r);
    serve_stop(pid);
}

static void test_remote_address_needs_opt_in(void) {
    const char *extra[] = {"wyoming.host=0.0.0.0", NULL};
    server_fixture f;
    char err[512], args[64];
    CHECK(start(&f, extra, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "wyoming.allow_remote");
    CHECK_CONTAINS(err, "no authentication");
    const char *ok[] = {"wyoming.host=0.0.0.0", "wyoming.allow_remote=true", NULL};
    if (start(&f, ok, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start with wyoming.allow_remote: %s", err);
        return;
    }
    snprintf(args, sizeof args, "%d", wport(&f));
    cJSON *r = py("describe.py", args);
    CHECK_STR(jstr(r, "pong"), "are you there");
    cJSON_Delete(r);
    fixture_stop(&f);
}

/* ---- discovery ----
 * In `axiom serve` processes: libdbus reads the system bus address once per process,
 * so each case needs a process of its own with its own DBUS_SYSTEM_BUS_ADDRESS. */

static void test_discovery_without_daemon(void) {
    /* No D-Bus at all: discovery is unavailable, said once, and the service runs. */
    int port = fixture_free_port();
    char env[600], args[300], out[8192];
    snprintf(env, sizeof env, "DBUS_SYSTEM_BUS_ADDRESS='unix:path=%s/no-such-bus'", tmp);
    snprintf(args, sizeof args, "--port 0 --wyoming.port %d --log-level info", port);
    int pid = serve_bg("nodbus", env, args);
    CHECK_MSG(serve_says("nodbus", "Wyoming service", 10000, out, sizeof out),
              "axiom serve said: %s", out);
    CHECK_CONTAINS(out, "zeroconf discovery unavailable");
    CHECK_CONTAINS(out, "discovery: unavailable");
    snprintf(args, sizeof args, "%d", port);
    cJSON *r = py("describe.py", args);
    CHECK_STR(jstr(r, "pong"), "are you there");
    cJSON_Delete(r);
    serve_stop(pid);
}

static pid_t spawn_quiet(const char *const *argv, const char *log) {
    pid_t pid = fork();
    if (pid == 0) {
        FILE *lf = fopen(log, "w");
        if (lf) {
            dup2(fileno(lf), 1);
            dup2(fileno(lf), 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void stop_child(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int st;
    for (int i = 0; i < 50; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) return;
        sleep_ms(100);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

/* avahi-browse's resolved lines for _wyoming._tcp ("=;lo;IPv4;NAME;...;ADDR;PORT;"). */
static void browse(const char *env, char *out, size_t len) {
    char cmd[800];
    snprintf(cmd, sizeof cmd, "%s timeout 10 avahi-browse -rtp _wyoming._tcp 2>/dev/null", env);
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p) return;
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    pclose(p);
}

static int listed(const char *seen, const char *name, int port) {
    char want[200], addr[64], copy[1 << 16];
    snprintf(want, sizeof want, ";%s;_wyoming._tcp;local;", name);
    snprintf(addr, sizeof addr, ";127.0.0.1;%d;", port);
    str_copy(copy, sizeof copy, seen);
    int found = 0;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"))
        found |= line[0] == '=' && strstr(line, want) && strstr(line, addr);
    return found;
}

/* A private avahi-daemon on the private bus at sock (its config in tmp). */
static pid_t start_avahi(const char *sock, const char *logname) {
    char aconf[400], log[400], addr[450];
    snprintf(aconf, sizeof aconf, "%s/avahi.conf", tmp);
    snprintf(log, sizeof log, "%s/%s", tmp, logname);
    CHECK(tu_write_file(
              aconf, "[server]\nuse-ipv4=yes\nuse-ipv6=no\nenable-dbus=yes\n"
                     "[wide-area]\nenable-wide-area=no\n[publish]\npublish-addresses=yes\n") == 0);
    /* The daemon finds the bus through the same variable as its clients. */
    char *old =
        getenv("DBUS_SYSTEM_BUS_ADDRESS") ? strdup(getenv("DBUS_SYSTEM_BUS_ADDRESS")) : NULL;
    snprintf(addr, sizeof addr, "unix:path=%s", sock);
    setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
    const char *argv[] = {"/usr/sbin/avahi-daemon", "-f", aconf, "--no-drop-root", "--no-chroot",
                          "--no-rlimits",           NULL};
    pid_t pid = spawn_quiet(argv, log);
    if (old)
        setenv("DBUS_SYSTEM_BUS_ADDRESS", old, 1);
    else
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
    free(old);
    char l[4096] = "";
    for (int i = 0; i < 100 && !strstr(l, "Server startup complete"); i++) {
        sleep_ms(100);
        FILE *lf = fopen(log, "r");
        size_t k = lf ? fread(l, 1, sizeof l - 1, lf) : 0;
        l[k] = '\0';
        if (lf) fclose(lf);
    }
    CHECK_MSG(strstr(l, "Server startup complete") != NULL, "avahi-daemon did not start: %s", l);
    return pid;
}

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_discovery_with_avahi(void) {
    /* The system's Avahi daemon when one runs; else a private system bus whose daemon
     * this test starts after AXIOM (discovery waits for it), restarts (AXIOM registers
     * again) and stops. */
    pid_t bus = 0, avahi = 0;
    char env[600] = "", sock[400] = "";
    struct stat sb;
    int system_daemon =
        stat("/run/avahi-daemon/pid", &sb) == 0 && stat("/run/dbus/system_bus_socket", &sb) == 0;
    if (access("/usr/bin/avahi-browse", X_OK) != 0) {
        CHECK_MSG(0, "avahi-browse is missing: install avahi-utils");
        return;
    }
    if (!system_daemon) {
        if (access("/usr/sbin/avahi-daemon", X_OK) != 0 ||
            access("/usr/bin/dbus-daemon", X_OK) != 0) {
            CHECK_MSG(0, "avahi-daemon or dbus-daemon is missing: install avahi-daemon dbus");
            return;
        }
        if (geteuid() != 0)
            SKIP("no Avahi daemon can run: none is running and avahi-daemon needs root to start "
                 "one");
        char conf[400], log[400], text[2000];
        snprintf(conf, sizeof conf, "%s/bus.conf", tmp);
        snprintf(sock, sizeof sock, "%s/bus", tmp);
        snprintf(
            text, sizeof text,
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
            " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
            "<busconfig><type>system</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>\n"
            "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>"
            "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>\n",
            sock);
        CHECK(tu_write_file(conf, text) == 0);
        char cfgarg[450];
        snprintf(cfgarg, sizeof cfgarg, "--config-file=%s", conf);
        const char *bargv[] = {"/usr/bin/dbus-daemon", cfgarg, "--nofork", "--nopidfile", NULL};
        snprintf(log, sizeof log, "%s/dbus.log", tmp);
        bus = spawn_quiet(bargv, log);
        for (int i = 0; i < 50 && stat(sock, &sb) != 0; i++)
            sleep_ms(100);
        snprintf(env, sizeof env, "DBUS_SYSTEM_BUS_ADDRESS='unix:path=%s'", sock);
    }
    char name[64], args[400], out[8192];
    static char seen[1 << 16];
    snprintf(name, sizeof name, "AXIOM-test-%d", (int)getpid());
    int port = fixture_free_port();
    snprintf(args, sizeof args,
             "--port 0 --wyoming.port %d --set 'wyoming.zeroconf_name=%s' --log-level info", port,
             name);
    int pid = serve_bg("avahi", env, args);
    if (!system_daemon) {
        /* No daemon yet: AXIOM serves and waits for one. */
        CHECK_MSG(
            serve_says("avahi", "discovery: waiting for the Avahi daemon", 10000, out, sizeof out),
            "axiom serve said: %s", out);
        avahi = start_avahi(sock, "avahi.log");
    }
    CHECK_MSG(serve_says("avahi", "advertised as", 10000, out, sizeof out), "axiom serve said: %s",
              out);
    browse(env, seen, sizeof seen);
    CHECK_MSG(listed(seen, name, port), "avahi-browse does not list %s on 127.0.0.1:%d: %s", name,
              port, seen);
    if (!system_daemon) {
        /* The daemon restarts: AXIOM registers again. */
        stop_child(avahi);
        CHECK_MSG(serve_says("avahi", "went away", 10000, out, sizeof out), "axiom serve said: %s",
                  out);
        avahi = start_avahi(sock, "avahi2.log");
        for (int i = 0; i < 100 && count_of(out, "advertised as") < 2; i++) {
            sleep_ms(100);
            serve_says("avahi", "advertised as", 0, out, sizeof out);
        }
        CHECK_MSG(count_of(out, "advertised as") == 2, "not advertised again: %s", out);
        browse(env, seen, sizeof seen);
        CHECK_MSG(listed(seen, name, port), "not listed after the daemon restarted: %s", seen);
    }
    /* A second AXIOM with the same name gets Avahi's alternative. */
    int port2 = fixture_free_port();
    snprintf(args, sizeof args,
             "--port 0 --wyoming.port %d --set 'wyoming.zeroconf_name=%s' --log-level info", port2,
             name);
    int pid2 = serve_bg("avahi-twin", env, args);
    char alt[100];
    snprintf(alt, sizeof alt, "advertised as '%s #2'", name);
    CHECK_MSG(serve_says("avahi-twin", alt, 10000, out, sizeof out), "axiom serve said: %s", out);
    serve_stop(pid2);
    serve_stop(pid);
    /* Stopped: withdrawn. */
    browse(env, seen, sizeof seen);
    CHECK_MSG(!listed(seen, name, port), "still advertised after axiom serve stopped");
    /* wyoming.zeroconf = false: not advertised at all. */
    port = fixture_free_port();
    snprintf(
        args, sizeof args,
        "--port 0 --wyoming.port %d --set 'wyoming.zeroconf_name=%s' --set wyoming.zeroconf=false "
        "--log-level info",
        port, name);
    pid = serve_bg("avahi-off", env, args);
    CHECK_MSG(serve_says("avahi-off", "discovery: off", 10000, out, sizeof out),
              "axiom serve said: %s", out);
    browse(env, seen, sizeof seen);
    CHECK_MSG(!listed(seen, name, port), "advertised with wyoming.zeroconf = false");
    serve_stop(pid);
    stop_child(avahi);
    stop_child(bus);
}

/* ---- setup ---- */

static void make_question(void) {
    char args[1000], out[4096], errb[4096];
    snprintf(spoken_question, sizeof spoken_question, "%s/question.wav", tmp);
    snprintf(args, sizeof args,
             "say --log-level error '" QUESTION "' --voice awb --rate 22050 -o '%s'",
             spoken_question);
    if (tu_run_axiom(NULL, args, out, sizeof out, errb, sizeof errb) != 0) {
        fprintf(stderr, "  axiom say failed: %s\n", errb);
        spoken_question[0] = '\0';
    }
}

int main(int argc, char **argv) {
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    tu_root_path("tests/wyoming", scripts, sizeof scripts);
    if (!tu_shared_path("wyoming-reference/wyoming/client.py", refdir, sizeof refdir)) {
        fprintf(stderr, "../shared/wyoming-reference is missing (set AXIOM_SHARED_DIR): the "
                        "Wyoming tests need the "
                        "reference client\n");
        return 1;
    }
    *strstr(refdir, "/wyoming/client.py") = '\0';
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, PYTHON " is missing: install Debian's python3\n");
        return 1;
    }
    make_question();
    const char *extra[] = {"wyoming.idle_timeout_s=3", "wyoming.max_connections=8", NULL};
    char err[512];
    F_up = start(&F, extra, err, sizeof err) == 0;
    if (!F_up) fprintf(stderr, "  server start: %s\n", err);
    RUN(test_describe_and_ping);
    RUN(test_transcribe_recording);
    RUN(test_transcribe_formats);
    RUN(test_transcribe_streams_while_audio_arrives);
    RUN(test_pack_question_pipeline);
    RUN(test_synthesize);
    RUN(test_synthesize_streaming);
    RUN(test_handle_conversations);
    RUN(test_recognize);
    RUN(test_bad_input);
    RUN(test_stalled_peers_and_a_neighbour);
    if (F_up) fixture_stop(&F);
    RUN(test_max_connections);
    RUN(test_sessions_shared_with_browsers);
    RUN(test_refused_at_critical_level);
    RUN(test_wyoming_alone);
    RUN(test_remote_address_needs_opt_in);
    RUN(test_discovery_without_daemon);
    RUN(test_discovery_with_avahi);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
