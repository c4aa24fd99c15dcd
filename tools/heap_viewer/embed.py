#!/usr/bin/env python3
"""Build a heap viewer page with a heap state export built in.

    python3 tools/heap_viewer/embed.py STATE.json OUT.html [--viewer HTML]

Reads STATE.json (a "gcheap heap state" export), checks it, and writes
OUT.html: a copy of heap_viewer.html (next to this script unless --viewer
names another) with

    <script id="gcheap-state">window.GCHEAP_STATE = {...};</script>

inserted before the viewer's main script, so the page opens with the data
from a file:// URL, offline, and draws step N for OUT.html#step=N. (The
viewer removes that element from the document once it has the data, so a
DOM dump of the page holds the drawing, not megabytes of JSON.)

Exits 2 with a message on a missing or unreadable file, invalid JSON, or an
export whose "format" is not "gcheap heap state".
"""

import argparse
import json
import os
import sys

FORMAT = "gcheap heap state"
MARKER = "<!-- GCHEAP_STATE: embed.py inserts the data script here -->"
MAIN_SCRIPT = '<script id="heap-viewer-main">'


def fail(msg):
    sys.stderr.write("embed.py: %s\n" % msg)
    sys.exit(2)


def script_for(state):
    text = json.dumps(state, separators=(",", ":"), ensure_ascii=True)
    # Inside <script>, "</" could end the element ("</script>") and "<!--"
    # can change how the rest is parsed; both only occur inside JSON strings,
    # where "\/" and "\u003c" mean the same characters.
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return ('<script id="gcheap-state">window.GCHEAP_STATE = ' + text +
            ";</script>\n")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(
        description="Write a copy of heap_viewer.html with a heap state "
        "export built in.")
    ap.add_argument("state", help="heap state export (.json)")
    ap.add_argument("out", help="page to write (.html)")
    ap.add_argument("--viewer", default=os.path.join(here, "heap_viewer.html"),
                    help="the viewer page (default: %(default)s)")
    args = ap.parse_args(argv)

    try:
        with open(args.state, "rb") as f:
            raw = f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (args.state, e.strerror or e))
    try:
        state = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        fail("%s is not UTF-8 text: %s" % (args.state, e))
    except ValueError as e:
        fail("%s is not valid JSON: %s" % (args.state, e))
    if not isinstance(state, dict):
        fail("%s: want a JSON object at the top, got %s"
             % (args.state, type(state).__name__))
    if state.get("format") != FORMAT:
        fail('%s: "format" is %s, want "%s"'
             % (args.state, json.dumps(state.get("format")), FORMAT))
    steps = state.get("steps")
    if not isinstance(steps, list) or not steps:
        fail('%s: "steps" must be a non-empty list' % args.state)
    if state.get("version") != 1:
        sys.stderr.write('embed.py: warning: %s has version %s; the viewer '
                         'knows version 1\n'
                         % (args.state, json.dumps(state.get("version"))))

    try:
        with open(args.viewer, encoding="utf-8") as f:
            page = f.read()
    except OSError as e:
        fail("cannot read the viewer %s: %s" % (args.viewer, e.strerror or e))
    data = script_for(state)
    if MARKER in page:
        page = page.replace(MARKER, MARKER + "\n" + data.rstrip("\n"), 1)
    elif MAIN_SCRIPT in page:
        page = page.replace(MAIN_SCRIPT, data + MAIN_SCRIPT, 1)
    else:
        fail("%s has no %s to insert the data before"
             % (args.viewer, MAIN_SCRIPT))

    try:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(page)
    except OSError as e:
        fail("cannot write %s: %s" % (args.out, e.strerror or e))
    print("wrote %s: %d steps, %d bytes"
          % (args.out, len(steps), len(page.encode("utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
