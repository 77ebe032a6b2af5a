#!/usr/bin/env bash
# Times every workload of README.md for every peer and prints a table of median ns_per_op.
# The repetitions alternate between peers (rep 1 of each peer, then rep 2 of each ...), so a
# slow spell of a noisy machine spreads over all columns instead of landing on one.
#
#   bench/peers/run.sh [WORKLOAD|ROW...]      (default: every row)
#   env  REPS=3  PEERS="go go1 fiber fiber1"  RAW=/tmp/peers-raw.txt  PEERS_BIN (see build.sh)
#        NDIV=1 divides every N (NDIV=100: a smoke run of a few seconds, nothing to quote)
#        PEER_<name>=<command prefix>  adds a peer that runs Go's N, e.g.
#        PEER_goro=build/release/bench/goro-bench PEERS="go goro" bench/peers/run.sh spsc
#
# Peers: go = gobench with GOMAXPROCS unset (Go's default: one per CPU), go1 = GOMAXPROCS=1,
# fiber = fiberbench, work_stealing on 2 threads, fiber1 = round_robin on 1 thread. Every
# output line goes to $RAW prefixed by its peer; stderr of failed runs to $RAW.err. A failed
# run (its check, or a timeout of 300 s) shows as FAIL and makes the exit status 1.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PEERS_BIN=${PEERS_BIN:-$here/../../build/peers}
"$here/build.sh" >/dev/null || exit 1
BIN=$(cd "$PEERS_BIN" && pwd)
REPS=${REPS:-3}
NDIV=${NDIV:-1}
PEERS=${PEERS:-go go1 fiber fiber1}
RAW=${RAW:-/tmp/peers-raw.txt}
: >"$RAW"
: >"$RAW.err"

# row         workload  N for Go    N for Boost.Fiber ("-": not run)
rows="
pingpong      pingpong  1000000     1000000
spsc          spsc      10000000    10000000
mpmc          mpmc      10000000    10000000
fanin         fanin     2000000     2000000
select2       select2   10000000    10000000
spawn         spawn     1000000     100000
idle          idle      100000      100000
sieve         sieve     3000        3000
sieve@500     sieve     500         500
workers       workers   2000000     2000000
timers        timers    10000       10000
syscall       syscall   4000000     -
blocking      blocking  200         -
hog           hog       20          -
"
# Boost.Fiber's spawn runs 100k: its 128 KiB malloc'ed stacks make 1M fibers take about 20 s
# and 9 GB. The OS-boundary rows exist only for runtimes that step aside for blocking calls.

prefix() {  # peer -> the command that runs it, without the workload
  case $1 in
    go) echo "env -u GOMAXPROCS $BIN/gobench" ;;
    go1) echo "env GOMAXPROCS=1 $BIN/gobench" ;;
    fiber) echo "env FIBER_THREADS=2 $BIN/fiberbench" ;;
    fiber1) echo "env FIBER_THREADS=1 $BIN/fiberbench" ;;
    *)
      local var="PEER_$1"
      [ -n "${!var:-}" ] || { echo "run.sh: unknown peer $1 (set PEER_$1 to its command)" >&2; return 2; }
      echo "${!var}"
      ;;
  esac
}
for p in $PEERS; do prefix "$p" >/dev/null || exit 2; done

get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
lower_median() { sort -g | awk 'NF {v[++n] = $1} END {print n ? v[int((n + 1) / 2)] : "-"}'; }
num() { awk -v x="$1" 'BEGIN {if (x !~ /^[0-9.]+$/) print x; else if (x >= 100) printf "%.0f", x; else printf "%.1f", x}'; }
abbrev() { awk -v n="$1" 'BEGIN {if (n !~ /^[0-9]+$/) print n; else if (n >= 1e6 && n % 1e6 == 0) print n / 1e6 "M"; else if (n >= 1e3 && n % 1e3 == 0) print n / 1e3 "k"; else print n}'; }

declare -A samples  # "row|peer|field" -> newline-separated values, or FAIL
selected=()
failed=0
while read -r row wl ngo nfiber; do
  [ -n "$row" ] || continue
  if (($#)) && [[ " $* " != *" $row "* && " $* " != *" $wl "* ]]; then continue; fi
  div() { if [ "$1" = - ]; then echo -; else echo $((($1 + NDIV - 1) / NDIV)); fi; }
  selected+=("$row $wl $(div "$ngo") $(div "$nfiber")")
done <<<"$rows"

for ((rep = 1; rep <= REPS; rep++)); do
  for r in "${selected[@]}"; do
    read -r row wl ngo nfiber <<<"$r"
    for p in $PEERS; do
      n=$ngo
      [[ $p == fiber* ]] && n=$nfiber
      [ "$n" != - ] || continue
      [ "${samples[$row|$p|ns]:-}" != FAIL ] || continue
      # shellcheck disable=SC2046  # the prefix is a command line on purpose
      if ! line=$(timeout 300 $(prefix "$p") "$wl" "$n" 2>>"$RAW.err") || [ -z "$line" ]; then
        echo "FAIL: $p $wl $n (see $RAW.err)" >&2
        samples[$row|$p|ns]=FAIL
        failed=1
        continue
      fi
      echo "$p $line" >>"$RAW"
      for f in ns_per_op rss_per_task_b wall_ms; do
        key="$row|$p|${f%%_*}"
        samples[$key]+="$(get "$f" "$line")"$'\n'
      done
    done
  done
done

cell() {  # row peer field -> median, FAIL or -
  local v=${samples[$1|$2|$3]:-}
  if [ "$v" = FAIL ]; then echo FAIL; else lower_median <<<"$v"; fi
}
line() { printf '%-12s %-16s' "$1" "$2"; shift 2; printf ' %12s' "$@"; echo; }
heads=()
for p in $PEERS; do
  case $p in
    go) heads+=("go P=$(nproc)") ;; go1) heads+=("go P=1") ;;
    fiber) heads+=("fiber ws 2T") ;; fiber1) heads+=("fiber rr 1T") ;; *) heads+=("$p") ;;
  esac
done
echo "median ns_per_op of $REPS runs ($(nproc) cores, $(date -u +%F))"
line workload "N go/fiber" "${heads[@]}"
for r in "${selected[@]}"; do
  read -r row _ ngo nfiber <<<"$r"
  cells=()
  for p in $PEERS; do cells+=("$(num "$(cell "$row" "$p" ns)")"); done
  line "$row" "$(abbrev "$ngo")/$(abbrev "$nfiber")" "${cells[@]}"
done
for r in "${selected[@]}"; do
  read -r row _ ngo _ <<<"$r"
  case $row in
    idle) what="RSS B/task" field=rss ;;
    timers | blocking) what="wall ms (ideal 10)" field=wall ;;
    hog) what="wall ms (ideal $ngo)" field=wall ;;
    *) continue ;;
  esac
  cells=()
  for p in $PEERS; do cells+=("$(cell "$row" "$p" "$field")"); done
  line "$row" "$what" "${cells[@]}"
done
echo "raw lines: $RAW"
exit $failed
