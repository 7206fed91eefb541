/* HTTP side of the server against a real in-process server on loopback: /health,
 * /api/status, /metrics, /api/ask input checks, static files with traversal refused,
 * the bearer token, and the refusal to listen off loopback without a token. */
#include "check.h"
#include "support/server_fixture.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char body[1 << 16];

static void test_health_status_metrics(void) {
    server_fixture f;
    char err[512];
    if (fixture_start(&f, NULL, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", NULL, NULL, body, sizeof body), 200);
    CHECK_CONTAINS(body, "\"status\":\"ok\"");

    CHECK_EQ_INT(http_request(f.port, "GET", "/api/status", NULL, NULL, body, sizeof body), 200);
    cJSON *st = cJSON_Parse(body);
    CHECK(st != NULL);
    CHECK(cJSON_IsString(cJSON_GetObjectItem(st, "mode")));
    cJSON *sess = cJSON_GetObjectItem(st, "sessions");
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(sess, "count")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(sess, "max")));
    cJSON *mem = cJSON_GetObjectItem(st, "memory");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(mem, "rss_bytes")) > 1e6);
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(st, "components")));
    cJSON_Delete(st);

    CHECK_EQ_INT(http_request(f.port, "GET", "/metrics", NULL, NULL, body, sizeof body), 200);
    CHECK_CONTAINS(body, "# TYPE axiom_turns_total counter");
    CHECK_CONTAINS(body, "axiom_turns_total{path=\"template\"}");
    CHECK_CONTAINS(body, "axiom_stage_latency_seconds_bucket{stage=\"turn\",le=\"+Inf\"}");
    CHECK_CONTAINS(body, "axiom_process_resident_memory_bytes ");
    CHECK_CONTAINS(body, "axiom_sessions 0");
    fixture_stop(&f);
}

static void test_ask_input_checks(void) {
    server_fixture f;
    char err[512];
    if (fixture_start(&f, NULL, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(http_request(f.port, "GET", "/api/ask", NULL, NULL, body, sizeof body), 405);
    CHECK_EQ_INT(http_request(f.port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                              "{\"txt\":1}", body, sizeof body),
                 400);
    CHECK_CONTAINS(body, "{\\\"text\\\"");
    CHECK_EQ_INT(http_request(f.port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                              "{\"text\":\"   \"}", body, sizeof body),
                 400);
    CHECK_CONTAINS(body, "empty");
    static char big[20000];
    memset(big, 'a', sizeof big - 1);
    CHECK_EQ_INT(http_request(f.port, "POST", "/api/ask", "Content-Type: application/json\r\n", big,
                              body, sizeof body),
                 413);
    /* A well-formed question gets an answer or an honest error, never a crash. */
    int st = http_request(f.port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                          "{\"text\":\"hello\"}", body, sizeof body);
    CHECK(st == 200 || st == 503);
    cJSON *o = cJSON_Parse(body);
    CHECK(o != NULL);
    if (st == 200)
        CHECK(cJSON_IsString(cJSON_GetObjectItem(o, "text")));
    else
        CHECK(cJSON_IsString(cJSON_GetObjectItem(o, "error")));
    cJSON_Delete(o);
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", NULL, NULL, body, sizeof body), 200);
    fixture_stop(&f);
}

static void test_static_files_and_traversal(void) {
    char dir[256], web[300], secret[300], p[400];
    if (tu_mkdtemp(dir, sizeof dir) != 0) {
        CHECK_MSG(0, "mkdtemp");
        return;
    }
    snprintf(web, sizeof web, "%s/web", dir);
    snprintf(p, sizeof p, "mkdir -p '%s/sub'", web);
    CHECK(system(p) == 0);
    snprintf(p, sizeof p, "%s/index.html", web);
    tu_write_file(p, "<html>axiom ui</html>");
    snprintf(p, sizeof p, "%s/sub/app.js", web);
    tu_write_file(p, "console.log(1)");
    snprintf(secret, sizeof secret, "%s/secret.txt", dir);
    tu_write_file(secret, "TOP-SECRET-CONTENT");
    snprintf(p, sizeof p, "%s/link.txt", web);
    CHECK(symlink(secret, p) == 0);

    char setting[400];
    snprintf(setting, sizeof setting, "server.web_dir=%s", web);
    const char *settings[] = {setting, NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        tu_rmtree(dir);
        return;
    }
    CHECK_EQ_INT(http_request(f.port, "GET", "/", NULL, NULL, body, sizeof body), 200);
    CHECK_CONTAINS(body, "axiom ui");
    CHECK_EQ_INT(http_request(f.port, "GET", "/sub/app.js", NULL, NULL, body, sizeof body), 200);
    CHECK_CONTAINS(body, "console.log");
    CHECK_EQ_INT(http_request(f.port, "GET", "/missing.js", NULL, NULL, body, sizeof body), 404);
    const char *attacks[] = {"/../secret.txt",
                             "/sub/../../secret.txt",
                             "/%2e%2e/secret.txt",
                             "/%2E%2E%2Fsecret.txt",
                             "/sub/..%2f..%2fsecret.txt",
                             "/..\\secret.txt",
                             "/link.txt",
                             "/sub/%2e%2e/%2e%2e/secret.txt"};
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        int st = http_request(f.port, "GET", attacks[i], NULL, NULL, body, sizeof body);
        CHECK_MSG(st == 403 || st == 404 || st == 400, "%s -> %d", attacks[i], st);
        CHECK_MSG(strstr(body, "TOP-SECRET") == NULL, "%s leaked the file", attacks[i]);
    }
    fixture_stop(&f);
    tu_rmtree(dir);
}

static void test_token(void) {
    const char *settings[] = {"server.auth_token=s3cret-token", NULL};
    server_fixture f;
    char err[512];
    if (fixture_start(&f, settings, err, sizeof err) != 0) {
        CHECK_MSG(0, "server start: %s", err);
        return;
    }
    CHECK_EQ_INT(http_request(f.port, "GET", "/health", NULL, NULL, body, sizeof body), 200);
    CHECK_EQ_INT(http_request(f.port, "GET", "/api/status", NULL, NULL, body, sizeof body), 401);
    CHECK_CONTAINS(body, "Bearer");
    CHECK_EQ_INT(http_request(f.port, "GET", "/metrics", "Authorization: Bearer wrong\r\n", NULL,
                              body, sizeof body),
                 401);
    CHECK_EQ_INT(http_request(f.port, "GET", "/api/status",
                              "Authorization: Bearer s3cret-token\r\n", NULL, body, sizeof body),
                 200);
    int st = 0;
    ws_client *c = ws_client_connect(f.port, "/ws", NULL, 3000, &st, err, sizeof err);
    CHECK(c == NULL);
    CHECK_EQ_INT(st, 401);
    c = ws_client_connect(f.port, "/ws?token=s3cret-token", NULL, 3000, &st, err, sizeof err);
    CHECK_MSG(c != NULL, "%s", err);
    ws_client_free(c);
    c = ws_client_connect(f.port, "/ws", "Authorization: Bearer s3cret-token\r\n", 3000, &st, err,
                          sizeof err);
    CHECK_MSG(c != NULL, "%s", err);
    ws_client_free(c);
    fixture_stop(&f);
}

static void test_non_loopback_needs_token(void) {
    const char *settings[] = {"server.host=0.0.0.0", NULL};
    server_fixture f;
    char err[512] = "";
    CHECK(fixture_start(&f, settings, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "server.auth_token");
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_health_status_metrics);
    RUN(test_ask_input_checks);
    RUN(test_static_files_and_traversal);
    RUN(test_token);
    RUN(test_non_loopback_needs_token);
    return CHECK_DONE(argv[0]);
}
