#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run_digits_edge.sh: train_digits.py with N DDP workers, one per network
# namespace of the emulated edge network (scripts/lib/edge.sh), once with the
# daitn hook through the gateway and once with plain gloo, same seed; then
# compare the curves.
#
#   bash python/examples/run_digits_edge.sh [-n N] [--epochs E] [--rate RATE] [--out DIR]
#
#   -n N        workers (default 4)
#   --epochs E  default 20
#   --rate RATE per-worker link rate (default 0: unlimited)
#   --out DIR   keep the curves (daitn.csv, gloo.csv) and logs here
set -euo pipefail
DTN_LOG_TAG=digits
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/edge.sh"

n=4 epochs=20 rate=0 out=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	-n) n=$2; shift ;;
	--epochs) epochs=$2; shift ;;
	--rate) rate=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '3,15p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
dtn_require_root
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
dtn_trap_install
edge_up "$n" "$rate" 0
dtn_tmp_create
out=${out:-$DTN_TMP}
mkdir -p "$out"
edge_policy_write "$DTN_TMP/policy.json" "$n"
edge_gw_up "$DTN_TMP/policy.json"

run=0
for backend in gloo daitn; do
	run=$((run + 1))
	EDGE_MASTER_PORT=$((29600 + run))
	pids=()
	for (( i = 1; i <= n; i++ )); do
		edge_rank_bg "$i" "$out/$backend.r$i.log" DAITN_LIB="$DTN_BUILD/client/libdaitn.so" \
			"$DTN_PY" "$DTN_ROOT/python/examples/train_digits.py" --backend "$backend" \
			--epochs "$epochs" --csv "$out/$backend.csv"
		pids+=("$DTN_LAST_PID")
	done
	dtn_wait_all 600 "${pids[@]}" || {
		tail -n 20 "$out/$backend.r1.log"
		dtn_die "$backend run: ranks exited with ${DTN_WAIT_RC[*]}"
	}
	echo "---- $backend, $n workers (rank 0)"
	grep -vE "^daitn: rank [1-9]" "$out/$backend.r1.log"
done
grep -h "^daitn: rank" "$out"/daitn.r*.log
"$DTN_PY" "$DTN_ROOT/tests/python/compare_curves.py" "$out/gloo.csv" "$out/daitn.csv"
