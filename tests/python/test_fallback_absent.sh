#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_fallback_absent.sh: DDP training with the daitn hook when no gateway
# exists. Two workers in namespaces, nothing at the gateway address: every
# rank must fall back to gloo at open (logged once, with the reason), and the
# run must equal a plain gloo run of the same seed.
# Exit 0 pass, 1 fail, 77 skip (not root, no torch).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pt_prereqs
dtn_trap_install
DTN_P="dpa$$"
edge_up 2 0 0
dtn_tmp_create

EPOCHS=6
pt_train ref gloo "$EPOCHS"
pt_wait 120
pt_train absent daitn "$EPOCHS" DAITN_HELLO_TIMEOUT_MS=1000
pt_wait 120

for i in 1 2; do
	log="$DTN_TMP/absent.r$i.log"
	n=$(grep -c "falls back to gloo allreduce at open" "$log" || true)
	[[ $n -eq 1 ]] || pt_fail "rank $((i - 1)) logged the fallback $n times (want exactly once)"
	grep -q "mode gloo buckets daitn 0 gloo [1-9]" "$log" ||
		pt_fail "rank $((i - 1)) did not run its buckets through gloo"
done
echo "fallback reason (rank 0): $(grep -m1 'falls back' "$DTN_TMP/absent.r1.log" | sed 's/.*at open: //')"
"$DTN_PY" "$(dirname "$0")/compare_curves.py" "$DTN_TMP/ref.csv" "$DTN_TMP/absent.csv" ||
	pt_fail "the fallback run differs from plain gloo"
grep "final accuracy" "$DTN_TMP/absent.r1.log"
echo "PASS: gateway absent: both ranks fell back at open, training matched gloo"
