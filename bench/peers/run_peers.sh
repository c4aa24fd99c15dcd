#!/usr/bin/env bash
# Builds the peer programs (Go 1.26, Go and Boehm GC versions of binary-trees
# and GCBench), runs each of them REPS times under /usr/bin/time, checks that the
# implementations print the same results, and prints a summary table.
#
# Usage: bench/peers/run_peers.sh [OUT_DIR]
#   OUT_DIR    where binaries, outputs and results go (default: out/peers at
#              the repository root)
# Environment:
#   REPS       runs per program (default 3)
#   BT_DEPTH   binary-trees max depth (default 21)
#   BT_THREADS binary-trees -threads value (default 1: single-threaded)
#   GO126      Go 1.26's go command (default
#              /tmp/go126/usr/lib/go-1.26/bin/go: Debian's golang-1.26-go and
#              golang-1.26-src unpacked with dpkg -x into /tmp/go126; see
#              tools/fetch_go126.sh). If it is absent the go126 rows are left
#              out. Its programs report impl=go; here their lines say go126.
#   Runtime settings such as GOGC, GOMAXPROCS or GC_MARKERS are passed through
#   to the programs unchanged.
#
# Writes $OUT_DIR/peers.results: one line per run, the program's RESULT line
# with rss_kb=<peak RSS in KiB> appended, e.g.
#   RESULT name=gcbench impl=go wall_ms=... gcs=... max_pause_us=... total_pause_ms=... rss_kb=...
# and $OUT_DIR/<name>_<impl>.out, the standard output of the first run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/bench_lib.sh
. "$here/../../tools/bench_lib.sh"
repo="$(cd "$here/../.." && pwd)"

out="${1:-$repo/out/peers}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

reps="${REPS:-3}"
bt_depth="${BT_DEPTH:-21}"
bt_threads="${BT_THREADS:-1}"
go126="$(bench_go126)"
have_go126=0
if [ -x "$go126" ]; then have_go126=1; fi
for v in "$reps" "$bt_depth" "$bt_threads"; do
  case "$v" in
    '' | *[!0-9]*) echo "REPS, BT_DEPTH and BT_THREADS must be positive integers" >&2; exit 2 ;;
  esac
done
if [ "$reps" -lt 1 ] || [ "$bt_threads" -lt 1 ]; then
  echo "REPS and BT_THREADS must be at least 1" >&2
  exit 2
fi

# --- prerequisites ----------------------------------------------------------
read -r -a missing <<<"$(bench_missing_peer_tools)"
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}" >&2
    apt-get install -y "${missing[@]}" >&2
  else
    echo "missing prerequisites; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# --- build ------------------------------------------------------------------
echo "building into $out" >&2
(
  cd "$here"
  go build -o "$out/binary_trees_go" binary_trees.go gcstats.go
  go build -o "$out/gcbench_go" gcbench.go gcstats.go
  if [ "$have_go126" = 1 ]; then
    GOTOOLCHAIN=local "$go126" build -o "$out/binary_trees_go126" binary_trees.go gcstats.go
    GOTOOLCHAIN=local "$go126" build -o "$out/gcbench_go126" gcbench.go gcstats.go
  fi
  gcc -O2 -Wall -DPEER_BOEHM -o "$out/binary_trees_boehm" binary_trees.c \
    -lgc -lpthread
  gcc -O2 -Wall -o "$out/gcbench_boehm" gcbench_boehm.c -lgc
)

# --- run --------------------------------------------------------------------
# name|impl|binary. The name is the one the program reports.
bt_name=binary_trees
bt_args=("$bt_depth")
if [ "$bt_threads" -gt 1 ]; then
  bt_name="binary_trees_t$bt_threads"
  bt_args=(-threads "$bt_threads" "$bt_depth")
fi
runs=()
if [ "$have_go126" = 1 ]; then runs+=("$bt_name|go126|binary_trees_go126"); fi
runs+=("$bt_name|go|binary_trees_go" "$bt_name|boehm|binary_trees_boehm")
if [ "$have_go126" = 1 ]; then runs+=("gcbench|go126|gcbench_go126"); fi
runs+=("gcbench|go|gcbench_go" "gcbench|boehm|gcbench_boehm")


results="$out/peers.results"
: >"$results"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

{
  if [ "$have_go126" = 1 ]; then echo "go126: $("$go126" version)"; else echo "go126: absent ($go126)"; fi
  echo "go:    $(go version)"
  echo "boehm: libgc $(dpkg-query -W -f '${Version}' libgc-dev 2>/dev/null || echo '?')"
  echo "cpus:  $(nproc)  GOGC=${GOGC:-} GOMAXPROCS=${GOMAXPROCS:-} GC_MARKERS=${GC_MARKERS:-}"
  echo "binary-trees depth $bt_depth, threads $bt_threads; $reps runs each"
} >&2

status=0
# Runs are interleaved (all programs once, then again) so that slow drift in
# the machine's state does not favor one implementation.
for ((rep = 1; rep <= reps; rep++)); do
  for r in "${runs[@]}"; do
    IFS='|' read -r name impl bin <<<"$r"
    argv=("$out/$bin")
    case "$bin" in
      binary_trees_*) argv+=("${bt_args[@]}") ;;
    esac
    cmd="${argv[*]}"
    echo "run $rep/$reps: $cmd" >&2
    bench_run "${argv[@]}"
    line="$(sed -e "s/ impl=[^ ]*/ impl=$impl/" <<<"$bench_line")"
    echo "$line rss_kb=$bench_rss_kb" >>"$results"
    bench_keep_output "$rep" "$out/${name}_${impl}.out" "$name $impl" || status=1
  done
done

# --- cross-implementation check ---------------------------------------------
for name in "$bt_name" gcbench; do
  bench_same_output "$name" go "$out/${name}_go.out" \
    boehm "$out/${name}_boehm.out" || status=1
  if [ "$have_go126" = 1 ]; then
    bench_same_output "$name" go "$out/${name}_go.out" \
      go126 "$out/${name}_go126.out" || status=1
  fi
done

# --- summary ----------------------------------------------------------------

echo
echo "medians of $reps runs (peak RSS from /usr/bin/time; pauses as reported by each program)"
printf '%-18s %-6s %12s %14s %8s %14s %16s\n' \
  program impl wall_ms peak_rss_MiB gcs max_pause_us total_pause_ms
for r in "${runs[@]}"; do
  IFS='|' read -r name impl _ <<<"$r"
  wall="$(field wall_ms "$name" "$impl" | median)"
  rss_mib="$(field rss_kb "$name" "$impl" | median | awk '{ printf "%.1f", $1 / 1024 }')"
  gcs="$(field gcs "$name" "$impl" | median)"
  maxp="$(field max_pause_us "$name" "$impl" | median)"
  totp="$(field total_pause_ms "$name" "$impl" | median)"
  printf '%-18s %-6s %12.1f %14s %8.0f %14.1f %16.1f\n' \
    "$name" "$impl" "$wall" "$rss_mib" "$gcs" "$maxp" "$totp"
done
echo
echo "raw results: $results"
exit "$status"
