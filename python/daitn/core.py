# SPDX-License-Identifier: BSD-3-Clause
"""daitn.Context: one worker's membership in a job, and allreduce on buffers.

Buffers: numpy arrays and torch CPU tensors. A buffer whose memory is one
contiguous block (C- or Fortran-ordered numpy array, torch tensor with
is_contiguous()) is handed to libdaitn by pointer and summed in place: no
copy. Any other buffer (a strided view) is copied into a contiguous temporary,
summed, and copied back; that costs two extra passes over the data, so pass
contiguous buffers on hot paths. Read-only numpy arrays are refused.

GIL: libdaitn is loaded with ctypes.CDLL, which releases the GIL during each
foreign call, so other Python threads run while open() or allreduce() waits on
the network (tests/python/test_binding.py checks this).

Threads: a Context may be shared, but calls on it are serialised by a lock
(libdaitn allows one thread per handle at a time), except peer_gone() and
abort(), which any thread may call while another waits in allreduce().
Separate Contexts are independent.
"""

import ctypes
import os
import threading

from . import _lib
from .errors import DaitnError, DaitnInvalidError, from_rc

# numpy dtype name / torch dtype string -> wire type
_NUMPY_DTYPES = {
    "float32": _lib.DAITN_FLOAT32,
    "int32": _lib.DAITN_INT32,
    "float16": _lib.DAITN_FLOAT16,
}
_TORCH_DTYPES = {
    "torch.float32": _lib.DAITN_FLOAT32,
    "torch.bfloat16": _lib.DAITN_BFLOAT16,
    "torch.float16": _lib.DAITN_FLOAT16,
    "torch.int32": _lib.DAITN_INT32,
}
_NAME_DTYPES = {v: k for k, v in _lib.DTYPE_NAMES.items()}


def dtype_code(x, dtype=None):
    """Wire type for buffer x (numpy array or torch tensor).

    dtype (a name such as "bfloat16" or a DAITN_* code) overrides the buffer's
    own type when the element sizes agree, e.g. bfloat16 bits held in a numpy
    uint16 array. Raises TypeError for types libdaitn cannot sum.
    """
    if _is_torch(x):
        own, size = str(x.dtype), x.element_size()
        code = _TORCH_DTYPES.get(own)
    else:
        own, size = x.dtype.name, x.dtype.itemsize
        code = _NUMPY_DTYPES.get(own)
    if dtype is not None:
        want = _NAME_DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
        if want not in _lib.DTYPE_SIZES:
            raise TypeError("daitn: unknown dtype %r (use one of %s)"
                            % (dtype, ", ".join(sorted(_NAME_DTYPES))))
        if _lib.DTYPE_SIZES[want] != size:
            raise TypeError("daitn: dtype %s needs %d-byte elements, buffer has %s (%d bytes)"
                            % (_lib.DTYPE_NAMES[want], _lib.DTYPE_SIZES[want], own, size))
        return want
    if code is None:
        raise TypeError("daitn: cannot allreduce %s buffers; supported: float32, bfloat16, "
                        "float16, int32 (float64: convert to float32 first)" % own)
    return code


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "data_ptr")


def _contiguous_view(x):
    """(pointer, count, restore, keep) for buffer x.

    restore is None when x itself is passed; otherwise a callable that copies
    the summed temporary back into x. keep holds the memory alive during the
    call. A Fortran-ordered array is summed in memory order, so every worker
    must pass the same layout.
    """
    if _is_torch(x):
        if x.device.type != "cpu":
            raise TypeError("daitn: tensor is on %s; only CPU tensors can be sent "
                            "(copy it with .cpu() first)" % x.device)
        if x.is_contiguous():
            return x.data_ptr(), x.numel(), None, x
        tmp = x.contiguous()

        def restore():
            x.copy_(tmp)
        return tmp.data_ptr(), tmp.numel(), restore, tmp
    if not x.flags.writeable:
        raise ValueError("daitn: the numpy array is read-only; allreduce sums in place")
    if x.flags.c_contiguous or x.flags.f_contiguous:
        return x.ctypes.data, x.size, None, x
    import numpy as np
    tmp = np.ascontiguousarray(x)

    def restore():
        x[...] = tmp
    return tmp.ctypes.data, tmp.size, restore, tmp


class Context:
    """A worker's membership in a daitn job (wraps struct daitn *).

    Arguments follow struct daitn_config (client/daitn.h); 0 / None selects
    the library's default. Opening sends HELLO and waits for HELLO_ACK, which
    comes once every rank of the job has joined: it raises DaitnTimeoutError
    (no answer within hello_timeout_ms, or ranks missing after join_timeout_ms),
    DaitnRefusedError (the gateway refused the job) or DaitnError.
    """

    def __init__(self, gateway, job, rank, bind_port, gateway_port=0, bind_addr=None,
                 hello_timeout_ms=0, timeout_ms=0, rto_us=0, window=0, join_timeout_ms=0,
                 key_file=None, peer_timeout_ms=0):
        self._lib = _lib.load()
        self._lock = threading.Lock()
        self._gone_lock = threading.Lock()  # peer_gone() against close()
        self._h = ctypes.c_void_p()
        cfg = _lib.Config(
            gateway=gateway.encode(), gateway_port=gateway_port,
            bind_addr=bind_addr.encode() if bind_addr else None, bind_port=bind_port,
            job=job, rank=rank, hello_timeout_ms=hello_timeout_ms, timeout_ms=timeout_ms,
            rto_us=rto_us, window=window, join_timeout_ms=join_timeout_ms,
            key_file=os.fsencode(key_file) if key_file else None,
            peer_timeout_ms=peer_timeout_ms)
        self.describe = "gateway %s:%d job %d rank %d (local %s:%d)" % (
            gateway, gateway_port or 47000, job, rank, bind_addr or "*", bind_port)
        rc = self._lib.daitn_open(ctypes.byref(cfg), ctypes.byref(self._h))
        if rc < 0:
            self._h = ctypes.c_void_p()
            # daitn_last_error(NULL): this thread's last open failure (e.g.
            # the gateway's refusal text); daitn_strerror as a fallback.
            msg = (self._lib.daitn_last_error(None) or b"").decode(errors="replace")
            if not msg:
                msg = "%s: %s" % (self.describe, self._lib.daitn_strerror(rc).decode())
            raise from_rc(rc, msg, "daitn_open")
        ji = self._lib.daitn_job(self._h).contents
        self.job = {
            "n_workers": ji.n_workers, "chunk_size": ji.chunk_size, "n_slots": ji.n_slots,
            "n_shards": ji.n_shards, "dtype": _lib.DTYPE_NAMES.get(ji.dtype, str(ji.dtype)),
            "dtype_code": ji.dtype, "frac_bits": ji.frac_bits,
            "policy_version": ji.policy_version, "round_base": ji.round_base,
            # A partial job (quorum or deadline rounds, docs/protocol.md
            # section 5): a result may leave ranks out.
            "partial": bool(ji.partial),
            # A federated average ("mode": "fedavg"): allreduce_weighted only.
            "fedavg": bool(ji.fedavg),
        }

    def _call(self, name, fn):
        """fn() under the lock on an open handle; raises for rc < 0."""
        with self._lock:
            if not self._h:
                raise DaitnError(9, "the context is closed", name)  # EBADF
            rc = fn()
            if rc < 0:
                msg = self._lib.daitn_last_error(self._h).decode(errors="replace")
                raise from_rc(rc, msg or self._lib.daitn_strerror(rc).decode(), name)
            return rc

    def _need(self, name):
        if not hasattr(self._lib, name):
            raise DaitnError(38, "%s: the loaded libdaitn predates it" % name, name)  # ENOSYS

    def allreduce_weighted(self, x, weight, dtype=None):
        """A fedavg job: replace x by the mean of the contributions in the
        round, each weighted by its rank's weight (e.g. its sample count),
        chunk by chunk over the ranks in it (daitn_allreduce_weighted);
        returns x. Raises DaitnStaleError when a partial job closed the round
        without this rank (x is then in an unspecified state; the next call
        takes part in the job's round), other DaitnError subclasses else."""
        self._need("daitn_allreduce_weighted")
        code = dtype_code(x, dtype)
        ptr, count, restore, keep = _contiguous_view(x)
        self._call("daitn_allreduce_weighted", lambda: self._lib.daitn_allreduce_weighted(
            self._h, ptr, count, code, float(weight)))
        del keep
        if restore is not None:
            restore()
        return x

    def result_ranks(self, chunk):
        """A partial job, after a successful call: the ranks chunk `chunk` of
        the result holds, as a sorted list (daitn_result_ranks)."""
        self._need("daitn_result_ranks")
        n_in, bm = ctypes.c_uint16(), ctypes.POINTER(ctypes.c_uint8)()
        self._call("daitn_result_ranks", lambda: self._lib.daitn_result_ranks(
            self._h, chunk, ctypes.byref(n_in), ctypes.byref(bm)))
        n = self.job["n_workers"]
        return [r for r in range(n) if (bm[r // 8] >> (r % 8)) & 1]

    def result_weight(self, chunk):
        """After a successful allreduce_weighted: the total weight of the ranks
        in chunk `chunk` (daitn_result_weight)."""
        self._need("daitn_result_weight")
        w = ctypes.c_double()
        self._call("daitn_result_weight", lambda: self._lib.daitn_result_weight(
            self._h, chunk, ctypes.byref(w)))
        return w.value

    def next_round(self):
        """The index of the next call among the run's rounds (daitn_next_round)."""
        self._need("daitn_next_round")
        with self._lock:
            return self._lib.daitn_next_round(self._h) if self._h else 0

    def skip_rounds(self, n):
        """A partial job: take no part in the next n rounds (daitn_skip_rounds)."""
        self._need("daitn_skip_rounds")
        if not isinstance(n, int) or not 0 <= n < 2**30:
            raise DaitnInvalidError(22, "n must be an int from 0 to 2**30 - 1, got %r" % (n,),
                                    "daitn_skip_rounds")  # EINVAL
        self._call("daitn_skip_rounds", lambda: self._lib.daitn_skip_rounds(self._h, n))

    def allreduce(self, x, dtype=None):
        """Sum x over every worker of the job, in place; returns x.

        Every worker must call with the same element count and type, in the
        same order. Raises DaitnError subclasses (see errors.py); x is then in
        an unspecified state.
        """
        code = dtype_code(x, dtype)
        ptr, count, restore, keep = _contiguous_view(x)
        self._call("daitn_allreduce",
                   lambda: self._lib.daitn_allreduce(self._h, ptr, count, code))
        del keep
        if restore is not None:
            restore()
        return x

    def stats(self):
        """Counters of struct daitn_stats and, where the library has it,
        struct daitn_stats_ext (cwnd, srtt_us, rto_us, ...), as one dict."""
        st, ext = _lib.Stats(), _lib.StatsExt()
        has_ext = hasattr(self._lib, "daitn_stats_ext_get")
        with self._lock:
            if self._h:
                self._lib.daitn_stats_get(self._h, ctypes.byref(st))
                if has_ext:
                    self._lib.daitn_stats_ext_get(self._h, ctypes.byref(ext))
        out = {name: getattr(st, name) for name, _ in _lib.Stats._fields_
               if not name.startswith("_")}
        if has_ext:
            out.update({name: getattr(ext, name) for name, _ in _lib.StatsExt._fields_
                        if not name.startswith("_")})
        return out

    def peer_gone(self, rank):
        """Tell the handle that rank's process is gone (daitn_peer_gone): an
        allreduce the gateway holds for that rank then fails with ECONNABORTED
        naming it. Any thread; False where the library predates it."""
        if not hasattr(self._lib, "daitn_peer_gone"):
            return False
        with self._gone_lock:
            if not self._h:
                return False
            return self._lib.daitn_peer_gone(self._h, rank) == 0

    def abort(self):
        """Abandon the handle (daitn_abort): an allreduce waiting on any
        thread fails at once with ECANCELED, and so does every later call.
        Any thread; False where the library predates it or it is closed."""
        if not hasattr(self._lib, "daitn_abort"):
            return False
        with self._gone_lock:
            if not self._h:
                return False
            return self._lib.daitn_abort(self._h) == 0

    def chunks_done(self):
        """After an allreduce that had something to send, successful or not:
        bytes of one bit per chunk (chunk k: bit k % 8 of byte k // 8), set
        where the chunk of x holds the sum, clear where it holds this rank's
        data (daitn_chunks_done); None if the last call sent nothing.
        Chunks are job["chunk_size"] bytes of the wire type."""
        self._need("daitn_chunks_done")
        n, bitmap = ctypes.c_uint64(), ctypes.POINTER(ctypes.c_uint8)()
        with self._lock:
            if not self._h or self._lib.daitn_chunks_done(self._h, ctypes.byref(n),
                                                          ctypes.byref(bitmap)) < 0:
                return None
            return ctypes.string_at(bitmap, (n.value + 7) // 8)

    def last_error(self):
        with self._lock:
            if not self._h:
                return ""
            return self._lib.daitn_last_error(self._h).decode(errors="replace")

    def close(self):
        with self._lock, self._gone_lock:
            if self._h:
                self._lib.daitn_close(self._h)
                self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def strerror(rc):
    """daitn_strerror() for a (negative) error code."""
    return _lib.load().daitn_strerror(rc if rc < 0 else -rc).decode(errors="replace")
