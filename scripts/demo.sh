#!/usr/bin/env bash
# Builds goro (release preset) and runs the seed programs (the Go tutorial's examples, ported),
# printing each one's title and output. Run from the repo root.
#
# The examples build writes build/release/examples/seed/ORDER, one line per program:
#   <executable-name> <title>
# A program whose title mentions "deadlock" (the tutorial shows one on purpose) must exit 2
# with Go's deadlock report; every other program must exit 0. The demo exits 0 when all did.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/deps.sh
goro_install_deps

build=build/release
order=$build/examples/seed/ORDER
deadlock_line="fatal error: all goroutines are asleep - deadlock!"

cmake --preset release
# Build only the seed programs when the list is known at configure time; else everything.
targets=()
[[ -f $order ]] && mapfile -t targets < <(awk 'NF && $1 !~ /^#/ {print $1}' "$order")
if ((${#targets[@]} == 0)) || ! cmake --build --preset release --target "${targets[@]}"; then
  cmake --build --preset release
fi
if [[ ! -f $order ]]; then
  echo "demo: $order not found: the examples build did not list the seed programs" >&2
  exit 1
fi

find_exe() {  # $1 = executable name -> its path in the build tree
  local exe=$build/examples/seed/$1
  [[ -x $exe ]] || exe=$(find "$build" -type f -name "$1" -perm -u+x -print -quit)
  [[ -n $exe ]] && echo "$exe"
}

errf=$(mktemp)
trap 'rm -f "$errf"' EXIT
failed=()
while read -r name title; do
  [[ -z $name || $name == \#* ]] && continue
  echo
  echo "== $title =="
  if ! exe=$(find_exe "$name"); then
    echo "demo: executable '$name' not found under $build" >&2
    failed+=("$name (not built)")
    continue
  fi
  rc=0
  timeout 60 "$exe" 2>"$errf" </dev/null || rc=$?
  cat "$errf"
  if [[ ${title,,} == *deadlock* ]]; then
    if ((rc == 2)) && [[ $(head -n1 "$errf") == "$deadlock_line" ]]; then
      echo "(exit status 2 with Go's deadlock report, as expected)"
      continue
    fi
    echo "demo: '$name' should have ended with the deadlock report and status 2 (got $rc)" >&2
  elif ((rc == 0)); then
    continue
  else
    echo "demo: '$name' exited with status $rc" >&2
  fi
  failed+=("$name (exit $rc)")
done <"$order"

echo
if ((${#failed[@]})); then
  echo "demo: ${#failed[@]} program(s) misbehaved: ${failed[*]}" >&2
  exit 1
fi
echo "demo: all seed programs behaved as expected"
