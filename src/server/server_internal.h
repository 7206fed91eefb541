/* What the server's parts share: the server object, the per-connection session and
 * the functions each part offers the others. Not a public header: only src/server/
 * includes it.
 *
 * The server is a transport over voice sessions (include/axiom.h, src/voice/): each
 * WebSocket connection owns one axiom_voice, turns its messages into calls
 * (feed, text, cancel, set) and its events into messages.
 *
 * Threads: civetweb gives every connection its own network thread, which only parses,
 * checks limits and hands audio and text to the voice session (it never decodes,
 * answers or synthesises; that runs on the voice hub's audio and turn pools). Every
 * session has one sender thread draining its bounded outgoing queue, so a client
 * that does not read blocks only its own sender, and is dropped once its queue is
 * full. */
#ifndef AXIOM_SERVER_INTERNAL_H
#define AXIOM_SERVER_INTERNAL_H

#include "core/config.h"
#include "core/engine.h"
#include "server/metrics.h"
#include "server/server.h"
#include "voice/voice_session.h"

#include <cJSON.h>
#include <civetweb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* WebSocket close codes the server uses (RFC 6455 section 7.4). */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_BAD_DATA 1007
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL 1011
#define WS_CLOSE_BUSY 1013 /* "try again later": max sessions or memory pressure */

typedef struct ws_session ws_session;

struct axiom_server {
    struct mg_context *ctx;
    axiom_engine *engine;
    const axiom_config *cfg;
    server_metrics *metrics;
    voice_hub *hub; /* the engine's voice pools, shared with other front ends */
    int port;
    char host[64];
    char web_dir[4096];
    char token[256];          /* empty = no token required */
    char origins[2048];       /* server.allowed_origins, comma-separated */
    char allowed_hosts[2048]; /* server.allowed_hosts, comma-separated names */
    int max_sessions;
    size_t max_message_bytes;
    size_t send_queue_bytes;
    int64_t idle_timeout_ms;
    int barge_in;
    int64_t started_ms;
    int ask_max;              /* server.ask_max_concurrent, resolved */
    int64_t ask_timeout_ms;   /* server.ask_timeout_s */
    atomic_int asks_running;  /* /api/ask jobs admitted and not yet finished */
    atomic_int asks_stopping; /* set by server_stop: waiting asks give up */

    pthread_mutex_t mu;   /* guards the session lists and count */
    ws_session *sessions; /* open sessions, for /api/status and shutdown */
    ws_session *refused;  /* connections told "busy", waiting for the client to go */
    pthread_cond_t reaper_cv;
    pthread_t reaper;
    int reaper_started, stopping;
    int64_t refusal_logged_ms;
    int refusals_unlogged;
    int nsessions; /* browser sessions and Wyoming connections */
    uint64_t next_session_id;
    struct wyoming_server *wyoming; /* NULL when wyoming.port = 0 */
};

/* ---- admission shared by every front end (server.c) ---- */
/* Admits one session or connection: 0 (counted in nsessions until
 * server_leave_session), or -1 with err starting "busy:" when server.max_sessions are
 * in use or the governor is at its critical level (memory is critical: existing
 * sessions keep being served, new ones wait). */
int server_admit_session(axiom_server *srv, char *err, size_t errlen);
void server_leave_session(axiom_server *srv);

/* ---- outgoing queue (send_queue.c) ---- */
typedef struct out_msg out_msg;
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    out_msg *head, *tail;
    size_t bytes; /* payload bytes queued */
    size_t limit; /* server.send_queue_kb */
    int stopping;
    int dead; /* write failed or client dropped */
    int started;
    int64_t play_end_ms;  /* when the client will have played what was sent */
    uint64_t purged_turn; /* answers up to this one were cancelled: drop late output */
    pthread_t thread;
} send_queue;

/* ---- one WebSocket connection ---- */
struct ws_session {
    axiom_server *srv;
    uint64_t id;
    struct mg_connection *conn; /* valid from connect until the close handler returns */
    int fd;                     /* its socket, found at connect; -1 when unknown */
    pthread_mutex_t mu;         /* guards the fields below it */
    int refs;                   /* connection + queued jobs */
    int open;                   /* handshake done, close handler not yet run */
    int refused;                /* close code sent at ready time instead of serving */
    char refuse_reason[160];
    int64_t refused_ms;
    ws_session *next_refused; /* in srv->refused */
    int64_t connected_ms;
    _Atomic int64_t last_activity_ms; /* last message from the client */
    int64_t idle_close_ms;            /* when the idle close was sent (0 = not yet) */

    /* negotiated by hello, echoed in its reply (the voice session holds the values) */
    int out_rate, out_pcm, want_partials, want_timings;
    int frag_opcode; /* opcode of a fragmented message in progress */
    uint8_t carry;   /* odd byte of a sample split across messages */
    int has_carry;
    int answering; /* between thinking and ready_to_listen (status) */

    axiom_voice *voice; /* the conversation; events come back through ws_on_event */
    send_queue sq;
    ws_session *next; /* in srv->sessions */
};

void session_ref(ws_session *s);
void session_unref(ws_session *s);

/* Queues a message for this client. opcode: MG_WEBSOCKET_OPCODE_TEXT or _BINARY.
 * turn: the answer it belongs to (0 = none), so a barge-in can purge it.
 * audio_ms: playback length of the audio it carries (binary answers), so the sender
 * knows when the client will have finished playing; after_playback: hold this
 * message until then (ready_to_listen must not reopen the microphone while the
 * answer is still audible).
 * Returns 0, or -1 when the client is gone or was just dropped for not reading. */
int session_send(ws_session *s, int opcode, const void *data, size_t len, uint64_t turn,
                 int audio_ms, int after_playback);
int session_send_text(ws_session *s, const char *json, uint64_t turn);
/* Drops every queued message of answer `turn`. */
void send_queue_purge_turn(send_queue *q, uint64_t turn);
int send_queue_init(send_queue *q, size_t limit);
int send_queue_start(ws_session *s);
/* Stops the sender thread (after the queue drains or the socket fails). */
void send_queue_stop(ws_session *s);
void send_queue_destroy(send_queue *q);
/* Sends a close frame with code and reason right now (connection thread only). */
void ws_send_close(struct mg_connection *conn, int code, const char *reason);
/* Makes the connection fail: its network thread wakes and closes it. */
void session_drop(ws_session *s, const char *why);

/* ---- voice events -> messages (ws_events.c) ---- */
/* The voice session's callback: one event, as the protocol's JSON or binary message,
 * into the session's outgoing queue. */
void ws_on_event(void *session, const axiom_event *ev);
/* Tells the client of a bad message: {"event":"error","code":...,"message":...}. */
void ws_send_error(ws_session *s, const char *code, const char *message);
/* Counts what voice sessions report in the server's metrics (voice_hub observer). */
void server_observe(void *srv, voice_stat stat, double value, const char *label);
/* JSON object members describing the engine's components, e.g. "\"vad\":{...}". */
void server_components_json(axiom_server *srv, cJSON *obj);

/* ---- /api/ask admission and deadline (ask.c) ---- */
/* Answers text on the turn pool within server.ask_timeout_s. Returns the HTTP
 * status: 200 (or the answer's status) with *out set (caller frees), or an error
 * status with err filled (*out NULL) and *retry_after_s > 0 when the client should
 * retry (503 at the governor's critical level or past server.ask_max_concurrent),
 * 504 past the deadline. */
int ask_run(axiom_server *srv, const char *text, cJSON **out, char *err, size_t errlen,
            int *retry_after_s);
/* server.ask_max_concurrent = 0: half the turn pool's threads, at least 1. */
int ask_max_default(int turn_threads);

/* ---- HTTP (http_routes.c, static_files.c) ---- */
void http_routes_register(axiom_server *srv);
int static_files_handle(struct mg_connection *conn, void *srv);
/* Writes a complete HTTP response with a JSON or text body. */
void http_reply(struct mg_connection *conn, int status, const char *ctype, const char *body,
                size_t len);
void http_reply_error(struct mg_connection *conn, int status, const char *message);
/* The same with a Retry-After header (seconds; 0 = none). */
void http_reply_error_retry(struct mg_connection *conn, int status, const char *message,
                            int retry_after_s);
/* 1 when the request carries the token (Authorization: Bearer, or ?token= for /ws),
 * or when no token is configured. */
int server_auth_ok(axiom_server *srv, const struct mg_connection *conn);

/* ---- who may send requests (http_guard.c) ---- */
/* 1 when a Host header names this machine: loopback, server.host, or a name in
 * server.allowed_hosts (any port). */
int server_host_allowed(const axiom_server *srv, const char *host);
/* 1 when the request has no Origin, a same-origin one, or one in
 * server.allowed_origins. */
int server_origin_allowed(const axiom_server *srv, const struct mg_connection *conn);
/* civetweb's begin_request callback: refuses (403) a foreign Host on every route and
 * a foreign Origin on every state-changing request before any handler runs. */
int server_begin_request(struct mg_connection *conn);

/* ---- WebSocket (ws_session.c) ---- */
/* What the transport calls for each /ws connection, on its network thread:
 * connect after a valid upgrade request (0 = go on; otherwise it has answered with an
 * HTTP error), ready after the 101, data for each frame (bits: FIN and opcode as on
 * the wire; returns 0 to close), close once at the end. */
int ws_connect(struct mg_connection *conn, axiom_server *srv, int fd);
void ws_ready(struct mg_connection *conn, axiom_server *srv);
int ws_data(struct mg_connection *conn, int bits, char *data, size_t len, axiom_server *srv);
void ws_close(const struct mg_connection *conn, axiom_server *srv);

/* ---- WebSocket transport (ws_transport.c) ---- */
/* Serves one /ws connection from begin_request: handshake, then frames read with
 * their size checked before the payload (server.max_message_bytes), handed to the
 * ws_* functions above. Returns when the connection ends (HTTP status for the log). */
int ws_transport_handle(struct mg_connection *conn, axiom_server *srv);
/* The socket of a connection (civetweb does not expose it), or -1. */
int ws_socket_fd(const struct mg_request_info *ri);
/* After a refusal has been written: sends it and a FIN, waits (at most 2 s) until the
 * client has it, and stops reading, so nothing more of what the client sends is
 * read (the kernel resets the connection on close instead). */
void socket_flush_and_stop(int fd);
/* The same for an HTTP request whose body is refused unread. */
void http_stop_reading(struct mg_connection *conn);
/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; -1 for a malformed key. */
int ws_accept_key(const char *key, char out[29]);
/* Housekeeping thread, twice a second: a refused connection whose client does not
 * answer the close within 2 s is cut, so refusals never tie up the network threads
 * past capacity; a session silent for server.idle_timeout_s is closed (1001), and cut
 * 2 s later if the client does not answer. */
int ws_reaper_start(axiom_server *srv);
void ws_reaper_stop(axiom_server *srv);
/* Closes every session (server stopping). */
void ws_shutdown_all(axiom_server *srv);
/* Session summaries for /api/status. */
void ws_status_json(axiom_server *srv, cJSON *arr);

#endif
