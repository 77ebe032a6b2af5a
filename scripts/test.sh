#!/usr/bin/env bash
# Builds goro (release preset) and runs its whole test suite. Run from the repo root.
# CI (.ci/run) runs the same steps, plus the asan and tsan presets and a formatting check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/deps.sh
goro_install_deps

cmake --preset release
cmake --build --preset release
ctest --preset release
