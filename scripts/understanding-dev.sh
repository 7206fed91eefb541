#!/usr/bin/env bash
# The understanding benchmark on the DEV questions, quickly (about 3 minutes on two
# cores once its audio is cached): 30 dev questions of the default pack, flite awb and
# rms, clean / babble10 / hiss10 / reverb, plus the dev off-topic sentences.
# Tune on this; the held-out run is `axiom bench understanding` (make bench).
#   DATA=reference|both  another data folder      MISSES=1  print every wrong answer (all: every answer)
#   CONDITIONS=..., VOICES=..., MAX=N             override the defaults below
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
[ -x "$root/$build/bench/bench_understanding" ] || make -C "$root" --no-print-directory -j2 build >/dev/null
export AXIOM_ROOT="$root"
export BENCH_UNDERSTANDING_SET=dev
export BENCH_UNDERSTANDING_DATA="${DATA:-pack}"
export BENCH_UNDERSTANDING_VOICES="${VOICES:-flite:awb,flite:rms}"
export BENCH_UNDERSTANDING_CONDITIONS="${CONDITIONS:-clean,babble10,hiss10,reverb}"
[ -n "${MAX:-}" ] && export BENCH_UNDERSTANDING_MAX="$MAX"
[ "${MISSES:-0}" = 1 ] && export BENCH_UNDERSTANDING_SHOW=misses
[ "${MISSES:-0}" = all ] && export BENCH_UNDERSTANDING_SHOW=all
exec "$root/$build/axiom" bench understanding
