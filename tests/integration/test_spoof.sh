#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_spoof: a hostile host on the gateway's bridge, with raw sockets
# (tests/integration/dtn_spoof.py forges every field of its frames), cannot
# change a sum the workers accept, redirect their results, end their run or
# make the gateway a reflector (docs/security.md). Topology: the 4 workers of
# configs/policy-demo.json and a fifth namespace, the attacker, whose bridge
# port does not learn MACs (so forging a worker's MAC tests the gateway, not
# the switch's forwarding table). Job 1 has no key; job 5 (float32, port
# 47104) is job 1 with a key_file.
#
# Authentication off (job 1), while the workers allreduce, bit-exact:
#   - GRADs with rank 0's IP and port from the attacker's MAC    -> src_mac_mismatch
#   - HELLOs with rank 0's IP and port, new nonces, same          -> src_mac_mismatch,
#     no answer, the run goes on
#   - an admitted rank (worker 2's own MAC, IP, port) sending rounds 2^29 and
#     2^30 + 5 ahead                                              -> round_ahead,
#     round_outside_run; the real rounds still count
# Authentication on (job 5), the same and more, with rank 0's own MAC forged:
#   - GRADs untagged / with a forged tag                          -> auth_missing / auth_bad
#   - HELLOs untagged / forged                                    -> no answer, run goes on
#   - RESULTs and ERRORs from the gateway's MAC, IP and shard port to rank 0,
#     untagged and forged, for every slot of every round          -> ignored by libdaitn
# Inference, keyed model 9 (a real stage and requester with the key): forged
# BEATs for a replica with no host behind it (from the attacker's MAC, and
# with its pinned MAC and a forged tag) never make it alive, so requests are
# never routed to it: all answered bit-exact.
# Reflection: 2000 HELLOs from the attacker's own address draw ERRORs no larger
# than the HELLO, at most the per-source rate (100/s, burst 32).
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs

KEYDIR=$(mktemp -d /tmp/dtn-spoof.XXXXXX)
dtn_on_exit "rm -rf '$KEYDIR'"
for k in job5 model9; do
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$KEYDIR/$k.key"
	chmod 600 "$KEYDIR/$k.key"
done
"$DTN_PY" - "$DTN_ROOT/configs/policy-demo.json" "$KEYDIR/policy.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
j = dict(next(j for j in p["jobs"] if j["id"] == 1))
j["id"] = 5
j["key_file"] = "job5.key"
j["workers"] = [dict(w, port=47104) for w in j["workers"]]
p["jobs"].append(j)
# Model 9, keyed: one stage of two replicas, w2 (a real daitn-infer stage)
# and s9, a stage-only node with no host behind it and its MAC pinned: only
# BEATs could make s9 look alive, and requests routed to it would fail.
p["nodes"].append({"id": "s9", "ip": "10.77.0.16", "roles": ["stage"],
                   "mac": "02:00:00:00:99:99"})
p["models"].append({"id": 9, "key_file": "model9.key",
                    "stages": [{"replicas": [{"node": "w2", "port": 48999},
                                             {"node": "s9", "port": 48999}]}],
                    "requesters": ["w3"]})
json.dump(p, open(sys.argv[2], "w"), indent=1)
EOF

IT_WORKERS=5
it_gateway_up "$KEYDIR/policy.json"
ATT=5
ATT_NS=$(dtn_ns_worker $ATT)
ATT_IF=$(dtn_worker_iface $ATT)
ATT_IP=$(dtn_worker_ip $ATT)
ip netns exec "$(dtn_ns_switch)" bridge link set dev "$(dtn_worker_port_iface $ATT)" learning off
if_mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
GW_MAC=$(if_mac "$(dtn_ns_gw)" "$(dtn_gw_iface)")
ATT_MAC=$(if_mac "$ATT_NS" "$ATT_IF")
W0_MAC=$(if_mac "$(dtn_ns_worker 1)" "$(dtn_worker_iface 1)")
W2_MAC=$(if_mac "$(dtn_ns_worker 3)" "$(dtn_worker_iface 3)")
SPOOF=("$DTN_PY" "$(dirname "${BASH_SOURCE[0]}")/dtn_spoof.py")
ROUNDS=20 COUNT=65536

# spoof NS_INDEX LOG ARGS...: dtn_spoof.py in a namespace, in the background.
spoof() {
	local i=$1 log=$2 ifc
	shift 2
	ifc=$(dtn_worker_iface "$i")
	dtn_bg "$(dtn_ns_worker "$i")" "$log" timeout 30 "${SPOOF[@]}" --iface "$ifc" "$@"
	SPOOF_PIDS+=("$DTN_LAST_PID")
}

spoof_stop() {
	local p
	for p in "${SPOOF_PIDS[@]}"; do dtn_pid_stop "$p" TERM 5 || true; done
	SPOOF_PIDS=()
}

# Wait until counter NAME has grown by at least 1 since it_counters (frames
# that cross a kernel ring may be late; the bound only catches a hang).
wait_counted() {
	local name=$1 deadline=$(( $(date +%s) + 20 ))
	while (( $(it_delta "$name") < 1 && $(date +%s) < deadline )); do sleep 0.05; done
}

# ---- authentication off: job 1 --------------------------------------------------
dtn_job_load "$IT_POLICY" 1
R0=${DTN_JOB_IPS[0]}:${DTN_JOB_PORTS[0]}
R2=${DTN_JOB_IPS[2]}:${DTN_JOB_PORTS[2]}
GW="$DTN_GW_IP:47000"
SPOOF_PIDS=()
it_counters
spoof $ATT "$DTN_TMP/off-grad.log" --src-mac "$ATT_MAC" --dst-mac "$GW_MAC" --src "$R0" \
	--dst "$GW" --type grad --job 1 --rank 0 --slots 64 --rounds $ROUNDS --n 100000 \
	--pps 2000 --max-seconds 25
spoof $ATT "$DTN_TMP/off-hello.log" --src-mac "$ATT_MAC" --dst-mac "$GW_MAC" --src "$R0" \
	--dst "$GW" --type hello --job 1 --rank 0 --first-round 777 --n 100000 --pps 50 \
	--max-seconds 25
# (Slow and long: they must overlap the run, which starts once the workers joined.)
spoof 3 "$DTN_TMP/off-ahead.log" --src-mac "$W2_MAC" --dst-mac "$GW_MAC" --src "$R2" \
	--dst "$DTN_GW_IP:47000" --type grad --job 1 --rank 2 --first-round $((1 << 29)) \
	--n 100000 --pps 200 --max-seconds 25
spoof 3 "$DTN_TMP/off-outside.log" --src-mac "$W2_MAC" --dst-mac "$GW_MAC" --src "$R2" \
	--dst "$DTN_GW_IP:47000" --type grad --job 1 --rank 2 --first-round $(( (1 << 30) + 5 )) \
	--n 100000 --pps 200 --max-seconds 25
wait_counted src_mac_mismatch
ok=1
it_run_job 1 float32 exact $ROUNDS $COUNT || ok=0
spoof_stop
it_check "[[ $ok -eq 1 ]]" "auth off: 4 workers bit-exact for $ROUNDS rounds beside forged GRADs and HELLOs (attacker's MAC) and far-ahead rounds from an admitted rank"
d=$(it_delta src_mac_mismatch)
it_check "[[ $d -gt 0 ]]" "auth off: frames with rank 0's ip:port from another MAC dropped as src_mac_mismatch (+$d)"
d=$(it_delta round_ahead) o=$(it_delta round_outside_run)
it_check "[[ $d -gt 0 && $o -gt 0 ]]" "auth off: an admitted rank's far-future rounds dropped (round_ahead +$d, round_outside_run +$o)"

# ---- authentication on: job 5 ---------------------------------------------------
dtn_job_load "$IT_POLICY" 5
R0=${DTN_JOB_IPS[0]}:${DTN_JOB_PORTS[0]}
it_counters
spoof $ATT "$DTN_TMP/on-grad.log" --src-mac "$W0_MAC" --dst-mac "$GW_MAC" --src "$R0" \
	--dst "$GW" --type grad --job 5 --rank 0 --slots 64 --rounds $ROUNDS --n 100000 \
	--pps 1000 --max-seconds 25
spoof $ATT "$DTN_TMP/on-grad-tag.log" --src-mac "$W0_MAC" --dst-mac "$GW_MAC" --src "$R0" \
	--dst "$GW" --type grad --job 5 --rank 0 --slots 64 --rounds $ROUNDS --n 100000 \
	--pps 1000 --max-seconds 25 --tag
for tag in "" --tag; do
	spoof $ATT "$DTN_TMP/on-hello$tag.log" --src-mac "$W0_MAC" --dst-mac "$GW_MAC" --src "$R0" \
		--dst "$GW" --type hello --job 5 --rank 0 --first-round 999 --n 100000 --pps 50 \
		--max-seconds 25 $tag
done
for t in result error; do
	spoof $ATT "$DTN_TMP/on-$t.log" --src-mac "$GW_MAC" --dst-mac "$W0_MAC" --src "$GW" \
		--dst "$R0" --type $t --job 5 --rank 0 --slots 64 --rounds $ROUNDS --n 100000 \
		--pps 1000 --max-seconds 25
	spoof $ATT "$DTN_TMP/on-$t-tag.log" --src-mac "$GW_MAC" --dst-mac "$W0_MAC" --src "$GW" \
		--dst "$R0" --type $t --job 5 --rank 0 --slots 64 --rounds $ROUNDS --n 100000 \
		--pps 1000 --max-seconds 25 --tag
done
wait_counted auth_bad
ok=1
it_run_job 5 float32 exact $ROUNDS $COUNT --key-file "$KEYDIR/job5.key" || ok=0
spoof_stop
it_check "[[ $ok -eq 1 ]]" "auth on: 4 workers bit-exact for $ROUNDS rounds beside GRADs, HELLOs, RESULTs and ERRORs forged with the real MACs, addresses and ports"
m=$(it_delta auth_missing) b=$(it_delta auth_bad)
it_check "[[ $m -gt 0 && $b -gt 0 ]]" "auth on: forged GRADs and HELLOs dropped (auth_missing +$m, auth_bad +$b)"
d=$(it_delta src_mac_mismatch)
it_check "[[ $d -eq 0 ]]" "auth on: the forged frames carried rank 0's real MAC (src_mac_mismatch +$d)"

# ---- BEAT: a stage node kept alive by a stranger ---------------------------------
INFER_BIN="$DTN_BUILD/client/infer/daitn-infer"
node_state() {   # node_state ID: its liveness state
	dtn_gw_stats /daitn/nodes | "$DTN_PY" -c '
import json, sys
d = json.load(sys.stdin)["/daitn/nodes"]
print(d["state"][d["id"].index(sys.argv[1])])' "$1"
}
it_counters
SPOOF_PIDS=()
# Forged BEATs for s9 while a keyed requester runs: from the attacker's MAC
# untagged, and with s9's pinned MAC and a forged tag.
spoof $ATT "$DTN_TMP/beat.log" --src-mac "$ATT_MAC" --dst-mac "$GW_MAC" --src 10.77.0.16:48999 \
	--dst "$GW" --type beat --job 9 --rank 0 --n 100000 --pps 100 --max-seconds 25
spoof $ATT "$DTN_TMP/beat-pin.log" --src-mac 02:00:00:00:99:99 --dst-mac "$GW_MAC" \
	--src 10.77.0.16:48999 --dst "$GW" --type beat --job 9 --rank 0 --n 100000 --pps 100 \
	--max-seconds 25 --tag
dtn_bg "$(dtn_ns_worker 3)" "$DTN_TMP/stage9.log" "$INFER_BIN" stage --bind 10.77.0.13:48999 \
	--gateway "$DTN_GW_IP:47000" --beat 9:0 --beat-ms 100 --key-file "$KEYDIR/model9.key"
STAGE9=$DTN_LAST_PID
wait_counted auth_bad
deadline=$(( $(date +%s) + 20 ))
while (( $(dtn_gw_counter infer_beat) < 3 && $(date +%s) < deadline )); do sleep 0.05; done
rc=0
timeout 60 ip netns exec "$(dtn_ns_worker 4)" "$INFER_BIN" requester --gateway "$DTN_GW_IP:47000" \
	--bind 10.77.0.14 --model 9 --stages 1 --size 4096 --frag 1024 --sessions 16 --count 300 \
	--timeout-ms 5000 --key-file "$KEYDIR/model9.key" >"$DTN_TMP/req9.log" 2>&1 || rc=$?
spoof_stop
dtn_pid_stop "$STAGE9" INT 5 || true
st=$(node_state s9)
m=$(it_delta auth_missing) b=$(it_delta auth_bad) beats=$(it_delta infer_beat)
it_check "[[ $rc -eq 0 && $st != up ]]" "keyed model 9: 300 requests over 16 sessions answered bit-exact (exit $rc) while BEATs forged for replica s9 kept it $st ($(tail -n1 "$DTN_TMP/req9.log"))"
it_check "[[ $m -gt 0 && $b -gt 0 && $beats -gt 0 ]]" "forged BEATs dropped (auth_missing +$m, auth_bad +$b); the real stage's tagged BEATs taken (infer_beat +$beats)"
it_check "grep -q 'auth_failed=0' '$DTN_TMP/stage9.log'" "the stage took every activation the gateway sent it ($(grep -o 'received=[0-9]* forwarded=[0-9]*' "$DTN_TMP/stage9.log"))"

# ---- reflection: HELLOs from the attacker's own address --------------------------
it_counters
out=$(timeout 30 ip netns exec "$ATT_NS" "$DTN_PY" - "$ATT_IP" "$DTN_GW_IP" <<'EOF'
import socket, struct, sys, time
src, gw = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 47100))
s.setblocking(False)
hello = struct.pack(">HBBHHHBBHII", 0xDA17, 2, 3, 1, 0, 0, 0, 0, 0, 0, 1) + bytes(64)
n, got, biggest, t0 = 2000, 0, 0, time.monotonic()
for i in range(n):
    s.sendto(hello, (gw, 47000))
    ahead = (i + 1) / 1000 - (time.monotonic() - t0)
    if ahead > 0.001:
        time.sleep(ahead)
    try:
        while True:
            d = s.recv(2048)
            got += 1
            biggest = max(biggest, len(d))
    except BlockingIOError:
        pass
end = time.monotonic() + 1
while time.monotonic() < end:
    try:
        d = s.recv(2048)
        got += 1
        biggest = max(biggest, len(d))
    except BlockingIOError:
        time.sleep(0.01)
print(n, len(hello), got, biggest, "%.2f" % (time.monotonic() - t0))
EOF
) || out="0 0 0 0 0"
read -r sent req got biggest secs <<<"$out"
limited=$(it_delta replies_limited)
bound=$(awk -v s="$secs" 'BEGIN { printf "%d", 100 * s + 32 + 10 }')
it_check "[[ $got -gt 0 && $biggest -le $req ]]" "reflection: $got answers to $sent HELLOs of $req bytes, the largest $biggest bytes (no amplification)"
it_check "[[ $got -le $bound && $limited -gt 0 ]]" "reflection: $got answers in ${secs}s from one source, at most $bound (100/s + burst 32), replies_limited +$limited"

it_finish
