/* Understanding benchmark: does a question spoken in a real room get the answer the
 * same question gets typed? Questions from bench/data/understanding (held-out by
 * default) are spoken by flite and espeak-ng voices, put through room conditions
 * (tests/support/room.h: babble of real talkers, hiss, fan, reverb, speaking rate,
 * pitch, telephone band, gain) and answered in-process by voice_ask_pcm, the server's
 * spoken turn, on 2 worker threads with a fresh conversation per file. Each worker has
 * its own engine and a fixed share of the files, so a run gives the same figures every
 * time for the same inputs (see worker()). Out-of-domain
 * speech (human recordings, off-topic sentences) measures false answers.
 *
 * Reports per condition and per voice: WER of the transcript (both sides as the brain
 * normalises them), answer accuracy (spoken answer text == typed answer text; a
 * rejected or dropped turn is wrong), rejected share (path "rejected" or none), and for
 * out-of-domain speech the false answers (a file any turn of which got an answer that
 * is neither a rejection nor the pack's "I don't know" reply).
 *
 * The clean condition runs every voice; every other condition runs one voice per
 * question, flite and espeak-ng taking turns (half the questions each) and the voices
 * of each family in rotation, which keeps the default run near ten minutes on two
 * cores. BENCH_UNDERSTANDING_VOICES runs the listed voices under every condition. Audio is
 * made once and kept in <cache_dir>/bench-understanding, named by a hash of its inputs.
 *
 * Environment:
 *   BENCH_UNDERSTANDING_SET=heldout|dev       question sets (default heldout)
 *   BENCH_UNDERSTANDING_DATA=pack|reference|both  (default both)
 *   BENCH_UNDERSTANDING_MAX=N                 first N questions of each set
 *   BENCH_UNDERSTANDING_CONDITIONS=clean,babble10,...  (default all)
 *   BENCH_UNDERSTANDING_VOICES=flite:awb,...  these voices, each under every condition
 *   BENCH_UNDERSTANDING_SHOW=misses           print each wrong answer (dev sets only)
 *   BENCH_UNDERSTANDING_SHOW=all              print every in-domain answer, right or wrong
 * Settings (stt.*, vad.*, ...) come from the environment and axiom.conf as for axiom. */
#include "../tests/support/room.h"
#include "../tests/support/testutil.h"
#include "../tests/support/voices.h"
#include "brain/brain.h"
#include "brain/normalise.h"
#include "brain/pack.h"
#include "core/config.h"
#include "core/engine.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/stt_file.h"
#include "speech/wav.h"
#include "voice/voice_ask.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WORKERS 2
#define MAX_VOICES 16
#define MAX_CONDS 16
#define TESTDATA "/usr/share/pocketsphinx/test/data"

enum { IN_DOMAIN = 0, OOD_SYNTH, OOD_HUMAN };
enum { FLITE = 0, ESPEAK };

static const char *default_voices[] = {"flite:slt",
                                       "flite:awb",
                                       "flite:rms",
                                       "flite:kal16",
                                       "espeak:en-us",
                                       "espeak:en-gb",
                                       "espeak:en-us:p75:s200",
                                       "espeak:en-gb:p25:s140"};

typedef struct {
    char **v;
    size_t n;
} strlist;

/* One knowledge pack under test, with its engine and question sets. */
typedef struct {
    const char *name;
    char dir[1100];
    axiom_config *cfg;
    axiom_engine *e[WORKERS]; /* one per worker: see worker() */
    pack *pk;
    normaliser *nz;
    strlist qs, typed, ood;
} dataset;

typedef struct {
    dataset *d;
    int kind, q, voice, cond; /* voice: index in voices, -1 for a recording */
    const char *text;         /* what is said (NULL for a recording) */
    const char *path;         /* the recording (OOD_HUMAN) */
    /* results */
    int failed;
    char *transcript, *answer;
    char *heard; /* the hearing answered (the final turn's) */
    int correct, rejected, false_answer, unknown;
    int twice; /* in-domain: more than one turn was answered (the background's words too) */
    int64_t audio_ms, proc_us;
} job;

static const char *voices[MAX_VOICES];
static size_t nvoices;
static const room_condition *conds[MAX_CONDS];
static size_t nconds;
static char audio_dir[1200];
static room_noise noise;
static job *jobs;
static size_t njobs;
static atomic_int gen_count;
static pthread_mutex_t print_mu = PTHREAD_MUTEX_INITIALIZER;

static void strlist_add(strlist *l, const char *s) {
    char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv) return;
    l->v = nv;
    l->v[l->n++] = strdup(s);
}

static void strlist_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* One sentence a line, '#' comments; at most max (0 = all). */
static int read_set(const char *path, size_t max, strlist *out) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    while (fgets(line, sizeof line, f) && (!max || out->n < max)) {
        line[strcspn(line, "\t\r\n")] = '\0';
        if (line[0] && line[0] != '#') strlist_add(out, line);
    }
    fclose(f);
    return 0;
}

static int voice_family(const char *v) {
    return strncmp(v, "flite:", 6) == 0 ? FLITE : ESPEAK;
}

static brain_turn_opts turn_opts(void) {
    return (brain_turn_opts){.mode = BRAIN_MODE_FULL, .llm = NULL};
}

static int dataset_open(dataset *d, const char *set_dir, const char *set, size_t max) {
    char err[512], path[1400];
    d->cfg = config_new();
    int argc = 1;
    char *argv[] = {"bench_understanding", NULL};
    if (!d->cfg || config_load_all(d->cfg, &argc, argv, err, sizeof err) != 0 ||
        config_set(d->cfg, "data", d->dir, CFG_FLAG, "bench", err, sizeof err) != 0) {
        fprintf(stderr, "bench understanding: %s: configuration: %s\n", d->name, err);
        return -1;
    }
    config_set(d->cfg, "stt.pool_size", "1", CFG_FLAG, "bench", err, sizeof err);
    d->pk = pack_load(d->dir, NULL, err, sizeof err);
    if (!d->pk) {
        fprintf(stderr, "bench understanding: %s (%s): %s\n", d->name, d->dir, err);
        return -1;
    }
    d->nz = normaliser_new(d->pk);
    for (int w = 0; w < WORKERS; w++) {
        d->e[w] = axiom_engine_new(d->cfg, err, sizeof err);
        axiom_engine *e = d->e[w];
        /* Loaded now, so no file pays for it. */
        if (!e || !e->stt || brain_load(e->brain, err, sizeof err) != 0 ||
            stt_engine_refresh_corpus(e->stt, err, sizeof err) != 0 ||
            component_load(stt_engine_component(e->stt), err, sizeof err) != 0 ||
            component_load(vad_engine_component(e->vad), err, sizeof err) != 0) {
            fprintf(stderr, "bench understanding: %s (%s): %s\n", d->name, d->dir,
                    e && !e->stt ? "no speech recogniser" : err);
            return -1;
        }
    }
    snprintf(path, sizeof path, "%s/%s_%s.tsv", set_dir, set, d->name);
    if (read_set(path, max, &d->qs) != 0) {
        fprintf(stderr, "bench understanding: cannot read %s\n", path);
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s.tsv", set_dir, strcmp(set, "dev") == 0 ? "dev_ood" : "ood");
    if (read_set(path, max, &d->ood) != 0)
        fprintf(stderr, "bench understanding: cannot read %s\n", path);
    /* The reference answers: each question typed, in a fresh conversation. */
    brain_turn_opts o = turn_opts();
    for (size_t i = 0; i < d->qs.n; i++) {
        brain_session *s = brain_session_new(d->e[0]->brain);
        brain_reply r;
        int rc = brain_turn(d->e[0]->brain, s, d->qs.v[i], &o, &r, err, sizeof err);
        strlist_add(&d->typed, rc == 0 && r.text ? r.text : "");
        brain_reply_free(&r);
        brain_session_free(s);
    }
    return 0;
}

static void dataset_close(dataset *d) {
    for (int w = 0; w < WORKERS; w++)
        axiom_engine_free(d->e[w]);
    config_free(d->cfg);
    normaliser_free(d->nz);
    pack_free(d->pk);
    strlist_free(&d->qs);
    strlist_free(&d->typed);
    strlist_free(&d->ood);
}

static void add_job(dataset *d, int kind, int q, int voice, int cond, const char *text,
                    const char *path) {
    job *nj = realloc(jobs, (njobs + 1) * sizeof *nj);
    if (!nj) return;
    jobs = nj;
    jobs[njobs++] = (job){
        .d = d, .kind = kind, .q = q, .voice = voice, .cond = cond, .text = text, .path = path};
}

/* Voices of one family, in order, for the rotation. */
static size_t family_voices(int family, int *out) {
    size_t k = 0;
    for (size_t v = 0; v < nvoices; v++)
        if (voice_family(voices[v]) == family) out[k++] = (int)v;
    return k;
}

static void plan(dataset *d, int full_matrix, const char *const *human, size_t nhuman) {
    int fam[2][MAX_VOICES];
    size_t nfam[2] = {family_voices(FLITE, fam[FLITE]), family_voices(ESPEAK, fam[ESPEAK])};
    for (size_t q = 0; q < d->qs.n; q++)
        for (size_t c = 0; c < nconds; c++) {
            if (full_matrix || conds[c]->kind == ROOM_CLEAN) {
                for (size_t v = 0; v < nvoices; v++)
                    add_job(d, IN_DOMAIN, (int)q, (int)v, (int)c, d->qs.v[q], NULL);
                continue;
            }
            /* One voice: flite and espeak-ng take turns, and so do the voices of each. */
            int f = nfam[FLITE] && nfam[ESPEAK] ? (int)((q + c) % 2) : nfam[FLITE] ? FLITE : ESPEAK;
            if (nfam[f])
                add_job(d, IN_DOMAIN, (int)q, fam[f][(q / 2 + c) % nfam[f]], (int)c, d->qs.v[q],
                        NULL);
        }
    int clean = -1;
    for (size_t c = 0; c < nconds; c++)
        if (conds[c]->kind == ROOM_CLEAN) clean = (int)c;
    if (clean < 0) return; /* out-of-domain speech is measured clean */
    for (size_t s = 0; s < d->ood.n; s++) {
        if (full_matrix) {
            for (size_t v = 0; v < nvoices; v++)
                add_job(d, OOD_SYNTH, (int)s, (int)v, clean, d->ood.v[s], NULL);
            continue;
        }
        for (int f = 0; f < 2; f++)
            if (nfam[f])
                add_job(d, OOD_SYNTH, (int)s, fam[f][s % nfam[f]], clean, d->ood.v[s], NULL);
    }
    for (size_t h = 0; h < nhuman; h++)
        if (access(human[h], R_OK) == 0) add_job(d, OOD_HUMAN, (int)h, -1, clean, NULL, human[h]);
}

/* ---- audio ---- */

static void key_path(char *out, size_t len, const char *what, const char *voice, const char *text) {
    uint64_t h =
        room_hash(room_hash(room_hash(room_hash(ROOM_HASH_INIT, ROOM_VERSION), what), voice), text);
    snprintf(out, len, "%s/%016llx.wav", audio_dir, (unsigned long long)h);
}

static int file_exists(const char *p) {
    return access(p, R_OK) == 0;
}

/* The question as spoken by the voice, unpadded: from the cache or made now. */
static int clean_source(const char *voice, const char *text, int16_t **pcm, size_t *n, char *err,
                        size_t errlen, tts_engine *tts) {
    char path[1300];
    key_path(path, sizeof path, "source", voice, text);
    if (file_exists(path)) return wav_read_all(path, ROOM_RATE, 120, pcm, n, err, errlen);
    if (voice_speak(tts, voice, text, audio_dir, pcm, n, err, errlen) != 0) return -1;
    char tmp[1400];
    snprintf(tmp, sizeof tmp, "%s.%d.%lx.tmp", path, (int)getpid(), (unsigned long)pthread_self());
    if (wav_write_file(tmp, *pcm, *n, ROOM_RATE, err, errlen) != 0 || rename(tmp, path) != 0)
        unlink(tmp);
    return 0;
}

static int job_audio(job *j, int16_t **pcm, size_t *n, char *err, size_t errlen) {
    if (j->kind == OOD_HUMAN) return room_read(j->path, pcm, n, err, errlen);
    const room_condition *c = conds[j->cond];
    const char *voice = voices[j->voice];
    char path[1300];
    key_path(path, sizeof path, c->name, voice, j->text);
    if (!file_exists(path)) {
        int16_t *clean = NULL;
        size_t nc = 0;
        if (clean_source(voice, j->text, &clean, &nc, err, errlen, j->d->e[0]->tts) != 0) return -1;
        uint64_t seed = room_hash(room_hash(ROOM_HASH_INIT, voice), j->text);
        int rc = room_render(c, &noise, clean, nc, seed, audio_dir, path, err, errlen);
        free(clean);
        if (rc != 0) return -1;
        atomic_fetch_add(&gen_count, 1);
    }
    return wav_read_all(path, ROOM_RATE, 120, pcm, n, err, errlen);
}

/* ---- answering ---- */

static int is_unknown_reply(const pack *pk, const char *text) {
    for (size_t i = 0; i < pk->n_responses[RESP_UNKNOWN]; i++)
        if (strstr(text, pk->responses[RESP_UNKNOWN][i])) return 1;
    return 0;
}

static int is_rejected(const voice_turn *t) {
    return !t || t->path == BRAIN_PATH_NONE || strcmp(brain_path_name(t->path), "rejected") == 0;
}

static void run_job(job *j, int w) {
    char err[512] = "";
    int16_t *pcm = NULL;
    size_t n = 0;
    if (job_audio(j, &pcm, &n, err, sizeof err) != 0) {
        j->failed = 1;
        pthread_mutex_lock(&print_mu);
        fprintf(stderr, "bench understanding: %s: %s\n", j->text ? j->text : j->path, err);
        pthread_mutex_unlock(&print_mu);
        return;
    }
    dataset *d = j->d;
    brain_session *s = brain_session_new(d->e[w]->brain);
    brain_turn_opts o = turn_opts();
    voice_answer a;
    int64_t t0 = now_us();
    int rc = voice_ask_pcm(d->e[w], s, pcm, n, &o, &a, err, sizeof err);
    j->proc_us = now_us() - t0;
    j->audio_ms = a.audio_ms;
    if (rc != 0) {
        j->failed = 1;
        pthread_mutex_lock(&print_mu);
        fprintf(stderr, "bench understanding: %s: %s\n", j->text ? j->text : j->path, err);
        pthread_mutex_unlock(&print_mu);
    }
    const voice_turn *f = voice_answer_final(&a);
    j->transcript = strdup(a.transcript ? a.transcript : "");
    j->answer = strdup(f && f->text ? f->text : "");
    j->heard = strdup(f && f->heard ? f->heard : "");
    j->rejected = is_rejected(f);
    j->unknown = !j->rejected && is_unknown_reply(d->pk, j->answer);
    if (j->kind == IN_DOMAIN) j->correct = !j->rejected && strcmp(j->answer, d->typed.v[j->q]) == 0;
    int answered = 0;
    for (size_t i = 0; i < a.n; i++)
        if (!is_rejected(&a.turns[i]) && !is_unknown_reply(d->pk, a.turns[i].text)) {
            j->false_answer = 1;
            answered++;
        }
    j->twice = j->kind == IN_DOMAIN && answered > 1;
    voice_answer_free(&a);
    brain_session_free(s);
    free(pcm);
}

/* Worker w answers jobs w, w + WORKERS, ... in order, each with its own engine (one
 * decoder): a decoder carries its cepstral mean from one utterance to the next, as in
 * the server, so a fixed order on a fixed decoder makes every run give the same
 * figures for the same inputs. */
static void *worker(void *arg) {
    int w = (int)(intptr_t)arg;
    for (size_t i = (size_t)w; i < njobs; i += WORKERS)
        run_job(&jobs[i], w);
    return NULL;
}

/* ---- figures ---- */

typedef struct {
    int n, correct, rejected, false_answer, unknown, twice, werr, wref;
} tally;

static void tally_add(tally *t, const job *j) {
    t->n++;
    t->correct += j->correct;
    t->rejected += j->rejected;
    t->false_answer += j->false_answer;
    t->unknown += j->unknown;
    t->twice += j->twice;
    if (j->kind != IN_DOMAIN || !j->transcript) return;
    static norm_result a, b; /* large; figures are computed on the main thread */
    normalise_text(j->d->nz, j->text, &a);
    normalise_text(j->d->nz, j->transcript, &b);
    int w = 0;
    t->werr += stt_word_errors(a.text, b.text, &w);
    t->wref += w;
}

static double pc(int a, int b) {
    return b ? 100.0 * a / b : -1;
}

static void cell(double v) {
    if (v < 0)
        printf(" %6s", "-");
    else
        printf(" %5.1f%%", v);
}

/* Accuracy of one family averaged over those of the named conditions that ran (-1 when
 * none did). */
static double mean_acc(tally (*t)[MAX_CONDS][2], int fam, const char *const *names, size_t nn) {
    double sum = 0;
    int k = 0;
    for (size_t i = 0; i < nn; i++)
        for (size_t c = 0; c < nconds; c++)
            if (strcmp(conds[c]->name, names[i]) == 0 && (*t)[c][fam].n) {
                sum += pc((*t)[c][fam].correct, (*t)[c][fam].n);
                k++;
            }
    return k ? sum / k : -1;
}

static void summary_line(const char *label, double a, double b, const char *target) {
    printf("%-62s", label);
    cell(a);
    printf("  |");
    cell(b);
    printf("   %s\n", target);
}

static void report(dataset *ds, size_t nds, int show_misses) {
    static tally cond_t[2][MAX_CONDS][2], voice_t[2][MAX_VOICES], ood_t[2][3];
    for (size_t i = 0; i < njobs; i++) {
        job *j = &jobs[i];
        if (j->failed) continue;
        int di = (int)(j->d - ds);
        if (j->kind == IN_DOMAIN) {
            tally_add(&cond_t[di][j->cond][voice_family(voices[j->voice])], j);
            if (conds[j->cond]->kind == ROOM_CLEAN) tally_add(&voice_t[di][j->voice], j);
            if ((show_misses && !j->correct) || show_misses == 2) {
                char path[1300];
                key_path(path, sizeof path, conds[j->cond]->name, voices[j->voice], j->text);
                printf("%s  %-9s %-12s %-22s \"%s\" heard \"%s\" answered as \"%s\" -> "
                       "%.70s\n      %s\n",
                       j->correct ? "ok  " : "miss", ds[di].name, conds[j->cond]->name,
                       voices[j->voice], j->text, j->transcript, j->heard ? j->heard : "",
                       j->answer[0] ? j->answer : "(nothing)", path);
            }
        } else {
            int k = j->kind == OOD_HUMAN ? 0 : 1 + voice_family(voices[j->voice]);
            tally_add(&ood_t[di][k], j);
            if (show_misses && j->false_answer)
                printf("false %-9s %-22s heard \"%s\" answered as \"%s\" -> %.70s\n", ds[di].name,
                       j->voice >= 0 ? voices[j->voice] : j->path, j->transcript,
                       j->heard ? j->heard : "", j->answer);
        }
    }
    printf("\n-- in-domain, per condition: WER | answer accuracy, flite / espeak-ng voices | "
           "rejected or dropped | answered twice\n");
    printf("%-12s", "condition");
    for (size_t d = 0; d < nds; d++)
        printf(" | %-9s %5s %7s %7s %7s %7s %7s", ds[d].name, "n", "WER", "flite", "espeak", "rej",
               "twice");
    printf("\n");
    for (size_t c = 0; c < nconds; c++) {
        printf("%-12s", conds[c]->name);
        for (size_t d = 0; d < nds; d++) {
            tally *f = &cond_t[d][c][FLITE], *e = &cond_t[d][c][ESPEAK];
            printf(" | %-9s %5d", "", f->n + e->n);
            cell(pc(f->werr + e->werr, f->wref + e->wref));
            cell(pc(f->correct, f->n));
            cell(pc(e->correct, e->n));
            cell(pc(f->rejected + e->rejected, f->n + e->n));
            cell(pc(f->twice + e->twice, f->n + e->n));
        }
        printf("\n");
    }
    printf("\n-- in-domain, clean, per voice: WER | answer accuracy | rejected\n");
    for (size_t v = 0; v < nvoices; v++) {
        printf("%-22s", voices[v]);
        for (size_t d = 0; d < nds; d++) {
            tally *t = &voice_t[d][v];
            printf(" | %-9s %4d", ds[d].name, t->n);
            cell(pc(t->werr, t->wref));
            cell(pc(t->correct, t->n));
            cell(pc(t->rejected, t->n));
        }
        printf("\n");
    }
    printf("\n-- out-of-domain, clean: false answers | \"I don't know\" replies | rejected or "
           "nothing\n");
    const char *ood_names[3] = {"human recordings", "synthetic, flite", "synthetic, espeak-ng"};
    for (int k = 0; k < 3; k++) {
        printf("%-22s", ood_names[k]);
        for (size_t d = 0; d < nds; d++) {
            tally *t = &ood_t[d][k];
            printf(" | %-9s %4d", ds[d].name, t->n);
            cell(pc(t->false_answer, t->n));
            cell(pc(t->unknown, t->n));
            cell(pc(t->rejected, t->n));
        }
        printf("\n");
    }
    /* The targets, one line each; two columns: pack | reference. */
    double v[2][7];
    const char *rooms[] = {"hiss10", "fan10", "reverb", "babble10"}, *clean[] = {"clean"};
    for (int d = 0; d < 2; d++) {
        int k = -1;
        for (size_t i = 0; i < nds; i++)
            if (strcmp(ds[i].name, d ? "reference" : "pack") == 0) k = (int)i;
        for (int i = 0; i < 7; i++)
            v[d][i] = -1;
        if (k < 0) continue;
        v[d][0] = mean_acc(&cond_t[k], FLITE, clean, 1);
        v[d][1] = mean_acc(&cond_t[k], FLITE, rooms, 4);
        v[d][2] = mean_acc(&cond_t[k], ESPEAK, clean, 1);
        v[d][3] = mean_acc(&cond_t[k], ESPEAK, rooms, 4);
        v[d][4] = pc(ood_t[k][0].false_answer, ood_t[k][0].n);
        v[d][5] =
            pc(ood_t[k][1].false_answer + ood_t[k][2].false_answer, ood_t[k][1].n + ood_t[k][2].n);
        int cl = -1;
        for (size_t c = 0; c < nconds; c++)
            if (conds[c]->kind == ROOM_CLEAN) cl = (int)c;
        if (cl >= 0)
            v[d][6] = pc(cond_t[k][cl][0].rejected + cond_t[k][cl][1].rejected,
                         cond_t[k][cl][0].n + cond_t[k][cl][1].n);
    }
    char title[80];
    snprintf(title, sizeof title, "-- summary (%s questions)",
             getenv("BENCH_UNDERSTANDING_SET") ? getenv("BENCH_UNDERSTANDING_SET") : "heldout");
    printf("\n%-62s %6s  | %9s\n", title, "pack", "reference");
    summary_line("answer accuracy, clean, flite voices", v[0][0], v[1][0], "(target >= 95%)");
    summary_line("answer accuracy, mean of hiss10/fan10/reverb/babble10, flite", v[0][1], v[1][1],
                 "(target >= 85%)");
    summary_line("answer accuracy, clean, espeak-ng voices", v[0][2], v[1][2], "(reported)");
    summary_line("answer accuracy, mean of hiss10/fan10/reverb/babble10, espeak", v[0][3], v[1][3],
                 "(reported)");
    summary_line("false answers, out-of-domain human recordings", v[0][4], v[1][4],
                 "(target <= 5%)");
    summary_line("false answers, out-of-domain synthetic sentences", v[0][5], v[1][5],
                 "(reported)");
    summary_line("rejected or dropped, in-domain, clean", v[0][6], v[1][6], "(target <= 5%)");
}

static int parse_list(const char *env, const char **out, size_t max, char *buf, size_t buflen) {
    str_copy(buf, buflen, env);
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max;
         t = strtok_r(NULL, ",", &save))
        out[n++] = t;
    return (int)n;
}

int main(void) {
    /* quiet unless asked: BENCH_UNDERSTANDING_LOG=debug shows how each hearing was weighed */
    ax_log_level lvl = AX_LOG_WARN;
    const char *lv = getenv("BENCH_UNDERSTANDING_LOG");
    if (lv) log_parse_level(lv, &lvl);
    log_set_level(lvl);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t t_start = now_us();
    const char *root = axiom_root_dir();
    printf("== understanding: spoken questions in rooms, answered as the server answers them\n");
    if (access("/usr/share/pocketsphinx/model/en-us/en-us/mdef", R_OK) != 0) {
        printf("pocketsphinx-en-us not installed: skipped\n");
        return 0;
    }
    char which[1100];
    const char *need[] = {"sox", "espeak-ng"};
    for (int i = 0; i < 2; i++)
        if (!tool_which(need[i], which, sizeof which)) {
            fprintf(stderr,
                    "bench understanding: %s is not installed (not found in PATH); install the "
                    "Debian package '%s'\n",
                    need[i], need[i]);
            return 1;
        }
    const char *set =
        getenv("BENCH_UNDERSTANDING_SET") ? getenv("BENCH_UNDERSTANDING_SET") : "heldout";
    const char *which_data =
        getenv("BENCH_UNDERSTANDING_DATA") ? getenv("BENCH_UNDERSTANDING_DATA") : "both";
    size_t max =
        getenv("BENCH_UNDERSTANDING_MAX") ? (size_t)atol(getenv("BENCH_UNDERSTANDING_MAX")) : 0;
    const char *show = getenv("BENCH_UNDERSTANDING_SHOW");
    int show_misses = !show                         ? 0
                      : strcmp(show, "misses") == 0 ? 1
                      : strcmp(show, "all") == 0    ? 2
                                                    : 0;
    if (strcmp(set, "heldout") != 0 && strcmp(set, "dev") != 0) {
        fprintf(stderr,
                "bench understanding: BENCH_UNDERSTANDING_SET=%s: expected heldout or dev\n", set);
        return 2;
    }
    if (show_misses && strcmp(set, "dev") != 0) {
        fprintf(stderr, "bench understanding: per-question results are shown for the dev set only "
                        "(the held-out set is not for tuning)\n");
        show_misses = 0;
    }
    static char vbuf[1024], cbuf[1024];
    const char *venv = getenv("BENCH_UNDERSTANDING_VOICES");
    int full_matrix = venv && *venv;
    if (full_matrix) {
        nvoices = (size_t)parse_list(venv, voices, MAX_VOICES, vbuf, sizeof vbuf);
    } else {
        nvoices = sizeof default_voices / sizeof default_voices[0];
        memcpy(voices, default_voices, sizeof default_voices);
    }
    const char *cenv = getenv("BENCH_UNDERSTANDING_CONDITIONS");
    if (cenv && *cenv) {
        const char *names[MAX_CONDS];
        size_t nn = (size_t)parse_list(cenv, names, MAX_CONDS, cbuf, sizeof cbuf);
        for (size_t i = 0; i < nn; i++) {
            conds[nconds] = room_condition_find(names[i]);
            if (!conds[nconds]) {
                fprintf(stderr, "bench understanding: unknown condition '%s'; known:", names[i]);
                for (size_t k = 0; k < room_n_conditions; k++)
                    fprintf(stderr, " %s", room_conditions[k].name);
                fprintf(stderr, "\n");
                return 2;
            }
            nconds++;
        }
    } else {
        for (size_t i = 0; i < room_n_conditions && i < MAX_CONDS; i++)
            conds[nconds++] = &room_conditions[i];
    }

    dataset ds[2];
    memset(ds, 0, sizeof ds);
    size_t nds = 0;
    if (strcmp(which_data, "reference") != 0) {
        ds[nds].name = "pack";
        snprintf(ds[nds++].dir, sizeof ds[0].dir, "%s/data", root);
    }
    if (strcmp(which_data, "pack") != 0) {
        ds[nds].name = "reference";
        if (tu_shared_path("axiom-reference/data", ds[nds].dir, sizeof ds[0].dir))
            nds++;
        else
            printf("reference data folder %s absent: skipped\n", ds[nds].dir);
    }
    char set_dir[1200];
    snprintf(set_dir, sizeof set_dir, "%s/bench/data/understanding", root);
    int rc = 0;
    for (size_t d = 0; d < nds && rc == 0; d++)
        rc = dataset_open(&ds[d], set_dir, set, max);
    char err[512];
    if (rc == 0) {
        char cache[1024];
        config_cache_dir(ds[0].cfg, cache, sizeof cache);
        snprintf(audio_dir, sizeof audio_dir, "%s/bench-understanding", cache);
        mkdir(cache, 0755);
        mkdir(audio_dir, 0755);
        if (room_noise_load(&noise, audio_dir, err, sizeof err) != 0) {
            fprintf(stderr, "bench understanding: %s\n", err);
            rc = 1;
        }
    }
    if (rc != 0) {
        for (size_t d = 0; d < nds; d++)
            dataset_close(&ds[d]);
        return 1;
    }
    char human[10][600];
    const char *hp[10];
    size_t nh = 0;
    if (strcmp(set, "heldout") == 0) { /* the human test recordings are never tuned on */
        tu_shared_path("audio/jfk.wav", human[nh++], 600);
        tu_shared_path("audio/harvard_list72_8k.wav", human[nh++], 600);
        const char *ps[] = {"librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
                            "librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
                            "librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
                            "librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
                            "librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
                            "goforward.raw",
                            "numbers.raw",
                            "something.raw"};
        for (size_t i = 0; i < 8; i++)
            snprintf(human[nh++], 600, TESTDATA "/%s", ps[i]);
    }
    for (size_t i = 0; i < nh; i++)
        hp[i] = human[i];
    for (size_t d = 0; d < nds; d++)
        plan(&ds[d], full_matrix, hp, nh);
    printf("set %s; data:", set);
    for (size_t d = 0; d < nds; d++)
        printf(" %s (%zu questions, %zu off-topic)", ds[d].name, ds[d].qs.n, ds[d].ood.n);
    printf("; %zu voices, %zu conditions%s; %zu files; %d worker threads\n", nvoices, nconds,
           full_matrix ? " (every voice under every condition)"
                       : " (clean: every voice; others: one voice per question, flite and "
                         "espeak-ng taking turns)",
           njobs, WORKERS);
    printf("audio cache: %s (babble: %d real recordings, %.0f s)\n", audio_dir, noise.babble_files,
           (double)noise.n[ROOM_BABBLE] / ROOM_RATE);

    int64_t t_run = now_us();
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    int64_t t_end = now_us();
    report(ds, nds, show_misses);
    int64_t audio_ms = 0, proc_us = 0;
    int failed = 0;
    for (size_t i = 0; i < njobs; i++) {
        audio_ms += jobs[i].audio_ms;
        proc_us += jobs[i].proc_us;
        failed += jobs[i].failed;
    }
    printf("\ntime: %.0f s in all (setup %.0f s; %zu files, %d of them generated now, %.0f s of "
           "audio, "
           "answered at %.3f x real time per thread)%s\n",
           (t_end - t_start) / 1e6, (t_run - t_start) / 1e6, njobs, atomic_load(&gen_count),
           audio_ms / 1000.0, audio_ms ? proc_us / 1000.0 / audio_ms : 0.0,
           failed ? "; some files failed, see above" : "");
    for (size_t i = 0; i < njobs; i++) {
        free(jobs[i].transcript);
        free(jobs[i].heard);
        free(jobs[i].answer);
    }
    free(jobs);
    room_noise_free(&noise);
    for (size_t d = 0; d < nds; d++)
        dataset_close(&ds[d]);
    return failed ? 1 : 0;
}
