#!/usr/bin/env python3
"""Runs the Lox test suite against a lox binary.

  tests/lox/run_suite.py [--lox PATH] [--suite DIR] [--jobs N] [--filter S]

The suite is the book's test/ folder (default ../shared/lox/test from the
repository root) minus test/benchmark, test/scanning, test/expressions and
files containing "// nontest"; the project's own Lox tests in tests/lox
(default) run too. Expectations are read from comments in each file:

  // expect: TEXT                the next stdout line is TEXT
  // Error... (at line N)        compile error "[line N] Error...", exit 65
  // [line M] Error... / [c line M] Error...   the same, naming line M
  // expect runtime error: MSG   stderr's first line is MSG, the trace's
                                 first "[line K]" has K = N, exit 70
  otherwise exit 0.

Prints each failure, then a last line "N passed, N failed"; exits nonzero
on failure. Extra environment (GCHEAP_DEBUG=...) passes through.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPECT = re.compile(r"// expect: ?(.*)")
ERROR = re.compile(r"// (Error.*)")
LINE_ERROR = re.compile(r"// \[((?:c )?line (\d+))\] (Error.*)")
RUNTIME_ERROR = re.compile(r"// expect runtime error: (.+)")
STDERR_ERROR = re.compile(r"\[(?:.* )?line (\d+)\] (Error.*)")
STACK_LINE = re.compile(r"\[line (\d+)\]")
SKIP_DIRS = ("benchmark", "scanning", "expressions")


def collect(suite, own):
    files = []
    for root, dirs, names in os.walk(suite):
        rel = os.path.relpath(root, suite)
        if rel.split(os.sep)[0] in SKIP_DIRS:
            continue
        for n in names:
            if n.endswith(".lox"):
                files.append(os.path.join(root, n))
    if own:
        for n in sorted(os.listdir(own)):
            if n.endswith(".lox"):
                files.append(os.path.join(own, n))
    out = []
    for f in sorted(files):
        with open(f, encoding="utf-8", errors="replace") as fh:
            if "// nontest" in fh.read():
                continue
        out.append(f)
    return out


def expectations(path):
    out, errors, runtime = [], [], None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            m = EXPECT.search(line)
            if m:
                out.append(m.group(1))
                continue
            m = LINE_ERROR.search(line)
            if m:
                errors.append("[%s] %s" % (m.group(2), m.group(3)))
                continue
            if "[java line" in line:
                continue
            m = ERROR.search(line)
            if m:
                errors.append("[%d] %s" % (n, m.group(1)))
                continue
            m = RUNTIME_ERROR.search(line)
            if m:
                runtime = (m.group(1), n)
    return out, errors, runtime


def check(lox, path, timeout):
    out, errors, runtime = expectations(path)
    try:
        p = subprocess.run([lox, path], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ["timed out after %ds" % timeout]
    stdout = p.stdout.decode("utf-8", "replace").split("\n")
    if stdout and stdout[-1] == "":
        stdout.pop()
    stderr = [l for l in p.stderr.decode("utf-8", "replace").split("\n")]
    fails = []
    if errors:
        want = 65
        got = []
        for l in stderr:
            if not l.strip():
                continue
            m = STDERR_ERROR.search(l)
            if not m:
                fails.append("unexpected stderr: %s" % l)
                continue
            got.append("[%s] %s" % (m.group(1), m.group(2)))
        for g in got:
            if g not in errors:
                fails.append("unexpected error: %s" % g)
        for e in errors:
            if e not in got:
                fails.append("missing error: %s" % e)
    elif runtime:
        want = 70
        msg, line = runtime
        if not stderr or stderr[0] != msg:
            fails.append("runtime error: want %r, got %r" % (msg, stderr[0] if stderr else ""))
        trace = [STACK_LINE.search(l) for l in stderr[1:]]
        trace = [t for t in trace if t]
        if not trace or int(trace[0].group(1)) != line:
            fails.append("stack trace: want [line %d], got %r" % (line, stderr[1:3]))
    else:
        want = 0
        extra = [l for l in stderr if l.strip()]
        if extra:
            fails.append("unexpected stderr: %s" % " | ".join(extra[:5]))
    for i, (w, g) in enumerate(zip(out, stdout)):
        if w != g:
            fails.append("stdout line %d: want %r, got %r" % (i + 1, w, g))
            break
    if len(stdout) > len(out):
        fails.append("extra stdout: %r" % stdout[len(out):][:3])
    elif len(stdout) < len(out):
        fails.append("missing stdout: %r" % out[len(stdout):][:3])
    if p.returncode != want:
        fails.append("exit status %d, want %d" % (p.returncode, want))
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lox", default=os.path.join(REPO, "bazel-bin/examples/lox/lox"))
    ap.add_argument("--suite", default=os.path.join(REPO, "../shared/lox/test"))
    ap.add_argument("--own", default=os.path.join(REPO, "tests/lox"),
                    help="the project's own Lox tests ('' for none)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--filter", default="")
    ap.add_argument("--label", default="", help="prefix for failure lines")
    a = ap.parse_args()
    if not os.path.isdir(a.suite):
        print("no suite at %s" % a.suite)
        print("0 passed, 1 failed")
        return 1
    files = [f for f in collect(a.suite, a.own) if a.filter in f]
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        results = ex.map(lambda f: (f, check(a.lox, f, a.timeout)), files)
        for f, fails in results:
            if fails:
                failed += 1
                print("FAIL %s%s" % (a.label, os.path.relpath(f, os.path.dirname(a.suite))))
                for x in fails:
                    print("    " + x)
            else:
                passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
