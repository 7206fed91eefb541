/* axiom ask / axiom chat end to end, as a user runs them: the default pack, the
 * reference deployment's data folder, --json for machines, piped chat with history,
 * and a clear error for a folder that is not a pack. */
#include "check.h"
#include "core/util.h"
#include "support/testutil.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char out[65536], errb[65536], cache_env[600], tmp[512];

static cJSON *ask_json(const char *args) {
    char full[2048];
    snprintf(full, sizeof full, "ask --log-level error --json %s", args);
    int rc = tu_run_axiom(cache_env, full, out, sizeof out, errb, sizeof errb);
    CHECK_MSG(rc == 0, "axiom %s: exit %d: %s", full, rc, errb);
    cJSON *j = cJSON_Parse(out);
    CHECK_MSG(j != NULL, "not JSON: %s", out);
    return j;
}

static const char *jstr(cJSON *j, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_ask_default_pack(void) {
    char probe[600];
    tu_root_path("data/pack.json", probe, sizeof probe);
    struct stat st;
    if (stat(probe, &st) != 0) SKIP("the default pack (data/pack.json) is absent");
    cJSON *j = ask_json("'when is the lab open'");
    if (!j) return;
    CHECK(strlen(jstr(j, "answer")) > 10);
    CHECK_STR(jstr(j, "intent"), "lab_info");
    CHECK_STR(jstr(j, "path"), "template");
    cJSON *us = cJSON_GetObjectItemCaseSensitive(j, "us");
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(us, "total")));
    cJSON_Delete(j);
    /* the human form names the path and the stage timings */
    int rc = tu_run_axiom(cache_env, "ask --log-level error 'tell me about the robot dog'", out,
                          sizeof out, errb, sizeof errb);
    CHECK_EQ_INT(rc, 0);
    CHECK_CONTAINS(out, "path: ");
    CHECK_CONTAINS(out, "us: normalise");
    CHECK_CONTAINS(out, "card: ");
}

static void test_ask_reference_data(void) {
    char ref[512], args[1200];
    if (!tu_shared_path("axiom-reference/data", ref, sizeof ref))
        SKIP("../shared/axiom-reference/data is absent");
    snprintf(args, sizeof args, "--data '%s' 'How do I use the Robotic Arm Kit?'", ref);
    cJSON *j = ask_json(args);
    if (!j) return;
    CHECK_STR(jstr(j, "path"), "template");
    CHECK_CONTAINS(jstr(j, "answer"), "current sensor");
    cJSON *card = cJSON_GetObjectItemCaseSensitive(j, "card");
    CHECK(cJSON_IsObject(card));
    cJSON *ci = cJSON_GetObjectItemCaseSensitive(card, "card_index");
    CHECK(cJSON_IsNumber(ci) && ci->valueint == 6);
    cJSON_Delete(j);
    snprintf(args, sizeof args, "--data '%s' 'show me the robot dog'", ref);
    j = ask_json(args);
    if (!j) return;
    cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "load_3d_model");
    CHECK(cJSON_IsObject(m));
    CHECK_STR(jstr(m, "model_path"), "models/quadruped.glb");
    cJSON_Delete(j);
}

static void test_ask_errors(void) {
    int rc = tu_run_axiom(cache_env, "ask --log-level error --data /nonexistent/place 'hello'", out,
                          sizeof out, errb, sizeof errb);
    CHECK_EQ_INT(rc, 1);
    CHECK_CONTAINS(errb, "/nonexistent/place");
    rc = tu_run_axiom(cache_env, "ask", out, sizeof out, errb, sizeof errb);
    CHECK_EQ_INT(rc, 2);
    CHECK_CONTAINS(errb, "give the question");
}

static void test_chat_piped(void) {
    char pack[512], bin[512], in[700], cmd[4096], outp[700];
    tu_root_path("tests/data/pack-mini", pack, sizeof pack);
    const char *b = getenv("AXIOM_BIN");
    if (b && *b)
        snprintf(bin, sizeof bin, "%s", b);
    else
        tu_root_path("build/axiom", bin, sizeof bin);
    snprintf(in, sizeof in, "%s/in.txt", tmp);
    snprintf(outp, sizeof outp, "%s/out.txt", tmp);
    CHECK(tu_write_file(in, "hello\nwhat is the range of the rplidar\n\nhow about its "
                            "range\nexit\nnever asked\n") == 0);
    snprintf(cmd, sizeof cmd, "%s '%s' chat --log-level error --data '%s' < '%s' > '%s' 2>&1",
             cache_env, bin, pack, in, outp);
    CHECK_EQ_INT(system(cmd), 0);
    size_t len;
    char e[256];
    char *text = file_read_all(outp, 1 << 20, &len, e, sizeof e);
    CHECK(text != NULL);
    if (!text) return;
    CHECK_CONTAINS(text, "axiom> Hi there");
    CHECK_CONTAINS(text, "12 meters");
    CHECK(strstr(text, "never asked") == NULL);
    /* three answers: the blank line is dropped, "exit" ends the conversation */
    int n = 0;
    for (const char *p = text; (p = strstr(p, "axiom> ")); p++)
        n++;
    CHECK_EQ_INT(n, 3);
    free(text);
}

int main(int argc, char **argv) {
    (void)argc;
    if (tu_mkdtemp(tmp, sizeof tmp) != 0) return 1;
    snprintf(cache_env, sizeof cache_env, "AXIOM_CACHE_DIR='%s/cache'", tmp);
    RUN(test_ask_default_pack);
    RUN(test_ask_reference_data);
    RUN(test_ask_errors);
    RUN(test_chat_piped);
    tu_rmtree(tmp);
    return CHECK_DONE(argv[0]);
}
