#!/usr/bin/env bash
# Runs every example under the debug checks that catch missing write
# barriers: concurrent marks started every 100 allocations and held open
# across 300 more (gcmarkstress, gcmarkhold), the barrier check and
# checkmark. An example that stores a heap pointer without the barrier
# while a mark runs aborts with "barrier check: ..." and fails this test.
set -u
export GCHEAP_DEBUG=gcmarkstress=100,gcmarkhold=300,gcbarriercheck=1,gccheckmark=1
failed=0
for example in "$@"; do
  if out=$("$example" 2>&1 >/dev/null); then
    echo "ok   $(basename "$example")"
  else
    echo "FAIL $(basename "$example")"
    echo "$out" | tail -5
    failed=1
  fi
done
exit $failed
