/* Dispatch to the configured backend, and the per-call bookkeeping every backend
 * shares (see llm_backend.h): deadlines, cancellation, the max_tokens limit, timing,
 * and UTF-8 hold-back so a character split across two tokens reaches the caller whole
 * (the brain cuts sentences and the synthesiser reads them; half a character would
 * reach both as garbage). */
#include "llm/llm_backend.h"

#include "core/log.h"
#include "core/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Backends compiled in (LLM_BACKENDS in llm.h). */
#define LLM_BACKEND_ENTRY(ops, name) &ops,
static const llm_backend_ops *const backends[] = {LLM_BACKENDS(LLM_BACKEND_ENTRY)};

struct llm {
    const llm_backend_ops *ops;
    void *impl;
    llm_settings set;
    axiom_component *comp;
    _Atomic int load_fail; /* llm_fail of the last load */
};

struct llm_call {
    llm_token_fn fn;
    void *user;
    const atomic_int *cancel;
    int max_tokens;
    double temperature;
    int64_t start_us, first_deadline_ms, total_deadline_ms;
    int timed_out;
    int finished;    /* a finish reason was recorded */
    char pending[4]; /* the start of a UTF-8 character whose rest has not come yet */
    size_t npending;
    int64_t overhead_us;
    llm_result *res;
};

const char *llm_finish_name(llm_finish f) {
    switch (f) {
    case LLM_FINISH_STOP:
        return "stop";
    case LLM_FINISH_LENGTH:
        return "length";
    case LLM_FINISH_CANCEL:
        return "cancel";
    case LLM_FINISH_TIMEOUT:
        return "timeout";
    case LLM_FINISH_ERROR:
        return "error";
    }
    return "?";
}

int llm_estimate_tokens(const char *text) {
    size_t n = text ? strlen(text) : 0;
    return (int)((n + 3) / 4);
}

const char *llm_fail_name(llm_fail f) {
    switch (f) {
    case LLM_FAIL_NONE:
        return "";
    case LLM_FAIL_TIMEOUT:
        return "timeout";
    case LLM_FAIL_CONNECT:
        return "connect";
    case LLM_FAIL_HTTP:
        return "http";
    case LLM_FAIL_OTHER:
        return "other";
    }
    return "other";
}

llm_fail llm_load_failure(const llm *m) {
    return m ? (llm_fail)atomic_load(&m->load_fail) : LLM_FAIL_NONE;
}

static int comp_load(void *ctx, char *err, size_t errlen) {
    llm *m = ctx;
    (void)llm_http_take_fail();
    int rc = m->ops->load(m->impl, err, errlen);
    llm_fail f = llm_http_take_fail();
    atomic_store(&m->load_fail, rc == 0 ? LLM_FAIL_NONE : f != LLM_FAIL_NONE ? f : LLM_FAIL_OTHER);
    return rc;
}
static void comp_unload(void *ctx) {
    llm *m = ctx;
    m->ops->unload(m->impl);
}
static int64_t comp_mapped(void *ctx) {
    llm *m = ctx;
    return m->ops->mapped_bytes ? m->ops->mapped_bytes(m->impl) : 0;
}

llm *llm_new(const axiom_config *cfg, char *err, size_t errlen) {
    const char *name = config_str(cfg, "llm.backend");
    if (strcmp(name, "none") == 0) {
        snprintf(err, errlen,
                 "no language model configured (llm.backend = none); set llm.backend "
                 "to ollama, openai or gguf (see README section llm)");
        return NULL;
    }
    const llm_backend_ops *ops = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0) ops = backends[i];
    if (!ops) {
        snprintf(err, errlen, "llm.backend = '%s': expected none, ollama, openai or gguf", name);
        return NULL;
    }
    llm *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->ops = ops;
    m->set.cfg = cfg;
    m->set.context_length = (int)config_int(cfg, "context_length");
    m->set.max_tokens = (int)config_int(cfg, "llm.max_tokens");
    m->set.temperature = config_double(cfg, "llm.temperature");
    m->set.first_token_timeout_ms = config_int(cfg, "llm.first_token_timeout_ms");
    m->set.total_timeout_ms = config_int(cfg, "llm.total_timeout_ms");
    m->impl = ops->create(&m->set, err, errlen);
    if (!m->impl) {
        free(m);
        return NULL;
    }
    /* Only the in-process model holds memory worth unloading for idleness; a server's
     * model is unloaded on the server's own schedule (keep_alive) unless asked. */
    int64_t idle_ms =
        strcmp(name, "gguf") == 0 ? config_int(cfg, "mem.llm_idle_unload_s") * 1000 : 0;
    component_desc d = {.name = "llm",
                        .load_order = 90,
                        .essential = 0,
                        .load = comp_load,
                        .unload = comp_unload,
                        .mapped_bytes = comp_mapped,
                        .ctx = m,
                        .idle_unload_ms = idle_ms};
    m->comp = component_new(&d);
    if (!m->comp) {
        ops->destroy(m->impl);
        free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return m;
}

void llm_free(llm *m) {
    if (!m) return;
    component_free(m->comp); /* unloads first */
    m->ops->destroy(m->impl);
    free(m);
}

axiom_component *llm_component(llm *m) {
    return m ? m->comp : NULL;
}
int64_t llm_expected_bytes(const llm *m) {
    return m->ops->expected_bytes ? m->ops->expected_bytes(m->impl) : 0;
}
int llm_context_length(const llm *m) {
    return m->set.context_length;
}
const char *llm_backend_name(const llm *m) {
    return m->ops->name;
}
const char *llm_model_name(const llm *m) {
    return m->ops->model_name(m->impl);
}

int llm_count_tokens(llm *m, const char *text) {
    if (!text) return 0;
    int n = -1;
    if (m && m->ops->count_tokens && component_is_loaded(m->comp))
        n = m->ops->count_tokens(m->impl, text);
    return n >= 0 ? n : llm_estimate_tokens(text);
}

/* ---- per-call bookkeeping ---- */

int llm_call_max_tokens(const llm_call *c) {
    return c->max_tokens;
}
double llm_call_temperature(const llm_call *c) {
    return c->temperature;
}
int llm_call_started(const llm_call *c) {
    return c->res->tokens > 0;
}
int llm_call_timed_out(const llm_call *c) {
    return c->timed_out;
}
void llm_call_add_overhead_us(llm_call *c, int64_t us) {
    c->overhead_us += us;
}
void llm_call_set_prompt_tokens(llm_call *c, int n) {
    c->res->prompt_tokens = n;
}
void llm_call_add_retry(llm_call *c) {
    c->res->retries++;
}

void llm_call_finish(llm_call *c, llm_finish f) {
    if (c->finished) return;
    c->finished = 1;
    c->res->finish = f;
}

int64_t llm_call_ms_left(const llm_call *c) {
    int64_t now = now_ms();
    int64_t dl = c->total_deadline_ms;
    if (c->res->tokens == 0 && c->first_deadline_ms < dl) dl = c->first_deadline_ms;
    return dl > now ? dl - now : 0;
}

int llm_call_peek_stop(const llm_call *c) {
    return c->finished || (c->cancel && atomic_load(c->cancel)) || llm_call_ms_left(c) == 0;
}

int llm_call_should_stop(llm_call *c) {
    if (c->finished) return 1;
    if (c->cancel && atomic_load(c->cancel)) {
        llm_call_finish(c, LLM_FINISH_CANCEL);
        return 1;
    }
    if (llm_call_ms_left(c) == 0) {
        c->timed_out = 1;
        llm_call_finish(c, LLM_FINISH_TIMEOUT);
        return 1;
    }
    return 0;
}

/* Length of the complete UTF-8 prefix of s[0..n): an incomplete sequence at the end
 * is held back; invalid bytes pass through (they are the model's, not ours to drop). */
static size_t utf8_complete_prefix(const char *s, size_t n) {
    size_t back = n < 3 ? n : 3;
    for (size_t i = 1; i <= back; i++) {
        unsigned char ch = (unsigned char)s[n - i];
        if ((ch & 0xC0) == 0x80) continue; /* continuation byte: look further back */
        size_t need = (ch & 0xE0) == 0xC0   ? 2
                      : (ch & 0xF0) == 0xE0 ? 3
                      : (ch & 0xF8) == 0xF0 ? 4
                                            : 1;
        return need > i ? n - i : n;
    }
    return n;
}

static int deliver(llm_call *c, const char *p, size_t len) {
    if (len == 0) return 0;
    if (c->res->tokens == 0) c->res->first_token_ms = (now_us() - c->start_us) / 1000;
    c->res->tokens++;
    int64_t t0 = now_us();
    int stop = c->fn ? c->fn(c->user, p, len) : 0;
    c->res->callback_us += now_us() - t0;
    if (stop) llm_call_finish(c, LLM_FINISH_CANCEL);
    return stop;
}

int llm_call_emit(llm_call *c, const char *piece, size_t len) {
    if (c->finished) return 1;
    if (llm_call_should_stop(c)) return 1;
    char buf[512];
    /* Join what was held back with the new piece; long pieces go through in parts. */
    while (len > 0 || c->npending > 0) {
        size_t take = len < sizeof buf - c->npending ? len : sizeof buf - c->npending;
        memcpy(buf, c->pending, c->npending);
        memcpy(buf + c->npending, piece, take);
        size_t total = c->npending + take;
        piece += take;
        len -= take;
        size_t ok = utf8_complete_prefix(buf, total);
        c->npending = total - ok;
        memcpy(c->pending, buf + ok, c->npending);
        if (ok == 0) break;
        if (deliver(c, buf, ok)) return 1;
        if (len == 0) break;
    }
    if (c->res->tokens >= c->max_tokens) {
        llm_call_finish(c, LLM_FINISH_LENGTH);
        return 1;
    }
    return 0;
}

int llm_chat(llm *m, const llm_message *msgs, size_t n, const llm_options *opt, llm_token_fn fn,
             void *user, const atomic_int *cancel, llm_result *res, char *err, size_t errlen) {
    llm_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    res->first_token_ms = -1;
    res->finish = LLM_FINISH_ERROR;
    res->fail = LLM_FAIL_OTHER; /* until a path below says better */
    if (errlen) err[0] = '\0';
    int64_t t0 = now_us();
    if (!m || !msgs || n == 0) {
        snprintf(err, errlen, "llm_chat: no model or no messages");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content) {
            snprintf(err, errlen, "llm_chat: message %zu has no role or content", i);
            return -1;
        }
    }
    llm_call c = {.fn = fn, .user = user, .cancel = cancel, .res = res, .start_us = t0};
    c.max_tokens = opt && opt->max_tokens > 0 ? opt->max_tokens : m->set.max_tokens;
    c.temperature = opt && opt->temperature > 0 ? opt->temperature : m->set.temperature;
    int64_t first = opt && opt->first_token_timeout_ms > 0 ? opt->first_token_timeout_ms
                                                           : m->set.first_token_timeout_ms;
    int64_t total =
        opt && opt->total_timeout_ms > 0 ? opt->total_timeout_ms : m->set.total_timeout_ms;
    char why[384] = "";
    int rc;
    if (component_acquire(m->comp, why, sizeof why) != 0) {
        snprintf(err, errlen, "language model unavailable: %s", why);
        res->fail = llm_load_failure(m);
        if (res->fail == LLM_FAIL_NONE) res->fail = LLM_FAIL_OTHER;
        rc = -1;
    } else {
        /* The deadlines start once the model is loaded: a cold load is the governor's
         * (measured, bounded by the budget), and timing the first answer out because of
         * it would throw away a load that just succeeded. */
        int64_t now = now_ms();
        c.first_deadline_ms = now + first;
        c.total_deadline_ms = now + total;
        (void)llm_http_take_fail();
        rc = m->ops->chat(m->impl, msgs, n, &c, why, sizeof why);
        llm_fail http_fail = llm_http_take_fail();
        component_release(m->comp);
        /* What is still held back is the tail of a malformed character: deliver it
         * rather than lose text. */
        if (c.npending && rc == 0 && !(c.finished && res->finish == LLM_FINISH_CANCEL)) {
            size_t np = c.npending;
            c.npending = 0;
            deliver(&c, c.pending, np);
        }
        if (rc != 0 || c.timed_out) {
            if (c.timed_out) {
                res->finish = LLM_FINISH_TIMEOUT;
                res->fail = LLM_FAIL_TIMEOUT;
                snprintf(err, errlen, "%s: %s", m->ops->name,
                         why[0]             ? why
                         : res->tokens == 0 ? "no token before llm.first_token_timeout_ms; raise "
                                              "it or use a smaller model"
                                            : "answer not finished before llm.total_timeout_ms; "
                                              "raise it or lower llm.max_tokens");
            } else {
                res->finish = LLM_FINISH_ERROR;
                res->fail = http_fail != LLM_FAIL_NONE ? http_fail : LLM_FAIL_OTHER;
                snprintf(err, errlen, "%s: %s", m->ops->name, why[0] ? why : "generation failed");
            }
            rc = -1;
        } else if (!c.finished) {
            res->finish = LLM_FINISH_STOP;
        }
    }
    if (rc == 0) res->fail = LLM_FAIL_NONE;
    res->total_ms = (now_us() - t0) / 1000;
    res->overhead_us = c.overhead_us - res->callback_us;
    if (res->overhead_us < 0) res->overhead_us = 0;
    if (rc != 0) LOG_W("llm", "%s", err);
    return rc;
}
