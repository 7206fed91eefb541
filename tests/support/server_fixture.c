#include "server_fixture.h"

#include "core/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int fixture_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

int fixture_start(server_fixture *f, const char *const *settings, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    f->cfg = config_new();
    if (!f->cfg) return -1;
    char port[16];
    snprintf(port, sizeof port, "%d", fixture_free_port());
    if (config_set(f->cfg, "server.port", port, CFG_FLAG, "test", err, errlen) != 0) goto fail;
    if (config_set(f->cfg, "log_level", "warn", CFG_FLAG, "test", err, errlen) != 0) goto fail;
    for (const char *const *s = settings; s && *s; s++) {
        char k[128];
        const char *eq = strchr(*s, '=');
        if (!eq || (size_t)(eq - *s) >= sizeof k) goto fail;
        memcpy(k, *s, (size_t)(eq - *s));
        k[eq - *s] = '\0';
        if (config_set(f->cfg, k, eq + 1, CFG_FLAG, "test", err, errlen) != 0) goto fail;
    }
    ax_log_level lvl = AX_LOG_WARN;
    log_parse_level(config_str(f->cfg, "log_level"), &lvl);
    log_set_level(lvl);
    f->engine = axiom_engine_new(f->cfg, err, errlen);
    if (!f->engine) goto fail;
    f->srv = server_start(f->engine, f->cfg, err, errlen);
    if (!f->srv) goto fail;
    f->port = server_port(f->srv);
    return 0;
fail:
    fixture_stop(f);
    return -1;
}

void fixture_stop(server_fixture *f) {
    server_stop(f->srv);
    axiom_engine_free(f->engine);
    config_free(f->cfg);
    memset(f, 0, sizeof *f);
}
