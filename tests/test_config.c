/* Configuration: precedence flag > env > file > default, origins, and errors that
 * name the key, the value and what is allowed. */
#include "check.h"
#include "core/config.h"
#include "support/testutil.h"

#include <stdlib.h>

static char dir[256];

static void test_defaults(void) {
    axiom_config *c = config_new();
    CHECK_STR(config_str(c, "server.host"), "127.0.0.1");
    CHECK_EQ_INT(config_int(c, "server.port"), 8000);
    CHECK_EQ_INT(config_int(c, "context_length"), 2048);
    CHECK_EQ_INT(config_int(c, "history_turns"), 5);
    CHECK(config_double(c, "template_threshold") == 0.88);
    CHECK_STR(config_str(c, "mode"), "full");
    CHECK_EQ_INT(config_source_of(c, "server.port"), CFG_DEFAULT);
    config_free(c);
}

static void test_precedence(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/axiom.conf", dir);
    CHECK(tu_write_file(path,
                        "# comment\nhistory_turns = 3\n[server]\nport = 9001\nhost = 127.0.0.2\n"
                        "[llm]\nmodel = \"tiny\"\n") == 0);
    setenv("AXIOM_SERVER_PORT", "9002", 1);
    setenv("AXIOM_CONTEXT_LENGTH", "4096", 1);
    char a0[] = "axiom", a1[] = "--config", a3[] = "ask", a4[] = "--port", a5[] = "9003",
         a6[] = "hello", a7[] = "--template-only", a8[] = "--json";
    char *argv[] = {a0, a1, path, a3, a4, a5, a6, a7, a8, NULL};
    int argc = 9;
    axiom_config *c = config_new();
    CHECK_MSG(config_load_all(c, &argc, argv, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(config_int(c, "server.port"), 9003); /* flag wins */
    CHECK_EQ_INT(config_source_of(c, "server.port"), CFG_FLAG);
    CHECK_EQ_INT(config_int(c, "context_length"), 4096); /* env over default */
    CHECK_STR(config_origin_of(c, "context_length"), "env AXIOM_CONTEXT_LENGTH");
    CHECK_STR(config_str(c, "server.host"), "127.0.0.2"); /* file over default */
    CHECK_EQ_INT(config_int(c, "history_turns"), 3);
    CHECK_CONTAINS(config_origin_of(c, "history_turns"), "axiom.conf:2");
    CHECK_STR(config_str(c, "llm.model"), "tiny");
    CHECK_STR(config_str(c, "mode"), "template-only");
    /* The subcommand keeps its own words, in order. */
    CHECK_EQ_INT(argc, 4);
    CHECK_STR(argv[1], "ask");
    CHECK_STR(argv[2], "hello");
    CHECK_STR(argv[3], "--json");
    config_free(c);
    unsetenv("AXIOM_SERVER_PORT");
    unsetenv("AXIOM_CONTEXT_LENGTH");
}

static void test_env_beats_file(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/env.conf", dir);
    CHECK(tu_write_file(path, "server.port = 9100\n") == 0);
    setenv("AXIOM_SERVER_PORT", "9101", 1);
    axiom_config *c = config_new();
    CHECK(config_load_file(c, path, err, sizeof err) == 0);
    CHECK(config_apply_env(c, err, sizeof err) == 0);
    CHECK_EQ_INT(config_int(c, "server.port"), 9101);
    unsetenv("AXIOM_SERVER_PORT");
    /* A weaker source never replaces a stronger one. */
    CHECK(config_set(c, "server.port", "9102", CFG_FILE, "late file", err, sizeof err) == 0);
    CHECK_EQ_INT(config_int(c, "server.port"), 9101);
    config_free(c);
}

static void test_errors_name_key_value_and_allowed(void) {
    char path[512], err[512];
    axiom_config *c = config_new();
    CHECK(config_set(c, "server.port", "70000", CFG_FLAG, NULL, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "server.port");
    CHECK_CONTAINS(err, "70000");
    CHECK_CONTAINS(err, "0 to 65535"); /* 0: no HTTP server (the Wyoming service alone) */
    CHECK(config_set(c, "mode", "turbo", CFG_FLAG, NULL, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "full|skip-llm|template-only");
    CHECK(config_set(c, "template_threshold", "nan", CFG_FLAG, NULL, err, sizeof err) != 0);
    CHECK(config_set(c, "server.barge_in", "maybe", CFG_FLAG, NULL, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "true or false");
    CHECK(config_set(c, "no.such.key", "1", CFG_FLAG, NULL, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "unknown setting 'no.such.key'");

    snprintf(path, sizeof path, "%s/bad.conf", dir);
    CHECK(tu_write_file(path, "[server]\nport = 8000\nprot = 8001\n") == 0);
    CHECK(config_load_file(c, path, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "bad.conf:3");
    CHECK_CONTAINS(err, "server.prot");
    CHECK(tu_write_file(path, "just words\n") == 0);
    CHECK(config_load_file(c, path, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "expected key = value");
    CHECK(config_load_file(c, "/nonexistent/axiom.conf", err, sizeof err) != 0);
    CHECK_CONTAINS(err, "/nonexistent/axiom.conf");

    setenv("AXIOM_HISTORY_TURNS", "-1", 1);
    CHECK(config_apply_env(c, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "AXIOM_HISTORY_TURNS");
    unsetenv("AXIOM_HISTORY_TURNS");

    char a0[] = "axiom", a1[] = "--port";
    char *argv[] = {a0, a1, NULL};
    int argc = 2;
    CHECK(config_apply_args(c, &argc, argv, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "--port needs a value");
    config_free(c);
}

/* The file reader (libinih underneath): indented keys under a section, a comment at
 * the end of a line, CRLF line ends and quotes; every kind of bad line is an error
 * naming the file and that line, and the first one stops reading. */
static void test_file_syntax_and_error_lines(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/lines.conf", dir);
    CHECK(tu_write_file(path, "; AXIOM\r\n\r\n[server]\r\n  port = 9200 ; the usual one\r\n"
                              "  host = '127.0.0.3'\r\n[ llm ]\n\tmodel = \"a b\"\n# done\n") == 0);
    axiom_config *c = config_new();
    CHECK_MSG(config_load_file(c, path, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(config_int(c, "server.port"), 9200);
    CHECK_STR(config_str(c, "server.host"), "127.0.0.3");
    CHECK_STR(config_str(c, "llm.model"), "a b");
    CHECK_CONTAINS(config_origin_of(c, "server.host"), "lines.conf:5");
    CHECK_CONTAINS(config_origin_of(c, "llm.model"), "lines.conf:7");
    config_free(c);

    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"# one\n\n[server]\n  port = 8000\n  max_sesions = 3\n", "bad.conf:5",
         "server.max_sesions"},
        {"[vad]\nsilence_ms = 300\n\nsilence_ms = 10\n", "bad.conf:4", "vad.silence_ms = '10'"},
        {"history_turns = 2\nnot a setting\n", "bad.conf:2", "expected key = value"},
        {"[server\nport = 1\n", "bad.conf:1", "expected key = value or [section]"},
        {"[server]\nport = 1\nport = x\nnot a setting\n", "bad.conf:3", "server.port = 'x'"},
        {"a = 1\n", "bad.conf:1", "unknown setting 'a'"},
    };
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(tu_write_file(path, bad[i].text) == 0);
        c = config_new();
        err[0] = '\0';
        CHECK_MSG(config_load_file(c, path, err, sizeof err) != 0, "case %zu loaded", i);
        CHECK_CONTAINS(err, bad[i].where);
        CHECK_CONTAINS(err, bad[i].what);
        config_free(c);
    }
    /* The first error stops reading: the key after it is not applied. */
    CHECK(tu_write_file(path, "history_turns = 200\nhistory_turns = 7\n") == 0);
    c = config_new();
    CHECK(config_load_file(c, path, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "bad.conf:1");
    CHECK_EQ_INT(config_int(c, "history_turns"), 5);
    config_free(c);
    /* A line longer than the reader's buffer is refused, not cut in two. */
    char text[1200];
    snprintf(text, sizeof text, "server.port = 8000\nllm.model = %0900d\n", 7);
    CHECK(tu_write_file(path, text) == 0);
    c = config_new();
    CHECK(config_load_file(c, path, err, sizeof err) != 0);
    CHECK_CONTAINS(err, "bad.conf:2");
    CHECK_CONTAINS(err, "longer than");
    CHECK_STR(config_str(c, "llm.model"), "");
    config_free(c);
}

static void test_secrets_not_printed(void) {
    char err[256];
    axiom_config *c = config_new();
    CHECK(config_set(c, "llm.api_key", "sk-very-secret", CFG_ENV, NULL, err, sizeof err) == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    config_print(c, f);
    fclose(f);
    CHECK(strstr(buf, "sk-very-secret") == NULL);
    CHECK_CONTAINS(buf, "llm.api_key");
    CHECK_CONTAINS(buf, "(set)");
    free(buf);
    config_free(c);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(dir, sizeof dir) != 0) return 1;
    RUN(test_defaults);
    RUN(test_precedence);
    RUN(test_env_beats_file);
    RUN(test_errors_name_key_value_and_allowed);
    RUN(test_file_syntax_and_error_lines);
    RUN(test_secrets_not_printed);
    tu_rmtree(dir);
    return CHECK_DONE(argv[0]);
}
