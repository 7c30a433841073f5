#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_train_gateway.sh: the digits example with 2 DDP workers, gradients
# through the real daitn gateway (af_packet port in a namespace), against the
# same run on plain gloo. The loss curves must agree within summation-order
# noise, the final accuracy must be the same, every bucket must have gone
# through the gateway (no fallback), and the gateway must have completed slots.
# Exit 0 pass, 1 fail, 77 skip (not root, no torch, gateway or libdaitn not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pt_prereqs
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
dtn_trap_install
DTN_P="dpt$$"
edge_up 2 0 0
dtn_tmp_create
edge_policy_write "$DTN_TMP/policy.json" 2
edge_gw_up "$DTN_TMP/policy.json"

EPOCHS=${PT_EPOCHS:-8}
pt_train gloo gloo "$EPOCHS"
pt_wait 120
completed0=$(dtn_gw_counter completed)
pt_train daitn daitn "$EPOCHS" DAITN_LIB="$DTN_BUILD/client/libdaitn.so"
pt_wait 120
completed=$(( $(dtn_gw_counter completed) - completed0 ))

pt_all_daitn daitn 2
pt_same_params daitn 2
(( completed > 0 )) || pt_fail "the gateway completed no slots (counter 'completed' = $completed)"
grep -h "^daitn: rank" "$DTN_TMP"/daitn.r*.log
echo "gateway: $completed slots completed"
"$DTN_PY" "$(dirname "$0")/compare_curves.py" "$DTN_TMP/gloo.csv" "$DTN_TMP/daitn.csv" ||
	pt_fail "the daitn run differs from gloo beyond summation-order noise"
grep -h "final accuracy" "$DTN_TMP/gloo.r1.log" "$DTN_TMP/daitn.r1.log"
echo "PASS: 2 workers through the gateway match gloo"
