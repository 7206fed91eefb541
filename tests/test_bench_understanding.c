/* The pieces the understanding benchmark builds its rooms from (tests/support/room.c,
 * voices.c): the babble, hiss and fan noises are mixed at the SNR asked for (within
 * 1 dB, measured on the added noise alone) and start before the question and go on
 * after it; background segments are chosen where someone is talking; every sox
 * condition writes a readable file of the expected rate and length; gain is gain;
 * voices speak; cache keys tell inputs apart; without sox the benchmark stops with a
 * message saying what to install. */
#include "check.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/tts.h"
#include "speech/wav.h"
#include "support/room.h"
#include "support/testutil.h"
#include "support/voices.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp[256];

/* Speech-like test signal: 250 ms tone bursts of varying pitch with 100 ms gaps. */
static int16_t *bursts(size_t n, double amp) {
    int16_t *p = calloc(n, sizeof *p);
    for (size_t i = 0; p && i < n; i++) {
        size_t k = i / 5600, in = i % 5600;
        if (in < 4000)
            p[i] =
                (int16_t)(amp * sin(2 * M_PI * (150.0 + 40 * (double)(k % 5)) * (double)i / 16000));
    }
    return p;
}

static int have_sox(void) {
    char b[600];
    return tool_which("sox", b, sizeof b) != NULL;
}

/* The added noise alone, measured against the speech's level. */
static void check_snr(const int16_t *speech, size_t ns, const int16_t *noise, size_t nn,
                      double snr) {
    size_t pad = 16000 * ROOM_PAD_MS / 1000;
    int16_t *out = NULL;
    size_t no = 0;
    CHECK_EQ_INT(room_mix(speech, ns, noise, nn, pad, snr, &out, &no), 0);
    if (!out) return;
    CHECK_EQ_INT(no, ns + 2 * pad);
    int16_t *added = malloc(no * sizeof *added);
    for (size_t i = 0; i < no; i++)
        added[i] = (int16_t)(out[i] - (i >= pad && i < pad + ns ? speech[i - pad] : 0));
    double got = room_active_level_db(speech, ns) - room_active_level_db(added, no);
    CHECK_MSG(fabs(got - snr) <= 1.0, "asked %.1f dB, got %.2f dB", snr, got);
    /* the background is there before the question starts and after it ends */
    CHECK(room_active_level_db(out, pad) > -60);
    CHECK(room_active_level_db(out + pad + ns, pad) > -60);
    free(added);
    free(out);
}

static void test_mix_levels_synthetic(void) {
    size_t ns = 16000 * 2, nn = ns + 16000 * 2;
    int16_t *speech = bursts(ns, 8000), *noise = malloc(nn * sizeof *noise);
    srand(7);
    for (size_t i = 0; i < nn; i++)
        noise[i] = (int16_t)((rand() % 20001) - 10000);
    double snrs[] = {15, 10, 5, 0};
    for (int i = 0; i < 4; i++)
        check_snr(speech, ns, noise, nn, snrs[i]);
    /* too little noise for the padded span: refused, not read past */
    int16_t *out = NULL;
    size_t no = 0;
    CHECK_EQ_INT(room_mix(speech, ns, noise, ns, 9600, 10, &out, &no), -1);
    CHECK(out == NULL);
    free(speech);
    free(noise);
}

static void test_mix_levels_real_babble(void) {
    if (!have_sox()) SKIP("sox is not installed");
    room_noise rn;
    char err[512];
    if (room_noise_load(&rn, tmp, err, sizeof err) != 0) SKIP("%s", err);
    CHECK(rn.babble_files >= 2);
    CHECK(rn.n[ROOM_BABBLE] > 16000 * 30);
    CHECK(rn.n[ROOM_WHITE] >= 16000 * 60 && rn.n[ROOM_FAN] >= 16000 * 60);
    size_t ns = 16000 * 3, total = ns + 2 * 9600;
    int16_t *speech = bursts(ns, 6000);
    const room_condition *b10 = room_condition_find("babble10");
    CHECK(b10 && b10->kind == ROOM_MIX && b10->noise == ROOM_BABBLE && b10->snr_db == 10);
    for (uint64_t seed = 1; seed < 6; seed++) {
        size_t off =
            room_pick_segment(rn.pcm[ROOM_BABBLE], rn.n[ROOM_BABBLE], total, 9600, seed * 7919);
        CHECK(off + total <= rn.n[ROOM_BABBLE]);
        const int16_t *seg = rn.pcm[ROOM_BABBLE] + off;
        double snrs[] = {15, 10, 5};
        for (int i = 0; i < 3; i++)
            check_snr(speech, ns, seg, total, snrs[i]);
    }
    check_snr(speech, ns, rn.pcm[ROOM_WHITE], rn.n[ROOM_WHITE], 10);
    check_snr(speech, ns, rn.pcm[ROOM_FAN], rn.n[ROOM_FAN], 10);
    /* made in repeatable mode: a second load reads the same noise */
    room_noise again;
    CHECK_EQ_INT(room_noise_load(&again, tmp, err, sizeof err), 0);
    CHECK(again.n[ROOM_FAN] == rn.n[ROOM_FAN] &&
          memcmp(again.pcm[ROOM_FAN], rn.pcm[ROOM_FAN], rn.n[ROOM_FAN] * sizeof(int16_t)) == 0);
    room_noise_free(&again);
    room_noise_free(&rn);
    free(speech);
}

/* Half silence, half talking: the segment chosen is mostly talking. */
static void test_pick_segment(void) {
    size_t n = 16000 * 20, len = 16000 * 2;
    int16_t *pool = calloc(n, sizeof *pool), *talk = bursts(n / 2, 5000);
    memcpy(pool + n / 2, talk, n / 2 * sizeof *pool);
    for (size_t i = 0; i < n / 2; i++)
        pool[i] = (int16_t)(i % 3); /* a whisper of hum */
    for (uint64_t seed = 0; seed < 20; seed++) {
        size_t off = room_pick_segment(pool, n, len, 0, seed * 104729);
        CHECK(off + len <= n);
        CHECK_MSG(off + len / 2 >= n / 2, "seed %llu: offset %zu is in the silent half",
                  (unsigned long long)seed, off);
    }
    free(pool);
    free(talk);
}

static void test_sox_conditions(void) {
    if (!have_sox()) SKIP("sox is not installed");
    room_noise rn;
    char err[512];
    if (room_noise_load(&rn, tmp, err, sizeof err) != 0) SKIP("%s", err);
    size_t ns = 16000;
    int16_t *speech = bursts(ns, 6000);
    double clean_level = 0;
    for (size_t c = 0; c < room_n_conditions; c++) {
        const room_condition *rc = &room_conditions[c];
        char out[400];
        snprintf(out, sizeof out, "%s/%s.wav", tmp, rc->name);
        CHECK_MSG(room_render(rc, &rn, speech, ns, 42, tmp, out, err, sizeof err) == 0, "%s: %s",
                  rc->name, err);
        wav_reader *r = wav_reader_open(out, 16000, 60, err, sizeof err);
        CHECK_MSG(r != NULL, "%s: %s", rc->name, err);
        if (!r) continue;
        wav_info wi;
        wav_reader_get_info(r, &wi);
        wav_reader_free(r);
        CHECK_EQ_INT(wi.src_rate, rc->out_rate ? rc->out_rate : 16000);
        int16_t *pcm = NULL;
        size_t n = 0;
        CHECK_EQ_INT(wav_read_all(out, 16000, 60, &pcm, &n, err, sizeof err), 0);
        double padded = (double)(ns + 2 * 9600);
        double expect = strcmp(rc->name, "fast10") == 0   ? padded / 1.1
                        : strcmp(rc->name, "slow10") == 0 ? padded / 0.9
                                                          : padded;
        CHECK_MSG(fabs((double)n - expect) < 0.03 * expect, "%s: %zu samples, expected about %.0f",
                  rc->name, n, expect);
        double level = room_active_level_db(pcm, n);
        if (rc->kind == ROOM_CLEAN) clean_level = level;
        if (strcmp(rc->name, "gain-12") == 0)
            CHECK_MSG(fabs(clean_level - 12 - level) < 1.0, "gain-12: %.1f dB vs clean %.1f dB",
                      level, clean_level);
        CHECK(level > -60);
        free(pcm);
        unlink(out);
    }
    CHECK(room_condition_find("no-such-room") == NULL);
    free(speech);
    room_noise_free(&rn);
}

static void test_voices_and_keys(void) {
    axiom_config *cfg = config_new();
    char err[512];
    tts_engine *tts = tts_engine_new(cfg, err, sizeof err);
    int16_t *pcm = NULL;
    size_t n = 0;
    CHECK_EQ_INT(
        voice_speak(tts, "flite:slt", "what is the robot dog", tmp, &pcm, &n, err, sizeof err), 0);
    CHECK(n > 16000 / 2);
    free(pcm);
    CHECK_EQ_INT(voice_speak(tts, "festival:kal", "hello", tmp, &pcm, &n, err, sizeof err), -1);
    CHECK_CONTAINS(err, "expected flite:NAME or espeak:VOICE");
    char b[600];
    if (tool_which("espeak-ng", b, sizeof b)) {
        size_t n1 = 0, n2 = 0;
        int16_t *p1 = NULL, *p2 = NULL;
        CHECK_EQ_INT(voice_speak(NULL, "espeak:en-gb", "what is the robot dog", tmp, &p1, &n1, err,
                                 sizeof err),
                     0);
        CHECK_EQ_INT(voice_speak(NULL, "espeak:en-gb:p30:s120", "what is the robot dog", tmp, &p2,
                                 &n2, err, sizeof err),
                     0);
        CHECK(n1 > 16000 / 2 && n2 > n1); /* slower speech is longer */
        free(p1);
        free(p2);
        CHECK_EQ_INT(voice_speak(NULL, "espeak:en-gb:x9", "hi", tmp, &p1, &n1, err, sizeof err),
                     -1);
    }
    uint64_t a = room_hash(room_hash(ROOM_HASH_INIT, "ab"), "c"),
             c = room_hash(room_hash(ROOM_HASH_INIT, "a"), "bc");
    CHECK(a != c);
    CHECK(room_hash(ROOM_HASH_INIT, "x") == room_hash(ROOM_HASH_INIT, "x"));
    tts_engine_free(tts);
    config_free(cfg);
}

/* Without sox the benchmark stops at once and says what to install. */
static void test_bench_needs_sox(void) {
    if (access("/usr/share/pocketsphinx/model/en-us/en-us/mdef", R_OK) != 0)
        SKIP("pocketsphinx-en-us is not installed");
    static char out[8192], errb[8192];
    int rc = tu_run_axiom("PATH=/nonexistent", "bench understanding", out, sizeof out, errb,
                          sizeof errb);
    CHECK(rc != 0);
    CHECK_CONTAINS(errb, "sox is not installed");
}

int main(int argc, char **argv) {
    (void)argc;
    log_set_level(AX_LOG_WARN);
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    RUN(test_mix_levels_synthetic);
    RUN(test_mix_levels_real_babble);
    RUN(test_pick_segment);
    RUN(test_sox_conditions);
    RUN(test_voices_and_keys);
    RUN(test_bench_needs_sox);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
