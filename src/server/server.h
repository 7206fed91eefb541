/* The HTTP + WebSocket front end: civetweb threads accept connections; the engine
 * does the work. */
#ifndef AXIOM_SERVER_H
#define AXIOM_SERVER_H

#include "axiom.h"
#include "core/config.h"

#include <stddef.h>

typedef struct axiom_server axiom_server;

/* Starts listening on server.host:server.port. Returns NULL with err on failure
 * (port taken, bad address, non-loopback address without a token). */
axiom_server *server_start(axiom_engine *engine, const axiom_config *cfg, char *err,
                           size_t errlen);
/* The port actually bound (useful with server.port = 0 in tests). */
int server_port(const axiom_server *s);
void server_stop(axiom_server *s);

#endif
