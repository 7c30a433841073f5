#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_slow_rank: a rank that pauses longer than the others' timeout between
# two rounds (a checkpoint, an evaluation) is not a dead gateway. The gateway
# answers the waiting ranks' retransmissions with WAITING (their chunk is
# counted, the slot waits for the slow rank), so they keep waiting, up to
# their peer timeout, instead of failing at --timeout-ms:
#   1. job 1, 4 workers, --timeout-ms 1000; rank 0 sleeps 3 s before round 2:
#      every rank finishes every round bit-exact, and the gateway sent WAITING
#   2. the same with --peer-timeout-ms 1500: ranks 1-3 stop after 1.5 s of
#      waiting, each naming rank 0
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
it_gateway_up

it_counters
ok=1
it_run_job 1 float32 exact 4 65536 --timeout-ms 1000 || ok=0
it_check "[[ $ok -eq 1 ]]" "4 ranks, none paused: 4 rounds bit-exact (the baseline)"

dtn_job_load "$IT_POLICY" 1
LOG="$DTN_TMP/slow"
mkdir -p "$LOG"
start() {   # start EXTRA_ARGS_FOR_RANK0 COMMON_ARGS...: one worker per rank
	local r0=$1 r seed=$RANDOM     # one seed for all ranks of a run
	shift
	DTN_JOB_PIDS=()
	for (( r = 0; r < 4; r++ )); do
		# shellcheck disable=SC2086
		dtn_worker_start $((r + 1)) "$LOG/rank$r.log" --gateway "$DTN_GW_IP" \
			--bind "${DTN_JOB_IPS[$r]}:${DTN_JOB_PORTS[$r]}" --job 1 --rank "$r" \
			--workers 4 --count 65536 --rounds 4 --pattern exact --seed "$seed" \
			--timeout-ms 1000 "$@" $([[ $r -eq 0 ]] && echo "$r0")
		DTN_JOB_PIDS+=("$DTN_LAST_PID")
	done
}

it_counters
start "--pause 2:3000"
dtn_wait_all 60 "${DTN_JOB_PIDS[@]}" || true
ok=1
for (( r = 0; r < 4; r++ )); do
	if [[ ${DTN_WAIT_RC[$r]} -ne 0 ]] || ! grep -q "rank $r: 4 rounds OK" "$LOG/rank$r.log"; then
		ok=0
		it_log "rank $r exited ${DTN_WAIT_RC[$r]}: $(tail -n 2 "$LOG/rank$r.log" | tr '\n' ' ')"
	fi
done
w=$(it_delta waiting_sent)
it_check "[[ $ok -eq 1 && $w -gt 0 ]]" "rank 0 paused 3 s before round 2, the others' timeout 1 s: all 4 rounds bit-exact on every rank; the gateway told the waiting ranks so (waiting_sent +$w)"

rm -f "$LOG"/rank*.log
start "--pause 2:6000" --peer-timeout-ms 1500
dtn_wait_all 60 "${DTN_JOB_PIDS[@]}" || true
ok=1
for r in 1 2 3; do
	if [[ ${DTN_WAIT_RC[$r]} -ne 3 ]] || ! grep -q "has waited 1500 ms for rank(s) 0" "$LOG/rank$r.log"; then
		ok=0
		it_log "rank $r exited ${DTN_WAIT_RC[$r]}: $(grep -h 'daitn_allreduce' "$LOG/rank$r.log" | tail -n 1)"
	fi
done
it_check "[[ $ok -eq 1 ]]" "with --peer-timeout-ms 1500 the waiting ranks stop, each naming rank 0: $(grep -h 'has waited' "$LOG/rank1.log" | head -n 1 | cut -c1-160)"
it_finish
