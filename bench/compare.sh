#!/usr/bin/env bash
# Times goro against the peers of bench/peers (Go, Boost.Fiber) on their workloads, runs the
# scale curves, and regenerates docs/benchmarks.md and docs/bench/ratios.svg. Needs nothing
# outside the repository (bench/peers/build.sh installs golang-go and Boost.Fiber if missing).
#
#   bench/compare.sh [BUILD_DIR] [WORKLOAD...]
#
#   BUILD_DIR   a configured or new build directory (default: the release preset, build/release)
#   WORKLOAD    a subset of run.sh's rows (default: all)
#   env         REPS=5 (runs per cell, median kept)
#               GORO_PEERS_DIR=bench/peers (another folder with the same build.sh and run.sh,
#               e.g. the reference peers in ../shared/peers)
#               SCALE=0 skips goro-scale; MICRO=1 also runs goro-micro at 1 and 2 workers
#               OUT=docs/bench (where the raw files go)  MD=docs/benchmarks.md (the report)
#
# Takes about 8-10 minutes with REPS=5 on 2 cores. Run it on an otherwise idle machine: the
# load average before and after goes into the report, so a noisy run is visible.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS_DIR=$(cd "${GORO_PEERS_DIR:-$ROOT/bench/peers}" && pwd)
OUT=${OUT:-$ROOT/docs/bench}
REPS=${REPS:-5}
MD=${MD:-$ROOT/docs/benchmarks.md}

# The first argument is a build directory when it names a directory or contains a slash.
if [ $# -gt 0 ] && { [[ "$1" == */* ]] || [ -d "$1" ]; }; then
  BUILD=$(mkdir -p "$1" && cd "$1" && pwd)
  shift
  if [ ! -e "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG" >/dev/null
  fi
  cmake --build "$BUILD" --target goro-bench goro-scale
else
  BUILD=$ROOT/build/release
  (cd "$ROOT" && cmake --preset release >/dev/null &&
    cmake --build --preset release --target goro-bench goro-scale)
fi
"$PEERS_DIR/build.sh"

mkdir -p "$OUT"
RAW=$OUT/raw.txt
# The revision measured; "+dirty" for uncommitted changes outside this script's own outputs
# (checked before machine.txt, one of them, is rewritten below).
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
  git -C "$ROOT" diff --quiet HEAD -- . ':!docs/bench' ':!docs/benchmarks.md' 2>/dev/null ||
    echo '+dirty')"
{
  echo "date: $(date -u '+%F %T UTC')"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -r)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "mem: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "compiler: $(sed -n 's/^CMAKE_CXX_COMPILER:[^=]*=//p' "$BUILD/CMakeCache.txt") $(
    sed -n 's/^CMAKE_BUILD_TYPE:[^=]*=//p' "$BUILD/CMakeCache.txt")"
  echo "go: $(go version | cut -d' ' -f3)"
  echo "goro: $REV"
  echo "reps: $REPS"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

set +e
PEER_goro="env -u GORO_MAXPROCS $BUILD/bench/goro-bench" \
  PEER_goro1="env GORO_MAXPROCS=1 $BUILD/bench/goro-bench" \
  PEERS="go go1 fiber fiber1 goro goro1" REPS=$REPS RAW=$RAW \
  "$PEERS_DIR/run.sh" "$@" | tee "$OUT/table.txt"
rc=${PIPESTATUS[0]}
set -e
[ -s "$RAW.err" ] || rm -f "$RAW.err"  # run.sh keeps the stderr of failed runs there
echo "load after peers: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

# The OS boundary's yardsticks, which only goro-bench has: syscall_raw (getppid from two plain
# threads, the floor the syscall row is measured against) and idle_cpu (the CPU a program
# sleeping 1 s burns). REPS runs each, alternating.
if [ "${OS:-1}" != 0 ] && { (($# == 0)) || [[ " $* " == *" syscall "* ]]; }; then
  : >"$OUT/os.txt"
  for _ in $(seq "$REPS"); do
    for wl in syscall_raw idle_cpu; do
      echo "goro $("$BUILD/bench/goro-bench" "$wl")" >>"$OUT/os.txt" || rc=1
    done
  done
  cat "$OUT/os.txt"
fi

if [ "${SCALE:-1}" != 0 ]; then
  {
    env -u GORO_MAXPROCS "$BUILD/bench/goro-scale"
    echo
    env GORO_MAXPROCS=1 "$BUILD/bench/goro-scale"
  } | tee "$OUT/scale.txt" || rc=1
  echo "load after scale: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
fi

if [ "${MICRO:-0}" != 0 ]; then
  cmake --build "$BUILD" --target goro-micro
  {
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for p in 1 2; do
      GORO_MAXPROCS=$p "$BUILD/bench/goro-micro" --benchmark_repetitions=3 \
        --benchmark_report_aggregates_only=true 2>&1
    done
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  } | tee "$OUT/micro.txt"
  # Go's own sync and context benchmarks beside goro-micro's BM_go_* ports, alternating, at 2
  # processors each (Go's default here): go test runs them offline from GOROOT's sources.
  gobench_re='^Benchmark(RWMutexUncontended|MutexUncontended|Once|Cond32|CancelTree|ContextCancelDone|WithTimeout)$'
  {
    for _ in 1 2 3; do
      (cd "$(go env GOROOT)/src" && GOFLAGS=-mod=mod GOPROXY=off \
        go test -run XXX -bench "$gobench_re" -benchtime 1s sync context 2>&1 |
        grep '^Benchmark' | sed 's/^/go /')
      GORO_MAXPROCS=2 "$BUILD/bench/goro-micro" --benchmark_filter='BM_go_' 2>&1 |
        grep '^BM_go_' | sed 's/^/goro /'
    done
  } | tee "$OUT/gomicro.txt"
fi

python3 "$ROOT/bench/report.py" --dir "$OUT" --out "$MD" \
  --svg "$OUT/ratios.svg"
echo "wrote $MD and $OUT/ratios.svg (raw lines: $RAW)"
exit $rc
