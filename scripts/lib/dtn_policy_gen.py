#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generate a large, valid daitn policy for reload benchmarks and tests.

  dtn_policy_gen.py --jobs N --models M [--nodes K] [--version V]
                    [--variant I] [--bench-workers W] [--tenants T] OUT.json

Job 1 is the benchmark job: W workers (nodes b0.. at 10.8.1.0.., pinned to
the MACs 02:00:00:00:01:w the benchmark sends from), UDP port
47100, float32, 1 KiB chunks, 16 MiB of slot memory, as daitn-gw-reload-bench
sends it (W = 0 leaves it out). Jobs 2 .. N+1 are filler jobs of 4 workers
each (4 KiB of slot memory, one slot) on K filler nodes; models 1 .. M have
two stages of one replica and one requester. --variant I changes the slot
memory of filler job 2 + I % N, so two variants differ in one job (which a
reload restarts) and keep every other one. One job, node or model per line,
as an operator's file would look after a formatter. Tenants t0 .. t(T-1)
(default one, "default") share the filler jobs round-robin.
"""
import argparse
import json
import os
import sys


def ip(n):
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, required=True, help="filler jobs (besides job 1)")
    ap.add_argument("--models", type=int, default=0)
    ap.add_argument("--nodes", type=int, default=0, help="filler nodes (default: enough)")
    ap.add_argument("--version", type=int, default=1)
    ap.add_argument("--variant", type=int, default=0)
    ap.add_argument("--bench-workers", type=int, default=8)
    ap.add_argument("--tenants", type=int, default=0)
    ap.add_argument("out")
    a = ap.parse_args()
    if a.jobs < 0 or a.jobs > 65534 or a.models < 0 or a.models > 65535:
        sys.exit("dtn_policy_gen: --jobs 0..65534, --models 0..65535")
    k = a.nodes or max(8, min(4096, (a.jobs * 4 + a.models * 3) // 8 + 8))
    # The benchmark's nodes are pinned to the MACs its generator sends from.
    nodes = [{"id": f"b{w}", "ip": ip(0x0a080100 + w), "roles": ["worker"],
              "mac": f"02:00:00:00:01:{w:02x}"} for w in range(a.bench_workers)]
    # Filler nodes from 10.32.0.1 on (never .0 or .255 of a /24: tidier).
    base = 0x0a200000
    for i in range(k):
        nodes.append({"id": f"n{i}", "ip": ip(base + (i // 254) * 256 + i % 254 + 1),
                      "roles": ["worker", "stage", "requester"]})
    tenants = [f"t{i}" for i in range(a.tenants)]
    jobs = []
    if a.bench_workers:
        jobs.append({"id": 1, "dtype": "float32", "chunk_size": 1024, "slot_memory": "16MiB",
                     "workers": [{"node": f"b{w}", "port": 47100}
                                 for w in range(a.bench_workers)]})
        if tenants:
            jobs[0]["tenant"] = tenants[0]
    changed = 2 + a.variant % a.jobs if a.jobs else -1
    for j in range(a.jobs):
        jid = j + 2
        job = {"id": jid, "slot_memory": "8KiB" if jid == changed and a.variant % 2 else "4KiB",
               "workers": [{"node": f"n{(j * 4 + r) % k}", "port": 40000 + (j * 4 + r) // k}
                           for r in range(4)]}
        if tenants:
            job["tenant"] = tenants[j % len(tenants)]
        jobs.append(job)
    models = []
    for m in range(a.models):
        s0, s1, req = (m * 3) % k, (m * 3 + 1) % k, (m * 3 + 2) % k
        p0 = 20000 + (m * 3) // k * 2
        models.append({"id": m + 1, "stages": [
            {"replicas": [{"node": f"n{s0}", "port": p0}]},
            {"replicas": [{"node": f"n{s1}", "port": p0 + 1}]}],
            "requesters": [f"n{req}"]})
        if tenants:
            models[-1]["tenant"] = tenants[m % len(tenants)]
    out = ['{', f'  "version": {a.version},']
    if tenants:
        out.append('  "tenants": [')
        out.append(",\n".join(f'    {{"id": "{t}"}}' for t in tenants) + "],")
    out.append('  "nodes": [')
    out.append(",\n".join("    " + json.dumps(n) for n in nodes) + "],")
    out.append('  "jobs": [')
    out.append(",\n".join("    " + json.dumps(j) for j in jobs) + "],")
    out.append('  "models": [')
    out.append(",\n".join("    " + json.dumps(m) for m in models) + "]")
    out.append('}')
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
