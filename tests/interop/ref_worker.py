#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A reference worker for daitn protocol version 2, written from
docs/protocol.md alone (no libdaitn, no C header): it joins a float32 job,
runs allreduce rounds with the normative slot mapping and retransmits on
timeouts, and checks every element of every result.

Its inputs are daitn-worker's "exact" float32 pattern (a pure function of
seed, rank, round and element: every partial sum is exact in binary32), so
it can share a job with daitn-worker processes and every worker can verify
the sum of everyone's contributions.

    ref_worker.py --gateway IP[:PORT] --bind IP:PORT --job N --rank R
                  [--count ELEMS] [--rounds K] [--seed S] [--timeout-s T]

Exit 0 when every round is verified ("rank R: K rounds OK"), 1 on a wrong
element, 3 on a refusal or a timeout.
"""

import argparse
import os
import select
import socket
import struct
import sys
import time

import numpy as np

HDR = struct.Struct(">HBBHHHBBHII")      # section 2: 22 bytes, big-endian
JOB_INFO = struct.Struct(">HHHHBBBBII")  # HELLO_ACK payload, 20 bytes
WAIT = struct.Struct(">HH8H")            # HELLO_WAIT payload, 20 bytes
MAGIC, VERSION = 0xDA17, 2
GRAD, RESULT, HELLO, HELLO_ACK, ERROR, HELLO_WAIT, LEAVE = 1, 2, 3, 4, 5, 6, 7
F32 = 1
HELLO_PAD = 64                           # section 4: HELLO and LEAVE padding
SET_BIT = 0x8000
M64 = (1 << 64) - 1



def error_fields(data):
    """An ERROR's code and text: its payload is a prefix of 2 to 64 bytes of
    code, reserved, text (section 4: the answer to a GRAD is cut to the
    GRAD's payload size)."""
    if len(data) < HDR.size + 2:
        return 0, "(malformed ERROR)"
    code = struct.unpack_from(">H", data, HDR.size)[0]
    text = data[HDR.size + 4:HDR.size + 64].split(b"\0")[0]
    return code, text.decode(errors="replace")

def fail(code, msg):
    print("ref_worker: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(code)


# ---- daitn-worker's exact float32 pattern (client/daitn_worker_data.c) -------

def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def key(seed, rank, rnd, i):
    # type float32 is 0 in daitn-worker's enumeration
    return splitmix((splitmix(splitmix(seed ^ ((rank << 32) | rnd)) + i) & M64) ^ 0)


def exact_values(seed, rank, rnd, n, n_workers):
    """Rank's float32 inputs of round rnd (the call index)."""
    b = 1 << 20
    groups = (n_workers + b - 1) // b
    contributors = (n_workers + groups - 1) // groups
    a = b // contributors
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        e = key(seed, 0xFFFFFFFF, rnd, i) % 17 - 8
        v = 0 if (rank + i) % groups else key(seed, rank, rnd, i) % (2 * a + 1) - a
        out[i] = v * 2.0 ** e
    return out


# ---- the protocol ---------------------------------------------------------------

def hdr(t, job, rank, slot=0, dtype=0, count=0, offset=0, rnd=0):
    return HDR.pack(MAGIC, VERSION, t, job, rank, slot, dtype, 0, count, offset, rnd)


def parse(data):
    """The header of a well-formed message (section 3), or None."""
    if len(data) < HDR.size:
        return None
    h = HDR.unpack_from(data)
    if h[0] != MAGIC or h[1] != VERSION:
        return None
    return h


def join(sock, gw, job, rank, timeout_s):
    """HELLO until HELLO_ACK (section 6): the job's parameters."""
    nonce = int.from_bytes(os.urandom(4), "big")
    hello = hdr(HELLO, job, rank, rnd=nonce) + bytes(HELLO_PAD)
    deadline = time.monotonic() + timeout_s
    gap, waiting, next_send = 0.05, False, 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_send:
            sock.sendto(hello, gw)
            next_send = now + gap
            gap = 0.05 if waiting else min(gap * 2, 0.4)
        r, _, _ = select.select([sock], [], [], max(0.0, next_send - time.monotonic()))
        if not r:
            continue
        data, src = sock.recvfrom(65536)
        h = parse(data)
        if src[0] != gw[0] or h is None or h[3] != job or h[4] != rank or h[10] != nonce:
            continue
        if h[2] == HELLO_WAIT:
            waiting = True
        elif h[2] == ERROR:
            code, text = error_fields(data)
            fail(3, "rank %d: refused (code %d): %s" % (rank, code, text))
        elif h[2] == HELLO_ACK:
            return JOB_INFO.unpack_from(data, HDR.size)
    sock.sendto(hdr(LEAVE, job, rank, rnd=nonce) + bytes(HELLO_PAD), gw)
    fail(3, "rank %d: no run within %.0f s" % (rank, timeout_s))


def allreduce(sock, gw_ip, job, rank, info, state, rnd, x, timeout_s):
    """One call (section 5): chunk k on slot k mod n_slots, sets alternating
    per slot across calls, retransmission on timeout. Returns the sum."""
    n_workers, chunk_size, n_slots, port_base, n_shards = info[:5]
    elems = chunk_size // 4
    n = len(x)
    payload = x.astype("<f4").tobytes()
    n_chunks = (n + elems - 1) // elems
    out = np.empty(n, dtype="<f4")
    outstanding = {}            # slot -> (set bit, offset, count, deadline, rto)
    k = done = 0
    last_progress = time.monotonic()

    def send(slot, setbit, off, cnt):
        data = hdr(GRAD, job, rank, slot | setbit, F32, cnt, off, rnd) + \
            payload[off * 4:(off + cnt) * 4]
        sock.sendto(data, (gw_ip, port_base + slot % n_shards))

    while done < n_chunks:
        # Chunks in order; chunk k waits for its slot.
        while k < n_chunks and (k % n_slots) not in outstanding:
            slot, off = k % n_slots, k * elems
            cnt = min(elems, n - off)
            setbit = state[slot]
            state[slot] ^= SET_BIT
            send(slot, setbit, off, cnt)
            outstanding[slot] = (setbit, off, cnt, time.monotonic() + 0.02, 0.02)
            k += 1
        now = time.monotonic()
        if now - last_progress > timeout_s:
            fail(3, "rank %d: round %d: no result for %.0f s" % (rank, rnd, timeout_s))
        for slot, (setbit, off, cnt, dl, rto) in list(outstanding.items()):
            if now >= dl:
                send(slot, setbit, off, cnt)
                rto = min(rto * 2, 0.25)
                outstanding[slot] = (setbit, off, cnt, now + rto, rto)
        wait = min(v[3] for v in outstanding.values()) - time.monotonic()
        r, _, _ = select.select([sock], [], [], max(0.0, wait))
        if not r:
            continue
        data, src = sock.recvfrom(65536)
        h = parse(data)
        # Only the gateway's shard ports answer; only our job, rank, round.
        if src[0] != gw_ip or not port_base <= src[1] < port_base + n_shards or h is None:
            continue
        if h[2] == ERROR and h[3] == job and h[4] == rank and h[10] == rnd:
            code, text = error_fields(data)
            fail(3, "rank %d: round %d: ERROR %d: %s" % (rank, rnd, code, text))
        if h[2] != RESULT or h[3] != job or h[4] != rank or h[6] != F32 or h[10] != rnd:
            continue
        slot, setbit = h[5] & 0x7FFF, h[5] & SET_BIT
        o = outstanding.get(slot)
        if o is None or o[0] != setbit or o[1] != h[9] or o[2] != h[8] or \
                len(data) != HDR.size + 4 * h[8]:
            continue            # stale or not ours
        out[h[9]:h[9] + h[8]] = np.frombuffer(data, "<f4", h[8], HDR.size)
        del outstanding[slot]
        done += 1
        last_progress = time.monotonic()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--bind", required=True)
    ap.add_argument("--job", type=int, required=True)
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--count", type=int, default=4099)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout-s", type=float, default=60.0)
    a = ap.parse_args()
    gw_ip, _, gw_port = a.gateway.partition(":")
    bind_ip, _, bind_port = a.bind.partition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind_ip, int(bind_port)))
    info = join(sock, (gw_ip, int(gw_port or 47000)), a.job, a.rank, a.timeout_s)
    n_workers, dtype, round_base = info[0], info[5], info[9]
    if dtype != F32:
        fail(3, "job %d is not float32 (dtype %d)" % (a.job, dtype))
    state = [0] * info[2]       # per slot: the set bit of its next use
    for c in range(a.rounds):
        x = exact_values(a.seed, a.rank, c, a.count, n_workers)
        got = allreduce(sock, gw_ip, a.job, a.rank, info, state, (round_base + c) & 0xFFFFFFFF,
                        x, a.timeout_s)
        want = sum(exact_values(a.seed, r, c, a.count, n_workers) for r in range(n_workers))
        bad = np.nonzero(got.astype(np.float64) != want)[0]
        if len(bad):
            i = bad[0]
            fail(1, "rank %d: round %d: MISMATCH at index %d: expected %r, got %r (%d of %d "
                 "elements wrong)" % (a.rank, c, i, want[i], float(got[i]), len(bad), a.count))
    print("ref_worker: rank %d: %d rounds OK" % (a.rank, a.rounds), flush=True)


if __name__ == "__main__":
    main()
