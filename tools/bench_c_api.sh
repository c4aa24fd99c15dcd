#!/usr/bin/env bash
# The C API's allocation fast path against the C++ one, in the same run
# (bench/c_api_bench.cc): 16-64 byte objects, typed (pointer map) and
# pointer-free; typed-static is the C type known at compile time
# (GCH_STATIC_TYPE) against the same C++ figure; typed-runtime the C type
# made at run time against a C++ Type made at run time. Medians of REPS
# (default 9) repetitions, interleaved at random; the ratio is C / C++
# (target: no slower, 1.00x or below).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
reps="${REPS:-9}"
bazel build --config=opt //bench:c_api_bench >&2
out="$(bazel-bin/bench/c_api_bench --benchmark_repetitions="$reps" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_format=csv 2>/dev/null)"
# name,iterations,real_time,cpu_time,...: real time per 1000 objects, ns.
median() { awk -F, -v want="\"$1_median\"" '$1 == want { print $3 }' <<<"$out"; }
printf '\nallocation, ns per object (median of %s), C API vs C++:\n' "$reps"
printf '  %-13s %5s %8s %8s %7s\n' kind bytes C C++ C/C++
for kind in typed static runtime noscan; do
  for n in 16 32 48 64; do
    if [ "$kind" = static ]; then
      c=$(median "BM_Alloc/c_static/typed/$n")
      cxx=$(median "BM_Alloc/cxx/typed/$n")
      label="typed-static"
    elif [ "$kind" = runtime ]; then
      c=$(median "BM_Alloc/c/typed/$n")
      cxx=$(median "BM_Alloc/cxx_runtime/typed/$n")
      label="typed-runtime"
    else
      c=$(median "BM_Alloc/c/$kind/$n")
      cxx=$(median "BM_Alloc/cxx/$kind/$n")
      label="$kind"
    fi
    awk -v k="$label" -v n="$n" -v c="$c" -v x="$cxx" 'BEGIN {
      printf "  %-13s %5d %8.2f %8.2f %6.2fx\n", k, n, c / 1000, x / 1000, c / x }'
  done
done
