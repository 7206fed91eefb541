/* axiom doctor against fabricated /proc and /sys trees (tests/data/doctor/<case>/),
 * one per judgement family, through the real binary (exit codes, text, --json), then
 * --apply into a scratch copy, then against this machine. Models are configured to
 * files the test controls (a sparse "GGUF" of a chosen size), so the plan's figures
 * are known. */
#include "check.h"
#include "core/config.h"
#include "core/util.h"
#include "mem/doctor.h"
#include "support/testutil.h"

#include <cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENV "AXIOM_VAD_BACKEND=energy AXIOM_LLM_BACKEND=none"

static char out[65536], err[16384];

static int doctor(const char *env, const char *args) {
    char full[1100];
    snprintf(full, sizeof full, "doctor %s", args);
    return tu_run_axiom(env, full, out, sizeof out, err, sizeof err);
}

static cJSON *find_check(cJSON *doc, const char *id) {
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "checks")) {
        cJSON *i = cJSON_GetObjectItem(it, "id");
        if (i && strcmp(i->valuestring, id) == 0) return it;
    }
    return NULL;
}

static const char *check_status(cJSON *doc, const char *id) {
    cJSON *c = find_check(doc, id);
    return c ? cJSON_GetObjectItem(c, "status")->valuestring : "(absent)";
}

static cJSON *doctor_json_case(const char *env, const char *tree, int *code) {
    char root[512], args[1024];
    tu_root_path("tests/data/doctor", root, sizeof root);
    snprintf(args, sizeof args, "--json --root '%s/%s'", root, tree);
    *code = doctor(env, args);
    cJSON *doc = cJSON_Parse(out);
    CHECK_MSG(doc != NULL, "not JSON: %.200s / %.300s", out, err);
    return doc;
}

static void test_healthy_machine_exit_0(void) {
    int code;
    cJSON *doc = doctor_json_case(ENV, "healthy", &code);
    if (!doc) return;
    CHECK_EQ_INT(code, 0);
    CHECK_STR(cJSON_GetObjectItem(doc, "status")->valuestring, "ok");
    CHECK_STR(cJSON_GetObjectItem(doc, "schema")->valuestring, "axiom-doctor/1");
    cJSON *m = cJSON_GetObjectItem(doc, "machine");
    cJSON *z = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "zram"), 0);
    CHECK_STR(cJSON_GetObjectItem(z, "algorithm")->valuestring, "zstd");
    CHECK(cJSON_GetObjectItem(z, "ratio")->valuedouble > 2.9 &&
          cJSON_GetObjectItem(z, "ratio")->valuedouble < 3.1);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(z, "used_as_swap")));
    cJSON *cg = cJSON_GetObjectItem(m, "cgroup");
    CHECK_EQ_INT(cJSON_GetObjectItem(cg, "version")->valueint, 2);
    /* memory.high (3 GiB) is below memory.max (4 GiB): the budget is the high mark. */
    CHECK_EQ_INT((long long)cJSON_GetObjectItem(cg, "limit_bytes")->valuedouble, 3221225472LL);
    cJSON *plan = cJSON_GetObjectItem(doc, "plan");
    CHECK_STR(cJSON_GetObjectItem(plan, "budget_source")->valuestring, "cgroup v2");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "oom_daemons"), "systemd_oomd")));
    CHECK_STR(check_status(doc, "vm.swappiness"), "ok");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "tuning")), 0);
    cJSON_Delete(doc);
}

static void test_no_swap_cgroup_v1_warns_with_zram_advice(void) {
    int code;
    cJSON *doc = doctor_json_case(ENV, "noswap-v1", &code);
    if (!doc) return;
    CHECK_EQ_INT(code, 1);
    CHECK_STR(check_status(doc, "swap"), "warn");
    cJSON *fix = cJSON_GetObjectItem(find_check(doc, "swap"), "fix");
    CHECK(fix != NULL);
    if (fix)
        CHECK_CONTAINS(fix->valuestring, "zramctl -a zstd -s 3072M"); /* 7.8 GiB RAM: 2-3 GiB */
    CHECK_STR(check_status(doc, "vm.swappiness"), "warn");
    CHECK_STR(check_status(doc, "oom-daemon"), "info");
    cJSON *plan = cJSON_GetObjectItem(doc, "plan");
    CHECK_STR(cJSON_GetObjectItem(plan, "budget_source")->valuestring, "cgroup v1");
    CHECK_EQ_INT((long long)cJSON_GetObjectItem(plan, "budget_bytes")->valuedouble, 2147483648LL);
    /* usage 70 MiB minus 10 MiB of inactive file cache */
    cJSON *cg = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "machine"), "cgroup");
    CHECK_EQ_INT((long long)cJSON_GetObjectItem(cg, "working_set_bytes")->valuedouble, 62914560LL);
    cJSON_Delete(doc);
}

static void test_untuned_disk_swap_each_sysctl(void) {
    int code;
    cJSON *doc = doctor_json_case(ENV, "disk-swap-untuned", &code);
    if (!doc) return;
    CHECK_EQ_INT(code, 1);
    CHECK_STR(check_status(doc, "swap"), "ok");
    CHECK_STR(check_status(doc, "vm.swappiness"), "warn"); /* 100 on a disk */
    CHECK_STR(check_status(doc, "vm.vfs_cache_pressure"), "warn");
    CHECK_STR(check_status(doc, "vm.dirty_ratio"), "warn");
    CHECK_STR(check_status(doc, "vm.dirty_background_ratio"), "warn");
    CHECK_STR(check_status(doc, "vm.overcommit_memory"), "warn");
    CHECK_STR(check_status(doc, "psi"), "warn");
    CHECK_STR(check_status(doc, "cgroup"), "info");
    CHECK_STR(check_status(doc, "oom-daemon"), "ok");
    cJSON *t = cJSON_GetObjectItem(doc, "tuning");
    CHECK_EQ_INT(cJSON_GetArraySize(t), 5);
    cJSON *sw = cJSON_GetArrayItem(t, 0);
    CHECK_STR(cJSON_GetObjectItem(sw, "sysctl")->valuestring, "vm.swappiness");
    CHECK_EQ_INT(cJSON_GetObjectItem(sw, "recommended")->valueint, 10);
    cJSON_Delete(doc);
}

static void test_too_small_would_not_run(void) {
    int code;
    cJSON *doc = doctor_json_case(ENV, "too-small", &code);
    if (!doc) return;
    CHECK_EQ_INT(code, 2);
    CHECK_STR(cJSON_GetObjectItem(doc, "status")->valuestring, "fail");
    CHECK_STR(check_status(doc, "ram"), "fail");
    CHECK_STR(check_status(doc, "cgroup"), "fail");
    CHECK_STR(check_status(doc, "vm.overcommit_memory"), "warn");
    cJSON_Delete(doc);
    /* The text form says so, too. */
    char root[512], args[1024];
    tu_root_path("tests/data/doctor/too-small", root, sizeof root);
    snprintf(args, sizeof args, "--root '%s'", root);
    CHECK_EQ_INT(doctor(ENV, args), 2);
    CHECK_CONTAINS(out, "Would not run");
    CHECK_CONTAINS(out, "fail  cgroup");
}

/* Junk in every file (unparsable numbers, a cgroup path climbing out with "..", a
 * zram algorithm without brackets): judged as unreadable, never a crash. */
static void test_garbage_tree(void) {
    int code;
    cJSON *doc = doctor_json_case(ENV, "garbage", &code);
    if (!doc) return;
    CHECK_EQ_INT(code, 2);
    CHECK_STR(check_status(doc, "ram"), "fail");
    CHECK_STR(check_status(doc, "available"), "info");
    CHECK_STR(check_status(doc, "psi"), "warn");
    cJSON *cg = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "machine"), "cgroup");
    CHECK_EQ_INT(cJSON_GetObjectItem(cg, "version")->valueint, 0);
    CHECK_STR(check_status(doc, "zram.zram0"), "info");
    cJSON_Delete(doc);
}

/* An LLM of 2 GiB (a sparse file: its size is what counts) in a 2 GiB cgroup. */
static void test_llm_too_big_for_budget(void) {
    char dir[256], gguf[320];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    snprintf(gguf, sizeof gguf, "%s/model.gguf", dir);
    int fd = open(gguf, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 2LL << 30) == 0);
    if (fd >= 0) close(fd);
    char env[640], root[512], args[1024];
    snprintf(env, sizeof env, "AXIOM_VAD_BACKEND=energy AXIOM_LLM_BACKEND=gguf AXIOM_LLM_GGUF='%s'",
             gguf);
    tu_root_path("tests/data/doctor/noswap-v1", root, sizeof root);
    snprintf(args, sizeof args, "--root '%s'", root);
    CHECK_EQ_INT(doctor(env, args), 1);
    CHECK_CONTAINS(out, "warn  model.llm");
    CHECK_CONTAINS(out, "LLM 2.4 GiB would exceed the 2.0 GiB budget (cgroup v1)");
    CHECK_CONTAINS(out, "run with --skip-llm or add 3.0 GiB of zram");
    /* A configured model file that is missing is named. */
    snprintf(env, sizeof env,
             "AXIOM_VAD_BACKEND=energy AXIOM_LLM_BACKEND=gguf AXIOM_LLM_GGUF='%s/nope.gguf'", dir);
    CHECK_EQ_INT(doctor(env, args), 1);
    CHECK_CONTAINS(out, "nope.gguf is missing");
    tu_rmtree(dir);
}

/* --apply into a scratch copy of a tree: the sysctl.d file and /proc/sys values are
 * written, each change printed; --zram sets up zram0 where the device exists. */
static void test_apply_into_fabricated_tree(void) {
    char dir[256], cmd[2048], src[512];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    tu_root_path("tests/data/doctor/disk-swap-untuned", src, sizeof src);
    snprintf(cmd, sizeof cmd, "cp -r '%s/.' '%s/'", src, dir);
    CHECK(system(cmd) == 0);
    axiom_config *cfg = config_new();
    char e[256];
    config_set(cfg, "vad.backend", "energy", CFG_FLAG, "test", e, sizeof e);
    doctor_report *r = calloc(1, sizeof *r);
    doctor_run(cfg, dir, r);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(doctor_apply(r, 0, f, e, sizeof e) == 0);
    fclose(f);
    CHECK_CONTAINS(text, "vm.swappiness: 100 -> 10");
    CHECK_CONTAINS(text, "vm.overcommit_memory: 1 -> 0");
    free(text);
    char p[512], buf[4096];
    size_t n;
    snprintf(p, sizeof p, "%s/etc/sysctl.d/90-axiom-memory.conf", dir);
    char *conf = file_read_all(p, 65536, &n, e, sizeof e);
    CHECK_MSG(conf != NULL, "%s", e);
    if (conf) {
        CHECK_CONTAINS(conf, "vm.swappiness = 10\n");
        CHECK_CONTAINS(conf, "vm.dirty_ratio = 10\n");
        CHECK_CONTAINS(conf, "vm.dirty_background_ratio = 5\n");
        CHECK_CONTAINS(conf, "vm.vfs_cache_pressure = 50\n");
    }
    free(conf);
    snprintf(p, sizeof p, "%s/proc/sys/vm/swappiness", dir);
    FILE *sf = fopen(p, "r");
    CHECK(sf && fgets(buf, sizeof buf, sf));
    if (sf) fclose(sf);
    CHECK_STR(buf, "10\n");
    /* Read again: nothing left to change. */
    doctor_run(cfg, dir, r);
    CHECK_EQ_INT(r->ntuning, 0);
    tu_rmtree(dir);

    /* zram: the noswap tree plus an unconfigured zram0. */
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    tu_root_path("tests/data/doctor/noswap-v1", src, sizeof src);
    snprintf(cmd, sizeof cmd,
             "cp -r '%s/.' '%s/' && mkdir -p '%s/sys/block/zram0' && echo 0 > "
             "'%s/sys/block/zram0/disksize'"
             " && echo '[lzo-rle] lz4 zstd' > '%s/sys/block/zram0/comp_algorithm'",
             src, dir, dir, dir, dir);
    CHECK(system(cmd) == 0);
    doctor_run(cfg, dir, r);
    text = NULL;
    f = open_memstream(&text, &len);
    CHECK(doctor_apply(r, 1, f, e, sizeof e) == 0);
    fclose(f);
    CHECK_CONTAINS(text, "zram0: zstd, 3072 MiB");
    CHECK_CONTAINS(text, "would run: swapon -p 100 /dev/zram0");
    free(text);
    snprintf(p, sizeof p, "%s/sys/block/zram0/disksize", dir);
    sf = fopen(p, "r");
    CHECK(sf && fgets(buf, sizeof buf, sf));
    if (sf) fclose(sf);
    CHECK_STR(buf, "3221225472\n");
    tu_rmtree(dir);
    free(r);
    config_free(cfg);
}

static void test_bad_arguments(void) {
    CHECK_EQ_INT(doctor(ENV, "--frobnicate"), 2);
    CHECK_CONTAINS(err, "unknown argument '--frobnicate'");
    CHECK_EQ_INT(doctor(ENV, "--zram"), 2);
    CHECK_CONTAINS(err, "--zram only makes sense with --apply");
    CHECK_EQ_INT(doctor(ENV, "--root /nonexistent/axiom-root"), 2);
    CHECK_CONTAINS(out, "cannot read /proc/meminfo under /nonexistent/axiom-root");
}

/* The shipped unit: MemoryHigh below MemoryMax (the governor plans with the smaller),
 * the OOM score matches mem.oom_score_adj's default, and systemd (when installed)
 * accepts it with the binary path pointed at this build. */
static long long unit_bytes(const char *unit, const char *key) {
    const char *p = strstr(unit, key);
    if (!p) return -1;
    char *end;
    long long v = strtoll(p + strlen(key), &end, 10);
    if (*end == 'G')
        v <<= 30;
    else if (*end == 'M')
        v <<= 20;
    else if (*end == 'K')
        v <<= 10;
    return v;
}

static void test_systemd_unit(void) {
    char path[512], e[256];
    tu_root_path("contrib/axiom.service", path, sizeof path);
    char *unit = file_read_all(path, 65536, NULL, e, sizeof e);
    CHECK_MSG(unit != NULL, "%s", e);
    if (!unit) return;
    long long high = unit_bytes(unit, "\nMemoryHigh="), max = unit_bytes(unit, "\nMemoryMax=");
    CHECK(high > 0 && max > 0 && high < max);
    axiom_config *cfg = config_new();
    char want[64];
    snprintf(want, sizeof want, "\nOOMScoreAdjust=%lld\n", config_int(cfg, "mem.oom_score_adj"));
    CHECK_CONTAINS(unit, want);
    config_free(cfg);
    if (system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        free(unit);
        SKIP("systemd-analyze is not installed: the unit's syntax is not verified");
    }
    char dir[256], copy[320], cmd[8192];
    CHECK(tu_mkdtemp(dir, sizeof dir) == 0);
    snprintf(copy, sizeof copy, "%s/axiom.service", dir);
    const char *bin = getenv("AXIOM_BIN");
    snprintf(cmd, sizeof cmd,
             "sed 's|/opt/axiom/build/axiom|%s|' '%s' > '%s' && systemd-analyze verify '%s' > "
             "'%s/out' 2>&1",
             bin ? bin : "/bin/true", path, copy, copy, dir);
    CHECK(system(cmd) != -1);
    snprintf(copy, sizeof copy, "%s/out", dir);
    char *out = file_read_all(copy, 65536, NULL, e, sizeof e);
    /* systemd before 254 does not know MemoryPressureWatch= and says so; nothing else
     * may be reported. */
    int clean = 1;
    for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n"))
        if (!strstr(line, "MemoryPressureWatch")) {
            fprintf(stderr, "  systemd-analyze: %s\n", line);
            clean = 0;
        }
    CHECK(clean);
    free(out);
    free(unit);
    tu_rmtree(dir);
}

/* This machine: the figures must be the kernel's. */
static void test_real_machine(void) {
    int code = doctor(ENV, "--json");
    CHECK_MSG(code >= 0 && code <= 2, "exit %d: %s", code, err);
    cJSON *doc = cJSON_Parse(out);
    CHECK(doc != NULL);
    if (!doc) return;
    long long total_kib = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        if (fscanf(f, "MemTotal: %lld kB", &total_kib) != 1) total_kib = 0;
        fclose(f);
    }
    cJSON *m = cJSON_GetObjectItem(doc, "machine");
    CHECK_EQ_INT((long long)cJSON_GetObjectItem(m, "mem_total_bytes")->valuedouble,
                 total_kib * 1024);
    CHECK_EQ_INT(cJSON_GetObjectItem(doc, "exit_code")->valueint, code);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "checks")) >= 10);
    cJSON_Delete(doc);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_healthy_machine_exit_0);
    RUN(test_no_swap_cgroup_v1_warns_with_zram_advice);
    RUN(test_untuned_disk_swap_each_sysctl);
    RUN(test_too_small_would_not_run);
    RUN(test_garbage_tree);
    RUN(test_llm_too_big_for_budget);
    RUN(test_apply_into_fabricated_tree);
    RUN(test_bad_arguments);
    RUN(test_systemd_unit);
    RUN(test_real_machine);
    return CHECK_DONE(argv[0]);
}
