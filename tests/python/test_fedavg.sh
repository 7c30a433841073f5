#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_fedavg.sh: the federated example (python/examples/run_fedavg_edge.sh)
# with 4 clients of different data sizes through a fedavg job of the real
# gateway that is deterministic and partial: client 3 is 10x slower than the
# others and client 1 sits rounds 5-7 out. Passes when every client's final
# model equals, bit for bit, the local FedAvg reference recomputed from the
# data and the clients' participation records, and rounds really closed
# without some client.
# Exit 0 pass, 1 fail, 77 skip (not root, no torch, gateway or libdaitn not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pt_prereqs
dtn_require_bins "$DTN_GW_BIN" "$DTN_BUILD/client/libdaitn.so"
out=$(mktemp -d /tmp/daitn-fedavg.XXXXXX)
trap 'rm -rf "$out"' EXIT
log="$out/run.log"
if ! bash "$DTN_ROOT/python/examples/run_fedavg_edge.sh" -n 4 --rounds 12 --slow 3:10 \
	--away 1:5-7 --out "$out" >"$log" 2>&1; then
	tail -n 40 "$log"
	echo "FAIL: the federated run or its reference check failed"
	exit 1
fi
grep -E "^(client|gateway|reference)" "$log"
grep -q "client 1: away for rounds 5-7" "$log" || { echo "FAIL: client 1 was not away"; exit 1; }
partial=$(sed -nE 's/^reference: [0-9]+ rounds, ([0-9]+) of them partial.*/\1/p' "$log")
[[ ${partial:-0} -ge 3 ]] || { echo "FAIL: only ${partial:-0} rounds closed without a client"; exit 1; }
grep -q "reference: .* 4 of 4 clients match" "$log" || { echo "FAIL: a model differs"; exit 1; }
echo "PASS: 4 federated clients through the gateway match the local FedAvg reference bit for bit"
