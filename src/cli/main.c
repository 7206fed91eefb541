/* axiom: the command-line front end. Reads configuration (flags > environment >
 * file > defaults), then runs one subcommand. */
#include "axiom.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(const axiom_config *cfg, int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"serve", cmd_serve, "start the voice server (HTTP + WebSocket, default 127.0.0.1:8000)"},
    {"ask", cmd_ask, "answer a question: axiom ask \"text\" | --audio FILE.wav... [--json]"},
    {"chat", cmd_chat, "a conversation in the terminal"},
    {"transcribe", cmd_transcribe, "speech to text: axiom transcribe FILE.wav|- [--json]"},
    {"say", cmd_say, "text to speech: axiom say \"text\" -o out.wav [--voice V] [--rate HZ]"},
    {"vad", cmd_vad, "find the utterances in a recording: axiom vad FILE [--json]"},
    {"listen", cmd_listen,
     "voice session on a recording or pipe, JSON events: axiom listen FILE.wav|-"},
    {"doctor", cmd_doctor, "check this machine's memory set-up and say what to change"},
    {"eval", cmd_eval, "measure quality: axiom eval intents [--folds 5] [--suspects]"},
    {"bench", cmd_bench, "print speed and memory figures"},
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: axiom [options] <command> [args]\n\n"
            "AXIOM %s, an offline voice assistant.\n\ncommands:\n",
            axiom_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\noptions (any command):\n"
            "  --config FILE        configuration file (or $AXIOM_CONFIG; default ./axiom.conf or\n"
            "                       /etc/axiom/axiom.conf when present)\n"
            "  --data DIR           knowledge pack or reference data folder\n"
            "  --host ADDR --port N listen address (default 127.0.0.1:8000)\n"
            "  --template-only      canned answers only      --skip-llm   no language model\n"
            "  --llm none|ollama|openai|gguf                 --gguf FILE  in-process model\n"
            "  --context-length N   LLM context (or AXIOM_CONTEXT_LENGTH)\n"
            "  --set KEY=VALUE      any setting; --KEY VALUE works too\n"
            "  --log-level LEVEL    debug, info, warn, error, off\n"
            "  --print-config       show every setting, its value and where it came from\n"
            "  --version, --help\n\n"
            "`axiom <command> --help` describes a command.\n");
}

int main(int argc, char **argv) {
    axiom_config *cfg = config_new();
    if (!cfg) {
        fprintf(stderr, "axiom: out of memory\n");
        return 1;
    }
    char err[512];
    if (config_load_all(cfg, &argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "axiom: configuration error: %s\n", err);
        config_free(cfg);
        return 2;
    }
    ax_log_level lvl = AX_LOG_INFO;
    log_parse_level(config_str(cfg, "log_level"), &lvl);
    log_set_level(lvl);

    int print_config = 0, rc = 0;
    int first = 1;
    /* Global switches may come before the command. */
    while (first < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "--print-config") == 0)
            print_config = 1;
        else if (strcmp(argv[first], "--version") == 0) {
            printf("axiom %s\n", axiom_version());
            config_free(cfg);
            return 0;
        } else if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
            usage(stdout);
            config_free(cfg);
            return 0;
        } else {
            fprintf(stderr, "axiom: unknown option '%s' (axiom --help lists them)\n", argv[first]);
            config_free(cfg);
            return 2;
        }
        first++;
    }
    if (print_config) {
        config_print(cfg, stdout);
        if (first >= argc) {
            config_free(cfg);
            return 0;
        }
    }
    if (first >= argc) {
        usage(stderr);
        config_free(cfg);
        return 2;
    }
    const command *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[first], commands[i].name) == 0) cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "axiom: unknown command '%s' (axiom --help lists them)\n", argv[first]);
        rc = 2;
    } else {
        rc = cmd->run(cfg, argc - first, argv + first);
    }
    config_free(cfg);
    return rc;
}
