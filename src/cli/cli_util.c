#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

int cli_not_built(const char *name) {
    fprintf(stderr, "axiom %s: not built yet in this version\n", name);
    return 2;
}
