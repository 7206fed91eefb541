/* A scripted HTTP peer on 127.0.0.1 for wire tests: it replays, byte for byte, what a
 * server would send, including the faults a real server only shows by accident (stalls,
 * cut streams, garbage, huge bodies). Used where no real server can run here (Ollama)
 * and for fault cases of every HTTP backend.
 *
 * A route ("POST /api/chat") holds one script per expected request, consumed in order;
 * the last one repeats. A script is a NULL-terminated list of steps, each a string
 * whose first character says what to do:
 *   "S..." send the rest as is           "K..." send the rest as one HTTP chunk
 *   "E"    send the final empty chunk    "W<ms>" wait
 *   "H"    hang until the client leaves  "Z<n>" send n bytes of 'z' (huge bodies)
 * After the last step the connection is closed. Requests to unknown routes get 404.
 * The peer records the last request's body per route. */
#ifndef AXIOM_LLM_PEER_H
#define AXIOM_LLM_PEER_H

#include <stddef.h>

typedef struct llm_peer llm_peer;

llm_peer *llm_peer_start(void);
int llm_peer_port(const llm_peer *p);
/* script is borrowed: keep it alive while the peer runs. */
void llm_peer_route(llm_peer *p, const char *method_path, const char *const *script);
/* Copies the last body received on that route into out ("" when none). Returns the
 * number of requests the route has seen. */
int llm_peer_last_body(llm_peer *p, const char *method_path, char *out, size_t outlen);
/* Requests seen in total. */
int llm_peer_requests(llm_peer *p);
void llm_peer_stop(llm_peer *p);

#endif
