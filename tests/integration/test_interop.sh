#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_interop: a worker written from docs/protocol.md alone
# (tests/interop/ref_worker.py: Python and numpy, no libdaitn) shares a job
# with daitn-worker processes through the real gateway. Job 1 of
# configs/policy-demo.json (float32, 4 ranks): ranks 1 and 3 are reference
# workers, ranks 0 and 2 daitn-worker, all on daitn-worker's exact pattern;
# every worker checks every element of every round (the sums are exact), in
# two runs with different join orders.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
"$DTN_PY" -c "import numpy" 2>/dev/null || it_skip "numpy is missing for $DTN_PY"
it_gateway_up
dtn_job_load "$IT_POLICY" 1
REF=("$DTN_PY" "$DTN_ROOT/tests/interop/ref_worker.py")
ROUNDS=3 COUNT=4099
declare -a PID=() LOGF=()

start() {   # start RANK KIND SEED
	local r=$1 log="$DTN_TMP/interop-$3-rank$1.log"
	if [[ $2 == ref ]]; then
		dtn_bg "$(dtn_ns_worker $((r + 1)))" "$log" "${REF[@]}" --gateway "$DTN_GW_IP" \
			--bind "${DTN_JOB_IPS[$r]}:${DTN_JOB_PORTS[$r]}" --job 1 --rank "$r" \
			--count $COUNT --rounds $ROUNDS --seed "$3"
	else
		dtn_worker_start $((r + 1)) "$log" --gateway "$DTN_GW_IP" \
			--bind "${DTN_JOB_IPS[$r]}:${DTN_JOB_PORTS[$r]}" --job 1 --rank "$r" \
			--count $COUNT --rounds $ROUNDS --dtype float32 --pattern exact --seed "$3"
	fi
	PID[$r]=$DTN_LAST_PID
	LOGF[$r]=$log
}

for seed in 5 6; do
	# Run 1: the reference workers join first; run 2: daitn-worker first.
	if [[ $seed -eq 5 ]]; then order=("1 ref" "3 ref" "0 c" "2 c"); else order=("0 c" "2 c" "1 ref" "3 ref"); fi
	for o in "${order[@]}"; do read -r r kind <<<"$o"; start "$r" "$kind" "$seed"; done
	dtn_wait_all 180 "${PID[@]}" || true
	ok=1
	for r in 0 1 2 3; do
		if [[ ${DTN_WAIT_RC[$r]} -ne 0 ]] || ! grep -q "rank $r: $ROUNDS rounds OK" "${LOGF[$r]}"; then
			ok=0
			it_log "rank $r exited ${DTN_WAIT_RC[$r]}; its log ends:"
			tail -n 3 "${LOGF[$r]}" | sed 's/^/    /'
		fi
	done
	it_check "[[ $ok -eq 1 ]]" "mixed job (seed $seed, first to join: ${order[0]% *} ${order[0]#* }): ranks 1, 3 reference workers, 0, 2 daitn-worker, $ROUNDS rounds x $COUNT float32, every element verified by all four"
done
it_finish
