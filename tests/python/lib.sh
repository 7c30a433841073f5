# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# lib.sh: helpers for the PyTorch integration tests (sourced).
#
#   pt_prereqs              exit 77 unless root, torch and sklearn are there
#   pt_train NAME BACKEND EPOCHS [ENV=VALUE...]
#                           start train_digits.py on every worker of the edge
#                           topology (one rank per namespace), in the background;
#                           logs $DTN_TMP/NAME.rI.log, curve $DTN_TMP/NAME.csv;
#                           PIDs in PT_PIDS; buckets of PT_BUCKET_MB (default
#                           0.02: two buckets per step, to exercise ordering),
#                           with PT_TRAIN_ARGS appended to the script's arguments
#                           and PT_ENV_RANK1 (VAR=VALUE ...) set for rank 1 only
#   pt_wait BOUND           wait for PT_PIDS; fails (with the logs) on a non-zero
#                           exit or a hang
#   pt_log_wait NAME RE S [I]  until rank I-1's log (default rank 0) matches RE;
#                           S seconds only bound a hang
#   pt_all_daitn NAME N     every rank of run NAME kept every bucket on daitn, with
#                           no agreement after the open's
#   pt_same_params NAME N   every rank of run NAME ended with the same parameters
#   pt_fail MSG             print MSG and every log of the run, exit 1

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/edge.sh"

PT_EXAMPLE="$DTN_ROOT/python/examples/train_digits.py"
PT_PIDS=()
PT_RUN=0

pt_prereqs() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIP: needs root (network namespaces)"
		exit 77
	fi
	if ! "$DTN_PY" -c 'import torch, sklearn' 2>/dev/null; then
		echo "SKIP: torch or sklearn does not import under $DTN_PY (apt-get install python3-torch python3-sklearn)"
		exit 77
	fi
}

PT_TRAIN_ARGS=()    # extra arguments of the training script (pt_train)
pt_train() {
	local name=$1 backend=$2 epochs=$3 i
	shift 3
	PT_PIDS=()
	PT_RUN=$((PT_RUN + 1))
	# A fresh rendezvous port per run: the previous store's socket may linger.
	EDGE_MASTER_PORT=$((29500 + PT_RUN))
	for (( i = 1; i <= EDGE_N; i++ )); do
		local extra=()
		[[ $i -eq 2 && -n "${PT_ENV_RANK1:-}" ]] && read -r -a extra <<<"$PT_ENV_RANK1"
		edge_rank_bg "$i" "$DTN_TMP/$name.r$i.log" "$@" "${extra[@]}" "$DTN_PY" "$PT_EXAMPLE" \
			--backend "$backend" --epochs "$epochs" --csv "$DTN_TMP/$name.csv" \
			--bucket-cap-mb "${PT_BUCKET_MB:-0.02}" "${PT_TRAIN_ARGS[@]}"
		PT_PIDS+=("$DTN_LAST_PID")
	done
}

pt_fail() {
	local f
	echo "FAIL: $*"
	for f in "$DTN_TMP"/*.log; do
		[[ -f "$f" ]] || continue
		echo "---- $(basename "$f") (last 15 lines)"
		tail -n 15 "$f"
	done
	exit 1
}

pt_wait() {
	local bound=$1
	if ! dtn_wait_all "$bound" "${PT_PIDS[@]}"; then
		pt_fail "training ranks exited with ${DTN_WAIT_RC[*]} (124: still running after ${bound}s)"
	fi
}

pt_log_wait() {
	local name=$1 re=$2 bound=$3 i=${4:-1} deadline
	deadline=$(( $(date +%s) + bound ))
	while (( $(date +%s) < deadline )); do
		grep -qE "$re" "$DTN_TMP/$name.r$i.log" 2>/dev/null && return 0
		sleep 0.1
	done
	pt_fail "rank $((i - 1)) of $name never printed /$re/ within ${bound}s"
}

pt_all_daitn() {
	local name=$1 n=$2 i log
	for (( i = 1; i <= n; i++ )); do
		log="$DTN_TMP/$name.r$i.log"
		if grep -q "falls back" "$log"; then
			pt_fail "rank $((i - 1)) of $name fell back to gloo: $(grep -m1 'falls back' "$log")"
		fi
		grep -qE "mode daitn buckets daitn [1-9][0-9]* gloo 0," "$log" ||
			pt_fail "rank $((i - 1)) of $name did not send every bucket through the gateway"
		# No agreement among the ranks after the open's while the gateway works.
		grep -qE "mode daitn .*, agreements 1 " "$log" ||
			pt_fail "rank $((i - 1)) of $name agreed with the others after buckets: $(grep -m1 'agreements' "$log")"
	done
}

pt_same_params() {
	local name=$1 n=$2 i sums=()
	for (( i = 1; i <= n; i++ )); do
		sums+=("$(grep -m1 -o 'params sha256 [0-9a-f]*' "$DTN_TMP/$name.r$i.log" || true)")
	done
	[[ -n "${sums[0]}" ]] || pt_fail "rank 0 of $name printed no parameter digest"
	for (( i = 1; i < n; i++ )); do
		[[ "${sums[$i]}" == "${sums[0]}" ]] ||
			pt_fail "rank $i of $name ended with other parameters than rank 0 (${sums[$i]:-none} vs ${sums[0]})"
	done
}
