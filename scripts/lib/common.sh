# SPDX-License-Identifier: BSD-3-Clause
# common.sh: small helpers shared by daitn's shell scripts (sourced, not run).
#
# Provides: DTN_ROOT (repository root), DTN_PY (/usr/bin/python3: torch and
# the Debian Python packages only import there), dtn_log/dtn_warn/dtn_die,
# dtn_as_root (runs a command as root: directly, or through sudo),
# dtn_hugepages_free (free 2 MB hugepages, 0 when none are usable) and
# dtn_load_check (warn a benchmark that other work shares the cores).

[[ -n "${DTN_COMMON_SOURCED:-}" ]] && return 0
DTN_COMMON_SOURCED=1

DTN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DTN_PY=/usr/bin/python3
DTN_BUILD="${DTN_BUILD:-$DTN_ROOT/build}"

dtn_log() { printf '%s\n' "${DTN_LOG_TAG:-daitn}: $*"; }
dtn_warn() { printf '%s\n' "${DTN_LOG_TAG:-daitn}: warning: $*" >&2; }
dtn_die() { printf '%s\n' "${DTN_LOG_TAG:-daitn}: error: $*" >&2; exit 1; }

dtn_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Run "$@" as root. Outside root we need sudo; say so instead of failing obscurely.
dtn_as_root() {
	if dtn_is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		dtn_die "'$*' needs root: run this script as root or install sudo"
	fi
}

# Require root for scripts that create namespaces; re-executing under sudo is
# the caller's choice (demo.sh does it), not something done behind its back.
dtn_require_root() {
	dtn_is_root || dtn_die "this needs root (network namespaces, DPDK): run it as root or with sudo"
}

# Free 2 MB hugepages on a mounted hugetlbfs, or 0 if hugepages cannot be used.
dtn_hugepages_free() {
	if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts &&
	   ! grep -qs ' hugetlbfs ' /proc/mounts; then
		echo 0
		return
	fi
	awk '/^HugePages_Free:/ { print $2; found = 1 } END { if (!found) print 0 }' /proc/meminfo
}

# Seconds since the epoch with nanoseconds, for timings.
dtn_now() { date +%s.%N; }
# dtn_load_check: the 1-minute load average, in DTN_LOAD, with a warning when
# other work already shares the cores (a benchmark's figures will be noisy).
dtn_load_check() {
	DTN_LOAD=$(cut -d' ' -f1 /proc/loadavg)
	if awk -v l="$DTN_LOAD" 'BEGIN { exit !(l > 1.0) }'; then
		dtn_warn "load average $DTN_LOAD before the run: other work shares the cores, figures will be noisy"
	fi
}
dtn_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# Exit hooks: scripts register clean-up with dtn_on_exit and call dtn_trap_install
# once; hooks run in reverse order of registration, each at most once, whatever
# the exit path (normal exit, error under set -e, SIGINT, SIGTERM, SIGHUP).
DTN_EXIT_HOOKS=()
dtn_on_exit() { DTN_EXIT_HOOKS+=("$*"); }
dtn_run_exit_hooks() {
	local i
	for (( i = ${#DTN_EXIT_HOOKS[@]} - 1; i >= 0; i-- )); do
		eval "${DTN_EXIT_HOOKS[$i]}" || true
	done
	DTN_EXIT_HOOKS=()
}
dtn_trap_install() {
	trap 'rc=$?; trap - EXIT; dtn_run_exit_hooks; exit $rc' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}
