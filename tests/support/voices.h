/* Voices for the benchmarks and tests: a question spoken by flite (in-process, through
 * the engine's synthesiser) or by espeak-ng (the program), as 16 kHz mono s16.
 *
 * A voice is named "flite:NAME" (slt, awb, rms, kal16, kal) or
 * "espeak:VOICE[:pPITCH][:sSPEED]" (espeak-ng's -v, -p 0..99 and -s words per minute),
 * e.g. "espeak:en-gb:p30:s140". Thread safety: any number of calls at once. */
#ifndef AXIOM_TEST_VOICES_H
#define AXIOM_TEST_VOICES_H

#include "speech/tts.h"

#include <stddef.h>
#include <stdint.h>

/* Speaks text with voice into a new buffer (caller frees). tts is needed for flite
 * voices (may be NULL otherwise); espeak-ng writes a temporary file in tmp_dir.
 * Returns 0, or -1 with err (unknown voice, program missing or failing). */
int voice_speak(tts_engine *tts, const char *voice, const char *text, const char *tmp_dir,
                int16_t **pcm, size_t *n, char *err, size_t errlen);

/* The program's full path found through PATH into buf, or NULL when absent. */
const char *tool_which(const char *name, char *buf, size_t buflen);

/* Runs argv (argv[0] looked up in PATH) with stdin, stdout and stderr on /dev/null and
 * waits. Returns its exit status, or -1 when it could not start or was killed. */
int tool_run(char *const argv[]);

#endif
