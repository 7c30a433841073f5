#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Unit test of the DDP hook's state (python/daitn/torch.py) on one rank.

A one-rank gloo process group and a wire-protocol peer on 127.0.0.1
(wire_peer.py, "double": each RESULT is twice the GRAD, as if a second worker
had sent the same data) stand in for the world; the real libdaitn runs the
protocol. Checks what must never switch daitn off or crash training: sparse
buckets go through gloo bucket by bucket and daitn stays on; a bfloat16
bucket on a float32 job goes through gloo as float32 (gloo in torch 1.13
cannot sum bfloat16); float16 is averaged divided first, as PyTorch does, so
40000 from each of two ranks is 40000, not inf; the CPU bfloat16 wrapper
carries a float32 model's buckets on a bfloat16 job; bfloat16 and float16
jobs fall back mid-run when the gateway goes silent and return to it once it
answers again (re-probe); a partial job (quorum or deadline rounds) is
refused for good; a failed bucket reaches backward() as an error that names
the DaitnError, not as a cast failure.
Exit 0 pass, 1 fail, 77 skipped (libdaitn.so or torch missing).
"""

import errno
import os
import socket
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, HERE)

try:
    import torch  # noqa: E402
    import torch.distributed as dist  # noqa: E402
except ImportError:
    print("SKIP: torch does not import under %s (apt-get install python3-torch)" % sys.executable)
    sys.exit(77)

import daitn  # noqa: E402
from wire_peer import BF16, F16, F32, WirePeer  # noqa: E402

try:
    daitn.load_library()
except daitn.LibraryNotFound as e:
    print("SKIP: %s" % e)
    sys.exit(77)

import daitn.torch as dhook  # noqa: E402


def local_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hook_state(peer):
    st = dhook.DaitnHookState(gateway="127.0.0.1:%d" % peer.port, job=1, bind_addr="127.0.0.1",
                              bind_port=local_port(), timeout_ms=2000, hello_timeout_ms=2000)
    assert st.mode == "daitn", st.fallback_reason
    return st


def test_sparse_buckets_go_through_gloo_and_daitn_stays_on():
    with WirePeer("double", dtype=F32) as peer:
        st = hook_state(peer)
        sparse = torch.sparse_coo_tensor(torch.tensor([[0, 3]]), torch.tensor([1.0, 2.0]), (8,))
        out = st._reduce(sparse)
        assert out.to_dense().tolist() == [1.0, 0, 0, 2.0, 0, 0, 0, 0], out
        assert st.mode == "daitn", st.fallback_reason
        dense = torch.full((300,), 1.5)
        assert st._reduce(dense).tolist() == [3.0] * 300   # the peer doubles
        assert st.stats["buckets_gloo"] == 1 and st.stats["buckets_daitn"] == 1, st.stats
        st.shutdown()


def test_bf16_bucket_on_a_float32_job_goes_through_gloo():
    with WirePeer("double", dtype=F32) as peer:
        st = hook_state(peer)
        out = st._reduce(torch.full((64,), 0.5, dtype=torch.bfloat16))
        assert out.dtype == torch.bfloat16 and out.tolist() == [0.5] * 64, out
        assert st.mode == "daitn" and st.stats["buckets_gloo"] == 1, st.stats
        st.shutdown()


def test_fp16_is_averaged_divided_first():
    with WirePeer("double", dtype=F16) as peer:
        st = hook_state(peer)
        st.world_size = 2            # the peer's doubling is the second rank
        out = st._reduce(torch.full((256,), 40000.0, dtype=torch.float16))
        assert out.tolist() == [40000.0] * 256, out[:4]
        # And through gloo (a float16 bucket after a fallback) alike.
        st.mode = "gloo"
        out = st._reduce(torch.full((16,), 40000.0, dtype=torch.float16))
        assert torch.isfinite(out).all(), out[:4]
        st.shutdown()


def test_bf16_wrapper_carries_a_float32_model_on_cpu():
    with WirePeer("double", dtype=BF16) as peer:
        st = hook_state(peer)
        torch.manual_seed(1)
        model = torch.nn.Linear(16, 4)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        ddp.register_comm_hook(st, dhook.bf16_compress_wrapper(dhook.comm_hook))
        x = torch.randn(8, 16)
        ref = torch.nn.Linear(16, 4)
        ref.load_state_dict(model.state_dict())
        ref(x).sum().backward()
        ddp(x).sum().backward()
        for p, q in zip(model.parameters(), ref.parameters()):
            want = (q.grad.to(torch.bfloat16).float() * 2).to(torch.bfloat16).float()
            assert p.grad.dtype == torch.float32
            assert torch.equal(p.grad, want), (p.grad.flatten()[:4], want.flatten()[:4])
        assert st.stats["buckets_daitn"] >= 1 and st.mode == "daitn", st.stats
        st.shutdown()


def test_a_failed_bucket_reaches_backward_as_the_daitn_error():
    # DDP (torch 1.13) reads a hook future's value in C++: a Future whose
    # set_exception stored the exception as its value made backward() fail
    # with "Unable to cast <text> to Tensor". The error must arrive as an
    # error, naming DaitnError and its text.
    with WirePeer("double", dtype=F32) as peer:
        st = hook_state(peer)

        def fail(tensor):
            raise daitn.DaitnError(errno.ECONNABORTED, "daitn job 1: rank(s) 1 gone",
                                   "daitn hook")
        st._reduce = fail
        ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(16, 4))
        ddp.register_comm_hook(st, dhook.comm_hook)
        try:
            ddp(torch.randn(8, 16)).sum().backward()
        except RuntimeError as e:
            text = str(e)
        else:
            raise AssertionError("backward() succeeded with a failed bucket")
        assert "Unable to cast" not in text, text
        assert "DaitnError" in text and "rank(s) 1 gone" in text, text
        st.shutdown()


def test_a_partial_job_is_refused_for_good():
    # A job whose rounds close at a quorum or a deadline may leave ranks out
    # of a bucket: DDP's average is not that. gloo, with the reason, and no
    # re-probe (nothing a later try could mend).
    with WirePeer("double", partial=True) as peer:
        st = dhook.DaitnHookState(gateway="127.0.0.1:%d" % peer.port, job=1,
                                  bind_addr="127.0.0.1", bind_port=local_port(),
                                  timeout_ms=2000, hello_timeout_ms=2000, reprobe_ms=100)
        assert st.mode == "gloo" and "completion" in st.fallback_reason, st.fallback_reason
        assert st._probe_at is None, st._probe_at


def test_bf16_and_fp16_jobs_fall_back_mid_run_and_come_back():
    for wire, dtype in ((BF16, torch.bfloat16), (F16, torch.float16)):
        with WirePeer("double", dtype=wire) as peer:
            st = dhook.DaitnHookState(gateway="127.0.0.1:%d" % peer.port, job=1,
                                      bind_addr="127.0.0.1", bind_port=local_port(),
                                      timeout_ms=300, hello_timeout_ms=300, reprobe_ms=1)
            assert st.mode == "daitn", st.fallback_reason
            now = [0.0]
            st.clock = lambda: now[0]
            assert st._reduce(torch.full((300,), 0.75, dtype=dtype)).tolist() == [1.5] * 300
            peer.mode = "silent"                 # the gateway stops answering
            out = st._reduce(torch.full((300,), 0.75, dtype=dtype))
            assert st.mode == "gloo" and "mid-run" in st.fallback_reason, st.fallback_reason
            assert out.dtype == dtype and out.tolist() == [0.75] * 300, out[:4]  # one rank
            def buckets(n):
                for _ in range(n):
                    st._reduce(torch.full((8,), 0.75, dtype=dtype))
            buckets(dhook.PROBE_CHECK_EVERY)     # not due yet: no probe
            assert st.mode == "gloo" and st.stats.get("probes", 0) == 0, st.stats
            now[0] += 0.001                      # reprobe_ms=1: due
            buckets(dhook.PROBE_CHECK_EVERY)     # a probe of the silent gateway
            assert st.mode == "gloo" and st.stats["probes"] == 1, st.stats
            assert st.stats["probe_ms"] == 2, st.stats   # doubled
            peer.mode = "double"                 # back; the next due probe finds it
            now[0] += 0.002
            buckets(dhook.PROBE_CHECK_EVERY)
            assert st.mode == "daitn" and st.stats["returns"] == 1, (st.stats, st.mode)
            assert st._reduce(torch.full((300,), 0.75, dtype=dtype)).tolist() == [1.5] * 300
            st.shutdown()


def main():
    fd, path = tempfile.mkstemp(prefix="daitn-hook-")
    os.close(fd)
    os.unlink(path)
    dist.init_process_group("gloo", init_method="file://" + path, rank=0, world_size=1)
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_")]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print("PASS %s" % name)
        except Exception:
            failed += 1
            print("FAIL %s" % name)
            traceback.print_exc()
    print("%d/%d passed" % (len(tests) - failed, len(tests)))
    dist.destroy_process_group()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
