#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""One rank of scripts/bench-allreduce.sh: float32 allreduce through the daitn
gateway and through gloo's ring, alternately, on the same links.

Every rank runs this (one process per worker namespace). For each size and
backend: warm-up calls, then timed calls. Before each timed call the ranks
meet in a gloo barrier (outside the timed region); a call's time is the
slowest rank's, and a point's time is the median over calls. Rank 0 appends
one CSV row per point (nccl-tests definitions):
    algbw = size / time,   busbw = algbw * 2(N-1)/N.
Correctness: rank r fills element i with (i % 1021) + r; the exact sum
N*(i % 1021) + N(N-1)/2 is representable in float32, so every element of every
timed call is compared bit for bit ("wrong" counts mismatching elements).
CPU: each rank's process CPU time over its timed calls, and (rank 0, reading
/proc) the gateway process and the whole host (busy, softirq), as % of one
core (host figures: % of all cores).
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

COLUMNS = ("backend,n,size_bytes,count,calls,time_us,time_us_min,algbw_Gbit_s,busbw_Gbit_s,"
           "wrong,cpu_rank_max_pct,cpu_rank_mean_pct,cpu_gw_pct,host_busy_pct,"
           "host_softirq_pct,link_rate,link_delay,retransmits")


def proc_cpu_s(pid):
    """utime + stime of pid in seconds, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def host_cpu():
    """(busy, softirq, total) jiffies from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, v[6], sum(v)


def parse_sizes(spec):
    out = []
    for s in spec.split(","):
        s = s.strip().upper()
        mult = 1
        for suf, m in (("KIB", 1 << 10), ("MIB", 1 << 20), ("K", 1 << 10), ("M", 1 << 20)):
            if s.endswith(suf):
                s, mult = s[:-len(suf)], m
                break
        out.append(int(float(s) * mult))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--master", required=True, help="ADDR:PORT (rank 0)")
    p.add_argument("--sizes", default="256K,1M,4M,16M,64M")
    p.add_argument("--backends", default="daitn,gloo")
    p.add_argument("--link-bps", type=float, default=0,
                   help="per-worker link rate: timed calls per point = --point-seconds of "
                        "ideal link time (size*8/rate), within --min/--max-calls")
    p.add_argument("--point-seconds", type=float, default=1.5)
    p.add_argument("--bytes-per-point", type=float, default=64 * 2**20,
                   help="without --link-bps: timed calls per point, this many bytes' worth")
    p.add_argument("--min-calls", type=int, default=1)
    p.add_argument("--max-calls", type=int, default=20)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--warmup-max-size", type=int, default=8 << 20,
                   help="no warm-up call for larger tensors (their buffers are touched "
                        "before timing anyway, and one call is seconds long)")
    p.add_argument("--csv", default=None, help="rank 0 appends rows here")
    p.add_argument("--header", action="store_true", help="write the CSV header first")
    p.add_argument("--gw-pid", type=int, default=0)
    p.add_argument("--link-rate", default="")
    p.add_argument("--link-delay", default="")
    p.add_argument("--gateway", default=os.environ.get("DAITN_GATEWAY", "10.77.0.1"))
    p.add_argument("--job", type=int, default=int(os.environ.get("DAITN_JOB", "1")))
    p.add_argument("--bind", default=os.environ.get("DAITN_BIND"))
    p.add_argument("--port-base", type=int, default=int(os.environ.get("DAITN_PORT_BASE", "47100")))
    p.add_argument("--timeout-ms", type=int, default=int(os.environ.get("DAITN_TIMEOUT_MS", "0")))
    p.add_argument("--window", type=int, default=int(os.environ.get("DAITN_WINDOW", "0")),
                   help="chunks in flight per worker (0: the job's slots)")
    p.add_argument("--rto-us", type=int, default=int(os.environ.get("DAITN_RTO_US", "0")))
    args = p.parse_args()

    torch.set_num_threads(1)
    addr, port = args.master.rsplit(":", 1)
    dist.init_process_group("gloo", init_method="tcp://%s:%s" % (addr, port),
                            rank=args.rank, world_size=args.world)
    n, rank = args.world, args.rank
    backends = [b for b in args.backends.split(",") if b]
    ctx = None
    if "daitn" in backends:
        import daitn
        ctx = daitn.Context(args.gateway, args.job, rank, args.port_base + rank,
                            bind_addr=args.bind, timeout_ms=args.timeout_ms,
                            window=args.window, rto_us=args.rto_us)
        if ctx.job["n_workers"] != n:
            raise SystemExit("daitn job %d has %d workers, this run %d"
                             % (args.job, ctx.job["n_workers"], n))

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
        buf = torch.empty(count, dtype=torch.float32)
        if args.link_bps > 0:
            calls = args.point_seconds / (size * 8 / args.link_bps)
        else:
            calls = args.bytes_per_point / size
        calls = int(min(max(calls, args.min_calls), args.max_calls))
        warmup = args.warmup if size <= args.warmup_max_size else 0
        for backend in backends:
            if backend == "daitn":
                def op(t):
                    ctx.allreduce(t)
                rtx0 = ctx.stats()["retransmits"]
            else:
                def op(t):
                    dist.all_reduce(t)
            for _ in range(warmup):
                buf.copy_(template)
                op(buf)
            times, wrong, cpu = [], 0, 0.0
            gw0, host0 = proc_cpu_s(args.gw_pid) if args.gw_pid else None, host_cpu()
            wall0 = time.perf_counter()
            for _ in range(calls):
                buf.copy_(template)
                dist.barrier()
                c0, t0 = time.process_time(), time.perf_counter()
                op(buf)
                t1, c1 = time.perf_counter(), time.process_time()
                times.append(t1 - t0)
                cpu += c1 - c0
                wrong += int((buf != expect).sum())
            wall = time.perf_counter() - wall0
            gw1, host1 = proc_cpu_s(args.gw_pid) if args.gw_pid else None, host_cpu()
            # Slowest rank per call; total wrong; CPU max and mean.
            t = torch.tensor(times, dtype=torch.float64)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            agg = torch.tensor([float(wrong), 100.0 * cpu / max(sum(times), 1e-9)],
                               dtype=torch.float64)
            allw = [torch.zeros(2, dtype=torch.float64) for _ in range(n)]
            dist.all_gather(allw, agg)
            if rank != 0:
                continue
            med = statistics.median(t.tolist())
            algbw = size * 8 / med / 1e9
            busbw = algbw * 2 * (n - 1) / n
            cpus = [float(a[1]) for a in allw]
            gw_pct = 100.0 * (gw1 - gw0) / wall if gw0 is not None and gw1 is not None else -1
            busy = host1[0] - host0[0]
            total = max(host1[2] - host0[2], 1)
            rtx = (ctx.stats()["retransmits"] - rtx0) if backend == "daitn" else 0
            row = (backend, n, size, count, calls, med * 1e6, min(t.tolist()) * 1e6, algbw, busbw,
                   int(sum(float(a[0]) for a in allw)), max(cpus), sum(cpus) / n, gw_pct,
                   100.0 * busy / total, 100.0 * (host1[1] - host0[1]) / total,
                   args.link_rate, args.link_delay, rtx)
            line = ("%s,%d,%d,%d,%d,%.1f,%.1f,%.4f,%.4f,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%s,%s,%d"
                    % row)
            print(line, flush=True)
            if out:
                out.write(line + "\n")
                out.flush()
    if ctx is not None:
        ctx.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
