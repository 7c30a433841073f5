# SPDX-License-Identifier: BSD-3-Clause
"""DistributedDataParallel communication hook: gradient buckets through daitn.

    import daitn.torch as daitn_torch
    state = daitn_torch.DaitnHookState()          # on every rank, same point
    ddp.register_comm_hook(state, daitn_torch.comm_hook)

The hook sums each gradient bucket over the job's workers through the gateway
and divides by the world size (what DDP's default allreduce does). The gloo
process group stays: it did the rendezvous, and it is the fallback.

Fallback. If the gateway cannot be used (libdaitn missing, no gateway
configured, no answer: -ETIMEDOUT, refused: -ECONNREFUSED, the job's worker
count differs from the world size, any other error) at open or in the middle
of a run, every rank switches to dist.all_reduce on a gloo group, logs once
(logger "daitn", WARNING) with every failed rank's reason, and training goes
on. After a fallback for a reason that may pass (no answer, a refusal, a
gateway restart; not a missing library, a setting or a size mismatch), the
ranks probe the gateway again: rank 0 says when (DAITN_REPROBE_MS after the
fallback, doubling after each failed probe up to 10 minutes), every rank
reopens, and when all can, all return to daitn together (logged once each,
WARNING; a failed probe is logged at INFO). The check costs one small gloo
allreduce per 16 buckets while on gloo.

Slow and dead ranks. A gateway that answers that it holds a chunk for other
ranks is alive: the wait for them follows the process group's timeout (30
minutes by default, as gloo), not DAITN_TIMEOUT_MS, which bounds a silent
gateway only. A rank whose process dies is seen at once: every rank holds a
TCP connection to rank 0 (set up through the rendezvous store), whose close
rank 0 relays; libdaitn is told (daitn_peer_gone), and the
survivors raise a DaitnError (errno ECONNABORTED) naming daitn, the job, the
gone ranks and the reason, logged on every rank and kept in state.error. DDP
(torch 1.13) hands a hook's exception to backward() as a RuntimeError that
quotes it ("... DaitnError: daitn hook: ...").

Settling instead of agreeing. Ranks must switch together or gloo deadlocks
(one rank would wait in gloo for peers that still wait on the gateway), and
a gateway that dies may have sent a bucket's results to some ranks only. A
bucket completes only once every rank has sent all of it, so ranks are at
most one bucket apart. While the gateway works the ranks exchange nothing:
each keeps a copy of its last result (one memcpy per bucket). A rank whose
allreduce fails sends an abort over the watch; every rank abandons its
handle (daitn_abort) and settles, on this thread, idle or with the bucket in
hand: the ranks gather how many buckets each has done; a rank that has the
failed bucket broadcasts its copy, else each chunk's sum comes from the
lowest rank whose buffer holds it (daitn_chunks_done; the others add zeros
through gloo) and chunks nobody has are summed from every rank's data; then
all fall back. Without a watch (file:// rendezvous) the ranks instead agree
after every bucket (an int32 allreduce of error codes) and settle the same
way; at construction they learn together which way they take.

Threads. The hook runs on DDP's autograd thread; it only queues the bucket and
returns a torch.futures.Future. One worker thread per state runs the buckets
in order (libdaitn handles are single-threaded, and all ranks must reduce
buckets in the same order), completes the futures, and releases the GIL while
it waits on the network, so backward keeps computing the next buckets. The
agreement and fallback use their own gloo group (created here, so every rank
must construct the state at the same point), never DDP's group, so they
cannot interleave with collectives DDP or the script issue.

Environment (arguments override):
  DAITN_GATEWAY       gateway address, "10.77.0.1" or "10.77.0.1:47000"
  DAITN_JOB           job id in the policy (default 1)
  DAITN_BIND          local IPv4 to bind (default: any)
  DAITN_PORT          local UDP port; else DAITN_PORT_BASE + rank
  DAITN_PORT_BASE     default 47100
  DAITN_TIMEOUT_MS, DAITN_HELLO_TIMEOUT_MS, DAITN_RTO_US, DAITN_WINDOW,
  DAITN_JOIN_TIMEOUT_MS, DAITN_KEY_FILE
                      struct daitn_config fields (0 = library default)
  DAITN_PEER_TIMEOUT_MS  wait for slow ranks (default: the process group's
                      timeout)
  DAITN_REPROBE_MS    first re-probe after a fallback (default 30000; 0: never)
  DAITN_DISABLE=1     use gloo from the start (logged as the reason)
"""

import errno
import hmac
import logging
import os
import queue
import re
import select
import socket
import struct
import threading
import time

import torch
import torch.distributed as dist

from . import _lib
from .core import Context, dtype_code
from .errors import DaitnError

log = logging.getLogger("daitn")

STATUS_OK = 0
# Codes for failures without an errno of their own (errno values are < 200).
STATUS_NO_LIBRARY = 1001
STATUS_NOT_CONFIGURED = 1002
STATUS_DISABLED = 1003
STATUS_WORLD_MISMATCH = 1004
STATUS_INTERNAL = 1005
STATUS_CONFIG = 1006
STATUS_PARTIAL_JOB = 1007
# Failures a re-probe cannot mend.
_PERMANENT = (STATUS_NO_LIBRARY, STATUS_NOT_CONFIGURED, STATUS_DISABLED, STATUS_WORLD_MISMATCH,
              STATUS_INTERNAL, STATUS_CONFIG, STATUS_PARTIAL_JOB, errno.EINVAL)
PROBE_CHECK_EVERY = 16        # gloo buckets between two "is a probe due?" agreements
PROBE_MAX_MS = 600000
PROBE_JOIN_MS = 10000         # ranks probe together: a join needs no more

_STATUS_NAMES = {
    STATUS_NO_LIBRARY: "libdaitn not found",
    STATUS_NOT_CONFIGURED: "no gateway configured",
    STATUS_DISABLED: "disabled by DAITN_DISABLE",
    STATUS_WORLD_MISMATCH: "job size differs from the world size",
    STATUS_INTERNAL: "internal error",
    STATUS_CONFIG: "invalid DAITN_* setting",
    STATUS_PARTIAL_JOB: "the job closes rounds early (quorum or deadline) or is a fedavg job",
}


def status_name(code):
    if code in _STATUS_NAMES:
        return _STATUS_NAMES[code]
    return errno.errorcode.get(code, "error %d" % code)


def _group_timeout_ms(group):
    """The process group's timeout in ms (gloo's, 30 minutes, if unknown)."""
    try:
        pg = group if group is not None else dist.distributed_c10d._get_default_group()
        t = pg.options._timeout
    except (AttributeError, RuntimeError):
        t = dist.default_pg_timeout
    return max(1, min(int(t.total_seconds() * 1000), 0xFFFFFFFF))


class _PeerWatch:
    """Which peers' processes are gone, seen at once, and which gave up on
    the gateway: a star of TCP connections to rank 0 of the group (the hub),
    set up through the rendezvous store. A killed process's connection
    closes; the hub relays the rank to every other member, and a member
    whose connection to the hub closes reads the hub as gone (a peer that
    exits after training reads as gone too, which is harmless: libdaitn
    fails a call only while the gateway still waits for a gone rank). A
    member's abort (its allreduce failed: every rank must stop waiting on
    the gateway and settle the bucket together) goes to the hub, which
    relays it to the others. A member proves itself with a random token the
    hub put in the store (a host that can reach the hub's port but not the
    rendezvous cannot pose as a rank, "die" or abort), and is in the watch
    (ok) only once the hub answers JOINED: a member the hub refused knows
    it, rather than reading the closed connection as rank 0 gone, and the
    construction's agreement on ok then takes every rank off the watch
    (a hub waits for every member before it relays). One daemon thread per
    rank; on_gone(rank) and on_abort(session, bucket) run on it. ok is False
    without a TCPStore (file rendezvous) or a reachable hub: it only logs,
    and dead ranks are then found by the peer timeout or by gloo."""

    MSG = struct.Struct("!HHII")      # kind, rank, session, bucket
    GONE, ABORT, JOINED = 0, 1, 2

    def __init__(self, rank, world_size, key, on_gone, on_abort):
        self.rank = rank
        self.gone = {}                   # rank -> how it was seen
        self.news = threading.Event()    # set once a peer is gone
        self.ok = False
        self._on_gone = on_gone
        self._on_abort = on_abort
        self._send_lock = threading.Lock()
        self._conns = {}                 # the hub's: socket -> member rank
        self._hub_conn = None            # a member's
        if world_size < 2:
            return
        try:
            store = dist.distributed_c10d._get_default_store()
            host = store.underlying_store.host
            if rank == 0:
                srv = socket.create_server(("", 0), backlog=world_size)
                if dist.get_rank() != 0:   # not the store's host: our address toward it
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                        u.connect((host, 1))
                        host = u.getsockname()[0]
                token = os.urandom(16)
                store.set(key, "%s:%d:%s" % (host, srv.getsockname()[1], token.hex()))
                target, args = self._hub, (srv, world_size, token, store.timeout)
            else:
                host, port, token = store.get(key).decode().rsplit(":", 2)
                conn = socket.create_connection((host, int(port)), timeout=30)
                try:
                    conn.sendall(bytes.fromhex(token) + struct.pack("!H", rank))
                    ack = conn.recv(self.MSG.size, socket.MSG_WAITALL)
                    if len(ack) < self.MSG.size or \
                            self.MSG.unpack(ack)[:2] != (self.JOINED, rank):
                        raise OSError("the hub at %s:%s refused rank %d" % (host, port, rank))
                except BaseException:
                    conn.close()
                    raise
                conn.settimeout(None)
                self._hub_conn = conn
                target, args = self._member, (conn,)
        except (AttributeError, OSError, RuntimeError, ValueError) as e:
            log.warning("daitn: rank %d: no watch on peer processes (%s); a dead rank is "
                        "found by the peer timeout or by gloo", rank, e)
            return
        self.ok = True
        threading.Thread(target=target, args=args, daemon=True, name="daitn-watch").start()

    def _mark(self, peer, how):
        if peer in self.gone or peer == self.rank:
            return
        self.gone[peer] = how
        self.news.set()
        self._on_gone(peer)

    def _send(self, conns, msg):
        """msg to each of conns (None: every member, for the hub)."""
        with self._send_lock:
            for c in list(self._conns) if conns is None else conns:
                try:
                    c.sendall(msg)
                except OSError:
                    pass

    def abort(self, session, bucket):
        """Tell every other rank that this one gave up on bucket `bucket`
        (1-based, of the session's daitn buckets). Any thread."""
        msg = self.MSG.pack(self.ABORT, self.rank, session & 0xFFFFFFFF, bucket & 0xFFFFFFFF)
        self._send([self._hub_conn] if self._hub_conn is not None else None, msg)

    def _hub(self, srv, world_size, token, timeout):
        conns, bufs = self._conns, {}
        srv.settimeout(timeout.total_seconds())
        with srv:
            try:
                while len(conns) < world_size - 1:
                    c, _ = srv.accept()
                    c.settimeout(5)
                    try:
                        hello = c.recv(len(token) + 2, socket.MSG_WAITALL)
                    except OSError:
                        hello = b""
                    peer = struct.unpack("!H", hello[-2:])[0] if len(hello) == \
                        len(token) + 2 else 0
                    if not hmac.compare_digest(hello[:len(token)], token) or \
                            not 0 < peer < world_size or peer in conns.values():
                        c.close()       # not a rank of this group
                        continue
                    try:
                        c.sendall(self.MSG.pack(self.JOINED, peer, 0, 0))
                    except OSError:
                        c.close()
                        continue
                    c.settimeout(None)
                    with self._send_lock:
                        conns[c] = peer
                    bufs[c] = b""
            except OSError as e:
                log.warning("daitn: rank 0: the peer watch did not form (%s)", e)
                return
        while conns:
            ready, _, _ = select.select(list(conns), [], [])
            for c in ready:
                try:
                    data = c.recv(4096)
                except OSError:
                    data = b""
                if data:
                    bufs[c] += data
                    while len(bufs[c]) >= self.MSG.size:
                        msg, bufs[c] = bufs[c][:self.MSG.size], bufs[c][self.MSG.size:]
                        kind, _, session, bucket = self.MSG.unpack(msg)
                        if kind != self.ABORT:
                            continue
                        # The sender's own rank, whatever it wrote.
                        msg = self.MSG.pack(kind, conns[c], session, bucket)
                        self._send([o for o in conns if o is not c], msg)
                        self._on_abort(session, bucket)
                    continue
                with self._send_lock:
                    peer = conns.pop(c)
                del bufs[c]
                c.close()
                self._mark(peer, "its process closed its connections")
                self._send(list(conns), self.MSG.pack(self.GONE, peer, 0, 0))

    def _member(self, conn):
        with conn:
            while True:
                try:
                    data = conn.recv(self.MSG.size, socket.MSG_WAITALL)
                except OSError:
                    data = b""
                if len(data) < self.MSG.size:
                    self._mark(0, "its process closed its connections")
                    return
                kind, peer, session, bucket = self.MSG.unpack(data)
                if kind == self.GONE:
                    self._mark(peer, "its process closed its connections")
                elif kind == self.ABORT:
                    self._on_abort(session, bucket)


_WATCH_SEQ = [0]   # states made so far: the same on every rank (construction is collective)


def _env_int(name, default, limit=0xFFFFFFFF):
    """The integer in environment variable name (default if unset), in
    0..limit; ValueError naming the variable otherwise."""
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v, 0)
    except ValueError:
        raise ValueError("%s=%r: not an integer" % (name, v)) from None
    if not 0 <= n <= limit:
        raise ValueError("%s=%r: not in 0..%d" % (name, v, limit))
    return n


# An integer type of each element size: a bucket's bytes through gloo's broadcast.
_SAME_SIZE_INT = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
_SETTLE = object()   # queued by the watch thread: a peer gave up on the gateway

# What gloo (torch 1.13) can sum; other floating types go as float32.
_GLOO_SUMS = (torch.float32, torch.float64, torch.float16, torch.int8, torch.uint8,
              torch.int32, torch.int64)


class DaitnHookState:
    """State of the daitn communication hook for one DDP model.

    Collective: every rank of process_group constructs it at the same point
    (it creates a gloo group and a watch on the peers' processes, opens the
    gateway and agrees on the outcome).
    Attributes after construction: mode ("daitn" or "gloo"), fallback_reason
    (None while on daitn), stats (dict of counters), job (HELLO_ACK fields),
    error (the DaitnError that stopped training, else None).
    """

    def __init__(self, process_group=None, gateway=None, job=None, bind_addr=None,
                 bind_port=None, port_base=None, timeout_ms=None, hello_timeout_ms=None,
                 rto_us=None, window=None, control_group=None, enable=None,
                 peer_timeout_ms=None, reprobe_ms=None):
        self.process_group = process_group
        self.rank = dist.get_rank(process_group)
        self.world_size = dist.get_world_size(process_group)
        self.control_group = control_group if control_group is not None else \
            dist.new_group(backend="gloo")
        if dist.get_world_size(self.control_group) != self.world_size:
            raise ValueError("daitn: control_group has %d ranks, the DDP group %d"
                             % (dist.get_world_size(self.control_group), self.world_size))
        self.ctx = None
        self.mode = "daitn"
        self.fallback_reason = None
        self.error = None
        self._reasons = [None] * self.world_size   # each rank's, after a failed agreement
        self.job = None
        self.job_id = None
        _WATCH_SEQ[0] += 1
        self.watch = _PeerWatch(self.rank, self.world_size, "daitn/watch/%d" % _WATCH_SEQ[0],
                                self._peer_gone, self._abort_news)
        self._warned_dtype = set()
        self._queue = queue.Queue()
        self._thread = None
        self._pending_error = None    # a settlement that failed while this rank was idle
        # One daitn session per open (every rank opens together): buckets
        # done in it, the last one's result kept for a rank that missed it,
        # and the first bucket a peer gave up on (its abort, via the watch).
        self._lock = threading.Lock()  # session, ctx and abort against the watch thread
        self._session = 0
        self._done = 0
        self._keep = {}
        self._kept = None
        self._abort_at = None
        self._aborted_sent = False
        self.stats = {"buckets_daitn": 0, "buckets_gloo": 0, "bytes_daitn": 0,
                      "bytes_gloo": 0, "daitn_s": 0.0, "gloo_s": 0.0, "agree_s": 0.0,
                      "agreements": 0, "copy_s": 0.0, "settlements": 0}

        if peer_timeout_ms is None:
            peer_timeout_ms = _group_timeout_ms(process_group)
        self._open_args = (gateway, job, bind_addr, bind_port, port_base, timeout_ms,
                           hello_timeout_ms, rto_us, window, enable, peer_timeout_ms)
        self._probing = False
        self.clock = time.monotonic  # the re-probe schedule's clock (tests drive it)
        self._probe_at = None        # clock() of the next probe (rank 0 decides)
        self._gloo_since = 0         # buckets through gloo since the fallback
        self._fell_at = None
        try:
            self._probe_ms = reprobe_ms if reprobe_ms is not None else \
                _env_int("DAITN_REPROBE_MS", 30000)
        except ValueError as e:
            self._probe_ms, code, reason = 0, STATUS_CONFIG, str(e)
        else:
            code, reason = self._open(*self._open_args)
        failed = self._agree(code, reason)
        # Without per-bucket agreements a rank that gives up must reach the
        # others at once (the watch); every rank must know that all can.
        lazy = torch.tensor([int(self.watch.ok or self.world_size == 1)], dtype=torch.int32)
        dist.all_reduce(lazy, op=dist.ReduceOp.MIN, group=self.control_group)
        self.lazy = bool(lazy[0])
        if failed:
            self._fall_back(code, reason, failed, "at open")

    # -- set-up -------------------------------------------------------------

    def _open(self, *args):
        """Try to join the job; (status code, reason) with code 0 on success.
        A setting that does not parse is this rank's failure like any other:
        every rank learns it in the agreement and falls back with it, instead
        of this rank dying alone and the others hanging in gloo."""
        with self._lock:
            self._session += 1
            self._done, self._kept, self._abort_at, self._aborted_sent = 0, None, None, False
        try:
            return self._open_checked(*args)
        except ValueError as e:
            return STATUS_CONFIG, str(e)

    def _open_checked(self, gateway, job, bind_addr, bind_port, port_base, timeout_ms,
                      hello_timeout_ms, rto_us, window, enable, peer_timeout_ms):
        if enable is None:
            enable = os.environ.get("DAITN_DISABLE", "") in ("", "0")
        if not enable:
            return STATUS_DISABLED, "daitn disabled (DAITN_DISABLE=1 or enable=False)"
        gateway = gateway or os.environ.get("DAITN_GATEWAY", "")
        if not gateway:
            return STATUS_NOT_CONFIGURED, "no gateway configured: set DAITN_GATEWAY=IP[:PORT]"
        gw_port = 0
        if ":" in gateway:
            gateway, p = gateway.rsplit(":", 1)
            if not p.isdigit() or not 0 < int(p) < 65536:
                raise ValueError("DAITN_GATEWAY=%r: the port %r is not a number in 1..65535"
                                 % (os.environ.get("DAITN_GATEWAY", gateway + ":" + p), p))
            gw_port = int(p)
        job = job if job is not None else _env_int("DAITN_JOB", 1, 0xFFFF)
        bind_addr = bind_addr or os.environ.get("DAITN_BIND") or None
        if bind_port is None:
            bind_port = _env_int("DAITN_PORT", 0, 0xFFFF)
        if not bind_port:
            base = port_base if port_base is not None else _env_int("DAITN_PORT_BASE", 47100,
                                                                    0xFFFF)
            bind_port = base + self.rank
            if bind_port > 0xFFFF:
                raise ValueError("DAITN_PORT_BASE=%d + rank %d is past port 65535"
                                 % (base, self.rank))
        kw = dict(
            hello_timeout_ms=hello_timeout_ms if hello_timeout_ms is not None
            else _env_int("DAITN_HELLO_TIMEOUT_MS", 0),
            timeout_ms=timeout_ms if timeout_ms is not None else _env_int("DAITN_TIMEOUT_MS", 0),
            rto_us=rto_us if rto_us is not None else _env_int("DAITN_RTO_US", 0),
            window=window if window is not None else _env_int("DAITN_WINDOW", 0),
            join_timeout_ms=min(_env_int("DAITN_JOIN_TIMEOUT_MS", 0) or 60000, PROBE_JOIN_MS)
            if self._probing else _env_int("DAITN_JOIN_TIMEOUT_MS", 0),
            key_file=os.environ.get("DAITN_KEY_FILE") or None,
            peer_timeout_ms=_env_int("DAITN_PEER_TIMEOUT_MS", peer_timeout_ms))
        self.job_id = job
        try:
            ctx = Context(gateway, job, self.rank, bind_port, gateway_port=gw_port,
                          bind_addr=bind_addr, **kw)
            with self._lock:
                self.ctx = ctx
        except _lib.LibraryNotFound as e:
            return STATUS_NO_LIBRARY, str(e)
        except DaitnError as e:
            return e.errno, str(e)
        except Exception as e:  # a bug must not leave the peers waiting in gloo
            return STATUS_INTERNAL, "%s: %s" % (type(e).__name__, e)
        self.job = self.ctx.job
        for peer in list(self.watch.gone):
            self.ctx.peer_gone(peer)
        if self.job["n_workers"] != self.world_size:
            return STATUS_WORLD_MISMATCH, (
                "job %d has %d workers in the gateway's policy but the DDP world has %d ranks"
                % (job, self.job["n_workers"], self.world_size))
        if self.job.get("fedavg"):
            return STATUS_PARTIAL_JOB, (
                "job %d is a federated average (\"mode\": \"fedavg\"): its rounds are "
                "weighted means of models, not DDP's gradient sums; use "
                "daitn.torch.average_parameters, or a job without \"mode\"" % job)
        if self.job.get("partial"):
            # DDP averages every rank's gradient in every bucket; a result
            # that leaves ranks out is not that.
            return STATUS_PARTIAL_JOB, (
                "job %d closes rounds at a quorum or a deadline (its policy's "
                "\"completion\"); the DDP hook needs every rank in every bucket: give it "
                "a job without \"completion\"" % job)
        return STATUS_OK, None

    def _peer_gone(self, peer):
        ctx = self.ctx
        if ctx is not None:
            ctx.peer_gone(peer)

    def _abort_news(self, session, bucket):
        """The watch thread: a peer gave up on bucket `bucket` of session
        `session`. Stop waiting on the gateway and, if idle, wake the worker
        to settle (it may hold that bucket's result for the peer)."""
        with self._lock:
            if session != self._session & 0xFFFFFFFF or self.mode != "daitn":
                return
            if self._abort_at is None or bucket < self._abort_at:
                self._abort_at = bucket
            ctx = self.ctx
        if ctx is not None:
            ctx.abort()
        self._queue.put(_SETTLE)

    def _gone_error(self, reason=None, cause=None):
        """The DaitnError for survivors of a gone rank (logged, kept in
        self.error). gloo and the watcher see a closed connection at about
        the same moment; the watcher gets 2 s to name the rank."""
        if cause is not None:
            self.watch.news.wait(2.0)
        gone = dict(self.watch.gone)
        job = "job %s" % self.job_id if self.job_id is not None else "the job"
        if gone:
            text = "daitn %s: rank(s) %s gone (%s); the surviving ranks cannot finish the " \
                   "step: restart the job" % (job, ", ".join(str(r) for r in sorted(gone)),
                                               "; ".join(gone[r] for r in sorted(gone)))
        else:
            text = "daitn %s: the process group failed while the ranks agreed on a bucket " \
                   "(%s)" % (job, cause)
        if reason:
            text += "; this rank's allreduce: %s" % reason.replace(" (ECONNABORTED)", "")
        self.error = DaitnError(errno.ECONNABORTED, text, "daitn hook")
        log.error("daitn: rank %d: %s", self.rank, self.error)
        return self.error

    def _agree(self, code, reason=None):
        """Allreduce every rank's status; the list of (rank, code) that
        failed. Raises the DaitnError of _gone_error() if a rank is gone."""
        if self.watch.gone or code == errno.ECONNABORTED:
            raise self._gone_error(reason, "a rank is gone")
        t0 = time.perf_counter()
        status = torch.zeros(self.world_size, dtype=torch.int32)
        status[self.rank] = code
        try:
            dist.all_reduce(status, group=self.control_group)
        except RuntimeError as e:
            raise self._gone_error(reason, e) from e
        self.stats["agree_s"] += time.perf_counter() - t0
        self.stats["agreements"] += 1
        failed = [(r, int(c)) for r, c in enumerate(status.tolist()) if c != 0]
        if failed:
            # Every rank learns every failed rank's reason (collective: every
            # rank sees the same failed list).
            reasons = [None] * self.world_size
            dist.all_gather_object(reasons, reason, group=self.control_group)
            self._reasons = reasons
        return failed

    def _fall_back(self, code, reason, failed, when):
        self.mode = "gloo"
        def same(a, b):   # the same sentence but for rank numbers
            return a is not None and b is not None and \
                re.sub(r"rank \d+", "rank N", a) == re.sub(r"rank \d+", "rank N", b)

        def named(r, c):
            text = self._reasons[r] or status_name(c)
            return "%d (%s)" % (r, "the same" if code != STATUS_OK and same(text, reason)
                                else text)
        if code != STATUS_OK:
            why = "this rank: %s" % reason
        else:
            why = "rank(s) %s failed" % ", ".join(named(r, c) for r, c in failed)
        others = [(r, c) for r, c in failed if r != self.rank]
        if code != STATUS_OK and others:
            why += "; rank(s) %s failed too" % ", ".join(named(r, c) for r, c in others)
        self.fallback_reason = "%s: %s" % (when, why)
        self._fell_at = self.clock()
        self._gloo_since = 0
        if self._probe_ms and not any(c in _PERMANENT for _, c in failed):
            self._probe_at = self._fell_at + self._probe_ms / 1000.0
            self.stats["probe_ms"] = self._probe_ms
        log.warning("daitn: rank %d falls back to gloo allreduce %s", self.rank,
                    self.fallback_reason)
        if self.ctx is not None:
            self.ctx.close()
            self.ctx = None

    # -- per bucket ---------------------------------------------------------

    def submit(self, tensor):
        """Queue a bucket; returns a Future completed with the averaged
        tensor, or failed with the bucket's error."""
        fut = torch.futures.Future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="daitn-hook", daemon=True)
            self._thread.start()
        self._queue.put((tensor, fut))
        # torch 1.13's set_exception stores the exception as the future's
        # value, which DDP's C++ side then fails to cast to a Tensor; a
        # callback that raises it fails the chained future as an error
        # instead, whose text names the DaitnError (1.6 us a bucket here).
        return fut.then(_future_value)

    def _serve(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            if item is _SETTLE:
                # A peer gave up on a bucket this rank has finished: settle
                # now, idle (this rank's next bucket may never come before
                # the peer has its result).
                if self.mode == "daitn" and self._abort_at is not None and \
                        self._done >= self._abort_at:
                    try:
                        self._settle(STATUS_OK, None, None, False)
                    except BaseException as e:  # noqa: B036 -- the next bucket raises it
                        self._pending_error = e
                continue
            tensor, fut = item
            try:
                fut.set_result(self._reduce(tensor))
            except BaseException as e:  # noqa: B036 -- DDP must see it, not the thread
                fut.set_exception(e)

    def _gloo(self, tensor, divided=False):
        """Average tensor over the ranks with gloo, in place. float16 is
        divided first, as PyTorch's fp16 hooks do, so that a sum past 65504
        cannot overflow (divided: it already is); a type gloo cannot sum
        (bfloat16 in torch 1.13) goes as float32 and comes back; sparse
        tensors as they are."""
        t0 = time.perf_counter()
        try:
            if tensor.is_sparse:
                dist.all_reduce(tensor, group=self.control_group)
                out = tensor.div_(self.world_size)
            elif tensor.dtype == torch.float16:
                if not divided:
                    tensor.div_(self.world_size)
                dist.all_reduce(tensor, group=self.control_group)
                out = tensor
            elif tensor.dtype in _GLOO_SUMS:
                dist.all_reduce(tensor, group=self.control_group)
                out = tensor.div_(self.world_size)
            else:
                wide = tensor.to(torch.float32)
                dist.all_reduce(wide, group=self.control_group)
                out = tensor.copy_(wide.div_(self.world_size))
        except RuntimeError as e:
            raise self._gone_error(None, e) from e
        self.stats["gloo_s"] += time.perf_counter() - t0
        self.stats["buckets_gloo"] += 1
        self.stats["bytes_gloo"] += tensor.numel() * tensor.element_size() \
            if not tensor.is_sparse else tensor._values().numel() * tensor.element_size()
        return out

    def _job_accepts(self, tensor):
        try:
            code = dtype_code(tensor)
        except TypeError:
            code = None
        wire = self.job["dtype_code"]
        ok = code == wire or (wire == _lib.DAITN_INT32 and code == _lib.DAITN_FLOAT32)
        if not ok and tensor.dtype not in self._warned_dtype:
            self._warned_dtype.add(tensor.dtype)
            log.warning("daitn: rank %d: %s buckets go through gloo: the job's wire type is %s",
                        self.rank, tensor.dtype, self.job["dtype"])
        return ok

    def _reduce(self, tensor):
        # The dtype and layout tests are the same on every rank (same model),
        # so skipping daitn for a bucket needs no agreement.
        if self._pending_error is not None:
            raise self._pending_error
        if tensor.is_sparse:
            if "sparse" not in self._warned_dtype:
                self._warned_dtype.add("sparse")
                log.warning("daitn: rank %d: sparse gradient buckets go through gloo; "
                            "the dense ones stay on daitn", self.rank)
            return self._gloo(tensor)
        if self.mode != "daitn" and self._probe_at is not None:
            self._probe()
        if self.mode != "daitn" or not self._job_accepts(tensor):
            return self._gloo(tensor)
        # float16 is averaged in PyTorch's order, divided first: the
        # gateway's sum is rounded to float16 once, and a sum past 65504
        # would be inf where each rank's share is not.
        half = tensor.dtype == torch.float16
        if half:
            tensor.div_(self.world_size)
        t1 = time.perf_counter()
        code, reason = STATUS_OK, None
        try:
            # ECANCELED at once, sending nothing, once a peer gave up (abort).
            self.ctx.allreduce(tensor)
        except DaitnError as e:
            code, reason = e.errno, str(e)
        except Exception as e:  # a bug must not leave the peers waiting in gloo
            code, reason = STATUS_INTERNAL, "%s: %s" % (type(e).__name__, e)
        self.stats["daitn_s"] += time.perf_counter() - t1
        if self.lazy:
            if code == STATUS_OK:
                return self._finish(tensor, half)
            self._abort_send()
        elif not self._agree(code, reason):
            return self._finish(tensor, half)
        return self._settle(code, reason, tensor, half)

    def _finish(self, tensor, half):
        """A bucket summed by the gateway: averaged, and a copy kept until
        this rank's next bucket proves that every rank has this one."""
        self._done += 1
        self.stats["buckets_daitn"] += 1
        self.stats["bytes_daitn"] += tensor.numel() * tensor.element_size()
        out = tensor if half else tensor.div_(self.world_size)
        if self.lazy and self.world_size > 1:
            t0 = time.perf_counter()
            key = (tensor.numel(), tensor.dtype)
            keep = self._keep.get(key)
            if keep is None:
                keep = self._keep[key] = torch.empty_like(tensor)
            self._kept = keep.copy_(out)
            self.stats["copy_s"] += time.perf_counter() - t0
        return out

    def _abort_send(self):
        with self._lock:
            sent, self._aborted_sent = self._aborted_sent, True
            if self._abort_at is None or self._done + 1 < self._abort_at:
                self._abort_at = self._done + 1
            session = self._session
        if not sent:
            self.watch.abort(session, self._done + 1)

    def _settle(self, code, reason, tensor, half):
        """Collective, every rank of the session: a rank gave up on the
        gateway. Ranks are at most one bucket apart (a bucket completes only
        once every rank has sent all of it, and each rank sends its buckets
        in order): some finished bucket b and may be in b + 1, the others
        are in b. Bucket b is settled for those in it: from a rank that has
        its result (kept), else chunk by chunk, each chunk's sum from a rank
        whose buffer holds it and the others' data summed through gloo. Then
        every rank falls back; a bucket of b + 1 in hand goes through gloo.
        tensor: this rank's bucket in hand (None: idle), half: it is float16
        already divided. Returns tensor averaged, or None when idle."""
        if self.watch.gone or code == errno.ECONNABORTED:
            raise self._gone_error(reason, "a rank is gone")
        self.stats["settlements"] += 1
        mine = torch.tensor([self._done, code], dtype=torch.int64)
        status = [torch.empty_like(mine) for _ in range(self.world_size)]
        reasons = [None] * self.world_size
        try:
            dist.all_gather(status, mine, group=self.control_group)
            dist.all_gather_object(reasons, reason, group=self.control_group)
            done = [int(t[0]) for t in status]
            codes = [int(t[1]) for t in status]
            first = min(done)
            ahead = [r for r in range(self.world_size) if done[r] > first]
            out = None
            if ahead:
                held = self._kept if self._done > first else tensor
                dist.broadcast(held.view(_SAME_SIZE_INT[held.element_size()]),
                               src=ahead[0], group=self.control_group)
                if self._done == first:
                    out = tensor
                    self.stats["buckets_daitn"] += 1
        except RuntimeError as e:
            raise self._gone_error(reason, e) from e
        self._reasons = reasons
        if tensor is not None and out is None and not ahead:
            self._unshare(tensor)     # before the fallback closes the handle
        # Name the first failures, not the ranks that stopped because of them.
        failed = [(r, c) for r, c in enumerate(codes) if c not in (STATUS_OK, errno.ECANCELED)] \
            or [(r, c) for r, c in enumerate(codes) if c != STATUS_OK]
        own = code if code != errno.ECANCELED else STATUS_OK
        when = "mid-run (bucket %d of the run%s)" % (first + 1, ", from rank %d's copy of its "
                                                     "result" % ahead[0] if ahead else "")
        self._fall_back(own, reason if own else None, failed, when)
        if tensor is None or out is not None:
            return out
        return self._gloo(tensor, divided=half)

    def _unshare(self, tensor):
        """Before the chunk-by-chunk settlement of a bucket every rank is in
        (collective): zero each chunk whose sum another rank holds, lower
        ranks first, so that the gloo sum gives that sum (x + 0 is exact)
        and, where no rank holds it, the sum of every rank's data."""
        ce = max(1, self.job["chunk_size"] // tensor.element_size())
        n = (tensor.numel() + ce - 1) // ce
        size = (n + 7) // 8
        ctx = self.ctx
        bits = ctx.chunks_done() if ctx is not None else None
        if bits is None or len(bits) != size:
            bits = bytes(size)
        maps = [torch.empty(size, dtype=torch.uint8) for _ in range(self.world_size)]
        try:
            dist.all_gather(maps, torch.frombuffer(bytearray(bits), dtype=torch.uint8),
                            group=self.control_group)
        except RuntimeError as e:
            raise self._gone_error(None, e) from e
        shift = torch.arange(8, dtype=torch.uint8)
        held = [((m.unsqueeze(1) >> shift) & 1).flatten()[:n].bool() for m in maps]
        taken = torch.zeros(n, dtype=torch.bool)
        other = torch.zeros(n, dtype=torch.bool)
        for r in range(self.world_size):
            fresh = held[r] & ~taken
            if r != self.rank:
                other |= fresh
            taken |= fresh
        if bool(other.any()):
            flat = tensor.view(-1)
            flat.masked_fill_(other.repeat_interleave(ce)[:flat.numel()], 0)

    def _probe(self):
        """On gloo after a passing failure: every PROBE_CHECK_EVERY buckets
        the ranks agree whether rank 0's clock says a probe is due; then all
        reopen and return to daitn together if all can (collective, in bucket
        order like everything on this thread)."""
        self._gloo_since += 1
        if self._gloo_since % PROBE_CHECK_EVERY:
            return
        due = torch.tensor([int(self.rank == 0 and self.clock() >= self._probe_at)],
                           dtype=torch.int32)
        try:
            dist.all_reduce(due, group=self.control_group)
        except RuntimeError as e:
            raise self._gone_error(None, e) from e
        if not int(due[0]):
            return
        self.stats["probes"] = self.stats.get("probes", 0) + 1
        self._probing = True
        try:
            code, reason = self._open(*self._open_args)
        finally:
            self._probing = False
        failed = self._agree(code, reason)
        if not failed:
            log.warning("daitn: rank %d returns to daitn allreduce after %.1f s on gloo: "
                        "every rank reached the gateway again", self.rank,
                        self.clock() - self._fell_at)
            self.mode, self.fallback_reason, self._probe_at = "daitn", None, None
            self.stats["returns"] = self.stats.get("returns", 0) + 1
            return
        if self.ctx is not None:
            self.ctx.close()
            self.ctx = None
        self.stats["probe_ms"] = min(self.stats["probe_ms"] * 2, PROBE_MAX_MS)
        self._probe_at = self.clock() + self.stats["probe_ms"] / 1000.0
        log.info("daitn: rank %d: the gateway is not usable yet (%s); next probe in %.1f s",
                 self.rank, ", ".join("rank %d: %s" % (r, self._reasons[r] or status_name(c))
                                      for r, c in failed), self.stats["probe_ms"] / 1000.0)

    def shutdown(self):
        """Stop the worker thread and leave the job. Not collective."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self.ctx is not None:
            self.ctx.close()
            self.ctx = None

    def daitn_stats(self):
        """libdaitn's counters for this rank ({} once fallen back)."""
        return self.ctx.stats() if self.ctx is not None else {}


def _future_value(fut):
    """A hook future's value, or its exception raised (see submit)."""
    return fut.value()


def comm_hook(state, bucket):
    """DDP communication hook: ddp.register_comm_hook(state, comm_hook)."""
    return state.submit(bucket.buffer())


def bf16_compress_wrapper(hook):
    """Wrap a DDP hook so that buckets travel as bfloat16, on CPU too (torch's
    own wrapper needs CUDA and NCCL): a float32 model on a bfloat16 job,
    ddp.register_comm_hook(state, bf16_compress_wrapper(comm_hook)). The
    averaged bucket comes back in its own type."""
    def wrapper(state, bucket):
        buf = bucket.buffer()
        bucket.set_buffer(buf.to(torch.bfloat16))
        fut = hook(state, bucket)

        def decompress(f):
            buf.copy_(f.value())
            return buf
        return fut.then(decompress)
    return wrapper


_TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def average_parameters(ctx, params, weight):
    """Federated averaging of a model: replace every tensor of params (e.g.
    model.parameters(), in the same order on every client) by its mean over
    the clients in the round, each weighted by its client's weight (e.g. its
    sample count). ctx is a daitn.Context of a "mode": "fedavg" job.

    The tensors travel as one flat CPU tensor of the job's type (one copy out
    and one back, in the parameters' own types and devices) in one call: one
    round, each of whose chunks averages exactly the clients in it
    (ctx.result_ranks). On a partial job the model must fit the job's slots
    (one call, one round: a client that missed a round must not find another
    part of the model in the next); a larger one raises DaitnInvalidError
    naming what fits. Raises daitn.DaitnStaleError when a partial job closed
    the round without this client: the parameters are then left as they
    were (the caller keeps its own model), and the next call takes part in
    the job's round."""
    import daitn
    job = ctx.job
    if not job.get("fedavg"):
        raise daitn.DaitnInvalidError(errno.EINVAL, "job is not a federated average "
                                      "(\"mode\": \"fedavg\")", "average_parameters")
    params = [p for p in params]
    if not params:
        return
    dtype = _TORCH_DTYPES[job["dtype"]]
    with torch.no_grad():
        flat = torch.cat([p.detach().reshape(-1).to(device="cpu", dtype=dtype)
                          for p in params])
        per = job["chunk_size"] // flat.element_size() - 1
        if job.get("partial") and flat.numel() > job["n_slots"] * per:
            raise daitn.DaitnInvalidError(
                errno.EINVAL, "a partial job's model must fit one call: %d parameters, "
                "the job's %d slots hold %d (give it more slot_memory or larger chunks)"
                % (flat.numel(), job["n_slots"], job["n_slots"] * per), "average_parameters")
        ctx.allreduce_weighted(flat, weight)
        at = 0
        for p in params:
            n = p.numel()
            p.copy_(flat[at:at + n].reshape(p.shape))
            at += n
