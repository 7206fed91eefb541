/* The one FNV-1a hash: the published test vectors, and hashing a key part by part
 * gives the same value as hashing it whole (cache keys and file checksums rely on
 * both, so a change here would silently orphan what is stored under them). */
#include "check.h"
#include "core/util.h"

#include <stdint.h>
#include <string.h>

static void test_fnv1a64_vectors(void) {
    CHECK(fnv1a64(FNV1A64_INIT, "", 0) == 0xcbf29ce484222325ULL);
    CHECK(fnv1a64_str(FNV1A64_INIT, "a") == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a64_str(FNV1A64_INIT, "foobar") == 0x85944171f73967e8ULL);
    CHECK(fnv1a64(FNV1A64_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
}

static void test_fnv1a64_continues(void) {
    const char *whole = "where is the lidar?";
    uint64_t h = fnv1a64_str(FNV1A64_INIT, "where is");
    h = fnv1a64(h, " the lidar?", strlen(" the lidar?"));
    CHECK(h == fnv1a64_str(FNV1A64_INIT, whole));
    /* The terminator is not hashed by the _str form; bytes past it are by the other. */
    CHECK(fnv1a64(FNV1A64_INIT, "ab", 3) != fnv1a64_str(FNV1A64_INIT, "ab"));
    /* High bytes are unsigned: 0xff must not sign-extend into the state. */
    CHECK(fnv1a64_str(FNV1A64_INIT, "\xff") == ((FNV1A64_INIT ^ 0xffULL) * 0x100000001b3ULL));
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_fnv1a64_vectors);
    RUN(test_fnv1a64_continues);
    return CHECK_DONE(argv[0]);
}
