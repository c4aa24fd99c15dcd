#!/usr/bin/env bash
# Workload shapes: gcheap against Go 1.26, Go 1.19, the Boehm GC and mimalloc
# on four whole-program workloads, multi-threaded:
#
#   binary_trees  binary-trees depth BT_DEPTH, -threads THREADS
#                 gcheap_cons  bench/binary_trees -objects conservative
#                 gcheap       bench/binary_trees -objects typed
#                 go126, go, boehm   bench/peers/binary_trees{.go,.c}
#                 mimalloc     bench/peers/binary_trees.c (malloc), mimalloc
#                              preloaded (explicit free, no collector)
#   gcbench       GCBench (single-threaded): gcheap, go126, go, boehm
#   churn         churn -threads THREADS: gcheap, go126, go, boehm, mimalloc
#   pauses        pauses -live PAUSE_LIVE -seconds PAUSE_SECONDS, with
#                 THREADS/2 (at least 1) mutators and as many spinners
#                 (threads in loops that never poll): gcheap, go126, go
#
# The workloads, flags and RESULT lines are described in bench/peers/README.md.
# The bazel server is shut down once the build is done: its JVM's collector
# threads, run now and then while it idles, would take CPUs from the
# programs measured. REPS rounds are run, interleaved: in each round every
# program of every implementation runs once, under /usr/bin/time for the
# peak RSS, so that slow drift in the machine's state does not favor one
# implementation. Checks that repeated runs print the same results and that
# all implementations of binary_trees, gcbench and churn print the same
# results (timing lines aside), then prints one table of medians per
# workload with gcheap's ratios to each peer.
#
# Usage: tools/bench_shapes.sh
# Environment:
#   REPS           rounds (default 3)
#   THREADS        -threads of binary_trees and churn, and GOMAXPROCS of the
#                  Go programs (default: nproc)
#   BT_DEPTH       binary-trees max depth (default 21)
#   CHURN_OPS      churn -ops, operations per thread (default: the programs'
#                  default, 4000000)
#   PAUSE_LIVE     pauses -live, MiB (default 256)
#   PAUSE_SECONDS  pauses -seconds (default 10)
#   WORKLOADS      the workloads to run, space-separated (default
#                  "binary_trees gcbench churn pauses")
#   SKIP_BUILD=1   reuse the binaries of an earlier run (out/bench/shapes/bin)
#   ONLY_PEERS=1   leave gcheap out (no bazel): the peers alone
#   BAZEL_FLAGS    extra flags for the bazel build, split on spaces
#   GO126          Go 1.26's go command (default
#                  /tmp/go126/usr/lib/go-1.26/bin/go: Debian's golang-1.26-go
#                  and golang-1.26-src packages unpacked with dpkg -x into
#                  /tmp/go126). If it is absent the go126 rows and ratios
#                  are "-".
#   MIMALLOC       mimalloc's shared library (default
#                  /usr/lib/x86_64-linux-gnu/libmimalloc.so.2, Debian
#                  libmimalloc2.0). If it is absent the mimalloc rows are "-".
# The Go programs run with GOGC=100 GOMAXPROCS=$THREADS. Other runtime
# settings (GCHEAP_DEBUG, GC_MARKERS, ...) are passed through unchanged.
#
# Implementations are labelled by this script: each RESULT line's impl (and
# name) is rewritten to the row it belongs to. The Go 1.26 and Go 1.19
# builds both report impl=go, and binary_trees_malloc / churn_malloc report
# impl=malloc whatever malloc is loaded; here they become go126, go and
# mimalloc.
#
# Output, under out/bench/: shapes.results (one line per run: the RESULT
# line, relabelled, with rss_kb=<peak RSS in KiB> appended), and shapes/
# (bin/: the binaries; <workload>_<impl>.out: the first round's standard
# output of each program).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/bench_lib.sh
. "$repo/tools/bench_lib.sh"
cd "$repo"

die() {
  echo "bench_shapes.sh: $*" >&2
  exit 2
}
is_uint() {
  case "$1" in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac
}

reps="${REPS:-3}"
threads="${THREADS:-$(nproc)}"
bt_depth="${BT_DEPTH:-21}"
churn_ops="${CHURN_OPS:-}"
pause_live="${PAUSE_LIVE:-256}"
pause_seconds="${PAUSE_SECONDS:-10}"
pause_half=$(( threads / 2 > 0 ? threads / 2 : 1 ))
workloads_env="${WORKLOADS:-binary_trees gcbench churn pauses}"
skip_build="${SKIP_BUILD:-0}"
only_peers="${ONLY_PEERS:-0}"
go126="$(bench_go126)"
mimalloc_lib="${MIMALLOC:-/usr/lib/x86_64-linux-gnu/libmimalloc.so.2}"

for v in REPS THREADS BT_DEPTH PAUSE_LIVE PAUSE_SECONDS; do
  case "$v" in
    REPS) val="$reps" ;; THREADS) val="$threads" ;; BT_DEPTH) val="$bt_depth" ;;
    PAUSE_LIVE) val="$pause_live" ;; PAUSE_SECONDS) val="$pause_seconds" ;;
  esac
  is_uint "$val" || die "$v must be a non-negative integer (got '$val')"
done
[ -z "$churn_ops" ] || is_uint "$churn_ops" || die "CHURN_OPS must be a non-negative integer"
[ "$reps" -ge 1 ] || die "REPS must be at least 1"
[ "$threads" -ge 1 ] || die "THREADS must be at least 1"
read -r -a workloads <<<"$workloads_env"
[ "${#workloads[@]}" -gt 0 ] || die "WORKLOADS is empty"
for w in "${workloads[@]}"; do
  case "$w" in
    binary_trees | gcbench | churn | pauses) ;;
    *) die "unknown workload '$w' in WORKLOADS (binary_trees gcbench churn pauses)" ;;
  esac
done
bazel_flags=()
if [ -n "${BAZEL_FLAGS:-}" ]; then
  read -r -a bazel_flags <<<"$BAZEL_FLAGS"
fi

out="$repo/out/bench"
shapes="$out/shapes"
bin="$shapes/bin"
results="$out/shapes.results"
mkdir -p "$bin"

# --- prerequisites ----------------------------------------------------------
bench_require_peer_tools bench_shapes.sh
if [ "$only_peers" != 1 ] && [ "$skip_build" != 1 ] && ! command -v bazel >/dev/null 2>&1; then
  echo "bench_shapes.sh: bazel not found (ONLY_PEERS=1 runs the peers alone)" >&2
  exit 1
fi

have_go126=0
if [ -x "$go126" ]; then
  have_go126=1
else
  echo "Go 1.26 is absent ($go126 not found; unpack Debian's golang-1.26-go and golang-1.26-src into /tmp/go126 with dpkg -x, or set GO126):" \
    "the go126 rows and ratios are \"-\"" >&2
fi
have_mimalloc=0
if [ -f "$mimalloc_lib" ]; then
  have_mimalloc=1
else
  echo "mimalloc is absent ($mimalloc_lib not found; Debian package" \
    "libmimalloc2.0): the mimalloc rows and ratios are \"-\"" >&2
fi

# --- implementations --------------------------------------------------------
# impls_of WORKLOAD: the implementations that run it, in table order.
impls_of() {
  local w="$1" list=()
  if [ "$only_peers" != 1 ]; then
    if [ "$w" = binary_trees ]; then list+=(gcheap_cons); fi
    list+=(gcheap)
  fi
  if [ "$have_go126" = 1 ]; then list+=(go126); fi
  list+=(go)
  case "$w" in binary_trees | gcbench | churn) list+=(boehm) ;; esac
  case "$w" in
    binary_trees | churn) if [ "$have_mimalloc" = 1 ]; then list+=(mimalloc); fi ;;
  esac
  echo "${list[@]}"
}
# binary_of WORKLOAD IMPL: the program's file under $bin.
binary_of() {
  case "$2" in
    gcheap | gcheap_cons) echo "$1_gcheap" ;;
    go126) echo "$1_go126" ;;
    go) echo "$1_go" ;;
    boehm) echo "$1_boehm" ;;
    mimalloc) echo "$1_malloc" ;;
  esac
}
# name_of WORKLOAD: the name the programs report in their RESULT line.
name_of() {
  case "$1" in
    binary_trees) if [ "$threads" -gt 1 ]; then echo "binary_trees_t$threads"; else echo binary_trees; fi ;;
    churn) echo "churn_t$threads" ;;
    *) echo "$1" ;;
  esac
}
# args_of WORKLOAD IMPL: the program's arguments, one per line.
args_of() {
  case "$1" in
    binary_trees)
      printf '%s\n' -threads "$threads"
      case "$2" in
        gcheap_cons) printf '%s\n' -objects conservative ;;
        gcheap) printf '%s\n' -objects typed ;;
      esac
      echo "$bt_depth"
      ;;
    churn)
      printf '%s\n' -threads "$threads"
      if [ -n "$churn_ops" ]; then printf '%s\n' -ops "$churn_ops"; fi
      ;;
    pauses)
      # Threads = CPUs: half allocate, half spin without polling. (More
      # threads than CPUs measures the OS's time slices as much as the
      # collector: a 1:1 thread cannot be stopped before it is scheduled.)
      printf '%s\n' -live "$pause_live" -seconds "$pause_seconds" \
        -spinners "$pause_half" -mutators "$pause_half"
      ;;
  esac
}

needed=() # every binary of the selected workloads
for w in "${workloads[@]}"; do
  for impl in $(impls_of "$w"); do
    b="$(binary_of "$w" "$impl")"
    case " ${needed[*]-} " in *" $b "*) ;; *) needed+=("$b") ;; esac
  done
done

# --- build ------------------------------------------------------------------
if [ "$skip_build" = 1 ]; then
  echo "SKIP_BUILD=1: reusing the binaries in $bin" >&2
else
  if [ "$only_peers" != 1 ]; then
    targets=()
    for w in "${workloads[@]}"; do targets+=("//bench:$w"); done
    echo "building gcheap benchmarks (--config=opt ${bazel_flags[*]-}): ${targets[*]}" >&2
    bazel build --config=opt "${bazel_flags[@]}" "${targets[@]}" >&2
    bin_dir="$(bazel info --config=opt "${bazel_flags[@]}" bazel-bin 2>/dev/null)"
    for w in "${workloads[@]}"; do
      install -m 755 "$bin_dir/bench/$w" "$bin/${w}_gcheap"
    done
    # The build server's JVM, left idle, still runs its own collector's
    # threads now and then, for a millisecond or more at a time: on a
    # machine with two CPUs that preempts the programs measured and shows
    # up as their longest pauses. It is not needed again.
    bazel shutdown >&2
  fi
  echo "building the peers into $bin" >&2
  (
    cd "$repo/bench/peers"
    for w in "${workloads[@]}"; do
      # GOTOOLCHAIN=local: use exactly this go, never a downloaded one.
      GOTOOLCHAIN=local go build -o "$bin/${w}_go" "$w.go" gcstats.go
      if [ "$have_go126" = 1 ]; then
        GOTOOLCHAIN=local "$go126" build -o "$bin/${w}_go126" "$w.go" gcstats.go
      fi
      # One C source per workload, built for Boehm and for malloc
      # (bench/peers/peer_alloc.h).
      if [ -f "$w.c" ]; then
        gcc -O2 -Wall -DPEER_BOEHM -o "$bin/${w}_boehm" "$w.c" -lgc -lpthread
        gcc -O2 -Wall -o "$bin/${w}_malloc" "$w.c" -lpthread
      elif [ -f "${w}_boehm.c" ]; then
        # (GCBench: a Boehm version only, the original C program)
        gcc -O2 -Wall -o "$bin/${w}_boehm" "${w}_boehm.c" -lgc -lpthread
      fi
    done
  )
fi
for b in "${needed[@]}"; do
  [ -x "$bin/$b" ] || die "missing binary $bin/$b (run without SKIP_BUILD=1)"
done

# --- run --------------------------------------------------------------------
# Lines whose content depends on timing or on the collector; left out when
# outputs are compared (as in bench/peers/run_peers.sh).

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
: >"$results"
status=0

{
  echo "gcheap:   $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo ' (modified)')$([ "$only_peers" = 1 ] && echo ' (ONLY_PEERS=1: not run)')"
  if [ "$have_go126" = 1 ]; then echo "go126:    $("$go126" version)"; else echo "go126:    absent"; fi
  echo "go:       $(go version)"
  echo "boehm:    libgc $(dpkg-query -W -f '${Version}' libgc-dev 2>/dev/null || echo '?')"
  if [ "$have_mimalloc" = 1 ]; then
    echo "mimalloc: $mimalloc_lib $(dpkg-query -W -f '${Version}' libmimalloc2.0 2>/dev/null || echo '?')"
  else
    echo "mimalloc: absent"
  fi
  echo "cpus:     $(nproc)  THREADS=$threads  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "workloads: ${workloads[*]}; binary-trees depth $bt_depth; churn ops ${churn_ops:-default};" \
    "pauses live $pause_live MiB, $pause_seconds s; $reps rounds"
} >&2

for ((rep = 1; rep <= reps; rep++)); do
  for w in "${workloads[@]}"; do
    name="$(name_of "$w")"
    for impl in $(impls_of "$w"); do
      mapfile -t args < <(args_of "$w" "$impl")
      envs=()
      case "$impl" in
        go | go126) envs=(GOGC=100 "GOMAXPROCS=$threads") ;;
        mimalloc) envs=("LD_PRELOAD=$mimalloc_lib") ;;
      esac
      # env runs (execs) the program, so /usr/bin/time measures the program
      # itself and LD_PRELOAD does not apply to /usr/bin/time.
      argv=(env "${envs[@]}" "$bin/$(binary_of "$w" "$impl")" "${args[@]}")
      cmd="${argv[*]}"
      echo "round $rep/$reps: $impl: $cmd" >&2
      bench_run "${argv[@]}"
      line="$bench_line"
      reported="$(sed -n 's/.* name=\([^ ]*\).*/\1/p' <<<"$line")"
      if [ "$reported" != "$name" ]; then
        echo "WARNING: $cmd reported name=$reported, expected $name" >&2
        status=1
      fi
      line="$(sed -e "s/ name=[^ ]*/ name=$name/" -e "s/ impl=[^ ]*/ impl=$impl/" <<<"$line")"
      echo "$line rss_kb=$bench_rss_kb" >>"$results"
      bench_keep_output "$rep" "$shapes/${w}_${impl}.out" "$w $impl" || status=1
    done
  done
done

# --- cross-implementation check ---------------------------------------------
# pauses is left out: its output is the parameters only.
for w in "${workloads[@]}"; do
  if [ "$w" = pauses ]; then continue; fi
  read -r -a impls <<<"$(impls_of "$w")"
  ref="${impls[0]}"
  for impl in "${impls[@]:1}"; do
    bench_same_output "$w" "$ref" "$shapes/${w}_${ref}.out" \
      "$impl" "$shapes/${w}_${impl}.out" || status=1
  done
done

# --- summary ----------------------------------------------------------------
# num VALUE DECIMALS [DIVISOR]: VALUE/DIVISOR with DECIMALS decimals, or "-".
num() {
  awk -v v="$1" -v d="$2" -v q="${3:-1}" 'BEGIN {
    if (v == "nan") print "-"; else printf "%.*f\n", d, v / q }'
}

# align: the rows on stdin as a table, the first column left-aligned.
align() {
  awk '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
         n[NR] = NF }
    END { for (r = 1; r <= NR; r++) {
            line = sprintf("%-*s", w[1], c[r, 1])
            for (i = 2; i <= n[r]; i++) line = line sprintf("  %*s", w[i], c[r, i])
            print line } }'
}

peers=(go126 go boehm mimalloc)
echo
echo "medians of $reps rounds; peak RSS from /usr/bin/time; pauses as each program reports them;"
echo "THREADS=$threads; ratios are gcheap / peer (\"-\": the peer does not run this workload or is absent)"
for w in "${workloads[@]}"; do
  name="$(name_of "$w")"
  read -r -a impls <<<"$(impls_of "$w")"
  # The compared metric: wall time; churn: allocation rate; pauses: the
  # longest pause (its wall time is fixed).
  case "$w" in
    churn) metric=alloc_mb_s mlabel=rate extra_hdr=alloc_MB_s
      note="rate = alloc_mb_s: above 1.00x gcheap allocates faster; rss above 1.00x: gcheap larger" ;;
    pauses) metric=max_pause_us mlabel=maxp extra_hdr="p50_us p99_us"
      note="maxp = max_pause_us: above 1.00x gcheap's longest pause is longer; rss above 1.00x: gcheap larger" ;;
    *) metric=wall_ms mlabel=t extra_hdr=""
      note="t = wall_ms: above 1.00x gcheap slower; rss above 1.00x: gcheap larger" ;;
  esac
  declare -A m=() rss=()
  for impl in "${impls[@]}"; do
    m[$impl]="$(field "$metric" "$name" "$impl" | median)"
    rss[$impl]="$(field rss_kb "$name" "$impl" | median)"
  done
  echo
  echo "== $w ($name): $note"
  hdr=(impl wall_ms rss_MiB gcs max_pause_us total_pause_ms)
  if [ -n "$extra_hdr" ]; then
    read -r -a eh <<<"$extra_hdr"
    hdr+=("${eh[@]}")
  fi
  for p in "${peers[@]}"; do hdr+=("$mlabel/$p"); done
  for p in "${peers[@]}"; do hdr+=("rss/$p"); done
  {
    echo "${hdr[*]}"
    for impl in "${impls[@]}"; do
      row=("$impl"
        "$(num "$(field wall_ms "$name" "$impl" | median)" 1)"
        "$(num "${rss[$impl]}" 1 1024)"
        "$(num "$(field gcs "$name" "$impl" | median)" 0)"
        "$(num "$(field max_pause_us "$name" "$impl" | median)" 1)"
        "$(num "$(field total_pause_ms "$name" "$impl" | median)" 1)")
      case "$w" in
        churn) row+=("$(num "${m[$impl]}" 1)") ;;
        pauses) row+=("$(num "$(field p50_pause_us "$name" "$impl" | median)" 1)"
          "$(num "$(field p99_pause_us "$name" "$impl" | median)" 1)") ;;
      esac
      case "$impl" in
        gcheap | gcheap_cons)
          for p in "${peers[@]}"; do row+=("$(ratio "${m[$impl]}" "${m[$p]:-nan}")"); done
          for p in "${peers[@]}"; do row+=("$(ratio "${rss[$impl]}" "${rss[$p]:-nan}")"); done
          ;;
        *) for p in "${peers[@]}" "${peers[@]}"; do row+=(-); done ;;
      esac
      echo "${row[*]}"
    done
  } | align
  unset m rss
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw results: $results"
exit "$status"
