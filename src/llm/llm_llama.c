/* In-process backend: llama.cpp's libllama, opened with dlopen when the governor first
 * loads the model. The binary therefore starts (and runs every other mode) without
 * libllama, and its memory stays low until an answer needs the model.
 *
 * Library: <root>/deps/llama/bins/linux-x64 (or llm.lib_dir), the prebuilt CPU build;
 * ggml_backend_load_all_from_path picks the CPU variant for this processor. Once opened,
 * the library stays for the life of the process (ggml keeps global backend state that
 * is not safe to tear down and rebuild); unloading frees the model and its context,
 * which is where the memory is.
 *
 * Functions are looked up by name and typed from the header of the same release
 * (deps/llama/include/llama.h), so a signature change breaks the build, not the run.
 *
 * One generation at a time: a llama_context holds one conversation's cache. */
#include "llm/llm_backend.h"

#include "core/log.h"
#include "core/util.h"
#include "mem/estimate.h"

#include <dlfcn.h>
#include <ggml-backend.h>
#include <llama.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The list keeps its hand layout: clang-format reflows it differently on every pass. */
/* clang-format off */
#define LLAMA_FNS(X)                                                                               \
    X(llama_backend_init) X(llama_log_set) X(llama_model_default_params)                          \
    X(llama_context_default_params) X(llama_model_load_from_file) X(llama_model_free)             \
    X(llama_init_from_model) X(llama_free) X(llama_model_get_vocab) X(llama_tokenize)             \
    X(llama_token_to_piece) X(llama_batch_get_one) X(llama_decode) X(llama_vocab_is_eog)          \
    X(llama_sampler_chain_default_params) X(llama_sampler_chain_init) X(llama_sampler_chain_add)  \
    X(llama_sampler_init_greedy) X(llama_sampler_init_dist) X(llama_sampler_init_top_k)           \
    X(llama_sampler_init_top_p) X(llama_sampler_init_temp) X(llama_sampler_sample)                \
    X(llama_sampler_free) X(llama_model_chat_template) X(llama_chat_apply_template)               \
    X(llama_get_memory) X(llama_memory_clear) X(llama_set_abort_callback) X(llama_n_ctx)          \
    X(ggml_backend_load_all_from_path)
/* clang-format on */

static struct {
    void *handle;
#define X(f) __typeof__(&f) f;
    LLAMA_FNS(X)
#undef X
} L;
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    const llm_settings *s;
    char path[4096];
    char lib_dir[4096];
    int threads;
    int use_mmap; /* llm.mmap: pages come from the file and are shared, not copied */
    int64_t file_bytes;
    gguf_meta meta; /* the file's header, read at create; meta_ok 0 when unreadable */
    int meta_ok;
    /* model_lock: load/unload write, generation and token counting read, so counting
     * tokens for another session's prompt never waits for a generation to end.
     * gen_lock: one generation at a time (one context, one cache). */
    pthread_rwlock_t model_lock;
    pthread_mutex_t gen_lock;
    struct llama_model *model;
    struct llama_context *ctx;
    const struct llama_vocab *vocab;
    const char *tmpl; /* the model's chat template, owned by the model; NULL = none */
    llm_call *call;   /* the generation in progress, for the abort callback */
} llama;

/* llama.cpp and ggml talk a lot, and an abort (barge-in) is logged as a failed graph
 * computation: their warnings and errors go to the debug log; AXIOM reports failures in
 * its own words through err. */
static void on_llama_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level != GGML_LOG_LEVEL_ERROR && level != GGML_LOG_LEVEL_WARN) return;
    if (log_get_level() > AX_LOG_DEBUG) return;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '.'))
        n--;
    if (n > 0) LOG_D("llama", "%.*s", (int)n, text);
}

static int lib_open(const char *dir, char *err, size_t errlen) {
    pthread_mutex_lock(&lib_lock);
    if (L.handle) {
        pthread_mutex_unlock(&lib_lock);
        return 0;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/libllama.v0.4.0.so", dir);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen,
                 "cannot open libllama (%s); run scripts/install-deps.sh or set llm.lib_dir "
                 "to the folder holding libllama.v0.4.0.so",
                 dlerror());
        pthread_mutex_unlock(&lib_lock);
        return -1;
    }
#define X(f)                                                                                       \
    *(void **)(&L.f) = dlsym(h, #f);                                                               \
    if (!L.f) {                                                                                    \
        snprintf(err, errlen,                                                                      \
                 "%s has no function %s: the library is not the release AXIOM was "                \
                 "built for; run scripts/install-deps.sh",                                         \
                 path, #f);                                                                        \
        memset(&L, 0, sizeof L);                                                                   \
        dlclose(h);                                                                                \
        pthread_mutex_unlock(&lib_lock);                                                           \
        return -1;                                                                                 \
    }
    LLAMA_FNS(X)
#undef X
    L.llama_log_set(on_llama_log, NULL);
    L.ggml_backend_load_all_from_path(dir);
    L.llama_backend_init();
    L.handle = h;
    pthread_mutex_unlock(&lib_lock);
    return 0;
}

static void *llama_create(const llm_settings *s, char *err, size_t errlen) {
    const char *path = config_str(s->cfg, "llm.gguf");
    if (!*path) {
        snprintf(err, errlen, "llm.gguf is empty: give the GGUF model file (--gguf FILE)");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "llm.gguf = '%s': no such file; fix the path (--gguf FILE)", path);
        return NULL;
    }
    llama *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->s = s;
    str_copy(m->path, sizeof m->path, path);
    const char *dir = config_str(s->cfg, "llm.lib_dir");
    if (*dir)
        str_copy(m->lib_dir, sizeof m->lib_dir, dir);
    else
        snprintf(m->lib_dir, sizeof m->lib_dir, "%s/deps/llama/bins/linux-x64", axiom_root_dir());
    m->threads = (int)config_int(s->cfg, "llm.threads");
    if (m->threads <= 0) {
        /* Half the cores: generation is memory-bound, and ggml's threads spin at each
         * step, so on a machine whose cores are also busy with speech (or other
         * processes) using them all makes every token several times slower. */
        long n = sysconf(_SC_NPROCESSORS_ONLN) / 2;
        m->threads = n < 1 ? 1 : n > 8 ? 8 : (int)n;
    }
    m->file_bytes = st.st_size;
    m->use_mmap = config_bool(s->cfg, "llm.mmap");
    /* The header sizes the KV cache for the governor's admission; a file that is not
     * GGUF is refused at load, with its own message. */
    char why[512];
    m->meta_ok = gguf_meta_read(path, &m->meta, why, sizeof why) == 0;
    if (!m->meta_ok) LOG_W("llm", "%s; its memory is estimated from the file size alone", why);
    pthread_mutex_init(&m->gen_lock, NULL);
    pthread_rwlock_init(&m->model_lock, NULL);
    return m;
}

static void free_model(llama *m) {
    if (m->ctx) L.llama_free(m->ctx);
    if (m->model) L.llama_model_free(m->model);
    m->ctx = NULL;
    m->model = NULL;
    m->vocab = NULL;
    m->tmpl = NULL;
}

static void llama_destroy(void *b) {
    llama *m = b;
    if (!m) return;
    free_model(m);
    pthread_mutex_destroy(&m->gen_lock);
    pthread_rwlock_destroy(&m->model_lock);
    free(m);
}

/* MemAvailable from /proc/meminfo in bytes, or -1. */
static int64_t mem_available_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1) break;
    fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

/* A load that cannot fit is refused before it starts, so the answer degrades instead of
 * the process being killed: the model's file (mapped and read in full while
 * generating), the KV cache from the model's own layers and heads at the context it
 * will get, and the compute buffers (mem/estimate.c). Without a readable header: the
 * file plus a margin. */
static int64_t llama_expected(void *b) {
    llama *m = b;
    llm_estimate est;
    if (m->meta_ok) return estimate_llm(&m->meta, m->file_bytes, m->s->context_length, &est);
    return m->file_bytes + m->file_bytes / 10 + (int64_t)m->s->context_length * 1024 + (16 << 20);
}

/* The context a load asks llama.cpp for: context_length, but no more than the model
 * was trained for (a longer window would only cost memory). */
static int llama_context(const llama *m) {
    int n = m->s->context_length;
    if (m->meta_ok && m->meta.n_ctx_train > 0 && n > m->meta.n_ctx_train)
        n = (int)m->meta.n_ctx_train;
    return n;
}

static int check_budget(llama *m, char *err, size_t errlen) {
    int64_t need = llama_expected(m);
    long long budget_mb = config_int(m->s->cfg, "mem.budget_mb");
    if (budget_mb > 0) {
        int64_t rss = proc_rss_bytes();
        int64_t left = budget_mb * 1048576 - (rss > 0 ? rss : 0);
        if (need > left) {
            snprintf(err, errlen,
                     "refused: '%s' needs about %lld MiB, only %lld MiB are left of "
                     "mem.budget_mb = %lld; raise the budget or use a smaller model",
                     m->path, (long long)(need >> 20), (long long)(left > 0 ? left >> 20 : 0),
                     budget_mb);
            return -1;
        }
    }
    int64_t avail = mem_available_bytes();
    if (avail >= 0 && need > avail) {
        snprintf(err, errlen,
                 "refused: '%s' needs about %lld MiB, the system has %lld MiB available", m->path,
                 (long long)(need >> 20), (long long)(avail >> 20));
        return -1;
    }
    return 0;
}

static int llama_load(void *b, char *err, size_t errlen) {
    llama *m = b;
    /* Check the magic ourselves: llama.cpp's own message for a non-GGUF file is terse. */
    FILE *f = fopen(m->path, "rb");
    char magic[4] = {0};
    if (!f) {
        snprintf(err, errlen, "llm.gguf = '%s': cannot open it", m->path);
        return -1;
    }
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    if (got != 4 || memcmp(magic, "GGUF", 4) != 0) {
        snprintf(err, errlen,
                 "llm.gguf = '%s' is not a GGUF model file (no GGUF header); give a .gguf file",
                 m->path);
        return -1;
    }
    if (check_budget(m, err, errlen) != 0) return -1;
    if (lib_open(m->lib_dir, err, errlen) != 0) return -1;
    pthread_rwlock_wrlock(&m->model_lock);
    struct llama_model_params mp = L.llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.load_mode = m->use_mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    m->model = L.llama_model_load_from_file(m->path, mp);
    if (!m->model) {
        snprintf(err, errlen,
                 "llm.gguf = '%s': llama.cpp could not load it (corrupt, truncated, or an "
                 "architecture this release does not know); check the file",
                 m->path);
        pthread_rwlock_unlock(&m->model_lock);
        return -1;
    }
    struct llama_context_params cp = L.llama_context_default_params();
    cp.n_ctx = (uint32_t)llama_context(m);
    cp.n_batch = cp.n_ctx < 512 ? cp.n_ctx : 512;
    cp.n_ubatch = cp.n_batch;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = m->threads;
    cp.no_perf = true;
    m->ctx = L.llama_init_from_model(m->model, cp);
    if (!m->ctx) {
        snprintf(err, errlen,
                 "'%s': could not create a context of %d tokens (context_length); lower it",
                 m->path, llama_context(m));
        free_model(m);
        pthread_rwlock_unlock(&m->model_lock);
        return -1;
    }
    m->vocab = L.llama_model_get_vocab(m->model);
    m->tmpl = L.llama_model_chat_template(m->model, NULL);
    pthread_rwlock_unlock(&m->model_lock);
    return 0;
}

static void llama_unload(void *b) {
    llama *m = b;
    pthread_rwlock_wrlock(&m->model_lock);
    free_model(m);
    pthread_rwlock_unlock(&m->model_lock);
}

static int64_t llama_mapped(void *b) {
    llama *m = b;
    return m->use_mmap ? m->file_bytes : 0;
}

/* Prompt text: the model's own chat template when it has one llama.cpp knows, else a
 * plain transcript ("User: ...\nAssistant:") that base models continue sensibly. */
static char *format_prompt(llama *m, const llm_message *msgs, size_t n, int *templated) {
    size_t total = 64;
    for (size_t i = 0; i < n; i++)
        total += strlen(msgs[i].role) + strlen(msgs[i].content) + 16;
    *templated = 0;
    if (m->tmpl && total < (1u << 28)) {
        /* llm_message and llama_chat_message are both {role, content}: copy to be safe. */
        struct llama_chat_message *cm = calloc(n, sizeof *cm);
        int32_t cap = (int32_t)(total * 2 + 256);
        char *buf = malloc((size_t)cap);
        if (cm && buf) {
            for (size_t i = 0; i < n; i++)
                cm[i] = (struct llama_chat_message){msgs[i].role, msgs[i].content};
            int32_t len = L.llama_chat_apply_template(m->tmpl, cm, n, true, buf, cap);
            if (len >= cap) {
                char *nb = realloc(buf, (size_t)len + 1);
                if (nb) {
                    buf = nb;
                    len = L.llama_chat_apply_template(m->tmpl, cm, n, true, buf, len + 1);
                } else {
                    len = -1;
                }
            }
            if (len >= 0) {
                buf[len] = '\0';
                free(cm);
                *templated = 1;
                return buf;
            }
        }
        free(cm);
        free(buf);
    }
    char *out = malloc(total);
    if (!out) return NULL;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const char *r = msgs[i].role;
        const char *label = strcmp(r, "system") == 0      ? "System"
                            : strcmp(r, "assistant") == 0 ? "Assistant"
                                                          : "User";
        pos += (size_t)snprintf(out + pos, total - pos, "%s: %s\n", label, msgs[i].content);
    }
    snprintf(out + pos, total - pos, "Assistant:");
    return out;
}

/* Tokenizes text; returns a malloc'd array and its length in *n, or NULL. */
static llama_token *tokenize(llama *m, const char *text, int add_special, int parse_special,
                             int *n) {
    size_t len = strlen(text);
    if (len > 0x3fffffff) return NULL;
    int32_t cap = (int32_t)len + 8;
    llama_token *t = malloc((size_t)cap * sizeof *t);
    if (!t) return NULL;
    int32_t k = L.llama_tokenize(m->vocab, text, (int32_t)len, t, cap, add_special, parse_special);
    if (k < 0) {
        cap = -k;
        llama_token *nt = realloc(t, (size_t)cap * sizeof *t);
        if (!nt) {
            free(t);
            return NULL;
        }
        t = nt;
        k = L.llama_tokenize(m->vocab, text, (int32_t)len, t, cap, add_special, parse_special);
        if (k < 0) {
            free(t);
            return NULL;
        }
    }
    *n = k;
    return t;
}

static int llama_count(void *b, const char *text) {
    llama *m = b;
    pthread_rwlock_rdlock(&m->model_lock);
    int n = -1;
    if (m->vocab) {
        llama_token *t = tokenize(m, text, 0, 0, &n);
        free(t);
        if (!t) n = -1;
    }
    pthread_rwlock_unlock(&m->model_lock);
    return n;
}

/* Called from llama.cpp's compute threads: only reads the flag and the clock. */
static bool abort_cb(void *data) {
    llama *m = data;
    return m->call && llm_call_peek_stop(m->call);
}

static struct llama_sampler *make_sampler(double temp) {
    struct llama_sampler *s = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params());
    if (!s) return NULL;
    if (temp <= 0) {
        L.llama_sampler_chain_add(s, L.llama_sampler_init_greedy());
    } else {
        L.llama_sampler_chain_add(s, L.llama_sampler_init_top_k(40));
        L.llama_sampler_chain_add(s, L.llama_sampler_init_top_p(0.95f, 1));
        L.llama_sampler_chain_add(s, L.llama_sampler_init_temp((float)temp));
        L.llama_sampler_chain_add(s, L.llama_sampler_init_dist(LLAMA_DEFAULT_SEED));
    }
    return s;
}

/* Decodes tokens in batches of n_batch. Returns 0, 1 when stopped, -1 on failure. */
static int decode_all(llama *m, llama_token *t, int n, llm_call *call) {
    int batch = 512;
    for (int i = 0; i < n; i += batch) {
        int k = n - i < batch ? n - i : batch;
        if (llm_call_should_stop(call)) return 1;
        int rc = L.llama_decode(m->ctx, L.llama_batch_get_one(t + i, k));
        if (llm_call_should_stop(call)) return 1; /* records why (rc 2: aborted for it) */
        if (rc != 0) return -1;
    }
    return 0;
}

static int llama_chat(void *b, const llm_message *msgs, size_t n, llm_call *call, char *err,
                      size_t errlen) {
    llama *m = b;
    /* Another session's answer may be generating: wait for it, but stay responsive to
     * this turn's cancel flag and deadlines while queued. */
    while (pthread_mutex_trylock(&m->gen_lock) != 0) {
        if (llm_call_should_stop(call)) {
            if (llm_call_timed_out(call))
                snprintf(err, errlen, "waited for another answer to finish until the deadline");
            return llm_call_timed_out(call) ? -1 : 0;
        }
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_rwlock_rdlock(&m->model_lock);
    int rc = -1;
    llama_token *toks = NULL;
    struct llama_sampler *smpl = NULL;
    char *prompt = NULL;
    if (!m->ctx) {
        snprintf(err, errlen, "'%s' is not loaded", m->path);
        goto out;
    }
    int templated = 0, ntok = 0;
    prompt = format_prompt(m, msgs, n, &templated);
    toks = prompt ? tokenize(m, prompt, 1, templated, &ntok) : NULL;
    if (!toks) {
        snprintf(err, errlen, "out of memory formatting the prompt");
        goto out;
    }
    int n_ctx = (int)L.llama_n_ctx(m->ctx);
    llm_call_set_prompt_tokens(call, ntok);
    if (ntok >= n_ctx) {
        snprintf(err, errlen,
                 "the prompt is %d tokens, the context window is %d (context_length / "
                 "AXIOM_CONTEXT_LENGTH): trim the prompt or raise context_length",
                 ntok, n_ctx);
        goto out;
    }
    smpl = make_sampler(llm_call_temperature(call));
    if (!smpl) {
        snprintf(err, errlen, "out of memory creating the sampler");
        goto out;
    }
    L.llama_memory_clear(L.llama_get_memory(m->ctx), true);
    m->call = call;
    L.llama_set_abort_callback(m->ctx, abort_cb, m);
    int d = decode_all(m, toks, ntok, call);
    if (d != 0) {
        if (d < 0) snprintf(err, errlen, "llama_decode failed on the prompt (%d tokens)", ntok);
        rc = d < 0 || llm_call_timed_out(call) ? -1 : 0;
        goto out;
    }
    int max = llm_call_max_tokens(call);
    int n_past = ntok;
    for (int generated = 0;; generated++) {
        if (llm_call_should_stop(call)) break;
        llama_token tok = L.llama_sampler_sample(smpl, m->ctx, -1);
        if (L.llama_vocab_is_eog(m->vocab, tok)) {
            llm_call_finish(call, LLM_FINISH_STOP);
            break;
        }
        int64_t t0 = now_us();
        char piece[256];
        int np = L.llama_token_to_piece(m->vocab, tok, piece, sizeof piece, 0, false);
        int stop = np > 0 ? llm_call_emit(call, piece, (size_t)np) : 0;
        llm_call_add_overhead_us(call, now_us() - t0);
        if (stop) break;
        if (generated + 1 >= max || n_past + 1 >= n_ctx) {
            llm_call_finish(call, LLM_FINISH_LENGTH);
            break;
        }
        int r = L.llama_decode(m->ctx, L.llama_batch_get_one(&tok, 1));
        if (r == 2) continue; /* aborted: the loop's stop check records why */
        if (r != 0) {
            snprintf(err, errlen, "llama_decode failed after %d tokens (code %d)", generated + 1,
                     r);
            goto out;
        }
        n_past++;
    }
    rc = llm_call_timed_out(call) ? -1 : 0;
out:
    if (m->ctx) L.llama_set_abort_callback(m->ctx, NULL, NULL);
    m->call = NULL;
    if (smpl) L.llama_sampler_free(smpl);
    free(toks);
    free(prompt);
    pthread_rwlock_unlock(&m->model_lock);
    pthread_mutex_unlock(&m->gen_lock);
    return rc;
}

static const char *llama_model_name(void *b) {
    return ((llama *)b)->path;
}

const llm_backend_ops llm_llama_ops = {
    .name = "gguf",
    .create = llama_create,
    .destroy = llama_destroy,
    .load = llama_load,
    .unload = llama_unload,
    .mapped_bytes = llama_mapped,
    .expected_bytes = llama_expected,
    .chat = llama_chat,
    .count_tokens = llama_count,
    .model_name = llama_model_name,
};
