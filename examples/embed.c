/* AXIOM inside another program: a spoken question in, events and the spoken answer
 * out, through nothing but axiom.h.
 *
 *   build/examples/embed question.wav [answer.wav]
 *
 * Reads a 16-bit mono WAV (any rate: the session resamples), feeds it in 20 ms blocks
 * as a microphone would, prints each event and writes the answer's audio. The data
 * folder is $AXIOM_DATA, else the default pack. */
#include "axiom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int16_t *pcm; /* the last answer's audio, grown by the callback (owned) */
    size_t n, cap;
    int rate;
    uint64_t turn; /* the answer it belongs to */
} answer_audio;

static unsigned le(const unsigned char *p, int bytes) {
    unsigned v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The samples of a PCM 16-bit mono RIFF/WAV (caller frees), or NULL. */
static int16_t *read_wav(const char *path, size_t *n, int *rate) {
    FILE *f = fopen(path, "rb");
    unsigned char h[8], fmt[16] = {0};
    int16_t *pcm = NULL;
    if (!f || fread(h, 1, 8, f) != 8 || memcmp(h, "RIFF", 4) || fread(h, 1, 4, f) != 4 ||
        memcmp(h, "WAVE", 4))
        goto out;
    while (fread(h, 1, 8, f) == 8) { /* chunks: "fmt " then "data", others skipped */
        unsigned size = le(h + 4, 4);
        if (!memcmp(h, "fmt ", 4) && size >= 16) {
            if (fread(fmt, 1, 16, f) != 16 || fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR))
                goto out;
        } else if (!memcmp(h, "data", 4)) {
            if (le(fmt, 2) != 1 || le(fmt + 2, 2) != 1 || le(fmt + 14, 2) != 16 ||
                size > (256u << 20)) {
                fprintf(stderr, "%s: not 16-bit mono PCM\n", path);
                goto out;
            }
            unsigned char *raw = malloc(size);
            *n = raw ? fread(raw, 1, size, f) / 2 : 0;
            pcm = raw ? malloc(*n * sizeof *pcm + 1) : NULL;
            for (size_t i = 0; pcm && i < *n; i++)
                pcm[i] = (int16_t)le(raw + 2 * i, 2);
            *rate = (int)le(fmt + 4, 4);
            free(raw);
            goto out;
        } else if (fseek(f, (long)(size + (size & 1)), SEEK_CUR)) {
            goto out;
        }
    }
out:
    if (f) fclose(f);
    return pcm;
}

static const char *or_empty(const char *s) {
    return s ? s : "";
}

/* Events come one at a time on a library thread: print, keep the audio, return. */
static void on_event(void *user, const axiom_event *ev) {
    answer_audio *a = user;
    printf("%-15s turn %llu", axiom_event_name(ev->type), (unsigned long long)ev->turn);
    if (ev->text && *ev->text) printf("  \"%s\"", ev->text);
    if (ev->type == AXIOM_EVENT_ANSWER)
        printf("  intent %s (%.2f), path %s", or_empty(ev->intent), ev->confidence,
               or_empty(ev->path));
    if (ev->type == AXIOM_EVENT_ERROR) printf("  code %s", or_empty(ev->code));
    if (ev->type == AXIOM_EVENT_SPEECH_END)
        printf("  at %lld ms, pause %lld ms", ev->end_ms, ev->pause_ms);
    if (ev->type == AXIOM_EVENT_CARD)
        printf("  card %d (%s)", ev->card_index, or_empty(ev->card_product));
    if (ev->type == AXIOM_EVENT_BARGE_IN && ev->turn == a->turn)
        a->n = 0; /* stopped: never played */
    if (ev->type == AXIOM_EVENT_AUDIO) {
        printf("  %zu samples at %d Hz, %d ms", ev->samples, ev->sample_rate, ev->audio_ms);
        if (ev->turn != a->turn) a->n = 0, a->turn = ev->turn; /* a newer answer */
        if (a->n + ev->samples > a->cap) {
            size_t cap = (a->n + ev->samples) * 2;
            int16_t *p = realloc(a->pcm, cap * sizeof *p);
            if (!p) return;
            a->pcm = p, a->cap = cap;
        }
        memcpy(a->pcm + a->n, ev->pcm, ev->samples * sizeof *ev->pcm);
        a->n += ev->samples, a->rate = ev->sample_rate;
    }
    putchar('\n');
}

static int write_wav(const char *path, const answer_audio *a) {
    unsigned char h[44];
    unsigned bytes = (unsigned)(a->n * 2), fields[][2] = {{4, 36 + bytes},
                                                          {16, 16},
                                                          {20, 1 | 1 << 16},
                                                          {24, (unsigned)a->rate},
                                                          {28, (unsigned)a->rate * 2},
                                                          {32, 2 | 16 << 16},
                                                          {40, bytes}};
    memcpy(h, "RIFF....WAVEfmt ....................data....", 44);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        for (int b = 0; b < 4; b++)
            h[fields[i][0] + b] = (unsigned char)(fields[i][1] >> (8 * b));
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(h, 1, 44, f) == 44;
    for (size_t i = 0; ok && i < a->n; i++) /* little-endian on any machine */
        ok = fputc(a->pcm[i] & 0xff, f) != EOF && fputc((a->pcm[i] >> 8) & 0xff, f) != EOF;
    return (f && fclose(f) == 0 && ok) ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: %s question.wav [answer.wav]\n", argv[0]), 2;
    const char *out = argc > 2 ? argv[2] : "answer.wav", *data = getenv("AXIOM_DATA");
    size_t n = 0;
    int rate = 0, rc = 1;
    int16_t *pcm = read_wav(argv[1], &n, &rate);
    if (!pcm) return fprintf(stderr, "%s: cannot read a 16-bit mono WAV\n", argv[1]), 1;
    char err[512] = "";
    answer_audio answer = {0};
    axiom_config *cfg = axiom_config_new();
    axiom_engine *engine = NULL;
    axiom_voice *voice = NULL;
    if (!cfg || (data && axiom_config_set(cfg, "data", data, err, sizeof err) != 0) ||
        !(engine = axiom_engine_new(cfg, err, sizeof err)) ||
        !(voice = axiom_voice_new(engine, on_event, &answer, err, sizeof err)) ||
        /* A file, not a microphone: wait for the session rather than drop audio. */
        axiom_voice_set(voice, "feed", "wait", err, sizeof err) != 0)
        goto done;
    size_t block = (size_t)rate / 50; /* 20 ms */
    if (!block) {
        snprintf(err, sizeof err, "%s: %d Hz is not a sample rate", argv[1], rate);
        goto done;
    }
    for (size_t at = 0; at < n; at += block) {
        size_t len = n - at < block ? n - at : block;
        if (axiom_voice_feed(voice, pcm + at, len, rate) != 0) {
            snprintf(err, sizeof err, "%d Hz is not a rate the session takes", rate);
            goto done;
        }
    }
    axiom_voice_end_input(voice);
    if (axiom_voice_wait(voice, 120000) != 0) {
        snprintf(err, sizeof err, "no answer after 120 s");
        goto done;
    }
    axiom_voice_free(voice); /* no callback after this: the audio is ours to write */
    voice = NULL;
    rc = answer.n && write_wav(out, &answer) == 0 ? 0 : 1;
    if (rc == 0)
        printf("wrote %s: %zu samples at %d Hz\n", out, answer.n, answer.rate);
    else
        snprintf(err, sizeof err, answer.n ? "cannot write %s" : "no answer audio for %s", out);
done:
    if (*err) fprintf(stderr, "embed: %s\n", err);
    if (voice) axiom_voice_free(voice);
    axiom_engine_free(engine);
    axiom_config_free(cfg);
    free(answer.pcm);
    free(pcm);
    return rc;
}
