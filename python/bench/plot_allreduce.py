#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Summary and plot of bench-allreduce.sh's CSV.

    plot_allreduce.py allreduce.csv allreduce.png

Prints, per N and size, both backends' time and busbw, daitn's speed-up over
gloo (gloo time / daitn time), the ideal 2(N-1)/N, wrong elements and CPU use;
then the verdict on the target (N=4, sizes >= 4 MiB: speed-up >= 1.3; on
shaped links only).
Writes a PNG: busbw as a fraction of each N's per-worker link rate against
size, per backend and N (gloo's ring tops out near 1; in-network aggregation
near 2(N-1)/N), and the speed-up with the ideal as dotted lines.
"""

import csv
import sys
from collections import defaultdict

TARGET_N, TARGET_MIN_SIZE, TARGET = 4, 4 << 20, 1.3


def link_gbit(text):
    """'100mbit' -> 0.1 (Gbit/s); None if not a tc rate."""
    import re
    m = re.fullmatch(r"([0-9.]+)([kmg]?)(bit|bps)?", text.strip().lower())
    if not m:
        return None
    v = float(m.group(1)) * {"": 1e-9, "k": 1e-6, "m": 1e-3, "g": 1.0}[m.group(2)]
    return v * (8 if m.group(3) == "bps" else 1)


def fmt_size(b):
    return "%d%s" % ((b >> 20, "M") if b >= 1 << 20 else (b >> 10, "K"))


def main():
    src, png = sys.argv[1], sys.argv[2]
    rows = list(csv.DictReader(open(src)))
    if not rows:
        sys.exit("plot_allreduce: %s has no rows" % src)
    chunk = 1408
    try:
        import json
        import os
        chunk = json.load(open(os.path.join(os.path.dirname(src), "meta.json")))["chunk_size"]
    except (OSError, ValueError, KeyError):
        pass
    by = defaultdict(dict)           # (n, size) -> backend -> row
    for r in rows:
        by[(int(r["n"]), int(r["size_bytes"]))][r["backend"]] = r
    print("%-4s %-6s %11s %11s %9s %9s %8s %6s %6s %22s %7s %11s  %s" % (
        "N", "size", "daitn_ms", "gloo_ms", "d_busbw", "g_busbw", "speedup", "ideal",
        "wrong", "cpu% max rank d/g", "gw%", "host%", "daitn limit"))
    limited = []
    target_pts, total_wrong = [], 0
    for (n, size) in sorted(by):
        d, g = by[(n, size)].get("daitn"), by[(n, size)].get("gloo")
        ideal = 2 * (n - 1) / n
        sp = float(g["time_us"]) / float(d["time_us"]) if d and g else float("nan")
        wrong = sum(int(x["wrong"]) for x in (d, g) if x)
        total_wrong += wrong
        # daitn's ceiling: 2(N-1)/N of the link, times the payload's share of
        # a chunk's frame (64 bytes of Ethernet/IPv4/UDP/daitn headers).
        limit = "-"
        if d:
            link = link_gbit(d["link_rate"])
            if link:
                eff = float(d["busbw_Gbit_s"]) / (ideal * link * chunk / (chunk + 64))
                gw = float(d["cpu_gw_pct"])
                if eff >= 0.85:
                    limit = "link (%.0f%% of ceiling)" % (100 * eff)
                elif 0 <= gw < 35:
                    limit = "gateway CPU (%.0f%% of ceiling; gw got %.0f%% of a core)" % (
                        100 * eff, gw)
                    limited.append((n, size))
                else:
                    limit = "%.0f%% of ceiling" % (100 * eff)
        print("%-4d %-6s %11s %11s %9s %9s %8s %6.2f %6d %22s %7s %11s  %s" % (
            n, fmt_size(size),
            "%.2f" % (float(d["time_us"]) / 1e3) if d else "-",
            "%.2f" % (float(g["time_us"]) / 1e3) if g else "-",
            d["busbw_Gbit_s"][:7] if d else "-", g["busbw_Gbit_s"][:7] if g else "-",
            "%.2fx" % sp if d and g else "-", ideal, wrong,
            "%s / %s" % (d["cpu_rank_max_pct"] if d else "-", g["cpu_rank_max_pct"] if g else "-"),
            d["cpu_gw_pct"] if d else "-",
            "%s/%s" % (d["host_busy_pct"] if d else "-", g["host_busy_pct"] if g else "-"),
            limit))
        if n == TARGET_N and size >= TARGET_MIN_SIZE and d and g and link_gbit(d["link_rate"]):
            target_pts.append((size, sp))
    print("busbw in Gbit/s (nccl-tests: algbw = size/time, busbw = algbw * 2(N-1)/N); "
          "cpu: % of one core; host: % of all cores busy (daitn/gloo)")
    if target_pts:
        worst = min(sp for _, sp in target_pts)
        verdict = "MET" if worst >= TARGET else "NOT MET"
        print("target (N=%d, >= %s: daitn >= %.1fx gloo): %s; speed-ups %s" % (
            TARGET_N, fmt_size(TARGET_MIN_SIZE), TARGET, verdict,
            ", ".join("%s %.2fx" % (fmt_size(s), sp) for s, sp in target_pts)))
    if limited:
        print("the gateway was CPU-starved at %d point(s) (below 85%% of daitn's link ceiling "
              "with under 35%% of a core): other processes share its core; those points "
              "measure the CPU, not the links" % len(limited))
    print("correctness: %d wrong elements in all timed calls" % total_wrong)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    ns = sorted({n for n, _ in by})
    colors = dict(zip(ns, ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]))
    for n in ns:
        sizes = sorted(s for m, s in by if m == n)
        for backend, style in (("daitn", "-o"), ("gloo", "--s")):
            pts = [(s, float(by[(n, s)][backend]["busbw_Gbit_s"])
                    / (link_gbit(by[(n, s)][backend]["link_rate"]) or 1.0))
                   for s in sizes if backend in by[(n, s)]]
            if pts:
                ax1.plot([p[0] for p in pts], [p[1] for p in pts], style, color=colors[n],
                         label="%s N=%d" % (backend, n))
        sp = [(s, float(by[(n, s)]["gloo"]["time_us"]) / float(by[(n, s)]["daitn"]["time_us"]))
              for s in sizes if "gloo" in by[(n, s)] and "daitn" in by[(n, s)]]
        if sp:
            ax2.plot([p[0] for p in sp], [p[1] for p in sp], "-o", color=colors[n],
                     label="N=%d" % n)
            ax2.axhline(2 * (n - 1) / n, ls=":", color=colors[n])
    rates = ", ".join("N=%d: %s" % (n, by[(n, min(s for m, s in by if m == n))]
                                      [next(iter(by[(n, min(s for m, s in by if m == n))]))]
                                      ["link_rate"]) for n in ns)
    delay = rows[0]["link_delay"]
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("tensor size (bytes, float32)")
        ax.grid(True, alpha=0.3)
    ax1.set_ylabel("busbw / per-worker link rate")
    ax1.set_title("busbw (nccl-tests) per link rate\nlinks %s; delay %s ms" % (rates, delay),
                  fontsize=10)
    ax2.set_ylabel("speed-up: gloo time / daitn time")
    ax2.axhline(TARGET, ls="--", color="grey", label="target %.1fx (N=4, >= 4 MiB)" % TARGET)
    ax2.set_title("daitn vs gloo ring (dotted: ideal 2(N-1)/N)")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print("plot: %s" % png)
    return 1 if total_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
