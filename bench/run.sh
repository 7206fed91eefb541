#!/usr/bin/env bash
# make bench: prints every benchmark's figures, with the machine they ran on.
set -u
build=${1:-build}
[ $# -gt 0 ] && shift   # the rest are benchmark names
root=$(cd "$(dirname "$0")/.." && pwd)
export AXIOM_ROOT="$root"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
"$root/$build/axiom" bench "$@"
