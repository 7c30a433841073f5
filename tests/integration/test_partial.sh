#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_partial: straggler-tolerant rounds through the real gateway
# (docs/protocol.md section 5, "Partial rounds").
#
# Jobs added to the demo policy, float32, 4 workers:
#   20  "completion": {"quorum": 3}
#   21  "completion": {"deadline_ms": 100, "min_ranks": 2}
#   22  deterministic, quorum 3
# Runs:
#   1. job 20, rank 3 a device 25x slower (--slow 3:25, 20 ms of "compute"
#      per round for the others): the three fast ranks close every round
#      they reach first; rank 3's chunks come late.
#   2. job 21, rank 2 drops out for 2 s before round 2 (--pause 2:2000):
#      the deadline closes the rounds without it; back, it is told where
#      the job is (ERROR 6) and goes on from there.
#   3. job 22 as run 1, with --order-exact: the fold of the present ranks in
#      rank order, bit for bit.
#   4. job 21, rank 3 10x slower and rank 1 away for rounds 2-4
#      (--drop-out 1:2-4, daitn_skip_rounds): rank 1 misses those rounds,
#      its round-5 chunks wait for the job (a set also used by round 3) and
#      never enter an earlier round.
# Checks, every run:
#   - every rank exits 0; every result a rank accepted was checked element by
#     element against the sum of exactly the ranks its trailer names (so a
#     late contribution that leaked into a later round would be a mismatch);
#   - the straggler or the dropped rank missed rounds or was left out of
#     some (what the fast ranks saw is logged: a rank that a loaded machine
#     delays may be left out once too, which is the point of the feature);
#   - the gateway closed uses early (closed_quorum or closed_deadline > 0) and
#     counted late contributions (late > 0), and per rank it names the
#     straggler as the one missing most (rank_missing).
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs

ROUNDS=8
COUNT=20000
IT_RUN_BOUND=120

dtn_tmp_create
POLICY="$DTN_TMP/policy-partial.json"
it_policy_with "$POLICY" '[
  {"id": 20, "completion": {"quorum": 3}, "port": 47120},
  {"id": 21, "completion": {"deadline_ms": 100, "min_ranks": 2}, "port": 47121},
  {"id": 22, "completion": {"quorum": 3}, "deterministic": true, "port": 47122}]'
it_gateway_up "$POLICY"

# job_field JOB KEY: a number from /daitn/job,JOB.
job_field() {
	dtn_gw_counter "$2" "/daitn/job,$1" 2>/dev/null || echo -1
}

# The rank that /daitn/job,JOB's rank_missing names most.
most_missing() {
	dtn_gw_stats "/daitn/job,$1" | "$DTN_PY" -c '
import json, sys
m = json.load(sys.stdin)["/daitn/job"]["rank_missing"]
print(max(range(len(m)), key=lambda r: (m[r], -r)))'
}

# run NAME JOB SLOW_RANK [worker args for that rank only] -- [args for all]:
# the four ranks of JOB; passes if every rank exits 0.
run() {
	local name=$1 job=$2 odd=$3 r ok=1 pids=() dir
	shift 3
	local special=() common=()
	while [[ $# -gt 0 && $1 != -- ]]; do special+=("$1"); shift; done
	[[ $# -gt 0 ]] && shift
	common=("$@")
	dtn_job_load "$POLICY" "$job"
	dir="$DTN_TMP/$name"
	mkdir -p "$dir"
	for (( r = 0; r < 4; r++ )); do
		local mine=()
		[[ $r -eq $odd ]] && mine=("${special[@]}")
		dtn_worker_start $((r + 1)) "$dir/rank$r.log" --gateway "$DTN_GW_IP" \
			--bind "${DTN_JOB_IPS[$r]}:${DTN_JOB_PORTS[$r]}" --job "$job" --rank "$r" \
			--workers 4 --count "$COUNT" --rounds "$ROUNDS" --pattern random --seed 99 \
			--timeout-ms 10000 "${common[@]}" "${mine[@]}"
		pids+=("$DTN_LAST_PID")
	done
	dtn_wait_all "$IT_RUN_BOUND" "${pids[@]}" || ok=0
	for (( r = 0; r < 4; r++ )); do
		if [[ ${DTN_WAIT_RC[$r]} -ne 0 ]]; then
			ok=0
			it_log "$name: rank $r exited ${DTN_WAIT_RC[$r]}; its log ends:"
			tail -n 5 "$dir/rank$r.log" | sed 's/^/    /'
		fi
	done
	for (( r = 0; r < 4; r++ )); do
		it_log "$name: $(grep -E "rank $r: $ROUNDS rounds" "$dir/rank$r.log" | tail -n 1)"
	done
	[[ $ok -eq 1 ]]
}

# left_out NAME RANK: the rank missed a round or was left out of one.
left_out() {
	grep -Eq "rank $2: $ROUNDS rounds(, .*missed|.*without this rank)" "$DTN_TMP/$1/rank$2.log"
}

# 1. Quorum, a straggler.
if run quorum 20 3 --slow 3:25 -- --compute-ms 20; then res=0; else res=1; fi
it_check "[[ $res -eq 0 ]]" "quorum 3 of 4, rank 3 25x slower: every rank done, every accepted result exactly the sum of the ranks it names"
it_check "left_out quorum 3" "quorum: the straggler (rank 3) missed rounds or was left out"
cq=$(job_field 20 closed_quorum) late=$(job_field 20 late)
it_check "[[ $cq -gt 0 && $late -gt 0 ]]" "quorum: the gateway closed $cq uses at the quorum and counted $late late contributions"
it_check "[[ $(most_missing 20) -eq 3 ]]" "quorum: rank_missing names rank 3 as the one left out most"

# 2. Deadline, a drop-out.
if run deadline 21 2 --pause 2:2000 --; then res=0; else res=1; fi
it_check "[[ $res -eq 0 ]]" "deadline 100 ms, rank 2 away 2 s: every rank done, every accepted result exactly the sum of the ranks it names"
it_check "left_out deadline 2" "deadline: the dropped rank (2) missed rounds or was left out"
cd_=$(job_field 21 closed_deadline) late=$(job_field 21 late)
it_check "[[ $cd_ -gt 0 ]]" "deadline: the gateway closed $cd_ uses at their deadline ($late late contributions)"

# 3. Deterministic with a quorum.
if run det 22 3 --slow 3:25 -- --compute-ms 20 --order-exact; then res=0; else res=1; fi
it_check "[[ $res -eq 0 ]]" "deterministic quorum: every accepted result bit-exact against the rank-order fold of the ranks it names"
it_check "[[ $(job_field 22 closed_quorum) -gt 0 ]]" "deterministic quorum: uses closed at the quorum"

# 4. Deadline, a straggler and a drop-out together.
late0=$(job_field 21 late)
if run dropout 21 -1 -- --slow 3:10 --compute-ms 20 --drop-out 1:2-4; then res=0; else res=1; fi
it_check "[[ $res -eq 0 ]]" "deadline, rank 3 10x slower, rank 1 away for rounds 2-4: every accepted result exactly the sum of the ranks it names"
missed=$(sed -nE "s/.*rank 1: $ROUNDS rounds, [0-9]+ OK, ([0-9]+) missed.*/\1/p" "$DTN_TMP/dropout/rank1.log" | tail -n 1)
it_check "grep -q 'rank 1: rounds 2-4: dropped out' '$DTN_TMP/dropout/rank1.log' && [[ ${missed:-0} -ge 3 ]]" \
	"drop-out: rank 1 skipped rounds 2-4 (${missed:-0} of $ROUNDS missed)"
late=$(( $(job_field 21 late) - late0 ))
it_check "[[ $late -gt 0 ]] || ! left_out dropout 3" \
	"drop-out run: $late late contributions counted (the straggler's, whenever a round closed without it)"
it_finish
