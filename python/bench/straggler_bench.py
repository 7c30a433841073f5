#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""One rank of scripts/bench-straggler.sh, gloo side: rounds of "compute"
(a sleep; one rank sleeps FACTOR times longer, a slower device) followed by a
float32 allreduce over gloo's ring, on the same shaped links as the daitn
side. Rank 0 prints one line:

    gloo rounds R round_ms_mean M compute_ms C wrong W

where a round's time is its compute plus its allreduce as this rank saw them
(the same definition the daitn side uses: daitn-worker's per-round seconds
plus the compute), averaged over the rounds after the first. Every element of
every result is checked (each rank contributes 1.0: the sum is the world
size, exact)."""

import argparse
import os
import time

import torch
import torch.distributed as dist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--compute-ms", type=float, default=0.0)
    ap.add_argument("--slow", default="", help="RANK:FACTOR")
    a = ap.parse_args()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    slow_rank, factor = -1, 1.0
    if a.slow:
        r, f = a.slow.split(":")
        slow_rank, factor = int(r), float(f)
    dist.init_process_group("gloo", init_method="tcp://%s:%s" % (
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"]), rank=rank, world_size=world)
    t = torch.empty(a.count, dtype=torch.float32)
    compute = a.compute_ms / 1000.0 * (factor if rank == slow_rank else 1.0)
    times, wrong = [], 0
    dist.barrier()
    for _ in range(a.rounds):
        t.fill_(1.0)
        t0 = time.monotonic()
        time.sleep(compute)
        dist.all_reduce(t)
        times.append(time.monotonic() - t0)
        wrong += int((t != float(world)).sum())
    if rank == 0:
        steady = times[1:] if len(times) > 1 else times
        print("gloo rounds %d round_ms_mean %.3f compute_ms %.1f wrong %d" % (
            a.rounds, 1000.0 * sum(steady) / len(steady), a.compute_ms, wrong), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
