#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_ranks.sh: slow and dead ranks under DDP, three workers through the
# real gateway (issue 11, items 1 and 5).
#  1. Rank 1 pauses 3 s after epoch 2 (evaluation, a checkpoint) with
#     DAITN_TIMEOUT_MS=1000: the gateway says it waits for rank 1, so the
#     others wait (the process group's timeout) and the job stays on daitn
#     for every bucket, with gloo's curve. (Before: every rank fell back.)
#  2. Rank 2 holds after epoch 2 while ranks 0 and 1 wait on the gateway in
#     epoch 3; rank 2 is then killed. Both survivors stop with a DaitnError
#     naming daitn, the job and rank 2, within the bound that only catches a
#     hang (before: a gloo cast error naming neither, or a 30-minute wait).
# Exit 0 pass, 1 fail, 77 skip (not root, no torch, gateway or libdaitn not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pt_prereqs
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
dtn_trap_install
DTN_P="dpr$$"
edge_up 3 0 0
dtn_tmp_create
edge_policy_write "$DTN_TMP/policy.json" 3
edge_gw_up "$DTN_TMP/policy.json"
LIB="DAITN_LIB=$DTN_BUILD/client/libdaitn.so"

EPOCHS=${PT_EPOCHS:-4}
PT_TRAIN_ARGS=(--batch-size 66)
pt_train gloo gloo "$EPOCHS"
pt_wait 120
PT_TRAIN_ARGS=()

# 1. A slow rank.
PT_TRAIN_ARGS=(--batch-size 66 --pause 2:1:3)
pt_train slow daitn "$EPOCHS" "$LIB" DAITN_TIMEOUT_MS=1000
PT_TRAIN_ARGS=()
pt_wait 120
pt_all_daitn slow 3
pt_same_params slow 3
grep -q "rank 1 pauses 3 s" "$DTN_TMP/slow.r2.log" || pt_fail "rank 1 did not pause"
"$DTN_PY" "$(dirname "$0")/compare_curves.py" "$DTN_TMP/gloo.csv" "$DTN_TMP/slow.csv" ||
	pt_fail "the run with a slow rank differs from gloo"
echo "ok: rank 1 paused 3 s with DAITN_TIMEOUT_MS=1000; every bucket of every rank went through daitn"

# 2. A rank killed while the others wait on the gateway for it.
PT_TRAIN_ARGS=(--batch-size 66 --hold-after-epoch 2 --hold-rank 2 --hold-file "$DTN_TMP/hold")
pt_train killed daitn "$EPOCHS" "$LIB"
PT_TRAIN_ARGS=()
pt_log_wait killed '^holding after epoch 2' 300 3
# Ranks 0 and 1 are in epoch 3's first bucket once the gateway tells them
# it waits for rank 2 (a WAITING answers their retransmissions).
w0=$(dtn_gw_counter waiting_sent)
deadline=$(( $(date +%s) + 120 ))
while (( $(dtn_gw_counter waiting_sent) <= w0 )); do
	(( $(date +%s) < deadline )) || pt_fail "the gateway never told ranks 0 and 1 it waits"
	sleep 0.1
done
t_kill=$(dtn_now)
kill -KILL "${PT_PIDS[2]}"
dtn_wait_all 120 "${PT_PIDS[0]}" "${PT_PIDS[1]}" || true
echo "survivors exited (${DTN_WAIT_RC[*]}) $(dtn_elapsed "$t_kill")s after the kill"
for i in 1 2; do
	rc=${DTN_WAIT_RC[$((i - 1))]}
	[[ $rc -ne 124 ]] || pt_fail "rank $((i - 1)) still ran 120 s after rank 2 was killed"
	[[ $rc -ne 0 ]] || pt_fail "rank $((i - 1)) finished although rank 2 was killed"
	log="$DTN_TMP/killed.r$i.log"
	grep -qE "daitn job 3: rank\(s\) 2 gone" "$log" ||
		pt_fail "rank $((i - 1)) did not name daitn, job 3 and rank 2"
	grep -q "ECONNABORTED" "$log" || pt_fail "rank $((i - 1)) did not raise the DaitnError"
	grep -q "DaitnError: daitn hook: daitn job 3" "$log" ||
		pt_fail "rank $((i - 1))'s backward() did not fail with the DaitnError"
	! grep -q "Unable to cast" "$log" || pt_fail "rank $((i - 1))'s backward() failed with a cast error"
	grep -m1 -h "rank(s) 2 gone" "$log"
done
echo "PASS: a slow rank kept the job on daitn; a killed rank stopped the survivors with a DaitnError naming it"
