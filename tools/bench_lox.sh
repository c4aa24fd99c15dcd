#!/usr/bin/env bash
# The Lox VM (examples/lox; the CMake build, Release at -O2, as installed:
# the C++ runtime linked statically) against the book's clox, built from
# ../shared/peers/clox with the same compiler at -O2, on the book's
# benchmarks (../shared/lox/test/benchmark) and bench/lox/intern_strings.lox
# (1.1 million distinct strings interned). REPS rounds (default 3), the two
# VMs interleaved in each. For each program: wall time, CPU time
# (user+sys) and peak RSS from /usr/bin/time, and for ours the collections
# and the longest pause (lox -stats). zoo_batch.lox runs for a fixed time:
# its printed batch count is compared instead (higher is better). Prints a
# markdown table of medians and the ratios ours/clox.
#
#   tools/bench_lox.sh                 REPS=5 tools/bench_lox.sh
#   LOX_BENCH_DIR=dir tools/bench_lox.sh   another benchmark folder
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
reps="${REPS:-3}"
benchdir="${LOX_BENCH_DIR:-../shared/lox/test/benchmark}"
peer_src="${CLOX_SRC:-../shared/peers/clox}"
cc="${CC:-cc}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

build=build/lox-bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGCHEAP_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >&2
cmake --build "$build" -j "$(nproc)" --target lox >&2
cp "$build/lox" "$tmp/lox"
"$cc" -O2 -o "$tmp/clox" "$peer_src"/*.c >&2

programs=("$benchdir"/*.lox bench/lox/intern_strings.lox)
results="$tmp/results"
: >"$results"
for ((round = 1; round <= reps; round++)); do
  echo "round $round of $reps" >&2
  for prog in "${programs[@]}"; do
    name="$(basename "$prog" .lox)"
    for impl in lox clox; do
      args=("$prog")
      [ "$impl" = lox ] && args=(-stats "$prog")
      # A program may fail in both VMs alike (string_equality.lox has more
      # than 256 constants in one chunk: a compile error in the book's
      # clox too); its exit status is reported in the table.
      status=0
      /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
        "$tmp/$impl" "${args[@]}" >"$tmp/stdout" 2>"$tmp/stderr" || status=$?
      [ "$status" -eq 0 ] || echo "$impl $prog: exit status $status" >&2
      read -r wall user sys rss < <(tail -n 1 "$tmp/time")
      gcs=- pause=-
      if [ "$impl" = lox ]; then
        gcs=$(sed -n 's/.*num_gc \([0-9]*\).*/\1/p' "$tmp/stderr")
        pause=$(sed -n 's/.*max_pause_ns \([0-9]*\).*/\1/p' "$tmp/stderr")
      fi
      batches=-
      [ "$name" = zoo_batch ] && batches=$(sed -n '2p' "$tmp/stdout")
      echo "$name $impl $wall $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}') $rss ${gcs:--} ${pause:--} $batches $status" >>"$results"
    done
  done
done

python3 - "$results" "$reps" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = []
for r in rows:
    if r[0] not in names:
        names.append(r[0])
def med(name, impl, col):
    v = [float(r[col]) for r in rows if r[0] == name and r[1] == impl and r[col] != "-"]
    return statistics.median(v) if v else float("nan")
print("\nmedians of %s rounds; ratio = lox / clox\n" % sys.argv[2])
print("| benchmark | wall s lox | wall s clox | wall ratio | cpu s lox | cpu s clox | cpu ratio | RSS MB lox | RSS MB clox | RSS ratio | lox GCs | lox max pause ms | exit lox/clox |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    w1, w2 = med(n, "lox", 2), med(n, "clox", 2)
    c1, c2 = med(n, "lox", 3), med(n, "clox", 3)
    r1, r2 = med(n, "lox", 4) / 1024, med(n, "clox", 4) / 1024
    gcs, pause = med(n, "lox", 5), med(n, "lox", 6) / 1e6
    if n == "zoo_batch":
        b1, b2 = med(n, "lox", 7), med(n, "clox", 7)
        wall = "batches %d | batches %d | %.2fx (clox/lox) " % (b1, b2, b2 / b1 if b1 else float("nan"))
    else:
        wall = "%.3f | %.3f | %.2fx" % (w1, w2, w1 / w2 if w2 else float("nan"))
    st = lambda impl: max(int(r[8]) for r in rows if r[0] == n and r[1] == impl)
    print("| %s | %s | %.3f | %.3f | %.2fx | %.1f | %.1f | %.2fx | %d | %.2f | %d/%d |" % (
        n, wall, c1, c2, c1 / c2 if c2 else float("nan"), r1, r2, r1 / r2, gcs, pause,
        st("lox"), st("clox")))
PY
