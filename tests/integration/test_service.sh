#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_service: daitn-gw under a service manager's readiness protocol
# (sd_notify(3); this machine has no systemd as PID 1, so the test is the
# manager): a Unix datagram socket of its own in $NOTIFY_SOCKET receives
#   READY=1 once the gateway's ports are up, its lcores run and its control
#   plane answers (/daitn/status at once; a job then runs at once), never
#   before;
#   RELOADING=1 then READY=1 around a SIGHUP reload, and around a reload of a
#   broken policy file (refused: the old policy serves, the job still runs);
#   STOPPING=1 on SIGINT.
# Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
dtn_trap_install
dtn_tmp_create
SOCK="$DTN_TMP/notify.sock" MSGS="$DTN_TMP/notify.log"
POLICY="$DTN_TMP/policy.json"
cp "$DTN_ROOT/configs/policy-demo.json" "$POLICY"

# The manager: one line per datagram, newlines shown as '|'; at the first
# READY=1 it asks the gateway's telemetry for /daitn/status (what
# `daitnctl status` reads, registered with the control loop) and notes
# whether it answered. Bounded.
"$DTN_PY" - "$SOCK" "$MSGS" "/var/run/dpdk/${DTN_P}gw/dpdk_telemetry.v2" <<'EOF_PY' &
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1.0)
end = time.monotonic() + 240

def status_answers(path):
    try:
        t = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        t.settimeout(5)
        t.connect(path)
        t.recv(16384)                       # the greeting
        t.send(b"/daitn/status")
        return json.loads(t.recv(1 << 20)).get("/daitn/status") is not None
    except (OSError, ValueError):
        return False

ready = 0
with open(sys.argv[2], "a") as f:
    while time.monotonic() < end:
        try:
            m = s.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            continue
        line = m.replace("\n", "|")
        if m.startswith("READY=1") and ready == 0:
            line += "|status=" + ("answered" if status_answers(sys.argv[3]) else "none")
        ready += m.startswith("READY=1")
        f.write(line + "\n")
        f.flush()
EOF_PY
LISTENER=$!
dtn_on_exit "kill $LISTENER 2>/dev/null || true"
: >"$MSGS"
for (( t = 0; t < 100; t++ )); do [[ -S $SOCK ]] && break; sleep 0.1; done
[[ -S $SOCK ]] || { it_log "FAIL: the test's notify socket did not appear"; exit 1; }

# msgs_wait RE N S: until the notify log has at least N lines matching RE
# (S seconds only bound a hang).
msgs_wait() {
	local deadline=$(( $(date +%s) + $3 ))
	while (( $(grep -cE "$1" "$MSGS" || true) < $2 )); do
		(( $(date +%s) < deadline )) || return 1
		sleep 0.1
	done
}

export NOTIFY_SOCKET=$SOCK
it_gateway_up "$POLICY"
unset NOTIFY_SOCKET
msgs_wait '^READY=1' 1 30 || true
it_check "[[ \$(grep -c . '$MSGS') -ge 1 && \$(head -n 1 '$MSGS') == READY=1\|STATUS=running:* ]]" \
	"the first notification is READY=1 with the gateway's status: $(head -n 1 "$MSGS")"
it_check "[[ \$(head -n 1 '$MSGS') == *\|status=answered ]]" \
	"at READY=1 the control plane's telemetry already answers (/daitn/status)"
it_check "it_run_job 1 float32 exact 3 4096" "job 1 runs right after READY=1 (every element verified)"

kill -HUP "$DTN_GW_PID"
msgs_wait '^READY=1' 2 30 || true
it_check "[[ \$(sed -n 2p '$MSGS') == RELOADING=1\|*MONOTONIC_USEC=* && \$(sed -n 3p '$MSGS') == READY=1\|STATUS=reload\ ok:* ]]" \
	"SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1: $(sed -n 3p "$MSGS")"

# A broken policy written over the file: the watch reloads it, refuses it,
# and the gateway is ready again on the old one.
printf '{ "version": 2, "jobs": [ \n' >"$POLICY.new" && mv "$POLICY.new" "$POLICY"
msgs_wait '^READY=1' 3 30 || true
it_check "[[ \$(sed -n 4p '$MSGS') == RELOADING=1\|* && \$(sed -n 5p '$MSGS') == READY=1\|STATUS=reload\ invalid:* ]]" \
	"a broken policy file: RELOADING=1, then READY=1 saying it was refused: $(sed -n 5p "$MSGS")"
IT_POLICY="$DTN_ROOT/configs/policy-demo.json"     # what still runs
it_check "it_run_job 1 float32 exact 3 4096" "job 1 still runs on the old policy"

dtn_gw_stop 10 || true
it_check "[[ $DTN_GW_STOP_RC -eq 0 ]]" "the gateway shut down cleanly on SIGINT"
msgs_wait '^STOPPING=1' 1 10 || true
it_check "[[ \$(tail -n 1 '$MSGS') == STOPPING=1\|* ]]" "SIGINT: STOPPING=1 is the last notification"
it_check "[[ \$(wc -l <'$MSGS') -eq 6 ]]" "six notifications in all, no other: $(tr '\n' ' ' <"$MSGS")"
it_finish
