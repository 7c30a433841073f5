#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-tree.sh: float32 allreduce of two racks of 4 workers under 4:1
# oversubscribed uplinks (scripts/lib/racks.sh), three ways in one run: an
# aggregation tree (a leaf gateway per rack under a root), one flat gateway
# beside the racks, and gloo's ring over the same links. Then the idle CPU
# and first-packet latency of an adaptive gateway beside a busy-polling one.
#
#   bash scripts/bench-tree.sh [--quick] [--sizes LIST] [--worker-rate RATE]
#                              [--uplink-rate RATE] [--iters N] [--out DIR]
#                              [--window W] [--rto-us US] [--pin CPUS] [--modes LIST]
#                              [--no-idle] [--pings N] [--idle-sleep-max-us US]
#
#   --quick          sizes 4M,16M, 2 timed calls (about 2.5 minutes); the
#                    default sweep (4M..64M, 3 calls) takes about 9
#   --sizes          tensor sizes (default 4M,8M,16M,32M,64M)
#   --worker-rate    each worker's link, both directions (default 100mbit)
#   --uplink-rate    each rack's uplink, both directions (default: the worker
#                    rate, so a rack's 4 workers share it 4:1)
#   --iters N        timed calls per point; the point's time is their median
#   --out DIR        results folder (default out/bench-tree-DATE)
#   --window W       libdaitn chunks in flight per worker (default: 12 ms of
#                    the worker's link, at least 16; see bench-allreduce.sh)
#   --rto-us US      libdaitn's retransmission timeout floor (default 40000)
#   --pin CPUS       taskset list for every rank, all modes (default: "0" on a
#                    2-core machine, where the gateways' data lcores poll on
#                    core 1; "" = unpinned)
#   --modes LIST     which of tree,flat,gloo to run (default all three)
#   --no-idle        skip the idle part
#   --pings N        pings to the flat gateway in the idle part (default 9)
#   --idle-sleep-max-us US
#                    the adaptive gateways' longest sleep (default: the
#                    gateway's, 250): less idle CPU, a later first packet
#
# Every gateway polls adaptively ("idle_poll": "adaptive": four share core 1).
# Writes DIR/tree.csv (one row per mode and size: time, algbw, busbw as
# nccl-tests define them, wrong and checked elements, bytes per allreduce on
# each uplink and direction, where packets were dropped, retransmissions,
# gateway CPU), DIR/idle.csv (per gateway: idle CPU; the flat one's pings),
# DIR/tree.png, DIR/meta.json, DIR/gateway-stats-*.json (each gateway's
# counters after the sweep) and DIR/summary.txt, printed at the end with the
# targets: the tree's uplink bytes at most 1/4 of the flat gateway's at every
# size, the tree at least 2x faster than gloo at 16 MiB, an idle adaptive
# gateway under 5% of a core. Exit status 1 if any element was wrong.
set -euo pipefail
DTN_LOG_TAG=bench-tree
source "$(dirname "${BASH_SOURCE[0]}")/lib/racks.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/edge.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

sizes="4M,8M,16M,32M,64M" worker_rate=100mbit uplink_rate="" iters=3 out="" window=""
rto=40000 pin=auto idle=1 pings=9 idle_s=5 sleep_max="" modes=tree,flat,gloo
argv="$*"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--quick) sizes="4M,16M" iters=2 ;;
	--sizes) sizes=$2; shift ;;
	--worker-rate) worker_rate=$2; shift ;;
	--uplink-rate) uplink_rate=$2; shift ;;
	--iters) iters=$2; shift ;;
	--out) out=$2; shift ;;
	--window) window=$2; shift ;;
	--rto-us) rto=$2; shift ;;
	--pin) pin=$2; shift ;;
	--modes) modes=$2; shift ;;
	--no-idle) idle=0 ;;
	--pings) pings=$2; shift ;;
	--idle-sleep-max-us) sleep_max=$2; shift ;;
	-h|--help) sed -n '3,44p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
uplink_rate=${uplink_rate:-$worker_rate}
dtn_require_root
"$DTN_PY" -c 'import torch, matplotlib' 2>/dev/null ||
	dtn_die "torch and matplotlib must import under $DTN_PY (apt-get install python3-torch python3-matplotlib)"
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
[[ "$iters" =~ ^[1-9][0-9]*$ ]] || dtn_die "--iters $iters: expected a positive integer"
[[ "$pings" =~ ^[1-9][0-9]*$ ]] || dtn_die "--pings $pings: expected a positive integer"
[[ "$modes" =~ ^(tree|flat|gloo)(,(tree|flat|gloo))*$ ]] ||
	dtn_die "--modes $modes: expected a comma-separated list of tree, flat and gloo"
[[ -z "$sleep_max" || "$sleep_max" =~ ^[1-9][0-9]*$ ]] ||
	dtn_die "--idle-sleep-max-us $sleep_max: expected a positive integer"
if [[ $pin == auto ]]; then
	pin=""
	(( $(nproc) <= 2 )) && pin=0
fi
w_bps=$(dtn_rate_bps "$worker_rate") || exit 1
u_bps=$(dtn_rate_bps "$uplink_rate") || exit 1
# 12 ms of a worker's link in chunks (payload + 64 header bytes), at least 16.
if [[ -z "$window" ]]; then
	window=$(( w_bps / 8 * 12 / 1000 / ($(edge_chunk) + 64) ))
	(( window >= 16 )) || window=16
fi
# The ranks' bound: 3x the ideal time of every point (flat: 4 racks' worth
# of data on each uplink; the ring: 2(n-1)/n of it on each worker link), plus
# start-up.
bound=$("$DTN_PY" - "$DTN_ROOT/python/bench" "$sizes" "$iters" "$w_bps" "$u_bps" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from allreduce_bench import parse_sizes
sizes, iters = parse_sizes(sys.argv[2]), int(sys.argv[3])
w, u = float(sys.argv[4]), float(sys.argv[5])
per = sum(s * 8 * (4 / u + 1 / w + 1.75 / w) for s in sizes) * 1.1
print(int(120 + 3 * per * (iters + 1)))
EOF
) || dtn_die "--sizes $sizes: cannot parse"
out=${out:-$DTN_ROOT/out/bench-tree-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
csv="$out/tree.csv" idle_csv="$out/idle.csv"
rm -f "$csv" "$idle_csv"
dtn_trap_install
t_start=$(dtn_now)

dtn_load_check
load=$DTN_LOAD
dtn_tmp_create
racks_topo "$worker_rate" "$uplink_rate"
# On exit, first every process this run started, by PID (SIGTERM: the
# gateways shut down cleanly on it, a rank blocked in libdaitn ends at once),
# then whatever is left in the namespaces, then racks_topo's hooks (the
# gateways' files, the namespaces).
dtn_on_exit edge_ns_reap
dtn_on_exit dtn_pids_stop
racks_configs "$(edge_chunk)" 4MiB
if [[ -n "$sleep_max" ]]; then
	for g in "${RACKS_GWS[@]}"; do racks_gw_config "$g" idle_sleep_max_us "$sleep_max"; done
fi
for g in "${RACKS_GWS[@]}"; do
	racks_gw_up "$g" || dtn_die "gateway ${RACKS_NAME[$g]} did not start (log: ${DTN_GWN_LOG[$g]})"
done
link=$(edge_link_check 1 5 $(( u_bps / 8 / 1048576 + 1 )))
dtn_log "links: $worker_rate per worker, $uplink_rate per uplink (4:1), MTU $DTN_MTU, chunk $(edge_chunk) B; TCP goodput w1 -> w5 across both uplinks $link Mbit/s"
dtn_log "gateways (adaptive polling, data lcore 1): root ${RACKS_IP[r]}, leaves ${RACKS_IP[a]} ${RACKS_IP[b]}, flat ${RACKS_IP[f]}"
dtn_log "sizes $sizes, $iters timed calls per point; libdaitn window $window chunks, RTO floor $rto us; ranks pinned to CPUs '${pin:-none}'; bound ${bound}s"

uplinks="" ends="" gws=""
for r in a b; do
	uplinks+="${uplinks:+,}$(racks_ns_rack "$r"):${DTN_P}u$r:$(racks_ns_core):${DTN_P}u${r}c"
done
for (( i = 1; i <= RACKS_WORKERS; i++ )); do
	ends+="${ends:+,}$(dtn_ns_worker "$i"):$(dtn_worker_iface "$i")"
	ends+=",$(racks_ns_rack "$(racks_leaf "$i")"):$(dtn_worker_port_iface "$i")"
done
for g in "${RACKS_GWS[@]}"; do
	gws+="${gws:+,}$g=${DTN_GWN_PID[$g]}:${DTN_P}gw$g"
done
EDGE_MASTER_PORT=29510
pids=()
for (( i = 1; i <= RACKS_WORKERS; i++ )); do
	EDGE_WORLD=$RACKS_WORKERS EDGE_JOB=2 EDGE_WORKER_CPUS=$pin edge_rank_bg "$i" "$DTN_TMP/tree.r$i.log" \
		DAITN_LIB="$DTN_BUILD/client/libdaitn.so" \
		"$DTN_PY" "$DTN_ROOT/python/bench/tree_bench.py" \
		--rank $((i - 1)) --world "$RACKS_WORKERS" --master "$(dtn_worker_ip 1):$EDGE_MASTER_PORT" \
		--bind "$(dtn_worker_ip "$i")" --leaf "${RACKS_IP[$(racks_leaf "$i")]}" \
		--flat "${RACKS_IP[f]}" --sizes "$sizes" --modes "$modes" --iters "$iters" --window "$window" \
		--rto-us "$rto" --timeout-s "$bound" --uplinks "$uplinks" --link-ends "$ends" --gws "$gws" \
		--worker-rate "$worker_rate" --uplink-rate "$uplink_rate" --csv "$csv" --header
	pids+=("$DTN_LAST_PID")
done
edge_ranks_wait "$bound" "$DTN_TMP/tree" "the tree/flat/gloo sweep" "${pids[@]}"
sed 's/^/  /' "$DTN_TMP/tree.r1.log"
for g in "${RACKS_GWS[@]}"; do
	dtn_gwn_tel "$g" /daitn/stats >"$out/gateway-stats-${RACKS_NAME[$g]}.json" 2>/dev/null || true
done

# The idle part. The waits below are measurement windows (the gateway left
# idle, CPU time counted over them), not waits for an event.
ticks=$(getconf CLK_TCK)
# gw_cpu_ticks G: CPU ticks (utime + stime) of gateway G: the whole process,
# and its data lcores' threads (rte-worker-N) alone.
gw_cpu_ticks() {
	local pid=${DTN_GWN_PID[$1]} all lc=0 t
	all=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	for t in /proc/"$pid"/task/*; do
		[[ $(cat "$t/comm" 2>/dev/null) == rte-worker-* ]] || continue
		lc=$(( lc + $(awk '{ print $14 + $15 }' "$t/stat") ))
	done
	echo "$all $lc"
}
# idle_measure MODE: every gateway's CPU over idle_s after idle_s without
# traffic, then pings to the flat gateway from worker 1, 1 s apart (each the
# first packet after a second of silence): one idle.csv row per gateway.
idle_measure() {
	local mode=$1 g t0 t1 rtts
	declare -A c0=() c1=()
	sleep "$idle_s"
	for g in "${RACKS_GWS[@]}"; do c0[$g]=$(gw_cpu_ticks "$g"); done
	t0=$(dtn_now)
	sleep "$idle_s"
	for g in "${RACKS_GWS[@]}"; do c1[$g]=$(gw_cpu_ticks "$g"); done
	t1=$(dtn_now)
	rtts=$(timeout $(( pings * 2 + 10 )) ip netns exec "$(dtn_ns_worker 1)" \
		ping -n -c "$pings" -i 1 -W 2 "${RACKS_IP[f]}" 2>/dev/null |
		sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | tr '\n' ' ') || true
	for g in "${RACKS_GWS[@]}"; do
		"$DTN_PY" - "$g" "${RACKS_NAME[$g]}" "$([[ $g == f ]] && echo "$mode" || echo adaptive)" \
			"${c0[$g]}" "${c1[$g]}" "$ticks" "$t0" "$t1" "$([[ $g == f ]] && echo "$rtts")" \
			"$pings" <<'EOF' >>"$idle_csv"
import statistics, sys
g, name, poll, a, b, hz, t0, t1, rtts, sent = sys.argv[1:11]
(a, a_lc), (b, b_lc) = [int(x) for x in a.split()], [int(x) for x in b.split()]
dt = float(t1) - float(t0)
r = [float(x) for x in rtts.split()]
print("%s,%s,%.2f,%.2f,%.1f,%s,%s,%s,%d,%s" % (
    name, poll, 100.0 * (b - a) / int(hz) / dt, 100.0 * (b_lc - a_lc) / int(hz) / dt, dt,
    "%.3f" % statistics.median(r) if r else "", "%.3f" % min(r) if r else "",
    "%.3f" % max(r) if r else "", len(r), sent if g == "f" else 0))
EOF
	done
}
if [[ $idle -eq 1 ]]; then
	echo "gateway,idle_poll,cpu_core_pct,lcore_core_pct,cpu_window_s,ping_median_ms,ping_min_ms,ping_max_ms,ping_replies,pings_sent" >"$idle_csv"
	dtn_log "idle: every gateway adaptive, ${idle_s}s idle then ${idle_s}s of CPU time; $pings pings 1 s apart to the flat gateway"
	idle_measure adaptive
	dtn_gwn_down f || dtn_warn "the flat gateway did not shut down cleanly"
	racks_gw_config f idle_poll '"busy"'
	racks_gw_up f || dtn_die "the flat gateway did not restart with busy polling (log: ${DTN_GWN_LOG[f]})"
	dtn_log "idle: the flat gateway restarted with busy polling; the same again"
	idle_measure busy
fi

"$DTN_PY" - "$out" "$worker_rate" "$uplink_rate" "$DTN_MTU" "$(edge_chunk)" "$link" "$argv" \
	"$window" "$rto" "$pin" "$load" "${sleep_max:-250}" <<'EOF'
import json, os, platform, subprocess, sys
out, wrate, urate, mtu, chunk, link, argv, window, rto, pin, load, sleep_max = sys.argv[1:13]
def sh(*c):
    try:
        return subprocess.run(c, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return ""
import torch
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
meta = {"git": sh("git", "rev-parse", "HEAD"), "args": argv, "worker_rate": wrate,
        "uplink_rate": urate, "mtu": int(mtu), "chunk_size": int(chunk),
        "tcp_goodput_w1_w5_mbit": link, "cpu": cpu, "cores": os.cpu_count(),
        "kernel": platform.release(), "torch": torch.__version__, "date": sh("date", "-Is"),
        "window": int(window), "rto_us": int(rto), "ranks_pinned_to": pin,
        "loadavg_before": float(load), "gateways": "4 x daitn-gw, idle_poll adaptive, "
        "idle_sleep_max_us %s, data lcore 1" % sleep_max}
json.dump(meta, open(os.path.join(out, "meta.json"), "w"), indent=2)
EOF
rc=0
"$DTN_PY" "$DTN_ROOT/python/bench/plot_tree.py" "$csv" "$idle_csv" "$out/tree.png" \
	>"$out/summary.txt" || rc=$?
cat "$out/summary.txt"
dtn_log "done in $(dtn_elapsed "$t_start")s: $out/{tree.csv,idle.csv,tree.png,summary.txt,meta.json}"
exit $rc
