#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_admission: packets the policy does not admit change nothing and are
# counted. Topology: the 4 workers of configs/policy-demo.json plus a fifth
# namespace (10.77.0.15) that is in no job.
#   1. Quiet gateway, hand-made GRAD messages (tests/integration/dtn_craft.py),
#      each kind counted exactly under its reason, nothing aggregated:
#      - from the outsider, claiming rank 0 of job 1      -> source_not_admitted
#      - from rank 0's address but another UDP port        -> source_not_admitted
#      - from rank 0's address and port, claiming rank 1   -> source_not_admitted
#      - rank 7 of the 4-worker job 1                      -> rank_invalid
#      - job 99, which the policy does not have            -> job_unknown
#   2. A HELLO from the outsider gets an ERROR (not admitted) back, and a real
#      daitn-worker started there as rank 0 is refused quickly (exit 3).
#   3. While the 4 real workers allreduce, the outsider floods GRAD messages of
#      huge values for every rank, slot and set of their job: the workers'
#      results stay bit-exact and the flood is counted as not admitted.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
IT_WORKERS=5                 # namespace 5 is the outsider
it_gateway_up
OUT=5
OUT_IP=$(dtn_worker_ip $OUT)
if grep -q "\"$OUT_IP\"" "$IT_POLICY"; then
	it_log "FAIL: $OUT_IP is in $IT_POLICY; the test needs an address outside the policy"
	exit 1
fi
CRAFT=("$DTN_PY" "$(dirname "${BASH_SOURCE[0]}")/dtn_craft.py")
GW="$DTN_GW_IP:47000"
M=40

# Wait until counter NAME has grown by at least WANT since it_counters: the
# packets arrived and were counted. The bound only catches a hang (or packets
# that never arrive, which the exact checks below then report).
wait_delta() {
	local name=$1 want=$2 deadline=$(( $(date +%s) + 30 ))
	while (( $(it_delta "$name") < want && $(date +%s) < deadline )); do
		sleep 0.05
	done
	return 0
}

craft() {   # craft NS_INDEX ARGS...: run dtn_craft.py in a namespace, bounded
	local i=$1
	shift
	timeout 20 ip netns exec "$(dtn_ns_worker "$i")" "${CRAFT[@]}" "$@"
}

# ---- 1. each kind of refused GRAD, counted exactly -----------------------------
dtn_job_load "$IT_POLICY" 1
r0_ip=${DTN_JOB_IPS[0]} r0_port=${DTN_JOB_PORTS[0]}
cases=(
	"$OUT|$OUT_IP:$r0_port|1|0|source_not_admitted|outsider $OUT_IP claiming rank 0"
	"1|$r0_ip:47999|1|0|source_not_admitted|rank 0's address $r0_ip from port 47999"
	"1|$r0_ip:$r0_port|1|1|source_not_admitted|rank 0's address and port claiming rank 1"
	"$OUT|$OUT_IP:$r0_port|1|7|rank_invalid|rank 7 of a 4-worker job"
	"$OUT|$OUT_IP:$r0_port|99|0|job_unknown|job 99, not in the policy"
)
for c in "${cases[@]}"; do
	IFS='|' read -r ns src job rank reason what <<<"$c"
	it_counters
	craft "$ns" --src "$src" --dst "$GW" --job "$job" --ranks "$rank" --n $M --pps 2000 >/dev/null
	wait_delta "$reason" $M
	d=$(it_delta "$reason")
	agg=$(( $(it_delta aggregated) + $(it_delta completed) ))
	it_check "[[ $d -eq $M ]]" "$what: $M GRAD messages, $reason +$d"
	it_check "[[ $agg -eq 0 ]]" "$what: nothing aggregated (+$agg)"
done

# ---- 2. HELLO from the outsider --------------------------------------------------
it_counters
reply=$(craft $OUT --src "$OUT_IP:$r0_port" --dst "$GW" --job 1 --ranks 0 --type hello \
	--expect-error 2>&1) || true
it_check "[[ \"$reply\" == *'error 2 '* ]]" "HELLO from the outsider answered with ERROR 2 (not admitted): ${reply//$'\n'/ }"
# Refused, not timed out: the worker says which (its hello timeout is long
# enough that a timeout would be a different message).
dtn_worker_start $OUT "$DTN_TMP/outsider.log" --gateway "$DTN_GW_IP" --bind "$OUT_IP:$r0_port" \
	--job 1 --rank 0 --rounds 1 --count 1000 --hello-timeout-ms 60000
rc=0
dtn_wait_all 120 "$DTN_LAST_PID" || rc=${DTN_WAIT_RC[0]}
it_check "[[ $rc -eq 3 ]] && grep -q 'refused job 1 rank 0: not admitted (code 2)' '$DTN_TMP/outsider.log'" \
	"daitn-worker on the outsider as rank 0: refused (exit 3, ERROR 2): $(tail -n1 "$DTN_TMP/outsider.log")"
it_check "[[ $(it_delta source_not_admitted) -ge 2 ]]" "refused HELLOs counted as source_not_admitted (+$(it_delta source_not_admitted))"

# ---- 3. a flood from the outsider while the real workers run ---------------------
it_counters
dtn_job_start "$DTN_TMP" --workers 4 --count 20000 --dtype float32 --rounds 8 \
	--pattern exact --seed 7 --timeout-ms 10000
pids=("${DTN_JOB_PIDS[@]}")
dtn_bg "$(dtn_ns_worker $OUT)" "$DTN_TMP/flood.log" "${CRAFT[@]}" --src "$OUT_IP:$r0_port" \
	--dst "$GW" --job 1 --ranks 0,1,2,3 --n 6000 --slots 128 --rounds 16 --pps 3000 --max-seconds 8
flood=$DTN_LAST_PID
ok=1
dtn_wait_all 90 "${pids[@]}" || ok=0
for (( r = 0; r < 4; r++ )); do
	grep -q "rank $r: 8 rounds OK" "$DTN_TMP/rank$r.log" || ok=0
done
dtn_wait_all 15 "$flood" || true
sent=$(awk '/^sent/ { print $2 }' "$DTN_TMP/flood.log")
sent=${sent:-0}
wait_delta source_not_admitted "$sent"
d=$(it_delta source_not_admitted)
it_check "[[ $ok -eq 1 ]]" "4 real workers x 8 rounds x 20000 float32 stayed bit-exact during the flood"
it_check "[[ $sent -gt 0 && $d -gt 0 && $d -le $sent ]]" \
	"the flood ($sent GRAD messages of 1e6 for ranks 0..3) was counted as source_not_admitted (+$d; the rest lost in the af_packet ring)"
it_check "[[ $(it_delta completed) -eq $(( 8 * $(it_chunks float32 20000) )) ]]" \
	"completed +$(it_delta completed): exactly one completion per chunk and round"
it_finish
