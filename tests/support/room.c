/* Room conditions: see room.h. */
#include "room.h"

#include "core/util.h"
#include "speech/wav.h"
#include "testutil.h"
#include "voices.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME (ROOM_RATE / 50) /* 20 ms */
#define ACTIVE_RANGE_DB 40.0
#define TALK_RANGE_DB 15.0
#define NOISE_SECONDS "60"
#define TESTDATA "/usr/share/pocketsphinx/test/data"

/* Reverb: a medium room (sox reverberance 40 of 100); rate and pitch keep the other
 * one fixed (tempo changes speed only; pitch +-10% = +165 / -182 cents). */
const room_condition room_conditions[] = {
    {"clean", ROOM_CLEAN, 0, 0, NULL, 0},
    {"babble15", ROOM_MIX, ROOM_BABBLE, 15, NULL, 0},
    {"babble10", ROOM_MIX, ROOM_BABBLE, 10, NULL, 0},
    {"babble5", ROOM_MIX, ROOM_BABBLE, 5, NULL, 0},
    {"hiss10", ROOM_MIX, ROOM_WHITE, 10, NULL, 0},
    {"fan10", ROOM_MIX, ROOM_FAN, 10, NULL, 0},
    {"reverb", ROOM_SOX, 0, 0, "reverb 40", 0},
    {"fast10", ROOM_SOX, 0, 0, "tempo 1.1", 0},
    {"slow10", ROOM_SOX, 0, 0, "tempo 0.9", 0},
    {"pitchup10", ROOM_SOX, 0, 0, "pitch 165", 0},
    {"pitchdown10", ROOM_SOX, 0, 0, "pitch -182", 0},
    {"tel8k", ROOM_SOX, 0, 0, "sinc 300-3400 rate 8000", 8000},
    {"gain+12", ROOM_SOX, 0, 0, "gain 12", 0},
    {"gain-12", ROOM_SOX, 0, 0, "gain -12", 0},
};
const size_t room_n_conditions = sizeof room_conditions / sizeof room_conditions[0];

const room_condition *room_condition_find(const char *name) {
    for (size_t i = 0; i < room_n_conditions; i++)
        if (strcmp(room_conditions[i].name, name) == 0) return &room_conditions[i];
    return NULL;
}

uint64_t room_hash(uint64_t h, const char *s) {
    static const unsigned char sep = 0xff; /* a separator, so ("ab","c") != ("a","bc") */
    return fnv1a64(fnv1a64_str(h, s), &sep, 1);
}

static double frame_power(const int16_t *p, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)p[i] * p[i];
    return n ? s / n : 0;
}

/* Active frames: within ACTIVE_RANGE_DB of the loudest. */
static double active_power(const int16_t *pcm, size_t n, double *active_share) {
    size_t nf = n / FRAME;
    if (active_share) *active_share = 0;
    if (nf == 0) return frame_power(pcm, n);
    double max = 0;
    for (size_t f = 0; f < nf; f++) {
        double p = frame_power(pcm + f * FRAME, FRAME);
        if (p > max) max = p;
    }
    if (max <= 0) return 0;
    double floor = max * pow(10, -ACTIVE_RANGE_DB / 10), sum = 0;
    size_t na = 0;
    for (size_t f = 0; f < nf; f++) {
        double p = frame_power(pcm + f * FRAME, FRAME);
        if (p >= floor) sum += p, na++;
    }
    if (active_share) *active_share = (double)na / (double)nf;
    return na ? sum / (double)na : 0;
}

double room_active_level_db(const int16_t *pcm, size_t n) {
    double p = active_power(pcm, n, NULL);
    return p > 0 ? 10 * log10(p / (32768.0 * 32768.0)) : -200;
}

int room_mix(const int16_t *speech, size_t ns, const int16_t *noise, size_t nn, size_t pad,
             double snr_db, int16_t **out, size_t *nout) {
    size_t total = ns + 2 * pad;
    *out = NULL;
    *nout = 0;
    if (nn < total) return -1;
    int16_t *o = malloc(total * sizeof *o);
    if (!o) return -1;
    double ls = room_active_level_db(speech, ns), ln = room_active_level_db(noise, total);
    double g = ln > -200 ? pow(10, (ls - ln - snr_db) / 20) : 0;
    for (size_t i = 0; i < total; i++) {
        double v = noise[i] * g;
        if (i >= pad && i < pad + ns) v += speech[i - pad];
        o[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
    }
    *out = o;
    *nout = total;
    return 0;
}

/* Share of the frames of pcm at or above power floor. */
static double share_above(const int16_t *pcm, size_t n, double floor) {
    size_t nf = n / FRAME, k = 0;
    for (size_t f = 0; f < nf; f++)
        k += frame_power(pcm + f * FRAME, FRAME) >= floor;
    return nf ? (double)k / (double)nf : 0;
}

size_t room_pick_segment(const int16_t *pool, size_t npool, size_t len, size_t lead,
                         uint64_t seed) {
    if (npool <= len) return 0;
    /* Talking: within TALK_RANGE_DB of the pool's active level, so a pause (or a
     * quiet stretch) does not count however quiet the rest of the segment is. */
    double floor = active_power(pool, npool, NULL) * pow(10, -TALK_RANGE_DB / 10);
    if (lead > len / 2) lead = len / 2;
    size_t span = npool - len, first = (size_t)(seed % span);
    for (int k = 0; k < 64; k++) {
        size_t off = (first + (size_t)k * (span / 64 + 1)) % span;
        if (share_above(pool + off, len, floor) >= 0.5 &&
            (!lead || (share_above(pool + off, lead, floor) >= 0.3 &&
                       share_above(pool + off + len - lead, lead, floor) >= 0.3)))
            return off;
    }
    return first;
}

int room_read(const char *path, int16_t **pcm, size_t *n, char *err, size_t errlen) {
    *pcm = NULL;
    *n = 0;
    size_t plen = strlen(path);
    if (plen < 4 || strcmp(path + plen - 4, ".raw") != 0)
        return wav_read_all(path, ROOM_RATE, 600, pcm, n, err, errlen);
    /* headerless 16 kHz s16 little-endian, as pocketsphinx-testdata ships them */
    size_t len;
    char *bytes = file_read_all(path, 64 << 20, &len, err, errlen);
    if (!bytes) return -1;
    *pcm = malloc(len + 2);
    if (*pcm) memcpy(*pcm, bytes, len);
    free(bytes);
    if (!*pcm) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *n = len / 2;
    return 0;
}

static int append_file(int16_t **pool, size_t *n, const char *path, char *err, size_t errlen) {
    int16_t *pcm = NULL;
    size_t k = 0;
    if (room_read(path, &pcm, &k, err, errlen) != 0) return -1;
    int16_t *np = realloc(*pool, (*n + k) * sizeof *np + 1);
    if (!np) {
        free(pcm);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(np + *n, pcm, k * sizeof *np);
    *pool = np;
    *n += k;
    free(pcm);
    return 0;
}

/* sox -R: repeatable noise, the same file on every run. */
static int make_noise(const char *dir, const char *name, char *const *synth, int16_t **pcm,
                      size_t *n, char *err, size_t errlen) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.wav", dir, name);
    if (access(path, R_OK) != 0) {
        char tmp[1300];
        snprintf(tmp, sizeof tmp, "%s.%d.tmp.wav", path, (int)getpid());
        char *argv[24] = {"sox", "-V1", "-R", "-n", "-r", "16000", "-b", "16", "-c", "1", tmp};
        int a = 11;
        for (int i = 0; synth[i] && a < 23; i++)
            argv[a++] = synth[i];
        argv[a] = NULL;
        if (tool_run(argv) != 0 || rename(tmp, path) != 0) {
            snprintf(err, errlen, "sox could not make the %s noise (is sox installed?)", name);
            unlink(tmp);
            return -1;
        }
    }
    return wav_read_all(path, ROOM_RATE, 600, pcm, n, err, errlen);
}

int room_noise_load(room_noise *rn, const char *dir, char *err, size_t errlen) {
    memset(rn, 0, sizeof *rn);
    char shared[1200];
    if (!tu_shared_path("audio/silero_test_60s.wav", shared, sizeof shared)) {
        snprintf(err, errlen, "%s is absent (the babble talkers; set AXIOM_SHARED_DIR)", shared);
        return -1;
    }
    const char *talkers[] = {shared,
                             TESTDATA "/cards/001.wav",
                             TESTDATA "/cards/002.wav",
                             TESTDATA "/cards/003.wav",
                             TESTDATA "/cards/004.wav",
                             TESTDATA "/cards/005.wav",
                             TESTDATA "/tidigits/dhd.2934z.raw"};
    for (size_t i = 0; i < sizeof talkers / sizeof talkers[0]; i++) {
        if (append_file(&rn->pcm[ROOM_BABBLE], &rn->n[ROOM_BABBLE], talkers[i], err, errlen) != 0) {
            room_noise_free(rn);
            return -1;
        }
        rn->babble_files++;
    }
    char *white[] = {"synth", NOISE_SECONDS, "whitenoise", NULL};
    char *brown[] = {"synth", NOISE_SECONDS, "brownnoise", NULL};
    char *hum[] = {"synth", NOISE_SECONDS, "sine", "100", NULL};
    int16_t *b = NULL, *h = NULL;
    size_t nb = 0, nh = 0;
    int rc = make_noise(dir, "noise-white", white, &rn->pcm[ROOM_WHITE], &rn->n[ROOM_WHITE], err,
                        errlen);
    if (rc == 0) rc = make_noise(dir, "noise-brown", brown, &b, &nb, err, errlen);
    if (rc == 0) rc = make_noise(dir, "noise-hum", hum, &h, &nh, err, errlen);
    if (rc == 0) {
        /* A fan: the rumble of brown noise with a hum 15 dB under it. */
        size_t n = nb < nh ? nb : nh;
        double lb = room_active_level_db(b, n), lh = room_active_level_db(h, n);
        double g = pow(10, (lb - lh - 15) / 20);
        rn->pcm[ROOM_FAN] = malloc(n * sizeof(int16_t) + 1);
        if (!rn->pcm[ROOM_FAN]) rc = -1;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            double v = b[i] + g * h[i];
            rn->pcm[ROOM_FAN][i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        rn->n[ROOM_FAN] = n;
    }
    free(b);
    free(h);
    if (rc != 0) room_noise_free(rn);
    return rc;
}

void room_noise_free(room_noise *rn) {
    for (int i = 0; i < ROOM_NOISES; i++)
        free(rn->pcm[i]);
    memset(rn, 0, sizeof *rn);
}

static int run_sox(const char *effect, int out_rate, const char *in, const char *out) {
    char *argv[32] = {"sox", "-V1", "-R", (char *)in};
    int a = 4;
    char rate[16];
    if (out_rate) {
        snprintf(rate, sizeof rate, "%d", out_rate);
        argv[a++] = "-r";
        argv[a++] = rate;
    }
    argv[a++] = (char *)out;
    char fx[256];
    str_copy(fx, sizeof fx, effect);
    for (char *save = NULL, *t = strtok_r(fx, " ", &save); t && a < 31;
         t = strtok_r(NULL, " ", &save))
        argv[a++] = t;
    argv[a] = NULL;
    return tool_run(argv);
}

int room_render(const room_condition *c, const room_noise *rn, const int16_t *clean, size_t n,
                uint64_t seed, const char *tmp_dir, const char *out_path, char *err,
                size_t errlen) {
    static atomic_uint seq;
    size_t pad = (size_t)ROOM_RATE * ROOM_PAD_MS / 1000, total = n + 2 * pad;
    int16_t *buf = NULL;
    size_t nbuf = 0;
    if (c->kind == ROOM_MIX) {
        const int16_t *pool = rn->pcm[c->noise];
        size_t np = rn->n[c->noise];
        if (np < total) {
            snprintf(err, errlen, "%s: the background material is shorter than the question",
                     c->name);
            return -1;
        }
        size_t off = room_pick_segment(pool, np, total, pad, seed);
        if (room_mix(clean, n, pool + off, np - off, pad, c->snr_db, &buf, &nbuf) != 0) {
            snprintf(err, errlen, "%s: out of memory", c->name);
            return -1;
        }
    } else {
        buf = calloc(total, sizeof *buf);
        if (!buf) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(buf + pad, clean, n * sizeof *buf);
        nbuf = total;
    }
    char tmp_out[1300];
    snprintf(tmp_out, sizeof tmp_out, "%s.%d.%u.tmp.wav", out_path, (int)getpid(),
             atomic_fetch_add(&seq, 1));
    int rc;
    if (c->kind != ROOM_SOX) {
        rc = wav_write_file(tmp_out, buf, nbuf, ROOM_RATE, err, errlen);
    } else {
        char in[1300];
        snprintf(in, sizeof in, "%s/room-in-%d-%u.wav", tmp_dir, (int)getpid(),
                 atomic_fetch_add(&seq, 1));
        rc = wav_write_file(in, buf, nbuf, ROOM_RATE, err, errlen);
        if (rc == 0 && run_sox(c->effect, c->out_rate, in, tmp_out) != 0) {
            snprintf(err, errlen, "%s: sox %s failed (is sox installed?)", c->name, c->effect);
            rc = -1;
        }
        unlink(in);
    }
    free(buf);
    if (rc == 0 && rename(tmp_out, out_path) != 0) {
        snprintf(err, errlen, "cannot write %s", out_path);
        rc = -1;
    }
    if (rc != 0) unlink(tmp_out);
    return rc;
}
