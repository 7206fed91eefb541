/* The per-turn arena: bounded, aligned, reset releases everything (also after a
 * refused allocation), and a turn that stays small allocates nothing after the first. */
#include "check.h"
#include "core/arena.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void test_alloc_aligned_and_strings(void) {
    arena *a = arena_new(64 * 1024);
    CHECK(a != NULL);
    for (int i = 1; i < 200; i++) {
        void *p = arena_alloc(a, (size_t)i);
        CHECK(p != NULL);
        CHECK_EQ_INT((uintptr_t)p % alignof(max_align_t), 0);
        memset(p, 0xAB, (size_t)i);
    }
    char *s = arena_strdup(a, "where is the lidar?");
    CHECK_STR(s, "where is the lidar?");
    CHECK_STR(arena_strndup(a, "robot arm", 5), "robot");
    CHECK_STR(arena_printf(a, "%s has %d joints", "UR5", 6), "UR5 has 6 joints");
    int *z = arena_calloc(a, 100, sizeof *z);
    CHECK(z && z[0] == 0 && z[99] == 0);
    CHECK(arena_used(a) > 0 && arena_used(a) <= arena_reserved(a));
    CHECK(!arena_failed(a));
    arena_free(a);
}

static void test_cap_is_never_exceeded(void) {
    arena *a = arena_new(16 * 1024);
    size_t got = 0;
    while (arena_alloc(a, 1000)) got += 1000;
    CHECK(arena_failed(a));
    CHECK(got >= 8 * 1000);
    CHECK(arena_reserved(a) <= 16 * 1024);
    CHECK(arena_peak(a) <= arena_cap(a));
    CHECK(arena_alloc(a, 1u << 30) == NULL);     /* far over the cap */
    CHECK(arena_calloc(a, SIZE_MAX / 2, 4) == NULL); /* overflow */
    CHECK(arena_alloc(a, SIZE_MAX) == NULL);
    arena_reset(a);
    CHECK(!arena_failed(a));
    CHECK_EQ_INT(arena_used(a), 0);
    CHECK(arena_alloc(a, 1000) != NULL); /* usable again after the refusal */
    arena_free(a);
}

static void test_reset_keeps_first_block(void) {
    arena *a = arena_new(0);
    CHECK_EQ_INT(arena_cap(a), 1 << 20);
    CHECK_EQ_INT(arena_reserved(a), 0); /* unused arena costs nothing */
    for (int turn = 0; turn < 50; turn++) {
        for (int i = 0; i < 40; i++) CHECK(arena_alloc(a, 100) != NULL);
        arena_reset(a);
    }
    CHECK_EQ_INT(arena_reserved(a), 4096);
    /* A big turn grows, reset shrinks back to the first block. */
    for (int i = 0; i < 100; i++) CHECK(arena_alloc(a, 5000) != NULL);
    CHECK(arena_reserved(a) > 4096);
    arena_reset(a);
    CHECK_EQ_INT(arena_reserved(a), 4096);
    CHECK(arena_peak(a) >= 500000);
    arena_free(a);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_alloc_aligned_and_strings);
    RUN(test_cap_is_never_exceeded);
    RUN(test_reset_keeps_first_block);
    return CHECK_DONE(argv[0]);
}
