#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Summary and plot of bench-train.sh's CSV.

    plot_train.py train.csv train.png

Prints, per link, N and model: gloo's and daitn's s/epoch (median over the
repetitions), gloo time / daitn time, buckets through daitn and gloo, the
share of chunks retransmitted, and whether the loss curves match (every
epoch within 1e-5 + 1e-3 relative of gloo's, every repetition); then the
verdict on each target: retransmitted < 1% of chunks; daitn's s/epoch at most
gloo's on unthrottled veth links; at least 1.3x faster on 100 Mbit/s links.
Writes a PNG: s/epoch per model and N, gloo beside daitn, one panel per link.
"""

import csv
import statistics
import sys
from collections import defaultdict

RETX_TARGET, SLOW_LINK_TARGET = 0.01, 1.3


def curves_match(ref, other, rtol=1e-3, atol=1e-5):
    return len(ref) == len(other) and all(abs(a - b) <= atol + rtol * abs(a)
                                          for a, b in zip(ref, other))


def main():
    src, png = sys.argv[1], sys.argv[2]
    rows = list(csv.DictReader(open(src)))
    if not rows:
        sys.exit("plot_train: %s has no rows" % src)
    by = defaultdict(list)
    for r in rows:
        by[(r["link"], int(r["n"]), r["model"], r["backend"])].append(r)
    keys = sorted({k[:3] for k in by}, key=lambda k: (k[0] != "veth", k[0], k[1], k[2]))
    print("%-8s %2s %-11s %9s %9s %7s %13s %12s %7s" % (
        "link", "N", "model", "gloo s/ep", "daitn s/ep", "speedup", "daitn/gloo bk",
        "retransmits", "curves"))
    verdicts = defaultdict(list)
    table = []
    sent_all = retx_all = 0
    for k in keys:
        g, d = by.get(k + ("gloo",), []), by.get(k + ("daitn",), [])
        if not g or not d:
            continue
        tg = statistics.median(float(r["s_per_epoch"]) for r in g)
        td = statistics.median(float(r["s_per_epoch"]) for r in d)
        sent = sum(int(r["chunks_sent"]) for r in d)
        retx = sum(int(r["retransmits"]) for r in d)
        sent_all += sent
        retx_all += retx
        bd = sum(int(r["buckets_daitn"]) for r in d)
        bg = sum(int(r["buckets_gloo"]) for r in d)
        ref = [float(v) for v in g[0]["losses"].split()]
        match = all(curves_match(ref, [float(v) for v in r["losses"].split()]) for r in d + g)
        speed = tg / td
        table.append((k, tg, td))
        print("%-8s %2d %-11s %9.3f %9.3f %6.2fx %6d/%-6d %11.2f%% %7s" % (
            k[0], k[1], k[2], tg, td, speed, bd, bg, 100.0 * retx / max(sent, 1),
            "match" if match else "DIFFER"))
        if k[0] == "veth":
            verdicts["daitn s/epoch <= gloo's on veth"].append((speed >= 1.0, "%s N=%d %.2fx"
                                                                % (k[2], k[1], speed)))
        else:
            verdicts[">= %.1fx faster on %s" % (SLOW_LINK_TARGET, k[0])].append(
                (speed >= SLOW_LINK_TARGET, "%s N=%d %.2fx" % (k[2], k[1], speed)))
        verdicts["curves match gloo's"].append((match, "%s N=%d %s" % (k[2], k[1], k[0])))
        verdicts["every bucket through daitn"].append((bg == 0, "%s N=%d %s: %d through gloo"
                                                       % (k[2], k[1], k[0], bg)))
    share = retx_all / max(sent_all, 1)
    print("retransmitted chunks, all daitn phases: %d of %d (%.2f%%): %s (target < %.0f%%)"
          % (retx_all, sent_all, 100 * share, "met" if share < RETX_TARGET else "NOT met",
             100 * RETX_TARGET))
    for what, results in verdicts.items():
        bad = [t for ok, t in results if not ok]
        print("%s: %s" % (what, "met" if not bad else "NOT met (%s)" % "; ".join(bad)))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    links = sorted({k[0] for k, _, _ in table}, key=lambda x: (x != "veth", x))
    fig, axes = plt.subplots(1, len(links), figsize=(6 * len(links), 4), squeeze=False)
    for ax, link in zip(axes[0], links):
        rows = [(k, tg, td) for k, tg, td in table if k[0] == link]
        labels = ["%s\nN=%d" % (k[2], k[1]) for k, _, _ in rows]
        xs = range(len(rows))
        ax.bar([x - 0.2 for x in xs], [tg for _, tg, _ in rows], 0.4, label="gloo")
        ax.bar([x + 0.2 for x in xs], [td for _, _, td in rows], 0.4, label="daitn")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("s per epoch (median)")
        ax.set_title("links: %s" % link)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)


if __name__ == "__main__":
    main()
