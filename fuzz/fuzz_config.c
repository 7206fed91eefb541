/* The configuration file parser: any bytes give a value or an error, never a crash. */
#include "core/config.h"
#include "core/log.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    axiom_config *cfg = config_new();
    char err[512];
    const char *path = fuzz_file(data, size, ".conf");
    if (config_load_file(cfg, path, err, sizeof err) != 0 && !err[0]) abort();
    config_free(cfg);
    return 0;
}
