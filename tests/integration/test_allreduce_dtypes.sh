#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_allreduce_dtypes: the real gateway (daitn-gw on an af_packet veth) and 4
# real daitn-worker processes, each in its own network namespace, allreduce
# through every element type of configs/policy-demo.json:
#   int32              bit-exact on both patterns (random values wrap mod 2^32)
#   float32, bfloat16, float16
#                      bit-exact on the 'exact' pattern (sums representable);
#                      within the documented bound on 'random' (daitn-worker
#                      --help states it: binary32 accumulation, one rounding)
#   float32-on-int32   float data through the int32 job's fixed point, bit-exact
#                      against the fixed-point reference
# daitn-worker checks every element of every round and exits non-zero on any
# mismatch. Beside the results, the gateway's counters must add up: each round
# completes every chunk exactly once, N contributions per chunk, and nothing is
# dropped as malformed, unknown or not admitted.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, programs not built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_prereqs
it_gateway_up

ROUNDS=3
COUNT=10007          # not a multiple of any chunk: every run has a short tail chunk

# job dtype pattern
runs=(
	"2 int32 exact" "2 int32 random"
	"1 float32 exact" "1 float32 random"
	"3 bfloat16 exact" "3 bfloat16 random"
	"4 float16 exact" "4 float16 random"
	"2 float32-on-int32 random"
)

it_counters
declare -A base=()
for k in "${!IT_C[@]}"; do base[$k]=${IT_C[$k]}; done

for run in "${runs[@]}"; do
	read -r job dtype pattern <<<"$run"
	it_counters
	t0=$(dtn_now)
	if it_run_job "$job" "$dtype" "$pattern" "$ROUNDS" "$COUNT"; then res=0; else res=1; fi
	it_check "[[ $res -eq 0 ]]" "job $job $dtype/$pattern: $DTN_JOB_N workers x $ROUNDS rounds x $COUNT elements verified ($(dtn_elapsed "$t0")s)"
	chunks=$(it_chunks "$dtype" "$COUNT")
	want_c=$(( ROUNDS * chunks ))
	got_c=$(it_delta completed)
	got_a=$(it_delta aggregated)
	it_check "[[ $got_c -eq $want_c ]]" "job $job $dtype/$pattern: completed +$got_c, want $ROUNDS rounds x $chunks chunks = $want_c"
	it_check "[[ $(( got_a + got_c )) -eq $(( DTN_JOB_N * want_c )) ]]" \
		"job $job $dtype/$pattern: contributions added +$(( got_a + got_c )) (aggregated + completed), want $DTN_JOB_N x $want_c"
done

# Over the whole run: no contribution was malformed or refused.
IT_C=()
for k in "${!base[@]}"; do IT_C[$k]=${base[$k]}; done
for c in proto_bad_magic proto_bad_version proto_bad_type proto_bad_dtype proto_bad_count \
	 proto_length_mismatch job_unknown rank_invalid source_not_admitted dtype_mismatch \
	 chunk_too_large slot_out_of_range count_mismatch no_buffer; do
	d=$(it_delta "$c")
	it_check "[[ $d -eq 0 ]]" "counter $c stayed at 0 (+$d)"
done
it_log "gateway counters at the end: $(dtn_gw_stats /daitn/stats | "$DTN_PY" -c '
import json, sys
print(" ".join(f"{k}={v}" for k, v in json.load(sys.stdin)["/daitn/stats"].items() if v))')"
it_finish
