#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-allreduce.sh: float32 allreduce through the daitn gateway beside gloo's
# ring allreduce, on the same emulated edge links (scripts/lib/edge.sh), in
# the same run.
#
#   bash scripts/bench-allreduce.sh [--quick] [--aggregate RATE | --rate RATE] [--delay MS]
#                                   [--mtu BYTES] [--workers "2 4 8"] [--sizes LIST]
#                                   [--out DIR] [--gloo-only] [--window W] [--rto-us US]
#                                   [--pin CPUS]
#
#   --quick          N=4 only, sizes 256K,4M,16M (about 30 s); the default sweep
#                    (N=2,4,8, 256K..64M) takes about 3 minutes
#   --aggregate RATE the N workers' links together carry RATE: each worker's link
#                    gets RATE/N, both directions (default 400mbit: 200, 100 and
#                    50 Mbit/s per worker for N=2, 4, 8). Every N then pushes the
#                    same packet rate through this machine's kernel and gateway,
#                    which at MTU 1500 on 2 cores is what runs out first.
#   --rate RATE      the same per-worker rate for every N instead; 0: unshaped
#                    veth links (what the kernel and the gateway's core can
#                    carry), with libdaitn's own window and RTO floor unless
#                    --window / --rto-us are given
#   --delay MS       one-way delay per direction (default 0: needs sch_netem,
#                    which this machine's kernel lacks)
#   --mtu BYTES      link MTU (default 1500; the job's chunk follows: 1408 B)
#   --workers        worker counts to sweep (default "2 4 8")
#   --sizes          tensor sizes (default 256K,512K,1M,2M,4M,8M,16M,32M,64M)
#   --out DIR        results folder (default out/bench-allreduce-DATE)
#   --gloo-only      no gateway (gloo side only)
#   --window W       libdaitn chunks in flight per worker (default: 12 ms of the
#                    worker's link time, at least 16); the job's default (all its
#                    slots, ~2 MB) would overflow a slow link's queue: libdaitn has
#                    no congestion control
#   --rto-us US      libdaitn's retransmission timeout floor (default 40000 on
#                    shaped links; 0 = libdaitn's default)
#   --pin CPUS       taskset list for every rank, both backends (default: "0" on a
#                    2-core machine, so the gateway's data lcore 1 is the "switch"
#                    and core 0 the hosts; "" = unpinned)
#   --gw-core C      the gateway's data lcore (default 1; its main lcore is the
#                    other core, and on a 2-core machine the ranks are pinned
#                    there). Use 0 when other busy-polling programs sit on core 1:
#                    the summary flags points where the gateway was CPU-starved.
#
# Both backends run alternately over the same shaped links, in the same run.
# Writes DIR/allreduce.csv (one row per backend, N and size: time, algbw,
# busbw with the nccl-tests definitions, wrong elements, CPU per process),
# DIR/allreduce.png, DIR/summary.txt, DIR/gateway-stats.json and DIR/meta.json,
# and prints the summary: daitn's speed-up over gloo per N and size, against
# the target (N=4, >= 4 MiB: >= 1.3x) and the ideal 2(N-1)/N.
set -euo pipefail
DTN_LOG_TAG=bench-allreduce
source "$(dirname "${BASH_SOURCE[0]}")/lib/edge.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

rate="" aggregate=400mbit delay=0 workers="2 4 8" sizes="256K,512K,1M,2M,4M,8M,16M,32M,64M"
out="" gloo_only=0 window="" rto="" pin=auto point_s=1.5 gw_core=1
DTN_MTU=1500
argv="$*"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--quick) workers=4 sizes="256K,4M,16M" point_s=1.0 ;;
	--rate) rate=$2; aggregate=""; shift ;;
	--aggregate) aggregate=$2; rate=""; shift ;;
	--delay) delay=$2; shift ;;
	--mtu) DTN_MTU=$2; shift ;;
	--workers) workers=$2; shift ;;
	--sizes) sizes=$2; shift ;;
	--out) out=$2; shift ;;
	--gloo-only) gloo_only=1 ;;
	--window) window=$2; shift ;;
	--rto-us) rto=$2; shift ;;
	--pin) pin=$2; shift ;;
	--gw-core) gw_core=$2; shift ;;
	-h|--help) sed -n '3,50p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
dtn_require_root
"$DTN_PY" -c 'import torch, matplotlib' 2>/dev/null ||
	dtn_die "torch and matplotlib must import under $DTN_PY (apt-get install python3-torch python3-matplotlib)"
max_n=0
for n in $workers; do
	[[ "$n" =~ ^[0-9]+$ && $n -ge 2 && $n -le 16 ]] || dtn_die "--workers: $n is not in 2..16"
	(( n > max_n )) && max_n=$n
done
backends=daitn,gloo
if [[ $gloo_only -eq 1 ]]; then
	backends=gloo
else
	dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
fi
[[ "$gw_core" == 0 || "$gw_core" == 1 ]] || dtn_die "--gw-core $gw_core: expected 0 or 1"
export EDGE_LCORES="$((1 - gw_core)),$gw_core"
if [[ $pin == auto ]]; then
	pin=""
	(( $(nproc) <= 2 )) && pin=$((1 - gw_core))
fi
unshaped=0
[[ "$rate" == 0 ]] && unshaped=1
rto=${rto:-$(( unshaped ? 0 : 40000 ))}
# Per-worker rate for N workers, in bit/s (0: unshaped).
worker_bps() {
	if [[ -n "$rate" ]]; then dtn_rate_bps "$rate"; else echo $(( $(dtn_rate_bps "$aggregate") / $1 )); fi
}
# 12 ms of link time in chunks (payload + 64 header bytes), at least 16:
# enough to ride out a few ms of the gateway being descheduled. Unshaped:
# 0, libdaitn's own window.
window_for() {
	[[ -n "$window" ]] && { echo "$window"; return; }
	(( $1 == 0 )) && { echo 0; return; }
	echo $(( $1 / 8 * 12 / 1000 / ($(edge_chunk) + 64) > 16 ? $1 / 8 * 12 / 1000 / ($(edge_chunk) + 64) : 16 ))
}
out=${out:-$DTN_ROOT/out/bench-allreduce-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
csv="$out/allreduce.csv"
rm -f "$csv"
dtn_trap_install
t_start=$(dtn_now)

dtn_load_check
load=$DTN_LOAD
if (( unshaped )); then
	edge_up "$max_n" 0 "$delay"
else
	edge_up "$max_n" "$(worker_bps "$max_n")bit" "$delay"
fi
dtn_tmp_create
gw_pid=0
if [[ $gloo_only -eq 0 ]]; then
	# One job per worker count, job id = N (ranks on ports edge_port N r).
	edge_policy_write "$DTN_TMP/policy.json" $workers
	EDGE_SLOT_MEMORY=${EDGE_SLOT_MEMORY:-4MiB}
	edge_gw_up "$DTN_TMP/policy.json"
	gw_pid=$DTN_GW_PID
fi
dtn_log "links: $( (( unshaped )) && echo unshaped || echo "${rate:-$aggregate in all / N} per worker"), delay ${delay} ms, MTU $DTN_MTU, chunk $(edge_chunk) B"
dtn_log "libdaitn: RTO floor $( (( rto )) && echo "$rto us" || echo "its default"); gateway data lcore $gw_core; ranks pinned to CPUs '${pin:-none}'"
links=""

header=--header
for n in $workers; do
	bps=$(worker_bps "$n")
	label="$((bps / 1000000))mbit"
	if (( unshaped )); then
		label=unshaped
	else
		for (( i = 1; i <= max_n; i++ )); do
			shape=(--rate "${bps}bit")
			[[ "$delay" != 0 && -n "$delay" ]] && shape+=(--delay "${delay%ms}")
			dtn_link_shape "$i" "${shape[@]}" || dtn_die "cannot shape worker $i's link"
		done
	fi
	link=$(edge_link_check 1 2 $(( unshaped ? 64 : bps / 8 / 1048576 + 1 )))
	links+="N=$n: $label per worker, TCP goodput $link Mbit/s; "
	dtn_log "N=$n: links $label per worker (TCP goodput w1->w2 $link Mbit/s), window $(w=$(window_for "$bps"); (( w )) && echo "$w chunks" || echo "libdaitn's"), sizes $sizes, backends $backends"
	EDGE_MASTER_PORT=$((29500 + n))
	pids=()
	for (( i = 1; i <= n; i++ )); do
		EDGE_WORLD=$n EDGE_JOB=$n EDGE_WORKER_CPUS=$pin edge_rank_bg "$i" "$DTN_TMP/n$n.r$i.log" \
			DAITN_LIB="$DTN_BUILD/client/libdaitn.so" \
			"$DTN_PY" "$DTN_ROOT/python/bench/allreduce_bench.py" \
			--rank $((i - 1)) --world "$n" --master "$(dtn_worker_ip 1):$EDGE_MASTER_PORT" \
			--job "$n" --port-base "$(edge_port "$n" 0)" --bind "$(dtn_worker_ip "$i")" \
			--gateway "$DTN_GW_IP" --sizes "$sizes" --backends "$backends" \
			--link-bps "$bps" --point-seconds "$point_s" --csv "$csv" $header \
			--gw-pid "$gw_pid" --link-rate "$label" --link-delay "$delay" \
			--window "$(window_for "$bps")" --rto-us "$rto"
		pids+=("$DTN_LAST_PID")
	done
	edge_ranks_wait 600 "$DTN_TMP/n$n" "N=$n" "${pids[@]}"
	sed 's/^/  /' "$DTN_TMP/n$n.r1.log"
	header=""
done

if [[ -n "$gw_pid" && $gw_pid -ne 0 ]]; then
	dtn_gw_stats >"$out/gateway-stats.json" 2>/dev/null || true
fi
"$DTN_PY" - "$out" "${rate:-$aggregate/N}" "$delay" "$DTN_MTU" "$(edge_chunk)" "$links" "$argv" \
	"${window:-$( (( unshaped )) && echo "libdaitn default" || echo "12 ms of link")}" "$rto" "$pin" "$load" <<'EOF'
import json, os, platform, subprocess, sys
out, rate, delay, mtu, chunk, link, argv, window, rto, pin, load = sys.argv[1:12]
def sh(*c):
    try:
        return subprocess.run(c, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return ""
import torch
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
meta = {"git": sh("git", "-C", os.path.dirname(out), "rev-parse", "HEAD") or sh("git", "rev-parse", "HEAD"),
        "args": argv, "link_rate": rate, "link_delay_ms": delay, "mtu": int(mtu),
        "chunk_size": int(chunk), "links": link, "cpu": cpu,
        "cores": os.cpu_count(), "kernel": platform.release(), "torch": torch.__version__,
        "date": sh("date", "-Is"), "window": window, "rto_us": int(rto),
        "ranks_pinned_to": pin, "gateway_lcores": os.environ.get("EDGE_LCORES"),
        "loadavg_before": float(load)}
json.dump(meta, open(os.path.join(out, "meta.json"), "w"), indent=2)
EOF
"$DTN_PY" "$DTN_ROOT/python/bench/plot_allreduce.py" "$csv" "$out/allreduce.png" | tee "$out/summary.txt"
dtn_log "done in $(dtn_elapsed "$t_start")s: $out/{allreduce.csv,allreduce.png,summary.txt,meta.json}"
