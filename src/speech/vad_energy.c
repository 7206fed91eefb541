/* The energy detector: frame level in dBFS against the noise floor.
 *
 * The floor is the quietest 10 ms frame of the last VAD_FLOOR_FRAMES frames (minimum
 * statistics). Speech always has quiet moments between syllables, so the minimum
 * stays on the background while someone talks, and when the background changes
 * (a microphone opening after digital silence, a fan starting) the floor follows
 * within one window. A frame is speech when it is vad.energy_margin_db above the
 * floor and louder than VAD_ENERGY_MIN_DB; the gate in vad.c uses a smaller margin
 * to catch onsets early. A few operations per sample: every stream runs it always. */
#include "speech/vad_detectors.h"

#include <math.h>

void vad_energy_init(vad_energy *e) {
    e->n = 0;
    e->at = 0;
}

float vad_energy_frame_db(const int16_t *x, size_t n) {
    if (n == 0) return -100.0f;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        sq += d * d;
    }
    double rms = sqrt(sq / (double)n) / 32768.0;
    if (rms < 1e-5) return -100.0f;
    return (float)(20.0 * log10(rms));
}

float vad_energy_update(vad_energy *e, float db) {
    e->level[e->at] = db;
    e->at = (e->at + 1) % VAD_FLOOR_FRAMES;
    if (e->n < VAD_FLOOR_FRAMES) e->n++;
    float floor_db = db;
    for (int i = 0; i < e->n; i++)
        if (e->level[i] < floor_db) floor_db = e->level[i];
    return db - floor_db;
}
