#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_reload: the policy is reloaded again and again, by every trigger, with
# valid and invalid versions, while real workers run allreduce rounds.
#
# Topology: the 4 workers of configs/policy-demo.json, plus a fifth namespace
# (10.77.0.15) that is the only worker of job 9, whose tenant "flood" may send
# 200 packets/s (burst 20). Jobs 1 (float32) and 2 (int32) stay the same in
# every version: their 4 workers run allreduce rounds (exact patterns, checked
# element by element by daitn-worker) until the test, done, creates a stop
# file (daitn-worker --until-file: the ranks vote, so all stop after the same
# round), while the test
#   - changes the file (written to a temporary name and renamed over, as
#     editors and deployment tools do): version 2, then a syntax error;
#   - sends SIGHUP and runs `daitnctl reload` on the invalid file (refused with
#     FILE:LINE:COL diagnostics, the running version stays), then on a
#     semantic error (an unknown node) and on a policy over the gateway's slot
#     memory;
#   - reloads valid versions that drop job 4, add job 5 and restart job 3,
#     by each trigger in turn;
#   - floods job 9 from its own worker's address, joined (over the tenant's
#     rate: a tenant pays only for GRADs that passed every other check), and
#     sends GRADs for job 1 from an address job 1 does not admit.
# Then: every round of jobs 1 and 2 is right and none is lost (exactly one
# completion per chunk and round, N contributions each); each refused reload
# left the running version and every lcore on it; the admission and rate
# drops are counted exactly; and what the stock dpdk-telemetry.py and
# `daitnctl --json` read (jobs, reload counts by trigger and result, the
# version of every lcore, nodes) agrees with what the workers and the test did.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
DAITNCTL="$DTN_BUILD/control/ctl/daitnctl"
STOCK_TEL=$(command -v dpdk-telemetry.py || true)
[[ -x "$DAITNCTL" ]] || it_skip "daitnctl is not built ($DAITNCTL)"
[[ -n "$STOCK_TEL" ]] || it_skip "dpdk-telemetry.py is not installed (dpdk package)"

LONG=1000000       # rounds at most: the workers run until $STOP exists
COUNT=20000
IT_WORKERS=5
dtn_trap_install
dtn_tmp_create
VAR="$DTN_TMP/variants"
POLICY="$DTN_TMP/policy.json"
STOP="$DTN_TMP/stop"
mkdir -p "$VAR"

# Policy variants from configs/policy-demo.json.
"$DTN_PY" - "$DTN_ROOT/configs/policy-demo.json" "$VAR" <<'EOF'
import copy, json, sys
src, out = sys.argv[1:3]
base = json.load(open(src))
base["tenants"] = [{"id": "default"}, {"id": "flood", "rate_pps": 200, "burst": 20}]
base["nodes"].append({"id": "w4", "ip": "10.77.0.15", "roles": ["worker"]})
base["jobs"].append({"id": 9, "tenant": "flood", "dtype": "float32", "chunk_size": 1024,
                     "slot_memory": "256KiB", "workers": [{"node": "w4", "port": 47109}]})

def write(name, p, text=None):
    with open(f"{out}/{name}.json", "w") as f:
        f.write(text if text is not None else json.dumps(p, indent=2) + "\n")

def version(v, **kw):
    p = copy.deepcopy(base)
    p["version"] = v
    return p

write("v1", version(1))
write("v2", version(2))
# A syntax error on line 3.
write("bad-syntax", None, '{\n  "version": 3,\n  "nodes": [ oops ]\n}\n')
# Unknown node (semantic), with a typo in a key too: two errors.
p = version(4)
p["jobs"][0]["workers"][0]["node"] = "w9"
p["jobs"][1]["chunk_sise"] = 1024
write("bad-refs", p)
# Over the gateway's slot memory (64 MiB per data lcore, 1 data lcore).
p = version(5)
p["jobs"].append({"id": 7, "slot_memory": "60MiB", "workers": [{"node": "w0", "port": 47107}]})
write("bad-quota", p)
# Job 4 gone, job 5 added (jobs 1, 2, 3, 9 kept).
p = version(6)
p["jobs"] = [j for j in p["jobs"] if j["id"] != 4]
p["jobs"].append({"id": 5, "dtype": "float32", "chunk_size": 512, "slot_memory": "1MiB",
                  "workers": [{"node": f"w{r}", "port": 47105} for r in range(4)]})
write("v6", p)
# Job 3 restarted (its slot memory changes).
p6 = json.load(open(f"{out}/v6.json"))
p6["version"] = 7
p6["jobs"] = [dict(j, slot_memory="2MiB") if j["id"] == 3 else j for j in p6["jobs"]]
write("v7", p6)
EOF
cp "$VAR/v1.json" "$POLICY"
"$DAITNCTL" validate -q "$POLICY" || { it_log "FAIL: the test's own policy is invalid"; exit 1; }

it_gateway_up "$POLICY"
T() { "$DTN_PY" "$DTN_TELEMETRY" --prefix "$DTN_GW_PREFIX" "$@"; }
J() { "$DTN_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ctl() { "$DAITNCTL" "$1" -f "$DTN_GW_PREFIX" "${@:2}"; }

declare -A WANT=([ok]=1 [invalid]=0 [refused]=0 [sighup]=0 [file_change]=0 [daitnctl]=0)
seq_now() { T /daitn/last_reload | J 'd["/daitn/last_reload"]["seq"]'; }
LAST_SEQ=$(seq_now)

# Wait (bounded) for the reload after LAST_SEQ; leaves its JSON in LAST.
reload_wait() {
	local s deadline=$(( $(date +%s) + 30 ))
	while (( $(date +%s) < deadline )); do
		LAST=$(T /daitn/last_reload)
		s=$(J 'd["/daitn/last_reload"]["seq"]' <<<"$LAST")
		if (( s > LAST_SEQ )); then
			(( s == LAST_SEQ + 1 )) || it_log "note: $(( s - LAST_SEQ )) reloads since the last check"
			LAST_SEQ=$s
			return 0
		fi
		sleep 0.1
	done
	it_log "no reload observed within 30 s"
	return 1
}

lr() { J "d['/daitn/last_reload']$1" <<<"$LAST"; }

# Apply one step: HOW is file, sighup or daitnctl; FILE (variant) is put in
# place first when HOW is file. EXPECT: ok, invalid or refused.
step() {
	local how=$1 file=$2 expect=$3 what=$4 res ver before out rc=0
	before=$(T /daitn/status | J 'd["/daitn/status"]["policy_version"]')
	case $how in
	file) cp "$VAR/$file.json" "$POLICY.tmp" && mv "$POLICY.tmp" "$POLICY" ;;
	sighup) kill -HUP "$DTN_GW_PID" ;;
	daitnctl) out=$(ctl reload 2>&1) || rc=$? ;;
	esac
	reload_wait || { it_check "false" "$what: a reload happened"; return; }
	res=$(lr '["result"]')
	ver=$(lr '["version"]')
	WANT[$how]=$(( ${WANT[$how]:-0} + 1 ))
	[[ $how == file ]] && WANT[file_change]=$(( WANT[file_change] + 1 ))
	case $expect in
	ok) WANT[ok]=$(( WANT[ok] + 1 )) ;;
	invalid) WANT[invalid]=$(( WANT[invalid] + 1 )) ;;
	esac
	it_check "[[ '$res' == '$expect' && '$(lr '["trigger"]')' == '${how/file/file_change}' ]]" \
		"$what: $(lr '["trigger"]') -> $res ($(lr '["message"]'))"
	if [[ $expect != ok ]]; then
		it_check "[[ $ver -eq $before && \"\$(lr '[\"errors\"][0]')\" == *policy.json:*:*:* ]]" \
			"$what: version $before stays; first error: $(lr '["errors"][0]')"
		if [[ $how == daitnctl ]]; then
			it_check "[[ $rc -eq 1 && \"$out\" == *policy.json:*:*:* ]]" \
				"$what: daitnctl reload exits 1 (got $rc) and prints the diagnostics"
		fi
	else
		it_check "[[ $(lr '["jobs_kept"]') -ge 2 && $(lr '["lcores_late"]') -eq 0 ]]" \
			"$what: jobs 1 and 2 kept ($(lr '["jobs_kept"]') kept, $(lr '["jobs_added"]') added, $(lr '["jobs_removed"]') removed); every lcore switched, $(lr '["total_us"]') us from the trigger"
		[[ $how == daitnctl ]] && it_check "[[ $rc -eq 0 ]]" "$what: daitnctl reload exits 0"
	fi
	return 0
}

# ---- the workload --------------------------------------------------------------
it_counters
# Job counters before the run (completed, aggregated, dropped, stale).
job_row() {
	"$DTN_PY" -c 'import json,sys
d=json.loads(sys.stdin.read().splitlines()[0])["/daitn/job_stats"]
i=d["id"].index(int(sys.argv[1])); print(d["completed"][i], d["aggregated"][i], d["dropped"][i], d["stale"][i])' "$1"
}
declare -A J0=()
for j in 1 2; do
	J0[$j]=$(T /daitn/job_stats | job_row $j)
done
mkdir -p "$DTN_TMP/job1" "$DTN_TMP/job2"
dtn_job_load "$POLICY" 1
dtn_job_start "$DTN_TMP/job1" --workers 4 --count $COUNT --dtype float32 --rounds "$LONG" \
	--pattern exact --seed 11 --until-file "$STOP"
pids1=("${DTN_JOB_PIDS[@]}")
dtn_job_load "$POLICY" 2
dtn_job_start "$DTN_TMP/job2" --workers 4 --count $COUNT --dtype int32 --rounds "$LONG" \
	--pattern random --seed 12 --until-file "$STOP"
pids2=("${DTN_JOB_PIDS[@]}")
CRAFT=("$DTN_PY" "$(dirname "${BASH_SOURCE[0]}")/dtn_craft.py")
GW="$DTN_GW_IP:47000"
dtn_bg "$(dtn_ns_worker 5)" "$DTN_TMP/flood.log" "${CRAFT[@]}" --src 10.77.0.15:47109 \
	--dst "$GW" --job 9 --ranks 0 --n 3000 --slots 64 --rounds 1 --pps 1000 --max-seconds 10 --join
flood=$DTN_LAST_PID

# ---- the reloads, while it runs --------------------------------------------------
t0=$(dtn_now)
step file v2 ok "file change to version 2"
step sighup - ok "SIGHUP, same file"
step daitnctl - ok "daitnctl reload, same file"
step file bad-syntax invalid "file change to a syntax error"
step sighup - invalid "SIGHUP on the syntax error"
step daitnctl - invalid "daitnctl reload on the syntax error"
# The outsider after the flood (one namespace's burst of 1000 pps may lose a
# packet or two in the kernel; these are counted exactly).
dtn_wait_all 15 "$flood" || true
dtn_bg "$(dtn_ns_worker 5)" "$DTN_TMP/outsider.log" "${CRAFT[@]}" --src 10.77.0.15:47999 \
	--dst "$GW" --job 1 --ranks 0,1,2,3 --n 50 --slots 16 --pps 25 --max-seconds 10
outsider=$DTN_LAST_PID
step file bad-refs invalid "file change to an unknown node and a typo"
it_check "[[ $(lr '["n_errors"]') -eq 2 ]]" "both errors of the file reported ($(lr '["n_errors"]'): $(lr '["errors"]'))"
step file bad-quota invalid "file change to a policy over the gateway's slot memory"
step file v6 ok "file change: job 4 removed, job 5 added"
step sighup - ok "SIGHUP on that"
step file v7 ok "file change: job 3 restarted"
step daitnctl - ok "daitnctl reload on that"
running=0
for p in "${pids1[@]}" "${pids2[@]}"; do kill -0 "$p" 2>/dev/null && running=$(( running + 1 )); done
it_check "[[ $running -eq 8 ]]" "all 13 reloads happened while the 8 workers were running ($running still running after $(dtn_elapsed "$t0") s)"
# Liveness while they run: the four workers' nodes and the flooder are up.
nodes=$(ctl nodes --json | head -n1 || true)
it_check "[[ \"$(J 'sorted(set(s for i, s in zip(d["/daitn/nodes"]["id"], d["/daitn/nodes"]["state"]) if i != "w4"))' <<<"$nodes")\" == \"['up']\" ]]" \
	"nodes while the workers run: $(J 'list(zip(d["/daitn/nodes"]["id"], d["/daitn/nodes"]["state"]))' <<<"$nodes")"
st=$(T /daitn/status)
it_check "[[ $(J 'd["/daitn/status"]["policy_version"]' <<<"$st") -eq 7 && \"$(J 'set(d["/daitn/status"]["lcore_versions"])' <<<"$st")\" == '{7}' ]]" \
	"the gateway and every lcore run version 7 ($(J 'd["/daitn/status"]["lcore_versions"]' <<<"$st"))"

# ---- the workers' verdict --------------------------------------------------------
touch "$STOP"
ok=1
dtn_wait_all 300 "${pids1[@]}" "${pids2[@]}" || ok=0
declare -A ROUNDS=() VOTES=()
for j in 1 2; do
	for (( r = 0; r < 4; r++ )); do
		line=$(grep -h "rank $r: [0-9]* rounds OK (stopped by" "$DTN_TMP/job$j/rank$r.log" 2>/dev/null || true)
		k=$(sed -n 's/.*rank [0-9]*: \([0-9]*\) rounds OK.*/\1/p' <<<"$line")
		v=$(sed -n 's/.*; \([0-9]*\) stop votes.*/\1/p' <<<"$line")
		if [[ -z "$k" || -z "$v" ]] || { [[ -n "${ROUNDS[$j]:-}" ]] && [[ $k -ne ${ROUNDS[$j]} || $v -ne ${VOTES[$j]} ]]; }; then
			ok=0
			it_log "job $j rank $r: $(tail -n2 "$DTN_TMP/job$j/rank$r.log" 2>/dev/null | tr '\n' ' ')"
		fi
		ROUNDS[$j]=${k:-0} VOTES[$j]=${v:-0}
	done
done
it_check "[[ $ok -eq 1 ]]" "jobs 1 (float32, exact) and 2 (int32, random): 4 workers x ${ROUNDS[1]} and ${ROUNDS[2]} rounds x $COUNT elements, every element checked, through every reload; every rank stopped after the same round"
dtn_wait_all 15 "$outsider" || true
sent_flood=$(awk '/^sent/ { print $2 }' "$DTN_TMP/flood.log"); sent_flood=${sent_flood:-0}
# Its join's HELLOs are charged to the tenant as well.
hellos=$(awk '/^hellos/ { print $2 }' "$DTN_TMP/flood.log"); hellos=${hellos:-0}
sent_flood=$(( sent_flood + hellos ))
sent_out=$(awk '/^sent/ { print $2 }' "$DTN_TMP/outsider.log"); sent_out=${sent_out:-0}
# Until the outsider's GRADs are all counted (the bound only catches a hang).
deadline=$(( $(date +%s) + 30 ))
while (( $(it_delta source_not_admitted) < sent_out && $(date +%s) < deadline )); do
	sleep 0.05
done

# ---- what telemetry says, read three ways ------------------------------------------
# The stock client (interactive tool fed on stdin), daitnctl --json, our script.
stock() { printf '%s\n' "$@" | timeout 10 "$STOCK_TEL" -f "$DTN_GW_PREFIX" 2>/dev/null | grep '^{'; }
jobs_stock=$(stock /daitn/job_stats)
jobs_ctl=$(ctl jobs --json || true)
chunks=$(( (COUNT * 4 + 1023) / 1024 ))
declare -A COMPLETED=()
for j in 1 2; do
	c_stock=$(job_row $j <<<"$jobs_stock")
	c_ctl=$(job_row $j <<<"$jobs_ctl")
	read -r comp agg drop stale <<<"$c_stock"
	read -r comp0 agg0 drop0 stale0 <<<"${J0[$j]}"
	want_drop=0
	[[ $j -eq 1 ]] && want_drop=$sent_out
	# Each stop vote is a one-element allreduce: one chunk.
	it_check "[[ $(( comp - comp0 )) -eq $(( ROUNDS[$j] * chunks + VOTES[$j] )) ]]" \
		"job $j: completed +$(( comp - comp0 )) (dpdk-telemetry.py), want ${ROUNDS[$j]} rounds x $chunks chunks + ${VOTES[$j]} stop votes: no round lost, none completed twice"
	it_check "[[ $(( agg - agg0 + comp - comp0 )) -eq $(( 4 * (comp - comp0) )) ]]" \
		"job $j: each completion from exactly 4 contributions (+$(( agg - agg0 )) aggregated + completed)"
	it_check "[[ $(( drop - drop0 - (stale - stale0) )) -eq $want_drop ]]" \
		"job $j: dropped +$(( drop - drop0 )) (of which stale retransmissions +$(( stale - stale0 ))), want $want_drop (the outsider's, job 1 only)"
	it_check "[[ '$c_stock' == '$c_ctl' ]]" "job $j: daitnctl jobs --json agrees with dpdk-telemetry.py ($c_ctl)"
	COMPLETED[$j]=$comp
done

# Admission and rate limits, counted exactly.
d_out=$(it_delta source_not_admitted)
it_check "[[ $sent_out -eq 50 && $d_out -eq $sent_out ]]" \
	"GRADs for job 1 from 10.77.0.15:47999: $sent_out sent, source_not_admitted +$d_out"
tn=$(ctl stats --json | "$DTN_PY" -c 'import json,sys
for l in sys.stdin:
    d = json.loads(l)
    if "/daitn/tenants" in d:
        t = d["/daitn/tenants"]; i = t["id"].index("flood")
        print(t["packets"][i], t["rate_limited"][i])')
read -r t_pkts t_lim <<<"$tn"
job9=$(T /daitn/job_stats | "$DTN_PY" -c 'import json,sys
d=json.load(sys.stdin)["/daitn/job_stats"]; i=d["id"].index(9)
f=lambda k: d[k][i]
print(f("rate_limited"), f("aggregated") + f("completed") + f("result_resent") + f("duplicate") + f("dropped") - f("rate_limited"))')
read -r j9_lim j9_passed <<<"$job9"
# The kernel's af_packet ring may lose a few of a 1000 pps burst before the
# gateway sees them; everything the gateway saw is accounted for exactly.
it_check "[[ $sent_flood -gt 0 && $t_lim -gt 0 && $(( t_pkts + t_lim )) -le $sent_flood && $(( (t_pkts + t_lim) * 100 )) -ge $(( sent_flood * 98 )) ]]" \
	"job 9 flood at 1000 pps over its tenant's 200/s: $sent_flood sent, $t_pkts admitted + $t_lim rate_limited (tenant counters)"
it_check "[[ $j9_lim -eq $t_lim && $(( j9_passed + hellos )) -eq $t_pkts ]]" \
	"job 9's own fates agree: $j9_lim rate_limited, $j9_passed past the bucket (aggregated, completed, resent, duplicate, stale) and $hellos HELLO(s)"
lim_max=$(awk -v s="$(dtn_elapsed "$t0")" 'BEGIN { printf "%d", 20 + 200 * s + 50 }')
it_check "[[ $t_pkts -le $lim_max ]]" "the tenant got at most its burst plus 200/s ($t_pkts admitted)"
it_check "[[ $(it_delta rate_limited) -eq $t_lim ]]" "the lcores count the same rate_limited drops (+$(it_delta rate_limited))"

# Reload accounting: what the test did, as the gateway counted it.
st=$(stock /daitn/status)
st_ctl=$(ctl status --json || true)
for k in ok invalid sighup file_change daitnctl; do
	got=$(J "d['/daitn/status']['reloads_$k']" <<<"$st")
	got_ctl=$(J "d['/daitn/status']['reloads_$k']" <<<"$st_ctl")
	it_check "[[ $got -eq ${WANT[$k]} && $got_ctl -eq $got ]]" \
		"reloads_$k: ${WANT[$k]} done, dpdk-telemetry.py reads $got, daitnctl $got_ctl"
done
ctl status >/dev/null && rc=0 || rc=$?
it_check "[[ $rc -eq 0 ]]" "daitnctl status: every lcore on the current tables (exit $rc)"
ctl status | sed 's/^/    /' || true
# The Prometheus exporter serves the same figures.
prom=$("$DTN_PY" "$DTN_ROOT/control/exporter/daitn-exporter.py" -f "$DTN_GW_PREFIX" --once) || true
# The value of the sample whose name and labels start with $1 and carry $2.
pv() { awk -v m="$1" -v l="${2:-}" 'index($0, m) == 1 && index($0, l) { printf "%d", $NF; exit }' <<<"$prom"; }
it_check "[[ '$(pv 'daitn_up{')' == 1 && '$(pv 'daitn_policy_version ')' == 7 && '$(pv 'daitn_reloads_total{result="invalid"}')' == ${WANT[invalid]} && '$(pv 'daitn_job_completed_total{' 'job="1"')' == ${COMPLETED[1]} && '$(pv 'daitn_tenant_rate_limited_total{tenant="flood"}')' == $t_lim ]]" \
	"daitn-exporter.py --once: up $(pv 'daitn_up{'), policy version $(pv 'daitn_policy_version '), invalid reloads $(pv 'daitn_reloads_total{result="invalid"}'), job 1 completed $(pv 'daitn_job_completed_total{' 'job="1"'), tenant flood rate_limited $(pv 'daitn_tenant_rate_limited_total{tenant="flood"}')"

# Silent beyond node_timeout_ms (3 s): the workers' nodes go down (the
# bound, 30 s, only catches a gateway that never notices).
deadline=$(( $(date +%s) + 30 ))
while (( $(date +%s) < deadline )); do
	nodes=$(ctl nodes --json | head -n1 || true)
	[[ "$(J 'sorted(set(d["/daitn/nodes"]["state"][:4]))' <<<"$nodes")" == "['down']" ]] && break
	sleep 0.3
done
rc=0
ctl nodes >/dev/null || rc=$?
it_check "[[ \"$(J 'sorted(set(d["/daitn/nodes"]["state"][:4]))' <<<"$nodes")\" == \"['down']\" && $rc -eq 1 ]]" \
	"after the run, w0..w3 silent past the timeout are down (daitnctl nodes exits $rc): $(J 'list(zip(d["/daitn/nodes"]["id"], d["/daitn/nodes"]["state"]))' <<<"$nodes")"
it_finish
