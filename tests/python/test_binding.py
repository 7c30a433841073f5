#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Unit test of the Python binding (python/daitn) over the real libdaitn.so.

Talks to a wire-protocol peer on 127.0.0.1 (wire_peer.py), no namespaces.
Checks: library lookup errors, dtype mapping, error mapping (EINVAL, refusal,
ICMP port unreachable, timeouts, a broken handle), in-place results for every
dtype with numpy and torch, contiguous and strided, and that the GIL is
released while a call blocks on the network (the peer that must answer it is
a Python thread of the same process).
Exit 0 pass, 1 fail, 77 skipped (libdaitn.so or torch missing: says which).
"""

import errno
import os
import socket
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    print("SKIP: torch does not import under %s (apt-get install python3-torch)" % sys.executable)
    sys.exit(77)

import daitn  # noqa: E402
from daitn import _lib  # noqa: E402
from wire_peer import BF16, F16, F32, I32, WirePeer  # noqa: E402

try:
    daitn.load_library()
except daitn.LibraryNotFound as e:
    print("SKIP: %s" % e)
    sys.exit(77)

_next_port = [40000 + os.getpid() % 20000]


def local_port():
    """A free local UDP port for the worker's socket."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_ctx(peer, **kw):
    kw.setdefault("hello_timeout_ms", 1000)
    kw.setdefault("timeout_ms", 1000)
    return daitn.Context("127.0.0.1", 1, 0, local_port(), gateway_port=peer.port,
                         bind_addr="127.0.0.1", **kw)


def expect_raises(cls, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except cls as e:
        return e
    except Exception as e:
        raise AssertionError("expected %s, got %s: %s" % (cls.__name__, type(e).__name__, e))
    raise AssertionError("expected %s, nothing raised" % cls.__name__)


# -- negative cases ----------------------------------------------------------

def test_missing_library_names_the_fix():
    saved, env = _lib._lib, os.environ.get("DAITN_LIB")
    try:
        _lib._lib = None
        os.environ["DAITN_LIB"] = "/nonexistent/libdaitn.so"
        e = expect_raises(daitn.LibraryNotFound, _lib.load)
        assert "DAITN_LIB=/nonexistent/libdaitn.so" in str(e), str(e)
    finally:
        _lib._lib = saved
        if env is None:
            os.environ.pop("DAITN_LIB", None)
        else:
            os.environ["DAITN_LIB"] = env


def test_unsupported_dtypes_are_refused():
    expect_raises(TypeError, daitn.dtype_code, np.zeros(4, np.float64))
    expect_raises(TypeError, daitn.dtype_code, torch.zeros(4, dtype=torch.float64))
    expect_raises(TypeError, daitn.dtype_code, torch.zeros(4, dtype=torch.int64))
    # An override must agree with the element size.
    expect_raises(TypeError, daitn.dtype_code, np.zeros(4, np.float32), "bfloat16")
    expect_raises(TypeError, daitn.dtype_code, np.zeros(4, np.float32), "float64")


def test_dtype_mapping():
    cases = [(torch.float32, 1), (torch.int32, 2), (torch.bfloat16, 3), (torch.float16, 4)]
    for dt, code in cases:
        assert daitn.dtype_code(torch.zeros(2, dtype=dt)) == code, dt
    assert daitn.dtype_code(np.zeros(2, np.float32)) == daitn.DAITN_FLOAT32
    assert daitn.dtype_code(np.zeros(2, np.int32)) == daitn.DAITN_INT32
    assert daitn.dtype_code(np.zeros(2, np.float16)) == daitn.DAITN_FLOAT16
    assert daitn.dtype_code(np.zeros(2, np.uint16), "bfloat16") == daitn.DAITN_BFLOAT16


def test_bad_config_is_invalid_with_the_library_sentence():
    e = expect_raises(daitn.DaitnInvalidError, daitn.Context, "127.0.0.1", 1, 0, 0)
    assert e.errno == errno.EINVAL and "bind_port" in str(e), str(e)
    e = expect_raises(daitn.DaitnInvalidError, daitn.Context, "10.0.0.300", 1, 0, local_port())
    assert "not an IPv4 address" in str(e), str(e)


def test_refusal_is_connection_refused_with_the_gateway_text():
    with WirePeer("refuse") as peer:
        e = expect_raises(daitn.DaitnRefusedError, open_ctx, peer)
    assert isinstance(e, ConnectionRefusedError)
    assert e.errno == errno.ECONNREFUSED and "not in policy version 3" in str(e), str(e)


def test_nothing_listening_is_refused_quickly():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    # ICMP port unreachable ends the wait: ECONNREFUSED, where running into
    # the (long) hello timeout would be ETIMEDOUT.
    e = expect_raises(daitn.DaitnError, daitn.Context, "127.0.0.1", 1, 0, local_port(),
                      gateway_port=dead, bind_addr="127.0.0.1", hello_timeout_ms=60000)
    assert e.errno == errno.ECONNREFUSED, str(e)


def test_open_and_allreduce_release_the_gil():
    # The peer answers from a Python thread of this process, and only the
    # third HELLO: while daitn_open() blocks, that thread must get the GIL,
    # or the open could only time out. The same holds for every RESULT.
    with WirePeer("late") as peer:
        ctx = open_ctx(peer, hello_timeout_ms=60000, timeout_ms=60000)
        x = torch.ones(4096)
        ctx.allreduce(x)
        ctx.close()
    assert peer.hellos >= 3, peer.hellos
    assert torch.equal(x, torch.full((4096,), 2.0)), x[:4]


def test_open_timeout():
    with WirePeer("silent") as peer:
        t0 = time.perf_counter()
        e = expect_raises(daitn.DaitnTimeoutError, open_ctx, peer, hello_timeout_ms=700)
        dt = time.perf_counter() - t0
    assert isinstance(e, TimeoutError) and e.errno == errno.ETIMEDOUT
    assert dt >= 0.7, "open gave up after %.2fs, before its 0.7 s timeout" % dt


def test_allreduce_timeout_breaks_the_handle():
    with WirePeer("ack") as peer:
        ctx = open_ctx(peer, timeout_ms=1000)
        x = torch.ones(4096)
        t0 = time.perf_counter()
        e = expect_raises(daitn.DaitnTimeoutError, ctx.allreduce, x)
        dt = time.perf_counter() - t0
        assert peer.grads, "the allreduce never sent a GRAD"
        assert e.call == "daitn_allreduce" and e.strerror, "no daitn_last_error text"
        assert e.strerror in ctx.last_error(), (e.strerror, ctx.last_error())
        # The handle is out of step with the job now: refused, not hung.
        e2 = expect_raises(daitn.DaitnError, ctx.allreduce, x)
        assert e2.errno == errno.EPIPE, str(e2)
        ctx.close()
    assert dt >= 1.0, "allreduce gave up after %.2fs, before its 1 s timeout" % dt
    print("    allreduce: timed out after %.2fs (%s)" % (dt, e.strerror))


def test_read_only_and_closed_are_refused():
    with WirePeer("double") as peer:
        ctx = open_ctx(peer)
        ro = np.ones(8, np.float32)
        ro.flags.writeable = False
        expect_raises(ValueError, ctx.allreduce, ro)
        ctx.close()
        expect_raises(daitn.DaitnError, ctx.allreduce, np.ones(8, np.float32))


def test_range_error_leaves_buffer_untouched():
    with WirePeer("double", dtype=I32, frac_bits=16) as peer:
        ctx = open_ctx(peer)
        x = np.array([1.0, 1e9, 2.0], np.float32)
        e = expect_raises(daitn.DaitnRangeError, ctx.allreduce, x)
        assert e.errno == errno.ERANGE, str(e)
        assert x.tolist() == [1.0, 1e9, 2.0]
        assert not peer.grads, "nothing may be sent before the range check"
        # The handle stays usable after -ERANGE.
        y = np.array([0.5, -1.25, 3.0], np.float32)
        ctx.allreduce(y)
        assert y.tolist() == [1.0, -2.5, 6.0], y
        ctx.close()


def test_fedavg_calls_refuse_what_does_not_fit():
    with WirePeer("double") as peer:
        ctx = open_ctx(peer)
        assert ctx.job["fedavg"] is False and ctx.job["partial"] is False
        # A weighted call on a job that is not fedavg: refused, nothing sent.
        e = expect_raises(daitn.DaitnInvalidError, ctx.allreduce_weighted,
                          np.ones(8, np.float32), 2.0)
        assert "not a federated average" in str(e), str(e)
        # skip_rounds: checked here before libdaitn sees it (ctypes would
        # wrap -1 to 2**32 - 1), then refused by it on a job that is not
        # partial.
        for bad in (-1, 2**30, 2**32, 1.5, "3"):
            expect_raises(daitn.DaitnInvalidError, ctx.skip_rounds, bad)
        e = expect_raises(daitn.DaitnInvalidError, ctx.skip_rounds, 1)
        assert "not partial" in str(e), str(e)
        assert ctx.next_round() == 0
        # average_parameters wants a fedavg job.
        import daitn.torch as daitn_torch
        import torch
        w = torch.ones(4)
        expect_raises(daitn.DaitnInvalidError, daitn_torch.average_parameters, ctx, [w], 1.0)
        assert not peer.grads, "nothing may be sent"
        ctx.close()


# -- functional --------------------------------------------------------------

def _check_double(ctx, peer, x, expect, code):
    before = len(peer.grads)
    out = ctx.allreduce(x) if code != BF16 or not isinstance(x, np.ndarray) \
        else ctx.allreduce(x, dtype="bfloat16")
    assert out is x
    got = x.tolist() if hasattr(x, "tolist") else list(x)
    assert got == expect, "%s: %s != %s" % (type(x).__name__, got[:8], expect[:8])
    sent = peer.grads[before:]
    assert sent and all(g["dtype"] == code for g in sent), sent[:2]
    # Every element went once; a chunk resent (its timer fired before this
    # process's peer thread answered, on a loaded machine) counts once.
    chunks = {(g["round"], g["offset"]): g["count"] for g in sent}
    assert sum(chunks.values()) == len(expect), sorted(chunks.items())[:4]


def test_every_dtype_is_summed_in_place():
    vals = [float(i % 7) - 3 for i in range(3000)]     # exact in every type
    dbl = [2 * v for v in vals]
    for code, tdt, ndt in ((F32, torch.float32, np.float32), (F16, torch.float16, np.float16),
                           (BF16, torch.bfloat16, None), (I32, torch.int32, np.int32)):
        with WirePeer("double", dtype=code) as peer:
            ctx = open_ctx(peer)
            conv = int if code == I32 else float
            t = torch.tensor(vals, dtype=tdt)
            _check_double(ctx, peer, t, [conv(v) for v in dbl], code)
            if ndt is not None:
                _check_double(ctx, peer, np.array(vals, ndt), [conv(v) for v in dbl], code)
            else:   # bfloat16 bits in a numpy uint16 array
                bits = t.new_tensor(vals).view(torch.int16).numpy().view(np.uint16).copy()
                ctx.allreduce(bits, dtype="bfloat16")
                back = torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16)
                assert back.float().tolist() == dbl
            st = ctx.stats()
            assert st["allreduces"] == 2 and st["results"] >= 2, st
            if "datagrams_sent" in st:
                assert st["datagrams_sent"] >= st["chunks_sent"] > 0, st
            ctx.close()


def test_strided_buffers_go_through_a_copy_and_back():
    with WirePeer("double") as peer:
        ctx = open_ctx(peer)
        base = torch.arange(20, dtype=torch.float32)
        view = base[::2]
        assert not view.is_contiguous()
        ctx.allreduce(view)
        assert base.tolist() == [float(2 * i if i % 2 == 0 else i) for i in range(20)]
        a = np.arange(20, dtype=np.float32)
        ctx.allreduce(a[1::2])
        assert a.tolist() == [float(i if i % 2 == 0 else 2 * i) for i in range(20)]
        f = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
        ctx.allreduce(f)     # Fortran order is one block: no copy, same result
        assert f.tolist() == (2 * np.arange(12, dtype=np.float32).reshape(3, 4)).tolist()
        ctx.close()


def test_contiguous_tensors_are_not_copied():
    # The pointer libdaitn reads from is the tensor's own: the GRAD payload
    # reflects a write made through another view of the same memory.
    with WirePeer("double") as peer:
        ctx = open_ctx(peer)
        t = torch.zeros(256)
        alias = t.numpy()          # shares memory
        alias[:] = 1.5
        ctx.allreduce(t)
        assert alias.tolist() == [3.0] * 256
        ctx.close()


def main():
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_")]
    failed = 0
    print("libdaitn: %s" % daitn.library_path())
    for name, fn in tests:
        try:
            fn()
            print("PASS %s" % name)
        except Exception:
            failed += 1
            print("FAIL %s" % name)
            traceback.print_exc()
    print("%d/%d passed" % (len(tests) - failed, len(tests)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
