#!/bin/sh
# Runs a program under valgrind's memcheck. Usage: sh run_memcheck.sh <suppressions> <program>
# Exit status: 0 when memcheck found nothing and the program exited 0; 99 on any memcheck
# error or leak (definite or possible, less what the suppressions name); the program's status
# otherwise; 77 (ctest's SKIP_RETURN_CODE) when valgrind is not installed.
set -u
supp=$1 program=$2

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind not found: skipped"
  exit 77
fi
# The program's output goes to /dev/null (the example tests compare it); memcheck's to stderr.
exec valgrind -q --error-exitcode=99 --leak-check=full --suppressions="$supp" \
     "$program" >/dev/null
