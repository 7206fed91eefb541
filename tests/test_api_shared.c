/* The public API as an embedding program meets it: this program includes only axiom.h
 * (and the test harness) and links only libaxiom.so, so it can reach nothing the
 * library does not export. A configuration from an INI file, errors that name the
 * key, the file and the line, an engine on the default pack and typed answers. */
#include "axiom.h"
#include "check.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX], tmp[PATH_MAX];

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* The project root: $AXIOM_ROOT (tests/run.sh sets it), else two folders above this
 * program (BUILD/tests/). */
static void find_root(void) {
    const char *env = getenv("AXIOM_ROOT");
    if (env && *env) {
        snprintf(root, sizeof root, "%s", env);
        return;
    }
    ssize_t n = readlink("/proc/self/exe", root, sizeof root - 1);
    root[n > 0 ? n : 0] = '\0';
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(root, '/');
        if (slash) *slash = '\0';
    }
}

static void test_version(void) {
    CHECK_STR(axiom_version(), AXIOM_VERSION);
    CHECK(AXIOM_VERSION_NUMBER >= AXIOM_MAKE_VERSION(0, 2, 0));
}

static void test_config_errors(void) {
    axiom_config *cfg = axiom_config_new();
    CHECK(cfg != NULL);
    if (!cfg) return;
    char err[512] = "", path[PATH_MAX + 32];
    CHECK_EQ_INT(axiom_config_set(cfg, "no_such_key", "1", err, sizeof err), -1);
    CHECK_CONTAINS(err, "no_such_key");
    err[0] = '\0';
    CHECK_EQ_INT(axiom_config_set(cfg, "server.port", "http", err, sizeof err), -1);
    CHECK_CONTAINS(err, "server.port");
    CHECK_CONTAINS(err, "http");
    CHECK_CONTAINS(err, "0 to 65535");
    CHECK_EQ_INT(axiom_config_set(cfg, "server.port", "9000", err, sizeof err), 0);
    /* no message buffer at all is allowed */
    CHECK_EQ_INT(axiom_config_set(cfg, "mode", "fast", NULL, 0), -1);

    /* A misspelt key in a section: the message names the file, the line and the key
     * as the section spells it. */
    snprintf(path, sizeof path, "%s/bad.conf", tmp);
    CHECK(write_file(path, "# a robot's settings\nmode = template-only\n[server]\nprot = 80\n") ==
          0);
    err[0] = '\0';
    CHECK_EQ_INT(axiom_config_load_file(cfg, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, "bad.conf:4");
    CHECK_CONTAINS(err, "server.prot");
    /* a bad value names the key and what is allowed */
    CHECK(write_file(path, "[vad]\nthreshold = 2\n") == 0);
    err[0] = '\0';
    CHECK_EQ_INT(axiom_config_load_file(cfg, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, "bad.conf:2");
    CHECK_CONTAINS(err, "vad.threshold");
    snprintf(path, sizeof path, "%s/absent.conf", tmp);
    err[0] = '\0';
    CHECK_EQ_INT(axiom_config_load_file(cfg, path, err, sizeof err), -1);
    CHECK_CONTAINS(err, "absent.conf");
    axiom_config_free(cfg);
    axiom_config_free(NULL);
}

typedef struct {
    int n;
    char all[2048];
} sentences;

static void on_sentence(void *user, const char *s) {
    sentences *l = user;
    l->n++;
    size_t used = strlen(l->all);
    snprintf(l->all + used, sizeof l->all - used, "%s%s", used ? " " : "", s);
}

static void test_ini_engine_ask(void) {
    char conf[PATH_MAX + 32], text[3 * PATH_MAX], pack[PATH_MAX + 32], err[1024] = "";
    struct stat st;
    snprintf(pack, sizeof pack, "%s/data/pack.json", root);
    if (stat(pack, &st) != 0) SKIP("the default pack (data/pack.json) is absent");
    snprintf(conf, sizeof conf, "%s/axiom.conf", tmp);
    snprintf(text, sizeof text,
             "; what an embedding program ships beside itself\n"
             "data = %s/data\n"
             "cache_dir = %s/cache\n"
             "log_level = warn\n"
             "[tts]\n"
             "backend = none\n",
             root, tmp);
    CHECK(write_file(conf, text) == 0);
    axiom_config *cfg = axiom_config_new();
    CHECK(cfg != NULL);
    if (!cfg) return;
    CHECK_MSG(axiom_config_load_file(cfg, conf, err, sizeof err) == 0, "%s", err);
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    CHECK_MSG(e != NULL, "engine: %s", err);
    axiom_session *s = e ? axiom_session_new(e) : NULL;
    CHECK(!e || s != NULL);
    if (s) {
        sentences got = {0};
        axiom_reply r;
        int rc =
            axiom_ask(e, s, "when is the lab open", on_sentence, &got, NULL, &r, err, sizeof err);
        CHECK_MSG(rc == 0, "ask: %s", err);
        if (rc == 0) {
            CHECK(strlen(r.text) > 10);
            CHECK_STR(r.intent, "lab_info");
            CHECK_STR(r.path, "template");
            CHECK(r.confidence > 0.5f && r.confidence <= 1.0f);
            CHECK_STR(r.dropped, "");
            CHECK_STR(r.llm_failure, "");
            CHECK(r.total_us > 0 && r.intent_us >= 0 && r.retrieval_us >= 0 && r.llm_us == 0);
            CHECK(r.intent_us <= r.total_us);
            /* the sentences streamed are the answer */
            CHECK(got.n >= 1);
            CHECK_STR(got.all, r.text);
            axiom_reply_free(&r);
            axiom_reply_free(&r); /* a freed reply is empty: freeing again is harmless */
        }
        /* nothing to answer: a reply with the reason, not an error */
        rc = axiom_ask(e, s, "   ", NULL, NULL, NULL, &r, err, sizeof err);
        CHECK_MSG(rc == 0, "ask: %s", err);
        if (rc == 0) {
            CHECK_STR(r.path, "none");
            CHECK_STR(r.text, "");
            CHECK(r.dropped[0] != '\0');
            CHECK_EQ_INT(r.card_index, -1);
            axiom_reply_free(&r);
        }
        axiom_session_free(s);
    }
    axiom_engine_free(e);
    axiom_config_free(cfg);
}

/* A data folder that is not there: the engine refuses, or the first question fails,
 * and either way the message names the folder. */
static void test_missing_data_folder(void) {
    axiom_config *cfg = axiom_config_new();
    char err[1024] = "", cache[PATH_MAX + 32];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    CHECK_EQ_INT(axiom_config_set(cfg, "data", "/nonexistent/pack-folder", err, sizeof err), 0);
    CHECK_EQ_INT(axiom_config_set(cfg, "cache_dir", cache, err, sizeof err), 0);
    CHECK_EQ_INT(axiom_config_set(cfg, "log_level", "error", err, sizeof err), 0);
    CHECK_EQ_INT(axiom_config_set(cfg, "tts.backend", "none", err, sizeof err), 0);
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    if (e) {
        axiom_session *s = axiom_session_new(e);
        axiom_reply r;
        CHECK(s != NULL);
        CHECK_EQ_INT(
            s ? axiom_ask(e, s, "when is the lab open", NULL, NULL, NULL, &r, err, sizeof err) : 0,
            -1);
        axiom_session_free(s);
    }
    CHECK_CONTAINS(err, "/nonexistent/pack-folder");
    axiom_engine_free(e);
    axiom_config_free(cfg);
    /* and NULL arguments are errors, not crashes */
    CHECK(axiom_engine_new(NULL, err, sizeof err) == NULL);
    CHECK(err[0] != '\0');
}

int main(int argc, char **argv) {
    (void)argc;
    find_root();
    const char *td = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/axiom-api-shared-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_version);
    RUN(test_config_errors);
    RUN(test_ini_engine_ask);
    RUN(test_missing_data_folder);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", tmp);
    return CHECK_DONE(argv[0]);
}
