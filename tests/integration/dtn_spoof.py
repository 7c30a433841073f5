#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Forge daitn frames on a raw socket, as a hostile host on the segment would.

  dtn_spoof.py --iface IF --src-mac MAC --dst-mac MAC --src IP:PORT --dst IP:PORT
               --type grad|hello|result|error|beat [--job J] [--rank R] [--count ELEMS]
               [--value V] [--slots S] [--rounds K] [--first-round F] [--chunk ELEMS]
               [--tag] [--n PACKETS] [--pps RATE] [--max-seconds T]

Every field of the frame is the caller's: source MAC, IPv4 address and UDP
port included (AF_PACKET, so nothing of the host's own addresses is used).
GRAD and RESULT carry COUNT float32 elements of VALUE (a sum that took one in
is visibly wrong). Packet i uses slot i % S, set bit (i // S) % 2, round
F + (i // 2S) % K and offset slot * CHUNK, so a flood covers every slot, set
and round a real run of K rounds uses. HELLO carries nonce F + i. ERROR is
code 5 (run_ended). BEAT (an inference stage node's heartbeat) is for model
J, stage R. --tag sets the AUTH flag with 8 random bytes where the tag
goes (a forger without the key can do no better). Sending is paced at --pps
and bounded by --n and --max-seconds. Prints "sent N".
"""
import argparse
import os
import socket
import struct
import sys
import time

MAGIC, VERSION = 0xDA17, 2
GRAD, RESULT, HELLO, ERROR = 1, 2, 3, 5
FLAG_AUTH = 0x10
HELLO_PAD = 64
HDR = struct.Struct(">HBBHHHBBHII")   # docs/protocol.md: 22 bytes, big-endian
INFER_HDR = struct.Struct(">HBBHBBIHBBIH")  # section 8.2: 22 bytes
INFER_VERSION, BEAT = 2, 19


def addr(s):
    ip, port = s.rsplit(":", 1)
    return socket.inet_aton(ip), int(port)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(a, udp_payload):
    udp = struct.pack("!HHHH", a.src[1], a.dst[1], 8 + len(udp_payload), 0) + udp_payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     a.src[0], a.dst[0])
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return a.dst_mac + a.src_mac + b"\x08\x00" + ip + udp


def message(a, i):
    flags = FLAG_AUTH if a.tag else 0
    tag = os.urandom(8) if a.tag else b""
    slot = i % a.slots
    slot_field = slot | (0x8000 if (i // a.slots) % 2 else 0)
    rnd = (a.first_round + (i // (2 * a.slots)) % a.rounds) & 0xFFFFFFFF
    if a.type in ("grad", "result"):
        t = GRAD if a.type == "grad" else RESULT
        payload = struct.pack("<%df" % a.count, *([a.value] * a.count))
        return HDR.pack(MAGIC, VERSION, t, a.job, a.rank, slot_field, 1, flags, a.count,
                        slot * a.chunk, rnd) + tag + payload
    if a.type == "beat":
        # A fresh time where a keyed model's BEAT carries it (ms, low 32 bits).
        now_ms = int(time.time() * 1000 + i) & 0xFFFFFFFF
        return INFER_HDR.pack(MAGIC, INFER_VERSION, BEAT, a.job, a.rank, flags, now_ms, 0, 0, 1,
                              0, 0) + tag
    if a.type == "hello":
        return HDR.pack(MAGIC, VERSION, HELLO, a.job, a.rank, 0, 0, flags, 0, 0,
                        (a.first_round + i) & 0xFFFFFFFF) + tag + bytes(HELLO_PAD)
    text = b"forged".ljust(60, b"\0")
    return HDR.pack(MAGIC, VERSION, ERROR, a.job, a.rank, 0, 0, flags, 0, 0, rnd) + tag + \
        struct.pack(">HH", 5, 0) + text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--src-mac", type=mac, required=True)
    ap.add_argument("--dst-mac", type=mac, required=True)
    ap.add_argument("--src", type=addr, required=True)
    ap.add_argument("--dst", type=addr, required=True)
    ap.add_argument("--type", choices=["grad", "hello", "result", "error", "beat"],
                    default="grad")
    ap.add_argument("--job", type=int, default=1)
    ap.add_argument("--rank", type=int, default=0)
    ap.add_argument("--count", type=int, default=256)
    ap.add_argument("--chunk", type=int, default=256, help="elements per chunk (offsets)")
    ap.add_argument("--value", type=float, default=1e6)
    ap.add_argument("--slots", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--first-round", type=int, default=0)
    ap.add_argument("--tag", action="store_true")
    ap.add_argument("--n", type=int, default=1)
    ap.add_argument("--pps", type=float, default=2000)
    ap.add_argument("--max-seconds", type=float, default=10)
    a = ap.parse_args()

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    t0 = time.monotonic()
    sent = 0
    for i in range(a.n):
        if time.monotonic() - t0 > a.max_seconds:
            break
        s.send(frame(a, message(a, i)))
        sent += 1
        ahead = sent / a.pps - (time.monotonic() - t0)
        if ahead > 0.001:
            time.sleep(ahead)
    print("sent", sent, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
