/* AXIOM: an offline voice assistant that keeps working under memory pressure.
 *
 * One engine per process holds the shared, lazily loaded components (VAD, speech
 * recogniser, synthesiser, intent model, knowledge index, LLM) and the memory
 * governor that loads and unloads them. Front ends (the CLI, the HTTP/WebSocket
 * server) are thin shells over this library.
 *
 * Thread safety: an engine may be used from many threads at once; configuration is
 * read-only once the engine exists. */
#ifndef AXIOM_H
#define AXIOM_H

#include <stddef.h>

#define AXIOM_VERSION "0.1.0"

typedef struct axiom_config axiom_config;
typedef struct axiom_engine axiom_engine;

const char *axiom_version(void);

/* Creates the engine from a filled configuration (borrowed; it must outlive the
 * engine). Nothing heavy loads here: components load on first use. Returns NULL with
 * a message in err when the configuration cannot work (e.g. unreadable data folder). */
axiom_engine *axiom_engine_new(const axiom_config *cfg, char *err, size_t errlen);
void axiom_engine_free(axiom_engine *engine);

#endif
