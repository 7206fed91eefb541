/* Ollama backend: POST /api/chat with "stream": true; the answer arrives as NDJSON,
 * one JSON object per line, the last with "done": true.
 *
 * Loading (the governor's load) asks GET /api/tags whether the model is there, so a
 * typo in llm.model is reported once at start with the names the server does have,
 * rather than as a 404 in every turn. Unloading sends keep_alive 0 with no messages,
 * which makes Ollama drop the model from memory at once: when AXIOM's governor frees
 * the LLM under memory pressure, the server's copy goes too. */
#include "llm/llm_backend.h"
#include "llm/llm_http.h"
#include "llm/llm_server_util.h"
#include "llm/llm_stream.h"

#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const llm_settings *s;
    char base[1024];
    char model[256];
    char keep_alive[64];
} ollama;

static void *ollama_create(const llm_settings *s, char *err, size_t errlen) {
    const char *model = config_str(s->cfg, "llm.model");
    if (!*model) {
        snprintf(err, errlen,
                 "llm.model is empty: name the Ollama model to use (e.g. --set "
                 "llm.model=llama3.2:1b; `ollama list` shows what is installed)");
        return NULL;
    }
    ollama *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->s = s;
    str_copy(o->model, sizeof o->model, model);
    str_copy(o->keep_alive, sizeof o->keep_alive, config_str(s->cfg, "llm.keep_alive"));
    if (llm_base_url(config_str(s->cfg, "llm.url"), "http://127.0.0.1:11434", 11434, o->base,
                     sizeof o->base, err, errlen) != 0) {
        free(o);
        return NULL;
    }
    return o;
}

static void ollama_destroy(void *b) {
    free(b);
}

static int model_matches(const char *have, const char *want) {
    if (strcmp(have, want) == 0) return 1;
    /* "llama3.2" names "llama3.2:latest". */
    size_t wl = strlen(want);
    return !strchr(want, ':') && strncmp(have, want, wl) == 0 && strcmp(have + wl, ":latest") == 0;
}

static int ollama_load(void *b, char *err, size_t errlen) {
    ollama *o = b;
    char url[1100];
    snprintf(url, sizeof url, "%s/api/tags", o->base);
    int64_t t = o->s->first_token_timeout_ms < 5000 ? o->s->first_token_timeout_ms : 5000;
    llm_http_req rq = {.url = url, .timeout_ms = t, .max_body = 4u << 20};
    llm_http_resp rs;
    char why[384];
    if (llm_http_request(&rq, &rs, why, sizeof why) != 0) {
        snprintf(err, errlen,
                 "Ollama at %s: %s (start it with `ollama serve`, or set OLLAMA_HOST / llm.url)",
                 o->base, why);
        llm_http_resp_free(&rs);
        return -1;
    }
    int rc = -1;
    cJSON *j = NULL;
    if (rs.status != 200) {
        llm_http_error_text(&rs, why, sizeof why);
        snprintf(err, errlen, "Ollama at %s: GET /api/tags answered HTTP %ld: %s", o->base,
                 rs.status, why);
        goto out;
    }
    j = cJSON_ParseWithLength(rs.body ? rs.body : "", rs.body_len);
    const cJSON *models = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "models") : NULL;
    if (!cJSON_IsArray(models)) {
        snprintf(err, errlen,
                 "%s/api/tags did not answer like Ollama (no \"models\" list); is llm.url "
                 "an Ollama server?",
                 o->base);
        goto out;
    }
    char have[512] = "";
    size_t hl = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, models) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        if (!cJSON_IsString(name)) name = cJSON_GetObjectItemCaseSensitive(m, "model");
        if (!cJSON_IsString(name)) continue;
        if (model_matches(name->valuestring, o->model)) {
            rc = 0;
            break;
        }
        if (hl < sizeof have - 2)
            hl += (size_t)snprintf(have + hl, sizeof have - hl, "%s%s", hl ? ", " : "",
                                   name->valuestring);
        if (hl >= sizeof have) hl = sizeof have - 1;
    }
    if (rc != 0)
        snprintf(err, errlen,
                 "model '%s' is not on the Ollama server at %s; run `ollama pull %s` or set "
                 "llm.model to one it has (%s)",
                 o->model, o->base, o->model, hl ? have : "it has none");
out:
    cJSON_Delete(j);
    llm_http_resp_free(&rs);
    return rc;
}

static void ollama_unload(void *b) {
    ollama *o = b;
    char url[1100], body[400];
    snprintf(url, sizeof url, "%s/api/chat", o->base);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddArrayToObject(j, "messages");
    cJSON_AddNumberToObject(j, "keep_alive", 0);
    if (!cJSON_PrintPreallocated(j, body, sizeof body, 0)) body[0] = '\0';
    cJSON_Delete(j);
    if (!body[0]) return;
    llm_http_req rq = {.url = url, .body = body, .timeout_ms = 2000, .max_body = 65536};
    llm_http_resp rs;
    char why[384];
    if (llm_http_request(&rq, &rs, why, sizeof why) != 0)
        LOG_W("llm", "asking Ollama to unload '%s' failed: %s", o->model, why);
    else if (rs.status != 200)
        LOG_W("llm", "asking Ollama to unload '%s' failed: HTTP %ld", o->model, rs.status);
    llm_http_resp_free(&rs);
}

typedef struct {
    llm_call *call;
    llm_lines lines;
    int done, failed;
    char err[300];
} ollama_stream;

static int ollama_line(void *user, char *line, size_t len) {
    ollama_stream *st = user;
    if (len == 0) return 0;
    if (st->done) { /* nothing may follow the final line */
        snprintf(st->err, sizeof st->err, "malformed stream: data after the final line");
        st->failed = 1;
        return 1;
    }
    llm_chunk c;
    if (llm_ollama_chunk_parse(line, len, &c) != 0) {
        str_copy(st->err, sizeof st->err, c.error);
        st->failed = 1;
        llm_chunk_clear(&c);
        return 1;
    }
    int stop = 0;
    if (c.text_len) stop = llm_call_emit(st->call, c.text, c.text_len);
    if (c.done) {
        st->done = 1;
        if (c.prompt_tokens >= 0) llm_call_set_prompt_tokens(st->call, c.prompt_tokens);
        llm_call_finish(st->call, c.finish);
    }
    llm_chunk_clear(&c);
    return stop;
}

static int ollama_data(void *user, const char *data, size_t len) {
    ollama_stream *st = user;
    int64_t t0 = now_us();
    int rc = llm_lines_feed(&st->lines, data, len, ollama_line, st);
    if (rc < 0 && !st->failed) {
        snprintf(st->err, sizeof st->err, "malformed stream: a line longer than 1 MiB");
        st->failed = 1;
    }
    llm_call_add_overhead_us(st->call, now_us() - t0);
    return rc != 0;
}

static void add_keep_alive(cJSON *j, const char *ka) {
    const char *p = ka;
    if (*p == '-') p++;
    int numeric = *p != '\0';
    for (; *p; p++)
        if (!isdigit((unsigned char)*p)) numeric = 0;
    if (numeric)
        cJSON_AddNumberToObject(j, "keep_alive", atof(ka)); /* seconds */
    else
        cJSON_AddStringToObject(j, "keep_alive", ka); /* "5m", "1h" */
}

static int ollama_chat(void *b, const llm_message *msgs, size_t n, llm_call *call, char *err,
                       size_t errlen) {
    ollama *o = b;
    cJSON *j = cJSON_CreateObject();
    char *body = NULL;
    if (j && cJSON_AddStringToObject(j, "model", o->model) &&
        llm_json_add_messages(j, msgs, n) == 0 && cJSON_AddTrueToObject(j, "stream")) {
        add_keep_alive(j, o->keep_alive);
        cJSON *opt = cJSON_AddObjectToObject(j, "options");
        if (opt) {
            cJSON_AddNumberToObject(opt, "num_ctx", o->s->context_length);
            cJSON_AddNumberToObject(opt, "temperature", llm_call_temperature(call));
            cJSON_AddNumberToObject(opt, "num_predict", llm_call_max_tokens(call));
            body = cJSON_PrintUnformatted(j);
        }
    }
    cJSON_Delete(j);
    if (!body) {
        snprintf(err, errlen, "out of memory building the request");
        return -1;
    }
    char url[1100];
    snprintf(url, sizeof url, "%s/api/chat", o->base);
    ollama_stream st = {.call = call};
    llm_http_req rq = {.url = url,
                       .body = body,
                       .accept = "application/x-ndjson",
                       .call = call,
                       .on_data = ollama_data,
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
    } else if (rs.stopped) {
        rc = 0; /* cancelled, or max_tokens reached on our side */
    } else if (rs.status == 404) {
        llm_http_error_text(&rs, why, sizeof why);
        snprintf(err, errlen, "Ollama has no model '%s' (%s); run `ollama pull %s`", o->model, why,
                 o->model);
        rc = -1;
    } else if (rs.status != 200) {
        llm_http_error_text(&rs, why, sizeof why);
        snprintf(err, errlen, "%s answered HTTP %ld: %s", url, rs.status, why);
        rc = -1;
    } else if (!st.done) {
        snprintf(err, errlen,
                 "%s: the stream ended before its final \"done\": true line (truncated%s)", url,
                 llm_lines_pending(&st.lines) ? " mid-line" : "");
        rc = -1;
    }
    llm_lines_free(&st.lines);
    llm_http_resp_free(&rs);
    return rc;
}

static const char *ollama_model_name(void *b) {
    return ((ollama *)b)->model;
}

const llm_backend_ops llm_ollama_ops = {
    .name = "ollama",
    .create = ollama_create,
    .destroy = ollama_destroy,
    .load = ollama_load,
    .unload = ollama_unload,
    .chat = ollama_chat,
    .model_name = ollama_model_name,
};
