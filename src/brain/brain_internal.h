/* The brain's private state, shared by brain.c (creation, lazy loading, the
 * recogniser's corpus) and brain_turn.c (one turn). */
#ifndef AXIOM_BRAIN_INTERNAL_H
#define AXIOM_BRAIN_INTERNAL_H

#include "brain/brain.h"
#include "brain/history.h"
#include "brain/intent.h"
#include "brain/mention.h"
#include "brain/normalise.h"
#include "brain/pack.h"
#include "brain/pack_words.h"
#include "brain/store.h"
#include "brain/template_match.h"

#include <pthread.h>

struct brain {
    const axiom_config *cfg;
    char data_dir[2048], backup_dir[2048], cache_dir[2048];
    double threshold;
    int history_turns, context_len, max_tokens;

    axiom_component *c_index, *c_intent;

    /* "index" component: valid while it is loaded */
    pack *pk;
    mention_index *mi;
    normaliser *nz;
    pack_words *pw; /* every word the pack uses */
    template_index *ti;
    char **norm_q; /* normalised template questions */
    const store_backend *sb;
    store *st;
    store_info sinfo;
    pthread_mutex_t store_mu; /* one SQLite handle, one query at a time */

    /* "intent" component */
    intent_model *im;
    size_t intent_rows;
    _Atomic int64_t intent_failed_ms; /* last failed load: retried after a pause, not every turn */

    history_db *hdb;
    pthread_mutex_t mu; /* session ids, history db opening */
    unsigned long next_session;
};

struct brain_session {
    brain *b;
    char id[40];
    history_ring ring;
    int topic_item;       /* last item talked about, -1 = none */
    char last_model[256]; /* last 3D model sent */
    unsigned turn_no;
    /* The level of the person talking to us (stt_result.speech_db of their last
     * answered or rejected spoken turn) and when it was heard; speaker_at_ms 0 = not
     * known. */
    float speaker_db;
    int64_t speaker_at_ms;
};

#endif
