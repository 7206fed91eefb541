#include "cli/cli.h"

#include <stdio.h>

int cmd_ask(const axiom_config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_wants_help(argc, argv)) {
        printf("usage: axiom ask ... (not built yet in this version)\n");
        return 0;
    }
    return cli_not_built("ask");
}

int cmd_chat(const axiom_config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_wants_help(argc, argv)) {
        printf("usage: axiom chat ... (not built yet in this version)\n");
        return 0;
    }
    return cli_not_built("chat");
}
