#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Build everything with each supported compiler into build/cc-NAME/ and run
# the unit tests with each build. The default build (gcc for user space,
# clang for BPF) is the one tests/run.sh uses.
#
#   tests/toolchains.sh [NAME...]      (default: clang-14 clang-16 clang-19)
# WERROR=1 in the environment turns warnings into errors, as CI does.
# The toolchains run JOBS at a time (default: one per CPU), each on its own
# build directory; their lines come in the order named.
set -u
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
case $JOBS in
'' | *[!0-9]* | 0) echo "tests/toolchains.sh: JOBS must be a number, 1 or more" >&2; exit 2 ;;
esac

compiler() { # compiler NAME: the command for a toolchain name
	case $1 in
	clang-14) command -v clang-14 || command -v clang ;;
	*) command -v "$1" ;;
	esac
}

# one NAME REPORT: build and test with one toolchain; its PASS/FAIL lines into REPORT.
one() {
	local name=$1 out=${OUTPUT:-build}/cc-$1 log cc
	log=$(mktemp)
	if ! cc=$(compiler "$name"); then
		echo "FAIL  toolchain/$name: not installed (make deps)"
	elif ! make OUTPUT="$out" CC="$cc" CLANG="$cc" "$out/hairpin" "$out/test_progs" >"$log" 2>&1; then
		echo "FAIL  toolchain/$name: build"
		sed 's/^/    /' "$log" | tail -n 30
	elif ! "$out/test_progs" >"$log" 2>&1; then
		echo "FAIL  toolchain/$name: unit tests"
		grep -A5 '^FAIL' "$log" | sed 's/^/    /' | head -n 30
	else
		echo "PASS  toolchain/$name ($(grep -c '^PASS' "$log") unit tests)"
	fi >"$2"
	rm -f "$log"
}

names=${*:-clang-14 clang-16 clang-19}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for name in $names; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
	one "$name" "$dir/$name" &
done
wait
passed=0 failed=0
for name in $names; do
	cat "$dir/$name"
	if grep -q '^PASS' "$dir/$name"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed with $names"
[ $failed -eq 0 ]
