/* The HTTP + WebSocket front end: civetweb threads accept connections; the engine
 * does the work. */
#ifndef AXIOM_SERVER_H
#define AXIOM_SERVER_H

#include "axiom.h"
#include "core/config.h"

#include <stddef.h>

typedef struct axiom_server axiom_server;

/* Starts listening on server.host:server.port (unless server.port = 0) and on
 * wyoming.host:wyoming.port (when wyoming.port is set). Returns NULL with err on
 * failure (port taken, bad address, non-loopback address without a token or without
 * wyoming.allow_remote, neither service on). */
axiom_server *server_start(axiom_engine *engine, const axiom_config *cfg, char *err, size_t errlen);
/* The HTTP port actually bound; 0 when server.port = 0 (no HTTP server). */
int server_port(const axiom_server *s);
/* The Wyoming port actually bound; 0 when wyoming.port = 0 (no Wyoming service). */
int server_wyoming_port(const axiom_server *s);
void server_stop(axiom_server *s);

#endif
