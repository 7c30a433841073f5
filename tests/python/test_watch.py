#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Unit test of the hook's watch on peer processes (python/daitn/torch.py,
_PeerWatch), two ranks on 127.0.0.1 with a TCP rendezvous, no gateway.

While the watch forms, a stranger that reaches rank 0's watch port but not
the rendezvous store connects, claims to be rank 1 with a wrong token, and
hangs up: rank 0 must close on it, not take rank 1 for gone, and still take
the real rank 1. A member that rank 0 refuses must know it is not in the
watch (rather than read rank 0 as gone), and the real rank 1 that it is.
Rank 1 gives up on a bucket (an abort): rank 0 must hear it with its
session and bucket. Then rank 1's process is killed: rank 0 must
see it gone (bounded wait, not a sleep). Exit 0 pass, 1 fail, 77 skipped (no torch).
"""

import os
import signal
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

try:
    import torch.distributed as dist
    import torch.multiprocessing as mp
except ImportError:
    print("SKIP: torch does not import under %s (apt-get install python3-torch)" % sys.executable)
    sys.exit(77)

import daitn.torch as dhook  # noqa: E402

BOUND_S = 60   # only bounds a hang


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank1(port):
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=1,
                            world_size=2)
    dist.distributed_c10d._get_default_store().get("go")   # after the stranger
    watch = dhook._PeerWatch(1, 2, "daitn/watch/t", lambda r: None, lambda s, b: None)
    dist.distributed_c10d._get_default_store().set("r1ok", str(watch.ok))
    dist.barrier()
    watch.abort(5, 3)
    time.sleep(BOUND_S)           # killed by rank 0 long before


def main():
    port = free_port()
    ctx = mp.get_context("spawn")
    child = ctx.Process(target=rank1, args=(port,), daemon=True)
    child.start()
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=0,
                            world_size=2)
    seen, aborts, heard = [], [], threading.Event()
    store = dist.distributed_c10d._get_default_store()
    watch = dhook._PeerWatch(0, 2, "daitn/watch/t", seen.append,
                             lambda s, b: (aborts.append((s, b)), heard.set()))
    host, wport, token = store.get("daitn/watch/t").decode().rsplit(":", 2)
    failed = 0
    # The stranger: a wrong token, rank 1, then gone.
    with socket.create_connection((host, int(wport)), timeout=5) as s:
        s.sendall(bytes(16) + struct.pack("!H", 1))
        s.settimeout(5)
        if s.recv(1) != b"":      # the hub closes on it
            print("FAIL: the hub kept a connection with a wrong token")
            failed += 1
    # A member the hub refuses (here: a wrong token in its store key) must
    # know it is not in the watch, not read the closed connection as rank 0
    # gone: ok False, and no thread that could mark anyone gone.
    store.set("daitn/watch/bad", "%s:%s:%s" % (host, wport, "00" * 16))
    refused = dhook._PeerWatch(1, 2, "daitn/watch/bad", lambda r: None, lambda s, b: None)
    if refused.ok or refused.gone:
        print("FAIL: a member the hub refused is in the watch (ok %s, gone %s)"
              % (refused.ok, refused.gone))
        failed += 1
    else:
        print("PASS a member the hub refused knows it is not in the watch")
    store.set("go", "1")
    dist.barrier()                # rank 1 has joined the watch
    if store.get("r1ok") != b"True":
        print("FAIL: rank 1 is not in the watch (ok %s)" % store.get("r1ok").decode())
        failed += 1
    # Rank 1's join is accepted when the hub's listening socket closes.
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(wport)), timeout=1).close()
        except OSError:
            break
        time.sleep(0.05)
    if watch.news.is_set():
        print("FAIL: a stranger with a wrong token made rank 1 gone: %s" % watch.gone)
        failed += 1
    else:
        print("PASS a stranger cannot pose as a rank and hang up")
    if not heard.wait(BOUND_S) or aborts != [(5, 3)]:
        print("FAIL: rank 1's abort was not heard as (5, 3): %s" % aborts)
        failed += 1
    else:
        print("PASS rank 1's abort reached rank 0: session 5, bucket 3")
    os.kill(child.pid, signal.SIGKILL)
    if not watch.news.wait(BOUND_S) or seen != [1]:
        print("FAIL: rank 1 was killed but not seen gone (%s)" % watch.gone)
        failed += 1
    else:
        print("PASS a killed rank is seen gone: %s" % watch.gone[1])
    child.join(5)
    print("%d/4 passed" % (4 - failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
