/* The axiom binary as a user meets it: help, version, --print-config with origins,
 * configuration errors, and serve answering /health on loopback. */
#include "check.h"
#include "support/testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[65536], err[65536];

static void test_help_lists_subcommands(void) {
    CHECK_EQ_INT(tu_run_axiom(NULL, "--help", out, sizeof out, err, sizeof err), 0);
    const char *cmds[] = {"serve", "ask", "chat", "transcribe", "say", "doctor", "bench", "eval"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        CHECK_CONTAINS(out, cmds[i]);
    CHECK_EQ_INT(tu_run_axiom(NULL, "--version", out, sizeof out, err, sizeof err), 0);
    CHECK_CONTAINS(out, "axiom ");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        CHECK_EQ_INT(tu_run_axiom(NULL, args, out, sizeof out, err, sizeof err), 0);
        CHECK_CONTAINS(out, cmds[i]);
    }
    CHECK_EQ_INT(tu_run_axiom(NULL, "frobnicate", out, sizeof out, err, sizeof err), 2);
    CHECK_CONTAINS(err, "unknown command 'frobnicate'");
}

static void test_print_config_origins(void) {
    char dir[256], conf[512], args[1024];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    snprintf(conf, sizeof conf, "%s/axiom.conf", dir);
    CHECK(tu_write_file(conf, "[server]\nport = 8100\n[vad]\nthreshold = 0.4\n") == 0);
    snprintf(args, sizeof args, "--config '%s' --skip-llm --print-config", conf);
    CHECK_EQ_INT(tu_run_axiom("AXIOM_VAD_THRESHOLD=0.6 AXIOM_CONTEXT_LENGTH=1024", args, out,
                              sizeof out, err, sizeof err),
                 0);
    CHECK_CONTAINS(out, "server.port");
    CHECK_CONTAINS(out, "8100");
    CHECK_CONTAINS(out, "axiom.conf:2");
    CHECK_CONTAINS(out, "0.6");
    CHECK_CONTAINS(out, "env AXIOM_VAD_THRESHOLD");
    CHECK_CONTAINS(out, "env AXIOM_CONTEXT_LENGTH");
    CHECK_CONTAINS(out, "skip-llm");
    CHECK_CONTAINS(out, "flag --skip-llm");
    /* Errors: exit 2 and the message names the key and what is allowed. */
    CHECK_EQ_INT(
        tu_run_axiom("AXIOM_SERVER_PORT=http", "--print-config", out, sizeof out, err, sizeof err),
        2);
    CHECK_CONTAINS(err, "AXIOM_SERVER_PORT");
    CHECK_CONTAINS(err, "0 to 65535");
    CHECK_EQ_INT(tu_run_axiom(NULL, "--mode fast --print-config", out, sizeof out, err, sizeof err),
                 2);
    CHECK_CONTAINS(err, "full|skip-llm|template-only");
    tu_rmtree(dir);
}

static void test_serve_health(void) {
    const char *bin = getenv("AXIOM_BIN");
    if (!bin) SKIP("AXIOM_BIN not set");
    int port = 18000 + (int)(getpid() % 2000);
    char portarg[16];
    snprintf(portarg, sizeof portarg, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(bin, bin, "serve", "--port", portarg, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "for i in $(seq 50); do curl -sf http://127.0.0.1:%d/health && exit 0; sleep 0.1; "
             "done; exit 1",
             port);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int rc = p ? pclose(p) : -1;
    CHECK_EQ_INT(rc, 0);
    CHECK_CONTAINS(out, "\"status\":\"ok\"");
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_help_lists_subcommands);
    RUN(test_print_config_origins);
    RUN(test_serve_health);
    return CHECK_DONE(argv[0]);
}
