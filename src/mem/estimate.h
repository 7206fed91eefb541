/* What a model will cost before it is loaded, so the governor can refuse or degrade a
 * load that would cross the budget instead of finding out from the kernel.
 *
 * Two kinds of model are big enough to matter:
 *   - a GGUF language model (llama.cpp): the weights (the file: mapped with llm.mmap,
 *     read into the heap without), the KV cache computed from the model's own header
 *     (layers, heads, key/value widths) and the context it will get, and the compute
 *     buffers;
 *   - a sherpa-onnx model folder (recogniser or voice): onnxruntime's copy of the
 *     weights and its arena, proportional to the .onnx files' size, plus the runtime
 *     library itself the first time it is opened in the process.
 * The factors are measured on the random-weight stand-ins (scripts/make-standin-models,
 * bench/bench_seed.c); each constant says where its value comes from.
 *
 * Everything here only reads file headers and sizes: no model is loaded. Reads are
 * bounded by the file's size and by fixed limits, so a truncated or hostile file is a
 * clear error, never a large allocation. Thread safety: all functions are reentrant. */
#ifndef AXIOM_MEM_ESTIMATE_H
#define AXIOM_MEM_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

/* What the header of a GGUF file says about the model's shape. Counts are -1 when the
 * header does not have them. */
typedef struct {
    uint32_t version;
    char arch[32]; /* general.architecture ("llama", "qwen2", ...) */
    int64_t n_tensors;
    int64_t n_layer;      /* <arch>.block_count */
    int64_t n_embd;       /* <arch>.embedding_length */
    int64_t n_head;       /* <arch>.attention.head_count */
    int64_t n_head_kv;    /* <arch>.attention.head_count_kv (= n_head when absent; the
                           * largest layer's when given per layer) */
    int64_t key_length;   /* <arch>.attention.key_length (n_embd / n_head when absent) */
    int64_t value_length; /* <arch>.attention.value_length (likewise) */
    int64_t n_ctx_train;  /* <arch>.context_length */
    int64_t n_ff;         /* <arch>.feed_forward_length (largest layer's) */
    int64_t n_vocab;      /* <arch>.vocab_size, else the tokenizer's token count */
} gguf_meta;

/* Reads the header of the GGUF file at path (versions 2 and 3). Returns 0, or -1 with
 * err naming the file and what is wrong (not GGUF, truncated at which key, a length
 * beyond the file, missing block_count / embedding_length / head_count). */
int gguf_meta_read(const char *path, gguf_meta *out, char *err, size_t errlen);

/* The parts of an LLM load, bytes. */
typedef struct {
    int n_ctx;        /* the context llama.cpp will allocate (see estimate_llm) */
    int64_t weights;  /* the file */
    int64_t kv_cache; /* f16 K and V for every layer and position */
    int64_t compute;  /* compute graph buffers and the output buffer */
    int64_t total;
} llm_estimate;

/* The context a load will get: context_length, but no more than the model was
 * trained for (a longer window only costs memory), rounded up to 256 as llama.cpp
 * pads it. */
int estimate_llm_context(const gguf_meta *m, int context_length);
/* f16 K and V: n_layer * n_ctx * (n_embd_k_gqa + n_embd_v_gqa) * 2 bytes, where
 * n_embd_k_gqa = key_length * n_head_kv. */
int64_t estimate_kv_bytes(const gguf_meta *m, int n_ctx);
/* Fills *out for a load of that file with that context_length and returns out->total. */
int64_t estimate_llm(const gguf_meta *m, int64_t file_bytes, int context_length, llm_estimate *out);

/* The parts of a sherpa-onnx load, bytes. */
typedef struct {
    int64_t onnx_bytes; /* the .onnx files that will be loaded */
    int64_t side_bytes; /* tokens.txt, voices.bin, lexicons: read whole */
    int64_t runtime;    /* onnxruntime and sherpa-onnx themselves, the first time */
    int64_t total;
} onnx_estimate;

/* What the folder holds: the factor from file size to resident memory differs. */
typedef enum { ONNX_RECOGNISER = 0, ONNX_VOICE_VITS, ONNX_VOICE_KOKORO } onnx_kind;

/* Estimates loading the model folder dir: the .onnx files (only the int8 ones when a
 * folder has both, as the backends prefer them) and its other files. first_in_process
 * adds the runtime library's own resident size (it stays after an unload). Returns
 * out->total, or -1 with err when dir cannot be read or holds no .onnx file. */
int64_t estimate_onnx_dir(const char *dir, onnx_kind kind, int first_in_process, onnx_estimate *out,
                          char *err, size_t errlen);

#endif
