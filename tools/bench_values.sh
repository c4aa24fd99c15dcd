#!/usr/bin/env bash
# A VM's values on gcheap against their peers, in the same run
# (bench/values_bench.cc): the value-slot write barrier (idle, marking)
# against a plain store, and interning through a weak callback, WeakSet
# and WeakValueMap against clox's malloc table. Medians of REPS (default 9)
# repetitions, interleaved at random, and ratios to the peer.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
reps="${REPS:-9}"
bazel build --config=opt //bench:values_bench >&2
out="$(bazel-bin/bench/values_bench --benchmark_repetitions="$reps" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_format=csv 2>/dev/null)"
# name,iterations,real_time,cpu_time,...: the medians, in ns or ms.
median() { awk -F, -v want="\"$1_median\"" '$1 == want { print $3 }' <<<"$out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
plain=$(median "BM_Store/kind:0")
printf '\nvalue-slot store, ns (median of %s):\n' "$reps"
printf '  plain store            %8.3f\n' "$plain"
for k in 1:barrier 2:marking; do
  v=$(median "BM_Store/kind:${k%%:*}")
  printf '  WriteBarrier, %-8s %8.3f  (%s the plain store)\n' "${k#*:}" "$v" "$(ratio "$v" "$plain")"
done
printf '\ninterning 100000 strings, ms (median of %s); ratio to clox'"'"'s malloc table:\n' "$reps"
for again in 0 1; do
  what=$([ "$again" = 0 ] && echo "new strings" || echo "new, then again")
  peer=$(median "BM_Intern/table:0/again:$again/n:100000")
  printf '  %-16s malloc table %8.2f\n' "$what" "$peer"
  for t in 1:"weak callback" 2:WeakSet 3:WeakValueMap; do
    v=$(median "BM_Intern/table:${t%%:*}/again:$again/n:100000")
    printf '  %-16s %-12s %8.2f  %s\n' "" "${t#*:}" "$v" "$(ratio "$v" "$peer")"
  done
done
