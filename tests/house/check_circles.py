#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_circles.py BUILD_DIR: fail if two source files of the project call
each other, directly or round a longer circle (docs/architecture.md: one way
through the house, a room uses the rooms below it).

The graph is read from the object files of the build, not from the sources:
file A uses file B when A's object has an undefined symbol that B's object
defines (nm). The test and fuzz programs (tests/) are left out: they stand
above everything. Every strongly connected set of two or more files is a
circle; each is printed with the calls that tie it.

Exit 0: no circle; 1: circles (listed); 77: no object files (not built).
"""
import collections
import glob
import os
import subprocess
import sys

def name(obj):
    """gw_agg.c.o in .../daitn_gw_core.a.p/ -> gw_agg.c"""
    return os.path.basename(obj)[:-2]

def main():
    build = sys.argv[1]
    objs = [o for o in glob.glob(os.path.join(build, "**", "*.o"), recursive=True)
            if "tests" not in os.path.relpath(o, build).split(os.sep)]
    if not objs:
        print(f"check_circles: no object files under {build}")
        return 77
    defined, wanted = {}, collections.defaultdict(set)
    for o in objs:
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defined.setdefault(f[2], o)
            elif len(f) == 2 and f[0] == "U":
                wanted[o].add(f[1])
    uses = collections.defaultdict(dict)         # a -> {b: first symbol}
    for o, syms in wanted.items():
        for s in sorted(syms):
            d = defined.get(s)
            if d is not None and d != o:
                uses[o].setdefault(d, s)

    # Tarjan's strongly connected components, iteratively.
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], 0
    for root in objs:
        if root in index:
            continue
        work = [(root, iter(uses[root]))]
        index[root] = low[root] = counter; counter += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter; counter += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(uses[w])))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(comp)
    for comp in comps:
        members = set(comp)
        print("circle: " + " <-> ".join(sorted(name(o) for o in comp)))
        for a in sorted(comp, key=name):
            for b, s in sorted(uses[a].items(), key=lambda kv: name(kv[0])):
                if b in members:
                    print(f"    {name(a)} -> {name(b)} ({s})")
    print(f"check_circles: {len(objs)} object files, {len(comps)} circle(s)")
    return 1 if comps else 0

if __name__ == "__main__":
    sys.exit(main())
