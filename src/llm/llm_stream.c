/* Line splitting, Server-Sent Events and the two chunk formats (see llm_stream.h).
 * The readers never trust the peer: every field is type-checked, sizes are bounded,
 * and anything unexpected becomes an error message rather than a crash or a guess. */
#include "llm/llm_stream.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE_DEFAULT (1u << 20)

static int grow(char **buf, size_t *cap, size_t need, size_t max) {
    if (need <= *cap) return 0;
    if (need > max + 1) return -1;
    size_t nc = *cap ? *cap : 256;
    while (nc < need)
        nc *= 2;
    if (nc > max + 1) nc = max + 1;
    char *nb = realloc(*buf, nc);
    if (!nb) return -1;
    *buf = nb;
    *cap = nc;
    return 0;
}

int llm_lines_feed(llm_lines *l, const char *data, size_t n, llm_line_fn fn, void *user) {
    size_t max = l->max_line ? l->max_line : MAX_LINE_DEFAULT;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (l->len + take > max) return -1;
        if (grow(&l->buf, &l->cap, l->len + take + 1, max) != 0) return -1;
        memcpy(l->buf + l->len, data, take);
        l->len += take;
        data += take;
        n -= take;
        if (!nl) break;
        data++; /* the '\n' */
        n--;
        size_t len = l->len;
        if (len > 0 && l->buf[len - 1] == '\r') len--;
        l->buf[len] = '\0';
        l->len = 0;
        int rc = fn(user, l->buf, len);
        if (rc) return rc;
    }
    return 0;
}

size_t llm_lines_pending(const llm_lines *l) {
    return l->len;
}

void llm_lines_free(llm_lines *l) {
    free(l->buf);
    l->buf = NULL;
    l->len = l->cap = 0;
}

/* ---- Server-Sent Events ---- */

void llm_sse_init(llm_sse *s, llm_event_fn fn, void *user) {
    memset(s, 0, sizeof *s);
    s->on_event = fn;
    s->user = user;
}

static int sse_line(void *user, char *line, size_t len) {
    llm_sse *s = user;
    if (len == 0) { /* blank line: dispatch the event, if it carried data */
        if (!s->has_data) return 0;
        s->has_data = 0;
        size_t n = s->len;
        s->len = 0;
        s->data[n] = '\0';
        return s->on_event(s->user, s->data, n);
    }
    if (line[0] == ':') return 0; /* comment, e.g. a keep-alive ping */
    char *colon = memchr(line, ':', len);
    size_t fl = colon ? (size_t)(colon - line) : len;
    if (fl != 4 || memcmp(line, "data", 4) != 0) return 0; /* event:, id:, retry: unused */
    const char *v = colon ? colon + 1 : line + len;
    size_t vl = colon ? len - fl - 1 : 0;
    if (vl > 0 && *v == ' ') v++, vl--;
    size_t need = s->len + (s->has_data ? 1 : 0) + vl + 1;
    if (grow(&s->data, &s->cap, need, MAX_LINE_DEFAULT) != 0) return -1;
    if (s->has_data) s->data[s->len++] = '\n';
    memcpy(s->data + s->len, v, vl);
    s->len += vl;
    s->has_data = 1;
    return 0;
}

int llm_sse_feed(llm_sse *s, const char *data, size_t n) {
    return llm_lines_feed(&s->lines, data, n, sse_line, s);
}

void llm_sse_free(llm_sse *s) {
    llm_lines_free(&s->lines);
    free(s->data);
    s->data = NULL;
    s->len = s->cap = 0;
}

/* ---- chunk readers ---- */

static void chunk_reset(llm_chunk *out) {
    memset(out, 0, sizeof *out);
    out->prompt_tokens = -1;
    out->finish = LLM_FINISH_STOP;
}

void llm_chunk_clear(llm_chunk *c) {
    cJSON_Delete(c->json_);
    c->json_ = NULL;
    c->text = NULL;
    c->text_len = 0;
}

static int malformed(llm_chunk *out, const char *what, const char *json, size_t len) {
    int show = len > 80 ? 80 : (int)len;
    snprintf(out->error, sizeof out->error, "malformed stream: %s in '%.*s%s'", what, show, json,
             len > 80 ? "..." : "");
    return -1;
}

static cJSON *parse_object(const char *json, size_t len, llm_chunk *out) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        malformed(out, "not a JSON object", json, len);
        return NULL;
    }
    out->json_ = root;
    return root;
}

static void set_text(llm_chunk *out, const cJSON *s) {
    if (cJSON_IsString(s) && s->valuestring) {
        out->text = s->valuestring;
        out->text_len = strlen(s->valuestring);
    }
}

static llm_finish finish_from(const char *reason) {
    return reason && strcmp(reason, "length") == 0 ? LLM_FINISH_LENGTH : LLM_FINISH_STOP;
}

int llm_ollama_chunk_parse(const char *json, size_t len, llm_chunk *out) {
    chunk_reset(out);
    cJSON *root = parse_object(json, len, out);
    if (!root) return -1;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (e) {
        snprintf(out->error, sizeof out->error, "server error: %s",
                 cJSON_IsString(e) ? e->valuestring : "(unreadable error object)");
        return -1;
    }
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(root, "done");
    if (!cJSON_IsBool(done)) return malformed(out, "no boolean 'done'", json, len);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (msg) {
        if (!cJSON_IsObject(msg)) return malformed(out, "'message' is not an object", json, len);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (c && !cJSON_IsString(c)) return malformed(out, "'content' is not a string", json, len);
        set_text(out, c);
    } else if (!cJSON_IsTrue(done)) {
        return malformed(out, "no 'message'", json, len);
    }
    if (cJSON_IsTrue(done)) {
        out->done = 1;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "done_reason");
        out->finish = finish_from(cJSON_IsString(r) ? r->valuestring : NULL);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt_eval_count");
        if (cJSON_IsNumber(p) && p->valuedouble >= 0 && p->valuedouble < 1e9)
            out->prompt_tokens = p->valueint;
    }
    return 0;
}

int llm_openai_chunk_parse(const char *json, size_t len, llm_chunk *out) {
    chunk_reset(out);
    if (len == 6 && memcmp(json, "[DONE]", 6) == 0) {
        out->done = 1;
        return 0;
    }
    cJSON *root = parse_object(json, len, out);
    if (!root) return -1;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (e) {
        const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
        snprintf(out->error, sizeof out->error, "server error: %s",
                 cJSON_IsString(m) ? m->valuestring : "(unreadable error object)");
        return -1;
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
    const cJSON *pt =
        cJSON_IsObject(u) ? cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens") : NULL;
    if (cJSON_IsNumber(pt) && pt->valuedouble >= 0 && pt->valuedouble < 1e9)
        out->prompt_tokens = pt->valueint;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (!cJSON_IsArray(choices)) return malformed(out, "no 'choices' array", json, len);
    const cJSON *c0 = cJSON_GetArrayItem(choices, 0);
    if (!c0) return 0; /* a usage-only chunk carries no choice */
    if (!cJSON_IsObject(c0)) return malformed(out, "a choice is not an object", json, len);
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
    if (delta && !cJSON_IsObject(delta) && !cJSON_IsNull(delta))
        return malformed(out, "'delta' is not an object", json, len);
    const cJSON *content =
        cJSON_IsObject(delta) ? cJSON_GetObjectItemCaseSensitive(delta, "content") : NULL;
    if (content && !cJSON_IsString(content) && !cJSON_IsNull(content))
        return malformed(out, "'content' is not a string", json, len);
    set_text(out, content);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(c0, "finish_reason");
    if (cJSON_IsString(fr)) {
        out->done = 1;
        out->finish = finish_from(fr->valuestring);
    }
    return 0;
}
