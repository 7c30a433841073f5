#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# edge-topology.sh: an emulated edge network of N workers behind rate/delay
# limited links, a daitn gateway on a DPDK af_packet port, and a Linux bridge
# that also carries gloo's ring allreduce (scripts/lib/edge.sh has the picture).
#
#   bash scripts/edge-topology.sh [-n N] [--rate RATE] [--delay MS] [--mtu BYTES]
#                                 [--no-gateway] [--check] [-- COMMAND...]
#
#   -n N          workers (default 4), ranks 0..N-1 at 10.77.0.11..
#   --rate RATE   per-worker link rate, both directions, tc syntax (default 1gbit;
#                 0 = unlimited)
#   --delay MS    one-way delay per direction (default 0; needs sch_netem, which
#                 some kernels lack: then it fails and says so)
#   --mtu BYTES   MTU of every link (default 1500); the job's chunk follows it
#   --no-gateway  only the bridge (gloo baseline)
#   --check       measure each worker link with a TCP transfer (w1->w2, w2->w1)
#   COMMAND       run with the topology up; it sees EDGE_* and DTN_* variables and
#                 can source scripts/lib/edge.sh helpers through EDGE_LIB.
#                 Without a command: print the topology and run --check.
#
# The gateway runs a policy with one job of N workers (job id N), worker rank r
# on UDP port 47100 + 16*N + r. Everything is removed on exit (trap), whatever
# happens; names carry this run's prefix.
set -euo pipefail
DTN_LOG_TAG=edge
source "$(dirname "${BASH_SOURCE[0]}")/lib/edge.sh"

n=4 rate=1gbit delay=0 gw=1 check=0 cmd=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-n) n=$2; shift ;;
	--rate) rate=$2; shift ;;
	--delay) delay=$2; shift ;;
	--mtu) DTN_MTU=$2; shift ;;
	--no-gateway) gw=0 ;;
	--check) check=1 ;;
	--) shift; cmd=("$@"); break ;;
	-h|--help) sed -n '3,25p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
[[ "$n" =~ ^[0-9]+$ && $n -ge 1 && $n -le 64 ]] || dtn_die "-n $n: expected 1..64 workers"
[[ "$DTN_MTU" =~ ^[0-9]+$ && $DTN_MTU -ge 576 && $DTN_MTU -le 9000 ]] ||
	dtn_die "--mtu $DTN_MTU: expected 576..9000"
dtn_require_root
dtn_trap_install

edge_up "$n" "$rate" "$delay"
dtn_tmp_create
if [[ $gw -eq 1 ]]; then
	dtn_require_bins "$DTN_GW_BIN"
	edge_policy_write "$DTN_TMP/policy.json" "$n"
	edge_gw_up "$DTN_TMP/policy.json"
fi
export EDGE_N EDGE_RATE EDGE_DELAY DTN_P DTN_MTU DTN_GW_IP DTN_TMP DTN_GW_PREFIX
export EDGE_LIB="$DTN_ROOT/scripts/lib/edge.sh" EDGE_GW_PID="${DTN_GW_PID:-}"

dtn_log "prefix $DTN_P: $n workers $(dtn_worker_ip 1)..$(dtn_worker_ip "$n") in $(dtn_ns_worker 1)..$(dtn_ns_worker "$n"), bridge $(dtn_ns_switch)"
dtn_log "links: rate ${rate}, delay ${delay} ms, MTU $DTN_MTU (tbf/netem on both ends of each worker veth)"
if [[ $gw -eq 1 ]]; then
	dtn_log "gateway $DTN_GW_IP in $(dtn_ns_gw) (PID $DTN_GW_PID, log $DTN_GW_LOG), job $n, chunk $(edge_chunk) B"
fi

if [[ ${#cmd[@]} -eq 0 || $check -eq 1 ]]; then
	if [[ $n -ge 2 ]]; then
		dtn_log "link check: w1 -> w2 $(edge_link_check 1 2 16) Mbit/s, w2 -> w1 $(edge_link_check 2 1 16) Mbit/s (16 MiB over TCP)"
	fi
	if [[ $gw -eq 1 ]]; then
		ip netns exec "$(dtn_ns_worker 1)" ping -c 3 -i 0.2 -q "$DTN_GW_IP" | tail -1 |
			sed "s/^/edge: ping gateway from w1: /"
	fi
fi
if [[ ${#cmd[@]} -gt 0 ]]; then
	"${cmd[@]}"
fi
