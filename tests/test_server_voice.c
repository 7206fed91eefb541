/* The voice protocol end to end against a real in-process server and the real
 * components (VAD, recogniser, brain over the default pack, flite synthesis), with
 * real speech from ../shared/audio: the event order of a text turn and of a spoken
 * turn, ready_to_listen held until the answer has played, per-session isolation,
 * barge-in, the PCM audio format, and disconnects in the middle of an answer.
 * Skips with a reason when a component or the shared audio is absent. */
#include "check.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"
#include "voice/voice_session.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EV 256

typedef struct {
    char name[MAX_EV][32]; /* event or state name; "audio" for binary */
    int64_t at_us[MAX_EV];
    int audio_ms[MAX_EV]; /* binary: playback length (WAV) */
    cJSON *obj[MAX_EV];
    int n;
} event_log;

static void log_clear(event_log *l) {
    for (int i = 0; i < l->n; i++)
        cJSON_Delete(l->obj[i]);
    memset(l, 0, sizeof *l);
}

static int wav_ms(const unsigned char *d, size_t len) {
    if (len < 44 || memcmp(d, "RIFF", 4) != 0 || memcmp(d + 8, "WAVE", 4) != 0) return -1;
    unsigned rate = d[24] | d[25] << 8 | d[26] << 16 | (unsigned)d[27] << 24;
    return rate ? (int)((len - 44) / 2 * 1000 / rate) : -1;
}

static void log_msg(void *user, const ws_msg *m) {
    event_log *l = user;
    if (l->n >= MAX_EV) return;
    int i = l->n++;
    l->at_us[i] = wsc_now_us();
    if (m->opcode == WSC_BINARY) {
        snprintf(l->name[i], sizeof l->name[i], "audio");
        l->audio_ms[i] = wav_ms(m->data, m->len);
        return;
    }
    cJSON *o = cJSON_Parse((const char *)m->data);
    l->obj[i] = o;
    const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(o, "event"));
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
    snprintf(l->name[i], sizeof l->name[i], "%s", ev ? ev : st ? st : "?");
}

/* Receives until ready_to_listen (returns 1) or timeout (0) or close (-1). */
static int until_ready(ws_client *c, event_log *l, int timeout_ms) {
    int64_t end = wsc_now_us() + (int64_t)timeout_ms * 1000;
    while (wsc_now_us() < end) {
        ws_msg m;
        int r = ws_client_recv(c, 100, &m);
        if (r < 0) return -1;
        if (r == 1) {
            log_msg(l, &m);
            if (strcmp(l->name[l->n - 1], "ready_to_listen") == 0) return 1;
        }
    }
    return 0;
}

static int find(const event_log *l, const char *name, int from) {
    for (int i = from; i < l->n; i++)
        if (strcmp(l->name[i], name) == 0) return i;
    return -1;
}

static void print_log(const event_log *l) {
    fprintf(stderr, "  events:");
    for (int i = 0; i < l->n; i++)
        fprintf(stderr, " %s", l->name[i]);
    fputc('\n', stderr);
}

/* Which components the server has (from /api/status). */
static int have(int port, const char *what) {
    static char body[1 << 16];
    if (http_request(port, "GET", "/api/status", NULL, NULL, body, sizeof body) != 200) return 0;
    cJSON *o = cJSON_Parse(body);
    int yes = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "available"), what));
    cJSON_Delete(o);
    return yes;
}

static server_fixture F;
static int started;

static int need(const char *a, const char *b) {
    if (!started) return 0;
    return (!a || have(F.port, a)) && (!b || have(F.port, b));
}

static ws_client *open_ws(void) {
    char err[512];
    int st;
    ws_client *c = ws_client_connect(F.port, "/ws", NULL, 5000, &st, err, sizeof err);
    if (!c) fprintf(stderr, "  connect: %d %s\n", st, err);
    return c;
}

static void test_text_turn_event_order(void) {
    if (!need("brain", NULL)) SKIP("brain not available in this build");
    int voice = have(F.port, "tts");
    ws_client *c = open_ws();
    if (!c) {
        CHECK(0);
        return;
    }
    event_log l = {0};
    CHECK(ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what is the unitree go2\"}") == 0);
    CHECK_EQ_INT(until_ready(c, &l, 20000), 1);
    print_log(&l);
    int th = find(&l, "thinking", 0), card = find(&l, "trigger_card", 0),
        model = find(&l, "load_3d_model", 0), sp = find(&l, "speaking", 0),
        au = find(&l, "audio", 0), rd = find(&l, "ready_to_listen", 0);
    CHECK(th >= 0 && sp > th && rd > sp);
    if (voice)
        CHECK(au > sp && rd > au);
    else
        CHECK_MSG(find(&l, "error", 0) > sp, "a text-only answer says why there is no voice");
    CHECK_MSG(card > th && card < sp, "trigger_card must come between thinking and speaking");
    CHECK_MSG(model > th && model < sp, "load_3d_model must come between thinking and speaking");
    if (card >= 0) {
        CHECK_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(l.obj[card], "card_index")), 0);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(l.obj[card], "product_name")));
    }
    if (sp >= 0) {
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(l.obj[sp], "text"));
        CHECK(text && strlen(text) > 10);
        CHECK(cJSON_IsString(cJSON_GetObjectItem(l.obj[sp], "intent")));
    }
    /* Every binary frame is a complete WAV, and ready_to_listen waits until the
     * audio sent would have played (the reference server sent it too early). */
    int total_ms = 0;
    for (int i = 0; i < l.n; i++)
        if (strcmp(l.name[i], "audio") == 0) {
            CHECK_MSG(l.audio_ms[i] > 0, "binary frame %d is not a WAV file", i);
            CHECK_MSG(i < rd, "audio after ready_to_listen");
            total_ms += l.audio_ms[i];
        }
    if (au >= 0 && rd >= 0)
        CHECK_MSG((l.at_us[rd] - l.at_us[au]) / 1000 >= total_ms - 150,
                  "ready_to_listen %lld ms after the first audio; the audio lasts %d ms",
                  (long long)((l.at_us[rd] - l.at_us[au]) / 1000), total_ms);
    log_clear(&l);
    ws_client_free(c);
}

static void test_api_ask(void) {
    if (!need("brain", NULL)) SKIP("brain not available in this build");
    static char body[1 << 16];
    CHECK_EQ_INT(http_request(F.port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                              "{\"text\":\"what is the unitree go2\"}", body, sizeof body),
                 200);
    cJSON *o = cJSON_Parse(body);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")), "template");
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(o, "text"));
    CHECK(text && strlen(text) > 10);
    CHECK_EQ_INT(
        cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "card"), "card_index")), 0);
    cJSON_Delete(o);
    CHECK_EQ_INT(http_request(F.port, "GET", "/metrics", NULL, NULL, body, sizeof body), 200);
    CHECK(strstr(body, "axiom_turns_total{path=\"template\"} 0") == NULL);
}

static int16_t *speech;
static long nspeech;

static void test_voice_turn_event_order(void) {
    if (!need("vad", "stt") || !need("brain", NULL))
        SKIP("voice components not available in this build");
    if (!speech) SKIP("../shared/audio/jfk.wav not found");
    ws_client *c = open_ws();
    if (!c) {
        CHECK(0);
        return;
    }
    event_log l = {0};
    ws_client_send_text(c, "{\"event\":\"hello\",\"partials\":true,\"timings\":true}");
    /* The first 4.5 s hold a complete sentence followed by a pause. */
    size_t n = nspeech < 16000 * 9 / 2 ? (size_t)nspeech : 16000 * 9 / 2;
    static int16_t silence[16000 * 2];
    CHECK(ws_client_stream(c, speech, n, log_msg, &l, NULL) == 0);
    CHECK(ws_client_stream(c, silence, sizeof silence / 2, log_msg, &l, NULL) == 0);
    CHECK_EQ_INT(until_ready(c, &l, 30000), 1);
    print_log(&l);
    int ss = find(&l, "speech_start", 0), se = find(&l, "speech_end", 0),
        th = find(&l, "thinking", 0), rd = find(&l, "ready_to_listen", 0);
    int sp = find(&l, "speaking", 0), idle = find(&l, "idle", th < 0 ? 0 : th);
    CHECK(ss >= 0 && se > ss && th > se && rd > th);
    CHECK_MSG(sp > th || idle > th, "an answer (speaking) or idle must follow thinking");
    if (sp > 0) CHECK(find(&l, "audio", sp) > sp);
    int tm = find(&l, "timings", 0);
    CHECK_MSG(tm > 0, "timings requested in hello");
    log_clear(&l);
    ws_client_free(c);
}

static void test_sessions_are_isolated(void) {
    if (!need("brain", NULL)) SKIP("brain not available in this build");
    ws_client *a = open_ws(), *b = open_ws();
    if (!a || !b) {
        ws_client_free(a);
        ws_client_free(b);
        CHECK(0);
        return;
    }
    event_log la = {0}, lb = {0};
    CHECK(ws_client_send_text(a, "{\"event\":\"text\",\"text\":\"what is the unitree go2\"}") == 0);
    /* B streams silence meanwhile and must hear nothing of A's turn. */
    static int16_t silence[16000];
    ws_client_stream(b, silence, 16000, log_msg, &lb, NULL);
    CHECK_EQ_INT(until_ready(a, &la, 20000), 1);
    CHECK(find(&la, "trigger_card", 0) >= 0);
    ws_msg m;
    while (ws_client_recv(b, 300, &m) == 1)
        log_msg(&lb, &m);
    CHECK_MSG(lb.n == 0 || (find(&lb, "trigger_card", 0) < 0 && find(&lb, "speaking", 0) < 0 &&
                            find(&lb, "audio", 0) < 0 && find(&lb, "speech_start", 0) < 0),
              "session B received session A's events");
    print_log(&lb);
    log_clear(&la);
    log_clear(&lb);
    ws_client_free(a);
    ws_client_free(b);
}

static void test_barge_in(void) {
    if (!need("vad", "stt") || !need("brain", "tts"))
        SKIP("voice components not available in this build");
    if (!speech) SKIP("../shared/audio/jfk.wav not found");
    ws_client *c = open_ws();
    if (!c) {
        CHECK(0);
        return;
    }
    event_log l = {0};
    CHECK(ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what is the unitree go2\"}") == 0);
    int64_t end = wsc_now_us() + 15000000;
    while (find(&l, "audio", 0) < 0 && wsc_now_us() < end) {
        ws_msg m;
        if (ws_client_recv(c, 100, &m) == 1) log_msg(&l, &m);
    }
    CHECK(find(&l, "audio", 0) >= 0);
    /* Speak over the answer. */
    size_t n = nspeech < 16000 * 3 ? (size_t)nspeech : 16000 * 3;
    static int16_t silence[16000];
    ws_client_stream(c, speech, n, log_msg, &l, NULL);
    ws_client_stream(c, silence, 16000, log_msg, &l, NULL);
    until_ready(c, &l, 30000);
    print_log(&l);
    int bi = find(&l, "barge_in", 0);
    CHECK_MSG(bi >= 0, "no barge_in event");
    if (bi >= 0) {
        /* After barge_in no audio of the old answer: audio only after a new speaking. */
        int next_sp = find(&l, "speaking", bi);
        int next_au = find(&l, "audio", bi);
        CHECK_MSG(next_au < 0 || (next_sp >= 0 && next_au > next_sp),
                  "audio of the cancelled answer arrived after barge_in");
        CHECK(find(&l, "speech_start", 0) >= 0 && find(&l, "speech_start", 0) <= bi);
    }
    log_clear(&l);
    ws_client_free(c);
}

static void test_pcm_audio_format(void) {
    if (!need("brain", "tts")) SKIP("brain or synthesiser not available in this build");
    ws_client *c = open_ws();
    if (!c) {
        CHECK(0);
        return;
    }
    event_log l = {0};
    ws_client_send_text(c, "{\"event\":\"hello\",\"audio_format\":\"pcm\",\"sample_rate\":22050}");
    CHECK(ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what is the unitree go2\"}") == 0);
    CHECK_EQ_INT(until_ready(c, &l, 20000), 1);
    int au = find(&l, "audio", 0);
    CHECK(au >= 0);
    if (au >= 0) CHECK_MSG(l.audio_ms[au] < 0, "PCM format must not send WAV headers");
    int h = find(&l, "hello", 0);
    CHECK(h >= 0 && cJSON_GetNumberValue(cJSON_GetObjectItem(l.obj[h], "sample_rate")) == 22050);
    log_clear(&l);
    ws_client_free(c);
}

/* A turn that fails at any stage still ends with an error, idle and ready_to_listen on
 * the wire (the page's microphone reopens), and the next turn is answered. */
static void test_failed_turn_recovers(void) {
    if (!need("brain", "tts")) SKIP("brain or synthesiser not available in this build");
    static const struct {
        voice_fault stage;
        const char *code;
    } cases[] = {{VOICE_FAULT_BRAIN, "brain_failed"},
                 {VOICE_FAULT_TTS, "tts_failed"},
                 {VOICE_FAULT_ALLOC, "out_of_memory"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ws_client *c = open_ws();
        if (!c) {
            CHECK(0);
            continue;
        }
        event_log l = {0};
        voice_fault_inject(cases[k].stage, 1);
        CHECK(ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what is the unitree go2\"}") ==
              0);
        int got = until_ready(c, &l, 20000);
        voice_fault_inject(cases[k].stage, 0);
        CHECK_MSG(got == 1, "%s: no ready_to_listen after the failure", cases[k].code);
        int er = find(&l, "error", 0);
        CHECK_MSG(er >= 0, "%s: no error event", cases[k].code);
        if (er >= 0)
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(l.obj[er], "code")), cases[k].code);
        int from = l.n;
        CHECK(ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what is the unitree go2\"}") ==
              0);
        CHECK_EQ_INT(until_ready(c, &l, 20000), 1);
        int sp = find(&l, "speaking", from);
        CHECK_MSG(sp >= 0 && find(&l, "audio", sp) > sp && find(&l, "error", from) < 0,
                  "%s: the next turn was not answered with its voice", cases[k].code);
        print_log(&l);
        log_clear(&l);
        ws_client_free(c);
    }
}

static void test_disconnect_mid_answer(void) {
    if (!need("brain", NULL)) SKIP("brain not available in this build");
    for (int round = 0; round < 6; round++) {
        ws_client *c = open_ws();
        if (!c) {
            CHECK(0);
            continue;
        }
        ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what is the unitree go2\"}");
        if (speech && round % 2) ws_client_send_binary(c, speech, 16000 * 2);
        ws_msg m;
        int wait = round * 15;
        for (int k = 0; k < wait && ws_client_recv(c, 10, &m) >= 0; k++) {
        }
        if (round % 3 == 0) shutdown(ws_client_fd(c), SHUT_RDWR);
        ws_client_free(c);
    }
    static char body[1 << 16];
    int sessions = -1;
    for (int i = 0; i < 200 && sessions != 0; i++) {
        usleep(20000);
        http_request(F.port, "GET", "/metrics", NULL, NULL, body, sizeof body);
        const char *p = strstr(body, "\naxiom_sessions ");
        sessions = p ? atoi(p + 16) : -1;
    }
    CHECK_EQ_INT(sessions, 0);
    ws_client *c = open_ws();
    CHECK(c != NULL);
    if (c) {
        event_log l = {0};
        ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"hello\"}");
        CHECK_EQ_INT(until_ready(c, &l, 20000), 1);
        log_clear(&l);
        ws_client_free(c);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    char err[512], path[4096];
    const char *settings[] = {"server.max_sessions=8", "mem.preload=true", NULL};
    if (fixture_start(&F, settings, err, sizeof err) == 0)
        started = 1;
    else
        fprintf(stderr, "server start: %s\n", err);
    if (tu_shared_path("audio/jfk.wav", path, sizeof path))
        nspeech = wav_load_16k(path, &speech, err, sizeof err);
    if (nspeech <= 0) speech = NULL;
    RUN(test_api_ask);
    RUN(test_text_turn_event_order);
    RUN(test_voice_turn_event_order);
    RUN(test_sessions_are_isolated);
    RUN(test_barge_in);
    RUN(test_pcm_audio_format);
    RUN(test_failed_turn_recovers);
    RUN(test_disconnect_mid_answer);
    if (started) fixture_stop(&F);
    free(speech);
    if (!started) return 1;
    return CHECK_DONE(argv[0]);
}
