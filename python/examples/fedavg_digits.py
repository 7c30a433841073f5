#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Federated averaging of a digits classifier through a daitn gateway.

Each rank is an edge client with its own slice of sklearn's digits: slice
sizes differ (client r holds a share proportional to r + 1), and so do the
clients' speeds (--slow R:F: client R computes F times as long). Every round,
each client trains the global model it holds on its own data for one local
epoch and contributes the result weighted by its sample count through a
"mode": "fedavg" job (daitn.Context.allreduce_weighted): the gateway sums the
weighted models and the weights, and each client receives the weighted mean
over the clients in the round. On a partial job (a quorum or a deadline in
the policy) a round closes without the slow client: its call raises
DaitnStaleError and it trains its next round from the global model it last
received. --away R:A-B makes client R sit rounds A to B out (skip_rounds).
The averaging is daitn.torch.average_parameters(ctx, model.parameters(), w).

With --out DIR each client writes DIR/client<R>.json: its sample count, for
every round whether it got the result and which clients each chunk of the
result holds, and its final model. --reference DIR then recomputes the whole
run locally, from the data and those participation records alone: every
client's local training, and per chunk the weighted mean of exactly the
clients in it (the products w * x folded in rank order in float32 and divided
by the folded weights, which is the gateway's sum on a deterministic job),
and checks every client's final model against it. It prints the largest
difference and exits 1 if any model differs (bit for bit with --exact).

    # one client per namespace (python/examples/run_fedavg_edge.sh):
    DAITN_GATEWAY=10.77.0.1 DAITN_JOB=4 DAITN_BIND=10.77.0.11 DAITN_PORT=47164 \\
    RANK=0 WORLD_SIZE=4 python3 fedavg_digits.py --rounds 20 --out /tmp/fed
    python3 fedavg_digits.py --reference /tmp/fed --exact
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

N_FEATURES, N_CLASSES = 64, 10
N_PARAMS = N_FEATURES * N_CLASSES + N_CLASSES


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--compute-ms", type=float, default=10.0,
                   help="every client's time per round beside its training (a device)")
    p.add_argument("--slow", default=None, metavar="R:F",
                   help="client R computes F times as long")
    p.add_argument("--away", default=None, metavar="R:A-B",
                   help="client R takes no part in rounds A to B (a partial job)")
    p.add_argument("--timeout-ms", type=int, default=10000)
    p.add_argument("--out", default=None, help="write DIR/client<R>.json")
    p.add_argument("--reference", default=None, metavar="DIR",
                   help="recompute the run of DIR's records locally and compare")
    p.add_argument("--exact", action="store_true",
                   help="with --reference: every model must match bit for bit")
    return p.parse_args(argv)


def load_data(seed, n_clients):
    """Digits in [0, 1], a fixed 85/15 split; the training part dealt to the
    clients in shares proportional to 1, 2, ..., n_clients."""
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(seed).permutation(len(y))
    n_train = int(0.85 * len(y))
    tr, te = perm[:n_train], perm[n_train:]
    total = n_clients * (n_clients + 1) // 2
    bounds = np.cumsum([0] + [n_train * (r + 1) // total for r in range(n_clients)])
    shards = [(x[tr[a:b]], y[tr[a:b]]) for a, b in zip(bounds[:-1], bounds[1:])]
    return shards, (x[te], y[te])


def make_model(flat):
    """The classifier with the flat parameters (weights, then biases)."""
    model = nn.Linear(N_FEATURES, N_CLASSES)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(flat[:N_FEATURES * N_CLASSES].reshape(
            N_CLASSES, N_FEATURES)))
        model.bias.copy_(torch.from_numpy(flat[N_FEATURES * N_CLASSES:]))
    return model


def flatten(model):
    with torch.no_grad():
        return np.concatenate([model.weight.numpy().ravel(),
                               model.bias.numpy()]).astype(np.float32)


def train_epoch(model, data, rank, rnd, args):
    """One epoch of SGD on the client's data, in place; a pure function of
    its arguments (fixed batch order, one thread), so the reference repeats
    it bit for bit."""
    x, y = data
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    order = np.random.RandomState(args.seed * 100003 + rank * 1009 + rnd).permutation(len(y))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for s in range(0, len(y), args.batch_size):
        idx = torch.from_numpy(order[s:s + args.batch_size])
        opt.zero_grad()
        nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
        opt.step()
    return model


def local_train(flat, data, rank, rnd, args):
    return flatten(train_epoch(make_model(flat), data, rank, rnd, args))


def accuracy(flat, test):
    x, y = test
    w = flat[:N_FEATURES * N_CLASSES].reshape(N_CLASSES, N_FEATURES)
    return float(((x @ w.T + flat[N_FEATURES * N_CLASSES:]).argmax(1) == y).mean())


def spec(text, what):
    """'R:X' -> (R, X) or None."""
    if not text:
        return None
    r, _, rest = text.partition(":")
    if not r.isdigit() or not rest:
        raise SystemExit("%s: expected R:..., got %r" % (what, text))
    return int(r), rest


def client(args):
    import daitn
    import daitn.torch as daitn_torch

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    torch.set_num_threads(1)
    shards, test = load_data(args.seed, world)
    data = shards[rank]
    slow, away = spec(args.slow, "--slow"), spec(args.away, "--away")
    factor = float(slow[1]) if slow and slow[0] == rank else 1.0
    away_from = away_to = -1
    if away and away[0] == rank:
        a, _, b = away[1].partition("-")
        away_from, away_to = int(a), int(b or a)
    ctx = daitn.Context(os.environ["DAITN_GATEWAY"], int(os.environ["DAITN_JOB"]), rank,
                        int(os.environ["DAITN_PORT"]), bind_addr=os.environ.get("DAITN_BIND"),
                        timeout_ms=args.timeout_ms, join_timeout_ms=60000)
    job = ctx.job
    if not job["fedavg"] or job["dtype"] != "float32":
        raise SystemExit("job %d is not a float32 federated average (\"mode\": \"fedavg\"; "
                         "the reference computes in float32)" % int(os.environ["DAITN_JOB"]))
    per = job["chunk_size"] // 4 - 1
    n_chunks = (N_PARAMS + per - 1) // per
    model = np.zeros(N_PARAMS, dtype=np.float32)
    records, t0 = [], time.perf_counter()
    while True:
        rnd = ctx.next_round()
        if rnd >= args.rounds:
            break
        if away_from <= rnd <= away_to:
            ctx.skip_rounds(away_to - rnd + 1)
            print("client %d: away for rounds %d-%d" % (rank, rnd, away_to), flush=True)
            continue
        time.sleep(args.compute_ms * factor / 1000.0)
        net = train_epoch(make_model(model), data, rank, rnd, args)
        try:
            daitn_torch.average_parameters(ctx, net.parameters(), weight=len(data[1]))
        except daitn.DaitnStaleError as e:
            records.append({"round": rnd, "ok": False})
            print("client %d: round %d closed without it (%s)" % (rank, rnd, e), flush=True)
            continue
        ranks = ([ctx.result_ranks(c) for c in range(n_chunks)] if job["partial"]
                 else [list(range(world))] * n_chunks)
        records.append({"round": rnd, "ok": True, "ranks": ranks})
        model = flatten(net)
    acc = accuracy(model, test)
    missed = args.rounds - sum(r["ok"] for r in records)
    print("client %d: %d samples, %d rounds, %d missed, test accuracy %.3f, %.1f s"
          % (rank, len(data[1]), args.rounds, missed, acc, time.perf_counter() - t0),
          flush=True)
    if args.out:
        with open(os.path.join(args.out, "client%d.json" % rank), "w") as f:
            json.dump({"rank": rank, "world": world, "samples": len(data[1]),
                       "per_chunk": per, "rounds": args.rounds, "records": records,
                       "final": model.view(np.uint32).tolist()}, f)
    ctx.close()


def reference(args):
    """Recompute the run in args.reference from its records; compare."""
    torch.set_num_threads(1)
    recs = {}
    for name in sorted(os.listdir(args.reference)):
        if name.startswith("client") and name.endswith(".json"):
            with open(os.path.join(args.reference, name)) as f:
                c = json.load(f)
            recs[c["rank"]] = c
    world = next(iter(recs.values()))["world"]
    if sorted(recs) != list(range(world)):
        raise SystemExit("reference: records of clients %s, want 0..%d" % (sorted(recs),
                                                                           world - 1))
    shards, test = load_data(args.seed, world)
    per, rounds = recs[0]["per_chunk"], recs[0]["rounds"]
    held = {r: np.zeros(N_PARAMS, dtype=np.float32) for r in range(world)}
    by_round = {r: {x["round"]: x for x in recs[r]["records"]} for r in range(world)}
    partial_rounds = 0
    for rnd in range(rounds):
        got = [r for r in range(world) if by_round[r].get(rnd, {}).get("ok")]
        if not got:
            continue
        maps = by_round[got[0]][rnd]["ranks"]
        if any(by_round[r][rnd]["ranks"] != maps for r in got):
            raise SystemExit("reference: round %d: the clients saw different ranks" % rnd)
        members = sorted({r for m in maps for r in m})
        partial_rounds += any(len(m) < world for m in maps)
        local = {r: local_train(held[r], shards[r], r, rnd, args) for r in members}
        new = np.empty(N_PARAMS, dtype=np.float32)
        for c, m in enumerate(maps):
            sl = slice(c * per, min((c + 1) * per, N_PARAMS))
            acc = accw = None
            for r in sorted(m):
                w = np.float32(len(shards[r][1]))
                p = w * local[r][sl]
                acc = p if acc is None else acc + p
                accw = w if accw is None else accw + w
            new[sl] = acc / accw
        for r in got:
            held[r] = new.copy()
    worst, bad = 0.0, 0
    for r in range(world):
        final = np.array(recs[r]["final"], dtype=np.uint32).view(np.float32)
        diff = float(np.max(np.abs(final - held[r])))
        same = np.array_equal(final.view(np.uint32), held[r].view(np.uint32))
        worst = max(worst, diff)
        ok = same if args.exact else diff <= 1e-5
        bad += not ok
        print("reference: client %d: %d of %d rounds, final model %s (largest difference "
              "%.3g), test accuracy %.3f" % (r, sum(x["ok"] for x in recs[r]["records"]),
                                             rounds, "bit-exact" if same else
                                             "differs" if not ok else "within 1e-5", diff,
                                             accuracy(held[r], test)))
    print("reference: %d rounds, %d of them partial; %d of %d clients match (largest "
          "difference %.3g)" % (rounds, partial_rounds, world - bad, world, worst))
    return 1 if bad else 0


def main():
    args = parse_args()
    if args.reference:
        sys.exit(reference(args))
    client(args)


if __name__ == "__main__":
    main()
