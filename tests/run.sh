#!/usr/bin/env bash
# Runs every test program in BUILD/tests and adds their counts up. Each program's
# output goes to BUILD/test-logs/<name>.log; failures print their log.
# With CI=true a skip whose reason is not on tests/skip-allowlist.txt fails its test
# (tests/check.h); the skips that remain are listed at the end with why each is allowed.
# Usage: tests/run.sh BUILD [name-filter]
set -u
build=${1:-build}
filter=${2:-${TEST:-}}
root=$(cd "$(dirname "$0")/.." && pwd)
export AXIOM_ROOT="$root"
export AXIOM_BIN="${AXIOM_BIN:-$root/$build/axiom}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
logs="$root/$build/test-logs"
mkdir -p "$logs"
passed=0 failed=0 skipped=0 broken=() skips=()
allowlist="$root/tests/skip-allowlist.txt"
# The allowlist's reason for a skip line, or "" when no pattern matches.
allowed_why() {
  local reason=$1 pat why
  [ -f "$allowlist" ] || return 0
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    pat=${line%% | *}; why=${line#* | }
    [ "$pat" != "$line" ] && [ -n "$pat" ] && [[ "$reason" == *"$pat"* ]] && { echo "$why"; return 0; }
  done <"$allowlist"
}
for t in "$root/$build"/tests/test_*; do
  [ -x "$t" ] && [ -f "$t" ] || continue
  case "$t" in *.o|*.d) continue ;; esac
  name=$(basename "$t")
  [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
  start=$(date +%s%N)
  timeout "${TEST_TIMEOUT:-900}" "$t" >"$logs/$name.log" 2>&1
  rc=$?
  secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$logs/$name.log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line"); s=${s:-0}
  else
    p=0 f=1 s=0
  fi
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or a sanitizer stopped it
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$f" -gt 0 ]; then
    broken+=("$name")
    echo "FAIL $name (exit $rc, ${secs}s); log $logs/$name.log:"
    tail -n 60 "$logs/$name.log" | sed 's/^/    /'
  else
    echo "ok   $name: $p passed, $s skipped (${secs}s)"
    grep -E '^  skip: ' "$logs/$name.log" | sed 's/^/    /'
  fi
  while IFS= read -r line; do skips+=("$name: ${line#  skip: }"); done < <(grep -E '^  skip: ' "$logs/$name.log")
done
if [ ${#skips[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then
    echo "skips under CI=true (only those on tests/skip-allowlist.txt pass):"
  else
    echo "skips (with CI=true, those not marked allowed fail the run):"
  fi
  for sk in "${skips[@]}"; do
    why=$(allowed_why "$sk")
    if [ -n "$why" ]; then echo "  allowed  $sk  -- $why"; else echo "  NOT allowed  $sk"; fi
  done
fi
[ ${#broken[@]} -gt 0 ] && echo "failed programs: ${broken[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
