/* PocketSphinx backend (Debian's 0.8 API). The shared "model" is only file paths: the
 * acoustic model, and the language model + dictionary chosen by stt.lm (built from the
 * pack by lm_build.c and cached, or the stock ones). Each decoder is a full ps_init:
 * 0.8 cannot share an acoustic model between decoders, which is why the engine pools
 * them.
 *
 * stt.lm = mixed interpolates the domain trigram model with the stock 20k-word model
 * at decode time (sphinxbase's ngram_model_set), over a dictionary that is the stock
 * one plus the pack's extra words. */
#include "speech/stt.h"

#include "core/log.h"
#include "core/util.h"
#include "speech/lm_build.h"

#include <errno.h>
#include <pocketsphinx.h>
#include <pthread.h>
#include <sphinxbase/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Share of the domain model in stt.lm = mixed (the rest is general English). */
#define MIXED_DOMAIN_WEIGHT 0.7f

typedef enum { LM_DOMAIN, LM_MIXED, LM_STOCK } lm_mode;

typedef struct {
    lm_mode mode;
    int final_pass; /* stt.final_pass: fwdflat + bestpath at the end of an utterance */
    char hmm[1024];
    char lm[1100]; /* domain ARPA, or the stock model for LM_STOCK */
    char stock_lm[1100];
    char dict[1200];
    lm_files files;
} ps_model;

typedef struct {
    ps_decoder_t *ps;
    cmd_ln_t *cfg;
    int in_utt;
    int adapt_frames; /* frames left in which the channel mean follows the audio quickly */
    mfcc_t *cmn0;     /* the channel mean right after ps_init (from -cmninit), see cmn_reset */
} ps_dec;

/* sphinxbase's logging and cmd_ln parsing use process-wide state: decoders are created
 * one at a time, and its chatter is switched off unless we log at debug level. */
static pthread_mutex_t ps_global = PTHREAD_MUTEX_INITIALIZER;

static int file_ok(const char *path) {
    return access(path, R_OK) == 0;
}

static int concat_files(const char *a, const char *b, const char *out, char *err, size_t errlen) {
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
    FILE *o = fopen(tmp, "w");
    if (!o) {
        snprintf(err, errlen, "%s: cannot create (%s)", tmp, strerror(errno));
        return -1;
    }
    const char *in[2] = {a, b};
    int ok = 1;
    for (int i = 0; i < 2 && ok; i++) {
        FILE *f = fopen(in[i], "r");
        if (!f) {
            ok = 0;
            break;
        }
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            if (fwrite(buf, 1, n, o) != n) ok = 0;
        fclose(f);
    }
    if (fclose(o) != 0) ok = 0;
    if (!ok || rename(tmp, out) != 0) {
        unlink(tmp);
        snprintf(err, errlen, "%s: cannot write the mixed dictionary", out);
        return -1;
    }
    return 0;
}

static void *ps_model_load(const axiom_config *cfg, const stt_corpus *corpus, char *err,
                           size_t errlen) {
    ps_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "stt: out of memory");
        return NULL;
    }
    str_copy(m->hmm, sizeof m->hmm, config_str(cfg, "stt.hmm"));
    m->final_pass = config_bool(cfg, "stt.final_pass");
    char mdef[1100];
    snprintf(mdef, sizeof mdef, "%s/mdef", m->hmm);
    if (!file_ok(mdef)) {
        snprintf(err, errlen,
                 "stt.hmm = '%s': no acoustic model there (no mdef); install pocketsphinx-en-us or "
                 "set stt.hmm",
                 m->hmm);
        free(m);
        return NULL;
    }
    /* The stock LM and dictionary sit beside the acoustic model folder. */
    char parent[1024];
    str_copy(parent, sizeof parent, m->hmm);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) *slash = '\0';
    char stock_dict[1100];
    snprintf(m->stock_lm, sizeof m->stock_lm, "%s/en-us.lm.bin", parent);
    snprintf(stock_dict, sizeof stock_dict, "%s/cmudict-en-us.dict", parent);
    const char *mode = config_str(cfg, "stt.lm");
    m->mode = strcmp(mode, "stock") == 0   ? LM_STOCK
              : strcmp(mode, "mixed") == 0 ? LM_MIXED
                                           : LM_DOMAIN;
    if (m->mode != LM_STOCK && (!corpus || !corpus->n_sentences)) {
        LOG_W("stt",
              "stt.lm = %s needs the knowledge pack's sentences and none were given; using the "
              "stock model",
              mode);
        m->mode = LM_STOCK;
    }
    if (!file_ok(stock_dict) || (m->mode != LM_DOMAIN && !file_ok(m->stock_lm))) {
        snprintf(err, errlen, "%s or %s missing beside stt.hmm = '%s'; install pocketsphinx-en-us",
                 stock_dict, m->stock_lm, m->hmm);
        free(m);
        return NULL;
    }
    if (m->mode == LM_STOCK) {
        str_copy(m->lm, sizeof m->lm, m->stock_lm);
        str_copy(m->dict, sizeof m->dict, stock_dict);
        return m;
    }
    char cache[1024];
    config_cache_dir(cfg, cache, sizeof cache);
    int64_t t0 = now_ms();
    lm_sources src = {stock_dict, m->stock_lm, (size_t)config_int(cfg, "stt.general_words")};
    if (src.general_words && !file_ok(m->stock_lm)) {
        LOG_W("stt",
              "%s is missing: the domain model is built without general English words (install "
              "pocketsphinx-en-us)",
              m->stock_lm);
        src.general_words = 0;
    }
    if (lm_build_cached(corpus, &src, cache, &m->files, err, errlen) != 0) {
        free(m);
        return NULL;
    }
    LOG_I("stt",
          "domain language model %s: %zu words (%zu not in the stock dictionary), %zu/%zu/%zu "
          "n-grams, %s in %lld ms",
          m->files.dir, m->files.n_words, m->files.n_oov, m->files.n_ngrams[0],
          m->files.n_ngrams[1], m->files.n_ngrams[2], m->files.from_cache ? "cached" : "built",
          (long long)(now_ms() - t0));
    str_copy(m->lm, sizeof m->lm, m->files.arpa);
    if (m->mode == LM_DOMAIN) {
        str_copy(m->dict, sizeof m->dict, m->files.dict);
        return m;
    }
    snprintf(m->dict, sizeof m->dict, "%s/mixed.dict", m->files.dir);
    if (!file_ok(m->dict) &&
        concat_files(stock_dict, m->files.extra_dict, m->dict, err, errlen) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void ps_model_free(void *model) {
    free(model);
}

static void ps_dec_free(void *d_) {
    ps_dec *d = d_;
    if (!d) return;
    if (d->ps) ps_free(d->ps);
    if (d->cfg) cmd_ln_free_r(d->cfg);
    free(d->cmn0);
    free(d);
}

/* Live decoding normalises each utterance by a running cepstral mean that 0.8 carries
 * from one utterance to the next (ps_start_utt does not reset it). A pooled decoder
 * would so start a user's utterance tuned to whoever it served before: a loud or a
 * quiet talker changes the next one's words. Every utterance starts instead from the
 * mean the decoder had when it was created (the model's -cmninit), and a session that
 * kept its own mean (stt_channel) puts that back (ps_channel_set); the noise estimate
 * starts afresh (ps_start_stream). cmn_snapshot keeps the initial mean; cmn_reset puts
 * it back. All cheap (13 floats). */
static void cmn_snapshot(ps_dec *d) {
    feat_t *f = ps_get_feat(d->ps);
    cmn_t *c = f ? f->cmn_struct : NULL;
    if (!c || c->veclen <= 0) return;
    d->cmn0 = malloc(sizeof *d->cmn0 * (size_t)c->veclen);
    if (d->cmn0) cmn_live_get(c, d->cmn0);
}

/* The model's initial mean is a guess about a speaker and a microphone nobody has
 * heard yet: it is given the weight of CMN_PRIOR_FRAMES frames only (cmn_live_set
 * gives 500), and the mean is brought up to date after every call that feeds audio
 * during the utterance's first CMN_ADAPT_FRAMES frames, so within a second it is this
 * voice's. Starting every utterance cold from the full-weight guess raised the word
 * errors of a session's first question (dev questions: flite awb 22.2% -> 16.4% with
 * this, espeak-ng en-us 53.1% -> 32.9%). */
#define CMN_PRIOR_FRAMES 30
#define CMN_ADAPT_FRAMES 300

static void cmn_reset(ps_dec *d) {
    feat_t *f = ps_get_feat(d->ps);
    cmn_t *c = f ? f->cmn_struct : NULL;
    if (!d->cmn0 || !c) return;
    cmn_live_set(c, d->cmn0);
    c->nframe = CMN_PRIOR_FRAMES;
    for (int32 i = 0; i < c->veclen; i++)
        c->sum[i] = c->cmn_mean[i] * CMN_PRIOR_FRAMES;
    d->adapt_frames = CMN_ADAPT_FRAMES;
}

static void *ps_dec_new(void *model, char *err, size_t errlen) {
    ps_model *m = model;
    ps_dec *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "stt: out of memory");
        return NULL;
    }
    pthread_mutex_lock(&ps_global);
    if (log_get_level() > AX_LOG_DEBUG) err_set_logfp(NULL);
    /* Without the final pass the result is the first (tree) search's best path, ready
     * as soon as the audio ends; with it, PocketSphinx re-searches the whole utterance
     * first (stt.final_pass). The VAD has already cut the utterance, so PocketSphinx's
     * own silence removal is off: it would shift every word's frames off the audio's
     * clock, and word levels need them on it. */
    const char *fp = m->final_pass ? "yes" : "no";
    d->cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", m->hmm, "-dict", m->dict, "-lm", m->lm,
                         "-fwdflat", fp, "-bestpath", fp, "-remove_silence", "no", NULL);
    if (d->cfg) d->ps = ps_init(d->cfg);
    if (d->ps && m->mode == LM_MIXED) {
        /* Interpolate at decode time: the domain model (already loaded as the default
         * search) and the stock one, sharing the decoder's log-math tables. */
        logmath_t *lmath = ps_get_logmath(d->ps);
        ngram_model_t *models[2];
        models[0] = ngram_model_read(d->cfg, m->files.arpa, NGRAM_AUTO, lmath);
        models[1] = ngram_model_read(d->cfg, m->stock_lm, NGRAM_AUTO, lmath);
        char *names[2] = {"domain", "general"};
        float32 w[2] = {MIXED_DOMAIN_WEIGHT, 1.0f - MIXED_DOMAIN_WEIGHT};
        ngram_model_t *set = NULL;
        if (models[0] && models[1]) set = ngram_model_set_init(d->cfg, models, names, w, 2);
        if (!set) {
            if (models[0]) ngram_model_free(models[0]);
            if (models[1]) ngram_model_free(models[1]);
        }
        if (!set || ps_set_lm(d->ps, "mixed", set) != 0 || ps_set_search(d->ps, "mixed") != 0) {
            if (set) ngram_model_free(set);
            ps_free(d->ps);
            d->ps = NULL;
        } else {
            ngram_model_free(set); /* the search holds its own reference */
        }
    }
    pthread_mutex_unlock(&ps_global);
    if (!d->ps) {
        snprintf(err, errlen,
                 "PocketSphinx could not load hmm '%s', dict '%s', lm '%s' (run with --log-level "
                 "debug for its log)",
                 m->hmm, m->dict, m->lm);
        ps_dec_free(d);
        return NULL;
    }
    cmn_snapshot(d);
    return d;
}

static size_t ps_channel_get(void *d_, float *out, size_t max) {
    ps_dec *d = d_;
    feat_t *f = ps_get_feat(d->ps);
    cmn_t *c = f ? f->cmn_struct : NULL;
    if (!c || c->veclen <= 0 || (size_t)c->veclen > max) return 0;
    mfcc_t v[64];
    if (c->veclen > 64) return 0;
    cmn_live_get(c, v);
    for (int i = 0; i < c->veclen; i++)
        out[i] = (float)v[i];
    return (size_t)c->veclen;
}

static void ps_channel_set(void *d_, const float *in, size_t n) {
    ps_dec *d = d_;
    feat_t *f = ps_get_feat(d->ps);
    cmn_t *c = f ? f->cmn_struct : NULL;
    if (!c || (size_t)c->veclen != n || n > 64) return;
    mfcc_t v[64];
    for (size_t i = 0; i < n; i++)
        v[i] = (mfcc_t)in[i];
    cmn_live_set(c, v);
    d->adapt_frames = 0; /* this speaker's own mean: full weight, the usual updates */
}

static int ps_utt_begin(void *d_, char *err, size_t errlen) {
    ps_dec *d = d_;
    /* A new stream also resets the front end's noise estimate, the other state 0.8
     * keeps across utterances (and makes segment times count from this utterance). */
    ps_start_stream(d->ps);
    cmn_reset(d);
    if (ps_start_utt(d->ps) < 0) {
        snprintf(err, errlen, "PocketSphinx: cannot start an utterance");
        return -1;
    }
    d->in_utt = 1;
    return 0;
}

static int ps_utt_feed(void *d_, const int16_t *pcm, size_t n, char *err, size_t errlen) {
    ps_dec *d = d_;
    /* ps_process_raw takes a size_t count; feed in bounded slices anyway so a huge
     * buffer never makes one long call that cannot be interleaved with partials. */
    while (n) {
        size_t k = n > 16000 ? 16000 : n;
        if (ps_process_raw(d->ps, pcm, k, FALSE, FALSE) < 0) {
            snprintf(err, errlen, "PocketSphinx: decoding failed");
            return -1;
        }
        if (d->adapt_frames > 0) { /* see cmn_reset */
            feat_t *f = ps_get_feat(d->ps);
            if (f && f->cmn_struct) cmn_live_update(f->cmn_struct);
            d->adapt_frames -= (int)(k / 160);
        }
        pcm += k;
        n -= k;
    }
    return 0;
}

static int ps_utt_partial(void *d_, char *buf, size_t buflen) {
    ps_dec *d = d_;
    int32 score;
    const char *h = ps_get_hyp(d->ps, &score);
    str_copy(buf, buflen, h ? h : "");
    return 0;
}

static int ps_utt_end(void *d_, char *buf, size_t buflen, char *err, size_t errlen) {
    ps_dec *d = d_;
    d->in_utt = 0;
    if (ps_end_utt(d->ps) < 0) {
        snprintf(err, errlen, "PocketSphinx: cannot end the utterance");
        return -1;
    }

    int32 score;
    const char *h = ps_get_hyp(d->ps, &score);
    str_copy(buf, buflen, h ? h : "");
    return 0;
}

static void ps_utt_abort(void *d_) {
    ps_dec *d = d_;
    if (d->in_utt) {
        ps_end_utt(d->ps);
    }
    d->in_utt = 0;
}

/* A dictionary word as the text shows it: fillers ("<s>", "<sil>", "[NOISE]") are
 * none, alternative pronunciations ("the(2)") are the word. Returns 0 for a filler. */
static int plain_word(const char *w, char *out, size_t outlen) {
    if (!w || !*w || w[0] == '<' || w[0] == '[' || w[0] == '+') return 0;
    size_t n = strcspn(w, "(");
    if (n == 0) return 0;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, w, n);
    out[n] = '\0';
    return 1;
}

/* How many entries of the N-best search are read to find STT_MAX_ALTS different
 * texts: most entries differ only in fillers or pronunciation variants. */
#define NBEST_SCAN 48

/* The words of a segmentation (fillers skipped) into h; the text is rebuilt from them.
 * The lattice numbers frames from somewhere before the utterance (not its start, not
 * the decoder's frame count either); a path's opening <s> is at the utterance's first
 * frame, so positions are taken from there. */
static void words_from(ps_seg_t *sg, stt_hyp *h, char *text, size_t textlen) {
    size_t len = 0;
    int base = -1;
    text[0] = '\0';
    for (; sg; sg = ps_seg_next(sg)) {
        char w[40];
        int sf = 0, ef = 0;
        ps_seg_frames(sg, &sf, &ef);
        if (base < 0) base = sf;
        if (!plain_word(ps_seg_word(sg), w, sizeof w)) continue;
        if (h->words && h->n_words < STT_MAX_WORDS) {
            stt_word *x = &h->words[h->n_words++];
            str_copy(x->word, sizeof x->word, w);
            x->start_ms = (sf - base) * 10;
            x->end_ms = (ef - base + 1) * 10;
        }
        int k = snprintf(text + len, textlen - len, "%s%s", len ? " " : "", w);
        if (k > 0 && (size_t)k < textlen - len) len += (size_t)k;
    }
}

static int ps_utt_alternatives(void *d_, stt_hyp *alts, int max) {
    ps_dec *d = d_;
    logmath_t *lmath = ps_get_logmath(d->ps);
    int n = 0;
    int32 best = 0;
    /* the best path first, as ps_get_hyp gave it, with its own words */
    if (max > 0) {
        int32 score = 0;
        const char *hyp = ps_get_hyp(d->ps, &score);
        if (hyp && *hyp) {
            stt_hyp h = {0};
            h.words = calloc(STT_MAX_WORDS, sizeof *h.words);
            char text[1024];
            words_from(ps_seg_iter(d->ps), &h, text, sizeof text);
            h.text = strdup(text);
            if (h.text && text[0])
                alts[n++] = h;
            else
                stt_hyp_clear(&h);
        }
    }
    ps_nbest_t *nb = ps_nbest(d->ps);
    int have_best = 0;
    for (int scanned = 0; nb && n < max && scanned < NBEST_SCAN;
         scanned++, nb = ps_nbest_next(nb)) {
        int32 score = 0;
        ps_nbest_hyp(nb, &score);
        stt_hyp h = {0};
        h.words = calloc(STT_MAX_WORDS, sizeof *h.words);
        char text[1024];
        words_from(ps_nbest_seg(nb), &h, text, sizeof text);
        if (!have_best) best = score, have_best = 1; /* scores count from the search's best */
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = strcmp(alts[i].text, text) == 0;
        if (dup || !text[0]) {
            free(h.words);
            continue;
        }
        h.text = strdup(text);
        h.score = logmath_log_to_ln(lmath, score - best);
        if (!h.text) {
            free(h.words);
            break;
        }
        alts[n++] = h;
    }
    if (nb) ps_nbest_free(nb);
    return n;
}

const stt_backend stt_backend_pocketsphinx = {
    .name = "pocketsphinx",
    .model_load = ps_model_load,
    .model_free = ps_model_free,
    .model_mapped_bytes = NULL,
    .decoder_new = ps_dec_new,
    .decoder_free = ps_dec_free,
    .utt_begin = ps_utt_begin,
    .utt_feed = ps_utt_feed,
    .utt_partial = ps_utt_partial,
    .utt_end = ps_utt_end,
    .utt_abort = ps_utt_abort,
    .utt_alternatives = ps_utt_alternatives,
    .channel_get = ps_channel_get,
    .channel_set = ps_channel_set,
};
