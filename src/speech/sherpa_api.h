/* The part of the sherpa-onnx 1.13.8 C API that AXIOM uses, declared here because no
 * package ships sherpa-onnx's c-api.h. The library is opened with dlopen on first
 * use (never at start-up), so the binary runs on machines without it and a missing
 * library is one clear error instead of a loader failure.
 *
 * Configuration structs are passed by pointer and read by the library, so their
 * layout must match the release byte for byte: every field the release has is here,
 * in order, even the ones AXIOM leaves zero. tests/test_sherpa_layout.c proves it:
 * it creates each object with debug=1 and a unique marker string in every path
 * field, and checks that sherpa prints each marker in the field it belongs to.
 * Result structs are allocated by the library and only read here, so they declare
 * just the leading fields AXIOM reads.
 *
 * The names keep sherpa's own spelling so the declarations can be compared with
 * upstream line by line. */
#ifndef AXIOM_SHERPA_API_H
#define AXIOM_SHERPA_API_H

#include <stddef.h>
#include <stdint.h>

/* ---- voice activity detection ---- */

typedef struct {
    const char *model;
    float threshold;
    float min_silence_duration; /* seconds */
    float min_speech_duration;  /* seconds */
    int32_t window_size;        /* 512 for Silero v5 at 16 kHz */
    float max_speech_duration;  /* seconds */
} SherpaOnnxSileroVadModelConfig;

typedef struct {
    const char *model;
    float threshold;
    float min_silence_duration;
    float min_speech_duration;
    int32_t window_size;
    float max_speech_duration;
} SherpaOnnxTenVadModelConfig;

typedef struct {
    SherpaOnnxSileroVadModelConfig silero_vad;
    int32_t sample_rate;
    int32_t num_threads;
    const char *provider;
    int32_t debug;
    SherpaOnnxTenVadModelConfig ten_vad;
} SherpaOnnxVadModelConfig;

typedef struct SherpaOnnxVoiceActivityDetector SherpaOnnxVoiceActivityDetector;

/* ---- shared by the recognisers ---- */

typedef struct {
    int32_t sample_rate;
    int32_t feature_dim;
} SherpaOnnxFeatureConfig;

typedef struct {
    const char *dict_dir; /* unused */
    const char *lexicon;
    const char *rule_fsts;
} SherpaOnnxHomophoneReplacerConfig;

/* ---- streaming (online) recognition ---- */

typedef struct {
    const char *encoder;
    const char *decoder;
    const char *joiner;
} SherpaOnnxOnlineTransducerModelConfig;

typedef struct {
    const char *encoder;
    const char *decoder;
} SherpaOnnxOnlineParaformerModelConfig;

typedef struct {
    const char *model;
} SherpaOnnxOnlineModelPath; /* zipformer2 CTC, NeMo CTC and T-One CTC: one file each */

typedef struct {
    SherpaOnnxOnlineTransducerModelConfig transducer;
    SherpaOnnxOnlineParaformerModelConfig paraformer;
    SherpaOnnxOnlineModelPath zipformer2_ctc;
    const char *tokens;
    int32_t num_threads;
    const char *provider;
    int32_t debug;
    const char *model_type;
    const char *modeling_unit;
    const char *bpe_vocab;
    const char *tokens_buf;
    int32_t tokens_buf_size;
    SherpaOnnxOnlineModelPath nemo_ctc;
    SherpaOnnxOnlineModelPath t_one_ctc;
} SherpaOnnxOnlineModelConfig;

typedef struct {
    const char *graph;
    int32_t max_active;
} SherpaOnnxCtcFstDecoderConfig;

typedef struct {
    SherpaOnnxFeatureConfig feat_config;
    SherpaOnnxOnlineModelConfig model_config;
    const char *decoding_method;
    int32_t max_active_paths;
    int32_t enable_endpoint;
    float rule1_min_trailing_silence;
    float rule2_min_trailing_silence;
    float rule3_min_utterance_length;
    const char *hotwords_file;
    float hotwords_score;
    SherpaOnnxCtcFstDecoderConfig ctc_fst_decoder_config;
    const char *rule_fsts;
    const char *rule_fars;
    float blank_penalty;
    const char *hotwords_buf;
    int32_t hotwords_buf_size;
    SherpaOnnxHomophoneReplacerConfig hr;
} SherpaOnnxOnlineRecognizerConfig;

typedef struct {
    const char *text; /* leading field only: the library owns the rest */
} SherpaOnnxOnlineRecognizerResult;

typedef struct SherpaOnnxOnlineRecognizer SherpaOnnxOnlineRecognizer;
typedef struct SherpaOnnxOnlineStream SherpaOnnxOnlineStream;

/* ---- non-streaming (offline) recognition ---- */

typedef struct {
    const char *encoder;
    const char *decoder;
    const char *joiner;
} SherpaOnnxOfflineTransducerModelConfig;

typedef struct {
    const char *model;
} SherpaOnnxOfflineModelPath; /* the many one-file model families */

typedef struct {
    const char *encoder;
    const char *decoder;
} SherpaOnnxOfflineEncoderDecoder; /* FireRedAsr */

typedef struct {
    const char *encoder;
    const char *decoder;
    const char *language;
    const char *task;
    int32_t tail_paddings;
    int32_t enable_token_timestamps;
    int32_t enable_segment_timestamps;
} SherpaOnnxOfflineWhisperModelConfig;

typedef struct {
    const char *encoder;
    const char *decoder;
    const char *src_lang;
    const char *tgt_lang;
    int32_t use_pnc;
} SherpaOnnxOfflineCanaryModelConfig;

typedef struct {
    const char *encoder;
    const char *decoder;
    const char *language;
    int32_t use_punct;
    int32_t use_itn;
} SherpaOnnxOfflineCohereTranscribeModelConfig;

typedef struct {
    const char *preprocessor;
    const char *encoder;
    const char *uncached_decoder;
    const char *cached_decoder;
    const char *merged_decoder;
} SherpaOnnxOfflineMoonshineModelConfig;

typedef struct {
    const char *model;
    float scale;
} SherpaOnnxOfflineLMConfig;

typedef struct {
    const char *model;
    const char *language;
    int32_t use_itn;
} SherpaOnnxOfflineSenseVoiceModelConfig;

typedef struct {
    const char *encoder_adaptor;
    const char *llm;
    const char *embedding;
    const char *tokenizer;
    const char *system_prompt;
    const char *user_prompt;
    int32_t max_new_tokens;
    float temperature;
    float top_p;
    int32_t seed;
    const char *language;
    int32_t itn;
    const char *hotwords;
} SherpaOnnxOfflineFunASRNanoModelConfig;

typedef struct {
    const char *conv_frontend;
    const char *encoder;
    const char *decoder;
    const char *tokenizer;
    int32_t max_total_len;
    int32_t max_new_tokens;
    float temperature;
    float top_p;
    int32_t seed;
    const char *hotwords;
} SherpaOnnxOfflineQwen3ASRModelConfig;

typedef struct {
    SherpaOnnxOfflineTransducerModelConfig transducer;
    SherpaOnnxOfflineModelPath paraformer;
    SherpaOnnxOfflineModelPath nemo_ctc;
    SherpaOnnxOfflineWhisperModelConfig whisper;
    SherpaOnnxOfflineModelPath tdnn;
    const char *tokens;
    int32_t num_threads;
    int32_t debug;
    const char *provider;
    const char *model_type; /* "nemo_transducer" for Parakeet-TDT */
    const char *modeling_unit;
    const char *bpe_vocab;
    const char *telespeech_ctc;
    SherpaOnnxOfflineSenseVoiceModelConfig sense_voice;
    SherpaOnnxOfflineMoonshineModelConfig moonshine;
    SherpaOnnxOfflineEncoderDecoder fire_red_asr;
    SherpaOnnxOfflineModelPath dolphin;
    SherpaOnnxOfflineModelPath zipformer_ctc;
    SherpaOnnxOfflineCanaryModelConfig canary;
    SherpaOnnxOfflineModelPath wenet_ctc;
    SherpaOnnxOfflineModelPath omnilingual;
    SherpaOnnxOfflineModelPath medasr;
    SherpaOnnxOfflineFunASRNanoModelConfig funasr_nano;
    SherpaOnnxOfflineModelPath fire_red_asr_ctc;
    SherpaOnnxOfflineQwen3ASRModelConfig qwen3_asr;
    SherpaOnnxOfflineCohereTranscribeModelConfig cohere_transcribe;
} SherpaOnnxOfflineModelConfig;

typedef struct {
    SherpaOnnxFeatureConfig feat_config;
    SherpaOnnxOfflineModelConfig model_config;
    SherpaOnnxOfflineLMConfig lm_config;
    const char *decoding_method;
    int32_t max_active_paths;
    const char *hotwords_file;
    float hotwords_score;
    const char *rule_fsts;
    const char *rule_fars;
    float blank_penalty;
    SherpaOnnxHomophoneReplacerConfig hr;
    /* Declared by later releases; 1.13.8 does not read it (sherpa prints the default
     * whatever is set here), and a trailing field it ignores cannot shift anything. */
    SherpaOnnxCtcFstDecoderConfig ctc_fst_decoder_config;
} SherpaOnnxOfflineRecognizerConfig;

typedef struct {
    const char *text; /* leading field only */
} SherpaOnnxOfflineRecognizerResult;

typedef struct SherpaOnnxOfflineRecognizer SherpaOnnxOfflineRecognizer;
typedef struct SherpaOnnxOfflineStream SherpaOnnxOfflineStream;

/* ---- text-to-speech ---- */

typedef struct {
    const char *model;
    const char *lexicon;
    const char *tokens;
    const char *data_dir;
    float noise_scale;
    float noise_scale_w;
    float length_scale;
    const char *dict_dir; /* unused */
} SherpaOnnxOfflineTtsVitsModelConfig;

typedef struct {
    const char *acoustic_model;
    const char *vocoder;
    const char *lexicon;
    const char *tokens;
    const char *data_dir;
    float noise_scale;
    float length_scale;
    const char *dict_dir;
} SherpaOnnxOfflineTtsMatchaModelConfig;

typedef struct {
    const char *model;
    const char *voices;
    const char *tokens;
    const char *data_dir;
    float length_scale;
    const char *dict_dir;
    const char *lexicon;
    const char *lang;
} SherpaOnnxOfflineTtsKokoroModelConfig;

typedef struct {
    const char *model;
    const char *voices;
    const char *tokens;
    const char *data_dir;
    float length_scale;
} SherpaOnnxOfflineTtsKittenModelConfig;

typedef struct {
    const char *tokens;
    const char *encoder;
    const char *decoder;
    const char *vocoder;
    const char *data_dir;
    const char *lexicon;
    float feat_scale;
    float t_shift;
    float target_rms;
    float guidance_scale;
} SherpaOnnxOfflineTtsZipvoiceModelConfig;

typedef struct {
    const char *lm_flow;
    const char *lm_main;
    const char *encoder;
    const char *decoder;
    const char *text_conditioner;
    const char *vocab_json;
    const char *token_scores_json;
    int32_t voice_embedding_cache_capacity;
} SherpaOnnxOfflineTtsPocketModelConfig;

typedef struct {
    const char *duration_predictor;
    const char *text_encoder;
    const char *vector_estimator;
    const char *vocoder;
    const char *tts_json;
    const char *unicode_indexer;
    const char *voice_style;
} SherpaOnnxOfflineTtsSupertonicModelConfig;

typedef struct {
    SherpaOnnxOfflineTtsVitsModelConfig vits;
    int32_t num_threads;
    int32_t debug;
    const char *provider;
    SherpaOnnxOfflineTtsMatchaModelConfig matcha;
    SherpaOnnxOfflineTtsKokoroModelConfig kokoro;
    SherpaOnnxOfflineTtsKittenModelConfig kitten;
    SherpaOnnxOfflineTtsZipvoiceModelConfig zipvoice;
    SherpaOnnxOfflineTtsPocketModelConfig pocket;
    SherpaOnnxOfflineTtsSupertonicModelConfig supertonic;
} SherpaOnnxOfflineTtsModelConfig;

typedef struct {
    SherpaOnnxOfflineTtsModelConfig model;
    const char *rule_fsts;
    int32_t max_num_sentences;
    const char *rule_fars;
    float silence_scale;
} SherpaOnnxOfflineTtsConfig;

typedef struct {
    const float *samples; /* [-1, 1] */
    int32_t n;
    int32_t sample_rate;
} SherpaOnnxGeneratedAudio;

/* Return 1 to go on, 0 to stop generating. */
typedef int32_t (*SherpaOnnxGeneratedAudioCallbackWithArg)(const float *samples, int32_t n,
                                                           void *arg);

typedef struct SherpaOnnxOfflineTts SherpaOnnxOfflineTts;

/* ---- the function table ---- */

typedef struct {
    const char *(*GetVersionStr)(void);

    const SherpaOnnxVoiceActivityDetector *(*CreateVoiceActivityDetector)(
        const SherpaOnnxVadModelConfig *config, float buffer_size_in_seconds);
    void (*DestroyVoiceActivityDetector)(const SherpaOnnxVoiceActivityDetector *p);
    void (*VoiceActivityDetectorAcceptWaveform)(const SherpaOnnxVoiceActivityDetector *p,
                                                const float *samples, int32_t n);
    int32_t (*VoiceActivityDetectorEmpty)(const SherpaOnnxVoiceActivityDetector *p);
    int32_t (*VoiceActivityDetectorDetected)(const SherpaOnnxVoiceActivityDetector *p);
    void (*VoiceActivityDetectorClear)(const SherpaOnnxVoiceActivityDetector *p);
    void (*VoiceActivityDetectorReset)(const SherpaOnnxVoiceActivityDetector *p);
    void (*VoiceActivityDetectorFlush)(const SherpaOnnxVoiceActivityDetector *p);

    const SherpaOnnxOnlineRecognizer *(*CreateOnlineRecognizer)(
        const SherpaOnnxOnlineRecognizerConfig *config);
    void (*DestroyOnlineRecognizer)(const SherpaOnnxOnlineRecognizer *r);
    const SherpaOnnxOnlineStream *(*CreateOnlineStream)(const SherpaOnnxOnlineRecognizer *r);
    void (*DestroyOnlineStream)(const SherpaOnnxOnlineStream *s);
    void (*OnlineStreamAcceptWaveform)(const SherpaOnnxOnlineStream *s, int32_t sample_rate,
                                       const float *samples, int32_t n);
    int32_t (*IsOnlineStreamReady)(const SherpaOnnxOnlineRecognizer *r,
                                   const SherpaOnnxOnlineStream *s);
    void (*DecodeOnlineStream)(const SherpaOnnxOnlineRecognizer *r,
                               const SherpaOnnxOnlineStream *s);
    const SherpaOnnxOnlineRecognizerResult *(*GetOnlineStreamResult)(
        const SherpaOnnxOnlineRecognizer *r, const SherpaOnnxOnlineStream *s);
    void (*DestroyOnlineRecognizerResult)(const SherpaOnnxOnlineRecognizerResult *res);
    void (*OnlineStreamInputFinished)(const SherpaOnnxOnlineStream *s);
    void (*OnlineStreamReset)(const SherpaOnnxOnlineRecognizer *r, const SherpaOnnxOnlineStream *s);

    const SherpaOnnxOfflineRecognizer *(*CreateOfflineRecognizer)(
        const SherpaOnnxOfflineRecognizerConfig *config);
    void (*DestroyOfflineRecognizer)(const SherpaOnnxOfflineRecognizer *r);
    const SherpaOnnxOfflineStream *(*CreateOfflineStream)(const SherpaOnnxOfflineRecognizer *r);
    void (*DestroyOfflineStream)(const SherpaOnnxOfflineStream *s);
    void (*AcceptWaveformOffline)(const SherpaOnnxOfflineStream *s, int32_t sample_rate,
                                  const float *samples, int32_t n);
    void (*DecodeOfflineStream)(const SherpaOnnxOfflineRecognizer *r,
                                const SherpaOnnxOfflineStream *s);
    const SherpaOnnxOfflineRecognizerResult *(*GetOfflineStreamResult)(
        const SherpaOnnxOfflineStream *s);
    void (*DestroyOfflineRecognizerResult)(const SherpaOnnxOfflineRecognizerResult *res);

    const SherpaOnnxOfflineTts *(*CreateOfflineTts)(const SherpaOnnxOfflineTtsConfig *config);
    void (*DestroyOfflineTts)(const SherpaOnnxOfflineTts *tts);
    int32_t (*OfflineTtsSampleRate)(const SherpaOnnxOfflineTts *tts);
    int32_t (*OfflineTtsNumSpeakers)(const SherpaOnnxOfflineTts *tts);
    const SherpaOnnxGeneratedAudio *(*OfflineTtsGenerateWithCallbackWithArg)(
        const SherpaOnnxOfflineTts *tts, const char *text, int32_t sid, float speed,
        SherpaOnnxGeneratedAudioCallbackWithArg callback, void *arg);
    void (*DestroyOfflineTtsGeneratedAudio)(const SherpaOnnxGeneratedAudio *p);
} sherpa_api;

/* The release these declarations match; sherpa_api_get warns when the library
 * reports another version (the layouts may then differ). */
#define SHERPA_API_VERSION "1.13.8"

/* Opens the library once per process (thread-safe) and returns the filled table, or
 * NULL with err naming the library path and how to fix it. The path is
 * $AXIOM_SHERPA_LIB when set, else <root>/deps/sherpa-onnx/libsherpa-onnx-c-api.so.
 * The library stays loaded until the process ends (onnxruntime does not support
 * being unloaded). A failure is remembered: later calls return the same error. */
const sherpa_api *sherpa_api_get(char *err, size_t errlen);

/* 1 once sherpa_api_get has opened the library in this process (it stays open): a
 * further model then costs its weights only, not the runtime's own memory. */
int sherpa_api_is_open(void);
/* The library path sherpa_api_get uses (or used). */
void sherpa_api_library_path(char *out, size_t outlen);

/* Checks that path names a readable, non-empty regular file. Returns 0, or -1 with err
 * "<what> <path>: <reason>" so callers name the missing model file before sherpa-onnx
 * sees it (sherpa exits the process on some bad files instead of returning NULL). */
int sherpa_check_file(const char *what, const char *path, char *err, size_t errlen);

/* Checks that path looks like an ONNX model (protobuf starting with the ir_version
 * field). Returns 0, or -1 with err. onnxruntime aborts the process on a file that
 * is not a model, so this runs before every model is handed over. */
int sherpa_check_onnx(const char *what, const char *path, char *err, size_t errlen);

/* The size of dimension `dim` of the model's graph input named `input` (the first
 * input when none has that name, or input is NULL), read from the ONNX file without
 * loading it: e.g. the feature size a NeMo CTC model expects (audio_signal, dim 1).
 * Returns the size, 0 when that dimension is dynamic, or -1 when the file cannot be
 * read that far or has no such dimension. */
long long sherpa_onnx_input_dim(const char *path, const char *input, int dim);

/* Finds the model file in dir whose name contains `part` and ends with `suffix`
 * (e.g. "encoder", ".onnx"), preferring a quantised "*.int8*" one when int8 is set
 * and both exist, and names ordered first when several match. Writes the full path.
 * Returns 0, or -1 with err naming dir, what was looked for and the folder layout
 * `expected` (e.g. "encoder*.onnx, decoder*.onnx, joiner*.onnx, tokens.txt"). */
int sherpa_find_file(const char *dir, const char *part, const char *suffix, int int8,
                     const char *expected, char *out, size_t outlen, char *err, size_t errlen);

#endif
