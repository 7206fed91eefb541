/* SQLite FTS5 backend of the search store (see store.h).
 *
 * The index is a cache, not a source of truth: the file is named by the pack's
 * content hash (index-<hash>.sqlite under the cache folder), built into a temporary
 * file and renamed into place only when complete, so a crash mid-build never leaves a
 * half index that a later start would trust. rowid is the record's index in the pack,
 * so hits map straight back to memory. */
#include "brain/store.h"

#include "core/log.h"
#include "core/util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_SCHEMA_VERSION "2"

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[3][2]; /* [table][with item filter] */
};

static const char *const tables[3] = {"facts", "templates", "items"};

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "index: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static void progress(int64_t t0, size_t done, size_t total, int *shown) {
    if (!isatty(2)) return;
    int64_t el = now_us() - t0;
    if (el < 1000000 && !*shown) return;
    if (done % 256 && done != total) return;
    fprintf(stderr, "\rbuilding the knowledge index: %zu/%zu records", done, total);
    if (done == total) fputc('\n', stderr);
    *shown = 1;
}

static int build(sqlite3 *db, const pack *p, const char *hash, char *err, size_t errlen) {
    if (exec(db,
             "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
             "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
             /* porter stemming: "beginners" finds "beginner", "charging" finds "charge" */
             "CREATE VIRTUAL TABLE facts USING fts5(text, topic, item UNINDEXED, tokenize='porter "
             "unicode61');"
             "CREATE VIRTUAL TABLE templates USING fts5(question, item UNINDEXED, tokenize='porter "
             "unicode61');"
             "CREATE VIRTUAL TABLE items USING fts5(name, aliases, body, tokenize='porter "
             "unicode61');"
             "BEGIN;",
             err, errlen))
        return -1;
    sqlite3_stmt *f = NULL, *t = NULL, *it = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO facts(rowid,text,topic,item) VALUES(?,?,?,?)", -1,
                                &f, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO templates(rowid,question,item) VALUES(?,?,?)", -1,
                                &t, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO items(rowid,name,aliases,body) VALUES(?,?,?,?)",
                                -1, &it, NULL);
    size_t total = p->n_facts + p->n_templates + p->n_items, done = 0;
    int64_t t0 = now_us();
    int shown = 0;
    for (size_t i = 0; rc == SQLITE_OK && i < p->n_facts; i++) {
        sqlite3_bind_int64(f, 1, (sqlite3_int64)i);
        sqlite3_bind_text(f, 2, p->facts[i].text, -1, SQLITE_STATIC);
        sqlite3_bind_text(f, 3, p->facts[i].topic ? p->facts[i].topic : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(f, 4, p->facts[i].item);
        rc = sqlite3_step(f) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(f);
        progress(t0, ++done, total, &shown);
    }
    for (size_t i = 0; rc == SQLITE_OK && i < p->n_templates; i++) {
        sqlite3_bind_int64(t, 1, (sqlite3_int64)i);
        sqlite3_bind_text(t, 2, p->templates[i].question, -1, SQLITE_STATIC);
        sqlite3_bind_int(t, 3, p->templates[i].item);
        rc = sqlite3_step(t) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(t);
        progress(t0, ++done, total, &shown);
    }
    for (size_t i = 0; rc == SQLITE_OK && i < p->n_items; i++) {
        const pack_item *x = &p->items[i];
        char aliases[2048] = "", body[4096] = "";
        size_t w = 0;
        for (size_t a = 0; a < x->n_aliases && w < sizeof aliases - 1; a++)
            w += (size_t)snprintf(aliases + w, sizeof aliases - w, "%s ", x->aliases[a]);
        w = (size_t)snprintf(body, sizeof body, "%s %s ", x->category ? x->category : "",
                             x->summary ? x->summary : "");
        for (size_t s = 0; s < x->n_specs && w < sizeof body - 1; s++)
            w += (size_t)snprintf(body + w, sizeof body - w, "%s %s ", x->spec_keys[s],
                                  x->spec_vals[s]);
        for (size_t c = 0; c < x->n_capabilities && w < sizeof body - 1; c++)
            w += (size_t)snprintf(body + w, sizeof body - w, "%s ", x->capabilities[c]);
        sqlite3_bind_int64(it, 1, (sqlite3_int64)i);
        sqlite3_bind_text(it, 2, x->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(it, 3, aliases, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(it, 4, body, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(it) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(it);
        progress(t0, ++done, total, &shown);
    }
    if (rc != SQLITE_OK) snprintf(err, errlen, "index: building failed: %s", sqlite3_errmsg(db));
    sqlite3_finalize(f);
    sqlite3_finalize(t);
    sqlite3_finalize(it);
    if (rc != SQLITE_OK) return -1;
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO meta VALUES('hash','%s'),('schema','" STORE_SCHEMA_VERSION "');"
             "INSERT INTO facts(facts) VALUES('optimize'); INSERT INTO templates(templates) "
             "VALUES('optimize');"
             "COMMIT;",
             hash); /* hash is our own hex digest, never user text */
    return exec(db, sql, err, errlen);
}

/* 1 when the file at path is a complete index of this hash. */
static int cache_valid(sqlite3 *db, const char *hash) {
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT value FROM meta WHERE key='hash'), (SELECT value FROM "
                           "meta WHERE key='schema')",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(st, 0),
                   *s = (const char *)sqlite3_column_text(st, 1);
        ok = h && s && strcmp(h, hash) == 0 && strcmp(s, STORE_SCHEMA_VERSION) == 0;
    }
    sqlite3_finalize(st);
    return ok;
}

static int prepare(store *s, char *err, size_t errlen) {
    for (int t = 0; t < 3; t++)
        for (int f = 0; f < 2; f++) {
            char sql[256];
            snprintf(
                sql, sizeof sql,
                "SELECT rowid, -bm25(%s) FROM %s WHERE %s MATCH ?1 %s ORDER BY bm25(%s) LIMIT ?3",
                tables[t], tables[t], tables[t], f && t != STORE_ITEMS ? "AND item = ?2" : "",
                tables[t]);
            if (sqlite3_prepare_v2(s->db, sql, -1, &s->q[t][f], NULL) != SQLITE_OK) {
                snprintf(err, errlen, "index: %s", sqlite3_errmsg(s->db));
                return -1;
            }
        }
    return 0;
}

static void sq_close(store *s) {
    if (!s) return;
    for (int t = 0; t < 3; t++)
        for (int f = 0; f < 2; f++)
            sqlite3_finalize(s->q[t][f]);
    sqlite3_close(s->db);
    free(s);
}

static store *sq_open(const pack *p, const char *cache_dir, store_info *info, char *err,
                      size_t errlen) {
    store_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    int64_t t0 = now_us();
    store *s = calloc(1, sizeof *s);
    if (!s) return snprintf(err, errlen, "out of memory"), NULL;
    if (cache_dir && *cache_dir) {
        mkdir(cache_dir, 0700);
        snprintf(info->path, sizeof info->path, "%s/index-%s.sqlite", cache_dir, p->content_hash);
        if (sqlite3_open_v2(info->path, &s->db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            cache_valid(s->db, p->content_hash)) {
            if (prepare(s, err, errlen) == 0) {
                info->build_us = now_us() - t0;
                return s;
            }
        }
        sqlite3_close(s->db);
        s->db = NULL;
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp%ld", info->path, (long)getpid());
        unlink(tmp);
        if (sqlite3_open(tmp, &s->db) != SQLITE_OK ||
            build(s->db, p, p->content_hash, err, errlen) != 0) {
            LOG_W("index", "cannot write the index cache %s (%s); using an in-memory index", tmp,
                  s->db ? sqlite3_errmsg(s->db) : "open failed");
            sqlite3_close(s->db);
            s->db = NULL;
            unlink(tmp);
            info->path[0] = 0;
        } else {
            sqlite3_close(s->db);
            s->db = NULL;
            if (rename(tmp, info->path) != 0 ||
                sqlite3_open_v2(info->path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
                sqlite3_close(s->db);
                s->db = NULL;
                unlink(tmp);
                info->path[0] = 0;
            }
            info->rebuilt = 1;
        }
    }
    if (!s->db) { /* no cache folder, or it could not be written */
        if (sqlite3_open(":memory:", &s->db) != SQLITE_OK ||
            build(s->db, p, p->content_hash, err, errlen) != 0) {
            sq_close(s);
            return NULL;
        }
        info->rebuilt = 1;
    }
    if (prepare(s, err, errlen) != 0) {
        sq_close(s);
        return NULL;
    }
    info->build_us = now_us() - t0;
    return s;
}

static int sq_search(store *s, store_table t, const text_toks *q, int item, store_hit *out, int k,
                     char *err, size_t errlen) {
    char match[2048];
    size_t w = 0;
    int nterms = 0;
    for (size_t i = 0; i < q->n && nterms < 24; i++) {
        const char *tok = q->t[i];
        if (text_is_stopword(tok)) continue;
        int ok = 1;
        for (const char *c = tok; *c; c++) /* the tokenizer guarantees this; checked anyway */
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) ok = 0;
        if (!ok || !*tok) continue;
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(q->t[j], tok) == 0;
        if (dup) continue;
        int n = snprintf(match + w, sizeof match - w, "%s\"%s\"", nterms ? " OR " : "", tok);
        if (n < 0 || (size_t)n >= sizeof match - w) break;
        w += (size_t)n;
        nterms++;
    }
    if (!nterms || k <= 0) return 0;
    sqlite3_stmt *st = s->q[t][item >= 0 && t != STORE_ITEMS];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, match, (int)w, SQLITE_TRANSIENT);
    if (item >= 0 && t != STORE_ITEMS) sqlite3_bind_int(st, 2, item);
    sqlite3_bind_int(st, 3, k);
    int n = 0, rc = SQLITE_DONE;
    while (n < k && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out[n].index = sqlite3_column_int(st, 0);
        out[n].score = sqlite3_column_double(st, 1);
        n++;
    }
    if (n < k && rc != SQLITE_DONE) {
        snprintf(err, errlen, "index search: %s", sqlite3_errmsg(s->db));
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return n;
}

const store_backend store_sqlite_backend = {"sqlite", sq_open, sq_search, sq_close};

const store_backend *store_backend_find(const char *name) {
    static const store_backend *const all[] = {&store_sqlite_backend};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!name || strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}
