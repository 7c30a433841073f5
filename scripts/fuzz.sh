#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# fuzz.sh: the libFuzzer targets of tests/fuzz, built with clang, ASan and
# UBSan in build-fuzz (beside DTN_BUILD), one per parser that takes bytes
# from the network or from files:
#
#   fuzz_proto      the wire decoders (proto/)
#   fuzz_gw_frame   the gateway's frame parser and pipeline (real EAL, net_ring)
#   fuzz_client_rx  libdaitn's receive path (results, errors, HELLO answers)
#   fuzz_policy     the policy parser, plain and through the parse cache
#   fuzz_config     the gateway configuration parser
#
#   bash scripts/fuzz.sh [--seconds S] [--only NAME] [--corpus-only]
#
# Default: fuzz each target for S seconds (60), starting from its seeds
# (tests/fuzz/corpus/NAME, and the policy and configuration files of configs/
# and tests/control/cases); new inputs go to build-fuzz/corpus/NAME, crashes
# to build-fuzz/crash-NAME-*. Prints executions and coverage per target.
# --corpus-only runs every seed once (what scripts/test.sh does).
# Ends with "N passed, M failed"; exits non-zero if a target failed.
set -uo pipefail
DTN_LOG_TAG=fuzz
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$DTN_ROOT"

seconds=60 only="" corpus_only=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--seconds) seconds=$2; shift ;;
	--only) only=$2; shift ;;
	--corpus-only) corpus_only=1 ;;
	-h|--help) sed -n '3,21p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
[[ "$seconds" =~ ^[0-9]+$ ]] || dtn_die "--seconds: expected a number, got '$seconds'"

BF="$(realpath --relative-to=. "$DTN_BUILD")-fuzz"
command -v clang >/dev/null || dtn_die "clang is missing (scripts/setup.sh installs clang and libclang-rt-14-dev)"
if [[ ! -f "$BF/build.ninja" ]]; then
	setup_log=$(mktemp)
	CC=clang meson setup "$BF" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debugoptimized >"$setup_log" 2>&1 ||
		{ cat "$setup_log"; rm -f "$setup_log"; dtn_die "meson setup $BF failed"; }
	rm -f "$setup_log"
fi
targets=(fuzz_proto fuzz_gw_frame fuzz_client_rx fuzz_policy fuzz_config)
[[ -z "$only" ]] || targets=("$only")
ninja -C "$BF" "${targets[@]/#/tests/fuzz/}" || dtn_die "building the fuzz targets in $BF failed"

# Seed directories and files of a target.
seeds() {
	case $1 in
	fuzz_proto) echo tests/fuzz/corpus/proto ;;
	fuzz_gw_frame) echo tests/fuzz/corpus/gw_frame ;;
	fuzz_client_rx) echo tests/fuzz/corpus/client_rx ;;
	fuzz_policy) echo tests/control/cases/policy/valid tests/control/cases/policy/invalid \
		configs/policy-demo.json configs/policy-bench.json configs/policy-tenants.json ;;
	fuzz_config) echo tests/control/cases/config/valid tests/control/cases/config/invalid \
		configs/gateway-demo.json configs/gateway-bench.json configs/gateway-tenants.json ;;
	esac
}

passed=0 failed=0
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "${targets[@]}"; do
	bin="$BF/tests/fuzz/$t"
	log="$BF/$t.log"
	read -r -a s <<<"$(seeds "$t")"
	[[ -x "$bin" ]] || { echo "$t: not built"; failed=$((failed + 1)); continue; }
	if [[ $corpus_only -eq 1 ]]; then
		n=$(find "${s[@]}" -type f | wc -l)
		# Files one by one: libFuzzer runs each given file once and exits.
		mapfile -t files < <(find "${s[@]}" -type f | sort)
		if "$bin" -runs=1 "${files[@]}" >"$log" 2>&1; then
			echo "$t: $n seeds ran clean"
			passed=$((passed + 1))
		else
			echo "$t: FAILED on its seeds; the end of $log:"
			tail -n 30 "$log"
			failed=$((failed + 1))
		fi
		continue
	fi
	# libFuzzer reads seeds from directories: gather them in one.
	work="$BF/corpus/$t" seeddir="$BF/seeds/$t"
	rm -rf "$seeddir"
	mkdir -p "$work" "$seeddir"
	i=0
	while read -r f; do
		i=$((i + 1))
		cp "$f" "$seeddir/$i-$(basename "$f")"
	done < <(find "${s[@]}" -type f | sort)
	if "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$BF/crash-$t-" \
		-timeout=20 -rss_limit_mb=4096 "$work" "$seeddir" >"$log" 2>&1; then
		res=ok
		passed=$((passed + 1))
	else
		res=FAILED
		failed=$((failed + 1))
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$log" | tail -n1 |
		sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 edges, \2 features, \3 inputs/')
	printf '%-16s %-6s %s executions in %ss, %s\n' "$t" "$res" "${execs:-?}" "$seconds" "${cov:-?}"
	[[ $res == ok ]] || { grep -E "ERROR|SUMMARY|Assertion" "$log" | head -n 5; echo "    (log: $log)"; }
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
