#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Run the tests on Debian 12's stock kernel under qemu (TCG, no KVM needed):
# the verifier's verdict on both programs, every unit test and the
# end-to-end smoke tests, with the kernel's own modules; among them the XDP
# program beside another loaded with xdp-loader, through libxdp's
# dispatcher, which this kernel runs.
#
#   tests/kernels/run.sh [KERNEL-PACKAGE]     (default: linux-image-amd64)
#
# The kernel package is fetched with apt-get download into build/kernels/
# and kept there; the initramfs is rebuilt from the current build each run.
# Prints one PASS/FAIL line per test and "N passed, N failed on Linux VERSION".
set -eu
cd "$(dirname "$0")/../.."

PKG=${1:-linux-image-amd64}
B=${OUTPUT:-build}
OUT=$B/kernels
VM_TIMEOUT=${VM_TIMEOUT:-480}
# The end-to-end tests the VM runs: those that need only the tools below and
# whose outcome the kernel decides (bad input and the pin layout check are
# user space's alone, and slow under emulation: the host runs them).
SMOKE="e2e/hairpin/hairpin_tcp e2e/hairpin/two_public_ports e2e/hairpin/routed_subnet
e2e/cli/detach_leaves e2e/cli/attach_twice e2e/cli/map_add_list_del e2e/cli/filter_at_our_handle
e2e/cli/later_filters e2e/cli/second_instance e2e/cli/watch_leaves e2e/cli/detach_without
e2e/datapath/pmtu e2e/datapath/snat_exhaustion e2e/snat/snat_external e2e/snat/snat_off
e2e/snat/snat_scope e2e/fastpath/tbf_on_wan e2e/crash/detach_keeps_a_clsact
e2e/xdp/xdp_loader_program_stays e2e/ppp/"
# KERNEL_E2E="PATTERN...": these end-to-end tests alone, without the unit tests.
only=
[ -z "${KERNEL_E2E:-}" ] || { SMOKE=$KERNEL_E2E; only=--e2e-only; }
# Host programs copied into the VM with their libraries (busybox does the rest).
TOOLS="bash socat ip tc ss nsenter mountpoint timeout sysctl grep sed mawk seq mktemp
xargs setpriv bpftool ethtool xdp-loader pppd pppoe-server pppoe"
# libxdp's dispatcher, which it also carries built in, where xdp-loader and hairpin look first.
DISPATCHER=/usr/lib/x86_64-linux-gnu/bpf/xdp-dispatcher.o
MODULES="veth bridge sch_ingress cls_bpf sch_tbf ppp_generic ppp_async pppoe"

die() { echo "test-kernels: $*" >&2; exit 1; }

[ -x "$B/hairpin" ] && [ -x "$B/test_progs" ] || die "build first (make test)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps)"
[ -x /bin/busybox ] || die "busybox missing (make deps)"

# The image package: the metapackage names the versioned one.
mkdir -p "$OUT"
if [ "${PKG%-amd64}" != "$PKG" ] && apt-cache show "$PKG" 2>/dev/null | grep -q '^Depends: linux-image-'; then
	PKG=$(apt-cache depends "$PKG" | awk '/Depends: linux-image-/ {print $2; exit}')
fi
deb=$(ls "$OUT"/"$PKG"_*.deb 2>/dev/null | tail -n 1 || true)
if [ -z "$deb" ]; then
	(cd "$OUT" && set -o pipefail && apt-get download -qq "$PKG" 2>&1 | { grep -v "^W: Download is performed unsandboxed" || true; }) ||
		die "cannot download $PKG"
	deb=$(ls "$OUT"/"$PKG"_*.deb | tail -n 1)
fi
kdir=$OUT/${PKG#linux-image-}
if [ ! -d "$kdir/boot" ]; then
	rm -rf "$kdir.tmp"
	dpkg-deb -x "$deb" "$kdir.tmp"
	mv "$kdir.tmp" "$kdir"
fi
vmlinuz=$(ls "$kdir"/boot/vmlinuz-*)
kver=${vmlinuz##*/vmlinuz-}
moddir=$kdir/lib/modules/$kver

# The initramfs.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
mkdir -p "$root"/{bin,usr/bin,proc,sys,dev,tmp,run,modules,hairpin/build,hairpin/tests}
cp /bin/busybox "$root/bin/"
ln -s busybox "$root/bin/sh"
ln -s ../../bin/busybox "$root/usr/bin/env"
install -m 0755 tests/kernels/init "$root/init"
libs() { # libs BINARY: the shared libraries it needs, into the image
	ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
		cp -L --parents -n "$lib" "$root/"
	done
}
for t in $TOOLS; do
	p=$(command -v "$t") || die "$t missing (make deps)"
	cp -L "$p" "$root/usr/bin/"
	libs "$p"
done
[ -e "$DISPATCHER" ] || die "$DISPATCHER missing (make deps: libxdp1)"
cp --parents "$DISPATCHER" "$root/"
ln -s mawk "$root/usr/bin/awk"
# pppd's kernel-mode PPPoE plugin, and no system options: Debian's ask for
# authentication and a serial line's settings.
plugin=$(ls /usr/lib/pppd/*/rp-pppoe.so 2>/dev/null | head -n 1)
[ -n "$plugin" ] || die "pppd's rp-pppoe.so missing (make deps: ppp)"
cp --parents "$plugin" "$root/"
libs "$plugin"
mkdir -p "$root/etc/ppp" "$root/var" "$root/usr/sbin"
# Where pppoe-server runs them from.
ln -s ../bin/pppd "$root/usr/sbin/pppd"
ln -s ../bin/pppoe "$root/usr/sbin/pppoe"
: >"$root/etc/ppp/options"
ln -s ../run "$root/var/run"
# Modules with their dependencies (from each module's .modinfo; the package
# has no modules.dep), in load order.
add_module() { # add_module NAME
	local path dep
	grep -qx "$1.ko" "$root/modules/order" 2>/dev/null && return 0
	path=$(find "$moddir/kernel" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" | head -n 1)
	[ -n "$path" ] || die "module $1 not in $PKG"
	for dep in $(objcopy -O binary --only-section=.modinfo "$path" /dev/stdout |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr , ' '); do
		add_module "$dep"
	done
	cp "$path" "$root/modules/$1.ko"
	echo "$1.ko" >>"$root/modules/order"
}
touch "$root/modules/order"
for m in $MODULES; do add_module "$m"; done
cp "$B/hairpin" "$B/test_progs" "$root/hairpin/build/"
libs "$B/hairpin" # libxdp
mkdir -p "$root/hairpin/build/e2e"
cp "$B"/e2e/*.bpf.o "$B/e2e/tcx_show" "$root/hairpin/build/e2e/"
cp "$B/hairpin.bpf.o" "$root/hairpin/build/hairpin.bpf.o"
for obj in "$B"/cc-*/hairpin.bpf.o; do
	[ ! -e "$obj" ] || cp "$obj" "$root/hairpin/build/$(basename "$(dirname "$obj")" | sed 's/^cc-//').bpf.o"
done
cp -r tests/run.sh tests/e2e "$root/hairpin/tests/"
cp -r include "$root/hairpin/"
{ echo "$only"; echo "$SMOKE" | tr '\n' ' ' | sed 's/[^ ]* */--e2e &/g'; } >"$root/hairpin/smoke"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$OUT/initrd-$kver.gz"

log=$OUT/console-$kver.log
# TCG by default: a /dev/kvm that is there is not always one that works
# (nested virtualisation). QEMU_ACCEL=kvm opts in.
accel="-accel tcg -cpu max"
[ "${QEMU_ACCEL:-tcg}" = kvm ] && accel="-accel kvm -cpu host"
timeout "$VM_TIMEOUT" qemu-system-x86_64 $accel -smp 2 -m 1024 \
	-nographic -nic none -no-reboot -kernel "$vmlinuz" -initrd "$OUT/initrd-$kver.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init" </dev/null >"$log" 2>&1 ||
	echo "FAIL  qemu: exited $? (console log: $log)"
tr -d '\r' <"$log" | sed 's/.*HP-BEGIN/HP-BEGIN/' | sed -n '/^HP-BEGIN/,/^HP-END/p' >"$log.results"
version=$(sed -n 's/^HP-BEGIN //p' "$log.results")
[ -n "$version" ] || { tail -n 30 "$log"; die "the VM did not start the tests (console log: $log)"; }
grep -vE '^(HP-|[0-9]+ passed)' "$log.results"
passed=$(grep -c '^PASS  ' "$log.results" || true)
failed=$(grep -c '^FAIL  ' "$log.results" || true)
grep -q '^HP-END' "$log.results" || { echo "FAIL  the VM stopped before the end"; failed=$((failed + 1)); }
echo "$passed passed, $failed failed on Linux $version (qemu)"
[ "$failed" -eq 0 ]
