#!/usr/bin/env bash
# Finding a leak as docs/debugging.md walks through it: examples/leak_hunt
# prints why an old scratch buffer is alive (a path through the interpreter,
# its call-site cache and the cache's history array) and writes a heap dump;
# tools/heap_dominators.py must name the cache as what retains the heap.
#
#   tests/heap_dump_test.sh path/to/leak_hunt path/to/heap_dominators.py
set -u
program="$1"
tool="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
check() {  # description, command...
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    failed=1
  fi
}
out=$("$program" "$tmp/leak.dump") || { echo "FAIL: $program: $out"; exit 1; }
echo "$out"
check "the path starts at the interpreter's persistent handle" \
  grep -q "is reachable from persistent handle" <<<"$out"
check "the path runs Interp -> CallSiteCache -> Slot -> Frame" \
  bash -c 'tr -d "\n" <<<"$1" | grep -Eq "Interp.*\+8 -> .*CallSiteCache.*\+0 -> .*Slot.*\+0 -> .*Frame.*\+8 -> .*4096 bytes"' \
  _ "$out"
summary=$(python3 "$tool" "$tmp/leak.dump") || { echo "FAIL: $tool"; exit 1; }
echo "$summary"
top_type=$(awk '/^retained by type/ { getline; getline; print $4; exit }' \
  <<<"$summary")
share=$(awk '/^retained by type/ { getline; getline; sub("%", "", $2);
  print $2; exit }' <<<"$summary")
# The cache, or its history array when a stale word on the stack (which
# is scanned conservatively) also points at the array.
check "the top retainer by type is CallSiteCache ($top_type)" \
  grep -Eqx "CallSiteCache|Slot" <<<"$top_type"
check "it retains nearly all the heap ($share%)" \
  awk -v x="$share" 'BEGIN { exit !(x >= 95) }'
exit $failed
