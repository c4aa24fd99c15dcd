#!/usr/bin/env bash
# Allocation benchmark against malloc peers, all measured in the same run
# of the same binary: alloc/malloc_benchmark runs once with glibc's malloc,
# then with mimalloc, jemalloc and tcmalloc preloaded (LD_PRELOAD replaces
# malloc/free for the peer rows; gcheap's rows are measured again in each
# process so every ratio compares numbers from one process).
#
# Prints a table of medians (ns per object) and ratios, and writes the raw
# CSV to out/bench/alloc-<peer>.csv. Env: REPS (default 5), MIN_TIME (s).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
MIN_TIME=${MIN_TIME:-0.2}
OUT=out/bench
mkdir -p "$OUT"
bazel build --config=opt //alloc:malloc_benchmark >&2
BIN=bazel-bin/alloc/malloc_benchmark
LIBDIR=/usr/lib/x86_64-linux-gnu
declare -A PRELOAD=(
  [glibc]=""
  [mimalloc]="$LIBDIR/libmimalloc.so.2"
  [jemalloc]="$LIBDIR/libjemalloc.so.2"
  [tcmalloc]="$LIBDIR/libtcmalloc_minimal.so.4"
)
PEERS=(glibc mimalloc jemalloc tcmalloc)
for peer in "${PEERS[@]}"; do
  lib=${PRELOAD[$peer]}
  if [ -n "$lib" ] && [ ! -f "$lib" ]; then
    echo "skipping $peer: $lib not installed" >&2
    continue
  fi
  echo "running with $peer malloc..." >&2
  LD_PRELOAD=$lib "$BIN" --benchmark_repetitions="$REPS" \
    --benchmark_min_time="$MIN_TIME" --benchmark_report_aggregates_only=true \
    --benchmark_format=csv 2>/dev/null >"$OUT/alloc-$peer.csv"
done

# median ns for benchmark $2 in file $1
median() {
  awk -F, -v want="\"$2_median\"" '$1 == want {printf "%.2f", $3}' "$1"
}

printf '\nAllocation cost, ns per object (median of %s runs); ratio = peer / gcheap\n' "$REPS"
printf '%-10s %9s %9s | %-16s %-16s %-16s %-16s %-16s\n' size "gcheap" "noscan" \
  "glibc m+f" "glibc calloc+f" "mimalloc m+f" "jemalloc m+f" "tcmalloc m+f"
for size in 8 16 32 64 128 512 65536; do
  g="$OUT/alloc-glibc.csv"
  gs=$(median "$g" "BM_GcheapScan/$size")
  gn=$(median "$g" "BM_GcheapNoscan/$size")
  row=$(printf '%-10s %9s %9s |' "$size" "$gs" "$gn")
  for col in glibc:BM_MallocFree glibc:BM_CallocFree mimalloc:BM_MallocFree \
    jemalloc:BM_MallocFree tcmalloc:BM_MallocFree; do
    peer=${col%%:*}
    bm=${col#*:}
    f="$OUT/alloc-$peer.csv"
    if [ ! -f "$f" ]; then
      row+=$(printf ' %-16s' "n/a")
      continue
    fi
    p=$(median "$f" "$bm/$size")
    mine=$(median "$f" "BM_GcheapScan/$size")
    ratio=$(awk -v a="$p" -v b="$mine" 'BEGIN {printf "%.1fx", a / b}')
    row+=$(printf ' %-16s' "$p ($ratio)")
  done
  echo "$row"
done
echo
echo "size 8 noscan is the tiny allocator; 65536 is a large object (own span,"
echo "zeroed). gcheap rows include refills, sweeping and span reuse (a sweep"
echo "cycle with no survivors every 4 MiB)."
