#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Compare two training curves written by train_digits.py --csv.

    compare_curves.py REFERENCE.csv OTHER.csv [--rtol R] [--atol A]

Passes (exit 0) when both have the same epochs, every epoch's training loss
agrees within |a - b| <= atol + rtol * |a| (float summation-order noise), and
the final test accuracy is identical. Prints the largest difference either way;
exit 1 on a mismatch, 2 on unreadable input.
"""

import argparse
import csv
import sys


def read(path):
    try:
        with open(path) as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit("compare_curves: %s: %s" % (path, e.strerror))
    if not rows:
        print("compare_curves: %s: no epochs" % path)
        sys.exit(2)
    return [(int(r["epoch"]), float(r["train_loss"]), float(r["test_acc"])) for r in rows]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("reference")
    p.add_argument("other")
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--atol", type=float, default=1e-5)
    a = p.parse_args()
    ref, oth = read(a.reference), read(a.other)
    if [r[0] for r in ref] != [o[0] for o in oth]:
        print("FAIL: epochs differ: %d vs %d rows" % (len(ref), len(oth)))
        return 1
    worst, worst_ep, bad = 0.0, 0, []
    for (ep, l1, _), (_, l2, _) in zip(ref, oth):
        d = abs(l1 - l2)
        if d > worst:
            worst, worst_ep = d, ep
        if d > a.atol + a.rtol * abs(l1):
            bad.append((ep, l1, l2))
    acc1, acc2 = ref[-1][2], oth[-1][2]
    print("curves: %d epochs, largest loss difference %.3g (epoch %d, relative %.3g), "
          "final accuracy %.4f vs %.4f" % (len(ref), worst, worst_ep,
                                           worst / max(abs(ref[worst_ep - 1][1]), 1e-30)
                                           if worst_ep else 0.0, acc1, acc2))
    if bad:
        for ep, l1, l2 in bad[:5]:
            print("FAIL: epoch %d loss %.9g vs %.9g beyond atol %g + rtol %g" %
                  (ep, l1, l2, a.atol, a.rtol))
        return 1
    if acc1 != acc2:
        print("FAIL: final accuracy differs")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
