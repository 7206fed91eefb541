/* Estimates of what a model load will cost (see estimate.h): a GGUF header reader and
 * the sizes of an ONNX model folder, turned into bytes with factors measured here.
 *
 * The GGUF reader walks the key/value section only (the tensor table and the weights
 * are never read). Every length read from the file is checked against what is left of
 * the file before it is used, and nothing read from it sizes an allocation. */
#include "mem/estimate.h"

#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIB (1024 * 1024)

/* ---- GGUF header ------------------------------------------------------------------- */

enum {
    GT_U8 = 0,
    GT_I8,
    GT_U16,
    GT_I16,
    GT_U32,
    GT_I32,
    GT_F32,
    GT_BOOL,
    GT_STRING,
    GT_ARRAY,
    GT_U64,
    GT_I64,
    GT_F64,
    GT_COUNT
};

/* Bounds: llama.cpp's own files have a few dozen keys; 1 M is far beyond any model and
 * keeps a hostile count from making the walk run for ever. */
#define GGUF_MAX_KV 1000000
#define GGUF_KEY_MAX 256 /* longer keys are skipped: none that we read is that long */
#define GGUF_MAX_FOUND 32

typedef struct {
    FILE *f;
    int64_t pos, size;
    const char *path;
    char *err;
    size_t errlen;
    int failed;
} rd;

typedef struct {
    char key[GGUF_KEY_MAX];
    int64_t v;
} found_kv;

static int rd_fail(rd *r, const char *what) {
    if (!r->failed)
        snprintf(r->err, r->errlen, "%s: not a usable GGUF file: %s (at byte %lld of %lld)",
                 r->path, what, (long long)r->pos, (long long)r->size);
    r->failed = 1;
    return -1;
}

static int rd_bytes(rd *r, void *buf, int64_t n, const char *what) {
    if (r->failed) return -1;
    if (n < 0 || n > r->size - r->pos) return rd_fail(r, what);
    if (n && fread(buf, 1, (size_t)n, r->f) != (size_t)n) return rd_fail(r, what);
    r->pos += n;
    return 0;
}

static int rd_skip(rd *r, int64_t n, const char *what) {
    if (r->failed) return -1;
    if (n < 0 || n > r->size - r->pos) return rd_fail(r, what);
    if (fseeko(r->f, (off_t)(r->pos + n), SEEK_SET) != 0) return rd_fail(r, what);
    r->pos += n;
    return 0;
}

static int rd_u32(rd *r, uint32_t *v, const char *what) {
    unsigned char b[4];
    if (rd_bytes(r, b, 4, what) != 0) return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static int rd_u64(rd *r, uint64_t *v, const char *what) {
    uint32_t lo, hi;
    if (rd_u32(r, &lo, what) != 0 || rd_u32(r, &hi, what) != 0) return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

static int64_t scalar_size(uint32_t t) {
    static const int8_t sz[GT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8};
    return t < GT_COUNT ? sz[t] : -1;
}

/* Reads an integer scalar of type t (any width, signed or not) into *v. */
static int rd_int(rd *r, uint32_t t, int64_t *v) {
    unsigned char b[8] = {0};
    int64_t n = scalar_size(t);
    if (rd_bytes(r, b, n, "value cut short") != 0) return -1;
    uint64_t u = 0;
    for (int i = (int)n - 1; i >= 0; i--)
        u = u << 8 | b[i];
    switch (t) {
    case GT_I8:
        *v = (int8_t)u;
        break;
    case GT_I16:
        *v = (int16_t)u;
        break;
    case GT_I32:
        *v = (int32_t)u;
        break;
    case GT_I64:
        *v = (int64_t)u;
        break;
    default:
        *v = u > INT64_MAX ? INT64_MAX : (int64_t)u;
    }
    return 0;
}

static int is_int_type(uint32_t t) {
    return t <= GT_I32 || t == GT_U64 || t == GT_I64;
}

/* A string: its length, then up to keep-1 bytes into out (the rest skipped). */
static int rd_string(rd *r, char *out, size_t keep, const char *what) {
    uint64_t len;
    if (rd_u64(r, &len, what) != 0) return -1;
    if (len > (uint64_t)(r->size - r->pos))
        return rd_fail(r, "a string's length runs past the end of the file");
    int64_t take =
        out && keep ? ((int64_t)len < (int64_t)keep - 1 ? (int64_t)len : (int64_t)keep - 1) : 0;
    if (take && rd_bytes(r, out, take, what) != 0) return -1;
    if (out && keep) out[take] = '\0';
    return rd_skip(r, (int64_t)len - take, what);
}

/* Reads one value of type t. Integers (and the largest element of an integer array)
 * go to *num with *has_num = 1; a string's first bytes to str; the count of an array
 * to *count. Everything else is skipped. */
static int rd_value(rd *r, uint32_t t, int64_t *num, int *has_num, char *str, size_t strlen_,
                    int64_t *count) {
    *has_num = 0;
    if (t == GT_STRING) return rd_string(r, str, strlen_, "string value cut short");
    if (t == GT_ARRAY) {
        uint32_t et;
        uint64_t n;
        if (rd_u32(r, &et, "array type cut short") != 0 ||
            rd_u64(r, &n, "array length cut short") != 0)
            return -1;
        if (et == GT_ARRAY) return rd_fail(r, "an array of arrays (not used by any model header)");
        int64_t es = et == GT_STRING ? 8 : scalar_size(et);
        if (es < 0) return rd_fail(r, "an array of an unknown type");
        /* Each element takes at least es bytes: a count the file cannot hold is a lie. */
        if (n > (uint64_t)((r->size - r->pos) / es))
            return rd_fail(r, "an array's length runs past the end of the file");
        if (count) *count = (int64_t)n;
        if (et == GT_STRING) {
            for (uint64_t i = 0; i < n; i++)
                if (rd_string(r, NULL, 0, "array string cut short") != 0) return -1;
            return 0;
        }
        if (!is_int_type(et) || n > 4096) return rd_skip(r, (int64_t)n * es, "array cut short");
        for (uint64_t i = 0; i < n; i++) { /* per-layer values: the largest layer sizes the cache */
            int64_t v;
            if (rd_int(r, et, &v) != 0) return -1;
            if (!*has_num || v > *num) *num = v;
            *has_num = 1;
        }
        return 0;
    }
    if (scalar_size(t) < 0) return rd_fail(r, "a value of an unknown type");
    if (!is_int_type(t)) return rd_skip(r, scalar_size(t), "value cut short");
    *has_num = 1;
    return rd_int(r, t, num);
}

static int64_t lookup(const found_kv *f, int n, const char *arch, const char *suffix) {
    char key[GGUF_KEY_MAX];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].key, key) == 0) return f[i].v;
    return -1;
}

/* Keys whose values we keep (with any architecture prefix: the prefix is matched once
 * general.architecture is known, which need not come first). */
static int wanted(const char *key) {
    static const char *const suffixes[] = {".block_count",
                                           ".embedding_length",
                                           ".attention.head_count",
                                           ".attention.head_count_kv",
                                           ".attention.key_length",
                                           ".attention.value_length",
                                           ".context_length",
                                           ".feed_forward_length",
                                           ".vocab_size"};
    size_t kl = strlen(key);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t sl = strlen(suffixes[i]);
        if (kl > sl && strcmp(key + kl - sl, suffixes[i]) == 0) return 1;
    }
    return 0;
}

int gguf_meta_read(const char *path, gguf_meta *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open it (%s)", path, strerror(errno));
        return -1;
    }
    struct stat st;
    rd r = {f, 0, fstat(fileno(f), &st) == 0 ? (int64_t)st.st_size : 0, path, err, errlen, 0};
    found_kv *found = calloc(GGUF_MAX_FOUND, sizeof *found);
    int nfound = 0;
    int64_t n_tokens = -1;
    char magic[4];
    uint32_t version = 0;
    uint64_t n_tensors = 0, n_kv = 0;
    if (!found) {
        snprintf(err, errlen, "out of memory");
        fclose(f);
        return -1;
    }
    if (rd_bytes(&r, magic, 4, "shorter than a GGUF header") == 0 && memcmp(magic, "GGUF", 4) != 0)
        rd_fail(&r, "no GGUF magic (give a .gguf model file)");
    if (rd_u32(&r, &version, "header cut short") == 0 && (version < 2 || version > 3))
        rd_fail(&r, version == 1 ? "GGUF version 1 (convert it again with a current llama.cpp)"
                                 : "unknown GGUF version");
    rd_u64(&r, &n_tensors, "header cut short");
    rd_u64(&r, &n_kv, "header cut short");
    if (!r.failed && n_kv > GGUF_MAX_KV) rd_fail(&r, "implausible key count");
    out->version = version;
    out->n_tensors = (int64_t)n_tensors;
    for (uint64_t i = 0; i < n_kv && !r.failed; i++) {
        char key[GGUF_KEY_MAX], str[sizeof out->arch];
        uint32_t type;
        int64_t num = 0, count = -1;
        int has_num = 0;
        str[0] = '\0';
        if (rd_string(&r, key, sizeof key, "key cut short") != 0) break;
        if (rd_u32(&r, &type, "value type cut short") != 0) break;
        if (rd_value(&r, type, &num, &has_num, str, sizeof str, &count) != 0) break;
        if (strcmp(key, "general.architecture") == 0 && type == GT_STRING)
            str_copy(out->arch, sizeof out->arch, str);
        else if (strcmp(key, "tokenizer.ggml.tokens") == 0)
            n_tokens = count;
        else if (has_num && wanted(key) && nfound < GGUF_MAX_FOUND) {
            str_copy(found[nfound].key, sizeof found[nfound].key, key);
            found[nfound++].v = num;
        }
    }
    fclose(f);
    if (r.failed) {
        free(found);
        return -1;
    }
    const char *a = out->arch;
    out->n_layer = lookup(found, nfound, a, "block_count");
    out->n_embd = lookup(found, nfound, a, "embedding_length");
    out->n_head = lookup(found, nfound, a, "attention.head_count");
    out->n_head_kv = lookup(found, nfound, a, "attention.head_count_kv");
    out->key_length = lookup(found, nfound, a, "attention.key_length");
    out->value_length = lookup(found, nfound, a, "attention.value_length");
    out->n_ctx_train = lookup(found, nfound, a, "context_length");
    out->n_ff = lookup(found, nfound, a, "feed_forward_length");
    out->n_vocab = lookup(found, nfound, a, "vocab_size");
    free(found);
    if (out->n_vocab <= 0) out->n_vocab = n_tokens;
    const char *missing = !a[0]               ? "general.architecture"
                          : out->n_layer <= 0 ? "block_count"
                          : out->n_embd <= 0  ? "embedding_length"
                          : out->n_head <= 0  ? "attention.head_count"
                                              : NULL;
    if (missing) {
        snprintf(err, errlen,
                 "%s: the GGUF header has no usable %s%s%s: cannot size the model's cache", path,
                 a[0] && strcmp(missing, "general.architecture") ? a : "",
                 a[0] && strcmp(missing, "general.architecture") ? "." : "", missing);
        return -1;
    }
    if (out->n_head_kv <= 0) out->n_head_kv = out->n_head;
    if (out->key_length <= 0) out->key_length = out->n_embd / out->n_head;
    if (out->value_length <= 0) out->value_length = out->n_embd / out->n_head;
    return 0;
}

/* ---- LLM --------------------------------------------------------------------------- */

int estimate_llm_context(const gguf_meta *m, int context_length) {
    int64_t n = context_length > 0 ? context_length : 2048;
    if (m->n_ctx_train > 0 && n > m->n_ctx_train) n = m->n_ctx_train;
    n = (n + 255) / 256 * 256; /* llama.cpp: GGML_PAD(n_ctx, 256) */
    return n > (1 << 24) ? 1 << 24 : (int)n;
}

int64_t estimate_kv_bytes(const gguf_meta *m, int n_ctx) {
    int64_t per_pos = (m->key_length + m->value_length) * m->n_head_kv;
    return m->n_layer * (int64_t)n_ctx * per_pos * 2;
}

int64_t estimate_llm(const gguf_meta *m, int64_t file_bytes, int context_length,
                     llm_estimate *out) {
    memset(out, 0, sizeof *out);
    out->n_ctx = estimate_llm_context(m, context_length);
    out->weights = file_bytes;
    out->kv_cache = estimate_kv_bytes(m, out->n_ctx);
    /* Compute buffers: llama.cpp reserves them for the worst batch (all logits of 512
     * tokens), but AXIOM only ever asks for the last token's logits, so what a turn
     * really touches is the activations of one batch of n_ubatch = min(n_ctx, 512)
     * tokens (f32: the feed-forward pair, a few embedding-wide tensors, the attention
     * scores of the batch over itself), one row of logits, and ~4 MiB of graph and
     * thread state. Checked against the stand-ins' peak RSS over a turn (bench_seed). */
    int64_t ub = out->n_ctx < 512 ? out->n_ctx : 512;
    int64_t vocab = m->n_vocab > 0 ? m->n_vocab : 32000;
    int64_t ff = m->n_ff > 0 ? m->n_ff : 4 * m->n_embd;
    out->compute =
        ub * (2 * ff + 4 * m->n_embd) * 4 + ub * ub * m->n_head * 4 + vocab * 4 * 2 + 4 * MIB;
    out->total = out->weights + out->kv_cache + out->compute;
    return out->total;
}

/* ---- ONNX folders ------------------------------------------------------------------ */

/* Resident growth per byte of .onnx file when sherpa-onnx creates its session:
 * onnxruntime's copy of the initialisers plus, for matrix multiplications, prepacked
 * forms of the same weights. Recognisers are mostly MatMul (prepacked: almost a second
 * copy), voices mostly convolutions (not prepacked). Measured here on the seed-sized
 * stand-ins, RSS delta of the load minus ONNX_RUNTIME_RESIDENT, over the files' size:
 *   Parakeet-CTC int8 (567 MiB) 1.81, Parakeet-TDT int8 (571 MiB) 1.79,
 *   zipformer fp32 (164 MiB) 1.80, Kokoro fp32 (308 MiB) 1.12 in bench_seed and 1.25
 *   in `axiom say` (1.19 taken), VITS fp32 (55 MiB) 1.11.
 * int8 against fp32 changes the file size, not the factor. For the recognisers ~0.8 of
 * the 1.8 is heap the load frees again (the weights before prepacking) and the
 * allocator keeps until a malloc_trim (bench_seed: 451 of 1051 MiB for Parakeet-CTC):
 * the estimate is the load's peak, which is what admission must allow for. */
static const double onnx_resident_per_byte[] = {1.80, 1.11, 1.19};
/* Fixed cost per model folder: sessions, graph, tokens, feature extractor. */
#define ONNX_FOLDER_FIXED (3 * MIB / 2)
/* libonnxruntime + libsherpa-onnx-c-api resident once opened (it stays for the life
 * of the process): the tiny stand-ins' first loads, whose weights are a few hundred KB,
 * grew RSS by 24.0-28 MiB (bench_seed, axiom transcribe / say). */
#define ONNX_RUNTIME_RESIDENT (24 * MIB)

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int64_t estimate_onnx_dir(const char *dir, onnx_kind kind, int first_in_process, onnx_estimate *out,
                          char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    if (!d) {
        snprintf(err, errlen, "%s: cannot read the model folder (%s)", dir ? dir : "(none)",
                 dir && *dir ? strerror(errno) : "not set");
        return -1;
    }
    /* Two passes' worth of totals in one: int8 files, other .onnx files, the rest.
     * When a folder holds both forms of a model the backends load the int8 one. */
    int64_t int8 = 0, plain = 0, side = 0;
    int n_int8 = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* espeak-ng-data/ is mapped on use */
        if (ends_with(e->d_name, ".int8.onnx")) {
            int8 += st.st_size;
            n_int8++;
        } else if (ends_with(e->d_name, ".onnx")) {
            plain += st.st_size;
        } else {
            side += st.st_size;
        }
    }
    closedir(d);
    out->onnx_bytes = n_int8 ? int8 : plain;
    if (!out->onnx_bytes) {
        snprintf(err, errlen, "%s: no .onnx model file in the folder", dir);
        return -1;
    }
    out->side_bytes = side;
    out->runtime = first_in_process ? ONNX_RUNTIME_RESIDENT : 0;
    out->total = (int64_t)((double)out->onnx_bytes *
                           onnx_resident_per_byte[kind <= ONNX_VOICE_KOKORO ? kind : 0]) +
                 side + ONNX_FOLDER_FIXED + out->runtime;
    return out->total;
}
