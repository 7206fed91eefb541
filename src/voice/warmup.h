/* Warm-up: when a voice session opens, the components its first spoken turn needs
 * are loaded and exercised in the background (warmup.c). */
#ifndef AXIOM_VOICE_WARMUP_H
#define AXIOM_VOICE_WARMUP_H

#include "core/engine.h"

typedef struct warmup warmup;

/* The engine is borrowed and must outlive the warm-up. Returns NULL when out of memory. */
warmup *warmup_new(axiom_engine *e);
/* Waits for a warm-up in progress, then frees. */
void warmup_free(warmup *w);
/* Never blocks: starts the warm-up thread unless one is running or everything is
 * already warm. Any thread. */
void warmup_request(warmup *w);
/* 1 while the warm-up thread is running (tests, status). */
int warmup_running(warmup *w);

#endif
