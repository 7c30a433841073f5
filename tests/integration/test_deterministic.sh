#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_deterministic: a deterministic job's float results are the same bits
# in every run, whatever the network and the gateway do (docs/protocol.md,
# section 5, "Deterministic jobs").
#
# Jobs 5, 6, 7 (float32, bfloat16, float16, "deterministic": true) are added
# to the demo policy. Each runs with the same seed on random inputs in five
# ways: no loss; 1% and 10% loss on every worker link (both directions);
# the workers started highest rank first; and a gateway of two data lcores
# sharing one CPU (data_cpus), on net_af_packet with two queue pairs, whose
# lcores hand chunks that arrive on the other's queue over (handoff), with
# 1% loss. Checks:
#   - every worker checks every element bit for bit against the rank-order
#     fold it computes itself (daitn-worker --order-exact);
#   - the per-round SHA-256 of the results (--digest) is identical across
#     the five runs, and across the four ranks of each run;
#   - the gateway really held chunks for their turn (held_for_order) and,
#     with two lcores, handed chunks between them.
# The ordinary float32 job 1 runs the same ways; whether its digests differ
# is logged: they may (the arrival order shows in its bits), but nothing
# forces a given order here. tests/gw (gw_agg) shows the ordinary sum
# differing for two arrival orders of the same inputs.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
command -v nft >/dev/null || command -v tc >/dev/null || it_skip "neither tc nor nft is installed"

ROUNDS=3
COUNT=20000
SEED=4242
IT_RUN_BOUND=120

dtn_tmp_create
POLICY="$DTN_TMP/policy-det.json"
it_policy_with "$POLICY" '[
  {"id": 5, "dtype": "float32", "deterministic": true, "port": 47115},
  {"id": 6, "dtype": "bfloat16", "deterministic": true, "port": 47116},
  {"id": 7, "dtype": "float16", "deterministic": true, "port": 47117}]'
it_gateway_up "$POLICY"

# The same gateway with two data lcores on the one CPU left beside the main
# lcore, two af_packet queue pairs, adaptive idle polling (two busy lcores on
# one CPU would only take turns).
GW2="$DTN_TMP/gateway-2lcores.json"
"$DTN_PY" - "$DTN_TMP/gateway.json" "$GW2" <<'EOF'
import json, sys
src, out = sys.argv[1:3]
with open(src) as f:
    c = json.load(f)
c["data_lcores"] = [1, 2]
c["data_cpus"] = [1, 1]
c["idle_poll"] = "adaptive"
vdev = c["ports"][0]["vdev"]
c["ports"][0]["vdev"] = vdev + ",qpairs=2" if "qpairs=" not in vdev else vdev
with open(out, "w") as f:
    json.dump(c, f, indent=2)
EOF

# run NAME JOB DTYPE ORDER [worker args...]: one run of JOB's 4 ranks, started
# in ORDER ("up" or "down"); leaves the logs in $DTN_TMP/NAME-JOB and passes
# if every rank exits 0 with every round OK.
run() {
	local name=$1 job=$2 dtype=$3 order=$4 r ok=1 ranks
	shift 4
	dtn_job_load "$POLICY" "$job"
	local dir="$DTN_TMP/$name-$job"
	mkdir -p "$dir"
	ranks=$(seq 0 $((DTN_JOB_N - 1)))
	[[ $order == up ]] || ranks=$(seq $((DTN_JOB_N - 1)) -1 0)
	local -A pid=()
	for r in $ranks; do
		dtn_worker_start $((r + 1)) "$dir/rank$r.log" --gateway "$DTN_GW_IP" \
			--bind "${DTN_JOB_IPS[$r]}:${DTN_JOB_PORTS[$r]}" --job "$job" --rank "$r" \
			--workers "$DTN_JOB_N" --count "$COUNT" --dtype "$dtype" --rounds "$ROUNDS" \
			--pattern random --seed "$SEED" --timeout-ms 10000 --digest "$@"
		pid[$r]=$DTN_LAST_PID
	done
	local pids=()
	for (( r = 0; r < DTN_JOB_N; r++ )); do pids+=("${pid[$r]}"); done
	dtn_wait_all "$IT_RUN_BOUND" "${pids[@]}" || ok=0
	for (( r = 0; r < DTN_JOB_N; r++ )); do
		if [[ ${DTN_WAIT_RC[$r]} -ne 0 ]] || ! grep -q "rank $r: $ROUNDS rounds OK" "$dir/rank$r.log"; then
			ok=0
			it_log "$name, job $job: rank $r exited ${DTN_WAIT_RC[$r]}; its log ends:"
			tail -n 5 "$dir/rank$r.log" | sed 's/^/    /'
		fi
	done
	[[ $ok -eq 1 ]]
}

# The digest lines of a run, one set per rank: "RANK round K sha256 HEX".
digests() {
	local dir="$DTN_TMP/$1-$2" r
	for (( r = 0; r < 4; r++ )); do
		grep '^digest round' "$dir/rank$r.log" | sed "s/^digest/$r/"
	done
}

# Chunks the gateway now running held for their turn, over jobs 5..7.
held_sum() {
	local j n=0
	for j in 5 6 7; do
		n=$(( n + $(dtn_gw_counter held_for_order "/daitn/job,$j" 2>/dev/null || echo 0) ))
	done
	echo "$n"
}

RUNS=(clean loss1 loss10 reversed lcores2)
JOBS=("5 float32" "6 bfloat16" "7 float16" "1 float32")
for name in "${RUNS[@]}"; do
	order=up
	case $name in
	clean) it_loss 0 ;;
	loss1) it_loss 1 ;;
	loss10) it_loss 10 ;;
	reversed) it_loss 0; order=down ;;
	lcores2)
		it_loss 1
		held1=$(held_sum)
		dtn_gw_stop 10 || it_check "false" "the one-lcore gateway stopped cleanly"
		dtn_gw_start "$GW2" "$POLICY"
		dtn_gw_wait_ready 30 || { it_log "FAIL: the two-lcore gateway did not come up"; exit 1; }
		it_log "two-lcore gateway up"
		it_counters
		;;
	esac
	for jd in "${JOBS[@]}"; do
		read -r job dtype <<<"$jd"
		extra=()
		[[ $job -eq 1 ]] || extra=(--order-exact)
		t0=$(dtn_now)
		if run "$name" "$job" "$dtype" "$order" "${extra[@]}"; then res=0; else res=1; fi
		it_check "[[ $res -eq 0 ]]" "$name: job $job ($dtype$([[ $job -eq 1 ]] || echo ", deterministic, bit-exact against the rank-order fold")): 4 ranks x $ROUNDS rounds x $COUNT elements, ${order}ward start, $(dtn_elapsed "$t0") s"
	done
done
handoffs=$(it_delta handoff_in)
dtn_link_reset_all

for jd in "${JOBS[@]}"; do
	read -r job dtype <<<"$jd"
	ref=$(digests clean "$job")
	n_ref=$(grep -c . <<<"$ref" || true)
	# Every rank of the clean run got the same bits in each round.
	per_round=$(awk '{ print $3, $5 }' <<<"$ref" | sort -u | wc -l)
	distinct=1
	same=1
	for name in "${RUNS[@]:1}"; do
		got=$(digests "$name" "$job")
		if [[ "$got" != "$ref" ]]; then
			same=0
			distinct=$((distinct + 1))
		fi
	done
	if [[ $job -eq 1 ]]; then
		it_log "ordinary job 1 (float32): $distinct distinct digest set(s) over ${#RUNS[@]} runs (arrival order may show in its bits; nothing here forces it)"
		continue
	fi
	it_check "[[ $n_ref -eq $((4 * ROUNDS)) && $per_round -eq $ROUNDS ]]" "job $job ($dtype): $n_ref digest lines in the clean run, one result per round shared by all 4 ranks"
	it_check "[[ $same -eq 1 ]]" "job $job ($dtype): identical digests in all ${#RUNS[@]} runs (clean, 1%, 10% loss, reversed start, 2 lcores)"
done
held2=$(held_sum)
# Under 10% loss a lost chunk of a low rank makes the higher ranks' wait.
it_check "[[ $(( held1 + held2 )) -gt 0 ]]" "the gateways held chunks for their rank's turn (held_for_order of jobs 5-7: $held1 with one lcore, $held2 with two)"
it_check "[[ $handoffs -gt 0 ]]" "the two data lcores handed chunks to each other (handoffs +$handoffs)"
it_finish
