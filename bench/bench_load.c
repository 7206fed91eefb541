/* axiom bench load: N concurrent voice clients against a real `axiom serve`.
 *
 * The server runs as a child process (its RSS and CPU are read from /proc/<pid>, apart
 * from the clients'). Each client streams 16 kHz audio continuously at real-time pace
 * (32 ms frames; silence between turns) and speaks one in-domain question every
 * period, staggered so turns spread evenly. Questions are the pack's own template
 * questions, synthesised once with `axiom say` in a voice other than the default.
 *
 * Per N it prints: turn latency (last speech sample sent -> first answer audio byte
 * received) p50/p95 over every answer and over template answers alone, turns answered, frames sent
 * late (client side) and audio shed (server side, /metrics), error events, server peak RSS and CPU;
 * then the idle memory per connected session, the capacity (largest N within the bounds) and what
 * happens past server.max_sessions.
 *
 * Before that, the first turn after start: a fresh server that loads lazily (the
 * default), one client that says hello, keeps its microphone open (silence) for
 * 1.5 s and asks; then another question, then the first one again (warm). Repeated
 * on BENCH_LOAD_FIRST_RUNS fresh servers (default 5; 0 skips).
 * After the levels, barge-in against the assistant's own voice: the answer's audio
 * played back into the input at -10 dB relative to the user's speech (a loudspeaker
 * heard by the microphone while nobody talks) must not barge in; a real question
 * at the user's level over an answer must.
 *
 * Environment: BENCH_LOAD_LEVELS (default "1,10,50,100"), BENCH_LOAD_SECONDS (default
 * 120 for N >= 100, 60 otherwise, 40 for N = 1), BENCH_LOAD_PERIOD (default 30 s;
 * 5 s for N = 1). */
#include "../tests/support/ws_client.h"
#include "core/util.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_Q 8
#define MAX_LAT 4096

typedef struct {
    int16_t *pcm;
    size_t n;
    size_t last_voiced; /* index after the last sample above the speech threshold */
    char text[200];
} question;

static question questions[MAX_Q];
static int nquestions;

typedef struct {
    int port, id, nclients;
    int seconds, period_s;
    /* results */
    double lat_ms[64];
    char lat_path[64][16]; /* the answer's path, per latency */
    int nlat;
    int asked, answered, late_frames, frames, errors, refused, disconnected;
    char refuse_reason[128];
    char paths[64][16];
} client_ctx;

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p) {
    if (n == 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void *client_main(void *arg) {
    client_ctx *c = arg;
    char err[512];
    int st;
    ws_client *ws = ws_client_connect(c->port, "/ws", NULL, 10000, &st, err, sizeof err);
    if (!ws) {
        c->refused = 1;
        snprintf(c->refuse_reason, sizeof c->refuse_reason, "HTTP %d %.100s", st, err);
        return NULL;
    }
    ws_client_send_text(ws, "{\"event\":\"hello\",\"timings\":true}");
    const int64_t frame_us = 32000;
    int64_t start = wsc_now_us();
    int64_t end = start + (int64_t)c->seconds * 1000000;
    /* Stagger: client i starts its first question at i/N of a period (+0.5 s). */
    int64_t next_q = start + 500000 + (int64_t)c->period_s * 1000000 * c->id / c->nclients;
    const question *q = NULL;
    size_t qpos = 0;
    int waiting = 0;
    int64_t t_last_speech = 0;
    int16_t silence[512] = {0};
    unsigned char buf[1024];
    int64_t k = 0;
    int qi = c->id % (nquestions ? nquestions : 1);
    while (wsc_now_us() < end || q || waiting) {
        int64_t due = start + k * frame_us;
        /* Receive until the frame is due. */
        for (;;) {
            int64_t now = wsc_now_us();
            if (now >= due) {
                if (now - due > frame_us) c->late_frames++;
                break;
            }
            ws_msg m;
            int r = ws_client_recv(ws, (int)((due - now + 999) / 1000), &m);
            if (r < 0) {
                c->disconnected = 1;
                snprintf(c->refuse_reason, sizeof c->refuse_reason, "closed %d %.100s",
                         ws_client_close_code(ws), ws_client_close_reason(ws));
                goto out;
            }
            if (r == 0) continue;
            if (m.opcode == WSC_BINARY && waiting) {
                if (c->nlat < 64) {
                    snprintf(c->lat_path[c->nlat], sizeof c->lat_path[0], "%s",
                             c->answered < 64 ? c->paths[c->answered] : "");
                    c->lat_ms[c->nlat++] = (double)(wsc_now_us() - t_last_speech) / 1000.0;
                }
                c->answered++;
                waiting = 0;
            } else if (m.opcode == WSC_TEXT) {
                if (strstr((char *)m.data, "\"error\"")) c->errors++;
                if (strstr((char *)m.data, "\"speaking\"") && c->answered < 64) {
                    cJSON *o = cJSON_Parse((char *)m.data);
                    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
                    snprintf(c->paths[c->answered], sizeof c->paths[0], "%s", p ? p : "?");
                    cJSON_Delete(o);
                }
                if (strstr((char *)m.data, "ready_to_listen") && waiting) {
                    waiting = 0; /* answered without audio (nothing heard, or an error) */
                }
            }
        }
        if (waiting && wsc_now_us() - t_last_speech > 15000000) waiting = 0; /* unanswered */
        if (!q && !waiting && nquestions && wsc_now_us() >= next_q && wsc_now_us() < end) {
            q = &questions[qi];
            qi = (qi + 1) % nquestions;
            qpos = 0;
            c->asked++;
            next_q += (int64_t)c->period_s * 1000000;
        }
        const int16_t *src = silence;
        size_t cnt = 512;
        if (q) {
            src = q->pcm + qpos;
            cnt = q->n - qpos < 512 ? q->n - qpos : 512;
            size_t before = qpos;
            qpos += cnt;
            if (before < q->last_voiced && qpos >= q->last_voiced) {
                t_last_speech = wsc_now_us();
                waiting = 1;
            }
            if (qpos >= q->n) q = NULL;
        }
        for (size_t i = 0; i < cnt; i++) {
            buf[2 * i] = (unsigned char)(src[i] & 0xff);
            buf[2 * i + 1] = (unsigned char)((uint16_t)src[i] >> 8);
        }
        if (ws_client_send_binary(ws, buf, cnt * 2) != 0) {
            c->disconnected = 1;
            break;
        }
        c->frames++;
        k++;
        if (!q && !waiting && wsc_now_us() >= end) break;
    }
out:
    ws_client_close(ws, 1000);
    ws_client_free(ws);
    return NULL;
}

/* ---- the server process ---- */
static pid_t server_pid;
static int server_port_;

static int start_server(int max_sessions, int preload) {
    const char *bin = getenv("AXIOM_BIN");
    char binbuf[4096];
    if (!bin || !*bin) {
        snprintf(binbuf, sizeof binbuf, "%s/build/axiom", axiom_root_dir());
        bin = binbuf;
    }
    /* A port someone else holds right now: the next one (the server exits at once). */
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = 20000 + (int)((getpid() + attempt * 997) % 20000);
        char portbuf[16], ms[48];
        snprintf(portbuf, sizeof portbuf, "%d", port);
        snprintf(ms, sizeof ms, "server.max_sessions=%d", max_sessions);
        pid_t pid = fork();
        if (pid == 0) {
            /* Preloaded (the levels): components load before listening (within the
             * memory budget), so the first turn measures answering, not loading.
             * Lazy (the first-turn runs): without the answer-audio cache too, so asking
             * the same question again is synthesised again, as the first time. */
            if (preload)
                execl(bin, bin, "serve", "--port", portbuf, "--set", ms, "--set",
                      "mem.preload=true", "--log-level", "warn", (char *)NULL);
            else
                execl(bin, bin, "serve", "--port", portbuf, "--set", ms, "--set",
                      "mem.preload=false", "--set", "server.audio_cache_mb=0", "--log-level",
                      "warn", (char *)NULL);
            _exit(127);
        }
        if (pid < 0) return -1;
        char body[256];
        int exited = 0;
        for (int i = 0; i < 100 && !exited; i++) {
            usleep(100000);
            if (http_request(port, "GET", "/health", NULL, NULL, body, sizeof body) == 200) {
                server_pid = pid;
                server_port_ = port;
                return 0;
            }
            exited = waitpid(pid, NULL, WNOHANG) == pid;
        }
        if (!exited) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
            return -1;
        }
    }
    return -1;
}

static void stop_server(void) {
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    server_pid = 0;
}

static long server_rss_kb(void) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)server_pid);
    FILE *f = fopen(p, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static double server_cpu_s(void) {
    char p[64], buf[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)server_pid);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    if (!rp) return -1;
    unsigned long ut = 0, stt = 0;
    /* fields after the command: state(3) ... utime(14) stime(15) */
    sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt);
    return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

static long metric(const char *name) {
    static char body[1 << 17];
    if (http_request(server_port_, "GET", "/metrics", NULL, NULL, body, sizeof body) != 200)
        return -1;
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(body, key);
    return p ? atol(p + strlen(key)) : -1;
}

/* ---- speech ---- */
static int load_questions(void) {
    char path[4200], cache[4096];
    snprintf(path, sizeof path, "%s/data/templates.json", axiom_root_dir());
    char err[512];
    char *text = file_read_all(path, 64 << 20, NULL, err, sizeof err);
    cJSON *arr = text ? cJSON_Parse(text) : NULL;
    free(text);
    const char *tmp = getenv("TMPDIR");
    snprintf(cache, sizeof cache, "%s/axiom-bench-load", tmp && *tmp ? tmp : "/tmp");
    mkdir(cache, 0700);
    const char *bin = getenv("AXIOM_BIN");
    int n = cJSON_GetArraySize(arr);
    for (int i = 0; i < n && nquestions < MAX_Q; i += n / MAX_Q + 1) {
        const char *q =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), "question"));
        if (!q || strchr(q, '\'') || strlen(q) > 90) continue;
        int words = 1;
        for (const char *p = q; *p; p++)
            words += *p == ' ';
        if (words < 5 || words > 11) continue; /* 2-3 s of speech */
        char wav[4400], cmd[9000];
        snprintf(wav, sizeof wav, "%s/q%d.wav", cache, nquestions);
        snprintf(cmd, sizeof cmd, "'%s' say '%s' -o '%s' --voice awb --rate 16000 >/dev/null 2>&1",
                 bin ? bin : "axiom", q, wav);
        if (system(cmd) != 0) continue;
        question *qq = &questions[nquestions];
        long ns = wav_load_16k(wav, &qq->pcm, err, sizeof err);
        if (ns <= 0) continue;
        qq->n = (size_t)ns;
        qq->last_voiced = 0;
        for (size_t k = 0; k < qq->n; k++)
            if (abs(qq->pcm[k]) > 600) qq->last_voiced = k + 1;
        snprintf(qq->text, sizeof qq->text, "%s", q);
        nquestions++;
    }
    cJSON_Delete(arr);
    return nquestions;
}

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

/* ---- one conversation, step by step (first turn, barge-in) ---- */

typedef struct {
    ws_client *ws;
    int ready, barge_ins, answers;
    char path[16];
    int64_t first_audio_us; /* first answer audio since conv_mark */
    int16_t *played;        /* answer audio received (16 kHz WAV, asked in hello) */
    size_t nplayed, cap;
} conv;

static void conv_msg(void *user, const ws_msg *m) {
    conv *c = user;
    if (m->opcode == WSC_BINARY) {
        if (!c->first_audio_us) c->first_audio_us = wsc_now_us();
        wav_message_append((const unsigned char *)m->data, m->len, &c->played, &c->nplayed,
                           &c->cap);
        return;
    }
    const char *t = (const char *)m->data;
    if (strstr(t, "\"ready_to_listen\"")) c->ready++;
    if (strstr(t, "\"barge_in\"")) c->barge_ins++;
    if (strstr(t, "\"speaking\"")) {
        cJSON *o = cJSON_Parse(t);
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
        snprintf(c->path, sizeof c->path, "%s", p ? p : "?");
        c->answers++;
        cJSON_Delete(o);
    }
}

static int conv_open(conv *c, int port) {
    memset(c, 0, sizeof *c);
    char err[256];
    int st;
    c->ws = ws_client_connect(port, "/ws", NULL, 10000, &st, err, sizeof err);
    if (!c->ws) return -1;
    ws_client_send_text(c->ws,
                        "{\"event\":\"hello\",\"sample_rate\":16000,\"audio_format\":\"wav\"}");
    return 0;
}

static void conv_close(conv *c) {
    if (c->ws) ws_client_close(c->ws, 1000);
    ws_client_free(c->ws);
    free(c->played);
    memset(c, 0, sizeof *c);
}

/* Silence at real-time pace (the microphone stays open) until ms have passed, or
 * until answer audio (stop_on_audio) or another ready_to_listen arrived. */
static void conv_quiet(conv *c, int ms, int stop_on_audio) {
    static const int16_t quiet[512 * 3];
    int64_t end = wsc_now_us() + (int64_t)ms * 1000;
    int ready0 = c->ready;
    while (wsc_now_us() < end) {
        if (stop_on_audio && (c->first_audio_us || c->ready != ready0)) return;
        if (ws_client_stream(c->ws, quiet, sizeof quiet / sizeof quiet[0], conv_msg, c, NULL) != 0)
            return;
    }
}

/* Asks q in real time; returns last speech sample sent -> first answer audio (ms),
 * or -1 when no audio came. Returns once the answer has finished playing. */
static double conv_ask(conv *c, const question *q) {
    size_t upto = (q->last_voiced + 511) / 512 * 512; /* through the frame holding it */
    if (upto > q->n) upto = q->n;
    c->first_audio_us = 0;
    c->nplayed = 0;
    c->path[0] = '\0';
    int ready0 = c->ready;
    if (ws_client_stream(c->ws, q->pcm, upto, conv_msg, c, NULL) != 0) return -1;
    int64_t t_last = wsc_now_us();
    ws_client_stream(c->ws, q->pcm + upto, q->n - upto, conv_msg, c, NULL);
    conv_quiet(c, 15000, 1);
    double lat = c->first_audio_us ? (double)(c->first_audio_us - t_last) / 1000.0 : -1;
    for (int i = 0; i < 600 && c->ready == ready0; i++)
        conv_quiet(c, 100, 0);
    return lat;
}

static double level_db(const int16_t *x, size_t n) {
    size_t nf = n / 160;
    double mx = 0, sum = 0;
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t f = 0; f < nf; f++) {
            double p = 0;
            for (size_t i = 0; i < 160; i++)
                p += (double)x[f * 160 + i] * x[f * 160 + i];
            p /= 160;
            if (pass == 0 && p > mx) mx = p;
            if (pass == 1 && p >= mx / 100) sum += p, k++;
        }
    return k ? 10 * log10(sum / k) : -100;
}

static void first_turn(void) {
    int runs = env_int("BENCH_LOAD_FIRST_RUNS", 5);
    double first[16], warm[64];
    int nf = 0, nw = 0, tf = 0, tw = 0;
    for (int r = 0; r < runs && r < 16; r++) {
        if (start_server(10, 0) != 0) {
            printf("first turn: cannot start `axiom serve`\n");
            return;
        }
        conv c;
        if (conv_open(&c, server_port_) == 0) {
            conv_quiet(&c, 1500, 0); /* the page is open; the user is about to speak */
            /* The first question, another one, then the first again: the same words
             * warm, so the comparison is about the server, not the question. */
            const question *seq[3] = {&questions[r % nquestions], &questions[(r + 1) % nquestions],
                                      &questions[r % nquestions]};
            for (int t = 0; t < 3; t++) {
                double lat = conv_ask(&c, seq[t]);
                int tpl = strcmp(c.path, "template") == 0;
                if (lat < 0) continue;
                if (t == 0)
                    first[nf++] = lat, tf += tpl;
                else if (t == 2 && nw < 64)
                    warm[nw++] = lat, tw += tpl;
            }
        }
        conv_close(&c);
        stop_server();
    }
    if (!nf || !nw) {
        printf("first turn: no answers measured\n");
        return;
    }
    double f50 = pct(first, nf, 50), w50 = pct(warm, nw, 50);
    printf("first turn after start (lazy loading; warm-up when the session opens; 1.5 s of "
           "open microphone before the question; no answer-audio cache): %d fresh servers, first "
           "turn p50 %.0f ms "
           "(max %.0f; %d template); the same question asked again later in the session, "
           "warm: p50 %.0f ms (max %.0f; %d template): first / warm = %.2f (target <= 1.2)\n",
           nf, f50, pct(first, nf, 100), tf, w50, pct(warm, nw, 100), tw, f50 / w50);
}

/* The answer's audio back into the input at gain, in real time, until the answer has
 * ended and all of it was played (a loudspeaker the microphone hears). */
static void play_back(conv *c, int ready0, double gain) {
    size_t off = 0;
    int16_t frame[512];
    int64_t start = wsc_now_us();
    for (int k = 0; (c->ready == ready0 || off < c->nplayed) && k < 60 * 1000 / 32; k++) {
        int64_t due = start + (int64_t)k * 32000;
        while (wsc_now_us() < due) {
            ws_msg m;
            int r = ws_client_recv(c->ws, (int)((due - wsc_now_us()) / 1000) + 1, &m);
            if (r < 0) return;
            if (r == 1) conv_msg(c, &m);
        }
        for (int i = 0; i < 512; i++) {
            double v = off < c->nplayed ? c->played[off++] * gain : 0;
            frame[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        if (ws_client_send_binary(c->ws, frame, sizeof frame) != 0) return;
    }
}

static void own_voice_barge_in(void) {
    conv c;
    if (nquestions < 2 || conv_open(&c, server_port_) != 0) return;
    conv_quiet(&c, 500, 0);
    conv_ask(&c, &questions[0]); /* the server hears how loud this user speaks */
    int runs = 0, false_bi = 0;
    for (int i = 1; i < nquestions; i++) {
        const question *q = &questions[i];
        int ready0 = c.ready, bi0 = c.barge_ins;
        c.first_audio_us = 0;
        c.nplayed = 0;
        ws_client_stream(c.ws, q->pcm, q->n, conv_msg, &c, NULL);
        conv_quiet(&c, 15000, 1);
        if (!c.nplayed) continue;
        double gain = pow(10, (level_db(q->pcm, q->n) - 10 - level_db(c.played, c.nplayed)) / 20);
        play_back(&c, ready0, gain);
        runs++;
        false_bi += c.barge_ins - bi0;
    }
    int ctl = 0, ctl_bi = 0;
    for (int i = 0; i + 1 < nquestions && ctl < 3; i += 2) {
        int ready0 = c.ready;
        c.first_audio_us = 0;
        c.nplayed = 0;
        ws_client_stream(c.ws, questions[i].pcm, questions[i].n, conv_msg, &c, NULL);
        conv_quiet(&c, 15000, 1);
        if (!c.nplayed || c.ready != ready0) continue;
        int bi0 = c.barge_ins;
        ws_client_stream(c.ws, questions[i + 1].pcm, questions[i + 1].n, conv_msg, &c, NULL);
        conv_quiet(&c, 1000, 0);
        ctl++;
        ctl_bi += c.barge_ins > bi0;
        for (int k = 0; k < 300 && c.ready < ready0 + 1; k++)
            conv_quiet(&c, 100, 0);
        conv_quiet(&c, 300, 0);
    }
    printf("barge-in from the assistant's own voice (answer audio played back into the input "
           "at -10 dB relative to the user's speech, nobody talking): %d barge-ins in %d "
           "answers (target 0); a real question at the user's level over an answer: %d of %d "
           "barged in\n",
           false_bi, runs, ctl_bi, ctl);
    conv_close(&c);
}

typedef struct {
    int n, ok;
    double p50, p95;
} level_result;

static level_result run_level(int n) {
    level_result lr = {n, 0, NAN, NAN};
    int seconds = env_int("BENCH_LOAD_SECONDS", n >= 100 ? 120 : n == 1 ? 40 : 60);
    int period = env_int("BENCH_LOAD_PERIOD", n == 1 ? 5 : 30);
    client_ctx *cs = calloc((size_t)n, sizeof *cs);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (!cs || !th) {
        free(cs);
        free(th);
        return lr;
    }
    long shed0 = metric("axiom_work_shed_total");
    long err0 = metric("axiom_turn_errors_total");
    double cpu0 = server_cpu_s();
    int64_t t0 = wsc_now_us();
    long peak_rss = server_rss_kb();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (int i = 0; i < n; i++) {
        cs[i] = (client_ctx){
            .port = server_port_, .id = i, .nclients = n, .seconds = seconds, .period_s = period};
        pthread_create(&th[i], &attr, client_main, &cs[i]);
    }
    pthread_attr_destroy(&attr);
    /* Sample the server while the clients run. */
    char *joined = calloc((size_t)n, 1);
    for (int left = n; left > 0 && joined;) {
        for (int i = 0; i < n; i++)
            if (!joined[i] && pthread_tryjoin_np(th[i], NULL) == 0) joined[i] = 1, left--;
        long r = server_rss_kb();
        if (r > peak_rss) peak_rss = r;
        if (left > 0) usleep(250000);
    }
    for (int i = 0; i < n; i++)
        if (!joined || !joined[i]) pthread_join(th[i], NULL);
    free(joined);
    double wall = (double)(wsc_now_us() - t0) / 1e6;
    double cpu = server_cpu_s() - cpu0;
    double *lat = malloc(sizeof *lat * (size_t)n * 64 + 1);
    double *tlat = malloc(sizeof *tlat * (size_t)n * 64 + 1);
    int ntl = 0;
    int nl = 0, asked = 0, answered = 0, late = 0, frames = 0, errors = 0, refused = 0, disc = 0;
    int ntemplate = 0, npaths = 0;
    const char *reason = "";
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < cs[i].nlat; k++) {
            lat[nl++] = cs[i].lat_ms[k];
            if (strcmp(cs[i].lat_path[k], "template") == 0) tlat[ntl++] = cs[i].lat_ms[k];
        }
        asked += cs[i].asked;
        answered += cs[i].answered;
        late += cs[i].late_frames;
        frames += cs[i].frames;
        errors += cs[i].errors;
        refused += cs[i].refused;
        disc += cs[i].disconnected;
        if (cs[i].refuse_reason[0]) reason = cs[i].refuse_reason;
        for (int k = 0; k < cs[i].answered && k < 64; k++) {
            npaths++;
            ntemplate += strcmp(cs[i].paths[k], "template") == 0;
        }
    }
    long shed = metric("axiom_work_shed_total") - shed0;
    long errs = metric("axiom_turn_errors_total") - err0;
    lr.p50 = pct(lat, nl, 50);
    lr.p95 = pct(lat, nl, 95);
    printf("N=%-3d %3ds  turns %d/%d answered (%d template)  latency p50 %.0f ms p95 %.0f ms  "
           "frames %d, late %d, shed by server %ld  errors %d (server %ld)  refused %d  "
           "dropped %d  server peak RSS %.1f MB  CPU %.0f%% of one core\n",
           n, seconds, answered, asked, ntemplate, lr.p50, lr.p95, frames, late, shed, errors, errs,
           refused, disc, peak_rss / 1024.0, 100.0 * cpu / wall);
    printf("       template answers: %d, latency p50 %.0f ms p95 %.0f ms\n", ntl,
           pct(tlat, ntl, 50), pct(tlat, ntl, 95));
    if (reason[0]) printf("       last refusal/close: %s\n", reason);
    fflush(stdout);
    lr.ok = answered == asked && asked > 0 && late == 0 && shed == 0 && errors == 0 &&
            refused == 0 && disc == 0 && lr.p95 <= 1500 && peak_rss <= 250 * 1024;
    free(lat);
    free(tlat);
    free(cs);
    free(th);
    return lr;
}

static void idle_memory_per_session(void) {
    enum { N = 100 };
    ws_client *c[N];
    char err[256];
    int st;
    /* One session first: the warm-up it starts is a one-time cost, not a session's. */
    ws_client *w = ws_client_connect(server_port_, "/ws", NULL, 5000, &st, err, sizeof err);
    usleep(1500000);
    ws_client_free(w);
    usleep(500000);
    long before = server_rss_kb();
    int opened = 0;
    for (int i = 0; i < N; i++) {
        c[i] = ws_client_connect(server_port_, "/ws", NULL, 5000, &st, err, sizeof err);
        if (c[i]) {
            opened++;
            ws_client_send_text(c[i], "{\"event\":\"client_ready\"}");
        }
    }
    usleep(1000000);
    long after = server_rss_kb();
    printf("idle sessions: %d connected, server RSS %.1f -> %.1f MB: %.1f KB per session "
           "(target <= 64 KB)\n",
           opened, before / 1024.0, after / 1024.0, opened ? (double)(after - before) / opened : 0);
    for (int i = 0; i < N; i++)
        ws_client_free(c[i]);
    usleep(500000);
}

static void past_max_sessions(int max_sessions) {
    int n = max_sessions + 10;
    ws_client **c = calloc((size_t)n, sizeof *c);
    char err[256], reason[160] = "";
    int st, busy = 0, admitted = 0;
    for (int i = 0; i < n; i++) {
        c[i] = ws_client_connect(server_port_, "/ws", NULL, 5000, &st, err, sizeof err);
        if (!c[i]) continue;
        ws_msg m;
        ws_client_send_text(c[i], "{\"event\":\"client_ready\"}");
        int r = ws_client_recv(c[i], 2000, &m);
        if (r < 0 && ws_client_close_code(c[i]) == 1013) {
            busy++;
            snprintf(reason, sizeof reason, "%s", ws_client_close_reason(c[i]));
        } else if (r == 1) {
            admitted++;
        }
    }
    char body[64];
    int health = http_request(server_port_, "GET", "/health", NULL, NULL, body, sizeof body);
    printf("past capacity: %d clients with server.max_sessions=%d: %d admitted, %d refused with "
           "close 1013 (\"%s\"), /health %d\n",
           n, max_sessions, admitted, busy, reason, health);
    for (int i = 0; i < n; i++)
        ws_client_free(c[i]);
    free(c);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* figures appear as they are measured */
    const char *levels = getenv("BENCH_LOAD_LEVELS");
    if (!levels || !*levels) levels = "1,10,50,100";
    int max_n = 0;
    for (const char *p = levels; *p;) {
        int v = atoi(p);
        if (v > max_n) max_n = v;
        const char *c = strchr(p, ',');
        if (!c) break;
        p = c + 1;
    }
    int max_sessions = (max_n > 100 ? max_n : 100) + 10;
    if (load_questions() == 0) {
        printf("bench load: no questions: data/templates.json missing or `axiom say` failed; "
               "nothing measured\n");
        return 0;
    }
    printf("speech: %d template questions spoken by flite awb (e.g. \"%s\")\n", nquestions,
           questions[0].text);
    printf("targets: 1 client, template answer, last speech sample -> first answer audio p50 "
           "<= 250 ms, p95 <= 400 ms, first turn <= 1.2x warm; 100 clients p95 <= 1500 ms, "
           "every turn answered, no dropped frames, RSS <= 250 MB\n");
    first_turn();
    if (start_server(max_sessions, 1) != 0) {
        printf("bench load: cannot start `axiom serve` (AXIOM_BIN=%s)\n", getenv("AXIOM_BIN"));
        return 0;
    }
    idle_memory_per_session();
    int capacity = 0;
    for (const char *p = levels; *p;) {
        int n = atoi(p);
        if (n > 0) {
            level_result r = run_level(n);
            if (r.ok && n > capacity) capacity = n;
        }
        const char *c = strchr(p, ',');
        if (!c) break;
        p = c + 1;
    }
    printf("capacity: largest N measured within the bounds: %d\n", capacity);
    own_voice_barge_in();
    past_max_sessions(max_sessions);
    stop_server();
    for (int i = 0; i < nquestions; i++)
        free(questions[i].pcm);
    return 0;
}
