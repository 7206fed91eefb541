/* Rooms for the understanding benchmark: what a question sounds like by the time it
 * reaches the microphone. Each condition starts from the clean question with
 * ROOM_PAD_MS of room on either side (silence when clean), then
 *   mix  another person talking (babble: real human recordings, never the
 *        out-of-domain test recordings), hiss (white noise) or a fan (brown noise and a
 *        low hum), each at an SNR between the question's active speech level and the
 *        noise's, over the whole padded span: the background starts before the
 *        question and goes on after it;
 *   sox  reverb, speaking rate and pitch +-10%, the 8 kHz telephone band, gain +-12 dB.
 * Noises are made with sox in repeatable mode and background segments are chosen from
 * a seed, so the same inputs always give the same file. */
#ifndef AXIOM_TEST_ROOM_H
#define AXIOM_TEST_ROOM_H

#include <stddef.h>
#include <stdint.h>

#define ROOM_PAD_MS 600
#define ROOM_RATE 16000
/* Changes whenever any condition would produce different audio (cache key). */
#define ROOM_VERSION "room-2"

typedef enum { ROOM_CLEAN = 0, ROOM_MIX, ROOM_SOX } room_kind;
typedef enum { ROOM_BABBLE = 0, ROOM_WHITE, ROOM_FAN, ROOM_NOISES } room_noise_kind;

typedef struct {
    const char *name; /* "clean", "babble10", "reverb", ... */
    room_kind kind;
    room_noise_kind noise; /* ROOM_MIX */
    double snr_db;         /* ROOM_MIX */
    const char *effect;    /* ROOM_SOX: sox effects, space-separated */
    int out_rate;          /* ROOM_SOX: rate of the file written (0 = ROOM_RATE) */
} room_condition;

extern const room_condition room_conditions[];
extern const size_t room_n_conditions;
const room_condition *room_condition_find(const char *name);

/* The background material at ROOM_RATE (owned). */
typedef struct {
    int16_t *pcm[ROOM_NOISES];
    size_t n[ROOM_NOISES];
    int babble_files; /* recordings in the babble pool */
} room_noise;

/* Reads the babble talkers (../shared/audio/silero_test_60s.wav, pocketsphinx-testdata's
 * cards and tidigits recordings) and makes the noises with sox in dir (kept there).
 * Returns 0, or -1 with err naming what is missing. */
int room_noise_load(room_noise *rn, const char *dir, char *err, size_t errlen);
void room_noise_free(room_noise *rn);

/* Any WAV (resampled to ROOM_RATE), or a headerless 16 kHz s16 ".raw" file, into a new
 * buffer. Returns 0 or -1 with err. */
int room_read(const char *path, int16_t **pcm, size_t *n, char *err, size_t errlen);

/* Active speech level in dB full scale: the mean power of the 20 ms frames within
 * 40 dB of the loudest frame (the pauses of a talker do not dilute it). -200 for
 * silence. */
double room_active_level_db(const int16_t *pcm, size_t n);

/* out = pad samples of nothing + speech + pad samples, with noise[0 .. ns + 2 pad)
 * added at snr_db below the speech's active level (clipped to 16 bits). Returns 0,
 * or -1 (nn too short, out of memory). The caller frees *out. */
int room_mix(const int16_t *speech, size_t ns, const int16_t *noise, size_t nn, size_t pad,
             double snr_db, int16_t **out, size_t *nout);

/* Start of a len-sample segment of pool where someone is talking: at least half its
 * 20 ms frames within 15 dB of the pool's active level, and a third of the first and
 * of the last lead samples (the background is heard before and after the question).
 * Chosen from seed; falls back to the seed's offset when no segment qualifies. */
size_t room_pick_segment(const int16_t *pool, size_t npool, size_t len, size_t lead, uint64_t seed);

/* The clean question under condition c, written to out_path as a WAV file. seed
 * chooses the background segment; tmp_dir holds sox's input for a moment. Returns 0,
 * or -1 with err. */
int room_render(const room_condition *c, const room_noise *rn, const int16_t *clean, size_t n,
                uint64_t seed, const char *tmp_dir, const char *out_path, char *err, size_t errlen);

/* FNV-1a 64 of s and a separator byte, continuing from h (start with ROOM_HASH_INIT:
 * not FNV's offset basis, but it names the cached renderings and seeds their noise,
 * so it stays). */
#define ROOM_HASH_INIT 1469598103934665603ULL
uint64_t room_hash(uint64_t h, const char *s);

#endif
