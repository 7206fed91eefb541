/* Speech-to-text through sherpa-onnx, for users who bring their own model folder
 * (stt.sherpa_model_dir), in one of four layouts (stt.sherpa_model_type):
 *
 *   transducer       streaming zipformer: encoder*.onnx, decoder*.onnx, joiner*.onnx,
 *                    tokens.txt. Decodes while the audio arrives; partial results.
 *   nemo-transducer  NeMo Parakeet-TDT (offline): encoder*.onnx, decoder*.onnx,
 *                    joiner*.onnx, tokens.txt. Decodes the utterance at its end.
 *   whisper          Whisper (offline): *encoder*.onnx, *decoder*.onnx, *tokens.txt.
 *   nemo-ctc         NeMo CTC, e.g. Parakeet-CTC (offline): model*.onnx, tokens.txt.
 *
 * Quantised files (*.int8.onnx) are preferred when both are present. Every file is
 * checked before sherpa-onnx sees it, because onnxruntime aborts the process on a
 * file that is not a model: a missing or wrong file is an error naming it, and the
 * engine then falls back to the embedded recogniser.
 *
 * The recogniser (model) is shared by all decoders; each decoder is one stream
 * (online) or one utterance buffer (offline). sherpa-onnx recognisers decode
 * different streams from different threads, which is how the decoder pool uses them. */
#include "speech/stt.h"

#include "core/child.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/sherpa_api.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { KIND_ONLINE, KIND_OFFLINE } sherpa_kind;

typedef struct {
    const sherpa_api *api;
    sherpa_kind kind;
    const SherpaOnnxOnlineRecognizer *online;
    const SherpaOnnxOfflineRecognizer *offline;
    int64_t max_samples; /* offline utterance bound (server.max_utterance_s) */
    char files[4][1024]; /* encoder (or the one model), decoder, joiner, tokens; "" = unused */
} sherpa_model;

typedef struct {
    sherpa_model *m;
    const SherpaOnnxOnlineStream *stream; /* online */
    float *buf;                           /* offline: the utterance so far */
    int64_t n, cap;
    int dropped; /* offline: audio beyond max_samples was dropped */
} sherpa_decoder;

static int env_debug(void) {
    const char *d = getenv("AXIOM_SHERPA_DEBUG");
    return d && *d && strcmp(d, "0") != 0;
}

/* One thread on a machine of fewer than 4 cores (the rest of the turn needs one).
 * AXIOM_SHERPA_THREADS overrides it, for measuring (bench_seed). */
static int threads_for_decoding(void) {
    const char *t = getenv("AXIOM_SHERPA_THREADS");
    if (t && atoi(t) > 0 && atoi(t) <= 64) return atoi(t);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 4 ? 2 : 1;
}

/* The first load of a folder runs in a child process (core/child.h): onnxruntime and
 * sherpa-onnx exit or abort on a truncated, garbage or wrong-architecture model,
 * which must cost an error and the embedded recogniser, not the server. The child
 * creates the recogniser and decodes half a second of silence. */
#define STT_TRIAL_TIMEOUT_MS 120000

typedef struct {
    const sherpa_api *api;
    const SherpaOnnxOnlineRecognizerConfig *online;
    const SherpaOnnxOfflineRecognizerConfig *offline;
} stt_trial_args;

static int stt_trial(void *arg) {
    const stt_trial_args *t = arg;
    const sherpa_api *a = t->api;
    float silence[STT_SAMPLE_RATE / 2] = {0};
    if (t->online) {
        const SherpaOnnxOnlineRecognizer *r = a->CreateOnlineRecognizer(t->online);
        if (!r) return 2;
        const SherpaOnnxOnlineStream *s = a->CreateOnlineStream(r);
        if (!s) return 3;
        a->OnlineStreamAcceptWaveform(s, STT_SAMPLE_RATE, silence, STT_SAMPLE_RATE / 2);
        a->OnlineStreamInputFinished(s);
        while (a->IsOnlineStreamReady(r, s))
            a->DecodeOnlineStream(r, s);
        a->DestroyOnlineRecognizerResult(a->GetOnlineStreamResult(r, s));
        a->DestroyOnlineStream(s);
        a->DestroyOnlineRecognizer(r);
        return 0;
    }
    const SherpaOnnxOfflineRecognizer *r = a->CreateOfflineRecognizer(t->offline);
    if (!r) return 2;
    const SherpaOnnxOfflineStream *s = a->CreateOfflineStream(r);
    if (!s) return 3;
    a->AcceptWaveformOffline(s, STT_SAMPLE_RATE, silence, STT_SAMPLE_RATE / 2);
    a->DecodeOfflineStream(r, s);
    a->DestroyOfflineRecognizerResult(a->GetOfflineStreamResult(s));
    a->DestroyOfflineStream(s);
    a->DestroyOfflineRecognizer(r);
    return 0;
}

/* 0 when the folder's files passed a trial load (now or before), else -1 with err. */
static int trial_load(sherpa_model *m, const stt_trial_args *t, const char *dir, const char *type,
                      char *err, size_t errlen) {
    const char *files[4];
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        if (m->files[i][0]) files[n++] = m->files[i];
    if (child_trial_passed_before(files, n)) return 0;
    char why[512];
    int rc =
        child_trial_echo(stt_trial, (void *)t, STT_TRIAL_TIMEOUT_MS, env_debug(), why, sizeof why);
    if (rc == 1) LOG_W("stt", "stt.sherpa_model_dir %s: %s; loading without a trial", dir, why);
    if (rc == 0) child_trial_remember(files, n);
    if (rc == -1)
        snprintf(
            err, errlen,
            "stt.sherpa_model_dir %s: damaged, or not a %s model (sherpa-onnx's trial load %s)",
            dir, type, why);
    return rc == -1 ? -1 : 0;
}

/* Finds and checks one ONNX file of the folder. */
static int find_onnx(const char *dir, const char *part, const char *expected, char *out,
                     size_t outlen, char *err, size_t errlen) {
    if (sherpa_find_file(dir, part, ".onnx", 1, expected, out, outlen, err, errlen) != 0) return -1;
    return sherpa_check_onnx("model file", out, err, errlen);
}

static void *model_load(const axiom_config *cfg, const stt_corpus *corpus, char *err,
                        size_t errlen) {
    (void)corpus; /* these models have their own vocabulary */
    const char *dir = config_str(cfg, "stt.sherpa_model_dir");
    const char *type = config_str(cfg, "stt.sherpa_model_type");
    if (!*dir) {
        snprintf(err, errlen,
                 "stt.sherpa_model_dir is not set: point it at a sherpa-onnx model folder "
                 "(README, section speech-vad) or use stt.backend = pocketsphinx");
        return NULL;
    }
    int whisper = strcmp(type, "whisper") == 0, ctc = strcmp(type, "nemo-ctc") == 0;
    const char *expected = whisper ? "*encoder*.onnx, *decoder*.onnx, *tokens.txt"
                           : ctc   ? "model*.onnx, tokens.txt"
                                   : "encoder*.onnx, decoder*.onnx, joiner*.onnx, tokens.txt";
    char where[1200];
    snprintf(where, sizeof where, "stt.sherpa_model_dir (%s)", type);

    sherpa_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char why[1400];
    int bad =
        find_onnx(dir, ctc ? "model" : "encoder", expected, m->files[0], sizeof m->files[0], why,
                  sizeof why) ||
        (!ctc &&
         find_onnx(dir, "decoder", expected, m->files[1], sizeof m->files[1], why, sizeof why)) ||
        (!whisper && !ctc &&
         find_onnx(dir, "joiner", expected, m->files[2], sizeof m->files[2], why, sizeof why)) ||
        sherpa_find_file(dir, "tokens", ".txt", 0, expected, m->files[3], sizeof m->files[3], why,
                         sizeof why) ||
        sherpa_check_file("tokens file", m->files[3], why, sizeof why);
    if (bad) {
        snprintf(err, errlen, "%s: %s", where, why);
        free(m);
        return NULL;
    }
    m->api = sherpa_api_get(why, sizeof why);
    if (!m->api) {
        snprintf(err, errlen, "%s", why);
        free(m);
        return NULL;
    }
    m->max_samples = config_int(cfg, "server.max_utterance_s") * (int64_t)STT_SAMPLE_RATE;

    if (strcmp(type, "transducer") == 0) {
        SherpaOnnxOnlineRecognizerConfig c;
        memset(&c, 0, sizeof c);
        c.feat_config.sample_rate = STT_SAMPLE_RATE;
        c.feat_config.feature_dim = 80;
        c.model_config.transducer.encoder = m->files[0];
        c.model_config.transducer.decoder = m->files[1];
        c.model_config.transducer.joiner = m->files[2];
        c.model_config.tokens = m->files[3];
        c.model_config.num_threads = threads_for_decoding();
        c.model_config.provider = "cpu";
        c.model_config.debug = env_debug();
        c.decoding_method = "greedy_search";
        m->kind = KIND_ONLINE;
        stt_trial_args t = {m->api, &c, NULL};
        if (trial_load(m, &t, dir, type, err, errlen) != 0) {
            free(m);
            return NULL;
        }
        m->online = m->api->CreateOnlineRecognizer(&c);
    } else {
        SherpaOnnxOfflineRecognizerConfig c;
        memset(&c, 0, sizeof c);
        c.feat_config.sample_rate = STT_SAMPLE_RATE;
        c.feat_config.feature_dim = 80;
        if (whisper) {
            c.model_config.whisper.encoder = m->files[0];
            c.model_config.whisper.decoder = m->files[1];
            c.model_config.whisper.language = "en";
            c.model_config.whisper.task = "transcribe";
            c.model_config.whisper.tail_paddings = -1;
        } else if (ctc) {
            c.model_config.nemo_ctc.model = m->files[0];
            /* sherpa-onnx takes a CTC model's feature size from here, not from the
             * model (80 and 128 mel bins both exist): read it off the model's input. */
            long long dim = sherpa_onnx_input_dim(m->files[0], "audio_signal", 1);
            c.feat_config.feature_dim = dim > 0 && dim <= 1024 ? (int32_t)dim : 80;
        } else {
            c.model_config.transducer.encoder = m->files[0];
            c.model_config.transducer.decoder = m->files[1];
            c.model_config.transducer.joiner = m->files[2];
            c.model_config.model_type = "nemo_transducer";
        }
        c.model_config.tokens = m->files[3];
        c.model_config.num_threads = threads_for_decoding();
        c.model_config.provider = "cpu";
        c.model_config.debug = env_debug();
        c.decoding_method = "greedy_search";
        m->kind = KIND_OFFLINE;
        stt_trial_args t = {m->api, NULL, &c};
        if (trial_load(m, &t, dir, type, err, errlen) != 0) {
            free(m);
            return NULL;
        }
        m->offline = m->api->CreateOfflineRecognizer(&c);
    }
    if (!m->online && !m->offline) {
        snprintf(err, errlen,
                 "%s: sherpa-onnx could not create the recogniser from %s (are the files from one "
                 "%s model? set AXIOM_SHERPA_DEBUG=1 for its own messages)",
                 where, dir, type);
        free(m);
        return NULL;
    }
    LOG_I("stt", "sherpa-onnx %s recogniser from %s", type, dir);
    return m;
}

static void model_free(void *model) {
    sherpa_model *m = model;
    if (!m) return;
    if (m->online) m->api->DestroyOnlineRecognizer(m->online);
    if (m->offline) m->api->DestroyOfflineRecognizer(m->offline);
    free(m);
}

static void *decoder_new(void *model, char *err, size_t errlen) {
    sherpa_model *m = model;
    sherpa_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->m = m;
    if (m->kind == KIND_ONLINE) {
        d->stream = m->api->CreateOnlineStream(m->online);
        if (!d->stream) {
            snprintf(err, errlen, "sherpa-onnx could not create a recognition stream");
            free(d);
            return NULL;
        }
    }
    return d;
}

static void decoder_free(void *decoder) {
    sherpa_decoder *d = decoder;
    if (!d) return;
    if (d->stream) d->m->api->DestroyOnlineStream(d->stream);
    free(d->buf);
    free(d);
}

/* A finished online stream takes no more audio: the next utterance gets a new one. */
static int fresh_stream(sherpa_decoder *d, char *err, size_t errlen) {
    if (d->stream) d->m->api->DestroyOnlineStream(d->stream);
    d->stream = d->m->api->CreateOnlineStream(d->m->online);
    if (!d->stream) {
        snprintf(err, errlen, "sherpa-onnx could not create a recognition stream");
        return -1;
    }
    return 0;
}

static int utt_begin(void *decoder, char *err, size_t errlen) {
    sherpa_decoder *d = decoder;
    d->n = 0;
    d->dropped = 0;
    if (d->m->kind == KIND_ONLINE && !d->stream) return fresh_stream(d, err, errlen);
    return 0;
}

static void decode_ready(sherpa_decoder *d) {
    const sherpa_api *a = d->m->api;
    while (a->IsOnlineStreamReady(d->m->online, d->stream))
        a->DecodeOnlineStream(d->m->online, d->stream);
}

static int utt_feed(void *decoder, const int16_t *pcm, size_t n, char *err, size_t errlen) {
    sherpa_decoder *d = decoder;
    if (n == 0) return 0;
    if (d->m->kind == KIND_ONLINE) {
        if (!d->stream) {
            snprintf(err, errlen, "utterance not started");
            return -1;
        }
        float chunk[1600];
        while (n > 0) {
            size_t k = n < 1600 ? n : 1600;
            for (size_t i = 0; i < k; i++)
                chunk[i] = pcm[i] / 32768.0f;
            d->m->api->OnlineStreamAcceptWaveform(d->stream, STT_SAMPLE_RATE, chunk, (int32_t)k);
            pcm += k;
            n -= k;
        }
        decode_ready(d);
        return 0;
    }
    /* Offline: keep the utterance, bounded by server.max_utterance_s. */
    int64_t room = d->m->max_samples - d->n;
    if ((int64_t)n > room) {
        if (!d->dropped)
            LOG_W("stt", "utterance longer than server.max_utterance_s; the rest is dropped");
        d->dropped = 1;
        n = room > 0 ? (size_t)room : 0;
    }
    if (d->n + (int64_t)n > d->cap) {
        int64_t cap = d->cap ? d->cap : STT_SAMPLE_RATE * 4;
        while (cap < d->n + (int64_t)n)
            cap *= 2;
        if (cap > d->m->max_samples) cap = d->m->max_samples;
        float *b = realloc(d->buf, (size_t)cap * sizeof *b);
        if (!b) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        d->buf = b;
        d->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        d->buf[d->n + (int64_t)i] = pcm[i] / 32768.0f;
    d->n += (int64_t)n;
    return 0;
}

/* Lower case, letters, digits and apostrophes, one space between words. Special
 * tokens a model may emit (<unk>, <sos/eos>) are dropped rather than read as words. */
static void normalise(const char *in, char *buf, size_t buflen) {
    size_t o = 0;
    int space = 0;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && o + 1 < buflen;
         p++) {
        if (*p == '<') {
            const unsigned char *q = p + 1;
            while (*q && *q != '>' && *q != ' ' && q - p < 24)
                q++;
            if (*q == '>') {
                p = q;
                space = o > 0;
                continue;
            }
        }
        int keep = isalnum(*p) || *p == '\'' || *p >= 0x80;
        if (!keep) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < buflen) buf[o++] = ' ';
        space = 0;
        buf[o++] = (char)tolower(*p);
    }
    buf[o] = '\0';
}

static int utt_partial(void *decoder, char *buf, size_t buflen) {
    sherpa_decoder *d = decoder;
    if (buflen) buf[0] = '\0';
    if (d->m->kind != KIND_ONLINE || !d->stream) return 0;
    const SherpaOnnxOnlineRecognizerResult *r =
        d->m->api->GetOnlineStreamResult(d->m->online, d->stream);
    if (r) {
        normalise(r->text, buf, buflen);
        d->m->api->DestroyOnlineRecognizerResult(r);
    }
    return 0;
}

static int utt_end(void *decoder, char *buf, size_t buflen, char *err, size_t errlen) {
    sherpa_decoder *d = decoder;
    const sherpa_api *a = d->m->api;
    if (buflen) buf[0] = '\0';
    if (d->m->kind == KIND_ONLINE) {
        if (!d->stream) {
            snprintf(err, errlen, "utterance not started");
            return -1;
        }
        /* Trailing silence flushes the model's right context, then end of input. */
        float tail[4800] = {0};
        a->OnlineStreamAcceptWaveform(d->stream, STT_SAMPLE_RATE, tail, 4800);
        a->OnlineStreamInputFinished(d->stream);
        decode_ready(d);
        utt_partial(d, buf, buflen);
        return fresh_stream(d, err, errlen);
    }
    if (d->n == 0) return 0;
    const SherpaOnnxOfflineStream *s = a->CreateOfflineStream(d->m->offline);
    if (!s) {
        snprintf(err, errlen, "sherpa-onnx could not create a recognition stream");
        return -1;
    }
    a->AcceptWaveformOffline(s, STT_SAMPLE_RATE, d->buf, (int32_t)d->n);
    a->DecodeOfflineStream(d->m->offline, s);
    const SherpaOnnxOfflineRecognizerResult *r = a->GetOfflineStreamResult(s);
    if (r) {
        normalise(r->text, buf, buflen);
        a->DestroyOfflineRecognizerResult(r);
    }
    a->DestroyOfflineStream(s);
    d->n = 0;
    return 0;
}

static void utt_abort(void *decoder) {
    sherpa_decoder *d = decoder;
    d->n = 0;
    if (d->m->kind == KIND_ONLINE) {
        char err[128];
        if (fresh_stream(d, err, sizeof err) != 0) LOG_W("stt", "%s", err);
    }
}

const stt_backend stt_backend_sherpa = {
    .name = "sherpa",
    .model_load = model_load,
    .model_free = model_free,
    .model_mapped_bytes = NULL,
    .decoder_new = decoder_new,
    .decoder_free = decoder_free,
    .utt_begin = utt_begin,
    .utt_feed = utt_feed,
    .utt_partial = utt_partial,
    .utt_end = utt_end,
    .utt_abort = utt_abort,
};
