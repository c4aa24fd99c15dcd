#!/usr/bin/env bash
# The public headers as they are installed: each one compiles alone, from an
# include path that holds only include/ (gcheap/*.h and gcheap/internal/),
# as C++17 and C++20 with -fno-exceptions -fno-rtti, by g++ and clang++;
# gcheap/gcheap_c.h and gcheap/internal/{config,fast_path}.h also as C99.
# And no public header includes anything but another public header or the
# standard library (a sanitizer's interface header only under that
# sanitizer).
#
#   public_headers_alone_test.sh <include dir>
set -u
inc=${1:-include}
if [ -n "${TEST_SRCDIR:-}" ] && [ ! -d "$inc" ]; then
  inc="$TEST_SRCDIR/${TEST_WORKSPACE:-gcheap}/$inc"
fi
[ -d "$inc/gcheap" ] || { echo "no headers under $inc"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
checks=0
fail() {
  echo "FAIL $*"
  failed=$((failed + 1))
}

# 1. What the headers include.
while IFS= read -r line; do
  file=${line%%:*}
  what=$(sed -E 's/^[^:]*:[0-9]+:\s*#\s*include\s*//; s/\s*(\/\/.*|\/\*.*)$//' <<<"$line")
  case "$what" in
  \"gcheap/*\")
    f=${what#\"}
    f=${f%\"}
    [ -f "$inc/$f" ] || fail "$file includes $what, which is not a public header"
    ;;
  \<sanitizer/asan_interface.h\> | \<valgrind/memcheck.h\>) ;;
  \<*\>)
    case "$what" in
    \<absl/* | \<gtest* | \<benchmark*) fail "$file includes $what" ;;
    esac
    ;;
  *) fail "$file includes $what" ;;
  esac
  checks=$((checks + 1))
done < <(grep -RnE '^\s*#\s*include' "$inc/gcheap" | sed "s|^$inc/||")

# 2. Each header alone.
compile() {  # compiler, flags, header
  local cc=$1 flags=$2 h=$3 lang=c++
  case "$flags" in -std=c++*) ;; -std=c*) lang=c ;; esac
  # A declaration after the header: ISO C wants one in every unit.
  printf '#include "%s"\ntypedef int public_header_check;\n' "$h" >"$tmp/t.src"
  if ! out=$("$cc" -x "$lang" $flags -fsyntax-only -Wall -Wextra -Werror \
    -I "$inc" "$tmp/t.src" 2>&1 </dev/null); then
    fail "$cc $flags $h"
    echo "$out" | head -5
  fi
  checks=$((checks + 1))
}
cxx_compilers=()
command -v g++ >/dev/null && cxx_compilers+=(g++)
command -v clang++ >/dev/null && cxx_compilers+=(clang++)
c_compilers=()
command -v gcc >/dev/null && c_compilers+=(gcc)
command -v clang >/dev/null && c_compilers+=(clang)
[ ${#cxx_compilers[@]} -gt 0 ] || { echo "no C++ compiler"; exit 1; }
for h in $(cd "$inc" && find -L gcheap -name '*.h' | sort); do
  for cc in "${cxx_compilers[@]}"; do
    for std in c++17 c++20; do
      compile "$cc" "-std=$std -fno-exceptions -fno-rtti" "$h"
    done
  done
done
for h in gcheap/gcheap_c.h gcheap/internal/config.h gcheap/internal/fast_path.h; do
  [ -f "$inc/$h" ] || continue
  for cc in "${c_compilers[@]}"; do
    compile "$cc" "-std=c99 -Wpedantic" "$h"
  done
done
echo "$((checks - failed)) checks passed, $failed failed"
[ "$failed" -eq 0 ]
