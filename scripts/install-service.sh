#!/bin/sh
# Installs the built AXIOM as a systemd service: the binary, the pack, the web page and
# the run-time parts of deps/ under /opt/axiom, the unit in /etc/systemd/system, and
# the service user. These are the steps of README, section systemd, and of the unit's
# header; tests/test_systemd_unit.c runs this script into a staging folder and starts
# the installed unit's ExecStart from there.
#
# Usage: scripts/install-service.sh                 as root: install and reload systemd
#        scripts/install-service.sh --destdir DIR   stage under DIR (no user, no systemctl)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest=""
if [ "${1:-}" = "--destdir" ]; then
  [ -n "${2:-}" ] || { echo "usage: $0 [--destdir DIR]" >&2; exit 2; }
  dest=$(cd "$2" && pwd)
fi
bin="${AXIOM_BIN:-$root/build/axiom}"
[ -x "$bin" ] || { echo "no $bin: build first (make build)" >&2; exit 1; }
prefix="$dest/opt/axiom"
mkdir -p "$prefix/build" "$prefix/deps" "$dest/etc/systemd/system"
cp "$bin" "$prefix/build/axiom"
rm -rf "$prefix/data" "$prefix/web"
cp -r "$root/data" "$root/web" "$root/README.md" "$prefix/"
# Only what runs: the VAD model and the sherpa-onnx and llama.cpp libraries (not the
# sources, the llama-server build or the download cache).
for d in silero sherpa-onnx llama; do
  if [ -e "$root/deps/$d" ]; then
    rm -rf "$prefix/deps/$d"
    cp -rL "$root/deps/$d" "$prefix/deps/$d"
  fi
done
cp "$root/contrib/axiom.service" "$dest/etc/systemd/system/axiom.service"
if [ -z "$dest" ]; then
  id axiom >/dev/null 2>&1 || useradd --system --home /var/lib/axiom --shell /usr/sbin/nologin axiom
  systemctl daemon-reload
  echo "installed: systemctl enable --now axiom; settings (optional) in /etc/axiom/axiom.conf"
else
  echo "staged under $dest"
fi
