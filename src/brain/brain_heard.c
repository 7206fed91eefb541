/* A spoken turn: which of the recogniser's hearings to answer, and whether to answer.
 *
 * The recogniser's best path is not always what the person said. In a room where
 * someone else talks, the background talker's words land around the question ("and
 * a girl what is the jetson orin nano home"); a word the language model likes better
 * can replace the right one. So every hearing the recogniser offers (its N-best list)
 * is tried whole and with words cut from its edges, and each is weighed by what the
 * brain would make of it (brain_assess: does a confident template answer it?) less
 * what it took to get there: a lower-ranked hypothesis, and every word dropped, cost
 * something; a word much quieter than the speaker costs nearly nothing to drop,
 * because it is most likely somebody else's.
 *
 * A room holds other people. Whoever has been talking to us was heard at some level;
 * an utterance well below it (stt.background_margin_db) is somebody else, most often
 * the background talker's words after the question ends, which the VAD hands over as
 * a segment of their own. It is not answered unless a template answers it
 * confidently: a user who stepped back from the microphone and asks a question the
 * pack knows is still answered, and becomes the new reference.
 *
 * Then the gate: speech that no hearing turns into a confident template answer, and
 * whose best hearing names nothing the pack knows with a sure intent, is not answered
 * from retrieval (that path would find some fact for almost any words: six of six
 * out-of-domain recordings got a confident-sounding answer before the gate). The user
 * is asked to say it again instead, and sees what was heard. */
#include "brain/brain_internal.h"

#include "core/log.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EDGE_DROP 3      /* words cut from each edge at most */
#define SCORE_COST 3.0       /* per unit of path score below the best hypothesis */
#define RANK_COST 0.02       /* per place down the N-best list */
#define LOUD_DROP_COST 0.15  /* dropping a word as loud as the speaker */
#define QUIET_DROP_COST 0.01 /* dropping a word from a quieter voice */
#define MAX_CANDIDATES 160
#define MAX_SWITCH_COST 0.4  /* the most a hearing may cost to be preferred */
#define MAX_UPGRADE_COST 0.1 /* ... over a best hearing retrieval answers */
#define MAX_LOUD_DROPPED 2   /* loud words a preferred hearing may leave out */
/* A sentence falls in level towards its end (declination): its last word is often
 * several dB quieter than its first, so a word at the end must be this much quieter
 * again than stt.trim_margin_db before it counts as someone else's. */
#define TRAIL_EXTRA_DB 4.0f

void brain_heard_opts_from_config(const axiom_config *cfg, brain_heard_opts *out) {
    out->rescore = config_bool(cfg, "stt.rescore");
    out->trim = config_bool(cfg, "stt.trim_background");
    out->trim_margin_db = (float)config_double(cfg, "stt.trim_margin_db");
    out->reject = config_bool(cfg, "stt.reject");
    out->background_db = (float)config_double(cfg, "stt.background_margin_db");
    out->background_s = (int)config_int(cfg, "stt.background_forget_s");
}

/* 1 when the utterance is well below the level the session's speaker was last heard
 * at (an answered or rejected turn), recently. */
static int other_voice(const brain_session *s, const stt_result *r, const brain_heard_opts *ho,
                       int64_t now) {
    if (ho->background_db <= 0 || !s->speaker_at_ms || r->speech_db == 0) return 0;
    if (now - s->speaker_at_ms > (int64_t)ho->background_s * 1000) return 0;
    return r->speech_db < s->speaker_db - ho->background_db;
}

/* The reply to another voice: nothing said, nothing in the history. */
static int background_reply(const char *chosen, brain_reply *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->card.index = -1;
    out->template_index = -1;
    out->path = BRAIN_PATH_NONE;
    str_copy(out->dropped, sizeof out->dropped, "background");
    out->text = strdup("");
    out->normalised = strdup("");
    out->heard = strdup(chosen);
    if (out->text && out->normalised && out->heard) return 0;
    brain_reply_free(out);
    snprintf(err, errlen, "out of memory");
    return -1;
}

typedef struct {
    char text[1024];
    double cost;
    int alt, lead, trail, loud_dropped;
    brain_assessment a;
    double score;
} candidate;

static int quiet(const stt_word *w, float speech_db, float margin) {
    return w->level_db < speech_db - margin;
}

/* Joins words[a..b) into out. */
static void join_words(const stt_word *w, int a, int b, char *out, size_t outlen) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = a; i < b; i++) {
        int k = snprintf(out + len, outlen - len, "%s%s", len ? " " : "", w[i].word);
        if (k < 0 || (size_t)k >= outlen - len) break;
        len += (size_t)k;
    }
}

/* What a hearing is worth: a template answer most (a little more the closer the
 * template), then a greeting or goodbye, then anything by its intent's confidence. */
static double worth(const brain_assessment *a) {
    if (a->path == BRAIN_PATH_NONE) return 0;
    if (a->fast_path) return 1.0 + 0.3 * a->template_score;
    if (a->social) return 1.2;
    return 0.5 * a->confidence;
}

static int already(const candidate *c, int n, const char *text) {
    for (int i = 0; i < n; i++)
        if (strcmp(c[i].text, text) == 0) return 1;
    return 0;
}

/* The recogniser's best hypothesis with the quiet words at its edges dropped: what the
 * person at the microphone said, as far as levels tell. */
static void trimmed_best(const stt_result *r, const brain_heard_opts *ho, char *out,
                         size_t outlen) {
    const stt_hyp *h = r->n_alts ? &r->alts[0] : NULL;
    if (!h || !h->words || !h->n_words || !ho->trim) {
        str_copy(out, outlen, r->text ? r->text : "");
        return;
    }
    int a = 0, b = h->n_words;
    while (a < b && quiet(&h->words[a], r->speech_db, ho->trim_margin_db))
        a++;
    while (b > a && quiet(&h->words[b - 1], r->speech_db, ho->trim_margin_db + TRAIL_EXTRA_DB))
        b--;
    if (a == b) { /* nothing loud: keep the hearing as it is, the gate decides */
        str_copy(out, outlen, r->text ? r->text : "");
        return;
    }
    join_words(h->words, a, b, out, outlen);
}

/* Fills cands with every hearing worth weighing; returns how many. */
static int gather(const stt_result *r, const brain_heard_opts *ho, candidate *c, int max) {
    int n = 0;
    int n_alts = ho->rescore ? r->n_alts : (r->n_alts ? 1 : 0);
    for (int i = 0; i < n_alts && n < max; i++) {
        const stt_hyp *h = &r->alts[i];
        if (!h->words || !h->n_words) {
            if (h->text && !already(c, n, h->text)) {
                memset(&c[n], 0, sizeof c[n]);
                str_copy(c[n].text, sizeof c[n].text, h->text);
                c[n].alt = i;
                c[n].cost = RANK_COST * i - SCORE_COST * h->score;
                n++;
            }
            continue;
        }
        int maxd = ho->rescore ? MAX_EDGE_DROP : 0;
        for (int lead = 0; lead <= maxd && lead < h->n_words; lead++)
            for (int trail = 0; trail <= maxd && lead + trail < h->n_words && n < max; trail++) {
                if (h->n_words - lead - trail < 2 && lead + trail > 0) continue; /* keep a phrase */
                double cost = RANK_COST * i - SCORE_COST * h->score;
                int loud = 0;
                for (int k = 0; k < lead; k++) {
                    int q = ho->trim && quiet(&h->words[k], r->speech_db, ho->trim_margin_db);
                    cost += q ? QUIET_DROP_COST : LOUD_DROP_COST;
                    loud += !q;
                }
                for (int k = h->n_words - trail; k < h->n_words; k++) {
                    int q = ho->trim &&
                            quiet(&h->words[k], r->speech_db, ho->trim_margin_db + TRAIL_EXTRA_DB);
                    cost += q ? QUIET_DROP_COST : LOUD_DROP_COST;
                    loud += !q;
                }
                char text[1024];
                join_words(h->words, lead, h->n_words - trail, text, sizeof text);
                if (!text[0] || already(c, n, text)) continue;
                memset(&c[n], 0, sizeof c[n]);
                str_copy(c[n].text, sizeof c[n].text, text);
                c[n].alt = i;
                c[n].lead = lead;
                c[n].trail = trail;
                c[n].loud_dropped = loud;
                c[n].cost = cost;
                n++;
            }
    }
    return n;
}

int brain_turn_heard(brain *b, brain_session *s, const stt_result *heard,
                     const brain_heard_opts *heard_opts, const brain_turn_opts *opts,
                     brain_reply *out, char *err, size_t errlen) {
    brain_heard_opts defaults = {1, 1, 6.0f, 1, 5.0f, 120};
    const brain_heard_opts *ho = heard_opts ? heard_opts : &defaults;
    brain_mode mode = opts ? opts->mode : BRAIN_MODE_FULL;
    int64_t t0 = now_us();
    char fallback[1024];
    trimmed_best(heard, ho, fallback, sizeof fallback);

    /* The best hearing, without its quiet edges, is taken whenever a template (or a
     * greeting) answers it. When only retrieval would, another hearing a template
     * answers is taken if it is nearly as likely (a template is the pack's exact
     * answer); when nothing answers it, a less likely one may be. */
    brain_assessment fa;
    if (brain_assess(b, s, fallback, mode, 1, &fa, err, errlen) != 0) return -1;
    const char *chosen = fallback;
    const brain_assessment *ca = &fa;
    candidate *c = NULL;
    int n = 0;
    int settled = fa.path == BRAIN_PATH_NONE || fa.fast_path || fa.social;
    if (!settled && ho->rescore) {
        c = calloc(MAX_CANDIDATES, sizeof *c);
        if (!c) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        n = gather(heard, ho, c, MAX_CANDIDATES);
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (brain_assess(b, s, c[i].text, mode, 0, &c[i].a, err, errlen) != 0) {
                free(c);
                return -1;
            }
            c[i].score = worth(&c[i].a) - c[i].cost;
            if (best < 0 || c[i].score > c[best].score) best = i;
        }
        /* Another hearing must be one a template answers, cheap to reach, and keep
         * most of what the speaker said: otherwise it is a guess pulling unrelated
         * speech onto something the pack knows. */
        double limit = fa.spoken_ok ? MAX_UPGRADE_COST : MAX_SWITCH_COST;
        if (best >= 0 && (c[best].a.fast_path || (c[best].a.social && c[best].alt == 0)) &&
            c[best].cost <= limit && c[best].loud_dropped <= MAX_LOUD_DROPPED) {
            chosen = c[best].text;
            ca = &c[best].a;
        }
    }
    brain_turn_opts o = opts ? *opts : (brain_turn_opts){.mode = BRAIN_MODE_FULL};
    o.spoken = ho->reject;
    LOG_D("brain",
          "heard '%s' -> '%s' (%d other hearings weighed, %lld us; best: named %d p %.2f cover "
          "%.2f ok %d)",
          heard->text ? heard->text : "", chosen, n, (long long)(now_us() - t0), fa.named,
          fa.confidence, fa.coverage, fa.spoken_ok);
    int64_t now = now_ms();
    if (other_voice(s, heard, ho, now) && !(ca->fast_path && !ca->social)) {
        LOG_D("brain", "'%s' at %.1f dB is another voice (the speaker was at %.1f dB)", chosen,
              heard->speech_db, s->speaker_db);
        int rc = background_reply(chosen, out, err, errlen);
        free(c);
        return rc;
    }
    int rc = brain_turn(b, s, chosen, &o, out, err, errlen);
    if (rc == 0 && out->path != BRAIN_PATH_NONE && heard->speech_db != 0) {
        s->speaker_db = heard->speech_db;
        s->speaker_at_ms = now;
    }
    if (rc == 0) {
        out->heard = strdup(chosen);
        if (!out->heard) {
            brain_reply_free(out);
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    free(c);
    return rc;
}
