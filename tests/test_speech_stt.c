/* Speech-to-text with PocketSphinx on real recordings (Debian's pocketsphinx-testdata,
 * ../shared/audio) and on synthesised in-domain questions the language model never
 * saw; the language model builder (normalisation, ARPA normalisation checked through
 * sphinxbase itself, dictionary, cache); the decoder pool (busy, bounded wait,
 * threads, cancel); streaming partials; bad input through `axiom transcribe`. */
#include "check.h"
#include "core/component.h"
#include "core/config.h"
#include "core/util.h"
#include "speech/lm_build.h"
#include "speech/stt.h"
#include "speech/stt_corpus.h"
#include "speech/stt_file.h"
#include "speech/tts.h"
#include "speech/wav.h"
#include "support/testutil.h"

#include <math.h>
#include <ngram_model.h>
#include <pthread.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define TESTDATA "/usr/share/pocketsphinx/test/data"

static char tmp[256];
static stt_text_corpus *pack;
/* One stock-model engine (pool of 2) shared by the tests: loading the 20k-word model
 * costs a second of CPU each time. */
static axiom_config *stock_cfg;
static stt_engine *stock;

static axiom_config *make_cfg(const char *lm, int pool) {
    axiom_config *cfg = config_new();
    char err[256], v[16];
    config_set(cfg, "stt.lm", lm, CFG_FLAG, "test", err, sizeof err);
    config_set(cfg, "cache_dir", tmp, CFG_FLAG, "test", err, sizeof err);
    snprintf(v, sizeof v, "%d", pool);
    config_set(cfg, "stt.pool_size", v, CFG_FLAG, "test", err, sizeof err);
    return cfg;
}

static int have_models(void) {
    return access("/usr/share/pocketsphinx/model/en-us/en-us/mdef", R_OK) == 0;
}

static void test_normalize(void) {
    char out[256];
    lm_normalize("What's the ROS2 & Jetson's 3.5% (12V) draw?", out, sizeof out);
    CHECK_STR(out, "what's the ros two and jetson's three point five percent twelve v draw");
    lm_normalize("  2024 -- 007 100 1000000 ", out, sizeof out);
    CHECK_STR(out, "two thousand twenty four seven one hundred one zero zero zero zero zero zero");
    lm_normalize("\xc3\xa9t\xc3\xa9 'quoted' C++", out, sizeof out);
    CHECK_STR(out, "t quoted c plus plus");
    char small[12];
    CHECK(lm_normalize("alpha beta gamma delta", small, sizeof small) <= 11);
    CHECK_STR(small, "alpha beta");
    int n;
    CHECK_EQ_INT(stt_word_errors("go forward ten meters", "go forward 10 meters", &n), 0);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(stt_word_errors("a b c d", "a x c", &n), 2);
    CHECK_EQ_INT(stt_word_errors("", "extra words", &n), 2);
    CHECK_EQ_INT(n, 0);
}

/* sphinxbase reads the model and, for every history tried, the probabilities of all
 * words sum to one: smoothing and back-off weights are consistent. */
static void test_arpa_is_normalised(void) {
    lm_counts *c = lm_counts_new();
    const char *s[] = {
        "tell me about the robot dog",   "tell me about the lidar", "what is the robot dog",
        "what can the lidar do",         "the dog can walk",        "tell me a joke",
        "the robot dog can walk and run"};
    for (int i = 0; i < 7; i++)
        CHECK_EQ_INT(lm_counts_add(c, s[i]), 0);
    char path[300], err[256];
    size_t ng[3];
    snprintf(path, sizeof path, "%s/t.arpa", tmp);
    CHECK_EQ_INT(lm_write_arpa(c, path, ng, err, sizeof err), 0);
    CHECK(ng[0] > 10 && ng[1] > 10 && ng[2] > 10);
    logmath_t *lmath = logmath_init(1.0001, 0, 0);
    ngram_model_t *m = ngram_model_read(NULL, path, NGRAM_ARPA, lmath);
    CHECK(m != NULL);
    if (m) {
        const char **words;
        size_t nw = lm_counts_vocab(c, &words);
        const char *hist[][2] = {{"the", NULL},  {"the", "about"}, {"robot", "the"},
                                 {"<s>", NULL},  {"dog", "robot"}, {"joke", NULL},
                                 {"walk", "can"}};
        for (size_t h = 0; h < sizeof hist / sizeof hist[0]; h++) {
            double sum = 0;
            for (size_t w = 1; w < nw; w++) { /* all but <s> */
                int32 n_used;
                int32 score = hist[h][1] ? ngram_probv(m, words[w], hist[h][0], hist[h][1], NULL)
                                         : ngram_probv(m, words[w], hist[h][0], NULL);
                (void)n_used;
                sum += logmath_exp(lmath, score);
            }
            CHECK_MSG(fabs(sum - 1.0) < 0.01, "P(. | %s %s) sums to %f",
                      hist[h][1] ? hist[h][1] : "", hist[h][0], sum);
        }
        ngram_model_free(m);
    }
    logmath_free(lmath);
    lm_counts_free(c);
}

/* Kneser-Ney: a word that is frequent but only ever follows one word ("lidar" after
 * "the") gets less of the unigram mass than one seen after many different words; and
 * with general-English words mixed in, every history still sums to one over the
 * larger vocabulary. */
static void test_arpa_kneser_ney_and_general_words(void) {
    lm_counts *c = lm_counts_new();
    const char *s[] = {"the lidar", "the lidar",    "the lidar",     "the lidar", "the lidar",
                       "a dog",     "my dog barks", "your dog sits", "the robot"};
    for (int i = 0; i < 9; i++)
        CHECK_EQ_INT(lm_counts_add(c, s[i]), 0);
    const char *gw[] = {"stand", "hold", "the", "", "two words"}; /* the last two are skipped */
    const double gp[] = {0.5, 0.3, 0.2, 0.4, 0.4};
    CHECK_EQ_INT(lm_counts_set_general(c, gw, gp, 5, 0.1), 0);
    char path[300], err[256];
    size_t ng[3];
    snprintf(path, sizeof path, "%s/kn.arpa", tmp);
    CHECK_EQ_INT(lm_write_arpa(c, path, ng, err, sizeof err), 0);
    logmath_t *lmath = logmath_init(1.0001, 0, 0);
    ngram_model_t *m = ngram_model_read(NULL, path, NGRAM_ARPA, lmath);
    CHECK(m != NULL);
    if (m) {
        double lidar = logmath_exp(lmath, ngram_probv(m, "lidar", NULL));
        double dog = logmath_exp(lmath, ngram_probv(m, "dog", NULL));
        double stand = logmath_exp(lmath, ngram_probv(m, "stand", NULL));
        CHECK_MSG(lidar < dog, "P(lidar) %f should be below P(dog) %f", lidar, dog);
        CHECK_MSG(stand > 0.04 && stand < 0.06, "P(stand) = %f, expected 0.1 * 0.5", stand);
        const char **words;
        size_t nw = lm_counts_vocab(c, &words);
        const char *hist[][2] = {{"the", NULL}, {"dog", "my"}, {"<s>", NULL}, {"stand", NULL}};
        for (size_t h = 0; h < 4; h++) {
            double sum = 0;
            for (size_t w = 1; w < nw; w++)
                sum += logmath_exp(
                    lmath, hist[h][1] ? ngram_probv(m, words[w], hist[h][0], hist[h][1], NULL)
                                      : ngram_probv(m, words[w], hist[h][0], NULL));
            CHECK_MSG(fabs(sum - 1.0) < 0.01, "P(. | %s) sums to %f", hist[h][0], sum);
        }
        ngram_model_free(m);
    }
    logmath_free(lmath);
    lm_counts_free(c);
}

/* The pack's digit names stay one word ("d435i"), pronounced by the hint and by each
 * way the pack says people say it; the stock model's common words join the model. */
static void test_kept_names_heard_forms_and_general_words(void) {
    const char *kw[] = {"d435i"};
    lm_keep keep = {kw, 1};
    char out[256];
    lm_normalize_keep("Does the D435i see 3 m?", &keep, out, sizeof out);
    CHECK_STR(out, "does the d435i see three m");
    lm_normalize("Does the D435i see 3 m?", out, sizeof out);
    CHECK_STR(out, "does the d four hundred thirty five i see three m");
    int n;
    CHECK_EQ_INT(stt_word_errors_keep("does the D435i work", "does the d435i work", &keep, &n), 0);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(
        stt_word_errors_keep("does the D435i work", "does the d four three five i work", &keep, &n),
        5);

    const char *sents[] = {"does the D435i work with the pi", "what range does the D435i have"};
    const char *hw[] = {"D435i", "Jetson"},
               *hp[] = {"D IY F AO R TH R IY F AY V AY", "JH EH T S AH N"};
    const char *hh[] = {"d four thirty five i|the four three five", NULL};
    stt_corpus corpus = {sents, 2, hw, hp, 2, "kept", hh};
    lm_keep k2;
    CHECK_EQ_INT(lm_keep_from_corpus(&corpus, &k2), 0);
    CHECK_EQ_INT((int)k2.n, 1); /* "Jetson" has no digits: it stays whole anyway */
    if (k2.n) CHECK_STR(k2.words[0], "d435i");
    lm_keep_free(&k2);
    lm_sources src = {"/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
                      "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin", 2000};
    lm_files f;
    char err[256];
    CHECK_EQ_INT(lm_build_cached(&corpus, &src, tmp, &f, err, sizeof err), 0);
    CHECK(f.n_words > 1500); /* the pack's 9 words and the common ones */
    size_t len;
    char *dict = file_read_all(f.dict, 1 << 20, &len, err, sizeof err);
    char *arpa = file_read_all(f.arpa, 8 << 20, &len, err, sizeof err);
    CHECK(dict && arpa);
    if (dict && arpa) {
        CHECK_CONTAINS(dict, "d435i D IY F AO R TH R IY F AY V AY\n");
        CHECK_CONTAINS(dict, "d435i(2) D IY F AO R TH ER T IY F AY V AY\n");
        CHECK_CONTAINS(dict, "d435i(3) DH IY F AO R TH R IY F AY V\n");
        CHECK_CONTAINS(dict, "\nstand S T AE N D\n");
        CHECK_CONTAINS(arpa, " does the d435i");
        CHECK(strstr(arpa, "hundred") == NULL || strstr(arpa, " d four hundred") == NULL);
    }
    free(dict);
    free(arpa);
    /* A different number of common words is a different model. */
    lm_files g;
    src.general_words = 0;
    CHECK_EQ_INT(lm_build_cached(&corpus, &src, tmp, &g, err, sizeof err), 0);
    CHECK(strcmp(g.dir, f.dir) != 0);
    CHECK(g.n_words < 20);
    src.stock_lm = "/nonexistent/en-us.lm.bin";
    src.general_words = 10;
    CHECK(lm_build_cached(&corpus, &src, tmp, &g, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "/nonexistent/en-us.lm.bin");
}

static void test_dictionary_and_cache(void) {
    const char *sents[] = {"tell me about the RPLidar and the IMU", "what does the Jetson do",
                           "how fast is the quadcopter"};
    const char *hw[] = {"Jetson"}, *hp[] = {"JH EH1 T S AH N"};
    stt_corpus corpus = {sents, 3, hw, hp, 1, "abc", NULL};
    lm_files f;
    char err[256];
    lm_sources src = {"/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict", NULL, 0};
    CHECK_EQ_INT(lm_build_cached(&corpus, &src, tmp, &f, err, sizeof err), 0);
    CHECK_EQ_INT(f.from_cache, 0);
    size_t len;
    char *dict = file_read_all(f.dict, 1 << 20, &len, err, sizeof err);
    CHECK(dict != NULL);
    if (dict) {
        CHECK_CONTAINS(dict, "jetson JH EH T S AH N\n"); /* hint, stress removed */
        CHECK_CONTAINS(dict, "rplidar ");                /* letter-to-sound */
        CHECK_CONTAINS(dict, " AY EH M Y UW\n");         /* IMU spelled out */
        CHECK_CONTAINS(dict, "quadcopter K W AA D K AH P T ER\n");
        CHECK_CONTAINS(dict, "the DH IY\n");      /* stock entries kept */
        CHECK(strstr(dict, "jetson(2)") == NULL); /* same as the hint: once */
        CHECK(strstr(dict, "<s>") == NULL);
        free(dict);
    }
    char *extra = file_read_all(f.extra_dict, 1 << 20, &len, err, sizeof err);
    CHECK(extra && strstr(extra, "rplidar") && !strstr(extra, "\nthe "));
    free(extra);
    lm_files again;
    CHECK_EQ_INT(lm_build_cached(&corpus, &src, tmp, &again, err, sizeof err), 0);
    CHECK_EQ_INT(again.from_cache, 1);
    CHECK_STR(again.dir, f.dir);
    /* A damaged cache entry is rebuilt, not trusted. */
    unlink(f.dict);
    CHECK_EQ_INT(lm_build_cached(&corpus, &src, tmp, &again, err, sizeof err), 0);
    CHECK_EQ_INT(again.from_cache, 0);
    CHECK(access(again.dict, R_OK) == 0);
    stt_corpus none = {NULL, 0, NULL, NULL, 0, "", NULL};
    CHECK(lm_build_cached(&none, NULL, tmp, &again, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "stt.lm = stock");
    CHECK(lm_build_cached(&corpus, NULL, "/proc/no-such-dir", &again, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "cache_dir");
}

static void test_goforward_stock(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    size_t n;
    int16_t *pcm = tu_read_raw(TESTDATA "/goforward.raw", &n);
    if (!pcm) SKIP("pocketsphinx-testdata is not installed (" TESTDATA ")");
    char err[512];
    stt_engine *e = stock;
    /* Streamed in 32 ms frames as the browser sends them, asking for partials. */
    int status;
    stt_stream *s = stt_stream_begin(e, 1000, &status, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    int partial_seen = 0;
    for (size_t off = 0; s && off < n; off += 512) {
        size_t k = n - off < 512 ? n - off : 512;
        CHECK_EQ_INT(stt_stream_feed(s, pcm + off, k, err, sizeof err), 0);
        char p[256];
        if (off > n / 2 && stt_stream_partial(s, p, sizeof p) == 0 && strstr(p, "go"))
            partial_seen = 1;
    }
    CHECK(partial_seen);
    stt_result r;
    CHECK_EQ_INT(stt_stream_finish(s, &r, err, sizeof err), 0);
    CHECK_STR(r.text, "go forward ten meters");
    CHECK(r.audio_ms > 2000 && r.n_partials > 10);
    stt_result_clear(&r);
    free(pcm);
}

/* Hiss (white noise 10 dB below the talker, and 300 ms of it before the first word as
 * the VAD's pre-roll brings it): the noise suppressor learns it from the pre-roll
 * before the speech is decoded, and the real recording's words come through. */
static void test_goforward_in_hiss(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    size_t n;
    int16_t *pcm = tu_read_raw(TESTDATA "/goforward.raw", &n);
    if (!pcm) SKIP("pocketsphinx-testdata is not installed (" TESTDATA ")");
    double act = 0;
    size_t nact = 0;
    for (size_t i = 0; i + 320 <= n;
         i += 320) { /* the talker's level: frames within 30 dB of the loudest */
        double p = 0;
        for (size_t k = 0; k < 320; k++)
            p += (double)pcm[i + k] * pcm[i + k];
        if (p / 320 > act) act = p / 320;
    }
    double floor = act / 1000, sum = 0;
    for (size_t i = 0; i + 320 <= n; i += 320) {
        double p = 0;
        for (size_t k = 0; k < 320; k++)
            p += (double)pcm[i + k] * pcm[i + k];
        if (p / 320 >= floor) sum += p / 320, nact++;
    }
    double sd = sqrt(sum / (double)(nact ? nact : 1) / 10.0); /* 10 dB below */
    size_t lead = 4800, total = lead + n;
    int16_t *mix = malloc(total * sizeof *mix);
    CHECK(mix != NULL);
    uint32_t seed = 12345;
    for (size_t i = 0; mix && i < total; i++) {
        double g = 0; /* roughly Gaussian: the sum of 12 uniforms */
        for (int k = 0; k < 12; k++) {
            seed = seed * 1664525u + 1013904223u;
            g += (double)(seed >> 8) / 16777216.0;
        }
        double v = (g - 6.0) * sd + (i >= lead ? pcm[i - lead] : 0);
        mix[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    char err[512];
    int status;
    stt_stream *s = mix ? stt_stream_begin(stock, 1000, &status, err, sizeof err) : NULL;
    CHECK_MSG(s != NULL, "%s", err);
    for (size_t off = 0; s && off < total; off += 512)
        CHECK_EQ_INT(
            stt_stream_feed(s, mix + off, total - off < 512 ? total - off : 512, err, sizeof err),
            0);
    stt_result r;
    if (s) {
        CHECK_EQ_INT(stt_stream_finish(s, &r, err, sizeof err), 0);
        int words;
        int errs = stt_word_errors("go forward ten meters", r.text ? r.text : "", &words);
        CHECK_MSG(errs <= 1, "heard '%s' in hiss (%d word errors)", r.text ? r.text : "", errs);
        stt_result_clear(&r);
    }
    free(mix);
    free(pcm);
}

/* Mean power of the frames within 30 dB of the loudest (the talker's active level). */
/* The words a stream hears in mix (fed in 32 ms chunks), and their errors against ref. */
/* The words a stream hears in mix, fed in chunks of `chunk` samples. */
static void stream_text(stt_engine *e, const int16_t *mix, size_t total, size_t chunk, char *heard,
                        size_t heard_len) {
    char err[512];
    int status;
    heard[0] = '\0';
    stt_stream *s = stt_stream_begin(e, 1000, &status, err, sizeof err);
    CHECK_MSG(s != NULL, "%s", err);
    if (!s) return;
    for (size_t off = 0; off < total; off += chunk)
        CHECK_EQ_INT(stt_stream_feed(s, mix + off, total - off < chunk ? total - off : chunk, err,
                                     sizeof err),
                     0);
    stt_result r;
    CHECK_EQ_INT(stt_stream_finish(s, &r, err, sizeof err), 0);
    snprintf(heard, heard_len, "%s", r.text ? r.text : "");
    stt_result_clear(&r);
}

static int stream_errors(stt_engine *e, const int16_t *mix, size_t total, const char *ref,
                         char *heard, size_t heard_len) {
    int words;
    stream_text(e, mix, total, 512, heard, heard_len);
    return stt_word_errors(ref, heard, &words);
}

/* Another person talking 10 dB below the speaker, from 0.6 s before the question to
 * 0.6 s after it (a real recording behind a real one). After stt.restart_ms the
 * stream starts the utterance again from the channel normalisation it has learnt,
 * with the other voice hushed where it was heard alone before the speaker: fewer word
 * errors than without the restart. */
static void test_background_talker_restart(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    size_t n, nb;
    int16_t *pcm = tu_read_raw(TESTDATA "/goforward.raw", &n);
    int16_t *bg = tu_read_raw(TESTDATA "/numbers.raw", &nb);
    if (!pcm || !bg || nb < 16000) {
        free(pcm);
        free(bg);
        SKIP("pocketsphinx-testdata is not installed (" TESTDATA ")");
    }
    double g = sqrt(tu_active_power(pcm, n) / tu_active_power(bg, nb) / 10.0); /* 10 dB below */
    size_t lead = 9600, total = lead + n + 9600;
    int16_t *mix = malloc(total * sizeof *mix);
    CHECK(mix != NULL);
    for (size_t i = 0; mix && i < total; i++) {
        double v = g * bg[(i + 8000) % nb] + (i >= lead && i < lead + n ? pcm[i - lead] : 0);
        mix[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    axiom_config *off_cfg = make_cfg("stock", 1);
    char err[512];
    config_set(off_cfg, "stt.restart_ms", "0", CFG_FLAG, "test", err, sizeof err);
    config_set(off_cfg, "stt.final_pass", "true", CFG_FLAG, "test", err, sizeof err);
    stt_engine *off = stt_engine_new(off_cfg, NULL, err, sizeof err);
    CHECK_MSG(off != NULL, "%s", err);
    if (mix && off) {
        char h_on[256], h_off[256];
        int e_on = stream_errors(stock, mix, total, "go forward ten meters", h_on, sizeof h_on);
        int e_off = stream_errors(off, mix, total, "go forward ten meters", h_off, sizeof h_off);
        printf("  background talker: restarted '%s' (%d errors), not '%s' (%d errors)\n", h_on,
               e_on, h_off, e_off);
        CHECK_MSG(e_on < e_off, "the restart did not help: %d word errors against %d", e_on, e_off);
        /* the restart comes at the same point of the audio however it is chunked: the
         * same words from 32 ms frames, odd chunks, 10 ms frames and the whole at once */
        static const size_t chunks[] = {777, 160, 0};
        for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
            char h[256];
            stream_text(stock, mix, total, chunks[i] ? chunks[i] : total, h, sizeof h);
            CHECK_STR(h, h_on);
        }
        /* a lone talker in a quiet room: the restart changes nothing */
        CHECK_EQ_INT(stream_errors(stock, pcm, n, "go forward ten meters", h_on, sizeof h_on), 0);
    }
    stt_engine_free(off);
    config_free(off_cfg);
    free(mix);
    free(pcm);
    free(bg);
}

static void test_librivox_stock(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    char err[512], line[512];
    FILE *tr = fopen(TESTDATA "/librivox/transcription", "r");
    if (!tr) SKIP("pocketsphinx-testdata is not installed (" TESTDATA "/librivox)");
    stt_engine *e = stock;
    int errors = 0, words = 0, files = 0;
    while (fgets(line, sizeof line, tr) && files < (getenv("AXIOM_SANITIZED") ? 1 : 3)) {
        char *open = strrchr(line, '('), *close = strrchr(line, ')');
        if (!open || !close) continue;
        *close = '\0';
        *open = '\0';
        char ref[512], path[600];
        str_copy(ref, sizeof ref, line + 4); /* after "<s> " */
        char *end = strstr(ref, "</s>");
        if (end) *end = '\0';
        snprintf(path, sizeof path, TESTDATA "/librivox/%s.wav", open + 1);
        wav_reader *r = wav_reader_open(path, 16000, 60, err, sizeof err);
        CHECK_MSG(r != NULL, "%s", err);
        if (!r) continue;
        stt_transcript t;
        CHECK_EQ_INT(stt_transcribe_reader(e, r, NULL, NULL, &t, err, sizeof err), 0);
        int w;
        int ec = stt_word_errors(ref, t.text, &w);
        fprintf(stderr, "  %s: %d/%d errors: %s\n", open + 1, ec, w, t.text);
        errors += ec;
        words += w;
        files++;
        stt_transcript_clear(&t);
        wav_reader_free(r);
    }
    fclose(tr);
    CHECK(files >= 1);
    /* Read speech from an audiobook with the general model: loose bound. */
    CHECK_MSG(words && errors * 100 < words * 45, "stock WER %d/%d", errors, words);
}

/* Held-out questions: every fifth question of the pack is left out of the language
 * model, spoken by flite's slt, and recognised with the domain model. */
typedef struct {
    stt_corpus corpus;
} fixed_provider;
static int fixed_get(void *ctx, stt_corpus *out, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    *out = ((fixed_provider *)ctx)->corpus;
    return 0;
}

static void test_heldout_domain_slt(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    if (!pack) SKIP("no knowledge pack in data/");
    const char **kept = malloc(pack->n * sizeof *kept);
    const char *held[8];
    size_t nk = 0, nh = 0, q = 0;
    for (size_t i = 0; i < pack->n; i++) {
        if (pack->is_question[i] && q++ % 5 == 0) {
            if (nh < 8 && q % 7 == 1) held[nh++] = pack->sentences[i];
        } else {
            kept[nk++] = pack->sentences[i];
        }
    }
    fixed_provider fp = {{kept, nk, pack->corpus.hint_words, pack->corpus.hint_phones,
                          pack->corpus.n_hints, "heldout", pack->corpus.hint_heard}};
    stt_corpus_provider prov = {fixed_get, NULL, &fp};
    axiom_config *cfg = make_cfg("domain", 1);
    char err[512];
    stt_engine *e = stt_engine_new(cfg, &prov, err, sizeof err);
    tts_engine *t = tts_engine_new(cfg, err, sizeof err);
    int errors = 0, words = 0;
    for (size_t i = 0; i < nh; i++) {
        tts_audio a;
        CHECK_EQ_INT(tts_synth(t, held[i], "slt", 16000, NULL, &a, err, sizeof err), 0);
        stt_transcript tr;
        CHECK_EQ_INT(stt_transcribe_pcm(e, a.samples, a.n, NULL, NULL, &tr, err, sizeof err), 0);
        int w, ec = stt_word_errors(held[i], tr.text, &w);
        fprintf(stderr, "  %d/%d: '%s' -> '%s'\n", ec, w, held[i], tr.text);
        errors += ec;
        words += w;
        stt_transcript_clear(&tr);
        tts_audio_clear(&a);
    }
    CHECK(nh >= 4);
    CHECK_MSG(words && errors * 100 < words * 50, "held-out WER %d/%d", errors, words);
    tts_engine_free(t);
    stt_engine_free(e);
    config_free(cfg);
    free(kept);
}

/* The engine keeps its own copy of the pack's text: the heard-as forms must survive the
 * copy and reach the dictionary it builds. */
static void test_engine_builds_heard_forms(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    const char *sents[] = {"does the BNO055 work with the pi", "tell me about the BNO055"};
    const char *hw[] = {"BNO055"}, *hp[] = {"B IY EH N OW Z IY R OW F AY V F AY V"};
    const char *hh[] = {"b n o oh five five"};
    fixed_provider fp = {{sents, 2, hw, hp, 1, "engine-heard", hh}};
    stt_corpus_provider prov = {fixed_get, NULL, &fp};
    axiom_config *cfg = make_cfg("domain", 1);
    char err[512];
    stt_engine *e = stt_engine_new(cfg, &prov, err, sizeof err);
    CHECK(e != NULL);
    CHECK_MSG(e && stt_engine_refresh_corpus(e, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(e && component_load(stt_engine_component(e), err, sizeof err) == 0, "%s", err);
    /* the same inputs find the engine's cached build */
    lm_sources src = {"/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
                      "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin",
                      (size_t)config_int(cfg, "stt.general_words")};
    lm_files f;
    CHECK_EQ_INT(lm_build_cached(&fp.corpus, &src, tmp, &f, err, sizeof err), 0);
    CHECK_EQ_INT(f.from_cache, 1);
    size_t len;
    char *dict = file_read_all(f.dict, 1 << 20, &len, err, sizeof err);
    CHECK(dict != NULL);
    if (dict) CHECK_CONTAINS(dict, "bno055(2) B IY EH N OW OW F AY V F AY V\n");
    free(dict);
    stt_engine_free(e);
    config_free(cfg);
}

static void test_pool_busy_and_cancel(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    if (!pack) SKIP("no knowledge pack in data/");
    stt_corpus_provider prov = stt_text_corpus_provider(pack);
    axiom_config *cfg = make_cfg("domain", 2);
    char err[512];
    stt_engine *e = stt_engine_new(cfg, &prov, err, sizeof err);
    int st;
    stt_stream *a = stt_stream_begin(e, 1000, &st, err, sizeof err);
    stt_stream *b = stt_stream_begin(e, 1000, &st, err, sizeof err);
    CHECK(a && b);
    int64_t t0 = now_ms();
    stt_stream *c = stt_stream_begin(e, 150, &st, err, sizeof err);
    int64_t waited = now_ms() - t0;
    CHECK(c == NULL);
    CHECK_EQ_INT(st, STT_BUSY);
    CHECK_CONTAINS(err, "stt.pool_size");
    CHECK(waited >= 140);
    int created, in_use, size;
    stt_engine_pool_counts(e, &created, &in_use, &size);
    CHECK(created == 2 && in_use == 2 && size == 2);
    /* The component cannot be unloaded while utterances hold decoders. */
    CHECK_EQ_INT(component_unload(stt_engine_component(e)), -1);
    stt_stream_cancel(a);
    c = stt_stream_begin(e, 0, &st, err, sizeof err);
    CHECK(c != NULL);
    stt_result r;
    CHECK_EQ_INT(stt_stream_finish(c, &r, err, sizeof err), 0);
    CHECK_STR(r.text, ""); /* no audio, no words */
    stt_result_clear(&r);
    stt_stream_cancel(b);
    stt_engine_pool_counts(e, &created, &in_use, &size);
    CHECK_EQ_INT(in_use, 0);
    CHECK(stt_stream_feed(NULL, NULL, 10, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "stt_stream_begin");
    /* Unload, then the next utterance loads again (cache hit). */
    CHECK(component_unload(stt_engine_component(e)) != -1);
    c = stt_stream_begin(e, 0, &st, err, sizeof err);
    CHECK(c != NULL);
    stt_stream_cancel(c);
    /* A refused load is a clear error, not a crash. */
    component_unload(stt_engine_component(e));
    component_set_refused(stt_engine_component(e), 1, "memory is critical");
    CHECK(stt_stream_begin(e, 0, &st, err, sizeof err) == NULL);
    CHECK_EQ_INT(st, -1);
    CHECK_CONTAINS(err, "memory is critical");
    stt_engine_free(e);
    config_free(cfg);
}

static stt_engine *shared;
static int16_t *shared_pcm;
static size_t shared_n;
static void *decode_thread(void *arg) {
    (void)arg;
    long ok = 0;
    for (int i = 0; i < 2; i++) {
        char err[512];
        stt_transcript t;
        if (stt_transcribe_pcm(shared, shared_pcm, shared_n, NULL, NULL, &t, err, sizeof err) ==
                0 &&
            strcmp(t.text, "go forward ten meters") == 0)
            ok++;
        stt_transcript_clear(&t);
    }
    return (void *)ok;
}

static void test_threads_share_pool(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    shared_pcm = tu_read_raw(TESTDATA "/goforward.raw", &shared_n);
    if (!shared_pcm) SKIP("pocketsphinx-testdata is not installed");
    shared = stock;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, decode_thread, NULL);
    long ok = 0;
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok += (long)r;
    }
    CHECK_EQ_INT(ok, 6);
    int created, in_use, size;
    stt_engine_pool_counts(shared, &created, &in_use, &size);
    CHECK(created <= 2 && in_use == 0);
    free(shared_pcm);
}

static int write_wav(const char *path, int format, int rate, int ch, const int16_t *mono, size_t n,
                     double secs_silence) {
    SF_INFO info = {.samplerate = rate, .channels = ch, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return -1;
    short buf[2048];
    size_t total = mono ? n : (size_t)(secs_silence * rate);
    for (size_t off = 0; off < total; off += 1024) {
        size_t k = total - off < 1024 ? total - off : 1024;
        for (size_t i = 0; i < k; i++)
            for (int c = 0; c < ch; c++)
                buf[i * ch + c] = mono ? mono[off + i] : (short)((i * 7) % 5 - 2);
        sf_writef_short(f, buf, (sf_count_t)k);
    }
    return sf_close(f);
}

static void test_cli_bad_and_odd_input(void) {
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    char out[8192], errout[8192], args[2048], path[300];
    /* 48 kHz stereo speech made by flite: resampled and mixed down, still understood. */
    axiom_config *cfg = make_cfg("stock", 1);
    char err[256];
    tts_engine *t = tts_engine_new(cfg, err, sizeof err);
    tts_audio a;
    CHECK_EQ_INT(
        tts_synth(t, "Tell me about the robot dog.", "slt", 48000, NULL, &a, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/stereo48.wav", tmp);
    CHECK_EQ_INT(write_wav(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 2, a.samples, a.n, 0), 0);
    tts_audio_clear(&a);
    tts_engine_free(t);
    config_free(cfg);
    snprintf(args, sizeof args, "transcribe '%s' --json --cache-dir '%s'", path, tmp);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 0);
    CHECK_CONTAINS(out, "\"text\":\"tell me about the robot dog\"");
    CHECK_CONTAINS(out, "\"source_rate\":48000");
    CHECK_CONTAINS(out, "\"partials\":[");
    /* The same through stdin. */
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' transcribe - --cache-dir '%s' < '%s' 2>/dev/null",
             getenv("AXIOM_BIN") ? getenv("AXIOM_BIN") : "build/axiom", tmp, path);
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    if (p) {
        if (!fgets(line, sizeof line, p)) line[0] = '\0';
        CHECK_EQ_INT(pclose(p), 0);
    }
    CHECK_STR(line, "tell me about the robot dog\n");
    /* Empty file, a text file, a missing file: exit 1 with the file named. */
    snprintf(path, sizeof path, "%s/empty.wav", tmp);
    tu_write_file(path, "");
    snprintf(args, sizeof args, "transcribe '%s' --set stt.lm=stock", path);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 1);
    CHECK_CONTAINS(errout, path);
    CHECK_EQ_INT(
        tu_run_axiom(NULL, "transcribe /nonexistent.wav", out, sizeof out, errout, sizeof errout),
        1);
    CHECK_CONTAINS(errout, "/nonexistent.wav: cannot open");
    CHECK_EQ_INT(tu_run_axiom(NULL, "transcribe", out, sizeof out, errout, sizeof errout), 2);
    CHECK_CONTAINS(errout, "usage");
    /* Ten minutes of near-silence: an empty transcript, nothing decoded. */
    snprintf(path, sizeof path, "%s/silence.wav", tmp);
    CHECK_EQ_INT(write_wav(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, NULL, 0, 600), 0);
    snprintf(args, sizeof args, "transcribe '%s' --json --cache-dir '%s'", path, tmp);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 0);
    CHECK_CONTAINS(out, "\"text\":\"\"");
    CHECK_CONTAINS(out, "\"audio_ms\":600000");
    CHECK_CONTAINS(out, "\"speech_ms\":0");
    unlink(path);
    /* A header-only file: valid, empty. */
    snprintf(path, sizeof path, "%s/zero.wav", tmp);
    CHECK_EQ_INT(wav_write_file(path, NULL, 0, 16000, err, sizeof err), 0);
    snprintf(args, sizeof args, "transcribe '%s' --cache-dir '%s'", path, tmp);
    CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, errout, sizeof errout), 0);
    CHECK_STR(out, "\n");
}

static void test_real_recordings_named(void) {
    /* ../shared/audio: Harvard sentences (8 kHz) with the stock model, as a sanity
     * bound only; the benchmark prints the WER of every model. */
    char wav[512], txt[512];
    if (!have_models()) SKIP("pocketsphinx-en-us is not installed");
    if (getenv("AXIOM_SANITIZED"))
        SKIP("36 s of decoding is too slow under sanitizers; covered by the normal run");
    if (!tu_shared_path("audio/harvard_list72_8k.wav", wav, sizeof wav) ||
        !tu_shared_path("audio/harvard_list72_8k.txt", txt, sizeof txt))
        SKIP("../shared/audio is absent");
    char err[512];
    size_t len;
    char *ref = file_read_all(txt, 1 << 16, &len, err, sizeof err);
    stt_engine *e = stock;
    wav_reader *r = wav_reader_open(wav, 16000, 120, err, sizeof err);
    CHECK(r && ref);
    if (r && ref) {
        stt_transcript t;
        CHECK_EQ_INT(stt_transcribe_reader(e, r, NULL, NULL, &t, err, sizeof err), 0);
        int w, ec = stt_word_errors(ref, t.text, &w);
        fprintf(stderr, "  harvard, stock model: %d/%d errors, %zu utterances\n", ec, w, t.n);
        CHECK(t.n >= 5); /* cut at the pauses between sentences */
        CHECK_MSG(ec * 100 < w * 50, "WER %d/%d", ec,
                  w); /* one channel state across the recording's segments */
        stt_transcript_clear(&t);
    }
    wav_reader_free(r);
    free(ref);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    char data[1024], err[256];
    pack = stt_text_corpus_load(tu_root_path("data", data, sizeof data), err, sizeof err);
    if (!pack) fprintf(stderr, "  note: %s\n", err);
    stock_cfg = make_cfg("stock", 2);
    /* The general model on open speech is much steadier with the second search. */
    config_set(stock_cfg, "stt.final_pass", "true", CFG_FLAG, "test", err, sizeof err);
    stock = stt_engine_new(stock_cfg, NULL, err, sizeof err);
    if (!stock) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    RUN(test_normalize);
    RUN(test_arpa_is_normalised);
    RUN(test_arpa_kneser_ney_and_general_words);
    RUN(test_kept_names_heard_forms_and_general_words);
    RUN(test_dictionary_and_cache);
    RUN(test_goforward_stock);
    RUN(test_goforward_in_hiss);
    RUN(test_background_talker_restart);
    RUN(test_librivox_stock);
    RUN(test_heldout_domain_slt);
    RUN(test_engine_builds_heard_forms);
    RUN(test_pool_busy_and_cancel);
    RUN(test_threads_share_pool);
    RUN(test_cli_bad_and_odd_input);
    RUN(test_real_recordings_named);
    stt_text_corpus_free(pack);
    stt_engine_free(stock);
    config_free(stock_cfg);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
