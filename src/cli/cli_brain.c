/* axiom ask / axiom chat: the brain from a terminal. `ask` answers one question and
 * prints the answer, intent, confidence, path taken and per-stage microseconds (or one
 * JSON object with --json); `chat` is a conversation with history that streams each
 * sentence as it is ready, from a terminal or from piped stdin. Both answer through
 * the public axiom_ask, as an embedding program does; only the printing looks behind
 * the reply (brain_reply_of) for the details axiom_reply leaves out. */
#include "axiom.h"
#include "brain/brain.h"
#include "cli/cli.h"
#include "core/engine.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_human(const brain_reply *r, FILE *out) {
    if (r->path == BRAIN_PATH_NONE) fprintf(out, "(nothing to answer: %s)\n", r->dropped);
    fprintf(out, "intent: %s (%.2f)  path: %s", r->intent[0] ? r->intent : "-", r->confidence,
            brain_path_name(r->path));
    if (r->template_index >= 0)
        fprintf(out, "  template: #%d (similarity %.2f)", r->template_index, r->template_score);
    fputc('\n', out);
    if (r->card.index >= 0)
        fprintf(out, "card: %d %s (\"%s\")\n", r->card.index, r->card.product_name,
                r->card.keyword);
    if (r->model_3d.path[0])
        fprintf(out, "3d model: %s (%s)\n", r->model_3d.path, r->model_3d.name);
    if (r->n_hits) {
        fprintf(out, "retrieved:");
        for (int i = 0; i < r->n_hits; i++)
            fprintf(out, " %c#%d=%.2f", r->hits[i].kind, r->hits[i].index, r->hits[i].score);
        fputc('\n', out);
    }
    fprintf(out,
            "us: normalise %lld, intent %lld, template %lld, retrieval %lld, llm %lld, shape %lld, "
            "total %lld",
            (long long)r->t.normalise_us, (long long)r->t.intent_us, (long long)r->t.template_us,
            (long long)r->t.retrieval_us, (long long)r->t.llm_us, (long long)r->t.shape_us,
            (long long)r->t.total_us);
    if (r->t.load_us > 1000) fprintf(out, " (of which loading %lld)", (long long)r->t.load_us);
    fputc('\n', out);
}

static void print_json(const brain_reply *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "answer", r->text ? r->text : "");
    cJSON_AddStringToObject(o, "intent", r->intent);
    cJSON_AddNumberToObject(o, "confidence", (double)(int)(r->confidence * 10000 + 0.5) / 10000);
    cJSON_AddStringToObject(o, "path", brain_path_name(r->path));
    cJSON_AddStringToObject(o, "normalised", r->normalised ? r->normalised : "");
    if (r->dropped[0]) cJSON_AddStringToObject(o, "dropped", r->dropped);
    cJSON_AddBoolToObject(o, "truncated", r->truncated);
    cJSON_AddNumberToObject(o, "template", r->template_index);
    if (r->card.index >= 0) {
        cJSON *c = cJSON_AddObjectToObject(o, "card");
        cJSON_AddNumberToObject(c, "card_index", r->card.index);
        cJSON_AddStringToObject(c, "keyword", r->card.keyword);
        cJSON_AddStringToObject(c, "product_name", r->card.product_name);
    }
    if (r->model_3d.path[0]) {
        cJSON *m = cJSON_AddObjectToObject(o, "load_3d_model");
        cJSON_AddStringToObject(m, "model_path", r->model_3d.path);
        cJSON_AddStringToObject(m, "model_name", r->model_3d.name);
    }
    cJSON *h = cJSON_AddArrayToObject(o, "retrieved");
    for (int i = 0; i < r->n_hits; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "kind",
                                r->hits[i].kind == 'f'   ? "fact"
                                : r->hits[i].kind == 't' ? "template"
                                                         : "item");
        cJSON_AddNumberToObject(x, "index", r->hits[i].index);
        cJSON_AddNumberToObject(x, "score", r->hits[i].score);
        cJSON_AddItemToArray(h, x);
    }
    cJSON *t = cJSON_AddObjectToObject(o, "us");
    cJSON_AddNumberToObject(t, "normalise", (double)r->t.normalise_us);
    cJSON_AddNumberToObject(t, "intent", (double)r->t.intent_us);
    cJSON_AddNumberToObject(t, "template", (double)r->t.template_us);
    cJSON_AddNumberToObject(t, "retrieval", (double)r->t.retrieval_us);
    cJSON_AddNumberToObject(t, "llm", (double)r->t.llm_us);
    cJSON_AddNumberToObject(t, "shape", (double)r->t.shape_us);
    cJSON_AddNumberToObject(t, "load", (double)r->t.load_us);
    cJSON_AddNumberToObject(t, "total", (double)r->t.total_us);
    char *s = cJSON_PrintUnformatted(o);
    if (s) puts(s);
    free(s);
    cJSON_Delete(o);
}

int cmd_ask(const axiom_config *cfg, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf(
            "usage: axiom ask \"question\" [--json] [--data DIR] [--template-only|--skip-llm]\n"
            "       axiom ask --audio FILE.wav|- [FILE...] [--json]\n"
            "Answers one question from the knowledge pack and prints the answer, intent, "
            "confidence,\n"
            "path (template, retrieval, llm, fallback) and per-stage microseconds.\n"
            "--audio: each recording (any WAV) goes through the server's turn: voice activity\n"
            "detection, recognition per speech segment, then the brain, in a fresh conversation\n"
            "per file; prints the transcript, each segment's turn, the answer and stage times.\n");
        return 0;
    }
    int json = 0, audio = 0, npos = 0;
    /* Positional arguments: the question, or with --audio (anywhere) the files. */
    char **pos = calloc((size_t)argc, sizeof *pos);
    if (!pos) return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--audio") == 0)
            audio = 1;
        else
            pos[npos++] = argv[i];
    }
    if (audio) {
        int rc = cli_ask_audio(cfg, pos, npos, json);
        free(pos);
        return rc;
    }
    const char *text = npos ? pos[0] : NULL, *extra = npos > 1 ? pos[1] : NULL;
    free(pos);
    if (extra) {
        fprintf(stderr, "axiom ask: one question only (quote it): unexpected '%s'\n", extra);
        return 2;
    }
    if (!text) {
        fprintf(stderr,
                "axiom ask: give the question, e.g. axiom ask \"what is the jetson orin nano\"\n");
        return 2;
    }
    char err[1024];
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    if (!e) {
        fprintf(stderr, "axiom ask: %s\n", err);
        return 1;
    }
    axiom_session *s = axiom_session_new(e);
    axiom_reply reply;
    int rc = s ? axiom_ask(e, s, text, NULL, NULL, NULL, &reply, err, sizeof err) : -1;
    if (rc != 0) {
        fprintf(stderr, "axiom ask: %s\n", s ? err : "out of memory");
    } else {
        const brain_reply *r = brain_reply_of(&reply);
        if (json) {
            print_json(r);
        } else {
            if (*reply.text) printf("%s\n", reply.text);
            print_human(r, stdout);
        }
        axiom_reply_free(&reply);
    }
    axiom_session_free(s);
    axiom_engine_free(e);
    return rc == 0 ? 0 : 1;
}

static void print_sentence(void *user, const char *sentence) {
    int *first = user;
    printf("%s%s", *first ? "axiom> " : " ", sentence);
    *first = 0;
    fflush(stdout);
}

int cmd_chat(const axiom_config *cfg, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        printf("usage: axiom chat [--data DIR] [--verbose]\n"
               "A conversation in the terminal (or from piped stdin, one question a line) with the "
               "last\n"
               "history_turns turns remembered. Type 'exit' or press Ctrl-D to leave.\n");
        return 0;
    }
    int verbose = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) verbose = 1;
    char err[1024];
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    if (!e) {
        fprintf(stderr, "axiom chat: %s\n", err);
        return 1;
    }
    axiom_session *s = axiom_session_new(e);
    int tty = isatty(0);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    if (tty) printf("AXIOM chat. Ask about the lab's equipment; 'exit' leaves.\n");
    while (s) {
        if (tty) {
            printf("you> ");
            fflush(stdout);
        }
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) break;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (strcmp(line, "exit") == 0 || strcmp(line, "quit") == 0) break;
        int first = 1;
        axiom_reply reply;
        if (axiom_ask(e, s, line, print_sentence, &first, NULL, &reply, err, sizeof err) != 0) {
            fprintf(stderr, "axiom chat: %s\n", err);
            rc = 1;
            break;
        }
        if (!first)
            putchar('\n');
        else if (strcmp(reply.path, "none") == 0 && tty)
            printf("(nothing to answer: %s)\n", reply.dropped);
        if (verbose) print_human(brain_reply_of(&reply), stdout);
        axiom_reply_free(&reply);
        fflush(stdout);
    }
    free(line);
    axiom_session_free(s);
    axiom_engine_free(e);
    return rc;
}
