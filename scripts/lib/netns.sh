# SPDX-License-Identifier: BSD-3-Clause
# netns.sh: a test topology of network namespaces for daitn (sourced, not run).
#
#                      switch ns  ${P}s: Linux bridge "br0"
#                     /                 \            \
#   gateway ns ${P}g: veth ${P}g0       worker ns ${P}w1: veth ${P}w1   ...  ${P}wN
#   (no kernel IP: the DPDK af_packet   10.77.0.11/24                        10.77.0.(10+N)
#    PMD owns it; the gateway answers
#    ARP and ping for 10.77.0.1 itself)
#
# Every name starts with the run's prefix P (default "dt$$", so two runs never
# collide); the veths are created directly inside their namespaces, so nothing
# ever appears in the root namespace. dtn_topo_teardown deletes exactly the
# namespaces this run created (and stops the processes it started there first).
#
# Usage:
#   source scripts/lib/netns.sh
#   dtn_trap_install                 # once: runs the registered clean-up on exit
#   dtn_topo_create 4                # switch + gateway + 4 workers
#   dtn_link_shape 2 --loss 10       # optional impairments on worker 2's link
#   dtn_ns_run "$(dtn_ns_worker 1)" ping -c1 10.77.0.1
#
# Loss: tc netem where the kernel has it (egress of the worker's veth and of its
# bridge-side peer: both directions); otherwise an nftables rule on the bridge
# (numgen random), also both directions. Rate: tc tbf on the same two ends.
# Delay needs netem: without it dtn_link_shape --delay fails and says why.

[[ -n "${DTN_NETNS_SOURCED:-}" ]] && return 0
DTN_NETNS_SOURCED=1
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DTN_P="${DTN_P:-dt$$}"
DTN_SUBNET="${DTN_SUBNET:-10.77.0}"
DTN_GW_IP="${DTN_GW_IP:-$DTN_SUBNET.1}"
DTN_MTU="${DTN_MTU:-1500}"
DTN_NETNS_CREATED=()   # namespaces this run created, in creation order
DTN_PIDS=()            # background processes this run started
DTN_N_WORKERS=0
DTN_LOSS_NFT=0         # the nft loss table exists in the switch namespace

dtn_ns_switch() { echo "${DTN_P}s"; }
dtn_ns_gw() { echo "${DTN_P}g"; }
dtn_ns_worker() { echo "${DTN_P}w$1"; }
dtn_gw_iface() { echo "${DTN_P}g0"; }
dtn_worker_iface() { echo "${DTN_P}w$1"; }
dtn_worker_port_iface() { echo "${DTN_P}w$1b"; }   # bridge side, in the switch ns
# Worker i's address: DTN_WORKER_IPS[i-1] if the caller set it (from a policy),
# else 10.77.0.(10+i). All must be in the gateway's /24.
DTN_WORKER_IPS=("${DTN_WORKER_IPS[@]+"${DTN_WORKER_IPS[@]}"}")
dtn_worker_ip() {
	if [[ -n "${DTN_WORKER_IPS[$(( $1 - 1 ))]:-}" ]]; then
		echo "${DTN_WORKER_IPS[$(( $1 - 1 ))]}"
	else
		echo "$DTN_SUBNET.$((10 + $1))"
	fi
}

dtn_ns_run() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Create a namespace with loopback up and IPv6 off (no router solicitations or
# MLD reports reaching the gateway and muddying its counters).
dtn_ns_add() {
	local ns=$1
	ip netns add "$ns" || dtn_die "cannot create network namespace $ns (are you root?)"
	DTN_NETNS_CREATED+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

# A veth pair from namespace $1 (name $2) to the bridge in the switch namespace
# (name $3), or in namespace $4 if given. UDP segmentation offload is turned off on the host end: with it on,
# a UDP_SEGMENT (GSO) send crosses veth and bridge as one super-packet, and
# af_packet hands the gateway a single truncated frame instead of N datagrams.
# Checksum offload stays on: UDP GSO needs it, and the gateway does not verify
# UDP checksums (a veth leaves them partial); its replies carry checksum 0.
dtn_veth_to_bridge() {
	local ns=$1 name=$2 peer=$3 sw=${4:-$(dtn_ns_switch)}
	ip link add "$name" netns "$ns" mtu "$DTN_MTU" type veth \
		peer name "$peer" netns "$sw" mtu "$DTN_MTU" ||
		dtn_die "cannot create veth $name ($ns) <-> $peer ($sw)"
	ip netns exec "$ns" ethtool -K "$name" tx-udp-segmentation off >/dev/null 2>&1 ||
		dtn_warn "ethtool -K $name tx-udp-segmentation off failed: GSO sends may reach the gateway unsegmented"
	ip netns exec "$sw" ethtool -K "$peer" tx-udp-segmentation off >/dev/null 2>&1 || true
	ip -n "$sw" link set "$peer" master br0 up
	ip -n "$ns" link set "$name" up
}

# Switch namespace with its bridge; call first.
dtn_topo_switch() {
	local sw
	sw=$(dtn_ns_switch)
	dtn_ns_add "$sw"
	ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$sw" link set br0 up
}

# The gateway's namespace and veth, up, promiscuous, without a kernel address.
dtn_topo_gateway() {
	local ns
	ns=$(dtn_ns_gw)
	dtn_ns_add "$ns"
	dtn_veth_to_bridge "$ns" "$(dtn_gw_iface)" "${DTN_P}gb"
	ip -n "$ns" link set "$(dtn_gw_iface)" promisc on
}

# Worker i (1-based): namespace, veth, address dtn_worker_ip i, /24.
dtn_topo_worker() {
	local i=$1 ns ifc
	ns=$(dtn_ns_worker "$i")
	ifc=$(dtn_worker_iface "$i")
	dtn_ns_add "$ns"
	dtn_veth_to_bridge "$ns" "$ifc" "$(dtn_worker_port_iface "$i")"
	ip -n "$ns" addr add "$(dtn_worker_ip "$i")/24" dev "$ifc"
	(( i > DTN_N_WORKERS )) && DTN_N_WORKERS=$i
	return 0
}

# Switch, gateway and workers 1..n; registers dtn_topo_teardown as an exit hook.
dtn_topo_create() {
	local n=$1 i
	(( n >= 1 && n <= 200 )) || dtn_die "dtn_topo_create: worker count $n out of range 1..200"
	[[ ${#DTN_P} -le 10 ]] || dtn_die "prefix '$DTN_P' too long: interface names must stay within 15 characters"
	command -v ethtool >/dev/null || dtn_die "ethtool is missing: run scripts/setup.sh"
	dtn_on_exit dtn_topo_teardown
	dtn_topo_switch
	dtn_topo_gateway
	for (( i = 1; i <= n; i++ )); do
		dtn_topo_worker "$i"
	done
}

# Start "$@" in namespace ns in the background, output to log. The PID (ip netns
# exec execs the program, so it is the program's own) lands in DTN_LAST_PID and
# is recorded for dtn_pids_stop. Call it directly, not in $(...): a subshell
# would lose the record.
dtn_bg() {
	local ns=$1 log=$2
	shift 2
	# The subshell restores default signal dispositions before exec: bash
	# starts background commands with SIGINT ignored, and a program that
	# does not install its own handler would then survive dtn_pid_stop INT.
	( trap - INT QUIT TERM HUP EXIT; exec ip netns exec "$ns" "$@" ) >"$log" 2>&1 &
	DTN_LAST_PID=$!
	DTN_PIDS+=("$DTN_LAST_PID")
}

# Stop one PID we started: signal (default INT), wait up to bound seconds, then
# SIGKILL. Returns the process's exit status if it could be collected.
dtn_pid_stop() {
	local pid=$1 sig=${2:-INT} bound=${3:-10} t=0 rc=0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || rc=$?; return $rc; }
	kill -s "$sig" "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && (( t < bound * 10 )); do
		sleep 0.1
		t=$((t + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		dtn_warn "PID $pid still running ${bound}s after SIG$sig: sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# Stop every process this run started that is still running.
dtn_pids_stop() {
	local pid
	for pid in "${DTN_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && { dtn_pid_stop "$pid" TERM 5 || true; }
	done
	DTN_PIDS=()
}

dtn_topo_teardown() {
	local i ns
	dtn_pids_stop
	for (( i = ${#DTN_NETNS_CREATED[@]} - 1; i >= 0; i-- )); do
		ns=${DTN_NETNS_CREATED[$i]}
		ip netns del "$ns" 2>/dev/null || dtn_warn "could not delete namespace $ns"
	done
	DTN_NETNS_CREATED=()
	DTN_LOSS_NFT=0
}

dtn_have_netem() {
	# Probe once on a throw-away dummy in the switch namespace.
	if [[ -z "${DTN_HAVE_NETEM:-}" ]]; then
		local sw
		sw=$(dtn_ns_switch)
		DTN_HAVE_NETEM=0
		if ip -n "$sw" link add dtnprobe type dummy 2>/dev/null; then
			tc -n "$sw" qdisc add dev dtnprobe root netem loss 1% 2>/dev/null && DTN_HAVE_NETEM=1
			ip -n "$sw" link del dtnprobe 2>/dev/null || true
		fi
	fi
	[[ $DTN_HAVE_NETEM -eq 1 ]]
}

# nft rules on the bridge that drop pct% of worker i's UDP packets in each
# direction, deterministically: every Nth packet, N = round(100 / pct) (so
# 1% drops packets 100, 200, ...; 10% every 10th). A failing run is then the
# same run again. Counters are readable with dtn_loss_dropped.
dtn_loss_nft() {
	local i=$1 pct=$2 sw port every
	command -v nft >/dev/null || dtn_die "neither tc netem nor nft is available for loss injection: run scripts/setup.sh"
	sw=$(dtn_ns_switch)
	port=$(dtn_worker_port_iface "$i")
	every=$(awk -v p="$pct" 'BEGIN { n = int(100 / p + 0.5); print (n < 1 ? 1 : n) }')
	if [[ $DTN_LOSS_NFT -eq 0 ]]; then
		ip netns exec "$sw" nft add table bridge dtnloss
		ip netns exec "$sw" nft add chain bridge dtnloss loss \
			'{ type filter hook forward priority 0; policy accept; }'
		DTN_LOSS_NFT=1
	fi
	ip netns exec "$sw" nft add rule bridge dtnloss loss iifname "$port" \
		meta l4proto udp numgen inc mod "$every" 0 counter drop
	ip netns exec "$sw" nft add rule bridge dtnloss loss oifname "$port" \
		meta l4proto udp numgen inc mod "$every" 0 counter drop
}

# Packets dropped so far by the loss injection: nft rule counters plus the
# "dropped" figure of netem qdiscs on the worker links. DIR: up (worker ->
# gateway), down (gateway -> worker) or all (default).
dtn_loss_dropped() {
	local dir=${1:-all} n=0 i sw nft_match=""
	sw=$(dtn_ns_switch)
	case $dir in
	up) nft_match=iifname ;;
	down) nft_match=oifname ;;
	all) nft_match="" ;;
	*) dtn_die "dtn_loss_dropped: direction up, down or all" ;;
	esac
	if [[ $DTN_LOSS_NFT -eq 1 ]]; then
		n=$(ip netns exec "$sw" nft list table bridge dtnloss |
			awk -v m="$nft_match" '/counter packets/ && (m == "" || index($0, m)) {
				for (i = 1; i <= NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }')
	fi
	for (( i = 1; i <= DTN_N_WORKERS; i++ )); do
		n=$(( n + $( {
			[[ $dir == down ]] || tc -s -n "$(dtn_ns_worker "$i")" qdisc show dev "$(dtn_worker_iface "$i")"
			[[ $dir == up ]] || tc -s -n "$sw" qdisc show dev "$(dtn_worker_port_iface "$i")"
			} 2>/dev/null |
			awk '/^qdisc netem/ { netem = 1; next } /^qdisc/ { netem = 0 }
			     netem && /dropped/ { for (i = 1; i <= NF; i++) if ($i == "(dropped") { gsub(",", "", $(i + 1)); s += $(i + 1) } }
			     END { print s + 0 }') ))
	done
	echo "$n"
}

# Impair worker i's link in both directions:
#   dtn_link_shape I [--loss PCT] [--delay MS] [--rate RATE (tc syntax, 1gbit)]
# netem (loss, delay) and tbf (rate) are stacked on the egress of the worker's
# veth (worker -> gateway) and of its bridge port (gateway -> worker).
dtn_link_shape() {
	local i=$1 loss="" delay="" rate="" ns sw ifc port
	shift
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--loss) loss=$2; shift ;;
		--delay) delay=$2; shift ;;
		--rate) rate=$2; shift ;;
		*) dtn_die "dtn_link_shape: unknown option '$1'" ;;
		esac
		shift
	done
	ns=$(dtn_ns_worker "$i"); sw=$(dtn_ns_switch)
	ifc=$(dtn_worker_iface "$i"); port=$(dtn_worker_port_iface "$i")
	local use_netem=0
	if [[ -n "$delay" || -n "$loss" ]] && dtn_have_netem; then
		use_netem=1
	elif [[ -n "$delay" ]]; then
		dtn_warn "--delay needs the sch_netem qdisc, which this kernel lacks"
		return 1
	fi
	local netem=() dev nsx parent
	[[ -n "$loss" ]] && netem+=(loss "${loss}%")
	[[ -n "$delay" ]] && netem+=(delay "${delay}ms")
	for pair in "$ns:$ifc" "$sw:$port"; do
		nsx=${pair%%:*}; dev=${pair#*:}; parent=root
		if [[ $use_netem -eq 1 ]]; then
			tc -n "$nsx" qdisc replace dev "$dev" root handle 1: netem "${netem[@]}" limit 100000 ||
				dtn_die "tc netem on $dev ($nsx) failed"
			parent="parent 1:"
		fi
		if [[ -n "$rate" ]]; then
			# burst: at least one jumbo frame and 1 ms worth of bytes.
			tc -n "$nsx" qdisc replace dev "$dev" $parent handle 2: tbf rate "$rate" \
				burst 64kb latency 50ms || dtn_die "tc tbf rate $rate on $dev ($nsx) failed"
		fi
	done
	if [[ -n "$loss" && $use_netem -eq 0 ]]; then
		dtn_loss_nft "$i" "$loss"
	fi
}

# Remove every impairment from worker links 1..DTN_N_WORKERS (qdiscs on both
# ends and the nft loss table).
dtn_link_reset_all() {
	local i sw
	sw=$(dtn_ns_switch)
	for (( i = 1; i <= DTN_N_WORKERS; i++ )); do
		tc -n "$(dtn_ns_worker "$i")" qdisc del dev "$(dtn_worker_iface "$i")" root 2>/dev/null || true
		tc -n "$sw" qdisc del dev "$(dtn_worker_port_iface "$i")" root 2>/dev/null || true
	done
	if [[ $DTN_LOSS_NFT -eq 1 ]]; then
		ip netns exec "$sw" nft delete table bridge dtnloss
		DTN_LOSS_NFT=0
	fi
}

# Describe how loss is injected here (for test output).
dtn_loss_method() {
	if dtn_have_netem; then echo "tc netem"; else echo "nftables on the bridge, every Nth UDP packet (numgen inc; no sch_netem in this kernel)"; fi
}

# Wait until every PID in the arguments exits; bound in seconds is the first
# argument. Sets DTN_WAIT_RC to the list of exit statuses (124 = still running at
# the bound, then killed). Returns 0 if all exited 0.
dtn_wait_all() {
	local bound=$1 pid rc all=0
	shift
	DTN_WAIT_RC=()
	local deadline=$(( $(date +%s) + bound ))
	for pid in "$@"; do
		while kill -0 "$pid" 2>/dev/null && (( $(date +%s) < deadline )); do
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			dtn_pid_stop "$pid" TERM 3 || true
			rc=124
		else
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
		fi
		DTN_WAIT_RC+=("$rc")
		[[ $rc -eq 0 ]] || all=1
	done
	return $all
}
