#!/usr/bin/env bash
# Usage: scripts/peers-smoke.sh
# The benchmark comparison as a user runs it from a fresh clone, at a hundredth of its N:
# bench/compare.sh (which builds bench/peers' Go and Boost.Fiber peers and the release preset's
# goro-bench, runs every row for every peer, and regenerates the report) into a scratch folder,
# then bench/peers/net/run.sh for Go's echo server and goro-echo with short runs. A CI phase:
# what it proves is that the scripts, the peers and the report still work, not any figure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

NDIV=100 REPS=1 SCALE=0 OUT="$out" MD="$out/benchmarks.md" RAW="$out/raw.txt" \
  "$root/bench/compare.sh"
grep -q '^| pingpong ' "$out/benchmarks.md" || { echo "peers-smoke: no table in the report" >&2; exit 1; }
# Every row for every peer that runs it: 14 rows (11 channel rows, 3 OS-boundary ones) for Go and
# goro at 1 and 2 processors, 11 for Boost.Fiber's two configurations.
lines=$(grep -c . "$out/raw.txt")
((lines == 4 * 14 + 2 * 11)) || { echo "peers-smoke: $lines raw lines, want $((4 * 14 + 2 * 11))" >&2; exit 1; }

cmake --build "$root/build/release" --target goro-echo
MS=200 REPS=1 CONNS="1 16" RAW="$out/net.txt" SERVER_goro="$root/build/release/bench/goro-echo" \
  SERVERS="go goro" "$root/bench/peers/net/run.sh"
lines=$(grep -c . "$out/net.txt")
((lines == 2 * 2 * 2)) || { echo "peers-smoke: $lines echo lines, want 8" >&2; exit 1; }
echo "peers-smoke: ok"
