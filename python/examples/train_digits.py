#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Train a small MLP on scikit-learn's bundled digits data with DDP workers,
gradients summed either through a daitn gateway (--backend daitn) or by gloo
(--backend gloo). Same seed, same curve: every step uses the same global batch
split evenly over the ranks, so only the summation order differs.

One process per rank (e.g. one per network namespace), torchrun-style:
    RANK=0 WORLD_SIZE=2 MASTER_ADDR=10.77.0.11 MASTER_PORT=29500 \\
    DAITN_GATEWAY=10.77.0.1 DAITN_JOB=1 DAITN_BIND=10.77.0.11 \\
        /usr/bin/python3 python/examples/train_digits.py --backend daitn
or all ranks on this host (gloo over loopback, or a gateway reachable from here):
    /usr/bin/python3 python/examples/train_digits.py --nproc 4 --backend gloo

Prints one line per epoch (training loss over the whole training set, test
accuracy) and the final accuracy; --csv writes the curve (rank 0).
"""

import argparse
import hashlib
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=["daitn", "gloo"], default="daitn")
    p.add_argument("--nproc", type=int, default=0,
                   help="spawn this many ranks on this host (else RANK/WORLD_SIZE from env)")
    p.add_argument("--rank", type=int, default=None)
    p.add_argument("--world-size", type=int, default=None)
    p.add_argument("--master", default=None, help="ADDR:PORT of rank 0's rendezvous")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64, help="global batch (split over ranks)")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bucket-cap-mb", type=float, default=25.0,
                   help="DDP bucket size; small values give several buckets per step")
    p.add_argument("--csv", default=None, help="write epoch,train_loss,test_acc,seconds here")
    p.add_argument("--hold-after-epoch", default="", metavar="E[,E...]",
                   help="after epoch E, wait until --hold-file exists (tests use it to act "
                        "between two epochs); with several epochs, until FILE.E exists")
    p.add_argument("--hold-file", default=None)
    p.add_argument("--hold-rank", type=int, default=None, metavar="R",
                   help="only rank R holds (default: every rank)")
    p.add_argument("--pause", default=None, metavar="E:R:S",
                   help="after epoch E, rank R sleeps S seconds (a rank that evaluates or "
                        "checkpoints between steps)")
    return p.parse_args(argv)


def load_data(seed):
    """Digits scaled to [0, 1]; a fixed 80/20 split (same for every seed)."""
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.tensor(np.random.RandomState(0).permutation(len(y)))
    n_train = int(0.8 * len(y))
    tr, te = perm[:n_train], perm[n_train:]
    return x[tr], y[tr], x[te], y[te]


def make_model(hidden):
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden // 2),
                         nn.ReLU(), nn.Linear(hidden // 2, 10))


def evaluate(model, xtr, ytr, xte, yte):
    with torch.no_grad():
        loss = nn.functional.cross_entropy(model(xtr), ytr).item()
        correct = (model(xte).argmax(1) == yte).sum().item()
    return loss, correct


def train(rank, world, master, args):
    torch.set_num_threads(1)
    addr, port = master.rsplit(":", 1)
    dist.init_process_group("gloo", init_method="tcp://%s:%s" % (addr, port),
                            rank=rank, world_size=world)
    xtr, ytr, xte, yte = load_data(args.seed)
    if args.batch_size % world:
        raise SystemExit("--batch-size %d is not a multiple of the world size %d"
                         % (args.batch_size, world))
    local = args.batch_size // world

    torch.manual_seed(args.seed)
    model = make_model(args.hidden)
    # DDP's first bucket is 1 MiB whatever bucket_cap_mb says, more than this
    # whole model; a smaller cap lowers it too, to get several buckets a step.
    cap = int(args.bucket_cap_mb * 2**20)
    if cap < dist._DEFAULT_FIRST_BUCKET_BYTES:
        dist._DEFAULT_FIRST_BUCKET_BYTES = cap
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=args.bucket_cap_mb)
    state = None
    if args.backend == "daitn":
        import daitn.torch as daitn_torch
        state = daitn_torch.DaitnHookState()
        ddp.register_comm_hook(state, daitn_torch.comm_hook)
        if rank == 0:
            print("daitn: mode %s%s" % (state.mode, " (%s)" % state.fallback_reason
                                        if state.fallback_reason else ""), flush=True)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)

    rows = []
    steps = len(ytr) // args.batch_size
    t_start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        order = torch.randperm(len(ytr), generator=g)
        for s in range(steps):
            idx = order[s * args.batch_size + rank * local:s * args.batch_size + (rank + 1) * local]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(ddp(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        if rank == 0:
            tl, correct = evaluate(model, xtr, ytr, xte, yte)
            rows.append((epoch, tl, correct / len(yte), dt))
            print("epoch %3d  loss %.6f  test_acc %.4f  %.3fs" % rows[-1], flush=True)
        if args.pause:
            pe, pr, ps = args.pause.split(":")
            if epoch == int(pe) and rank == int(pr):
                print("rank %d pauses %s s after epoch %d" % (rank, ps, epoch), flush=True)
                time.sleep(float(ps))
        holds = [int(e) for e in args.hold_after_epoch.split(",") if e]
        if epoch in holds and args.hold_file and args.hold_rank in (None, rank):
            hold = args.hold_file if len(holds) == 1 else "%s.%d" % (args.hold_file, epoch)
            print("holding after epoch %d until %s exists" % (epoch, hold), flush=True)
            deadline = time.monotonic() + 600
            while not os.path.exists(hold) and time.monotonic() < deadline:
                time.sleep(0.05)

    # Every rank must end with the same parameters (DDP never checks).
    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(p.detach().contiguous().numpy().tobytes())
    print("params sha256 %s" % digest.hexdigest(), flush=True)
    if rank == 0:
        _, correct = evaluate(model, xtr, ytr, xte, yte)
        print("final accuracy %.4f (%d/%d)  backend %s  world %d  %.2fs"
              % (correct / len(yte), correct, len(yte), args.backend, world,
                 time.perf_counter() - t_start), flush=True)
        if args.csv:
            with open(args.csv, "w") as f:
                f.write("epoch,train_loss,test_acc,seconds\n")
                for r in rows:
                    f.write("%d,%.9g,%.6f,%.4f\n" % r)
    if state is not None:
        st = state.stats
        print("daitn: rank %d mode %s buckets daitn %d gloo %d, agreements %d (%.3f s), "
              "settlements %d, daitn %.3f s, gloo %.3f s, returns %d%s" % (
                  rank, state.mode, st["buckets_daitn"], st["buckets_gloo"], st["agreements"],
                  st["agree_s"], st["settlements"], st["daitn_s"], st["gloo_s"],
                  st.get("returns", 0),
                  "; fallback " + state.fallback_reason if state.fallback_reason else ""),
              flush=True)
        dist.barrier()    # a rank that missed the last bucket is settled by live peers
        state.shutdown()
    dist.destroy_process_group()


def _spawned(rank, world, master, args):
    train(rank, world, master, args)


def main():
    args = parse_args()
    if args.nproc:
        import socket
        import torch.multiprocessing as mp
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mp.spawn(_spawned, args=(args.nproc, "127.0.0.1:%d" % port, args), nprocs=args.nproc)
        return
    rank = args.rank if args.rank is not None else int(os.environ.get("RANK", "0"))
    world = args.world_size if args.world_size is not None else \
        int(os.environ.get("WORLD_SIZE", "1"))
    master = args.master or "%s:%s" % (os.environ.get("MASTER_ADDR", "127.0.0.1"),
                                       os.environ.get("MASTER_PORT", "29500"))
    train(rank, world, master, args)


if __name__ == "__main__":
    main()
