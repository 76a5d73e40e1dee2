#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Build everything with each supported compiler into build/cc-NAME/ and run
# the unit tests with each build. The default build (gcc for user space,
# clang for BPF) is the one tests/run.sh uses.
#
#   tests/toolchains.sh [NAME...]      (default: clang-14 clang-16 clang-19)
# WERROR=1 in the environment turns warnings into errors, as CI does.
set -u
cd "$(dirname "$0")/.."

compiler() { # compiler NAME: the command for a toolchain name
	case $1 in
	clang-14) command -v clang-14 || command -v clang ;;
	*) command -v "$1" ;;
	esac
}

names=${*:-clang-14 clang-16 clang-19}
passed=0 failed=0
for name in $names; do
	out=${OUTPUT:-build}/cc-$name
	log=$(mktemp)
	if ! cc=$(compiler "$name"); then
		echo "FAIL  toolchain/$name: not installed (make deps)"
		failed=$((failed + 1))
		continue
	fi
	if ! make OUTPUT="$out" CC="$cc" CLANG="$cc" "$out/hairpin" "$out/test_progs" >"$log" 2>&1; then
		echo "FAIL  toolchain/$name: build"
		sed 's/^/    /' "$log" | tail -n 30
		failed=$((failed + 1))
	elif ! "$out/test_progs" >"$log" 2>&1; then
		echo "FAIL  toolchain/$name: unit tests"
		grep -A5 '^FAIL' "$log" | sed 's/^/    /' | head -n 30
		failed=$((failed + 1))
	else
		echo "PASS  toolchain/$name ($(grep -c '^PASS' "$log") unit tests)"
		passed=$((passed + 1))
	fi
	rm -f "$log"
done
echo "$passed passed, $failed failed with $names"
[ $failed -eq 0 ]
