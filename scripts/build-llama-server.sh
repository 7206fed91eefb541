#!/usr/bin/env bash
# Builds llama-server from the llama.cpp source bundle that scripts/install-deps.sh
# unpacked (deps/llama-src/llama/gitRelease.bundle), for the OpenAI-compatible backend's
# tests and benchmark: a real server on loopback serving a real tiny model.
#
# The binary is cached as deps/llama-server/<bundle sha256>/llama-server, so a second
# run costs one checksum. Only the llama-server target is built (about 7.5 min on 2
# cores), statically linked so the cached binary needs nothing from the build tree,
# offline (no curl, no downloaded web UI). A lock keeps two worktrees sharing deps/
# from building at the same time; a half-finished build never counts as cached.
#
# Usage: scripts/build-llama-server.sh [--cached]
#   prints the binary's path on stdout and exits 0; exits 1 with the reason on stderr.
#   --cached  never build: only report the cached binary (what the tests call).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bundle="$root/deps/llama-src/llama/gitRelease.bundle"
say() { printf 'build-llama-server: %s\n' "$*" >&2; }

[ -f "$bundle" ] || { say "no source bundle at $bundle; run scripts/install-deps.sh"; exit 1; }
for tool in git cmake c++ sha256sum flock; do
  command -v "$tool" >/dev/null 2>&1 || { say "'$tool' is missing; install it (apt-get install git cmake g++ coreutils util-linux)"; exit 1; }
done

sum=$(sha256sum "$bundle" | cut -c1-16)
out_dir="$root/deps/llama-server/$sum"
bin="$out_dir/llama-server"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
if [ "${1:-}" = "--cached" ]; then
  say "not built yet; run scripts/build-llama-server.sh (or make test) once"
  exit 1
fi

mkdir -p "$root/deps/llama-server"
exec 9>"$root/deps/llama-server/.lock"
say "waiting for the build lock" && flock 9
# Another process may have finished the build while this one waited.
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

work="$root/deps/llama-server/build-$sum"
src="$work/src"
if [ ! -f "$src/CMakeLists.txt" ]; then
  rm -rf "$work"
  mkdir -p "$work"
  git clone -q "$bundle" "$src" 2>/dev/null
fi
jobs=${LLAMA_BUILD_JOBS:-2}
say "building llama-server from $(git -C "$src" rev-parse --short HEAD) with $jobs jobs (several minutes on 2 cores)"
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
cmake -S "$src" -B "$work/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DGGML_NATIVE=OFF \
  >"$work/cmake.log" 2>&1 || { say "cmake failed; see $work/cmake.log"; tail -20 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" --target llama-server -j "$jobs" >"$work/build.log" 2>&1 ||
  { say "build failed; see $work/build.log"; tail -30 "$work/build.log" >&2; exit 1; }
built=$(find "$work/build" -type f -name llama-server -perm -u+x | head -1)
[ -n "$built" ] || { say "the build finished but produced no llama-server binary"; exit 1; }
mkdir -p "$out_dir.tmp"
cp "$built" "$out_dir.tmp/llama-server"
rm -rf "$out_dir" && mv "$out_dir.tmp" "$out_dir"
rm -rf "$work"
say "cached $bin"
echo "$bin"
