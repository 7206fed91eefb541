/* Synthesised answer audio, kept for answers that repeat (template answers do):
 * a second student asking the same question hears it without waiting for synthesis.
 * Keyed by the exact sentence text and sample rate; bounded in bytes, least recently
 * used out first; the memory governor may empty it at its warn level. Thread-safe. */
#ifndef AXIOM_AUDIO_CACHE_H
#define AXIOM_AUDIO_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct audio_cache audio_cache;

/* max_bytes 0 disables the cache (every lookup misses, nothing is stored). */
audio_cache *audio_cache_new(size_t max_bytes);
void audio_cache_free(audio_cache *c);

/* Copies the audio for (text, rate) into a new buffer (*pcm, caller frees) and
 * returns 1, or returns 0 on a miss. */
int audio_cache_get(audio_cache *c, const char *text, int rate, int16_t **pcm, size_t *n);
/* Stores a copy (ignored when larger than a quarter of the cache). */
void audio_cache_put(audio_cache *c, const char *text, int rate, const int16_t *pcm, size_t n);
/* Empties it; returns the bytes released (for the governor). */
int64_t audio_cache_drop(void *cache);
void audio_cache_stats(audio_cache *c, size_t *bytes, size_t *entries, int64_t *hits,
                       int64_t *misses);

#endif
