#!/usr/bin/env bash
# bench/net_rss.sh SERVER_CMD... : RSS per idle connection of an echo server (the CLI of
# bench/peers/net/run.sh: the command gets 127.0.0.1:PORT as its last argument). Opens N idle
# connections (each has made one round trip) from tests' net_clients_prog, and reports the
# server's RSS before and with them, and the difference per connection.
# env: N=10000  CLIENTS=build/release/tests/net_clients_prog
set -euo pipefail
N=${N:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
CLIENTS=${CLIENTS:-$root/build/release/tests/net_clients_prog}
ulimit -n "$(ulimit -Hn)"
port=$((20000 + RANDOM % 12000))  # below the ephemeral range (32768-)
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }  # KiB
GOMAXPROCS=1 GORO_MAXPROCS=1 "$@" "127.0.0.1:$port" >/dev/null &
spid=$!
trap 'kill $spid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
sleep 0.2
before=$(rss $spid)
coproc C { "$CLIENTS" "127.0.0.1:$port" "$N"; }
read -r line <&"${C[0]}"
sleep 0.5
with=$(rss $spid)
exec {C[1]}>&-
wait "$C_PID" || true
awk -v b="$before" -v w="$with" -v n="$N" -v l="$line" 'BEGIN {
  printf "%s: RSS %.1f MiB idle, %.1f MiB with %d connections: %.2f KiB per connection (%s)\n",
         ENVIRON["NAME"], b / 1024, w / 1024, n, (w - b) / n, l }'
