#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-sched.sh: CPU cost per packet of the TX scheduler (dp_sched) beside
# DPDK's rte_sched and a plain rte_ring FIFO, same mbufs, same traffic mix,
# same run (tests/sched/bench_dp_sched.c says what is measured).
#
#   bash scripts/bench-sched.sh [--build-dir DIR] [--cpu N] [JOBS [BACKLOG [ROUNDS]]]
#
#   --build-dir DIR  meson build directory (default: $DTN_BUILD or build/);
#                    only the bench-dp-sched target is built
#   --cpu N          pin to this CPU (default: the last online CPU)
#   JOBS             training jobs (1..64, default 4), BACKLOG packets kept
#                    queued (32..4000, default 256), ROUNDS of 32 packets per
#                    repetition (default 200000); 5 repetitions, best and median
#
# Uses hugepages when free, else --no-huge. Bounded: killed after 120 s.
set -euo pipefail
DTN_LOG_TAG=bench-sched
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

build_dir="$DTN_BUILD"
cpu=""
args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--build-dir) build_dir="$2"; shift ;;
	--cpu) cpu="$2"; shift ;;
	-h|--help) sed -n '3,16p' "$0"; exit 0 ;;
	-*) dtn_die "unknown option '$1' (see --help)" ;;
	*) args+=("$1") ;;
	esac
	shift
done

dtn_bench_build "$build_dir" tests/sched/bench-dp-sched any "is libdpdk-dev installed?"
bench=$DTN_BENCH_BIN

[[ -n "$cpu" ]] || cpu=$(( $(nproc) - 1 ))
mem=(--no-huge -m 256)
if [[ "$(dtn_hugepages_free)" -ge 128 ]]; then
	mem=(-m 256)
fi
dtn_log "cpu $cpu, ${mem[*]}"
dtn_trap_install
dtn_on_exit "rm -rf '/var/run/dpdk/dtnsched$$'"
timeout 120 "$bench" -l "$cpu" "${mem[@]}" --no-pci --file-prefix "dtnsched$$" \
	--log-level=error -- "${args[@]}"
