#!/usr/bin/env bash
# Usage: scripts/tidy.sh [BUILD_DIR]
# Runs clang-tidy 14 with the repository's .clang-tidy (and src/.clang-tidy) over every C++
# translation unit in BUILD_DIR/compile_commands.json, two at a time; fails on any finding.
# BUILD_DIR (default build/tsa) must be a configured clang 14 build of this tree: its compile
# commands are what clang-tidy parses. Reports come from the repository's own files only.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build/tsa}" && pwd)
[[ -f "$build/compile_commands.json" ]] ||
  { echo "tidy: no compile_commands.json in $build (configure a clang preset first)" >&2; exit 1; }
# The repository's .cpp files only (not the context-switch assembly, nor a GoogleTest built from
# source), as regexes on the absolute path.
files="^$root/(src|tests|examples|bench)/.*\\.cpp\$"
echo "tidy: clang-tidy-14 over $(grep -cE "\"file\": \"$root/(src|tests|examples|bench)/.*\\.cpp\"" \
  "$build/compile_commands.json") compile commands of $build"
run-clang-tidy-14 -p "$build" -j 2 -quiet \
  -header-filter="^$root/(include|src|tests|examples|bench)/" "$files"
