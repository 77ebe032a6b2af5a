#!/usr/bin/env bash
# Usage: check.sh BUILD_DIR
# Installs BUILD_DIR into a scratch prefix, then builds and runs tests/consumer against it twice:
# with find_package(goro) and with pkg-config. Fails unless both print "received 42".
set -euo pipefail

build_dir=$(cd "${1:?usage: check.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/goro-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Build the consumer with the compiler the library was built with.
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
cxx=${cxx:-${CXX:-c++}}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

expect="received 42"
check_output() {  # $1 = what, $2 = actual output
  if [[ "$2" != "$expect" ]]; then
    echo "FAIL ($1): expected '$expect', got '$2'" >&2
    exit 1
  fi
  echo "ok ($1): $2"
}

echo "== install $build_dir -> $tmp/prefix"
cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log" >&2; exit 1; }

echo "== find_package(goro)"
cmake -S "$here" -B "$tmp/cmake-build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log" >&2; exit 1; }
cmake --build "$tmp/cmake-build" >"$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
check_output find_package "$("$tmp/cmake-build/consumer")"

echo "== pkg-config goro"
pcdir=$(dirname "$(find "$tmp/prefix" -name goro.pc -print -quit)")
export PKG_CONFIG_PATH="$pcdir"
flags=$(pkg-config --cflags --libs goro)
echo "pkg-config --cflags --libs goro: $flags"
# shellcheck disable=SC2086  # the flags are meant to be split into words
"$cxx" -O2 -o "$tmp/consumer-pc" "$here/main.cpp" $flags
libdir=$(pkg-config --variable=libdir goro)
check_output pkg-config "$(LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/consumer-pc")"

# The distribution case: a goro built by one compiler, a program built by the other against
# the same standard library (libstdc++). Skipped when the other compiler is not installed.
other=""
case "$("$cxx" --version | head -1)" in
  *clang*) command -v g++ >/dev/null && other=g++ ;;
  *) for c in clang++-14 clang++; do command -v "$c" >/dev/null && { other=$c; break; }; done ;;
esac
if [[ -n "$other" ]]; then
  echo "== pkg-config goro, consumer built by $other"
  # shellcheck disable=SC2086
  "$other" -std=c++20 -O2 -o "$tmp/consumer-other" "$here/main.cpp" $flags
  check_output "$other consumer" \
    "$(LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/consumer-other")"
else
  echo "== (no second compiler installed: the mixed-compiler consumer is skipped)"
fi
