/* Logging: one line per event on stderr, with a UTC timestamp, a level and the
 * component that speaks. Thread-safe: each line is written with one call. */
#ifndef AXIOM_LOG_H
#define AXIOM_LOG_H

typedef enum { AX_LOG_DEBUG = 0, AX_LOG_INFO, AX_LOG_WARN, AX_LOG_ERROR, AX_LOG_OFF } ax_log_level;

void log_set_level(ax_log_level level);
ax_log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns 0 on success. */
int log_parse_level(const char *text, ax_log_level *out);
void log_msg(ax_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_D(comp, ...) log_msg(AX_LOG_DEBUG, comp, __VA_ARGS__)
#define LOG_I(comp, ...) log_msg(AX_LOG_INFO, comp, __VA_ARGS__)
#define LOG_W(comp, ...) log_msg(AX_LOG_WARN, comp, __VA_ARGS__)
#define LOG_E(comp, ...) log_msg(AX_LOG_ERROR, comp, __VA_ARGS__)

#endif
