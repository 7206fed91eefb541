/* The intent model's cache file, so a restart does not retrain: a versioned binary
 * holding the training data's hash, the parameters, the features and the weights,
 * closed by a checksum. Every length is checked against the file's size before
 * anything is allocated, so a truncated or corrupt file is an error, not a crash.
 *
 * Layout (little-endian as written by this machine; the magic says which):
 *   "AXINTENT" u32 version u32 K u64 data_hash
 *   params: i32 word_ngrams, char_min, char_max, balance, calib_folds, drop, rules,
 *           epochs; f32 char_weight, l2, backup_weight, suspect_p, unknown_below;
 *           u32 seed
 *   f32 temperature, f32 bias[K], u32 nfeat, u64 keys[nfeat], f32 idf[nfeat],
 *   f32 w[nfeat*K], u32 nsuspects, {u64 row, u32 given, u32 pred, f32 p, u32 rule}[]
 *   u64 checksum (FNV-1a of everything before it) */
#include "brain/intent_internal.h"

#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAGIC "AXINTENT"
#define CACHE_VERSION 1u
#define CACHE_MAX_BYTES (256u << 20)

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *p, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->oom = 1;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}
static void put_u32(wbuf *b, uint32_t v) {
    put(b, &v, 4);
}
static void put_i32(wbuf *b, int32_t v) {
    put(b, &v, 4);
}
static void put_u64(wbuf *b, uint64_t v) {
    put(b, &v, 8);
}
static void put_f32(wbuf *b, float v) {
    put(b, &v, 4);
}

static uint64_t checksum(const unsigned char *p, size_t n) {
    return fnv1a64(FNV1A64_INIT, p, n);
}

int intent_save(const intent_model *m, const char *path, char *err, size_t errlen) {
    if (!m || !path) {
        snprintf(err, errlen, "intent cache: nothing to save");
        return -1;
    }
    wbuf b = {0};
    const intent_params *p = &m->params;
    put(&b, CACHE_MAGIC, 8);
    put_u32(&b, CACHE_VERSION);
    put_u32(&b, INTENT_K);
    put_u64(&b, m->data_hash);
    put_i32(&b, p->word_ngrams);
    put_i32(&b, p->char_min);
    put_i32(&b, p->char_max);
    put_i32(&b, p->balance_classes);
    put_i32(&b, p->calib_folds);
    put_i32(&b, p->drop_suspects);
    put_i32(&b, p->social_rules);
    put_i32(&b, p->epochs);
    put_f32(&b, p->char_weight);
    put_f32(&b, p->l2);
    put_f32(&b, p->backup_weight);
    put_f32(&b, p->suspect_p);
    put_f32(&b, p->unknown_below);
    put_u32(&b, p->seed);
    put_f32(&b, m->temperature);
    put(&b, m->bias, sizeof m->bias);
    put_u32(&b, m->nfeat);
    put(&b, m->feat_keys, (size_t)m->nfeat * 8);
    put(&b, m->idf, (size_t)m->nfeat * 4);
    put(&b, m->w, (size_t)m->nfeat * INTENT_K * 4);
    put_u32(&b, (uint32_t)m->nsuspects);
    for (size_t i = 0; i < m->nsuspects; i++) {
        const intent_suspect *s = &m->suspects[i];
        put_u64(&b, s->row);
        put_u32(&b, (uint32_t)s->given);
        put_u32(&b, (uint32_t)s->predicted);
        put_f32(&b, s->p);
        put_u32(&b, (uint32_t)s->by_rule);
    }
    if (!b.oom) put_u64(&b, checksum(b.buf, b.len));
    if (b.oom) {
        free(b.buf);
        snprintf(err, errlen, "%s: out of memory writing the intent cache", path);
        return -1;
    }
    /* Write to a temporary name and rename, so a crash never leaves half a cache. */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(b.buf, 1, b.len, f) == b.len;
    if (f && fclose(f) != 0) ok = 0;
    free(b.buf);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen,
                 "%s: cannot write the intent cache (%s); check the cache folder "
                 "(cache_dir) is writable",
                 path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

typedef struct {
    const unsigned char *p;
    size_t len, pos;
    int bad;
} rbuf;

static void get(rbuf *r, void *out, size_t n) {
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
}
static uint32_t get_u32(rbuf *r) {
    uint32_t v;
    get(r, &v, 4);
    return v;
}
static int32_t get_i32(rbuf *r) {
    int32_t v;
    get(r, &v, 4);
    return v;
}
static uint64_t get_u64(rbuf *r) {
    uint64_t v;
    get(r, &v, 8);
    return v;
}
static float get_f32(rbuf *r) {
    float v;
    get(r, &v, 4);
    return v;
}

intent_model *intent_load(const char *path, uint64_t expect_hash, char *err, size_t errlen) {
    size_t len = 0;
    char *data = file_read_all(path, CACHE_MAX_BYTES, &len, err, errlen);
    if (!data) return NULL;
    rbuf r = {(const unsigned char *)data, len, 0, 0};
    intent_model *m = NULL;
    const char *why = NULL;
    char magic[8];
    if (len < 8 + 8 + 8 + 8) {
        why = "too short to be an intent cache";
        goto bad;
    }
    uint64_t stored;
    memcpy(&stored, data + len - 8, 8);
    get(&r, magic, 8);
    if (memcmp(magic, CACHE_MAGIC, 8) != 0) {
        why = "not an intent cache (wrong magic)";
        goto bad;
    }
    if (get_u32(&r) != CACHE_VERSION || get_u32(&r) != INTENT_K) {
        why = "written by another version";
        goto bad;
    }
    if (checksum(r.p, len - 8) != stored) {
        why = "corrupt (checksum mismatch)";
        goto bad;
    }
    r.len = len - 8; /* the checksum is not payload */
    m = calloc(1, sizeof *m);
    if (!m) {
        why = "out of memory";
        goto bad;
    }
    m->data_hash = get_u64(&r);
    if (expect_hash && m->data_hash != expect_hash) {
        why = "trained on other data (hash differs); it will be retrained";
        goto bad;
    }
    intent_params *p = &m->params;
    p->word_ngrams = get_i32(&r);
    p->char_min = get_i32(&r);
    p->char_max = get_i32(&r);
    p->balance_classes = get_i32(&r);
    p->calib_folds = get_i32(&r);
    p->drop_suspects = get_i32(&r);
    p->social_rules = get_i32(&r);
    p->epochs = get_i32(&r);
    p->char_weight = get_f32(&r);
    p->l2 = get_f32(&r);
    p->backup_weight = get_f32(&r);
    p->suspect_p = get_f32(&r);
    p->unknown_below = get_f32(&r);
    p->seed = get_u32(&r);
    m->temperature = get_f32(&r);
    get(&r, m->bias, sizeof m->bias);
    m->nfeat = get_u32(&r);
    if (r.bad || p->char_min < 0 || p->char_max > 8 || p->word_ngrams < 1 || p->word_ngrams > 2 ||
        !(m->temperature > 0.0f && m->temperature < 1e6f)) {
        why = "corrupt (parameters out of range)";
        goto bad;
    }
    size_t need = (size_t)m->nfeat * (8 + 4 + 4 * INTENT_K);
    if (need > r.len - r.pos) {
        why = "corrupt (feature count larger than the file)";
        goto bad;
    }
    m->feat_keys = malloc((m->nfeat ? m->nfeat : 1) * sizeof *m->feat_keys);
    m->idf = malloc((m->nfeat ? m->nfeat : 1) * sizeof *m->idf);
    m->w = malloc((size_t)(m->nfeat ? m->nfeat : 1) * INTENT_K * sizeof *m->w);
    if (!m->feat_keys || !m->idf || !m->w) {
        why = "out of memory";
        goto bad;
    }
    get(&r, m->feat_keys, (size_t)m->nfeat * 8);
    get(&r, m->idf, (size_t)m->nfeat * 4);
    get(&r, m->w, (size_t)m->nfeat * INTENT_K * 4);
    uint32_t ns = get_u32(&r);
    if (r.bad || (size_t)ns * 24 > r.len - r.pos) {
        why = "corrupt (suspect count larger than the file)";
        goto bad;
    }
    m->suspects = calloc(ns ? ns : 1, sizeof *m->suspects);
    if (!m->suspects) {
        why = "out of memory";
        goto bad;
    }
    for (uint32_t i = 0; i < ns; i++) {
        intent_suspect *s = &m->suspects[i];
        s->row = (size_t)get_u64(&r);
        uint32_t g = get_u32(&r), q = get_u32(&r);
        s->p = get_f32(&r);
        s->by_rule = (int)get_u32(&r);
        if (g > INTENT_UNKNOWN || q > INTENT_UNKNOWN) r.bad = 1;
        s->given = (intent_label)g;
        s->predicted = (intent_label)q;
    }
    m->nsuspects = ns;
    if (r.bad || r.pos != r.len) {
        why = "corrupt (sizes do not add up)";
        goto bad;
    }
    for (uint32_t i = 0; i < m->nfeat; i++)
        if ((m->feat_keys[i] & 1) == 0) {
            why = "corrupt (bad feature key)";
            goto bad;
        }
    if (intent_model_index(m) != 0) {
        why = "corrupt (duplicate feature keys)";
        goto bad;
    }
    free(data);
    return m;
bad:
    snprintf(err, errlen, "%s: %s; delete it to retrain", path, why);
    free(data);
    intent_free(m);
    return NULL;
}

intent_model *intent_load_or_train(const labelled_row *rows, size_t n, const intent_params *p,
                                   const char *cache_path, int *from_cache, char *err,
                                   size_t errlen) {
    if (from_cache) *from_cache = 0;
    uint64_t h = labelled_rows_hash(rows, n);
    char why[600];
    if (cache_path) {
        intent_model *m = intent_load(cache_path, h, why, sizeof why);
        /* The parameters are part of what was cached: a changed setting retrains. */
        intent_params want = p ? *p : intent_default_params();
        if (m &&
            (m->params.word_ngrams != want.word_ngrams || m->params.char_min != want.char_min ||
             m->params.char_max != want.char_max || m->params.social_rules != want.social_rules ||
             m->params.unknown_below != want.unknown_below || m->params.l2 != want.l2 ||
             m->params.backup_weight != want.backup_weight)) {
            intent_free(m);
            m = NULL;
            snprintf(why, sizeof why, "%s: other classifier settings", cache_path);
        }
        if (m) {
            if (from_cache) *from_cache = 1;
            return m;
        }
        LOG_D("intent", "retraining: %s", why);
    }
    intent_model *m = intent_train(rows, n, p, err, errlen);
    if (m && cache_path && intent_save(m, cache_path, why, sizeof why) != 0)
        LOG_W("intent", "%s", why);
    return m;
}
