#!/usr/bin/env bash
# TCP echo comparison (bench/peers/README.md, "net/"): the same netbench client drives every
# server, and the table gives, per mode and connection count, each server's ops/s, p99
# latency and CPU time per op.
#
#   bench/peers/net/run.sh                                   Go's echo server (netbench server)
#   SERVER_goro=build/release/bench/goro-echo SERVERS="go goro" bench/peers/net/run.sh
#
# SERVER_<name> is a command line (split on blanks) to which the listen address,
# 127.0.0.1:PORT, is appended; the server must echo every byte back. Its CPU time is read from
# /proc/PID/stat of the process started, so a wrapper must exec the server, not fork it.
# Each server runs with GOMAXPROCS=1 GORO_MAXPROCS=1 pinned to CPU 0, the client with
# GOMAXPROCS=1 pinned to CPU 1 (nothing is pinned on a one-CPU machine). cpu ns/op is the
# server's user + system time over the client's run divided by the client's ops: what the
# server spends per op, whichever side is the bottleneck.
#
# env: REPS=3 (median kept)  MS=3000  CONNS="1 16 256 1024"  SIZE=512  MODES="pingpong stream"
#      SERVERS=go  RAW=/tmp/netbench-raw.txt (client lines; stderr goes to $RAW.err)
#      PEERS_BIN=<repo>/build/peers (where netbench is built)
# Exits 1 if any run failed (its cell shows the median of the runs that did not fail, or -).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
BIN=${PEERS_BIN:-$repo/build/peers}
REPS=${REPS:-3}
MS=${MS:-3000}
SIZE=${SIZE:-512}
CONNS=${CONNS:-1 16 256 1024}
MODES=${MODES:-pingpong stream}
SERVERS=${SERVERS:-go}
RAW=${RAW:-/tmp/netbench-raw.txt}

die() { echo "run.sh: $*" >&2; exit 2; }

for v in REPS MS SIZE; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
for c in $CONNS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "CONNS: '$c' is not a positive integer"; done
for m in $MODES; do [[ $m == pingpong || $m == stream ]] || die "MODES: unknown mode '$m'"; done

# The command of each server, checked before anything runs.
declare -A cmd
for s in $SERVERS; do
  if [[ $s == go ]]; then
    cmd[$s]="$BIN/netbench server"
  else
    [[ $s =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "server name '$s' cannot name a variable SERVER_$s"
    v=SERVER_$s
    [[ -n ${!v:-} ]] || die "server '$s': set SERVER_$s to its command"
    cmd[$s]=${!v}
  fi
done

command -v go >/dev/null || { echo "run.sh: go not found (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$BIN" || exit 1
(cd "$here" && GOPROXY=off GOFLAGS=-mod=mod GOCACHE=${GOCACHE:-$BIN/gocache} \
  go build -o "$BIN/netbench" .) || { echo "run.sh: building netbench failed" >&2; exit 1; }

# 1,024 connections need as many descriptors on each side, plus a few.
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=1048576
ulimit -n "$hard" 2>/dev/null || ulimit -n 65536 2>/dev/null
max_conns=0
for c in $CONNS; do ((c > max_conns)) && max_conns=$c; done
(($(ulimit -n) >= max_conns + 64)) ||
  echo "run.sh: warning: ulimit -n is $(ulimit -n), too low for $max_conns connections" >&2

ncpu=$(nproc)
pin_s=() pin_c=()
if ((ncpu >= 2)) && command -v taskset >/dev/null; then
  pin_s=(taskset -c 0) pin_c=(taskset -c 1)
  where="server on CPU 0, client on CPU 1"
else
  where="nothing pinned"
fi
tck=$(getconf CLK_TCK)

: >"$RAW" || exit 1
: >"$RAW.err"
errtmp=$(mktemp) || exit 1
spid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [[ -n $spid ]] && { kill -KILL "$spid"; wait "$spid"; } 2>/dev/null
  rm -f "$errtmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cpu_ticks PID: the process's user + system time in clock ticks. The fields are counted
# after the command name, which is in parentheses and may hold blanks.
cpu_ticks() {
  local stat f
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || { echo 0; return; }
  read -ra f <<<"${stat##*) }"
  echo $((f[11] + f[12]))
}

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# alive PID: whether the process exists and has not exited (a zombie has).
alive() {
  local stat
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# start_server NAME: starts the server on a free port below the ephemeral range and waits
# until it accepts; sets spid and port. Fails if the server exits or is not up within 10 s.
start_server() {
  local words i
  if [[ $1 == go ]]; then words=("$BIN/netbench" server); else read -ra words <<<"${cmd[$1]}"; fi
  for _ in 1 2 3; do
    port=$((20000 + RANDOM % 12000))
    listening "$port" && continue
    env GOMAXPROCS=1 GORO_MAXPROCS=1 "${pin_s[@]}" "${words[@]}" "127.0.0.1:$port" \
      >/dev/null 2>>"$RAW.err" &
    spid=$!
    for ((i = 0; i < 1000; i++)); do
      listening "$port" && return 0
      alive "$spid" || break
      sleep 0.01
    done
    stop_server
    ((i < 1000)) || break # up but not accepting: another port will not help
  done
  echo "run.sh: server '$1' did not start accepting (command: ${cmd[$1]})" >&2
  return 1
}

# stop_server: SIGTERM, then SIGKILL after 2 s, then reap.
stop_server() {
  local i
  [[ -n $spid ]] || return 0
  kill -TERM "$spid" 2>/dev/null
  for ((i = 0; i < 200; i++)); do alive "$spid" || break; sleep 0.01; done
  alive "$spid" && kill -KILL "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  spid=""
}

# field KEY LINE: the value of KEY=value in LINE.
field() {
  local w words
  read -ra words <<<"$2"
  for w in "${words[@]}"; do [[ $w == "$1="* ]] && { echo "${w#*=}"; return; }; done
}

# median: of the numbers on stdin, one a line (the lower middle one for an even count), or -.
median() { sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }

failed=0
declare -A ops p99 cpu # "mode conns server" -> one value per successful run, a line each
for mode in $MODES; do
  for c in $CONNS; do
    for ((r = 1; r <= REPS; r++)); do
      for s in $SERVERS; do # servers alternate, so drift of the machine hits them alike
        k="$mode $c $s"
        [[ -t 2 ]] && printf '\r%-60s\r' "$k rep $r/$REPS" >&2
        start_server "$s" || { failed=1; continue; }
        t0=$(cpu_ticks "$spid")
        line=$(env GOMAXPROCS=1 "${pin_c[@]}" "$BIN/netbench" client "127.0.0.1:$port" \
          "$c" "$SIZE" "$MS" "$mode" 2>"$errtmp")
        rc=$?
        t1=$(cpu_ticks "$spid")
        alive "$spid" || { echo "run.sh: server '$s' died during $k" >&2; rc=1; }
        stop_server
        sed "s/^/$s $mode conns=$c: /" "$errtmp" >>"$RAW.err"
        [[ -n $line ]] && echo "$s $line" >>"$RAW"
        n=$(field ops "$line")
        if ((rc != 0)) || ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
          echo "FAIL: $s $mode conns=$c rep $r: client exit $rc (see $RAW.err)" >&2
          failed=1
          continue
        fi
        ops[$k]+="$(field ops_per_s "$line")"$'\n'
        p99[$k]+="$(field p99_us "$line")"$'\n'
        cpu[$k]+="$(awk -v d=$((t1 - t0)) -v t="$tck" -v n="$n" 'BEGIN { printf "%.0f", d * 1e9 / t / n }')"$'\n'
      done
    done
  done
done
[[ -t 2 ]] && printf '\r%-60s\r' "" >&2

# The layout below is parsed by the report generator: keep it as it is.
printf 'TCP echo, %s-byte messages, %s ms per run, median of %s runs (%s CPUs; %s)\n' \
  "$SIZE" "$MS" "$REPS" "$ncpu" "$where"
printf '%-9s %6s' mode conns
for s in $SERVERS; do printf ' %14s %9s %11s' "$s ops/s" "p99 us" "cpu ns/op"; done
echo
for mode in $MODES; do
  for c in $CONNS; do
    printf '%-9s %6s' "$mode" "$c"
    for s in $SERVERS; do
      k="$mode $c $s"
      o=$(grep . <<<"${ops[$k]:-}" | median)
      l=$(grep . <<<"${p99[$k]:-}" | median)
      u=$(grep . <<<"${cpu[$k]:-}" | median)
      [[ $mode == stream ]] && l=-
      printf ' %14s %9s %11s' "$o" "$l" "$u"
    done
    echo
  done
done
echo "raw lines: $RAW"
exit "$failed"
