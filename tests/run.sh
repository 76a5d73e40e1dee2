#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The test runner: unit tests (build/test_progs), then every test_* function
# of tests/e2e/test_*.sh, each in a fresh namespace network of its own.
# One PASS/FAIL/SKIP line per test, then "N passed, N failed[, N skipped]".
#
#   tests/run.sh [--e2e-only] [NAME-FILTER]
# A test function exits 77 to skip.
set -u
cd "$(dirname "$0")/.."

E2E_TIMEOUT=${E2E_TIMEOUT:-120}
passed=0 failed=0 skipped=0
unit=1
[ "${1:-}" = --e2e-only ] && { unit=0; shift; }
filter=${1:-}

result() { # result STATUS NAME [LOG]
	printf '%s  %s\n' "$1" "$2"
	case $1 in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)); [ -n "${3:-}" ] && sed 's/^/    /' "$3" | tail -n 40 ;;
	esac
}

if [ $(id -u) -ne 0 ]; then
	echo "tests need root (BPF, network namespaces)" >&2
	exit 1
fi

if [ $unit = 1 ]; then
	log=$(mktemp)
	build/test_progs $filter 2>"$log" | grep -E '^(PASS|FAIL|SKIP)  ' >"$log.out"
	while read -r status name; do
		result "$status" "$name"
	done <"$log.out"
	if [ -s "$log" ]; then sed 's/^/    /' "$log"; fi
	if ! grep -q . "$log.out"; then result FAIL unit/test_progs "$log"; fi
	rm -f "$log" "$log.out"
fi

for file in tests/e2e/test_*.sh; do
	for fn in $(bash -c "source tests/e2e/lib.sh; source $file; declare -F" |
		awk '$3 ~ /^test_/ {print $3}'); do
		name=e2e/$(basename "$file" .sh | sed 's/^test_//')/${fn#test_}
		case $name in *"$filter"*) ;; *) continue ;; esac
		log=$(mktemp)
		HP_TEST_ID=$$$RANDOM timeout -k 5 "$E2E_TIMEOUT" bash -c "
			source tests/e2e/lib.sh
			source $file
			trap topo_down EXIT
			set -e
			topo_up
			$fn" >"$log" 2>&1
		rc=$?
		case $rc in
		0) result PASS "$name" ;;
		77) result SKIP "$name" ;;
		124) echo "    timed out after ${E2E_TIMEOUT}s" >>"$log"; result FAIL "$name" "$log" ;;
		*) result FAIL "$name" "$log" ;;
		esac
		rm -f "$log"
	done
done

if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
