#!/usr/bin/env bash
# Builds goro's benchmark peers into $PEERS_BIN (default: build/peers at the repository root):
# gobench (go/, the Go peer), fiberbench (fiber/, the Boost.Fiber peer) and netbench (net/, the
# Go echo server and load client). Installs golang-go and Boost.Fiber from Debian when they
# are missing; rebuilds only what is out of date (Go's own cache decides for the Go programs).
#   bench/peers/build.sh        env: PEERS_BIN  CXX=g++
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${PEERS_BIN:-$here/../../build/peers}
mkdir -p "$BIN"
BIN=$(cd "$BIN" && pwd)

missing=()
command -v go >/dev/null || missing+=(golang-go)
[ -e /usr/include/boost/fiber/all.hpp ] || missing+=(libboost-fiber-dev libboost-context-dev)
if ((${#missing[@]})); then
  echo "peers: installing ${missing[*]}" >&2
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2
fi

# No network: the Go programs use the standard library only.
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE=${GOCACHE:-$BIN/gocache}
(cd "$here/go" && go build -o "$BIN/gobench" .)
(cd "$here/net" && go build -o "$BIN/netbench" .)

CXX=${CXX:-g++}
out=$BIN/fiberbench
if [ ! -e "$out" ] || [ -n "$(find "$here/fiber" "$here/cpp" -newer "$out")" ]; then
  "$CXX" -O2 -std=c++20 -Wall -Wextra -pthread "$here/fiber/fiberbench.cpp" -o "$out" \
    -lboost_fiber -lboost_context
fi
echo "peers: gobench netbench fiberbench in $BIN ($(go version | cut -d' ' -f3), $("$CXX" --version | head -1))"
