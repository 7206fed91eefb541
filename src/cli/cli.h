/* The axiom command line: main.c reads the configuration and dispatches to one
 * function per subcommand. argv[0] is the subcommand's name; configuration flags
 * have already been removed from argv. Each returns the process exit status. */
#ifndef AXIOM_CLI_H
#define AXIOM_CLI_H

#include "axiom.h"
#include "brain/brain.h"
#include "core/config.h"

int cmd_serve(const axiom_config *cfg, int argc, char **argv);
int cmd_ask(const axiom_config *cfg, int argc, char **argv);
int cmd_chat(const axiom_config *cfg, int argc, char **argv);
int cmd_eval(const axiom_config *cfg, int argc, char **argv);
int cmd_transcribe(const axiom_config *cfg, int argc, char **argv);
int cmd_say(const axiom_config *cfg, int argc, char **argv);
int cmd_doctor(const axiom_config *cfg, int argc, char **argv);
int cmd_bench(const axiom_config *cfg, int argc, char **argv);
int cmd_vad(const axiom_config *cfg, int argc, char **argv);
int cmd_listen(const axiom_config *cfg, int argc, char **argv);

/* axiom ask --audio: answers each recording as the server would (cli_voice_ask.c). */
int cli_ask_audio(const axiom_config *cfg, char **files, int nfiles, int json);

/* 1 when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);
/* Says the subcommand is not built yet and returns 2. */
int cli_not_built(const char *name);

#endif
