/* Speech benchmark: recogniser speed (real-time factor per stream on one core, CPU
 * ratio to pocketsphinx_continuous on the same files), final-result latency, WER on
 * real recordings and on held-out in-domain questions spoken by voices the model was
 * not built from (flite awb/rms/kal16/slt, espeak-ng), synthesis time to first audio
 * and real-time factor, and the memory each loaded component costs.
 *
 * BENCH_SPEECH_N (default: all of them, about 300) sets the held-out sentences per
 * voice; the mixed and stock models are compared on the first 30. Figures print
 * as they are measured; medians and p95 where there are several samples. */
#include "../tests/support/voices.h"
#include "brain/brain.h"
#include "brain/normalise.h"
#include "brain/pack.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/lm_build.h"
#include "speech/stt.h"
#include "speech/stt_corpus.h"
#include "speech/stt_file.h"
#include "speech/tts.h"
#include "speech/wav.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TESTDATA "/usr/share/pocketsphinx/test/data"

static char root[1024], tmpdir[256];

static int tu_mkdtemp_like(char *out) {
    const char *t = getenv("TMPDIR");
    snprintf(out, 256, "%s/axiom-bench-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double pct(double *v, int n, double p) {
    if (!n) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static axiom_config *cfg_for(const char *lm, int final_pass) {
    axiom_config *c = config_new();
    char err[256], data[1100];
    config_set(c, "stt.lm", lm, CFG_FLAG, "bench", err, sizeof err);
    config_set(c, "stt.final_pass", final_pass ? "true" : "false", CFG_FLAG, "bench", err,
               sizeof err);
    config_set(c, "stt.pool_size", "1", CFG_FLAG, "bench", err, sizeof err);
    config_set(c, "cache_dir", tmpdir, CFG_FLAG, "bench", err, sizeof err);
    snprintf(data, sizeof data, "%s/data", root);
    config_set(c, "data", data, CFG_FLAG, "bench", err, sizeof err);
    return c;
}

typedef struct {
    stt_corpus corpus;
} fixed;
static int fixed_get(void *ctx, stt_corpus *out, char *err, size_t errlen) {
    (void)err, (void)errlen;
    *out = ((fixed *)ctx)->corpus;
    return 0;
}

/* An engine whose domain model is built from `corpus`; loads it and reports RSS. */
static stt_engine *engine_for(axiom_config *cfg, stt_corpus_provider *prov, int64_t *load_bytes) {
    char err[512];
    stt_engine *e = stt_engine_new(cfg, prov, err, sizeof err);
    if (!e) {
        fprintf(stderr, "bench: %s\n", err);
        return NULL;
    }
    if (stt_engine_refresh_corpus(e, err, sizeof err) != 0 ||
        component_load(stt_engine_component(e), err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        stt_engine_free(e);
        return NULL;
    }
    component_info ci;
    component_get_info(stt_engine_component(e), &ci);
    if (load_bytes) *load_bytes = ci.resident_bytes;
    return e;
}

typedef struct {
    const char *name, *wav, *ref; /* ref: transcript text */
} rec;

/* Transcribes a list of recordings; returns WER and CPU per audio second. */
static void run_recs(stt_engine *e, rec *r, int n, double *wer, double *rtf, double *fin_p50) {
    int errs = 0, words = 0;
    int64_t cpu = 0, audio = 0;
    double fin[256];
    int nf = 0;
    for (int i = 0; i < n; i++) {
        char err[512];
        wav_reader *w = wav_reader_open(r[i].wav, 16000, 600, err, sizeof err);
        if (!w) continue;
        stt_transcript t;
        if (stt_transcribe_reader(e, w, NULL, NULL, &t, err, sizeof err) == 0) {
            int wc;
            errs += stt_word_errors(r[i].ref, t.text, &wc);
            words += wc;
            cpu += t.cpu_us;
            audio += t.audio_ms;
            for (size_t k = 0; k < t.n && nf < 256; k++)
                fin[nf++] = t.segs[k].finish_us / 1000.0;
        }
        stt_transcript_clear(&t);
        wav_reader_free(w);
    }
    *wer = words ? 100.0 * errs / words : -1;
    *rtf = audio ? (double)cpu / 1000.0 / (double)audio : -1;
    if (fin_p50) *fin_p50 = pct(fin, nf, 0.5);
}

/* CPU seconds (user+sys) of a child process. */
static double child_cpu(char *const argv[]) {
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    pid_t p = fork();
    if (p == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    getrusage(RUSAGE_CHILDREN, &after);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    return (after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
           (after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
           ((after.ru_utime.tv_usec - before.ru_utime.tv_usec) +
            (after.ru_stime.tv_usec - before.ru_stime.tv_usec)) /
               1e6;
}

static char *slurp(const char *path) {
    size_t len;
    char err[256];
    return file_read_all(path, 1 << 20, &len, err, sizeof err);
}

/* The held-out split, over the very corpus the server's recogniser is built from (the
 * brain's provider): every fifth user sentence (a template question or a labelled
 * utterance; item names are never held out) is left out of the language model. */
typedef struct {
    brain *b;
    axiom_config *cfg;
    stt_corpus_provider bp;
    stt_corpus full, kept_corpus;
    const char **kept, **held;
    size_t nh, n_user;
    pack *pk;
    normaliser *nz;
    lm_keep keep;
} heldout;

static int is_item_name(const pack *pk, const char *s) {
    for (size_t i = 0; i < pk->n_items; i++) {
        if (strcmp(pk->items[i].name, s) == 0) return 1;
        for (size_t a = 0; a < pk->items[i].n_aliases; a++)
            if (strcmp(pk->items[i].aliases[a], s) == 0) return 1;
    }
    return 0;
}

static int heldout_load(heldout *h, const char *data, char *err, size_t errlen) {
    memset(h, 0, sizeof *h);
    h->cfg = config_new();
    config_set(h->cfg, "data", data, CFG_FLAG, "bench", err, errlen);
    h->b = brain_new(h->cfg, err, errlen);
    if (!h->b) return -1;
    h->bp = brain_corpus_provider(h->b);
    if (h->bp.get(h->bp.ctx, &h->full, err, errlen) != 0) return -1;
    h->pk = pack_load(data, NULL, err, errlen);
    if (!h->pk) return -1;
    h->nz = normaliser_new(h->pk);
    h->kept = malloc((h->full.n_sentences + 1) * sizeof *h->kept);
    h->held = malloc((h->full.n_sentences + 1) * sizeof *h->held);
    if (!h->nz || !h->kept || !h->held || lm_keep_from_corpus(&h->full, &h->keep) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t nk = 0;
    for (size_t i = 0; i < h->full.n_sentences; i++) {
        const char *s = h->full.sentences[i];
        if (!is_item_name(h->pk, s) && h->n_user++ % 5 == 0)
            h->held[h->nh++] = s;
        else
            h->kept[nk++] = s;
    }
    h->kept_corpus = h->full;
    h->kept_corpus.sentences = h->kept;
    h->kept_corpus.n_sentences = nk;
    h->kept_corpus.content_hash = "bench-heldout";
    return 0;
}

static void heldout_free(heldout *h) {
    if (h->full.sentences) h->bp.release(h->bp.ctx, &h->full);
    brain_free(h->b);
    config_free(h->cfg);
    normaliser_free(h->nz);
    pack_free(h->pk);
    lm_keep_free(&h->keep);
    free(h->kept);
    free(h->held);
}

/* Word errors two ways: in plain words (the pack's digit names one word each), and
 * as the brain reads both texts (numbers, spelled names and the pack's spellings
 * folded: "esp thirty two" and "ESP32" are the same words to it). */
static void score(const heldout *h, const char *ref, const char *hyp, int e[2], int w[2]) {
    int wc;
    e[0] += stt_word_errors_keep(ref, hyp, &h->keep, &wc);
    w[0] += wc;
    static norm_result a, b; /* large; the bench is single-threaded */
    normalise_text(h->nz, ref, &a);
    normalise_text(h->nz, hyp, &b);
    e[1] += stt_word_errors_keep(a.text, b.text, &h->keep, &wc);
    w[1] += wc;
}

int main(void) {
    log_set_level(AX_LOG_WARN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    str_copy(root, sizeof root, axiom_root_dir());
    if (tu_mkdtemp_like(tmpdir) != 0) return 0;
    printf("== speech: recogniser (PocketSphinx 0.8, en-us acoustic model), synthesiser (flite "
           "2.2)\n");
    if (access("/usr/share/pocketsphinx/model/en-us/en-us/mdef", R_OK) != 0) {
        printf("pocketsphinx-en-us not installed: skipped\n");
        return 0;
    }
    char data[1100], err[512];
    snprintf(data, sizeof data, "%s/data", root);
    heldout ho;
    if (heldout_load(&ho, data, err, sizeof err) != 0) {
        printf("no knowledge pack (%s): skipped\n", err);
        return 0;
    }
    const char **held = ho.held;
    size_t nh = ho.nh;
    int n_held = getenv("BENCH_SPEECH_N") ? atoi(getenv("BENCH_SPEECH_N")) : 0;
    if (n_held <= 0 || (size_t)n_held > nh) n_held = (int)nh; /* default: every one */
    int n_cmp = n_held < 30 ? n_held : 30;
    fixed fx = {ho.kept_corpus};
    stt_corpus_provider prov = {fixed_get, NULL, &fx};
    printf("pack: %zu sentences in the recogniser's corpus; %zu of its %zu user sentences (every "
           "fifth question or utterance) held out of the language model\n",
           ho.full.n_sentences, nh, ho.n_user);

    /* --- real recordings --- */
    char harvard[1100], harvard_txt[1100], jfk[1100], jfk_txt[1100];
    snprintf(harvard, sizeof harvard, "%s/../shared/audio/harvard_list72_8k.wav", root);
    snprintf(harvard_txt, sizeof harvard_txt, "%s/../shared/audio/harvard_list72_8k.txt", root);
    snprintf(jfk, sizeof jfk, "%s/../shared/audio/jfk.wav", root);
    snprintf(jfk_txt, sizeof jfk_txt, "%s/../shared/audio/jfk.txt", root);
    char *href = slurp(harvard_txt), *jref = slurp(jfk_txt);
    rec recs[8];
    int nrec = 0;
    if (href) recs[nrec++] = (rec){"harvard", harvard, href};
    if (jref) recs[nrec++] = (rec){"jfk", jfk, jref};
    static char lrefs[5][512], lwavs[5][600];
    FILE *tr = fopen(TESTDATA "/librivox/transcription", "r");
    int nl = 0;
    char line[512];
    while (tr && nl < 5 && fgets(line, sizeof line, tr)) {
        char *o = strrchr(line, '('), *c = strrchr(line, ')');
        if (!o || !c) continue;
        *c = *o = '\0';
        str_copy(lrefs[nl], sizeof lrefs[nl], line + 4);
        char *end = strstr(lrefs[nl], "</s>");
        if (end) *end = '\0';
        snprintf(lwavs[nl], sizeof lwavs[nl], TESTDATA "/librivox/%s.wav", o + 1);
        recs[nrec++] = (rec){"librivox", lwavs[nl], lrefs[nl]};
        nl++;
    }
    if (tr) fclose(tr);

    const char *lms[3] = {"domain", "mixed", "stock"};
    /* BENCH_SPEECH_SKIP=models,ratio leaves sections out (they take minutes). */
    const char *skip = getenv("BENCH_SPEECH_SKIP") ? getenv("BENCH_SPEECH_SKIP") : "";
    if (!strstr(skip, "models")) {
        printf("\n-- recogniser per language model (one stream, one core; CPU per audio second)\n");
        printf("%-7s %-5s %10s %9s %8s %10s %10s\n", "lm", "final", "load MiB", "RTF", "WER real",
               "fin p50", "fin p95");
        for (int li = 0; li < 3; li++) {
            { /* build the cached model first: the load figure is a load, not a build */
                axiom_config *cfg = cfg_for(lms[li], 0);
                stt_engine_free(engine_for(cfg, &prov, NULL));
                config_free(cfg);
            }
            for (int fp = 0; fp < 2; fp++) {
                axiom_config *cfg = cfg_for(lms[li], fp);
                int64_t load_b = 0;
                stt_engine *e = engine_for(cfg, &prov, &load_b);
                if (!e) {
                    config_free(cfg);
                    continue;
                }
                int st;
                double wer, rtf, f50;
                run_recs(e, recs, nrec, &wer, &rtf, &f50);
                /* final latency on 3-second in-domain utterances (slt, held-out) */
                tts_engine *t = tts_engine_new(cfg, err, sizeof err);
                double fin[64];
                int nfin = 0;
                for (size_t i = 0; i < nh && nfin < 20; i++) {
                    tts_audio a;
                    if (tts_synth(t, held[i], "slt", 16000, NULL, &a, err, sizeof err) != 0)
                        continue;
                    if (a.n < 16000 * 2.5 || a.n > 16000 * 3.5) {
                        tts_audio_clear(&a);
                        continue;
                    }
                    stt_stream *s = stt_stream_begin(e, 1000, &st, err, sizeof err);
                    stt_stream_feed(s, a.samples, a.n, err, sizeof err);
                    stt_result r;
                    if (stt_stream_finish(s, &r, err, sizeof err) == 0)
                        fin[nfin++] = r.finish_us / 1000.0;
                    stt_result_clear(&r);
                    tts_audio_clear(&a);
                }
                tts_engine_free(t);
                printf("%-7s %-5s %10.1f %9.3f %7.1f%% %8.1fms %8.1fms\n", lms[li],
                       fp ? "yes" : "no", load_b / 1048576.0, rtf, wer, pct(fin, nfin, 0.5),
                       pct(fin, nfin, 0.95));
                (void)f50;
                stt_engine_free(e);
                config_free(cfg);
            }
        }
        printf("(WER real = Harvard 8 kHz + JFK + 5 LibriVox recordings, %d files; fin = final "
               "result after the end of a 3 s utterance)\n",
               nrec);
    }

    /* --- CPU ratio to pocketsphinx_continuous --- */
    printf("\n-- CPU time, AXIOM vs pocketsphinx_continuous, same file, same models, model load "
           "included\n");
    if (strstr(skip, "ratio")) {
        printf("skipped (BENCH_SPEECH_SKIP)\n");
    } else if (access("/usr/bin/pocketsphinx_continuous", X_OK) == 0 && href) {
        int16_t *pcm;
        size_t n;
        char wav16[600];
        snprintf(wav16, sizeof wav16, "%s/harvard16.wav", tmpdir);
        if (wav_read_all(harvard, 16000, 120, &pcm, &n, err, sizeof err) == 0) {
            wav_write_file(wav16, pcm, n, 16000, err, sizeof err);
            free(pcm);
        }
        char axiom_bin[1100];
        snprintf(axiom_bin, sizeof axiom_bin, "%s/build/axiom", root);
        lm_files lf;
        axiom_config *dc = config_new(); /* the same model the default settings build */
        lm_sources src = {"/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
                          "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin",
                          (size_t)config_int(dc, "stt.general_words")};
        config_free(dc);
        lm_build_cached(&fx.corpus, &src, tmpdir, &lf, err, sizeof err);
        struct {
            const char *lm, *arpa, *dict;
        } mods[2] = {{"stock", "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin",
                      "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"},
                     {"domain", lf.arpa, lf.dict}};
        for (int m = 0; m < 2; m++) {
            char set[64], setfp[64];
            snprintf(set, sizeof set, "stt.lm=%s", mods[m].lm);
            for (int fp = 1; fp >= 0; fp--) {
                snprintf(setfp, sizeof setfp, "stt.final_pass=%s", fp ? "true" : "false");
                char *ax[] = {axiom_bin, "transcribe",  wav16,  "--set",  set,  "--set",
                              setfp,     "--cache-dir", tmpdir, "--data", data, NULL};
                char *ps[] = {"pocketsphinx_continuous",
                              "-infile",
                              wav16,
                              "-hmm",
                              "/usr/share/pocketsphinx/model/en-us/en-us",
                              "-lm",
                              (char *)mods[m].arpa,
                              "-dict",
                              (char *)mods[m].dict,
                              "-fwdflat",
                              fp ? "yes" : "no",
                              "-bestpath",
                              fp ? "yes" : "no",
                              "-logfn",
                              "/dev/null",
                              NULL};
                double a = 1e9, p = 1e9;
                for (int k = 0; k < 2; k++) { /* best of two: the machine is shared */
                    double x = child_cpu(ax), y = child_cpu(ps);
                    if (x > 0 && x < a) a = x;
                    if (y > 0 && y < p) p = y;
                }
                printf("%-7s final pass %-3s: axiom %.2f s, pocketsphinx_continuous %.2f s, ratio "
                       "%.2f (36 s of audio)\n",
                       mods[m].lm, fp ? "yes" : "no", a, p, a / p);
            }
        }
    } else {
        printf("pocketsphinx_continuous or ../shared/audio missing: skipped\n");
    }

    /* --- held-out in-domain WER per voice --- */
    printf("\n-- held-out in-domain WER (user sentences not in the language model), per voice\n");
    printf("   words: plain word errors; read: as the brain reads them (numbers, spelled names, "
           "pack spellings folded)\n");
    const char *voices[] = {"flite:slt",   "flite:awb",    "flite:rms",
                            "flite:kal16", "espeak:en-us", "espeak:en-gb"};
    int nv = 6;
    printf("%-14s %-22s | %-34s\n", "", "domain (default)", "first sentences: words / read");
    printf("%-14s %8s %8s %5s | %10s %10s %10s %4s\n", "voice", "words", "read", "n", "domain",
           "mixed", "stock", "n");
    axiom_config *cfgs[3];
    stt_engine *eng[3];
    for (int li = 0; li < 3; li++) {
        cfgs[li] = cfg_for(lms[li], 0);
        eng[li] = engine_for(cfgs[li], &prov, NULL);
    }
    tts_engine *tts = tts_engine_new(cfgs[0], err, sizeof err);
    for (int v = 0; v < nv; v++) {
        int e_all[2] = {0}, w_all[2] = {0}, e_cmp[3][2] = {{0}}, w_cmp[3][2] = {{0}}, done = 0;
        for (int i = 0; i < n_held && (size_t)i < nh; i++) {
            /* spread over the held-out list, same sentences for every voice */
            size_t k = (size_t)i * (nh / (size_t)n_held ? nh / (size_t)n_held : 1) % nh;
            int16_t *pcm = NULL;
            size_t n = 0;
            if (voice_speak(tts, voices[v], held[k], tmpdir, &pcm, &n, err, sizeof err) != 0) {
                if (strncmp(voices[v], "espeak:", 7) == 0) break; /* espeak-ng missing */
                continue;
            }
            for (int li = 0; li < 3; li++) {
                if (!eng[li] || (li > 0 && i >= n_cmp)) continue;
                stt_transcript t;
                if (stt_transcribe_pcm(eng[li], pcm, n, NULL, NULL, &t, err, sizeof err) == 0) {
                    if (li == 0) score(&ho, held[k], t.text, e_all, w_all);
                    if (i < n_cmp) score(&ho, held[k], t.text, e_cmp[li], w_cmp[li]);
                }
                stt_transcript_clear(&t);
            }
            free(pcm);
            done++;
        }
        if (!done) {
            printf("%-14s not available (espeak-ng missing?)\n", voices[v]);
            continue;
        }
        printf("%-14s %7.1f%% %7.1f%% %5d |", voices[v],
               w_all[0] ? 100.0 * e_all[0] / w_all[0] : -1.0,
               w_all[1] ? 100.0 * e_all[1] / w_all[1] : -1.0, done);
        for (int li = 0; li < 3; li++)
            printf(" %4.0f/%-4.0f%%", w_cmp[li][0] ? 100.0 * e_cmp[li][0] / w_cmp[li][0] : -1.0,
                   w_cmp[li][1] ? 100.0 * e_cmp[li][1] / w_cmp[li][1] : -1.0);
        printf(" %4d\n", done < n_cmp ? done : n_cmp);
    }
    for (int li = 0; li < 3; li++) {
        stt_engine_free(eng[li]);
        if (li) config_free(cfgs[li]); /* cfgs[0] is the synthesiser's, freed with it */
    }

    /* --- synthesis --- */
    printf("\n-- synthesis (flite), one-sentence answer, 20 runs each\n");
    const char *answer = "The Unitree Go2 is a quadruped robot with a lidar on its head.";
    const char *tv[] = {"slt", "kal16", "awb", "rms", "kal"};
    for (int v = 0; v < 5; v++) {
        int rates[2] = {16000, 48000};
        for (int r = 0; r < 2; r++) {
            double first[20], rtf[20];
            for (int i = 0; i < 20; i++) {
                int64_t t0 = now_us();
                size_t pos = 0, s0, len;
                tts_sentence_next(answer, &pos, &s0, &len);
                tts_audio a;
                tts_synth(tts, answer, tv[v], rates[r], NULL, &a, err, sizeof err);
                double dt = (now_us() - t0) / 1000.0;
                first[i] = dt;
                rtf[i] = a.n ? dt / (1000.0 * a.n / a.rate) : 0;
                tts_audio_clear(&a);
            }
            printf("%-6s %5d Hz: time to first audio p50 %.1f ms, p95 %.1f ms, RTF %.4f\n", tv[v],
                   rates[r], pct(first, 20, 0.5), pct(first, 20, 0.95), pct(rtf, 20, 0.5));
        }
    }
    component_unload(tts_engine_component(tts));
    int64_t r0 = proc_rss_bytes();
    component_load(tts_engine_component(tts), err, sizeof err);
    tts_audio a;
    tts_synth(tts, answer, NULL, 16000, NULL, &a, err, sizeof err);
    tts_audio_clear(&a);
    printf("tts component (default voice loaded, one synthesis): %.1f MiB resident\n",
           (proc_rss_bytes() - r0) / 1048576.0);
    tts_engine_free(tts);
    config_free(cfgs[0]);
    free(href);
    free(jref);
    heldout_free(&ho);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return 0;
}
