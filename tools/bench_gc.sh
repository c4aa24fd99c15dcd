#!/usr/bin/env bash
# Whole-program GC benchmark: gcheap against Go 1.26, Go (Debian's golang-go)
# and the Boehm GC on binary-trees and GCBench, single-threaded (bench/*.cc;
# the peers are in bench/peers/).
#
# Builds bench/binary_trees and bench/gcbench with --config=opt and runs REPS
# rounds under /usr/bin/time for the peak RSS: each round runs both gcheap
# programs once, then bench/peers/run_peers.sh once (the Go 1.26, Go and
# Boehm versions, each once), so every implementation sees the same drift in the
# machine's state. Checks that repeated runs print the same results and that
# gcheap's results match the peers', and prints one table of medians with
# gcheap's time and RSS ratios to each peer.
#
# Usage: tools/bench_gc.sh
# Environment:
#   REPS         runs per program and implementation (default 3)
#   BT_DEPTH     binary-trees max depth (default 21)
#   BAZEL_FLAGS  extra flags for the bazel build, split on spaces (default none)
#   GO126        Go 1.26's go command, as bench/peers/run_peers.sh takes it;
#                if it is absent the go126 rows and ratios are "-"
# Runtime settings (GCHEAP_DEBUG, GOGC, GOMAXPROCS, GC_MARKERS, ...) are passed
# through to the programs unchanged.
#
# Output, under out/bench/: gc.results (every run's RESULT line with
# rss_kb=<peak RSS in KiB> appended, gcheap's and the peers'), gcheap.results
# (gcheap's alone), <name>_gcheap.out (the first run's standard output), and
# peers/ (peers.results, all rounds' peer runs, and round<N>/, run_peers.sh's
# binaries, outputs and results for round N).
#
# Installs nothing: go, gcc, libgc-dev and time must be present (Go 1.26:
# tools/fetch_go126.sh).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/bench_lib.sh
. "$repo/tools/bench_lib.sh"
cd "$repo"

reps="${REPS:-3}"
bt_depth="${BT_DEPTH:-21}"
for v in "$reps" "$bt_depth"; do
  case "$v" in
    '' | *[!0-9]*) echo "REPS and BT_DEPTH must be non-negative integers" >&2; exit 2 ;;
  esac
done
if [ "$reps" -lt 1 ]; then
  echo "REPS must be at least 1" >&2
  exit 2
fi
bazel_flags=()
if [ -n "${BAZEL_FLAGS:-}" ]; then
  read -r -a bazel_flags <<<"$BAZEL_FLAGS"
fi

out="$repo/out/bench"
peers_out="$out/peers"
mkdir -p "$out" "$peers_out"

# --- prerequisites ----------------------------------------------------------
bench_require_peer_tools bench_gc.sh
if ! command -v bazel >/dev/null 2>&1; then
  echo "bench_gc.sh: bazel not found" >&2
  exit 1
fi

# --- build ------------------------------------------------------------------
echo "building gcheap benchmarks (--config=opt ${bazel_flags[*]})" >&2
bazel build --config=opt "${bazel_flags[@]}" //bench:binary_trees //bench:gcbench >&2
bin_dir="$(bazel info --config=opt "${bazel_flags[@]}" bazel-bin 2>/dev/null)"
# Its JVM would take CPUs from the programs measured (tools/bench_shapes.sh).
bazel shutdown >&2
for prog in binary_trees gcbench; do
  install -m 755 "$bin_dir/bench/$prog" "$out/${prog}_gcheap"
done

# --- run gcheap -------------------------------------------------------------
# Lines whose content depends on timing or on the collector; left out when
# outputs are compared (as in run_peers.sh).

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

gcheap_results="$out/gcheap.results"
: >"$gcheap_results"
: >"$peers_out/peers.results"
status=0

{
  echo "gcheap: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo ' (modified)')"
  echo "cpus:   $(nproc)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "binary-trees depth $bt_depth; $reps runs each"
} >&2

for ((rep = 1; rep <= reps; rep++)); do
  for prog in binary_trees gcbench; do
    argv=("$out/${prog}_gcheap")
    if [ "$prog" = binary_trees ]; then argv+=("$bt_depth"); fi
    cmd="${argv[*]}"
    echo "run $rep/$reps: $cmd" >&2
    bench_run "${argv[@]}"
    line="$bench_line"
    echo "$line rss_kb=$bench_rss_kb" >>"$gcheap_results"
    bench_keep_output "$rep" "$out/${prog}_gcheap.out" "$prog gcheap" || status=1
  done
  # --- the peers, once each in this round (bench/peers/run_peers.sh) ---------
  # Interleaved with gcheap's runs, so that slow drift in the machine's
  # state (these machines are shared) does not favor either side.
  echo "run $rep/$reps: the Go 1.26, Go and Boehm peers (bench/peers/run_peers.sh)" >&2
  if ! REPS=1 BT_DEPTH="$bt_depth" BT_THREADS=1 \
    "$repo/bench/peers/run_peers.sh" "$peers_out/round$rep" >&2; then
    echo "run_peers.sh reported a failure or mismatch (see above)" >&2
    status=1
  fi
  cat "$peers_out/round$rep/peers.results" >>"$peers_out/peers.results"
done

# --- check gcheap against the peers -----------------------------------------
go126_ran=0
if [ -f "$peers_out/round1/gcbench_go126.out" ]; then go126_ran=1; fi
check_impls=(go boehm)
if [ "$go126_ran" = 1 ]; then check_impls+=(go126); fi
for prog in binary_trees gcbench; do
  for impl in "${check_impls[@]}"; do
    peer="$peers_out/round1/${prog}_${impl}.out"
    if [ ! -f "$peer" ]; then
      echo "MISSING: $peer" >&2
      status=1
    elif cmp -s <(normalize "$out/${prog}_gcheap.out") <(normalize "$peer"); then
      echo "outputs match: $prog (gcheap, $impl)" >&2
    else
      echo "MISMATCH: $prog outputs differ between gcheap and $impl:" >&2
      diff <(normalize "$out/${prog}_gcheap.out") <(normalize "$peer") >&2 || true
      status=1
    fi
  done
done

# --- merge and summarize ----------------------------------------------------
results="$out/gc.results"
cat "$gcheap_results" "$peers_out/peers.results" >"$results"


echo
echo "medians of $reps runs; peak RSS from /usr/bin/time; pauses as each program reports them"
echo "ratios: gcheap / peer (above 1.00x: gcheap slower or larger)"
printf '%-14s %-7s %10s %9s %6s %13s %14s | %8s %8s %8s %9s %8s %8s\n' \
  program impl wall_ms rss_MiB gcs max_pause_us total_pause_ms \
  t/go126 t/go t/boehm rss/go126 rss/go rss/boehm
for prog in binary_trees gcbench; do
  declare -A wall=() rss=()
  for impl in gcheap go126 go boehm; do
    wall[$impl]="$(field wall_ms "$prog" "$impl" | median)"
    rss[$impl]="$(field rss_kb "$prog" "$impl" | median)"
  done
  for impl in gcheap go126 go boehm; do
    if [ "$impl" = go126 ] && [ "$go126_ran" = 0 ]; then continue; fi
    gcs="$(field gcs "$prog" "$impl" | median)"
    maxp="$(field max_pause_us "$prog" "$impl" | median)"
    totp="$(field total_pause_ms "$prog" "$impl" | median)"
    rss_mib="$(awk -v k="${rss[$impl]}" 'BEGIN { if (k == "nan") print "nan"; else printf "%.1f", k / 1024 }')"
    r=(- - - - - -)
    if [ "$impl" = gcheap ]; then
      r=("$(ratio "${wall[gcheap]}" "${wall[go126]}")" "$(ratio "${wall[gcheap]}" "${wall[go]}")"
        "$(ratio "${wall[gcheap]}" "${wall[boehm]}")"
        "$(ratio "${rss[gcheap]}" "${rss[go126]}")" "$(ratio "${rss[gcheap]}" "${rss[go]}")"
        "$(ratio "${rss[gcheap]}" "${rss[boehm]}")")
    fi
    printf '%-14s %-7s %10.1f %9s %6.0f %13.1f %14.1f | %8s %8s %8s %9s %8s %8s\n' \
      "$prog" "$impl" "${wall[$impl]}" "$rss_mib" "$gcs" "$maxp" "$totp" "${r[@]}"
  done
  unset wall rss
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw results: $results"
exit "$status"
