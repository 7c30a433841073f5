#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# setup.sh: make this machine ready to build and run daitn, then build it.
#
#   bash scripts/setup.sh [--core] [--no-build] [--no-hugepages] [--build-dir DIR]
#
#   --core          install only what the gateway, the workers, the demo and the
#                   C tests need (skip PyTorch, scikit-learn, Prometheus client,
#                   gnuplot); the default installs everything the tests use
#   --no-build      do not configure or build
#   --no-hugepages  leave hugepages alone
#   --build-dir DIR build there instead of build/
#
# Idempotent: packages are checked with dpkg-query first, so a machine that has
# everything costs no apt-get call. Debian 12 packages only. Runs as root, or as
# a user with sudo for the steps that need root (apt-get, hugepages).
set -euo pipefail
DTN_LOG_TAG=setup
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

core_only=0
do_build=1
do_huge=1
build_dir="$DTN_BUILD"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--core) core_only=1 ;;
	--no-build) do_build=0 ;;
	--no-hugepages) do_huge=0 ;;
	--build-dir) build_dir="$2"; shift ;;
	-h|--help) sed -n '3,15p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done

# Build tools and libraries, DPDK with the virtual-device PMDs we use, and the
# tools the scripts call (ip, tc, ethtool, nft for loss injection where the
# kernel has no netem, ping for checks).
core_pkgs=(
	build-essential gcc meson ninja-build pkg-config
	libdpdk-dev dpdk dpdk-dev
	librte-net-af-packet23 librte-net-ring23 librte-net-null23 librte-net-tap23
	liburcu-dev libjansson-dev libcunit1-dev
	iproute2 iputils-ping ethtool nftables procps
	python3 python3-numpy valgrind scdoc
)
# PyTorch integration, telemetry exporter and plots; clang with its libFuzzer
# runtime for the fuzz targets (scripts/fuzz.sh); the Debian packaging tools
# (scripts/package.sh). scdoc (above) builds the manual pages.
heavy_pkgs=(python3-torch python3-sklearn python3-prometheus-client python3-matplotlib gnuplot-nox
	clang-14 libclang-rt-14-dev debhelper dh-python)

summary=()

# --- packages ---------------------------------------------------------------
want=("${core_pkgs[@]}")
[[ $core_only -eq 1 ]] || want+=("${heavy_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ "$st" == ii* ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	dtn_log "packages: all ${#want[@]} present"
	summary+=("packages: all ${#want[@]} present")
else
	dtn_log "packages: installing ${#missing[@]} missing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	dtn_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		dtn_die "apt-get update failed: check the network access to the Debian archive"
	dtn_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		dtn_die "apt-get install failed for: ${missing[*]}"
	summary+=("packages: installed ${missing[*]}")
fi

# --- hugepages --------------------------------------------------------------
# The gateway wants 2 MB hugepages (config "hugepages": true). We reserve 512
# free ones if fewer are free, and mount hugetlbfs at /dev/hugepages if no
# hugetlbfs is mounted. Without them the gateway still runs, with --no-huge.
huge_want=512
huge_cap=4096   # never grow the pool past 8 GiB, whatever else is using it
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
huge_msg=""
if [[ $do_huge -eq 0 ]]; then
	huge_msg="hugepages: left alone (--no-hugepages)"
elif [[ ! -e "$nr" ]]; then
	huge_msg="hugepages: this kernel has no 2 MB hugepages; the gateway will run with --no-huge (slower)"
else
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	total=$(cat "$nr")
	did=()
	if (( free < huge_want )); then
		target=$(( total + huge_want - free ))
		(( target <= huge_cap )) || target=$huge_cap
		if echo "$target" | dtn_as_root tee "$nr" >/dev/null 2>&1; then
			did+=("reserved $(( $(cat "$nr") - total )) more (pool $total -> $(cat "$nr"))")
		else
			did+=("could not write $nr")
		fi
	fi
	if ! grep -qs ' hugetlbfs ' /proc/mounts; then
		if dtn_as_root mkdir -p /dev/hugepages &&
		   dtn_as_root mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages; then
			did+=("mounted hugetlbfs at /dev/hugepages")
		else
			did+=("could not mount hugetlbfs at /dev/hugepages")
		fi
	fi
	free=$(dtn_hugepages_free)
	[[ ${#did[@]} -gt 0 ]] || did+=("nothing to do")
	if (( free >= 128 )); then
		huge_msg="hugepages: $free free x 2 MB, mounted ($(IFS=';'; echo "${did[*]}"))"
	else
		huge_msg="hugepages: only $free free ($(IFS=';'; echo "${did[*]}")); the gateway will run with --no-huge (slower)"
	fi
fi
dtn_log "$huge_msg"
summary+=("$huge_msg")

# --- build ------------------------------------------------------------------
if [[ $do_build -eq 1 ]]; then
	cd "$DTN_ROOT"
	log=$(mktemp)
	if [[ -f "$build_dir/build.ninja" ]]; then
		dtn_log "build: reconfiguring $build_dir"
		set -- setup --reconfigure "$build_dir"
	else
		dtn_log "build: configuring $build_dir"
		set -- setup "$build_dir"
	fi
	meson "$@" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; dtn_die "meson $* failed"; }
	rm -f "$log"
	ninja -C "$build_dir" || dtn_die "build failed (ninja -C $build_dir); see the errors above"
	built=()
	for b in dataplane/gw/daitn-gw client/daitn-worker control/daitnctl; do
		[[ -x "$build_dir/$b" ]] && built+=("$b")
	done
	summary+=("build: $build_dir OK (${built[*]:-no programs yet})")
else
	summary+=("build: skipped (--no-build)")
fi

echo "---- setup summary ----"
printf '  %s\n' "${summary[@]}"
