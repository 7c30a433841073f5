#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# relaunch-trials.sh: the relaunch that used to give a wrong sum, repeated.
#
#   bash scripts/relaunch-trials.sh [--trials N] [--build-dir DIR]
#
# In namespaces with the real gateway (job 1 of configs/policy-demo.json,
# float32, 4 ranks): ranks 0-2 start, rank 3 never does, and they fail; then
# all four are relaunched with rank 3's HELLO first (the others start once the
# gateway counted it). Every launch has its own data seed, so a sum that mixed
# the dead run's contributions into the new run's fails the workers' checks.
# Prints each trial's exit statuses and a tally: all ok, a wrong result
# accepted by the library (a worker's check failed), or failed with an error.
# DIR may hold another build of daitn (an older commit) to compare with.
set -uo pipefail
trials=10 build=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	--trials) trials=$2; shift ;;
	--build-dir) build=$2; shift ;;
	-h|--help) sed -n '3,14p' "$0"; exit 0 ;;
	*) echo "relaunch-trials.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
[[ -z "$build" ]] || export DTN_BUILD=$(realpath "$build")
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"
IT_NAME=relaunch-trials
it_prereqs
it_gateway_up
dtn_job_load "$IT_POLICY" 1
join=()
"$DTN_WORKER_BIN" --help 2>&1 | grep -q -- --join-timeout-ms && join=(--join-timeout-ms 3000)

worker() {   # worker RANK LOG SEED TIMEOUT_MS
	dtn_worker_start $(($1 + 1)) "$2" --gateway "$DTN_GW_IP" \
		--bind "${DTN_JOB_IPS[$1]}:${DTN_JOB_PORTS[$1]}" --job 1 --rank "$1" --rounds 3 \
		--count 4096 --pattern exact --seed "$3" --timeout-ms "$4" "${join[@]}"
}

ok=0 wrong=0 failed=0
for (( t = 1; t <= trials; t++ )); do
	L="$DTN_TMP/t$t"
	mkdir -p "$L"
	pids=()
	for r in 0 1 2; do worker $r "$L/first$r.log" $((100 + t)) 2000; pids+=("$DTN_LAST_PID"); done
	dtn_wait_all 60 "${pids[@]}" >/dev/null 2>&1 || true
	h0=$(dtn_gw_counter hello)
	worker 3 "$L/again3.log" $((200 + t)) 3000
	pids=("$DTN_LAST_PID")
	deadline=$(( $(date +%s) + 30 ))
	while (( $(dtn_gw_counter hello) <= h0 && $(date +%s) < deadline )); do sleep 0.05; done
	for r in 0 1 2; do worker $r "$L/again$r.log" $((200 + t)) 3000; pids+=("$DTN_LAST_PID"); done
	dtn_wait_all 120 "${pids[@]}" >/dev/null 2>&1 || true
	rcs="${DTN_WAIT_RC[*]}"
	if grep -qE "elements wrong|MISMATCH" "$L"/again*.log; then
		wrong=$((wrong + 1)) res="WRONG RESULT: $(grep -h MISMATCH "$L"/again*.log | head -n1)"
	elif [[ "$rcs" == "0 0 0 0" ]]; then
		ok=$((ok + 1)) res="all four verified"
	else
		failed=$((failed + 1)) res="failed with an error"
	fi
	it_log "trial $t: exit statuses (ranks 3, 0, 1, 2) $rcs: $res"
done
it_log "$trials trials: $ok all ok, $wrong with a wrong result accepted, $failed failed with an error"
dtn_gw_stop 10 >/dev/null 2>&1 || true
[[ $wrong -eq 0 ]]
