/* The answer-audio cache: exact-key hits, separate rates, least-recently-used
 * eviction within the byte bound, oversized entries refused, drop for the governor,
 * and concurrent use. */
#include "check.h"
#include "voice/audio_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void test_get_put_and_rates(void) {
    audio_cache *c = audio_cache_new(1 << 20);
    int16_t pcm[100];
    for (int i = 0; i < 100; i++)
        pcm[i] = (int16_t)(i * 7);
    int16_t *out = NULL;
    size_t n = 0;
    CHECK_EQ_INT(audio_cache_get(c, "Hello there.", 16000, &out, &n), 0);
    audio_cache_put(c, "Hello there.", 16000, pcm, 100);
    CHECK_EQ_INT(audio_cache_get(c, "Hello there.", 16000, &out, &n), 1);
    CHECK_EQ_INT(n, 100);
    CHECK(out && memcmp(out, pcm, sizeof pcm) == 0);
    free(out);
    CHECK_EQ_INT(audio_cache_get(c, "Hello there.", 22050, &out, &n), 0);
    CHECK_EQ_INT(audio_cache_get(c, "Hello there", 16000, &out, &n), 0);
    size_t bytes, entries;
    int64_t hits, misses;
    audio_cache_stats(c, &bytes, &entries, &hits, &misses);
    CHECK_EQ_INT(entries, 1);
    CHECK_EQ_INT(hits, 1);
    CHECK_EQ_INT(misses, 3);
    CHECK(audio_cache_drop(c) >= (int64_t)sizeof pcm);
    CHECK_EQ_INT(audio_cache_get(c, "Hello there.", 16000, &out, &n), 0);
    audio_cache_free(c);
}

static void test_lru_bound(void) {
    static int16_t pcm[8000]; /* 16 KB each */
    audio_cache *c = audio_cache_new(100 * 1024);
    char key[32];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "sentence %d", i);
        audio_cache_put(c, key, 16000, pcm, 8000);
        if (i == 5) { /* touch 0 so it stays recent */
            int16_t *o;
            size_t n;
            CHECK_EQ_INT(audio_cache_get(c, "sentence 0", 16000, &o, &n), 1);
            free(o);
        }
    }
    size_t bytes, entries;
    int64_t hits, misses;
    audio_cache_stats(c, &bytes, &entries, &hits, &misses);
    CHECK(bytes <= 100 * 1024);
    CHECK(entries >= 4 && entries <= 6);
    int16_t *o = NULL;
    size_t n;
    CHECK_EQ_INT(audio_cache_get(c, "sentence 19", 16000, &o, &n), 1);
    free(o);
    CHECK_EQ_INT(audio_cache_get(c, "sentence 1", 16000, &o, &n), 0);
    static int16_t huge[40000]; /* more than a quarter of the cache: not stored */
    audio_cache_put(c, "huge", 16000, huge, 40000);
    CHECK_EQ_INT(audio_cache_get(c, "huge", 16000, &o, &n), 0);
    audio_cache_free(c);
    audio_cache *off = audio_cache_new(0);
    audio_cache_put(off, "x", 16000, pcm, 10);
    CHECK_EQ_INT(audio_cache_get(off, "x", 16000, &o, &n), 0);
    audio_cache_free(off);
}

static audio_cache *shared;

static void *hammer(void *arg) {
    int id = (int)(intptr_t)arg;
    int16_t pcm[256] = {0};
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", (i * 7 + id) % 50);
        int16_t *o;
        size_t n;
        if (audio_cache_get(shared, key, 16000, &o, &n))
            free(o);
        else
            audio_cache_put(shared, key, 16000, pcm, 256);
        if (i % 500 == 0) audio_cache_drop(shared);
    }
    return NULL;
}

static void test_threads(void) {
    shared = audio_cache_new(64 * 1024);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    size_t bytes, entries;
    int64_t hits, misses;
    audio_cache_stats(shared, &bytes, &entries, &hits, &misses);
    CHECK(bytes <= 64 * 1024);
    CHECK_EQ_INT(hits + misses, 8000);
    audio_cache_free(shared);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_get_put_and_rates);
    RUN(test_lru_bound);
    RUN(test_threads);
    return CHECK_DONE(argv[0]);
}
