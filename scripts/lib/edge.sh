# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# edge.sh: the emulated edge network for PyTorch runs and the allreduce
# benchmark (sourced, not run). Built on netns.sh and gateway.sh:
#
#     worker ns ${P}w1 --[tbf R, netem D]-- bridge ns ${P}s (br0) --- gateway ns ${P}g
#     worker ns ${P}w2 --[tbf R, netem D]--/    |                      daitn-gw on
#     ...                                       |                      net_af_packet
#     worker ns ${P}wN --[tbf R, netem D]------/                       (10.77.0.1)
#
# Each worker (rank r = i-1, 10.77.0.(10+i)) has one link into the bridge,
# limited in both directions (egress of the worker's veth and of its bridge
# port): daitn traffic (worker -> bridge -> gateway -> bridge -> worker) and
# gloo's ring (worker -> bridge -> worker) cross the same limited links, so the
# baseline has identical per-worker limits by construction. The gateway's own
# port is not limited: it stands for the switch.
#
#   edge_up N RATE DELAY     topology; RATE "" or "0" = unlimited, DELAY in ms
#                            ("" or 0 = none; needs sch_netem, else it fails)
#   edge_policy_write OUT JOB_IDS...
#                            a policy with one job per id; job j has the first j
#                            workers, rank r on port edge_port J R
#   edge_gw_config_write OUT POLICY
#   edge_gw_up POLICY        write the config, start daitn-gw, wait until it answers
#   edge_port JOB RANK       the UDP port of RANK in JOB (47100 + 16*JOB + RANK)
#   edge_rank_bg I LOG CMD.. run CMD in worker i's namespace in the background
#                            with RANK/MASTER_* and DAITN_* set for rank i-1
#   edge_link_check I J MIB  TCP transfer from worker i to worker j; prints Mbit/s
#
# Tunables (environment): EDGE_CHUNK (payload bytes per chunk; default: the
# largest multiple of 64 that fits the MTU), EDGE_SLOT_MEMORY (per job, default
# 4MiB), EDGE_LCORES ("main,data": default "0,1"), EDGE_IDLE_POLL (the
# gateway's "idle_poll": busy, the default, or adaptive), EDGE_WORKER_CPUS
# (taskset list for the ranks; default: unpinned), DTN_MTU (default 1500).

[[ -n "${DTN_EDGE_SOURCED:-}" ]] && return 0
DTN_EDGE_SOURCED=1
source "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

EDGE_N=${EDGE_N:-0}
EDGE_RATE=${EDGE_RATE:-}
EDGE_DELAY=${EDGE_DELAY:-}
EDGE_MASTER_PORT=29500
EDGE_JOB=${EDGE_JOB:-}

edge_port() { echo $((47100 + 16 * $1 + $2)); }

# Payload per chunk: IPv4 20 + UDP 8 + daitn 22 header bytes must fit the MTU.
edge_chunk() {
	local c=${EDGE_CHUNK:-}
	if [[ -z "$c" ]]; then
		c=$(( (DTN_MTU - 50) / 64 * 64 ))
		(( c > 8192 )) && c=8192
	fi
	echo "$c"
}

edge_up() {
	local n=$1 rate=${2:-} delay=${3:-} i args
	EDGE_N=$n EDGE_RATE=$rate EDGE_DELAY=$delay
	[[ "$rate" == 0 ]] && rate=""
	[[ "$delay" == 0 || "$delay" == 0ms ]] && delay=""
	delay=${delay%ms}
	dtn_topo_create "$n"
	dtn_on_exit edge_ns_reap
	for (( i = 1; i <= n; i++ )); do
		args=()
		[[ -n "$rate" ]] && args+=(--rate "$rate")
		[[ -n "$delay" ]] && args+=(--delay "$delay")
		[[ ${#args[@]} -eq 0 ]] && continue
		dtn_link_shape "$i" "${args[@]}" ||
			dtn_die "cannot shape worker $i's link (${args[*]}); see the warning above"
	done
	# gloo's TCP connections and the rendezvous store use these addresses.
	for (( i = 1; i <= n; i++ )); do
		ip netns exec "$(dtn_ns_worker "$i")" sysctl -qw net.core.rmem_max=8388608 \
			net.core.wmem_max=8388608 >/dev/null 2>&1 || true
	done
}

# Stop what still runs inside this run's namespaces (a COMMAND may have started
# processes from a child shell without a trap of its own; deleting a namespace
# does not stop them). Every such process was started by this run.
edge_ns_reap() {
	local ns pids t
	for ns in "${DTN_NETNS_CREATED[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null) || continue
		[[ -n "$pids" ]] || continue
		dtn_warn "namespace $ns: stopping leftover processes $(echo $pids)"
		kill -INT $pids 2>/dev/null || true
		for (( t = 0; t < 50; t++ )); do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[[ -n "$pids" ]] || break
			sleep 0.1
		done
		[[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
	done
	# What a gateway stopped this way may leave (its prefix is this run's).
	find /dev/hugepages -maxdepth 1 -name "${DTN_P}gwmap_*" -delete 2>/dev/null || true
	[[ -d "/var/run/dpdk/${DTN_P}gw" ]] && rm -rf "/var/run/dpdk/${DTN_P}gw"
	return 0
}

edge_policy_write() {
	local out=$1
	shift
	"$DTN_PY" - "$out" "$EDGE_N" "$(edge_chunk)" "${EDGE_SLOT_MEMORY:-4MiB}" "$DTN_SUBNET" "$@" <<'EOF' ||
import json, sys
out, n, chunk, slot_mem, subnet = sys.argv[1:6]
jobs = [int(j) for j in sys.argv[6:]]
n, chunk = int(n), int(chunk)
nodes = [{"id": "w%d" % i, "ip": "%s.%d" % (subnet, 10 + i), "roles": ["worker"]}
         for i in range(1, n + 1)]
pol = {"version": 1, "nodes": nodes, "jobs": []}
for j in jobs:
    if j > n:
        sys.exit("job %d needs %d workers, the topology has %d" % (j, j, n))
    pol["jobs"].append({"id": j, "dtype": "float32", "chunk_size": chunk,
                        "slot_memory": slot_mem,
                        "workers": [{"rank": r, "node": "w%d" % (r + 1),
                                     "port": 47100 + 16 * j + r} for r in range(j)]})
with open(out, "w") as f:
    json.dump(pol, f, indent=2)
EOF
		dtn_die "cannot write the policy $out"
}

edge_gw_config_write() {
	local out=$1 policy=$2 lc=${EDGE_LCORES:-0,1} huge=true vdev
	[[ $(dtn_hugepages_free) -ge 128 ]] || huge=false
	vdev="net_af_packet0,iface=$(dtn_gw_iface)"
	# af_packet's ring frames default to 2 KiB: a jumbo frame needs bigger
	# ones. A frame holds the tpacket header (64 bytes) and the packet; the
	# PMD wants framesz - 32 bytes of room in each RX mbuf (the gateway gives
	# round1KiB(mtu + 160)) and blocks that hold whole frames exactly (it
	# reads frame i at i * framesz): framesz = round1KiB(mtu + 120), and
	# blocksz the smallest multiple of it that is a multiple of the page.
	if (( DTN_MTU > 1500 )); then
		local fs=$(( (DTN_MTU + 120 + 1023) / 1024 * 1024 )) k=1
		while (( k * fs % 4096 != 0 )); do k=$(( k + 1 )); done
		vdev+=",framesz=$fs,blocksz=$(( k * fs )),framecnt=1024"
	fi
	cat >"$out" <<EOF
{
  "ports": [ { "name": "p0", "vdev": "$vdev", "ip": "$DTN_GW_IP",
               "mtu": $DTN_MTU } ],
  "main_lcore": ${lc%%,*},
  "data_lcores": [ ${lc#*,} ],
  "udp_port": 47000,
  "hugepages": $huge,
  "memory_mb": 256,
  "slot_memory": "64MiB",
  "idle_poll": "${EDGE_IDLE_POLL:-busy}",
  "policy": "$policy"
}
EOF
	[[ $huge == true ]] || dtn_warn "no free hugepages: the gateway runs with --no-huge"
}

edge_gw_up() {
	local policy=$1 cfg
	[[ -n "${DTN_TMP:-}" ]] || dtn_tmp_create
	cfg="$DTN_TMP/gw.json"
	edge_gw_config_write "$cfg" "$policy"
	dtn_gw_start "$cfg"
	dtn_gw_wait_ready 30 || dtn_die "the gateway did not come up (log: $DTN_GW_LOG)"
}

# edge_rank_bg I LOG CMD...: rank I-1 of a WORLD-rank job EDGE_JOB (default:
# the world size) in worker I's namespace. Sets the torchrun-style variables
# (rank 0's address is the rendezvous) and the daitn ones (docs/pytorch.md).
edge_rank_bg() {
	local i=$1 log=$2 world=${EDGE_WORLD:-$EDGE_N}
	shift 2
	local job=${EDGE_JOB:-$world} pin=()
	# EDGE_WORKER_CPUS: pin the rank (taskset list), e.g. away from the
	# gateway's data lcore on a machine with few cores.
	[[ -n "${EDGE_WORKER_CPUS:-}" ]] && pin=(taskset -c "$EDGE_WORKER_CPUS")
	dtn_bg "$(dtn_ns_worker "$i")" "$log" "${pin[@]}" env \
		RANK=$((i - 1)) WORLD_SIZE="$world" LOCAL_RANK=0 \
		MASTER_ADDR="$(dtn_worker_ip 1)" MASTER_PORT="$EDGE_MASTER_PORT" \
		GLOO_SOCKET_IFNAME="$(dtn_worker_iface "$i")" \
		DAITN_GATEWAY="$DTN_GW_IP" DAITN_JOB="$job" DAITN_BIND="$(dtn_worker_ip "$i")" \
		DAITN_PORT="$(edge_port "$job" $((i - 1)))" \
		PYTHONPATH="$DTN_ROOT/python${PYTHONPATH:+:$PYTHONPATH}" \
		"$@"
}

# edge_ranks_wait BOUND PREFIX WHAT PID...: wait for the ranks (logs
# PREFIX.rI.log, I from 1); if one fails or hangs, print every log's tail and
# die naming WHAT.
edge_ranks_wait() {
	local bound=$1 prefix=$2 what=$3 i
	shift 3
	dtn_wait_all "$bound" "$@" && return 0
	for (( i = 1; i <= $#; i++ )); do
		echo "---- rank $((i - 1))"; tail -n 12 "$prefix.r$i.log"
	done
	dtn_die "$what: ranks exited with ${DTN_WAIT_RC[*]}"
}

# edge_link_check I J MIB: send MIB MiB over TCP from worker i to worker j and
# print the goodput in Mbit/s (bounded: 60 s).
edge_link_check() {
	local i=$1 j=$2 mib=$3 port=29399 srv
	srv=$(ip netns exec "$(dtn_ns_worker "$j")" timeout 60 "$DTN_PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); n = 0; t0 = None
while True:
    b = c.recv(1 << 20)
    if not b: break
    if t0 is None: t0 = time.perf_counter()
    n += len(b)
print("%.1f" % (n * 8 / (time.perf_counter() - t0) / 1e6))
' "$(dtn_worker_ip "$j")" "$port" | {
		read -r _
		ip netns exec "$(dtn_ns_worker "$i")" timeout 60 "$DTN_PY" -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = b"\0" * (1 << 20)
for _ in range(int(sys.argv[3])): s.sendall(buf)
s.close()
' "$(dtn_worker_ip "$j")" "$port" "$mib" >/dev/null
		cat
	})
	echo "$srv"
}
