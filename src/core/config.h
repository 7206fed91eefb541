/* Configuration: one table of keys (config.c), each with a type, a default, the
 * allowed values and a one-line help. Values come from, in rising precedence:
 * default < config file (axiom.conf, INI) < environment (AXIOM_<KEY>) < flags.
 * Every value remembers where it came from, for `axiom --print-config`.
 *
 * Not thread-safe for writes: fill it at start-up, then treat it as read-only. */
#ifndef AXIOM_CONFIG_H
#define AXIOM_CONFIG_H

#include <stdio.h>

typedef struct axiom_config axiom_config;

typedef enum { CFG_DEFAULT = 0, CFG_FILE, CFG_ENV, CFG_FLAG } config_source;

axiom_config *config_new(void);
void config_free(axiom_config *cfg);

/* Sets one key after validating the value. origin says where it came from (for
 * messages and --print-config), e.g. "axiom.conf:12". Returns 0, or -1 with err naming
 * the key, the value and what is allowed. A value from a weaker source than the one in
 * force is accepted (validated) but does not replace it. */
int config_set(axiom_config *cfg, const char *key, const char *value, config_source src,
               const char *origin, char *err, size_t errlen);

/* INI file (libinih's syntax): `key = value`, `[section]` prefixes later keys with
 * "section.", # and ; start comment lines, and " ;" (a blank, then ;) starts a comment
 * at the end of a line. One pair of quotes around a value is removed. Lines may be
 * indented and fit libinih's line buffer (200 bytes as Debian builds it; a longer
 * value goes through --set or the environment). Unknown keys, bad values and bad lines are errors
 * naming file and line; the first one stops reading. */
int config_load_file(axiom_config *cfg, const char *path, char *err, size_t errlen);

/* Environment: AXIOM_<KEY> with dots as underscores (AXIOM_SERVER_PORT), plus the
 * aliases in the table (AXIOM_CONTEXT_LENGTH, OLLAMA_HOST). Bad values are errors. */
int config_apply_env(axiom_config *cfg, char *err, size_t errlen);

/* Consumes the configuration flags from argv (anywhere on the line) and leaves the
 * rest, in order, for the subcommand; *argc is updated. Recognised: --config PATH,
 * --set KEY=VALUE, --KEY VALUE / --KEY=VALUE for any key, and the short forms
 * --data, --host, --port, --mode, --llm, --gguf, --context-length, --log-level,
 * --cache-dir, --template-only, --skip-llm. */
int config_apply_args(axiom_config *cfg, int *argc, char **argv, char *err, size_t errlen);

/* The system-wide configuration file, read when no file is named and ./axiom.conf
 * is absent. */
#define AXIOM_SYSTEM_CONFIG "/etc/axiom/axiom.conf"

/* The whole start-up sequence: flags are read first (they may name the file), then
 * the file (--config or $AXIOM_CONFIG: it must exist; otherwise ./axiom.conf or
 * AXIOM_SYSTEM_CONFIG, the first present, or none), then the environment, then the
 * flags again so they win. */
int config_load_all(axiom_config *cfg, int *argc, char **argv, char *err, size_t errlen);

/* Typed reads. The key must exist in the table (a programming error aborts). */
const char *config_str(const axiom_config *cfg, const char *key);
long long config_int(const axiom_config *cfg, const char *key);
double config_double(const axiom_config *cfg, const char *key);
int config_bool(const axiom_config *cfg, const char *key);
config_source config_source_of(const axiom_config *cfg, const char *key);
const char *config_origin_of(const axiom_config *cfg, const char *key);

/* The table itself, for tests and tools that must agree with it: the i-th key (NULL
 * past the last), and a key's allowed range (inclusive), returning 1 for a whole
 * number, 2 for a number, -1 (min and max untouched) for other types or an unknown key. */
const char *config_key_at(size_t i);
int config_key_range(const char *key, double *min, double *max);

/* Every key with its value and origin, one per line; secrets print as "(set)". */
void config_print(const axiom_config *cfg, FILE *out);

/* Resolved paths: data folder and cache folder, with defaults filled in
 * (<root>/data, $XDG_CACHE_HOME/axiom or ~/.cache/axiom). */
void config_data_dir(const axiom_config *cfg, char *out, size_t outlen);
void config_cache_dir(const axiom_config *cfg, char *out, size_t outlen);

#endif
