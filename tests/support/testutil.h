/* Helpers for tests: temporary folders, running the axiom binary, finding shared
 * test material. */
#ifndef AXIOM_TESTUTIL_H
#define AXIOM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Makes a fresh folder under $TMPDIR; the returned path is static per call site's
 * buffer. Returns 0 on success. */
int tu_mkdtemp(char *out, size_t outlen);
/* rm -rf of a folder made by tu_mkdtemp. */
void tu_rmtree(const char *path);
/* Writes a file; returns 0 on success. */
int tu_write_file(const char *path, const char *text);

/* Runs the axiom binary ($AXIOM_BIN) with the given arguments through /bin/sh,
 * capturing stdout and stderr (each bounded to cap bytes). env_prefix (may be NULL)
 * is prepended, e.g. "AXIOM_SERVER_PORT=9000". Returns the exit status, or -1. */
int tu_run_axiom(const char *env_prefix, const char *args, char *out, size_t outcap, char *errout,
                 size_t errcap);

/* Path to ../shared/<rel> beside the project root ($AXIOM_SHARED_DIR/<rel> when that is
 * set), or NULL when absent. */
const char *tu_shared_path(const char *rel, char *buf, size_t buflen);
/* Path to <project root>/<rel>. */
const char *tu_root_path(const char *rel, char *buf, size_t buflen);

/* 16 kHz raw s16le audio read whole (owned), or NULL. */
int16_t *tu_read_raw(const char *path, size_t *n);
/* Active speech power of 16 kHz audio: the mean power of its 20 ms frames within 30 dB
 * of the loudest, so that pauses do not count (for mixing voices at a level apart). */
double tu_active_power(const int16_t *pcm, size_t n);

#endif
