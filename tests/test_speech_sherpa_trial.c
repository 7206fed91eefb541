/* A bad bring-your-own sherpa-onnx model folder never takes the server down:
 * onnxruntime and sherpa-onnx exit or abort on model files that are truncated, garbage
 * or of another architecture, so the first load runs in a child process with a
 * deadline. `axiom serve` (a child of this test, so a crash would show as its death)
 * is started with both a bad recogniser folder and a bad voice folder and every
 * component preloaded; it must stay up, fall back to PocketSphinx and flite with a log
 * line naming the folder and the trial's outcome, and answer a typed question with
 * flite's audio. The bad folders are made here from a real ONNX file (the Silero VAD
 * model that install-deps fetches): cut in half (truncated), random bytes behind an
 * ONNX first byte (garbage), and whole but a VAD, not a transducer or a VITS voice
 * (wrong architecture). The trial helper's own outcomes (pass, hang past the
 * deadline, crash, error exit) are checked first. */
#include "check.h"
#include "core/child.h"
#include "core/util.h"
#include "support/server_proc.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[256];
static char *onnx; /* the real model's bytes */
static size_t onnx_len;

typedef enum { TRUNCATED, GARBAGE, WRONG_ARCH } badness;

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static void write_model(const char *path, badness b) {
    if (b == WRONG_ARCH) {
        write_bytes(path, onnx, onnx_len);
    } else if (b == TRUNCATED) {
        write_bytes(path, onnx, onnx_len * 2 / 5);
    } else {
        /* Passes the first-byte check (an ONNX ModelProto starts with 0x08), nothing
         * after it is a model. */
        size_t n = 64 * 1024;
        unsigned char *g = malloc(n);
        CHECK(g != NULL);
        if (!g) return;
        unsigned s = 12345;
        for (size_t i = 0; i < n; i++)
            g[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
        g[0] = 0x08;
        g[1] = 0x07;
        write_bytes(path, g, n);
        free(g);
    }
}

/* stt: a streaming transducer folder; tts: a VITS voice with a lexicon. */
static void make_folders(badness b, char *stt, char *tts, size_t len) {
    snprintf(stt, len, "%s/stt-%d", tmp, (int)b);
    snprintf(tts, len, "%s/tts-%d", tmp, (int)b);
    mkdir(stt, 0755);
    mkdir(tts, 0755);
    char p[600];
    static const char *const parts[] = {"encoder", "decoder", "joiner"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s-epoch-99.onnx", stt, parts[i]);
        write_model(p, b);
    }
    snprintf(p, sizeof p, "%s/tokens.txt", stt);
    CHECK(tu_write_file(p, "<blk> 0\n<sos/eos> 1\n<unk> 2\na 3\nb 4\n") == 0);
    snprintf(p, sizeof p, "%s/voice.onnx", tts);
    write_model(p, b);
    snprintf(p, sizeof p, "%s/tokens.txt", tts);
    CHECK(tu_write_file(p, "_ 0\nh 1\ne 2\nl 3\no 4\n") == 0);
    snprintf(p, sizeof p, "%s/lexicon.txt", tts);
    CHECK(tu_write_file(p, "hello h e l o\n") == 0);
}

/* The state of one governed component in /api/status, or "". */
static void component_state(const cJSON *st, const char *name, char *out, size_t outlen) {
    out[0] = '\0';
    const cJSON *g = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "components"), "governed");
    const cJSON *c;
    cJSON_ArrayForEach(c, g) {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")) ?: "", name) == 0)
            snprintf(out, outlen, "%s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(c, "state")) ?: "");
    }
}

static void run_case(badness b, const char *name) {
    char stt[400], tts[400], log[400], s1[500], s2[500], s3[500], s4[500], err[512];
    make_folders(b, stt, tts, sizeof stt);
    snprintf(log, sizeof log, "%s/serve-%d.log", tmp, (int)b);
    snprintf(s1, sizeof s1, "stt.sherpa_model_dir=%s", stt);
    snprintf(s2, sizeof s2, "tts.sherpa_model_dir=%s", tts);
    snprintf(s3, sizeof s3, "cache_dir=%s/cache", tmp);
    snprintf(s4, sizeof s4, "log_level=info");
    const char *settings[] = {"stt.backend=sherpa",
                              "stt.sherpa_model_type=transducer",
                              s1,
                              "tts.backend=sherpa",
                              "tts.sherpa_model_type=vits",
                              s2,
                              "mem.preload=true",
                              s3,
                              s4,
                              NULL};
    /* The server's stderr goes to the log file (it keeps the descriptor it inherits). */
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    server_proc p;
    int rc = server_proc_start(&p, settings, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    CHECK_MSG(rc == 0, "%s: %s", name, err);
    if (rc != 0) return;

    /* Preloading ends with every component loaded: on the embedded engines. */
    char stt_state[32] = "", tts_state[32] = "", body[1 << 16];
    for (int i = 0; i < 300 && (strcmp(stt_state, "loaded") || strcmp(tts_state, "loaded")); i++) {
        if (http_request(p.port, "GET", "/api/status", NULL, NULL, body, sizeof body) == 200) {
            cJSON *st = cJSON_Parse(body);
            component_state(st, "stt", stt_state, sizeof stt_state);
            component_state(st, "tts", tts_state, sizeof tts_state);
            cJSON_Delete(st);
        }
        if (strcmp(stt_state, "loaded") || strcmp(tts_state, "loaded")) usleep(100 * 1000);
    }
    CHECK_STR(stt_state, "loaded");
    CHECK_STR(tts_state, "loaded");
    CHECK_EQ_INT(http_request(p.port, "GET", "/health", NULL, NULL, body, sizeof body), 200);

    /* A typed question over the socket is answered with audio (flite's). */
    int st;
    ws_client *c = ws_client_connect(p.port, "/ws", NULL, 5000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "connect: %d %s", st, err);
    int audio = 0, ready = 0;
    if (c) {
        CHECK(ws_client_send_text(c, "{\"event\":\"text\",\"text\":\"what is a lidar\"}") == 0);
        int64_t end = wsc_now_us() + 20000000;
        while (!(ready && audio) && wsc_now_us() < end) {
            ws_msg m;
            if (ws_client_recv(c, 200, &m) < 0) break;
            if (m.opcode == WSC_BINARY && m.len > 44) audio++;
            if (m.opcode == WSC_TEXT && strstr((char *)m.data, "speaking")) ready = 1;
        }
        ws_client_close(c, 1000);
        ws_client_free(c);
    }
    CHECK_MSG(ready && audio > 0, "%s: answered %d, audio messages %d", name, ready, audio);
    CHECK_EQ_INT(server_proc_stop(&p), 0);

    char *text = file_read_all(log, 1 << 20, NULL, err, sizeof err);
    CHECK(text != NULL);
    if (!text) return;
    /* One clear line each: the folder, the trial's outcome, the engine used instead. */
    const char *ls = strstr(text, "falling back to pocketsphinx"),
               *lt = strstr(text, "falling back to flite");
    CHECK_MSG(ls != NULL, "%s: no recogniser fallback line", name);
    CHECK_MSG(lt != NULL, "%s: no voice fallback line", name);
    for (const char *l = text; l && *l;) { /* show the error lines */
        const char *nl = strchr(l, '\n');
        int len = nl ? (int)(nl - l) : (int)strlen(l);
        if (memmem(l, (size_t)len, "ERROR", 5)) fprintf(stderr, "    %.*s\n", len, l);
        l = nl ? nl + 1 : NULL;
    }
    CHECK_CONTAINS(text, stt);
    CHECK_CONTAINS(text, tts);
    CHECK_CONTAINS(text, "trial load");
    free(text);
}

/* The trial helper itself: a child that hangs is killed at its deadline and reaped, a
 * crash and an error exit are told apart with the child's last words. */
static int hang(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return 0;
}
static int crash(void *arg) {
    (void)arg;
    fprintf(stderr, "about to abort\n");
    abort();
}
static int fail_says_why(void *arg) {
    fprintf(stderr, "some noise\n%s\n", (const char *)arg);
    return 3;
}
static int pass(void *arg) {
    (void)arg;
    return 0;
}

static void test_child_trial_outcomes(void) {
    char why[512] = "";
    CHECK_EQ_INT(child_trial(pass, NULL, 5000, why, sizeof why), 0);
    CHECK_EQ_INT(child_trial(hang, NULL, 300, why, sizeof why), -1);
    CHECK_CONTAINS(why, "did not finish within 300 ms");
    CHECK_EQ_INT(child_trial(crash, NULL, 5000, why, sizeof why), -1);
    CHECK_CONTAINS(why, "died of signal 6");
    CHECK_CONTAINS(why, "about to abort");
    CHECK_EQ_INT(
        child_trial(fail_says_why, "model file is not a transducer", 5000, why, sizeof why), -1);
    CHECK_CONTAINS(why, "exited with status 3: model file is not a transducer");
    /* No child is left behind: every one was reaped. */
    CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

static void test_truncated(void) {
    run_case(TRUNCATED, "truncated");
}
static void test_garbage(void) {
    run_case(GARBAGE, "garbage");
}
static void test_wrong_architecture(void) {
    run_case(WRONG_ARCH, "wrong architecture");
}

int main(int argc, char **argv) {
    (void)argc;
    char path[1024], err[256];
    tu_root_path("deps/silero/dist/silero_vad_v5.onnx", path, sizeof path);
    onnx = file_read_all(path, 16 << 20, &onnx_len, err, sizeof err);
    if (!onnx || tu_mkdtemp(tmp, sizeof tmp) != 0) {
        fprintf(stderr, "%s: run scripts/install-deps.sh (it fetches the Silero model)\n", err);
        printf("test_speech_sherpa_trial: 0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    RUN(test_child_trial_outcomes);
    RUN(test_truncated);
    RUN(test_garbage);
    RUN(test_wrong_architecture);
    free(onnx);
    if (!getenv("KEEP")) tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
