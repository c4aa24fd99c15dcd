#!/usr/bin/env bash
# A heap profile as `go tool pprof` (Debian's golang-go) reads it:
# examples/heap_profile allocates three times the bytes in MakeTable (kept)
# that it allocates in MakeScratch (dropped) and writes a profile; pprof's
# -top must show both functions with those shares of alloc_space (within
# sampling error), and MakeTable alone in inuse_space; -list must show
# MakeTable's source.
#
#   tests/pprof_test.sh path/to/heap_profile
set -u
program="$1"
if ! command -v go >/dev/null; then
  echo "FAIL: go is not installed (Debian package golang-go; ./gcheap.sh deps)"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="${HOME:-$tmp}" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
failed=0
"$program" "$tmp/heap.pb.gz" || { echo "FAIL: $program exited $?"; exit 1; }
# The flat share (percent) of the function named $2 in pprof's -top output $1.
share() {
  awk -v fn="$2" '$0 ~ fn { gsub("%", "", $2); print $2; found = 1; exit }
                  END { if (!found) print 0 }' <<<"$1"
}
check() {  # description, awk condition on x
  if awk -v x="$3" "BEGIN { exit !($2) }"; then
    echo "ok   $1 ($3%)"
  else
    echo "FAIL $1: $3% (want $2)"
    failed=1
  fi
}
alloc=$(go tool pprof -top -sample_index=alloc_space "$program" \
  "$tmp/heap.pb.gz" 2>&1)
inuse=$(go tool pprof -top -sample_index=inuse_space "$program" \
  "$tmp/heap.pb.gz" 2>&1)
check "alloc_space: MakeTable about 75%" "x >= 68 && x <= 82" \
  "$(share "$alloc" MakeTable)"
check "alloc_space: MakeScratch about 25%" "x >= 18 && x <= 32" \
  "$(share "$alloc" MakeScratch)"
check "inuse_space: MakeTable all" "x >= 97" "$(share "$inuse" MakeTable)"
check "inuse_space: MakeScratch none" "x <= 3" "$(share "$inuse" MakeScratch)"
objects=$(go tool pprof -top -sample_index=alloc_objects "$program" \
  "$tmp/heap.pb.gz" 2>&1)
# 48-byte nodes against 512-byte buffers: 32 times as many objects.
check "alloc_objects: MakeTable about 97%" "x >= 95" \
  "$(share "$objects" MakeTable)"
# -list shows the allocating function's source (from the profile's file
# names and lines; the source file is found relative to the working
# directory, or by its absolute path).
listing=$(go tool pprof -list MakeTable "$program" "$tmp/heap.pb.gz" 2>&1)
if grep -q "ROUTINE.*MakeTable.*heap_profile.cc" <<<"$listing" &&
  grep -q "m.New<Node>(kNodeType)" <<<"$listing"; then
  echo "ok   -list MakeTable shows its source"
else
  echo "FAIL -list MakeTable shows its source"
  echo "$listing" | head -20
  failed=1
fi
if [ $failed -ne 0 ]; then
  echo "--- go tool pprof -top -sample_index=alloc_space"
  echo "$alloc"
  echo "--- go tool pprof -top -sample_index=inuse_space"
  echo "$inuse"
  exit 1
fi
