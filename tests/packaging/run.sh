#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run.sh: the Debian packages, built, installed on this machine and used from
# the installed files only (tests/packaging).
#
#   bash tests/packaging/run.sh
#
# 1. scripts/package.sh builds the packages (working tree) into a temporary
#    folder; lintian finds no error in them (where lintian is installed);
#    none of their files may exist here yet (else: skip, saying which).
# 2. dpkg -i libdaitn0, python3-daitn and daitn: /usr/bin/python3 -I loads the
#    installed libdaitn.so.0 with no -dev symlink; then libdaitn-dev.
# 3. The installed files: programs, conffiles, the Python package (every
#    module of python/daitn), daitn.pc; man -w for every manual page;
#    systemd-analyze verify on the installed units; daitnctl validates the
#    example configuration from /etc/daitn.
# 4. In network namespaces (scripts/lib/gateway.sh), /usr/bin/daitn-gw on that
#    configuration, under the capability bounding set and no-new-privileges
#    of its unit (setpriv), and against it:
#    - /usr/bin/daitn-worker, job 1, 4 ranks, every element verified, while
#      dpdk-dumpcap captures (when hugepages are free);
#    - a C program built with cc $(pkg-config --cflags --libs daitn), job 2;
#    - the installed Python binding under /usr/bin/python3 -I, job 4; and
#      import daitn.torch;
#    - daitnctl status and daitn-exporter --once on its telemetry;
#    and the gateway stops cleanly.
# 5. dpkg -P removes every package, and none of their files is left. The
#    purge also runs on any failure or interruption (exit hook).
#
# Needs root (dpkg, namespaces). Ends with "N passed, M failed, K skipped"
# (one per check); exits 1 if any check failed.
set -uo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/integration/lib.sh"
IT_NAME=packaging
HERE="$DTN_ROOT/tests/packaging"
IT_SKIP=0
PKGS=(libdaitn0 python3-daitn daitn libdaitn-dev)

pk_skip() { IT_SKIP=$((IT_SKIP + 1)); it_log "skipped: $*"; }
pk_summary() {
	echo "$IT_PASS passed, $IT_FAIL failed, $IT_SKIP skipped"
	[[ $IT_FAIL -eq 0 ]]
	exit $?
}
pk_skip_all() {
	echo "SKIP: $IT_NAME: $*"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}
# Packages of ours that dpkg knows as installed (or half-installed, or with
# conffiles left).
pk_installed() {
	local p st
	for p in "${PKGS[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || continue
		[[ "${st:1:1}" == n ]] || echo "$p"
	done
}
# dpkg, waiting (bounded) for a lock another apt or dpkg may hold.
pk_dpkg() {
	local deadline=$(( $(date +%s) + 120 )) out rc
	while :; do
		# In a session of its own: the SIGTERM/SIGKILL that a runner's
		# timeout sends to this test's process group must not cut dpkg
		# short and leave its database half-configured.
		out=$(setsid -w dpkg "$@" 2>&1); rc=$?
		[[ $rc -ne 0 && "$out" == *"lock"* && $(date +%s) -lt $deadline ]] || break
		sleep 1
	done
	printf '%s\n' "$out" >>"$DTN_TMP/dpkg.log"
	[[ $rc -eq 0 ]] || printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
	return $rc
}
pk_purge() {
	local left
	mapfile -t left < <(pk_installed)
	[[ ${#left[@]} -eq 0 ]] && return 0
	pk_dpkg -P "${left[@]}"
}

# ---- prerequisites ------------------------------------------------------------
dtn_is_root || pk_skip_all "needs root (dpkg -i, network namespaces)"
for t in dpkg-buildpackage dh dh_python3 setpriv setsid cc pkg-config ethtool; do
	command -v "$t" >/dev/null || pk_skip_all "$t is missing (bash scripts/setup.sh installs the tools)"
done
probe="dtprobe$$"
ip netns add "$probe" 2>/dev/null || pk_skip_all "cannot create network namespaces here (ip netns add failed)"
ip netns del "$probe"
# Packages of ours installed here: by an operator (skip), or left by an
# earlier run of this test that was cut short (a failure: the test must
# always purge what it installed).
mapfile -t already < <(pk_installed)
if [[ ${#already[@]} -ne 0 ]]; then
	if [[ -e /var/lib/daitn-packaging-test ]]; then
		echo "packaging: FAIL: an earlier run left ${already[*]} installed (dpkg -P ${already[*]})"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
	pk_skip_all "already installed here: ${already[*]}; this test installs and purges its own (dpkg -P ${already[*]} first)"
fi

dtn_trap_install
dtn_tmp_create
T=$DTN_TMP
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# ---- 1. build -------------------------------------------------------------------
t0=$(dtn_now)
# Not niced: on a loaded machine (scripts/test.sh --stress) a niced build
# gets a tenth of a CPU. The bound only catches a hang; --stress scales it.
DAITN_PACKAGE_NICE=0 timeout -k 10 $((420 * ${DTN_TIME_MULT:-1})) \
	bash "$DTN_ROOT/scripts/package.sh" --out "$T/debs" >"$T/package.log" 2>&1
rc=$?
it_check "[[ $rc -eq 0 ]]" "scripts/package.sh built the packages ($(dtn_elapsed "$t0")s, exit $rc)"
if [[ $rc -ne 0 ]]; then
	tail -n 30 "$T/package.log" | sed 's/^/    /'
	pk_summary
fi
sed -n 's/^  /    /p' "$T/package.log"
declare -A DEB=()
for p in "${PKGS[@]}"; do
	DEB[$p]=$(ls "$T/debs/${p}_"*.deb 2>/dev/null | head -n 1)
	it_check "[[ -n '${DEB[$p]}' ]]" "package $p built"
done
[[ $IT_FAIL -eq 0 ]] || pk_summary
if command -v lintian >/dev/null; then
	timeout 120 lintian --fail-on error "${DEB[@]}" >"$T/lintian.log" 2>&1
	rc=$?
	it_check "[[ $rc -eq 0 ]]" "lintian: $(grep -c '^E:' "$T/lintian.log") errors, $(grep -c '^W:' "$T/lintian.log") warnings"
	[[ $rc -eq 0 ]] || grep '^E:' "$T/lintian.log" | sed 's/^/    /'
else
	pk_skip "lintian is not installed: the packages are not linted"
fi

# Every file the packages hold; none may be here already (dpkg -i would
# overwrite it and dpkg -P remove it).
mapfile -t FILES < <(for p in "${PKGS[@]}"; do dpkg-deb --fsys-tarfile "${DEB[$p]}" | tar -t; done |
	sed 's|^\./|/|' | grep -v '/$' | sort -u)
present=()
for f in "${FILES[@]}"; do
	[[ -e "$f" || -L "$f" ]] && present+=("$f")
done
[[ ${#present[@]} -eq 0 ]] ||
	pk_skip_all "files of the packages exist here already, from outside dpkg: ${present[*]:0:5}"
etc_before=0
[[ -d /etc/daitn ]] && etc_before=1

# ---- 2. install -----------------------------------------------------------------
# A marker while our packages are installed: a later run that finds them
# knows this test left them (above).
touch /var/lib/daitn-packaging-test
dtn_on_exit "pk_purge && rm -f /var/lib/daitn-packaging-test"
it_check "pk_dpkg -i '${DEB[libdaitn0]}' '${DEB[python3-daitn]}' '${DEB[daitn]}'" \
	"dpkg -i libdaitn0 python3-daitn daitn"
[[ $IT_FAIL -eq 0 ]] || pk_summary
# ctypes.util.find_library finds the soname through ldconfig's cache (the
# dpkg trigger updated it): no libdaitn.so symlink is needed.
lib=$(env -u DTN_BUILD -u DAITN_LIB /usr/bin/python3 -I -c \
	'import daitn; daitn.load_library(); print(daitn.library_path())' 2>&1)
it_check "[[ ! -e /usr/lib/$MA/libdaitn.so && '$lib' == libdaitn.so.0 ]]" \
	"without libdaitn-dev, /usr/bin/python3 -I loads the installed library by its soname ($lib)"
it_check "pk_dpkg -i '${DEB[libdaitn-dev]}'" "dpkg -i libdaitn-dev"
[[ $IT_FAIL -eq 0 ]] || pk_summary

# ---- 3. the installed files -----------------------------------------------------
missing=()
for b in daitn-gw daitnctl daitn-worker daitn-infer daitn-exporter; do
	[[ -x /usr/bin/$b ]] || missing+=("/usr/bin/$b")
done
it_check "[[ ${#missing[@]} -eq 0 ]]" "programs in /usr/bin${missing[*]:+; missing: ${missing[*]}}"
it_check "! ldd /usr/bin/daitn-gw | grep -q 'not found'" "every library daitn-gw links is installed"
n_conf=$(dpkg-query -W -f='${Conffiles}\n' daitn | grep -c '^ /etc/daitn/.*\.example ')
it_check "[[ $n_conf -eq 2 ]]" "the two examples are conffiles in /etc/daitn ($n_conf)"
tree_py=$(cd "$DTN_ROOT/python/daitn" && ls -- *.py | tr '\n' ' ')
inst_py=$(cd /usr/lib/python3/dist-packages/daitn 2>/dev/null && ls -- *.py | tr '\n' ' ')
it_check "[[ '$tree_py' == '$inst_py' ]]" "every module of python/daitn is installed ($inst_py)"
it_check "[[ \$(pkg-config --modversion daitn) == \$(dpkg-query -W -f='\${Version}' libdaitn-dev) ]]" \
	"pkg-config daitn: version $(pkg-config --modversion daitn 2>&1)"

verify_man=yes
if ! command -v man >/dev/null; then
	verify_man=no
	pk_skip "man -w: man-db is not installed here"
elif [[ -e /usr/share/man/man1/daitnctl.1.gz ]]; then
	for page in daitn-gw daitnctl daitn-worker daitn-infer; do
		it_check "[[ \$(man -w $page) == /usr/share/man/man1/$page.1.gz ]]" "man -w $page: $(man -w $page 2>&1)"
	done
	it_check "[[ \$(man -w 3 libdaitn) == /usr/share/man/man3/libdaitn.3.gz ]]" \
		"man -w 3 libdaitn: $(man -w 3 libdaitn 2>&1)"
else
	# The packages hold them (debian/rules builds them with -Dman=enabled).
	verify_man=no
	pk_skip "man -w: dpkg's configuration here keeps /usr/share/man out (path-exclude)"
fi

mapfile -t UNITS < <(dpkg -L daitn | grep -E '/systemd/system/[^/]+\.service$')
if command -v systemd-analyze >/dev/null; then
	out=$(cd / && systemd-analyze verify --man="$verify_man" "${UNITS[@]}" 2>&1)
	rc=$?
	it_check "[[ ${#UNITS[@]} -eq 2 && $rc -eq 0 ]]" "systemd-analyze verify: ${UNITS[*]}"
	[[ $rc -eq 0 ]] || printf '%s\n' "$out" | sed 's/^/    /'
else
	pk_skip "systemd-analyze is missing (systemd package): the units are not verified"
fi
GW_UNIT=$(printf '%s\n' "${UNITS[@]}" | grep 'daitn-gw@')

# The example configuration, as an operator copies it (docs/operations.md).
mkdir "$T/etc"
cp /etc/daitn/gateway-demo.json.example "$T/etc/gateway-demo.json"
cp /etc/daitn/policy-demo.json.example "$T/etc/policy-demo.json"
it_check "/usr/bin/daitnctl validate --config '$T/etc/gateway-demo.json' >'$T/validate.log' 2>&1" \
	"daitnctl validate: the examples from /etc/daitn are a valid configuration and policy"

# ---- 4. the installed gateway and its clients -------------------------------------
# The gateway runs as its unit would: the unit's CapabilityBoundingSet and
# NoNewPrivileges, applied by setpriv (root's permitted set becomes the
# bounding set at exec).
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$GW_UNIT")
n_caps=$(wc -w <<<"$caps")
bset="-all"
for c in $caps; do
	c=${c#CAP_}
	bset+=",+${c,,}"
done
cat >"$T/daitn-gw-unit" <<EOF
#!/bin/sh
exec setpriv --no-new-privs --inh-caps=-all --bounding-set=$bset /usr/bin/daitn-gw "\$@"
EOF
chmod +x "$T/daitn-gw-unit"
DTN_GW_BIN="$T/daitn-gw-unit"
DTN_WORKER_BIN=/usr/bin/daitn-worker
IT_POLICY="$T/etc/policy-demo.json"

dtn_job_load "$IT_POLICY" 1
dtn_topo_create "$DTN_JOB_N"
dtn_gw_config_make "$T/etc/gateway-demo.json" "$T/gateway.json"
capture=0
if [[ $(dtn_hugepages_free) -ge 128 ]] && command -v dpdk-dumpcap >/dev/null; then
	capture=1
	dtn_gw_config_capture "$T/gateway.json"
fi
dtn_gw_start "$T/gateway.json"
if ! dtn_gw_wait_ready 60; then
	it_check "false" "/usr/bin/daitn-gw came up on the example configuration"
	pk_summary
fi
it_check "true" "/usr/bin/daitn-gw came up on the example configuration, with the unit's capabilities"
bnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$DTN_GW_PID/status")
nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$DTN_GW_PID/status")
n_bnd=0
for (( v = 16#$bnd; v > 0; v >>= 1 )); do n_bnd=$(( n_bnd + (v & 1) )); done
it_check "[[ $n_bnd -eq $n_caps && $nnp -eq 1 ]]" \
	"the gateway runs with the unit's $n_caps capabilities (CapBnd $bnd) and no new privileges"
it_check "/usr/bin/daitnctl status -f '$DTN_GW_PREFIX' >'$T/status.log' 2>&1" \
	"daitnctl status -f $DTN_GW_PREFIX answers"

CAP_PID=""
if [[ $capture -eq 1 ]]; then
	if dtn_dumpcap_start "$T/gateway.json" 100 "$T/capture.pcapng" "$T/dumpcap.log"; then
		CAP_PID=$DTN_DUMPCAP_PID
	else
		it_check "false" "dpdk-dumpcap attached to the installed gateway"
		sed 's/^/    /' "$T/dumpcap.log"
	fi
else
	pk_skip "dpdk-dumpcap: no free hugepages or no dpdk-dumpcap (dpdk package) here"
fi

it_check "it_run_job 1 float32 exact 5 65536" \
	"/usr/bin/daitn-worker: job 1, $DTN_JOB_N ranks, 5 rounds, every element verified"
if [[ -n "$CAP_PID" ]]; then
	rc=0
	dtn_wait_all 60 "$CAP_PID" || rc=${DTN_WAIT_RC[0]}
	it_check "[[ $rc -eq 0 && -s '$T/capture.pcapng' ]]" \
		"dpdk-dumpcap captured 100 frames of the job (exit $rc): $(tail -n 1 "$T/dumpcap.log")"
fi

# A C program against the installed header and library.
it_check "cc -Wall -Wextra -Werror -o '$T/installed_allreduce' '$HERE/installed_allreduce.c' \$(pkg-config --cflags --libs daitn)" \
	"cc installed_allreduce.c \$(pkg-config --cflags --libs daitn)"
linked=$(ldd "$T/installed_allreduce" 2>/dev/null | awk '$1 == "libdaitn.so.0" { print $3 }')
it_check "[[ -n '$linked' && \$(readlink -f '$linked') == \$(readlink -f /usr/lib/$MA/libdaitn.so.0) ]]" \
	"the program links the installed libdaitn.so.0 ($linked)"
dtn_job_load "$IT_POLICY" 2
pids=()
for (( r = 0; r < DTN_JOB_N; r++ )); do
	dtn_bg "$(dtn_ns_worker $((r + 1)))" "$T/c-rank$r.log" "$T/installed_allreduce" \
		"$DTN_GW_IP" "${DTN_JOB_IPS[$r]}" "${DTN_JOB_PORTS[$r]}" "$DTN_JOB_ID" "$r" "$DTN_JOB_N"
	pids+=("$DTN_LAST_PID")
done
dtn_wait_all 90 "${pids[@]}"
for (( r = 0; r < DTN_JOB_N; r++ )); do
	it_check "[[ ${DTN_WAIT_RC[$r]} -eq 0 ]] && grep -q '^rank $r: 10000 of 10000 elements OK' '$T/c-rank$r.log'" \
		"C program, job $DTN_JOB_ID ($DTN_JOB_DTYPE), rank $r: $(tail -n 1 "$T/c-rank$r.log")"
done

# The installed Python package: isolated interpreter, no build tree in sight.
dtn_job_load "$IT_POLICY" 4
pids=()
for (( r = 0; r < DTN_JOB_N; r++ )); do
	dtn_bg "$(dtn_ns_worker $((r + 1)))" "$T/py-rank$r.log" env -u DTN_BUILD -u DAITN_LIB \
		/usr/bin/python3 -I "$HERE/installed_allreduce.py" "$DTN_GW_IP" "$DTN_JOB_ID" "$r" \
		"${DTN_JOB_PORTS[$r]}" "$DTN_JOB_N"
	pids+=("$DTN_LAST_PID")
done
dtn_wait_all 90 "${pids[@]}"
for (( r = 0; r < DTN_JOB_N; r++ )); do
	it_check "[[ ${DTN_WAIT_RC[$r]} -eq 0 ]] && grep -q '^rank $r: 4096 of 4096 elements OK' '$T/py-rank$r.log'" \
		"python3 -I, job $DTN_JOB_ID ($DTN_JOB_DTYPE), rank $r: $(tail -n 1 "$T/py-rank$r.log")"
done
if /usr/bin/python3 -I -c 'import torch' >/dev/null 2>&1; then
	it_check "env -u DTN_BUILD -u DAITN_LIB timeout 120 /usr/bin/python3 -I -c 'import daitn.torch' >'$T/torch.log' 2>&1" \
		"/usr/bin/python3 -I -c 'import daitn.torch'"
else
	pk_skip "import daitn.torch: torch does not import under /usr/bin/python3 (python3-torch)"
fi

if /usr/bin/python3 -I -c 'import prometheus_client' >/dev/null 2>&1; then
	timeout 60 /usr/bin/daitn-exporter -f "$DTN_GW_PREFIX" --once >"$T/metrics.txt" 2>&1
	rc=$?
	it_check "[[ $rc -eq 0 ]] && grep -Eq '^daitn_up(\\{[^}]*\\})? 1(\\.0)?$' '$T/metrics.txt'" \
		"daitn-exporter -f $DTN_GW_PREFIX --once: $(grep -c '^daitn_' "$T/metrics.txt") samples, daitn_up 1"
else
	pk_skip "daitn-exporter: python3-prometheus-client is not installed"
fi

dtn_gw_stop 10
it_check "[[ $DTN_GW_STOP_RC -eq 0 ]]" "the installed gateway shut down cleanly (status $DTN_GW_STOP_RC)"
dtn_topo_teardown

# ---- 5. purge -------------------------------------------------------------------
it_check "pk_purge" "dpkg -P ${PKGS[*]}"
mapfile -t left < <(pk_installed)
it_check "[[ ${#left[@]} -eq 0 ]]" "dpkg knows none of the packages any more${left[*]:+ (left: ${left[*]})}"
left=()
for f in "${FILES[@]}" /usr/lib/python3/dist-packages/daitn; do
	[[ -e "$f" || -L "$f" ]] && left+=("$f")
done
[[ $etc_before -eq 0 && -d /etc/daitn ]] && left+=(/etc/daitn)
it_check "[[ ${#left[@]} -eq 0 ]]" "nothing of the packages is left${left[*]:+: ${left[*]}}"
pk_summary
