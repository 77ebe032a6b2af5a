#!/bin/sh
# Runs a program under valgrind's memcheck. Usage: sh run_memcheck.sh <suppressions> <program>
# Exit status: 0 when memcheck found nothing and the program exited 0; 99 on any memcheck
# error or leak (definite or possible, less what the suppressions name); the program's status
# otherwise; 77 (ctest's SKIP_RETURN_CODE) when valgrind is not installed, or cannot read the
# program's debug information (valgrind 3.19, Debian 12's, gives up on clang 14's DWARF 5).
set -u
supp=$1 program=$2

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind not found: skipped"
  exit 77
fi
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
# The program's output goes to /dev/null (the example tests compare it); memcheck's to $log.
valgrind -q --error-exitcode=99 --leak-check=full --suppressions="$supp" --log-file="$log" \
    "$program" >/dev/null
status=$?
cat "$log" >&2
if grep -q "debuginfo reader: Possibly corrupted debuginfo file" "$log"; then
  echo "this valgrind cannot read the program's debug information: skipped"
  exit 77
fi
exit $status
