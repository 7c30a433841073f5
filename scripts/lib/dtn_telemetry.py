#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Query a DPDK process's telemetry socket (v2), as dpdk-telemetry.py does,
without its interactive loop: for scripts.

  dtn_telemetry.py --prefix PREFIX CMD [CMD...]     print each reply as JSON
  dtn_telemetry.py --prefix PREFIX --sum NAME CMD   print the sum of every
                                                   number under a key NAME
  dtn_telemetry.py --prefix PREFIX --wait SECONDS CMD
                                                   retry until the socket
                                                   answers CMD (exit 1 if not)

The socket is /var/run/dpdk/PREFIX/dpdk_telemetry.v2 (as root). Exit status:
0 ok, 1 no answer / error reply, 2 usage.
"""
import argparse
import json
import os
import socket
import sys
import time


def sock_path(prefix, runtime_dir=None):
    base = runtime_dir or ("/var/run/dpdk" if os.getuid() == 0 else
                           os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk"))
    return os.path.join(base, prefix, "dpdk_telemetry.v2")


def query(path, cmds, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    try:
        s.connect(path)
        info = json.loads(s.recv(16384).decode())
        size = int(info.get("max_output_len", 16384))
        out = []
        for c in cmds:
            s.send(c.encode())
            out.append(json.loads(s.recv(size + 64).decode()))
        return out
    finally:
        s.close()


def sum_key(obj, name):
    """Sum every number found under key name anywhere in obj."""
    total = 0
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == name and isinstance(v, (int, float)) and not isinstance(v, bool):
                total += v
            else:
                total += sum_key(v, name)
    elif isinstance(obj, list):
        for v in obj:
            total += sum_key(v, name)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prefix", required=True, help="the DPDK --file-prefix")
    ap.add_argument("--runtime-dir", help="default /var/run/dpdk")
    ap.add_argument("--sum", metavar="NAME", help="print the sum of numbers under key NAME")
    ap.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                    help="retry until an answer or this many seconds pass")
    ap.add_argument("cmds", nargs="+", metavar="CMD", help="telemetry command, e.g. /daitn/stats")
    a = ap.parse_args()
    path = sock_path(a.prefix, a.runtime_dir)
    deadline = time.monotonic() + a.wait
    while True:
        try:
            replies = query(path, a.cmds)
            break
        except (OSError, ValueError) as e:
            if time.monotonic() >= deadline:
                print(f"dtn_telemetry: {path}: {e}", file=sys.stderr)
                return 1
            time.sleep(0.2)
    rc = 0
    for c, r in zip(a.cmds, replies):
        # An unknown command or a handler error comes back as {CMD: null}.
        if not isinstance(r, dict) or r.get(c.split(",")[0]) is None:
            print(f"dtn_telemetry: {c}: no data (unknown command or handler error)", file=sys.stderr)
            rc = 1
        if a.sum:
            print(sum_key(r, a.sum))
        else:
            print(json.dumps(r))
    return rc


if __name__ == "__main__":
    sys.exit(main())
