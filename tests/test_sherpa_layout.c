/* Proves that the structs declared in src/speech/sherpa_api.h match the layout of the
 * installed libsherpa-onnx-c-api.so (1.13.8). Each config is filled with a unique
 * marker in every string field and distinctive numbers elsewhere, then handed to the
 * real library with debug=1: sherpa prints the config it parsed before validating
 * it, so every marker must show up in the field it was written to. A shifted field
 * shows up as a marker in the wrong place, a missing one, or a crash; each creation
 * runs in a child process so a crash fails the test instead of ending it. The files
 * named by the markers do not exist, so creation then fails cleanly (NULL). */
#include "check.h"
#include "core/util.h"
#include "speech/sherpa_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char captured[32768];

/* Runs fn in a child with stderr sent to a file; captured holds what it printed.
 * Returns the child's exit status, or -1 when it crashed. */
static int run_child(int (*fn)(const sherpa_api *)) {
    char path[] = "/tmp/axiom-layout-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        char err[512];
        const sherpa_api *api = sherpa_api_get(err, sizeof err);
        if (!api) {
            fprintf(stderr, "LOADFAIL %s\n", err);
            _exit(3);
        }
        int rc = fn(api);
        fflush(stderr);
        _exit(rc);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    captured[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t n = fread(captured, 1, sizeof captured - 1, f);
        captured[n] = '\0';
        fclose(f);
    }
    close(fd);
    unlink(path);
    if (!WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

/* Looks for the library without loading it: this process never loads it, so the
 * loader's first answer is still open for the missing-library test. */
static int sherpa_present(void) {
    char path[1024];
    sherpa_api_library_path(path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

static void check_all(const char *const *expect) {
    for (int i = 0; expect[i]; i++)
        CHECK_CONTAINS(captured, expect[i]);
}

/* ---- VAD ---- */

static int make_vad(const sherpa_api *a) {
    SherpaOnnxVadModelConfig c;
    memset(&c, 0, sizeof c);
    c.silero_vad.model = "MK_silero_model";
    c.silero_vad.threshold = 0.37f;
    c.silero_vad.min_silence_duration = 0.125f;
    c.silero_vad.min_speech_duration = 0.0625f;
    c.silero_vad.window_size = 512;
    c.silero_vad.max_speech_duration = 21;
    c.sample_rate = 16000;
    c.num_threads = 3;
    c.provider = "MK_provider";
    c.debug = 1;
    c.ten_vad.model = "MK_ten_model";
    c.ten_vad.threshold = 0.41f;
    c.ten_vad.min_silence_duration = 0.375f;
    c.ten_vad.min_speech_duration = 0.4375f;
    c.ten_vad.window_size = 256;
    c.ten_vad.max_speech_duration = 19;
    return a->CreateVoiceActivityDetector(&c, 2) == NULL ? 0 : 1;
}

static void vad_config_layout(void) {
    if (!sherpa_present()) SKIP("sherpa-onnx library not installed");
    CHECK_EQ_INT(run_child(make_vad), 0);
    static const char *const expect[] = {
        "silero_vad=SileroVadModelConfig(model=\"MK_silero_model\", threshold=0.37, "
        "min_silence_duration=0.125, min_speech_duration=0.0625, max_speech_duration=21, "
        "window_size=512",
        "ten_vad=TenVadModelConfig(model=\"MK_ten_model\", threshold=0.41, "
        "min_silence_duration=0.375, min_speech_duration=0.4375, max_speech_duration=19, "
        "window_size=256)",
        "sample_rate=16000, num_threads=3, provider=\"MK_provider\", debug=True",
        "'MK_silero_model' does not exist", NULL};
    check_all(expect);
}

/* ---- streaming recogniser ---- */

static int make_online(const sherpa_api *a) {
    SherpaOnnxOnlineRecognizerConfig c;
    memset(&c, 0, sizeof c);
    SherpaOnnxOnlineModelConfig *m = &c.model_config;
    c.feat_config.sample_rate = 16000;
    c.feat_config.feature_dim = 80;
    m->transducer.encoder = "MK_t_enc";
    m->transducer.decoder = "MK_t_dec";
    m->transducer.joiner = "MK_t_join";
    m->paraformer.encoder = "MK_p_enc";
    m->paraformer.decoder = "MK_p_dec";
    m->zipformer2_ctc.model = "MK_z2";
    m->tokens = "MK_tokens";
    m->num_threads = 3;
    m->provider = "MK_prov";
    m->debug = 1;
    m->model_type = "MK_mtype";
    m->modeling_unit = "MK_munit";
    m->bpe_vocab = "MK_bpe";
    m->nemo_ctc.model = "MK_nemo";
    m->t_one_ctc.model = "MK_tone";
    c.decoding_method = "modified_beam_search";
    c.max_active_paths = 7;
    c.enable_endpoint = 1;
    c.rule1_min_trailing_silence = 1.25f;
    c.rule2_min_trailing_silence = 0.75f;
    c.rule3_min_utterance_length = 17;
    c.hotwords_file = "MK_hw";
    c.hotwords_score = 2.5f;
    c.ctc_fst_decoder_config.graph = "MK_graph";
    c.ctc_fst_decoder_config.max_active = 2999;
    c.rule_fsts = "MK_rfsts";
    c.rule_fars = "MK_rfars";
    c.blank_penalty = 0.5f;
    c.hr.lexicon = "MK_hrlex";
    c.hr.rule_fsts = "MK_hrfst";
    return a->CreateOnlineRecognizer(&c) == NULL ? 0 : 1;
}

static void online_recognizer_config_layout(void) {
    if (!sherpa_present()) SKIP("sherpa-onnx library not installed");
    CHECK_EQ_INT(run_child(make_online), 0);
    static const char *const expect[] = {
        "sampling_rate=16000, feature_dim=80",
        "OnlineTransducerModelConfig(encoder=\"MK_t_enc\", decoder=\"MK_t_dec\", "
        "joiner=\"MK_t_join\")",
        "OnlineParaformerModelConfig(encoder=\"MK_p_enc\", decoder=\"MK_p_dec\")",
        "OnlineZipformer2CtcModelConfig(model=\"MK_z2\")",
        "OnlineNeMoCtcModelConfig(model=\"MK_nemo\")",
        "OnlineToneCtcModelConfig(model=\"MK_tone\")",
        "provider=\"MK_prov\"",
        "tokens=\"MK_tokens\", num_threads=3",
        "debug=True, model_type=\"MK_mtype\", modeling_unit=\"MK_munit\", bpe_vocab=\"MK_bpe\"",
        "rule1=EndpointRule(must_contain_nonsilence=False, min_trailing_silence=1.25",
        "rule2=EndpointRule(must_contain_nonsilence=True, min_trailing_silence=0.75",
        "min_utterance_length=17)",
        "OnlineCtcFstDecoderConfig(graph=\"MK_graph\", max_active=2999)",
        "enable_endpoint=True, max_active_paths=7, hotwords_score=2.5, hotwords_file=\"MK_hw\", "
        "decoding_method=\"modified_beam_search\", blank_penalty=0.5",
        "rule_fsts=\"MK_rfsts\", rule_fars=\"MK_rfars\"",
        "hr=HomophoneReplacerConfig(lexicon=\"MK_hrlex\", rule_fsts=\"MK_hrfst\")",
        NULL};
    check_all(expect);
}

/* ---- non-streaming recogniser ---- */

static int make_offline(const sherpa_api *a) {
    SherpaOnnxOfflineRecognizerConfig c;
    memset(&c, 0, sizeof c);
    SherpaOnnxOfflineModelConfig *m = &c.model_config;
    c.feat_config.sample_rate = 16000;
    c.feat_config.feature_dim = 80;
    m->transducer.encoder = "MK_t_enc";
    m->transducer.decoder = "MK_t_dec";
    m->transducer.joiner = "MK_t_join";
    m->paraformer.model = "MK_para";
    m->nemo_ctc.model = "MK_nemoctc";
    m->whisper.encoder = "MK_w_enc";
    m->whisper.decoder = "MK_w_dec";
    m->whisper.language = "MK_w_lang";
    m->whisper.task = "MK_w_task";
    m->whisper.tail_paddings = 33;
    m->whisper.enable_segment_timestamps = 1;
    m->tdnn.model = "MK_tdnn";
    m->tokens = "MK_tokens";
    m->num_threads = 3;
    m->debug = 1;
    m->provider = "MK_prov";
    m->model_type = "MK_mtype";
    m->modeling_unit = "MK_munit";
    m->bpe_vocab = "MK_bpe";
    m->telespeech_ctc = "MK_tele";
    m->sense_voice.model = "MK_sv";
    m->sense_voice.language = "MK_sv_lang";
    m->sense_voice.use_itn = 1;
    m->moonshine.preprocessor = "MK_ms_pre";
    m->moonshine.encoder = "MK_ms_enc";
    m->moonshine.uncached_decoder = "MK_ms_unc";
    m->moonshine.cached_decoder = "MK_ms_cac";
    m->moonshine.merged_decoder = "MK_ms_mer";
    m->fire_red_asr.encoder = "MK_fr_enc";
    m->fire_red_asr.decoder = "MK_fr_dec";
    m->dolphin.model = "MK_dolphin";
    m->zipformer_ctc.model = "MK_zctc";
    m->canary.encoder = "MK_ca_enc";
    m->canary.decoder = "MK_ca_dec";
    m->canary.src_lang = "MK_ca_src";
    m->canary.tgt_lang = "MK_ca_tgt";
    m->canary.use_pnc = 1;
    m->wenet_ctc.model = "MK_wenet";
    m->omnilingual.model = "MK_omni";
    m->medasr.model = "MK_med";
    m->funasr_nano.encoder_adaptor = "MK_fn_ea";
    m->funasr_nano.llm = "MK_fn_llm";
    m->funasr_nano.embedding = "MK_fn_emb";
    m->funasr_nano.tokenizer = "MK_fn_tok";
    m->funasr_nano.system_prompt = "MK_fn_sys";
    m->funasr_nano.user_prompt = "MK_fn_user";
    m->funasr_nano.max_new_tokens = 77;
    m->funasr_nano.seed = 99;
    m->funasr_nano.language = "MK_fn_lang";
    m->funasr_nano.hotwords = "MK_fn_hw";
    m->fire_red_asr_ctc.model = "MK_frctc";
    m->qwen3_asr.conv_frontend = "MK_q_conv";
    m->qwen3_asr.encoder = "MK_q_enc";
    m->qwen3_asr.decoder = "MK_q_dec";
    m->qwen3_asr.tokenizer = "MK_q_tok";
    m->qwen3_asr.max_total_len = 511;
    m->qwen3_asr.max_new_tokens = 55;
    m->qwen3_asr.seed = 7;
    m->qwen3_asr.hotwords = "MK_q_hw";
    m->cohere_transcribe.encoder = "MK_co_enc";
    m->cohere_transcribe.decoder = "MK_co_dec";
    m->cohere_transcribe.language = "MK_co_lang";
    m->cohere_transcribe.use_itn = 1;
    c.lm_config.model = "MK_lm";
    c.lm_config.scale = 0.625f;
    c.decoding_method = "modified_beam_search";
    c.max_active_paths = 7;
    c.hotwords_file = "MK_hw";
    c.hotwords_score = 2.5f;
    c.rule_fsts = "MK_rfsts";
    c.rule_fars = "MK_rfars";
    c.blank_penalty = 0.5f;
    c.hr.lexicon = "MK_hrlex";
    c.hr.rule_fsts = "MK_hrfst";
    return a->CreateOfflineRecognizer(&c) == NULL ? 0 : 1;
}

static void offline_recognizer_config_layout(void) {
    if (!sherpa_present()) SKIP("sherpa-onnx library not installed");
    CHECK_EQ_INT(run_child(make_offline), 0);
    static const char *const expect[] = {
        "sampling_rate=16000, feature_dim=80",
        "OfflineTransducerModelConfig(encoder_filename=\"MK_t_enc\", "
        "decoder_filename=\"MK_t_dec\", joiner_filename=\"MK_t_join\")",
        "OfflineParaformerModelConfig(model=\"MK_para\")",
        "OfflineNemoEncDecCtcModelConfig(model=\"MK_nemoctc\")",
        "OfflineWhisperModelConfig(encoder=\"MK_w_enc\", decoder=\"MK_w_dec\", "
        "language=\"MK_w_lang\", task=\"MK_w_task\", tail_paddings=33, "
        "enable_token_timestamps=False, enable_segment_timestamps=True",
        "OfflineFireRedAsrModelConfig(encoder=\"MK_fr_enc\", decoder=\"MK_fr_dec\")",
        "OfflineTdnnModelConfig(model=\"MK_tdnn\")",
        "OfflineZipformerCtcModelConfig(model=\"MK_zctc\")",
        "OfflineWenetCtcModelConfig(model=\"MK_wenet\")",
        "OfflineSenseVoiceModelConfig(model=\"MK_sv\", language=\"MK_sv_lang\", use_itn=True)",
        "OfflineMoonshineModelConfig(preprocessor=\"MK_ms_pre\", encoder=\"MK_ms_enc\", "
        "uncached_decoder=\"MK_ms_unc\", cached_decoder=\"MK_ms_cac\", "
        "merged_decoder=\"MK_ms_mer\"",
        "OfflineDolphinModelConfig(model=\"MK_dolphin\")",
        "OfflineCanaryModelConfig(encoder=\"MK_ca_enc\", decoder=\"MK_ca_dec\", "
        "src_lang=\"MK_ca_src\", tgt_lang=\"MK_ca_tgt\", use_pnc=True)",
        "OfflineCohereTranscribeModelConfig(encoder=\"MK_co_enc\", decoder=\"MK_co_dec\", "
        "language=\"MK_co_lang\", use_punct=False, use_itn=True)",
        "OfflineOmnilingualAsrCtcModelConfig(model=\"MK_omni\")",
        "OfflineFunASRNanoModelConfig(encoder_adaptor=\"MK_fn_ea\", llm=\"MK_fn_llm\", "
        "embedding=\"MK_fn_emb\", tokenizer=\"MK_fn_tok\", system_prompt=\"MK_fn_sys\", "
        "user_prompt=\"MK_fn_user\", max_new_tokens=77",
        "seed=99, language=\"MK_fn_lang\", itn=False, hotwords=\"MK_fn_hw\")",
        "OfflineMedAsrCtcModelConfig(model=\"MK_med\")",
        "OfflineFireRedAsrCtcModelConfig(model=\"MK_frctc\")",
        "OfflineQwen3ASRModelConfig(conv_frontend=\"MK_q_conv\", encoder=\"MK_q_enc\", "
        "decoder=\"MK_q_dec\", tokenizer=\"MK_q_tok\", hotwords=\"MK_q_hw\", "
        "max_total_len=511, max_new_tokens=55",
        "telespeech_ctc=\"MK_tele\", tokens=\"MK_tokens\", num_threads=3, debug=True, "
        "provider=\"MK_prov\", model_type=\"MK_mtype\", modeling_unit=\"MK_munit\", "
        "bpe_vocab=\"MK_bpe\")",
        "OfflineLMConfig(model=\"MK_lm\", scale=0.625",
        "decoding_method=\"modified_beam_search\", max_active_paths=7, "
        "hotwords_file=\"MK_hw\", hotwords_score=2.5, blank_penalty=0.5, "
        "rule_fsts=\"MK_rfsts\", rule_fars=\"MK_rfars\", "
        "hr=HomophoneReplacerConfig(lexicon=\"MK_hrlex\", rule_fsts=\"MK_hrfst\")",
        NULL};
    check_all(expect);
}

/* ---- text-to-speech ---- */

static int make_tts(const sherpa_api *a) {
    SherpaOnnxOfflineTtsConfig c;
    memset(&c, 0, sizeof c);
    SherpaOnnxOfflineTtsModelConfig *m = &c.model;
    m->vits.model = "MK_v_model";
    m->vits.lexicon = "MK_v_lex";
    m->vits.tokens = "MK_v_tok";
    m->vits.data_dir = "MK_v_data";
    m->vits.noise_scale = 0.6875f;
    m->vits.noise_scale_w = 0.8125f;
    m->vits.length_scale = 1.125f;
    m->num_threads = 3;
    m->debug = 1;
    m->provider = "MK_prov";
    m->matcha.acoustic_model = "MK_m_am";
    m->matcha.vocoder = "MK_m_voc";
    m->matcha.lexicon = "MK_m_lex";
    m->matcha.tokens = "MK_m_tok";
    m->matcha.data_dir = "MK_m_data";
    m->matcha.noise_scale = 0.375f;
    m->matcha.length_scale = 1.25f;
    m->kokoro.model = "MK_k_model";
    m->kokoro.voices = "MK_k_voices";
    m->kokoro.tokens = "MK_k_tok";
    m->kokoro.data_dir = "MK_k_data";
    m->kokoro.length_scale = 1.375f;
    m->kokoro.lexicon = "MK_k_lex";
    m->kokoro.lang = "MK_k_lang";
    m->kitten.model = "MK_kt_model";
    m->kitten.voices = "MK_kt_voices";
    m->kitten.tokens = "MK_kt_tok";
    m->kitten.data_dir = "MK_kt_data";
    m->kitten.length_scale = 1.5f;
    m->zipvoice.tokens = "MK_z_tok";
    m->zipvoice.encoder = "MK_z_enc";
    m->zipvoice.decoder = "MK_z_dec";
    m->zipvoice.vocoder = "MK_z_voc";
    m->zipvoice.data_dir = "MK_z_data";
    m->zipvoice.lexicon = "MK_z_lex";
    m->zipvoice.feat_scale = 0.25f;
    m->zipvoice.t_shift = 0.5f;
    m->zipvoice.target_rms = 0.125f;
    m->zipvoice.guidance_scale = 1.75f;
    m->pocket.lm_flow = "MK_p_flow";
    m->pocket.lm_main = "MK_p_main";
    m->pocket.encoder = "MK_p_enc";
    m->pocket.decoder = "MK_p_dec";
    m->pocket.text_conditioner = "MK_p_tc";
    m->pocket.vocab_json = "MK_p_vocab";
    m->pocket.token_scores_json = "MK_p_ts";
    m->pocket.voice_embedding_cache_capacity = 5;
    m->supertonic.duration_predictor = "MK_s_dp";
    m->supertonic.text_encoder = "MK_s_te";
    m->supertonic.vector_estimator = "MK_s_ve";
    m->supertonic.vocoder = "MK_s_voc";
    m->supertonic.tts_json = "MK_s_json";
    m->supertonic.unicode_indexer = "MK_s_ui";
    m->supertonic.voice_style = "MK_s_vs";
    c.rule_fsts = "MK_rfsts";
    c.max_num_sentences = 4;
    c.rule_fars = "MK_rfars";
    c.silence_scale = 0.3125f;
    return a->CreateOfflineTts(&c) == NULL ? 0 : 1;
}

static void offline_tts_config_layout(void) {
    if (!sherpa_present()) SKIP("sherpa-onnx library not installed");
    CHECK_EQ_INT(run_child(make_tts), 0);
    static const char *const expect[] = {
        "OfflineTtsVitsModelConfig(model=\"MK_v_model\", lexicon=\"MK_v_lex\", "
        "tokens=\"MK_v_tok\", data_dir=\"MK_v_data\", noise_scale=0.6875, "
        "noise_scale_w=0.8125, length_scale=1.125)",
        "OfflineTtsMatchaModelConfig(acoustic_model=\"MK_m_am\", vocoder=\"MK_m_voc\", "
        "lexicon=\"MK_m_lex\", tokens=\"MK_m_tok\", data_dir=\"MK_m_data\", "
        "noise_scale=0.375, length_scale=1.25)",
        "OfflineTtsKokoroModelConfig(model=\"MK_k_model\", voices=\"MK_k_voices\", "
        "tokens=\"MK_k_tok\", lexicon=\"MK_k_lex\", data_dir=\"MK_k_data\", "
        "length_scale=1.375, lang=\"MK_k_lang\")",
        "OfflineTtsZipvoiceModelConfig(tokens=\"MK_z_tok\", encoder=\"MK_z_enc\", "
        "decoder=\"MK_z_dec\", vocoder=\"MK_z_voc\", data_dir=\"MK_z_data\", "
        "lexicon=\"MK_z_lex\", feat_scale=0.25, t_shift=0.5, target_rms=0.125, "
        "guidance_scale=1.75)",
        "OfflineTtsKittenModelConfig(model=\"MK_kt_model\", voices=\"MK_kt_voices\", "
        "tokens=\"MK_kt_tok\", data_dir=\"MK_kt_data\", length_scale=1.5)",
        "OfflineTtsPocketModelConfig(lm_flow=\"MK_p_flow\", lm_main=\"MK_p_main\", "
        "encoder=\"MK_p_enc\", decoder=\"MK_p_dec\", text_conditioner=\"MK_p_tc\", "
        "vocab_json=\"MK_p_vocab\", token_scores_json=\"MK_p_ts\", "
        "voice_embedding_cache_capacity=5)",
        "OfflineTtsSupertonicModelConfig(duration_predictor=\"MK_s_dp\", "
        "text_encoder=\"MK_s_te\", vector_estimator=\"MK_s_ve\", vocoder=\"MK_s_voc\", "
        "tts_json=\"MK_s_json\", unicode_indexer=\"MK_s_ui\", voice_style=\"MK_s_vs\")",
        "num_threads=3, debug=True, provider=\"MK_prov\")",
        "rule_fsts=\"MK_rfsts\", rule_fars=\"MK_rfars\", max_num_sentences=4, "
        "silence_scale=0.3125)",
        NULL};
    check_all(expect);
}

/* ---- the loader ---- */

static void missing_library_is_a_clear_error(void) {
    /* sherpa_api_get remembers its first answer, so ask in a fresh child. */
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("AXIOM_SHERPA_LIB", "/nonexistent/dir/libsherpa-onnx-c-api.so", 1);
        char err[512] = "";
        const sherpa_api *a = sherpa_api_get(err, sizeof err);
        char again[512] = "";
        const sherpa_api *b = sherpa_api_get(again, sizeof again);
        int ok = !a && !b && strstr(err, "/nonexistent/dir/libsherpa-onnx-c-api.so") &&
                 strstr(err, "install-deps.sh") && strcmp(err, again) == 0;
        if (!ok) fprintf(stderr, "  got: %s\n", err);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void model_file_checks_name_the_file(void) {
    char err[512];
    CHECK_EQ_INT(sherpa_check_file("VAD model", "/nonexistent/silero.onnx", err, sizeof err), -1);
    CHECK_CONTAINS(err, "VAD model /nonexistent/silero.onnx");
    CHECK_CONTAINS(err, "No such file");
    CHECK_EQ_INT(sherpa_check_onnx("VAD model", "/etc/hostname", err, sizeof err), -1);
    CHECK_CONTAINS(err, "not an ONNX model");
    char model[1024];
    snprintf(model, sizeof model, "%s/deps/silero/dist/silero_vad_v5.onnx", axiom_root_dir());
    FILE *f = fopen(model, "rb");
    if (!f) SKIP("Silero model not installed at %s", model);
    fclose(f);
    CHECK_EQ_INT(sherpa_check_onnx("VAD model", model, err, sizeof err), 0);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(vad_config_layout);
    RUN(online_recognizer_config_layout);
    RUN(offline_recognizer_config_layout);
    RUN(offline_tts_config_layout);
    RUN(missing_library_is_a_clear_error);
    RUN(model_file_checks_name_the_file);
    return CHECK_DONE(argv[0]);
}
