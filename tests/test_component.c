/* The component interface: lazy load, pinning, measured memory, idle unload,
 * refusal and injected failures. The component here holds a real 32 MiB buffer that
 * is touched page by page, so the measured RSS delta must see it. */
#include "check.h"
#include "core/component.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BLOB (32u << 20)

typedef struct {
    char *mem;
    int loads, unloads;
    int fail;
} blob;

static int blob_load(void *ctx, char *err, size_t errlen) {
    blob *b = ctx;
    if (b->fail) {
        snprintf(err, errlen, "model file /x/y.bin is missing");
        return -1;
    }
    b->mem = mmap(NULL, BLOB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->mem == MAP_FAILED) return -1;
    memset(b->mem, 1, BLOB);
    b->loads++;
    return 0;
}

static void blob_unload(void *ctx) {
    blob *b = ctx;
    munmap(b->mem, BLOB);
    b->mem = NULL;
    b->unloads++;
}

static axiom_component *make(blob *b, int64_t idle_ms) {
    component_desc d = {.name = "blob",
                        .load_order = 10,
                        .load = blob_load,
                        .unload = blob_unload,
                        .ctx = b,
                        .idle_unload_ms = idle_ms};
    return component_new(&d);
}

static void test_lazy_load_and_measure(void) {
    blob b = {0};
    axiom_component *c = make(&b, 0);
    char err[256];
    CHECK(!component_is_loaded(c));
    CHECK_EQ_INT(b.loads, 0);
    CHECK(component_acquire(c, err, sizeof err) == 0);
    CHECK(component_is_loaded(c));
    component_info info;
    component_get_info(c, &info);
    CHECK_MSG(info.resident_bytes >= (int64_t)BLOB * 9 / 10, "measured %lld",
              (long long)info.resident_bytes);
    CHECK(info.last_used_ms > 0);
    CHECK_EQ_INT(info.in_use, 1);
    /* In use: not unloaded. */
    CHECK(component_unload(c) == -1);
    component_release(c);
    CHECK(component_acquire(c, err, sizeof err) == 0);
    CHECK_EQ_INT(b.loads, 1); /* second acquire reuses */
    component_release(c);
    int64_t drop = component_unload(c);
    CHECK_MSG(drop >= (int64_t)BLOB * 9 / 10, "drop %lld", (long long)drop);
    CHECK(!component_is_loaded(c));
    component_free(c);
}

static void test_idle_unload(void) {
    blob b = {0};
    axiom_component *c = make(&b, 50);
    char err[256];
    CHECK(component_acquire(c, err, sizeof err) == 0);
    component_release(c);
    CHECK(component_unload_if_idle(c, now_ms()) == -1); /* not idle long enough */
    CHECK(component_unload_if_idle(c, now_ms() + 60) >= 0);
    CHECK(!component_is_loaded(c));
    CHECK(component_acquire(c, err, sizeof err) == 0); /* reloads on next use */
    CHECK_EQ_INT(b.loads, 2);
    component_release(c);
    component_free(c);
    CHECK_EQ_INT(b.unloads, 2);
}

static void test_failures_and_refusal(void) {
    blob b = {.fail = 1};
    axiom_component *c = make(&b, 0);
    char err[256];
    CHECK(component_acquire(c, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "/x/y.bin is missing");
    component_info info;
    component_get_info(c, &info);
    CHECK_EQ_INT(info.fail_count, 1);
    CHECK_CONTAINS(info.last_error, "missing");
    b.fail = 0;
    component_set_refused(c, 1, "memory is critical");
    CHECK(component_acquire(c, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "memory is critical");
    component_set_refused(c, 0, NULL);
    setenv("AXIOM_FAIL_LOAD", "other,blob", 1);
    CHECK(component_load(c, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "AXIOM_FAIL_LOAD");
    unsetenv("AXIOM_FAIL_LOAD");
    CHECK(component_load(c, err, sizeof err) == 0);
    component_free(c);
}

/* Loads are serialised by one process-wide lock that is not recursive: a load that
 * starts another component's load is refused with a message (no deadlock, and no
 * memory counted twice), and the lock is free again afterwards. */
static int inner_load(void *ctx, char *err, size_t errlen) {
    (void)ctx, (void)err, (void)errlen;
    return 0;
}
static void inner_unload(void *ctx) {
    (void)ctx;
}
static int outer_load(void *ctx, char *err, size_t errlen) {
    return component_acquire((axiom_component *)ctx, err, errlen);
}

static void test_nested_load(void) {
    component_desc di = {
        .name = "index", .load_order = 10, .load = inner_load, .unload = inner_unload};
    axiom_component *inner = component_new(&di);
    component_desc dout = {
        .name = "stt", .load_order = 30, .load = outer_load, .unload = inner_unload, .ctx = inner};
    axiom_component *outer = component_new(&dout);
    char err[256] = "";
    CHECK(component_acquire(outer, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "inside another component's load");
    CHECK(!component_is_loaded(inner) && !component_is_loaded(outer));
    component_info ii;
    component_get_info(inner, &ii);
    CHECK_EQ_INT(ii.fail_count, 1);
    CHECK_CONTAINS(ii.last_error, "inside another component's load");
    CHECK_EQ_INT(component_load(inner, err, sizeof err), 0); /* the lock was released */
    CHECK(component_is_loaded(inner));
    component_unload(inner);
    CHECK(!component_is_loaded(inner));
    component_free(outer);
    component_free(inner);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_lazy_load_and_measure);
    RUN(test_idle_unload);
    RUN(test_failures_and_refusal);
    RUN(test_nested_load);
    return CHECK_DONE(argv[0]);
}
