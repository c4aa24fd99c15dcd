#!/usr/bin/env bash
# The main example's output quoted in README.md (the code block after "The
# main example is") is what examples/memstats prints, line for line.
set -u
readme="$1"
program="$2"
quoted=$(awk '/^The main example is/ { found = 1 }
              found && /^```$/ { if (inside) exit; inside = 1; next }
              inside { print }' "$readme")
actual=$("$program")
if [ -z "$quoted" ]; then
  echo "FAIL: no quoted output found in $readme"
  exit 1
fi
if [ "$quoted" != "$actual" ]; then
  echo "FAIL: README.md quotes"
  echo "$quoted"
  echo "but the program prints"
  echo "$actual"
  exit 1
fi
echo "ok   README.md quotes what $(basename "$program") prints"
