#include "cli/cli.h"

#include <stdio.h>

int cmd_transcribe(const axiom_config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_wants_help(argc, argv)) {
        printf("usage: axiom transcribe ... (not built yet in this version)\n");
        return 0;
    }
    return cli_not_built("transcribe");
}

int cmd_say(const axiom_config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_wants_help(argc, argv)) {
        printf("usage: axiom say ... (not built yet in this version)\n");
        return 0;
    }
    return cli_not_built("say");
}

