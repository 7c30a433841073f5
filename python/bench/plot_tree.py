#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Summary and plot of bench-tree.sh's CSVs.

    plot_tree.py tree.csv idle.csv tree.png

Prints, per size and mode (tree, flat, gloo), the median time, algbw and
busbw, the share of the mode's ideal time reached, the bytes per allreduce
on each uplink (A/B, up/down), tbf drops and retransmissions, wrong and
checked elements; then the targets: the tree's uplink bytes at most 1/4 of
the flat gateway's at every size, the tree at least 2x faster than gloo at
16 MiB, an idle adaptive gateway under 5% of a core, and the first-packet
latency after 1 s idle of the adaptive and the busy-polling gateway (idle.csv
may be missing: --no-idle). Writes a PNG: time, busbw (with each mode's
ideal) and uplink bytes against size per mode. Exit status 1 if any element was wrong.
"""

import csv
import json
import os
import sys
from collections import defaultdict

MODES = ("tree", "flat", "gloo")
STYLE = {"tree": ("-o", "tab:green"), "flat": ("-s", "tab:blue"), "gloo": ("--^", "tab:orange")}
TARGET_BYTES, TARGET_SPEEDUP, TARGET_SIZE, TARGET_IDLE_PCT = 0.25, 2.0, 16 << 20, 5.0


def rate_bps(text):
    """'100mbit' -> 1e8; None if not a tc rate."""
    import re
    m = re.fullmatch(r"([0-9.]+)([kmg]?)(bit|bps)?", text.strip().lower())
    if not m:
        return None
    v = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]
    return v * (8 if m.group(3) == "bps" else 1)


def fmt_size(b):
    return "%d%s" % ((b >> 20, "M") if b >= 1 << 20 else (b >> 10, "K"))


def ideal_s(mode, size, n, w, u, chunk):
    """A mode's time at its bottleneck's line rate (L2 bytes: a chunk's frame
    carries 64 header bytes, a TCP segment's 1448 payload bytes 66)."""
    if not w or not u:
        return None
    daitn = (size + -(-size // chunk) * 64) * 8
    if mode == "tree":          # each worker link and each uplink carries size once each way
        return max(daitn / w, daitn / u)
    if mode == "flat":          # each uplink carries its rack's 4 workers' share each way
        return max(daitn / w, 4 * daitn / u)
    return 2 * (n - 1) / n * size * 1514 / 1448 * 8 / w   # the ring, on the worker links


def main():
    src, idle_src, png = sys.argv[1:4]
    rows = list(csv.DictReader(open(src)))
    if not rows:
        sys.exit("plot_tree: %s has no rows" % src)
    chunk = 1408
    try:
        chunk = json.load(open(os.path.join(os.path.dirname(src), "meta.json")))["chunk_size"]
    except (OSError, ValueError, KeyError):
        pass
    by = defaultdict(dict)          # size -> mode -> row
    for r in rows:
        by[int(r["size_bytes"])][r["mode"]] = r
    n = int(rows[0]["n"])
    w, u = rate_bps(rows[0]["worker_rate"]), rate_bps(rows[0]["uplink_rate"])
    mib = float(1 << 20)
    print("bench-tree: 2 racks x 4 workers; worker links %s, uplinks %s (4:1); chunk %d B" % (
        rows[0]["worker_rate"], rows[0]["uplink_rate"], chunk))
    print("%-5s %-5s %9s %9s %7s %7s %5s  %-27s %7s %7s %-17s %6s %5s %s" % (
        "size", "mode", "time_ms", "min_ms", "algbw", "busbw", "ideal",
        "uplink MiB A up/dn B up/dn", "total", "UDP", "drops up/wl/gw/rb", "rtx", "gw%",
        "wrong/checked"))
    wrong = checked = 0
    for size in sorted(by):
        for mode in MODES:
            r = by[size].get(mode)
            if not r:
                continue
            t = float(r["time_us"]) / 1e6
            ideal = ideal_s(mode, size, n, w, u, chunk)
            wrong += int(r["wrong"])
            checked += int(r["checked"])
            udp = float(r["uplink_udp_bytes"])
            print("%-5s %-5s %9.1f %9.1f %7.4f %7.4f %5s  %-27s %7.2f %7s %-17s %6s %5s %s" % (
                fmt_size(size), mode, t * 1e3, float(r["time_us_min"]) / 1e3,
                float(r["algbw_Gbit_s"]), float(r["busbw_Gbit_s"]),
                "%.0f%%" % (100 * ideal / t) if ideal else "-",
                "%.2f/%.2f %.2f/%.2f" % tuple(float(r[k]) / mib for k in (
                    "up_a_bytes", "down_a_bytes", "up_b_bytes", "down_b_bytes")),
                float(r["uplink_bytes"]) / mib, "%.2f" % (udp / mib) if udp >= 0 else "-",
                "/".join(r[k] for k in (
                    "uplink_drops", "link_drops", "gw_kernel_drops", "rcvbuf_drops")),
                r["retransmits"],
                "-" if float(r["cpu_gw_pct"]) < 0 else "%.0f" % float(r["cpu_gw_pct"]),
                "%s/%s" % (r["wrong"], r["checked"])))
    print("per allreduce: algbw = size/time, busbw = algbw*2(n-1)/n in Gbit/s (nccl-tests, n=%d); "
          "ideal: the mode's time at its bottleneck's line rate / measured time; uplink MiB "
          "per allreduce (gloo barriers' share subtracted; total: both uplinks both ways; "
          "UDP: of which UDP frames, the allreduce's own for daitn); over the point's calls: "
          "packets dropped by the "
          "uplinks' tbf (up), the worker links' tbf (wl), the kernel in front of the mode's "
          "gateways (gw), the ranks' UDP receive buffers (rb), and daitn retransmissions "
          "(rtx); gw%%: the mode's gateways' CPU, %% of a core"
          % n)

    print()
    print("targets:")
    # On the UDP frames where nft counted them: daitn's own bytes, without the
    # gloo barriers' TCP between timed calls.
    ratios = []
    for s in sorted(by):
        t, f = by[s].get("tree"), by[s].get("flat")
        if not t or not f:
            continue
        key = "uplink_udp_bytes" if min(float(t["uplink_udp_bytes"]),
                                        float(f["uplink_udp_bytes"])) > 0 else "uplink_bytes"
        if float(f[key]) > 0:
            ratios.append((s, float(t[key]) / float(f[key]), float(t[key]), float(f[key]), key))
    if ratios:
        ok = all(x <= TARGET_BYTES for _, x, _, _, _ in ratios)
        print("  tree uplink bytes <= 1/4 of flat's, every size: %s (tree/flat %s; %s)" % (
            "met" if ok else "NOT met", ", ".join("%s %.4f" % (fmt_size(s), x)
                                                  for s, x, _, _, _ in ratios),
            "UDP frames" if ratios[0][4] == "uplink_udp_bytes" else "all frames"))
        for s, x, tb, fb, _ in ratios:
            ideal = (s + -(-s // chunk) * 64) * 4     # every chunk's frame: 64 header bytes
            print("    %-4s tree %.3f MiB, flat %.3f MiB per allreduce; without retransmissions "
                  "%.3f and %.3f" % (fmt_size(s), tb / mib, fb / mib, ideal / mib, 4 * ideal / mib))
    else:
        print("  tree uplink bytes <= 1/4 of flat's: not measured (needs tree and flat rows)")
    pt = by.get(TARGET_SIZE, {})
    if "tree" in pt and "gloo" in pt:
        sp = float(pt["gloo"]["time_us"]) / float(pt["tree"]["time_us"])
        print("  tree >= %.0fx faster than gloo at %s: %s (gloo %.1f ms / tree %.1f ms = %.2fx; "
              "ideal for a link-bound ring: 2(n-1)/n = %.2fx)" % (
                  TARGET_SPEEDUP, fmt_size(TARGET_SIZE),
                  "met" if sp >= TARGET_SPEEDUP else "NOT met",
                  float(pt["gloo"]["time_us"]) / 1e3, float(pt["tree"]["time_us"]) / 1e3, sp,
                  2 * (n - 1) / n))
    else:
        print("  tree >= %.0fx faster than gloo at %s: not measured (size not in --sizes)" % (
            TARGET_SPEEDUP, fmt_size(TARGET_SIZE)))
    idle = []
    if os.path.exists(idle_src):
        idle = list(csv.DictReader(open(idle_src)))
    flat = {r["idle_poll"]: r for r in idle if r["gateway"] == "flat"}
    if "adaptive" in flat:
        a = flat["adaptive"]
        others = ", ".join("%s %.1f%%" % (r["gateway"], float(r["cpu_core_pct"])) for r in idle
                           if r["gateway"] != "flat" and r["idle_poll"] == "adaptive")
        worst = max(float(r["cpu_core_pct"]) for r in idle if r["idle_poll"] == "adaptive")
        print("  idle adaptive gateway < %.0f%% of a core: %s (flat gateway %.1f%%, its data "
              "lcore %.1f%%, over %s s after as long idle; the other adaptive gateways' samples: "
              "%s; worst %.1f%%)" % (
                  TARGET_IDLE_PCT,
                  "met" if float(a["cpu_core_pct"]) < TARGET_IDLE_PCT else "NOT met",
                  float(a["cpu_core_pct"]), float(a["lcore_core_pct"]), a["cpu_window_s"],
                  others, worst))
        for mode in ("adaptive", "busy"):
            r = flat.get(mode)
            if not r:
                continue
            print("  first packet after 1 s idle, %-8s: ping median %s ms (min %s, max %s; "
                  "%s of %s replies); idle CPU %.1f%% of a core" % (
                      mode, r["ping_median_ms"] or "-", r["ping_min_ms"] or "-",
                      r["ping_max_ms"] or "-", r["ping_replies"], r["pings_sent"],
                      float(r["cpu_core_pct"])))
    else:
        print("  idle part: not run")
    print("correctness: %d wrong of %d elements checked (all modes, every timed call)"
          % (wrong, checked))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    sizes = sorted(by)
    for mode in MODES:
        pts = [(s, by[s][mode]) for s in sizes if mode in by[s]]
        if not pts:
            continue
        style, color = STYLE[mode]
        xs = [s for s, _ in pts]
        axes[0].plot(xs, [float(r["time_us"]) / 1e6 for _, r in pts], style, color=color,
                      label=mode)
        axes[1].plot(xs, [float(r["busbw_Gbit_s"]) * 1e3 for _, r in pts], style, color=color,
                      label=mode)
        if w and u:
            axes[1].plot(xs, [s * 8 / ideal_s(mode, s, n, w, u, chunk) * 2 * (n - 1) / n / 1e6
                              for s in xs], ":", color=color)
        axes[2].plot(xs, [float(r["uplink_bytes"]) / mib for _, r in pts], style, color=color,
                      label=mode + " (both uplinks, both ways)")
    flat_pts = [(s, float(by[s]["flat"]["uplink_bytes"]) / mib / 4)
                for s in sizes if "flat" in by[s]]
    if flat_pts:
        axes[2].plot([p[0] for p in flat_pts], [p[1] for p in flat_pts], ":", color="grey",
                     label="target: flat / 4")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [fmt_size(s) for s in sizes])
        ax.minorticks_off()
        ax.set_xlabel("tensor size (bytes, float32)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("time per allreduce (s, median)")
    axes[0].set_title("time; worker links %s, uplinks %s (4:1)" % (
        rows[0]["worker_rate"], rows[0]["uplink_rate"]), fontsize=10)
    axes[1].set_ylabel("busbw (Mbit/s, nccl-tests, n=%d)" % n)
    axes[1].set_ylim(bottom=0)
    axes[1].set_title("busbw (dotted: each mode at its bottleneck's line rate)", fontsize=10)
    axes[2].set_yscale("log")
    axes[2].set_ylabel("uplink MiB per allreduce")
    axes[2].set_title("bytes carried on the uplinks", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print("plot: %s" % png)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
