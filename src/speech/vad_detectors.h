/* The two detectors behind vad.h, private to the VAD. vad.c owns the per-stream state
 * machine (minimum speech, trailing silence, pre-roll, events); the detectors only
 * say, span by span, whether audio is speech. */
#ifndef AXIOM_VAD_DETECTORS_H
#define AXIOM_VAD_DETECTORS_H

#include <stddef.h>
#include <stdint.h>

/* ---- energy (vad_energy.c) ---- */

#define VAD_HOP 160 /* 10 ms at 16 kHz: the energy detector's frame */

/* Frames quieter than this (dBFS) are never speech, whatever the floor. */
#define VAD_ENERGY_MIN_DB (-50.0f)

/* The floor is the minimum level over this many 10 ms frames (1.2 s). */
#define VAD_FLOOR_FRAMES 120

typedef struct {
    float level[VAD_FLOOR_FRAMES]; /* recent frame levels (ring) */
    int n, at;
} vad_energy;

void vad_energy_init(vad_energy *e);
/* Level of one frame in dBFS (DC removed); -100 for digital silence. */
float vad_energy_frame_db(const int16_t *x, size_t n);
/* Feeds one frame's level; returns how far it is above the noise floor (dB). */
float vad_energy_update(vad_energy *e, float db);

/* ---- Silero through sherpa-onnx (vad_silero.c) ---- */

#define VAD_SILERO_WINDOW 512 /* samples per decision; required by Silero v5 at 16 kHz */

typedef struct vad_silero_pool vad_silero_pool;
typedef struct vad_silero vad_silero;

/* Checks the model file, opens the sherpa-onnx library, proves the model loads (in a
 * child process: sherpa-onnx exits the process on a model it does not understand)
 * and creates the first detector. Returns NULL with err naming the file and fix. */
vad_silero_pool *vad_silero_pool_new(const char *model, float threshold, int size, char *err,
                                     size_t errlen);
/* Every detector must have been given back. */
void vad_silero_pool_free(vad_silero_pool *p);
/* A reset detector, or NULL when all size detectors are out (or creating one failed). */
vad_silero *vad_silero_take(vad_silero_pool *p);
void vad_silero_give(vad_silero_pool *p, vad_silero *d);
void vad_silero_pool_counts(vad_silero_pool *p, int *created, int *in_use);

/* Feeds VAD_SILERO_WINDOW samples in [-1, 1]. Returns 1 when sherpa's detector is in
 * speech after them, else 0. The decision lags the input: see vad.c. */
int vad_silero_window(vad_silero *d, const float *x);

#endif
