/* Conversation history: per-session rings and the optional SQLite log (history.h). */
#include "brain/history.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int history_ring_init(history_ring *r, size_t cap) {
    memset(r, 0, sizeof *r);
    if (!cap) return 0;
    r->turns = calloc(cap, sizeof *r->turns);
    if (!r->turns) return -1;
    r->cap = cap;
    return 0;
}

void history_ring_free(history_ring *r) {
    for (size_t i = 0; i < r->cap; i++) {
        free(r->turns[i].user);
        free(r->turns[i].answer);
    }
    free(r->turns);
    memset(r, 0, sizeof *r);
}

void history_ring_push(history_ring *r, const char *user, const char *answer) {
    if (!r->cap) return;
    size_t slot;
    if (r->count == r->cap) { /* full: overwrite the oldest */
        slot = r->head;
        r->head = (r->head + 1) % r->cap;
        free(r->turns[slot].user);
        free(r->turns[slot].answer);
    } else {
        slot = (r->head + r->count) % r->cap;
        r->count++;
    }
    r->turns[slot].user = strdup(user ? user : "");
    r->turns[slot].answer = strdup(answer ? answer : "");
}

const history_turn *history_ring_get(const history_ring *r, size_t i) {
    if (i >= r->count) return NULL;
    return &r->turns[(r->head + i) % r->cap];
}

struct history_db {
    sqlite3 *db;
    sqlite3_stmt *ins, *trim;
    int64_t retention;
    pthread_mutex_t mu;
};

history_db *history_db_open(const char *path, int64_t retention_turns, char *err, size_t errlen) {
    history_db *h = calloc(1, sizeof *h);
    if (!h) return snprintf(err, errlen, "out of memory"), NULL;
    h->retention = retention_turns > 0 ? retention_turns : 1;
    pthread_mutex_init(&h->mu, NULL);
    char *msg = NULL;
    if (sqlite3_open(path, &h->db) != SQLITE_OK ||
        sqlite3_exec(h->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=2000;"
                     "CREATE TABLE IF NOT EXISTS turns(id INTEGER PRIMARY KEY AUTOINCREMENT, ts "
                     "INTEGER, session TEXT,"
                     " user TEXT, answer TEXT, intent TEXT, path TEXT);"
                     "CREATE INDEX IF NOT EXISTS turns_session ON turns(session);",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_prepare_v2(h->db,
                           "INSERT INTO turns(ts,session,user,answer,intent,path) "
                           "VALUES(strftime('%s','now'),?,?,?,?,?)",
                           -1, &h->ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h->db, "DELETE FROM turns WHERE id <= (SELECT MAX(id) FROM turns) - ?",
                           -1, &h->trim, NULL) != SQLITE_OK) {
        snprintf(err, errlen,
                 "history.db '%s': %s; check the folder exists and is writable, or set "
                 "history.persist = false",
                 path,
                 msg     ? msg
                 : h->db ? sqlite3_errmsg(h->db)
                         : "cannot open");
        sqlite3_free(msg);
        history_db_close(h);
        return NULL;
    }
    return h;
}

void history_db_close(history_db *h) {
    if (!h) return;
    sqlite3_finalize(h->ins);
    sqlite3_finalize(h->trim);
    sqlite3_close(h->db);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int history_db_add(history_db *h, const char *session, const char *user, const char *answer,
                   const char *intent, const char *path, char *err, size_t errlen) {
    pthread_mutex_lock(&h->mu);
    /* The insert and the retention trim commit together, so a kill between them can
     * never leave the table over its bound. */
    int rc = sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (rc == 0) {
        const char *v[5] = {session, user, answer, intent, path};
        for (int i = 0; i < 5; i++)
            sqlite3_bind_text(h->ins, i + 1, v[i] ? v[i] : "", -1, SQLITE_STATIC);
        rc = sqlite3_step(h->ins) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(h->ins);
        sqlite3_clear_bindings(h->ins);
    }
    if (rc == 0) {
        sqlite3_bind_int64(h->trim, 1, h->retention);
        rc = sqlite3_step(h->trim) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(h->trim);
    }
    if (rc) snprintf(err, errlen, "history.db: %s", sqlite3_errmsg(h->db));
    if (sqlite3_exec(h->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK &&
        rc == 0) {
        snprintf(err, errlen, "history.db: %s", sqlite3_errmsg(h->db));
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        rc = -1;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int history_db_load(history_db *h, const char *session, history_ring *r, char *err, size_t errlen) {
    if (!r->cap) return 0;
    pthread_mutex_lock(&h->mu);
    sqlite3_stmt *st = NULL;
    int n = 0;
    int rc = sqlite3_prepare_v2(
        h->db,
        "SELECT user, answer FROM (SELECT id, user, answer FROM turns WHERE session = ?"
        " ORDER BY id DESC LIMIT ?) ORDER BY id",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, session, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)r->cap);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            history_ring_push(r, (const char *)sqlite3_column_text(st, 0),
                              (const char *)sqlite3_column_text(st, 1));
            n++;
        }
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "history.db: reading the history back: %s", sqlite3_errmsg(h->db));
        n = -1;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&h->mu);
    return n;
}

int64_t history_db_count(history_db *h, const char *session) {
    pthread_mutex_lock(&h->mu);
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(h->db,
                           session ? "SELECT COUNT(*) FROM turns WHERE session = ?"
                                   : "SELECT COUNT(*) FROM turns",
                           -1, &st, NULL) == SQLITE_OK) {
        if (session) sqlite3_bind_text(st, 1, session, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&h->mu);
    return n;
}
