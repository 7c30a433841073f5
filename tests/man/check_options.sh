#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The manual pages (docs/man/*.scd) against the programs and the library:
#   - every long option (--xxx) a program's --help prints, and every
#     subcommand it lists, is in the program's page;
#   - every long option the page defines (a definition line starting with
#     "*-") is one the program's --help prints, or --help itself;
#   - every function libdaitn.map exports is in libdaitn.3.scd;
#   - each page has NAME, SYNOPSIS, DESCRIPTION and SEE ALSO.
# For daitnctl and daitn-infer the --help of each subcommand is read too.
#
# usage: check_options.sh MAN_DIR NAME=PATH...
#   NAME=PROGRAM   check NAME.1.scd against PROGRAM --help (empty PROGRAM:
#                  the program is not built; say so and go on)
#   NAME=FILE.map  check NAME.3.scd against the global symbols of FILE.map
set -u
export LC_ALL=C

if [ $# -lt 2 ]; then
	echo "usage: $0 MAN_DIR NAME=PATH..." >&2
	exit 2
fi
man_dir=$1
shift
fails=0
checked=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# Whether the page has the word: an option not followed by more of a name.
page_has_option() {
	grep -qE -e "$2([^A-Za-z0-9-]|\$)" "$1"
}

sections_check() {
	local page=$1 s
	for s in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		grep -qx "# $s" "$page" || fail "$(basename "$page"): no \"# $s\" section"
	done
}

# Subcommands as the program's --help lists them.
subcommands() {
	local name=$1 help=$2
	case $name in
	daitnctl)
		# "commands:" then "  NAME ARGS" lines (two spaces).
		printf '%s\n' "$help" | awk '/^commands:/ { on = 1; next }
			on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }'
		;;
	daitn-infer)
		# "usage: daitn-infer ROLE ..." and "       daitn-infer ROLE ...".
		printf '%s\n' "$help" | grep -oE '^(usage:)? +daitn-infer [a-z]+' | awk '{ print $NF }'
		;;
	esac
}

program_check() {
	local name=$1 prog=$2 page="$man_dir/$1.1.scd" help sub subs opts opt rc before=$fails
	if [ -z "$prog" ]; then
		echo "SKIP: $name is not built; $name.1.scd not checked against it"
		return
	fi
	if [ ! -f "$page" ]; then
		fail "$name: no manual page $page"
		return
	fi
	sections_check "$page"
	help=$(timeout 10 "$prog" --help 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ -z "$help" ]; then
		fail "$name --help: exit status $rc, $(printf '%s' "$help" | wc -c) bytes"
		return
	fi
	subs=$(subcommands "$name" "$help")
	case $name in
	daitnctl | daitn-infer)
		if [ -z "$subs" ]; then
			fail "$name --help: no subcommands found in it"
		fi
		;;
	esac
	for sub in $subs; do
		grep -qF "*$sub*" "$page" || fail "$name.1.scd: subcommand \"$sub\" (in $name --help) missing"
		help+=$'\n'$(timeout 10 "$prog" "$sub" --help 2>&1)
	done
	opts=$(printf '%s\n' "$help" | grep -oE -e '--[a-z][a-z0-9-]*' | sort -u)
	if [ -z "$opts" ]; then
		fail "$name --help: no long options found in it"
	fi
	for opt in $opts; do
		page_has_option "$page" "$opt" || fail "$name.1.scd: option $opt (in $name --help) missing"
	done
	# The page's own option definitions (a line "*-..." after an empty line,
	# with the tab-indented text under it): none that --help does not know.
	for opt in $(awk 'prev == "" && /^\*-/ { term = $0; prev = $0; next }
			term != "" && /^\t/ { print term } { term = ""; prev = $0 }' "$page" |
			grep -oE -e '--[a-z][a-z0-9-]*' | sort -u); do
		[ "$opt" = --help ] && continue
		printf '%s\n' "$opts" | grep -qx -e "$opt" ||
			fail "$name.1.scd: defines $opt, which $name --help does not list"
	done
	checked=$((checked + 1))
	[ $fails -eq $before ] &&
		echo "ok: $name.1.scd: $(printf '%s\n' "$opts" | wc -l) options, $(printf '%s\n' $subs | grep -c .) subcommands"
}

symbols_check() {
	local name=$1 map=$2 page="$man_dir/$1.3.scd" syms sym before=$fails
	if [ ! -f "$page" ]; then
		fail "$name: no manual page $page"
		return
	fi
	sections_check "$page"
	# The names between "global:" and "local:", one "name;" a line.
	syms=$(awk '/global:/ { on = 1; next } /local:/ { on = 0 }
		on { gsub(/[ \t;]/, ""); if ($0 != "") print }' "$map")
	if [ -z "$syms" ]; then
		fail "$map: no global symbols found"
		return
	fi
	for sym in $syms; do
		grep -qE "\\*$sym\\*\\(\\)" "$page" || fail "$name.3.scd: $sym (exported by $(basename "$map")) not described as *$sym*()"
	done
	checked=$((checked + 1))
	[ $fails -eq $before ] && echo "ok: $name.3.scd: $(printf '%s\n' $syms | wc -l) functions"
}

for arg in "$@"; do
	name=${arg%%=*}
	path=${arg#*=}
	case $path in
	*.map) symbols_check "$name" "$path" ;;
	*) program_check "$name" "$path" ;;
	esac
done

if [ $fails -ne 0 ]; then
	echo "$fails problem(s) in the manual pages of $man_dir"
	exit 1
fi
if [ $checked -eq 0 ]; then
	echo "SKIP: nothing to check"
	exit 77
fi
exit 0
