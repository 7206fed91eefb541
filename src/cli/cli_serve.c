/* axiom serve: runs the server until SIGINT or SIGTERM. */
#include "cli/cli.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

int cmd_serve(const axiom_config *cfg, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf(
            "usage: axiom serve [--host ADDR] [--port N] [--data DIR] "
            "[--template-only|--skip-llm]\n"
            "                   [--wyoming.port N] [--wyoming.host ADDR]\n"
            "Serves the browser UI at / and the voice protocol at /ws until interrupted;\n"
            "with --wyoming.port N (10300 is usual) also the Wyoming protocol for Home Assistant.\n"
            "--port 0 turns the HTTP server off (the Wyoming service alone).\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "axiom serve: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    /* Handlers first: a stop request that arrives while the engine or the listener is
     * starting must still end in an orderly shutdown, not a kill. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char err[512];
    axiom_engine *engine = axiom_engine_new(cfg, err, sizeof err);
    if (!engine) {
        fprintf(stderr, "axiom serve: %s\n", err);
        return 1;
    }
    axiom_server *srv = server_start(engine, cfg, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "axiom serve: %s\n", err);
        axiom_engine_free(engine);
        return 1;
    }
    if (server_port(srv))
        printf("AXIOM is listening: http://%s:%d/\n", config_str(cfg, "server.host"),
               server_port(srv));
    if (server_wyoming_port(srv))
        printf(
            "AXIOM Wyoming service: tcp://%s:%d (Home Assistant: Wyoming Protocol integration)\n",
            config_str(cfg, "wyoming.host"), server_wyoming_port(srv));
    fflush(stdout);
    /* A bounded sleep, not pause(): a signal landing between the test and the wait
     * would leave pause() waiting forever. The signal cuts the sleep short anyway. */
    while (!stop_requested) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    server_stop(srv);
    axiom_engine_free(engine);
    return 0;
}
