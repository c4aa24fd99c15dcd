#!/usr/bin/env bash
# gcheap's one entry point: installs what is missing, builds, runs.
#
#   ./gcheap.sh example [name]   run the main example (or examples/<name>)
#   ./gcheap.sh test [config]    run every test; config: opt, asan, tsan,
#                                debug, clang (default: the plain build). Ends with
#                                a line "N passed, N failed".
#   ./gcheap.sh bench            benchmarks against the peers (optimized):
#                                allocation vs malloc (tools/bench_alloc.sh),
#                                binary-trees and GCBench vs Go and Boehm GC
#                                (tools/bench_gc.sh), the multi-threaded
#                                shapes vs Go 1.26, Go 1.19, Boehm GC and
#                                mimalloc (tools/bench_shapes.sh), a VM's
#                                values: barrier and interning against a
#                                plain store and clox's table
#                                (tools/bench_values.sh), the C API's
#                                allocation against the C++ API's
#                                (tools/bench_c_api.sh)
#   ./gcheap.sh sanitizers       the asan and tsan test runs
#   ./gcheap.sh all              example, tests, sanitizers, benchmarks
#   ./gcheap.sh deps [bench]     only install missing Debian packages
#   ./gcheap.sh fuzz [seconds]   the heap fuzzer (clang, ASan) on a scratch
#                                copy of tests/fuzz/corpus (default 300 s)
#   ./gcheap.sh cmake            the CMake build (static and shared library),
#                                its test suite (ctest) and the consumer
#                                test (tests/consumer_test.sh: install, then
#                                build C and C++ programs with find_package
#                                and pkg-config). Ends with "N passed, N
#                                failed".
#   ./gcheap.sh viewer [test]    the heap viewer (docs/teaching.md): runs
#                                examples/tricolor, which records each of
#                                its cycles step by step, and writes a
#                                self-contained page per recording to
#                                out/viewer/ (open it in a browser). test:
#                                then load each page in headless Chromium
#                                and check what it drew against the
#                                recording (tests/heap_viewer_test.sh).
#                                Ends with "N passed, N failed".
#   ./gcheap.sh format [check]   clang-format every C and C++ file of the
#                                project (check: change nothing, list the
#                                files that differ, fail if any)
#   ./gcheap.sh lox [config]     the Lox VM (examples/lox) built with the
#                                config (plain, opt, asan, tsan, clang) and
#                                the Lox test suite (../shared/lox/test and
#                                tests/lox; LOX_SUITE overrides) run three
#                                times: as is, under mark stress with
#                                checkmark and the barrier check, and under
#                                gcstress (every 10th allocation under asan
#                                and tsan). Ends with "N passed, N failed".
#
# Packages come from Debian only. Run as root to install them; otherwise
# the exact apt-get line is printed and the script stops.
set -uo pipefail
cd "$(dirname "$0")"

MAIN_EXAMPLE=memstats
CORE_PKGS=(bazel-bootstrap libabsl-dev libgtest-dev libgmock-dev
  libbenchmark-dev g++ clang clang-format cmake pkg-config golang-go)
VIEWER_PKGS=(python3 chromium)
BENCH_PKGS=(libmimalloc2.0 libjemalloc2 libtcmalloc-minimal4 golang-go
  libgc-dev time)

ensure_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "gcheap: missing Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "gcheap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "${missing[@]}" >&2; then
    apt-get update -q >&2 && apt-get install -y -q "${missing[@]}" >&2 || {
      echo "gcheap: apt-get install failed" >&2
      exit 1
    }
  fi
}

config_flags() {
  case "${1:-}" in
    "" | plain) ;;
    asan | tsan | debug | clang | opt) echo "--config=$1" ;;
    *)
      echo "gcheap: unknown config '$1'" >&2
      exit 2
      ;;
  esac
}

# Runs bazel test and prints "N passed, N failed", counting test cases from
# each target's test.xml (a target that fails to build or crashes without a
# report counts as one failure).
run_tests() {
  local flags
  flags=$(config_flags "${1:-}") || exit 2
  local log
  log=$(mktemp)
  # shellcheck disable=SC2086
  bazel test $flags --test_output=errors //... 2>&1 | tee "$log"
  local passed=0 failed=0
  local line target status pkg name xml t f
  while read -r line; do
    target=$(awk '{print $1}' <<<"$line")
    case "$line" in
      *"FAILED TO BUILD"* | *"NO STATUS"*) failed=$((failed + 1)); continue ;;
      *PASSED*) status=pass ;;
      *FAILED* | *TIMEOUT* | *INCOMPLETE* | *FLAKY*) status=fail ;;
      *) continue ;;
    esac
    pkg=${target#//}
    pkg=${pkg%%:*}
    name=${target##*:}
    xml="bazel-testlogs/$pkg/$name/test.xml"
    t=0
    f=0
    if [ -f "$xml" ]; then
      t=$(grep -c '<testcase ' "$xml" || true)
      f=$(awk '/<testcase /{inc=1; bad=0} inc && /<(failure|error)/{bad=1}
               inc && /<\/testcase>|\/>$/ {if (bad) n++; inc=0; bad=0}
               END {print n+0}' "$xml")
    fi
    if [ "$status" = fail ] && [ "$f" -eq 0 ]; then f=1; t=$((t > 0 ? t : 1)); fi
    passed=$((passed + t - f))
    failed=$((failed + f))
  done < <(grep -E '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' "$log")
  rm -f "$log"
  echo "${passed} passed, ${failed} failed"
  [ "$failed" -eq 0 ]
}

# Adds the last "N passed, N failed" line of a log to $passed and $failed
# (a log without one counts as one failure).
add_counts() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(awk '{print $1}' <<<"$line")))
    failed=$((failed + $(awk '{print $3}' <<<"$line")))
  else
    failed=$((failed + 1))
  fi
}

cmd=${1:-help}
shift || true
case "$cmd" in
  deps)
    ensure_pkgs "${CORE_PKGS[@]}"
    if [ "${1:-}" = bench ]; then ensure_pkgs "${BENCH_PKGS[@]}"; fi
    ;;
  example)
    ensure_pkgs "${CORE_PKGS[@]}"
    bazel run --config=opt "//examples:${1:-$MAIN_EXAMPLE}"
    ;;
  test)
    ensure_pkgs "${CORE_PKGS[@]}"
    run_tests "${1:-}"
    ;;
  viewer)
    ensure_pkgs "${CORE_PKGS[@]}" python3
    if [ "${1:-}" = test ]; then ensure_pkgs "${VIEWER_PKGS[@]}"; fi
    out=out/viewer
    mkdir -p "$out"
    bazel build //examples:tricolor || exit 1
    bazel-bin/examples/tricolor "$(pwd)/$out" >"$out/tricolor.txt" || exit 1
    passed=0
    failed=0
    for rec in "$out"/tricolor-*.json; do
      page="${rec%.json}.html"
      python3 tools/heap_viewer/embed.py "$rec" "$page" || exit 1
      echo "gcheap: the heap viewer on ${rec##*/}: file://$(pwd)/$page"
      if [ "${1:-}" = test ]; then
        log=$(mktemp)
        tests/heap_viewer_test.sh "$rec" 2>&1 | tee "$log"
        add_counts "$log"
        rm -f "$log"
      fi
    done
    if [ "${1:-}" = test ]; then
      echo "${passed} passed, ${failed} failed"
      [ "$failed" -eq 0 ]
    fi
    ;;
  cmake)
    ensure_pkgs "${CORE_PKGS[@]}"
    build=build/cmake
    passed=0
    failed=0
    if cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
      cmake --build "$build" -j "$(nproc)"; then
      log=$(mktemp)
      ctest --test-dir "$build" -j "$(nproc)" --output-on-failure 2>&1 |
        tee "$log"
      line=$(grep -E 'tests passed, [0-9]+ tests failed out of' "$log")
      rm -f "$log"
      if [ -n "$line" ]; then
        total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
        passed=$((total - f))
        failed=$f
      else
        failed=$((failed + 1))
      fi
      log=$(mktemp)
      tests/consumer_test.sh "$build" 2>&1 | tee "$log"
      add_counts "$log"
      rm -f "$log"
    else
      failed=1
    fi
    echo "${passed} passed, ${failed} failed"
    [ "$failed" -eq 0 ]
    ;;
  sanitizers)
    ensure_pkgs "${CORE_PKGS[@]}"
    rc=0
    run_tests asan || rc=1
    run_tests tsan || rc=1
    exit $rc
    ;;
  bench)
    ensure_pkgs "${CORE_PKGS[@]}" "${BENCH_PKGS[@]}"
    rc=0
    tools/bench_alloc.sh || rc=1
    tools/bench_gc.sh || rc=1
    if [ "$(id -u)" -eq 0 ]; then tools/fetch_go126.sh || true; fi
    tools/bench_shapes.sh || rc=1
    tools/bench_values.sh || rc=1
    tools/bench_c_api.sh || rc=1
    tools/bench_collector_cost.sh || rc=1
    exit $rc
    ;;
  fuzz)
    ensure_pkgs "${CORE_PKGS[@]}"
    secs=${1:-300}
    bazel build --config=fuzz //tests/fuzz:heap_fuzz || exit 1
    work=$(mktemp -d)
    mkdir -p "$work/corpus" "$work/crashes"
    cp tests/fuzz/corpus/* "$work/corpus/"
    echo "gcheap: fuzzing for ${secs} s in $work (crashes: $work/crashes)" >&2
    bazel-bin/tests/fuzz/heap_fuzz -max_total_time="$secs" \
      -print_final_stats=1 -artifact_prefix="$work/crashes/" "$work/corpus"
    rc=$?
    ls "$work/crashes"
    exit $rc
    ;;
  format)
    ensure_pkgs "${CORE_PKGS[@]}"
    mapfile -t files < <(git ls-files '*.cc' '*.h' '*.c' | grep -v '^third_party/')
    if [ "${1:-}" = check ]; then
      bad=()
      for f in "${files[@]}"; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
      done
      if [ ${#bad[@]} -gt 0 ]; then
        echo "gcheap: not clang-formatted (run ./gcheap.sh format):" >&2
        printf '  %s\n' "${bad[@]}" >&2
        exit 1
      fi
      echo "gcheap: ${#files[@]} files clang-formatted"
    else
      clang-format -i "${files[@]}"
    fi
    ;;
  lox)
    ensure_pkgs "${CORE_PKGS[@]}"
    flags=$(config_flags "${1:-}") || exit 2
    suite=${LOX_SUITE:-../shared/lox/test}
    passed=0
    failed=0
    # shellcheck disable=SC2086
    if bazel build $flags //examples/lox:lox; then
      dir=$(mktemp -d)
      cp bazel-bin/examples/lox/lox "$dir/lox"
      # Mark stress holds a concurrent mark open across most of a test's
      # allocations; gcstress collects at every one (every tenth under the
      # sanitizers, which make each collection slow: tests/lox's own
      # programs make tens of thousands of allocations).
      case "${1:-}" in
        asan | tsan) gcstress=10 ;;
        *) gcstress=1 ;;
      esac
      for mode in "" \
        "gcmarkstress=50,gcmarkhold=200,gccheckmark=1,gcbarriercheck=1" \
        "gcstress=${LOX_GCSTRESS:-$gcstress}"; do
        echo "=== lox suite${mode:+: GCHEAP_DEBUG=$mode}"
        start=$(date +%s)
        log=$(mktemp)
        # LeakSanitizer's exit scan costs seconds per process: the first
        # pass checks for leaks, the stress passes do not.
        leaks=$([ -z "$mode" ] && echo 1 || echo 0)
        GCHEAP_DEBUG=$mode ASAN_OPTIONS=detect_leaks=$leaks:${ASAN_OPTIONS:-} \
          python3 tests/lox/run_suite.py --lox "$dir/lox" \
          --suite "$suite" --label "${mode:+[$mode] }" 2>&1 | tee "$log"
        echo "(${mode:-plain}: $(($(date +%s) - start)) s)"
        add_counts "$log"
        rm -f "$log"
      done
      rm -rf "$dir"
    else
      failed=1
    fi
    echo "${passed} passed, ${failed} failed"
    [ "$failed" -eq 0 ]
    ;;
  all)
    ensure_pkgs "${CORE_PKGS[@]}" "${BENCH_PKGS[@]}"
    rc=0
    "$0" example || rc=1
    run_tests || rc=1
    run_tests asan || rc=1
    run_tests tsan || rc=1
    tools/bench_alloc.sh || rc=1
    tools/bench_gc.sh || rc=1
    exit $rc
    ;;
  *)
    sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
