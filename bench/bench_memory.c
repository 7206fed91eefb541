/* bench_memory: AXIOM's memory figures against its targets and the reference
 * system's documented budget (750 MB baseline, 1.2-1.5 GB peak).
 *
 *   1. RSS of `axiom serve` right after start (lazy: nothing loaded)   target <= 20 MB
 *   2. RSS with the whole embedded stack preloaded (mem.preload)        target <= 120 MB
 *      (and with the tiny GGUF LLM from ../shared when present)
 *   3. RSS after the idle unload (idle timeouts of 1 s)
 *   4. per-turn peak extra memory on the template path (in process)     target <= 1 MB
 *   5. time from a pressure reading to the relief action, in a real
 *      memory cgroup (the LLM is unloaded at the critical level)        target <= 1 s
 * Components not registered by this build are printed as missing. Prints figures
 * and exits 0; it asserts nothing. */
#include "axiom.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mem/governor.h"
#include "mem/memstat.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
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

#define MIB (1024.0 * 1024.0)

/* ---- small helpers ---------------------------------------------------------------- */

static long long status_kib(pid_t pid, const char *key) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    long long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') v = strtoll(line + kl + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

static long long pss_kib(pid_t pid) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(p, "r");
    long long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Pss:", 4) == 0) v = strtoll(line + 4, NULL, 10);
    if (f) fclose(f);
    return v;
}

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
    size_t got = 0;
    if (write(fd, req, (size_t)n) == n) {
        ssize_t r;
        while (got + 1 < outlen && (r = read(fd, out + got, outlen - 1 - got)) > 0)
            got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    int code = -1;
    sscanf(out, "HTTP/1.%*d %d", &code);
    return code;
}

typedef struct {
    pid_t pid;
    int port;
} served;

/* Starts axiom serve with extra --set arguments; waits for /health. */
static int serve_start(served *s, const char *const *sets) {
    const char *bin = getenv("AXIOM_BIN");
    if (!bin || access(bin, X_OK) != 0) return -1;
    s->port = free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    const char *argv[40] = {bin, "serve", "--port", port, "--log-level", "error"};
    int n = 6;
    for (int i = 0; sets && sets[i] && n < 37; i++) {
        argv[n++] = "--set";
        argv[n++] = sets[i];
    }
    argv[n] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) dup2(nul, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    char body[4096];
    for (int i = 0; i < 300; i++) {
        usleep(100000);
        if (http_get(s->port, "/health", body, sizeof body) == 200) return 0;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) return -1;
    }
    return -1;
}

static void serve_stop(served *s) {
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
}

/* Prints each governed component from /api/status, and the ones this build lacks. */
static void print_components(int port) {
    static char body[1 << 17];
    if (http_get(port, "/api/status", body, sizeof body) != 200) {
        printf("    (no /api/status)\n");
        return;
    }
    cJSON *status = cJSON_Parse(body);
    const cJSON *comps = cJSON_GetObjectItem(cJSON_GetObjectItem(status, "governor"), "components");
    if (!cJSON_IsArray(comps)) {
        printf("    (/api/status has no governor.components)\n");
        cJSON_Delete(status);
        return;
    }
    static const char *const want[] = {"intent", "index", "vad", "stt", "tts", "llm"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const cJSON *c = NULL, *it;
        cJSON_ArrayForEach(it, comps) {
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));
            if (name && strcmp(name, want[i]) == 0) c = it;
        }
        if (!c) {
            printf("    %-7s missing: not registered by this build\n", want[i]);
            continue;
        }
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(c, "state"));
        const cJSON *res = cJSON_GetObjectItem(c, "resident_bytes");
        printf("    %-7s %-8s measured +%.1f MiB\n", want[i], state ? state : "?",
               cJSON_IsNumber(res) ? res->valuedouble / MIB : 0.0);
    }
    cJSON_Delete(status);
}

static double rss_mib(pid_t pid) {
    return status_kib(pid, "VmRSS") / 1024.0;
}

/* ---- 1-3: the server's resident memory --------------------------------------------- */

static void bench_serve(void) {
    served s;
    const char *lazy[] = {NULL};
    if (serve_start(&s, lazy) != 0) {
        printf(
            "serve: cannot start axiom serve (AXIOM_BIN unset or failing); figures 1-3 missing\n");
        return;
    }
    usleep(500000);
    double start_rss = rss_mib(s.pid);
    printf("1. RSS after start, lazy (nothing loaded): %.1f MiB (PSS %.1f MiB)   target <= 20 MB: "
           "%s\n",
           start_rss, pss_kib(s.pid) / 1024.0, start_rss * MIB <= 20e6 ? "met" : "MISSED");
    serve_stop(&s);

    const char *full[] = {"mem.preload=true", NULL};
    if (serve_start(&s, full) == 0) {
        usleep(300000);
        double r = rss_mib(s.pid);
        printf("2. RSS with the embedded stack preloaded: %.1f MiB (PSS %.1f MiB)   target <= 120 "
               "MB: %s\n",
               r, pss_kib(s.pid) / 1024.0, r * MIB <= 120e6 ? "met" : "MISSED");
        print_components(s.port);
        serve_stop(&s);
    }
    char gguf[4096], set[4200];
    snprintf(gguf, sizeof gguf, "%s/../shared/models/stories260K.gguf", axiom_root_dir());
    if (access(gguf, R_OK) == 0) {
        snprintf(set, sizeof set, "llm.gguf=%s", gguf);
        const char *withllm[] = {"mem.preload=true", "llm.backend=gguf", set, NULL};
        if (serve_start(&s, withllm) == 0) {
            usleep(300000);
            printf("2b. the same plus the in-process GGUF LLM (stories260K, tiny): %.1f MiB\n",
                   rss_mib(s.pid));
            print_components(s.port);
            serve_stop(&s);
        }
    } else {
        printf("2b. LLM figure missing: ../shared/models/stories260K.gguf not found\n");
    }

    const char *idle[] = {"mem.preload=true", "mem.idle_unload_s=1", "mem.llm_idle_unload_s=1",
                          NULL};
    if (serve_start(&s, idle) == 0) {
        usleep(300000);
        double before = rss_mib(s.pid);
        usleep(2500000); /* idle 1 s, watcher polls every 0.5 s */
        double after = rss_mib(s.pid);
        printf("3. after the idle unload: %.1f MiB (was %.1f MiB loaded: -%.1f MiB)\n", after,
               before, before - after);
        print_components(s.port);
        serve_stop(&s);
    }
}

/* ---- 4: per-turn peak on the template path ------------------------------------------ */

static void bench_turns(void) {
    axiom_config *cfg = config_new();
    char err[512];
    config_set(cfg, "log_level", "error", CFG_FLAG, "bench", err, sizeof err);
    config_set(cfg, "llm.backend", "none", CFG_FLAG, "bench", err, sizeof err);
    config_set(cfg, "vad.backend", "energy", CFG_FLAG, "bench", err, sizeof err);
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    if (!e) {
        printf("4. per-turn figure missing: %s\n", err);
        config_free(cfg);
        return;
    }
    static const char *const qs[] = {
        "hello",
        "what is the lidar",
        "how do I use the robot arm",
        "what sensors do you have",
        "tell me about the jetson nano",
        "thank you",
        "what can you do",
        "where is the 3d printer",
    };
    enum { NQ = sizeof qs / sizeof qs[0], ROUNDS = 8 };
    axiom_session *sess = axiom_session_new(e);
    /* Warm-up: index and models load, caches fill. */
    for (int i = 0; i < NQ; i++) {
        axiom_reply r;
        if (axiom_ask(e, sess, qs[i], NULL, NULL, NULL, &r, err, sizeof err) == 0)
            axiom_reply_free(&r);
    }
    malloc_trim(0);
    long long worst_kib = 0, sum_kib = 0;
    int n = 0, tmpl = 0;
    long long heap0 = (long long)mallinfo2().uordblks;
    long long t_us = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < NQ; i++) {
            int fd = open("/proc/self/clear_refs", O_WRONLY);
            if (fd >= 0) {
                if (write(fd, "5", 1) != 1) { /* resets VmHWM to the current RSS */
                }
                close(fd);
            }
            long long base = status_kib(getpid(), "VmRSS");
            axiom_reply r;
            if (axiom_ask(e, sess, qs[i], NULL, NULL, NULL, &r, err, sizeof err) != 0) continue;
            long long peak = status_kib(getpid(), "VmHWM") - base;
            if (r.path && strcmp(r.path, "template") == 0) {
                tmpl++;
                if (peak > worst_kib) worst_kib = peak;
                sum_kib += peak;
                t_us += r.total_us;
            }
            n++;
            axiom_reply_free(&r);
        }
    }
    long long heap1 = (long long)mallinfo2().uordblks;
    if (tmpl)
        printf("4. per-turn peak extra RSS on the template path: worst %.0f KiB, mean %.0f KiB "
               "over %d "
               "turns (%d asked; VmHWM reset per turn, page granularity), %.2f ms mean   target <= "
               "1 MB: %s\n",
               (double)worst_kib, (double)sum_kib / tmpl, tmpl, n, t_us / 1000.0 / tmpl,
               worst_kib * 1024 <= 1000000 ? "met" : "MISSED");
    else
        printf("4. per-turn figure missing: none of %d questions took the template path\n", n);
    printf("   heap in use after %d turns vs before: %+lld bytes (history of %lld turns kept)\n", n,
           heap1 - heap0, config_int(cfg, "history_turns"));
    axiom_session_free(sess);
    axiom_engine_free(e);
    config_free(cfg);
}

/* ---- 5: pressure -> relief in a real cgroup ----------------------------------------- */

static char *llm_mem;
static volatile int64_t unloaded_at_us;
#define LLM_BYTES (48u << 20)

static int blob_load(void *ctx, char *err, size_t errlen) {
    (void)ctx;
    llm_mem = mmap(NULL, LLM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (llm_mem == MAP_FAILED) {
        snprintf(err, errlen, "mmap failed");
        return -1;
    }
    memset(llm_mem, 1, LLM_BYTES);
    return 0;
}

static void blob_unload(void *ctx) {
    (void)ctx;
    munmap(llm_mem, LLM_BYTES);
    unloaded_at_us = now_us();
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* In a child inside a 160 MiB cgroup: the LLM (48 MiB) is loaded, then 2 MiB chunks
 * are touched until the cgroup is past the critical level; the time from the moment
 * the pressure exists to the LLM's unload is measured. Prints one line per run. */
static int relief_child(void) {
    char err[256];
    axiom_config *cfg = config_new();
    config_set(cfg, "log_level", "error", CFG_FLAG, "bench", err, sizeof err);
    long long runs[5], acts[5];
    int nr = 0;
    for (int run = 0; run < 5; run++) {
        governor *g = governor_new(cfg, err, sizeof err);
        component_desc d = {
            .name = "llm", .load_order = 90, .load = blob_load, .unload = blob_unload};
        axiom_component *c = component_new(&d);
        governor_add(g, c, LLM_BYTES, err, sizeof err);
        governor_preload(g);
        governor_start(g, err, sizeof err);
        unloaded_at_us = 0;
        memstat_cgroup cg;
        memstat_cgroup_read("", &cg);
        /* Allocate up to just past 95% of the limit in one go: the pressure's start. */
        int64_t need = (int64_t)((double)cg.limit * 0.965) - cg.working_set;
        char *ballast = need > 0 ? mmap(NULL, (size_t)need, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                 : MAP_FAILED;
        if (ballast != MAP_FAILED) memset(ballast, 2, (size_t)need);
        int64_t t0 = now_us();
        while (!unloaded_at_us && now_us() - t0 < 5000000)
            usleep(1000);
        if (unloaded_at_us) {
            /* The governor's own figure: from its reading to the relief action done. */
            usleep(20000);
            cJSON *o = cJSON_CreateObject();
            governor_status_json(g, o);
            acts[nr] =
                (long long)(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "last_relief_ms")) * 1000);
            cJSON_Delete(o);
            runs[nr++] = (long long)(unloaded_at_us - t0);
        }
        if (ballast != MAP_FAILED) munmap(ballast, (size_t)need);
        governor_free(g);
        component_free(c);
    }
    config_free(cfg);
    if (!nr) {
        printf("5. relief time: the LLM was never unloaded within 5 s\n");
        fflush(stdout);
        return 1;
    }
    qsort(runs, (size_t)nr, sizeof runs[0], cmp_ll);
    qsort(acts, (size_t)nr, sizeof acts[0], cmp_ll);
    printf("5. pressure -> relief (LLM unloaded at critical, real cgroup, poll 500 ms): median "
           "%.0f ms, "
           "max %.0f ms over %d runs   target <= 1 s: %s\n",
           runs[nr / 2] / 1000.0, runs[nr - 1] / 1000.0, nr,
           runs[nr - 1] <= 1000000 ? "met" : "MISSED");
    printf("   of which reading -> relief done inside the governor: median %.1f ms, max %.1f ms "
           "(the rest is waiting for the next poll)\n",
           acts[nr / 2] / 1000.0, acts[nr - 1] / 1000.0);
    fflush(stdout); /* the caller leaves with _exit */
    return 0;
}

static void bench_relief(void) {
    memstat_cgroup own;
    memstat_cgroup_read("", &own);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/axiom-bench-%d", own.dir, (int)getpid());
    const char *limfile = own.version == 1 ? "memory.limit_in_bytes" : "memory.max";
    char p[1100];
    if (own.version == 0 || mkdir(dir, 0755) != 0) {
        printf("5. relief figure missing: cannot create a memory cgroup under %s (%s)\n",
               own.version ? own.dir : "(no memory controller)", strerror(errno));
        return;
    }
    snprintf(p, sizeof p, "%s/%s", dir, limfile);
    FILE *f = fopen(p, "w");
    int ok = f && fprintf(f, "%d", 160 << 20) > 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        printf("5. relief figure missing: cannot set %s\n", p);
        rmdir(dir);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        snprintf(p, sizeof p, "%s/cgroup.procs", dir);
        FILE *pf = fopen(p, "w");
        if (!pf || fprintf(pf, "%d", (int)getpid()) < 0 || fclose(pf) != 0) _exit(9);
        _exit(relief_child());
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("5. relief run killed by signal %d\n", WTERMSIG(st));
    for (int i = 0; i < 50 && rmdir(dir) != 0; i++)
        usleep(20000);
}

int main(void) {
    log_set_level(AX_LOG_ERROR);
    printf("reference system (documented): 750 MB baseline, 1.2-1.5 GB peak\n");
    bench_serve();
    bench_turns();
    bench_relief();
    return 0;
}
