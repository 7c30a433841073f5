#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench-client.sh: 1 KiB chunks per second that one worker core sends through
# libdaitn's send path (daitn_io: UDP GSO inside sendmmsg, the path
# daitn_allreduce uses), beside plain sendmsg and plain sendmmsg of the same
# datagrams to the same loopback sink, measured in the same run.
#
#   bash scripts/bench-client.sh [--build-dir DIR] [--send-cpu N] [--sink-cpu N]
#                                [--seconds S] [--rounds R] [--payload BYTES]
#                                [--batch N] [--big-batch N] [--sink-gro on|off|both]
#                                [--veth]
#
#   --build-dir DIR  meson build directory (default: $DTN_BUILD or build/);
#                    configured if missing; only daitn-bench-client is built
#   --send-cpu N     CPU of the sender (default 0); --sink-cpu N the sink's
#                    (default 1, or 0 on a one-CPU machine)
#   --seconds S      per method and round (default 0.5); --rounds R (default 3,
#                    medians printed): 5 methods x 2 sink modes x R x S seconds
#   --batch N        chunks per sendmmsg / per libdaitn flush (default 64, the
#                    allreduce's receive batch); --big-batch N a second libdaitn
#                    row (default 256, a window being filled)
#   --sink-gro       the sink (libdaitn's receive path, daitn_io_rx) with UDP
#                    GRO on, off, or both (default)
#   --veth           (root) put the sink in a network namespace behind a veth
#                    pair instead of loopback, with tx-udp-segmentation off on
#                    the sender's side as the demo topology has it; removed at
#                    exit
#
# Columns: sent Mpps = datagrams handed to the kernel per wall second by the
# pinned sender; send CPU ns/dg = the sender thread's CPU time per datagram
# (softirq time excluded); sink Mpps / sink CPU ns/dg = what the receiving
# thread got and paid (receive-side figures, recvmmsg vs GRO).
# On loopback the kernel delivers into the sink's socket in the sender's
# context, so the sender's core also pays the receive stack; with the sink's
# GRO off that includes cutting every GSO packet back into datagrams, work a
# NIC (USO) or the gateway's host does in a real deployment. Both sink modes
# are printed; read the target (issue 2: >= 1 Mpps and >= 3x plain sendmmsg)
# against both. Bounded: killed after 120 s.
set -euo pipefail
DTN_LOG_TAG=bench-client
source "$(dirname "${BASH_SOURCE[0]}")/lib/bench.sh"

build_dir="$DTN_BUILD"
send_cpu=0
sink_cpu=""
veth=0
args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--build-dir) build_dir="$2"; shift ;;
	--send-cpu) send_cpu="$2"; shift ;;
	--sink-cpu) sink_cpu="$2"; shift ;;
	--seconds|--rounds|--payload|--batch|--big-batch|--sink-gro) args+=("$1" "$2"); shift ;;
	--veth) veth=1 ;;
	-h|--help) sed -n '3,38p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done

dtn_bench_build "$build_dir" client/daitn-bench-client plain
bench=$DTN_BENCH_BIN

ncpu=$(nproc)
if [[ -z "$sink_cpu" ]]; then
	sink_cpu=$(( ncpu > 1 ? (send_cpu + 1) % ncpu : 0 ))
fi
[[ "$sink_cpu" == "$send_cpu" ]] &&
	dtn_warn "sender and sink share CPU $send_cpu: the sink's work counts against the sender"
dtn_bench_pin "$send_cpu,$sink_cpu" || true
if [[ $veth -eq 1 ]]; then
	dtn_require_root
	command -v ethtool >/dev/null || dtn_die "ethtool is missing: run scripts/setup.sh"
	ns="dtcb$$" va="dtcb$$a" vb="dtcb$$b" net="10.254.$(( $$ % 250 ))"
	ip -4 addr show | grep -q " $net\." && dtn_die "$net.0/30 is in use here; run again"
	dtn_trap_install
	dtn_on_exit "ip netns del $ns 2>/dev/null; ip link del $va 2>/dev/null"
	ip netns add "$ns"
	ip link add "$va" type veth peer name "$vb"
	ip link set "$vb" netns "$ns"
	ip addr add "$net.1/30" dev "$va"
	ip link set "$va" up
	ip netns exec "$ns" ip addr add "$net.2/30" dev "$vb"
	ip netns exec "$ns" ip link set "$vb" up
	ip netns exec "$ns" ip link set lo up
	ethtool -K "$va" tx-udp-segmentation off >/dev/null ||
		dtn_die "ethtool -K $va tx-udp-segmentation off failed"
	args+=(--sink-netns "/var/run/netns/$ns" --sink-ip "$net.2")
	dtn_log "sink in namespace $ns at $net.2 behind veth $va (tx-udp-segmentation off)"
fi
dtn_log "CPU: $(dtn_cpu_model); kernel $(uname -r);" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg) (other load on these CPUs is noise)"
echo "\$ ${DTN_BENCH_PIN[*]} $bench --send-cpu $send_cpu --sink-cpu $sink_cpu ${args[*]}"
timeout 120 "${DTN_BENCH_PIN[@]}" "$bench" --send-cpu "$send_cpu" --sink-cpu "$sink_cpu" "${args[@]}"
