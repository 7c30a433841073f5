#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_fedavg: federated averaging through the real gateway (docs/protocol.md
# section 5, "Federated averaging").
#
# Jobs added to the demo policy, 4 workers, "mode": "fedavg":
#   30 float32, 31 bfloat16, 32 float16
#   33 float32, deterministic
#   34 bfloat16, "completion": {"deadline_ms": 100, "min_ranks": 2}
# Rank R's weight in round K is 1 + (R + K) mod 4 (daitn-worker); every
# worker checks every element against the weighted mean it computes itself
# from all ranks' inputs and weights: bit-exact for exact patterns (any
# arrival order gives the same bits there) and --order-exact, within the
# rounding bound for random ones. Runs:
#   1. jobs 30-32, exact and random patterns, no loss, then random with 1%
#      loss on every worker link;
#   2. job 33 with --order-exact, clean and with 10% loss: bit-exact against
#      the rank-order fold, the same per-round digests in both runs;
#   3. job 34, rank 3 10x slower and rank 1 away for rounds 2-4
#      (--drop-out 1:2-4): each chunk is the weighted mean of exactly the
#      ranks its trailer names; the gateway closed uses at their deadline.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
command -v nft >/dev/null || command -v tc >/dev/null || it_skip "neither tc nor nft is installed"

ROUNDS=4
COUNT=20000
IT_RUN_BOUND=120

dtn_tmp_create
POLICY="$DTN_TMP/policy-fedavg.json"
it_policy_with "$POLICY" '[
  {"id": 30, "dtype": "float32", "mode": "fedavg", "port": 47130},
  {"id": 31, "dtype": "bfloat16", "mode": "fedavg", "port": 47131},
  {"id": 32, "dtype": "float16", "mode": "fedavg", "port": 47132},
  {"id": 33, "dtype": "float32", "mode": "fedavg", "deterministic": true, "port": 47133},
  {"id": 34, "dtype": "bfloat16", "mode": "fedavg", "port": 47134,
   "completion": {"deadline_ms": 100, "min_ranks": 2}}]'
IT_POLICY=$POLICY   # it_run_job's jobs
it_gateway_up "$POLICY"

# 1. Every float type.
for spec in 30:float32 31:bfloat16 32:float16; do
	job=${spec%%:*} dtype=${spec#*:}
	for pattern in exact random; do
		it_check "it_run_job $job $dtype $pattern $ROUNDS $COUNT" \
			"job $job ($dtype, fedavg, $pattern): every element of every rank the weighted mean"
	done
	it_loss 1
	it_check "it_run_job $job $dtype random $ROUNDS $COUNT" \
		"job $job ($dtype, fedavg, random, 1% loss): every element of every rank the weighted mean"
	it_loss 0
done

# 2. Deterministic: bit-exact, the same digests with and without loss.
digests() {   # digests DIR: every rank's digest lines, rank first
	local r
	for (( r = 0; r < 4; r++ )); do
		grep '^digest round' "$1/rank$r.log" | sed "s/^digest/$r/"
	done
}
it_check "it_run_job 33 float32 random $ROUNDS $COUNT --order-exact --digest --seed 77" \
	"job 33 (fedavg, deterministic): bit-exact against the rank-order fold of the weighted chunks"
clean=$(digests "$IT_LOGDIR")
it_loss 10
it_check "it_run_job 33 float32 random $ROUNDS $COUNT --order-exact --digest --seed 77" \
	"job 33 (fedavg, deterministic, 10% loss): bit-exact against the rank-order fold"
lossy=$(digests "$IT_LOGDIR")
it_loss 0
it_check "[[ -n '$clean' && '$clean' == '$lossy' ]]" \
	"job 33: the same $(wc -l <<<"$clean") digest lines (4 ranks x $ROUNDS rounds) with and without 10% loss"

# 3. Partial: a straggler and a drop-out.
dtn_job_load "$IT_POLICY" 34
dir="$DTN_TMP/partial"
mkdir -p "$dir"
dtn_job_start "$dir" --workers 4 --count 2000 --dtype bfloat16 --rounds 8 --pattern random \
	--seed 5 --timeout-ms 10000 --slow 3:10 --compute-ms 20 --drop-out 1:2-4
ok=1
dtn_wait_all "$IT_RUN_BOUND" "${DTN_JOB_PIDS[@]}" || ok=0
for (( r = 0; r < 4; r++ )); do
	if [[ ${DTN_WAIT_RC[$r]} -ne 0 ]]; then
		ok=0
		it_log "partial: rank $r exited ${DTN_WAIT_RC[$r]}; its log ends:"
		tail -n 5 "$dir/rank$r.log" | sed 's/^/    /'
	fi
	it_log "partial: $(grep -E "rank $r: 8 rounds" "$dir/rank$r.log" | tail -n 1)"
done
it_check "[[ $ok -eq 1 ]]" "job 34 (fedavg, deadline): every rank done, every accepted chunk the weighted mean of the ranks it names"
missed=$(sed -nE 's/.*rank 1: 8 rounds, [0-9]+ OK, ([0-9]+) missed.*/\1/p' "$dir/rank1.log" | tail -n 1)
it_check "grep -q 'rank 1: rounds 2-4: dropped out' '$dir/rank1.log' && [[ ${missed:-0} -ge 3 ]]" \
	"job 34: rank 1 dropped out of rounds 2-4 (${missed:-0} of 8 rounds missed: those 3, and any a loaded machine made it late for)"
cd_=$(dtn_gw_counter closed_deadline /daitn/job,34 2>/dev/null || echo -1)
it_check "[[ $cd_ -gt 0 ]]" "job 34: the gateway closed $cd_ uses at their deadline"

# daitnctl jobs tells the kinds apart.
jobs=$("$DTN_BUILD/control/ctl/daitnctl" jobs -f "$DTN_GW_PREFIX" 2>&1 || true)
kind() { awk -v j="$1" '$1 == j { print $4 }' <<<"$jobs"; }
it_log "daitnctl jobs: 1 $(kind 1), 30 $(kind 30), 33 $(kind 33), 34 $(kind 34)"
it_check "[[ '$(kind 1)' == sum && '$(kind 30)' == fedavg && '$(kind 33)' == fedavg,det && '$(kind 34)' == fedavg,part ]]" \
	"daitnctl jobs: kind sum (job 1), fedavg (30), fedavg,det (33), fedavg,part (34)"
it_finish
