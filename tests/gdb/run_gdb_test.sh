#!/bin/sh
# Runs a program under gdb with tools/goro-gdb.py loaded and a checker script driving it.
# Usage: sh run_gdb_test.sh <goro-gdb.py> <checker.py> <program>
# Exit status: the checker's (0 passed, 1 failed), or 77 (ctest's SKIP_RETURN_CODE) when gdb,
# its Python, or ptrace is not available here.
set -u
tool=$1 checker=$2 program=$3

if ! command -v gdb >/dev/null 2>&1; then
  echo "gdb not found: skipped"
  exit 77
fi
if [ "$(gdb -batch -nx -ex 'python print("py" + "thon")' 2>/dev/null)" != python ]; then
  echo "gdb has no Python: skipped"
  exit 77
fi
# 3: no process may trace another, not even its own child (gdb's `run`).
if [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null)" = 3 ]; then
  echo "kernel.yama.ptrace_scope is 3: skipped"
  exit 77
fi

# -nx: no ~/.gdbinit. debuginfod off: no network, no prompt. The checker quits gdb with its
# own status; falling off its end is a failure.
gdb -batch -nx -iex 'set debuginfod enabled off' -iex 'set pagination off' \
    -ex "source $tool" -x "$checker" -ex 'quit 1' --args "$program"
