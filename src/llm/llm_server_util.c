/* Base URLs and request bodies for the server backends (see llm_server_util.h). */
#include "llm/llm_server_util.h"

#include <stdio.h>
#include <string.h>

int llm_base_url(const char *in, const char *default_url, int default_port, char *out,
                 size_t outlen, char *err, size_t errlen) {
    if (!in || !*in) in = default_url;
    const char *scheme = strstr(in, "://") ? "" : "http://";
    const char *hostpart = strstr(in, "://") ? strstr(in, "://") + 3 : in;
    if (strncmp(hostpart, "0.0.0.0", 7) == 0 &&
        (hostpart[7] == ':' || hostpart[7] == '/' || !hostpart[7])) {
        /* OLLAMA_HOST=0.0.0.0 tells the server where to listen; clients reach it on loopback. */
        int n = snprintf(out, outlen, "%s%.*s127.0.0.1%s", scheme, (int)(hostpart - in), in,
                         hostpart + 7);
        if (n < 0 || (size_t)n >= outlen) goto toolong;
    } else {
        int n = snprintf(out, outlen, "%s%s", scheme, in);
        if (n < 0 || (size_t)n >= outlen) goto toolong;
    }
    /* Port: look for ':' in the host part (after the scheme, before the path). */
    char *h = strstr(out, "://") + 3;
    size_t hl = strcspn(h, "/?#");
    int has_port = 0;
    if (h[0] == '[') { /* IPv6 literal */
        char *close = memchr(h, ']', hl);
        has_port = close && close[1] == ':';
    } else {
        has_port = memchr(h, ':', hl) != NULL;
    }
    if (!has_port && default_port > 0) {
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", h + hl);
        int n = snprintf(h + hl, outlen - (size_t)(h + hl - out), ":%d%s", default_port, rest);
        if (n < 0 || (size_t)n >= outlen - (size_t)(h + hl - out)) goto toolong;
    }
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '/')
        out[--len] = '\0';
    if (strncmp(out, "http://", 7) != 0 && strncmp(out, "https://", 8) != 0) {
        snprintf(err, errlen, "llm.url = '%s': only http:// and https:// URLs are supported", in);
        return -1;
    }
    return 0;
toolong:
    snprintf(err, errlen, "llm.url = '%.80s...': too long", in);
    return -1;
}

int llm_json_add_messages(cJSON *obj, const llm_message *msgs, size_t n) {
    cJSON *arr = cJSON_AddArrayToObject(obj, "messages");
    if (!arr) return -1;
    for (size_t i = 0; i < n; i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m) return -1;
        cJSON_AddItemToArray(arr, m);
        if (!cJSON_AddStringToObject(m, "role", msgs[i].role) ||
            !cJSON_AddStringToObject(m, "content", msgs[i].content))
            return -1;
    }
    return 0;
}
