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
# Bounded: the program is killed after 120 s (it normally takes a few seconds).
set -euo pipefail
DTN_LOG_TAG=bench-kernels
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

build_dir="$DTN_BUILD"
cpu=""
bench_args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--build-dir) build_dir="$2"; shift ;;
	--cpu) cpu="$2"; shift ;;
	-n) bench_args+=(-n "$2"); shift ;;
	-h|--help) sed -n '3,18p' "$0"; exit 0 ;;
	-*) dtn_die "unknown option '$1' (see --help)" ;;
	*) bench_args+=("$1") ;;
	esac
	shift
done

if [[ ! -f "$build_dir/build.ninja" ]]; then
	dtn_log "configuring $build_dir"
	meson setup "$build_dir" "$DTN_ROOT" >/dev/null ||
		dtn_die "meson setup $build_dir failed (run scripts/setup.sh first?)"
fi
# A sanitizer build would measure the sanitizer, not the kernels.
if meson introspect --buildoptions "$build_dir" 2>/dev/null |
   "$DTN_PY" -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; sys.exit(o.get("b_sanitize","none")!="none")'; then
	:
else
	dtn_die "$build_dir is a sanitizer build: pass --build-dir with a plain (release) build"
fi
ninja -C "$build_dir" kernels/bench/kn-bench >/dev/null ||
	dtn_die "building kn-bench in $build_dir failed (ninja -C $build_dir kernels/bench/kn-bench)"
bench="$build_dir/kernels/bench/kn-bench"

if [[ -z "$cpu" ]]; then
	cpu=$(( $(nproc) - 1 ))
fi
pin=()
if command -v taskset >/dev/null 2>&1; then
	pin=(taskset -c "$cpu")
	dtn_log "pinned to CPU $cpu; other load on it shows up as noise (median reported)"
else
	dtn_warn "taskset not found: running unpinned, figures will be noisier"
fi
dtn_log "CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo);" \
	"free 2 MB hugepages: $(dtn_hugepages_free)"
echo "\$ ${pin[*]} $bench ${bench_args[*]}"
timeout 120 "${pin[@]}" "$bench" "${bench_args[@]}"
