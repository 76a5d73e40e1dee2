#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Install the Debian packages hairpin builds, tests and benchmarks with,
# where missing. Debian 12 packages only: no vendored libbpf or bpftool.
set -eu

BUILD="make gcc clang llvm pkg-config libbpf-dev libxdp-dev libelf-dev zlib1g-dev bpftool"
RUN="iproute2 util-linux procps iputils-ping"
TEST="nftables socat tcpdump python3 ethtool man-db xdp-tools ppp pppoe"
# Other compilers the code must build with, the VM for Debian 12's kernel, libFuzzer.
MATRIX="clang-16 clang-19 qemu-system-x86 busybox-static libclang-rt-14-dev"
missing=
for pkg in $BUILD $RUN $TEST $MATRIX; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
