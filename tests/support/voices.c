/* flite in-process, espeak-ng as a child process (its library would tie the build to
 * it); see voices.h. */
#include "voices.h"

#include "speech/wav.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *tool_which(const char *name, char *buf, size_t buflen) {
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len) {
            snprintf(buf, buflen, "%.*s/%s", (int)len, path, name);
            if (access(buf, X_OK) == 0) return buf;
        }
        path += len + (end ? 1 : 0);
    }
    return NULL;
}

int tool_run(char *const argv[]) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int speak_espeak(const char *spec, const char *text, const char *tmp_dir, int16_t **pcm,
                        size_t *n, char *err, size_t errlen) {
    static atomic_uint seq;
    char voice[64] = "", pitch[16] = "", speed[16] = "", out[1024];
    const char *p = spec;
    size_t len = strcspn(p, ":");
    snprintf(voice, sizeof voice, "%.*s", (int)len, p);
    for (p += len; *p == ':'; p += len) {
        p++;
        len = strcspn(p, ":");
        if (*p == 'p')
            snprintf(pitch, sizeof pitch, "%.*s", (int)len - 1, p + 1);
        else if (*p == 's')
            snprintf(speed, sizeof speed, "%.*s", (int)len - 1, p + 1);
        else {
            snprintf(err, errlen, "espeak voice '%s': expected :pPITCH or :sSPEED", spec);
            return -1;
        }
    }
    snprintf(out, sizeof out, "%s/espeak-%d-%u.wav", tmp_dir, (int)getpid(),
             atomic_fetch_add(&seq, 1));
    char *argv[12];
    int a = 0;
    argv[a++] = "espeak-ng";
    argv[a++] = "-v";
    argv[a++] = voice;
    if (pitch[0]) argv[a++] = "-p", argv[a++] = pitch;
    if (speed[0]) argv[a++] = "-s", argv[a++] = speed;
    argv[a++] = "-w";
    argv[a++] = out;
    argv[a++] = (char *)text;
    argv[a] = NULL;
    int rc = tool_run(argv);
    if (rc != 0) {
        snprintf(err, errlen, "espeak-ng -v %s failed (exit %d)%s", voice, rc,
                 rc < 0 ? ": is espeak-ng installed?" : "");
        unlink(out);
        return -1;
    }
    rc = wav_read_all(out, 16000, 120, pcm, n, err, errlen);
    unlink(out);
    return rc;
}

int voice_speak(tts_engine *tts, const char *voice, const char *text, const char *tmp_dir,
                int16_t **pcm, size_t *n, char *err, size_t errlen) {
    *pcm = NULL;
    *n = 0;
    if (strncmp(voice, "espeak:", 7) == 0)
        return speak_espeak(voice + 7, text, tmp_dir, pcm, n, err, errlen);
    if (strncmp(voice, "flite:", 6) != 0) {
        snprintf(err, errlen, "voice '%s': expected flite:NAME or espeak:VOICE", voice);
        return -1;
    }
    if (!tts) {
        snprintf(err, errlen, "voice '%s' needs a synthesiser", voice);
        return -1;
    }
    tts_audio a;
    memset(&a, 0, sizeof a);
    if (tts_synth(tts, text, voice + 6, 16000, NULL, &a, err, errlen) != 0) return -1;
    *pcm = a.samples;
    *n = a.n;
    return 0;
}
