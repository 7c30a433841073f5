#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_loss: allreduce through the real gateway while every worker link loses
# 1%, then 10%, of its UDP packets in both directions (worker -> gateway
# contributions and gateway -> worker results). tc netem where the kernel has
# sch_netem; otherwise nftables numgen rules on the bridge (the output says
# which). The workers' results must still be exact (int32, and float32 on the
# 'exact' pattern: bit for bit), every run must end within its bound, the loss
# must really have happened (drop counters), and the gateway must show the
# recovery: results resent to workers whose copy was lost, duplicates ignored,
# and still exactly one completion per chunk and round.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
command -v nft >/dev/null || command -v tc >/dev/null || it_skip "neither tc nor nft is installed"
it_gateway_up

ROUNDS=3
COUNT=20000
IT_RUN_BOUND=90      # per run; workers fail a round after 10 s without progress

it_log "loss injection: $(dtn_loss_method)"
for loss in 1 10; do
	dtn_link_reset_all
	for (( i = 1; i <= DTN_N_WORKERS; i++ )); do
		dtn_link_shape "$i" --loss "$loss"
	done
	for run in "2 int32 exact" "1 float32 exact"; do
		read -r job dtype pattern <<<"$run"
		it_counters
		up0=$(dtn_loss_dropped up) down0=$(dtn_loss_dropped down)
		t0=$(dtn_now)
		if it_run_job "$job" "$dtype" "$pattern" "$ROUNDS" "$COUNT" --timeout-ms 10000; then res=0; else res=1; fi
		el=$(dtn_elapsed "$t0")
		tag="loss $loss%, job $job $dtype/$pattern"
		it_check "[[ $res -eq 0 ]]" "$tag: 4 workers x $ROUNDS rounds x $COUNT elements exact, done in ${el}s (bound ${IT_RUN_BOUND}s)"
		up=$(( $(dtn_loss_dropped up) - up0 )) down=$(( $(dtn_loss_dropped down) - down0 ))
		chunks=$(it_chunks "$dtype" "$COUNT")
		want_c=$(( ROUNDS * chunks ))
		got_c=$(it_delta completed)
		resent=$(it_delta result_resent)
		dup=$(it_delta duplicate)
		it_log "$tag: links dropped $up contributions and $down results; gateway: completed +$got_c, result_resent +$resent, duplicate +$dup"
		it_check "[[ $up -gt 0 && $down -gt 0 ]]" "$tag: the links really dropped packets in both directions ($up up, $down down)"
		it_check "[[ $got_c -eq $want_c ]]" "$tag: completed +$got_c, want exactly $want_c"
		it_check "[[ $resent -gt 0 ]]" "$tag: the gateway resent stored results to workers that lost them (+$resent)"
	done
done
dtn_link_reset_all
it_finish
