#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Prometheus exporter for daitn-gw: the gateway's telemetry in the
Prometheus text format (docs/telemetry.md, "Prometheus").

  daitn-exporter.py [-f PREFIX | --socket PATH] [--listen ADDR] [--port N]
  daitn-exporter.py [-f PREFIX | --socket PATH] --once     (print and exit)

Every scrape reads the gateway's DPDK telemetry socket
(<runtime dir>/dpdk/<PREFIX>/dpdk_telemetry.v2, as dpdk-telemetry.py and
daitnctl do) and serves the same figures: policy and lcore versions, reloads,
per-lcore, per-port, per-job, per-tenant and per-node counters, drops by
reason, node liveness. A gateway that does not answer gives daitn_up 0 and
nothing else, so a scrape never fails on its account. Listens on 127.0.0.1
by default (the figures name tenants, jobs and nodes). Needs Debian's
python3-prometheus-client; run it with /usr/bin/python3.
"""
import argparse
import json
import os
import socket
import sys
import time
from datetime import datetime

try:
    from prometheus_client import start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, REGISTRY
    from prometheus_client.exposition import generate_latest
    from prometheus_client.registry import CollectorRegistry
except ImportError:
    sys.exit("daitn-exporter: python3-prometheus-client is missing "
             "(apt-get install python3-prometheus-client; run with /usr/bin/python3)")

SOCK_NAME = "dpdk_telemetry.v2"


def runtime_base():
    d = os.environ.get("RUNTIME_DIRECTORY")
    if not d:
        d = "/var/run" if os.getuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(d, "dpdk")


class Telemetry:
    """One connection per scrape: commands in order, one reply each."""

    def __init__(self, path, timeout):
        self.path, self.timeout = path, timeout

    def __enter__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(self.timeout)
        self.s.connect(self.path)
        info = json.loads(self.s.recv(1024).decode())
        self.max = int(info.get("max_output_len", 16384))
        return self

    def __exit__(self, *exc):
        self.s.close()

    def get(self, cmd):
        self.s.send(cmd.encode())
        reply = json.loads(self.s.recv(self.max + 64).decode())
        v = reply.get(cmd.split(",")[0])
        if v is None:
            raise ValueError(f"{cmd}: no data (unknown command or bad parameter)")
        return v

    def pages(self, cmd):
        """Every page of a paged listing, merged column by column."""
        merged, nxt = None, 0
        while nxt is not None:
            page = self.get(f"{cmd},{nxt}")
            if merged is None:
                merged = dict(page)
            else:
                for k, v in page.items():
                    if isinstance(v, list):
                        merged[k] = merged.get(k, []) + v
            nxt = page.get("next")
        merged.pop("next", None)
        return merged


def rows(d, key):
    """The rows of a dictionary of parallel arrays (key is one of them), as dicts."""
    cols = [k for k in d if isinstance(d[k], list)]
    return [dict(zip(cols, vals)) for vals in zip(*[d[k] for k in cols])] if d.get(key) else []


class Collector:
    def __init__(self, path, timeout):
        self.path, self.timeout = path, timeout
        self.answered = False

    def collect(self):
        up = GaugeMetricFamily("daitn_up", "1 if the gateway's telemetry socket answered",
                               labels=["socket"])
        try:
            with Telemetry(self.path, self.timeout) as t:
                data = {
                    "status": t.get("/daitn/status"), "stats": t.get("/daitn/stats"),
                    "lcores": t.get("/daitn/lcores"), "ports": t.get("/daitn/ports"),
                    "drops": t.get("/daitn/drops"), "tenants": t.pages("/daitn/tenants"),
                    "nodes": t.pages("/daitn/nodes"), "jobs": t.pages("/daitn/job_stats"),
                }
        except (OSError, ValueError) as e:
            print(f"daitn-exporter: {self.path}: {e}", file=sys.stderr)
            self.answered = False
            up.add_metric([self.path], 0)
            yield up
            return
        self.answered = True
        up.add_metric([self.path], 1)
        yield up
        yield from self.policy(data["status"])
        yield from self.lcores(data["lcores"])
        yield from self.ports(data["ports"])
        yield from self.fates(data["stats"], data["drops"])
        yield from self.tenants(data["tenants"])
        yield from self.nodes(data["nodes"])
        yield from self.jobs(data["jobs"])

    @staticmethod
    def policy(s):
        g = GaugeMetricFamily("daitn_policy_version", "Policy version the gateway runs")
        g.add_metric([], s["policy_version"])
        yield g
        g = GaugeMetricFamily("daitn_tables_generation", "Generation of the published tables")
        g.add_metric([], s["generation"])
        yield g
        for name, key in (("jobs", "jobs"), ("models", "models"), ("tenants", "tenants"),
                          ("nodes", "nodes")):
            g = GaugeMetricFamily(f"daitn_policy_{name}", f"{name.capitalize()} in the policy")
            g.add_metric([], s[key])
            yield g
        c = CounterMetricFamily("daitn_reloads", "Policy reloads by result", labels=["result"])
        for r in ("ok", "invalid", "unreadable", "refused"):
            c.add_metric([r], s[f"reloads_{r}"])
        yield c
        c = CounterMetricFamily("daitn_reload_triggers", "Policy reloads by trigger",
                                labels=["trigger"])
        for tr in ("sighup", "file_change", "daitnctl"):
            c.add_metric([tr], s[f"reloads_{tr}"])
        yield c
        g = GaugeMetricFamily("daitn_last_reload_success",
                              "1 if the last reload was applied, 0 if it was refused",
                              labels=["trigger", "result"])
        g.add_metric([s["last_reload_trigger"], s["last_reload_result"]],
                     1 if s["last_reload_result"] == "ok" else 0)
        yield g
        g = GaugeMetricFamily("daitn_last_reload_seconds",
                              "Last reload: from the trigger until every lcore ran it")
        g.add_metric([], s["last_reload_total_us"] / 1e6)
        yield g
        g = GaugeMetricFamily("daitn_last_reload_errors", "Diagnostics of the last reload")
        g.add_metric([], s["last_reload_n_errors"])
        yield g
        if s.get("last_reload_time"):
            ts = datetime.strptime(s["last_reload_time"].replace("Z", "+0000"),
                                   "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            g = GaugeMetricFamily("daitn_last_reload_timestamp_seconds",
                                  "When the last reload was triggered (Unix time)")
            g.add_metric([], ts)
            yield g
        for name, key, help_ in (("policy_version", "lcore_versions", "Policy version it runs"),
                                 ("generation", "lcore_generations", "Table generation it runs")):
            g = GaugeMetricFamily(f"daitn_lcore_{name}", help_, labels=["lcore"])
            for lc, v in zip(s["lcores"], s[key]):
                g.add_metric([str(lc)], v)
            yield g
        for st in ("up", "down", "never_seen"):
            g = GaugeMetricFamily(f"daitn_nodes_{st}", f"Nodes {st.replace('_', ' ')}")
            g.add_metric([], s.get(f"nodes_{st}", 0))
            yield g

    @staticmethod
    def lcores(d):
        spec = (("rx", "Packets received"), ("tx", "Packets handed to the PMD"),
                ("aggregated", "Contributions aggregated"), ("completed", "Chunks completed"),
                ("dropped", "Packets dropped, all reasons"), ("polls", "Loop iterations"))
        for key, help_ in spec:
            c = CounterMetricFamily(f"daitn_lcore_{key}", help_, labels=["lcore", "shard"])
            for r in rows(d, "shard"):
                c.add_metric([str(r["lcore"]), str(r["shard"])], r[key])
            yield c
        for key, help_ in (("slot_memory", "Slot memory of the lcore"),
                           ("slot_memory_used", "Slot memory charged by the jobs")):
            g = GaugeMetricFamily(f"daitn_lcore_{key}_bytes", help_, labels=["lcore", "shard"])
            for r in rows(d, "shard"):
                g.add_metric([str(r["lcore"]), str(r["shard"])], r[key])
            yield g

    @staticmethod
    def ports(d):
        for key in ("ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors",
                    "rx_nombuf"):
            c = CounterMetricFamily(f"daitn_port_{key}", f"ethdev {key}", labels=["port"])
            for r in rows(d, "name"):
                c.add_metric([r["name"]], r[key])
            yield c

    @staticmethod
    def fates(stats, drops):
        c = CounterMetricFamily("daitn_packets", "Packet fates and events, all lcores",
                                labels=["fate"])
        for k, v in stats.items():
            if k != "lcores" and isinstance(v, int):
                c.add_metric([k], v)
        yield c
        c = CounterMetricFamily("daitn_drops", "Dropped packets by reason", labels=["reason"])
        for k, v in drops.items():
            if k != "total":
                c.add_metric([k], v)
        yield c

    @staticmethod
    def tenants(d):
        for key, help_ in (("packets", "Packets admitted under the tenant's rate"),
                           ("bytes", "Bytes of those packets"),
                           ("rate_limited", "Packets dropped over the tenant's rate")):
            c = CounterMetricFamily(f"daitn_tenant_{key}", help_, labels=["tenant"])
            for r in rows(d, "id"):
                c.add_metric([r["id"]], r[key])
            yield c
        g = GaugeMetricFamily("daitn_tenant_rate_limit_pps", "Tenant's rate (0: unlimited)",
                              labels=["tenant"])
        for r in rows(d, "id"):
            g.add_metric([r["id"]], r["rate_pps"])
        yield g

    @staticmethod
    def nodes(d):
        labels = ["node", "ip", "roles"]
        up = GaugeMetricFamily("daitn_node_up", "1 if heard within the timeout", labels=labels)
        seen = GaugeMetricFamily("daitn_node_last_seen_seconds",
                                 "Seconds since the node was last heard from (never: absent)",
                                 labels=labels)
        pk = CounterMetricFamily("daitn_node_packets", "Packets from the node", labels=labels)
        by = CounterMetricFamily("daitn_node_bytes", "Bytes from the node", labels=labels)
        pps = GaugeMetricFamily("daitn_node_packets_per_second", "Recent packet rate",
                                labels=labels)
        bps = GaugeMetricFamily("daitn_node_bits_per_second", "Recent bit rate", labels=labels)
        downs = CounterMetricFamily("daitn_node_down_transitions", "Times it went down",
                                    labels=labels)
        for r in rows(d, "id"):
            lab = [r["id"], r["ip"], r["roles"]]
            up.add_metric(lab, 1 if r["state"] == "up" else 0)
            if r["state"] != "never":
                seen.add_metric(lab, r["last_seen_ms_ago"] / 1e3)
            pk.add_metric(lab, r["packets"])
            by.add_metric(lab, r["bytes"])
            pps.add_metric(lab, r["pps"])
            bps.add_metric(lab, r["bps"])
            downs.add_metric(lab, r["times_down"])
        yield from (up, seen, pk, by, pps, bps, downs)

    @staticmethod
    def jobs(d):
        labels = ["job", "tenant", "dtype"]
        for key, help_ in (("aggregated", "Contributions aggregated"),
                           ("completed", "Chunks completed"),
                           ("result_resent", "Results resent to a worker"),
                           ("duplicate", "Duplicate contributions ignored"),
                           ("stale", "Contributions older than the slot's use"),
                           ("rate_limited", "Dropped over the tenant's rate"),
                           ("dropped", "Dropped, all reasons"),
                           ("late", "Contributions after their use closed (partial jobs)"),
                           ("closed_early", "Uses closed by a quorum or a deadline")):
            c = CounterMetricFamily(f"daitn_job_{key}", help_, labels=labels)
            for r in rows(d, "id"):
                c.add_metric([str(r["id"]), r["tenant"], r["dtype"]], r[key])
            yield c
        for key, help_ in (("slots", "Slot indices of the job"),
                           ("sets_active", "Slot sets collecting contributions"),
                           ("sets_complete", "Slot sets holding a result")):
            g = GaugeMetricFamily(f"daitn_job_{key}", help_, labels=labels)
            for r in rows(d, "id"):
                g.add_metric([str(r["id"]), r["tenant"], r["dtype"]], r[key])
            yield g
        g = GaugeMetricFamily("daitn_job_straggler_rank",
                              "The rank that completed the most uses, coming last",
                              labels=labels)
        for r in rows(d, "id"):
            if r.get("straggler_last", 0) > 0:
                g.add_metric([str(r["id"]), r["tenant"], r["dtype"]], r["straggler"])
        yield g


def socket_path(a):
    if a.socket:
        return a.socket
    base = runtime_base()
    if a.prefix:
        return os.path.join(base, a.prefix, SOCK_NAME)
    found = sorted(p for p in (os.path.join(base, d, SOCK_NAME) for d in
                               (os.listdir(base) if os.path.isdir(base) else []))
                   if os.path.exists(p))
    if len(found) == 1:
        return found[0]
    sys.exit(f"daitn-exporter: {len(found)} telemetry sockets under {base}; name the "
             f"gateway with -f PREFIX (its --file-prefix) or --socket PATH")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-f", "--prefix", default=os.environ.get("DAITN_FILE_PREFIX"),
                    help="the gateway's DPDK --file-prefix")
    ap.add_argument("--socket", help="the telemetry socket itself")
    ap.add_argument("--listen", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=9471, help="port to serve on (default 9471)")
    ap.add_argument("--timeout", type=float, default=5.0, help="telemetry answer bound, seconds")
    ap.add_argument("--once", action="store_true", help="print the metrics once and exit")
    a = ap.parse_args()
    path = socket_path(a)
    if a.once:
        reg, col = CollectorRegistry(), Collector(path, a.timeout)
        reg.register(col)
        sys.stdout.write(generate_latest(reg).decode())
        return 0 if col.answered else 1
    REGISTRY.register(Collector(path, a.timeout))
    start_http_server(a.port, addr=a.listen)
    print(f"daitn-exporter: serving {path} on http://{a.listen}:{a.port}/metrics", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
