/* Small helpers every module uses: clocks, whole-file reads, bounded string copy,
 * the process's own memory readings, the one FNV-1a hash. */
#ifndef AXIOM_UTIL_H
#define AXIOM_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock. */
int64_t now_us(void);
int64_t now_ms(void);

/* Reads a whole file into a NUL-terminated buffer the caller frees. Refuses files over
 * max_bytes. Returns NULL and writes a message naming the path into err. */
char *file_read_all(const char *path, size_t max_bytes, size_t *len_out, char *err, size_t errlen);

/* Copies at most dstlen-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, size_t dstlen, const char *src);

/* FNV-1a, 64-bit: hashes n bytes of data continuing from h, so a key made of several
 * parts is hashed part by part. Start from FNV1A64_INIT (the standard offset basis);
 * a caller whose hashes are persisted under an older start value passes that one.
 * Not cryptographic: hash tables, cache keys and file checksums only. */
#define FNV1A64_INIT 0xcbf29ce484222325ULL
uint64_t fnv1a64(uint64_t h, const void *data, size_t n);
/* The same over a NUL-terminated string, without its terminator. */
uint64_t fnv1a64_str(uint64_t h, const char *s);

/* The process's resident memory from /proc/self/smaps_rollup (Rss and Pss), in bytes;
 * falls back to /proc/self/statm. Returns -1 when neither can be read. */
int64_t proc_rss_bytes(void);
int64_t proc_pss_bytes(void);
/* The file-backed (and shared) part of the resident memory (statm's third field), in
 * bytes, or -1: a mapped model's pages show up here as they are read. */
int64_t proc_rss_file_bytes(void);

/* English number words: NUMBER_ONES[n] for 0..19, NUMBER_TENS[n / 10] for 20..90
 * (NUMBER_TENS[0] and [1] are ""). The recogniser's corpus spells numbers with them
 * and the brain reads them back, so both sides share one list. */
extern const char *const NUMBER_ONES[20];
extern const char *const NUMBER_TENS[10];

/* The folder holding deps/, data/ and web/: $AXIOM_ROOT, else the parent of the
 * executable's folder when it holds deps/ or data/, else the current folder. */
const char *axiom_root_dir(void);

#endif
