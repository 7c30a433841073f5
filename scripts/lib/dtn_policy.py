#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Print what a script needs to know about one job of a daitn policy.

  dtn_policy.py POLICY.json [JOB_ID]

Output (shell-friendly, one record per line):
  job ID DTYPE N_WORKERS CHUNK_SIZE
  worker RANK IP PORT            (one line per rank, in rank order)

JOB_ID defaults to the first job. Worker addresses are resolved through the
policy's nodes when a worker names a node. The gateway is the authority on what
a policy means (daitnctl validate checks it); this only reads the fields the
test scripts need to start the right workers in the right namespaces.
"""
import json
import sys


def fail(msg):
    print(f"dtn_policy: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: dtn_policy.py POLICY.json [JOB_ID]")
    path = sys.argv[1]
    try:
        with open(path) as f:
            pol = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")
    nodes = {n.get("id"): n for n in pol.get("nodes", []) if isinstance(n, dict)}
    jobs = pol.get("jobs", [])
    if not jobs:
        fail(f"{path}: /jobs: no jobs")
    if len(sys.argv) == 3:
        want = int(sys.argv[2])
        sel = [j for j in jobs if j.get("id") == want]
        if not sel:
            fail(f"{path}: no job with id {want} (ids: {[j.get('id') for j in jobs]})")
        job = sel[0]
    else:
        job = jobs[0]
    workers = job.get("workers", [])
    print("job", job.get("id"), job.get("dtype", "float32"), len(workers),
          job.get("chunk_size", 1024))
    for i, w in enumerate(workers):
        if isinstance(w, str):          # a bare node id
            w = {"node": w}
        rank = w.get("rank", i)
        ip = w.get("ip")
        if ip is None and "node" in w:
            node = nodes.get(w["node"])
            if node is None:
                fail(f"{path}: job {job.get('id')}: worker {i}: unknown node {w['node']!r}")
            ip = node.get("ip")
        port = w.get("port", (nodes.get(w.get("node"), {}) or {}).get("port"))
        if ip is None or port is None:
            fail(f"{path}: job {job.get('id')}: worker {i}: no ip/port ({w})")
        print("worker", rank, ip, port)


if __name__ == "__main__":
    main()
