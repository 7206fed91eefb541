/* The memory governor with real components: each test component holds real memory
 * (an anonymous mapping touched page by page) or reads a real file, so load costs,
 * unload drops and failures are the kernel's, not scripted numbers. Level tests feed
 * a fabricated /proc and /sys tree (the cgroup v1 layout), changing the usage between
 * checks, because pushing this shared machine to 95% of its RAM is not an option;
 * test_mem_cgroup.c does it for real inside a small cgroup. */
#include "check.h"
#include "core/config.h"
#include "core/util.h"
#include "mem/governor.h"
#include "support/testutil.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024 * 1024)

typedef struct {
    const char *name;
    int order;
    size_t bytes;
    const char *model_path; /* when set, the load fails if the file is missing */
    char *mem;
    int loads, unloads, load_seq;
} part;

static int load_seq;

static int part_load(void *ctx, char *err, size_t errlen) {
    part *p = ctx;
    if (p->model_path && access(p->model_path, R_OK) != 0) {
        snprintf(err, errlen, "model file %s is missing (set %s.model or install it)",
                 p->model_path, p->name);
        return -1;
    }
    void *m = mmap(NULL, p->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "cannot allocate %zu MiB for the model", p->bytes / MIB);
        return -1;
    }
    memset(m, 7, p->bytes);
    p->mem = m;
    p->loads++;
    p->load_seq = ++load_seq;
    return 0;
}

static void part_unload(void *ctx) {
    part *p = ctx;
    munmap(p->mem, p->bytes);
    p->mem = NULL;
    p->unloads++;
}

static axiom_component *part_new(part *p) {
    component_desc d = {.name = p->name,
                        .load_order = p->order,
                        .load = part_load,
                        .unload = part_unload,
                        .ctx = p};
    return component_new(&d);
}

/* The six components of the product, small. */
static part stack_tmpl[] = {
    {"llm", 90, 24u * MIB, NULL, NULL, 0, 0, 0},  {"tts", 40, 4u * MIB, NULL, NULL, 0, 0, 0},
    {"stt", 30, 6u * MIB, NULL, NULL, 0, 0, 0},   {"vad", 20, 2u * MIB, NULL, NULL, 0, 0, 0},
    {"index", 10, 3u * MIB, NULL, NULL, 0, 0, 0}, {"intent", 10, 1u * MIB, NULL, NULL, 0, 0, 0},
};
#define NPARTS 6

typedef struct {
    part p[NPARTS];
    axiom_component *c[NPARTS];
    governor *g;
    axiom_config *cfg;
} stack;

static void stack_init(stack *s, const char *const *settings) {
    memcpy(s->p, stack_tmpl, sizeof s->p);
    char err[256];
    s->cfg = config_new();
    for (const char *const *kv = settings; kv && *kv; kv += 2)
        if (config_set(s->cfg, kv[0], kv[1], CFG_FLAG, "test", err, sizeof err) != 0)
            fprintf(stderr, "  config: %s\n", err);
    s->g = governor_new(s->cfg, err, sizeof err);
    CHECK_MSG(s->g != NULL, "%s", err);
    for (int i = 0; i < NPARTS; i++) {
        s->c[i] = part_new(&s->p[i]);
        CHECK(governor_add(s->g, s->c[i], (int64_t)s->p[i].bytes, err, sizeof err) == 0);
    }
}

static void stack_free(stack *s) {
    governor_free(s->g);
    for (int i = 0; i < NPARTS; i++)
        component_free(s->c[i]);
    config_free(s->cfg);
}

static part *find_part(stack *s, const char *name) {
    for (int i = 0; i < NPARTS; i++)
        if (strcmp(s->p[i].name, name) == 0) return &s->p[i];
    return NULL;
}

static char *status_text(governor *g) {
    cJSON *o = cJSON_CreateObject();
    CHECK(governor_status_json(g, o) == 0);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

static void test_preload_in_order_and_measured(void) {
    stack s;
    stack_init(&s, NULL);
    CHECK_EQ_INT(governor_preload(s.g), NPARTS);
    /* intent/index first, then vad, stt, tts and the LLM last. */
    CHECK(find_part(&s, "vad")->load_seq > find_part(&s, "index")->load_seq);
    CHECK(find_part(&s, "vad")->load_seq > find_part(&s, "intent")->load_seq);
    CHECK(find_part(&s, "stt")->load_seq > find_part(&s, "vad")->load_seq);
    CHECK(find_part(&s, "tts")->load_seq > find_part(&s, "stt")->load_seq);
    CHECK(find_part(&s, "llm")->load_seq > find_part(&s, "tts")->load_seq);
    component_info ci;
    component_get_info(governor_find(s.g, "llm"), &ci);
    CHECK_MSG(ci.resident_bytes >= 20 * MIB, "llm measured %lld", (long long)ci.resident_bytes);
    CHECK_EQ_INT(governor_effective_mode(s.g), GOV_MODE_FULL);
    stack_free(&s);
}

/* Each component's load fails in turn (AXIOM_FAIL_LOAD, as the allocation failure of
 * a real load would): the rest still load and the mode degrades as documented. */
static void test_injected_failure_each_component(void) {
    static const struct {
        const char *fail;
        governor_mode mode;
        const char *effect;
    } cases[] = {
        {"llm", GOV_MODE_SKIP_LLM, "templates and retrieval"},
        {"tts", GOV_MODE_FULL, "text-only replies"},
        {"stt", GOV_MODE_FULL, "typed questions only"},
        {"vad", GOV_MODE_FULL, "energy-based"},
        {"index", GOV_MODE_FULL, "no retrieval"},
        {"intent", GOV_MODE_FULL, "keywords"},
        {"llm,index", GOV_MODE_TEMPLATE_ONLY, "no retrieval"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        setenv("AXIOM_FAIL_LOAD", cases[k].fail, 1);
        stack s;
        stack_init(&s, NULL);
        int n = governor_preload(s.g);
        int nfail = strchr(cases[k].fail, ',') ? 2 : 1;
        CHECK_EQ_INT(n, NPARTS - nfail);
        CHECK_MSG(governor_effective_mode(s.g) == cases[k].mode, "%s: mode %s", cases[k].fail,
                  governor_mode_name(governor_effective_mode(s.g)));
        char first[16];
        str_copy(first, sizeof first, cases[k].fail);
        first[strcspn(first, ",")] = '\0';
        CHECK(!governor_usable(s.g, first));
        char *t = status_text(s.g);
        CHECK_CONTAINS(t, cases[k].effect);
        CHECK_CONTAINS(t, "AXIOM_FAIL_LOAD");
        free(t);
        stack_free(&s);
    }
    unsetenv("AXIOM_FAIL_LOAD");
}

static void test_missing_model_file(void) {
    stack s;
    stack_init(&s, NULL);
    find_part(&s, "tts")->model_path = "/nonexistent/axiom/voice.onnx";
    CHECK_EQ_INT(governor_preload(s.g), NPARTS - 1);
    CHECK(!governor_usable(s.g, "tts"));
    CHECK(governor_usable(s.g, "stt"));
    CHECK_EQ_INT(governor_effective_mode(s.g), GOV_MODE_FULL);
    char *t = status_text(s.g);
    CHECK_CONTAINS(t, "/nonexistent/axiom/voice.onnx");
    CHECK_CONTAINS(t, "\"degraded\":[{\"component\":\"tts\"");
    free(t);
    stack_free(&s);
}

/* RLIMIT_AS too low for the LLM: its mmap fails for real and the process carries on
 * without it. In a child, so the limit does not bind the rest of the tests. */
static void test_rlimit_as_skips_llm(void) {
    if (getenv("AXIOM_SANITIZED"))
        SKIP("ASan reserves terabytes of address space: RLIMIT_AS cannot be lowered under it");
    pid_t pid = fork();
    if (pid == 0) {
        stack s;
        stack_init(&s, NULL);
        find_part(&s, "llm")->bytes = 1024u * MIB; /* 1 GiB model */
        struct rlimit rl;
        getrlimit(RLIMIT_AS, &rl);
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (f && fscanf(f, "%lu", &pages) != 1) pages = 0;
        if (f) fclose(f);
        rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + 256u * MIB;
        setrlimit(RLIMIT_AS, &rl);
        int n = governor_preload(s.g);
        int ok = n == NPARTS - 1 && !governor_usable(s.g, "llm") &&
                 governor_effective_mode(s.g) == GOV_MODE_SKIP_LLM && governor_usable(s.g, "tts");
        stack_free(&s);
        _exit(ok ? 0 : 3);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}

static void test_budget_refuses_what_does_not_fit(void) {
    /* Budget = our RSS now + 100 MiB: the 16 MiB of small parts fit (even with a
     * sanitizer's shadow memory), a 200 MiB LLM does not. */
    char mb[32];
    snprintf(mb, sizeof mb, "%lld", (long long)(proc_rss_bytes() / MIB + 100));
    const char *set[] = {"mem.budget_mb", mb, NULL};
    stack s;
    stack_init(&s, set);
    find_part(&s, "llm")->bytes = 200u * MIB;
    char err[256];
    governor_remove(s.g, s.c[0]);
    CHECK(governor_add(s.g, s.c[0], 200 * MIB, err, sizeof err) == 0);
    int n = governor_preload(s.g);
    CHECK_EQ_INT(n, NPARTS - 1);
    CHECK_EQ_INT(find_part(&s, "llm")->loads, 0); /* never even tried */
    CHECK_EQ_INT(governor_effective_mode(s.g), GOV_MODE_SKIP_LLM);
    /* A direct acquire by the owner is refused with the reason, too. */
    CHECK(component_acquire(s.c[0], err, sizeof err) == -1);
    CHECK_CONTAINS(err, "needs ~200 MiB");
    char *t = status_text(s.g);
    CHECK_CONTAINS(t, "\"budget_source\":\"config\"");
    free(t);
    stack_free(&s);
}

static void test_idle_unload_and_reload(void) {
    const char *set[] = {
        "mem.llm_idle_unload_s", "1", "mem.idle_unload_s", "0", "mem.tts_idle_unload_s", "1", NULL};
    stack s;
    stack_init(&s, set);
    CHECK_EQ_INT(governor_preload(s.g), NPARTS);
    axiom_component *llm = governor_find(s.g, "llm");
    char err[256];
    CHECK(component_acquire(llm, err, sizeof err) == 0);
    component_release(llm);
    governor_check(s.g);
    CHECK(component_is_loaded(llm)); /* used just now */
    usleep(1100 * 1000);
    int64_t before = proc_rss_bytes();
    governor_check(s.g);
    int64_t after = proc_rss_bytes();
    CHECK(!component_is_loaded(llm));
    CHECK(component_is_loaded(governor_find(s.g, "stt")));  /* idle_unload_s 0 = never */
    CHECK(!component_is_loaded(governor_find(s.g, "tts"))); /* its own key: 1 s */
    CHECK_MSG(before - after >= 24 * MIB, "RSS %lld -> %lld", (long long)before, (long long)after);
    cJSON *o = cJSON_CreateObject();
    governor_status_json(s.g, o);
    cJSON *comps = cJSON_GetObjectItem(o, "components"), *it;
    int seen = 0;
    cJSON_ArrayForEach(it, comps) {
        if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "llm") != 0) continue;
        seen = 1;
        CHECK_STR(cJSON_GetObjectItem(it, "state")->valuestring, "lazy");
        CHECK(cJSON_GetObjectItem(it, "last_unload_drop_bytes")->valuedouble >= 20.0 * MIB);
    }
    CHECK(seen);
    cJSON_Delete(o);
    CHECK_EQ_INT(governor_effective_mode(s.g), GOV_MODE_FULL); /* unloaded, still usable */
    /* Next use loads it again. */
    CHECK(component_acquire(llm, err, sizeof err) == 0);
    CHECK_EQ_INT(find_part(&s, "llm")->loads, 2);
    component_release(llm);
    stack_free(&s);
}

/* ---- levels from a fabricated cgroup v1 tree --------------------------------------- */

static void write_tree(const char *root, long long usage_mib, const char *psi) {
    char p[512], text[512];
    const char *dirs[] = {
        "proc",   "proc/self",     "proc/pressure",        "sys",
        "sys/fs", "sys/fs/cgroup", "sys/fs/cgroup/memory", "sys/fs/cgroup/memory/axiom"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        mkdir(p, 0755);
    }
    snprintf(p, sizeof p, "%s/proc/meminfo", root);
    tu_write_file(p, "MemTotal:       8000000 kB\nMemFree:        6000000 kB\n"
                     "MemAvailable:   7000000 kB\nCached:          500000 kB\n"
                     "SwapTotal:            0 kB\nSwapFree:             0 kB\n");
    snprintf(p, sizeof p, "%s/proc/self/cgroup", root);
    tu_write_file(p, "5:memory:/axiom\n0::/\n");
    snprintf(p, sizeof p, "%s/proc/pressure/memory", root);
    tu_write_file(p, psi ? psi
                         : "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                           "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    snprintf(p, sizeof p, "%s/sys/fs/cgroup/memory/memory.limit_in_bytes", root);
    tu_write_file(p, "9223372036854771712\n");
    snprintf(p, sizeof p, "%s/sys/fs/cgroup/memory/axiom/memory.limit_in_bytes", root);
    tu_write_file(p, "1048576000\n");
    snprintf(p, sizeof p, "%s/sys/fs/cgroup/memory/axiom/memory.usage_in_bytes", root);
    snprintf(text, sizeof text, "%lld\n", (usage_mib + 10) * MIB);
    tu_write_file(p, text);
    snprintf(p, sizeof p, "%s/sys/fs/cgroup/memory/axiom/memory.stat", root);
    snprintf(text, sizeof text, "cache 20971520\nrss 1000\ntotal_inactive_file %d\n", 10 * MIB);
    tu_write_file(p, text);
}

/* A cache the governor may empty: a real 8 MiB buffer. */
typedef struct {
    char *buf;
    int drops;
} audio_cache;

static int64_t cache_drop(void *ctx) {
    audio_cache *c = ctx;
    c->drops++;
    if (!c->buf) return 0;
    free(c->buf);
    c->buf = NULL;
    return 8 * MIB;
}

static void test_levels_with_hysteresis(void) {
    char root[256];
    CHECK(tu_mkdtemp(root, sizeof root) == 0);
    stack s;
    stack_init(&s, NULL);
    governor_set_root(s.g, root);
    CHECK_EQ_INT(governor_preload(s.g), NPARTS);
    audio_cache cache = {malloc(8 * MIB), 0};
    memset(cache.buf, 1, 8 * MIB);
    CHECK(governor_add_cache(s.g, "tts-audio", cache_drop, &cache) == 0);
    char err[256];
    static const struct {
        long long usage_mib;
        governor_level want;
    } steps[] = {
        {500, GOV_LEVEL_OK},       {860, GOV_LEVEL_WARN},
        {830, GOV_LEVEL_WARN}, /* within hysteresis */
        {790, GOV_LEVEL_OK},       {960, GOV_LEVEL_CRITICAL},
        {920, GOV_LEVEL_CRITICAL}, {880, GOV_LEVEL_WARN},
        {700, GOV_LEVEL_OK},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        write_tree(root, steps[i].usage_mib, NULL);
        governor_level l = governor_check(s.g);
        CHECK_MSG(l == steps[i].want, "usage %lld MiB of 1000: level %s, expected %s",
                  steps[i].usage_mib, governor_level_name(l), governor_level_name(steps[i].want));
        governor_reading r;
        governor_last_reading(s.g, &r);
        CHECK_STR(r.budget_source, "cgroup v1");
        if (i == 0) CHECK_EQ_INT(cache.drops, 0);
        if (i == 1) CHECK_EQ_INT(cache.drops, 1); /* entering warn empties owned caches */
        CHECK_EQ_INT(r.budget, 1048576000);
        if (l == GOV_LEVEL_CRITICAL) {
            CHECK(governor_admit_session(s.g, err, sizeof err) == -1);
            CHECK_CONTAINS(err, "short of memory");
            CHECK_EQ_INT(governor_effective_mode(s.g), GOV_MODE_TEMPLATE_ONLY);
            CHECK(!component_is_loaded(governor_find(s.g, "llm")));
            CHECK(component_acquire(governor_find(s.g, "llm"), err, sizeof err) == -1);
            CHECK(component_is_loaded(governor_find(s.g, "stt"))); /* only the LLM is shed */
        } else {
            CHECK(governor_admit_session(s.g, err, sizeof err) == 0);
            CHECK_EQ_INT(governor_effective_mode(s.g), GOV_MODE_FULL);
        }
    }
    /* Recovered: the LLM may load again. */
    CHECK(component_acquire(governor_find(s.g, "llm"), err, sizeof err) == 0);
    component_release(governor_find(s.g, "llm"));
    /* PSI alone raises the level too: full avg10 30% is critical. */
    write_tree(root, 300,
               "some avg10=40.00 avg60=5.00 avg300=1.00 total=1\n"
               "full avg10=30.00 avg60=2.00 avg300=0.50 total=1\n");
    CHECK_EQ_INT(governor_check(s.g), GOV_LEVEL_CRITICAL);
    write_tree(root, 300, NULL);
    CHECK_EQ_INT(governor_check(s.g), GOV_LEVEL_OK);
    char *t = status_text(s.g);
    CHECK_CONTAINS(t, "\"sessions_refused\":2");
    free(t);
    CHECK(cache.buf == NULL);
    stack_free(&s);
    tu_rmtree(root);
}

static void test_watcher_thread_acts(void) {
    char root[256];
    CHECK(tu_mkdtemp(root, sizeof root) == 0);
    write_tree(root, 100, NULL);
    const char *set[] = {"mem.poll_ms", "50", NULL};
    stack s;
    stack_init(&s, set);
    governor_set_root(s.g, root);
    governor_preload(s.g);
    char err[256];
    CHECK(governor_start(s.g, err, sizeof err) == 0);
    CHECK(governor_start(s.g, err, sizeof err) == 0); /* idempotent */
    write_tree(root, 990, NULL);
    int64_t t0 = now_ms();
    while (governor_get_level(s.g) != GOV_LEVEL_CRITICAL && now_ms() - t0 < 5000)
        usleep(10000);
    CHECK_EQ_INT(governor_get_level(s.g), GOV_LEVEL_CRITICAL);
    t0 = now_ms();
    while (component_is_loaded(governor_find(s.g, "llm")) && now_ms() - t0 < 5000)
        usleep(10000);
    CHECK(!component_is_loaded(governor_find(s.g, "llm")));
    write_tree(root, 100, NULL);
    t0 = now_ms();
    while (governor_get_level(s.g) != GOV_LEVEL_OK && now_ms() - t0 < 5000)
        usleep(10000);
    CHECK_EQ_INT(governor_get_level(s.g), GOV_LEVEL_OK);
    governor_stop(s.g);
    stack_free(&s);
    tu_rmtree(root);
}

/* Unreadable figures: the governor stays at ok, says the budget is unknown, and
 * refuses nothing on that basis. */
static void test_garbage_readings(void) {
    char root[512];
    tu_root_path("tests/data/doctor/garbage", root, sizeof root);
    stack s;
    stack_init(&s, NULL);
    governor_set_root(s.g, root);
    CHECK_EQ_INT(governor_check(s.g), GOV_LEVEL_OK);
    governor_reading r;
    governor_last_reading(s.g, &r);
    CHECK_STR(r.budget_source, "unknown");
    CHECK_EQ_INT(r.cgroup_version, 0);
    CHECK_EQ_INT(governor_preload(s.g), NPARTS);
    CHECK_EQ_INT(governor_effective_mode(s.g), GOV_MODE_FULL);
    stack_free(&s);
}

/* A load that takes long (here: until the test lets it finish) must not stall status
 * readers or session admission. If they waited for the load, this test would hang on
 * the pipe and the alarm would end it. */
typedef struct {
    int gate[2];
    axiom_component *c;
} slow_ctx;

static int slow_load(void *ctx, char *err, size_t errlen) {
    slow_ctx *s = ctx;
    char b;
    if (read(s->gate[0], &b, 1) != 1) {
        snprintf(err, errlen, "gate closed");
        return -1;
    }
    return 0;
}

static void slow_unload(void *ctx) {
    (void)ctx;
}

static void *load_thread(void *arg) {
    slow_ctx *s = arg;
    char err[256];
    component_load(s->c, err, sizeof err);
    return NULL;
}

static void test_readers_do_not_wait_for_a_load(void) {
    slow_ctx s;
    CHECK(pipe(s.gate) == 0);
    component_desc d = {
        .name = "llm", .load_order = 90, .load = slow_load, .unload = slow_unload, .ctx = &s};
    s.c = component_new(&d);
    char err[256];
    governor *g = governor_new(NULL, err, sizeof err);
    governor_add(g, s.c, 0, err, sizeof err);
    pthread_t t;
    pthread_create(&t, NULL, load_thread, &s);
    component_info ci = {0};
    while (!ci.loading) {
        usleep(1000);
        component_get_info(s.c, &ci);
    }
    alarm(30);
    CHECK(!component_is_loaded(s.c));
    CHECK_EQ_INT(governor_admit_session(g, err, sizeof err), 0);
    char *txt = status_text(g);
    CHECK_CONTAINS(txt, "\"state\":\"loading\"");
    free(txt);
    governor_check(g);                   /* the watcher's pass does not wait either */
    component_set_refused(s.c, 0, NULL); /* nor does a refusal change */
    alarm(0);
    CHECK(write(s.gate[1], "x", 1) == 1);
    pthread_join(t, NULL);
    CHECK(component_is_loaded(s.c));
    component_get_info(s.c, &ci);
    CHECK_EQ_INT(ci.loading, 0);
    governor_free(g);
    component_free(s.c);
    close(s.gate[0]);
    close(s.gate[1]);
}

static void test_metrics_lines(void) {
    stack s;
    stack_init(&s, NULL);
    governor_preload(s.g);
    governor_check(s.g);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    governor_metrics(s.g, f);
    fclose(f);
    CHECK_CONTAINS(buf, "# TYPE axiom_memory_budget_bytes gauge");
    CHECK_CONTAINS(buf, "axiom_component_loaded{component=\"llm\"} 1");
    CHECK_CONTAINS(buf, "axiom_mode{mode=\"full\"} 1");
    CHECK_CONTAINS(buf, "axiom_memory_level 0");
    free(buf);
    stack_free(&s);
}

/* Lowering oom_score_adj needs CAP_SYS_RESOURCE (root in a container may lack it);
 * raising it is always allowed. */
static int has_cap_sys_resource(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long eff = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1) break;
    if (f) fclose(f);
    return (eff >> 24) & 1;
}

static int read_oom_adj(void) {
    char buf[32] = "";
    FILE *f = fopen("/proc/self/oom_score_adj", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
        fclose(f);
    }
    return atoi(buf);
}

static void test_oom_score_adj(void) {
    int before = read_oom_adj();
    char want[16];
    snprintf(want, sizeof want, "%d", before - 50);
    const char *lower[] = {"mem.oom_score_adj", want, NULL};
    stack s;
    stack_init(&s, lower);
    CHECK_EQ_INT(read_oom_adj(), has_cap_sys_resource() ? before - 50 : before);
    char *t = status_text(s.g);
    char expect[64];
    snprintf(expect, sizeof expect, "\"oom_score_adj\":%d", read_oom_adj());
    CHECK_CONTAINS(t, expect);
    free(t);
    stack_free(&s);
    /* Raising is always permitted: the governor really writes the file. */
    int cur = read_oom_adj();
    snprintf(want, sizeof want, "%d", cur + 10);
    const char *raise[] = {"mem.oom_score_adj", want, NULL};
    stack_init(&s, raise);
    CHECK_EQ_INT(read_oom_adj(), cur + 10);
    stack_free(&s);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_preload_in_order_and_measured);
    RUN(test_injected_failure_each_component);
    RUN(test_missing_model_file);
    RUN(test_rlimit_as_skips_llm);
    RUN(test_budget_refuses_what_does_not_fit);
    RUN(test_idle_unload_and_reload);
    RUN(test_levels_with_hysteresis);
    RUN(test_watcher_thread_acts);
    RUN(test_garbage_readings);
    RUN(test_readers_do_not_wait_for_a_load);
    RUN(test_metrics_lines);
    RUN(test_oom_score_adj);
    return CHECK_DONE(argv[0]);
}
