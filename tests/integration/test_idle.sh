#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_idle: adaptive polling ("idle_poll": "adaptive") lets an idle gateway
# give its data lcore's core back, and serves the first packets after idle.
# The same topology runs a busy-polling gateway, then an adaptive one; for
# each: the gateway's CPU time over 3 s without traffic (/proc/PID/stat, all
# threads), the round trip of pings sent 1 s apart (each one the first
# packet after an idle second), then job 1 bit-exact. Checks: the adaptive
# gateway's idle CPU is under a quarter of a core and under half the busy
# one's, measured in the same run (a loaded machine gives the busy one less,
# never the adaptive one more); it counted its sleeps; every job is right.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
dtn_tmp_create
TICKS=$(getconf CLK_TCK)

# cpu_idle_share: the gateway's CPU time over 3 s, in cores (e.g. 0.98).
cpu_idle_share() {
	local a b t0 t1
	read -r a < <(awk '{ print $14 + $15 }' "/proc/$DTN_GW_PID/stat")
	t0=$(dtn_now)
	sleep 3         # the measurement window, not a wait for an event
	read -r b < <(awk '{ print $14 + $15 }' "/proc/$DTN_GW_PID/stat")
	t1=$(dtn_now)
	awk -v a="$a" -v b="$b" -v hz="$TICKS" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.3f", (b - a) / hz / (t1 - t0) }'
}

# ping_after_idle: average round trip (ms) of 5 pings 1 s apart from worker 1.
ping_after_idle() {
	dtn_ns_run "$(dtn_ns_worker 1)" ping -q -c 5 -i 1 -W 2 "$DTN_GW_IP" 2>/dev/null |
		awk -F'/' '/^rtt/ { print $5; found = 1 } END { if (!found) print "lost" }'
}

declare -A CPU=() RTT=()
for mode in busy adaptive; do
	cfg="$DTN_TMP/gateway-$mode.json"
	cp "$DTN_ROOT/configs/gateway-demo.json" "$cfg"
	sed -i "s|\"policy-demo.json\"|\"$DTN_ROOT/configs/policy-demo.json\"|" "$cfg"
	"$DTN_PY" - "$cfg" "$mode" <<'EOF_PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["idle_poll"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"), indent=2)
EOF_PY
	if [[ $mode == busy ]]; then
		IT_GW_CONFIG=$cfg
		it_gateway_up
	else
		dtn_gw_stop 10 || true
		dtn_gw_config_make "$cfg" "$DTN_TMP/gateway.json"
		dtn_gw_start "$DTN_TMP/gateway.json" "$IT_POLICY"
		dtn_gw_wait_ready 30 || { it_log "FAIL: the adaptive gateway did not come up"; exit 1; }
	fi
	it_counters
	CPU[$mode]=$(cpu_idle_share)
	RTT[$mode]=$(ping_after_idle)
	it_log "$mode polling: idle CPU ${CPU[$mode]} cores over 3 s; ping after 1 s idle: ${RTT[$mode]} ms (average of 5)"
	it_check "it_run_job 1 float32 exact 5 65536" "$mode polling: job 1 bit-exact after idle"
	sleeps=$(it_delta idle_sleeps)
	if [[ $mode == busy ]]; then
		it_check "[[ $sleeps -eq 0 ]]" "busy polling never sleeps (idle_sleeps +$sleeps)"
	else
		it_check "[[ $sleeps -gt 0 ]]" "adaptive polling slept while idle (idle_sleeps +$sleeps)"
	fi
done
it_check "awk -v a=${CPU[adaptive]} 'BEGIN { exit !(a < 0.25) }'" \
	"adaptive polling: idle CPU ${CPU[adaptive]} cores, under 0.25"
it_check "awk -v a=${CPU[adaptive]} -v b=${CPU[busy]} 'BEGIN { exit !(a < b / 2) }'" \
	"adaptive idle CPU ${CPU[adaptive]} under half of busy polling's ${CPU[busy]} (same run)"
it_finish
