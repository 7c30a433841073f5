#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_circles.py BUILD_DIR SOURCE_DIR: fail if two source files of the
project call each other, directly or round a longer circle, or two folders
do (docs/architecture.md: one way through the house, a room uses the rooms
below it, never one above).

The graph is read from the object files of the build, not from the sources:
file A uses file B when A's object has an undefined symbol that B's object
defines (nm); folder X uses folder Y when a file of X uses a file of Y. The
test and fuzz programs (tests/) are left out: they stand above everything.
Every strongly connected set of two or more files, or folders, is a circle;
each is printed with the calls that tie it.

Exit 0: no circle; 1: circles (listed); 77: no object files (not built).
"""
import collections
import glob
import os
import subprocess
import sys


def source_of(obj, build, src):
    """The source file (relative to src) an object was compiled from:
    meson writes dir/target.p/sub_name.c.o for src/dir/sub/name.c."""
    tdir = os.path.dirname(os.path.relpath(os.path.dirname(obj), build))
    flat = os.path.basename(obj)[:-2]           # sub_name.c
    parts = flat.split("_")
    for i in range(len(parts)):
        cand = os.path.join(tdir, *parts[:i], "_".join(parts[i:]))
        if os.path.isfile(os.path.join(src, cand)):
            return cand
    return os.path.join(tdir, flat)


def circles(nodes, uses):
    """Strongly connected sets of two or more nodes (Tarjan, iterative)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], 0
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = counter; counter += 1
        stack.append(root); on.add(root)
        work = [(root, iter(sorted(uses[root])))]
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter; counter += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(uses[w]))))
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
                    comps.append(sorted(comp))
    return comps


def main():
    build, src = sys.argv[1], sys.argv[2]
    objs = [o for o in glob.glob(os.path.join(build, "**", "*.o"), recursive=True)
            if "tests" not in os.path.relpath(o, build).split(os.sep)]
    if not objs:
        print(f"check_circles: no object files under {build}")
        return 77
    defined, wanted, file_of = {}, collections.defaultdict(set), {}
    for o in objs:
        file_of[o] = source_of(o, build, src)
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defined.setdefault(f[2], file_of[o])
            elif len(f) == 2 and f[0] == "U":
                wanted[file_of[o]].add(f[1])
    # file -> {file: a symbol}, folder -> {folder: "file -> file (symbol)"}
    files = sorted(set(file_of.values()))
    fuses, duses = collections.defaultdict(dict), collections.defaultdict(dict)
    for a in files:
        for s in sorted(wanted[a]):
            b = defined.get(s)
            if b is None or b == a:
                continue
            fuses[a].setdefault(b, s)
            da, db = os.path.dirname(a), os.path.dirname(b)
            if da != db:
                duses[da].setdefault(db, f"{a} -> {b} ({s})")
    n = 0
    for what, nodes, uses in (("files", files, fuses),
                              ("folders", sorted(set(map(os.path.dirname, files))), duses)):
        for comp in circles(nodes, uses):
            n += 1
            print(f"circle of {what}: " + " <-> ".join(comp))
            for a in comp:
                for b, why in sorted(uses[a].items()):
                    if b in comp:
                        print(f"    {a} -> {b}: {why}")
    print(f"check_circles: {len(files)} source files in "
          f"{len(set(map(os.path.dirname, files)))} folders, {n} circle(s)")
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
