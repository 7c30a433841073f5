#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The DDP hook without per-bucket agreements (issue 11, item 6): three
ranks (processes, a TCP rendezvous, so the peer watch carries aborts) and a
stand-in gateway (wire_peer.SumPeer, which sums the three ranks' float32
chunks and can withhold RESULTs from chosen ranks), with the real libdaitn.

  clean      6 buckets through daitn: the open's agreement is the only one
             (before: one gloo agreement per bucket).
  ahead      rank 1 misses bucket 3's RESULTs; ranks 0 and 2 have bucket 3
             and wait in bucket 4. Rank 1 gives up (its timeout), the watch
             stops the others, rank 1 takes bucket 3 from rank 0's copy,
             bucket 4 on goes through gloo.
  idle       as ahead, but ranks 0 and 2 wait in a gloo barrier on the
             default group (as DDP's next forward would) instead of bucket
             4: their idle hook threads must hand rank 1 the result.
  split      in bucket 3 rank 0 gets only chunks 0 and 1, ranks 1 and 2 only
             chunks 2 and 3: nobody finishes it; each chunk's sum comes from
             a rank that has it.
Every bucket on every rank must be exactly the average of the three ranks'
data, and every rank must fall back once naming rank 1's failure.
Exit 0 pass, 1 fail, 77 skipped (torch or libdaitn.so missing).
"""

import json
import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, HERE)

try:
    import torch  # noqa: E402
    import torch.distributed as dist  # noqa: E402
except ImportError:
    print("SKIP: torch does not import under %s (apt-get install python3-torch)" % sys.executable)
    sys.exit(77)

import daitn  # noqa: E402

try:
    daitn.load_library()
except daitn.LibraryNotFound as e:
    print("SKIP: %s" % e)
    sys.exit(77)

N = 3
BUCKETS = 6
ELEMS = 1000            # 4 chunks of 256 float32 (SumPeer's 1024-byte chunks)
MISSED = 3              # the bucket rank 1 misses (round 1000 + MISSED - 1)
SCENARIOS = ("clean", "ahead", "idle", "split")


def data(rank, bucket):
    # Small multiples of 1/4: every sum is exact, in any order.
    return torch.arange(ELEMS, dtype=torch.float32) * 0.25 + rank * 3 + bucket


def expected(bucket):
    return sum(data(r, bucket) for r in range(N)) / N


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child(rank, store_port, ports):
    import daitn.torch as dhook
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % store_port,
                            rank=rank, world_size=N)
    out = {}
    for name in SCENARIOS:
        st = dhook.DaitnHookState(
            gateway="127.0.0.1:%d" % ports[name], job=1, bind_addr="127.0.0.1",
            bind_port=free_port(), hello_timeout_ms=10000, reprobe_ms=0,
            # Rank 1 gives up first; the others would wait 60 s alone.
            timeout_ms=500 if rank == 1 else 60000)
        assert st.mode == "daitn" and st.lazy, (st.mode, st.fallback_reason)
        results = []
        for b in range(1, BUCKETS + 1):
            results.append(st.submit(data(rank, b)).wait())
            if name == "idle" and b == MISSED:
                dist.barrier()      # ranks 0 and 2 idle here until rank 1 is settled
        ok = [bool(torch.equal(results[b - 1], expected(b))) for b in range(1, BUCKETS + 1)]
        out[name] = dict(ok=ok, mode=st.mode, reason=st.fallback_reason,
                         agreements=st.stats["agreements"], settlements=st.stats["settlements"],
                         daitn=st.stats["buckets_daitn"], gloo=st.stats["buckets_gloo"])
        st.shutdown()
        dist.barrier()
    print("RESULT " + json.dumps(out), flush=True)
    dist.destroy_process_group()


def main():
    from wire_peer import SumPeer
    peers = {name: SumPeer(N) for name in SCENARIOS}
    late = 1000 + MISSED - 1
    peers["ahead"].drop = lambda rank, rnd, off: rank == 1 and rnd == late
    peers["idle"].drop = peers["ahead"].drop
    peers["split"].drop = lambda rank, rnd, off: rnd == late and (off >= 512) == (rank == 0)
    ports = {name: p.port for name, p in peers.items()}
    store = free_port(socket.SOCK_STREAM)
    procs = [subprocess.Popen([sys.executable, __file__, "--child", str(r), str(store),
                               json.dumps(ports)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for r in range(N)]
    logs = []
    for p in procs:
        try:
            text, _ = p.communicate(timeout=100)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            text = (p.communicate()[0] or "") + "\n(killed after 100 s)"
        logs.append(text)
    for p in peers.values():
        p.close()
    res = []
    for r, text in enumerate(logs):
        line = [x for x in text.splitlines() if x.startswith("RESULT ")]
        if procs[r].returncode != 0 or not line:
            print("FAIL: rank %d exited %s\n%s" % (r, procs[r].returncode, text))
            return 1
        res.append(json.loads(line[-1][7:]))
    failed = 0

    def check(cond, what):
        nonlocal failed
        print("%s %s" % ("PASS" if cond else "FAIL", what))
        failed += not cond

    for name in SCENARIOS:
        rows = [res[r][name] for r in range(N)]
        check(all(all(x["ok"]) for x in rows),
              "%s: every bucket of every rank is the exact average (%s)"
              % (name, [x["ok"] for x in rows]))
        check(all(x["agreements"] == 1 for x in rows),
              "%s: one agreement per rank, the open's (%s)"
              % (name, [x["agreements"] for x in rows]))
        if name == "clean":
            check(all(x["mode"] == "daitn" and x["daitn"] == BUCKETS and x["settlements"] == 0
                      for x in rows), "clean: every bucket through daitn, nothing settled")
            continue
        check(all(x["mode"] == "gloo" and x["settlements"] == 1 for x in rows),
              "%s: every rank settled once and fell back (%s)"
              % (name, [(x["mode"], x["settlements"]) for x in rows]))
        check(all("rank(s) 1 " in (x["reason"] or "") or "this rank: " in (x["reason"] or "")
                  for x in rows) and "ETIMEDOUT" in (rows[1]["reason"] or ""),
              "%s: the reason names rank 1's timeout: %s" % (name, rows[0]["reason"]))
        # Buckets 1..MISSED-1 through daitn everywhere; MISSED through daitn
        # (the gateway's sum, from a rank's copy or chunk by chunk).
        want_from_copy = name != "split"
        check(all(("copy of its result" in (x["reason"] or "")) == want_from_copy for x in rows),
              "%s: bucket %d settled %s" % (name, MISSED, "from rank 0's copy" if want_from_copy
                                            else "chunk by chunk"))
    for r in range(N):
        print("rank %d: %s" % (r, res[r]["ahead"]["reason"]))
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
