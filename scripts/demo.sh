#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# demo.sh: daitn end to end on this machine, with no NIC.
#
#   sudo bash scripts/demo.sh [--rounds K] [--count ELEMS] [--dtype TYPE] [--no-setup]
#                             [--gateway-config FILE] [--policy FILE] [--job ID]
#                             [--worker-args "ARGS"]   (extra daitn-worker options)
#                             [--tree]
#
# With --tree the job spans gateways (configs/tree/): a root and two leaves,
# each a daitn-gw in its own namespace, four workers behind each leaf. Each
# leaf sums its workers and sends the sum up as one rank of the job on the
# root, which sends the total down; every worker checks every element
# against the sum of all eight ranks' inputs. --job picks 1 (float32,
# default), 2 (int32), 3 (bfloat16), 4 (float16) or 5 (fedavg float32).
#
# Runs scripts/setup.sh (packages, hugepages, build), then builds a small network
# of namespaces: a Linux bridge, the gateway's veth (taken over by DPDK's
# af_packet PMD) and one namespace per worker of the first job in
# configs/policy-demo.json. It starts daitn-gw with configs/gateway-demo.json
# (adapted to this run's veth in a temp dir) and one daitn-worker per rank; each
# worker allreduces a tensor for K rounds through the gateway and checks every
# element against a locally computed reference. Then it prints the throughput and
# the gateway's counters, and removes everything it created. Exits non-zero on
# any failure; every step is bounded in time.
set -euo pipefail
DTN_LOG_TAG=demo
source "$(dirname "${BASH_SOURCE[0]}")/lib/gateway.sh"

rounds=20
count=262144
dtype=""
job=""
worker_args=""
do_setup=1
tree=0
gw_config="$DTN_ROOT/configs/gateway-demo.json"
policy="$DTN_ROOT/configs/policy-demo.json"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--rounds) rounds=$2; shift ;;
	--count) count=$2; shift ;;
	--dtype) dtype=$2; shift ;;
	--no-setup) do_setup=0 ;;
	--gateway-config) gw_config=$(realpath "$2"); shift ;;
	--policy) policy=$(realpath "$2"); shift ;;
	--job) job=$2; shift ;;
	--worker-args) worker_args=$2; shift ;;
	--tree) tree=1 ;;
	-h|--help) sed -n '3,27p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
[[ "$rounds" =~ ^[0-9]+$ && $rounds -ge 1 && $rounds -le 10000 ]] || dtn_die "--rounds: 1..10000"
[[ "$count" =~ ^[0-9]+$ && $count -ge 1 && $count -le 67108864 ]] || dtn_die "--count: 1..67108864 elements"

dtn_require_root
if [[ $do_setup -eq 1 ]]; then
	bash "$DTN_ROOT/scripts/setup.sh" --core || dtn_die "scripts/setup.sh failed"
fi
for f in "$DTN_GW_BIN" "$DTN_WORKER_BIN"; do
	[[ -x "$f" ]] || dtn_die "$f is not built (run scripts/setup.sh and look for build errors)"
done
for f in "$gw_config" "$policy"; do
	[[ -f "$f" ]] || dtn_die "$f is missing"
done

ctl="$DTN_BUILD/control/ctl/daitnctl"

# --tree: the same run through a root and two leaves (configs/tree/).
demo_tree() {
	local j=${job:-1} i g rc=0 pids=() t0 wall d
	source "$DTN_ROOT/scripts/lib/tree.sh"
	[[ "$j" =~ ^[1-5]$ ]] || dtn_die "--tree: --job 1 to 5 (configs/tree/policy-leaf1.json)"
	[[ -n "$dtype" ]] || dtype=$(case $j in 2) echo int32 ;; 3) echo bfloat16 ;; 4) echo float16 ;; *) echo float32 ;; esac)
	# The whole tree is checked across its three gateways' files.
	if [[ -x "$ctl" ]]; then
		"$ctl" validate --tree "$DTN_ROOT"/configs/tree/gateway-{root,leaf1,leaf2}.json ||
			dtn_die "daitnctl validate --tree refused configs/tree/ (see above)"
	fi
	dtn_trap_install
	dtn_tmp_create
	echo
	dtn_log "job $j through a tree: root ${DTN_TREE_IP[r]}, leaf1 ${DTN_TREE_IP[a]} (workers 1-4), leaf2 ${DTN_TREE_IP[b]} (workers 5-8)"
	dtn_tree_topo "$DTN_TREE_WORKERS"
	dtn_tree_configs
	for g in "${DTN_TREE_GWS[@]}"; do
		dtn_tree_gw_up "$g" || dtn_die "gateway ${DTN_TREE_NAME[$g]} did not come up"
		dtn_log "${DTN_TREE_NAME[$g]}: PID ${DTN_GWN_PID[$g]}, log ${DTN_GWN_LOG[$g]}"
	done
	dtn_log "running 8 workers: $rounds rounds of $count x $dtype each, pattern exact, every element checked against the sum of all 8"
	t0=$(dtn_now)
	for (( i = 1; i <= DTN_TREE_WORKERS; i++ )); do
		# shellcheck disable=SC2046
		dtn_worker_start "$i" "$DTN_TMP/w$i.log" $(dtn_tree_worker_args "$i" "$j") \
			--count "$count" --dtype "$dtype" --rounds "$rounds" --pattern exact \
			--timeout-ms 10000 $worker_args
		pids+=("$DTN_LAST_PID")
	done
	dtn_wait_all 180 "${pids[@]}" || rc=1
	wall=$(dtn_elapsed "$t0")
	echo
	for (( i = 1; i <= DTN_TREE_WORKERS; i++ )); do
		printf 'worker %d (10.77.0.%d, %s): exit %s\n' "$i" $((10 + i)) \
			"$( ((i <= 4)) && echo leaf1 || echo leaf2)" "${DTN_WAIT_RC[$((i - 1))]}"
		tail -n 1 "$DTN_TMP/w$i.log" | sed 's/^/    /'
	done
	echo
	dtn_log "$wall s wall; the tree as its gateways report it (/daitn/job,$j \"tree\"):"
	for g in "${DTN_TREE_GWS[@]}"; do
		d=$(dtn_gwn_tel "$g" "/daitn/job,$j" 2>/dev/null) || { rc=1; continue; }
		"$DTN_PY" -c '
import json, sys
t = json.loads(sys.argv[2])["/daitn/job"].get("tree", {})
print(f"  {sys.argv[1]:6s} " + ", ".join(f"{k} {v}" for k, v in t.items()))' "${DTN_TREE_NAME[$g]}" "$d"
	done
	for g in "${DTN_TREE_GWS[@]}"; do
		dtn_gwn_down "$g" || { dtn_warn "${DTN_TREE_NAME[$g]} did not shut down cleanly"; rc=1; }
	done
	echo
	if [[ $rc -eq 0 ]]; then
		dtn_log "PASS: 8 workers on 2 leaves x $rounds rounds, every element verified; cleaning up"
	else
		dtn_log "FAIL: see above; cleaning up"
	fi
	return $rc
}
if [[ $tree -eq 1 ]]; then
	demo_tree
	exit $?
fi

# The policy is checked the way an operator would, before anything starts.
if [[ -x "$ctl" ]]; then
	"$ctl" validate --config "$gw_config" "$policy" ||
		dtn_die "daitnctl validate refused $policy (see above)"
fi

dtn_trap_install
dtn_job_load "$policy" $job
[[ -n "$dtype" ]] || dtype=$DTN_JOB_DTYPE
N=$DTN_JOB_N

echo
dtn_log "job $DTN_JOB_ID from $(basename "$policy"): $N workers, $DTN_JOB_DTYPE, chunk $DTN_JOB_CHUNK bytes"
dtn_log "topology: prefix $DTN_P, bridge in $(dtn_ns_switch), gateway veth $(dtn_gw_iface) in $(dtn_ns_gw), workers ${DTN_JOB_IPS[*]}"
dtn_topo_create "$N"
dtn_tmp_create
dtn_gw_config_make "$gw_config" "$DTN_TMP/gateway.json"

t0=$(dtn_now)
dtn_gw_start "$DTN_TMP/gateway.json" "$policy"
dtn_log "gateway: PID $DTN_GW_PID, --file-prefix $DTN_GW_PREFIX, log $DTN_GW_LOG"
dtn_gw_wait_ready 30 || dtn_die "the gateway did not come up"
dtn_log "gateway ready in $(dtn_elapsed "$t0")s (telemetry answers, ARP/ping from worker 1 answered)"

echo
dtn_log "running $N workers: $rounds rounds of $count x $dtype each, pattern random, every element checked"
t0=$(dtn_now)
dtn_job_start "$DTN_TMP" --count "$count" --dtype "$dtype" --rounds "$rounds" \
	--pattern random --seed 1 --timeout-ms 10000 $worker_args
rc=0
dtn_wait_all 180 "${DTN_JOB_PIDS[@]}" || rc=1
wall=$(dtn_elapsed "$t0")

echo
for (( r = 0; r < N; r++ )); do
	st=${DTN_WAIT_RC[$r]}
	case $st in
	0) what="ok" ;;
	1) what="RESULT MISMATCH" ;;
	2) what="usage error" ;;
	3) what="gateway error or timeout" ;;
	124) what="still running after 180s: killed" ;;
	*) what="exit $st" ;;
	esac
	printf 'rank %d (%s): %s\n' "$r" "${DTN_JOB_IPS[$r]}" "$what"
	sed 's/^/    /' "$DTN_TMP/rank$r.log"
done

# Throughput: payload bytes each worker contributed and got back, over the
# wall time of the whole run (process start to the last exit, join included).
esize=$(case $dtype in int32|float32|float32-on-int32) echo 4 ;; *) echo 2 ;; esac)
"$DTN_PY" - "$N" "$count" "$esize" "$rounds" "$wall" <<'EOF'
import sys
n, count, esize, rounds, wall = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
per = count * esize * rounds
print(f"\nthroughput over {wall:.2f}s wall (join and process start included):")
print(f"  per worker:  {per / wall * 8 / 1e9:8.3f} Gbit/s of tensor ({per / 2**20:.1f} MiB reduced)")
print(f"  aggregated:  {n * per / wall * 8 / 1e9:8.3f} Gbit/s into the gateway ({n} workers)")
EOF

echo
dtn_log "gateway counters (/daitn/stats, non-zero):"
if stats=$(dtn_gw_stats /daitn/stats 2>&1); then
	"$DTN_PY" -c '
import json, sys
def walk(o, path):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from walk(v, path + [k])
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from walk(v, path + [str(i)])
    elif isinstance(o, (int, float)) and not isinstance(o, bool) and o != 0:
        yield "/".join(path[1:]), o
for k, v in walk(json.loads(sys.argv[1]), []):
    print(f"  {k:40s} {v}")
' "$stats"
else
	dtn_warn "could not read the gateway's counters: $stats"
	rc=1
fi

# The PMD counts what it delivered; the kernel counts what reached the veth.
# The difference is what the af_packet receive ring had no room for.
if port=$(dtn_gw_stats /ethdev/stats,0 2>/dev/null) &&
   veth=$(ip -n "$(dtn_ns_gw)" -s -j link show "$(dtn_gw_iface)"); then
	"$DTN_PY" -c '
import json, sys
s = json.loads(sys.argv[1])["/ethdev/stats"]
k = json.loads(sys.argv[2])[0]["stats64"]["rx"]["packets"]
i, o, err = s["ipackets"], s["opackets"], s["oerrors"]
print(f"  port 0: the veth received {k} frames, the af_packet PMD delivered {i} "
      f"({k - i} not taken from the ring), sent {o}, {err} send errors")
' "$port" "$veth" || dtn_warn "could not read the port counters"
fi

dtn_gw_stop 10 || { dtn_warn "the gateway did not shut down cleanly (status $DTN_GW_STOP_RC)"; dtn_gw_log_tail 20; rc=1; }
echo
if [[ $rc -eq 0 ]]; then
	dtn_log "PASS: $N workers x $rounds rounds, every element verified; cleaning up"
else
	dtn_gw_log_tail 20
	dtn_log "FAIL: see above; cleaning up"
fi
exit $rc
