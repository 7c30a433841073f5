#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test.sh: the project's test command (the README's, and CI's through .ci/run).
#
#   bash scripts/test.sh [--no-setup] [--no-asan] [--no-integration] [--only-integration]
#                        [--stress]
#
# --stress runs everything after the build with every CPU kept busy by a
# background busy loop per CPU (stopped, by PID, when the run ends), and
# gives meson's timeouts a multiplier: tests must pass on a loaded machine.
#
# 1. scripts/setup.sh: packages, hugepages, meson build in build/
# 2. meson test -C build: every CUnit suite (labels 'unit' and 'eal')
# 3. an ASan/UBSan build in build-asan of the DPDK-free suites (label 'unit')
# 3b. every fuzz target of tests/fuzz over its seed corpus (scripts/fuzz.sh
#    --corpus-only: clang, ASan/UBSan, in build-fuzz)
# 4. the integration tests, tests/integration/test_*.sh (namespaces, real
#    gateway and worker processes; they need root and exit 77 to skip)
# 5. other areas' runners, tests/*/run.sh (e.g. tests/python: PyTorch), each
#    ending with its own "N passed, M failed[, K skipped]" line
#
# Prints a summary with the time of each part and ends with the line
# "N passed, M failed[, K skipped]". Exits non-zero if anything failed.
set -uo pipefail
DTN_LOG_TAG=test
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$DTN_ROOT"
# DTN_BUILD (default build/) may name another build dir; the ASan one is beside it.
B=$(realpath --relative-to=. "$DTN_BUILD")
BA="$B-asan"

do_setup=1 do_unit=1 do_asan=1 do_integ=1 do_stress=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--no-setup) do_setup=0 ;;
	--no-asan) do_asan=0 ;;
	--no-integration) do_integ=0 ;;
	--only-integration) do_setup=0 do_unit=0 do_asan=0 ;;
	--stress) do_stress=1 ;;
	-h|--help) sed -n '3,22p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done

passed=0 failed=0 skipped=0
parts=()       # "name: result (time)" for the summary
failures=()    # what failed, for the summary

part_begin() { echo; echo "==== $1 ===="; part_t0=$(dtn_now); }
part_end() { parts+=("$(printf '%-40s %s (%ss)' "$1" "$2" "$(dtn_elapsed "$part_t0")")"); }

# Count a meson test run from its closing lines ("Ok: N", "Fail: N", ...).
meson_counts() {
	local log=$1 ok fail skip tout xpass
	ok=$(awk '/^Ok:/ { print $2 }' "$log"); ok=${ok:-0}
	fail=$(awk '/^Fail:/ { print $2 }' "$log"); fail=${fail:-0}
	xpass=$(awk '/^Unexpected Pass:/ { print $3 }' "$log"); xpass=${xpass:-0}
	tout=$(awk '/^Timeout:/ { print $2 }' "$log"); tout=${tout:-0}
	skip=$(awk '/^Skipped:/ { print $2 }' "$log"); skip=${skip:-0}
	m_ok=$ok m_fail=$((fail + xpass + tout)) m_skip=$skip
	awk '/^Summary of Failures/ { exit } { print }' "$log" |
		grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|UNEXPECTEDPASS)' |
		sed -E 's/^ *[0-9]+\/[0-9]+ +//; s/ +/ /g' | while read -r l; do echo "$2: $l"; done >>"$fail_list"
}

fail_list=$(mktemp)
stress_pids=()
stop_stress() {
	[[ ${#stress_pids[@]} -gt 0 ]] || return 0
	kill "${stress_pids[@]}" 2>/dev/null || true
	wait "${stress_pids[@]}" 2>/dev/null || true
	stress_pids=()
}
trap 'stop_stress; rm -f "$fail_list"' EXIT
t_all=$(dtn_now)
# Timeouts: meson's are explicit per test (tests/*/meson.build); ASan runs
# them 3x slower, a loaded machine 3x more. The integration bound only
# catches a hang.
t_mult=1 integ_bound=300

# ---- 1. setup and build -----------------------------------------------------
if [[ $do_setup -eq 1 ]]; then
	part_begin "setup and build (scripts/setup.sh)"
	if bash scripts/setup.sh --build-dir "$B"; then
		part_end "setup + build" "ok"
	else
		failed=$((failed + 1)); echo "setup/build: scripts/setup.sh failed" >>"$fail_list"
		part_end "setup + build" "FAILED"
		do_unit=0 do_integ=0
	fi
fi

if [[ $do_stress -eq 1 ]]; then
	n_cpu=$(nproc)
	for (( i = 0; i < n_cpu; i++ )); do
		( trap - INT TERM; exec sh -c 'while :; do :; done' ) &
		stress_pids+=("$!")
	done
	t_mult=3 integ_bound=900
	echo
	echo "==== stress: $n_cpu busy loops (PIDs ${stress_pids[*]}) for the rest of the run ===="
fi

# ---- 2. CUnit suites ----------------------------------------------------------
if [[ $do_unit -eq 1 ]]; then
	part_begin "CUnit suites (meson test -C build)"
	log=$(mktemp)
	meson test -C "$B" --print-errorlogs --timeout-multiplier "$t_mult" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	meson_counts "$log" "meson"
	if [[ $((m_ok + m_fail + m_skip)) -eq 0 && $rc -ne 0 ]]; then
		m_fail=1; echo "meson: meson test -C build failed to run (status $rc)" >>"$fail_list"
	fi
	passed=$((passed + m_ok)) failed=$((failed + m_fail)) skipped=$((skipped + m_skip))
	part_end "CUnit (build)" "$m_ok ok, $m_fail failed, $m_skip skipped"
	rm -f "$log"
fi

# ---- 3. ASan/UBSan build of the DPDK-free suites -------------------------------
if [[ $do_asan -eq 1 ]]; then
	part_begin "ASan/UBSan: DPDK-free suites ($BA, suite 'unit')"
	log=$(mktemp)
	ok=1 targets=()
	if [[ -f "$BA/build.ninja" ]]; then
		meson setup --reconfigure "$BA" -Db_sanitize=address,undefined -Db_lundef=false \
			-Dbuildtype=debugoptimized >"$log" 2>&1 || ok=0
	else
		meson setup "$BA" -Db_sanitize=address,undefined -Db_lundef=false \
			-Dbuildtype=debugoptimized >"$log" 2>&1 || ok=0
	fi
	[[ $ok -eq 1 ]] || { cat "$log"; echo "asan: meson setup $BA failed" >>"$fail_list"; }
	if [[ $ok -eq 1 ]]; then
		# Build only the executables of the 'unit' suites: the DPDK parts of
		# the tree are not built (or run) under the sanitizers.
		mapfile -t targets < <("$DTN_PY" - "$BA" <<'PYEOF'
import json, os, subprocess, sys
root = os.path.abspath(sys.argv[1])
intro = lambda what: json.loads(subprocess.check_output(["meson", "introspect", what, root]))
files = {t["id"]: t["filename"] for t in intro("--targets")}
want = set()
for t in intro("--tests"):
    if not any(s == "unit" or s.endswith(":unit") for s in t.get("suite", [])):
        continue
    # The test's own executable, any built program it is given as an argument
    # (a script testing a tool), and the targets it declares it depends on.
    paths = [a for a in t["cmd"] if a.startswith(root + "/")]
    for d in t.get("depends", []):
        paths += files.get(d, [])
    want.update(os.path.relpath(p, root) for p in paths if p.startswith(root + "/"))
print("\n".join(sorted(want)))
PYEOF
)
		if [[ ${#targets[@]} -eq 0 ]]; then
			echo "no tests labelled 'unit' yet: nothing to run under ASan"
		elif ! ninja -C "$BA" "${targets[@]}"; then
			ok=0; echo "asan: building the 'unit' suites in $BA failed" >>"$fail_list"
		fi
	fi
	if [[ $ok -eq 1 && ${#targets[@]} -gt 0 ]]; then
		ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			meson test -C "$BA" --no-rebuild --suite unit --print-errorlogs \
			--timeout-multiplier $((3 * t_mult)) 2>&1 | tee "$log"
		meson_counts "$log" "asan"
		passed=$((passed + m_ok)) failed=$((failed + m_fail)) skipped=$((skipped + m_skip))
		part_end "ASan/UBSan ($BA, unit)" "$m_ok ok, $m_fail failed, $m_skip skipped"
	elif [[ $ok -eq 1 ]]; then
		part_end "ASan/UBSan ($BA, unit)" "no 'unit' tests"
	else
		failed=$((failed + 1))
		part_end "ASan/UBSan ($BA, unit)" "BUILD FAILED"
	fi
	rm -f "$log"
fi

# ---- 3b. the fuzz targets over their seed corpora -------------------------------
if [[ $do_asan -eq 1 ]]; then
	part_begin "fuzz targets over their corpora (scripts/fuzz.sh --corpus-only)"
	log=$(mktemp)
	DTN_BUILD="$DTN_BUILD" bash scripts/fuzz.sh --corpus-only 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
	f_ok=$(awk '{ print $1 }' <<<"${line:-0 passed, 0 failed}")
	f_fail=$(awk '{ print $3 }' <<<"${line:-0 passed, 0 failed}")
	if [[ $rc -ne 0 && $f_fail -eq 0 ]]; then
		f_fail=1
	fi
	[[ $f_fail -eq 0 ]] || echo "fuzz: scripts/fuzz.sh --corpus-only: $f_fail failed (exit $rc)" >>"$fail_list"
	passed=$((passed + f_ok)) failed=$((failed + f_fail))
	part_end "fuzz corpora (build-fuzz)" "$f_ok passed, $f_fail failed"
	rm -f "$log"
fi

# ---- 4. integration tests -----------------------------------------------------
if [[ $do_integ -eq 1 ]]; then
	part_begin "integration tests (tests/integration)"
	i_ok=0 i_fail=0 i_skip=0 i_lines=()
	for t in tests/integration/test_*.sh; do
		[[ -e "$t" ]] || continue
		name=$(basename "$t" .sh)
		echo "---- $name"
		t0=$(dtn_now)
		# Each test bounds itself; this outer bound only catches a hang.
		timeout -k 10 "$integ_bound" bash "$t" </dev/null
		rc=$?
		case $rc in
		0) res=PASS; i_ok=$((i_ok + 1)) ;;
		77) res=SKIP; i_skip=$((i_skip + 1)) ;;
		124|137) res="FAIL (timed out after ${integ_bound}s)"; i_fail=$((i_fail + 1)) ;;
		*) res="FAIL (exit $rc)"; i_fail=$((i_fail + 1)) ;;
		esac
		[[ $res == FAIL* ]] && echo "integration: $name: $res" >>"$fail_list"
		printf -- '---- %s: %s (%ss)\n' "$name" "$res" "$(dtn_elapsed "$t0")"
		i_lines+=("$(printf '  %-38s %s (%ss)' "$name" "$res" "$(dtn_elapsed "$t0")")")
	done
	passed=$((passed + i_ok)) failed=$((failed + i_fail)) skipped=$((skipped + i_skip))
	part_end "integration" "$i_ok passed, $i_fail failed, $i_skip skipped"
	parts+=("${i_lines[@]}")
fi

# ---- 5. other suites' runners (tests/*/run.sh, e.g. the PyTorch tests) ---------
if [[ $do_integ -eq 1 ]]; then
	for runner in tests/*/run.sh; do
		[[ -e "$runner" ]] || continue
		area=$(basename "$(dirname "$runner")")
		part_begin "tests/$area ($runner)"
		log=$(mktemp)
		# Each runner bounds its own tests; this outer bound only catches a hang.
		DTN_BUILD="$DTN_BUILD" DTN_TIME_MULT=$t_mult timeout -k 60 $((3 * integ_bound)) \
			bash "$runner" </dev/null 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n1)
		if [[ -n "$line" ]]; then
			r_ok=$(awk '{ print $1 }' <<<"$line") r_fail=$(awk '{ print $3 }' <<<"$line")
			r_skip=$(awk '{ print ($5 == "" ? 0 : $5) }' <<<"$line")
		else
			r_ok=0 r_fail=0 r_skip=0
		fi
		if [[ $rc -ne 0 && $r_fail -eq 0 ]]; then
			r_fail=1   # died, hung or printed no tally
		fi
		[[ $r_fail -eq 0 ]] || echo "tests/$area: $runner: $r_fail failed (exit $rc)" >>"$fail_list"
		passed=$((passed + r_ok)) failed=$((failed + r_fail)) skipped=$((skipped + r_skip))
		part_end "tests/$area (run.sh)" "$r_ok passed, $r_fail failed, $r_skip skipped"
		rm -f "$log"
	done
fi

echo
stop_stress
echo "==== summary ($(dtn_elapsed "$t_all")s$([[ $do_stress -eq 1 ]] && echo ", under --stress")) ===="
printf '%s\n' "${parts[@]}"
if [[ -s "$fail_list" ]]; then
	echo "failures:"
	sed 's/^/  /' "$fail_list"
fi
if [[ $skipped -gt 0 ]]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]
