# SPDX-License-Identifier: BSD-3-Clause
"""A minimal wire-protocol peer on 127.0.0.1 for the binding's unit test.

It is not a gateway (the integration tests run the real daitn-gw): it lets
test_binding.py drive libdaitn through the Python binding without namespaces
or DPDK, and see exactly what the binding put on the wire. Behaviours:
  "double"  HELLO -> HELLO_ACK for a one-worker job; GRAD -> RESULT whose payload
            is twice the GRAD's (as if a second worker had sent the same data),
            so in-place results and copy-back paths are observable;
  "ack"     HELLO -> HELLO_ACK, GRADs are swallowed (an unresponsive gateway);
  "late"    as "double", but the first two HELLOs go unanswered (the worker
            must resend: its call blocks until this thread answers);
  "refuse"  HELLO -> ERROR code 1 with a text;
  "silent"  nothing is answered.
partial=True marks the job partial in HELLO_ACK (docs/protocol.md section 5).
Every GRAD header seen is recorded in .grads (type, dtype, count, offset, ...).
"""

import socket
import struct
import threading

import numpy as np

HDR = struct.Struct(">HBBHHHBBHII")      # dp_proto_hdr, 22 bytes
ACK = struct.Struct(">HHHHBBBBII")       # dp_proto_job_info, 20 bytes
ERR = struct.Struct(">HH60s")            # dp_proto_error, 64 bytes
MAGIC, VERSION = 0xDA17, 2
GRAD, RESULT, HELLO, HELLO_ACK, ERROR = 1, 2, 3, 4, 5
F32, I32, BF16, F16 = 1, 2, 3, 4
JOB_PARTIAL = 0x02                       # job_info.flags: rounds close early


def doubled(payload, dtype):
    if dtype == F32:
        return (np.frombuffer(payload, "<f4") * np.float32(2)).astype("<f4").tobytes()
    if dtype == F16:
        return (np.frombuffer(payload, "<f2") * np.float16(2)).astype("<f2").tobytes()
    if dtype == I32:
        return (np.frombuffer(payload, "<i4").astype(np.int64) * 2).astype("<i4").tobytes()
    if dtype == BF16:
        # bfloat16 is the top half of a binary32: widen, double exactly, narrow.
        f = (np.frombuffer(payload, "<u2").astype(np.uint32) << 16).view(np.float32) * 2
        return (f.view(np.uint32) >> 16).astype("<u2").tobytes()
    raise ValueError("dtype %d" % dtype)


class _UdpPeer:
    """A thread answering datagrams on a socket of 127.0.0.1 (port in
    .port): each one with a well-formed header goes to
    _answer(fields, data, src), fields as HDR unpacks them."""

    def _start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < HDR.size:
                continue
            fields = HDR.unpack_from(data)
            if fields[0] == MAGIC and fields[1] == VERSION:
                self._answer(fields, data, src)

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class WirePeer(_UdpPeer):
    def __init__(self, mode, dtype=F32, chunk_size=1024, n_slots=16, frac_bits=16,
                 partial=False):
        self.mode, self.dtype, self.partial = mode, dtype, partial
        self.chunk_size, self.n_slots, self.frac_bits = chunk_size, n_slots, frac_bits
        self.grads = []
        self.hellos = 0
        self._start()

    def _answer(self, fields, data, src):
        if self.mode == "silent":
            return
        _, _, typ, job, rank, slot, dtype, flags, count, offset, rnd = fields
        if typ == HELLO:
            self.hellos += 1
            if self.mode == "late" and self.hellos < 3:
                return
            if self.mode == "refuse":
                text = ("job %d is not in policy version 3" % job).encode()
                msg = HDR.pack(MAGIC, VERSION, ERROR, job, rank, 0, 0, 0, 0, offset, rnd) + \
                    ERR.pack(1, 0, text)
            else:
                msg = HDR.pack(MAGIC, VERSION, HELLO_ACK, job, rank, 0, self.dtype, 0, 0,
                               offset, rnd) + \
                    ACK.pack(1, self.chunk_size, self.n_slots, self.port, 1, self.dtype,
                             self.frac_bits, JOB_PARTIAL if self.partial else 0, 7, 1000)
            self.sock.sendto(msg, src)
        elif typ == GRAD:
            self.grads.append(dict(job=job, rank=rank, slot=slot, dtype=dtype, count=count,
                                   offset=offset, round=rnd, size=len(data) - HDR.size))
            if self.mode in ("double", "late"):
                msg = HDR.pack(MAGIC, VERSION, RESULT, job, rank, slot, dtype, 0, count,
                               offset, rnd) + doubled(data[HDR.size:], dtype)
                self.sock.sendto(msg, src)


class SumPeer(_UdpPeer):
    """A wire-protocol stand-in for a gateway of n ranks on 127.0.0.1, for
    the hook's multi-rank settlement test (test_settle.py): HELLO -> HELLO_ACK
    at once (n_workers n, float32), and once every rank has sent a chunk
    (same slot, round, offset) a RESULT with the float32 sum to each of them;
    a later copy of a GRAD is answered with the stored sum. drop(rank, round,
    offset) -> True withholds that RESULT from that rank (set by the test).
    Not a gateway: no WAITING, no loss recovery of its own, no policy."""

    def __init__(self, n, chunk_size=1024, n_slots=16):
        self.n, self.chunk_size, self.n_slots = n, chunk_size, n_slots
        self.drop = lambda rank, rnd, offset: False
        self._parts = {}       # (slot, round, offset) -> {rank: float32 array}
        self._sums = {}        # (slot, round, offset) -> bytes
        self._src = {}         # rank -> address
        self._start()

    def _result(self, key, rank, count):
        slot, rnd, offset = key
        if self.drop(rank, rnd, offset):
            return
        msg = HDR.pack(MAGIC, VERSION, RESULT, 1, rank, slot, F32, 0, count, offset, rnd) + \
            self._sums[key]
        self.sock.sendto(msg, self._src[rank])

    def _answer(self, fields, data, src):
        _, _, typ, job, rank, slot, dtype, flags, count, offset, rnd = fields
        if rank >= self.n:
            return
        self._src[rank] = src
        if typ == HELLO:
            msg = HDR.pack(MAGIC, VERSION, HELLO_ACK, job, rank, 0, F32, 0, 0, offset, rnd) + \
                ACK.pack(self.n, self.chunk_size, self.n_slots, self.port, 1, F32, 16, 0, 7,
                         1000)
            self.sock.sendto(msg, src)
        elif typ == GRAD:
            key = (slot, rnd, offset)
            if key in self._sums:
                self._result(key, rank, count)
                return
            parts = self._parts.setdefault(key, {})
            parts[rank] = np.frombuffer(data[HDR.size:], "<f4")
            if len(parts) == self.n:
                total = np.zeros(count, "<f4")
                for r in range(self.n):
                    total += parts[r]
                self._sums[key] = total.astype("<f4").tobytes()
                del self._parts[key]
                for r in range(self.n):
                    self._result(key, r, count)
