# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# racks.sh: two racks of workers under an oversubscribed core, for
# scripts/bench-tree.sh (sourced, not run). Built on netns.sh and gateway.sh.
#
#   rack ns ${P}ra: bridge br0                 rack ns ${P}rb: bridge br0
#     w1..w4 (10.78.0.11-14), tbf W each way     w5..w8 (10.78.0.15-18)
#     leaf A  ${P}ga  10.78.0.2                  leaf B  ${P}gb  10.78.0.3
#     uplink  ${P}ua, tbf U each way             uplink  ${P}ub
#          \                                          /
#           ${P}uac --- core ns ${P}c: bridge br0 --- ${P}ubc
#                       root ${P}gr 10.78.0.1, flat ${P}gf 10.78.0.4
#
# One /24, so ARP crosses the three bridges. Each worker's link (its veth and
# its bridge port) and each uplink (its rack end: up, its core end: down) are
# limited with tbf in both directions; the gateways' own links are not (they
# stand for the switches). With U equal to W, each rack's uplink carries its
# four workers' rate 4:1 oversubscribed.
#
# The tree: leaves A and B sum their rack's workers (job 1, ranks 0-3 on UDP
# port 47101) and are ranks 0 and 1 of job 1 on the root. The flat gateway
# serves job 2 with all eight workers as ranks (worker i is rank i-1, port
# 47102). Every gateway polls adaptively unless its config says otherwise.
#
#   racks_topo W U                  namespaces, veths and shaping (tc rates:
#                                   "100mbit"); torn down on exit
#   racks_configs CHUNK SLOT_MEM    policies and gateway configs in
#                                   DTN_TMP/racks (gateway-G.json, G in r a b f)
#   racks_gw_config G KEY JSON      set KEY of gateway G's config to the JSON
#                                   value JSON (e.g. idle_poll '"busy"')
#   racks_gw_up G                   start gateway G: dtn_gwn_up (gateway.sh),
#                                   which also stops and queries them
#                                   (dtn_gwn_down, dtn_gwn_tel)
#   racks_leaf I                    worker i's leaf: a (workers 1-4) or b
#   racks_ns_rack R / racks_ns_core the bridges' namespaces (R: a or b)
#
# The uplinks' byte counters are their rack ends' veth counters (tx: up, rx:
# down). Where nft is installed, table "bridge dtnup" in each rack's
# namespace also counts the UDP packets up and down its uplink (rules
# commented "up" and "down"; bytes from the IP header on).

[[ -n "${DTN_RACKS_SOURCED:-}" ]] && return 0
DTN_RACKS_SOURCED=1
DTN_SUBNET=${DTN_SUBNET:-10.78.0}
source "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

declare -ga RACKS_GWS=(r a b f)
declare -gA RACKS_IP=([r]=$DTN_SUBNET.1 [a]=$DTN_SUBNET.2 [b]=$DTN_SUBNET.3 [f]=$DTN_SUBNET.4)
declare -gA RACKS_NAME=([r]=root [a]=leafA [b]=leafB [f]=flat)
RACKS_WORKERS=8

racks_leaf() { if (( $1 <= 4 )); then echo a; else echo b; fi; }
racks_ns_rack() { echo "${DTN_P}r$1"; }      # a or b
racks_ns_core() { echo "${DTN_P}c"; }
# Gateway g sits on rack a's or b's bridge (its leaf) or on the core's.
racks_ns_bridge() {
	case $1 in a|b) racks_ns_rack "$1" ;; *) racks_ns_core ;; esac
}

# tbf on the egress of DEV in NS (the burst and queue of dtn_link_shape).
racks_shape() {
	tc -n "$1" qdisc replace dev "$2" root handle 2: tbf rate "$3" burst 64kb latency 50ms ||
		dtn_die "tc tbf rate $3 on $2 ($1) failed"
}

# nft counters of the UDP packets that cross rack r's uplink, up and down
# (daitn's own traffic, without gloo's TCP).
racks_udp_counters() {
	local ns
	ns=$(racks_ns_rack "$1")
	command -v nft >/dev/null || return 0
	ip netns exec "$ns" nft add table bridge dtnup &&
	ip netns exec "$ns" nft add chain bridge dtnup count \
		'{ type filter hook forward priority 0; policy accept; }' &&
	ip netns exec "$ns" nft add rule bridge dtnup count oifname "${DTN_P}u$1" \
		meta l4proto udp counter comment '"up"' &&
	ip netns exec "$ns" nft add rule bridge dtnup count iifname "${DTN_P}u$1" \
		meta l4proto udp counter comment '"down"' ||
		dtn_die "cannot add the nft counters on rack $1's uplink"
}

racks_bridge() {
	dtn_ns_add "$1"
	ip -n "$1" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	ip -n "$1" link set br0 up
}

racks_topo() {
	local w=$1 u=$2 r g i ns
	[[ ${#DTN_P} -le 11 ]] || dtn_die "prefix '$DTN_P' too long: interface names must stay within 15 characters"
	command -v ethtool >/dev/null || dtn_die "ethtool is missing: run scripts/setup.sh"
	dtn_on_exit dtn_topo_teardown
	dtn_on_exit dtn_gwn_stop_all
	racks_bridge "$(racks_ns_core)"
	for r in a b; do
		racks_bridge "$(racks_ns_rack "$r")"
		# The uplink: its rack end's egress is up, its core end's down.
		ip link add "${DTN_P}u$r" netns "$(racks_ns_rack "$r")" mtu "$DTN_MTU" type veth \
			peer name "${DTN_P}u${r}c" netns "$(racks_ns_core)" mtu "$DTN_MTU" ||
			dtn_die "cannot create uplink ${DTN_P}u$r"
		ip -n "$(racks_ns_rack "$r")" link set "${DTN_P}u$r" master br0 up
		ip -n "$(racks_ns_core)" link set "${DTN_P}u${r}c" master br0 up
		racks_shape "$(racks_ns_rack "$r")" "${DTN_P}u$r" "$u"
		racks_shape "$(racks_ns_core)" "${DTN_P}u${r}c" "$u"
		racks_udp_counters "$r"
	done
	for g in "${RACKS_GWS[@]}"; do
		ns="${DTN_P}g$g"
		dtn_ns_add "$ns"
		dtn_veth_to_bridge "$ns" "$ns" "${ns}b" "$(racks_ns_bridge "$g")"
		ip -n "$ns" link set "$ns" promisc on
	done
	for (( i = 1; i <= RACKS_WORKERS; i++ )); do
		ns=$(dtn_ns_worker "$i")
		dtn_ns_add "$ns"
		dtn_veth_to_bridge "$ns" "$(dtn_worker_iface "$i")" "$(dtn_worker_port_iface "$i")" \
			"$(racks_ns_rack "$(racks_leaf "$i")")"
		ip -n "$ns" addr add "$(dtn_worker_ip "$i")/24" dev "$(dtn_worker_iface "$i")"
		racks_shape "$ns" "$(dtn_worker_iface "$i")" "$w"
		racks_shape "$(racks_ns_rack "$(racks_leaf "$i")")" "$(dtn_worker_port_iface "$i")" "$w"
		# gloo's TCP buffers (edge.sh does the same).
		ip netns exec "$ns" sysctl -qw net.core.rmem_max=8388608 \
			net.core.wmem_max=8388608 >/dev/null 2>&1 || true
	done
	DTN_N_WORKERS=$RACKS_WORKERS
}

racks_configs() {
	local chunk=$1 slot_mem=$2 huge=1
	[[ -n "${DTN_TMP:-}" ]] || dtn_tmp_create
	mkdir -p "$DTN_TMP/racks"
	# Four gateways of 256 MiB each.
	[[ $(dtn_hugepages_free) -ge 560 ]] || huge=0
	"$DTN_PY" - "$DTN_TMP/racks" "$DTN_P" "$DTN_SUBNET" "$chunk" "$slot_mem" "$huge" "$DTN_MTU" <<'EOF' ||
import json, sys
out, p, net, chunk, slot_mem, huge, mtu = sys.argv[1:8]
ip = {"r": net + ".1", "a": net + ".2", "b": net + ".3", "f": net + ".4"}
def worker(i):
    return {"id": "w%d" % i, "ip": "%s.%d" % (net, 10 + i), "roles": ["worker"]}
def job(jid, workers, parent=None):
    j = {"id": jid, "dtype": "float32", "chunk_size": int(chunk), "slot_memory": slot_mem,
         "workers": workers}
    if parent:
        j["parent"] = parent
    return j
pols = {"r": {"version": 1, "node_timeout_ms": 3000,
              "nodes": [{"id": "leafA", "ip": ip["a"], "roles": ["gateway"]},
                        {"id": "leafB", "ip": ip["b"], "roles": ["gateway"]}],
              "jobs": [job(1, [{"rank": 0, "node": "leafA", "port": 47000},
                               {"rank": 1, "node": "leafB", "port": 47000}])]},
        "f": {"version": 1, "nodes": [worker(i) for i in range(1, 9)],
              "jobs": [job(2, [{"rank": i - 1, "node": "w%d" % i, "port": 47102}
                               for i in range(1, 9)])]}}
for g, first, rank in (("a", 1, 0), ("b", 5, 1)):
    pols[g] = {"version": 1, "node_timeout_ms": 3000,
               "nodes": [{"id": "root", "ip": ip["r"], "roles": ["gateway"]}]
                        + [worker(first + k) for k in range(4)],
               "jobs": [job(1, [{"rank": k, "node": "w%d" % (first + k), "port": 47101}
                                for k in range(4)],
                            {"node": "root", "port": 47000, "rank": rank})]}
for g in "rabf":
    with open(f"{out}/policy-{g}.json", "w") as f:
        json.dump(pols[g], f, indent=1)
    c = {"ports": [{"name": "p0", "vdev": f"net_af_packet0,iface={p}g{g}", "ip": ip[g],
                    "mtu": int(mtu)}],
         "main_lcore": 0, "data_lcores": [1], "udp_port": 47000,
         "memory_mb": 256, "slot_memory": "64MiB", "hugepages": huge == "1",
         "idle_poll": "adaptive", "watch_policy": False,
         "policy": f"{out}/policy-{g}.json"}
    with open(f"{out}/gateway-{g}.json", "w") as f:
        json.dump(c, f, indent=1)
EOF
		dtn_die "cannot write the racks' policies and gateway configs"
	[[ $huge -eq 1 ]] || dtn_warn "fewer than 560 free hugepages: the gateways run with --no-huge (slower)"
}

racks_gw_config() {
	"$DTN_PY" - "$DTN_TMP/racks/gateway-$1.json" "$2" "$3" <<'EOF' || dtn_die "cannot set $2 in gateway-$1.json"
import json, sys
with open(sys.argv[1]) as f:
    c = json.load(f)
c[sys.argv[2]] = json.loads(sys.argv[3])
with open(sys.argv[1], "w") as f:
    json.dump(c, f, indent=1)
EOF
}

racks_gw_up() { dtn_gwn_up "$1" "$DTN_TMP/racks/gateway-$1.json" "${RACKS_IP[$1]}"; }

