#include "cli/cli.h"

#include <stdio.h>

int cmd_eval(const axiom_config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_wants_help(argc, argv)) {
        printf("usage: axiom eval ... (not built yet in this version)\n");
        return 0;
    }
    return cli_not_built("eval");
}
