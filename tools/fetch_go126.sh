#!/usr/bin/env bash
# Unpacks Go 1.26 (Debian's golang-1.26-go, from the development suite) into
# /tmp/go126 without installing it, for tools/bench_shapes.sh's go126 peer.
# Nothing else on the machine changes. Needs root (apt-get's own lists live
# under /tmp/apt-sid).
set -euo pipefail
dest=/tmp/go126
gobin=$dest/usr/lib/go-1.26/bin/go
if [ -x "$gobin" ]; then
  "$gobin" version
  exit 0
fi
work=/tmp/apt-sid
mkdir -p "$work/lists/partial" "$work/cache/partial"
uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
uri=${uri:-http://deb.debian.org/debian}
echo "deb $uri sid main" >"$work/sources.list"
opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
apt-get "${opts[@]}" update -q >&2
(cd "$work" && apt-get "${opts[@]}" download golang-1.26-go golang-1.26-src >&2)
for d in "$work"/golang-1.26-*.deb; do dpkg -x "$d" "$dest"; done
"$gobin" version
