#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_many_ranks: a job of 256 ranks end to end through the real gateway.
#
# The slot bitmaps allow 1024 ranks; this runs 256, four daitn-worker
# processes (one per worker namespace) of 64 ranks each (--ranks A-B: a
# thread, a handle and a socket per rank; rank r on worker node r / 64, UDP
# port 47200 + r % 64, as the policy built here lists them). Jobs 10
# (float32, exact pattern) and 11 (int32), deterministic inputs:
#   - every rank of every process checks every element of every round bit
#     for bit against the 256-rank reference it computes itself;
#   - the gateway completed exactly one use per chunk and round, and sent
#     each completed chunk's RESULT to all 256 ranks (results sent >= 256 x
#     completions; more only where a lost copy was asked for again).
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs

N=256
PER=64
ROUNDS=2
COUNT=4096
IT_RUN_BOUND=240

dtn_tmp_create
POLICY="$DTN_TMP/policy-256.json"
"$DTN_PY" - "$IT_POLICY" "$POLICY" "$N" "$PER" <<'EOF'
import json, sys
src, out, n, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(src) as f:
    p = json.load(f)
nodes = [nd["id"] for nd in p["nodes"] if "worker" in nd["roles"]][: n // per]
for jid, dtype, base in ((10, "float32", 47200), (11, "int32", 47300)):
    p["jobs"].append({
        "id": jid, "dtype": dtype, "chunk_size": 1024, "slot_memory": "4MiB",
        "workers": [{"rank": r, "node": nodes[r // per], "port": base + r % per}
                    for r in range(n)],
    })
with open(out, "w") as f:
    json.dump(p, f, indent=2)
EOF
IT_WORKERS=4 it_gateway_up "$POLICY"

# run JOB DTYPE BASE_PORT: four processes of 64 ranks; passes if each exits
# 0 and every one of the 256 ranks printed its "rounds OK" line.
run() {
	local job=$1 dtype=$2 base=$3 w ok=1 pids=() dir="$DTN_TMP/job$1"
	mkdir -p "$dir"
	for (( w = 0; w < N / PER; w++ )); do
		dtn_worker_start $((w + 1)) "$dir/proc$w.log" --gateway "$DTN_GW_IP" \
			--bind "${DTN_JOB_IPS[$((w * PER))]}:$base" --job "$job" \
			--ranks "$((w * PER))-$((w * PER + PER - 1))" --workers "$N" \
			--count "$COUNT" --dtype "$dtype" --rounds "$ROUNDS" --pattern exact \
			--seed 77 --timeout-ms 20000 --quiet
		pids+=("$DTN_LAST_PID")
	done
	dtn_wait_all "$IT_RUN_BOUND" "${pids[@]}" || ok=0
	for (( w = 0; w < N / PER; w++ )); do
		if [[ ${DTN_WAIT_RC[$w]} -ne 0 ]]; then
			ok=0
			it_log "job $job: process $w (ranks $((w * PER))-$((w * PER + PER - 1))) exited ${DTN_WAIT_RC[$w]}; its log ends:"
			tail -n 5 "$dir/proc$w.log" | sed 's/^/    /'
		fi
	done
	local n_ok
	n_ok=$(cat "$dir"/proc*.log | grep -c ": $ROUNDS rounds OK" || true)
	it_log "job $job ($dtype): $n_ok of $N ranks reported $ROUNDS rounds OK"
	[[ $ok -eq 1 && $n_ok -eq $N ]]
}

for jd in "10 float32 47200" "11 int32 47300"; do
	read -r job dtype base <<<"$jd"
	dtn_job_load "$POLICY" "$job"
	it_counters
	t0=$(dtn_now)
	if run "$job" "$dtype" "$base"; then res=0; else res=1; fi
	el=$(dtn_elapsed "$t0")
	it_check "[[ $res -eq 0 ]]" "job $job ($dtype): $N ranks in 4 processes x $ROUNDS rounds x $COUNT elements, every element of every rank exact, ${el}s"
	chunks=$(it_chunks "$dtype" "$COUNT")
	want=$(( ROUNDS * chunks ))
	got=$(it_delta completed)
	sent=$(it_delta results_sent)
	it_check "[[ $got -eq $want ]]" "job $job: completed +$got, want exactly $want (one per chunk and round)"
	it_check "[[ $sent -ge $(( N * want )) ]]" "job $job: results sent +$sent >= $N ranks x $want completions"
done
it_finish
