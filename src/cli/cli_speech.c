/* `axiom transcribe` and `axiom say`: the speech engines on files, for people and
 * scripts. transcribe reads any WAV (or stdin), cuts it at pauses and prints the text
 * (--json adds per-utterance timings and the partial hypotheses seen on the way);
 * say writes one WAV of the whole text, made sentence by sentence. */
#include "cli/cli.h"

#include "brain/brain.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "speech/stt.h"
#include "speech/stt_file.h"
#include "speech/tts.h"
#include "speech/wav.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRANSCRIBE_MAX_S (4.0 * 3600) /* longer recordings: split them first */

static void usage_transcribe(FILE *f) {
    fprintf(
        f,
        "usage: axiom transcribe FILE.wav|- [--json]\n"
        "  Prints the words spoken in a WAV file (any rate, width, channel count) or stdin.\n"
        "  --json   also per-utterance timings, real-time factor and partial results\n"
        "  Model: --set stt.lm=domain|mixed|stock (default domain, built from the 'data' pack)\n");
}

typedef struct {
    cJSON *partials;
} partial_sink;

static void on_partial(void *ctx, int64_t at_ms, const char *text) {
    partial_sink *p = ctx;
    if (!p->partials) return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "at_ms", (double)at_ms);
    cJSON_AddStringToObject(o, "text", text);
    cJSON_AddItemToArray(p->partials, o);
}

int cmd_transcribe(const axiom_config *cfg, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage_transcribe(stdout);
        return 0;
    }
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (!path && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            path = argv[i];
        else {
            fprintf(stderr, "axiom transcribe: unexpected argument '%s'\n", argv[i]);
            usage_transcribe(stderr);
            return 2;
        }
    }
    if (!path) {
        usage_transcribe(stderr);
        return 2;
    }
    char err[1024] = "";
    wav_reader *r = wav_reader_open(path, STT_SAMPLE_RATE, TRANSCRIBE_MAX_S, err, sizeof err);
    if (!r) {
        fprintf(stderr, "axiom transcribe: %s\n", err);
        return 1;
    }
    /* The recogniser's domain model comes from the knowledge pack, as in the server
     * (same cache entry). */
    brain *corpus = NULL;
    stt_corpus_provider prov;
    if (strcmp(config_str(cfg, "stt.lm"), "stock") != 0) {
        corpus = brain_new(cfg, err, sizeof err);
        if (!corpus)
            LOG_W("stt", "%s", err);
        else
            prov = brain_corpus_provider(corpus);
    }
    stt_engine *e = stt_engine_new(cfg, corpus ? &prov : NULL, err, sizeof err);
    if (!e) {
        fprintf(stderr, "axiom transcribe: %s\n", err);
        wav_reader_free(r);
        brain_free(corpus);
        return 1;
    }
    int64_t t0 = now_us();
    if (corpus && stt_engine_refresh_corpus(e, err, sizeof err) != 0) LOG_W("stt", "%s", err);
    if (component_load(stt_engine_component(e), err, sizeof err) != 0) {
        fprintf(stderr, "axiom transcribe: %s\n", err);
        stt_engine_free(e);
        wav_reader_free(r);
        brain_free(corpus);
        return 1;
    }
    int64_t load_us = now_us() - t0;
    partial_sink ps = {json ? cJSON_CreateArray() : NULL};
    stt_transcript t;
    int rc = stt_transcribe_reader(e, r, on_partial, &ps, &t, err, sizeof err);
    wav_info wi;
    wav_reader_get_info(r, &wi);
    int64_t bad = wav_reader_bad_samples(r);
    wav_reader_free(r);
    if (bad)
        fprintf(stderr,
                "axiom transcribe: %s: %lld NaN or infinite samples were replaced by silence\n",
                path, (long long)bad);
    if (rc != 0) fprintf(stderr, "axiom transcribe: %s\n", err);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", t.text ? t.text : "");
        cJSON_AddStringToObject(o, "lm", config_str(cfg, "stt.lm"));
        cJSON_AddNumberToObject(o, "source_rate", wi.src_rate);
        cJSON_AddNumberToObject(o, "source_channels", wi.src_channels);
        cJSON_AddNumberToObject(o, "audio_ms", (double)t.audio_ms);
        cJSON_AddNumberToObject(o, "speech_ms", (double)t.speech_ms);
        cJSON_AddNumberToObject(o, "load_ms", (double)load_us / 1000.0);
        cJSON_AddNumberToObject(o, "decode_ms", (double)t.decode_us / 1000.0);
        cJSON_AddNumberToObject(o, "cpu_ms", (double)t.cpu_us / 1000.0);
        cJSON_AddNumberToObject(o, "rtf",
                                t.audio_ms ? (double)t.cpu_us / 1000.0 / (double)t.audio_ms : 0.0);
        cJSON *segs = cJSON_AddArrayToObject(o, "segments");
        for (size_t i = 0; i < t.n; i++) {
            cJSON *g = cJSON_CreateObject();
            cJSON_AddNumberToObject(g, "start_ms", (double)t.segs[i].start_ms);
            cJSON_AddNumberToObject(g, "end_ms", (double)t.segs[i].end_ms);
            cJSON_AddStringToObject(g, "text", t.segs[i].text);
            cJSON_AddNumberToObject(g, "final_ms", (double)t.segs[i].finish_us / 1000.0);
            cJSON_AddItemToArray(segs, g);
        }
        cJSON_AddItemToObject(o, "partials", ps.partials);
        if (rc != 0) cJSON_AddStringToObject(o, "error", err);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s\n", t.text ? t.text : "");
    }
    stt_transcript_clear(&t);
    stt_engine_free(e);
    brain_free(corpus);
    return rc == 0 ? 0 : 1;
}

static void usage_say(FILE *f) {
    fprintf(f, "usage: axiom say \"text\" -o out.wav [--voice V] [--rate HZ]\n"
               "  Speaks text into a mono 16-bit WAV file (-o - writes to stdout).\n"
               "  --voice  slt|kal16|awb|rms|kal (default: tts.voice)\n"
               "  --rate   8000..48000 Hz (default: tts.sample_rate)\n");
}

typedef struct {
    int16_t *pcm;
    size_t n, cap;
} pcm_buf;

static int collect(void *ctx, const char *sentence, size_t len, tts_audio *a) {
    (void)sentence;
    (void)len;
    pcm_buf *b = ctx;
    size_t gap = (size_t)a->rate / 5; /* 200 ms between sentences */
    if (b->n + a->n + gap > b->cap) {
        size_t nc = (b->cap + a->n + gap) * 2;
        int16_t *np = realloc(b->pcm, nc * sizeof *np);
        if (!np) return -1;
        b->pcm = np;
        b->cap = nc;
    }
    if (b->n) {
        memset(b->pcm + b->n, 0, gap * sizeof *b->pcm);
        b->n += gap;
    }
    if (a->n) memcpy(b->pcm + b->n, a->samples, a->n * sizeof *a->samples);
    b->n += a->n;
    return 0;
}

int cmd_say(const axiom_config *cfg, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage_say(stdout);
        return 0;
    }
    const char *text = NULL, *out = NULL, *voice = NULL;
    int rate = 0;
    for (int i = 1; i < argc; i++) {
        int more = i + 1 < argc;
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && more)
            out = argv[++i];
        else if (strcmp(argv[i], "--voice") == 0 && more)
            voice = argv[++i];
        else if (strcmp(argv[i], "--rate") == 0 && more) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 8000 || v > 48000) {
                fprintf(stderr, "axiom say: --rate '%s': expected 8000 to 48000 (Hz)\n", argv[i]);
                return 2;
            }
            rate = (int)v;
        } else if (!text && argv[i][0] != '-')
            text = argv[i];
        else {
            fprintf(stderr, "axiom say: unexpected argument '%s'\n", argv[i]);
            usage_say(stderr);
            return 2;
        }
    }
    if (!text || !out) {
        usage_say(stderr);
        return 2;
    }
    if (rate == 0) rate = (int)config_int(cfg, "tts.sample_rate");
    char err[1024] = "";
    tts_engine *e = tts_engine_new(cfg, err, sizeof err);
    if (!e) {
        fprintf(stderr, "axiom say: %s\n", err);
        return 1;
    }
    pcm_buf b = {0};
    int rc = tts_speak(e, text, voice, rate, NULL, collect, &b, err, sizeof err);
    if (rc == 0 && !b.n) {
        snprintf(err, sizeof err, "the text has nothing to say (no words)");
        rc = -1;
    }
    if (rc == 0) rc = wav_write_file(out, b.pcm, b.n, rate, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "axiom say: %s\n", err);
    else if (strcmp(out, "-") != 0)
        fprintf(stderr, "axiom say: wrote %s (%.2f s at %d Hz)\n", out, (double)b.n / rate, rate);
    free(b.pcm);
    tts_engine_free(e);
    return rc == 0 ? 0 : 1;
}
