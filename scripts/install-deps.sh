#!/usr/bin/env bash
# Installs everything AXIOM builds and runs with, on a fresh Debian 12 machine.
#
# Debian packages come from apt; the few runtimes Debian lacks (sherpa-onnx, the
# Silero VAD model, prebuilt llama.cpp, and playwright-core, which drives Debian's
# chromium in the browser test) come from pinned npm tarballs, used only as a download
# channel: no install scripts run. Tarballs are checked against the sha256
# below, cached in deps/cache/, and only the files AXIOM needs are unpacked into deps/.
#
# Idempotent: when everything is present it checks and exits in well under 2 s,
# downloading nothing. Usage: scripts/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deps="$root/deps"
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# Debian packages, by role.
APT_PACKAGES=(
  build-essential pkg-config clang libclang-rt-14-dev   # compilers, sanitizer runtimes
  clang-format                                            # make format, make format-check
  libpocketsphinx-dev pocketsphinx-en-us pocketsphinx     # embedded speech-to-text (+ pocketsphinx_continuous, the speed reference)
  flite1-dev                                              # embedded text-to-speech
  libcivetweb-dev                                         # HTTP + WebSocket server
  libcurl4-openssl-dev                                    # LLM server clients
  libcjson-dev                                            # JSON
  libutf8proc-dev                                         # UTF-8 validation of transcripts and typed text
  libinih-dev                                             # the configuration file's INI syntax
  libsqlite3-dev                                          # knowledge index, history
  libsndfile1-dev libsamplerate0-dev                      # audio files, resampling
  libspeexdsp-dev                                         # noise suppression before the recogniser
  libavahi-client-dev                                     # Wyoming service discovery (zeroconf)
  avahi-daemon avahi-utils dbus                           # the discovery test's own daemon and browser
  python3                                                 # runs the Wyoming reference client (../shared) in the tests
  pocketsphinx-testdata espeak-ng espeak-ng-data libespeak-ng-dev sox  # test speech
  valgrind git curl                                       # leak checks, bundle unpacking
  cmake                                                   # llama-server for the LLM tests (scripts/build-llama-server.sh)
  python3-onnx python3-numpy                              # random-weight stand-in models (scripts/make-standin-models)
  chromium                                                # browser UI end-to-end test
)

# npm tarballs: name@version sha256 then the members to unpack (relative to package/).
NPM_PINS=(
  "sherpa-onnx-linux-x64@1.13.8 13291bcd825da5858ca27a35443e9a2c229a40616c0910086de2db12c5c9312c sherpa-onnx libsherpa-onnx-c-api.so libonnxruntime.so"
  "@ricky0123/vad-web@0.0.31 d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940 silero dist/silero_vad_v5.onnx dist/silero_vad_legacy.onnx"
  "@node-llama-cpp/linux-x64@3.21.1 4b5b65a8b2611d8af94349b02d815c0f424a30a0a19aef2be5db25ecfef6730f llama bins/linux-x64"
  "node-llama-cpp@3.21.1 7a231d6bafa14142a1cbed9893d4ec5bc6041b2a5f5939a623accaab4203c11f llama-src llama/gitRelease.bundle"
  "playwright-core@1.65.1 6f5a60be62a4fddfbe7d10c448d8fbd54547da3358f2f8a04211440471ee863e playwright-core package.json index.js index.mjs lib LICENSE NOTICE browsers.json"
)

say() { printf 'install-deps: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

missing_apt=()
for p in "${APT_PACKAGES[@]}"; do
  case "$p" in \#*) continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing_apt+=("$p")
done

# npm is only the download channel for the tarballs; the machine's Node.js ships it,
# otherwise Debian's package does.
if ! command -v npm >/dev/null 2>&1; then missing_apt+=(npm); fi

missing_npm=()
for pin in "${NPM_PINS[@]}"; do
  read -r spec sum dest _ <<<"$pin"
  [ -f "$deps/$dest/.sha256" ] && [ "$(cat "$deps/$dest/.sha256")" = "$sum" ] || missing_npm+=("$pin")
done

# llama.cpp headers come out of the source bundle (a git bundle inside the tarball).
need_headers=0
[ -f "$deps/llama/include/llama.h" ] || need_headers=1

if [ ${#missing_apt[@]} -eq 0 ] && [ ${#missing_npm[@]} -eq 0 ] && [ $need_headers -eq 0 ]; then
  exit 0
fi
if [ $check_only -eq 1 ]; then
  [ ${#missing_apt[@]} -gt 0 ] && say "missing Debian packages: ${missing_apt[*]}"
  for pin in "${missing_npm[@]}"; do say "missing npm tarball: ${pin%% *}"; done
  [ $need_headers -eq 1 ] && say "missing llama.cpp headers in deps/llama/include"
  exit 1
fi

if [ ${#missing_apt[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "Debian packages missing (${missing_apt[*]}); run as root or: sudo apt-get install ${missing_apt[*]}"
  say "installing Debian packages: ${missing_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: no package index"
  apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null \
    || die "apt-get could not install: ${missing_apt[*]}"
fi

mkdir -p "$deps/cache"
exec 9>"$deps/.lock"
flock 9

for pin in "${missing_npm[@]}"; do
  read -r spec sum dest members <<<"$pin"
  name=${spec%@*}; ver=${spec##*@}
  tgz="$deps/cache/$(printf '%s' "${name#@}" | tr '/' '-')-$ver.tgz"
  if [ ! -f "$tgz" ] || [ "$(sha256sum "$tgz" | cut -d' ' -f1)" != "$sum" ]; then
    say "downloading $spec"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack "$spec" --silent >/dev/null 2>"$tmp/err") \
      || die "npm could not fetch $spec: $(cat "$tmp/err")"
    mv "$tmp"/*.tgz "$tgz"; rm -rf "$tmp"
  fi
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  [ "$got" = "$sum" ] || { rm -f "$tgz"; die "$spec: sha256 $got does not match the pinned $sum"; }
  rm -rf "${deps:?}/$dest"; mkdir -p "$deps/$dest"
  paths=(); for m in $members; do paths+=("package/$m"); done
  tar -xzf "$tgz" -C "$deps/$dest" --strip-components=1 "${paths[@]}" \
    || die "$tgz lacks one of: $members"
  echo "$sum" > "$deps/$dest/.sha256"
  say "unpacked $spec into deps/$dest"
done

if [ ! -f "$deps/llama/include/llama.h" ]; then
  say "extracting llama.cpp headers from the source bundle"
  tmp=$(mktemp -d)
  git -c advice.detachedHead=false clone -q "$deps/llama-src/llama/gitRelease.bundle" "$tmp/llama.cpp" \
    || die "could not clone deps/llama-src/llama/gitRelease.bundle"
  mkdir -p "$deps/llama/include"
  cp "$tmp/llama.cpp/include/"*.h "$tmp/llama.cpp/ggml/include/"*.h "$deps/llama/include/"
  rm -rf "$tmp"
fi
say "all dependencies present"
