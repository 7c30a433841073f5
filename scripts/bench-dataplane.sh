#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-dataplane.sh: packets per second one lcore of daitn-gw aggregates, beside
# an "ideal loop" measured in the same run.
#
#   bash scripts/bench-dataplane.sh [--build-dir DIR] [--cpu N] [--seconds S]
#                                   [--samples K] [--workers N] [--window SLOTS]
#                                   [--burst B] [--no-huge] [--no-auth] [--no-det] [--no-fedavg]
#
# daitn-gw-bench runs everything on one lcore, run to completion: an in-process
# generator enqueues the 1 KiB float32 chunks of N workers (default 8) into the
# RX ring of a net_ring port, gw_lcore_poll() runs the real pipeline (parse,
# validate, slot state machine, kernels, fan-out of each result to all N
# workers, TX), and a sink drains and frees the TX ring, checking a result of
# every burst. rdtsc separates the pipeline's cycles from the generator's and
# the sink's. The ideal loop allocates an mbuf, adds its 1 KiB into an
# accumulator and frees it: no parsing, no slots, no TX.
#
# Figures: input packets per second and their payload in Gbit/s, per core,
# median and best of K samples (each sample: S seconds of pipeline, then S
# seconds of ideal loop). Iterations longer than 100 us were preempted or
# interrupted (this machine is shared) and are left out of the filtered
# figures; the wall-clock rate, preemption included, is printed too.
# Targets (issue 2): >= 12 Mpps per core and >= 0.4x the ideal loop.
#
# Then (unless --no-auth) the cost of authentication (docs/security.md), in
# the same run: daitn-gw-bench --auth-compare measures the pipeline on three
# jobs in turn, one sample each per round: no key, a key whose tags cover
# headers, a key whose tags cover payloads too (the default), and prints each
# beside the no-key figure of the same round. Target (issue 10): at most 15%
# fewer Mpps with a key.
#
# Then (unless --no-det) the cost of deterministic jobs (docs/protocol.md,
# section 5, "Deterministic jobs"), in the same run: daitn-gw-bench
# --det-compare measures an ordinary float32 job, a deterministic one whose
# chunks arrive in rank order (nothing waits: the best case) and one whose
# chunks arrive highest rank first (every chunk but the last is held: the
# worst case), each beside the ordinary figure of the same round. Target
# (issue 14): at least 0.5x the ordinary sum.
#
# Then (unless --no-fedavg) what a fedavg job costs: daitn-gw-bench
# --fedavg-compare measures an ordinary float32 job, a fedavg one (the same
# sum, and every chunk's weight checked: weight_bad) and a fedavg job that is
# also deterministic, each beside the ordinary figure of the same round.
#
# Hugepages are used when at least 128 free 2 MB pages are mounted; otherwise
# the run falls back to --no-huge and says so (reserve them with:
#   echo 512 > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev /dev/hugepages).
# Bounded: the program is killed after 120 s (the defaults take about 15 s).
set -euo pipefail
DTN_LOG_TAG=bench-dataplane
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

build_dir="$DTN_BUILD"
cpu=""
huge=1
auth=1
det=1
fedavg=1
bench_args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--build-dir) build_dir="$2"; shift ;;
	--cpu) cpu="$2"; shift ;;
	--seconds|--samples|--workers|--window|--burst) bench_args+=("$1" "$2"); shift ;;
	--no-huge) huge=0 ;;
	--no-auth) auth=0 ;;
	--no-det) det=0 ;;
	--no-fedavg) fedavg=0 ;;
	-h|--help) sed -n '3,49p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done

dtn_bench_build "$build_dir" dataplane/gw/daitn-gw-bench release
bench=$DTN_BENCH_BIN

ncpu=$(nproc)
[[ -n "$cpu" ]] || cpu=$(( ncpu - 1 ))
[[ "$cpu" =~ ^[0-9]+$ && $cpu -lt $ncpu ]] || dtn_die "--cpu: 0..$(( ncpu - 1 ))"
other=$(( cpu == 0 ? 1 : 0 ))
[[ $ncpu -ge 2 ]] || other=$cpu

prefix="dtnbench$$"
mem=(--no-huge -m 512)
if [[ $huge -eq 1 ]]; then
	if [[ $(dtn_hugepages_free) -ge 128 ]]; then
		mem=(--huge-unlink -m 256)
	else
		dtn_warn "fewer than 128 free 2 MB hugepages: running with --no-huge (slower); " \
			"reserve them with: echo 512 > /proc/sys/vm/nr_hugepages; " \
			"mount -t hugetlbfs nodev /dev/hugepages"
	fi
fi
dtn_trap_install
dtn_on_exit "rm -rf '/var/run/dpdk/$prefix'"

# The gateway's data lcore (pinned to --cpu) runs generator, pipeline and
# sink; the main lcore only sets up and sleeps.
dtn_log "$bench on cpu $cpu (${mem[*]})"
run_bench() {
	local rc
	set +e
	timeout -s INT -k 10 120 "$bench" --lcores "$other@$other,$cpu@$cpu" --main-lcore "$other" \
		--file-prefix "$prefix" "${mem[@]}" --no-pci --log-level lib.eal:error \
		-- "${bench_args[@]}" "$@"
	rc=$?
	set -e
	[[ $rc -eq 124 || $rc -eq 130 ]] && dtn_die "daitn-gw-bench did not finish within 120 s"
	[[ $rc -eq 0 ]] || dtn_die "daitn-gw-bench failed (exit $rc)"
}
run_bench
if [[ $auth -eq 1 ]]; then
	echo
	run_bench --auth-compare
fi
if [[ $det -eq 1 ]]; then
	echo
	run_bench --det-compare
fi
if [[ $fedavg -eq 1 ]]; then
	echo
	run_bench --fedavg-compare
fi
