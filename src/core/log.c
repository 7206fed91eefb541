/* Logging to stderr. A whole line is formatted into a stack buffer first and written
 * with a single fwrite, so lines from worker threads never interleave. */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static _Atomic int current_level = AX_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_set_level(ax_log_level level) {
    atomic_store(&current_level, (int)level);
}
ax_log_level log_get_level(void) {
    return (ax_log_level)atomic_load(&current_level);
}

int log_parse_level(const char *text, ax_log_level *out) {
    for (int i = 0; i <= AX_LOG_OFF; i++) {
        if (text && strcasecmp(text, level_names[i]) == 0) {
            *out = (ax_log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_msg(ax_log_level level, const char *component, const char *fmt, ...) {
    if ((int)level < atomic_load(&current_level) || level >= AX_LOG_OFF) return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    static const char *const tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, tags[level], component ? component : "-");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2; /* truncated: keep the newline */
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}
