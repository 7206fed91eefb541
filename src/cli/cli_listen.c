/* axiom listen: one voice session fed from a recording or a pipe, as a robot's
 * microphone would feed it, through the public voice API (axiom_voice_*). Every event
 * comes out as one JSON line named as the WebSocket protocol names it, so a script
 * (or a person) sees the turn as the session runs it: speech start and end, the
 * transcript, the answer, its audio (summarised: samples and milliseconds, never
 * the samples) and ready_to_listen. */
#include "axiom.h"
#include "cli/cli.h"
#include "speech/wav.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTEN_MAX_S (4.0 * 3600) /* longer recordings: split them first */
#define LISTEN_CHUNK_MS 20        /* a microphone's usual block */
/* After the input ends: the slowest answer (LLM deadline 15 s by default, then
 * synthesis) fits well inside this; past it the session is reported stuck. */
#define LISTEN_WAIT_MS 300000
/* The session drops blocks fed more than 2 s ahead of it; a file waits for it
 * instead, but not for ever. */

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: axiom listen FILE.wav|- [--rate HZ] [--partials] [--timings]\n"
        "  Streams a recording (any WAV) or, with -, raw 16-bit little-endian mono PCM from stdin\n"
        "  (e.g. arecord -f S16_LE -r 16000 -c 1 | axiom listen -) through a voice session and\n"
        "  prints each event as one JSON line: {\"event\":\"speech_start\"}, \"speech_end\",\n"
        "  \"transcript\", \"speaking\" (the answer: text, intent, path, confidence), \"audio\"\n"
        "  (samples, sample_rate, ms), ..., \"ready_to_listen\", named as on the WebSocket.\n"
        "  At the end of the input, speech in progress is answered.\n"
        "  --rate HZ     sample rate of the raw PCM on stdin (8000..48000, default 16000)\n"
        "  --partials    also the transcript so far while the user speaks\n"
        "  --timings     a timings event after each answer\n");
}

typedef struct {
    int answers, errors;
} listen_state;

static void add_str(cJSON *o, const char *key, const char *v) {
    if (v) cJSON_AddStringToObject(o, key, v);
}

/* One line per event, written whole: stdout is the program's output, and events of
 * one session never arrive two at a time. */
static void on_event(void *user, const axiom_event *ev) {
    listen_state *st = user;
    cJSON *o = cJSON_CreateObject();
    if (!o) return;
    cJSON_AddStringToObject(o, "event", axiom_event_name((int)ev->type));
    if (ev->turn) cJSON_AddNumberToObject(o, "turn", (double)ev->turn);
    switch (ev->type) {
    case AXIOM_EVENT_SPEECH_END:
        cJSON_AddNumberToObject(o, "end_ms", (double)ev->end_ms);
        cJSON_AddNumberToObject(o, "pause_ms", (double)ev->pause_ms);
        add_str(o, "endpoint", ev->endpoint);
        break;
    case AXIOM_EVENT_CARD:
        cJSON_AddNumberToObject(o, "card_index", ev->card_index);
        add_str(o, "card_keyword", ev->card_keyword);
        add_str(o, "card_product", ev->card_product);
        break;
    case AXIOM_EVENT_MODEL_3D:
        add_str(o, "model_path", ev->model_path);
        add_str(o, "model_name", ev->model_name);
        break;
    case AXIOM_EVENT_ANSWER:
        st->answers++;
        add_str(o, "text", ev->text);
        add_str(o, "intent", ev->intent);
        add_str(o, "path", ev->path);
        cJSON_AddNumberToObject(o, "confidence",
                                (double)(int)(ev->confidence * 10000 + 0.5) / 10000);
        add_str(o, "heard", ev->heard);
        if (ev->llm_failure && *ev->llm_failure) add_str(o, "llm_failure", ev->llm_failure);
        break;
    case AXIOM_EVENT_AUDIO:
        cJSON_AddNumberToObject(o, "samples", (double)ev->samples);
        cJSON_AddNumberToObject(o, "sample_rate", ev->sample_rate);
        cJSON_AddNumberToObject(o, "ms", ev->audio_ms);
        if (ev->wav) cJSON_AddNumberToObject(o, "wav_bytes", (double)ev->wav_bytes);
        break;
    case AXIOM_EVENT_TIMINGS:
        cJSON_AddNumberToObject(o, "stt_ms", ev->stt_ms);
        cJSON_AddNumberToObject(o, "brain_ms", ev->brain_ms);
        cJSON_AddNumberToObject(o, "tts_ms", ev->tts_ms);
        cJSON_AddNumberToObject(o, "first_audio_ms", ev->first_audio_ms);
        add_str(o, "path", ev->path);
        break;
    case AXIOM_EVENT_ERROR:
        st->errors++;
        add_str(o, "code", ev->code);
        add_str(o, "text", ev->text);
        break;
    default: /* speech_start, partial, transcript, thinking, barge_in, idle, ready */
        if (ev->text && (*ev->text || ev->type == AXIOM_EVENT_TRANSCRIPT))
            add_str(o, "text", ev->text);
        break;
    }
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        printf("%s\n", line);
        fflush(stdout);
    }
    free(line);
    cJSON_Delete(o);
}

/* Feeds one block; the session was told to wait rather than drop ("feed" = "wait"),
 * so a recording or a pipe is never cut. Returns 0 or -1. */
static int feed(axiom_voice *v, const int16_t *pcm, size_t n, int rate) {
    return axiom_voice_feed(v, pcm, n, rate) == 0 ? 0 : -1;
}

static int stream_wav(axiom_voice *v, const char *path, char *err, size_t errlen) {
    wav_reader *r = wav_reader_open(path, 16000, LISTEN_MAX_S, err, errlen);
    if (!r) return -1;
    int16_t block[16000 * LISTEN_CHUNK_MS / 1000];
    long n;
    int rc = 0;
    while ((n = wav_reader_read(r, block, sizeof block / sizeof block[0], err, errlen)) > 0) {
        if (feed(v, block, (size_t)n, 16000) != 0) {
            snprintf(err, errlen, "%s: the voice session refused audio", path);
            rc = -1;
            break;
        }
    }
    if (n < 0) rc = -1;
    wav_reader_free(r);
    return rc;
}

/* Raw s16le from stdin in blocks of LISTEN_CHUNK_MS, read little-endian whatever
 * this machine is; an odd last byte is dropped. */
static int stream_raw(axiom_voice *v, int rate, char *err, size_t errlen) {
    enum { MAX_BLOCK = 48000 * LISTEN_CHUNK_MS / 1000 };
    unsigned char bytes[MAX_BLOCK * 2];
    int16_t block[MAX_BLOCK];
    const size_t want = (size_t)rate * LISTEN_CHUNK_MS / 1000 * 2;
    size_t have = 0;
    for (;;) {
        size_t got = fread(bytes + have, 1, want - have, stdin);
        have += got;
        int end = got == 0; /* end of input or a read error */
        if (have < want && !end) continue;
        size_t n = have / 2;
        for (size_t i = 0; i < n; i++)
            block[i] = (int16_t)(uint16_t)(bytes[2 * i] | (unsigned)bytes[2 * i + 1] << 8);
        if (n && feed(v, block, n, rate) != 0) {
            snprintf(err, errlen, "stdin: the voice session refused audio");
            return -1;
        }
        have = 0;
        if (end) break;
    }
    if (ferror(stdin)) {
        snprintf(err, errlen, "stdin: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int cmd_listen(const axiom_config *cfg, int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *path = NULL;
    int rate = 16000, partials = 0, timings = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (*end || r < 8000 || r > 48000) {
                fprintf(stderr,
                        "axiom listen: --rate '%s': expected a sample rate from 8000 to 48000\n",
                        argv[i]);
                return 2;
            }
            rate = (int)r;
        } else if (strcmp(argv[i], "--partials") == 0) {
            partials = 1;
        } else if (strcmp(argv[i], "--timings") == 0) {
            timings = 1;
        } else if (!path && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
            path = argv[i];
        } else {
            fprintf(stderr, "axiom listen: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    char err[1024] = "";
    axiom_engine *e = axiom_engine_new(cfg, err, sizeof err);
    if (!e) {
        fprintf(stderr, "axiom listen: %s\n", err);
        return 1;
    }
    listen_state st = {0};
    axiom_voice *v = axiom_voice_new(e, on_event, &st, err, sizeof err);
    int rc = v ? axiom_voice_set(v, "feed", "wait", err, sizeof err) : -1;
    if (v && rc == 0 && partials) rc = axiom_voice_set(v, "partials", "true", err, sizeof err);
    if (v && rc == 0 && timings) rc = axiom_voice_set(v, "timings", "true", err, sizeof err);
    if (rc == 0)
        rc = strcmp(path, "-") == 0 ? stream_raw(v, rate, err, sizeof err)
                                    : stream_wav(v, path, err, sizeof err);
    if (v) {
        /* What was heard so far is answered even when reading stopped early. */
        axiom_voice_end_input(v);
        if (axiom_voice_wait(v, LISTEN_WAIT_MS) != 0) {
            fprintf(stderr, "axiom listen: no end of the turn after %d s\n", LISTEN_WAIT_MS / 1000);
            rc = -1;
        }
        axiom_voice_free(v);
    }
    if (rc != 0 && err[0]) fprintf(stderr, "axiom listen: %s\n", err);
    axiom_engine_free(e);
    return rc == 0 ? 0 : 1;
}
