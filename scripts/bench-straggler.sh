#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-straggler.sh: the time of a training round when one worker is a slower
# device, with every round waiting for all ranks and with a quorum, beside
# gloo's ring, on the same shaped links (scripts/lib/edge.sh), in one run.
#
#   bash scripts/bench-straggler.sh [--workers N] [--rate RATE] [--size BYTES]
#                                   [--rounds R] [--compute-ms C] [--factor F]
#                                   [--out DIR]
#
#   --workers N      ranks (default 8)
#   --rate RATE      each worker's link, both directions (default 100mbit)
#   --size BYTES     float32 tensor per round (default 256K)
#   --rounds R       rounds per configuration (default 20; the first is left
#                    out of the mean: it includes the join)
#   --compute-ms C   each round's "compute" before the allreduce (default 50)
#   --factor F       the straggler (the last rank) computes F x C (default 5)
#   --out DIR        results folder (default out/bench-straggler-DATE)
#
# Configurations, each R rounds of compute then allreduce:
#   daitn all         job of N ranks, every round waits for all, no straggler
#                     (the baseline)
#   daitn all slow    the same, the last rank F x slower
#   daitn quorum slow a partial job closing at N-1 ranks (docs/protocol.md
#                     section 5, "Partial rounds"), the last rank F x slower
#   gloo / gloo slow  torch.distributed gloo, no straggler / the straggler
# A round's time: rank 0's compute plus its allreduce (daitn-worker's
# per-round seconds; the gloo side measures the same), mean over rounds 2..R.
# Every element of every result is checked (daitn-worker: against the sum of
# exactly the ranks each result names).
# Target (issue 14): quorum rounds with the straggler at most 1.3x the rounds
# without it. Writes DIR/straggler.csv and DIR/summary.txt.
set -euo pipefail
DTN_LOG_TAG=bench-straggler
source "$(dirname "${BASH_SOURCE[0]}")/lib/edge.sh"

n=8 rate=100mbit size=256K rounds=20 compute=50 factor=5 out=""
DTN_MTU=1500
while [[ $# -gt 0 ]]; do
	case "$1" in
	--workers) n=$2; shift ;;
	--rate) rate=$2; shift ;;
	--size) size=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--compute-ms) compute=$2; shift ;;
	--factor) factor=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '3,33p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
dtn_require_root
[[ "$n" =~ ^[0-9]+$ && $n -ge 3 && $n -le 16 ]] || dtn_die "--workers: 3..16"
[[ "$rounds" =~ ^[0-9]+$ && $rounds -ge 2 && $rounds -le 1000 ]] || dtn_die "--rounds: 2..1000"
"$DTN_PY" -c 'import torch' 2>/dev/null || dtn_die "torch must import under $DTN_PY (apt-get install python3-torch)"
dtn_require_bins "$DTN_GW_BIN" "$DTN_WORKER_BIN"
bytes=$("$DTN_PY" -c '
import sys
s = sys.argv[1].upper()
m = {"K": 1 << 10, "M": 1 << 20}.get(s[-1:], 1)
print(int(s.rstrip("KM")) * m)' "$size")
count=$(( bytes / 4 ))
slow=$(( n - 1 ))
out=${out:-$DTN_ROOT/out/bench-straggler-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
dtn_trap_install
dtn_load_check

edge_up "$n" "$rate" 0
dtn_tmp_create
# Job N waits for all its ranks; job 16+N closes at N-1 of them.
EDGE_SLOT_MEMORY=${EDGE_SLOT_MEMORY:-8MiB}
edge_policy_write "$DTN_TMP/policy.json" "$n"
quorum_job=$(( 16 + n ))
"$DTN_PY" - "$DTN_TMP/policy.json" "$n" "$quorum_job" <<'EOF'
import copy, json, sys
path, n, q = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path) as f:
    p = json.load(f)
j = copy.deepcopy(p["jobs"][0])
j["id"] = q
j["completion"] = {"quorum": n - 1}
for r, w in enumerate(j["workers"]):
    w["port"] = 47100 + 16 * q + r          # edge_port
p["jobs"].append(j)
with open(path, "w") as f:
    json.dump(p, f, indent=2)
EOF
edge_gw_up "$DTN_TMP/policy.json"
dtn_log "N=$n, links $rate per worker, tensor $size ($count float32), $rounds rounds, compute $compute ms, straggler rank $slow x$factor"

csv="$out/straggler.csv"
echo "config,n,size_bytes,rounds,compute_ms,straggler_factor,round_ms_mean,wrong_or_failed" >"$csv"

# daitn NAME JOB SLOW(0|1): R rounds of daitn-worker on every rank; appends a
# CSV row with rank 0's mean round time.
daitn_run() {
	local name=$1 job=$2 with_slow=$3 i pids=() port slow_args=()
	[[ $with_slow -eq 1 ]] && slow_args=(--slow "$slow:$factor")
	for (( i = 1; i <= n; i++ )); do
		port=$(edge_port "$job" $((i - 1)))
		dtn_worker_start "$i" "$DTN_TMP/$name.r$i.log" --gateway "$DTN_GW_IP" \
			--bind "$(dtn_worker_ip "$i"):$port" --job "$job" --rank $((i - 1)) \
			--workers "$n" --count "$count" --rounds "$rounds" --pattern exact --json \
			--compute-ms "$compute" --timeout-ms 20000 "${slow_args[@]}"
		pids+=("$DTN_LAST_PID")
	done
	local bad=0
	dtn_wait_all 600 "${pids[@]}" || bad=1
	for (( i = 0; i < n; i++ )); do [[ ${DTN_WAIT_RC[$i]} -eq 0 ]] || bad=1; done
	local ms
	ms=$("$DTN_PY" - "$DTN_TMP/$name.r1.log" "$compute" <<'EOF'
import json, sys
rounds = []
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if "round" in o and "seconds" in o:
        rounds.append(o["seconds"] * 1000.0 + float(sys.argv[2]))
steady = rounds[1:] if len(rounds) > 1 else rounds
print("%.3f" % (sum(steady) / len(steady)) if steady else "nan")
EOF
)
	echo "$name,$n,$bytes,$rounds,$compute,$([[ $with_slow -eq 1 ]] && echo "$factor" || echo 1),$ms,$bad" >>"$csv"
	dtn_log "$name: $ms ms per round$([[ $bad -eq 0 ]] || echo " (A RANK FAILED: see $DTN_TMP/$name.r*.log)")"
}

gloo_run() {
	local name=$1 with_slow=$2 i pids=() extra=()
	[[ $with_slow -eq 1 ]] && extra=(--slow "$slow:$factor")
	for (( i = 1; i <= n; i++ )); do
		edge_rank_bg "$i" "$DTN_TMP/$name.r$i.log" "$DTN_PY" \
			"$DTN_ROOT/python/bench/straggler_bench.py" --rounds "$rounds" --count "$count" \
			--compute-ms "$compute" "${extra[@]}"
		pids+=("$DTN_LAST_PID")
	done
	edge_ranks_wait 600 "$DTN_TMP/$name" "$name" "${pids[@]}"
	local line ms wrong
	line=$(grep '^gloo rounds' "$DTN_TMP/$name.r1.log" | tail -n 1)
	ms=$(awk '{ print $5 }' <<<"$line")
	wrong=$(awk '{ print $9 }' <<<"$line")
	echo "$name,$n,$bytes,$rounds,$compute,$([[ $with_slow -eq 1 ]] && echo "$factor" || echo 1),$ms,$wrong" >>"$csv"
	dtn_log "$name: $ms ms per round (wrong elements: $wrong)"
}

EDGE_WORLD=$n
daitn_run "daitn-all" "$n" 0
daitn_run "daitn-all-slow" "$n" 1
daitn_run "daitn-quorum-slow" "$quorum_job" 1
gloo_run "gloo" 0
gloo_run "gloo-slow" 1

"$DTN_PY" - "$csv" "$out/summary.txt" "$n" <<'EOF'
import csv, sys
rows = {r["config"]: r for r in csv.DictReader(open(sys.argv[1]))}
n = int(sys.argv[3])
ms = {k: float(v["round_ms_mean"]) for k, v in rows.items()}
base = ms["daitn-all"]
lines = ["bench-straggler: N=%d, one rank %sx slower; mean round time (compute + allreduce), ms"
         % (n, rows["daitn-all-slow"]["straggler_factor"])]
for k in ("daitn-all", "daitn-all-slow", "daitn-quorum-slow", "gloo", "gloo-slow"):
    lines.append("  %-18s %9.1f ms  %5.2fx the daitn baseline%s" % (
        k, ms[k], ms[k] / base, "" if rows[k]["wrong_or_failed"] in ("0", "") else
        "  (WRONG/FAILED: %s)" % rows[k]["wrong_or_failed"]))
q = ms["daitn-quorum-slow"] / base
lines.append("target: quorum %d of %d with the straggler <= 1.3x the rounds without it: %.2fx, %s"
             % (n - 1, n, q, "met" if q <= 1.3 else "NOT met"))
lines.append("quorum with the straggler vs gloo with it: %.2fx faster" % (ms["gloo-slow"] / ms["daitn-quorum-slow"]))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
dtn_log "results: $csv, $out/summary.txt"
