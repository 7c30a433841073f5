# SPDX-License-Identifier: BSD-3-Clause
# tree.sh: an aggregation tree of three daitn gateways in namespaces (sourced).
#
#                      switch ns ${P}s: bridge br0
#        /              |                |              \
#   ${P}gr: root    ${P}ga: leaf1    ${P}gb: leaf2     ${P}w1 .. ${P}w8: workers
#   10.77.0.1       10.77.0.2        10.77.0.3         10.77.0.11 .. 10.77.0.18
#
# The gateways run configs/tree/gateway-{root,leaf1,leaf2}.json with their
# policies (leaf1 is the parent's rank 0 and serves workers 1-4, leaf2 rank
# 1 and workers 5-8). Each gateway's data lcore polls adaptively, so the
# three share a small machine.
#
#   dtn_tree_topo N                 switch, the three gateway namespaces and
#                                   workers 1..N; torn down on exit
#   dtn_tree_configs [EDIT_PY]      the configs and policies, adapted to this
#                                   run (veths, policy paths, hugepages), in
#                                   DTN_TMP/tree; EDIT_PY, if given, is Python
#                                   run with `pols` (name -> policy dict) to
#                                   change the policies first
#   dtn_tree_gw_up G                start gateway G (r, a or b): dtn_gwn_up
#                                   (gateway.sh), which also stops, queries
#                                   and reaps them (dtn_gwn_*)
#   dtn_tree_field G JOB KEY        KEY of job JOB's "tree" object on G
#   dtn_tree_worker_args I JOB      daitn-worker options of worker I (1-8) on
#                                   job JOB: its leaf, bind, local rank and
#                                   its place in the tree (--tree)

[[ -n "${DTN_TREE_SOURCED:-}" ]] && return 0
DTN_TREE_SOURCED=1
source "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

declare -ga DTN_TREE_GWS=(r a b)
declare -gA DTN_TREE_IP=([r]=10.77.0.1 [a]=10.77.0.2 [b]=10.77.0.3)
declare -gA DTN_TREE_NAME=([r]=root [a]=leaf1 [b]=leaf2)
declare -g DTN_TREE_WORKERS=8

dtn_tree_topo() {
	local n=$1 g ns i
	dtn_on_exit dtn_topo_teardown
	dtn_on_exit dtn_gwn_stop_all
	dtn_topo_switch
	for g in "${DTN_TREE_GWS[@]}"; do
		ns="${DTN_P}g$g"
		dtn_ns_add "$ns"
		dtn_veth_to_bridge "$ns" "${DTN_P}g$g" "${DTN_P}g${g}b"
		ip -n "$ns" link set "${DTN_P}g$g" promisc on
	done
	for (( i = 1; i <= n; i++ )); do
		dtn_topo_worker "$i"
	done
}

dtn_tree_configs() {
	local huge=1
	[[ -n "${DTN_TMP:-}" ]] || dtn_tmp_create
	mkdir -p "$DTN_TMP/tree"
	# Three gateways of 256 MiB each.
	[[ $(dtn_hugepages_free) -ge 400 ]] || huge=0
	"$DTN_PY" - "$DTN_ROOT/configs/tree" "$DTN_TMP/tree" "$DTN_P" "$huge" "${1:-}" <<'EOF' ||
import json, sys
src, out, p, huge, edit = sys.argv[1:6]
gws = {"r": "root", "a": "leaf1", "b": "leaf2"}
pols = {}
for g, name in gws.items():
    with open(f"{src}/policy-{name}.json") as f:
        pols[name] = json.load(f)
exec(edit)
for g, name in gws.items():
    with open(f"{out}/policy-{name}.json", "w") as f:
        json.dump(pols[name], f, indent=1)
    with open(f"{src}/gateway-{name}.json") as f:
        c = json.load(f)
    c["ports"][0]["vdev"] = f"net_af_packet0,iface={p}g{g}"
    c["policy"] = f"{out}/policy-{name}.json"
    if huge == "0":
        c["hugepages"] = False
    with open(f"{out}/gateway-{name}.json", "w") as f:
        json.dump(c, f, indent=1)
EOF
		dtn_die "cannot adapt configs/tree to this run"
	[[ $huge -eq 1 ]] || dtn_warn "fewer than 400 free hugepages: the gateways run with --no-huge (slower)"
}

dtn_tree_field() {
	dtn_gwn_tel "$1" "/daitn/job,$2" 2>/dev/null | "$DTN_PY" -c '
import json, sys
print(json.load(sys.stdin)["/daitn/job"].get("tree", {}).get(sys.argv[1], ""))' "$3"
}

dtn_tree_gw_up() {
	dtn_gwn_up "$1" "$DTN_TMP/tree/gateway-${DTN_TREE_NAME[$1]}.json" "${DTN_TREE_IP[$1]}"
}

dtn_tree_worker_args() {
	local i=$1 j=$2 leaf first
	if (( i <= 4 )); then leaf=a first=0; else leaf=b first=4; fi
	echo "--gateway ${DTN_TREE_IP[$leaf]} --bind 10.77.0.$((10 + i)):$((47100 + j)) --job $j" \
	     "--rank $(( (i - 1) % 4 )) --tree $first:$DTN_TREE_WORKERS"
}
