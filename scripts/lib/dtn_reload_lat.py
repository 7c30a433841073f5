#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Reload latency of a running daitn-gw, from the file change until every
data lcore runs the new version (scripts/bench-reload.sh).

  dtn_reload_lat.py --prefix PREFIX --policy PATH --count K VARIANT_A VARIANT_B

Puts the variants in place in turn, as an editor or a deployment tool does
(write a temporary file in the same folder, rename it over the policy),
taking CLOCK_MONOTONIC just before the rename. One telemetry connection,
polled every 0.5 ms, waits for /daitn/last_reload to show the reload; the
gateway stamps that status with the CLOCK_MONOTONIC time at which its last
lcore switched (done_mono_ns), so the latency is that minus the rename time:
inotify, the quiet period, read, parse, build, publish and the lcores'
switch, all of it. Prints one line of figures; exit 1 if a reload failed.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import time


def connect(prefix):
    path = os.path.join("/var/run/dpdk" if os.getuid() == 0 else
                        os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk"),
                        prefix, "dpdk_telemetry.v2")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    info = json.loads(s.recv(1024).decode())
    return s, int(info.get("max_output_len", 16384))


def query(s, size, cmd):
    s.send(cmd.encode())
    return json.loads(s.recv(size + 64).decode())[cmd]


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--count", type=int, default=15)
    ap.add_argument("variants", nargs=2)
    a = ap.parse_args()
    s, size = connect(a.prefix)
    seq = query(s, size, "/daitn/last_reload")["seq"]
    lat, own, parse, apply_, kept = [], [], [], [], []
    tmp = a.policy + ".new"
    for i in range(a.count):
        shutil.copyfile(a.variants[(i + 1) % 2], tmp)
        time.sleep(0.2)                 # let the previous reload's clean-up pass
        t0 = time.monotonic_ns()
        os.rename(tmp, a.policy)
        deadline = time.monotonic() + 10
        while True:
            r = query(s, size, "/daitn/last_reload")
            if r["seq"] > seq:
                break
            if time.monotonic() > deadline:
                sys.exit(f"dtn_reload_lat: no reload within 10 s of renaming {a.policy}")
            time.sleep(0.0005)
        seq = r["seq"]
        if r["result"] != "ok" or r["trigger"] != "file_change":
            sys.exit(f"dtn_reload_lat: reload {r['trigger']} -> {r['result']}: {r['message']}")
        lat.append((r["done_mono_ns"] - t0) / 1e6)
        own.append(r["total_us"] / 1e3)
        parse.append((r["read_us"] + r["parse_us"]) / 1e3)
        apply_.append(r["apply_us"] / 1e3)
        kept.append(r["jobs_kept"])
    print(f"median {statistics.median(lat):7.1f} ms  p90 {pct(lat, 0.9):7.1f}  max {max(lat):7.1f}"
          f"  | gateway's own (event->lcores) median {statistics.median(own):6.1f}"
          f"  read+parse {statistics.median(parse):6.1f}  build+publish+switch "
          f"{statistics.median(apply_):5.1f}  | jobs kept {min(kept)}  ({a.count} reloads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
