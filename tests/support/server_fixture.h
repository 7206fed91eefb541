/* Starts an in-process server on a free loopback port for the server tests. */
#ifndef AXIOM_SERVER_FIXTURE_H
#define AXIOM_SERVER_FIXTURE_H

#include "axiom.h"
#include "core/config.h"
#include "server/server.h"

typedef struct {
    axiom_config *cfg;
    axiom_engine *engine;
    axiom_server *srv;
    int port;
} server_fixture;

/* settings: NULL-terminated list of "key=value". Returns 0, or -1 with err. */
int fixture_start(server_fixture *f, const char *const *settings, char *err, size_t errlen);
void fixture_stop(server_fixture *f);
/* A port that was free a moment ago. */
int fixture_free_port(void);

#endif
