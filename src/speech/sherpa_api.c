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
    if (env && *env)
        str_copy(out, outlen, env);
    else
        snprintf(out, outlen, "%s/deps/sherpa-onnx/libsherpa-onnx-c-api.so", axiom_root_dir());
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
        LOG_W("sherpa",
              "%s reports version %s; AXIOM's declarations match %s, so struct "
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

int sherpa_api_is_open(void) {
    pthread_mutex_lock(&api_lock);
    int open = api_state == 1;
    pthread_mutex_unlock(&api_lock);
    return open;
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

/* ---- reading an input's shape out of an ONNX file ----
 * Protocol buffers' wire format, just enough to walk ModelProto.graph (field 7) ->
 * GraphProto.input (11) -> ValueInfoProto {name 1, type 2} -> TypeProto.tensor_type (1)
 * -> shape (2) -> dim (1) -> dim_value (1). Everything else is skipped with fseek, so a
 * model of hundreds of MB costs a few small reads (the initialisers come before the
 * inputs in the file and are jumped over, never read). */

typedef struct {
    FILE *f;
    long end; /* the current message ends here */
} pb_reader;

static int pb_varint(pb_reader *r, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        int c = ftell(r->f) < r->end ? fgetc(r->f) : EOF;
        if (c == EOF) return -1;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

/* Next field of the current message: 1 with *field and, for varints, *v (for
 * length-delimited fields *v is the length, the reader at its first byte); 0 at the
 * message's end; -1 on a malformed file. */
static int pb_next(pb_reader *r, int *field, int *wire, uint64_t *v) {
    if (ftell(r->f) >= r->end) return 0;
    uint64_t tag;
    if (pb_varint(r, &tag) != 0) return -1;
    *field = (int)(tag >> 3);
    *wire = (int)(tag & 7);
    if (*wire == 0 || *wire == 2) {
        if (pb_varint(r, v) != 0) return -1;
        if (*wire == 2 && *v > (uint64_t)(r->end - ftell(r->f))) return -1;
        return 1;
    }
    *v = *wire == 1 ? 8 : *wire == 5 ? 4 : 0;
    if (*v == 0) return -1; /* groups are not used by ONNX */
    *wire = 2;              /* fixed-size fields are skipped like length-delimited ones */
    return 1;
}

static int pb_skip(pb_reader *r, uint64_t len) {
    return fseek(r->f, (long)len, SEEK_CUR);
}

/* Inside a ValueInfoProto: its name into name, and the size of dimension dim. */
static int pb_value_info(pb_reader *r, char *name, size_t namelen, int dim, long long *size) {
    int field, wire;
    static const int descend[3] = {0, 1, 2}; /* in TypeProto: tensor_type (1); in it: shape (2) */
    uint64_t v;
    name[0] = '\0';
    *size = -1;
    long end0 = r->end;
    int rc;
    while ((rc = pb_next(r, &field, &wire, &v)) == 1) {
        if (field == 1 && wire == 2 && v < namelen) {
            if (fread(name, 1, (size_t)v, r->f) != (size_t)v) return -1;
            name[v] = '\0';
        } else if (field == 2 && wire == 2) {
            /* Descend type -> tensor_type -> shape, then count the dims. */
            pb_reader in = {r->f, ftell(r->f) + (long)v};
            long after = in.end;
            int level = 1, d = 0;
            while (level < 3 && (rc = pb_next(&in, &field, &wire, &v)) == 1) {
                if (wire == 2 && field == descend[level]) {
                    in.end = ftell(r->f) + (long)v;
                    level++;
                } else if (wire == 2 && pb_skip(&in, v) != 0) {
                    return -1;
                }
            }
            while (level == 3 && (rc = pb_next(&in, &field, &wire, &v)) == 1) { /* the dims */
                if (field != 1 || wire != 2) {
                    if (wire == 2 && pb_skip(&in, v) != 0) return -1;
                    continue;
                }
                pb_reader dr = {r->f, ftell(r->f) + (long)v};
                long dim_end = dr.end;
                *size = d == dim ? 0 : *size; /* dynamic unless a dim_value follows */
                while ((rc = pb_next(&dr, &field, &wire, &v)) == 1) {
                    if (field == 1 && wire == 0 && d == dim)
                        *size = (long long)v;
                    else if (wire == 2 && pb_skip(&dr, v) != 0)
                        return -1;
                }
                if (fseek(r->f, dim_end, SEEK_SET) != 0) return -1;
                d++;
            }
            if (fseek(r->f, after, SEEK_SET) != 0) return -1;
        } else if (wire == 2 && pb_skip(r, v) != 0) {
            return -1;
        }
    }
    r->end = end0;
    return rc;
}

long long sherpa_onnx_input_dim(const char *path, const char *input, int dim) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    long long found = -1, first = -1;
    int have_first = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        pb_reader model = {f, ftell(f)};
        rewind(f);
        int field, wire, rc;
        uint64_t v;
        while (found < 0 && (rc = pb_next(&model, &field, &wire, &v)) == 1) {
            if (field != 7 || wire != 2) {
                if (wire == 2 && pb_skip(&model, v) != 0) break;
                continue;
            }
            pb_reader graph = {f, ftell(f) + (long)v};
            while (found < 0 && (rc = pb_next(&graph, &field, &wire, &v)) == 1) {
                if (field != 11 || wire != 2) {
                    if (wire == 2 && pb_skip(&graph, v) != 0) break;
                    continue;
                }
                long next = ftell(f) + (long)v;
                pb_reader vi = {f, next};
                char name[128];
                long long size;
                if (pb_value_info(&vi, name, sizeof name, dim, &size) < 0) break;
                if (!have_first) {
                    first = size;
                    have_first = 1;
                }
                if (input && strcmp(name, input) == 0) found = size;
                if (fseek(f, next, SEEK_SET) != 0) break;
            }
            break; /* one graph */
        }
    }
    fclose(f);
    return found >= 0 ? found : first;
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
