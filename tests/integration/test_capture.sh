#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_capture: the stock dpdk-dumpcap (a DPDK secondary process) captures a
# running gateway's traffic through rte_pdump, while job 1 of
# configs/policy-demo.json runs: the pcapng file it writes names the port's
# interface and holds daitn messages in both directions (workers' GRADs in, the gateway's
# RESULTs out), read back here frame by frame.
# Needs hugepages (a --no-huge gateway has no shared memory for a secondary
# process) and the gateway configuration's "capture": true. Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
command -v dpdk-dumpcap >/dev/null || it_skip "dpdk-dumpcap is not installed (dpdk package)"
(( $(dtn_hugepages_free) >= 128 )) || it_skip "no free hugepages: dpdk-dumpcap needs a gateway on hugepages"
FRAMES=400
# The demo gateway with "capture": true (its hugepage files stay mapped for
# the capture process instead of being unlinked at once).
dtn_tmp_create
IT_GW_CONFIG="$DTN_TMP/gateway-capture.json"
cp "$DTN_ROOT/configs/gateway-demo.json" "$IT_GW_CONFIG"
sed -i "s|\"policy-demo.json\"|\"$DTN_ROOT/configs/policy-demo.json\"|" "$IT_GW_CONFIG"
dtn_gw_config_capture "$IT_GW_CONFIG"
it_gateway_up
PCAP="$DTN_TMP/capture.pcapng"
if ! dtn_dumpcap_start "$DTN_TMP/gateway.json" $FRAMES "$PCAP" "$DTN_TMP/dumpcap.log"; then
	it_log "FAIL: dpdk-dumpcap did not start capturing; its log:"
	sed 's/^/    /' "$DTN_TMP/dumpcap.log"
	exit 1
fi
it_check "it_run_job 1 float32 exact 20 4096" "job 1 runs while dpdk-dumpcap captures (every element verified)"
rc=0
dtn_wait_all 60 "$DTN_DUMPCAP_PID" || rc=${DTN_WAIT_RC[0]}
it_check "[[ $rc -eq 0 ]]" "dpdk-dumpcap stopped after $FRAMES frames (exit $rc): $(tail -n 1 "$DTN_TMP/dumpcap.log")"

# Read the pcapng back: the interface's name, then every frame.
read -r name frames grads results others < <("$DTN_PY" - "$PCAP" <<'EOF_PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
bo = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
pos, name, frames, grads, results, others = 0, "-", 0, 0, 0, 0
while pos + 12 <= len(data):
    btype, blen = struct.unpack_from(bo + "II", data, pos)
    body = data[pos + 8:pos + blen - 4]
    if btype == 1:                                  # interface description
        opt = 8
        while opt + 4 <= len(body):
            code, olen = struct.unpack_from(bo + "HH", body, opt)
            if code == 2:                           # if_name
                name = body[opt + 4:opt + 4 + olen].decode()
            if code == 0:
                break
            opt += 4 + ((olen + 3) & ~3)
    elif btype == 6:                                # enhanced packet
        caplen = struct.unpack_from(bo + "I", body, 12)[0]
        f = body[20:20 + caplen]
        frames += 1
        if len(f) >= 14 + 20 + 8 + 22 and f[12:14] == b"\x08\x00" and f[23] == 17:
            ihl = (f[14] & 15) * 4
            sport, dport = struct.unpack_from(">HH", f, 14 + ihl)
            magic, ver, mtype = struct.unpack_from(">HBB", f, 14 + ihl + 8)
            if magic == 0xDA17 and dport == 47000 and mtype == 1:
                grads += 1
            elif magic == 0xDA17 and sport == 47000 and mtype == 2:
                results += 1
            else:
                others += 1
        else:
            others += 1
    if blen < 12:
        break
    pos += blen
print(name, frames, grads, results, others)
EOF_PY
)
it_check "[[ $name == $(dtn_gw_iface) ]]" "the capture names the gateway's interface ($name)"
it_check "[[ $frames -ge $FRAMES ]]" "$frames frames read back from $(basename "$PCAP")"
it_check "[[ $grads -gt 0 && $results -gt 0 ]]" "both directions: $grads GRADs to the gateway, $results RESULTs from it, $others other frames"
it_finish
