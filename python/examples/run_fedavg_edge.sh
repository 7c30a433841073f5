#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run_fedavg_edge.sh: fedavg_digits.py with N clients, one per network
# namespace of the emulated edge network (scripts/lib/edge.sh), through a
# "mode": "fedavg" job of the gateway that is also deterministic and partial
# (a quorum of N-1, or a 200 ms deadline with 2 clients); then the local
# reference of the same run, which every client's final model must match bit
# for bit. Exit 0 when they all do.
#
#   bash python/examples/run_fedavg_edge.sh [-n N] [--rounds R] [--slow R:F]
#        [--away R:A-B] [--out DIR]
#
#   -n N          clients (default 4)
#   --rounds R    default 20
#   --slow R:F    client R computes F times as long (default 3:10 with 4 clients)
#   --away R:A-B  client R sits rounds A to B out (default 1:5-7)
#   --out DIR     keep the clients' records and logs here
set -euo pipefail
DTN_LOG_TAG=fedavg
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/edge.sh"

n=4 rounds=20 slow="" away="" out=""
while [[ $# -gt 0 ]]; do
	case "$1" in
	-n) n=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--slow) slow=$2; shift ;;
	--away) away=$2; shift ;;
	--out) out=$2; shift ;;
	-h|--help) sed -n '3,17p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
(( n >= 3 )) || dtn_die "-n: at least 3 clients (a quorum of N-1 and a straggler)"
slow=${slow:-$((n - 1)):10}
away=${away:-1:5-7}
dtn_require_root
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
dtn_trap_install
EDGE_CHUNK=${EDGE_CHUNK:-1024}
edge_up "$n" 0 0
dtn_tmp_create
out=${out:-$DTN_TMP}
mkdir -p "$out"
rm -f "$out"/client*.json
edge_policy_write "$DTN_TMP/policy.json" "$n"
"$DTN_PY" - "$DTN_TMP/policy.json" "$n" <<'PY' || dtn_die "cannot write the fedavg policy"
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    p = json.load(f)
for j in p["jobs"]:
    j.update({"mode": "fedavg", "deterministic": True,
              "completion": {"quorum": n - 1, "deadline_ms": 200, "min_ranks": 2}})
with open(path, "w") as f:
    json.dump(p, f, indent=2)
PY
edge_gw_up "$DTN_TMP/policy.json"

pids=()
for (( i = 1; i <= n; i++ )); do
	edge_rank_bg "$i" "$out/client$((i - 1)).log" DAITN_LIB="$DTN_BUILD/client/libdaitn.so" \
		"$DTN_PY" "$DTN_ROOT/python/examples/fedavg_digits.py" --rounds "$rounds" \
		--slow "$slow" --away "$away" --out "$out"
	pids+=("$DTN_LAST_PID")
done
if ! dtn_wait_all 300 "${pids[@]}"; then
	for (( i = 0; i < n; i++ )); do
		echo "---- client $i (exit ${DTN_WAIT_RC[$i]})"
		tail -n 12 "$out/client$i.log"
	done
	dtn_die "clients exited with ${DTN_WAIT_RC[*]}"
fi
cat "$out"/client*.log
echo "gateway: job $n closed $(dtn_gw_counter closed_quorum "/daitn/job,$n") uses at the quorum," \
	"$(dtn_gw_counter closed_deadline "/daitn/job,$n") at the deadline;" \
	"$(dtn_gw_counter late "/daitn/job,$n") late contributions"
"$DTN_PY" "$DTN_ROOT/python/examples/fedavg_digits.py" --reference "$out" --rounds "$rounds" --exact
