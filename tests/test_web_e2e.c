/* The browser UI end to end, in real headless Chromium against a real `axiom serve`.
 *
 * The server runs as its own process on a free loopback port, serving web/ from the
 * project. tests/e2e/browser.mjs (node + playwright-core from deps/, Debian's
 * chromium) loads the page and reports what the page saw as one JSON object, which
 * this program judges:
 *   - the page connects, negotiates with `hello`, fills the status panel from
 *     /api/status, and fits a 360 px wide screen without sideways scrolling;
 *   - a typed question (keyboard only) goes thinking -> speaking -> audio ->
 *     ready_to_listen, its answer text is shown, and every audio chunk is decoded and
 *     played by the page's player;
 *   - a spoken question: Chromium's fake microphone plays a WAV synthesised by
 *     `axiom say` (padded with silence) through the page's real capture path
 *     (getUserMedia with echo cancellation, AudioWorklet, 16 kHz frames over /ws);
 *     the page shows a transcript and the answer, and plays the audio;
 *   - with the language model down (llm.backend=openai at a closed loopback port) a
 *     question that needs it still gets the spoken fallback answer.
 * Screenshots are kept in test-artifacts/web-e2e/ (ignored by git).
 *
 * Parts whose server component is not available (as /api/status reports it) check
 * that the page shows the server's reason, then skip with it; the whole program
 * skips only when Chromium cannot start. */
#include "check.h"
#include "core/util.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TYPED_Q "what is the unitree go2"
#define SPOKEN_Q "what is the unitree go two"
#define LLM_Q "what could I build for a science fair"
#define STOP_Q "tell me about the jetson orin nano"

static char g_tmp[256];
static char g_art[1024];
static char g_browser_skip[512]; /* why Chromium cannot run here, or "" */

/* ---- axiom serve as a child process -------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    char log[512];
} serve_proc;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void serve_stop(serve_proc *p) {
    if (p->pid <= 0) return;
    kill(p->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100; i++) {
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            p->pid = 0;
            return;
        }
        sleep_ms(100);
    }
    fprintf(stderr, "  axiom serve did not stop in 10 s; killing it\n");
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
    p->pid = 0;
}

/* Starts `axiom serve` with extra "--set k=v" settings (NULL-terminated) and waits
 * for /health. Returns 0, or -1 after printing the server's log. */
static int serve_start(serve_proc *p, const char *name, const char *const *settings) {
    memset(p, 0, sizeof *p);
    p->port = fixture_free_port();
    snprintf(p->log, sizeof p->log, "%s/%s.log", g_tmp, name);
    const char *bin = getenv("AXIOM_BIN");
    char binbuf[1024], web[1024], portstr[16], webset[1100];
    if (!bin || !*bin) bin = tu_root_path("build/axiom", binbuf, sizeof binbuf);
    tu_root_path("web", web, sizeof web);
    snprintf(portstr, sizeof portstr, "%d", p->port);
    snprintf(webset, sizeof webset, "server.web_dir=%s", web);
    const char *argv[40] = {bin, "serve", "--port", portstr, "--set", webset};
    int n = 6;
    for (const char *const *s = settings; s && *s && n < 36; s++) {
        argv[n++] = "--set";
        argv[n++] = *s;
    }
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        FILE *lf = fopen(p->log, "w");
        if (lf) {
            dup2(fileno(lf), 1);
            dup2(fileno(lf), 2);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    p->pid = pid;
    char body[512];
    for (int i = 0; i < 300; i++) { /* up to 30 s (sanitizer builds start slowly) */
        if (http_request(p->port, "GET", "/health", NULL, NULL, body, sizeof body) == 200) return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            p->pid = 0;
            break;
        }
        sleep_ms(100);
    }
    fprintf(stderr, "  axiom serve did not come up on port %d; its log:\n", p->port);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", p->log);
    if (system(cmd) != 0) fprintf(stderr, "  (no log)\n");
    serve_stop(p);
    return -1;
}

/* What /api/status says about a component: 1 available, 0 not (reason in why). */
static int serve_has(const serve_proc *p, const char *what, char *why, size_t whylen) {
    static char body[1 << 17];
    snprintf(why, whylen, "/api/status does not report '%s' as available", what);
    if (http_request(p->port, "GET", "/api/status", NULL, NULL, body, sizeof body) != 200) return 0;
    cJSON *o = cJSON_Parse(body);
    int yes = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "available"), what));
    const char *r = NULL;
    if (!yes) {
        r = cJSON_GetStringValue(cJSON_GetObjectItem(o, "brain_unavailable"));
        if (strcmp(what, "stt") == 0 || strcmp(what, "vad") == 0 || !r)
            r = cJSON_GetStringValue(cJSON_GetObjectItem(o, "speech_unavailable"));
        if (r) snprintf(why, whylen, "%s", r);
    }
    cJSON_Delete(o);
    return yes;
}

/* ---- the browser run -------------------------------------------------------------- */

/* Runs browser.mjs with extra arguments; returns its JSON (caller frees) or NULL.
 * Sets g_browser_skip when Chromium cannot start here. */
static cJSON *browser_run(const serve_proc *p, const char *shot, const char *extra) {
    char script[1024], cmd[4096];
    tu_root_path("tests/e2e/browser.mjs", script, sizeof script);
    snprintf(cmd, sizeof cmd,
             "node '%s' --url http://127.0.0.1:%d/ --out '%s' --shot %s --timeout-ms 45000 %s "
             "2>'%s/browser-%s.err'",
             script, p->port, g_art, shot, extra, g_tmp, shot);
    FILE *f = popen(cmd, "r");
    if (!f) {
        snprintf(g_browser_skip, sizeof g_browser_skip, "cannot run node: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        pclose(f);
        return NULL;
    }
    size_t r;
    while (len < cap && (r = fread(buf + len, 1, cap - len, f)) > 0)
        len += r;
    buf[len] = '\0';
    int st = pclose(f);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    cJSON *o = cJSON_Parse(buf);
    free(buf);
    if (code == 127) {
        snprintf(g_browser_skip, sizeof g_browser_skip,
                 "node is not installed (apt-get install nodejs)");
    } else if (code == 3) {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(o, "browser_unavailable"));
        snprintf(g_browser_skip, sizeof g_browser_skip, "%s",
                 why ? why : "Chromium could not start");
    } else if (!o) {
        fprintf(stderr, "  browser.mjs exited %d without a JSON result; its stderr:\n", code);
        snprintf(cmd, sizeof cmd, "tail -n 20 '%s/browser-%s.err' >&2", g_tmp, shot);
        if (system(cmd) != 0) fprintf(stderr, "  (none)\n");
    }
    if (g_browser_skip[0]) {
        cJSON_Delete(o);
        return NULL;
    }
    const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(o, "error"));
    if (err) fprintf(stderr, "  browser.mjs: %s\n", err);
    return o;
}

static const cJSON *get(const cJSON *o, const char *path) {
    /* "a.b.c" */
    char key[64];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (dot ? 1 : 0);
    }
    return o;
}

static double num(const cJSON *o, const char *path) {
    const cJSON *v = get(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Index of the first event `name` at or after `from` in trace.events, or -1. */
static int ev_at(const cJSON *trace, const char *name, int from) {
    const cJSON *evs = get(trace, "events");
    int n = cJSON_GetArraySize(evs);
    for (int i = from < 0 ? 0 : from; i < n; i++) {
        const char *e = cJSON_GetStringValue(cJSON_GetArrayItem(evs, i));
        if (e && strcmp(e, name) == 0) return i;
    }
    return -1;
}

static void print_events(const char *label, const cJSON *trace) {
    fprintf(stderr, "  %s events:", label);
    const cJSON *e;
    cJSON_ArrayForEach(e, get(trace, "events")) fprintf(stderr, " %s", cJSON_GetStringValue(e));
    fputc('\n', stderr);
}

static int file_ok(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 2000;
}

static void check_screenshots(const cJSON *res, int want) {
    int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, get(res, "screenshots")) {
        CHECK_MSG(file_ok(cJSON_GetStringValue(s)), "screenshot %s missing or empty",
                  cJSON_GetStringValue(s));
        n++;
    }
    CHECK_EQ_INT(n, want);
}

/* An answered turn: thinking, speaking (text shown) and ready_to_listen in that
 * order. */
static void check_answer_text(const cJSON *trace, int from) {
    int th = ev_at(trace, "thinking", from), sp = ev_at(trace, "speaking", from),
        rd = ev_at(trace, "ready_to_listen", from);
    CHECK_MSG(th >= 0 && sp > th && rd > sp, "order thinking %d < speaking %d < ready_to_listen %d",
              th, sp, rd);
    const cJSON *answers = get(trace, "answers");
    const cJSON *last = cJSON_GetArrayItem(answers, cJSON_GetArraySize(answers) - 1);
    const char *text = cJSON_GetStringValue(get(last, "text"));
    CHECK_MSG(text && strlen(text) > 10, "answer text shown: \"%s\"", text ? text : "(none)");
}

/* ... and spoken: audio between speaking and ready_to_listen, every chunk the page
 * received decoded and played. */
static void check_answer_audio(const cJSON *trace, int from) {
    int sp = ev_at(trace, "speaking", from), au = ev_at(trace, "audio", from),
        rd = ev_at(trace, "ready_to_listen", from);
    CHECK_MSG(au > sp && rd > au, "order speaking %d < audio %d < ready_to_listen %d", sp, au, rd);
    double rec = num(trace, "audio.received"), played = num(trace, "audio.played");
    CHECK_MSG(rec >= 1 && played == rec, "audio chunks received %.0f, played %.0f", rec, played);
    CHECK_EQ_INT(num(trace, "audio.failed"), 0);
    CHECK_MSG(num(trace, "audio.seconds") > 0.5, "audio played %.2f s",
              num(trace, "audio.seconds"));
}

/* ---- tests --------------------------------------------------------------------------- */

static serve_proc g_main;
static int g_main_up;
static cJSON *g_typed; /* the page + typed question run against the default server */

static void test_page_connects_status_panel_narrow_layout(void) {
    if (!g_main_up) {
        CHECK_MSG(0, "axiom serve did not start");
        return;
    }
    g_typed = browser_run(&g_main, "typed",
                          "--question '" TYPED_Q "' --stop-question '" STOP_Q "' --narrow");
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    CHECK(g_typed != NULL);
    if (!g_typed) return;
    CHECK(cJSON_IsTrue(get(g_typed, "ok")));
    const cJSON *hello = get(g_typed, "final.hello");
    CHECK_STR(cJSON_GetStringValue(get(hello, "server")), "axiom");
    CHECK(cJSON_IsTrue(get(hello, "partials")) && cJSON_IsTrue(get(hello, "timings")));
    /* The status panel was filled from /api/status. */
    CHECK_CONTAINS(cJSON_GetStringValue(get(g_typed, "status_panel.mode")), "full");
    CHECK(cJSON_GetArraySize(get(g_typed, "status_panel.components")) > 0);
    CHECK_CONTAINS(cJSON_GetStringValue(get(g_typed, "status_panel.chart_legend")), "process ");
    /* 360 px: nothing overflows sideways. */
    CHECK_MSG(num(g_typed, "narrow.scroll_width") > 0 && num(g_typed, "narrow.scroll_width") <= 360,
              "page is %.0f px wide at a 360 px viewport", num(g_typed, "narrow.scroll_width"));
    check_screenshots(g_typed, 2); /* after the typed question, and at 360 px */
    const cJSON *ce = get(g_typed, "console_errors");
    CHECK_MSG(cJSON_GetArraySize(ce) == 0, "console errors: %s",
              cJSON_GetStringValue(cJSON_GetArrayItem(ce, 0)));
}

static void test_typed_question_answered_and_played(void) {
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    if (!g_typed) {
        CHECK(0);
        return;
    }
    const cJSON *t = get(g_typed, "typed");
    print_events("typed", t);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(get(t, "user"), 0)), TYPED_Q);
    char why[300];
    if (!serve_has(&g_main, "brain", why, sizeof why)) {
        /* The page must still say why nothing was answered. */
        const cJSON *errs = get(t, "errors");
        CHECK_MSG(cJSON_GetArraySize(errs) > 0, "the page shows no reason for the missing answer");
        SKIP("typed answer: %s", why);
    }
    CHECK(!get(g_typed, "typed_error"));
    check_answer_text(t, 0);
    CHECK_MSG(cJSON_GetArraySize(get(t, "cards")) > 0, "no item card shown for the Unitree Go2");
    if (!serve_has(&g_main, "tts", why, sizeof why)) SKIP("typed answer's audio: %s", why);
    check_answer_audio(t, 0);
}

/* Esc while an answer plays: playback stops at once, the server confirms with
 * barge_in, late audio of that answer is not played, and the page listens again. */
static void test_stop_key_cancels_playing_answer(void) {
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    if (!g_typed) {
        CHECK(0);
        return;
    }
    char why[300];
    if (!serve_has(&g_main, "brain", why, sizeof why) ||
        !serve_has(&g_main, "tts", why, sizeof why))
        SKIP("stopping an answer: %s", why);
    const cJSON *t = get(g_typed, "stop");
    print_events("stopped", t);
    CHECK_MSG(!get(g_typed, "stop_error"), "%s", cJSON_GetStringValue(get(g_typed, "stop_error")));
    int sp = ev_at(t, "speaking", 0), bi = ev_at(t, "barge_in", 0);
    CHECK_MSG(sp >= 0 && bi > sp, "speaking %d then barge_in %d", sp, bi);
    CHECK_MSG(num(g_typed, "stop.stopped_sources") >= 1, "no playing sentence was stopped");
    CHECK_EQ_INT(num(g_typed, "stop.played_after"), 0);
    CHECK_STR(cJSON_GetStringValue(get(t, "state")), "idle");
}

static void put_le(unsigned char *p, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes 16 kHz mono s16 samples as a WAV file with `pre_ms`/`post_ms` of silence. */
static int write_padded_wav(const char *path, const int16_t *s, long n, int pre_ms, int post_ms) {
    long pre = pre_ms * 16L, post = post_ms * 16L, total = pre + n + post;
    uint32_t data = (uint32_t)(total * 2);
    unsigned char h[44];
    memcpy(h, "RIFF", 4);
    put_le(h + 4, 36 + data, 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le(h + 16, 16, 4);        /* fmt chunk size */
    put_le(h + 20, 1, 2);         /* PCM */
    put_le(h + 22, 1, 2);         /* mono */
    put_le(h + 24, 16000, 4);     /* rate */
    put_le(h + 28, 16000 * 2, 4); /* bytes per second */
    put_le(h + 32, 2, 2);         /* block align */
    put_le(h + 34, 16, 2);        /* bits */
    memcpy(h + 36, "data", 4);
    put_le(h + 40, data, 4);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(h, 1, 44, f) == 44;
    static const int16_t zero[1600];
    for (long i = 0; i < pre && ok; i += 1600)
        ok = fwrite(zero, 2, (size_t)(pre - i < 1600 ? pre - i : 1600), f) > 0;
    /* Samples are written as little-endian, the host order of the supported targets. */
    ok = ok && fwrite(s, 2, (size_t)n, f) == (size_t)n;
    for (long i = 0; i < post && ok; i += 1600)
        ok = fwrite(zero, 2, (size_t)(post - i < 1600 ? post - i : 1600), f) > 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* A counter from /metrics, or -1. */
static double metric(const serve_proc *p, const char *name) {
    static char body[1 << 17];
    if (http_request(p->port, "GET", "/metrics", NULL, NULL, body, sizeof body) != 200) return -1;
    size_t nl = strlen(name);
    for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, nl) == 0 && l[nl] == ' ') return atof(l + nl + 1);
    return -1;
}

/* The capture path on its own, whatever the server can recognise: real speech
 * through the fake microphone reaches the server as 1,024-byte frames at about 31
 * a second, and nothing is sent before the button is pressed. The page runs its
 * capture at the device's rate here (?capture=native), so the worklet's own
 * resampler to 16 kHz is what is tested (the spoken-question test covers the
 * 16 kHz context that Chrome resamples for). */
static void test_microphone_streams_16k_frames(void) {
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    if (!g_main_up) {
        CHECK(0);
        return;
    }
    char wav[1024];
    if (!tu_shared_path("audio/jfk.wav", wav, sizeof wav))
        SKIP("../shared/audio/jfk.wav is absent (shared test material)");
    double before = metric(&g_main, "axiom_audio_bytes_received_total");
    CHECK_EQ_INT(before, 0);
    char extra[1200];
    snprintf(extra, sizeof extra, "--wav '%s' --listen-ms 4000 --query '?capture=native'", wav);
    cJSON *res = browser_run(&g_main, "mic", extra);
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    CHECK(res != NULL);
    if (!res) return;
    const cJSON *v = get(res, "voice");
    double frames = num(v, "framesSent");
    double bytes = metric(&g_main, "axiom_audio_bytes_received_total");
    double msgs = metric(&g_main, "axiom_audio_frames_received_total");
    fprintf(stderr,
            "  capture at %.0f Hz; page sent %.0f frames; server received %.0f messages, "
            "%.0f bytes\n",
            num(v, "captureRate"), frames, msgs, bytes);
    CHECK_MSG(num(v, "captureRate") > 16000,
              "capture context at %.0f Hz: the resampler is not used", num(v, "captureRate"));
    /* 4 s of listening is ~125 frames; fewer when the speech is answered (the page
     * mutes the microphone while AXIOM thinks and speaks) or the microphone starts late. */
    CHECK_MSG(frames >= 30 && frames <= 160, "frames sent in 4 s: %.0f", frames);
    /* The page keeps sending until the browser closes, a moment after its report. */
    CHECK_MSG(msgs >= frames * 0.95 && msgs <= frames + 40, "server got %.0f of %.0f frames", msgs,
              frames);
    CHECK_MSG(bytes == msgs * 1024, "every frame is 512 samples of s16le (%.0f bytes in %.0f)",
              bytes, msgs);
    /* The server's voice activity detector hears speech in what the page captured. */
    char why[300];
    if (serve_has(&g_main, "vad", why, sizeof why)) {
        print_events("microphone", v);
        int ss = ev_at(v, "speech_start", 0), se = ev_at(v, "speech_end", 0);
        CHECK_MSG(ss >= 0 && se > ss, "speech_start %d then speech_end %d", ss, se);
    }
    cJSON_Delete(res);
}

static void test_spoken_question_transcribed_answered_played(void) {
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    if (!g_main_up) {
        CHECK(0);
        return;
    }
    char why[300];
    const char *need[] = {"vad", "stt", "brain", "tts"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!serve_has(&g_main, need[i], why, sizeof why)) SKIP("spoken question: %s", why);
    /* In-domain speech the recogniser can hear: synthesised by axiom itself. */
    char raw[400], padded[400], args[900], out[512], err[2048];
    snprintf(raw, sizeof raw, "%s/say.wav", g_tmp);
    snprintf(padded, sizeof padded, "%s/question.wav", g_tmp);
    snprintf(args, sizeof args, "say \"%s\" --voice awb --rate 16000 -o '%s'", SPOKEN_Q, raw);
    int rc = tu_run_axiom(NULL, args, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 0, "axiom say failed (%d): %s", rc, err);
    if (rc != 0) return;
    int16_t *pcm = NULL;
    char werr[256];
    long n = wav_load_16k(raw, &pcm, werr, sizeof werr);
    CHECK_MSG(n > 8000, "synthesised question: %s", n < 0 ? werr : "too short");
    if (n <= 8000) {
        free(pcm);
        return;
    }
    /* Silence before (the page needs a moment to open the microphone) and after
     * (the VAD ends the utterance on silence). */
    CHECK(write_padded_wav(padded, pcm, n, 1500, 2500) == 0);
    free(pcm);
    char extra[600];
    snprintf(extra, sizeof extra, "--wav '%s'", padded);
    cJSON *res = browser_run(&g_main, "voice", extra);
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    CHECK(res != NULL);
    if (!res) return;
    const cJSON *v = get(res, "voice");
    print_events("voice", v);
    CHECK_MSG(!get(res, "voice_error"), "%s", cJSON_GetStringValue(get(res, "voice_error")));
    CHECK_MSG(num(v, "framesSent") > 50, "microphone frames sent: %.0f", num(v, "framesSent"));
    int ss = ev_at(v, "speech_start", 0), se = ev_at(v, "speech_end", 0);
    CHECK_MSG(ss >= 0 && se > ss, "speech_start %d before speech_end %d", ss, se);
    const char *heard = cJSON_GetStringValue(cJSON_GetArrayItem(get(v, "user"), 0));
    CHECK_MSG(heard && *heard, "no transcript shown for the spoken question");
    if (heard) fprintf(stderr, "  heard: \"%s\"\n", heard);
    check_answer_text(v, se);
    check_answer_audio(v, se);
    check_screenshots(res, 1);
    cJSON_Delete(res);
}

/* Reads the pack's "llm_unavailable" response (the fallback's opening words). */
static char *pack_fallback_opening(void) {
    char path[1024];
    tu_root_path("data/responses.json", path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *o = cJSON_Parse(buf);
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "llm_unavailable"));
    char *r = s ? strdup(s) : NULL;
    cJSON_Delete(o);
    return r;
}

static void test_llm_down_typed_question_gets_spoken_fallback(void) {
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    char url[64];
    snprintf(url, sizeof url, "llm.url=http://127.0.0.1:%d", fixture_free_port());
    const char *settings[] = {"llm.backend=openai", url, NULL};
    serve_proc p;
    if (serve_start(&p, "serve-llm-down", settings) != 0) {
        CHECK_MSG(0, "axiom serve with an unreachable LLM did not start");
        return;
    }
    char why[300];
    if (!serve_has(&p, "brain", why, sizeof why)) {
        serve_stop(&p);
        SKIP("LLM fallback: %s", why);
    }
    int tts = serve_has(&p, "tts", why, sizeof why);
    cJSON *res = browser_run(&p, "llm-down", "--question '" LLM_Q "'");
    serve_stop(&p);
    if (g_browser_skip[0]) SKIP("Chromium cannot start here: %s", g_browser_skip);
    CHECK(res != NULL);
    if (!res) return;
    const cJSON *t = get(res, "typed");
    print_events("llm down", t);
    check_answer_text(t, 0);
    if (tts) check_answer_audio(t, 0);
    const cJSON *a = cJSON_GetArrayItem(get(t, "answers"), 0);
    const char *text = cJSON_GetStringValue(get(a, "text"));
    /* The brain fell back to what it knows, and says why first. (The path label is
     * not judged: a slow turn that may still reach the LLM is streamed as "llm".) */
    const char *path = cJSON_GetStringValue(get(a, "path"));
    fprintf(stderr, "  answer (path %s): %s\n", path ? path : "?", text ? text : "");
    char *opening = pack_fallback_opening();
    CHECK_MSG(opening && text && strncmp(text, opening, strlen(opening)) == 0,
              "answer \"%s\" does not open with the pack's fallback \"%s\"", text ? text : "",
              opening ? opening : "(missing)");
    free(opening);
    check_screenshots(res, 1);
    cJSON_Delete(res);
    if (!tts) SKIP("the fallback answer's audio: %s", why);
}

int main(int argc, char **argv) {
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    if (tu_mkdtemp(g_tmp, sizeof g_tmp) != 0) {
        fprintf(stderr, "cannot make a temporary folder\n");
        return 1;
    }
    tu_root_path("test-artifacts/web-e2e", g_art, sizeof g_art);
    g_main_up = serve_start(&g_main, "serve", NULL) == 0;
    RUN(test_page_connects_status_panel_narrow_layout);
    RUN(test_typed_question_answered_and_played);
    RUN(test_stop_key_cancels_playing_answer);
    RUN(test_microphone_streams_16k_frames);
    RUN(test_spoken_question_transcribed_answered_played);
    serve_stop(&g_main);
    RUN(test_llm_down_typed_question_gets_spoken_fallback);
    cJSON_Delete(g_typed);
    tu_rmtree(g_tmp);
    return CHECK_DONE(argv[0]);
}
