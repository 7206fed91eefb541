#include "core/engine.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>

const char *axiom_version(void) { return AXIOM_VERSION; }

axiom_engine *axiom_engine_new(const axiom_config *cfg, char *err, size_t errlen) {
    axiom_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = cfg;
    e->started_ms = now_ms();
    return e;
}

void axiom_engine_free(axiom_engine *e) {
    if (!e) return;
    free(e);
}
