/* The voice session (include/axiom.h, axiom_voice_*): the public calls, the delivery
 * of events, the scheduling of turns and the one cancel path.
 *
 * Audio: axiom_voice_feed resamples to 16 kHz and queues (bounded: 2 s); one audio
 * job at a time per session drains the queue through voice_listen.c on the audio
 * pool, in arrival order.
 * Turns: one at a time per session on the turn pool; a newer question waits in a
 * one-slot mailbox (newest wins). A typed question, a client's cancel or a barge-in
 * raises the cancel flag of the running answer, which the brain, the LLM and
 * synthesis all read, and purges its later events.
 *
 * Lifetime: the owner holds one reference and every queued or running job another;
 * axiom_voice_free closes the session (no event after it returns) and drops the
 * owner's; the last reference frees. */
#include "core/log.h"
#include "core/util.h"
#include "speech/wav.h"
#include "voice/voice_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PENDING_SAMPLES (2 * 16000) /* 2 s behind real time at most */
#define MAX_TEXT_BYTES 2000
#define FEED_BLOCK                                                                                 \
    512 /* resampler input per step: 8 KB of stack at most (network threads have small stacks) */

static _Atomic uint64_t next_voice_id;

static const char *const event_names[] = {
    [AXIOM_EVENT_SPEECH_START] = "speech_start",
    [AXIOM_EVENT_SPEECH_END] = "speech_end",
    [AXIOM_EVENT_PARTIAL] = "partial",
    [AXIOM_EVENT_TRANSCRIPT] = "transcript",
    [AXIOM_EVENT_THINKING] = "thinking",
    [AXIOM_EVENT_CARD] = "trigger_card",
    [AXIOM_EVENT_MODEL_3D] = "load_3d_model",
    [AXIOM_EVENT_ANSWER] = "speaking",
    [AXIOM_EVENT_AUDIO] = "audio",
    [AXIOM_EVENT_BARGE_IN] = "barge_in",
    [AXIOM_EVENT_TIMINGS] = "timings",
    [AXIOM_EVENT_ERROR] = "error",
    [AXIOM_EVENT_IDLE] = "idle",
    [AXIOM_EVENT_READY] = "ready_to_listen",
};

const char *axiom_event_name(int type) {
    if (type <= 0 || type >= (int)(sizeof event_names / sizeof event_names[0]) ||
        !event_names[type])
        return "unknown";
    return event_names[type];
}

/* ---- events ---- */

void voice_emit(axiom_voice *v, const axiom_event *ev) {
    pthread_mutex_lock(&v->emit_mu);
    int stale =
        ev->type != AXIOM_EVENT_BARGE_IN && ev->turn && ev->turn <= atomic_load(&v->purged_turn);
    if (!v->closed && !stale) v->on_event(v->user, ev);
    pthread_mutex_unlock(&v->emit_mu);
}

void voice_emit_simple(axiom_voice *v, axiom_event_type type, uint64_t turn) {
    axiom_event ev = {.type = type, .turn = turn};
    voice_emit(v, &ev);
}

void voice_emit_error(axiom_voice *v, const char *code, const char *message, uint64_t turn) {
    axiom_event ev = {.type = AXIOM_EVENT_ERROR, .turn = turn, .code = code, .text = message};
    voice_emit(v, &ev);
}

void voice_fail_turn(axiom_voice *v, uint64_t turn, const char *code, const char *message) {
    LOG_W("voice", "session %llu: %s: %s", (unsigned long long)v->id, code, message);
    voice_observe(v->hub, VOICE_STAT_ERROR, 1, NULL);
    voice_emit_error(v, code, message, turn);
    axiom_event idle = {.type = AXIOM_EVENT_IDLE, .turn = turn, .text = message};
    voice_emit(v, &idle);
    voice_emit_simple(v, AXIOM_EVENT_READY, turn);
}

/* ---- lifetime ---- */

void voice_unref(axiom_voice *v) {
    pthread_mutex_lock(&v->mu);
    int left = --v->refs;
    pthread_mutex_unlock(&v->mu);
    if (left > 0) return;
    voice_listen_free(v);
    for (voice_chunk *c = v->in_head; c;) {
        voice_chunk *n = c->next;
        free(c);
        c = n;
    }
    turn_input_free(v->pending);
    if (v->brain) brain_session_free(v->brain);
    if (v->src) src_delete(v->src);
    pthread_mutex_destroy(&v->feed_mu);
    pthread_cond_destroy(&v->idle_cv);
    pthread_mutex_destroy(&v->mu);
    pthread_mutex_destroy(&v->emit_mu);
    free(v);
}

axiom_voice *axiom_voice_new(axiom_engine *e, axiom_event_fn on_event, void *user, char *err,
                             size_t errlen) {
    if (!e || !on_event) {
        snprintf(err, errlen, "axiom_voice_new: an engine and an event callback are required");
        return NULL;
    }
    voice_hub *h = voice_hub_get(e, err, errlen);
    if (!h) return NULL;
    axiom_voice *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory for a voice session");
        return NULL;
    }
    v->engine = e;
    v->hub = h;
    v->cfg = e->cfg;
    v->on_event = on_event;
    v->user = user;
    v->id = atomic_fetch_add(&next_voice_id, 1) + 1;
    v->refs = 1;
    v->out_rate = (int)config_int(e->cfg, "tts.sample_rate");
    pthread_mutex_init(&v->emit_mu, NULL);
    pthread_mutex_init(&v->mu, NULL);
    pthread_mutex_init(&v->feed_mu, NULL);
    pthread_cond_init(&v->idle_cv, NULL);
    atomic_init(&v->cancel, 0);
    atomic_init(&v->purged_turn, 0);
    atomic_init(&v->play_end_ms, 0);
    if (e->brain) {
        v->brain = brain_session_new(e->brain);
        if (!v->brain) {
            snprintf(err, errlen, "out of memory for a voice session");
            voice_unref(v);
            return NULL;
        }
    }
    if (voice_listen_new(v, err, errlen) != 0) {
        voice_unref(v);
        return NULL;
    }
    /* The user has not spoken yet: load what the first turn needs meanwhile. */
    if (h->warm_up) warmup_request(h->warm);
    return v;
}

void axiom_voice_free(axiom_voice *v) {
    if (!v) return;
    atomic_store(&v->cancel, 1);
    /* Taking emit_mu waits for an event being delivered; after this none is. */
    pthread_mutex_lock(&v->emit_mu);
    pthread_mutex_lock(&v->mu);
    v->closed = 1;
    turn_input_free(v->pending);
    v->pending = NULL;
    pthread_cond_broadcast(&v->idle_cv); /* a feeder waiting for room gives up */
    pthread_mutex_unlock(&v->mu);
    pthread_mutex_unlock(&v->emit_mu);
    voice_unref(v);
}

static int is_closed(axiom_voice *v) {
    pthread_mutex_lock(&v->mu);
    int c = v->closed;
    pthread_mutex_unlock(&v->mu);
    return c;
}

/* ---- options ---- */

static int parse_bool(const char *s, int *out) {
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0 ||
        strcmp(s, "on") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0 ||
             strcmp(s, "off") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int axiom_voice_set(axiom_voice *v, const char *key, const char *value, char *err, size_t errlen) {
    if (!v || !key || !value) {
        snprintf(err, errlen, "axiom_voice_set: session, key and value are required");
        return -1;
    }
    int b = 0;
    if (strcmp(key, "output_rate") == 0) {
        char *end = NULL;
        long r = strtol(value, &end, 10);
        if (!*value || *end || r < 8000 || r > 48000) {
            snprintf(err, errlen, "output_rate must be a number from 8000 to 48000; kept %d",
                     v->out_rate);
            return -1;
        }
        pthread_mutex_lock(&v->mu);
        v->out_rate = (int)r;
        pthread_mutex_unlock(&v->mu);
    } else if (strcmp(key, "output_format") == 0) {
        if (strcmp(value, "wav") != 0 && strcmp(value, "pcm") != 0) {
            snprintf(err, errlen, "output_format must be \"wav\" or \"pcm\"; kept %s",
                     v->out_pcm ? "pcm" : "wav");
            return -1;
        }
        pthread_mutex_lock(&v->mu);
        v->out_pcm = value[0] == 'p';
        pthread_mutex_unlock(&v->mu);
    } else if (strcmp(key, "partials") == 0 || strcmp(key, "timings") == 0) {
        if (parse_bool(value, &b) != 0) {
            snprintf(err, errlen, "%s must be true or false", key);
            return -1;
        }
        pthread_mutex_lock(&v->mu);
        if (key[0] == 'p')
            v->partials = b;
        else
            v->timings = b;
        pthread_mutex_unlock(&v->mu);
    } else if (strcmp(key, "feed") == 0) {
        if (strcmp(value, "live") != 0 && strcmp(value, "wait") != 0) {
            snprintf(err, errlen,
                     "feed must be \"live\" (drop audio when 2 s behind) or \"wait\" (block)");
            return -1;
        }
        pthread_mutex_lock(&v->mu);
        v->feed_wait = value[0] == 'w';
        pthread_mutex_unlock(&v->mu);
    } else if (strcmp(key, "client_id") == 0) {
        if (!brain_client_id_valid(value)) {
            snprintf(err, errlen,
                     "client_id must be 8 to 36 letters, digits, '-' or '_'; the history stays "
                     "with this session");
            return -1;
        }
        pthread_mutex_lock(&v->mu);
        str_copy(v->client_id, sizeof v->client_id, value);
        v->client_id_new = 1;
        pthread_mutex_unlock(&v->mu);
    } else {
        snprintf(err, errlen,
                 "unknown voice option \"%.60s\" (known: output_rate, output_format, partials, "
                 "timings, client_id, feed)",
                 key);
        return -1;
    }
    return 0;
}

/* ---- audio in ---- */

/* Queues 16 kHz samples and makes sure an audio job will take them. Caller holds mu. */
static int queue_locked(axiom_voice *v, const int16_t *pcm, size_t n) {
    /* A file or pipe waits for the audio job to catch up; a live source must not. */
    while (v->feed_wait && !v->closed && v->in_samples && v->in_samples + n > MAX_PENDING_SAMPLES)
        pthread_cond_wait(&v->idle_cv, &v->mu);
    if (v->in_samples + n > MAX_PENDING_SAMPLES) {
        voice_observe(v->hub, VOICE_STAT_SHED, 1, NULL);
        return 1;
    }
    voice_chunk *c = malloc(sizeof *c + n * sizeof *pcm);
    if (!c) return -1;
    c->next = NULL;
    c->n = n;
    memcpy(c->pcm, pcm, n * sizeof *pcm);
    if (v->in_tail)
        v->in_tail->next = c;
    else
        v->in_head = c;
    v->in_tail = c;
    v->in_samples += n;
    return 0;
}

/* Starts the audio job unless one is queued or running. Caller holds mu; returns 1
 * when a job must be submitted (after unlocking). */
static int want_job_locked(axiom_voice *v) {
    if (v->audio_job) return 0;
    v->audio_job = 1;
    v->refs++;
    return 1;
}

static void submit_audio_job(axiom_voice *v) {
    if (worker_pool_submit(v->hub->audio_pool, voice_audio_job, v) == 0) return;
    /* The pool is full: shed what is queued, not the session. */
    pthread_mutex_lock(&v->mu);
    v->audio_job = 0;
    for (voice_chunk *c = v->in_head; c;) {
        voice_chunk *n = c->next;
        free(c);
        c = n;
    }
    v->in_head = v->in_tail = NULL;
    v->in_samples = 0;
    pthread_cond_broadcast(&v->idle_cv);
    pthread_mutex_unlock(&v->mu);
    voice_observe(v->hub, VOICE_STAT_SHED, 1, NULL);
    voice_unref(v);
}

static int queue_pcm16k(axiom_voice *v, const int16_t *pcm, size_t n) {
    pthread_mutex_lock(&v->mu);
    if (v->closed) {
        pthread_mutex_unlock(&v->mu);
        return -1;
    }
    int rc = queue_locked(v, pcm, n);
    int submit = rc == 0 && want_job_locked(v);
    pthread_mutex_unlock(&v->mu);
    if (submit) submit_audio_job(v);
    return rc;
}

int axiom_voice_feed(axiom_voice *v, const int16_t *pcm, size_t n, int rate) {
    if (!v || (n && !pcm) || rate < 8000 || rate > 48000) return -1;
    if (n == 0) return 0;
    if (rate == 16000) return queue_pcm16k(v, pcm, n);
    /* Resampled in blocks; the converter keeps its state between calls, so a stream
     * fed in 20 ms pieces is converted as one. */
    pthread_mutex_lock(&v->feed_mu);
    if (!v->src || v->src_rate != rate) {
        if (v->src) src_delete(v->src);
        int e = 0;
        v->src = src_new(SRC_SINC_FASTEST, 1, &e);
        v->src_rate = rate;
        if (!v->src) {
            pthread_mutex_unlock(&v->feed_mu);
            return -1;
        }
    }
    float in[FEED_BLOCK], out[FEED_BLOCK * 2 + 16]; /* 8 kHz input doubles */
    int16_t o16[FEED_BLOCK * 2 + 16];
    int rc = 0;
    for (size_t off = 0; off < n && rc >= 0;) {
        size_t k = n - off < FEED_BLOCK ? n - off : FEED_BLOCK;
        for (size_t i = 0; i < k; i++)
            in[i] = pcm[off + i] / 32768.0f;
        SRC_DATA d = {.data_in = in,
                      .data_out = out,
                      .input_frames = (long)k,
                      .output_frames = (long)(sizeof out / sizeof out[0]),
                      .src_ratio = 16000.0 / rate};
        if (src_process(v->src, &d) != 0) {
            rc = -1;
            break;
        }
        for (long i = 0; i < d.output_frames_gen; i++) {
            float s = out[i] * 32768.0f;
            o16[i] = (int16_t)(s > 32767.0f ? 32767 : s < -32768.0f ? -32768 : s);
        }
        if (d.output_frames_gen > 0) {
            int q = queue_pcm16k(v, o16, (size_t)d.output_frames_gen);
            if (q != 0) rc = q;
        }
        off += (size_t)(d.input_frames_used > 0 ? d.input_frames_used : (long)k);
    }
    pthread_mutex_unlock(&v->feed_mu);
    return rc;
}

void axiom_voice_end_input(axiom_voice *v) {
    if (!v) return;
    pthread_mutex_lock(&v->mu);
    if (v->closed) {
        pthread_mutex_unlock(&v->mu);
        return;
    }
    v->end_input = 1;
    int submit = want_job_locked(v);
    pthread_mutex_unlock(&v->mu);
    if (submit) submit_audio_job(v);
}

/* ---- turns ---- */

void turn_input_free(turn_input *in) {
    if (!in) return;
    free(in->text);
    free(in->audio);
    stt_result_clear(in->heard);
    free(in->heard);
    free(in);
}

int voice_answer_active(axiom_voice *v) {
    pthread_mutex_lock(&v->mu);
    int running = v->turn_running;
    pthread_mutex_unlock(&v->mu);
    return running || atomic_load(&v->play_end_ms) > now_ms();
}

int voice_cancel_answer(axiom_voice *v, const char *why) {
    if (!voice_answer_active(v)) return 0;
    pthread_mutex_lock(&v->mu);
    uint64_t seq = v->turn_seq;
    pthread_mutex_unlock(&v->mu);
    atomic_store(&v->cancel, 1);
    atomic_store(&v->play_end_ms, now_ms()); /* the client stops playback on barge_in */
    LOG_D("voice", "session %llu: answer %llu cancelled: %s", (unsigned long long)v->id,
          (unsigned long long)seq, why);
    uint64_t cur = atomic_load(&v->purged_turn);
    while (seq > cur && !atomic_compare_exchange_weak(&v->purged_turn, &cur, seq)) {
    }
    /* Every event of answers up to seq was delivered before this one or is dropped;
     * the barge-in names seq so a transport can drop what it still holds of them. */
    voice_emit_simple(v, AXIOM_EVENT_BARGE_IN, seq);
    voice_observe(v->hub, VOICE_STAT_BARGE_IN, 1, NULL);
    return 1;
}

typedef struct {
    axiom_voice *v;
    turn_input *in;
    uint64_t seq;
} turn_job;

static void turn_main(void *arg) {
    turn_job *j = arg;
    axiom_voice *v = j->v;
    for (;;) {
        if (!is_closed(v) && !atomic_load(&v->cancel)) voice_answer_run(v, j->seq, j->in);
        turn_input_free(j->in);
        j->in = NULL;
        pthread_mutex_lock(&v->mu);
        if (!v->pending || v->closed) {
            v->turn_running = 0;
            pthread_cond_broadcast(&v->idle_cv);
            pthread_mutex_unlock(&v->mu);
            break;
        }
        j->in = v->pending;
        v->pending = NULL;
        j->seq = ++v->turn_seq;
        atomic_store(&v->cancel, 0);
        pthread_mutex_unlock(&v->mu);
    }
    free(j);
    voice_unref(v);
}

void voice_submit(axiom_voice *v, turn_input *in) {
    /* A typed question during an answer interrupts it, as speech would. */
    if (!in->spoken) voice_cancel_answer(v, "a typed question");
    turn_job *j = voice_fault_hit(VOICE_FAULT_ALLOC) ? NULL : calloc(1, sizeof *j);
    if (!j) {
        turn_input_free(in);
        voice_fail_turn(v, 0, "out_of_memory",
                        "out of memory: the question was not answered; try again");
        return;
    }
    axiom_event th = {.type = AXIOM_EVENT_THINKING, .text = in->spoken && in->text ? in->text : ""};
    voice_emit(v, &th);
    pthread_mutex_lock(&v->mu);
    if (v->closed) {
        pthread_mutex_unlock(&v->mu);
        turn_input_free(in);
        free(j);
        return;
    }
    if (v->turn_running) {
        /* One answer at a time per session; the newest request waits. */
        turn_input_free(v->pending);
        v->pending = in;
        pthread_mutex_unlock(&v->mu);
        free(j);
        return;
    }
    v->turn_running = 1;
    v->refs++;
    j->v = v;
    j->in = in;
    j->seq = ++v->turn_seq;
    atomic_store(&v->cancel, 0);
    pthread_mutex_unlock(&v->mu);
    if (worker_pool_submit(v->hub->turn_pool, turn_main, j) != 0) {
        voice_observe(v->hub, VOICE_STAT_SHED, 1, NULL);
        pthread_mutex_lock(&v->mu);
        v->turn_running = 0;
        pthread_cond_broadcast(&v->idle_cv);
        pthread_mutex_unlock(&v->mu);
        voice_fail_turn(v, j->seq, "busy", "server busy: too many answers queued; try again");
        turn_input_free(j->in);
        free(j);
        voice_unref(v);
    }
}

int axiom_voice_text(axiom_voice *v, const char *text, char *err, size_t errlen) {
    if (!v || !text || !*text) {
        snprintf(err, errlen, "\"text\" must be a non-empty string");
        return -1;
    }
    if (strlen(text) > MAX_TEXT_BYTES) {
        snprintf(err, errlen, "\"text\" is longer than %d bytes", MAX_TEXT_BYTES);
        return -1;
    }
    if (is_closed(v)) {
        snprintf(err, errlen, "the voice session is closed");
        return -1;
    }
    turn_input *in = calloc(1, sizeof *in);
    if (in) in->text = strdup(text);
    if (!in || !in->text || voice_fault_hit(VOICE_FAULT_ALLOC)) {
        /* The question was taken; it fails through the turn's one exit (events). */
        turn_input_free(in);
        voice_fail_turn(v, 0, "out_of_memory",
                        "out of memory: the question was not answered; try again");
        return 0;
    }
    in->t0_us = now_us();
    voice_submit(v, in);
    return 0;
}

int axiom_voice_cancel(axiom_voice *v) {
    if (!v) return 0;
    int had = voice_cancel_answer(v, "cancelled by the client");
    /* A question waiting behind the answer goes too. */
    pthread_mutex_lock(&v->mu);
    turn_input_free(v->pending);
    v->pending = NULL;
    pthread_mutex_unlock(&v->mu);
    return had;
}

int axiom_voice_wait(axiom_voice *v, int timeout_ms) {
    if (!v) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (timeout_ms >= 0) {
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&v->mu);
    while (v->audio_job || v->in_head || v->turn_running || v->pending) {
        if (timeout_ms < 0)
            pthread_cond_wait(&v->idle_cv, &v->mu);
        else if (pthread_cond_timedwait(&v->idle_cv, &v->mu, &ts) != 0) {
            rc = v->audio_job || v->in_head || v->turn_running || v->pending;
            break;
        }
    }
    pthread_mutex_unlock(&v->mu);
    return rc;
}
