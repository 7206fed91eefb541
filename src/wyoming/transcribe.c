/* Speech to text: [transcribe] audio-start audio-chunk... audio-stop -> transcript.
 *
 * The audio between audio-start and audio-stop is one utterance (the client's voice
 * activity detection ends it, as Home Assistant's does). It is converted to 16 kHz
 * mono (audio_in.c) and fed to a recogniser stream as it arrives, on this
 * connection's thread, so the transcript is ready moments after audio-stop. The same
 * recogniser as the voice sessions: the pack's language model, the decoder pool, the
 * denoiser.
 *
 * Streaming (supports_transcript_streaming): transcript-start goes out at audio-start;
 * every 300 ms of audio the partial hypothesis is read, and the words it has settled
 * on (the same in two partials in a row, and not the last word, which may still grow)
 * go out as transcript-chunk, each chunk appending to the ones before ("go", " forward
 * ten"); words are first sent once the recogniser's restart from the voice's channel
 * (stt.restart_ms, 2 s into the utterance) has decoded them again. At audio-stop the rest of the
 * final text follows as a last chunk when the final text still begins with what was sent, then
 * transcript (the whole text, always authoritative) and transcript-stop.
 *
 * When every decoder is busy, audio is kept (bounded by server.max_utterance_s) and fed
 * once one comes free; at audio-stop the wait for one is at most STT_WAIT_MS. Audio
 * past server.max_utterance_s is dropped: the transcript covers the first part. */
#include "core/log.h"
#include "core/util.h"
#include "speech/stt.h"
#include "wyoming/audio_in.h"
#include "wyoming/wyoming_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTIAL_EVERY_SAMPLES 4800 /* 300 ms at 16 kHz */
#define STT_WAIT_MS 5000
#define TEXT_MAX 1024

struct wy_asr {
    int active;                /* between audio-start and audio-stop */
    int rate, width, channels; /* audio-start's format: a chunk without its own uses it */
    wy_audio_in *conv;
    stt_stream *stt;
    stt_channel channel; /* the speaker's normalisation, kept across this connection's utterances */
    int16_t *backlog;    /* audio kept while no decoder was free */
    size_t nbacklog, backlog_cap;
    size_t samples; /* kept or fed this utterance (16 kHz) */
    size_t partial_at;
    int dropped_logged;
    char prev_partial[TEXT_MAX];
    char sent[TEXT_MAX]; /* the transcript-chunk texts sent so far, joined */
    int diverged;        /* the recogniser revised a word already sent: no more chunks */
};

void wy_asr_free(wy_asr *a) {
    if (!a) return;
    stt_stream_cancel(a->stt);
    wy_audio_in_free(a->conv);
    free(a->backlog);
    free(a);
}

static void reset_utterance(wy_asr *a) {
    stt_stream_cancel(a->stt);
    a->stt = NULL;
    free(a->backlog);
    a->backlog = NULL;
    a->nbacklog = a->backlog_cap = 0;
    a->samples = a->partial_at = 0;
    a->prev_partial[0] = a->sent[0] = '\0';
    a->diverged = 0;
    a->active = 0;
    wy_audio_in_reset(a->conv);
}

static int keep(wy_asr *a, const int16_t *pcm, size_t n) {
    if (a->nbacklog + n > a->backlog_cap) {
        size_t nc = a->backlog_cap ? a->backlog_cap * 2 : 16000;
        while (nc < a->nbacklog + n)
            nc *= 2;
        int16_t *nb = realloc(a->backlog, nc * sizeof *nb);
        if (!nb) return -1;
        a->backlog = nb;
        a->backlog_cap = nc;
    }
    memcpy(a->backlog + a->nbacklog, pcm, n * sizeof *pcm);
    a->nbacklog += n;
    return 0;
}

/* Takes a decoder (waiting at most wait_ms) and feeds it what was kept. Returns 0, or
 * -1 with err when the recogniser failed (busy is not a failure: the audio is kept). */
static int try_begin(wyoming_server *srv, wy_asr *a, int wait_ms, char *err, size_t errlen) {
    if (a->stt) return 0;
    int status = 0;
    a->stt = stt_stream_begin(srv->engine->stt, wait_ms, &status, err, errlen);
    if (!a->stt) return status == STT_BUSY && wait_ms == 0 ? 0 : -1;
    stt_stream_use_channel(a->stt, &a->channel);
    int rc = 0;
    if (a->nbacklog) rc = stt_stream_feed(a->stt, a->backlog, a->nbacklog, err, errlen);
    free(a->backlog);
    a->backlog = NULL;
    a->nbacklog = a->backlog_cap = 0;
    return rc;
}

/* Word i (0-based) of text into w; returns 1 when there is one. */
static int word_at(const char *text, int i, char *w, size_t wlen) {
    const char *p = text;
    for (int k = 0;; k++) {
        while (*p == ' ')
            p++;
        if (!*p) return 0;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (k == i) {
            size_t n = (size_t)(e - p) < wlen - 1 ? (size_t)(e - p) : wlen - 1;
            memcpy(w, p, n);
            w[n] = '\0';
            return 1;
        }
        p = e;
    }
}

static int count_words(const char *text) {
    char w[TEXT_MAX];
    int n = 0;
    while (word_at(text, n, w, sizeof w))
        n++;
    return n;
}

/* Sends the words [from, to) of text as one appended transcript-chunk. */
static int send_words(wy_conn *c, wy_asr *a, const char *text, int from, int to) {
    char chunk[TEXT_MAX] = "", w[TEXT_MAX];
    size_t n = 0;
    for (int i = from; i < to && word_at(text, i, w, sizeof w); i++) {
        int k = snprintf(chunk + n, sizeof chunk - n, "%s%s", (n || a->sent[0]) ? " " : "", w);
        if (k < 0 || (size_t)k >= sizeof chunk - n) break;
        n += (size_t)k;
    }
    if (!n) return 0;
    size_t have = strlen(a->sent);
    if (have + n < sizeof a->sent)
        memcpy(a->sent + have, chunk, n + 1);
    else
        a->diverged = 1; /* too long to track: the final transcript speaks for the rest */
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", chunk);
    return wy_send(c, "transcript-chunk", d, NULL, 0);
}

/* The words sent so far are still the start of text. */
static int still_prefix(const wy_asr *a, const char *text) {
    char w1[TEXT_MAX], w2[TEXT_MAX];
    int n = count_words(a->sent);
    for (int i = 0; i < n; i++)
        if (!word_at(a->sent, i, w1, sizeof w1) || !word_at(text, i, w2, sizeof w2) ||
            strcmp(w1, w2) != 0)
            return 0;
    return 1;
}

/* Streams the words two partials in a row agree on, but never the last word. */
static int stream_partial(wy_conn *c, wy_asr *a) {
    char part[TEXT_MAX];
    if (stt_stream_partial(a->stt, part, sizeof part) != 0) return 0;
    int rc = 0;
    /* Before the restart from the voice's channel the first words are heard again and
     * may change ("go forward can" becomes "go forward ten"): none is sent until then. */
    if (!a->diverged && !stt_stream_may_revise(a->stt)) {
        if (!still_prefix(a, part)) {
            a->diverged = 1;
        } else {
            int nsent = count_words(a->sent), stable = 0, nwords = count_words(part);
            char w1[TEXT_MAX], w2[TEXT_MAX];
            while (stable < nwords - 1 && word_at(part, stable, w1, sizeof w1) &&
                   word_at(a->prev_partial, stable, w2, sizeof w2) && strcmp(w1, w2) == 0)
                stable++;
            if (stable > nsent) rc = send_words(c, a, part, nsent, stable);
        }
    }
    str_copy(a->prev_partial, sizeof a->prev_partial, part);
    return rc;
}

static int feed(wy_conn *c, wy_asr *a, const int16_t *pcm, size_t n) {
    wyoming_server *srv = c->srv;
    if (a->samples + n > srv->max_utt_samples) {
        if (!a->dropped_logged) {
            a->dropped_logged = 1;
            LOG_W("wyoming",
                  "connection %llu: utterance longer than server.max_utterance_s; the rest is not "
                  "transcribed",
                  (unsigned long long)c->id);
        }
        n = srv->max_utt_samples > a->samples ? srv->max_utt_samples - a->samples : 0;
    }
    if (!n) return 0;
    a->samples += n;
    char err[300] = "";
    if (!a->stt && try_begin(srv, a, 0, err, sizeof err) != 0) {
        reset_utterance(a);
        return wy_send_error(c, "stt_failed", "speech recognition failed: %s", err);
    }
    if (!a->stt) {
        if (keep(a, pcm, n) != 0) {
            reset_utterance(a);
            return wy_send_error(c, "stt_failed", "out of memory for audio");
        }
        return 0;
    }
    if (stt_stream_feed(a->stt, pcm, n, err, sizeof err) != 0) {
        reset_utterance(a);
        return wy_send_error(c, "stt_failed", "speech recognition failed: %s", err);
    }
    if (a->samples - a->partial_at >= PARTIAL_EVERY_SAMPLES) {
        a->partial_at = a->samples;
        return stream_partial(c, a);
    }
    return 0;
}

/* The format of an audio event: its own members, else audio-start's. */
static int event_format(wy_conn *c, wy_asr *a, const wy_event *ev, int *rate, int *width,
                        int *channels) {
    long long r = a->rate, w = a->width, ch = a->channels;
    wy_data_int(ev->data, "rate", &r);
    wy_data_int(ev->data, "width", &w);
    wy_data_int(ev->data, "channels", &ch);
    char err[200];
    if (!r || !w || !ch) {
        wy_send_error(c, "bad_request", "%s needs rate, width and channels (whole numbers)",
                      ev->type);
        return -1;
    }
    if (wy_audio_format_ok(r, w, ch, err, sizeof err) != 0) {
        wy_send_error(c, "bad_request", "%s: %s", ev->type, err);
        return -1;
    }
    *rate = (int)r;
    *width = (int)w;
    *channels = (int)ch;
    return 0;
}

static int on_audio_start(wy_conn *c, wy_asr *a, const wy_event *ev) {
    if (a->active) { /* a new stream replaces one never stopped */
        LOG_D("wyoming", "connection %llu: audio-start during audio: the earlier audio is dropped",
              (unsigned long long)c->id);
        reset_utterance(a);
    }
    a->rate = a->width = a->channels = 0;
    int rate, width, channels;
    if (event_format(c, a, ev, &rate, &width, &channels) != 0) return c->dead ? -1 : 0;
    if (!c->srv->engine->stt)
        return wy_send_error(
            c, "stt_unavailable",
            "speech recognition is not available on this AXIOM (see its log: stt.backend)");
    a->rate = rate;
    a->width = width;
    a->channels = channels;
    a->active = 1;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "language", WY_LANGUAGE);
    if (wy_send(c, "transcript-start", d, NULL, 0) != 0) return -1;
    /* Take a decoder now (this loads the recogniser on first use): the audio that
     * arrives meanwhile waits in the socket, none is lost. */
    char err[300] = "";
    if (try_begin(c->srv, a, 0, err, sizeof err) != 0) {
        reset_utterance(a);
        return wy_send_error(c, "stt_failed", "speech recognition failed: %s", err);
    }
    return 0;
}

static int on_audio_chunk(wy_conn *c, wy_asr *a, const wy_event *ev) {
    if (!a->active)
        return wy_send_error(c, "out_of_order",
                             "audio-chunk before audio-start: send audio-start first");
    int rate, width, channels;
    if (event_format(c, a, ev, &rate, &width, &channels) != 0) return c->dead ? -1 : 0;
    const int16_t *pcm;
    size_t n;
    char err[200];
    if (wy_audio_in_convert(a->conv, rate, width, channels, ev->payload, ev->payload_len, &pcm, &n,
                            err, sizeof err) != 0) {
        reset_utterance(a);
        return wy_send_error(c, "stt_failed", "audio: %s", err);
    }
    return feed(c, a, pcm, n);
}

/* Whatever the last partials left unsent, when the final text still starts with what
 * was sent; then transcript and transcript-stop. */
static int finish_stream(wy_conn *c, wy_asr *a, const char *text) {
    if (!a->diverged && still_prefix(a, text)) {
        int nsent = count_words(a->sent), n = count_words(text);
        if (n > nsent && send_words(c, a, text, nsent, n) != 0) return -1;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", text);
    cJSON_AddStringToObject(d, "language", WY_LANGUAGE);
    if (wy_send(c, "transcript", d, NULL, 0) != 0) return -1;
    return wy_send(c, "transcript-stop", NULL, NULL, 0);
}

static int on_audio_stop(wy_conn *c, wy_asr *a) {
    if (!a->active) return wy_send_error(c, "out_of_order", "audio-stop without audio-start");
    const int16_t *pcm;
    size_t n;
    char err[300] = "";
    if (wy_audio_in_flush(a->conv, &pcm, &n, err, sizeof err) == 0 && n && feed(c, a, pcm, n) != 0)
        return -1;
    if (!a->active) return 0; /* feeding failed and said so */
    if (!a->stt && try_begin(c->srv, a, STT_WAIT_MS, err, sizeof err) != 0) {
        reset_utterance(a);
        return wy_send_error(c, strstr(err, "busy") ? "busy" : "stt_failed",
                             "speech recognition failed: %s", err);
    }
    stt_result r;
    memset(&r, 0, sizeof r);
    int rc = stt_stream_finish(a->stt, &r, err, sizeof err); /* frees the stream either way */
    a->stt = NULL;
    if (rc != 0) {
        stt_result_clear(&r);
        reset_utterance(a);
        return wy_send_error(c, "stt_failed", "speech recognition failed: %s", err);
    }
    LOG_D("wyoming", "connection %llu: transcript \"%s\" (%lld ms of audio, final in %.1f ms)",
          (unsigned long long)c->id, r.text ? r.text : "", (long long)r.audio_ms,
          (double)r.finish_us / 1000.0);
    rc = finish_stream(c, a, r.text ? r.text : "");
    stt_result_clear(&r);
    reset_utterance(a);
    return rc;
}

int wy_asr_event(wy_conn *c, const wy_event *ev) {
    if (!c->asr) {
        c->asr = calloc(1, sizeof *c->asr);
        if (c->asr) c->asr->conv = wy_audio_in_new();
        if (!c->asr || !c->asr->conv) {
            wy_asr_free(c->asr);
            c->asr = NULL;
            return wy_send_error(c, "stt_failed", "out of memory");
        }
    }
    wy_asr *a = c->asr;
    const char *t = ev->type;
    if (strcmp(t, "transcribe") == 0) {
        /* The model and language are AXIOM's own: the only ones info lists. */
        const char *lang = wy_data_str(ev->data, "language", NULL);
        if (lang && strncmp(lang, WY_LANGUAGE, 2) != 0)
            LOG_I("wyoming",
                  "connection %llu: transcribe asked for language '%.20s'; AXIOM hears English",
                  (unsigned long long)c->id, lang);
        return 0;
    }
    if (strcmp(t, "audio-start") == 0) return on_audio_start(c, a, ev);
    if (strcmp(t, "audio-chunk") == 0) return on_audio_chunk(c, a, ev);
    return on_audio_stop(c, a);
}
