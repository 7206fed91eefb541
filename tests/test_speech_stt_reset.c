/* Every session starts with a clean recogniser: a pooled PocketSphinx decoder must
 * not carry the channel normalisation (live cepstral mean) of whoever it served last.
 * One decoder (stt.pool_size = 1) serves, in turn, a reference utterance, a loud
 * session (+12 dB) and a quiet one (-20 dB) of other speech, and after each the same
 * reference again: the hypothesis must be the same every time. A session that keeps
 * its own channel state (stt_channel, as the server's sessions do) adapts across its
 * own utterances and still hears the same whatever other sessions did in between. Real
 * audio: the human recording goforward.raw and a pack question spoken by flite. */
#include "check.h"
#include "core/config.h"
#include "core/util.h"
#include "speech/stt.h"
#include "speech/stt_corpus.h"
#include "speech/tts.h"
#include "support/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GOFORWARD "/usr/share/pocketsphinx/test/data/goforward.raw"
#define QUESTION "how much power does the jetson orin nano draw"

static char tmp[256];

/* Scales by db decibels with saturation, as a loud microphone clips. */
static int16_t *scaled(const int16_t *x, size_t n, double db) {
    int16_t *y = malloc(n * sizeof *y);
    if (!y) return NULL;
    double g = pow(10.0, db / 20.0);
    for (size_t i = 0; i < n; i++) {
        double v = x[i] * g;
        y[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
    }
    return y;
}

/* One utterance through one stream, fed in 32 ms frames as the browser sends them;
 * ch: the session's channel state, or NULL. */
static char *decode_in(stt_engine *e, stt_channel *ch, const int16_t *pcm, size_t n) {
    char err[512];
    int st;
    stt_stream *s = stt_stream_begin(e, 2000, &st, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return strdup("(no stream)");
    stt_stream_use_channel(s, ch);
    for (size_t off = 0; off < n; off += 512)
        CHECK_EQ_INT(stt_stream_feed(s, pcm + off, n - off < 512 ? n - off : 512, err, sizeof err),
                     0);
    stt_result r;
    CHECK_EQ_INT(stt_stream_finish(s, &r, err, sizeof err), 0);
    char *t = strdup(r.text ? r.text : "");
    stt_result_clear(&r);
    return t;
}

static char *decode(stt_engine *e, const int16_t *pcm, size_t n) {
    return decode_in(e, NULL, pcm, n);
}

/* Session A says `first` then `ref`; again with a fresh A, while session B speaks
 * loudly and then quietly between A's two utterances: A must hear ref the same. */
static void session_keeps_its_channel(stt_engine *e, const int16_t *first, size_t nfirst,
                                      const int16_t *ref, size_t nref, const int16_t *other,
                                      size_t nother) {
    int16_t *loud = scaled(other, nother, 12), *quiet = scaled(first, nfirst, -20);
    stt_channel a = {.n = 0}, a2 = {.n = 0}, b = {.n = 0};
    free(decode_in(e, &a, quiet, nfirst));
    CHECK(a.n > 0); /* the session's state was kept */
    char *alone = decode_in(e, &a, ref, nref);
    free(decode_in(e, &a2, quiet, nfirst));
    free(decode_in(e, &b, loud, nother));
    free(decode_in(e, &b, loud, nother));
    char *between = decode_in(e, &a2, ref, nref);
    fprintf(stderr, "  session A alone '%s', with B in between '%s'\n", alone, between);
    CHECK_STR(between, alone);
    CHECK(memcmp(a.v, a2.v, sizeof a.v) == 0 && a.n == a2.n);
    free(alone);
    free(between);
    free(loud);
    free(quiet);
}

/* ref, then a loud session of other, then ref, then a quiet session of other, then ref:
 * the three hypotheses of ref must be one. */
static void same_after_loud_and_quiet(stt_engine *e, const int16_t *ref, size_t nref,
                                      const int16_t *other, size_t nother, const char *expect) {
    int16_t *loud = scaled(other, nother, 12), *quiet = scaled(other, nother, -20);
    CHECK(loud && quiet);
    if (!loud || !quiet) {
        free(loud);
        free(quiet);
        return;
    }
    char *first = decode(e, ref, nref);
    free(decode(e, loud, nother));
    free(decode(e, loud, nother));
    char *after_loud = decode(e, ref, nref);
    free(decode(e, quiet, nother));
    free(decode(e, quiet, nother));
    char *after_quiet = decode(e, ref, nref);
    fprintf(stderr, "  first '%s', after loud '%s', after quiet '%s'\n", first, after_loud,
            after_quiet);
    CHECK_STR(after_loud, first);
    CHECK_STR(after_quiet, first);
    if (expect) CHECK_CONTAINS(first, expect); /* "meters" or the pack's "metres" */
    free(first);
    free(after_loud);
    free(after_quiet);
    free(loud);
    free(quiet);
}

static void test_same_hypothesis_after_loud_and_quiet_sessions(void) {
    if (access("/usr/share/pocketsphinx/model/en-us/en-us/mdef", R_OK) != 0)
        SKIP("pocketsphinx-en-us is not installed");
    char err[512], data[1024];
    size_t len = 0;
    int16_t *go = (int16_t *)file_read_all(GOFORWARD, 16 << 20, &len, err, sizeof err);
    CHECK_MSG(go != NULL, "%s (pocketsphinx-testdata)", err);
    size_t ngo = len / 2;
    stt_text_corpus *pack =
        stt_text_corpus_load(tu_root_path("data", data, sizeof data), err, sizeof err);
    CHECK_MSG(pack != NULL, "%s", err);
    axiom_config *cfg = config_new();
    config_set(cfg, "cache_dir", tmp, CFG_FLAG, "test", err, sizeof err);
    config_set(cfg, "stt.pool_size", "1", CFG_FLAG, "test", err,
               sizeof err); /* one decoder serves everyone */
    tts_engine *t = tts_engine_new(cfg, err, sizeof err);
    CHECK_MSG(t != NULL, "%s", err);
    tts_audio q = {0};
    CHECK_MSG(t && tts_synth(t, QUESTION, "slt", 16000, NULL, &q, err, sizeof err) == 0, "%s", err);
    stt_corpus_provider prov = stt_text_corpus_provider(pack);
    stt_engine *e = pack && go && q.n ? stt_engine_new(cfg, &prov, err, sizeof err) : NULL;
    CHECK_MSG(e != NULL, "%s", err);
    if (e) {
        /* A human recording after a synthetic voice, and the other way round. */
        same_after_loud_and_quiet(e, go, ngo, q.samples, q.n, "go forward ten");
        same_after_loud_and_quiet(e, q.samples, q.n, go, ngo, NULL);
        session_keeps_its_channel(e, go, ngo, q.samples, q.n, go, ngo);
        int created, in_use, size;
        stt_engine_pool_counts(e, &created, &in_use, &size);
        CHECK_EQ_INT(created, 1); /* it really was one decoder */
    }
    stt_engine_free(e);
    tts_audio_clear(&q);
    tts_engine_free(t);
    stt_text_corpus_free(pack);
    config_free(cfg);
    free(go);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    RUN(test_same_hypothesis_after_loud_and_quiet_sessions);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
