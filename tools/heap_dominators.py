#!/usr/bin/env python3
"""What retains the most bytes in a gcheap heap dump (Heap::WriteHeapDump).

    python3 tools/heap_dominators.py DUMP [--top N]

Reads the dump (format in docs/debugging.md), computes the dominator tree
of the object graph from a virtual root that points at every root's object
(Cooper, Harvey and Kennedy's iterative algorithm over reverse postorder),
and prints:

  - the objects that retain the most bytes: an object's retained size is
    its own size plus the sizes of every object only reachable through it
    (what freeing it would free), with a path to it from a root;
  - retained bytes by type, over the objects the virtual root dominates
    directly (the tops of the dominator tree; nothing else holds their
    subtrees, so their retained sizes add up to the reachable heap).
"""

import argparse
import collections
import sys


def read_dump(path):
    objects = {}  # address -> (size, type)
    edges = collections.defaultdict(list)  # from -> [(to, offset)]
    roots = []  # (kind, where, detail, object)
    with open(path) as f:
        header = f.readline().rstrip("\n")
        if header != "gcheap heap dump 1":
            sys.exit("%s: not a gcheap heap dump (first line %r)" % (path, header))
        for n, line in enumerate(f, 2):
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "object" and len(cols) == 4:
                objects[int(cols[1], 16)] = (int(cols[2]), cols[3])
            elif cols[0] == "edge" and len(cols) == 4:
                off = None if cols[3] == "-" else int(cols[3])
                edges[int(cols[1], 16)].append((int(cols[2], 16), off))
            elif cols[0] == "root" and len(cols) == 5:
                roots.append((cols[1], int(cols[2], 16), cols[3], int(cols[4], 16)))
            else:
                sys.exit("%s:%d: not a dump line: %r" % (path, n, line))
    return objects, edges, roots


def dominators(objects, edges, roots):
    """Immediate dominators; node 0 is the virtual root."""
    ROOT = 0
    succ = {ROOT: [r[3] for r in roots if r[3] in objects]}
    for a in objects:
        succ[a] = [t for t, _ in edges.get(a, ()) if t in objects]
    # Reverse postorder by an iterative depth-first search.
    order, seen = [], {ROOT}
    stack = [(ROOT, iter(succ[ROOT]))]
    while stack:
        node, it = stack[-1]
        for nxt in it:
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(succ[nxt])))
                break
        else:
            order.append(node)
            stack.pop()
    order.reverse()
    index = {n: i for i, n in enumerate(order)}
    preds = collections.defaultdict(list)
    for a in order:
        for t in succ[a]:
            preds[t].append(a)
    idom = {ROOT: ROOT}

    def intersect(a, b):
        while a != b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for n in order[1:]:
            new = None
            for p in preds[n]:
                if p in idom:
                    new = p if new is None else intersect(p, new)
            if new is not None and idom.get(n) != new:
                idom[n] = new
                changed = True
    return idom, order


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    objects, edges, roots = read_dump(args.dump)
    idom, order = dominators(objects, edges, roots)
    retained = {n: (objects[n][0] if n else 0) for n in order}
    for n in reversed(order[1:]):  # children before their dominators
        retained[idom[n]] += retained[n]
    total = retained[0]
    print("%d objects, %d bytes reachable from %d roots" %
          (len(order) - 1, total, len(roots)))

    # A path from a root to each object: the first parent found breadth
    # first, for naming where a big retainer hangs. Roots other than
    # threads' stacks and registers go first: a program's own structures
    # say more than a stack word (often a local copy of the same pointer).
    parent, root_of = {}, {}
    for threads in (False, True):
        queue = collections.deque()
        for kind, where, detail, obj in roots:
            if kind.startswith("thread ") != threads:
                continue
            if obj in objects and obj not in parent:
                parent[obj] = None
                root_of[obj] = kind + (" of " + detail if detail else "")
                queue.append(obj)
        while queue:
            a = queue.popleft()
            for t, off in edges.get(a, ()):
                if t in objects and t not in parent:
                    parent[t] = (a, off)
                    queue.append(t)

    def path(n):
        steps = []
        while parent[n] is not None:
            a, off = parent[n]
            steps.append("%s%s" % (objects[a][1], "+%d" % off if off is not None else "(traced)"))
            n = a
        return root_of[n] + " -> " + " -> ".join(reversed(steps)) if steps else root_of[n]

    print("\nlargest retainers:")
    print("%12s %10s  %-18s  %-28s %s" % ("retained", "self", "object", "type", "reached from"))
    top = sorted(order[1:], key=lambda n: -retained[n])[:args.top]
    for n in top:
        print("%12d %10d  %#-18x  %-28s %s" %
              (retained[n], objects[n][0], n, objects[n][1][:28], path(n)))

    by_type = collections.Counter()
    count = collections.Counter()
    for n in order[1:]:
        if idom[n] == 0:
            by_type[objects[n][1]] += retained[n]
            count[objects[n][1]] += 1
    print("\nretained by type (tops of the dominator tree):")
    print("%12s %6s %7s  %s" % ("bytes", "share", "objects", "type"))
    for t, b in by_type.most_common(args.top):
        print("%12d %5.1f%% %7d  %s" % (b, 100.0 * b / max(total, 1), count[t], t))


if __name__ == "__main__":
    main()
