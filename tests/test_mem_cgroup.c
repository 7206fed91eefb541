/* The governor under a real memory cgroup on this machine's kernel.
 *
 * A child process joins a fresh memory cgroup (v1 memory.limit_in_bytes, or v2
 * memory.max where the v2 memory controller is available) created under this
 * process's own cgroup, and:
 *   1. runs the governor directly with components holding real memory: the LLM does
 *      not fit the limit and is skipped (degraded mode), then the child allocates real
 *      memory until the governor reports warn and then critical (new sessions refused,
 *      loaded components still served), frees it and sees the governor recover. The
 *      kernel must not OOM-kill it (memory.oom_control / memory.events say so).
 *   2. execs `axiom serve` with an LLM too big for the limit: it starts in a degraded
 *      mode and answers GET /health, /api/status and typed questions (POST /api/ask);
 *      a voice session is opened; then a second process in the same cgroup takes
 *      memory until the server's governor is critical: a new /ws session is refused
 *      with close 1013 and a clear reason and a typed ask with 503, the open session
 *      is still served; the other process exits and the server recovers and
 *      admits sessions again.
 * Skips with the reason when no memory cgroup can be created (not root, read-only
 * cgroupfs, no memory controller). */
#include "check.h"
#include "core/config.h"
#include "core/util.h"
#include "mem/governor.h"
#include "mem/memstat.h"
#include "support/testutil.h"
#include "support/ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024 * 1024)

typedef struct {
    int version;
    char dir[768];
    char why_not[1200];
} test_cgroup;

static int write_file(const char *dir, const char *name, const char *text) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int64_t read_key(const char *dir, const char *file, const char *key) {
    char p[1024], line[256];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    int64_t v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') v = strtoll(line + kl + 1, NULL, 10);
    fclose(f);
    return v;
}

/* Creates <own cgroup>/axiom-test-<pid>-<tag> with the limit. */
static int cgroup_make(test_cgroup *cg, const char *tag, int64_t limit) {
    memset(cg, 0, sizeof *cg);
    memstat_cgroup own;
    memstat_cgroup_read("", &own);
    char lim[32];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    if (own.version == 1) {
        snprintf(cg->dir, sizeof cg->dir, "%s/axiom-test-%d-%s", own.dir, (int)getpid(), tag);
        if (mkdir(cg->dir, 0755) != 0) {
            snprintf(cg->why_not, sizeof cg->why_not, "cannot create a v1 memory cgroup %s: %s",
                     cg->dir, strerror(errno));
            return -1;
        }
        if (write_file(cg->dir, "memory.limit_in_bytes", lim) != 0) {
            snprintf(cg->why_not, sizeof cg->why_not, "cannot set memory.limit_in_bytes: %s",
                     strerror(errno));
            rmdir(cg->dir);
            return -1;
        }
        cg->version = 1;
        return 0;
    }
    if (own.version == 2) {
        snprintf(cg->dir, sizeof cg->dir, "%s/axiom-test-%d-%s", own.dir, (int)getpid(), tag);
        if (mkdir(cg->dir, 0755) != 0 || write_file(cg->dir, "memory.max", lim) != 0) {
            snprintf(cg->why_not, sizeof cg->why_not,
                     "cannot create a v2 memory cgroup with memory.max under %s: %s", own.dir,
                     strerror(errno));
            rmdir(cg->dir);
            return -1;
        }
        write_file(cg->dir, "memory.swap.max", "0");
        cg->version = 2;
        return 0;
    }
    snprintf(cg->why_not, sizeof cg->why_not,
             "no memory cgroup controller is mounted (neither v1 memory nor v2 with memory)");
    return -1;
}

static int cgroup_join(const test_cgroup *cg) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    return write_file(cg->dir, "cgroup.procs", pid);
}

static int64_t cgroup_oom_kills(const test_cgroup *cg) {
    return cg->version == 1 ? read_key(cg->dir, "memory.oom_control", "oom_kill")
                            : read_key(cg->dir, "memory.events", "oom_kill");
}

static void cgroup_remove(test_cgroup *cg) {
    for (int i = 0; i < 50 && rmdir(cg->dir) != 0 && errno == EBUSY; i++)
        usleep(20000);
}

/* ---- 1: the governor in a 128 MiB cgroup with real allocations ----------------------- */

typedef struct {
    const char *name;
    int order;
    size_t bytes;
    char *mem;
} part;

static int part_load(void *ctx, char *err, size_t errlen) {
    part *p = ctx;
    void *m = mmap(NULL, p->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %zu MiB", p->bytes / MIB);
        return -1;
    }
    memset(m, 3, p->bytes);
    p->mem = m;
    return 0;
}

static void part_unload(void *ctx) {
    part *p = ctx;
    munmap(p->mem, p->bytes);
    p->mem = NULL;
}

#define SAY(...) (printf(__VA_ARGS__), fflush(stdout))

/* The child's side; exit status 0 when every expectation held, else the step. */
static int governed_child(void) {
    part parts[] = {{"intent", 10, 2u * MIB, NULL}, {"index", 10, 2u * MIB, NULL},
                    {"vad", 20, 4u * MIB, NULL},    {"stt", 30, 8u * MIB, NULL},
                    {"tts", 40, 4u * MIB, NULL},    {"llm", 90, 256u * MIB, NULL}};
    enum { N = 6 };
    axiom_component *c[N];
    char err[256];
    axiom_config *cfg = config_new();
    config_set(cfg, "log_level", "warn", CFG_FLAG, "test", err, sizeof err);
    governor *g = governor_new(cfg, err, sizeof err);
    if (!g) return 10;
    for (int i = 0; i < N; i++) {
        component_desc d = {.name = parts[i].name,
                            .load_order = parts[i].order,
                            .load = part_load,
                            .unload = part_unload,
                            .ctx = &parts[i]};
        c[i] = component_new(&d);
        governor_add(g, c[i], (int64_t)parts[i].bytes, err, sizeof err);
    }
    int rc = 0;
    int n = governor_preload(g);
    governor_reading r;
    governor_last_reading(g, &r);
    SAY("preloaded %d of %d; budget %lld MiB from %s; mode %s\n", n, N, (long long)(r.budget / MIB),
        r.budget_source, governor_mode_name(governor_effective_mode(g)));
    if (n != N - 1 || component_is_loaded(c[5])) rc = rc ? rc : 11;
    if (governor_effective_mode(g) != GOV_MODE_SKIP_LLM) rc = rc ? rc : 12;
    if (strncmp(r.budget_source, "cgroup", 6) != 0) rc = rc ? rc : 13;
    if (governor_check(g) != GOV_LEVEL_OK) rc = rc ? rc : 14;

    /* Allocate 2 MiB at a time (touched, so charged) until the governor says critical. */
    enum { MAXCH = 128 };
    char *chunk[MAXCH];
    int nch = 0, saw_warn = 0;
    governor_level lvl = GOV_LEVEL_OK;
    while (nch < MAXCH && lvl != GOV_LEVEL_CRITICAL) {
        chunk[nch] =
            mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (chunk[nch] == MAP_FAILED) break;
        memset(chunk[nch], 9, 2 * MIB);
        nch++;
        lvl = governor_check(g);
        if (lvl == GOV_LEVEL_WARN && !saw_warn) {
            saw_warn = 1;
            governor_last_reading(g, &r);
            SAY("warn after %d MiB: use %.1f%%\n", nch * 2, r.use_pct);
        }
    }
    governor_last_reading(g, &r);
    SAY("level %s after %d MiB extra: use %.1f%% of %lld MiB\n", governor_level_name(lvl), nch * 2,
        r.use_pct, (long long)(r.budget / MIB));
    if (!saw_warn) rc = rc ? rc : 15;
    if (lvl != GOV_LEVEL_CRITICAL) rc = rc ? rc : 16;
    if (governor_admit_session(g, err, sizeof err) != -1) rc = rc ? rc : 17;
    SAY("new session: %s\n", err);
    if (governor_effective_mode(g) != GOV_MODE_TEMPLATE_ONLY) rc = rc ? rc : 18;
    /* Existing work is served: a loaded component can still be acquired. */
    if (component_acquire(c[3], err, sizeof err) != 0)
        rc = rc ? rc : 19;
    else
        component_release(c[3]);

    while (nch > 0 && governor_check(g) != GOV_LEVEL_OK)
        munmap(chunk[--nch], 2 * MIB);
    governor_last_reading(g, &r);
    SAY("recovered to %s with %d MiB extra still held: use %.1f%%\n",
        governor_level_name(governor_get_level(g)), nch * 2, r.use_pct);
    if (governor_get_level(g) != GOV_LEVEL_OK) rc = rc ? rc : 20;
    if (governor_admit_session(g, err, sizeof err) != 0) rc = rc ? rc : 21;
    if (governor_effective_mode(g) != GOV_MODE_SKIP_LLM) rc = rc ? rc : 22;
    while (nch > 0)
        munmap(chunk[--nch], 2 * MIB);
    governor_free(g);
    for (int i = 0; i < N; i++)
        component_free(c[i]);
    config_free(cfg);
    return rc;
}

static void test_governor_in_small_cgroup(void) {
    test_cgroup cg;
    int64_t limit = (getenv("AXIOM_SANITIZED") ? 192 : 128) * (int64_t)MIB;
    if (cgroup_make(&cg, "gov", limit) != 0) SKIP("%s", cg.why_not);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (cgroup_join(&cg) != 0) _exit(9);
        _exit(governed_child());
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_MSG(!WIFSIGNALED(st), "child killed by signal %d (the OOM killer?)",
              WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed at step %d",
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    int64_t kills = cgroup_oom_kills(&cg);
    CHECK_MSG(kills <= 0, "oom_kill = %lld in %s", (long long)kills, cg.dir);
    cgroup_remove(&cg);
}

/* ---- 2: axiom serve in a cgroup too small for its LLM -------------------------------- */

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* A plain HTTP/1.0 GET on loopback; returns the status code, body in out. */
static int http_get(int port, const char *path, char *out, size_t outlen) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    out[0] = '\0';
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < outlen && (r = read(fd, out + got, outlen - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fd);
    int code = -1;
    sscanf(out, "HTTP/1.%*d %d", &code);
    return code;
}

/* Working set of a cgroup (usage minus inactive file cache), as the governor counts. */
static int64_t cgroup_working_set(const test_cgroup *cg) {
    char p[1024];
    int64_t cur = -1, inactive;
    snprintf(p, sizeof p, "%s/%s", cg->dir,
             cg->version == 1 ? "memory.usage_in_bytes" : "memory.current");
    FILE *f = fopen(p, "r");
    if (f) {
        long long v;
        if (fscanf(f, "%lld", &v) == 1) cur = v;
        fclose(f);
    }
    inactive = read_key(cg->dir, "memory.stat",
                        cg->version == 1 ? "total_inactive_file" : "inactive_file");
    return cur - (inactive > 0 ? inactive : 0);
}

/* A second process in the cgroup: takes memory 1 MiB at a time until the cgroup's
 * working set reaches pct of the limit, says so on `ready`, holds it until `release`
 * is closed, then exits. */
static pid_t ballast_start(const test_cgroup *cg, int64_t limit, double pct, int *ready_fd,
                           int *release_fd) {
    int r[2], q[2];
    if (pipe(r) != 0) return -1;
    if (pipe(q) != 0) {
        close(r[0]);
        close(r[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(r[0]);
        close(q[1]);
        if (cgroup_join(cg) != 0) _exit(9);
        int64_t target = (int64_t)((double)limit * pct / 100.0);
        int n = 0;
        while (cgroup_working_set(cg) < target && n < 4096) {
            char *m = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) break;
            memset(m, 5, MIB);
            n++;
        }
        char line[64];
        int len = snprintf(line, sizeof line, "%d\n", n);
        if (write(r[1], line, (size_t)len) != len) _exit(8);
        char b;
        while (read(q[0], &b, 1) > 0) {
        }
        _exit(0);
    }
    close(r[1]);
    close(q[0]);
    *ready_fd = r[0];
    *release_fd = q[1];
    return pid;
}

static int status_has(int port, const char *needle, int timeout_ms) {
    char body[65536];
    int64_t end = now_ms() + timeout_ms;
    do {
        if (http_get(port, "/api/status", body, sizeof body) == 200 && strstr(body, needle))
            return 1;
        usleep(50000);
    } while (now_ms() < end);
    fprintf(stderr, "  /api/status never showed %s; last: %.400s\n", needle, body);
    return 0;
}

/* Sends client_ready and waits for the idle state: the session is served. */
static int session_served(ws_client *c) {
    if (ws_client_send_text(c, "{\"event\":\"client_ready\"}") != 0) return 0;
    ws_msg m;
    int64_t end = now_ms() + 3000;
    while (now_ms() < end) {
        int r = ws_client_recv(c, 500, &m);
        if (r < 0) return 0;
        if (r == 1 && m.opcode == WSC_TEXT && strstr((const char *)m.data, "idle")) return 1;
    }
    return 0;
}

/* The text path: POST /api/ask. Returns 1 when it answered; the answer's path must be
 * one the mode allows ("template" or "fallback" when only templates are, i.e. at the
 * critical level). */
static int text_path_answers(int port, const char *mode_note, int templates_only) {
    char body[16384];
    int code = http_request(port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                            "{\"text\":\"what is a lidar\"}", body, sizeof body);
    fprintf(stderr, "  /api/ask (%s): %d %.200s\n", mode_note, code, body);
    if (code != 200 || !strstr(body, "\"text\"")) return 0;
    if (strstr(body, "\"path\":\"llm\"")) return 0; /* the LLM never fitted */
    if (templates_only && strstr(body, "\"path\":\"retrieval\"")) return 0;
    return 1;
}

/* At the critical level a typed ask is refused like a new session: 503 with
 * Retry-After and the memory reason (the open sessions keep being served). */
static int text_path_refused(int port) {
    char body[4096];
    int code = http_request(port, "POST", "/api/ask", "Content-Type: application/json\r\n",
                            "{\"text\":\"what is a lidar\"}", body, sizeof body);
    fprintf(stderr, "  /api/ask (critical): %d %.200s\n", code, body);
    return code == 503 && strstr(body, "short of memory") != NULL;
}

static void critical_sheds_and_recovers(const test_cgroup *cg, int64_t limit, int port) {
    char err[512];
    int st;
    ws_client *a = ws_client_connect(port, "/ws", NULL, 5000, &st, err, sizeof err);
    CHECK_MSG(a != NULL, "first session: %d %s", st, err);
    if (!a) return;
    CHECK(session_served(a));
    int ready, release;
    pid_t b = ballast_start(cg, limit, 96.5, &ready, &release);
    CHECK(b > 0);
    if (b <= 0) {
        ws_client_free(a);
        return;
    }
    char line[64] = "";
    ssize_t n = read(ready, line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
    fprintf(stderr, "  ballast holds %s MiB; cgroup working set %lld MiB of %lld\n",
            strtok(line, "\n"), (long long)(cgroup_working_set(cg) / MIB),
            (long long)(limit / MIB));
    CHECK(status_has(port, "\"level\":\"critical\"", 5000));
    CHECK(status_has(port, "\"effective_mode\":\"template-only\"", 1000));
    ws_client *c = ws_client_connect(port, "/ws", NULL, 5000, &st, err, sizeof err);
    if (c) {
        ws_msg m;
        int r;
        while ((r = ws_client_recv(c, 3000, &m)) == 1) {
        }
        CHECK_EQ_INT(r, -1);
        CHECK_EQ_INT(ws_client_close_code(c), 1013);
        CHECK_CONTAINS(ws_client_close_reason(c), "short of memory");
        fprintf(stderr, "  refused: %d %s\n", ws_client_close_code(c), ws_client_close_reason(c));
        ws_client_free(c);
    } else {
        CHECK_MSG(0, "a refused session should still upgrade and get a close frame: %d %s", st,
                  err);
    }
    CHECK(session_served(a)); /* the open session is still served */
    CHECK(text_path_refused(port));
    close(release);
    close(ready);
    waitpid(b, &st, 0);
    CHECK(status_has(port, "\"level\":\"ok\"", 5000));
    c = ws_client_connect(port, "/ws", NULL, 5000, &st, err, sizeof err);
    CHECK(c != NULL);
    if (c) CHECK(session_served(c));
    ws_client_free(c);
    ws_client_free(a);
}

static void test_serve_starts_degraded_in_small_cgroup(void) {
    const char *bin = getenv("AXIOM_BIN");
    if (!bin || access(bin, X_OK) != 0) SKIP("AXIOM_BIN is not set to the axiom binary");
    test_cgroup cg;
    int64_t limit = (getenv("AXIOM_SANITIZED") ? 256 : 128) * (int64_t)MIB;
    if (cgroup_make(&cg, "serve", limit) != 0) SKIP("%s", cg.why_not);
    char dir[256], gguf[320], logp[320];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    /* A 1 GiB model file (sparse: only its size matters, it is never loaded). */
    snprintf(gguf, sizeof gguf, "%s/big.gguf", dir);
    int fd = open(gguf, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 1LL << 30) == 0);
    if (fd >= 0) close(fd);
    snprintf(logp, sizeof logp, "%s/serve.log", dir);
    char gset[400];
    snprintf(gset, sizeof gset, "llm.gguf=%s", gguf);
    int port = free_port();
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        if (cgroup_join(&cg) != 0) _exit(9);
        int lfd = open(logp, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (lfd >= 0) {
            dup2(lfd, 1);
            dup2(lfd, 2);
        }
        execl(bin, bin, "serve", "--port", portstr, "--set", "llm.backend=gguf", "--set", gset,
              "--set", "mem.poll_ms=100",
              /* The ballast is sized against the server's memory and recovery is
               * measured after it: no background loading of the speech path when the
               * session opens (test_server_fast_turn covers the warm-up). */
              "--set", "server.warm_up=false", (char *)NULL);
        _exit(127);
    }
    char body[8192];
    int code = -1;
    for (int i = 0; i < 100 && code != 200; i++) {
        usleep(100000);
        code = http_get(port, "/health", body, sizeof body);
    }
    CHECK_EQ_INT(code, 200);
    CHECK_CONTAINS(body, "\"status\":\"ok\"");
    CHECK_EQ_INT(http_get(port, "/api/status", body, sizeof body), 200);
    CHECK_CONTAINS(body, "\"effective_mode\":\"skip-llm\"");
    CHECK(text_path_answers(port, "degraded start", 0));
    if (code == 200) critical_sheds_and_recovers(&cg, limit, port);
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_MSG(WIFEXITED(st), "serve ended by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    char e[256];
    char *log = file_read_all(logp, 1 << 20, NULL, e, sizeof e);
    CHECK_MSG(log != NULL, "%s", e);
    if (log) {
        CHECK_CONTAINS(log, "mode skip-llm instead of full");
        CHECK_CONTAINS(log, "MiB of the");
        CHECK_CONTAINS(log, "cgroup v");
    }
    free(log);
    CHECK(cgroup_oom_kills(&cg) <= 0);
    cgroup_remove(&cg);
    tu_rmtree(dir);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_governor_in_small_cgroup);
    RUN(test_serve_starts_degraded_in_small_cgroup);
    return CHECK_DONE(argv[0]);
}
