# shellcheck shell=bash
# Sourced by scripts/demo.sh, scripts/test.sh and .ci/run: installs the Debian packages goro's
# build, tests and CI need, asking apt only for those missing (a warm machine makes no network call).

goro_deps=(
  build-essential g++ cmake ninja-build pkg-config python3
  libgtest-dev libgmock-dev      # tests (GoogleTest 1.12, find_package(GTest))
  libbenchmark-dev               # bench/ (Google Benchmark 1.7)
  clang-format-14                # formatting check in .ci/run
  clang-14                       # the clang preset, and the mixed-compiler consumer test
  clang-tidy-14                  # scripts/tidy.sh (a phase of .ci/run)
  clang-19 libc++-19-dev libc++abi-19-dev  # the clang-libcxx preset (with googletest's sources)
  gdb valgrind                   # tests/gdb (tools/goro-gdb.py), tests/valgrind (and valgrind.h)
  golang-go libboost-fiber-dev libboost-context-dev  # bench/peers (Go and Boost.Fiber peers)
)

goro_install_deps() {
  local missing=() pkg
  for pkg in "${goro_deps[@]}"; do
    if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "deps: all ${#goro_deps[@]} packages present"
    return 0
  fi
  echo "deps: installing ${missing[*]}"
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q || return
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}
