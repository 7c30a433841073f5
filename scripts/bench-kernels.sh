#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-kernels.sh: GB/s of every aggregation kernel variant this CPU runs
# (scalar, avx2, avx512, avx512bf16) for each type, beside glibc memcpy of the
# same payload bytes measured in the same run.
#
#   bash scripts/bench-kernels.sh [--build-dir DIR] [--cpu N] [-n SAMPLES] [SIZE_BYTES...]
#
#   --build-dir DIR  meson build directory to use (default: $DTN_BUILD or build/);
#                    configured if missing; only the kn-bench target is built
#   --cpu N          pin to this CPU with taskset (default: the last online CPU)
#   -n SAMPLES       samples per figure, median and best reported (default 15)
#   SIZE_BYTES       payload sizes, multiples of 64 up to 262144
#                    (default: 1024 = one slot, 262144 = L2-sized)
#
# Bytes counted: wire payload per second (sum/load: input elements read; store:
# 16-bit elements written), 1 GB = 10^9 bytes; accumulator traffic is not
# counted. Target (issue 2): avx512 sum_f32 >= 0.9x memcpy at L1/L2 sizes.
# sum4_f32 / fold4_f32: a use of four contributions in four buffers, added in
# arrival order / folded in rank order (a deterministic job's sum); the row
# "fold4 / sum4" gives their ratio. Target (issue 14): avx512 fold4 >= 0.5x
# the ordinary sum4 at 1 KiB and 256 KiB.
# Bounded: the program is killed after 120 s (it normally takes a few seconds).
set -euo pipefail
DTN_LOG_TAG=bench-kernels
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

build_dir="$DTN_BUILD"
cpu=""
bench_args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--build-dir) build_dir="$2"; shift ;;
	--cpu) cpu="$2"; shift ;;
	-n) bench_args+=(-n "$2"); shift ;;
	-h|--help) sed -n '3,22p' "$0"; exit 0 ;;
	-*) dtn_die "unknown option '$1' (see --help)" ;;
	*) bench_args+=("$1") ;;
	esac
	shift
done

dtn_bench_build "$build_dir" kernels/bench/kn-bench plain
bench=$DTN_BENCH_BIN

if [[ -z "$cpu" ]]; then
	cpu=$(( $(nproc) - 1 ))
fi
if dtn_bench_pin "$cpu"; then
	dtn_log "pinned to CPU $cpu; other load on it shows up as noise (median reported)"
fi
dtn_log "CPU: $(dtn_cpu_model); free 2 MB hugepages: $(dtn_hugepages_free)"
echo "\$ ${DTN_BENCH_PIN[*]} $bench ${bench_args[*]}"
timeout 120 "${DTN_BENCH_PIN[@]}" "$bench" "${bench_args[@]}"
