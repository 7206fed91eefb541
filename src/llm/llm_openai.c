/* OpenAI-compatible backend (vLLM, llama-server, LM Studio, hosted APIs): POST
 * <base>/chat/completions with "stream": true; the answer arrives as Server-Sent
 * Events, each "data:" a chat.completion.chunk, ended by "data: [DONE]".
 *
 * The API key comes from llm.api_key (or AXIOM_LLM_API_KEY), else the file named by
 * llm.api_key_file, else $OPENAI_API_KEY. It is sent only in the Authorization header
 * and never logged or printed. Loading asks GET <base>/models so an unreachable server
 * or a rejected key is reported once; when llm.model is empty the server's first model
 * is used (llama-server serves exactly one). */
#include "llm/llm_backend.h"
#include "llm/llm_http.h"
#include "llm/llm_server_util.h"
#include "llm/llm_stream.h"

#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const llm_settings *s;
    char base[1024];
    char model[256];
    char *key; /* NULL when none */
} openai;

static void wipe_free(char *s) {
    if (!s) return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

static void openai_destroy(void *b) {
    openai *o = b;
    if (!o) return;
    wipe_free(o->key);
    free(o);
}

static void *openai_create(const llm_settings *s, char *err, size_t errlen) {
    openai *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->s = s;
    str_copy(o->model, sizeof o->model, config_str(s->cfg, "llm.model"));
    /* OLLAMA_HOST feeds llm.url for the Ollama backend; it says nothing about this one. */
    const char *url = config_str(s->cfg, "llm.url");
    if (strstr(config_origin_of(s->cfg, "llm.url"), "OLLAMA_HOST")) url = "";
    if (llm_base_url(url, "http://127.0.0.1:8080/v1", 0, o->base, sizeof o->base, err, errlen) != 0)
        goto fail;
    const char *key = config_str(s->cfg, "llm.api_key");
    const char *key_file = config_str(s->cfg, "llm.api_key_file");
    if (*key) {
        o->key = strdup(key);
    } else if (*key_file) {
        char why[300];
        size_t len = 0;
        o->key = file_read_all(key_file, 16384, &len, why, sizeof why);
        if (!o->key) {
            snprintf(err, errlen, "llm.api_key_file: %s; fix the path or unset the key", why);
            goto fail;
        }
        while (len > 0 &&
               (o->key[len - 1] == '\n' || o->key[len - 1] == '\r' || o->key[len - 1] == ' '))
            o->key[--len] = '\0';
        if (len == 0 || strpbrk(o->key, "\r\n")) {
            snprintf(err, errlen, "llm.api_key_file '%s' must hold the key on one line", key_file);
            goto fail;
        }
    } else if (getenv("OPENAI_API_KEY") && *getenv("OPENAI_API_KEY")) {
        o->key = strdup(getenv("OPENAI_API_KEY"));
    }
    return o;
fail:
    openai_destroy(o);
    return NULL;
}

static int openai_load(void *b, char *err, size_t errlen) {
    openai *o = b;
    char url[1100];
    snprintf(url, sizeof url, "%s/models", o->base);
    int64_t t = o->s->first_token_timeout_ms < 5000 ? o->s->first_token_timeout_ms : 5000;
    llm_http_req rq = {.url = url, .bearer = o->key, .timeout_ms = t, .max_body = 4u << 20};
    llm_http_resp rs;
    char why[384];
    if (llm_http_request(&rq, &rs, why, sizeof why) != 0) {
        snprintf(err, errlen, "OpenAI-compatible server at %s: %s", o->base, why);
        llm_http_resp_free(&rs);
        return -1;
    }
    int rc = 0;
    if (rs.status == 401 || rs.status == 403) {
        snprintf(err, errlen,
                 "%s rejected the API key (HTTP %ld); set llm.api_key_file to a valid key", o->base,
                 rs.status);
        rc = -1;
    } else if (rs.status == 200) {
        cJSON *j = cJSON_ParseWithLength(rs.body ? rs.body : "", rs.body_len);
        const cJSON *data = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "data") : NULL;
        const cJSON *m;
        int found = 0;
        const char *first = NULL;
        if (!cJSON_IsArray(data)) data = NULL;
        cJSON_ArrayForEach(m, data) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
            if (!cJSON_IsString(id)) continue;
            if (!first) first = id->valuestring;
            if (strcmp(id->valuestring, o->model) == 0) found = 1;
        }
        if (!o->model[0] && first)
            str_copy(o->model, sizeof o->model, first);
        else if (o->model[0] && first && !found)
            LOG_W("llm", "%s does not list model '%s' (it lists '%s'); requests may fail", o->base,
                  o->model, first);
        cJSON_Delete(j);
    } /* other statuses: the server has no /models; the first chat will tell */
    llm_http_resp_free(&rs);
    return rc;
}

static void openai_unload(void *b) {
    (void)b; /* the server manages its own memory */
}

typedef struct {
    llm_call *call;
    llm_sse sse;
    int done, finished, failed;
    char err[300];
} openai_stream;

static int openai_event(void *user, const char *data, size_t len) {
    openai_stream *st = user;
    llm_chunk c;
    if (llm_openai_chunk_parse(data, len, &c) != 0) {
        str_copy(st->err, sizeof st->err, c.error);
        st->failed = 1;
        llm_chunk_clear(&c);
        return 1;
    }
    int stop = 0;
    if (c.text_len) stop = llm_call_emit(st->call, c.text, c.text_len);
    if (c.prompt_tokens >= 0) llm_call_set_prompt_tokens(st->call, c.prompt_tokens);
    if (c.done && !c.json_)
        st->done = 1; /* [DONE] */
    else if (c.done) {
        st->finished = 1;
        llm_call_finish(st->call, c.finish);
    }
    llm_chunk_clear(&c);
    return stop || st->done;
}

static int openai_data(void *user, const char *data, size_t len) {
    openai_stream *st = user;
    int64_t t0 = now_us();
    int rc = llm_sse_feed(&st->sse, data, len);
    if (rc < 0 && !st->failed) {
        snprintf(st->err, sizeof st->err, "malformed stream: an event longer than 1 MiB");
        st->failed = 1;
    }
    llm_call_add_overhead_us(st->call, now_us() - t0);
    return rc != 0;
}

static int openai_chat(void *b, const llm_message *msgs, size_t n, llm_call *call, char *err,
                       size_t errlen) {
    openai *o = b;
    cJSON *j = cJSON_CreateObject();
    char *body = NULL;
    if (j && (!o->model[0] || cJSON_AddStringToObject(j, "model", o->model)) &&
        llm_json_add_messages(j, msgs, n) == 0 && cJSON_AddTrueToObject(j, "stream") &&
        cJSON_AddNumberToObject(j, "max_tokens", llm_call_max_tokens(call)) &&
        cJSON_AddNumberToObject(j, "temperature", llm_call_temperature(call)))
        body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!body) {
        snprintf(err, errlen, "out of memory building the request");
        return -1;
    }
    char url[1100];
    snprintf(url, sizeof url, "%s/chat/completions", o->base);
    openai_stream st = {.call = call};
    llm_sse_init(&st.sse, openai_event, &st);
    llm_http_req rq = {.url = url,
                       .body = body,
                       .bearer = o->key,
                       .accept = "text/event-stream",
                       .call = call,
                       .on_data = openai_data,
                       .user = &st};
    llm_http_resp rs;
    char why[384];
    int rc = llm_http_request(&rq, &rs, why, sizeof why);
    free(body);
    if (st.failed) {
        snprintf(err, errlen, "%s: %s", url, st.err);
        rc = -1;
    } else if (rc != 0) {
        str_copy(err, errlen, why);
    } else if (st.done || (rs.stopped && !llm_call_timed_out(call))) {
        rc = 0; /* [DONE], a cancel, or max_tokens reached on our side */
    } else if (rs.status == 401 || rs.status == 403) {
        snprintf(err, errlen, "%s rejected the API key (HTTP %ld); set llm.api_key_file", url,
                 rs.status);
        rc = -1;
    } else if (rs.status != 200) {
        llm_http_error_text(&rs, why, sizeof why);
        snprintf(err, errlen, "%s answered HTTP %ld: %s", url, rs.status, why);
        rc = -1;
    } else if (!st.finished) {
        snprintf(err, errlen, "%s: the stream ended without a finish_reason or [DONE] (truncated)",
                 url);
        rc = -1;
    }
    llm_sse_free(&st.sse);
    llm_http_resp_free(&rs);
    return rc;
}

static const char *openai_model_name(void *b) {
    return ((openai *)b)->model;
}

const llm_backend_ops llm_openai_ops = {
    .name = "openai",
    .create = openai_create,
    .destroy = openai_destroy,
    .load = openai_load,
    .unload = openai_unload,
    .chat = openai_chat,
    .model_name = openai_model_name,
};
