#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The test runner: unit tests (build/test_progs), then every test_* function
# of tests/e2e/test_*.sh, each in a fresh namespace network of its own.
# One PASS/FAIL/SKIP line per test, then "N passed, N failed[, N skipped]".
#
#   tests/run.sh [--e2e-only] [--e2e PATTERN]... [NAME-FILTER]
# --e2e runs only the end-to-end tests whose name holds one of the patterns.
# A test function exits 77 to skip.
set -u
cd "$(dirname "$0")/.."

E2E_TIMEOUT=${E2E_TIMEOUT:-120}
passed=0 failed=0 skipped=0
unit=1
e2e=
while [ $# -gt 0 ]; do
	case $1 in
	--e2e-only) unit=0 ;;
	--e2e) e2e="$e2e $2"; shift ;;
	*) break ;;
	esac
	shift
done
filter=${1:-}
e2e=${e2e:-$filter}

wanted() { # wanted NAME: NAME holds one of the e2e patterns (or there are none)
	local pat
	[ -n "$e2e" ] || return 0
	for pat in $e2e; do
		case $1 in *"$pat"*) return 0 ;; esac
	done
	return 1
}

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

# The datapath's tests run a second time with the fast path off.
e2e_runs() {
	local file
	for file in tests/e2e/test_*.sh; do echo "$file on"; done
	for file in tests/e2e/test_datapath.sh tests/e2e/test_hairpin.sh tests/e2e/test_snat.sh; do
		echo "$file off"
	done
}

while read -r file fastpath; do
	for fn in $(bash -c "source tests/e2e/lib.sh; source $file; declare -F" |
		awk '$3 ~ /^test_/ {print $3}'); do
		name=e2e/$(basename "$file" .sh | sed 's/^test_//')/${fn#test_}
		[ $fastpath = on ] || name=e2e/fastpath-off/${name#e2e/}
		wanted "$name" || continue
		log=$(mktemp)
		HP_TEST_FASTPATH=$fastpath HP_TEST_ID=$$$RANDOM timeout -k 5 "$E2E_TIMEOUT" bash -c "
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
done < <(e2e_runs)

summary="$passed passed, $failed failed"
[ $skipped -eq 0 ] || summary="$summary, $skipped skipped"
echo "$summary on Linux $(uname -r)"
[ $failed -eq 0 ]
