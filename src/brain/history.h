/* Conversation history.
 *
 * In memory: each session keeps its last N turns (history_turns, default 5) in a
 * FIFO ring; template turns are kept too, so "and how much does it weigh?" after a
 * template answer still has its context. Sessions never share a ring.
 *
 * On disk (optional, history.persist): every turn is appended to a SQLite database
 * in WAL mode (history.db), and the oldest rows beyond history.retention_turns are
 * deleted, so the file has a bound. One connection behind a mutex; any thread. */
#ifndef AXIOM_HISTORY_H
#define AXIOM_HISTORY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *user, *answer;
} history_turn;

typedef struct {
    history_turn *turns;     /* ring of cap entries */
    size_t cap, count, head; /* head = index of the oldest */
} history_ring;

/* cap 0 keeps nothing. */
int history_ring_init(history_ring *r, size_t cap);
void history_ring_free(history_ring *r);
/* Appends a turn (copied), dropping the oldest when full. */
void history_ring_push(history_ring *r, const char *user, const char *answer);
/* The i-th turn, 0 = oldest kept. */
const history_turn *history_ring_get(const history_ring *r, size_t i);

typedef struct history_db history_db;

/* Opens (creating) the database at path in WAL mode. Returns NULL with err naming
 * the path and the reason. */
history_db *history_db_open(const char *path, int64_t retention_turns, char *err, size_t errlen);
void history_db_close(history_db *db);
/* Appends one turn and enforces the retention bound. Text is bound as parameters,
 * never pasted into SQL. Returns 0 or -1 with err. */
int history_db_add(history_db *db, const char *session, const char *user, const char *answer,
                   const char *intent, const char *path, char *err, size_t errlen);
/* Pushes the session's last r->cap turns into r, oldest first (a user who comes back
 * continues the conversation). Returns how many, or -1 with err. */
int history_db_load(history_db *db, const char *session, history_ring *r, char *err, size_t errlen);
/* Rows kept in total (session NULL) or for one session; -1 on error. */
int64_t history_db_count(history_db *db, const char *session);

#endif
