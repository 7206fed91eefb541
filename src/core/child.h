/* Trial runs in a child process, for work that may kill the process doing it.
 *
 * sherpa-onnx and onnxruntime call exit() or abort() on a model file that is
 * truncated, garbage or of the wrong architecture, so the first load of a
 * bring-your-own model happens in a forked child: a bad folder then costs a clear
 * error (and the embedded engine) instead of the server. Every child is awaited with
 * a deadline and killed past it, so a load that hangs cannot hang the caller either.
 *
 * Thread safety: any thread. The child runs only fn and then _exit()s; fn must not
 * rely on locks other threads may hold at fork time (glibc keeps malloc usable). */
#ifndef AXIOM_CHILD_H
#define AXIOM_CHILD_H

#include <stddef.h>

/* Runs in the child; its return value is the child's exit status (0 = passed). */
typedef int (*child_fn)(void *arg);

/* Runs fn(arg) in a forked child whose stdout and stderr are captured, and waits for
 * it at most timeout_ms (then SIGKILL, and it is reaped). Returns 0 when the child
 * exited with status 0; -1 with why ("exited with status 1: <its last line of
 * output>", "died of signal 6 (Aborted): ...", "did not finish within 20000 ms");
 * 1 when no trial could be run (fork failed, or the child was reaped elsewhere
 * because SIGCHLD is ignored), with why saying so: the caller decides. */
int child_trial(child_fn fn, void *arg, int timeout_ms, char *why, size_t whylen);
/* The same, also copying all the child's output to this process's stderr (a
 * library's own debug print, e.g. AXIOM_SHERPA_DEBUG). */
int child_trial_echo(child_fn fn, void *arg, int timeout_ms, int echo, char *why, size_t whylen);

/* A small memory of files that passed a trial (path, size, mtime, inode), so a
 * component the governor reloads is not tried again. files: n paths. */
int child_trial_passed_before(const char *const *files, size_t n);
void child_trial_remember(const char *const *files, size_t n);

#endif
