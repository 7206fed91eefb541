/* The configuration table and its parsers, and the public configuration calls of
 * axiom.h at the end. Adding a setting is one row in `keys`; everything else (file,
 * environment, flags, validation, --print-config) follows. */
#include "core/config.h"

#include "axiom.h"
#include "core/util.h"
#include "llm/llm.h"
#include "speech/stt.h"
#include "speech/tts.h"
#include "speech/vad.h" /* the VAD settings' defaults and ranges */

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { T_STR, T_INT, T_DBL, T_BOOL, T_ENUM } key_type;

typedef struct {
    const char *key;
    key_type type;
    const char *def;
    double min, max;     /* T_INT, T_DBL */
    const char *choices; /* T_ENUM: "a|b|c" */
    const char *env;     /* extra environment name besides AXIOM_<KEY>, or NULL */
    int secret;          /* never printed */
    const char *help;
} key_def;

#define STR(k, d, h)                                                                               \
    { k, T_STR, d, 0, 0, NULL, NULL, 0, h }
#define INT(k, d, lo, hi, h)                                                                       \
    { k, T_INT, d, lo, hi, NULL, NULL, 0, h }
#define DBL(k, d, lo, hi, h)                                                                       \
    { k, T_DBL, d, lo, hi, NULL, NULL, 0, h }
#define BOOL(k, d, h)                                                                              \
    { k, T_BOOL, d, 0, 0, NULL, NULL, 0, h }
#define ENUM(k, d, c, h)                                                                           \
    { k, T_ENUM, d, 0, 0, c, NULL, 0, h }

static const key_def keys[] = {
    /* general */
    STR("data", "",
        "knowledge pack folder (AXIOM pack or the reference deployment's data/); default "
        "<root>/data"),
    STR("cache_dir", "", "index and model cache; default $XDG_CACHE_HOME/axiom or ~/.cache/axiom"),
    ENUM(
        "mode", "full", "full|skip-llm|template-only",
        "full: templates, retrieval and LLM; skip-llm: no LLM; template-only: canned answers only"),
    {"context_length", T_INT, "2048", 128, 1048576, NULL, "AXIOM_CONTEXT_LENGTH", 0,
     "LLM context window in tokens; the prompt is trimmed to fit"},
    INT("history_turns", "5", 0, 100, "turns of conversation kept per session"),
    DBL("template_threshold", "0.88", 0, 1,
        "intent confidence at or above which a template answers without retrieval or LLM"),
    ENUM("log_level", "info", "debug|info|warn|error|off", "lowest level written to stderr"),
    BOOL("history.persist", "false", "keep conversation turns in SQLite (WAL)"),
    STR("history.db", "", "history database path; default <cache_dir>/history.db"),
    INT("history.retention_turns", "10000", 1, 100000000,
        "turns kept in the history database; older ones are deleted"),
    /* server */
    STR("server.host", "127.0.0.1",
        "listen address; anything but loopback requires server.auth_token"),
    INT("server.port", "8000", 0, 65535,
        "listen port; 0 = no HTTP server (the Wyoming service alone)"),
    STR("server.web_dir", "", "browser UI folder; default <root>/web"),
    STR("server.allowed_origins", "",
        "comma-separated extra Origins allowed on /ws and POST requests (same-origin is always "
        "allowed)"),
    STR("server.allowed_hosts", "",
        "comma-separated host names besides loopback and server.host that requests may address "
        "(Host header)"),
    {"server.auth_token", T_STR, "", 0, 0, NULL, NULL, 1,
     "bearer token required by the server when set (always when not on loopback)"},
    INT("server.max_sessions", "200", 1, 100000,
        "concurrent voice sessions; more are refused with a busy close"),
    INT("server.max_message_bytes", "65536", 1024, 16777216, "largest WebSocket message accepted"),
    INT("server.max_utterance_s", VAD_STR(VAD_MAX_UTTERANCE_S_DEF), VAD_MAX_UTTERANCE_S_MIN,
        VAD_MAX_UTTERANCE_S_MAX, "longest utterance before it is cut and processed"),
    INT("server.idle_timeout_s", "600", 5, 86400, "close a connection silent for this long"),
    INT("server.workers", "0", 0, 256,
        "worker threads for decoding and synthesis; 0 = number of cores"),
    BOOL("server.barge_in", "true", "speech while AXIOM speaks cancels the rest of the answer"),
    BOOL("server.warm_up", "true",
         "when a voice session opens, load and exercise the speech path (pack, VAD, recogniser, "
         "synthesiser; never the LLM) in the background, within the memory budget, so the first "
         "spoken turn does not wait for loading"),
    DBL("server.barge_in_margin_db", "6", 0, 40,
        "speech while an answer plays barges in only within this many dB of the user's own earlier "
        "speech level; quieter is the answer's echo from the loudspeaker and is ignored"),
    INT("server.send_queue_kb", "2048", 16, 1048576,
        "outgoing bytes queued per client before a slow reader is dropped"),
    INT("server.ask_max_concurrent", "0", 0, 1024,
        "POST /api/ask answers running at once; more are refused with 503; 0 = half the turn "
        "workers, at least 1"),
    INT("server.ask_timeout_s", "20", 1, 3600,
        "longest wait for a POST /api/ask answer before 504"),
    INT("server.audio_cache_mb", "16", 0, 4096,
        "synthesised answer sentences kept for answers that repeat; 0 = off"),
    /* Wyoming protocol (Home Assistant's Assist pipelines) */
    INT("wyoming.port", "0", 0, 65535,
        "Wyoming service port (speech-to-text, text-to-speech, conversation, intents); 0 = off; "
        "10300 is the usual one"),
    STR("wyoming.host", "127.0.0.1",
        "Wyoming listen address; anything but loopback requires wyoming.allow_remote"),
    BOOL("wyoming.allow_remote", "false",
         "let wyoming.host be an address other machines reach; Wyoming has no authentication, so "
         "only on a network you trust"),
    BOOL("wyoming.zeroconf", "true",
         "advertise the Wyoming service as _wyoming._tcp through the Avahi daemon, when one runs, "
         "for Home Assistant's discovery"),
    STR("wyoming.zeroconf_name", "", "the advertised service name; default 'AXIOM on <host name>'"),
    INT("wyoming.max_connections", "16", 1, 4096,
        "Wyoming connections served at once (each also counts against server.max_sessions); more "
        "are refused with a busy error"),
    INT("wyoming.max_json_bytes", "65536", 1024, 16777216,
        "longest Wyoming event header line, and longest data part"),
    INT("wyoming.max_payload_bytes", "1048576", 4096, 67108864,
        "largest Wyoming payload (one audio chunk)"),
    INT("wyoming.idle_timeout_s", "60", 1, 86400,
        "close a Wyoming connection that sends nothing, or does not finish an event, for this "
        "long"),
    INT("wyoming.conversations", "64", 1, 100000,
        "Wyoming conversations whose history is kept; a new one replaces the least recently used"),
    /* voice activity detection */
    ENUM("vad.backend", "silero", "silero|energy",
         "silero (via sherpa-onnx) or the plain energy detector; silero falls back to energy when "
         "its model is missing"),
    STR("vad.model", "",
        "Silero VAD ONNX file; default <root>/deps/silero/dist/silero_vad_v5.onnx"),
    DBL("vad.threshold", VAD_STR(VAD_THRESHOLD_DEF), VAD_THRESHOLD_MIN, VAD_THRESHOLD_MAX,
        "speech probability threshold"),
    INT("vad.min_speech_ms", VAD_STR(VAD_MIN_SPEECH_MS_DEF), VAD_MIN_SPEECH_MS_MIN,
        VAD_MIN_SPEECH_MS_MAX, "shortest speech that counts as an utterance"),
    INT("vad.silence_ms", VAD_STR(VAD_SILENCE_MS_DEF), VAD_SILENCE_MS_MIN, VAD_SILENCE_MS_MAX,
        "trailing silence that ends an utterance"),
    BOOL("vad.adaptive", "true",
         "adaptive endpointer: a pause after a finished, confidently matched pack question ends "
         "the utterance after vad.silence_min_ms; one after an unfinished phrase (\"... the\") "
         "waits up to vad.silence_max_ms"),
    INT("vad.silence_min_ms", VAD_STR(VAD_SILENCE_MIN_MS_DEF), VAD_SILENCE_MS_MIN,
        VAD_SILENCE_MS_MAX,
        "adaptive endpointer: shortest trailing silence (a finished pack question); used as at "
        "most vad.silence_ms"),
    INT("vad.silence_max_ms", VAD_STR(VAD_SILENCE_MAX_MS_DEF), VAD_SILENCE_MS_MIN,
        VAD_SILENCE_MS_MAX,
        "adaptive endpointer: longest trailing silence (a phrase cut after \"the\", \"of\", "
        "\"and\"...); used as at least vad.silence_ms"),
    INT("vad.preroll_ms", VAD_STR(VAD_PREROLL_MS_DEF), VAD_PREROLL_MS_MIN, VAD_PREROLL_MS_MAX,
        "audio kept from before speech start so the first syllable is not lost"),
    INT("vad.pool_size", VAD_STR(VAD_POOL_SIZE_DEF), VAD_POOL_SIZE_MIN, VAD_POOL_SIZE_MAX,
        "Silero detectors shared by all sessions (about 15 MB each); a session borrows one while "
        "its energy gate hears sound, the others use the energy detector"),
    DBL("vad.energy_margin_db", VAD_STR(VAD_ENERGY_MARGIN_DB_DEF), VAD_ENERGY_MARGIN_DB_MIN,
        VAD_ENERGY_MARGIN_DB_MAX,
        "energy detector: speech is this many dB above the tracked noise floor"),
    /* speech-to-text */
    ENUM("stt.backend", "pocketsphinx", STT_BACKEND_CHOICES, "speech recogniser"),
    ENUM("stt.lm", "domain", "domain|mixed|stock",
         "PocketSphinx language model: built from the pack, pack mixed with general English, or "
         "the stock 20k-word model"),
    STR("stt.hmm", "/usr/share/pocketsphinx/model/en-us/en-us",
        "PocketSphinx acoustic model folder"),
    INT("stt.general_words", "5000", 0, 50000,
        "the stock model's most common English words added to the domain model, so everyday words "
        "outside the pack can be heard; 0 = the pack's words only"),
    BOOL("stt.final_pass", "false",
         "PocketSphinx's second search over each whole utterance: fewer errors on open speech, but "
         "the final text comes hundreds of ms later"),
    BOOL("stt.denoise", "true",
         "suppress steady noise (hiss, fans, hum) in the audio before the recogniser (speexdsp)"),
    INT("stt.denoise_db", "-10", -40, -1, "the most the noise suppressor takes off, in dB"),
    DBL("stt.denoise_above_db", "-40", -100, 0,
        "the noise suppressor only runs when an utterance's opening 160 ms are louder than this "
        "(dB full scale)"),
    BOOL("stt.rescore", "true",
         "weigh the recogniser's other hypotheses, and each with words cut from its edges, by how "
         "confidently the pack answers them"),
    INT("stt.restart_ms", "2000", 0, 60000,
        "once this much of an utterance is in, the recogniser starts it again from the channel "
        "normalisation it has learnt from this voice, so the first words are heard as well as "
        "the rest (costs one more decoding of that much audio, during speech); 0 = never"),
    BOOL("stt.trim_background", "true",
         "words at the edges of an utterance much quieter than the speaker count as someone else's "
         "and are dropped"),
    DBL("stt.trim_margin_db", "6", 3, 40,
        "how much quieter than the speaker (dB) a word must be to count as background (4 dB more "
        "at the end)"),
    DBL("stt.background_margin_db", "5", 0, 40,
        "a spoken turn this much quieter (dB) than the speaker's last answered or rejected one is "
        "another voice in the room and is not answered, unless a template answers it "
        "confidently (0 = off)"),
    INT("stt.background_forget_s", "120", 1, 86400,
        "how long the speaker's level is remembered after their last answered or rejected turn, "
        "in seconds"),
    BOOL("stt.reject", "true",
         "speech that is not confidently a question the pack answers gets 'Sorry, I didn't catch "
         "that' instead of a guess"),
    INT("stt.pool_size", "0", 0, 256, "decoders shared by all sessions; 0 = number of cores + 1"),
    STR("stt.sherpa_model_dir", "", "sherpa-onnx recogniser model folder (bring your own)"),
    ENUM("stt.sherpa_model_type", "transducer", "transducer|nemo-transducer|nemo-ctc|whisper",
         "layout of stt.sherpa_model_dir"),
    /* text-to-speech */
    ENUM("tts.backend", "flite", TTS_BACKEND_CHOICES,
         "speech synthesiser; none = text-only replies"),
    ENUM("tts.voice", "kal16", "slt|kal16|awb|rms|kal",
         "flite voice: kal16 starts speaking in ~20 ms; slt, awb, rms sound better but take 10x "
         "longer per sentence"),
    STR("tts.sherpa_model_dir", "", "sherpa-onnx TTS model folder (bring your own)"),
    ENUM("tts.sherpa_model_type", "vits", "vits|kokoro", "layout of tts.sherpa_model_dir"),
    INT("tts.sample_rate", "16000", 8000, 48000, "sample rate of the audio sent to clients"),
    /* language model */
    ENUM("llm.backend", "none", LLM_BACKEND_CHOICES, "language model backend"),
    STR("llm.model", "", "model name (Ollama, OpenAI-compatible servers)"),
    {"llm.url", T_STR, "", 0, 0, NULL, "OLLAMA_HOST", 0,
     "server base URL; default http://127.0.0.1:11434 (Ollama) or http://127.0.0.1:8080/v1 "
     "(OpenAI)"},
    {"llm.api_key", T_STR, "", 0, 0, NULL, NULL, 1,
     "API key for OpenAI-compatible servers (prefer llm.api_key_file)"},
    STR("llm.api_key_file", "", "file holding the API key"),
    STR("llm.gguf", "", "GGUF model file for the in-process llama.cpp backend"),
    STR("llm.lib_dir", "",
        "folder holding libllama for the gguf backend; default <root>/deps/llama/bins/linux-x64"),
    BOOL("llm.mmap", "true", "map the GGUF file instead of reading it into memory (gguf backend)"),
    INT("llm.threads", "0", 0, 256, "llama.cpp threads; 0 = half the cores (1 to 8)"),
    DBL("llm.temperature", "0.3", 0, 2, "sampling temperature"),
    INT("llm.max_tokens", "200", 1, 8192, "longest answer in tokens"),
    INT("llm.first_token_timeout_ms", "3000", 100, 600000, "deadline for the first token"),
    INT("llm.total_timeout_ms", "15000", 100, 3600000, "deadline for the whole answer"),
    STR("llm.keep_alive", "5m", "Ollama keep_alive for the model"),
    /* memory governor */
    INT("mem.budget_mb", "0", 0, 16777216,
        "memory budget in MiB; 0 = the smaller of cgroup limit and physical RAM"),
    INT("mem.warn_pct", "85", 10, 99, "budget use at which AXIOM cleans up"),
    INT("mem.critical_pct", "95", 10, 100, "budget use at which AXIOM sheds load"),
    INT("mem.hysteresis_pct", "5", 0, 50, "how far below a level use must fall before it is left"),
    INT("mem.oom_score_adj", "-100", -1000, 1000, "this process's oom_score_adj when permitted"),
    INT("mem.idle_unload_s", "600", 0, 86400,
        "unload a speech or brain component idle this long; 0 = never"),
    INT("mem.llm_idle_unload_s", "300", 0, 86400,
        "unload the in-process LLM idle this long; 0 = never"),
    INT("mem.index_idle_unload_s", "-1", -1, 86400,
        "idle unloading of the knowledge index; -1 = mem.idle_unload_s"),
    INT("mem.intent_idle_unload_s", "-1", -1, 86400,
        "idle unloading of the intent model; -1 = mem.idle_unload_s"),
    INT("mem.vad_idle_unload_s", "-1", -1, 86400,
        "idle unloading of the VAD model; -1 = mem.idle_unload_s"),
    INT("mem.stt_idle_unload_s", "-1", -1, 86400,
        "idle unloading of the speech recogniser; -1 = mem.idle_unload_s"),
    INT("mem.tts_idle_unload_s", "-1", -1, 86400,
        "idle unloading of the synthesiser; -1 = mem.idle_unload_s"),
    INT("mem.poll_ms", "500", 50, 60000,
        "how often memory is read when PSI triggers are unavailable"),
    INT("mem.warn_idle_s", "30", 0, 86400, "at the warn level, unload components unused this long"),
    INT("mem.psi_warn_pct", "20", 1, 100, "PSI memory 'some' avg10 (%) that raises the warn level"),
    INT("mem.psi_critical_pct", "10", 1, 100,
        "PSI memory 'full' avg10 (%) that raises the critical level"),
    BOOL("mem.preload", "false",
         "load every component at start (in order, skipping what does not fit) instead of on first "
         "use"),
};

#define NKEYS (sizeof keys / sizeof keys[0])

typedef struct {
    char *value;
    config_source src;
    char origin[96];
} key_val;

struct axiom_config {
    key_val vals[NKEYS];
};

static const char *const source_names[] = {"default", "file", "env", "flag"};

static int key_index(const char *key) {
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].key, key) == 0) return (int)i;
    return -1;
}

/* Flags and environment may spell dots and underscores as dashes. */
static int key_index_loose(const char *name) {
    char k[96];
    size_t n = str_copy(k, sizeof k, name);
    if (n >= sizeof k) return -1;
    for (size_t i = 0; i < NKEYS; i++) {
        const char *a = keys[i].key;
        size_t j = 0;
        for (; a[j] && k[j]; j++) {
            char x = a[j], y = k[j];
            if (x == y) continue;
            if (x == '_' && y == '-') continue;
            break;
        }
        if (!a[j] && !k[j]) return (int)i;
    }
    return -1;
}

axiom_config *config_new(void) {
    axiom_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        cfg->vals[i].value = strdup(keys[i].def);
        if (!cfg->vals[i].value) {
            config_free(cfg);
            return NULL;
        }
        str_copy(cfg->vals[i].origin, sizeof cfg->vals[i].origin, "default");
    }
    return cfg;
}

const char *config_key_at(size_t i) {
    return i < NKEYS ? keys[i].key : NULL;
}

int config_key_range(const char *key, double *min, double *max) {
    int i = key_index(key);
    if (i < 0 || (keys[i].type != T_INT && keys[i].type != T_DBL)) return -1;
    *min = keys[i].min;
    *max = keys[i].max;
    return keys[i].type == T_INT ? 1 : 2;
}

void config_free(axiom_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < NKEYS; i++)
        free(cfg->vals[i].value);
    free(cfg);
}

static int parse_bool(const char *v, int *out) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

static int in_choices(const char *choices, const char *v) {
    size_t vl = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vl && strncmp(p, v, len) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

static int validate(const key_def *k, const char *v, char *err, size_t errlen) {
    char *end;
    switch (k->type) {
    case T_STR:
        if (strlen(v) > 4096) {
            snprintf(err, errlen, "%s: value is %zu bytes; at most 4096 allowed", k->key,
                     strlen(v));
            return -1;
        }
        return 0;
    case T_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || x < (long long)k->min || x > (long long)k->max) {
            snprintf(err, errlen, "%s = '%s': expected a whole number from %.0f to %.0f", k->key, v,
                     k->min, k->max);
            return -1;
        }
        return 0;
    }
    case T_DBL: {
        errno = 0;
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || x < k->min || x > k->max) {
            snprintf(err, errlen, "%s = '%s': expected a number from %g to %g", k->key, v, k->min,
                     k->max);
            return -1;
        }
        return 0;
    }
    case T_BOOL: {
        int b;
        if (parse_bool(v, &b) != 0) {
            snprintf(err, errlen, "%s = '%s': expected true or false", k->key, v);
            return -1;
        }
        return 0;
    }
    case T_ENUM:
        if (!in_choices(k->choices, v)) {
            snprintf(err, errlen, "%s = '%s': expected one of %s", k->key, v, k->choices);
            return -1;
        }
        return 0;
    }
    return -1;
}

int config_set(axiom_config *cfg, const char *key, const char *value, config_source src,
               const char *origin, char *err, size_t errlen) {
    int i = key_index(key);
    if (i < 0) {
        snprintf(err, errlen, "unknown setting '%s' (axiom --print-config lists them all)", key);
        return -1;
    }
    if (validate(&keys[i], value, err, errlen) != 0) return -1;
    key_val *kv = &cfg->vals[i];
    if (src < kv->src) return 0;
    char *copy = strdup(value);
    if (!copy) {
        snprintf(err, errlen, "%s: out of memory", key);
        return -1;
    }
    free(kv->value);
    kv->value = copy;
    kv->src = src;
    str_copy(kv->origin, sizeof kv->origin, origin ? origin : source_names[src]);
    return 0;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* The file's syntax is libinih's; what AXIOM adds around it:
 *   - the reader hands inih one line of the file per call, so inih's line numbers
 *     are the file's, and strips leading blanks, so an indented key is a key and
 *     never one of inih's continuation lines (which would glue it to the previous
 *     value);
 *   - a line too long for inih's line buffer is an error, not split in two;
 *   - the handler prefixes the section, removes one pair of quotes around a value
 *     and validates through config_set;
 *   - the first error stops reading, and every error names file and line. */
typedef struct {
    axiom_config *cfg;
    const char *path;
    const char *text, *next; /* the whole file; what the reader has not handed out */
    int lineno;              /* of the line inih is working on */
    int fail_line;           /* 0, or the line of the error in err */
    char *err;
    size_t errlen;
} ini_state;

static char *ini_read_line(char *buf, int bufsize, void *stream) {
    ini_state *st = stream;
    if (st->fail_line || !*st->next) return NULL;
    const char *line = st->next, *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    st->next = line + len + (nl ? 1 : 0);
    st->lineno++;
    while (len && (*line == ' ' || *line == '\t'))
        line++, len--;
    if (len + 2 > (size_t)bufsize) { /* the line, its newline and the terminator */
        st->fail_line = st->lineno;
        snprintf(st->err, st->errlen,
                 "%.200s:%d: line is longer than %d bytes; set this value with --set KEY=VALUE or "
                 "the environment (AXIOM_<KEY>) instead",
                 st->path, st->lineno, bufsize - 2);
        return NULL;
    }
    memcpy(buf, line, len);
    buf[len] = '\n';
    buf[len + 1] = '\0';
    return buf;
}

static int ini_on_value(void *user, const char *section, const char *name, const char *value) {
    ini_state *st = user;
    if (st->fail_line) return 0;
    char origin[96];
    snprintf(origin, sizeof origin, "%.70s:%d", st->path, st->lineno);
    char sec[96], v[4100];
    str_copy(sec, sizeof sec, section);
    str_copy(v, sizeof v, value);
    char *s = trim(sec), *val = v;
    size_t vl = strlen(val);
    if (vl >= 2 &&
        ((val[0] == '"' && val[vl - 1] == '"') || (val[0] == '\'' && val[vl - 1] == '\''))) {
        val[vl - 1] = '\0';
        val++;
    }
    char full[200], inner[400];
    snprintf(full, sizeof full, "%s%s%s", s, *s ? "." : "", name);
    if (config_set(st->cfg, full, val, CFG_FILE, origin, inner, sizeof inner) != 0) {
        st->fail_line = st->lineno;
        snprintf(st->err, st->errlen, "%s: %s", origin, inner);
        return 0;
    }
    return 1;
}

int config_load_file(axiom_config *cfg, const char *path, char *err, size_t errlen) {
    char msg[512];
    char *text = file_read_all(path, 1 << 20, NULL, msg, sizeof msg);
    if (!text) {
        snprintf(err, errlen, "config file %s", msg);
        return -1;
    }
    ini_state st = {cfg, path, text, text, 0, 0, err, errlen};
    int rc = ini_parse_stream(ini_read_line, &st, ini_on_value, &st);
    if (rc > 0 && (!st.fail_line || rc < st.fail_line)) {
        /* inih's own complaint (no '=', no closing ']'): it gives only the line. */
        const char *line = text;
        for (int i = 1; i < rc && line; i++) {
            line = strchr(line, '\n');
            if (line) line++;
        }
        char shown[64] = "";
        if (line) {
            size_t n = strcspn(line, "\r\n");
            snprintf(shown, sizeof shown, "%.*s", (int)(n < 60 ? n : 60), line);
        }
        snprintf(err, errlen, "%.200s:%d: expected key = value or [section], got '%s'", path, rc,
                 trim(shown));
    } else if (rc != 0 && !st.fail_line) {
        snprintf(err, errlen, "config file %.200s: out of memory while reading it", path);
    }
    free(text);
    return rc == 0 && !st.fail_line ? 0 : -1;
}

static void env_name(const char *key, char *out, size_t outlen) {
    size_t n = (size_t)snprintf(out, outlen, "AXIOM_");
    for (const char *p = key; *p && n + 1 < outlen; p++)
        out[n++] = (*p == '.') ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

int config_apply_env(axiom_config *cfg, char *err, size_t errlen) {
    for (size_t i = 0; i < NKEYS; i++) {
        const char *names[2] = {NULL, keys[i].env};
        char auto_name[96];
        env_name(keys[i].key, auto_name, sizeof auto_name);
        names[0] = auto_name;
        for (int j = 0; j < 2; j++) {
            if (!names[j]) continue;
            const char *v = getenv(names[j]);
            if (!v) continue;
            char origin[96], inner[400];
            snprintf(origin, sizeof origin, "env %.80s", names[j]);
            if (config_set(cfg, keys[i].key, v, CFG_ENV, origin, inner, sizeof inner) != 0) {
                snprintf(err, errlen, "environment %s: %s", names[j], inner);
                return -1;
            }
            break; /* AXIOM_<KEY> wins over the alias */
        }
    }
    return 0;
}

typedef struct {
    const char *flag, *key, *fixed; /* fixed: value implied by the flag, no argument */
} flag_alias;

static const flag_alias aliases[] = {
    {"data", "data", NULL},
    {"host", "server.host", NULL},
    {"port", "server.port", NULL},
    {"mode", "mode", NULL},
    {"llm", "llm.backend", NULL},
    {"gguf", "llm.gguf", NULL},
    {"context-length", "context_length", NULL},
    {"log-level", "log_level", NULL},
    {"cache-dir", "cache_dir", NULL},
    {"template-only", "mode", "template-only"},
    {"skip-llm", "mode", "skip-llm"},
};

/* Returns the number of argv entries consumed (0 = not a config flag), or -1. */
static int one_flag(axiom_config *cfg, int argc, char **argv, int i, int apply, char *err,
                    size_t errlen) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0 || !a[2]) return 0;
    char name[128];
    const char *eq = strchr(a + 2, '=');
    size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (nl >= sizeof name) return 0;
    memcpy(name, a + 2, nl);
    name[nl] = '\0';

    const char *key = NULL, *fixed = NULL;
    if (strcmp(name, "config") == 0) {
        if (!eq && i + 1 >= argc) {
            snprintf(err, errlen, "--config needs a file path");
            return -1;
        }
        return eq ? 1 : 2; /* read by config_load_all */
    }
    if (strcmp(name, "set") == 0) {
        const char *kv = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        const char *e2 = kv ? strchr(kv, '=') : NULL;
        if (!e2) {
            snprintf(err, errlen, "--set needs KEY=VALUE");
            return -1;
        }
        char k[128];
        size_t kl = (size_t)(e2 - kv);
        if (kl >= sizeof k) kl = sizeof k - 1;
        memcpy(k, kv, kl);
        k[kl] = '\0';
        if (apply && config_set(cfg, k, e2 + 1, CFG_FLAG, "flag --set", err, errlen) != 0)
            return -1;
        return eq ? 1 : 2;
    }
    for (size_t j = 0; j < sizeof aliases / sizeof aliases[0]; j++) {
        if (strcmp(name, aliases[j].flag) == 0) {
            key = aliases[j].key;
            fixed = aliases[j].fixed;
            break;
        }
    }
    if (!key) {
        int ki = key_index_loose(name);
        if (ki < 0) return 0; /* not ours: the subcommand's */
        key = keys[ki].key;
    }
    const char *value = fixed;
    int used = 1;
    if (!fixed) {
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[i + 1], used = 2;
        else {
            snprintf(err, errlen, "--%s needs a value", name);
            return -1;
        }
    } else if (eq) {
        snprintf(err, errlen, "--%s takes no value", name);
        return -1;
    }
    char origin[160];
    snprintf(origin, sizeof origin, "flag --%s", name);
    if (apply && config_set(cfg, key, value, CFG_FLAG, origin, err, errlen) != 0) return -1;
    return used;
}

static int scan_args(axiom_config *cfg, int *argc, char **argv, int apply, int strip, char *err,
                     size_t errlen) {
    int out = 1;
    for (int i = 1; i < *argc;) {
        if (strcmp(argv[i], "--") == 0) { /* everything after belongs to the subcommand */
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        int used = one_flag(cfg, *argc, argv, i, apply, err, errlen);
        if (used < 0) return -1;
        if (used == 0) {
            argv[out++] = argv[i++];
        } else if (!strip) {
            for (int j = 0; j < used; j++)
                argv[out++] = argv[i++];
        } else {
            i += used;
        }
    }
    if (strip) {
        *argc = out;
        argv[out] = NULL;
    }
    return 0;
}

int config_apply_args(axiom_config *cfg, int *argc, char **argv, char *err, size_t errlen) {
    return scan_args(cfg, argc, argv, 1, 1, err, errlen);
}

static const char *find_config_flag(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strncmp(argv[i], "--config=", 9) == 0) return argv[i] + 9;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) return argv[i + 1];
    }
    return NULL;
}

int config_load_all(axiom_config *cfg, int *argc, char **argv, char *err, size_t errlen) {
    /* A dry pass validates the flags before anything else is read. */
    axiom_config *probe = config_new();
    if (!probe) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = scan_args(probe, argc, argv, 1, 0, err, errlen);
    config_free(probe);
    if (rc != 0) return -1;

    const char *file = find_config_flag(*argc, argv);
    int required = file != NULL;
    if (!file) {
        file = getenv("AXIOM_CONFIG");
        required = file != NULL;
    }
    /* Unnamed, the file is optional: ./axiom.conf, else the system-wide one (what the
     * shipped systemd unit relies on: the service starts with no file at all). */
    FILE *probe_f = NULL;
    if (!file) {
        static const char *const search[] = {"axiom.conf", AXIOM_SYSTEM_CONFIG};
        for (size_t i = 0; i < sizeof search / sizeof search[0] && !probe_f; i++)
            if ((probe_f = fopen(search[i], "r"))) file = search[i];
    } else {
        probe_f = fopen(file, "r");
    }
    if (probe_f) fclose(probe_f);
    if (probe_f || required) {
        if (config_load_file(cfg, file, err, errlen) != 0) return -1;
    }
    if (config_apply_env(cfg, err, errlen) != 0) return -1;
    return config_apply_args(cfg, argc, argv, err, errlen);
}

static const key_val *lookup(const axiom_config *cfg, const char *key, key_type want) {
    int i = key_index(key);
    if (i < 0 || (want != (key_type)-1 && keys[i].type != want &&
                  !(want == T_STR && keys[i].type == T_ENUM))) {
        fprintf(stderr, "axiom: internal error: setting '%s' read with the wrong type\n", key);
        abort();
    }
    return &cfg->vals[i];
}

const char *config_str(const axiom_config *cfg, const char *key) {
    return lookup(cfg, key, T_STR)->value;
}

long long config_int(const axiom_config *cfg, const char *key) {
    return strtoll(lookup(cfg, key, T_INT)->value, NULL, 10);
}

double config_double(const axiom_config *cfg, const char *key) {
    return strtod(lookup(cfg, key, T_DBL)->value, NULL);
}

int config_bool(const axiom_config *cfg, const char *key) {
    int b = 0;
    parse_bool(lookup(cfg, key, T_BOOL)->value, &b);
    return b;
}

config_source config_source_of(const axiom_config *cfg, const char *key) {
    return lookup(cfg, key, (key_type)-1)->src;
}

const char *config_origin_of(const axiom_config *cfg, const char *key) {
    return lookup(cfg, key, (key_type)-1)->origin;
}

void config_print(const axiom_config *cfg, FILE *out) {
    for (size_t i = 0; i < NKEYS; i++) {
        const key_val *kv = &cfg->vals[i];
        const char *shown = kv->value;
        if (keys[i].secret && *kv->value) shown = "(set)";
        fprintf(out, "%-28s = %-40s # %s\n", keys[i].key, *shown ? shown : "\"\"", kv->origin);
    }
}

void config_data_dir(const axiom_config *cfg, char *out, size_t outlen) {
    const char *d = config_str(cfg, "data");
    if (*d)
        str_copy(out, outlen, d);
    else
        snprintf(out, outlen, "%s/data", axiom_root_dir());
}

void config_cache_dir(const axiom_config *cfg, char *out, size_t outlen) {
    const char *d = config_str(cfg, "cache_dir");
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (*d)
        str_copy(out, outlen, d);
    else if (xdg && *xdg)
        snprintf(out, outlen, "%s/axiom", xdg);
    else if (home && *home)
        snprintf(out, outlen, "%s/.cache/axiom", home);
    else
        snprintf(out, outlen, "%s/.cache", axiom_root_dir());
}

/* ---- the public calls (include/axiom.h) ---------------------------------------------
 * An embedding program fills a configuration as the command line does, minus the
 * environment and argv: defaults, then files and single keys. A key given to
 * axiom_config_set counts as a flag and a file's value as a file's, so a file read
 * after axiom_config_set does not undo it (the rule that lets `axiom --port 9000` win
 * over axiom.conf). */

axiom_config *axiom_config_new(void) {
    return config_new();
}

int axiom_config_set(axiom_config *cfg, const char *key, const char *value, char *err,
                     size_t errlen) {
    if (!cfg || !key || !value) {
        snprintf(err, errlen, "axiom_config_set: %s is NULL",
                 !cfg   ? "the configuration"
                 : !key ? "the key"
                        : "the value");
        return -1;
    }
    return config_set(cfg, key, value, CFG_FLAG, "axiom_config_set", err, errlen);
}

int axiom_config_load_file(axiom_config *cfg, const char *path, char *err, size_t errlen) {
    if (!cfg || !path) {
        snprintf(err, errlen, "axiom_config_load_file: %s is NULL",
                 !cfg ? "the configuration" : "the path");
        return -1;
    }
    return config_load_file(cfg, path, err, errlen);
}

void axiom_config_free(axiom_config *cfg) {
    config_free(cfg);
}
