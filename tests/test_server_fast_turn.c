/* The faster spoken turn, end to end against a real in-process server with the real
 * components (Silero VAD, PocketSphinx, the default pack, flite), with questions
 * spoken by flite's awb voice:
 *   - warm-up: opening a session loads the speech path before anyone speaks, with
 *     the governor's consent (components load lazily on this server);
 *   - adaptive endpointer: a finished pack question ends its turn after a shorter
 *     pause than a phrase cut after "the" (sample positions from speech_end, not
 *     wall time);
 *   - barge-in: the answer's own audio played back into the microphone at -10 dB
 *     relative to the user's voice does not barge in; a real question at the user's
 *     level over the answer does.
 * Skips with a reason when a component is absent. No timing assertions. */
#include "check.h"
#include "core/engine.h"
#include "speech/tts.h"
#include "support/server_fixture.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static server_fixture F;
static int started;

static cJSON *status(void) {
    static char body[1 << 17];
    if (http_request(F.port, "GET", "/api/status", NULL, NULL, body, sizeof body) != 200)
        return NULL;
    return cJSON_Parse(body);
}

static int have(const char *what) {
    cJSON *o = status();
    int yes = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "available"), what));
    cJSON_Delete(o);
    return yes;
}

/* 1 when the governed component `name` is loaded. */
static int loaded(const char *name) {
    cJSON *o = status();
    cJSON *comps = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "governor"), "components");
    int yes = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, comps) {
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItem(c, "name"));
        if (nm && strcmp(nm, name) == 0) {
            const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(c, "state"));
            yes = st && (strcmp(st, "loaded") == 0 || strcmp(st, "in-use") == 0);
        }
    }
    cJSON_Delete(o);
    return yes;
}

static ws_client *open_ws(void) {
    char err[512];
    int st;
    ws_client *c = ws_client_connect(F.port, "/ws", NULL, 5000, &st, err, sizeof err);
    if (!c) fprintf(stderr, "  connect: %d %s\n", st, err);
    return c;
}

/* Speech as a user would say it: flite awb at 16 kHz (the answers use another voice). */
static int16_t *say(const char *text, size_t *n) {
    tts_audio a = {0};
    char err[256];
    if (tts_synth(F.engine->tts, text, "awb", 16000, NULL, &a, err, sizeof err) != 0) {
        fprintf(stderr, "  say: %s\n", err);
        return NULL;
    }
    *n = a.n;
    return a.samples;
}

/* Active speech level (dB): mean power of the 10 ms frames within 20 dB of the loudest. */
static double level_db(const int16_t *x, size_t n) {
    size_t nf = n / 160;
    double mx = 0, sum = 0;
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t f = 0; f < nf; f++) {
            double p = 0;
            for (size_t i = 0; i < 160; i++)
                p += (double)x[f * 160 + i] * x[f * 160 + i];
            p /= 160;
            if (pass == 0 && p > mx) mx = p;
            if (pass == 1 && p >= mx / 100) sum += p, k++;
        }
    return k ? 10 * log10(sum / k) : -100;
}

/* ---- a session's events ---- */

typedef struct {
    ws_client *c;
    int barge_ins, speech_ends, ready, audio_msgs;
    char endpoint[32];
    long end_ms, pause_ms;
    char path[16];
    int16_t *played; /* answer audio received (16 kHz: asked in hello), for the echo */
    size_t nplayed, cap;
} session;

static void on_msg(void *user, const ws_msg *m) {
    session *s = user;
    if (m->opcode == WSC_BINARY) {
        s->audio_msgs++;
        wav_message_append((const unsigned char *)m->data, m->len, &s->played, &s->nplayed,
                           &s->cap);
        return;
    }
    cJSON *o = cJSON_Parse((const char *)m->data);
    const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(o, "event"));
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
    if (ev && strcmp(ev, "barge_in") == 0) s->barge_ins++;
    if (ev && strcmp(ev, "ready_to_listen") == 0) s->ready++;
    if (ev && strcmp(ev, "speech_end") == 0) {
        s->speech_ends++;
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(o, "endpoint"));
        snprintf(s->endpoint, sizeof s->endpoint, "%s", e ? e : "");
        s->end_ms = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "end_ms"));
        s->pause_ms = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "pause_ms"));
    }
    if (st && strcmp(st, "speaking") == 0) {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
        snprintf(s->path, sizeof s->path, "%s", p ? p : "");
    }
    cJSON_Delete(o);
}

static void pump(session *s, int ms) {
    int64_t end = wsc_now_us() + (int64_t)ms * 1000;
    ws_msg m;
    while (wsc_now_us() < end)
        if (ws_client_recv(s->c, 20, &m) == 1) on_msg(s, &m);
}

static int wait_ready(session *s, int want, int timeout_ms) {
    int64_t end = wsc_now_us() + (int64_t)timeout_ms * 1000;
    ws_msg m;
    while (s->ready < want && wsc_now_us() < end) {
        int r = ws_client_recv(s->c, 50, &m);
        if (r < 0) return -1;
        if (r == 1) on_msg(s, &m);
    }
    return s->ready >= want;
}

static int session_open(session *s) {
    memset(s, 0, sizeof *s);
    s->c = open_ws();
    if (!s->c) return -1;
    ws_client_send_text(s->c,
                        "{\"event\":\"hello\",\"sample_rate\":16000,\"audio_format\":\"wav\"}");
    return 0;
}

static void session_close(session *s) {
    ws_client_free(s->c);
    free(s->played);
    memset(s, 0, sizeof *s);
}

/* Speaks pcm then `silence_ms` of silence, in real time. */
static int speak(session *s, const int16_t *pcm, size_t n, int silence_ms) {
    static int16_t quiet[16000 * 2];
    if (ws_client_stream(s->c, pcm, n, on_msg, s, NULL) != 0) return -1;
    size_t q = (size_t)silence_ms * 16;
    if (q > sizeof quiet / sizeof quiet[0]) q = sizeof quiet / sizeof quiet[0];
    return ws_client_stream(s->c, quiet, q, on_msg, s, NULL);
}

/* Streams silence (the microphone stays open) until answer audio arrives. */
static void quiet_until_audio(session *s, int ready_before, int timeout_ms) {
    static const int16_t quiet[512 * 3]; /* ~100 ms at real-time pace per call */
    int64_t start = wsc_now_us();
    while (s->nplayed == 0 && s->ready == ready_before) {
        if (wsc_now_us() - start > (int64_t)timeout_ms * 1000) return;
        if (ws_client_stream(s->c, quiet, sizeof quiet / sizeof quiet[0], on_msg, s, NULL) != 0)
            return;
        pump(s, 10);
    }
}

static void wait_warm(void) {
    for (int i = 0; i < 300; i++) {
        if (loaded("vad") && loaded("stt") && loaded("tts") && loaded("index") && loaded("intent"))
            break;
        usleep(100000);
    }
}

/* ---- tests ---- */

static void test_warm_up_on_session_open(void) {
    if (!started) SKIP("server did not start");
    if (!have("vad") || !have("stt") || !have("tts") || !have("brain"))
        SKIP("voice components not available in this build");
    /* The server loads lazily (mem.preload=false): nothing spoken yet, nothing loaded. */
    CHECK_MSG(!loaded("stt") && !loaded("tts"), "components loaded before any session");
    session s;
    if (session_open(&s) != 0) {
        CHECK(0);
        return;
    }
    wait_warm();
    CHECK_MSG(loaded("vad"), "VAD not loaded after a session opened");
    CHECK_MSG(loaded("stt"), "recogniser not loaded after a session opened");
    CHECK_MSG(loaded("tts"), "synthesiser not loaded after a session opened");
    CHECK_MSG(loaded("index") && loaded("intent"), "pack not loaded after a session opened");
    cJSON *o = status();
    cJSON *d = cJSON_GetObjectItem(o, "stt_decoders");
    CHECK_MSG(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "created")) >= 1,
              "the first decoder was not created by the warm-up");
    cJSON_Delete(o);
    session_close(&s);
}

static void test_endpointer_finished_sooner_than_unfinished(void) {
    if (!started || !have("vad") || !have("stt") || !have("tts") || !have("brain"))
        SKIP("voice components not available in this build");
    wait_warm();
    size_t nq = 0, nu = 0;
    int16_t *q = say("what is the unitree go2", &nq);
    int16_t *u = say("what is the battery life of the", &nu);
    if (!q || !u) {
        free(q);
        free(u);
        SKIP("flite awb voice not available");
    }
    session a, b;
    CHECK(session_open(&a) == 0 && session_open(&b) == 0);
    if (a.c && b.c) {
        pump(&a, 300);
        pump(&b, 300);
        CHECK(speak(&a, q, nq, 1000) == 0);
        CHECK_EQ_INT(wait_ready(&a, 1, 30000), 1);
        CHECK(speak(&b, u, nu, 1000) == 0);
        wait_ready(&b, 1, 30000);
        fprintf(stderr,
                "  finished question: speech_end at %ld ms after a %ld ms pause (%s), "
                "path %s\n",
                a.end_ms, a.pause_ms, a.endpoint, a.path);
        fprintf(stderr, "  cut after \"the\": speech_end at %ld ms after a %ld ms pause (%s)\n",
                b.end_ms, b.pause_ms, b.endpoint);
        CHECK_EQ_INT(a.speech_ends, 1);
        CHECK_EQ_INT(b.speech_ends, 1);
        CHECK_STR(a.endpoint, "finished");
        CHECK_STR(b.endpoint, "unfinished");
        CHECK_STR(a.path, "template");
        CHECK_MSG(a.pause_ms < b.pause_ms,
                  "the finished question's pause (%ld ms) is not shorter "
                  "than the unfinished phrase's (%ld ms)",
                  a.pause_ms, b.pause_ms);
        /* Within the configured bounds (vad.silence_min_ms 120, vad.silence_max_ms 600),
         * allowing for the 10 ms hops and Silero's 32 ms windows. */
        CHECK(a.pause_ms >= 120 && a.pause_ms < 300);
        CHECK(b.pause_ms >= 600 && b.pause_ms < 700);
    }
    session_close(&a);
    session_close(&b);
    free(q);
    free(u);
}

/* Plays `answer` back into the microphone at gain (the loudspeaker's echo), in real
 * time, from where playback is now; returns when it is all sent or the answer ended. */
static void play_back(session *s, double gain) {
    size_t off = 0;
    int16_t frame[512];
    int64_t start = wsc_now_us();
    for (int k = 0; s->ready == 0 || off < s->nplayed; k++) {
        int64_t due = start + (int64_t)k * 32000;
        while (wsc_now_us() < due) {
            ws_msg m;
            int r = ws_client_recv(s->c, (int)((due - wsc_now_us()) / 1000) + 1, &m);
            if (r < 0) return;
            if (r == 1) on_msg(s, &m);
        }
        for (int i = 0; i < 512; i++) {
            double v = off < s->nplayed ? s->played[off++] * gain : 0;
            frame[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        if (ws_client_send_binary(s->c, frame, sizeof frame) != 0) return;
        if (k > 60 * 1000 / 32) return; /* a minute at most */
    }
}

static void test_own_voice_does_not_barge_in(void) {
    if (!started || !have("vad") || !have("stt") || !have("tts") || !have("brain"))
        SKIP("voice components not available in this build");
    wait_warm();
    size_t n1 = 0, n2 = 0, n3 = 0;
    int16_t *q1 = say("what is the unitree go2", &n1);
    int16_t *q2 = say("how long can the x500 fly", &n2);
    int16_t *q3 = say("tell me about the realsense d435", &n3);
    session s;
    if (!q1 || !q2 || !q3 || session_open(&s) != 0) {
        free(q1);
        free(q2);
        free(q3);
        SKIP("flite awb voice not available, or no session");
    }
    pump(&s, 300);
    /* 1. A first question: the server learns how loud this user speaks. */
    CHECK(speak(&s, q1, n1, 700) == 0);
    CHECK_EQ_INT(wait_ready(&s, 1, 30000), 1);
    /* 2. The next answer comes back through the room at -10 dB while nobody talks. */
    s.nplayed = 0;
    CHECK(speak(&s, q2, n2, 100) == 0);
    quiet_until_audio(&s, 1, 20000);
    double user_db = level_db(q2, n2), echo_db = level_db(s.played, s.nplayed);
    double gain = pow(10, (user_db - 10 - echo_db) / 20);
    fprintf(stderr, "  user speaks at %.1f dB; answer played back at %.1f dB (gain %.3f)\n",
            user_db, echo_db + 20 * log10(gain), gain);
    fprintf(stderr,
            "  after the question: %d ready, %d audio messages, %d speech_end (%s), path %s\n",
            s.ready, s.audio_msgs, s.speech_ends, s.endpoint, s.path);
    CHECK(s.nplayed > 0);
    if (s.nplayed == 0) {
        session_close(&s);
        free(q1);
        free(q2);
        free(q3);
        return;
    }
    play_back(&s, gain);
    wait_ready(&s, 2, 30000);
    CHECK_MSG(s.barge_ins == 0, "the answer's own voice at -10 dB barged in (%d)", s.barge_ins);
    CHECK_EQ_INT(s.ready, 2);
    /* 3. The user speaks over the next answer at their normal level: barge-in. */
    s.nplayed = 0;
    CHECK(speak(&s, q1, n1, 100) == 0);
    quiet_until_audio(&s, 2, 20000);
    CHECK(s.nplayed > 0 && s.ready == 2);
    CHECK(speak(&s, q3, n3, 800) == 0);
    pump(&s, 500);
    CHECK_MSG(s.barge_ins == 1, "a real question over the answer did not barge in (%d)",
              s.barge_ins);
    session_close(&s);
    free(q1);
    free(q2);
    free(q3);
}

int main(int argc, char **argv) {
    (void)argc;
    char err[512];
    /* Lazy loading, as `axiom serve` runs by default: the warm-up is what loads. */
    const char *settings[] = {"server.max_sessions=8", "mem.preload=false", NULL};
    if (fixture_start(&F, settings, err, sizeof err) == 0)
        started = 1;
    else
        fprintf(stderr, "server start: %s\n", err);
    RUN(test_warm_up_on_session_open);
    RUN(test_endpointer_finished_sooner_than_unfinished);
    RUN(test_own_voice_does_not_barge_in);
    if (started) fixture_stop(&F);
    if (!started) return 1;
    return CHECK_DONE(argv[0]);
}
