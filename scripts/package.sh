#!/usr/bin/env bash
# Usage: scripts/package.sh [BUILD_DIR]   (default build/package; a CI phase of .ci/run)
# Builds goro's Debian packages and checks them as a user would meet them:
#   1. configures BUILD_DIR for the package (RelWithDebInfo -O2 -g, prefix /usr, the library
#      alone with GORO_PACKAGE_VARIANTS: libgoro.a, libgoro.so, libgoro_asan.a, libgoro_tsan.a)
#      and runs `cpack -G DEB` there: libgoro-dev_<v>_<arch>.deb and libgoro<X.Y>_<v>_<arch>.deb;
#   2. unpacks both with `dpkg -x` into a scratch root (nothing installed on the machine can
#      stand in for them) and checks the file list and the SONAME;
#   3. builds tests/consumer against that root only: with find_package (goro::goro static,
#      goro::goro_shared, goro::goro_tsan with -fsanitize=thread, goro::goro_asan with ASan and
#      UBSan; and, as the control, a TSan program against the plain goro::goro, which must
#      report races), with pkg-config (goro.pc, the shared library; goro-static.pc), and checks that
#      find_package(goro 0.3) is refused; runs each program and compares its output;
#   4. loads the packaged gdb script into gdb, where gdb is installed.
# Leaves the .deb files in BUILD_DIR.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(mkdir -p "${1:-$root/build/package}" && cd "${1:-$root/build/package}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/goro-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "package: FAIL: $*" >&2; exit 1; }
quiet() {  # quiet LOG CMD...: runs CMD, shows LOG only when it fails
  local log=$1
  shift
  "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "$* (log above)"; }
}

echo "== build $build"
quiet "$tmp/configure.log" cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG" \
  -DCMAKE_INSTALL_PREFIX=/usr -DGORO_PACKAGE_VARIANTS=ON -DGORO_WERROR=ON \
  -DGORO_BUILD_TESTS=OFF -DGORO_BUILD_EXAMPLES=OFF -DGORO_BUILD_BENCH=OFF
cmake --build "$build" -j2 | tail -1
rm -f "$build"/*.deb
(cd "$build" && quiet "$tmp/cpack.log" cpack -G DEB)
mapfile -t debs < <(find "$build" -maxdepth 1 -name '*.deb' | sort)
((${#debs[@]} == 2)) || fail "expected 2 packages, cpack made: ${debs[*]:-none}"

echo "== unpack into a scratch root"
sysroot=$tmp/root
for deb in "${debs[@]}"; do
  echo "  $(basename "$deb"): $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)," \
    "depends: $(dpkg-deb -f "$deb" Depends)"
  dpkg -x "$deb" "$sysroot"
done
libdir=$(dirname "$(find "$sysroot" -name libgoro.a -print -quit)")
[[ -d "$libdir" ]] || fail "no libgoro.a in the packages"
for f in libgoro.a libgoro_asan.a libgoro_tsan.a libgoro.so pkgconfig/goro.pc \
  pkgconfig/goro-static.pc cmake/goro/goroConfig.cmake cmake/goro/goroConfigVersion.cmake; do
  [[ -e "$libdir/$f" ]] || fail "missing $libdir/$f"
done
soname=$(readelf -d "$libdir/libgoro.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[[ -e "$libdir/$soname" ]] || fail "the SONAME $soname is not in the runtime package"
[[ -e "$sysroot/usr/include/goro/goro.hpp" && -e "$sysroot/usr/include/goro/version.hpp" ]] ||
  fail "headers missing"
echo "  $(find "$sysroot" -type f | wc -l) files; libdir ${libdir#"$sysroot"}; SONAME $soname"

cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
run_expect() {  # run_expect WHAT EXPECTED CMD...: runs CMD, fails unless stdout is EXPECTED
  local what=$1 expected=$2 out rc=0
  shift 2
  out=$("$@" 2>"$tmp/stderr") || rc=$?
  if ((rc != 0)) || [[ "$out" != "$expected" ]] || [[ -s "$tmp/stderr" ]]; then
    cat "$tmp/stderr" >&2
    fail "$what: exit $rc, output '$out', expected '$expected' and no stderr"
  fi
  echo "  ok ($what): $out"
}
stress_expect="sum 128008000 total 16000 late 8"

echo "== find_package(goro 0.2) from the unpacked root"
for target in goro goro_shared goro_tsan goro_asan; do
  quiet "$tmp/$target.log" cmake -S "$root/tests/consumer" -B "$tmp/$target" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$sysroot/usr" \
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF -DGORO_TARGET="goro::$target"
  quiet "$tmp/$target.build.log" cmake --build "$tmp/$target"
  grep -q "$sysroot" "$tmp/$target/CMakeCache.txt" || fail "$target: goro not found in $sysroot"
  env=(GORO_MAXPROCS=4)
  case $target in
    goro_shared)
      ldd "$tmp/$target/consumer" | grep -q "$libdir/$soname" ||
        fail "goro_shared: the consumer does not load $libdir/$soname"
      env+=(LD_LIBRARY_PATH="$libdir") ;;
    goro_tsan) env+=(TSAN_OPTIONS="halt_on_error=1 exitcode=66") ;;
    goro_asan) env+=(ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1") ;;
    *) readelf -d "$tmp/$target/consumer" | grep -q 'libgoro\.so' &&
         fail "goro: the static consumer needs libgoro.so" ;;
  esac
  run_expect "goro::$target consumer" "received 42" env "${env[@]}" "$tmp/$target/consumer"
  run_expect "goro::$target stress" "$stress_expect" env "${env[@]}" "$tmp/$target/consumer_stress"
done
# The control: the same TSan program against the plain libgoro.a sees races that are not there
# (the library's synchronisation is invisible to it). If it did not, goro_tsan would be moot.
quiet "$tmp/control.log" cmake -S "$root/tests/consumer" -B "$tmp/control" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$sysroot/usr" \
  -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
quiet "$tmp/control.build.log" cmake --build "$tmp/control" --target consumer_stress
if GORO_MAXPROCS=4 TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$tmp/control/consumer_stress" \
  >/dev/null 2>"$tmp/control.err"; then
  fail "control: a TSan build against the plain libgoro.a ran clean"
fi
grep -q "WARNING: ThreadSanitizer" "$tmp/control.err" || { cat "$tmp/control.err"; fail "control"; }
echo "  ok (control: -fsanitize=thread against the plain goro::goro reports false races)"
if cmake -S "$root/tests/consumer" -B "$tmp/v03" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$sysroot/usr" -DGORO_WANT_VERSION=0.3 >"$tmp/v03.log" 2>&1; then
  fail "find_package(goro 0.3) accepted the 0.2 package"
fi
grep -q 'version: 0.2' "$tmp/v03.log" || { cat "$tmp/v03.log" >&2; fail "0.3 refused, but why?"; }
echo "  ok (find_package(goro 0.3) refused: the package is $(dpkg-deb -f "${debs[0]}" Version))"

echo "== pkg-config from the unpacked root"
export PKG_CONFIG_PATH=$libdir/pkgconfig PKG_CONFIG_LIBDIR=$libdir/pkgconfig
for pc in goro goro-static; do
  # shellcheck disable=SC2046  # the flags are meant to be split into words
  "$cxx" -O2 -o "$tmp/pc-$pc" "$root/tests/consumer/main.cpp" $(pkg-config --cflags --libs "$pc")
  run_expect "pkg-config $pc" "received 42" env LD_LIBRARY_PATH="$libdir" "$tmp/pc-$pc"
done
LD_LIBRARY_PATH="$libdir" ldd "$tmp/pc-goro" | grep -q "$libdir/$soname" || fail "goro.pc did not link libgoro.so"
ldd "$tmp/pc-goro-static" | grep -q libgoro && fail "goro-static.pc linked libgoro.so"

gdb_script=$sysroot/usr/share/goro/goro-gdb.py
if [[ -e "$gdb_script" ]] && command -v gdb >/dev/null; then
  echo "== gdb loads ${gdb_script#"$sysroot"}"
  quiet "$tmp/gdb.log" gdb -nx -batch -ex "source $gdb_script" -ex "help info goroutines" \
    "$tmp/goro/consumer"
  echo "  ok"
elif [[ -e "$root/tools/goro-gdb.py" && ! -e "$gdb_script" ]]; then
  fail "the gdb script is not in the package"
fi
echo "package: ok: $(for d in "${debs[@]}"; do basename "$d"; done | tr '\n' ' ')"
