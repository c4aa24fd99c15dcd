# Shared by the benchmark scripts that compare whole programs
# (tools/bench_gc.sh, tools/bench_shapes.sh, bench/peers/run_peers.sh).
# Source it; it defines functions only.
#
# Every program prints one machine-readable line on stderr,
#   RESULT name=<prog> impl=<impl> wall_ms=<f> gcs=<n> max_pause_us=<f> ...
# and the scripts keep one such line per run, with rss_kb=<peak RSS> added,
# in a results file.

# bench_run CMD...: runs CMD with its stdout in $tmp/stdout, under
# /usr/bin/time for its peak RSS; passes its other stderr lines on; exits
# the script if it fails or prints no RESULT line. Sets bench_line to the
# RESULT line and bench_rss_kb to the peak RSS.
bench_run() {
  local cmd="$*"
  if ! /usr/bin/time -f '%M' -o "$tmp/rss" "$@" >"$tmp/stdout" 2>"$tmp/stderr"; then
    echo "FAILED: $cmd" >&2
    cat "$tmp/stderr" >&2
    exit 1
  fi
  bench_line="$(grep '^RESULT ' "$tmp/stderr" | tail -n 1 || true)"
  if [ -z "$bench_line" ]; then
    echo "no RESULT line from: $cmd" >&2
    cat "$tmp/stderr" >&2
    exit 1
  fi
  grep -v '^RESULT ' "$tmp/stderr" >&2 || true
  bench_rss_kb="$(tail -n 1 "$tmp/rss")"
}

# normalize FILE: a program's stdout less the lines whose content depends
# on timing or on the collector, for comparing outputs.
normalize() {
  grep -v -E 'construction took|^Completed ' "$1" || true
}

# field KEY NAME IMPL: the KEY values of that program's runs in $results,
# one per line.
field() {
  grep "^RESULT name=$2 impl=$3 " "$results" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"
}

# median: the median of the numbers on stdin (nan if none).
median() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) print "nan"; else if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
          else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B as "1.23x", or "-" when either is missing or B is 0.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "nan" || b == "nan" || b + 0 == 0) print "-"; else printf "%.2fx\n", a / b }'
}

# bench_go126: Go 1.26's go command: $GO126, else where
# tools/fetch_go126.sh unpacks Debian's golang-1.26-go and golang-1.26-src.
bench_go126() {
  echo "${GO126:-/tmp/go126/usr/lib/go-1.26/bin/go}"
}

# bench_missing_peer_tools: the Debian packages the peer programs need that
# are not installed (Go, gcc, Boehm GC's headers, /usr/bin/time), one line.
bench_missing_peer_tools() {
  local missing=()
  command -v go >/dev/null 2>&1 || missing+=(golang-go)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  [ -f /usr/include/gc.h ] || [ -f /usr/include/gc/gc.h ] || missing+=(libgc-dev)
  [ -x /usr/bin/time ] || missing+=(time)
  echo "${missing[*]}"
}

# bench_require_peer_tools SCRIPT: exits, saying what to install, unless the
# peer tools are all there (the scripts install nothing).
bench_require_peer_tools() {
  local missing
  missing="$(bench_missing_peer_tools)"
  if [ -n "$missing" ]; then
    echo "$1: missing prerequisites (this script installs nothing)." >&2
    echo "Install them first, e.g.:" >&2
    echo "  sudo apt-get install -y $missing" >&2
    exit 1
  fi
}

# bench_keep_output REP FILE WHAT: the first run's stdout ($tmp/stdout) is
# kept in FILE; a later run's must match it (normalized), else prints a
# MISMATCH naming WHAT and fails.
bench_keep_output() {
  if [ "$1" -eq 1 ]; then
    cp "$tmp/stdout" "$2"
  elif ! cmp -s <(normalize "$tmp/stdout") <(normalize "$2"); then
    echo "MISMATCH: run $1 of $3 printed different results than run 1" >&2
    return 1
  fi
}

# bench_same_output NAME REF_IMPL FILE_REF IMPL FILE: whether two
# implementations of NAME printed the same (normalized) output; prints the
# difference when not.
bench_same_output() {
  if cmp -s <(normalize "$3") <(normalize "$5"); then
    echo "outputs match: $1 ($2, $4)" >&2
  else
    echo "MISMATCH: $1 outputs differ between $2 and $4:" >&2
    diff <(normalize "$3") <(normalize "$5") >&2 || true
    return 1
  fi
}
