# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# bench.sh: the steps the benchmark scripts share (sourced, not run; sources
# common.sh).
#
# Provides: dtn_bench_check (refuse a sanitizer or debug build directory),
# dtn_bench_build (configure a build directory if needed, check it, build the
# benchmark program alone: its path in DTN_BENCH_BIN), dtn_bench_pin (taskset
# prefix in DTN_BENCH_PIN), dtn_cpu_model (the CPU's model name, for the
# run's header) and dtn_rate_bps (a tc rate such as 100mbit in bit/s).

[[ -n "${DTN_BENCH_SOURCED:-}" ]] && return 0
DTN_BENCH_SOURCED=1

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# dtn_bench_check DIR CHECK
# Dies when DIR is a build that would measure its instrumentation rather than
# the code: CHECK "plain" refuses sanitizer builds, "release" also debug
# builds, "any" none.
dtn_bench_check() {
	local dir=$1 bad='o.get("b_sanitize","none")!="none"' what="sanitizer" want="a plain (release)"

	case "$2" in
	plain) ;;
	release) bad+=' or o.get("buildtype")=="debug"' what="sanitizer or debug" want="a release" ;;
	any) return 0 ;;
	*) dtn_die "dtn_bench_check: CHECK '$2' is not plain, release or any" ;;
	esac
	meson introspect --buildoptions "$dir" 2>/dev/null |
		"$DTN_PY" -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; sys.exit('"$bad"')' ||
		dtn_die "$dir is a $what build: pass --build-dir with $want build"
}

# dtn_bench_build DIR TARGET CHECK [HINT]
# Configures DIR (meson setup) when it has no build.ninja yet, refuses it
# unless it passes dtn_bench_check CHECK, and builds TARGET (a ninja target,
# e.g. kernels/bench/kn-bench) in it, nothing else: other modules may be
# mid-edit. HINT ends the message when the build fails (default: the ninja
# command to run). Sets DTN_BENCH_BIN to the program's path; dies on failure.
dtn_bench_build() {
	local dir=$1 target=$2 check=$3 hint=${4:-"ninja -C $1 $2"}

	if [[ ! -f "$dir/build.ninja" ]]; then
		dtn_log "configuring $dir"
		meson setup "$dir" "$DTN_ROOT" >/dev/null ||
			dtn_die "meson setup $dir failed (run scripts/setup.sh first?)"
	fi
	dtn_bench_check "$dir" "$check"
	ninja -C "$dir" "$target" >/dev/null ||
		dtn_die "building ${target##*/} in $dir failed ($hint)"
	DTN_BENCH_BIN="$dir/$target"
}

# dtn_bench_pin CPUS
# Sets DTN_BENCH_PIN to the taskset prefix that pins a command to CPUS (a
# taskset list) and returns 0; without taskset, warns, leaves it empty and
# returns 1 (the run goes on unpinned).
dtn_bench_pin() {
	DTN_BENCH_PIN=()
	if command -v taskset >/dev/null 2>&1; then
		DTN_BENCH_PIN=(taskset -c "$1")
		return 0
	fi
	dtn_warn "taskset not found: running unpinned, figures will be noisier"
	return 1
}

# The first CPU's model name from /proc/cpuinfo.
dtn_cpu_model() { awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo; }

# dtn_rate_bps RATE: "100mbit" -> 100000000 (tc's units: k/m/g, "bit", or
# "bps" for bytes). Dies on anything else.
dtn_rate_bps() {
	"$DTN_PY" -c '
import re, sys
m = re.fullmatch(r"([0-9.]+)([kmg]?)(bit|bps)?", sys.argv[1].lower())
if not m:
    sys.exit("rate %r: expected e.g. 100mbit or 1gbit" % sys.argv[1])
print(int(float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]
          * (8 if m.group(3) == "bps" else 1)))' "$1"
}
