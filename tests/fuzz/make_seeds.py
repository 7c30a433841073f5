#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the binary seed corpora of tests/fuzz (run from anywhere; the files
are committed, this script says how they were made). Every seed is a valid
message or frame of protocol version 2 (docs/protocol.md), so that the
fuzzers start past the magic and version checks:

  corpus/proto      one UDP payload per file: GRAD (each dtype), RESULT,
                    HELLO, HELLO_ACK, ERROR, HELLO_WAIT, LEAVE, inference ACT,
                    BEAT and ERROR
  corpus/client_rx  fuzz_client_rx inputs: datagram lists as the gateway
                    would answer a worker (RESULTs for outstanding chunks, a
                    stale one, an ERROR run_ended, a HELLO_ACK)
  corpus/gw_frame   fuzz_gw_frame inputs: queue byte + Ethernet frame (a
                    GRAD for each job, HELLO, LEAVE, ARP request, ICMP echo,
                    inference BEAT; for the tree leaf, its parent's RESULTs,
                    HELLO_ACK, HELLO_WAIT, ERRORs and WAITING, a worker's
                    retransmission and HELLO; a HELLO with a floor)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
HDR = struct.Struct(">HBBHHHBBHII")
MAGIC, V = 0xDA17, 2
GRAD, RESULT, HELLO, ACK, ERROR, WAIT, LEAVE = 1, 2, 3, 4, 5, 6, 7
ESIZE = {1: 4, 2: 4, 3: 2, 4: 2}
PAD = 64                                 # HELLO and LEAVE padding


def hdr(t, job=1, rank=0, slot=0, dtype=0, count=0, offset=0, rnd=0, flags=0):
    return HDR.pack(MAGIC, V, t, job, rank, slot, dtype, flags, count, offset, rnd)


def grad(job, rank, slot, dtype, count, offset, rnd, t=GRAD):
    return hdr(t, job, rank, slot, dtype, count, offset, rnd) + bytes(
        (i * 7 + rank) & 0xff for i in range(count * ESIZE[dtype]))


def infer(t, model=7, stage=0, session=1, request=1, frag=0, n_frags=1, payload=b""):
    return struct.pack(">HBBHBBIHBBIH", MAGIC, V, t, model, stage, 0, session, request,
                       frag, n_frags, 0, 0) + payload


PROTO = {
    "grad_f32": grad(1, 0, 5, 1, 16, 0, 100),
    "grad_i32": grad(2, 1, 0x8003, 2, 8, 256, 7),
    "grad_bf16": grad(3, 2, 1, 3, 32, 0, 1),
    "grad_f16": grad(4, 3, 2, 4, 32, 512, 2),
    "result_f32": grad(1, 0, 5, 1, 16, 0, 100, RESULT),
    "hello": hdr(HELLO, 1, 2, rnd=0x12345678) + bytes(PAD),
    "leave": hdr(LEAVE, 1, 2, rnd=0x12345678) + bytes(PAD),
    "hello_ack": hdr(ACK, 1, 2, dtype=1, rnd=9) + struct.pack(">HHHHBBBBII", 4, 1024, 128,
                                                               47000, 2, 1, 0, 0, 7, 1000),
    "error": hdr(ERROR, 1, 2, rnd=9) + struct.pack(">HH60s", 5, 0, b"job 1: no run on"),
    "hello_wait": hdr(WAIT, 1, 2, dtype=1, rnd=9) + struct.pack(">HH8H", 4, 2, 1, 3,
                                                                 *[0xffff] * 6),
    "infer_act": infer(16, payload=bytes(64)),
    "infer_beat": infer(19),
    "infer_error": infer(18) + struct.pack(">HHB3s56s", 1, 7, 0, b"", b"no replica"),
}


def dgram(port_off, data):
    return bytes([port_off]) + struct.pack("<H", len(data)) + data


# fuzz_client_rx: job 7, rank 1, round 1000, 16 float32 chunks of 256 on 8
# slots (chunk k on slot k, set 0), shards 2 (slot k's results from port k % 2).
def result(slot, offset, rnd=1000, count=256, job=7, rank=1):
    return grad(job, rank, slot, 1, count, offset, rnd, RESULT)


CLIENT = {
    "results": b"".join(dgram(k % 2, result(k, 256 * k)) for k in range(8)),
    "stale_and_dup": dgram(0, result(0, 0, rnd=999)) + dgram(0, result(0, 0)) +
    dgram(0, result(0, 0)),
    "wrong_port": dgram(5, result(1, 256)),
    "error_run_ended": dgram(0, hdr(ERROR, 7, 1, rnd=1000) +
                             struct.pack(">HH60s", 5, 0, b"job 7: no run on")),
    "hello_ack": dgram(0, PROTO["hello_ack"][:4] + struct.pack(">HH", 7, 1) +
                       PROTO["hello_ack"][8:]),
}


# The partial job (an odd first byte: the first datagram from port base + 1):
# 16 chunks on 16 slots, set = round mod 2 = 0; RESULTs carry the ranks
# trailer of 4 ranks (docs/protocol.md section 5, "Partial rounds").
RANKS = 0x20


def partial_result(slot, offset, n_in=3, bitmap=0b1011, nw=4):
    r = result(slot, offset)
    r = r[:11] + bytes([RANKS]) + r[12:]
    return r + struct.pack(">HHB", nw, n_in, bitmap)


CLIENT["partial_results"] = b"".join(dgram(k % 2, partial_result(k, 256 * k))
                                     for k in (1, 0, 2, 3, 5, 4))
CLIENT["partial_bad_trailers"] = (dgram(1, partial_result(1, 256, n_in=0, bitmap=0)) +
                                  dgram(1, partial_result(3, 768, n_in=2)) +
                                  dgram(1, partial_result(5, 1280, nw=5)) +
                                  dgram(1, partial_result(7, 1792, bitmap=0b11011)) +
                                  dgram(1, result(9, 2304)))
CLIENT["partial_round_closed"] = dgram(1, hdr(ERROR, 7, 1, offset=1003, rnd=1000) +
                                       struct.pack(">HH60s", 6, 0, b"round closed"))


def eth(payload, ethertype=0x0800, src=b"\x02\x00\x00\x00\x00\x01"):
    return b"\xff" * 6 + src + struct.pack(">H", ethertype) + payload


def csum(b):
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4(src, dst, proto, payload):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
    return h + payload


def udp_frame(rank, job, sport, dport, data):
    u = struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data
    return eth(ipv4([10, 9, 0, 11 + rank], [10, 9, 0, 1], 17, u),
               src=bytes([2, 0, 0, 0, 0, rank + 1]))


GW = {}
for job, dt in ((1, 1), (2, 2), (3, 3), (4, 4)):
    n = 1024 // ESIZE[dt]
    GW["grad_job%d" % job] = b"\x00" + udp_frame(0, job, 47100 + job, 47000,
                                                 grad(job, 0, 0, dt, n, 0, 3))
GW["hello"] = b"\x00" + udp_frame(1, 1, 47101, 47000, hdr(HELLO, 1, 1, rnd=77) + bytes(PAD))
GW["leave"] = b"\x00" + udp_frame(1, 1, 47101, 47000, hdr(LEAVE, 1, 1, rnd=77) + bytes(PAD))
GW["grad_shard1"] = b"\x01" + udp_frame(2, 1, 47101, 47001, grad(1, 2, 1, 1, 256, 0, 3))
# The fixture's deterministic job 6 and partial job 9 (a GRAD with the ranks
# trailer's room: n_workers 4, n_in 0, an empty bitmap).
GW["grad_det"] = b"\x00" + udp_frame(1, 6, 47106, 47000, grad(6, 1, 0, 1, 256, 0, 3))
_g = grad(9, 2, 0, 1, 256, 0, 3)
GW["grad_partial"] = b"\x00" + udp_frame(2, 9, 47109, 47000, _g[:11] + b"\x20" + _g[12:] +
                                        struct.pack(">HHB", 4, 0, 0))
GW["arp"] = b"\x00" + eth(struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1,
                                      b"\x02\x00\x00\x00\x00\x01", bytes([10, 9, 0, 11]),
                                      bytes(6), bytes([10, 9, 0, 1])), 0x0806)
icmp = struct.pack(">BBHHH", 8, 0, 0, 1, 1) + b"ping"
icmp = icmp[:2] + struct.pack(">H", csum(icmp)) + icmp[4:]
GW["icmp_echo"] = b"\x00" + eth(ipv4([10, 9, 0, 11], [10, 9, 0, 1], 1, icmp))
GW["beat"] = b"\x00" + udp_frame(0, 0, 48000, 47000, infer(19))

# The tree leaf as fuzz_gw_frame keeps it (tests/gw/gw_tu.h, TU_JOB_LEAF;
# fuzz_gw_frame.c, LEAF_*): bfloat16 job 20, its workers n0..n3 at port
# 47120, this gateway rank 3 on the parent 10.9.3.1 (MAC 02:00:00:00:bb:01,
# udp_port_base 46000, 2 shards), which ACKed its nonce 0x7ee0f00d with
# round_base 5000; the sums of slots 0 and 1 (set 0, round 5000) are up.
LEAF, LEAF_RANK, LEAF_NONCE, LEAF_BASE, LEAF_PORT = 20, 3, 0x7EE0F00D, 5000, 47120
P_PORT, P_SHARDS, BF16, N16 = 46000, 2, 3, 512


def parent_frame(sport, data):
    u = struct.pack(">HHHH", sport, 47000, 8 + len(data), 0) + data
    return b"\x00" + eth(ipv4([10, 9, 3, 1], [10, 9, 0, 1], 17, u),
                         src=b"\x02\x00\x00\x00\xbb\x01")


def leaf_result(index, rnd=LEAF_BASE):
    return parent_frame(P_PORT + index % P_SHARDS,
                        grad(LEAF, LEAF_RANK, index, BF16, N16, 0, rnd, RESULT))


GW["tree_result0"] = leaf_result(0)
GW["tree_result1"] = leaf_result(1)       # to udp_port_base: steered to shard 1
GW["tree_result_stale"] = leaf_result(0, LEAF_BASE + 1)
GW["tree_hello_ack"] = parent_frame(P_PORT, hdr(ACK, LEAF, LEAF_RANK, dtype=BF16, rnd=LEAF_NONCE) +
                                    struct.pack(">HHHHBBBBII", 3, 1024, 128, P_PORT, P_SHARDS,
                                                BF16, 0, 0, 1, LEAF_BASE))
GW["tree_hello_wait"] = parent_frame(P_PORT, hdr(WAIT, LEAF, LEAF_RANK, dtype=BF16,
                                                 rnd=LEAF_NONCE) +
                                     struct.pack(">HH8H", 3, 2, 1, *[0xffff] * 7))
GW["tree_error_run_ended"] = parent_frame(P_PORT + 1, hdr(ERROR, LEAF, LEAF_RANK, slot=1,
                                                          rnd=LEAF_BASE) + struct.pack(">H", 5))
GW["tree_error_refused"] = parent_frame(P_PORT, hdr(ERROR, LEAF, LEAF_RANK, rnd=LEAF_NONCE) +
                                        struct.pack(">HH60s", 3, 0, b"job 20 is float32"))
GW["tree_waiting"] = parent_frame(P_PORT, hdr(8, LEAF, LEAF_RANK, dtype=BF16, rnd=LEAF_BASE) +
                                  struct.pack(">HH8H", 3, 2, 1, *[0xffff] * 7))
GW["tree_worker_resend"] = b"\x00" + udp_frame(2, LEAF, LEAF_PORT, 47000,
                                               grad(LEAF, 2, 0, BF16, N16, 0, LEAF_BASE))
GW["tree_worker_hello"] = b"\x00" + udp_frame(1, LEAF, LEAF_PORT, 47000,
                                              hdr(HELLO, LEAF, 1, rnd=0x1EAF0001) + bytes(PAD))
# A child's HELLO to a root: its floor in the padding (bytes 0..3, then 1).
GW["hello_floor"] = b"\x00" + udp_frame(1, 1, 47101, 47000, hdr(HELLO, 1, 1, rnd=78) +
                                        struct.pack(">IB", 0x40000000, 1) + bytes(PAD - 5))

for name, seeds in (("proto", PROTO), ("client_rx", CLIENT), ("gw_frame", GW)):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)
