#!/usr/bin/env bash
# What the collector costs a program that hardly allocates: the Lox VM
# (examples/lox, the CMake build, Release at -O2) against the same VM
# built with LOX_NO_COLLECTOR, whose heap never collects and whose hooks
# (the write barrier on every store into a heap object, the poll on every
# call and backward jump) compile to plain stores and nothing. Same
# sources, same allocator, same compiler: the difference is what the
# collector's presence costs an interpreter's dispatch loop.
#
# The programs are the book's benchmarks that allocate next to nothing
# (no collection runs in them), REPS rounds (default 5), the two builds
# interleaved in each. Reports the medians of CPU time (user+sys), of peak
# RSS (the resident floor of a program whose heap stays small: the heap's
# metadata and the code it brings) and the ratios; with CALLGRIND=1 also the instructions each executes under
# valgrind's callgrind (repeatable where wall time is noisy; slow: about
# a minute per program and build).
#
#   tools/bench_collector_cost.sh          REPS=9 tools/bench_collector_cost.sh
#   PROGRAMS="fib zoo" CALLGRIND=1 tools/bench_collector_cost.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
reps="${REPS:-5}"
benchdir="${LOX_BENCH_DIR:-../shared/lox/test/benchmark}"
read -r -a programs <<<"${PROGRAMS:-fib method_call invocation properties equality zoo}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

build_lox() { # build-dir extra-C-flags
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DGCHEAP_BUILD_TESTS=OFF \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG $2" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >&2
  cmake --build "$1" -j "$(nproc)" --target lox >&2
}
build_lox build/lox-bench ""
build_lox build/lox-nocollector "-DLOX_NO_COLLECTOR"
cp build/lox-bench/lox "$tmp/collector"
cp build/lox-nocollector/lox "$tmp/none"

results="$tmp/results"
: >"$results"
for ((round = 1; round <= reps; round++)); do
  echo "round $round of $reps" >&2
  for name in "${programs[@]}"; do
    for impl in collector none; do
      /usr/bin/time -f '%U %S %M' -o "$tmp/time" \
        "$tmp/$impl" -stats "$benchdir/$name.lox" >"$tmp/out.$impl" \
        2>"$tmp/err"
      read -r user sys rss < <(tail -n 1 "$tmp/time")
      gcs=$(sed -n 's/.*num_gc \([0-9]*\).*/\1/p' "$tmp/err")
      echo "$name $impl $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}') ${gcs:--} $rss" >>"$results"
    done
    # The two must print the same, but for the timings (lines of a
    # fractional number: the benchmarks print clock() differences).
    if ! cmp -s <(grep -Ev '^-?[0-9]+\.[0-9]+$' "$tmp/out.collector") \
      <(grep -Ev '^-?[0-9]+\.[0-9]+$' "$tmp/out.none"); then
      echo "$name: the two builds printed different output" >&2
      exit 1
    fi
  done
done

if [ "${CALLGRIND:-0}" = 1 ]; then
  for name in "${programs[@]}"; do
    for impl in collector none; do
      valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$tmp/$impl" "$benchdir/$name.lox" 2>"$tmp/cg" >/dev/null
      ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/cg")
      echo "$name $impl-ir $ir - -" >>"$results"
    done
  done
fi

python3 - "$results" "$reps" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = []
for r in rows:
    if r[0] not in names:
        names.append(r[0])
def vals(name, impl, col):
    return [float(r[col]) for r in rows if r[0] == name and r[1] == impl and r[col] != "-"]
print("\nmedians of %s rounds; ratio = with the collector / without\n" % sys.argv[2])
print("| program | cpu s, collector | cpu s, none | ratio | collections | RSS MB, collector | RSS MB, none | ratio | instructions, collector | instructions, none | ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    c, z = statistics.median(vals(n, "collector", 2)), statistics.median(vals(n, "none", 2))
    gcs = vals(n, "collector", 3)
    ic, iz = vals(n, "collector-ir", 2), vals(n, "none-ir", 2)
    irs = ("%d | %d | %.3fx" % (ic[0], iz[0], ic[0] / iz[0])) if ic and iz else "- | - | -"
    rc = statistics.median(vals(n, "collector", 4)) / 1024
    rz = statistics.median(vals(n, "none", 4)) / 1024
    print("| %s | %.3f | %.3f | %.3fx | %s | %.2f | %.2f | %.2fx | %s |" % (
        n, c, z, c / z, int(max(gcs)) if gcs else "-", rc, rz, rc / rz, irs))
PY
