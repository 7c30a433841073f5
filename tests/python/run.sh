#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run.sh: every PyTorch test (tests/python), each under a time bound, with a
# summary line "N passed, M failed, K skipped". Exit 1 if any failed.
#   bash tests/python/run.sh        (DTN_BUILD selects the build, default build/)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pass=0 fail=0 skip=0
for t in test_binding.py test_hook.py test_settle.py test_watch.py test_fallback_absent.sh test_train_gateway.sh test_fallback_midrun.sh \
	test_ranks.sh test_fedavg.sh; do
	t0=$(date +%s.%N)
	case "$t" in
	*.py) timeout -k 5 120 /usr/bin/python3 "$here/$t" ;;
	*) timeout -k 10 180 bash "$here/$t" ;;
	esac </dev/null
	rc=$?
	case $rc in
	0) res=PASS; pass=$((pass + 1)) ;;
	77) res=SKIP; skip=$((skip + 1)) ;;
	124|137) res="FAIL (timed out)"; fail=$((fail + 1)) ;;
	*) res="FAIL (exit $rc)"; fail=$((fail + 1)) ;;
	esac
	printf -- '---- %s: %s (%.1fs)\n' "$t" "$res" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
done
echo "$pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
