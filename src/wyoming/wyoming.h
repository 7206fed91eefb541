/* The Wyoming protocol front end: AXIOM as a speech-to-text, text-to-speech, intent
 * recognition and conversation service for Home Assistant's Assist pipelines (the
 * "Wyoming Protocol" integration) and Rhasspy.
 *
 * A thin shell over the engine: its own TCP listener (wyoming.host:wyoming.port), one
 * thread per connection (at most wyoming.max_connections), each reading events in
 * order and answering them with the recogniser, the synthesiser and the brain. It is
 * started and stopped by the server (server.c), beside the HTTP server or alone. */
#ifndef AXIOM_WYOMING_H
#define AXIOM_WYOMING_H

#include "axiom.h"
#include "core/config.h"

#include <stddef.h>

typedef struct wyoming_server wyoming_server;

/* Admission shared with the other front ends (the server's session limit and the
 * memory governor). admit returns 0 when a connection may be served (leave is then
 * called once when it ends), or -1 with a reason starting "busy:". Called from the
 * listener and connection threads. */
typedef struct {
    int (*admit)(void *ctx, char *err, size_t errlen);
    void (*leave)(void *ctx);
    void *ctx;
} wyoming_admission;

/* Listens on wyoming.host:wyoming.port (wyoming.port must not be 0) and advertises the
 * service over Avahi when wyoming.zeroconf is on and a daemon runs. engine and cfg are
 * borrowed and must outlive the server; adm is copied (NULL: no shared admission).
 * Returns NULL with err: address refused (not loopback and wyoming.allow_remote off),
 * port in use, no thread. */
wyoming_server *wyoming_start(axiom_engine *engine, const axiom_config *cfg,
                              const wyoming_admission *adm, char *err, size_t errlen);
/* The port actually bound. */
int wyoming_port(const wyoming_server *w);
/* Connections being served now. */
int wyoming_connections(wyoming_server *w);
/* "advertised", "waiting for the Avahi daemon", "off" (wyoming.zeroconf = false) or
 * "unavailable" (no D-Bus or Avahi client), for logs and tests. */
const char *wyoming_discovery_state(wyoming_server *w);
/* Stops listening, ends every connection (work in progress is cancelled) and waits for
 * their threads, then frees everything. NULL is fine. */
void wyoming_stop(wyoming_server *w);

#endif
