#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_infer: a 3-stage model placed on stage nodes in namespaces, every
# request checked end to end (daitn-infer requester: bit-exact against the
# composed transforms), through the real gateway.
#
#   namespaces 1..5: stage nodes   stage 0: w1, w2 (weights 2:1)
#                                  stage 1: w3
#                                  stage 2: w4, w5
#   namespace 6: the requester; namespace 7: a host in no placement
#   node_timeout_ms 1500; stage nodes send BEATs every 100 ms
#
# Every wait is for an event the gateway reports (a node heard from, a node
# down, replies counted, a policy version running); the bounds only catch a
# hang. Requesters whose requests must all succeed wait 10 s for an answer.
#
# 1. 400 requests of 4 fragments over 16 sessions: all correct; the gateway's
#    fates agree (forwarded = 3 x fragments, replied = fragments), both stage-0
#    replicas served, affinity kept every session on one replica per stage.
# 2. A stage-2 replica is killed (SIGKILL) mid-run: requests fail over to the
#    other replica within the liveness timeout; the failures are counted and
#    must stay under what the liveness timeout + 1 s of traffic would be;
#    afterwards all succeed.
# 3. The only stage-1 node is stopped: requests get explicit no_replica errors
#    (not timeouts); it comes back: requests succeed again.
# 4. Placement change by reload (SIGHUP): stage 1 moves to w7:48011. The old
#    node is stopped, and every request still succeeds through the new one.
# 5. A request from a host that is not a requester is dropped and counted.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
INFER_BIN="$DTN_BUILD/client/infer/daitn-infer"
[[ -x "$INFER_BIN" ]] || it_skip "daitn-infer is not built ($INFER_BIN)"
grep -qa infer_forwarded "$DTN_GW_BIN" ||
	it_skip "this daitn-gw has no inference path (dataplane/gw/pipeline/gw_infer.c not linked in)"

dtn_trap_install
dtn_topo_create 7
dtn_tmp_create
POLICY="$DTN_TMP/policy.json"
ip_of() { dtn_worker_ip "$1"; }

# policy STAGE1_NODE STAGE1_PORT VERSION
write_policy() {
	cat >"$POLICY.new" <<EOF
{
  "version": $3,
  "node_timeout_ms": 1500,
  "nodes": [
    { "id": "s0a", "ip": "$(ip_of 1)", "roles": ["stage"] },
    { "id": "s0b", "ip": "$(ip_of 2)", "roles": ["stage"] },
    { "id": "s1",  "ip": "$(ip_of 3)", "roles": ["stage"] },
    { "id": "s2a", "ip": "$(ip_of 4)", "roles": ["stage"] },
    { "id": "s2b", "ip": "$(ip_of 5)", "roles": ["stage"] },
    { "id": "req", "ip": "$(ip_of 6)", "roles": ["requester"] },
    { "id": "s1n", "ip": "$(ip_of 7)", "roles": ["stage"] }
  ],
  "models": [
    { "id": 7,
      "stages": [
        { "replicas": [ { "node": "s0a", "port": 48000, "weight": 2 },
                        { "node": "s0b", "port": 48000, "weight": 1 } ] },
        { "replicas": [ { "node": "$1", "port": $2 } ] },
        { "replicas": [ { "node": "s2a", "port": 48002 },
                        { "node": "s2b", "port": 48002 } ] }
      ],
      "requesters": ["req"] }
  ]
}
EOF
	mv "$POLICY.new" "$POLICY"
}
write_policy s1 48001 1
dtn_gw_config_make "$IT_GW_CONFIG" "$DTN_TMP/gateway.json"
"$DTN_PY" - "$DTN_TMP/gateway.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["watch_policy"] = False          # this test reloads with SIGHUP, once
json.dump(c, open(sys.argv[1], "w"), indent=2)
EOF
dtn_gw_start "$DTN_TMP/gateway.json" "$POLICY"
dtn_gw_wait_ready 30 || { it_log "FAIL: the gateway did not come up"; exit 1; }

# The policy's node id of namespace i.
NODE_ID=([1]=s0a [2]=s0b [3]=s1 [4]=s2a [5]=s2b [6]=req [7]=s1n)
# node_field ID FIELD: a node's column in /daitn/nodes.
node_field() {
	dtn_gw_stats /daitn/nodes 2>/dev/null | "$DTN_PY" -c '
import json, sys
d = json.load(sys.stdin)["/daitn/nodes"]
print(d[sys.argv[2]][d["id"].index(sys.argv[1])])' "$1" "$2" 2>/dev/null || echo "?"
}
# until CMD... succeeds; the bound (30 s) only catches a hang.
until_ok() {
	local deadline=$(( $(date +%s) + 30 ))
	until "$@"; do
		(( $(date +%s) < deadline )) || { it_log "gave up waiting for: $*"; return 1; }
		sleep 0.05
	done
}
node_is() { [[ "$(node_field "$1" state)" == "$2" ]]; }
node_pkts_over() { local p; p=$(node_field "$1" packets); [[ "$p" != "?" && $p -gt $2 ]]; }
replied_over() { (( $(dtn_gw_counter infer_replied) >= $1 )); }

declare -A STAGE_PID=()
# stage_start NS PORT STAGE: start a stage node; return once the gateway has
# heard from the new process (its BEATs are admitted) when it serves a
# replica of the running policy.
stage_start() {
	local before
	before=$(node_field "${NODE_ID[$1]}" packets)
	dtn_bg "$(dtn_ns_worker "$1")" "$DTN_TMP/stage-$1-$2.log" "$INFER_BIN" stage \
		--bind "$(ip_of "$1"):$2" --gateway "$DTN_GW_IP:47000" --beat "7:$3" --beat-ms 100
	STAGE_PID[$1:$2]=$DTN_LAST_PID
	[[ "${4:-wait}" == nowait || "$before" == "?" ]] || until_ok node_pkts_over "${NODE_ID[$1]}" "$before"
}
# stage_stop NS PORT [SIG]: stop it; prints its "received" count
stage_stop() {
	dtn_pid_stop "${STAGE_PID[$1:$2]}" "${3:-INT}" 5 || true
	sed -n 's/.* received=\([0-9]*\).*/\1/p' "$DTN_TMP/stage-$1-$2.log" | tail -n1
}
# requester LOG ARGS...: run daitn-infer requester in namespace 6, bounded
requester() {
	local log=$1 rc=0
	shift
	timeout 60 ip netns exec "$(dtn_ns_worker 6)" "$INFER_BIN" requester \
		--gateway "$DTN_GW_IP:47000" --bind "$(ip_of 6)" --model 7 --stages 3 \
		--size 4096 --frag 1024 --sessions 16 --timeout-ms 10000 "$@" >"$log" 2>&1 || rc=$?
	echo "$rc"
}
field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p; s/^$2=\([0-9.]*\).*/\1/p" "$1" | head -n1; }

stage_start 1 48000 0
stage_start 2 48000 0
stage_start 3 48001 1
stage_start 4 48002 2
stage_start 5 48002 2
ups=0
for n in s0a s0b s1 s2a s2b; do until_ok node_is "$n" up && ups=$((ups + 1)); done
it_check "[[ $ups -eq 5 ]]" "stage nodes' BEATs reach the gateway: all 5 up"

# ---- 1. every request correct, counters agree ----------------------------------
it_counters
rc=$(requester "$DTN_TMP/r1.log" --count 400 --window 4)
ok=$(field "$DTN_TMP/r1.log" ok)
it_check "[[ $rc -eq 0 && $ok -eq 400 ]]" "400 requests through 3 stages, all bit-exact (ok=$ok, exit $rc)"
fw=$(it_delta infer_forwarded) rp=$(it_delta infer_replied)
it_check "[[ $fw -eq 4800 && $rp -eq 1600 ]]" "fates: infer_forwarded +$fw (want 4800), infer_replied +$rp (want 1600)"
r1a=$(stage_stop 1 48000) r1b=$(stage_stop 2 48000)
it_check "[[ $r1a -gt 0 && $r1b -gt 0 && $((r1a + r1b)) -eq 1600 ]]" "both stage-0 replicas served (received $r1a and $r1b of 1600 fragments)"
# 16 sessions with 4 fragments x 25 requests each: affinity keeps each session's
# 100 fragments together, so each replica's count is a multiple of 100.
it_check "[[ $((r1a % 100)) -eq 0 && $((r1b % 100)) -eq 0 ]]" "session affinity: whole sessions per replica ($r1a, $r1b)"
stage_start 1 48000 0
stage_start 2 48000 0

# ---- 2. a stage-2 replica dies mid-run ------------------------------------------
dtn_bg "$(dtn_ns_worker 6)" "$DTN_TMP/r2.log" "$INFER_BIN" requester \
	--gateway "$DTN_GW_IP:47000" --bind "$(ip_of 6)" --model 7 --stages 3 --size 4096 \
	--sessions 16 --window 4 --timeout-ms 1000 --duration 8 --max-fail 1000000
r2pid=$DTN_LAST_PID
# Kill once requests flow (200 more replies), well inside the 8 s run.
until_ok replied_over $(( $(dtn_gw_counter infer_replied) + 200 )) || true
stage_stop 4 48002 KILL >/dev/null
t_kill=$(dtn_now)
dtn_wait_all 30 "$r2pid" || true
sent=$(field "$DTN_TMP/r2.log" requests) ok=$(field "$DTN_TMP/r2.log" ok)
failed=$(field "$DTN_TMP/r2.log" failed) secs=$(field "$DTN_TMP/r2.log" seconds)
rate=$(awk -v n="$sent" -v s="$secs" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')
bound=$(awk -v r="$rate" 'BEGIN { printf "%d", r * 2.5 + 20 }')
it_log "failover run: $sent requests in ${secs}s, $ok ok, $failed failed (bound $bound = 2.5 s of traffic: the 1.5 s liveness timeout + 1 s)"
it_check "[[ -n \"$failed\" && $failed -le $bound && $ok -gt 0 ]]" "kill of a stage-2 replica: $failed failed requests, bounded by $bound"
rc=$(requester "$DTN_TMP/r2b.log" --count 200 --window 4)
it_check "[[ $rc -eq 0 ]]" "after the failover every request succeeds ($(field "$DTN_TMP/r2b.log" ok)/200)"

# ---- 3. no live replica: explicit errors ---------------------------------------
stage_stop 3 48001 >/dev/null
until_ok node_is s1 down || true
it_counters
rc=$(requester "$DTN_TMP/r3.log" --count 50 --window 1 --max-fail 50)
nr=$(field "$DTN_TMP/r3.log" no_replica) to=$(field "$DTN_TMP/r3.log" timeouts)
it_check "[[ $nr -eq 50 && $to -eq 0 ]]" "stage 1 down: 50 requests answered with no_replica errors ($nr), no timeouts ($to)"
d=$(it_delta infer_no_replica)
it_check "[[ $d -eq 200 ]]" "fate infer_no_replica +$d (50 requests x 4 fragments)"
stage_start 3 48001 1
until_ok node_is s1 up || true
rc=$(requester "$DTN_TMP/r3b.log" --count 100 --window 4)
it_check "[[ $rc -eq 0 ]]" "stage 1 back: every request succeeds"

# ---- 3b. reloads under steady traffic: no false errors ---------------------------
# Every reload publishes new tables; the nodes' liveness and MACs go with
# them, so no request may see a replica "down" (no_replica) in the switch.
# The requester's timeout is long: only errors are counted here.
wait_version() {
	local deadline=$(( $(date +%s) + 30 ))
	until grep -q "policy version $1\b" "$DTN_GW_LOG"; do
		(( $(date +%s) < deadline )) || return 1
		sleep 0.05
	done
}
it_counters
dtn_bg "$(dtn_ns_worker 6)" "$DTN_TMP/r3c.log" "$INFER_BIN" requester \
	--gateway "$DTN_GW_IP:47000" --bind "$(ip_of 6)" --model 7 --stages 3 --size 4096 \
	--sessions 16 --window 4 --timeout-ms 10000 --count 3000 --max-fail 1000000
r3pid=$DTN_LAST_PID
reloads=0
for v in 2 3 4 5 6; do
	# Each reload while requests are in flight: after 100 more replies.
	target=$(( $(dtn_gw_counter infer_replied) + 100 ))
	while kill -0 "$r3pid" 2>/dev/null && (( $(dtn_gw_counter infer_replied) < target )); do
		sleep 0.02
	done
	write_policy s1 48001 "$v"
	kill -HUP "$DTN_GW_PID"
	wait_version "$v" && reloads=$((reloads + 1))
done
dtn_wait_all 120 "$r3pid" || true
ok=$(field "$DTN_TMP/r3c.log" ok) failed=$(field "$DTN_TMP/r3c.log" failed)
nr=$(field "$DTN_TMP/r3c.log" no_replica)
it_check "[[ $reloads -eq 5 && $ok -eq 3000 && $failed -eq 0 && $nr -eq 0 ]]" \
	"5 reloads under traffic: $ok/3000 requests ok, $failed failed, $nr no_replica"
d=$(it_delta infer_no_replica)
it_check "[[ $d -eq 0 ]]" "fate infer_no_replica +$d during the reloads"

# ---- 4. placement change by reload ---------------------------------------------
stage_start 7 48011 1 nowait
write_policy s1n 48011 7
kill -HUP "$DTN_GW_PID"
wait_version 7 || true
it_check "grep -q 'policy version 7' '$DTN_GW_LOG'" "SIGHUP reload to policy version 7"
until_ok node_is s1n up || true
old=$(stage_stop 3 48001)
rc=$(requester "$DTN_TMP/r4.log" --count 300 --window 4)
it_check "[[ $rc -eq 0 ]]" "stage 1 moved to w7:48011: every request succeeds ($(field "$DTN_TMP/r4.log" ok)/300) with the old node stopped"
new=$(stage_stop 7 48011)
it_check "[[ $new -ge 1200 ]]" "the new stage-1 node served the traffic (received $new fragments)"

# ---- 5. not a requester ----------------------------------------------------------
it_counters
timeout 20 ip netns exec "$(dtn_ns_worker 7)" "$INFER_BIN" requester --gateway "$DTN_GW_IP:47000" \
	--bind "$(ip_of 7)" --model 7 --stages 3 --count 5 --timeout-ms 100 \
	>"$DTN_TMP/r5.log" 2>&1 || true
not_admitted_reach() { (( $(it_delta infer_not_admitted) >= $1 )); }
until_ok not_admitted_reach 20 || true
d=$(it_delta infer_not_admitted)
it_check "[[ $d -eq 20 && \$(field '$DTN_TMP/r5.log' ok) -eq 0 ]]" "requests from a host that is not a requester: dropped, infer_not_admitted +$d (want 20)"

it_finish
