#include "core/component.h"

#include "core/log.h"
#include "core/util.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct axiom_component {
    component_desc desc;
    pthread_mutex_t lock; /* held for a whole load or unload */
    component_info info;
    int refused; /* with refuse_reason, under snap_lock */
    char refuse_reason[160];
    /* What readers see: a copy of info published after every change under its own
     * short lock, so reading never waits behind a load that takes seconds. */
    pthread_mutex_t snap_lock;
    component_info snap;
};

/* Called with c->lock held. */
static void publish(axiom_component *c) {
    pthread_mutex_lock(&c->snap_lock);
    c->snap = c->info;
    pthread_mutex_unlock(&c->snap_lock);
}

/* One load or unload at a time in the whole process, so an RSS delta is one
 * component's. Not recursive: no load needs another component (the recogniser reads
 * the knowledge pack's text before its load, see stt_engine_refresh_corpus), and one
 * that did would count the inner component's memory in both. Error-checking, so a
 * load started from inside another load on the same thread fails with a message
 * instead of deadlocking. */
static pthread_mutex_t load_lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;

axiom_component *component_new(const component_desc *desc) {
    axiom_component *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->desc = *desc;
    c->info.name = desc->name;
    c->snap = c->info;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->snap_lock, NULL);
    return c;
}

void component_free(axiom_component *c) {
    if (!c) return;
    component_unload(c);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->snap_lock);
    free(c);
}

static int injected_failure(const char *name) {
    const char *list = getenv("AXIOM_FAIL_LOAD");
    if (!list || !*list) return 0;
    size_t nl = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == nl && strncmp(p, name, nl) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* Called with c->lock held. */
static int do_load(axiom_component *c, char *err, size_t errlen) {
    if (c->info.loaded) return 0;
    pthread_mutex_lock(&c->snap_lock);
    int refused = c->refused;
    if (refused) snprintf(err, errlen, "%s: not loaded: %s", c->desc.name, c->refuse_reason);
    pthread_mutex_unlock(&c->snap_lock);
    if (refused) return -1;
    c->info.loading = 1;
    publish(c);
    int nested = pthread_mutex_lock(&load_lock) != 0; /* EDEADLK: inside another load */
    int64_t t0 = now_us();
    int64_t before = proc_rss_bytes(), file_before = proc_rss_file_bytes();
    char why[256] = "";
    int rc;
    if (nested) {
        snprintf(why, sizeof why,
                 "loaded from inside another component's load; load it before that one starts");
        rc = -1;
    } else if (injected_failure(c->desc.name)) {
        snprintf(why, sizeof why, "load failure injected by AXIOM_FAIL_LOAD");
        rc = -1;
    } else {
        rc = c->desc.load(c->desc.ctx, why, sizeof why);
    }
    int64_t after = proc_rss_bytes(), file_after = proc_rss_file_bytes();
    if (!nested) pthread_mutex_unlock(&load_lock);
    c->info.load_us = now_us() - t0;
    c->info.loading = 0;
    if (rc != 0) {
        c->info.fail_count++;
        str_copy(c->info.last_error, sizeof c->info.last_error, why[0] ? why : "load failed");
        publish(c);
        snprintf(err, errlen, "%s: %s", c->desc.name, c->info.last_error);
        LOG_W("component", "%s failed to load: %s", c->desc.name, c->info.last_error);
        return -1;
    }
    c->info.loaded = 1;
    c->info.load_count++;
    c->info.last_error[0] = '\0';
    c->info.resident_bytes = (before >= 0 && after >= 0) ? after - before : 0;
    c->info.mapped_bytes = c->desc.mapped_bytes ? c->desc.mapped_bytes(c->desc.ctx) : 0;
    /* Mapped model pages the load already read count in the RSS delta too (llama.cpp
     * reads a mapped GGUF through at load): they are in mapped_bytes, so take them out
     * of the resident figure, or the governor would count the model twice (measured:
     * 3.9 GB for a 1.9 GB GGUF) and refuse to load it again. */
    if (c->info.mapped_bytes > 0 && file_before >= 0 && file_after > file_before) {
        int64_t file_growth = file_after - file_before;
        c->info.resident_bytes -=
            file_growth < c->info.mapped_bytes ? file_growth : c->info.mapped_bytes;
    }
    publish(c);
    LOG_I("component", "%s loaded in %.1f ms, resident +%.1f MiB", c->desc.name,
          c->info.load_us / 1000.0, c->info.resident_bytes / 1048576.0);
    return 0;
}

int component_acquire(axiom_component *c, char *err, size_t errlen) {
    pthread_mutex_lock(&c->lock);
    int rc = do_load(c, err, errlen);
    if (rc == 0) {
        c->info.in_use++;
        c->info.last_used_ms = now_ms();
        publish(c);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void component_release(axiom_component *c) {
    pthread_mutex_lock(&c->lock);
    if (c->info.in_use > 0) c->info.in_use--;
    c->info.last_used_ms = now_ms();
    publish(c);
    pthread_mutex_unlock(&c->lock);
}

int component_load(axiom_component *c, char *err, size_t errlen) {
    pthread_mutex_lock(&c->lock);
    int rc = do_load(c, err, errlen);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Called with c->lock held. */
static int64_t do_unload(axiom_component *c) {
    if (!c->info.loaded || c->info.in_use > 0) return -1;
    if (pthread_mutex_lock(&load_lock) != 0) return -1; /* inside a load on this thread: busy */
    int64_t before = proc_rss_bytes();
    c->desc.unload(c->desc.ctx);
    malloc_trim(0); /* give freed pages back so the drop is real */
    int64_t after = proc_rss_bytes();
    pthread_mutex_unlock(&load_lock);
    c->info.loaded = 0;
    c->info.unload_count++;
    publish(c);
    int64_t drop = (before >= 0 && after >= 0) ? before - after : 0;
    LOG_I("component", "%s unloaded, resident -%.1f MiB", c->desc.name, drop / 1048576.0);
    return drop;
}

int64_t component_unload(axiom_component *c) {
    pthread_mutex_lock(&c->lock);
    int64_t r = do_unload(c);
    pthread_mutex_unlock(&c->lock);
    return r;
}

int64_t component_unload_if_idle(axiom_component *c, int64_t now) {
    pthread_mutex_lock(&c->lock);
    int64_t r = -1;
    if (c->desc.idle_unload_ms > 0 && c->info.loaded && c->info.in_use == 0 &&
        now - c->info.last_used_ms >= c->desc.idle_unload_ms)
        r = do_unload(c);
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Under the short lock: the governor refuses from its watcher, which must not wait
 * behind a load in progress (the refusal applies to the next load). */
void component_set_refused(axiom_component *c, int refused, const char *reason) {
    pthread_mutex_lock(&c->snap_lock);
    c->refused = refused;
    str_copy(c->refuse_reason, sizeof c->refuse_reason, reason ? reason : "refused");
    pthread_mutex_unlock(&c->snap_lock);
}

int component_is_loaded(const axiom_component *c) {
    axiom_component *m = (axiom_component *)c;
    pthread_mutex_lock(&m->snap_lock);
    int r = m->snap.loaded;
    pthread_mutex_unlock(&m->snap_lock);
    return r;
}

const char *component_name(const axiom_component *c) {
    return c->desc.name;
}
int component_load_order(const axiom_component *c) {
    return c->desc.load_order;
}

void component_get_info(const axiom_component *c, component_info *out) {
    axiom_component *m = (axiom_component *)c;
    pthread_mutex_lock(&m->snap_lock);
    *out = m->snap;
    pthread_mutex_unlock(&m->snap_lock);
}
