/* Brain benchmark: index build (cold and cached), resident memory of the loaded brain,
 * template-path and retrieval-path answer latency in process, and the fraction of a
 * pack's own template questions (asked back verbatim, lower-cased) that take the fast
 * path and get their own template's answer. Run on the reference deployment's data
 * (../shared/axiom-reference/data) and on the default pack (data/) when present, else
 * the tests' mini pack. Prints figures; asserts nothing.
 *
 * usage: bench_brain [DATA_DIR ...] */
#include "brain/brain_internal.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i];
}

/* CPU time of this thread: on a shared machine wall-clock tails measure the other
 * processes as much as this code, so both are printed. */
static int64_t cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static axiom_config *make_cfg(const char *data, const char *cache, const char *threshold) {
    axiom_config *c = config_new();
    char err[256];
    config_set(c, "data", data, CFG_FLAG, "bench", err, sizeof err);
    config_set(c, "cache_dir", cache, CFG_FLAG, "bench", err, sizeof err);
    if (threshold)
        config_set(c, "template_threshold", threshold, CFG_FLAG, "bench", err, sizeof err);
    return c;
}

static void bench_dir(const char *label, const char *dir) {
    char cache[256], err[1024];
    snprintf(cache, sizeof cache, "/tmp/axiom-bench-brain-%d", (int)getpid());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    if (system(cmd) != 0) return;
    printf("\n== %s: %s\n", label, dir);

    /* cold: pack + index build + intent training; then a second brain on the cache */
    int64_t rss0 = proc_rss_bytes();
    axiom_config *cfg = make_cfg(dir, cache, NULL);
    brain *b = brain_new(cfg, err, sizeof err);
    int64_t t0 = now_us();
    if (!b || brain_load(b, err, sizeof err) != 0) {
        printf("cannot load: %s\n", err);
        brain_free(b);
        config_free(cfg);
        return;
    }
    int64_t cold_us = now_us() - t0;
    int64_t rss1 = proc_rss_bytes();
    printf("pack: %zu items, %zu templates, %zu facts, %zu load issues\n", b->pk->n_items,
           b->pk->n_templates, b->pk->n_facts, b->pk->n_issues);
    printf("index build (cold, SQLite FTS5 file): %.1f ms; whole cold load incl. pack parse and "
           "intent training: %.1f ms\n",
           b->sinfo.build_us / 1000.0, cold_us / 1000.0);
    brain *b2 = brain_new(cfg, err, sizeof err);
    t0 = now_us();
    if (b2 && brain_load(b2, err, sizeof err) == 0)
        printf("second start (cached index and intent model): %.1f ms total, index open %.1f ms "
               "(rebuilt: %s)\n",
               (now_us() - t0) / 1000.0, b2->sinfo.build_us / 1000.0,
               b2->sinfo.rebuilt ? "yes" : "no");
    brain_free(b2);
    printf("resident memory of the loaded brain: %.1f MiB (RSS delta; whole process %.1f MiB)\n",
           (rss1 - rss0) / 1048576.0, rss1 / 1048576.0);

    /* template questions asked back verbatim, lower-cased */
    size_t n = b->pk->n_templates, fast = 0, own = 0, unamb = 0, unamb_own = 0;
    int64_t *tpl_us = calloc(n + 1, sizeof *tpl_us), *all_us = calloc(n + 1, sizeof *all_us),
            *tpl_cpu = calloc(n + 1, sizeof *tpl_cpu);
    size_t ntpl = 0;
    brain_session *s = brain_session_new(b);
    char q[2048];
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        for (const char *c = b->pk->templates[i].question; *c && k < sizeof q - 1; c++)
            q[k++] = (char)tolower((unsigned char)*c);
        q[k] = 0;
        brain_reply r;
        brain_turn_opts o = {
            .mode = BRAIN_MODE_SKIP_LLM, .llm = NULL, .cancel = NULL, .sink = {NULL, NULL}};
        /* fresh history each time: one question, one session, as a user would ask it */
        s->topic_item = -1;
        s->last_model[0] = 0;
        int64_t c0 = cpu_us();
        int trc = brain_turn(b, s, q, &o, &r, err, sizeof err);
        int64_t c1 = cpu_us();
        if (trc == 0) {
            all_us[i] = r.t.total_us;
            if (r.path == BRAIN_PATH_TEMPLATE && r.template_index >= 0) {
                tpl_cpu[ntpl] = c1 - c0;
                fast++;
                tpl_us[ntpl++] = r.t.total_us;
                if (strcmp(b->pk->templates[r.template_index].answer, b->pk->templates[i].answer) ==
                    0)
                    own++;
            }
        }
        /* the data itself may hold this question (after normalisation) with another
         * answer: then no chooser can be right for both */
        int ambiguous = 0;
        for (size_t j = 0; j < n && !ambiguous; j++)
            ambiguous = j != i && strcmp(b->norm_q[j], b->norm_q[i]) == 0 &&
                        strcmp(b->pk->templates[j].answer, b->pk->templates[i].answer) != 0;
        if (!ambiguous) {
            unamb++;
            if (r.path == BRAIN_PATH_TEMPLATE && r.template_index >= 0 &&
                strcmp(b->pk->templates[r.template_index].answer, b->pk->templates[i].answer) == 0)
                unamb_own++;
        }
        brain_reply_free(&r);
    }
    printf("template questions asked back verbatim (lower-cased): %zu\n", n);
    printf("  took the fast path: %zu (%.1f%%); got their own template's answer: %zu (%.1f%%)\n",
           fast, n ? 100.0 * fast / n : 0, own, n ? 100.0 * own / n : 0);
    printf("  questions the data holds only once (no same question with another answer): %zu; "
           "their own answer on "
           "the fast path: %zu (%.1f%%)\n",
           unamb, unamb_own, unamb ? 100.0 * unamb_own / unamb : 0);
    printf(
        "  template-path answer, in process: p50 %.0f us, p95 %.0f us, p99 %.0f us (%zu answers)\n",
        pct(tpl_us, ntpl, 0.5), pct(tpl_us, ntpl, 0.95), pct(tpl_us, ntpl, 0.99), ntpl);
    printf("  template-path answer, CPU time of the answering thread: p50 %.0f us, p99 %.0f us\n",
           pct(tpl_cpu, ntpl, 0.5), pct(tpl_cpu, ntpl, 0.99));
    printf("  any path (same questions): p50 %.0f us, p99 %.0f us\n", pct(all_us, n, 0.5),
           pct(all_us, n, 0.99));
    brain_session_free(s);
    brain_free(b);
    config_free(cfg);

    /* retrieval path (no LLM): the same questions with the fast path switched off */
    cfg = make_cfg(dir, cache, "1");
    b = brain_new(cfg, err, sizeof err);
    s = b ? brain_session_new(b) : NULL;
    size_t nret = 0;
    int64_t *ret_us = calloc(n + 1, sizeof *ret_us), *ret_only = calloc(n + 1, sizeof *ret_only),
            *ret_cpu = calloc(n + 1, sizeof *ret_cpu);
    size_t limit = n > 1000 ? 1000 : n;
    for (size_t i = 0; s && i < limit; i++) {
        brain_reply r;
        brain_turn_opts o = {
            .mode = BRAIN_MODE_SKIP_LLM, .llm = NULL, .cancel = NULL, .sink = {NULL, NULL}};
        s->topic_item = -1;
        int64_t c0 = cpu_us();
        int trc = brain_turn(b, s, b->pk ? b->pk->templates[(i * 7) % n].question : "hello", &o, &r,
                             err, sizeof err);
        int64_t c1 = cpu_us();
        if (trc == 0 && r.path == BRAIN_PATH_RETRIEVAL && r.t.load_us < 1000) {
            ret_cpu[nret] = c1 - c0;
            ret_us[nret] = r.t.total_us;
            ret_only[nret++] = r.t.retrieval_us;
        }
        brain_reply_free(&r);
    }
    printf("retrieval-path answer (no LLM), in process: p50 %.0f us, p95 %.0f us, p99 %.0f us (%zu "
           "answers); "
           "bm25 search alone p50 %.0f us\n",
           pct(ret_us, nret, 0.5), pct(ret_us, nret, 0.95), pct(ret_us, nret, 0.99), nret,
           pct(ret_only, nret, 0.5));
    printf("  retrieval-path answer, CPU time of the answering thread: p50 %.0f us, p99 %.0f us\n",
           pct(ret_cpu, nret, 0.5), pct(ret_cpu, nret, 0.99));
    free(ret_cpu);
    free(ret_us);
    free(ret_only);
    free(tpl_us);
    free(tpl_cpu);
    free(all_us);
    brain_session_free(s);
    brain_free(b);
    config_free(cfg);
    if (system(cmd) != 0) return;
}

int main(int argc, char **argv) {
    log_set_level(AX_LOG_ERROR);
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            bench_dir("pack", argv[i]);
        return 0;
    }
    char ref[2048], def[2048], probe[2100];
    const char *root = axiom_root_dir();
    snprintf(ref, sizeof ref, "%s/../shared/axiom-reference/data", root);
    struct stat st;
    if (stat(ref, &st) == 0)
        bench_dir("reference deployment data", ref);
    else
        printf("reference data absent (%s): skipped\n", ref);
    snprintf(def, sizeof def, "%s/data", root);
    snprintf(probe, sizeof probe, "%s/pack.json", def);
    if (stat(probe, &st) == 0)
        bench_dir("default pack", def);
    else {
        printf("\ndefault pack incomplete (no data/pack.json): measuring the tests' mini pack "
               "instead\n");
        snprintf(def, sizeof def, "%s/tests/data/pack-mini", root);
        bench_dir("tests' mini pack", def);
    }
    return 0;
}
