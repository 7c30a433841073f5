# SPDX-License-Identifier: BSD-3-Clause
# lib.sh: what the integration tests share (sourced by tests/integration/test_*.sh).
#
#   it_prereqs                  exit 77 unless root, namespaces and the programs exist
#   it_gateway_up [POLICY]      4-worker topology + daitn-gw with configs/gateway-demo.json
#                               (adapted to this run) and POLICY (default policy-demo.json)
#   it_counters                 snapshot /daitn/stats into IT_C (associative array)
#   it_delta NAME               counter NAME now minus in the last snapshot
#   it_policy_with OUT JOBS_JSON  the demo policy plus jobs copied from its job 1
#                               (same nodes): JOBS_JSON is a list of objects, each
#                               the new job's keys over job 1's and "port" (every
#                               rank's UDP port)
#   it_run_job JOB DTYPE PATTERN ROUNDS COUNT [worker args...]
#                               one daitn-worker per rank of JOB, bounded; checks exit
#                               status 0 and "ROUNDS rounds OK" from every rank
#   it_loss PCT                 every worker link loses PCT% both ways (0: none)
#   it_check COND MESSAGE       count a check; print PASS/FAIL with the message
#   it_finish                   print the tally; exit 0 if every check passed, else 1
#
# Tests run under set -u; a failing check does not stop the test, so one run
# reports every problem it finds.

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib/gateway.sh"

IT_NAME=$(basename "$0" .sh)
IT_PASS=0
IT_FAIL=0
IT_POLICY="$DTN_ROOT/configs/policy-demo.json"
IT_GW_CONFIG="$DTN_ROOT/configs/gateway-demo.json"
declare -A IT_C=()

it_log() { printf '%s: %s\n' "$IT_NAME" "$*"; }

it_skip() { echo "SKIP: $IT_NAME: $*"; exit 77; }

it_prereqs() {
	dtn_is_root || it_skip "needs root (network namespaces)"
	local probe="dtprobe$$"
	ip netns add "$probe" 2>/dev/null || it_skip "cannot create network namespaces here (ip netns add failed)"
	ip netns del "$probe"
	command -v ethtool >/dev/null || it_skip "ethtool is missing (run scripts/setup.sh)"
	[[ -x "$DTN_GW_BIN" ]] || it_skip "daitn-gw is not built ($DTN_GW_BIN)"
	[[ -x "$DTN_WORKER_BIN" ]] || it_skip "daitn-worker is not built ($DTN_WORKER_BIN)"
	return 0
}

it_check() {
	local cond=$1
	shift
	if eval "$cond"; then
		IT_PASS=$((IT_PASS + 1))
		it_log "ok: $*"
	else
		IT_FAIL=$((IT_FAIL + 1))
		it_log "FAIL: $* [$cond]"
	fi
}

it_finish() {
	if ! dtn_gw_stop "${IT_STOP_BOUND:-10}"; then
		IT_FAIL=$((IT_FAIL + 1))
		it_log "FAIL: the gateway did not shut down cleanly (status ${DTN_GW_STOP_RC:-?})"
		dtn_gw_log_tail 20
	else
		IT_PASS=$((IT_PASS + 1))
		it_log "ok: the gateway shut down cleanly on SIGINT, no hugepage files left"
	fi
	it_log "$IT_PASS checks passed, $IT_FAIL failed"
	[[ $IT_FAIL -eq 0 ]] || { dtn_gw_log_tail 15; exit 1; }
	exit 0
}

it_gateway_up() {
	local policy=${1:-$IT_POLICY}
	dtn_trap_install
	dtn_job_load "$policy"
	dtn_topo_create "${IT_WORKERS:-$DTN_JOB_N}"
	[[ -n "${DTN_TMP:-}" ]] || dtn_tmp_create
	dtn_gw_config_make "$IT_GW_CONFIG" "$DTN_TMP/gateway.json"
	dtn_gw_start "$DTN_TMP/gateway.json" "$policy"
	dtn_gw_wait_ready 30 || { it_log "FAIL: the gateway did not come up"; exit 1; }
	IT_POLICY=$policy
}

it_counters() {
	local json
	IT_C=()
	json=$(dtn_gw_stats /daitn/stats) || { it_log "cannot read /daitn/stats"; return 1; }
	while read -r k v; do
		IT_C[$k]=$v
	done < <("$DTN_PY" -c '
import json, sys
for k, v in json.loads(sys.argv[1])["/daitn/stats"].items():
    if isinstance(v, int):
        print(k, v)
' "$json")
}

it_delta() {
	local now
	now=$(dtn_gw_counter "$1") || { echo -1; return; }
	echo $(( now - ${IT_C[$1]:-0} ))
}

# Elements per chunk of the loaded job for a worker dtype, and chunks for count.
it_chunks() {
	local dtype=$1 count=$2 esize
	case $dtype in
	bfloat16|float16) esize=2 ;;
	*) esize=4 ;;
	esac
	echo $(( (count * esize + DTN_JOB_CHUNK - 1) / DTN_JOB_CHUNK ))
}

it_loss() {
	dtn_link_reset_all
	local i
	[[ $1 -eq 0 ]] && return 0
	for (( i = 1; i <= 4; i++ )); do
		dtn_link_shape "$i" --loss "$1"
	done
}

it_policy_with() {
	"$DTN_PY" - "$IT_POLICY" "$1" "$2" <<'EOF' || { it_log "cannot write the policy $1"; exit 1; }
import copy, json, sys
src, out, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(src) as f:
    p = json.load(f)
base = next(j for j in p["jobs"] if j["id"] == 1)
for extra in spec:
    j = copy.deepcopy(base)
    port = extra.pop("port")
    j.update(extra)
    for w in j["workers"]:
        w["port"] = port
    p["jobs"].append(j)
with open(out, "w") as f:
    json.dump(p, f, indent=2)
EOF
}

it_run_job() {
	local job=$1 dtype=$2 pattern=$3 rounds=$4 count=$5 r ok=1
	shift 5
	dtn_job_load "$IT_POLICY" "$job"
	IT_LOGDIR="$DTN_TMP/job$job-$dtype-$pattern"
	mkdir -p "$IT_LOGDIR"
	dtn_job_start "$IT_LOGDIR" --workers "$DTN_JOB_N" --count "$count" --dtype "$dtype" \
		--rounds "$rounds" --pattern "$pattern" --seed "$RANDOM" "$@"
	dtn_wait_all "${IT_RUN_BOUND:-90}" "${DTN_JOB_PIDS[@]}" || ok=0
	for (( r = 0; r < DTN_JOB_N; r++ )); do
		if [[ ${DTN_WAIT_RC[$r]} -ne 0 ]] || ! grep -q "rank $r: $rounds rounds OK" "$IT_LOGDIR/rank$r.log"; then
			ok=0
			it_log "rank $r exited ${DTN_WAIT_RC[$r]}; its log ends:"
			tail -n 5 "$IT_LOGDIR/rank$r.log" | sed 's/^/    /'
		fi
	done
	[[ $ok -eq 1 ]]
}
