#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Send hand-made daitn messages from a kernel UDP socket (for the admission test).

  dtn_craft.py --src IP:PORT --dst IP:PORT --job J --ranks R[,R...] [--type grad|hello]
               [--dtype 1..4] [--count ELEMS] [--value V] [--n PACKETS]
               [--slots S] [--rounds K] [--pps RATE] [--max-seconds T] [--expect-error]
               [--join]

GRAD messages carry COUNT elements of VALUE (float32 1e6 by default: a sum that
took one in would be visibly wrong). Packet i uses rank ranks[i % len], slot
i % S, set bit (i // S) % 2, round (i // 2S) % K and offset slot * COUNT, so a
flood covers every slot and set the real workers use. Sending is paced at
--pps and bounded by --n and --max-seconds. With --expect-error (HELLO), it
resends the HELLO every 0.2 s until the gateway's ERROR reply comes (at most
30 s) and prints "error CODE TEXT"; exit 1 if none came. With --join (GRAD,
one rank: the job's only worker), it first joins the job (HELLO until
HELLO_ACK, at most 10 s; exit 1 without one) and counts rounds from the run's
round_base, as a worker would. Prints "sent N".
"""
import argparse
import socket
import struct
import sys
import time

MAGIC, VERSION = 0xDA17, 2
GRAD, HELLO, HELLO_ACK, ERROR = 1, 3, 4, 5
HELLO_PAD = 64                           # HELLO's zero padding (docs/protocol.md)
HDR = struct.Struct(">HBBHHHBBHII")   # docs/protocol.md: 22 bytes, big-endian


def addr(s):
    ip, port = s.rsplit(":", 1)
    return ip, int(port)


def join(s, a, rank):
    """HELLO until HELLO_ACK: the run's round_base, or None. Prints
    "hellos N" (they are charged to the job's tenant too)."""
    nonce = int(time.monotonic() * 1000) & 0xFFFFFFFF
    hello = HDR.pack(MAGIC, VERSION, HELLO, a.job, rank, 0, 0, 0, 0, 0, nonce) + bytes(HELLO_PAD)
    s.settimeout(0.2)
    deadline = time.monotonic() + 10
    n = 0
    try:
        while time.monotonic() < deadline:
            s.sendto(hello, a.dst)
            n += 1
            try:
                data, _ = s.recvfrom(2048)
            except socket.timeout:
                continue
            if len(data) >= HDR.size + 20:
                f = HDR.unpack_from(data)
                if f[0] == MAGIC and f[2] == HELLO_ACK and f[10] == nonce:
                    print("hellos", n, flush=True)
                    return struct.unpack_from(">I", data, HDR.size + 16)[0]
        return None
    finally:
        s.settimeout(None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", type=addr, required=True)
    ap.add_argument("--dst", type=addr, required=True)
    ap.add_argument("--job", type=int, required=True)
    ap.add_argument("--ranks", required=True)
    ap.add_argument("--type", choices=["grad", "hello"], default="grad")
    ap.add_argument("--dtype", type=int, default=1)
    ap.add_argument("--count", type=int, default=256)
    ap.add_argument("--value", type=float, default=1e6)
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--slots", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--pps", type=float, default=5000)
    ap.add_argument("--max-seconds", type=float, default=10)
    ap.add_argument("--expect-error", action="store_true")
    ap.add_argument("--join", action="store_true")
    a = ap.parse_args()
    ranks = [int(r) for r in a.ranks.split(",")]

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(a.src)
    if a.dtype == 2:
        payload = struct.pack("<%di" % a.count, *([int(a.value)] * a.count))
    elif a.dtype == 1:
        payload = struct.pack("<%df" % a.count, *([a.value] * a.count))
    else:   # 16-bit types: the bit pattern of 1024.0 in bfloat16 / float16
        payload = struct.pack("<%dH" % a.count, *([0x4480 if a.dtype == 3 else 0x6400] * a.count))

    base = 0
    if a.join:
        base = join(s, a, ranks[0])
        if base is None:
            print("no HELLO_ACK within 10 s", file=sys.stderr)
            return 1

    t0 = time.monotonic()
    sent = 0
    for i in range(a.n):
        if time.monotonic() - t0 > a.max_seconds:
            break
        slot = i % a.slots
        slot_field = slot | (0x8000 if (i // a.slots) % 2 else 0)
        rnd = (base + (i // (2 * a.slots)) % a.rounds) & 0xFFFFFFFF
        if a.type == "grad":
            hdr = HDR.pack(MAGIC, VERSION, GRAD, a.job, ranks[i % len(ranks)], slot_field,
                           a.dtype, 0, a.count, slot * a.count, rnd)
            s.sendto(hdr + payload, a.dst)
        else:
            hdr = HDR.pack(MAGIC, VERSION, HELLO, a.job, ranks[i % len(ranks)], 0,
                           a.dtype, 0, 0, 0, 0) + bytes(HELLO_PAD)
            s.sendto(hdr, a.dst)
        sent += 1
        # Pace: sleep off whatever we are ahead of the schedule.
        ahead = sent / a.pps - (time.monotonic() - t0)
        if ahead > 0.001:
            time.sleep(ahead)
    print("sent", sent, flush=True)

    if a.expect_error:
        # Resend the HELLO until it is answered: a lost datagram is not a
        # refusal. The bound only catches a gateway that never answers.
        s.settimeout(0.2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                data, _ = s.recvfrom(2048)
            except socket.timeout:
                if a.type == "hello":
                    s.sendto(hdr, a.dst)
                continue
            if len(data) >= HDR.size + 4:
                f = HDR.unpack_from(data)
                if f[0] == MAGIC and f[2] == ERROR:
                    code = struct.unpack_from(">H", data, HDR.size)[0]
                    text = data[HDR.size + 4:].split(b"\0")[0].decode(errors="replace")
                    print("error", code, text)
                    return 0
        print("no ERROR reply within 30 s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
