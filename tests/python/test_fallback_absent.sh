#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_fallback_absent.sh: DDP training with the daitn hook when no gateway
# exists. Two workers in namespaces, nothing at the gateway address: every
# rank must fall back to gloo at open (logged once, with the reason), and the
# run must equal a plain gloo run of the same seed. Then one rank's
# DAITN_PORT has a typo: every rank falls back together, the typo named.
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

# A typo in one rank's settings: that rank says which variable; both fall back
# together and finish (the typo used to kill that rank and hang the other).
PT_ENV_RANK1="DAITN_PORT=4713x"
pt_train typo daitn "$EPOCHS" DAITN_HELLO_TIMEOUT_MS=1000
PT_ENV_RANK1=""
pt_wait 120
grep -q "falls back to gloo allreduce at open: this rank: DAITN_PORT='4713x': not an integer" \
	"$DTN_TMP/typo.r2.log" || pt_fail "rank 1 did not name DAITN_PORT in its fallback"
grep -q "rank(s) 1 (DAITN_PORT='4713x': not an integer) failed too" "$DTN_TMP/typo.r1.log" ||
	pt_fail "rank 0 did not name rank 1's invalid setting"
grep -h "falls back" "$DTN_TMP"/typo.r*.log
"$DTN_PY" "$(dirname "$0")/compare_curves.py" "$DTN_TMP/ref.csv" "$DTN_TMP/typo.csv" ||
	pt_fail "the run with a typo differs from plain gloo"
echo "PASS: gateway absent: both ranks fell back at open, training matched gloo; a typo on one rank named its variable and both fell back together"
