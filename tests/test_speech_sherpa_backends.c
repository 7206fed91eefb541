/* The sherpa-onnx recogniser and synthesiser backends without model files (none can
 * be installed here): every missing or wrong file is an error that names it, and
 * with files that only look right the backend hands the paths to the real library
 * in the right fields (checked through sherpa's debug=1 print, in a child process
 * because onnxruntime aborts on the fake models). Recognition and synthesis with
 * real models need a user's model folder; see README section speech-vad. */
#include "check.h"
#include "core/config.h"
#include "core/util.h"
#include "speech/sherpa_api.h"
#include "speech/stt.h"
#include "speech/tts.h"
#include "support/testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

/* A file that passes the ONNX header check but is no model. */
static void fake_onnx(const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    CHECK(tu_write_file(p, "\x08\x07 not really a model") == 0);
}

static void text_file(const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    CHECK(tu_write_file(p, text) == 0);
}

static axiom_config *cfg_with(const char *k1, const char *v1, const char *k2, const char *v2) {
    axiom_config *c = config_new();
    char err[256];
    if (k1) CHECK(config_set(c, k1, v1, CFG_FLAG, NULL, err, sizeof err) == 0);
    if (k2) CHECK(config_set(c, k2, v2, CFG_FLAG, NULL, err, sizeof err) == 0);
    return c;
}

static void fresh_dir(void) {
    if (dir[0]) tu_rmtree(dir);
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
}

static void stt_load_error(const char *type, char *err, size_t errlen) {
    axiom_config *c = cfg_with("stt.sherpa_model_dir", dir, "stt.sherpa_model_type", type);
    void *m = stt_backend_sherpa.model_load(c, NULL, err, errlen);
    CHECK(m == NULL);
    if (m) stt_backend_sherpa.model_free(m);
    config_free(c);
}

static void stt_unset_folder_is_named(void) {
    axiom_config *c = config_new();
    char err[512];
    CHECK(stt_backend_sherpa.model_load(c, NULL, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "stt.sherpa_model_dir is not set");
    config_free(c);
}

static void stt_missing_files_are_named(void) {
    char err[1024];
    fresh_dir();
    stt_load_error("transducer", err, sizeof err);
    CHECK_CONTAINS(err, dir);
    CHECK_CONTAINS(err, "no *encoder*.onnx file");
    CHECK_CONTAINS(err, "encoder*.onnx, decoder*.onnx, joiner*.onnx, tokens.txt");

    fake_onnx("encoder-epoch-99-avg-1.onnx");
    fake_onnx("decoder-epoch-99-avg-1.onnx");
    stt_load_error("transducer", err, sizeof err);
    CHECK_CONTAINS(err, "no *joiner*.onnx file");

    fake_onnx("joiner-epoch-99-avg-1.onnx");
    stt_load_error("nemo-transducer", err, sizeof err);
    CHECK_CONTAINS(err, "no *tokens*.txt file");
    CHECK_CONTAINS(err, "stt.sherpa_model_dir (nemo-transducer)");

    /* A file named like a model that is not one. */
    text_file("joiner-epoch-99-avg-1.int8.onnx", "<html>404 not found</html>");
    text_file("tokens.txt", "<blk> 0\n");
    stt_load_error("transducer", err, sizeof err);
    CHECK_CONTAINS(err, "joiner-epoch-99-avg-1.int8.onnx");
    CHECK_CONTAINS(err, "not an ONNX model");

    fresh_dir();
    fake_onnx("tiny.en-encoder.onnx");
    fake_onnx("tiny.en-decoder.onnx");
    stt_load_error("whisper", err, sizeof err);
    CHECK_CONTAINS(err, "no *tokens*.txt file");
    CHECK_CONTAINS(err, "*encoder*.onnx, *decoder*.onnx, *tokens.txt");

    char none[300];
    snprintf(none, sizeof none, "%s/does-not-exist", dir);
    axiom_config *c = cfg_with("stt.sherpa_model_dir", none, NULL, NULL);
    CHECK(stt_backend_sherpa.model_load(c, NULL, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, none);
    CHECK_CONTAINS(err, "No such file");
    config_free(c);
}

static void tts_missing_files_are_named(void) {
    char err[1024];
    axiom_config *c = config_new();
    CHECK(tts_backend_sherpa.model_load(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "tts.sherpa_model_dir is not set");
    config_free(c);

    fresh_dir();
    c = cfg_with("tts.sherpa_model_dir", dir, "tts.sherpa_model_type", "vits");
    CHECK(tts_backend_sherpa.model_load(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "no **.onnx file");
    CHECK_CONTAINS(err, dir);
    fake_onnx("en_US-amy-low.onnx");
    text_file("tokens.txt", "_ 0\n");
    CHECK(tts_backend_sherpa.model_load(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "espeak-ng-data: missing");
    config_free(c);

    fresh_dir();
    c = cfg_with("tts.sherpa_model_dir", dir, "tts.sherpa_model_type", "kokoro");
    fake_onnx("model.onnx");
    text_file("tokens.txt", "$ 0\n");
    CHECK(tts_backend_sherpa.model_load(c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "Kokoro voices file");
    CHECK_CONTAINS(err, "voices.bin");
    CHECK_CONTAINS(err, "No such file");
    config_free(c);
}

/* ---- the paths reach sherpa-onnx in the right fields ---- */

static char captured[32768];

typedef void (*child_fn)(void);

static void run_child(child_fn fn) {
    char path[] = "/tmp/axiom-sherpa-XXXXXX";
    int fd = mkstemp(path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        setenv("AXIOM_SHERPA_DEBUG", "1", 1);
        fn();
        fflush(stderr);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    captured[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t n = fread(captured, 1, sizeof captured - 1, f);
        captured[n] = '\0';
        fclose(f);
    }
    close(fd);
    unlink(path);
}

static const char *stt_type;

static void child_stt(void) {
    axiom_config *c = cfg_with("stt.sherpa_model_dir", dir, "stt.sherpa_model_type", stt_type);
    char err[1024];
    void *m = stt_backend_sherpa.model_load(c, NULL, err, sizeof err);
    fprintf(stderr, "\nRESULT %s\n", m ? "loaded" : err);
}

static void child_tts(void) {
    axiom_config *c = cfg_with("tts.sherpa_model_dir", dir, "tts.sherpa_model_type", "kokoro");
    char err[1024];
    void *m = tts_backend_sherpa.model_load(c, err, sizeof err);
    fprintf(stderr, "\nRESULT %s\n", m ? "loaded" : err);
}

static int sherpa_installed(void) {
    char p[1024];
    sherpa_api_library_path(p, sizeof p);
    struct stat st;
    return stat(p, &st) == 0;
}

static void stt_files_reach_sherpa_in_the_right_fields(void) {
    if (!sherpa_installed()) SKIP("sherpa-onnx library not installed");
    fresh_dir();
    fake_onnx("encoder.int8.onnx");
    fake_onnx("encoder.onnx"); /* the quantised one is preferred */
    fake_onnx("decoder.int8.onnx");
    fake_onnx("joiner.int8.onnx");
    text_file("tokens.txt", "<blk> 0\n");
    char want[1024];

    stt_type = "nemo-transducer";
    run_child(child_stt);
    snprintf(want, sizeof want,
             "OfflineTransducerModelConfig(encoder_filename=\"%s/encoder.int8.onnx\", "
             "decoder_filename=\"%s/decoder.int8.onnx\", joiner_filename=\"%s/joiner.int8.onnx\")",
             dir, dir, dir);
    CHECK_CONTAINS(captured, want);
    snprintf(want, sizeof want, "tokens=\"%s/tokens.txt\"", dir);
    CHECK_CONTAINS(captured, want);
    CHECK_CONTAINS(captured, "model_type=\"nemo_transducer\"");
    CHECK(strstr(captured, "RESULT loaded") == NULL);

    stt_type = "transducer";
    run_child(child_stt);
    snprintf(want, sizeof want,
             "OnlineTransducerModelConfig(encoder=\"%s/encoder.int8.onnx\", "
             "decoder=\"%s/decoder.int8.onnx\", joiner=\"%s/joiner.int8.onnx\")",
             dir, dir, dir);
    CHECK_CONTAINS(captured, want);
    CHECK_CONTAINS(captured, "decoding_method=\"greedy_search\"");

    fresh_dir();
    fake_onnx("base.en-encoder.int8.onnx");
    fake_onnx("base.en-decoder.int8.onnx");
    text_file("base.en-tokens.txt", "a 0\n");
    stt_type = "whisper";
    run_child(child_stt);
    snprintf(want, sizeof want,
             "OfflineWhisperModelConfig(encoder=\"%s/base.en-encoder.int8.onnx\", "
             "decoder=\"%s/base.en-decoder.int8.onnx\", language=\"en\", task=\"transcribe\"",
             dir, dir);
    CHECK_CONTAINS(captured, want);
}

static void tts_files_reach_sherpa_in_the_right_fields(void) {
    if (!sherpa_installed()) SKIP("sherpa-onnx library not installed");
    fresh_dir();
    fake_onnx("model.onnx");
    text_file("tokens.txt", "$ 0\n");
    text_file("voices.bin", "xxxx");
    text_file("lexicon-us-en.txt", "hello h e l o\n");
    char data[512];
    snprintf(data, sizeof data, "%s/espeak-ng-data", dir);
    CHECK(mkdir(data, 0755) == 0);
    run_child(child_tts);
    char want[2048];
    snprintf(want, sizeof want,
             "OfflineTtsKokoroModelConfig(model=\"%s/model.onnx\", voices=\"%s/voices.bin\", "
             "tokens=\"%s/tokens.txt\", lexicon=\"%s/lexicon-us-en.txt\", data_dir=\"%s\"",
             dir, dir, dir, dir, data);
    CHECK_CONTAINS(captured, want);
    /* The fake model is refused by sherpa-onnx's trial load, cleanly. */
    snprintf(want, sizeof want, "RESULT tts.sherpa_model_dir %s: damaged, or not a kokoro voice",
             dir);
    CHECK_CONTAINS(captured, want);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(stt_unset_folder_is_named);
    RUN(stt_missing_files_are_named);
    RUN(tts_missing_files_are_named);
    RUN(stt_files_reach_sherpa_in_the_right_fields);
    RUN(tts_files_reach_sherpa_in_the_right_fields);
    tu_rmtree(dir);
    return CHECK_DONE(argv[0]);
}
