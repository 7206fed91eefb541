/* Text to speech.
 *
 *   synthesize {text, voice}  -> audio-start, audio-chunk..., audio-stop
 *   synthesize-start {voice}, synthesize-chunk {text}..., [synthesize], synthesize-stop
 *                             -> per sentence: audio-start, audio-chunk..., audio-stop;
 *                                then synthesize-stopped
 *
 * Sentence by sentence with the engine's synthesiser (tts_synth, the splitter of
 * tts_sentence_next), so the first sentence plays while the rest is made. In a stream
 * a sentence is spoken as soon as the text after it has begun (its full stop is
 * followed by a space or a newline: "3." might still become "3.5"); the rest at
 * synthesize-stop. The plain synthesize a streaming client also sends, for clients
 * that do not stream, is ignored during a stream, as the reference says.
 * Audio is mono s16 little-endian at tts.sample_rate, in chunks of CHUNK_SAMPLES. */
#include "core/log.h"
#include "core/util.h"
#include "speech/tts.h"
#include "wyoming/wyoming_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SAMPLES 1024

struct wy_tts {
    int streaming;  /* between synthesize-start and synthesize-stop */
    int ssml;       /* the stream's text_format is "ssml": each sentence's tags are dropped */
    char voice[64]; /* "" = the configured voice */
    char *text;     /* streamed text not spoken yet */
    size_t len, cap;
};

void wy_tts_free(wy_tts *t) {
    if (!t) return;
    free(t->text);
    free(t);
}

/* SSML is not spoken as markup: its tags are dropped, the words kept. */
static void strip_tags(char *s) {
    char *w = s;
    int in_tag = 0;
    for (char *r = s; *r; r++) {
        if (*r == '<')
            in_tag = 1;
        else if (*r == '>' && in_tag)
            in_tag = 0;
        else if (!in_tag)
            *w++ = *r;
    }
    *w = '\0';
}

static cJSON *format_json(int rate, long long timestamp_ms) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "rate", rate);
    cJSON_AddNumberToObject(d, "width", 2);
    cJSON_AddNumberToObject(d, "channels", 1);
    cJSON_AddNumberToObject(d, "timestamp", (double)timestamp_ms);
    return d;
}

typedef struct {
    int started;       /* audio-start sent */
    long long samples; /* sent since it */
} audio_out;

static int out_start(wy_conn *c, audio_out *o) {
    if (o->started) return 0;
    o->started = 1;
    o->samples = 0;
    return wy_send(c, "audio-start", format_json(c->srv->out_rate, 0), NULL, 0);
}

static int out_stop(wy_conn *c, audio_out *o) {
    if (out_start(c, o) != 0) return -1;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "timestamp", (double)(o->samples * 1000 / c->srv->out_rate));
    o->started = 0;
    return wy_send(c, "audio-stop", d, NULL, 0);
}

/* Synthesises one sentence and sends its audio in chunks. Returns 0, 1 when it failed
 * and an error event was sent (the connection goes on), -1 to close. */
static int speak(wy_conn *c, const char *voice, const char *text, size_t len, int ssml,
                 audio_out *o) {
    wyoming_server *srv = c->srv;
    char *sentence = strndup(text, len);
    if (!sentence) return wy_send_error(c, "tts_failed", "out of memory") ? -1 : 1;
    if (ssml) strip_tags(sentence);
    tts_audio a;
    char err[300] = "";
    int rc = tts_synth(srv->engine->tts, sentence, *voice ? voice : NULL, srv->out_rate, &c->cancel,
                       &a, err, sizeof err);
    free(sentence);
    if (rc == 1) return -1; /* cancelled: the server is stopping */
    if (rc != 0) {
        /* Close the audio begun, so a client waiting for audio-stop is not left hanging. */
        int stop = o->started ? out_stop(c, o) : 0;
        if (stop != 0 || wy_send_error(c, "tts_failed", "speech synthesis failed: %s", err) != 0)
            return -1;
        return 1;
    }
    if (out_start(c, o) != 0) {
        tts_audio_clear(&a);
        return -1;
    }
    unsigned char buf[CHUNK_SAMPLES * 2];
    int fail = 0;
    for (size_t i = 0; i < a.n && !fail; i += CHUNK_SAMPLES) {
        size_t n = a.n - i < CHUNK_SAMPLES ? a.n - i : CHUNK_SAMPLES;
        for (size_t k = 0; k < n; k++) { /* little-endian on the wire, whatever the host */
            uint16_t v = (uint16_t)a.samples[i + k];
            buf[2 * k] = (unsigned char)(v & 0xff);
            buf[2 * k + 1] = (unsigned char)(v >> 8);
        }
        fail =
            wy_send(c, "audio-chunk", format_json(srv->out_rate, o->samples * 1000 / srv->out_rate),
                    buf, n * 2) != 0;
        o->samples += (long long)n;
    }
    tts_audio_clear(&a);
    return fail ? -1 : 0;
}

static int check_tts(wy_conn *c) {
    if (c->srv->engine->tts) return 0;
    wy_send_error(c, "tts_unavailable",
                  "speech synthesis is off on this AXIOM (tts.backend = none)");
    return -1;
}

/* synthesize {text}: one audio stream for the whole text. */
static int on_synthesize(wy_conn *c, const wy_event *ev) {
    const char *text = wy_data_str(ev->data, "text", NULL);
    if (!text) return wy_send_error(c, "bad_request", "synthesize needs \"text\" (a string)");
    if (check_tts(c) != 0) return c->dead ? -1 : 0;
    char voice[64], err[200];
    if (wy_voice_pick(c->srv, ev->data, voice, sizeof voice, err, sizeof err) != 0)
        return wy_send_error(c, "bad_request", "synthesize: %s", err);
    char *copy = strdup(text);
    if (!copy) return wy_send_error(c, "tts_failed", "out of memory");
    if (strcmp(wy_data_str(ev->data, "text_format", "text"), "ssml") == 0) strip_tags(copy);
    audio_out o = {0};
    size_t pos = 0, start, len;
    int rc = 0;
    while (rc == 0 && tts_sentence_next(copy, &pos, &start, &len))
        rc = speak(c, voice, copy + start, len, 0, &o);
    free(copy);
    if (rc != 0) return rc < 0 ? -1 : 0;
    return out_stop(c, &o);
}

/* Speaks the complete sentences of the streamed text (all of it when final), each as
 * its own audio stream, and keeps the unfinished rest. */
static int speak_ready(wy_conn *c, wy_tts *t, int final) {
    if (!t->text) return 0;
    size_t pos = 0, start, len, done = 0;
    int rc = 0;
    while (rc == 0 && tts_sentence_next(t->text, &pos, &start, &len)) {
        if (!final && start + len >= t->len) break; /* nothing after it yet: it may go on */
        audio_out o = {0};
        rc = speak(c, t->voice, t->text + start, len, t->ssml, &o);
        if (rc == 0) rc = out_stop(c, &o);
        done = start + len;
    }
    if (final) done = t->len;
    memmove(t->text, t->text + done, t->len - done + 1);
    t->len -= done;
    return rc < 0 ? -1 : 0;
}

int wy_tts_event(wy_conn *c, const wy_event *ev) {
    if (!c->tts && !(c->tts = calloc(1, sizeof *c->tts)))
        return wy_send_error(c, "tts_failed", "out of memory");
    wy_tts *t = c->tts;
    const char *type = ev->type;
    if (strcmp(type, "synthesize") == 0) {
        if (t->streaming) return 0; /* the stream's copy for older clients: spoken already */
        return on_synthesize(c, ev);
    }
    if (strcmp(type, "synthesize-start") == 0) {
        if (check_tts(c) != 0) return c->dead ? -1 : 0;
        char err[200];
        if (wy_voice_pick(c->srv, ev->data, t->voice, sizeof t->voice, err, sizeof err) != 0)
            return wy_send_error(c, "bad_request", "synthesize-start: %s", err);
        t->streaming = 1;
        t->ssml = strcmp(wy_data_str(ev->data, "text_format", "text"), "ssml") == 0;
        t->len = 0;
        if (t->text) t->text[0] = '\0';
        return 0;
    }
    if (!t->streaming)
        return wy_send_error(c, "out_of_order",
                             "%s without synthesize-start: send synthesize-start first", type);
    if (strcmp(type, "synthesize-chunk") == 0) {
        const char *text = wy_data_str(ev->data, "text", NULL);
        if (!text)
            return wy_send_error(c, "bad_request", "synthesize-chunk needs \"text\" (a string)");
        size_t n = strlen(text), max = c->srv->lim.max_json_bytes;
        if (t->len + n > max) {
            t->streaming = 0;
            return wy_send_error(
                c, "too_big",
                "more than %zu bytes of streamed text without the end of a sentence "
                "(wyoming.max_json_bytes); the stream is dropped",
                max);
        }
        if (t->len + n + 1 > t->cap) {
            size_t nc = t->len + n + 1 > 1024 ? t->len + n + 1 : 1024;
            char *nt = realloc(t->text, nc);
            if (!nt) return wy_send_error(c, "tts_failed", "out of memory");
            t->text = nt;
            t->cap = nc;
        }
        memcpy(t->text + t->len, text, n + 1);
        t->len += n;
        return speak_ready(c, t, 0);
    }
    /* synthesize-stop: the rest, then synthesize-stopped. */
    t->streaming = 0;
    if (speak_ready(c, t, 1) != 0) return -1;
    return wy_send(c, "synthesize-stopped", NULL, NULL, 0);
}
