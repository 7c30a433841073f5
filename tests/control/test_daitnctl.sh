#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# daitnctl validate: exit statuses, where output goes, and the exact error
# lines for invalid cases (the same .expect files as test_cp_cases), and
# validate --tree over the gateways of cases/tree.
# Usage: test_daitnctl.sh DAITNCTL CASES_DIR CONFIGS_DIR
set -u

ctl=$1
cases=$2
configs=$3
tmp=$(mktemp -d /tmp/daitn-ctl-test.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
checks=0

# expect STATUS DESCRIPTION -- ARGS...: run daitnctl ARGS, check its status.
expect() {
	want=$1
	what=$2
	shift 3
	checks=$((checks + 1))
	"$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, want $want (daitnctl $*)"
		sed 's/^/  stdout: /' "$tmp/out"
		sed 's/^/  stderr: /' "$tmp/err"
		fails=$((fails + 1))
		return 1
	fi
	return 0
}

check() {
	checks=$((checks + 1))
	if ! eval "$2"; then
		echo "FAIL: $1"
		fails=$((fails + 1))
	fi
}

# Usage errors: 2, usage on stderr.
expect 2 "no command" --
check "usage on stderr" 'grep -q "^usage: daitnctl" "$tmp/err"'
expect 2 "unknown command" -- frobnicate
check "unknown command named" 'grep -q "unknown command \"frobnicate\"" "$tmp/err"'
expect 2 "validate without a file" -- validate
expect 2 "two policies" -- validate a.json b.json
expect 2 "unknown option" -- validate --frob "$configs/policy-demo.json"
expect 0 "top-level help" -- --help
check "help on stdout" 'grep -q "validate" "$tmp/out"'
expect 0 "validate help" -- validate --help

# Unreadable: 2, with the reason.
expect 2 "missing policy" -- validate "$tmp/nope.json"
check "missing file reason" 'grep -qx "$tmp/nope.json: cannot read: No such file or directory" "$tmp/err"'
expect 2 "policy is a folder" -- validate "$tmp"
expect 2 "missing config" -- validate --config "$tmp/nope.json" "$configs/policy-demo.json"

# Valid: 0, one summary line on stdout, nothing on stderr; -q prints nothing.
expect 0 "demo policy" -- validate "$configs/policy-demo.json"
check "summary line" 'grep -q "^$configs/policy-demo.json: valid: version 1, 1 tenant, 3 classes, 4 nodes, 4 jobs (16 workers, slot quotas 16MiB), 1 model$" "$tmp/out"'
check "one line" '[ "$(wc -l <"$tmp/out")" -eq 1 ]'
check "stderr empty when valid" '[ ! -s "$tmp/err" ]'
expect 0 "quiet" -- validate -q "$configs/policy-demo.json"
check "quiet prints nothing" '[ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]'
for gw in "$configs"/gateway-*.json; do
	expect 0 "$(basename "$gw") with its policy" -- validate --config "$gw"
	check "$(basename "$gw") summary names the gateway limit" 'grep -q "of the gateway" "$tmp/out"'
done
expect 0 "gateway limits, explicit policy" -- validate --config "$configs/gateway-demo.json" "$configs/policy-demo.json"

# Invalid: 1, every error on stderr exactly as the .expect file says, and
# nothing on stdout.
n_invalid=0
for f in "$cases"/policy/invalid/*.json; do
	case $f in *.gateway.json) continue ;; esac
	base=${f%.json}
	if [ -f "$base.gateway.json" ]; then
		expect 1 "$(basename "$f")" -- validate --config "$base.gateway.json" "$f"
	else
		expect 1 "$(basename "$f")" -- validate "$f"
	fi
	grep -v '^#' "$base.expect" | grep -v '^$' | sed "s|^|$f:|" >"$tmp/want"
	check "$(basename "$f"): stderr matches $(basename "$base.expect")" 'cmp -s "$tmp/want" "$tmp/err" || { diff "$tmp/want" "$tmp/err"; false; }'
	check "$(basename "$f"): stdout empty" '[ ! -s "$tmp/out" ]'
	n_invalid=$((n_invalid + 1))
done
check "invalid cases found" '[ "$n_invalid" -gt 0 ]'

# An invalid gateway configuration is a verdict too (1), and its errors come
# first; the policy it names is still checked.
cat >"$tmp/gw.json" <<'JSON'
{ "ports": [ { "name": "p0", "vdev": "net_null0", "ip": "10.0.0.1" } ],
  "data_lcores": [0], "policy": "policy.json" }
JSON
printf '{ "version": 1, "jobz": [] }\n' >"$tmp/policy.json"
expect 1 "invalid config and invalid policy" -- validate --config "$tmp/gw.json"
check "config error first" '[ "$(head -n 1 "$tmp/err")" = "$tmp/gw.json:2:19: /data_lcores/0: lcore 0 is the main lcore; data lcores must differ from \"main_lcore\"" ]'
check "then the policy error" 'tail -n 1 "$tmp/err" | grep -q "policy.json:1:17: /jobz: unknown key \"jobz\" (did you mean \"jobs\"?)"'
printf '{ "version": 1 }\n' >"$tmp/policy.json"
expect 1 "invalid config, valid policy" -- validate --config "$tmp/gw.json"
check "no summary when anything is invalid" '[ ! -s "$tmp/out" ]'

# validate --tree: a root and two leaves (cases/tree), each checked as
# --config checks it, then together. Run from that folder, so that gateways
# are named as given; the policies their configurations name are absolute
# paths, compared relative to it.
trees=$(cd "$cases/tree" && pwd -P) || exit 1
expect 2 "--tree without a gateway" -- validate --tree
expect 2 "--tree with --config" -- validate --tree --config "$trees/root.json" "$trees/leaf-a.json"
expect 0 "validate help" -- validate --help
check "help names --tree" 'grep -q -- "--tree" "$tmp/out"'
cd "$trees" || exit 1
expect 0 "tree" -- validate --tree root.json leaf-a.json leaf-b.json
check "tree: a summary per policy, then per tree" '[ "$(sed "s|$trees/||" "$tmp/out" | cut -d: -f1-2 | head -n 3 | tr "\n" " ")" = "policy-root.json: valid policy-leaf-a.json: valid policy-leaf-b.json: valid " ]'
check "tree: job 1" 'sed -n 4p "$tmp/out" | grep -qxF "job 1: root root.json (1 worker) <- leaf-a.json (rank 0, 2 workers), leaf-b.json (rank 1, 2 workers); 5 workers, depth 2"'
check "tree: job 2, three levels" 'sed -n 5p "$tmp/out" | grep -qxF "job 2: root root.json <- leaf-a.json (rank 0, 1 worker) <- [leaf-b.json (rank 1, 1 worker)]; 2 workers, depth 3"'
check "tree: five lines" '[ "$(wc -l <"$tmp/out")" -eq 5 ]'
check "tree: stderr empty" '[ ! -s "$tmp/err" ]'
cp "$tmp/out" "$tmp/tree.out"
expect 0 "tree, leaves first, policies named" -- validate --tree leaf-b.json leaf-a.json:policy-leaf-a.json root.json
check "tree lines whatever the order" '[ "$(tail -n 2 "$tmp/out")" = "$(tail -n 2 "$tmp/tree.out")" ]'
expect 0 "tree, quiet" -- validate --tree -q root.json leaf-a.json leaf-b.json
check "tree, quiet prints nothing" '[ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]'
expect 0 "no tree" -- validate --tree "$configs/gateway-demo.json"
check "no tree said" 'tail -n 1 "$tmp/out" | grep -q "^no tree: "'
expect 2 "tree, a configuration missing" -- validate --tree root.json nope.json leaf-b.json
check "tree, missing file reason" 'grep -q "^nope.json: cannot read: " "$tmp/err"'
printf '{ "version": 1, "jobz": [] }\n' >"$tmp/policy.json"
expect 1 "tree, a policy invalid" -- validate --tree root.json "leaf-a.json:$tmp/policy.json" leaf-b.json
check "tree, the policy's error as today" 'head -n 1 "$tmp/err" | grep -qx "$tmp/policy.json:1:17: /jobz: unknown key \"jobz\" (did you mean \"jobs\"?)"'
check "tree, then not checked" '[ "$(tail -n 1 "$tmp/err")" = "daitnctl: the tree is checked once every gateway'"'"'s files are valid" ] && [ ! -s "$tmp/out" ]'

# Invalid trees: 1, every error on stderr as invalid/NAME.expect says, for
# the gateways that invalid/NAME.args lists.
n_invalid=0
for f in invalid/*.args; do
	base=${f%.args}
	expect 1 "tree $base" -- validate --tree $(cat "$f")
	sed "s|$trees/||" "$tmp/err" >"$tmp/err.rel"
	grep -v '^#' "$base.expect" | grep -v '^$' >"$tmp/want"
	check "tree $base: stderr matches $base.expect" 'cmp -s "$tmp/want" "$tmp/err.rel" || { diff "$tmp/want" "$tmp/err.rel"; false; }'
	check "tree $base: stdout empty" '[ ! -s "$tmp/out" ]'
	n_invalid=$((n_invalid + 1))
done
check "invalid trees found" '[ "$n_invalid" -gt 0 ]'
cd - >/dev/null || exit 1

# The example tree in configs/ fits together.
if [ -d "$configs/tree" ]; then
	expect 0 "configs/tree" -- validate --tree "$configs"/tree/gateway-*.json
	check "configs/tree: a line per tree" 'grep -q "^job [0-9]*: root .*gateway-root.json <- " "$tmp/out"'
fi

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
