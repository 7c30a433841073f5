# SPDX-License-Identifier: BSD-3-Clause
# gateway.sh: run daitn-gw and daitn-worker inside a netns.sh topology (sourced).
#
#   dtn_tmp_create                      a private temp dir in DTN_TMP, removed on exit
#   dtn_gw_config_make SRC OUT          copy a gateway config for this topology: the
#                                       af_packet port's iface= becomes our veth, the
#                                       policy path is made absolute, and hugepages
#                                       are switched off if none are free
#   dtn_gw_start CONFIG [POLICY] [-- EAL args]
#                                       start daitn-gw in the gateway namespace, with
#                                       its own --file-prefix (DTN_GW_PREFIX)
#   dtn_gw_wait_ready [SECONDS]         until telemetry answers and the gateway
#                                       answers ARP (and ping) from worker 1
#   dtn_gw_stop [SECONDS]               SIGINT, then SIGKILL after the bound; checks
#                                       that no hugepage files were left behind
#   dtn_gw_stats [CMD]                  the reply to a telemetry command (JSON)
#   dtn_gw_counter NAME                 sum of the counters called NAME in /daitn/stats
#   dtn_worker_start I LOG ARGS...      daitn-worker in worker i's namespace
#   dtn_job_load POLICY [JOB]           read a job's id, dtype and workers (by rank)
#                                       into DTN_JOB_*; sets DTN_WORKER_IPS so that
#                                       worker namespace r+1 holds rank r's address
#   dtn_job_start LOGDIR ARGS...        one daitn-worker per rank, PIDs in
#                                       DTN_JOB_PIDS, logs LOGDIR/rankR.log
#   dtn_gw_config_capture CONFIG        set "capture": true in a gateway config
#   dtn_dumpcap_start CONFIG FRAMES PCAP LOG
#                                       dpdk-dumpcap on the config's first port,
#                                       in the gateway namespace, until FRAMES
#                                       frames (bounded: 120 s); returns once it
#                                       captures (PID in DTN_DUMPCAP_PID), 1 if
#                                       it did not start within 60 s
#
# Several gateways in one run (trees, racks), each keyed by a short KEY: its
# namespace is ${P}gKEY, its --file-prefix ${P}gwKEY:
#   dtn_gwn_up KEY CONFIG IP            start daitn-gw with CONFIG and wait until
#                                       its telemetry answers and IP answers a
#                                       ping from worker 1 (bounded: 60 s); PID
#                                       in DTN_GWN_PID[KEY], log DTN_GWN_LOG[KEY]
#   dtn_gwn_down KEY [SIGNAL]           stop it (default SIGINT, then SIGKILL
#                                       after 30 s); its exit status
#   dtn_gwn_tel KEY ARGS...             dtn_telemetry.py on it
#   dtn_gwn_stop_all                    SIGKILL every one still running (an
#                                       exit hook)
#
# The programs come from DTN_BUILD (default build/).

[[ -n "${DTN_GATEWAY_SOURCED:-}" ]] && return 0
DTN_GATEWAY_SOURCED=1
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

DTN_GW_BIN="${DTN_GW_BIN:-$DTN_BUILD/dataplane/gw/daitn-gw}"
DTN_WORKER_BIN="${DTN_WORKER_BIN:-$DTN_BUILD/client/daitn-worker}"
DTN_TELEMETRY="$DTN_ROOT/scripts/lib/dtn_telemetry.py"
DTN_GW_PREFIX="${DTN_P}gw"
DTN_GW_PID=""
DTN_GW_LOG=""

dtn_tmp_create() {
	DTN_TMP=$(mktemp -d "/tmp/daitn-${DTN_P}.XXXXXX")
	if [[ "${DTN_KEEP_TMP:-0}" == 1 ]]; then
		dtn_on_exit "dtn_log 'kept $DTN_TMP'"
	else
		dtn_on_exit "rm -rf '$DTN_TMP'"
	fi
}

# Check that the programs a script needs were built; exit 77 (skip) naming what
# is missing if not, so that a test run on a partial tree says why.
dtn_require_bins() {
	local b missing=()
	for b in "$@"; do
		[[ -x "$b" ]] || missing+=("$b")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	echo "SKIP: not built: ${missing[*]} (run scripts/setup.sh)"
	exit 77
}

dtn_gw_config_make() {
	local src=$1 out=$2 huge=1
	[[ $(dtn_hugepages_free) -ge 128 ]] || huge=0
	"$DTN_PY" - "$src" "$out" "$(dtn_gw_iface)" "$huge" <<'EOF' || dtn_die "cannot adapt gateway config $1"
import json, os, re, sys
src, out, iface, huge = sys.argv[1:5]
with open(src) as f:
    c = json.load(f)
ports = [p for p in c.get("ports", []) if "af_packet" in p.get("vdev", "")]
if len(ports) != 1:
    sys.exit(f"{src}: /ports: expected exactly one net_af_packet port, found {len(ports)}")
vdev = ports[0]["vdev"]
if "iface=" not in vdev:
    sys.exit(f"{src}: /ports: af_packet vdev has no iface= ({vdev})")
ports[0]["vdev"] = re.sub(r"iface=[^,]*", "iface=" + iface, vdev)
pol = c.get("policy")
if pol and not os.path.isabs(pol):
    c["policy"] = os.path.join(os.path.dirname(os.path.abspath(src)), pol)
if huge == "0":
    c["hugepages"] = False
with open(out, "w") as f:
    json.dump(c, f, indent=2)
EOF
	[[ $huge -eq 1 ]] || dtn_warn "no free hugepages: the gateway runs with --no-huge (slower)"
}

dtn_gw_start() {
	# The prefix follows DTN_P as it is now: a script may set DTN_P after
	# sourcing this file.
	DTN_GW_PREFIX="${DTN_P}gw"
	local cfg=$1 pol_args=() eal=()
	shift
	if [[ $# -gt 0 && "$1" != "--" ]]; then
		pol_args=(--policy "$1")
		shift
	fi
	if [[ $# -gt 0 && "$1" == "--" ]]; then
		shift
		eal+=("$@")
	fi
	[[ -n "${DTN_TMP:-}" ]] || dtn_tmp_create
	DTN_GW_LOG="$DTN_TMP/gw.log"
	dtn_bg "$(dtn_ns_gw)" "$DTN_GW_LOG" "$DTN_GW_BIN" -c "$cfg" --file-prefix "$DTN_GW_PREFIX" "${pol_args[@]}" -- "${eal[@]}"
	DTN_GW_PID=$DTN_LAST_PID
	DTN_GW_STARTED=1
	dtn_on_exit dtn_gw_stop 5
}

declare -gA DTN_GWN_PID=() DTN_GWN_LOG=()

dtn_gwn_tel() { "$DTN_PY" "$DTN_TELEMETRY" --prefix "${DTN_P}gw$1" "${@:2}"; }

dtn_gwn_up() {
	local k=$1 cfg=$2 ip=$3 deadline
	[[ -n "${DTN_TMP:-}" ]] || dtn_tmp_create
	DTN_GWN_LOG[$k]="$DTN_TMP/gw-$k.$(date +%s%N).log"
	dtn_bg "${DTN_P}g$k" "${DTN_GWN_LOG[$k]}" "$DTN_GW_BIN" -c "$cfg" --file-prefix "${DTN_P}gw$k" --
	DTN_GWN_PID[$k]=$DTN_LAST_PID
	deadline=$(( $(date +%s) + 60 ))
	until dtn_gwn_tel "$k" /daitn/stats >/dev/null 2>&1 &&
	      ip netns exec "$(dtn_ns_worker 1)" ping -c1 -W1 -q "$ip" >/dev/null 2>&1; do
		if ! kill -0 "${DTN_GWN_PID[$k]}" 2>/dev/null || (( $(date +%s) >= deadline )); then
			dtn_warn "gateway $k ($cfg) did not come up; its log ends:"
			tail -n 20 "${DTN_GWN_LOG[$k]}" | sed 's/^/    /' >&2
			return 1
		fi
		sleep 0.3
	done
}

dtn_gwn_down() {
	local k=$1 rc=0
	[[ -n "${DTN_GWN_PID[$k]:-}" ]] || return 0
	dtn_pid_stop "${DTN_GWN_PID[$k]}" "${2:-INT}" 30 2>/dev/null || rc=$?
	DTN_GWN_PID[$k]=""
	find /dev/hugepages -maxdepth 1 -name "${DTN_P}gw${k}map_*" -delete 2>/dev/null || true
	rm -rf "/var/run/dpdk/${DTN_P}gw$k"
	return $rc
}

dtn_gwn_stop_all() {
	local k
	for k in "${!DTN_GWN_PID[@]}"; do
		dtn_gwn_down "$k" KILL || true
	done
	return 0
}

dtn_gw_log_tail() {
	[[ -n "$DTN_GW_LOG" && -f "$DTN_GW_LOG" ]] || return 0
	echo "---- last lines of the gateway log ($DTN_GW_LOG) ----" >&2
	tail -n "${1:-20}" "$DTN_GW_LOG" >&2
	echo "----" >&2
}

dtn_gw_wait_ready() {
	local bound=${1:-30} deadline tel=0 w1 rc
	deadline=$(( $(date +%s) + bound ))
	w1=$(dtn_ns_worker 1)
	while (( $(date +%s) < deadline )); do
		if ! kill -0 "$DTN_GW_PID" 2>/dev/null; then
			rc=0; wait "$DTN_GW_PID" 2>/dev/null || rc=$?
			dtn_warn "the gateway exited during start-up (status $rc)"
			dtn_gw_log_tail 30
			DTN_GW_PID=""
			return 1
		fi
		if [[ $tel -eq 0 ]]; then
			"$DTN_PY" "$DTN_TELEMETRY" --prefix "$DTN_GW_PREFIX" /daitn/stats >/dev/null 2>&1 && tel=1
		fi
		if [[ $tel -eq 1 ]]; then
			# ARP resolved (the gateway's MAC is in worker 1's neighbour table)
			# is enough; ping also checks its ICMP echo path.
			ip netns exec "$w1" ping -c1 -W1 -q "$DTN_GW_IP" >/dev/null 2>&1 && return 0
			ip -n "$w1" neigh show "$DTN_GW_IP" | grep -q lladdr && return 0
		fi
		sleep 0.3
	done
	if [[ $tel -eq 0 ]]; then
		dtn_warn "the gateway's telemetry (/daitn/stats, prefix $DTN_GW_PREFIX) did not answer within ${bound}s"
	else
		dtn_warn "the gateway did not answer ARP for $DTN_GW_IP from $w1 within ${bound}s"
	fi
	dtn_gw_log_tail 30
	return 1
}

# Stop the gateway; returns its exit status (0 = clean shutdown).
dtn_gw_stop() {
	local bound=${1:-10} rc=0 left
	[[ "${DTN_GW_STARTED:-0}" == 1 ]] || return 0
	DTN_GW_STARTED=0
	if [[ -n "$DTN_GW_PID" ]]; then
		dtn_pid_stop "$DTN_GW_PID" INT "$bound" || rc=$?
	fi
	DTN_GW_PID=""
	# A clean rte_eal_cleanup() leaves no hugepage files; a killed gateway does.
	left=$(find /dev/hugepages -maxdepth 1 -name "${DTN_GW_PREFIX}map_*" 2>/dev/null | wc -l)
	if (( left > 0 )); then
		dtn_warn "the gateway left $left hugepage files behind: removing them"
		find /dev/hugepages -maxdepth 1 -name "${DTN_GW_PREFIX}map_*" -delete 2>/dev/null || true
		(( rc != 0 )) || rc=99
	fi
	[[ -d "/var/run/dpdk/$DTN_GW_PREFIX" ]] && rm -rf "/var/run/dpdk/$DTN_GW_PREFIX"
	DTN_GW_STOP_RC=$rc
	return $rc
}

dtn_gw_stats() {
	"$DTN_PY" "$DTN_TELEMETRY" --prefix "$DTN_GW_PREFIX" "${1:-/daitn/stats}"
}

dtn_gw_counter() {
	"$DTN_PY" "$DTN_TELEMETRY" --prefix "$DTN_GW_PREFIX" --sum "$1" "${2:-/daitn/stats}"
}

# daitn-worker for worker i (rank is the caller's business: ranks come from the
# policy). Output to log; PID in DTN_LAST_PID.
dtn_worker_start() {
	local i=$1 log=$2
	shift 2
	dtn_bg "$(dtn_ns_worker "$i")" "$log" "$DTN_WORKER_BIN" "$@"
}

dtn_job_load() {
	local policy=$1 job=${2:-} out kind a b c d
	out=$("$DTN_PY" "$DTN_ROOT/scripts/lib/dtn_policy.py" "$policy" $job) ||
		dtn_die "cannot read the job from $policy"
	DTN_JOB_IPS=() DTN_JOB_PORTS=()
	while read -r kind a b c d; do
		case $kind in
		job) DTN_JOB_ID=$a DTN_JOB_DTYPE=$b DTN_JOB_N=$c DTN_JOB_CHUNK=$d ;;
		worker) DTN_JOB_IPS[$a]=$b DTN_JOB_PORTS[$a]=$c ;;
		esac
	done <<<"$out"
	[[ ${#DTN_JOB_IPS[@]} -eq $DTN_JOB_N ]] || dtn_die "$policy: job $DTN_JOB_ID: ranks are not 0..$((DTN_JOB_N - 1))"
	local ip
	for ip in "${DTN_JOB_IPS[@]}"; do
		[[ ${ip%.*} == "${DTN_GW_IP%.*}" ]] ||
			dtn_die "$policy: job $DTN_JOB_ID: worker address $ip is not in the gateway's /24 ($DTN_GW_IP)"
	done
	DTN_WORKER_IPS=("${DTN_JOB_IPS[@]}")
}

dtn_job_start() {
	local logdir=$1 r
	shift
	DTN_JOB_PIDS=()
	for (( r = 0; r < DTN_JOB_N; r++ )); do
		dtn_worker_start $((r + 1)) "$logdir/rank$r.log" --gateway "$DTN_GW_IP" \
			--bind "${DTN_JOB_IPS[$r]}:${DTN_JOB_PORTS[$r]}" --job "$DTN_JOB_ID" --rank "$r" "$@"
		DTN_JOB_PIDS+=("$DTN_LAST_PID")
	done
}

dtn_gw_config_capture() {
	"$DTN_PY" - "$1" <<'EOF_PY' || dtn_die "cannot set capture in $1"
import json, sys
with open(sys.argv[1]) as f:
    c = json.load(f)
c["capture"] = True
with open(sys.argv[1], "w") as f:
    json.dump(c, f, indent=2)
EOF_PY
}

dtn_dumpcap_start() {
	local cfg=$1 frames=$2 pcap=$3 log=$4 port deadline
	port=$("$DTN_PY" -c 'import json, re, sys
print(re.match(r"[^,]*", json.load(open(sys.argv[1]))["ports"][0]["vdev"]).group(0))' "$cfg")
	# In the gateway's namespace: the pcapng interface name is looked up by
	# the port's kernel interface index there. Without address-space
	# randomisation: a secondary process maps the gateway's memory at the
	# same addresses, which a randomised layout may already hold. -p:
	# promiscuous mode cannot change from a secondary process (af_packet).
	timeout -k 5 120 ip netns exec "$(dtn_ns_gw)" setarch "$(uname -m)" -R \
		dpdk-dumpcap --file-prefix="$DTN_GW_PREFIX" -i "$port" -p -c "$frames" -w "$pcap" \
		>"$log" 2>&1 &
	DTN_DUMPCAP_PID=$!
	DTN_PIDS+=("$DTN_DUMPCAP_PID")
	deadline=$(( $(date +%s) + 60 ))
	until grep -q "^Packets captured:" "$log"; do
		if ! kill -0 "$DTN_DUMPCAP_PID" 2>/dev/null || (( $(date +%s) >= deadline )); then
			dtn_pid_stop "$DTN_DUMPCAP_PID" INT 5 || true
			return 1
		fi
		sleep 0.1
	done
}
