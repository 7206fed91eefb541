/* A small HTTP client for the two server backends, on libcurl: one request at a time
 * per call, the response body streamed to a callback as it arrives. libcurl's multi
 * interface is polled every 20 ms so cancellation and the turn's deadlines are checked
 * between network events, not once a second as libcurl's progress callback would.
 *
 * Retries: only for streaming requests, only before any token reached the caller
 * (connection failed, or HTTP 502/503/429), with backoff 100 ms then 300 ms, and only
 * while the first-token deadline leaves room. After a token nothing is retried: the
 * caller would hear the answer twice. Proxies are never used for loopback. */
#ifndef AXIOM_LLM_HTTP_H
#define AXIOM_LLM_HTTP_H

#include "llm/llm_backend.h"

#include <stddef.h>

/* Receives the body of a 2xx response as it arrives. Non-zero stops the transfer. */
typedef int (*llm_http_data_fn)(void *user, const char *data, size_t len);

typedef struct {
    const char *url;
    const char *body;   /* JSON to POST; NULL for a GET */
    const char *bearer; /* API key sent as "Authorization: Bearer", or NULL; never logged */
    const char *accept; /* Accept header, or NULL */
    llm_call *call;     /* a turn: its deadlines and cancel flag apply; NULL = timeout_ms */
    int64_t timeout_ms;
    llm_http_data_fn on_data; /* NULL: the body is collected into the response */
    void *user;
    size_t max_body; /* largest body accepted; 0 = 16 MiB */
} llm_http_req;

typedef struct {
    long status; /* 0 when no response came */
    char *body;  /* the collected body (on_data NULL), or the start of an error body */
    size_t body_len;
    int stopped; /* on_data, a cancel or a deadline ended the transfer early */
} llm_http_resp;

/* Returns 0 when the exchange ended normally or was stopped on purpose (see stopped;
 * the status may be any value), or -1 with err: connection failed, deadline passed,
 * body too large, transfer cut short. err names the URL and the likely fix. */
int llm_http_request(const llm_http_req *rq, llm_http_resp *rs, char *err, size_t errlen);
void llm_http_resp_free(llm_http_resp *rs);

/* A short description of an HTTP error response for messages: the JSON "error" text
 * when there is one, else the body's start. Writes into out. */
void llm_http_error_text(const llm_http_resp *rs, char *out, size_t outlen);

#endif
