#!/usr/bin/env bash
# The heap viewer (tools/heap_viewer/heap_viewer.html) must draw what a heap
# state export holds: the export is built into a copy of the page with
# tools/heap_viewer/embed.py, headless Chromium loads it at #step=N for the
# first, middle and last steps and dumps the DOM, and for each of those
# steps the slots drawn (what the page counted into <pre id="drawn-counts">,
# and the slot elements of each colour in the dump) must match the counts
# of f/w/g/b in that step's spans' "slots" strings.
#
#   tests/heap_viewer_test.sh STATE.json
#   HEAP_STATE=STATE.json tests/heap_viewer_test.sh
#   tests/heap_viewer_test.sh --screenshot OUT.png [STEP] STATE.json
#
# The export is the argument, else $HEAP_STATE. Chromium is $CHROMIUM, else
# chromium, chromium-browser or chromium-headless-shell on PATH; without one
# the test prints "SKIP: chromium not installed" and exits 77. Also:
# HEAP_VIEWER_EMBED (embed.py to use), HEAP_VIEWER_TIMEOUT (seconds per
# Chromium run, default 120).
set -u

usage() {
  echo "usage: $0 [--screenshot OUT.png [STEP]] STATE.json" >&2
  echo "       (STATE.json may also come from \$HEAP_STATE)" >&2
  exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
embed=${HEAP_VIEWER_EMBED:-$here/../tools/heap_viewer/embed.py}
timeout_s=${HEAP_VIEWER_TIMEOUT:-120}

shot=""
shot_step=0
state=""
while [ $# -gt 0 ]; do
  case $1 in
    --screenshot)
      [ $# -ge 2 ] || usage
      shot=$2
      shift 2
      if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
        shot_step=$1
        shift
      fi
      ;;
    -h | --help) usage ;;
    -*) echo "$0: unknown option $1" >&2; usage ;;
    *)
      [ -z "$state" ] || usage
      state=$1
      shift
      ;;
  esac
done
state=${state:-${HEAP_STATE:-}}
if [ -z "$state" ]; then
  echo "FAIL: no heap state export given: pass STATE.json or set HEAP_STATE" >&2
  usage
fi
if [ ! -f "$state" ]; then
  echo "FAIL: heap state export $state: no such file" >&2
  exit 1
fi
command -v python3 >/dev/null || { echo "FAIL: python3 not found" >&2; exit 1; }
[ -f "$embed" ] || { echo "FAIL: $embed: no such file" >&2; exit 1; }

chrome=""
for c in ${CHROMIUM:-} chromium chromium-browser chromium-headless-shell; do
  if command -v "$c" >/dev/null 2>&1; then
    chrome=$(command -v "$c")
    break
  fi
done
if [ -z "$chrome" ]; then
  echo "SKIP: chromium not installed"
  exit 77
fi

tmp=$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/heap_viewer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
page="$tmp/out.html"
if ! python3 "$embed" "$state" "$page" >"$tmp/embed.log" 2>&1; then
  echo "FAIL: embed.py $state:"
  cat "$tmp/embed.log"
  exit 1
fi
url="file://$page"

# --no-sandbox: Chromium refuses to run as root without it (and the sandbox
# needs namespaces a container may not allow). A fresh profile per run keeps
# parallel runs apart.
chromium() {
  local to=()
  command -v timeout >/dev/null && to=(timeout "$timeout_s")
  "${to[@]}" "$chrome" --headless --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --no-first-run --disable-extensions \
    --user-data-dir="$tmp/profile" "$@" 2>>"$tmp/chromium.log"
}

if [ -n "$shot" ]; then
  rm -f "$shot"
  chromium --hide-scrollbars --window-size=1400,1000 --screenshot="$shot" \
    "$url#step=$shot_step" >/dev/null
  rc=$?
  if [ $rc -ne 0 ] || [ ! -s "$shot" ]; then
    echo "FAIL: no screenshot written (chromium exit $rc):"
    tail -20 "$tmp/chromium.log"
    exit 1
  fi
  echo "wrote $shot (step $shot_step of $state)"
  exit 0
fi

# Checks on one dumped page: prints "PASS<tab>what" or "FAIL<tab>what".
read -r -d '' check_py <<'EOF'
import html, json, re, sys

state_path, step, dom_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(state_path, encoding="utf-8") as f:
    st = json.load(f)["steps"][step]
with open(dom_path, encoding="utf-8", errors="replace") as f:
    dom = f.read()

def check(ok, what):
    print("%s\t%s" % ("PASS" if ok else "FAIL", what))

names = {"f": "free", "w": "white", "g": "grey", "b": "black"}
want = {"step": step, "free": 0, "white": 0, "grey": 0, "black": 0}
bad_chars = 0
for span in st.get("spans", []):
    for ch in span.get("slots", ""):
        if ch in names:
            want[names[ch]] += 1
        else:
            bad_chars += 1
total = sum(want[k] for k in names.values())
shown = lambda d: " ".join("%s=%s" % (k, d.get(k)) for k in ("free", "white", "grey", "black"))

check(bad_chars == 0, "step %d: the export's slots are all f/w/g/b (%d other)" % (step, bad_chars))
m = re.search(r'<pre id="drawn-counts">([^<]*)</pre>', dom)
drawn = None
if m:
    try:
        drawn = json.loads(html.unescape(m.group(1)))
    except ValueError:
        pass
check(drawn is not None,
      "step %d: the page wrote #drawn-counts (%s)" % (step, m.group(1) if m else "missing"))
if drawn is not None:
    check(drawn == want, "step %d: #drawn-counts %s (step %s) = the slots' %s"
          % (step, shown(drawn), drawn.get("step"), shown(want)))
# Count in the drawn markup, not in the page's script or style text.
markup = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S | re.I)
classes = re.findall(r'class="(slot\b[^"]*)"', markup)
by_class = {k: classes.count("slot " + k) for k in names.values()}
check(all(by_class[k] == want[k] for k in by_class),
      "step %d: slot elements in the DOM %s = the slots' %s" % (step, shown(by_class), shown(want)))
odd = sorted(set(c for c in classes if c not in ["slot " + k for k in names.values()]))
check(not odd and len(classes) == total,
      "step %d: %d slot elements, each with one colour class, for %d slots%s"
      % (step, len(classes), total, " (odd: %s)" % ", ".join(odd[:5]) if odd else ""))
m = re.search(r'<span id="step-label">([^<]*)</span>', dom)
label = html.unescape(m.group(1)) if m else None
check(label == st.get("label", ""), "step %d: the header shows its label %r" % (step, label))
check('id="banner" class="err"' not in dom, "step %d: the page shows no error" % step)
counts = st.get("counts")
if counts is not None:
    check(all(counts.get(k) == want[k] for k in names.values()),
          "step %d: the export's own counts %s agree with its slots" % (step, shown(counts)))
EOF

nsteps=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["steps"]))' "$state")
steps=$(printf '%s\n' 0 $((nsteps / 2)) $((nsteps - 1)) | sort -nu)
echo "heap viewer: $state, $nsteps steps; $chrome"

passed=0
failed=0
for step in $steps; do
  dom="$tmp/step$step.html"
  start=$(date +%s.%N)
  chromium --dump-dom "$url#step=$step" >"$dom"
  rc=$?
  secs=$(python3 -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$start")
  if [ $rc -ne 0 ] || [ ! -s "$dom" ]; then
    echo "FAIL step $step: chromium --dump-dom (exit $rc, ${secs}s):"
    tail -20 "$tmp/chromium.log"
    failed=$((failed + 1))
    continue
  fi
  echo "ok   step $step: chromium dumped the page ($(wc -c <"$dom") bytes, ${secs}s)"
  passed=$((passed + 1))
  while IFS=$'\t' read -r verdict what; do
    if [ "$verdict" = PASS ]; then
      echo "ok   $what"
      passed=$((passed + 1))
    else
      echo "FAIL $what"
      failed=$((failed + 1))
    fi
  done < <(python3 -c "$check_py" "$state" "$step" "$dom" 2>&1 ||
    printf 'FAIL\tstep %s: the check script failed\n' "$step")
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
