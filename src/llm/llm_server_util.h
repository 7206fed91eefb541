/* What the two server backends share besides HTTP: the server's base URL (with
 * OLLAMA_HOST's loose forms accepted), and the request body's messages array. */
#ifndef AXIOM_LLM_SERVER_UTIL_H
#define AXIOM_LLM_SERVER_UTIL_H

#include "llm/llm.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* Normalises a base URL: adds http:// when no scheme is given and default_port when no
 * port is, drops trailing slashes, maps 0.0.0.0 (a listen address) to 127.0.0.1.
 * Returns 0, or -1 with err naming the key. */
int llm_base_url(const char *in, const char *default_url, int default_port, char *out,
                 size_t outlen, char *err, size_t errlen);

/* Adds "messages": [{"role":..,"content":..}, ...] to obj. Returns 0 or -1 (memory). */
int llm_json_add_messages(cJSON *obj, const llm_message *msgs, size_t n);

#endif
