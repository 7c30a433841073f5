#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# package.sh: build daitn's Debian packages (binary only, unsigned).
#
#   bash scripts/package.sh [--out DIR] [--head] [--jobs N] [--keep]
#
#   --out DIR  where the .deb files go (default out/, which git ignores)
#   --head     package the last commit (git archive HEAD) instead of the
#              working tree
#   --jobs N   parallel compile jobs (default: the number of CPUs)
#   --keep     keep the temporary build tree (its path is printed)
#
# By default it packages the working tree as git sees it: tracked files with
# their uncommitted changes, plus untracked files that .gitignore does not
# ignore, so that work in progress can be packaged and installed; ignored
# files (build*/, out/) never go in. The tree is copied to a temporary
# directory, scripts/package/debian/ becomes its debian/, a debian/changelog
# is written there with meson.build's project version, and
# dpkg-buildpackage -us -uc -b builds it under nice (DAITN_PACKAGE_NICE,
# default 10). The test suites are compiled but not run: they need root and
# namespaces; tests/packaging/run.sh tests the installed packages instead.
#
# Packages: daitn (programs, units, /etc/daitn examples, man1), libdaitn0,
# libdaitn-dev, python3-daitn, and the -dbgsym package of each binary one;
# docs/operations.md says what each holds. Needs the build dependencies in
# scripts/package/debian/control (scripts/setup.sh installs them).
set -euo pipefail
DTN_LOG_TAG=package
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

out="$DTN_ROOT/out" from_head=0 jobs=$(nproc) keep=0 niceness=${DAITN_PACKAGE_NICE:-10}
while [[ $# -gt 0 ]]; do
	case "$1" in
	--out) out=$2; shift ;;
	--head) from_head=1 ;;
	--jobs) jobs=$2; shift ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '3,26p' "$0"; exit 0 ;;
	*) dtn_die "unknown option '$1' (see --help)" ;;
	esac
	shift
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || dtn_die "--jobs: expected a positive number, got '$jobs'"
[[ "$niceness" =~ ^-?[0-9]+$ ]] || dtn_die "DAITN_PACKAGE_NICE: expected a niceness, got '$niceness'"
out=$(realpath -m -- "$out")     # relative to where it was called from
cd "$DTN_ROOT"
for tool in git meson dpkg-buildpackage dh dh_python3; do
	command -v "$tool" >/dev/null ||
		dtn_die "$tool is missing: bash scripts/setup.sh installs the packaging tools (debhelper, dh-python)"
done
# git refuses a repository owned by another user ("dubious ownership"), as a
# clone tested as root may be: this one is the tree we were asked to package.
git() { command git -c safe.directory="$DTN_ROOT" "$@"; }
git rev-parse --git-dir >/dev/null 2>&1 || dtn_die "$DTN_ROOT is not a git repository: package.sh takes the files git knows"

t0=$(dtn_now)
version=$(meson introspect meson.build --projectinfo 2>/dev/null |
	"$DTN_PY" -c 'import json, sys; print(json.load(sys.stdin)["version"])') ||
	dtn_die "cannot read the project version from meson.build"
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || dtn_die "meson.build: version '$version' is not a Debian native version"

tmp=$(mktemp -d /tmp/daitn-package.XXXXXX)
if [[ $keep -eq 1 ]]; then
	trap 'dtn_log "build tree kept: $tmp"' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
src="$tmp/daitn-$version"
mkdir "$src"

commit=$(git rev-parse --short HEAD)
if [[ $from_head -eq 1 ]]; then
	git archive --format=tar HEAD | tar -x -C "$src"
	what="commit $commit"
else
	# Tracked files that still exist (a deleted one is left out, as it
	# would be from the next commit) and untracked, unignored ones.
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"
		done | tar --null -T - -cf - | tar -x -C "$src"
	what="the working tree at $commit"
	[[ -z "$(git status --porcelain --untracked-files=normal)" ]] || what+=", with uncommitted changes"
fi
[[ -d "$src/scripts/package/debian" ]] || dtn_die "$what has no scripts/package/debian/"
cp -a "$src/scripts/package/debian" "$src/debian"

# The changelog: the version from meson.build (one source of truth), the
# date of the commit (the same tree gives the same packages).
maint=$(sed -n 's/^Maintainer: *//p' "$src/debian/control")
cat >"$src/debian/changelog" <<EOF
daitn ($version) unstable; urgency=medium

  * Built by scripts/package.sh from $what.

 -- $maint  $(date -R -d "@$(git log -1 --format=%ct)")
EOF

dtn_log "building daitn $version from $what ($jobs jobs, log: $tmp/build.log)"
# A plain PATH: an interpreter shim earlier in PATH (pyenv) must not stand
# in for Debian's python3.
opts="${DEB_BUILD_OPTIONS:-}"
[[ "$opts" == *parallel=* ]] || opts="${opts:+$opts }parallel=$jobs"
if ! (cd "$src" && env -u PYTHONPATH PATH=/usr/sbin:/usr/bin:/sbin:/bin DEB_BUILD_OPTIONS="$opts" \
	nice -n "$niceness" dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	[[ $keep -eq 1 ]] && dtn_die "dpkg-buildpackage failed (last lines above; whole log and tree in $tmp)"
	dtn_die "dpkg-buildpackage failed (last lines above; --keep keeps the tree and its build.log)"
fi

mkdir -p "$out"
debs=("$tmp"/*_"$version"_*.deb)
[[ -e "${debs[0]}" ]] || dtn_die "dpkg-buildpackage made no .deb files (log: $tmp/build.log)"
cp "${debs[@]}" "$out"/
dtn_log "packages in $out ($(dtn_elapsed "$t0")s):"
for d in "${debs[@]}"; do
	printf '  %-44s %6s KiB\n' "$(basename "$d")" "$(( ($(stat -c %s "$d") + 1023) / 1024 ))"
done
