# SPDX-License-Identifier: BSD-3-Clause
"""Locate libdaitn.so and declare its C ABI (client/daitn.h) for ctypes.

The library is loaded with ctypes.CDLL, not ctypes.PyDLL: CDLL releases the
GIL for the duration of every foreign call, so a thread blocked in
daitn_open() or daitn_allreduce() (waiting on the network, up to its timeout)
does not stop other Python threads. tests/python/test_binding.py checks it.

Search order, first hit wins:
  1. $DAITN_LIB (a path to the .so; an error if it does not exist);
  2. the build folder: $DTN_BUILD/client/libdaitn.so when DTN_BUILD is set (the
     scripts' convention), then the repository's build/client/libdaitn.so;
  3. the system's library path (ctypes.util.find_library("daitn")).
Other build-* folders are not searched: they may hold sanitizer builds, which
abort an interpreter that was not started with their runtime.
"""

import ctypes
import ctypes.util
import os

# enum daitn_dtype (wire codes).
DAITN_FLOAT32 = 1
DAITN_INT32 = 2
DAITN_BFLOAT16 = 3
DAITN_FLOAT16 = 4

DTYPE_NAMES = {
    DAITN_FLOAT32: "float32",
    DAITN_INT32: "int32",
    DAITN_BFLOAT16: "bfloat16",
    DAITN_FLOAT16: "float16",
}

# Element size in bytes of each wire type.
DTYPE_SIZES = {DAITN_FLOAT32: 4, DAITN_INT32: 4, DAITN_BFLOAT16: 2, DAITN_FLOAT16: 2}


class LibraryNotFound(OSError):
    """libdaitn.so could not be found or loaded."""


class Config(ctypes.Structure):
    """struct daitn_config."""
    _fields_ = [
        ("gateway", ctypes.c_char_p),
        ("gateway_port", ctypes.c_uint16),
        ("bind_addr", ctypes.c_char_p),
        ("bind_port", ctypes.c_uint16),
        ("job", ctypes.c_uint16),
        ("rank", ctypes.c_uint16),
        ("hello_timeout_ms", ctypes.c_uint32),
        ("timeout_ms", ctypes.c_uint32),
        ("rto_us", ctypes.c_uint32),
        ("window", ctypes.c_uint32),
        ("join_timeout_ms", ctypes.c_uint32),
        ("key_file", ctypes.c_char_p),       # appended after v0.2
        ("peer_timeout_ms", ctypes.c_uint32),  # appended after v0.2
    ]


class JobInfo(ctypes.Structure):
    """struct daitn_job_info (enum members are C ints)."""
    _fields_ = [
        ("n_workers", ctypes.c_uint16),
        ("chunk_size", ctypes.c_uint16),
        ("n_slots", ctypes.c_uint16),
        ("n_shards", ctypes.c_uint8),
        ("dtype", ctypes.c_int),
        ("frac_bits", ctypes.c_uint8),
        ("policy_version", ctypes.c_uint32),
        ("round_base", ctypes.c_uint32),     # appended after v0.1
        ("partial", ctypes.c_uint8),         # appended: rounds close early
        ("fedavg", ctypes.c_uint8),          # appended: a federated average
    ]


class Stats(ctypes.Structure):
    """struct daitn_stats, plus spare room: the C struct grows by appending,
    and daitn_stats_get() writes the library's whole struct into ours."""
    _fields_ = [
        ("chunks_sent", ctypes.c_uint64),
        ("retransmits", ctypes.c_uint64),
        ("results", ctypes.c_uint64),
        ("stale_results", ctypes.c_uint64),
        ("allreduces", ctypes.c_uint64),
        ("send_calls", ctypes.c_uint64),
        ("recv_calls", ctypes.c_uint64),
        ("_spare", ctypes.c_uint8 * 256),
    ]


DAITN_STATS_GSO = 0x1
DAITN_STATS_GRO = 0x2


class StatsExt(ctypes.Structure):
    """struct daitn_stats_ext (with spare room, as Stats)."""
    _fields_ = [
        ("datagrams_sent", ctypes.c_uint64),
        ("tx_dropped", ctypes.c_uint64),
        ("ignored", ctypes.c_uint64),
        ("rx_truncated", ctypes.c_uint64),
        ("icmp_errors", ctypes.c_uint64),
        ("gso_fallbacks", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("gso_segs", ctypes.c_uint32),
        ("srtt_us", ctypes.c_uint32),
        ("rto_us", ctypes.c_uint32),
        ("cwnd", ctypes.c_uint32),
        ("_spare", ctypes.c_uint8 * 256),
    ]


def _repo_root():
    # python/daitn/_lib.py -> repository root
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def candidates():
    """Paths tried, in order (after $DAITN_LIB)."""
    root = _repo_root()
    out = []
    build = os.environ.get("DTN_BUILD")
    if build:
        out.append(os.path.join(build if os.path.isabs(build) else os.path.join(root, build),
                                "client", "libdaitn.so"))
    out.append(os.path.join(root, "build", "client", "libdaitn.so"))
    return out


def _declare(lib):
    cfg_p = ctypes.POINTER(Config)
    handle = ctypes.c_void_p
    lib.daitn_open.argtypes = [cfg_p, ctypes.POINTER(handle)]
    lib.daitn_open.restype = ctypes.c_int
    lib.daitn_allreduce.argtypes = [handle, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    lib.daitn_allreduce.restype = ctypes.c_int
    lib.daitn_close.argtypes = [handle]
    lib.daitn_close.restype = None
    lib.daitn_job.argtypes = [handle]
    lib.daitn_job.restype = ctypes.POINTER(JobInfo)
    lib.daitn_stats_get.argtypes = [handle, ctypes.POINTER(Stats)]
    lib.daitn_stats_get.restype = None
    if hasattr(lib, "daitn_stats_ext_get"):     # added after v0.1
        lib.daitn_stats_ext_get.argtypes = [handle, ctypes.POINTER(StatsExt)]
        lib.daitn_stats_ext_get.restype = None
    if hasattr(lib, "daitn_peer_gone"):         # added after v0.2
        lib.daitn_peer_gone.argtypes = [handle, ctypes.c_uint16]
        lib.daitn_peer_gone.restype = ctypes.c_int
    if hasattr(lib, "daitn_abort"):             # added after v0.4
        lib.daitn_abort.argtypes = [handle]
        lib.daitn_abort.restype = ctypes.c_int
        lib.daitn_chunks_done.argtypes = [handle, ctypes.POINTER(ctypes.c_uint64),
                                          ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8))]
        lib.daitn_chunks_done.restype = ctypes.c_int
    if hasattr(lib, "daitn_next_round"):        # added after v0.2
        lib.daitn_next_round.argtypes = [handle]
        lib.daitn_next_round.restype = ctypes.c_uint32
        lib.daitn_result_ranks.argtypes = [handle, ctypes.c_uint64,
                                           ctypes.POINTER(ctypes.c_uint16),
                                           ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8))]
        lib.daitn_result_ranks.restype = ctypes.c_int
    if hasattr(lib, "daitn_allreduce_weighted"):  # added after v0.3
        lib.daitn_allreduce_weighted.argtypes = [handle, ctypes.c_void_p, ctypes.c_size_t,
                                                 ctypes.c_int, ctypes.c_double]
        lib.daitn_allreduce_weighted.restype = ctypes.c_int
        lib.daitn_result_weight.argtypes = [handle, ctypes.c_uint64,
                                            ctypes.POINTER(ctypes.c_double)]
        lib.daitn_result_weight.restype = ctypes.c_int
        lib.daitn_skip_rounds.argtypes = [handle, ctypes.c_uint32]
        lib.daitn_skip_rounds.restype = ctypes.c_int
    lib.daitn_last_error.argtypes = [handle]
    lib.daitn_last_error.restype = ctypes.c_char_p
    lib.daitn_strerror.argtypes = [ctypes.c_int]
    lib.daitn_strerror.restype = ctypes.c_char_p
    return lib


_lib = None


def load():
    """Return the loaded library (cached). Raises LibraryNotFound."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    env = os.environ.get("DAITN_LIB")
    if env:
        if not os.path.exists(env):
            raise LibraryNotFound(
                "DAITN_LIB=%s: no such file; point it at a built libdaitn.so "
                "(e.g. build/client/libdaitn.so) or unset it" % env)
        paths = [env]
    else:
        paths = [p for p in candidates() if os.path.exists(p)]
        tried = candidates()
        sys_name = ctypes.util.find_library("daitn")
        if sys_name:
            paths.append(sys_name)
        tried.append("system library path (libdaitn.so)")
    errors = []
    for p in paths:
        try:
            _lib = _declare(ctypes.CDLL(p))
            _lib._daitn_path = p
            return _lib
        except OSError as e:
            errors.append("%s: %s" % (p, e))
        except AttributeError as e:
            errors.append("%s: not libdaitn (%s)" % (p, e))
    if errors:
        raise LibraryNotFound("libdaitn could not be loaded: " + "; ".join(errors))
    raise LibraryNotFound(
        "libdaitn.so not found; tried: %s. Build it (bash scripts/setup.sh, or "
        "meson setup build && ninja -C build) or set DAITN_LIB=/path/to/libdaitn.so"
        % ", ".join(tried))


def path():
    """Path of the loaded library, or None if not loaded yet."""
    return getattr(_lib, "_daitn_path", None) if _lib is not None else None
