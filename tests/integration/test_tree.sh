#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_tree: a job that spans gateways. Three real daitn-gw processes on one
# bridge, each in its own namespace: a root (10.77.0.1) and two leaves
# (10.77.0.2, 10.77.0.3), with four workers behind each leaf (10.77.0.11-14
# and .15-18). Each leaf's policy names the root as the parent of jobs 1-5
# (its rank 0 or 1 there); the root's policy lists the two leaves as the
# ranks of those jobs, and job 6 with two workers of its own. Every data
# lcore polls adaptively, so the three gateways share the two CPUs; the
# root and leaf 2 have two data lcores each.
#
#   1. jobs 1-4 (float32, int32, bfloat16, float16) and 5 (fedavg float32):
#      8 workers x 3 rounds, each checking every element against the sum
#      (the weighted mean) of all 8 ranks' inputs (daitn-worker --tree);
#      the root completed each chunk once per round, each leaf sent each
#      chunk's sum up once and fanned the root's result out;
#   2. the four dtypes again under 1% and then 10% loss on every
#      link, the leaves' and the root's included: still exact, and the
#      leaves resent sums up for workers' retransmissions;
#   3. the root restarted: the leaves keep their slots' rounds, the new
#      root starts past the floor their HELLOs ask for, and job 1 is exact;
#   4. leaf 2 killed mid-run: leaf 1's workers fail within their peer
#      timeout saying that their gateway waits for its parent; job 6 on
#      the root runs exact meanwhile; telemetry names the tree;
#   5. every gateway still up shuts down cleanly.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DTN_ROOT/scripts/lib/tree.sh"
it_prereqs
command -v nft >/dev/null || it_skip "nft is not installed (loss injection)"

ROUNDS=3
COUNT=30000
IT_RUN_BOUND=120
NW=$DTN_TREE_WORKERS

dtn_trap_install
dtn_tmp_create
dtn_tree_topo "$NW"
# configs/tree, and job 7: 128 ranks behind each leaf (64 on each of two
# worker nodes, one process each with --ranks) under a root job of 2.
dtn_tree_configs '
for name, first, rank in (("leaf1", 1, 0), ("leaf2", 5, 1)):
    j = {k: v for k, v in pols[name]["jobs"][0].items()}
    j["id"] = 7
    j["workers"] = [{"rank": k, "node": f"w{first + k // 64}", "port": 48000 + k % 64}
                    for k in range(128)]
    pols[name]["jobs"].append(j)
r = {k: v for k, v in pols["root"]["jobs"][0].items()}
r["id"] = 7
pols["root"]["jobs"].append(r)
'

# A counter summed over the whole reply (dtn_telemetry.py --sum).
cnt() { dtn_gwn_tel "$1" --sum "$2" "${3:-/daitn/stats}" 2>/dev/null || echo -1; }

# Run job j on all 8 workers: dtype, rounds, extra args. 0 if every rank
# exits 0 with "ROUNDS rounds OK".
run_tree_job() {
	local j=$1 dtype=$2 rounds=$3 i ok=0 pids=()
	shift 3
	RUN_DIR="$DTN_TMP/job$j-$dtype-$(date +%s%N)"
	mkdir -p "$RUN_DIR"
	for (( i = 1; i <= NW; i++ )); do
		# shellcheck disable=SC2046
		dtn_worker_start "$i" "$RUN_DIR/w$i.log" $(dtn_tree_worker_args "$i" "$j") --dtype "$dtype" \
			--count "$COUNT" --rounds "$rounds" --pattern exact --quiet "$@"
		pids+=("$DTN_LAST_PID")
	done
	dtn_wait_all "$IT_RUN_BOUND" "${pids[@]}" || ok=1
	for (( i = 1; i <= NW; i++ )); do
		if [[ ${DTN_WAIT_RC[$((i - 1))]} -ne 0 ]] || ! grep -q "$rounds rounds OK" "$RUN_DIR/w$i.log"; then
			ok=1
			it_log "worker $i (job $j) exited ${DTN_WAIT_RC[$((i - 1))]}; its log ends:"
			tail -n 4 "$RUN_DIR/w$i.log" | sed 's/^/    /'
		fi
	done
	[[ $ok -eq 0 ]] || tree_dump "$j"
	return $ok
}

# What each gateway says about job j (after a failure).
tree_dump() {
	local g
	for g in "${DTN_TREE_GWS[@]}"; do
		dtn_gwn_tel "$g" "/daitn/job,$1" 2>/dev/null | "$DTN_PY" -c '
import json, sys
d = json.load(sys.stdin)["/daitn/job"]
print(f"    {sys.argv[1]}: run {d[\"run\"]} {d[\"run_state\"]} base {d[\"round_base\"]}, sets active {d[\"sets_active\"]} complete {d[\"sets_complete\"]}")
print("      tree:", d.get("tree"))
print("      fates:", d["fates"])' "${DTN_TREE_NAME[$g]}" || it_log "no telemetry from ${DTN_TREE_NAME[$g]}"
	done
}

chunks_of() {   # dtype -> chunks of COUNT elements (1024-byte chunks)
	case $1 in
	bfloat16|float16) echo $(( (COUNT * 2 + 1023) / 1024 )) ;;
	fedavg) echo $(( (COUNT + 254) / 255 )) ;;   # 255 elements and the weight
	*) echo $(( (COUNT * 4 + 1023) / 1024 )) ;;
	esac
}

# Loss on every link of the bridge, both directions: every Nth UDP packet.
loss_set() {
	local pct=$1 sw every ifc
	sw=$(dtn_ns_switch)
	ip netns exec "$sw" nft delete table bridge dtntree 2>/dev/null || true
	[[ $pct -eq 0 ]] && return 0
	every=$(( 100 / pct ))
	ip netns exec "$sw" nft add table bridge dtntree
	ip netns exec "$sw" nft add chain bridge dtntree loss \
		'{ type filter hook forward priority 0; policy accept; }'
	for ifc in "${DTN_P}grb" "${DTN_P}gab" "${DTN_P}gbb" $(for (( i = 1; i <= NW; i++ )); do dtn_worker_port_iface "$i"; done); do
		ip netns exec "$sw" nft add rule bridge dtntree loss iifname "$ifc" \
			meta l4proto udp numgen inc mod "$every" 0 counter drop
	done
}

loss_dropped() {   # packets dropped so far on the links named by $1 (grep pattern)
	ip netns exec "$(dtn_ns_switch)" nft list table bridge dtntree 2>/dev/null |
		awk -v m="$1" '/counter packets/ && $0 ~ m { for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}

# The root and leaf 2 run two data lcores (on one CPU): a leaf then sends
# each slot's sum to the root's shard of it, and takes the root's RESULTs
# on its udp_port_base and steers them to the shard that owns their slot.
for name in root leaf2; do
	"$DTN_PY" - "$DTN_TMP/tree/gateway-$name.json" <<'EOF' || { it_log "cannot edit gateway-$name.json"; exit 1; }
import json, sys
with open(sys.argv[1]) as f:
    c = json.load(f)
c["data_lcores"] = [1, 2]
c["data_cpus"] = [1, 1]
c["ports"][0]["vdev"] += ",qpairs=2"
with open(sys.argv[1], "w") as f:
    json.dump(c, f, indent=1)
EOF
done
for g in "${DTN_TREE_GWS[@]}"; do
	dtn_tree_gw_up "$g" || { it_log "FAIL: gateway $g did not start"; exit 1; }
done
it_log "root ${DTN_TREE_IP[r]}, leaves ${DTN_TREE_IP[a]} and ${DTN_TREE_IP[b]}, 4 workers each"

# 1. Every dtype, and fedavg, through the tree.
for spec in "1 float32" "2 int32" "3 bfloat16" "4 float16" "5 float32 fedavg"; do
	read -r j dtype kind <<<"$spec"
	c0_r=$(cnt r completed) c0_a=$(cnt a tree_result) c0_b=$(cnt b tree_result)
	up0=$(dtn_tree_field a "$j" partials_up)
	if run_tree_job "$j" "$dtype" "$ROUNDS"; then res=0; else res=1; fi
	want=$(( ROUNDS * $(chunks_of "${kind:-$dtype}") ))
	it_check "[[ $res -eq 0 ]]" "job $j ($dtype${kind:+ $kind}): 8 workers on 2 leaves x $ROUNDS rounds x $COUNT elements, every element the sum of all 8 ranks"
	c_r=$(( $(cnt r completed) - c0_r ))
	c_a=$(( $(cnt a tree_result) - c0_a )) c_b=$(( $(cnt b tree_result) - c0_b ))
	up=$(( $(dtn_tree_field a "$j" partials_up) - up0 ))
	it_check "[[ $c_r -eq $want && $c_a -eq $want && $c_b -eq $want && $up -eq $want ]]" \
		"job $j: the root completed $c_r chunks, leaf 1 sent $up sums up and fanned out $c_a results, leaf 2 $c_b (want $want each)"
done

# 2. Loss on every link, the inter-gateway links included.
for pct in 1 10; do
	loss_set "$pct"
	for spec in "2 int32" "1 float32" "3 bfloat16" "4 float16"; do
		read -r j dtype <<<"$spec"
		d0=$(loss_dropped "g[ab]b") rs0=$(dtn_tree_field a "$j" partials_resent)
		rs0_b=$(dtn_tree_field b "$j" partials_resent)
		if run_tree_job "$j" "$dtype" "$ROUNDS" --timeout-ms 20000; then res=0; else res=1; fi
		d=$(( $(loss_dropped "g[ab]b") - d0 ))
		rs=$(( $(dtn_tree_field a "$j" partials_resent) + $(dtn_tree_field b "$j" partials_resent) - rs0 - rs0_b ))
		it_check "[[ $res -eq 0 ]]" "loss $pct% on every link, job $j ($dtype): every element exact"
		it_check "[[ $d -gt 0 && $rs -gt 0 ]]" "loss $pct%, job $j: the leaves' uplinks dropped $d packets; the leaves resent $rs sums up"
	done
done
loss_set 0

# 3. The root restarts: the leaves keep their rounds; the new root starts
# its run past their floors.
dtn_gwn_down r || true
dtn_tree_gw_up r || { it_log "FAIL: the root did not restart"; exit 1; }
if run_tree_job 1 float32 "$ROUNDS"; then res=0; else res=1; fi
it_check "[[ $res -eq 0 ]]" "after a root restart, job 1 through the tree is exact again"
base=$(dtn_gwn_tel r /daitn/job,1 | "$DTN_PY" -c 'import json,sys; print(json.load(sys.stdin)["/daitn/job"]["round_base"])')
it_check "[[ $base -gt 0 ]]" "the restarted root started job 1's run at round $base, past the leaves' rounds (not 0)"

# 256 ranks through the tree: 128 behind each leaf, 64 per process.
RUN_DIR="$DTN_TMP/job7"
mkdir -p "$RUN_DIR"
pids=()
for i in 1 2 5 6; do
	if (( i <= 2 )); then leaf=a first=$(( (i - 1) * 64 )); else leaf=b first=$(( 128 + (i - 5) * 64 )); fi
	dtn_worker_start "$i" "$RUN_DIR/p$i.log" --gateway "${DTN_TREE_IP[$leaf]}" \
		--bind "10.77.0.$((10 + i)):48000" --job 7 --ranks "$(( first % 128 ))-$(( first % 128 + 63 ))" \
		--tree "$(( first - first % 128 )):256" --count 4096 --rounds 2 --pattern exact \
		--timeout-ms 20000 --quiet
	pids+=("$DTN_LAST_PID")
done
ok=0
dtn_wait_all "$IT_RUN_BOUND" "${pids[@]}" || ok=1
n_ok=$(cat "$RUN_DIR"/p*.log | grep -c "2 rounds OK" || true)
it_check "[[ $ok -eq 0 && $n_ok -eq 256 ]]" "256 ranks (128 behind each leaf, 64 per process): $n_ok of them report 2 rounds, every element the sum of all 256"
[[ $ok -eq 0 && $n_ok -eq 256 ]] || tail -n 3 "$RUN_DIR/p1.log" | sed 's/^/    /'

# 4. Leaf 2 dies mid-run. Leaf 1's workers must fail with a clear error
# within their peer timeout; job 6 on the root is untouched.
LONG=100000
RUN_DIR="$DTN_TMP/kill"
mkdir -p "$RUN_DIR"
kpids=()
for (( i = 1; i <= NW; i++ )); do
	# shellcheck disable=SC2046
	dtn_worker_start "$i" "$RUN_DIR/w$i.log" $(dtn_tree_worker_args "$i" 1) --dtype float32 \
		--count 4096 --rounds "$LONG" --pattern exact --quiet --peer-timeout-ms 4000 \
		--timeout-ms 8000
	kpids+=("$DTN_LAST_PID")
done
res0=$(cnt a tree_result)
deadline=$(( $(date +%s) + 60 ))
until (( $(cnt a tree_result) - res0 >= 20 )) || (( $(date +%s) >= deadline )); do sleep 0.2; done
it_check "(( $(cnt a tree_result) - res0 >= 20 ))" "job 1 is running through the tree before the kill"
dtn_gwn_down b KILL || true
t0=$(dtn_now)
dtn_wait_all 60 "${kpids[@]:0:4}" || true
el=$(dtn_elapsed "$t0")
clear=0
for (( i = 1; i <= 4; i++ )); do
	grep -q "waited .* ms for its parent gateway" "$RUN_DIR/w$i.log" && clear=$((clear + 1))
done
it_check "[[ $clear -eq 4 && ${DTN_WAIT_RC[0]} -eq 3 ]]" "leaf 2 killed: leaf 1's 4 workers failed in ${el}s (peer timeout 4 s), $clear of them saying their gateway waits for its parent"
[[ $clear -eq 4 ]] || tail -n 3 "$RUN_DIR/w1.log" | sed 's/^/    /'
dtn_wait_all 30 "${kpids[@]:4:4}" || true
# Job 6 lives on the root alone: two workers, the root as their gateway.
j6=()
for i in 1 2; do
	dtn_worker_start "$i" "$RUN_DIR/j6-w$i.log" --gateway "${DTN_TREE_IP[r]}" \
		--bind "10.77.0.$((10 + i)):47206" --job 6 --rank $((i - 1)) --count "$COUNT" \
		--rounds "$ROUNDS" --pattern exact --quiet
	j6+=("$DTN_LAST_PID")
done
ok6=0
dtn_wait_all "$IT_RUN_BOUND" "${j6[@]}" && grep -q "$ROUNDS rounds OK" "$RUN_DIR/j6-w1.log" &&
	grep -q "$ROUNDS rounds OK" "$RUN_DIR/j6-w2.log" && ok6=1
it_check "[[ $ok6 -eq 1 ]]" "job 6 on the same root runs exact while its tree job has lost a leaf"
role=$(dtn_tree_field r 1 role) slow=$(dtn_tree_field r 1 slowest_child) parent=$(dtn_tree_field a 1 parent)
state=$(dtn_tree_field a 1 parent_state)
it_check "[[ $role == root && $parent == 10.77.0.1:47000 && $state == joined && -n $slow ]]" \
	"telemetry: the root's job 1 is a root (slowest child rank $slow); leaf 1's parent is $parent, $state"

kr=$("$DTN_BUILD/control/ctl/daitnctl" jobs -f "${DTN_P}gwr" | awk '$1 == 1 { print $4 }')
ka=$("$DTN_BUILD/control/ctl/daitnctl" jobs -f "${DTN_P}gwa" | awk '$1 == 1 { print $4 }')
it_check "[[ $kr == sum,parent && $ka == sum,child ]]" "daitnctl jobs: job 1 is '$kr' on the root and '$ka' on leaf 1"

# Leaf 2 comes back: its new process ends the root's run, leaf 1 hears so
# from its next GRAD, and a new run of all 8 workers is exact.
dtn_tree_gw_up b || { it_log "FAIL: leaf 2 did not restart"; exit 1; }
if run_tree_job 1 float32 "$ROUNDS"; then res=0; else res=1; fi
it_check "[[ $res -eq 0 ]]" "leaf 2 restarted: job 1 through the tree is exact again"

# 5. Clean shutdowns.
for g in r a b; do
	if dtn_gwn_down "$g"; then rc=0; else rc=$?; fi
	it_check "[[ $rc -eq 0 ]]" "gateway $g shut down cleanly on SIGINT (status $rc)"
done
it_log "$IT_PASS checks passed, $IT_FAIL failed"
[[ $IT_FAIL -eq 0 ]]
