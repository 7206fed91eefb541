/* stt.backend = sherpa / tts.backend = sherpa with a model folder that is missing its
 * files: the engine logs an error naming the missing file and carries on with the
 * embedded backend (PocketSphinx, flite), so voice keeps working. Real recognition
 * and synthesis through the fallback: goforward.raw must come back as words. */
#include "check.h"
#include "core/config.h"
#include "core/log.h"
#include "speech/stt.h"
#include "speech/tts.h"
#include "support/testutil.h"
#include "support/vad_fixture.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char logbuf[16384];

/* Runs fn with stderr captured into logbuf. */
static void with_stderr_captured(void (*fn)(void *), void *arg) {
    char path[] = "/tmp/axiom-fallback-log-XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    logbuf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t n = fread(logbuf, 1, sizeof logbuf - 1, f);
        logbuf[n] = '\0';
        fclose(f);
    }
    close(fd);
    unlink(path);
}

typedef struct {
    axiom_config *cfg;
    const fx_audio *audio;
    int rc;
    char text[512];
    char err[512];
} stt_case;

static void stt_run(void *p) {
    stt_case *c = p;
    c->rc = -1;
    stt_engine *e = stt_engine_new(c->cfg, NULL, c->err, sizeof c->err);
    if (!e) return;
    int status = 0;
    stt_stream *s = stt_stream_begin(e, 5000, &status, c->err, sizeof c->err);
    if (s) {
        stt_stream_feed(s, c->audio->s, c->audio->n, c->err, sizeof c->err);
        stt_result r;
        memset(&r, 0, sizeof r);
        c->rc = stt_stream_finish(s, &r, c->err, sizeof c->err);
        if (c->rc == 0 && r.text) snprintf(c->text, sizeof c->text, "%s", r.text);
        stt_result_clear(&r);
    }
    stt_engine_free(e);
}

static void stt_falls_back_to_pocketsphinx(void) {
    fx_audio a;
    if (fx_read("/usr/share/pocketsphinx/test/data/goforward.raw", &a) != 0)
        SKIP("pocketsphinx-testdata is not installed (goforward.raw)");
    char dir[256], err[256];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    axiom_config *cfg = config_new();
    CHECK(config_set(cfg, "stt.backend", "sherpa", CFG_FLAG, NULL, err, sizeof err) == 0);
    CHECK(config_set(cfg, "stt.sherpa_model_dir", dir, CFG_FLAG, NULL, err, sizeof err) == 0);
    CHECK(config_set(cfg, "stt.lm", "stock", CFG_FLAG, NULL, err, sizeof err) == 0);
    CHECK(config_set(cfg, "stt.pool_size", "1", CFG_FLAG, NULL, err, sizeof err) == 0);
    stt_case c = {cfg, &a, -1, "", ""};
    with_stderr_captured(stt_run, &c);
    CHECK_MSG(c.rc == 0, "recognition failed: %s", c.err);
    CHECK_CONTAINS(c.text, "forward");
    CHECK_CONTAINS(logbuf, dir);
    CHECK_CONTAINS(logbuf, "no *encoder*.onnx file");
    CHECK_CONTAINS(logbuf, "pocketsphinx");
    config_free(cfg);
    tu_rmtree(dir);
    fx_free(&a);
}

typedef struct {
    axiom_config *cfg;
    int rc;
    size_t n;
    char err[512];
} tts_case;

static void tts_run(void *p) {
    tts_case *c = p;
    c->rc = -1;
    tts_engine *e = tts_engine_new(c->cfg, c->err, sizeof c->err);
    if (!e) return;
    tts_audio out;
    memset(&out, 0, sizeof out);
    c->rc = tts_synth(e, "Hello there.", NULL, 16000, NULL, &out, c->err, sizeof c->err);
    c->n = out.n;
    tts_audio_clear(&out);
    tts_engine_free(e);
}

static void tts_falls_back_to_flite(void) {
    char dir[256], err[256];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    axiom_config *cfg = config_new();
    CHECK(config_set(cfg, "tts.backend", "sherpa", CFG_FLAG, NULL, err, sizeof err) == 0);
    CHECK(config_set(cfg, "tts.sherpa_model_dir", dir, CFG_FLAG, NULL, err, sizeof err) == 0);
    CHECK(config_set(cfg, "tts.sherpa_model_type", "kokoro", CFG_FLAG, NULL, err, sizeof err) == 0);
    tts_case c = {cfg, -1, 0, ""};
    with_stderr_captured(tts_run, &c);
    CHECK_MSG(c.rc == 0, "synthesis failed: %s", c.err);
    CHECK(c.n > 16000 / 4); /* a real sentence of audio from flite */
    CHECK_CONTAINS(logbuf, dir);
    CHECK_CONTAINS(logbuf, "no *model*.onnx file");
    CHECK_CONTAINS(logbuf, "flite");
    config_free(cfg);
    tu_rmtree(dir);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(stt_falls_back_to_pocketsphinx);
    RUN(tts_falls_back_to_flite);
    return CHECK_DONE(argv[0]);
}
