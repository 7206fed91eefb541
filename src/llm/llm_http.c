/* HTTP requests for the server backends (see llm_http.h for the rules). */
#include "llm/llm_http.h"

#include "core/util.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_BODY (16u << 20)
#define ERROR_BODY_KEEP 4096
#define POLL_MS 20

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void) {
    curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

typedef struct {
    const llm_http_req *rq;
    llm_http_resp *rs;
    CURL *eh;
    size_t total, max;
    int too_big, stopped;
} xfer;

/* The failure kind of this thread's last exchange (see llm_http_take_fail). */
static _Thread_local llm_fail last_fail;

llm_fail llm_http_take_fail(void) {
    llm_fail f = last_fail;
    last_fail = LLM_FAIL_NONE;
    return f;
}

static int is_2xx(long s) {
    return s >= 200 && s < 300;
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud) {
    xfer *x = ud;
    size_t n = sz * nm;
    if (!x->rs->status) curl_easy_getinfo(x->eh, CURLINFO_RESPONSE_CODE, &x->rs->status);
    x->total += n;
    if (x->total > x->max) {
        x->too_big = 1;
        return 0;
    }
    if (is_2xx(x->rs->status) && x->rq->on_data) {
        if (x->rq->on_data(x->rq->user, p, n)) {
            x->stopped = 1;
            return 0;
        }
        return n;
    }
    /* Collected: the whole body for plain requests, the start of an error body. */
    size_t keep = x->rq->on_data ? ERROR_BODY_KEEP : x->max;
    size_t room = x->rs->body_len < keep ? keep - x->rs->body_len : 0;
    size_t take = n < room ? n : room;
    if (take) {
        char *nb = realloc(x->rs->body, x->rs->body_len + take + 1);
        if (!nb) {
            x->too_big = 1;
            return 0;
        }
        memcpy(nb + x->rs->body_len, p, take);
        x->rs->body = nb;
        x->rs->body_len += take;
        nb[x->rs->body_len] = '\0';
    }
    return n;
}

void llm_http_resp_free(llm_http_resp *rs) {
    free(rs->body);
    memset(rs, 0, sizeof *rs);
}

/* Host part of a URL for messages ("http://127.0.0.1:8080"), without path or query. */
static void url_origin(const char *url, char *out, size_t outlen) {
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    snprintf(out, outlen, "%.*s", (int)((p - url) + n), url);
}

/* One attempt. Returns 0 (response or deliberate stop), 1 when the connection failed
 * (safe to retry), -1 on any other failure. */
static int attempt(const llm_http_req *rq, llm_http_resp *rs, char *err, size_t errlen) {
    last_fail = LLM_FAIL_NONE;
    int64_t deadline = rq->call ? 0 : now_ms() + rq->timeout_ms;
    CURL *eh = curl_easy_init();
    CURLM *mh = curl_multi_init();
    struct curl_slist *hdr = NULL;
    char auth[600];
    int rc = -1;
    if (!eh || !mh) {
        snprintf(err, errlen, "out of memory starting an HTTP request");
        goto out;
    }
    xfer x = {.rq = rq, .rs = rs, .eh = eh, .max = rq->max_body ? rq->max_body : DEFAULT_MAX_BODY};
    char cerr[CURL_ERROR_SIZE] = "";
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (rq->accept) {
        char a[128];
        snprintf(a, sizeof a, "Accept: %s", rq->accept);
        hdr = curl_slist_append(hdr, a);
    }
    if (rq->bearer && *rq->bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", rq->bearer);
        hdr = curl_slist_append(hdr, auth);
        memset(auth, 0, sizeof auth);
    }
    int64_t left = rq->call ? llm_call_ms_left(rq->call) : rq->timeout_ms;
    curl_easy_setopt(eh, CURLOPT_URL, rq->url);
    curl_easy_setopt(eh, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(eh, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(eh, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(eh, CURLOPT_CONNECTTIMEOUT_MS, (long)(left > 0 ? left : 1));
    curl_easy_setopt(eh, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(eh, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(eh, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(eh, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(eh, CURLOPT_ACCEPT_ENCODING, "");
    if (rq->body) {
        curl_easy_setopt(eh, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(eh, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
    }
    curl_multi_add_handle(mh, eh);

    CURLcode result = CURLE_OK;
    int finished = 0, timed_out = 0;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(mh, &running) != CURLM_OK) {
            snprintf(err, errlen, "HTTP client failure talking to %s", rq->url);
            goto out_rm;
        }
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(mh, &q)))
            if (msg->msg == CURLMSG_DONE) {
                result = msg->data.result;
                finished = 1;
            }
        if (finished || !running) break;
        if (rq->call) {
            if (llm_call_should_stop(rq->call)) {
                timed_out = llm_call_timed_out(rq->call);
                x.stopped = !timed_out;
                break;
            }
        } else if (now_ms() >= deadline) {
            timed_out = 1;
            break;
        }
        curl_multi_poll(mh, NULL, 0, POLL_MS, NULL);
    }
    if (!rs->status) curl_easy_getinfo(eh, CURLINFO_RESPONSE_CODE, &rs->status);
    char origin[256];
    url_origin(rq->url, origin, sizeof origin);
    if (timed_out) {
        last_fail = LLM_FAIL_TIMEOUT;
        snprintf(err, errlen,
                 "%s did not answer within the deadline (%s); check the server's load, or raise "
                 "llm.first_token_timeout_ms / llm.total_timeout_ms",
                 origin, rs->status ? "it sent headers, then stalled" : "no response");
    } else if (x.stopped ||
               (rq->call && llm_call_should_stop(rq->call) && !llm_call_timed_out(rq->call))) {
        rs->stopped = 1;
        rc = 0;
    } else if (x.too_big) {
        snprintf(err, errlen, "%s sent a response larger than %zu bytes; refused", origin, x.max);
    } else if (result == CURLE_COULDNT_CONNECT || result == CURLE_COULDNT_RESOLVE_HOST ||
               (result == CURLE_OPERATION_TIMEDOUT && !rs->status)) {
        last_fail = LLM_FAIL_CONNECT;
        snprintf(err, errlen, "cannot connect to %s (%s); start the server or fix llm.url", origin,
                 cerr[0] ? cerr : curl_easy_strerror(result));
        rc = 1;
    } else if (result != CURLE_OK && rs->status >= 400 && rs->body_len > 0) {
        last_fail = LLM_FAIL_HTTP;
        rc = 0; /* an error answer cut short: its status and start say more than the cut */
    } else if (result != CURLE_OK) {
        last_fail = LLM_FAIL_OTHER;
        snprintf(err, errlen, "%s: %s%s", origin, cerr[0] ? cerr : curl_easy_strerror(result),
                 rs->status ? " (the connection ended mid-response)" : "");
    } else {
        /* A complete answer with an error status: the backend turns it into its own
         * message, the kind is known here. */
        last_fail = rs->status >= 400 ? LLM_FAIL_HTTP : LLM_FAIL_NONE;
        rc = 0;
    }
    if (rq->call && rc == 0 && llm_call_timed_out(rq->call)) rc = -1;
out_rm:
    curl_multi_remove_handle(mh, eh);
out:
    curl_slist_free_all(hdr);
    if (eh) curl_easy_cleanup(eh);
    if (mh) curl_multi_cleanup(mh);
    return rc;
}

static void sleep_ms(int64_t ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int llm_http_request(const llm_http_req *rq, llm_http_resp *rs, char *err, size_t errlen) {
    memset(rs, 0, sizeof *rs);
    pthread_once(&curl_once, curl_init_once);
    if (!curl_ok) {
        snprintf(err, errlen, "libcurl failed to initialise");
        return -1;
    }
    static const int64_t backoff_ms[] = {100, 300};
    for (int i = 0;; i++) {
        int rc = attempt(rq, rs, err, errlen);
        int retry = rc == 1 || (rc == 0 && !rs->stopped &&
                                (rs->status == 502 || rs->status == 503 || rs->status == 429));
        if (!retry || !rq->call || llm_call_started(rq->call) || i >= 2) return rc == 1 ? -1 : rc;
        /* Wait in small steps so a cancel during the backoff is still prompt. */
        int64_t wait = backoff_ms[i];
        if (llm_call_ms_left(rq->call) <= wait + 50) return rc == 1 ? -1 : rc;
        for (int64_t t = 0; t < wait; t += 10) {
            if (llm_call_should_stop(rq->call)) return llm_call_timed_out(rq->call) ? -1 : 0;
            sleep_ms(10);
        }
        llm_call_add_retry(rq->call);
        llm_http_resp_free(rs);
    }
}

void llm_http_error_text(const llm_http_resp *rs, char *out, size_t outlen) {
    if (!rs->body || !rs->body_len) {
        snprintf(out, outlen, "(empty body)");
        return;
    }
    cJSON *j = cJSON_ParseWithLength(rs->body, rs->body_len);
    const cJSON *e = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    if (cJSON_IsObject(e)) e = cJSON_GetObjectItemCaseSensitive(e, "message");
    if (cJSON_IsString(e))
        snprintf(out, outlen, "%.200s", e->valuestring);
    else {
        /* Printable start of the body only: it may be HTML or binary. */
        size_t n = 0;
        for (size_t i = 0; i < rs->body_len && n + 1 < outlen && n < 200; i++) {
            unsigned char ch = (unsigned char)rs->body[i];
            out[n++] = (ch >= 32 && ch < 127) ? (char)ch : ' ';
        }
        out[n] = '\0';
    }
    cJSON_Delete(j);
}
