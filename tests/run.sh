#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The test runner: unit tests (build/test_progs), then every test_* function
# of tests/e2e/test_*.sh, each in a fresh namespace network of its own.
# One PASS/FAIL/SKIP line per test, then "N passed, N failed[, N skipped]".
#
#   tests/run.sh [--e2e-only] [--e2e PATTERN]... [NAME-FILTER]
# --e2e runs only the end-to-end tests whose name holds one of the patterns.
# A test function exits 77 to skip. End-to-end tests run JOBS at a time
# (default: one per CPU; each has its own namespaces and pin dir), and
# report in the order they end.
set -u
cd "$(dirname "$0")/.."

E2E_TIMEOUT=${E2E_TIMEOUT:-120}
JOBS=${JOBS:-$(nproc)}
case $JOBS in
'' | *[!0-9]* | 0) echo "tests/run.sh: JOBS must be a number of tests at once, 1 or more" >&2; exit 2 ;;
esac
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

# What a test the timeout killed could not take down itself: the namespaces
# and pin dirs of its id, and the processes in those namespaces.
e2e_leftovers() { # e2e_leftovers ID
	local ns
	for ns in $(ip netns list | awk -v p="hp$1-" 'index($1, p) == 1 {print $1}'); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "/sys/fs/bpf/hairpin-test-$1" "/sys/fs/bpf/hairpin-test-$1"-*
}

# e2e_one N FILE FASTPATH FN NAME: one test, its verdict left in $dir/N.rc, its log in
# $dir/N.log; its temporary files (the test files' mktemp) go with it.
e2e_one() {
	local rc start=$SECONDS
	mkdir "$dir/$1.tmp"
	TMPDIR=$dir/$1.tmp HP_TEST_FASTPATH=$3 HP_TEST_ID=$$x$1 timeout -k 5 "$E2E_TIMEOUT" bash -c "
		source tests/e2e/lib.sh
		source $2
		trap topo_down EXIT
		trap 'stopped_at \$? \"\$BASH_COMMAND\"' ERR
		set -eE
		topo_up
		$4" >"$dir/$1.log" 2>&1
	rc=$?
	# timeout's own verdicts, 124 (or 137 after -k), only once the time is up.
	if { [ $rc -eq 124 ] || [ $rc -eq 137 ]; } && [ $((SECONDS - start)) -ge "$E2E_TIMEOUT" ]; then
		echo "timed out after ${E2E_TIMEOUT}s" >>"$dir/$1.log"
		e2e_leftovers "$$x$1"
	fi
	rm -rf "$dir/$1.tmp"
	echo "$rc $((SECONDS - start)) $5" >"$dir/$1.rc.tmp"
	mv "$dir/$1.rc.tmp" "$dir/$1.rc"
}

# Report the tests that ended since the last call (and forget them).
e2e_reap() {
	local f rc secs name
	for f in "$dir"/*.rc; do
		[ -e "$f" ] || continue
		read -r rc secs name <"$f"
		case $rc in
		0) result PASS "$name" ;;
		77) result SKIP "$name" ;;
		*) result FAIL "$name" "${f%.rc}.log" ;;
		esac
		echo "$secs $name" >>"$dir/times"
		rm -f "$f" "${f%.rc}.log"
	done
}

dir=$(mktemp -d)
# Interrupted: the running tests end too and leave nothing. timeout runs each
# in a process group of its own, out of a Ctrl-C's reach: it is told directly,
# passes it on, and the test's topo_down runs.
e2e_cleanup() {
	local j
	for j in $(jobs -p); do pkill -TERM -P "$j" 2>/dev/null; done
	wait
	rm -rf "$dir"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
# bpffs once, before tests that would each mount it at the same time.
bash -c "source tests/e2e/lib.sh; ensure_bpffs"
n=0
while read -r file fastpath; do
	for fn in $(TMPDIR=$dir bash -c "source tests/e2e/lib.sh; source $file; declare -F" |
		awk '$3 ~ /^test_/ {print $3}'); do
		name=e2e/$(basename "$file" .sh | sed 's/^test_//')/${fn#test_}
		[ $fastpath = on ] || name=e2e/fastpath-off/${name#e2e/}
		wanted "$name" || continue
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
			wait -n
			e2e_reap
		done
		n=$((n + 1))
		e2e_one $n "$file" $fastpath $fn "$name" &
	done
done < <(e2e_runs)
wait
e2e_reap
# The slowest, where the run's time goes.
if [ -s "$dir/times" ]; then
	echo "slowest: $(sort -rn "$dir/times" | head -n 5 | awk '{printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1}')"
fi

summary="$passed passed, $failed failed"
[ $skipped -eq 0 ] || summary="$summary, $skipped skipped"
echo "$summary on Linux $(uname -r)"
[ $failed -eq 0 ]
