/* Opens libsherpa-onnx-c-api.so with dlopen and fills the function table declared in
 * sherpa_api.h. Loading is lazy (first call) and happens once per process: the VAD,
 * the recogniser and the synthesiser share one copy of the library and of
 * onnxruntime. */
#include "speech/sherpa_api.h"

#include "core/log.h"
#include "core/util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
static int api_state; /* 0 = not tried, 1 = loaded, -1 = failed */
static sherpa_api api;
static char api_error[1600];
static char api_path[1024];

void sherpa_api_library_path(char *out, size_t outlen) {
    const char *env = getenv("AXIOM_SHERPA_LIB");
    if (env && *env) str_copy(out, outlen, env);
    else snprintf(out, outlen, "%s/deps/sherpa-onnx/libsherpa-onnx-c-api.so", axiom_root_dir());
}

/* One symbol; on failure records which one and returns -1. */
static int bind(void *lib, const char *name, void *slot_ptr) {
    void *sym = dlsym(lib, name);
    if (!sym) {
        snprintf(api_error, sizeof api_error,
                 "sherpa-onnx library %s has no symbol %s: it is not release %s; "
                 "reinstall it with scripts/install-deps.sh",
                 api_path, name, SHERPA_API_VERSION);
        return -1;
    }
    /* Object pointer to function pointer: POSIX guarantees this works for dlsym. */
    memcpy(slot_ptr, &sym, sizeof sym);
    return 0;
}

#define BIND(field) bind(lib, "SherpaOnnx" #field, &api.field)

static int load_library(void) {
    sherpa_api_library_path(api_path, sizeof api_path);
    struct stat st;
    if (stat(api_path, &st) != 0) {
        snprintf(api_error, sizeof api_error,
                 "sherpa-onnx library %s: %s; run scripts/install-deps.sh or set "
                 "AXIOM_SHERPA_LIB to libsherpa-onnx-c-api.so",
                 api_path, strerror(errno));
        return -1;
    }
    /* RTLD_LOCAL keeps onnxruntime's symbols out of the global namespace; the
     * library finds libonnxruntime.so beside itself through its RPATH ($ORIGIN). */
    void *lib = dlopen(api_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(api_error, sizeof api_error, "sherpa-onnx library %s cannot be loaded: %s",
                 api_path, dlerror());
        return -1;
    }
    int bad = 0;
    bad |= BIND(GetVersionStr);
    bad |= BIND(CreateVoiceActivityDetector);
    bad |= BIND(DestroyVoiceActivityDetector);
    bad |= BIND(VoiceActivityDetectorAcceptWaveform);
    bad |= BIND(VoiceActivityDetectorEmpty);
    bad |= BIND(VoiceActivityDetectorDetected);
    bad |= BIND(VoiceActivityDetectorClear);
    bad |= BIND(VoiceActivityDetectorReset);
    bad |= BIND(VoiceActivityDetectorFlush);
    bad |= BIND(CreateOnlineRecognizer);
    bad |= BIND(DestroyOnlineRecognizer);
    bad |= BIND(CreateOnlineStream);
    bad |= BIND(DestroyOnlineStream);
    bad |= BIND(OnlineStreamAcceptWaveform);
    bad |= BIND(IsOnlineStreamReady);
    bad |= BIND(DecodeOnlineStream);
    bad |= BIND(GetOnlineStreamResult);
    bad |= BIND(DestroyOnlineRecognizerResult);
    bad |= BIND(OnlineStreamInputFinished);
    bad |= BIND(OnlineStreamReset);
    bad |= BIND(CreateOfflineRecognizer);
    bad |= BIND(DestroyOfflineRecognizer);
    bad |= BIND(CreateOfflineStream);
    bad |= BIND(DestroyOfflineStream);
    bad |= BIND(AcceptWaveformOffline);
    bad |= BIND(DecodeOfflineStream);
    bad |= BIND(GetOfflineStreamResult);
    bad |= BIND(DestroyOfflineRecognizerResult);
    bad |= BIND(CreateOfflineTts);
    bad |= BIND(DestroyOfflineTts);
    bad |= BIND(OfflineTtsSampleRate);
    bad |= BIND(OfflineTtsNumSpeakers);
    bad |= BIND(OfflineTtsGenerateWithCallbackWithArg);
    bad |= BIND(DestroyOfflineTtsGeneratedAudio);
    if (bad) {
        dlclose(lib);
        return -1;
    }
    const char *v = api.GetVersionStr();
    if (!v || strcmp(v, SHERPA_API_VERSION) != 0)
        LOG_W("sherpa", "%s reports version %s; AXIOM's declarations match %s, so struct "
                        "layouts may differ (tests/test_sherpa_layout checks them)",
              api_path, v ? v : "(none)", SHERPA_API_VERSION);
    LOG_D("sherpa", "loaded %s (version %s)", api_path, v ? v : "?");
    return 0; /* the handle is kept for the life of the process on purpose */
}

const sherpa_api *sherpa_api_get(char *err, size_t errlen) {
    pthread_mutex_lock(&api_lock);
    if (api_state == 0) api_state = load_library() == 0 ? 1 : -1;
    int ok = api_state == 1;
    if (!ok && err && errlen) str_copy(err, errlen, api_error);
    pthread_mutex_unlock(&api_lock);
    return ok ? &api : NULL;
}

int sherpa_check_file(const char *what, const char *path, char *err, size_t errlen) {
    struct stat st;
    if (!path || !*path) {
        snprintf(err, errlen, "%s: no file given", what);
        return -1;
    }
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", what, path);
        return -1;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s %s: file is empty", what, path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

int sherpa_check_onnx(const char *what, const char *path, char *err, size_t errlen) {
    if (sherpa_check_file(what, path, err, errlen) != 0) return -1;
    FILE *f = fopen(path, "rb");
    unsigned char head[2] = {0, 0};
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    /* An ONNX ModelProto begins with field 1 (ir_version, varint): byte 0x08. Field
     * order is not mandated, but every exporter writes ir_version first. */
    if (n < 2 || head[0] != 0x08) {
        snprintf(err, errlen, "%s %s: not an ONNX model (unexpected first bytes)", what, path);
        return -1;
    }
    return 0;
}

int sherpa_find_file(const char *dir, const char *part, const char *suffix, int int8,
                     const char *expected, char *out, size_t outlen, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "model folder %s: %s (expected %s)", dir, strerror(errno), expected);
        return -1;
    }
    char best[512] = "";
    int best_q = -1;
    size_t sl = strlen(suffix);
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        const char *n = de->d_name;
        size_t nl = strlen(n);
        if (nl < sl || strcmp(n + nl - sl, suffix) != 0 || !strstr(n, part)) continue;
        if (nl >= sizeof best) continue;
        int q = (strstr(n, ".int8") != NULL) == (int8 != 0); /* the preferred precision */
        if (q > best_q || (q == best_q && strcmp(n, best) < 0)) {
            best_q = q;
            str_copy(best, sizeof best, n);
        }
    }
    closedir(d);
    if (!best[0]) {
        snprintf(err, errlen, "model folder %s has no *%s*%s file (expected %s)", dir, part, suffix,
                 expected);
        return -1;
    }
    if ((size_t)snprintf(out, outlen, "%s/%s", dir, best) >= outlen) {
        snprintf(err, errlen, "model folder %s: path too long", dir);
        return -1;
    }
    return 0;
}
