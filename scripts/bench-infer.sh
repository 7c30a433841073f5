#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-infer.sh: inference request latency (p50/p99/p99.9) with and without a
# saturating gradient load on the same gateway port, with the priority TX
# scheduler and with a FIFO baseline, all in one run; and the gradient
# throughput alone and beside the inference traffic.
#
#   bash scripts/bench-infer.sh [--link-mbps N] [--req-rate R] [--duration S]
#                               [--rounds K] [--count ELEMS] [--modes "priority fifo"]
#
#   --link-mbps N  the gateway port's egress rate, Mbit/s (default 80): each
#                  (lcore, port) scheduler is capped there (DAITN_TX_RATE_MBPS),
#                  so the port is the bottleneck and its queue forms inside the
#                  gateway, where the scheduler acts. Pick it below what the
#                  gradient job reaches uncapped (on the 2-core VM the four
#                  CPU-bound workers take ~120-160 Mbit/s of results), or
#                  there is no queue to order.
#   --req-rate R   inference requests per second, open loop (default 500);
#                  one 1 KiB activation, 2 stages (3 passes through the port)
#   --duration S   seconds of inference traffic per phase (default 3)
#   --rounds K     allreduce rounds of the 4-worker job (default 6)
#   --count ELEMS  float32 elements per allreduce (default 1048576)
#   --modes LIST   schedulers to run (default "priority fifo")
#
# Per mode the gateway is restarted (DAITN_TX_SCHED=priority|fifo) and three
# phases run: inference alone, gradient alone, both (the requester starts
# 0.5 s into the gradient run). Every answer is checked bit for bit by
# daitn-infer. Besides the end-to-end latency, the table shows how long the
# inference frames of each phase spent inside the gateway (/daitn/infer's
# sojourn histogram, 25% buckets): that part is the scheduler's; the rest
# is the hosts' (kernel, CPU). Topology: 7 namespaces on a bridge (4
# workers, 2 stage nodes, 1 requester), the gateway on af_packet with data
# lcore 1. Every other
# process is pinned to CPU 0; stage nodes and the requester run SCHED_FIFO
# (chrt) so that on a 2-core machine the figures measure the gateway's
# queueing, not the CPU scheduler's (without chrt the endpoints' CPU share
# under load dominates both modes). Bounded: each program under timeout.
set -euo pipefail
DTN_LOG_TAG=bench-infer
source "$(dirname "${BASH_SOURCE[0]}")/lib/gateway.sh"

link=80 req_rate=500 dur=3 rounds=6 count=1048576 modes="priority fifo"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--link-mbps) link=$2; shift ;;
	--req-rate) req_rate=$2; shift ;;
	--duration) dur=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--count) count=$2; shift ;;
	--modes) modes=$2; shift ;;
	-h|--help) sed -n '3,37p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
dtn_require_root
INFER_BIN="$DTN_BUILD/client/infer/daitn-infer"
dtn_require_bins "$DTN_GW_BIN" "$DTN_WORKER_BIN" "$INFER_BIN"
grep -qa infer_forwarded "$DTN_GW_BIN" || dtn_die "$DTN_GW_BIN has no inference path"
pin=(taskset -c 0)
rt=()
command -v chrt >/dev/null 2>&1 && rt=(chrt -f 20)
dtn_load_check
load=$DTN_LOAD

dtn_trap_install
DTN_WORKER_IPS=(10.77.0.11 10.77.0.12 10.77.0.13 10.77.0.14 10.77.0.15 10.77.0.16 10.77.0.17)
dtn_topo_create 7
dtn_tmp_create
POLICY="$DTN_TMP/policy.json"
cat >"$POLICY" <<EOF
{ "version": 1, "node_timeout_ms": 1000,
  "nodes": [
    { "id": "w1", "ip": "10.77.0.11", "roles": ["worker"] },
    { "id": "w2", "ip": "10.77.0.12", "roles": ["worker"] },
    { "id": "w3", "ip": "10.77.0.13", "roles": ["worker"] },
    { "id": "w4", "ip": "10.77.0.14", "roles": ["worker"] },
    { "id": "s0", "ip": "10.77.0.15", "roles": ["stage"] },
    { "id": "s1", "ip": "10.77.0.16", "roles": ["stage"] },
    { "id": "rq", "ip": "10.77.0.17", "roles": ["requester"] } ],
  "jobs": [ { "id": 1, "dtype": "float32", "chunk_size": 1024, "slot_memory": "4MiB",
    "workers": [ { "rank": 0, "node": "w1", "port": 47100 }, { "rank": 1, "node": "w2", "port": 47100 },
                 { "rank": 2, "node": "w3", "port": 47100 }, { "rank": 3, "node": "w4", "port": 47100 } ] } ],
  "models": [ { "id": 1, "requesters": ["rq"],
    "stages": [ { "replicas": [ { "node": "s0", "port": 48000 } ] },
                { "replicas": [ { "node": "s1", "port": 48001 } ] } ] } ] }
EOF
dtn_gw_config_make "$DTN_ROOT/configs/gateway-demo.json" "$DTN_TMP/gateway.json"

# requester LOG: open-loop inference for $dur seconds; its summary in LOG
requester() {
	timeout $((dur + 30)) ip netns exec "$(dtn_ns_worker 7)" "${rt[@]}" "${pin[@]}" "$INFER_BIN" \
		requester --gateway "$DTN_GW_IP:47000" --bind 10.77.0.17 --model 1 --stages 2 \
		--size 1024 --sessions 8 --rate "$req_rate" --duration "$dur" --timeout-ms 1000 \
		--max-fail 1000000000 >"$1" 2>&1 || true
}
# workers TAG: start the 4 ranks; PIDs in WPIDS
workers() {
	local r
	WPIDS=()
	for r in 0 1 2 3; do
		dtn_bg "$(dtn_ns_worker $((r + 1)))" "$DTN_TMP/$1.rank$r.log" "${pin[@]}" "$DTN_WORKER_BIN" \
			--gateway "$DTN_GW_IP" --bind "10.77.0.1$((r + 1)):47100" --job 1 --rank "$r" \
			--count "$count" --rounds "$rounds" --timeout-ms 20000
		WPIDS+=("$DTN_LAST_PID")
	done
}
field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p; s/^$2=\([0-9.]*\).*/\1/p" "$1" | head -n1; }
# The gateway's sojourn histogram of inference frames (/daitn/infer).
soj_snap() { dtn_gw_stats /daitn/infer >"$1" 2>/dev/null || echo '{}' >"$1"; }
# soj_delta A B: p50/p99/p99.9 (microseconds) of the frames between two
# snapshots, as bucket upper bounds (25% resolution).
soj_delta() {
	"$DTN_PY" - "$1" "$2" <<'PY'
import json, sys
def hist(f):
    d = json.load(open(f)).get("/daitn/infer", {})
    return d.get("sojourn_hist", [])
a, b = hist(sys.argv[1]), hist(sys.argv[2])
if not b:
    print("-/-/-"); sys.exit()
a = a or [0] * len(b)
h = [y - x for x, y in zip(a, b)]
tot = sum(h)
def upper(i):
    return i + 1 if i < 4 else (5 + i % 4) << (i // 4 - 1)
out = []
for p in (0.5, 0.99, 0.999):
    want, acc = max(1, round(tot * p)), 0
    for i, c in enumerate(h):
        acc += c
        if acc >= want:
            out.append("%.1f" % (upper(i) / 1000.0)); break
    else:
        out.append("-")
print("/".join(out))
PY
}
gbit() { sed -n 's/.*rounds of .*, \([0-9.]*\) Gbit\/s payload.*/\1/p' "$1" | head -n1; }

declare -A R=()
for mode in $modes; do
	[[ $mode == priority || $mode == fifo ]] || dtn_die "--modes: '$mode' is not priority or fifo"
	dtn_log "mode $mode: gateway egress capped at $link Mbit/s"
	DAITN_TX_SCHED=$mode DAITN_TX_RATE_MBPS=$link dtn_gw_start "$DTN_TMP/gateway.json" "$POLICY"
	dtn_gw_wait_ready 30 || dtn_die "the gateway did not come up"
	dtn_bg "$(dtn_ns_worker 5)" "$DTN_TMP/$mode.s0.log" "${rt[@]}" "${pin[@]}" "$INFER_BIN" stage \
		--bind 10.77.0.15:48000 --gateway "$DTN_GW_IP:47000" --beat 1:0 --beat-ms 100
	s0=$DTN_LAST_PID
	dtn_bg "$(dtn_ns_worker 6)" "$DTN_TMP/$mode.s1.log" "${rt[@]}" "${pin[@]}" "$INFER_BIN" stage \
		--bind 10.77.0.16:48001 --gateway "$DTN_GW_IP:47000" --beat 1:1 --beat-ms 100
	s1=$DTN_LAST_PID
	sleep 0.5

	soj_snap "$DTN_TMP/$mode.t0.json"
	requester "$DTN_TMP/$mode.alone.req"
	soj_snap "$DTN_TMP/$mode.t1.json"
	workers "$mode.alone"
	dtn_wait_all $((rounds * 30 + 60)) "${WPIDS[@]}" || dtn_die "$mode: workers failed (${DTN_WAIT_RC[*]}); see $DTN_TMP"
	workers "$mode.both"
	sleep 0.5
	soj_snap "$DTN_TMP/$mode.t2.json"
	requester "$DTN_TMP/$mode.both.req"
	soj_snap "$DTN_TMP/$mode.t3.json"
	dtn_wait_all $((rounds * 30 + 60)) "${WPIDS[@]}" || dtn_die "$mode: workers failed (${DTN_WAIT_RC[*]}); see $DTN_TMP"
	R[$mode.alone.soj]=$(soj_delta "$DTN_TMP/$mode.t0.json" "$DTN_TMP/$mode.t1.json")
	R[$mode.both.soj]=$(soj_delta "$DTN_TMP/$mode.t2.json" "$DTN_TMP/$mode.t3.json")

	for ph in alone both; do
		f="$DTN_TMP/$mode.$ph.req"
		for k in requests ok failed p50 p99 p99.9; do
			R[$mode.$ph.$k]=$(field "$f" "$k")
		done
		R[$mode.$ph.gbit]=$(gbit "$DTN_TMP/$mode.$ph.rank0.log")
	done
	dtn_pid_stop "$s0" INT 5 || true
	dtn_pid_stop "$s1" INT 5 || true
	dtn_gw_stop 10 || dtn_warn "$mode: the gateway did not stop cleanly"
done

printf '\n%-9s %-19s %9s %9s %9s %7s %6s | %-20s | %s\n' scheduler phase p50_us p99_us p99.9_us \
	requests failed "in-gateway p50/p99/p99.9 us" "gradient Gbit/s (rank 0)"
for mode in $modes; do
	for ph in alone both; do
		[[ $ph == alone ]] && what="inference alone" g="(gradient alone)" ||
			what="with gradient load" g="(beside inference)"
		printf '%-9s %-19s %9s %9s %9s %7s %6s | %-20s | %s %s\n' "$mode" "$what" \
			"${R[$mode.$ph.p50]}" "${R[$mode.$ph.p99]}" "${R[$mode.$ph.p99.9]}" \
			"${R[$mode.$ph.requests]}" "${R[$mode.$ph.failed]}" "${R[$mode.$ph.soj]}" \
			"${R[$mode.$ph.gbit]}" "$g"
	done
done
echo
for mode in $modes; do
	a=${R[$mode.alone.p99]:-0} b=${R[$mode.both.p99]:-0}
	ga=${R[$mode.alone.gbit]:-0} gb=${R[$mode.both.gbit]:-0}
	awk -v m="$mode" -v a="$a" -v b="$b" -v ga="$ga" -v gb="$gb" 'BEGIN {
		printf "%s: inference p99 loaded/unloaded = %.2fx (target <= 2x with priority); ", m,
		       (a > 0 ? b / a : 0)
		printf "gradient with/without inference = %.2fx (target >= 0.9x)\n", (ga > 0 ? gb / ga : 0)
	}'
done
echo "link ${link} Mbit/s, ${req_rate} req/s x ${dur} s, ${rounds} rounds of ${count} float32 x 4 workers; load average before: $load"
