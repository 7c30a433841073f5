#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""One rank of scripts/bench-tree.sh: float32 allreduce of 8 ranks in two
racks through an aggregation tree, through one flat gateway and through
gloo's ring, alternately, over the same shaped links (scripts/lib/racks.sh).

Rank g (0-7) is worker g+1; ranks 0-3 sit in rack A, 4-7 in rack B.
  tree: a daitn.Context on its rack's leaf gateway, job --tree-job, with its
        LOCAL rank g % 4 (the leaf's job has 4 workers; the leaf is one rank
        of the same job on the root);
  flat: a daitn.Context on the flat gateway, job --flat-job, rank g of 8;
  gloo: torch.distributed's gloo allreduce, rank g of 8.
Inputs and checks use the global rank and world in every mode: element i of
rank g is (i % 1021) + g, and every element of every timed call must equal
8 * (i % 1021) + 28 bit for bit ("wrong" counts those that do not,
"checked" those compared, over all ranks).

Per point (mode, size): a warm-up call (sizes up to --warmup-max-size), then
--iters timed calls, each after a gloo barrier outside the timed region; a
call's time is the slowest rank's, a point's time the median over calls.
algbw = size / time, busbw = algbw * 2(n-1)/n (nccl-tests, n = 8).
Rank 0 reads the uplinks' byte counters (the rack ends' veths: tx = up,
rx = down) before and after the timed calls and reports bytes per allreduce
on each; the uplinks' quiet traffic (keepalives) and the barriers', measured
once at start, are subtracted. uplink_udp_bytes: the UDP frames alone, both
uplinks both ways (racks.sh's nft counters), the allreduce's own bytes for
daitn without gloo's barriers (quiet UDP traffic subtracted).
Where packets were lost, over a point's calls: the uplinks' and the worker
links' tbf queues (rank 0, tc), the kernel in front of the mode's gateways'
af_packet ports (their telemetry, kernel_drops) and the ranks' UDP receive
buffers (/proc/net/snmp RcvbufErrors, summed over ranks); beside libdaitn's
retransmissions (summed over ranks). Rank 0 also reads the mode's gateways'
CPU (/proc/PID/stat) and the host's. The CSV has one row per point.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "lib"))
from allreduce_bench import host_cpu, parse_sizes, proc_cpu_s  # noqa: E402
import dtn_telemetry  # noqa: E402

COLUMNS = ("mode,n,size_bytes,count,calls,time_us,time_us_min,algbw_Gbit_s,busbw_Gbit_s,"
           "wrong,checked,up_a_bytes,down_a_bytes,up_b_bytes,down_b_bytes,uplink_bytes,"
           "uplink_udp_bytes,uplink_drops,link_drops,gw_kernel_drops,rcvbuf_drops,retransmits,"
           "cpu_gw_pct,host_busy_pct,worker_rate,uplink_rate")
CALIBRATION_BARRIERS = 20
QUIET_S = 2.0


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=20).stdout


def tbf_drops(ns, dev):
    return sum(q.get("drops", 0) for q in
               json.loads(run(["tc", "-s", "-j", "-n", ns, "qdisc", "show", "dev", dev])))


class Links:
    """Rank 0's view of the links: the uplinks' byte counters and every
    link's tbf drops. uplinks: RACK_NS:DEV:CORE_NS:CORE_DEV,... (rack A, B);
    ends: NS:DEV,... (the workers' links, both ends)."""

    def __init__(self, uplinks, ends):
        self.uplinks = [tuple(s.split(":")) for s in uplinks.split(",") if s]
        self.ends = [tuple(s.split(":")) for s in ends.split(",") if s]
        if any(len(x) != 4 for x in self.uplinks) or any(len(x) != 2 for x in self.ends):
            raise SystemExit("tree_bench: --uplinks RACK_NS:DEV:CORE_NS:CORE_DEV,... "
                             "--link-ends NS:DEV,...")

    def read(self):
        """([A up, A down, B up, B down] bytes, the same of UDP alone (None
        without racks.sh's nft counters), uplink tbf drops, worker link tbf
        drops). Ethernet frame bytes, as the veths count them."""
        out, udp, up_drops = [], [], 0
        for ns, dev, core_ns, core_dev in self.uplinks:
            s = json.loads(run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev]))
            out += [s[0]["stats64"]["tx"]["bytes"], s[0]["stats64"]["rx"]["bytes"]]
            up_drops += tbf_drops(ns, dev) + tbf_drops(core_ns, core_dev)
            udp += udp_counters(ns)
        if None in udp:
            udp = None
        return out, udp, up_drops, sum(tbf_drops(ns, dev) for ns, dev in self.ends)


def udp_counters(ns):
    """[up, down] frame bytes of the UDP packets across a rack's uplink, from
    racks.sh's nft counters (which count from the IP header: + 14 per frame)."""
    try:
        d = json.loads(run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table",
                            "bridge", "dtnup"]))
    except (OSError, ValueError, subprocess.SubprocessError):
        return [None, None]
    got = {}
    for item in d["nftables"]:
        rule = item.get("rule")
        if rule and rule.get("comment") in ("up", "down"):
            c = next(e["counter"] for e in rule["expr"] if "counter" in e)
            got[rule["comment"]] = c["bytes"] + 14 * c["packets"]
    return [got.get("up"), got.get("down")]


def gw_kernel_drops(prefix):
    """Frames the kernel dropped in front of a gateway's af_packet port."""
    try:
        r = dtn_telemetry.query(dtn_telemetry.sock_path(prefix), ["/daitn/ports"])
        return sum(r[0]["/daitn/ports"]["kernel_drops"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def udp_rcvbuf_errors():
    """This namespace's UDP receive-buffer drops (/proc/net/snmp)."""
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Udp:")]
    return int(lines[1][lines[0].index("RcvbufErrors")])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rank", type=int, required=True, help="global rank (0-7)")
    p.add_argument("--world", type=int, default=8)
    p.add_argument("--rack-size", type=int, default=4, help="workers per rack (leaf)")
    p.add_argument("--master", required=True, help="ADDR:PORT (rank 0)")
    p.add_argument("--sizes", default="4M,8M,16M,32M,64M")
    p.add_argument("--modes", default="tree,flat,gloo")
    p.add_argument("--iters", type=int, default=3, help="timed calls per point")
    p.add_argument("--warmup-max-size", type=int, default=8 << 20)
    p.add_argument("--bind", required=True)
    p.add_argument("--leaf", required=True, help="this rank's leaf gateway address")
    p.add_argument("--tree-job", type=int, default=1)
    p.add_argument("--tree-port", type=int, default=47101)
    p.add_argument("--flat", required=True, help="the flat gateway's address")
    p.add_argument("--flat-job", type=int, default=2)
    p.add_argument("--flat-port", type=int, default=47102)
    p.add_argument("--window", type=int, default=0)
    p.add_argument("--rto-us", type=int, default=0)
    p.add_argument("--timeout-s", type=int, default=300,
                   help="gloo's timeout; libdaitn's peer timeout")
    p.add_argument("--uplinks", default="", help="rank 0: RACK_NS:DEV:CORE_NS:CORE_DEV,...")
    p.add_argument("--link-ends", default="", help="rank 0: NS:DEV,... of the worker links")
    p.add_argument("--gws", default="",
                   help="rank 0: G=PID:PREFIX,... (G in r a b f; PREFIX: its --file-prefix)")
    p.add_argument("--worker-rate", default="")
    p.add_argument("--uplink-rate", default="")
    p.add_argument("--csv", default=None, help="rank 0 appends rows here")
    p.add_argument("--header", action="store_true")
    args = p.parse_args()

    torch.set_num_threads(1)
    n, rank = args.world, args.rank
    addr, port = args.master.rsplit(":", 1)
    dist.init_process_group("gloo", init_method="tcp://%s:%s" % (addr, port), rank=rank,
                            world_size=n, timeout=datetime.timedelta(seconds=args.timeout_s))
    modes = [m for m in args.modes.split(",") if m]
    ctx = {}
    import daitn
    opts = dict(bind_addr=args.bind, window=args.window, rto_us=args.rto_us,
                timeout_ms=20000, peer_timeout_ms=args.timeout_s * 1000)
    if "tree" in modes:
        local = rank % args.rack_size
        ctx["tree"] = daitn.Context(args.leaf, args.tree_job, local, args.tree_port, **opts)
        if ctx["tree"].job["n_workers"] != args.rack_size:
            raise SystemExit("tree job %d on %s has %d workers, expected %d (one rack)"
                             % (args.tree_job, args.leaf, ctx["tree"].job["n_workers"],
                                args.rack_size))
    if "flat" in modes:
        ctx["flat"] = daitn.Context(args.flat, args.flat_job, rank, args.flat_port, **opts)
        if ctx["flat"].job["n_workers"] != n:
            raise SystemExit("flat job %d has %d workers, expected %d"
                             % (args.flat_job, ctx["flat"].job["n_workers"], n))

    links = Links(args.uplinks, args.link_ends) if rank == 0 and args.uplinks else None
    gw_pids, gw_prefix = {}, {}
    for kv in args.gws.split(","):
        if kv:
            g, v = kv.split("=")
            gw_pids[g], gw_prefix[g] = int(v.split(":")[0]), v.split(":")[1]
    mode_gws = {"tree": "rab", "flat": "f", "gloo": ""}

    # The uplinks' own traffic while the job is quiet (bytes per second: the
    # gateways' and libdaitn's keepalives, ARP), then that of one gloo
    # barrier; both are subtracted from every point.
    quiet_rate, quiet_udp, barrier_bytes = [0.0] * 4, [0.0] * 4, [0.0] * 4
    dist.barrier()
    if links:
        (q0, qu0, *_), t0 = links.read(), time.perf_counter()
        time.sleep(QUIET_S)     # the measurement window; the other ranks wait in the barrier
        (q1, qu1, *_), t1 = links.read(), time.perf_counter()
        quiet_rate = [(y - x) / (t1 - t0) for x, y in zip(q0, q1)]
        if qu0 is not None:
            quiet_udp = [(y - x) / (t1 - t0) for x, y in zip(qu0, qu1)]
    dist.barrier()
    if links:
        b0, t0 = links.read()[0], time.perf_counter()
    for _ in range(CALIBRATION_BARRIERS):
        dist.barrier()
    if links:
        b1, t1 = links.read()[0], time.perf_counter()
        barrier_bytes = [(y - x - q * (t1 - t0)) / CALIBRATION_BARRIERS
                         for x, y, q in zip(b0, b1, quiet_rate)]
        print("uplinks (A up, A down, B up, B down): quiet %s B/s; one gloo barrier %s B"
              % (", ".join("%.0f" % q for q in quiet_rate),
                 ", ".join("%.0f" % b for b in barrier_bytes)), flush=True)

    out = None
    if rank == 0 and args.csv:
        out = open(args.csv, "a")
        if args.header:
            out.write(COLUMNS + "\n")

    for size in parse_sizes(args.sizes):
        count = size // 4
        idx = torch.arange(count, dtype=torch.int64)
        template = ((idx % 1021) + rank).to(torch.float32)
        expect = ((idx % 1021) * n + n * (n - 1) // 2).to(torch.float32)
        del idx
        buf = torch.empty(count, dtype=torch.float32)
        for mode in modes:
            if mode in ctx:
                c = ctx[mode]

                def op(t, c=c):
                    c.allreduce(t)
            else:
                def op(t):
                    dist.all_reduce(t)
            if size <= args.warmup_max_size:
                buf.copy_(template)
                op(buf)
            rtx0 = ctx[mode].stats()["retransmits"] if mode in ctx else 0
            times, wrong = [], 0
            dist.barrier()
            if links:
                u0, p0, d0, l0 = links.read()
                tu0 = time.perf_counter()
            gw0 = {g: proc_cpu_s(gw_pids[g]) for g in mode_gws[mode] if g in gw_pids}
            k0 = [gw_kernel_drops(gw_prefix[g]) for g in gw0]
            r0 = udp_rcvbuf_errors()
            host0, wall0 = host_cpu(), time.perf_counter()
            for _ in range(args.iters):
                buf.copy_(template)
                dist.barrier()
                t0 = time.perf_counter()
                op(buf)
                times.append(time.perf_counter() - t0)
                wrong += int((buf != expect).sum())
            dist.barrier()
            wall = time.perf_counter() - wall0
            if links:
                u1, p1, d1, l1 = links.read()
                tu1 = time.perf_counter()
            gw1 = {g: proc_cpu_s(gw_pids[g]) for g in gw0}
            k1 = [gw_kernel_drops(gw_prefix[g]) for g in gw0]
            rcvbuf = udp_rcvbuf_errors() - r0
            host1 = host_cpu()
            rtx = (ctx[mode].stats()["retransmits"] - rtx0) if mode in ctx else 0
            t = torch.tensor(times, dtype=torch.float64)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            agg = torch.tensor([float(wrong), float(rtx), float(rcvbuf)], dtype=torch.float64)
            dist.all_reduce(agg)
            if rank != 0:
                continue
            med = statistics.median(t.tolist())
            algbw = size * 8 / med / 1e9
            busbw = algbw * 2 * (n - 1) / n
            per = [0.0] * 4
            udp = -1.0
            drops = link_drops = -1
            if None not in k0 + k1:
                kdrops = sum(k1) - sum(k0)
            else:
                kdrops = -1
            if links:
                # calls + 1 barriers ran between the two reads.
                per = [max((y - x - (args.iters + 1) * b - q * (tu1 - tu0)) / args.iters, 0.0)
                       for x, y, b, q in zip(u0, u1, barrier_bytes, quiet_rate)]
                drops, link_drops = d1 - d0, l1 - l0
                if p0 is not None:
                    udp = max(sum(y - x - q * (tu1 - tu0)
                                  for x, y, q in zip(p0, p1, quiet_udp)) / args.iters, 0.0)
            gw_pct = -1.0
            if gw0 and all(v is not None for v in list(gw0.values()) + list(gw1.values())):
                gw_pct = 100.0 * sum(gw1[g] - gw0[g] for g in gw0) / wall
            total = max(host1[2] - host0[2], 1)
            row = (mode, n, size, count, args.iters, med * 1e6, min(t.tolist()) * 1e6, algbw,
                   busbw, int(agg[0]), args.iters * count * n, per[0], per[1], per[2], per[3],
                   sum(per), udp, drops, link_drops, kdrops, int(agg[2]), int(agg[1]), gw_pct,
                   100.0 * (host1[0] - host0[0]) / total,
                   args.worker_rate, args.uplink_rate)
            line = ("%s,%d,%d,%d,%d,%.1f,%.1f,%.4f,%.4f,%d,%d,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,"
                    "%d,%d,%d,%d,%d,%.1f,%.1f,%s,%s" % row)
            print(line, flush=True)
            if out:
                out.write(line + "\n")
                out.flush()
        del template, expect, buf
    for c in ctx.values():
        c.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
