#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_relaunch: one run, one sum (docs/protocol.md, section 6). The real
# gateway and real daitn-worker processes (job 1 of configs/policy-demo.json,
# float32, 4 ranks, every element of every round verified by each worker)
# through the restarts a launcher really does:
#
#   1. a run dies with one rank killed mid-round (its slots half filled), then
#      all four are relaunched, the killed rank's HELLO first; once for each
#      rank, so every rank is the first to join once
#   2. a partial launch (rank 3 never starts): the others give up naming rank 3;
#      then a full launch, rank 3 first, the others in a random order
#   3. one rank restarted alone: the others are told at once that their run is
#      over; then the others are relaunched and the job goes on
#   4. the gateway killed mid-round (SIGKILL) and started again with the same
#      EAL file prefix and nothing cleaned: the workers fail with a clear error,
#      the new gateway comes up over the leftovers, a new run succeeds
#   5. the gateway stopped cleanly and started again between two runs
#
# Joins are ordered by waiting for the gateway's count of joined ranks
# (/daitn/job,1 "joined"), never by sleeping. No worker may ever report a wrong
# element (exit 1) or a run that mixes contributions; a worker of a run that
# failed must exit with the gateway error status (3) and say why.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
it_gateway_up
dtn_job_load "$IT_POLICY" 1

COUNT=4099
ROUNDS=5
LONG=1000000     # "runs until stopped": the test kills or strands these
W_ARGS=(--count "$COUNT" --dtype float32 --pattern exact --join-timeout-ms 60000)
LOG="$DTN_TMP/relaunch"
mkdir -p "$LOG"
declare -a PID=()
seq=0
# Every launch gets its own data seed (all ranks of one run share it): a sum
# that mixed two runs' contributions would fail the workers' checks.
gen=1
new_launch() { gen=$((gen + 1)); }

# start_rank R ROUNDS [args...]: daitn-worker for rank R (namespace R+1).
start_rank() {
	local r=$1 rounds=$2
	shift 2
	seq=$((seq + 1))
	dtn_worker_start $((r + 1)) "$LOG/$seq.rank$r.log" --gateway "$DTN_GW_IP" \
		--bind "${DTN_JOB_IPS[$r]}:${DTN_JOB_PORTS[$r]}" --job 1 --rank "$r" \
		--rounds "$rounds" --seed "$gen" "${W_ARGS[@]}" "$@"
	PID[$r]=$DTN_LAST_PID
	RLOG[$r]="$LOG/$seq.rank$r.log"
}
declare -a RLOG=()

# job_field NAME: a field of /daitn/job,1.
job_field() {
	dtn_gw_stats "/daitn/job,1" 2>/dev/null | "$DTN_PY" -c '
import json, sys
print(json.load(sys.stdin)["/daitn/job"][sys.argv[1]])' "$1" 2>/dev/null || echo "?"
}

# wait_for WHAT BOUND CMD...: until CMD succeeds, bounded (a hang, not a timing).
wait_for() {
	local what=$1 bound=$2 deadline
	shift 2
	deadline=$(( $(date +%s) + bound ))
	until "$@"; do
		if (( $(date +%s) >= deadline )); then
			it_log "gave up waiting ${bound}s for $what"
			return 1
		fi
		sleep 0.05
	done
}

joined_is() { [[ "$(job_field joined)" == "$1" ]]; }
completed_over() { (( $(dtn_gw_counter completed) >= $1 )); }

# progress: wait until the running job completed 20 more chunks.
progress() {
	local c0
	c0=$(dtn_gw_counter completed)
	wait_for "20 more completed chunks" 60 completed_over $((c0 + 20))
}

# finish R...: wait for these ranks; sets RC[R].
declare -a RC=()
finish() {
	local r pids=()
	for r in "$@"; do pids+=("${PID[$r]}"); done
	dtn_wait_all 120 "${pids[@]}" || true
	local i=0
	for r in "$@"; do RC[$r]=${DTN_WAIT_RC[$i]}; i=$((i + 1)); done
}

# ok_run R...: each rank exited 0 after ROUNDS verified rounds.
ok_run() {
	local r
	for r in "$@"; do
		if [[ ${RC[$r]} -ne 0 ]] || ! grep -q "rank $r: $ROUNDS rounds OK" "${RLOG[$r]}"; then
			it_log "rank $r exited ${RC[$r]}; its log ends:"
			tail -n 4 "${RLOG[$r]}" | sed 's/^/    /'
			return 1
		fi
	done
}

# failed_with R PATTERN: rank R exited 3 (gateway error), its log matches.
failed_with() {
	[[ ${RC[$1]} -eq 3 ]] && grep -qE "$2" "${RLOG[$1]}" && return 0
	it_log "rank $1 exited ${RC[$1]}, want 3 and /$2/; its log ends:"
	tail -n 4 "${RLOG[$1]}" | sed 's/^/    /'
	return 1
}

# launch_in_order R0 R1 R2 R3: start ranks one after another, each once the
# gateway has counted the one before as joined.
launch_in_order() {
	local k=0 r
	for r in "$@"; do
		start_rank "$r" "$ROUNDS"
		k=$((k + 1))
		(( k == $# )) || wait_for "$k joined" 60 joined_is "$k" || return 1
	done
}

wrong=0
note_wrong() {
	local f
	for f in "$LOG"/*.log; do
		grep -qE "elements wrong|mismatch" "$f" && { wrong=1; it_log "WRONG RESULT in $f"; } || true
	done
}

# ---- 1. a rank killed mid-round; all relaunched, the killed rank first ------
for dead in 0 1 2 3; do
	new_launch
	for r in 0 1 2 3; do start_rank "$r" "$LONG" --timeout-ms 3000 --peer-timeout-ms 3000; done
	progress || true
	kill -KILL "${PID[$dead]}"
	others=()
	for r in 0 1 2 3; do [[ $r -eq $dead ]] || others+=("$r"); done
	finish "${others[@]}"
	ok=1
	# The gateway is alive and says whom it waits for (WAITING): after
	# their peer timeout the survivors stop, naming the dead rank.
	for r in "${others[@]}"; do
		failed_with "$r" "has waited [0-9]+ ms for rank\(s\) ([0-9]+, )*$dead" || ok=0
	done
	it_check "[[ $ok -eq 1 ]]" "rank $dead killed mid-round: ranks ${others[*]} stopped after their peer timeout, naming rank $dead"
	order=("$dead")
	for k in 1 2 3; do order+=($(( (dead + k) % 4 ))); done
	t0=$(dtn_now)
	new_launch
	launch_in_order "${order[@]}" || true
	finish 0 1 2 3
	it_check "ok_run 0 1 2 3" "relaunch in order ${order[*]} (rank $dead first): every rank verified $ROUNDS rounds x $COUNT elements ($(dtn_elapsed "$t0")s)"
done

# ---- 2. a partial launch, then a full launch in a random order --------------
W_ARGS=(--count "$COUNT" --dtype float32 --pattern exact --join-timeout-ms 2000)
new_launch
for r in 0 1 2; do start_rank "$r" "$ROUNDS"; done
finish 0 1 2
ok=1
# Each names rank 3; the others it lists depend on who gave up first.
for r in 0 1 2; do failed_with "$r" "ranks joined in [0-9]+ ms; still waiting for rank\(s\) ([0-9]+, )*3 " || ok=0; done
it_check "[[ $ok -eq 1 ]]" "partial launch: ranks 0-2 gave up after the join timeout, naming rank 3"
W_ARGS=(--count "$COUNT" --dtype float32 --pattern exact --join-timeout-ms 60000)
# Rank 3 (the one that never ran) first: the order that used to complete the
# dead run's half-filled slots; the rest in a random order.
mapfile -t order < <(echo 3; printf '%s\n' 0 1 2 | shuf)
new_launch
launch_in_order "${order[@]}" || true
finish 0 1 2 3
it_check "ok_run 0 1 2 3" "full launch after it, in order ${order[*]}: every rank verified"

# ---- 3. one rank restarted alone ---------------------------------------------
new_launch
for r in 0 1 2 3; do start_rank "$r" "$LONG" --timeout-ms 60000; done
progress || true
kill -KILL "${PID[1]}"
finish 1
new_launch      # the restarted rank and, later, the others' new processes
start_rank 1 "$ROUNDS"
# The others' next GRADs are answered with ERROR run_ended: they stop long
# before their 60 s timeout.
finish 0 2 3
ok=1
for r in 0 2 3; do failed_with "$r" "run is over" || ok=0; done
it_check "[[ $ok -eq 1 ]]" "rank 1 restarted alone: ranks 0, 2, 3 were told their run is over"
wait_for "rank 1 alone in the new run" 60 joined_is 1 || true
for r in 0 2 3; do start_rank "$r" "$ROUNDS"; done
finish 0 1 2 3
it_check "ok_run 0 1 2 3" "then ranks 0, 2, 3 relaunched: the new run (with the restarted rank 1) verified"

# ---- 4. the gateway killed mid-round, restarted over its leftovers ----------
new_launch
for r in 0 1 2 3; do start_rank "$r" "$LONG" --timeout-ms 3000; done
progress || true
kill -KILL "$DTN_GW_PID"
wait "$DTN_GW_PID" 2>/dev/null || true
finish 0 1 2 3
ok=1
for r in 0 1 2 3; do failed_with "$r" "no result from gateway" || ok=0; done
it_check "[[ $ok -eq 1 ]]" "gateway killed mid-round: every rank stopped with a timeout error"
# What a killed gateway leaves: its EAL runtime directory and hugepage files.
# The next gateway with the same --file-prefix reuses both (the EAL takes the
# directory over once the dead process's lock is gone and clears hugepage
# files nobody holds): nothing accumulates, nothing needs cleaning by hand;
# it_finish checks that no hugepage file of the prefix is left at the end.
left=$(find /var/run/dpdk/"$DTN_GW_PREFIX" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
huge0=$(find /dev/hugepages -maxdepth 1 -name "${DTN_GW_PREFIX}map_*" 2>/dev/null | wc -l)
it_log "the killed gateway left $left entries in /var/run/dpdk/$DTN_GW_PREFIX and $huge0 hugepage files"
dtn_gw_start "$DTN_TMP/gateway.json" "$IT_POLICY"
if dtn_gw_wait_ready 30; then up=1; else up=0; fi
huge1=$(find /dev/hugepages -maxdepth 1 -name "${DTN_GW_PREFIX}map_*" 2>/dev/null | wc -l)
it_check "[[ $up -eq 1 ]]" \
	"a new gateway with the same file prefix started over the leftovers ($huge1 hugepage files now, $huge0 before)"
new_launch
launch_in_order 3 1 0 2 || true
finish 0 1 2 3
it_check "ok_run 0 1 2 3" "a new run on the restarted gateway verified"

# ---- 5. the gateway restarted cleanly between runs ---------------------------
dtn_gw_stop 10 || true
it_check "[[ $DTN_GW_STOP_RC -eq 0 ]]" "the restarted gateway stopped cleanly"
dtn_gw_start "$DTN_TMP/gateway.json" "$IT_POLICY"
dtn_gw_wait_ready 30 || true
new_launch
launch_in_order 2 0 3 1 || true
finish 0 1 2 3
it_check "ok_run 0 1 2 3" "a run after a clean gateway restart verified"

note_wrong
it_check "[[ $wrong -eq 0 ]]" "no worker ever reported a wrong element ($(ls "$LOG" | wc -l) worker processes)"
it_finish
