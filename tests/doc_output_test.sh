#!/usr/bin/env bash
# Output a page of the docs quotes is what the program prints: the code
# block after the first line of DOC that starts with MARKER must appear,
# line for line and in one piece, in PROGRAM's output.
#   doc_output_test.sh DOC MARKER PROGRAM [ARGS...]
set -u
doc="$1"
marker="$2"
shift 2
quoted=$(awk -v m="$marker" 'index($0, m) == 1 { found = 1 }
              found && /^```$/ { if (inside) exit; inside = 1; next }
              inside { print }' "$doc")
if [ -z "$quoted" ]; then
  echo "FAIL: no code block after a line starting '$marker' in $doc"
  exit 1
fi
actual=$("$@")
if ! python3 - "$quoted" "$actual" <<'PY'; then
import sys
quoted = sys.argv[1].split("\n")
actual = sys.argv[2].split("\n")
n = len(quoted)
sys.exit(0 if any(actual[i:i + n] == quoted for i in range(len(actual) - n + 1)) else 1)
PY
  echo "FAIL: $(basename "$doc") quotes"
  echo "$quoted"
  echo "but $(basename "$1") prints"
  echo "$actual"
  exit 1
fi
echo "ok   $(basename "$doc") quotes what $(basename "$1") prints"
