#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-train.sh: DDP training through the daitn gateway beside plain gloo, on
# the same emulated edge links (scripts/lib/edge.sh), interleaved in one run:
# a CNN with batchnorm, an LSTM with an 8000x64 embedding and a 2-layer
# transformer (python/bench/train_bench.py), 2 and 4 ranks, unthrottled veth
# links and 100 Mbit/s links. daitn runs with its default settings.
#
#   bash scripts/bench-train.sh [--quick] [--workers "2 4"] [--links "veth 100mbit"]
#                               [--models cnn,lstm,transformer] [--reps R]
#                               [--epochs E] [--steps S] [--out DIR] [--pin CPUS]
#                               [--idle-poll busy|adaptive] [--mtu BYTES]
#
#   --quick     one repetition, 2 epochs of 4 steps (about 2 minutes; the
#               default, 2 repetitions of 3 epochs of 8 steps, about 6)
#   --workers   rank counts (default "2 4")
#   --links     "veth" (unshaped) and/or a tc rate per worker link, both
#               directions (default "veth 100mbit")
#   --pin CPUS  taskset list for every rank (default: "0" on a 2-core machine,
#               so the gateway's data lcore 1 is the switch; "" = unpinned)
#   --out DIR   results folder (default out/bench-train-DATE)
#   --idle-poll the gateway's idle polling (default busy; adaptive frees its
#               core while no traffic comes: try it with --pin "")
#   --mtu BYTES link MTU (default 1500; the job's chunk follows: 1408 B, or
#               8192 B at 9000), for gloo's TCP and daitn alike
#
# Writes DIR/train.csv (one row per phase), DIR/train.png (s/epoch per model,
# backend, N and link) and DIR/summary.txt, and prints the summary: daitn's
# time per epoch against gloo's, the buckets through each, the share of
# chunks retransmitted, whether the loss curves match, and the targets
# (retransmitted < 1%; daitn <= gloo on veth; >= 1.3x faster on 100 Mbit/s).
set -euo pipefail
DTN_LOG_TAG=bench-train
source "$(dirname "${BASH_SOURCE[0]}")/lib/edge.sh"

workers="2 4" links="veth 100mbit" models=cnn,lstm,transformer reps=2 epochs=3 steps=8
out="" pin=auto
argv="$*"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--quick) reps=1 epochs=2 steps=4 ;;
	--workers) workers=$2; shift ;;
	--links) links=$2; shift ;;
	--models) models=$2; shift ;;
	--reps) reps=$2; shift ;;
	--epochs) epochs=$2; shift ;;
	--steps) steps=$2; shift ;;
	--out) out=$2; shift ;;
	--pin) pin=$2; shift ;;
	--idle-poll) export EDGE_IDLE_POLL=$2; shift ;;
	--mtu) DTN_MTU=$2; shift ;;
	-h|--help) sed -n '3,28p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
dtn_require_root
"$DTN_PY" -c 'import torch, matplotlib' 2>/dev/null ||
	dtn_die "torch and matplotlib must import under $DTN_PY (apt-get install python3-torch python3-matplotlib)"
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
max_n=0
for n in $workers; do
	[[ "$n" =~ ^[0-9]+$ && $n -ge 2 && $n -le 8 ]] || dtn_die "--workers: $n is not in 2..8"
	(( n > max_n )) && max_n=$n
done
export EDGE_LCORES="0,1"
if [[ $pin == auto ]]; then
	pin=""
	(( $(nproc) <= 2 )) && pin=0
fi
out=${out:-$DTN_ROOT/out/bench-train-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
csv="$out/train.csv"
rm -f "$csv"
dtn_trap_install
t_start=$(dtn_now)
dtn_load_check
load=$DTN_LOAD

edge_up "$max_n" 0 0
dtn_tmp_create
edge_policy_write "$DTN_TMP/policy.json" $workers
edge_gw_up "$DTN_TMP/policy.json"
header=--header
for link in $links; do
	for (( i = 1; i <= max_n; i++ )); do
		if [[ $link == veth ]]; then
			dtn_link_reset_all
		else
			dtn_link_shape "$i" --rate "$link" || dtn_die "cannot shape worker $i's link to $link"
		fi
	done
	for n in $workers; do
		dtn_log "links $link (MTU $DTN_MTU, chunk $(edge_chunk) B), N=$n: models $models, $reps x (gloo, daitn) x $epochs epochs of $steps steps"
		EDGE_MASTER_PORT=$((29600 + n))
		pids=()
		for (( i = 1; i <= n; i++ )); do
			EDGE_WORLD=$n EDGE_JOB=$n EDGE_WORKER_CPUS=$pin edge_rank_bg "$i" \
				"$DTN_TMP/$link.n$n.r$i.log" DAITN_LIB="$DTN_BUILD/client/libdaitn.so" \
				"$DTN_PY" "$DTN_ROOT/python/bench/train_bench.py" \
				--rank $((i - 1)) --world "$n" --master "$(dtn_worker_ip 1):$EDGE_MASTER_PORT" \
				--models "$models" --reps "$reps" --epochs "$epochs" --steps "$steps" \
				--link "$link" --csv "$csv" $header
			pids+=("$DTN_LAST_PID")
		done
		edge_ranks_wait 1800 "$DTN_TMP/$link.n$n" "links $link, N=$n" "${pids[@]}"
		sed 's/^/  /' "$DTN_TMP/$link.n$n.r1.log"
		header=""
	done
done
dtn_gw_stats >"$out/gateway-stats.json" 2>/dev/null || true
printf '{"args": "%s", "cpu": "%s", "cores": %s, "loadavg_before": %s, "pinned_to": "%s", "mtu": %s, "git": "%s"}\n' \
	"$argv" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(nproc)" "$load" "$pin" \
	"$DTN_MTU" "$(git -C "$DTN_ROOT" rev-parse HEAD 2>/dev/null || true)" >"$out/meta.json"
"$DTN_PY" "$DTN_ROOT/python/bench/plot_train.py" "$csv" "$out/train.png" | tee "$out/summary.txt"
dtn_log "done in $(dtn_elapsed "$t_start")s: $out/{train.csv,train.png,summary.txt,meta.json}"
