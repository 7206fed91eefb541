#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each and prints executions and crashes per target.
# Seeds: fuzz/seeds/<target>/ (small files written for AXIOM) plus real files found at
# run time (the default pack, ../shared audio and reference data when present).
# A crash leaves its input in BUILD/crashes/<target>/ and makes the run fail: turn it
# into a regression test, then fix it.
# fuzz_server_ws runs FUZZ_WS_RUNS inputs instead of SECONDS when that is set above 0
# (make fuzz: 1,000,000), and fails when its inputs never reached the recogniser.
# Usage: fuzz/run.sh BUILD SECONDS [target]
set -u
build=${1:-build-fuzz}
secs=${2:-60}
only=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
shared="${AXIOM_SHARED_DIR:-$root/../shared}"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export AXIOM_LOG_LEVEL=off AXIOM_ROOT="$root"

seed_real() { # target corpus-dir: copies real inputs of that kind into the run's corpus
  local t=$1 dir=$2
  case "$t" in
    fuzz_config) cp "$root"/contrib/*.conf "$dir/" 2>/dev/null ;;
    fuzz_labelled_tsv)
      [ -f "$root/data/utterances.tsv" ] && { printf '\0'; head -c 20000 "$root/data/utterances.tsv"; } >"$dir/pack-tsv"
      [ -f "$shared/axiom-reference/data/production_dataset.json" ] && { printf '\1'; head -c 20000 "$shared/axiom-reference/data/production_dataset.json"; } >"$dir/ref-json" ;;
    fuzz_lm_build) # pack sentences, one a line, and pronunciation hints (word<TAB>phones)
      [ -f "$root/data/utterances.tsv" ] && grep -v "^#" "$root/data/utterances.tsv" | cut -f2 | head -200 >"$dir/utterances"
      [ -f "$root/data/pronunciations.tsv" ] && head -50 "$root/data/pronunciations.tsv" >"$dir/hints" ;;
    fuzz_wav*) for w in "$shared"/audio/*.wav; do [ -f "$w" ] && head -c 65536 "$w" >"$dir/$(basename "$w")"; done ;;
    fuzz_pack) # the first byte selects the file the input stands for (see fuzz_pack.c)
      local names=(items.json templates.json facts.json responses.json pronunciations.tsv
                   utterances.tsv pack.json template_database.json rag_knowledge_base.json
                   inventory.json project_ideas_rag.json carousel_mapping.json
                   production_dataset.json) i f
      for i in "${!names[@]}"; do
        for f in "$root/data/${names[$i]}" "$shared/axiom-reference/data/${names[$i]}"; do
          [ -f "$f" ] || continue
          { printf "\\x$(printf %02x "$i")"; head -c 60000 "$f"; } >"$dir/$i-$(basename "$f")"
        done
      done ;;
  esac
  return 0
}

printf '%-24s %12s %8s %s\n' target executions crashes result
status=0
for bin in "$root/$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  case "$bin" in *.o|*.d) continue ;; esac
  t=$(basename "$bin")
  [ -n "$only" ] && [ "$t" != "$only" ] && [ "$t" != "fuzz_$only" ] && continue
  corpus="$root/$build/corpus/$t"; crashes="$root/$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  [ -d "$root/fuzz/seeds/$t" ] && cp -n "$root/fuzz/seeds/$t"/* "$corpus/" 2>/dev/null
  seed_real "$t" "$corpus"
  log="$root/$build/$t.log"
  limit=(-max_total_time="$secs")
  if [ "$t" = fuzz_server_ws ]; then
    # The server's threads allocate while an input runs, so libFuzzer would run a full
    # leak check after almost every input (milliseconds each, with a large heap);
    # leaks in the server are LeakSanitizer's job at the exit of the ASan test runs.
    # RSS limit: FUZZ_WS_RSS_MB (default 4096: the ASan build with the models loaded
    # idles near 1 GB). Its RSS under ASan has jumped past 2 GB within a few hundred
    # inputs while the live heap was 47 MB (README, Hardening), not yet explained.
    limit+=(-detect_leaks=0 -rss_limit_mb="${FUZZ_WS_RSS_MB:-4096}")
    [ "${FUZZ_WS_RUNS:-0}" -gt 0 ] && limit=(-runs="$FUZZ_WS_RUNS" -detect_leaks=0 -rss_limit_mb="${FUZZ_WS_RSS_MB:-4096}")
  fi
  start=$(date +%s)
  "$bin" -rss_limit_mb=2048 "${limit[@]}" -print_final_stats=1 -timeout=10 \
    -max_len=65536 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  ncrash=$(find "$crashes" -type f | wc -l)
  if [ $rc -ne 0 ] || [ "$ncrash" -gt 0 ]; then
    status=1
    printf '%-24s %12s %8s %s\n' "$t" "${execs:-?}" "$ncrash" "FAILED (log $log)"
    grep -m5 -E "ERROR|SUMMARY|runtime error" "$log" | sed 's/^/    /'
  else
    printf '%-24s %12s %8s %s\n' "$t" "${execs:-?}" "$ncrash" "ok (${took}s)"
  fi
  if [ "$t" = fuzz_server_ws ]; then
    reach=$(grep -m1 '^fuzz_server_ws: ' "$log")
    echo "    ${reach:-fuzz_server_ws: no reach report}"
    runs=$(sed -nE 's/.*recogniser runs (-?[0-9]+).*/\1/p' <<<"$reach")
    if [ "${runs:-0}" -le 0 ]; then
      status=1
      echo "    FAILED: no input reached the recogniser"
    fi
  fi
done
exit $status
