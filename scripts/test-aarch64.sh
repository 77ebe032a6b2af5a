#!/usr/bin/env bash
# Cross-compiles goro for aarch64 (cmake/toolchains/aarch64-linux-gnu.cmake) and runs, under
# qemu-user, what exercises the AArch64 context switch (src/context/switch_aarch64.S):
#   1. scripts/aarch64_smoke.cpp: ping-pong, buffered SPSC, select, 10,000 goroutines, sleep,
#      exceptions, errno and callee-saved x19-x28/d8-d15 across parks; at GORO_MAXPROCS=1, 2
#      and 2 with GORO_DEBUG_MIGRATE=1. It must print PASS.
#   2. The seed and example programs (ctest labels seed|example), every variant.
#   3. gtest suites, every variant (GoogleTest is cross-built from /usr/src/googletest once and
#      cached in the build directory). GORO_AARCH64_GTEST=1 (default): the runtime suites
#      (tests/*_test.cpp); =all: also tests/conformance; =0: none. Death tests are left out:
#      they start a child process (test_death runs death_prog, gtest's EXPECT_DEATH re-executes
#      the test binary), and an aarch64 child cannot be executed without binfmt_misc.
# Run from anywhere; the build goes to build/aarch64 (or $GORO_AARCH64_BUILD).
#
# Why the tests are not simply run by `ctest`: the examples' tests run `cmake -P
# check_output.cmake` with -DPROGRAM=<binary>, and the gtest tests name their binary through
# $<TARGET_FILE:...>; CMake prefixes CMAKE_CROSSCOMPILING_EMULATOR only when a test's command
# is a target name, so ctest would exec the aarch64 binaries directly, which needs binfmt_misc
# (not available in containers). run_under_emulator below reads ctest's own description of
# each test (ctest --show-only=json-v1) and inserts the emulator, keeping the test's
# command, environment, working directory and timeout.
#
# Known limitation under qemu-user (not a goro bug): qemu runs a helper thread of its own
# (call_rcu) in the process, which /proc/self/task shows; API.md says any thread outside the
# runtime vetoes the deadlock detector, so programs that must end in "all goroutines are
# asleep - deadlock!" hang instead. Those tests (the examples whose expected stderr is a
# deadlock report, e.g. seed/asymmetric/*) are run with a short timeout and reported as XFAIL;
# an unexpected pass is reported as XPASS (not a failure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

build=${GORO_AARCH64_BUILD:-build/aarch64}
case $build in /*) ;; *) build=$repo/$build ;; esac
sysroot=/usr/aarch64-linux-gnu
emulator=(qemu-aarch64 -L "$sysroot")  # as CMAKE_CROSSCOMPILING_EMULATOR in the toolchain file
jobs=${GORO_AARCH64_JOBS:-$(($(nproc) * 2))}
want_gtest=${GORO_AARCH64_GTEST:-1}
# The gtest binaries run under emulation (all four variants of each).
gtest_targets=(test_runtime test_sync test_migration test_time test_threads
               test_no_false_deadlock test_alloc)
gtest_regex='^(runtime|sync|migration|time|threads|no_false_deadlock|alloc)/'
want_conformance=0
if [[ $want_gtest == all ]]; then
  want_conformance=1  # its targets are listed after configuring
  gtest_regex='^(runtime|sync|migration|time|threads|no_false_deadlock|alloc|conformance_[a-z0-9_]*)/'
  want_gtest=1
fi
xfail_timeout=8  # for the tests that expect a deadlock report: see the note above

t_start=$SECONDS
step() { printf '\n== %s (%ds)\n' "$*" $((SECONDS - t_start)); }

# ---- packages ---------------------------------------------------------------------------------
step "packages"
pkgs=(qemu-user g++-aarch64-linux-gnu cmake ninja-build python3)
[[ $want_gtest == 1 ]] && pkgs+=(googletest)  # sources in /usr/src/googletest
missing=()
for pkg in "${pkgs[@]}"; do
  dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
  echo "all present: ${pkgs[*]}"
fi

# ---- GoogleTest for aarch64 (cached) ----------------------------------------------------------
gtest_dir=$build/_gtest/install/lib/cmake/GTest
if [[ $want_gtest == 1 && ! -f $gtest_dir/GTestConfig.cmake ]]; then
  step "cross-building GoogleTest from /usr/src/googletest"
  mkdir -p "$build"
  cmake -S /usr/src/googletest -B "$build/_gtest/build" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchains/aarch64-linux-gnu.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_GMOCK=OFF -DINSTALL_GTEST=ON \
    -DCMAKE_INSTALL_PREFIX="$build/_gtest/install" >"$build/_gtest.log" 2>&1 ||
    { cat "$build/_gtest.log"; exit 1; }
  cmake --build "$build/_gtest/build" >>"$build/_gtest.log" 2>&1 || { cat "$build/_gtest.log"; exit 1; }
  cmake --install "$build/_gtest/build" >>"$build/_gtest.log" 2>&1
fi

# ---- configure and build goro -----------------------------------------------------------------
step "configure $build"
cfg=(-DGORO_BUILD_EXAMPLES=ON -DGORO_BUILD_BENCH=OFF)
if [[ $want_gtest == 1 ]]; then
  cfg+=(-DGORO_BUILD_TESTS=ON -DGTest_DIR="$gtest_dir")
else
  cfg+=(-DGORO_BUILD_TESTS=OFF)
fi
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchains/aarch64-linux-gnu.cmake" "${cfg[@]}" >/dev/null

step "build library, examples and tests"
phony_targets() { ninja -C "$build" -t targets all | sed -n "s/^\($1\): phony\$/\1/p"; }
targets=(goro)
while read -r t; do targets+=("$t"); done < <(phony_targets '\(seed\|example\)_[a-z0-9_]*')
if ((want_conformance)); then
  while read -r t; do gtest_targets+=("$t"); done < <(phony_targets 'conformance_[a-z0-9_]*')
fi
[[ $want_gtest == 1 ]] && targets+=("${gtest_targets[@]}")
cmake --build "$build" --target "${targets[@]}"

step "build scripts/aarch64_smoke.cpp"
# -ffp-contract=off: the expected floating-point results are computed by the same code
# instantiated twice; fused multiply-adds in only one of them would change the bits.
aarch64-linux-gnu-g++ -std=c++20 -O2 -ffp-contract=off -Wall -Wextra -Werror \
  -I"$repo/include" "$repo/scripts/aarch64_smoke.cpp" "$build/libgoro.a" -pthread \
  -o "$build/aarch64_smoke"
# The register check is only meaningful if the compiler kept values in the callee-saved
# registers across the park: the parking instance of crunch() must save d8 and x19.
aarch64-linux-gnu-objdump -d -C --no-show-raw-insn "$build/aarch64_smoke" |
  awk '/^[0-9a-f]+ <.*crunch.*callee_saved.*lambda\(\)/ {p = 1} /^$/ {p = 0} p' >"$build/crunch.dis"
if ! grep -q 'stp[[:space:]]*d8, d9' "$build/crunch.dis" ||
   ! grep -q 'stp[[:space:]]*x19, x20' "$build/crunch.dis"; then
  echo "FAIL: crunch() does not use d8-d15/x19-x28; the register check would test nothing" >&2
  exit 1
fi
echo "crunch() keeps $(grep -oE '\bd(8|9|1[0-5])\b' "$build/crunch.dis" | sort -u | tr '\n' ' ')live across parks"

failed=0

# ---- smoke program ----------------------------------------------------------------------------
step "smoke program under qemu"
for env in "GORO_MAXPROCS=1" "GORO_MAXPROCS=2" "GORO_MAXPROCS=2 GORO_DEBUG_MIGRATE=1"; do
  t0=$SECONDS
  set +e
  out=$(env $env timeout 120 "${emulator[@]}" "$build/aarch64_smoke" 2>&1)
  rc=$?
  set -e
  printf '%-40s rc=%d %3ds  %s\n' "$env" "$rc" $((SECONDS - t0)) "$(tail -n1 <<<"$out")"
  if [[ $rc != 0 || $(tail -n1 <<<"$out") != PASS ]]; then
    echo "$out" >&2
    failed=1
  fi
done

# ---- ctest tests, with the emulator inserted --------------------------------------------------
# Reads ctest's JSON test list on stdin, runs the tests in parallel with the emulator inserted.
runner_py=$(cat <<'EOF'
import concurrent.futures, json, os, re, signal, subprocess, sys, time

jobs, xfail_timeout, emulator = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]

def is_target_elf(path):
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 183  # EM_AARCH64

def emulated(cmd):
    if is_target_elf(cmd[0]):
        return emulator + cmd
    out = []
    for arg in cmd:  # cmake -DPROGRAM=<binary> -P check_output.cmake: PROGRAM becomes a list
        m = re.match(r"-DPROGRAM=(.*)", arg)
        if m and is_target_elf(m.group(1)):
            arg = "-DPROGRAM=" + ";".join(emulator + [m.group(1)])
        out.append(arg)
    return out

def expects_deadlock(cmd):  # an example whose expected stderr starts with a deadlock report
    for arg in cmd:
        if arg.startswith("-DSTDERR_HEAD="):
            with open(arg.split("=", 1)[1], errors="replace") as f:
                return "all goroutines are asleep - deadlock!" in f.read()
    return False

def run(test):
    props = {p["name"]: p["value"] for p in test.get("properties", [])}
    env = dict(os.environ)
    for kv in props.get("ENVIRONMENT", []):
        k, _, v = kv.partition("=")
        env[k] = v
    xfail = expects_deadlock(test["command"])
    timeout = xfail_timeout if xfail else props.get("TIMEOUT", 300)
    t0 = time.monotonic()
    # Own process group: on a timeout the whole tree goes, including the emulated program
    # that `cmake -P check_output.cmake` started (killing cmake alone would orphan it).
    p = subprocess.Popen(emulated(test["command"]), env=env, cwd=props.get("WORKING_DIRECTORY"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        raw, _ = p.communicate(timeout=timeout)
        ok, why = p.returncode == 0, "" if p.returncode == 0 else f"exit {p.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        raw, _ = p.communicate()
        ok, why = False, f"timeout {timeout:g}s"
    out = raw.decode(errors="replace")
    dt = time.monotonic() - t0
    verdict = ("XPASS" if ok else "XFAIL") if xfail else ("PASS" if ok else "FAIL")
    return test["name"], verdict, dt, why, out

tests = json.load(sys.stdin)["tests"]
counts = {}
with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
    for name, verdict, dt, why, out in pool.map(run, tests):
        counts[verdict] = counts.get(verdict, 0) + 1
        print(f"  {verdict:5} {dt:6.1f}s  {name}  {why}", flush=True)
        if verdict == "FAIL":
            print("    " + out.strip().replace("\n", "\n    "), flush=True)
print("  totals: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
sys.exit(1 if counts.get("FAIL") else 0)
EOF
)

run_under_emulator() {  # <ctest test selection options...>
  (cd "$build" && ctest --show-only=json-v1 "$@") |
    python3 -c "$runner_py" "$jobs" "$xfail_timeout" "${emulator[@]}"
}

step "seed and example tests under qemu (ctest -L 'seed|example')"
run_under_emulator -L 'seed|example' || failed=1

if [[ $want_gtest == 1 ]]; then
  step "gtest suites under qemu (${gtest_targets[*]})"
  # gtest death tests (suites named *DeathTest, by gtest's convention) re-execute the test
  # binary in a child process, which qemu-user cannot do without binfmt_misc; most of them
  # also expect the deadlock report (see the note at the top).
  GTEST_FILTER=${GTEST_FILTER:--*DeathTest*} run_under_emulator -R "$gtest_regex" || failed=1
fi

step "done"
if ((failed)); then
  echo "aarch64: FAILED"
  exit 1
fi
echo "aarch64: all passed"
