#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_lcores: the multi-lcore gateway as a real process. daitn-gw runs with
# 2 and with 4 data lcores on net_af_packet (qpairs=N; the PMD has no
# rte_flow, its fanout hash spreads packets over the queues and an lcore
# hands a chunk of another shard to its owner over that shard's handoff
# ring), then with 2 and 4 data lcores on net_tap (N queues; the gateway
# installs one rte_flow rule per shard, UDP port udp_port+k -> queue k,
# where the PMD and the kernel take them). The tap netdev the PMD creates is
# bridged to the gateway's veth inside the gateway's namespace. The data
# lcores share the machine's CPUs (data_cpus: 2 lcores on one CPU, 4 lcores
# two per CPU) and poll adaptively ("idle_poll": "adaptive"), so the test
# runs on a 2-CPU machine, loaded or not.
# For each gateway, jobs 1 (float32), 2 (int32), 3 (bfloat16), 4 (float16)
# of the demo policy run in turn, 4 workers x 3 rounds x 100000 elements,
# pattern exact. Checks:
#   - every worker exits 0 with every element of every round bit-exact;
#   - the gateway's port log line names N queue pairs and the steering;
#   - per data lcore (/daitn/lcores), completed grew by exactly rounds x the
#     chunks of its shard (chunk c lives on shard c mod N), so every lcore
#     aggregated its share, and the total is chunks x rounds;
#   - handoffs: every chunk handed out was taken in (handoff_in =
#     handoff_out summed over the lcores; a full ring is not counted as
#     handed out, and handoff_full is only logged: a CPU-starved owner may
#     fill its ring, the workers then resend);
#     software steering (af_packet) handed chunks between lcores (> 0);
#     rte_flow steering handed none (= 0: the rules put every shard port's
#     packets on its owner's queue, and only those are handed off);
#   - each gateway shuts down cleanly on SIGINT.
# net_tap's rte_flow needs the kernel's sch_multiq, cls_flower and
# act_skbedit; without them the PMD disables rte_flow, the gateway says
# "software steering", and the tap runs are checked as software-steered
# (the output says so). Where the kernel cannot make a multi-queue tap at
# all (no /dev/net/tun), the tap runs are skipped with the reason and the
# af_packet runs still count; a gateway that fails to set its tap port up
# where the kernel can is a failure.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs

ROUNDS=3
COUNT=100000
IT_RUN_BOUND=60      # per job run; workers fail a round after 10 s without progress
# A gateway of 4 data lcores sharing 2 busy CPUs takes longer to stop (its
# lcores, the control thread and the tap's teardown take turns): the bound
# only catches a hang (one stop under --stress took over 10 s).
IT_STOP_BOUND=30
JOBS=("1 float32" "2 int32" "3 bfloat16" "4 float16")
CONFIGS=("af_packet 2" "af_packet 4" "tap 2" "tap 4")
GWBR=gwbr0           # bridge in the gateway namespace: veth <-> tap
TAP_KMAC=02:d7:00:00:00:fe   # the tap netdev's kernel-side MAC (not the gateway's)

dtn_trap_install
dtn_tmp_create
dtn_job_load "$IT_POLICY"
dtn_topo_create "$DTN_JOB_N"
dtn_gw_config_make "$IT_GW_CONFIG" "$DTN_TMP/gateway.json"
TAP_IF="${DTN_P}t0"

# gw_config DRIVER N OUT: the adapted demo config with N data lcores on the
# CPUs 0 and 1 (whichever this process may use), adaptive polling, slot
# memory that the demo policy's jobs fit N ways, and DRIVER's vdev.
gw_config() {
	"$DTN_PY" - "$DTN_TMP/gateway.json" "$1" "$2" "$3" "$TAP_IF" <<'EOF'
import json, os, re, sys
src, driver, n, out, tap = sys.argv[1:6]
n = int(n)
with open(src) as f:
    c = json.load(f)
cpus = [x for x in (0, 1) if x in os.sched_getaffinity(0)] or [0]
c["main_lcore"] = 0
c["data_lcores"] = list(range(1, n + 1))
# 2 lcores: both on the last CPU; 4: two per CPU.
c["data_cpus"] = [cpus[-1]] * n if n <= 2 else [cpus[k % len(cpus)] for k in range(n)]
c["idle_poll"] = "adaptive"
c["slot_memory"] = "8MiB"
c["mbufs"] = 8191
c["memory_mb"] = 256
p = c["ports"][0]
if driver == "af_packet":
    p["vdev"] = re.sub(r",qpairs=\d+", "", p["vdev"]) + f",qpairs={n}"
else:
    p["vdev"] = f"net_tap0,iface={tap}"
with open(out, "w") as f:
    json.dump(c, f, indent=2)
print(f"data lcores {c['data_lcores']} on CPUs {c['data_cpus']}, main lcore 0 on CPU 0, idle_poll adaptive")
EOF
}

# lcores_read: per data lcore of the running gateway, "shard rx handoff_in
# handoff_out completed" lines into LC_NOW (an array, one line per shard).
lcores_read() {
	local json
	json=$(dtn_gw_stats /daitn/lcores) || return 1
	mapfile -t LC_NOW < <("$DTN_PY" -c '
import json, sys
d = json.loads(sys.argv[1])["/daitn/lcores"]
for i in range(len(d["shard"])):
    print(*(d[k][i] for k in ("shard", "rx", "handoff_in", "handoff_out", "completed")))
' "$json")
}

# lc_col SNAPSHOT_NAME K COLUMN: a field of shard K (1 rx, 2 handoff_in,
# 3 handoff_out, 4 completed) from the array named SNAPSHOT_NAME.
lc_col() {
	local -n snap=$1
	local f
	read -ra f <<<"${snap[$2]}"
	echo "${f[$3]}"
}

lc_sum() {   # lc_sum SNAPSHOT_NAME COLUMN
	local -n snap2=$1
	local k n=0
	for (( k = 0; k < ${#snap2[@]}; k++ )); do
		n=$(( n + $(lc_col "$1" "$k" "$2") ))
	done
	echo "$n"
}

# wait_lcores TEST SECONDS: re-read /daitn/lcores until the function TEST
# (which looks at LC_NOW) succeeds or the bound passes; only bounds a hang.
wait_lcores() {
	local deadline=$(( $(date +%s) + $2 ))
	while :; do
		lcores_read || true
		"$1" && return 0
		(( $(date +%s) < deadline )) || return 1
		sleep 0.1
	done
}
# shellcheck disable=SC2317 # both called through wait_lcores
all_completed() { (( $(lc_sum LC_NOW 4) - $(lc_sum LC_0 4) >= want )); }
# shellcheck disable=SC2317
handoffs_drained() { (( $(lc_sum LC_NOW 2) == $(lc_sum LC_NOW 3) )); }

# tap_attach: once the gateway has set its port up, give the tap netdev a
# kernel-side MAC of its own (the PMD copies the gateway's MAC onto it, and
# a bridge delivers frames for a port's own MAC locally instead of out of
# the port) and enslave it to the bridge that holds the gateway's veth.
tap_attach() {
	local ns deadline
	ns=$(dtn_ns_gw)
	deadline=$(( $(date +%s) + 30 ))
	until grep -q "port p0: net_tap0" "$DTN_GW_LOG" 2>/dev/null; do
		kill -0 "$DTN_GW_PID" 2>/dev/null || return 1
		(( $(date +%s) < deadline )) || return 1
		sleep 0.1
	done
	ip -n "$ns" link show "$TAP_IF" >/dev/null 2>&1 || return 1
	ip -n "$ns" link set "$TAP_IF" address "$TAP_KMAC" &&
		ip -n "$ns" link set "$TAP_IF" master "$GWBR" up
}

# bridge_make: a bridge in the gateway namespace holding its veth (the
# af_packet runs are over: nothing binds the veth any more).
bridge_make() {
	local ns
	ns=$(dtn_ns_gw)
	ip -n "$ns" link show "$GWBR" >/dev/null 2>&1 && return 0
	ip -n "$ns" link add "$GWBR" type bridge stp_state 0 forward_delay 0 mcast_snooping 0 &&
		ip -n "$ns" link set "$(dtn_gw_iface)" master "$GWBR" &&
		ip -n "$ns" link set "$GWBR" up
}

# tap_probe: can this kernel give the gateway a multi-queue tap? Prints why
# not and fails if it cannot (the tap runs are then skipped, not failed).
tap_probe() {
	local ns
	ns=$(dtn_ns_gw)
	[[ -c /dev/net/tun ]] || { echo "no /dev/net/tun: this kernel has no tun/tap"; return 1; }
	ip -n "$ns" tuntap add dev "${DTN_P}tp" mode tap multi_queue >/dev/null 2>&1 ||
		{ echo "cannot create a multi-queue tap here (ip tuntap add ... multi_queue failed)"; return 1; }
	ip -n "$ns" link del "${DTN_P}tp"
}

TAP_SKIP=$(tap_probe) || true
declare -A TIME=()
ran=0
for cf in "${CONFIGS[@]}"; do
	read -r drv n <<<"$cf"
	name="net_$drv, $n lcores"
	TIME[$name]="did not finish"
	if [[ $drv == tap && -n $TAP_SKIP ]]; then
		TIME[$name]="skipped ($TAP_SKIP)"
		it_log "$name: ${TIME[$name]}"
		continue
	fi
	cfg="$DTN_TMP/gateway-$drv-$n.json"
	layout=$(gw_config "$drv" "$n" "$cfg")
	if ! dtn_gw_stop "$IT_STOP_BOUND"; then
		it_check "false" "the previous gateway shut down cleanly (status ${DTN_GW_STOP_RC:-?})"
	elif [[ $ran -gt 0 ]]; then
		it_check "true" "the previous gateway shut down cleanly"
	fi
	t_cfg=$(dtn_now)
	if [[ $drv == tap ]] && ! bridge_make; then
		it_check "false" "$name: a bridge holds the gateway's veth in its namespace"
		continue
	fi
	dtn_gw_start "$cfg" "$IT_POLICY"
	if [[ $drv == tap ]] && ! tap_attach; then
		it_check "false" "$name: the gateway set its net_tap port up and the tap joined the bridge"
		dtn_gw_log_tail 20
		dtn_gw_stop "$IT_STOP_BOUND" || true
		continue
	fi
	if ! dtn_gw_wait_ready 30; then
		it_check "false" "$name: the gateway came up"
		dtn_gw_stop "$IT_STOP_BOUND" || true
		continue
	fi
	ran=$((ran + 1))
	portline=$(grep -m1 "port p0: .* queue pair" "$DTN_GW_LOG" || true)
	steer=software
	[[ $portline == *", rte_flow steering"* ]] && steer=rte_flow
	it_log "$name: $layout"
	it_log "$name: ${portline#*daitn-gw: }"
	it_check "[[ \"\$portline\" == *\"$n queue pairs\"* && ( $drv == tap || $steer == software ) ]]" \
		"$name: the port has $n queue pairs, $steer steering"
	if [[ $drv == tap && $steer == software ]]; then
		it_log "$name: net_tap without rte_flow here (the kernel lacks sch_multiq/cls_flower/act_skbedit?); checked as software steering"
		grep -iE "multiq|disabling rte flow" "$DTN_GW_LOG" | head -2 | sed 's/^/    /' || true
	fi
	lcores_read || { it_check "false" "$name: /daitn/lcores answers"; continue; }
	it_check "[[ ${#LC_NOW[@]} -eq $n ]]" "$name: /daitn/lcores lists $n data lcores"
	# shellcheck disable=SC2034 # read through lc_col/lc_sum by name
	LC_CFG0=("${LC_NOW[@]}")
	for jd in "${JOBS[@]}"; do
		read -r job dtype <<<"$jd"
		# shellcheck disable=SC2034 # read through lc_col/lc_sum by name
		LC_0=("${LC_NOW[@]}")
		t0=$(dtn_now)
		if it_run_job "$job" "$dtype" exact "$ROUNDS" "$COUNT" --timeout-ms 10000 \
			--hello-timeout-ms 10000; then res=0; else res=1; fi
		tag="$name, job $job $dtype"
		it_check "[[ $res -eq 0 ]]" "$tag: 4 workers x $ROUNDS rounds x $COUNT elements bit-exact, $(dtn_elapsed "$t0") s"
		chunks=$(it_chunks "$dtype" "$COUNT")
		want=$(( ROUNDS * chunks ))
		# Completions are counted before the results go out: they are in
		# by the time the workers are done; the wait only bounds a hang.
		wait_lcores all_completed 10 || true
		per="" ok=1
		for (( k = 0; k < n; k++ )); do
			got=$(( $(lc_col LC_NOW "$k" 4) - $(lc_col LC_0 "$k" 4) ))
			exp=$(( ROUNDS * ((chunks - k + n - 1) / n) ))
			per+=" $got/$exp"
			[[ $got -eq $exp ]] || ok=0
		done
		tot=$(( $(lc_sum LC_NOW 4) - $(lc_sum LC_0 4) ))
		it_check "[[ $ok -eq 1 && $tot -eq $want ]]" "$tag: completed per lcore (got/want):$per, total $tot = $ROUNDS x $chunks chunks"
	done
	# Every handed-off packet reaches its owner's ring and is taken in; the
	# rings drain while the lcores poll, the wait only bounds a hang.
	wait_lcores handoffs_drained 10 || true
	hin=$(( $(lc_sum LC_NOW 2) - $(lc_sum LC_CFG0 2) ))
	hout=$(( $(lc_sum LC_NOW 3) - $(lc_sum LC_CFG0 3) ))
	full=$(dtn_gw_counter handoff_full 2>/dev/null || echo "?")
	per=""
	for (( k = 0; k < n; k++ )); do
		per+=" [shard $k: rx $(( $(lc_col LC_NOW "$k" 1) - $(lc_col LC_CFG0 "$k" 1) )), in $(( $(lc_col LC_NOW "$k" 2) - $(lc_col LC_CFG0 "$k" 2) )), out $(( $(lc_col LC_NOW "$k" 3) - $(lc_col LC_CFG0 "$k" 3) ))]"
	done
	it_log "$name: per lcore:$per; handoff_full $full"
	it_check "[[ $hin -eq $hout ]]" "$name: every chunk handed out was taken in (handoff_out $hout, handoff_in $hin)"
	if [[ $steer == rte_flow ]]; then
		it_check "[[ $hout -eq 0 ]]" "$name: rte_flow steering put every packet on its owner's queue: no handoff ($hout)"
	elif [[ $drv == af_packet ]]; then
		it_check "[[ $hout -gt 0 ]]" "$name: software steering: the lcores handed chunks to each other ($hout)"
	else
		# The tun driver queues a flow by its hash, then on the queue that
		# last sent on it (the owner's replies): few handoffs, maybe none.
		it_log "$name: software steering over tun's flow queueing: $hout handoffs"
	fi
	TIME[$name]="$(dtn_elapsed "$t_cfg") s"
	it_log "$name: done in ${TIME[$name]}"
done
[[ $ran -gt 0 || $IT_FAIL -gt 0 ]] || it_skip "no gateway configuration could run"
for cf in "${CONFIGS[@]}"; do
	read -r drv n <<<"$cf"
	it_log "net_$drv, $n lcores: ${TIME["net_$drv, $n lcores"]}"
done
it_finish
