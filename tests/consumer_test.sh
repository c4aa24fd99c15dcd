#!/usr/bin/env bash
# gcheap as a project outside this repository uses it: installs the CMake
# build into a temporary prefix, then builds and runs a small C program and
# a small C++ program (tests/consumer/) four ways: find_package with the
# shared and the static library, and pkg-config with each (gcheap,
# gcheap-static). Checks what libgcheap.so exports (nm -D): the C API, the
# C++ API and the barrier entry, nothing else.
#
#   tests/consumer_test.sh [cmake build dir]   (default: a fresh build)
# Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
src=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {  # description, command...
  local what=$1
  shift
  if out=$("$@" 2>&1); then
    echo "ok   $what"
    passed=$((passed + 1))
  else
    echo "FAIL $what"
    echo "$out" | tail -15
    failed=$((failed + 1))
  fi
}

build=${1:-}
if [ -z "$build" ]; then
  build=$tmp/build
  check "configure gcheap" cmake -S "$src" -B "$build" -DGCHEAP_BUILD_TESTS=OFF
  check "build gcheap" cmake --build "$build" -j "$(nproc)"
fi
prefix=$tmp/prefix
check "install gcheap" cmake --install "$build" --prefix "$prefix"
libdir=$(cd "$prefix" && ls -d lib*/ | head -1)
libdir=$prefix/${libdir%/}

# What the shared library exports.
exports() {
  local lib
  lib=$(ls "$libdir"/libgcheap.so.*.*.* | head -1)
  objdump -p "$lib" | grep -q 'SONAME.*libgcheap\.so\.[0-9]' || {
    echo "no versioned SONAME"
    return 1
  }
  local syms
  syms=$(nm -D --defined-only "$lib" | awk '{print $3}')
  echo "$(wc -l <<<"$syms") exported symbols"
  local bad
  bad=$(grep -vE '^(gch_|gcheap_write_barrier_stub$|_ZN6gcheap|_ZNK6gcheap|_ZTVN6gcheap|_ZTIN6gcheap|_ZTSN6gcheap)' <<<"$syms")
  [ -z "$bad" ] || {
    echo "unexpected exports:"
    echo "$bad"
    return 1
  }
}
check "libgcheap.so: SONAME and exports ($(nm -D --defined-only "$libdir"/libgcheap.so 2>/dev/null | wc -l) symbols)" exports

run_both() {  # dir with consumer_c and consumer_cxx; expect_shared (1/0)
  local dir=$1 shared=$2
  "$dir/consumer_c" && "$dir/consumer_cxx" || return 1
  for exe in "$dir/consumer_c" "$dir/consumer_cxx"; do
    if [ "$shared" = 1 ]; then
      ldd "$exe" | grep -q 'libgcheap\.so' || {
        echo "$exe does not load libgcheap.so"
        return 1
      }
    else
      ! ldd "$exe" | grep -q 'libgcheap' || {
        echo "$exe loads libgcheap dynamically"
        return 1
      }
    fi
  done
}

# find_package(gcheap).
for target in gcheap::gcheap gcheap::gcheap_static; do
  dir=$tmp/consumer-${target#gcheap::}
  shared=1
  [ "$target" = gcheap::gcheap_static ] && shared=0
  check "find_package: configure with $target" cmake -S "$src/tests/consumer" \
    -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DGCHEAP_TARGET="$target"
  check "find_package: build with $target" cmake --build "$dir"
  check "find_package: run with $target" run_both "$dir" "$shared"
done

# pkg-config --cflags --libs.
export PKG_CONFIG_PATH=$libdir/pkgconfig
for pc in gcheap gcheap-static; do
  dir=$tmp/pkgconfig-$pc
  mkdir -p "$dir"
  flags=$(pkg-config --cflags --libs "$pc")
  rpath=""
  shared=0
  [ "$pc" = gcheap ] && rpath="-Wl,-rpath,$libdir" && shared=1
  # shellcheck disable=SC2086
  check "pkg-config $pc: build C" cc -std=c99 -Wall -Werror -o "$dir/consumer_c" \
    "$src/tests/consumer/consumer.c" $flags $rpath
  # shellcheck disable=SC2086
  check "pkg-config $pc: build C++" c++ -std=c++17 -Wall -Werror \
    -o "$dir/consumer_cxx" "$src/tests/consumer/consumer.cc" $flags $rpath
  check "pkg-config $pc: run" run_both "$dir" "$shared"
done

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
