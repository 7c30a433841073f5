#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""One rank of scripts/bench-train.sh: DDP training of three models with
gradients through gloo (DDP's own allreduce) and through the daitn gateway
(the comm hook, default settings), interleaved in one run on the same links.

Models (synthetic data, fixed seeds, so both backends see the same batches
from the same initial weights):
  cnn          two conv layers with batchnorm, 32x32 RGB inputs, 10 classes
  lstm         an 8000x64 embedding (dense gradients), a 128-unit LSTM, a
               10-class head on the last state (sequences of 32 words)
  transformer  2 encoder layers (d_model 128, 4 heads), 2000-word embedding,
               a 10-class head on the mean state
Classification heads keep the compute per step small on a 2-core machine, so
the gradients (0.6 to 2.2 MB a step) and the links decide.
For each model, --reps repetitions of one gloo phase and one daitn phase
(their order alternating); a phase trains --epochs epochs of --steps steps
from the same initial model, timed between barriers. Rank 0 appends one CSV
row per phase: model, backend, n, link, rep, s/epoch (median over epochs),
buckets through daitn and gloo (rank 0's hook), chunks sent and
retransmitted (libdaitn, all ranks), and the per-epoch losses (mean over
ranks and steps) to compare the curves. The first epoch of a phase is warm-up
for the timing (not for the curve).
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

COLUMNS = ("model,backend,n,link,rep,params,s_per_epoch,buckets_daitn,buckets_gloo,"
           "chunks_sent,retransmits,mode,losses")


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.f(x)


class Lstm(nn.Module):
    def __init__(self, vocab=8000):
        super().__init__()
        self.emb = nn.Embedding(vocab, 64)
        self.rnn = nn.LSTM(64, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.rnn(self.emb(x))[0][:, -1])


class Transformer(nn.Module):
    def __init__(self, vocab=2000, d=128):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, 4, dim_feedforward=256, dropout=0.0,
                                           batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(self.enc(self.emb(x)).mean(1))


def make(name, batch, seed):
    """(model, batch function step -> (input, target), loss function)."""
    torch.manual_seed(seed)
    if name == "cnn":
        model = Cnn()

        def data(g):
            return (torch.randn(batch, 3, 32, 32, generator=g),
                    torch.randint(0, 10, (batch,), generator=g))
        return model, data, nn.functional.cross_entropy
    vocab, cls = (8000, Lstm) if name == "lstm" else (2000, Transformer)
    model = cls()

    def data(g):
        return (torch.randint(0, vocab, (batch, 32), generator=g),
                torch.randint(0, 10, (batch,), generator=g))
    return model, data, nn.functional.cross_entropy


def phase(args, name, backend, state, rank, world):
    """Train one phase; (s/epoch median, losses per epoch, stats deltas)."""
    model, data, loss_fn = make(name, args.batch, args.seed)
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=args.bucket_cap_mb)
    if backend == "daitn":
        import daitn.torch as daitn_torch
        ddp.register_comm_hook(state, daitn_torch.comm_hook)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    st0 = dict(state.stats) if state else {}
    lib0 = state.daitn_stats() if state else {}
    times, losses = [], []
    for epoch in range(args.epochs):
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch * 101 + rank)
        dist.barrier()
        t0 = time.perf_counter()
        total = torch.zeros(1)
        for _ in range(args.steps):
            x, y = data(g)
            opt.zero_grad()
            loss = loss_fn(ddp(x), y)
            loss.backward()
            opt.step()
            total += loss.detach()
        dist.barrier()
        times.append(time.perf_counter() - t0)
        dist.all_reduce(total)   # the mean loss over ranks and steps
        losses.append(total.item() / (world * args.steps))
    st = state.stats if state else {}
    lib = state.daitn_stats() if state else {}

    def delta(a, b, k):
        return a.get(k, 0) - b.get(k, 0)
    # Chunks and retransmissions of every rank.
    sent = torch.tensor([delta(lib, lib0, "chunks_sent"), delta(lib, lib0, "retransmits")],
                        dtype=torch.float64)
    dist.all_reduce(sent)
    counts = dict(buckets_daitn=delta(st, st0, "buckets_daitn"),
                  buckets_gloo=delta(st, st0, "buckets_gloo"),
                  chunks_sent=int(sent[0]), retransmits=int(sent[1]),
                  params=sum(p.numel() for p in model.parameters()))
    return statistics.median(times[1:] if len(times) > 1 else times), losses, counts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--master", required=True, help="ADDR:PORT of rank 0's rendezvous")
    p.add_argument("--models", default="cnn,lstm,transformer")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=16, help="per rank")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bucket-cap-mb", type=float, default=25.0)
    p.add_argument("--link", default="veth", help="label of the links, for the CSV")
    p.add_argument("--csv", required=True)
    p.add_argument("--header", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="tcp://" + args.master, rank=args.rank,
                            world_size=args.world)
    import daitn.torch as daitn_torch
    state = daitn_torch.DaitnHookState()
    if state.mode != "daitn":
        print("train_bench: rank %d: daitn unusable (%s): daitn phases run on gloo"
              % (args.rank, state.fallback_reason), flush=True)
    if args.rank == 0 and args.header:
        with open(args.csv, "w") as f:
            f.write(COLUMNS + "\n")
    for name in args.models.split(","):
        for rep in range(args.reps):
            order = ("gloo", "daitn") if rep % 2 == 0 else ("daitn", "gloo")
            for backend in order:
                spe, losses, c = phase(args, name, backend,
                                       state if backend == "daitn" else None,
                                       args.rank, args.world)
                line = "%s,%s,%d,%s,%d,%d,%.4f,%d,%d,%d,%d,%s,%s" % (
                    name, backend, args.world, args.link, rep, c["params"], spe,
                    c["buckets_daitn"], c["buckets_gloo"], c["chunks_sent"], c["retransmits"],
                    state.mode if backend == "daitn" else "gloo",
                    " ".join("%.7g" % v for v in losses))
                if args.rank == 0:
                    with open(args.csv, "a") as f:
                        f.write(line + "\n")
                    print("  %-11s %-5s N=%d %-8s rep %d  %.3f s/epoch  daitn/gloo buckets "
                          "%d/%d  retransmits %d of %d" % (
                              name, backend, args.world, args.link, rep, spe,
                              c["buckets_daitn"], c["buckets_gloo"], c["retransmits"],
                              c["chunks_sent"]), flush=True)
    dist.barrier()    # a rank that missed the last bucket is settled by live peers
    state.shutdown()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
