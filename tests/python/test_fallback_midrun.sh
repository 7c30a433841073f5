#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_fallback_midrun.sh: the gateway refuses the job, then it stops in the
# middle of a DDP run. First the ranks ask for a job the policy does not have:
# the gateway refuses at open (-ECONNREFUSED) and every rank falls back at once.
# Then two workers train through the gateway; after epoch 2 it is stopped.
# Every rank must detect it (DAITN_TIMEOUT_MS), agree, fall back to gloo
# together (logged once each, "mid-run"); after epoch 4 the gateway starts
# again and every rank must return to it (re-probe, logged once each) and
# finish on daitn; the curve must match a plain gloo run of the same seed and
# the final accuracy must be the same.
# Exit 0 pass, 1 fail, 77 skip (not root, no torch, gateway or libdaitn not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pt_prereqs
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
dtn_trap_install
DTN_P="dpm$$"
edge_up 2 0 0
dtn_tmp_create
edge_policy_write "$DTN_TMP/policy.json" 2
edge_gw_up "$DTN_TMP/policy.json"

EPOCHS=${PT_EPOCHS:-30}
pt_train gloo gloo "$EPOCHS"
pt_wait 120
pt_train refused daitn "$EPOCHS" DAITN_LIB="$DTN_BUILD/client/libdaitn.so" DAITN_JOB=99
pt_wait 120
for i in 1 2; do
	log="$DTN_TMP/refused.r$i.log"
	n=$(grep -c "falls back to gloo allreduce at open: this rank: .*refused" "$log" || true)
	[[ $n -eq 1 ]] || pt_fail "rank $((i - 1)): expected one fallback at open on a refusal, got $n"
done
grep -h -m1 "falls back" "$DTN_TMP/refused.r1.log"
"$DTN_PY" "$(dirname "$0")/compare_curves.py" "$DTN_TMP/gloo.csv" "$DTN_TMP/refused.csv" ||
	pt_fail "the run refused by the gateway differs from gloo"

# Every rank holds after epoch 2 until the gateway is down, and after epoch 4
# until it is up again: each change falls between two epochs however fast the
# machine trains. A re-probe is due 1 ms after a fallback (the default is 30 s).
PT_TRAIN_ARGS=(--hold-after-epoch 2,4 --hold-file "$DTN_TMP/hold")
pt_train midrun daitn "$EPOCHS" DAITN_LIB="$DTN_BUILD/client/libdaitn.so" DAITN_TIMEOUT_MS=1000 \
	DAITN_HELLO_TIMEOUT_MS=500 DAITN_REPROBE_MS=1
PT_TRAIN_ARGS=()
for i in 1 2; do pt_log_wait "midrun" '^holding after epoch 2' 300 "$i"; done
t_stop=$(dtn_now)
dtn_gw_stop 10 || pt_fail "the gateway did not stop cleanly (status $DTN_GW_STOP_RC)"
touch "$DTN_TMP/hold.2"
echo "gateway stopped after epoch 2"
for i in 1 2; do pt_log_wait "midrun" '^holding after epoch 4' 300 "$i"; done
for i in 1 2; do
	grep -q "falls back to gloo allreduce mid-run" "$DTN_TMP/midrun.r$i.log" ||
		pt_fail "rank $((i - 1)) did not fall back in epochs 3-4 with the gateway down"
done
echo "fell back $(dtn_elapsed "$t_stop")s after the stop"
dtn_gw_start "$DTN_TMP/gw.json"
dtn_gw_wait_ready 30 || pt_fail "the gateway did not start again"
touch "$DTN_TMP/hold.4"
echo "gateway started again after epoch 4"
pt_wait 120

for i in 1 2; do
	log="$DTN_TMP/midrun.r$i.log"
	n=$(grep -c "falls back to gloo allreduce mid-run" "$log" || true)
	[[ $n -eq 1 ]] || pt_fail "rank $((i - 1)) logged a mid-run fallback $n times (want exactly once)"
	n=$(grep -c "returns to daitn allreduce" "$log" || true)
	[[ $n -eq 1 ]] || pt_fail "rank $((i - 1)) logged a return to daitn $n times (want exactly once)"
	grep -qE "mode daitn buckets daitn [1-9][0-9]* gloo [1-9][0-9]*, .*returns 1" "$log" ||
		pt_fail "rank $((i - 1)): expected buckets through daitn, gloo, then daitn to the end"
done
pt_same_params midrun 2
grep -h "falls back\|returns to daitn" "$DTN_TMP"/midrun.r*.log
"$DTN_PY" "$(dirname "$0")/compare_curves.py" "$DTN_TMP/gloo.csv" "$DTN_TMP/midrun.csv" ||
	pt_fail "the run with a mid-run fallback differs from gloo"
grep -h "final accuracy" "$DTN_TMP/gloo.r1.log" "$DTN_TMP/midrun.r1.log"
echo "PASS: refused at open, and stopped mid-run: all ranks fell back together, returned to the restarted gateway together, and training finished"
